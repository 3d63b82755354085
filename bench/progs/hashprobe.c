/* hashprobe: an open-addressing hash table (linear probing, 64-bit keys and
 * values) in the input buffer: insert the first half of the key list, then
 * look every key up; the result sums the values found and the probes. */
#include "prog.h"

#define SLOTS 512                 /* power of two; 16 bytes each */
#define KEYS  384

BENCH_INLINE u64 hash(u64 k)
{
    k ^= k >> 31;
    k *= 0x7fb5d329728ea185ull;
    k ^= k >> 27;
    return k;
}

BENCH_PROG u64 hashprobe(u8 *mem, u64 len)
{
    u64 *table = (u64 *)mem, *keys = (u64 *)mem + 2 * SLOTS;
    u64 found = 0, probes = 0;

    if (len < (2 * SLOTS + KEYS) * 8)
        return 0;
    for (u64 i = 0; i < KEYS / 2; i++) {
        u64 k = keys[i] | 1, h = hash(k) & (SLOTS - 1);
        while (table[2 * h] && table[2 * h] != k)
            h = (h + 1) & (SLOTS - 1);
        table[2 * h] = k;
        table[2 * h + 1] = i * 3 + 1;
    }
    for (u64 i = 0; i < KEYS; i++) {
        u64 k = keys[i] | 1, h = hash(k) & (SLOTS - 1);
        for (;;) {
            u64 t = table[2 * h];
            probes++;
            if (t == k) {
                found += table[2 * h + 1];
                break;
            }
            if (!t)
                break;
            h = (h + 1) & (SLOTS - 1);
        }
    }
    return found << 20 | probes;
}

#ifndef __bpf__
void hashprobe_input(u8 *mem, u64 len, u64 seed)
{
    for (u64 i = 0; i < len; i++)
        mem[i] = 0;
    for (u64 i = 2 * SLOTS * 8; i + 8 <= len; i += 8) {
        u64 k = bench_rand(&seed);
        for (int b = 0; b < 8; b++)
            mem[i + (u64)b] = (u8)(k >> (8 * b));
    }
}
#endif
