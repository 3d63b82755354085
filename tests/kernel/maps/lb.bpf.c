/* A load balancer choosing a backend by tail call: slot a % 5 of a program
 * array of 4 (slot 3 left empty, 4 past the end: the entry program goes
 * on). Each backend counts its packets. */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __type(key, u32);
    __type(value, u32);
    __uint(max_entries, 4);
} jmp SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 4);
} per_backend SEC(".maps");

u64 fallthrough;

static __always_inline int backend(u32 k)
{
    u64 *n = bpf_map_lookup_elem(&per_backend, &k);
    if (n)
        __sync_fetch_and_add(n, 1);
    return (int)k + 10;
}

SEC("xdp") int backend0(struct xdp_md *ctx) { return backend(0); }
SEC("xdp") int backend1(struct xdp_md *ctx) { return backend(1); }
SEC("xdp") int backend2(struct xdp_md *ctx) { return backend(2); }

SEC("xdp") int balance(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    bpf_tail_call(ctx, &jmp, (u32)(in->a % 5));
    fallthrough++;
    return 99;
}
