/* memops: records gathered from the input into a staging area and back
 * with __builtin_memcpy/__builtin_memset of constant sizes in loops, which
 * clang expands for BPF into runs of 8/4/2/1-byte loads and stores. */
#include "prog.h"

#define REC 56     /* record size */
#define NREC 64

BENCH_PROG u64 memops(u8 *mem, u64 len)
{
    u8 *src = mem, *stage = mem + NREC * REC;
    u64 sum = 0;

    if (len < 2 * NREC * REC + 64)
        return 0;
    for (u64 round = 0; round < 4; round++) {
        for (u64 i = 0; i < NREC; i++) {
            u64 j = (i * 37 + round) % NREC;
            __builtin_memcpy(stage + j * REC, src + i * REC, REC);
            __builtin_memset(stage + j * REC + 40, (int)round, 13);
        }
        for (u64 i = 0; i < NREC; i++) {
            __builtin_memcpy(src + i * REC, stage + i * REC + 8, 48);
            __builtin_memset(src + i * REC + 48, 0, 8);
            sum += *(const u64 *)(src + i * REC) ^ *(const u64 *)(src + i * REC + 40);
        }
    }
    return sum;
}

#ifndef __bpf__
void memops_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
