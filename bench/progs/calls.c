/* calls: small functions the compiler keeps out of line, called in a loop:
 * in BPF they are local calls (bpf-to-bpf), natively ordinary calls. Each
 * round mixes two input words through three functions of one or two
 * arguments (two at most: each function is also a valid program entry). */
#include "prog.h"

BENCH_CALL u64 rotmix(u64 x, u64 k)
{
    x ^= k;
    x = (x << 13) | (x >> 51);
    return x * 0x9e3779b97f4a7c15ull;
}

BENCH_CALL u64 clamp(u64 x)
{
    return x < 1000 ? 1000 : x > 60000 ? 60000 : x;
}

BENCH_CALL u64 blend(u64 a, u64 b)
{
    return (a & b) + (~a & (b >> 7)) + (a >> 3);
}

BENCH_PROG u64 calls(u8 *mem, u64 len)
{
    const u64 *w = (const u64 *)mem;
    u64 n = len / 8, h = 1, s = 0;

    for (u64 i = 0; i + 1 < n; i++) {
        h = rotmix(h, w[i]);
        s += clamp(w[i + 1] & 0xffff);
        h = blend(h, s ^ i);
    }
    return h ^ s;
}

#ifndef __bpf__
void calls_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
