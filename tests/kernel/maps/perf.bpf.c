/* A perf-event logger: each run sends a 20-byte event to the current CPU's
 * slot, or to a slot past the end (-E2BIG), or with flags the helper does
 * not take (-EINVAL), and returns the helper's result. */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(u32));
    __uint(value_size, sizeof(u32));
} perf_events SEC(".maps");

u64 seq;

SEC("xdp") int emit(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1000;
    u32 ev[5] = { (u32)++seq, (u32)in->a, (u32)in->b, (u32)(in->a >> 32), 7 };
    u64 flags = BPF_F_CURRENT_CPU;
    if (in->c % 5 == 1)
        flags = 64; /* no such slot */
    else if (in->c % 5 == 2)
        flags = 1ull << 60; /* not an index, not a context length */
    return (int)bpf_perf_event_output(ctx, &perf_events, flags, ev, sizeof(ev));
}
