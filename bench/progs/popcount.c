/* popcount: SWAR population count and parity of every u64 of the buffer;
 * long chains of shifts, masks and adds. */
#include "prog.h"

BENCH_INLINE u64 pop64(u64 x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (x * 0x0101010101010101ull) >> 56;
}

BENCH_PROG u64 popcount(u8 *mem, u64 len)
{
    u64 *w = (u64 *)mem;
    u64 bits = 0, odd = 0;

    for (u64 i = 0; i < len / 8; i++) {
        u64 p = pop64(w[i]);
        bits += p;
        odd += p & 1;
    }
    return bits << 32 | odd;
}

#ifndef __bpf__
void popcount_input(u8 *mem, u64 len, u64 seed)
{
    u64 *w = (u64 *)mem;
    for (u64 i = 0; i < len / 8; i++)
        w[i] = bench_rand(&seed) & bench_rand(&seed); /* vary the density */
}
#endif
