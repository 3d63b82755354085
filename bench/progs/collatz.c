/* collatz: total Collatz steps for the starting values read from the buffer
 * (u16 each, made odd and nonzero); pure register ALU work with an
 * unpredictable branch. */
#include "prog.h"

BENCH_PROG u64 collatz(u8 *mem, u64 len)
{
    u16 *v = (u16 *)mem;
    u64 steps = 0;

    for (u64 i = 0; i < len / 2; i++) {
        u64 n = (u64)v[i] | 1;
        while (n != 1) {
            n = (n & 1) ? 3 * n + 1 : n >> 1;
            steps++;
        }
    }
    return steps;
}

#ifndef __bpf__
void collatz_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
