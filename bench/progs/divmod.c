/* divmod: 64-bit division and modulo by values only known at run time
 * (Euclid's algorithm on pairs of input words, a mixed-radix split), and by
 * constants (decimal digits), as clang emits them for BPF: div/mod
 * instructions, no multiply-high. */
#include "prog.h"

BENCH_PROG u64 divmod(u8 *mem, u64 len)
{
    const u64 *w = (const u64 *)mem;
    u64 n = len / 8, acc = 0;

    for (u64 i = 0; i + 1 < n; i += 2) {
        u64 a = w[i] >> (w[i] & 31), b = (w[i + 1] >> 40) | 1;
        u64 q = a / b, r = a % b;
        /* gcd(b, r): a few modulo steps */
        u64 x = b, y = r;
        while (y) {
            u64 t = x % y;
            x = y;
            y = t;
        }
        /* decimal digits of q: division by a constant */
        u64 digits = 0;
        do {
            digits += q % 10;
            q /= 10;
        } while (q);
        acc += x + digits * 3 + (a % 1000003);
    }
    return acc;
}

#ifndef __bpf__
void divmod_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
