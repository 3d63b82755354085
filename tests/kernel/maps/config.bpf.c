/* Global-variable configuration: a threshold in .rodata (set by the host
 * before loading), counters in .data and .bss, a table in .data. */
#include "common.h"

const volatile u64 threshold = 1000;
const volatile u32 weights[4] = { 1, 2, 3, 4 };
u64 above = 1, below = 2;
u64 weighted;

SEC("xdp") int classify(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    weighted += weights[in->b % 4];
    if (in->a % 2000 > threshold) {
        above++;
        return 1;
    }
    below++;
    return 0;
}
