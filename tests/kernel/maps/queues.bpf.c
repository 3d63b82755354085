/* Queues and stacks: each run pushes (BPF_ANY or BPF_EXIST, which drops
 * the oldest when full), pops or peeks one of a queue and a stack, and
 * returns the result or the value. */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __type(value, u64);
    __uint(max_entries, 6);
} q SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK);
    __type(value, u32);
    __uint(max_entries, 5);
} s SEC(".maps");

SEC("xdp") int qs(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1000;
    u64 v = in->d % 1000;
    u32 w = (u32)v;
    u64 flags = in->c % 3 == 2 ? BPF_EXIST : in->c % 3; /* 0, 1 (invalid), 2 */
    switch (in->a % 6) {
    case 0: case 1:
        return (int)bpf_map_push_elem(&q, &v, flags);
    case 2:
        if (bpf_map_pop_elem(&q, &v))
            return -1;
        return (int)v;
    case 3:
        return (int)bpf_map_push_elem(&s, &w, flags);
    case 4:
        if (bpf_map_peek_elem(&s, &w))
            return -1;
        return (int)w;
    default:
        if (bpf_map_pop_elem(&s, &w))
            return -2;
        return (int)w;
    }
}
