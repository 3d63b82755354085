/* histogram: byte histogram of the buffer's data part into 256 u32 counters
 * kept at its end (the last 1 KiB), then a summary (weighted sum, mode).
 * Read-modify-write of memory at data-dependent addresses. */
#include "prog.h"

BENCH_PROG u64 histogram(u8 *mem, u64 len)
{
    u64 n, best = 0, sum = 0;
    u32 *count;

    if (len < 1024 || len % 8)
        return 0;
    n = len - 1024;
    count = (u32 *)(mem + n);
    for (int i = 0; i < 256; i++)
        count[i] = 0;
    for (u64 i = 0; i < n; i++)
        count[mem[i]]++;
    for (u64 i = 0; i < 256; i++) {
        sum += count[i] * (i + 1);
        if (count[i] > count[best])
            best = i;
    }
    return sum << 8 | best;
}

#ifndef __bpf__
void histogram_input(u8 *mem, u64 len, u64 seed)
{
    for (u64 i = 0; i < len; i++) {   /* skewed: low values more frequent */
        u64 r = bench_rand(&seed);
        mem[i] = (u8)((r & 0xff) & (r >> 8));
    }
}
#endif
