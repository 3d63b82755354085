/* strscan: walk NUL-terminated words packed in the buffer (strlen-like
 * scanning) and compare each with the first one (memcmp-like), counting
 * equal words, words sharing the first letter, and the longest length. */
#include "prog.h"

BENCH_PROG u64 strscan(u8 *mem, u64 len)
{
    u64 key = 0, keylen, pos, words = 0, equal = 0, same_first = 0, longest = 0;

    while (key < len && mem[key])
        key++;
    keylen = key;
    for (pos = 0; pos < len;) {
        u64 start = pos, wlen;
        while (pos < len && mem[pos])
            pos++;
        wlen = pos - start;
        pos++; /* the NUL */
        words++;
        if (wlen > longest)
            longest = wlen;
        if (wlen && mem[start] == mem[0])
            same_first++;
        if (wlen == keylen) {
            u64 i = 0;
            while (i < wlen && mem[start + i] == mem[i])
                i++;
            equal += i == wlen;
        }
    }
    return words << 40 | equal << 24 | same_first << 8 | longest;
}

#ifndef __bpf__
void strscan_input(u8 *mem, u64 len, u64 seed)
{
    u64 pos = 0;

    /* Words of 1..8 letters from a 3-letter alphabet so that some repeat. */
    while (pos + 10 < len) {
        u64 r = bench_rand(&seed), wlen = 1 + (r & 7);
        for (u64 i = 0; i < wlen; i++)
            mem[pos++] = (u8)('a' + (r >> (8 + 2 * i)) % 3);
        mem[pos++] = 0;
    }
    while (pos < len)
        mem[pos++] = 0;
}
#endif
