/* alu32: 32-bit arithmetic: MurmurHash3's 32-bit mix over the input words,
 * Adler-32 and a 32-bit xorshift checksum, all in u32 (alu32 instructions at
 * -mcpu=v3, shift pairs zero-extending at v1). */
#include "prog.h"

BENCH_PROG u64 alu32(u8 *mem, u64 len)
{
    const u32 *w = (const u32 *)mem;
    u32 h = 0x12345678, a = 1, b = 0, x = 0x9e3779b9;

    for (u64 i = 0; i < len / 4; i++) {
        u32 k = w[i];
        k *= 0xcc9e2d51;
        k = (k << 15) | (k >> 17);
        k *= 0x1b873593;
        h ^= k;
        h = (h << 13) | (h >> 19);
        h = h * 5 + 0xe6546b64;
        a = (a + (k & 0xff)) % 65521;
        b = (b + a) % 65521;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x += w[i] >> 3;
    }
    h ^= (u32)len;
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    return (u64)h << 32 | ((b << 16 | a) ^ x);
}

#ifndef __bpf__
void alu32_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
