/* An LRU flow cache of 8 entries over 32 keys: lookups hit or insert. The
 * kernel's LRU is approximate, so the oracle compares only that both stay
 * within capacity (and the hits it counts in .bss are not compared). */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 8);
} cache SEC(".maps");

u64 hits, misses;

SEC("xdp") int lookup(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    u32 key = in->a % 32;
    u64 *v = bpf_map_lookup_elem(&cache, &key);
    if (v) {
        *v += 1;
        hits++;
        return 1;
    }
    u64 one = 1;
    misses++;
    return (int)bpf_map_update_elem(&cache, &key, &one, BPF_ANY);
}
