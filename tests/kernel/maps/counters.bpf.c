/* Packet counters per protocol: a hash counted with atomic adds (inserted
 * with BPF_NOEXIST on first sight), bytes per protocol in an array, a
 * per-CPU total, and runs in .bss. Returns the protocol's new count. */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 16);
} by_proto SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 8);
} bytes SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 1);
} total SEC(".maps");

u64 runs;

SEC("xdp") int count(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    u32 proto = in->a % 5, zero = 0;
    u64 one = 1, *n, *b, *t;
    __sync_fetch_and_add(&runs, 1);
    n = bpf_map_lookup_elem(&by_proto, &proto);
    if (n)
        __sync_fetch_and_add(n, 1);
    else
        bpf_map_update_elem(&by_proto, &proto, &one, BPF_NOEXIST);
    b = bpf_map_lookup_elem(&bytes, &proto);
    if (b)
        *b += in->b % 1500;
    t = bpf_map_lookup_elem(&total, &zero);
    if (t)
        *t += 1;
    n = bpf_map_lookup_elem(&by_proto, &proto);
    return n ? (int)*n : -2;
}
