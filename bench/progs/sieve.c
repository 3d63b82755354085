/* sieve: count the primes below len with the sieve of Eratosthenes, using
 * the input buffer as the flag array (one byte per number). Byte stores in a
 * strided inner loop. */
#include "prog.h"

BENCH_PROG u64 sieve(u8 *mem, u64 len)
{
    u64 i, j, count = 0;

    if (len < 3)
        return 0;
    for (i = 0; i < len; i++)      /* odd numbers are candidates */
        mem[i] = (u8)(i & 1);
    mem[1] = 0;
    mem[2] = 1;
    for (i = 3; i * i < len; i += 2)
        if (mem[i])
            for (j = i * i; j < len; j += 2 * i)
                mem[j] = 0;
    for (i = 0; i < len; i++)
        count += mem[i];
    return count;
}

#ifndef __bpf__
void sieve_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
