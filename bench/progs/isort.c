/* isort: insertion sort of the buffer as an array of u32 (in place), then a
 * position-weighted checksum that also proves the order. Loads, stores and
 * a data-dependent inner loop. */
#include "prog.h"

BENCH_PROG u64 isort(u8 *mem, u64 len)
{
    u32 *a = (u32 *)mem;
    u64 n = len / 4, sum = 0;

    for (u64 i = 1; i < n; i++) {
        u32 v = a[i];
        u64 j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
    for (u64 i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i])
            return 0; /* not sorted: never happens */
        sum += (u64)a[i] * (i + 1);
    }
    return sum;
}

#ifndef __bpf__
void isort_input(u8 *mem, u64 len, u64 seed)
{
    u32 *a = (u32 *)mem;
    for (u64 i = 0; i < len / 4; i++)
        a[i] = (u32)(bench_rand(&seed) >> 32);
}
#endif
