/* spf: the sieve of smallest prime factors below len (a sieve variant):
 * every composite gets the low byte of its smallest prime factor, stored by
 * strided byte stores; the result sums the factors and counts the primes. */
#include "prog.h"

BENCH_PROG u64 spf(u8 *mem, u64 len)
{
    u64 i, j, sum = 0, primes = 0;

    for (i = 0; i < len; i++)      /* even numbers: factor 2 */
        mem[i] = (u8)(~i & 1) << 1;
    mem[2] = 0;
    for (i = 3; i * i < len; i += 2) {
        if (mem[i])
            continue;
        for (j = i * i; j < len; j += 2 * i)
            if (!mem[j])
                mem[j] = (u8)i;
    }
    for (i = 2; i < len; i++) {
        primes += !mem[i];
        sum += mem[i];
    }
    return primes << 32 | sum;
}

#ifndef __bpf__
void spf_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
