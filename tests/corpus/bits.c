/* bits: shifts, rotates, byte swaps, population counts, sign and zero
 * extension between widths, 32-bit arithmetic that wraps, arithmetic shifts
 * of negative numbers, unsigned division by variables. */
#include "corpus.h"

CORPUS_FN u64 rotl(u64 x, u64 k)
{
    k &= 63;
    return k ? x << k | x >> (64 - k) : x;
}

CORPUS_FN u32 rotr32(u32 x, u32 k)
{
    k &= 31;
    return k ? x >> k | x << (32 - k) : x;
}

CORPUS_FN u64 ones(u64 x)
{
    u64 n = 0;
    while (x) {
        x &= x - 1;
        n++;
    }
    return n;
}

CORPUS_FN u64 clz(u64 x)
{
    if (!x)
        return 64;
    u64 n = 0;
    for (u64 bit = (u64)1 << 63; !(x & bit); bit >>= 1)
        n++;
    return n;
}

CORPUS_FN s64 widen(const u8 *p)
{
    s8 a = (s8)p[0];
    s16 b;
    s32 c;
    __builtin_memcpy(&b, p + 2, 2);
    __builtin_memcpy(&c, p + 4, 4);
    return (s64)a * 7 + (s64)b * 3 + (s64)c + (s64)(u32)c;
}

CORPUS_PROG u64 bits(u8 *mem, u64 len)
{
    const u64 *v = (const u64 *)mem;
    u64 r = 0;
    for (u64 i = 0; i < len / 8; i++) {
        u64 x = v[i];
        u32 lo = (u32)x, hi = (u32)(x >> 32);
        r += rotl(x, i * 7) ^ ones(x) ^ clz(x >> (i % 64));
        r += __builtin_bswap64(x) >> 3;
        r += __builtin_bswap32(lo) ^ __builtin_bswap16((u16)hi);
        r += rotr32(lo * 2654435761u + hi, hi);
        r += (u64)(u32)(lo * hi) + (u64)(lo + hi) + (u64)(lo - hi);
        r += hi ? lo / hi + lo % hi : lo;
        r += (u64)((s64)x >> 13) ^ (u64)((s32)lo >> 7);
        r += (u64)widen(mem + 8 * i);
    }
    return r;
}

CORPUS_RANDOM_INPUT(bits)
