/* The load balancer with its program array filled by the object itself
 * (`.values`, as libbpf fills it at load): slot a % 4, slot 1 empty. */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 4);
} hits SEC(".maps");

static __always_inline int count(u32 k)
{
    u64 *n = bpf_map_lookup_elem(&hits, &k);
    if (n)
        __sync_fetch_and_add(n, 1);
    return (int)k + 20;
}

SEC("xdp") int first(struct xdp_md *ctx) { return count(0); }
SEC("xdp") int third(struct xdp_md *ctx) { return count(2); }
SEC("xdp") int fourth(struct xdp_md *ctx) { return count(3); }

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, u32);
    __array(values, int (struct xdp_md *));
} table SEC(".maps") = { .values = { [0] = (void *)&first, [2] = (void *)&third,
                                     [3] = (void *)&fourth } };

SEC("xdp") int pick(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    bpf_tail_call(ctx, &table, (u32)(in->a % 4));
    return 99;
}
