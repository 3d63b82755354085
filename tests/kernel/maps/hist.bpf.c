/* A log2 histogram in an array, and per bucket a per-CPU hash count.
 * Returns the bucket. */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 64);
} hist SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __type(key, u32);
    __type(value, u32);
    __uint(max_entries, 64);
} pc SEC(".maps");

SEC("xdp") int bucket(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    u64 v = in->a >> (in->b % 48);
    u32 b = 0;
    for (int i = 0; i < 64 && v > 1; i++) {
        v >>= 1;
        b++;
    }
    u64 *slot = bpf_map_lookup_elem(&hist, &b);
    if (slot)
        __sync_fetch_and_add(slot, 1);
    u32 *c = bpf_map_lookup_elem(&pc, &b);
    if (c) {
        *c += 1;
    } else {
        u32 one = 1;
        bpf_map_update_elem(&pc, &b, &one, BPF_NOEXIST);
    }
    return (int)b;
}
