/* fnv1a: 64-bit FNV-1a hash of every 64-byte block of the buffer, each
 * finished with a murmur-style avalanche and folded together; a chain of
 * dependent multiplies. */
#include "prog.h"

BENCH_INLINE u64 fmix64(u64 h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

BENCH_PROG u64 fnv1a(u8 *mem, u64 len)
{
    u64 acc = 0;

    for (u64 base = 0; base + 64 <= len; base += 64) {
        u64 h = 0xcbf29ce484222325ull;
        for (u64 i = 0; i < 64; i++) {
            h ^= mem[base + i];
            h *= 0x100000001b3ull;
        }
        acc = (acc << 7 | acc >> 57) ^ fmix64(h);
    }
    return acc;
}

#ifndef __bpf__
void fnv1a_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
