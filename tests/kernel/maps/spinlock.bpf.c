/* Spin-locked counters: a value holding a bpf_spin_lock and two fields
 * updated together under it (a token bucket: tokens refill by a, a packet
 * takes b % 5 tokens if there are enough). Returns whether it passed. */
#include "common.h"

struct bucket {
    struct bpf_spin_lock lock;
    u32 pad;
    u64 tokens, passed, dropped;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, struct bucket);
    __uint(max_entries, 4);
} buckets SEC(".maps");

SEC("xdp") int police(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    u32 k = (u32)(in->c % 4);
    struct bucket *b = bpf_map_lookup_elem(&buckets, &k);
    if (!b)
        return -2;
    u64 cost = in->b % 5;
    int pass;
    bpf_spin_lock(&b->lock);
    b->tokens += in->a % 3;
    if (b->tokens > 10)
        b->tokens = 10;
    pass = b->tokens >= cost;
    if (pass) {
        b->tokens -= cost;
        b->passed++;
    } else {
        b->dropped++;
    }
    bpf_spin_unlock(&b->lock);
    return pass;
}
