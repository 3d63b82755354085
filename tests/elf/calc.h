/* calc.h - pure functions compiled both to BPF (into .text, reached by
 * local calls) and natively by test_elf.c for the expected results. */
#ifndef TEST_CALC_H
#define TEST_CALC_H

#include "bpf.h"

/* A constant table: .rodata in the BPF object. */
static const u8 calc_sbox[16] = { 0x3, 0xe, 0x1, 0xa, 0x5, 0x9, 0xc, 0x0,
                                  0x7, 0x2, 0xf, 0x4, 0xb, 0x8, 0x6, 0xd };

FUNC u64 calc_mix(const u8 *p, u64 n)
{
    u64 h = 7;
    for (u64 i = 0; i < n; i++)
        h = h * 31 + calc_sbox[p[i] & 15] + (u64)p[i];
    return h;
}

FUNC u64 calc_gcd(u64 a, u64 b)
{
    while (b) {
        u64 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

FUNC u64 calc_isqrt(u64 x)
{
    u64 r = 0;
    for (u64 bit = (u64)1 << 62; bit; bit >>= 2) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
    }
    return r;
}

FUNC u64 calc_collatz(u64 n)
{
    u64 steps = 0;
    while (n > 1 && steps < 1000) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

/* Calls the others: calls inside .text that the compiler resolves. */
FUNC u64 calc_all(u64 a, u64 b)
{
    return calc_gcd(a, b) + calc_isqrt(a * b) * 3 + (calc_collatz(a) << 20);
}

#endif
