/* elf_voidfn: tests/elf/voidfn.c, the verifier's void-function reproducer
 * (void functions with early returns, one calling another), at every level. */
#include "corpus.h"

unsigned long entry(unsigned *a);
#include "../elf/voidfn.c"

CORPUS_PROG u64 elf_voidfn(u8 *mem, u64 len)
{
    u64 r = 0;
    for (u64 k = 0; k + 16 <= len; k += 16) /* four words at a time */
        r = r * 31 + entry((unsigned *)(mem + k));
    return r;
}

#ifndef __bpf__
void elf_voidfn_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
    for (u64 k = 0; k + 16 <= len; k += 16) /* a[1], the count, is 0..4 */
        mem[k + 4] %= 5, mem[k + 5] = mem[k + 6] = mem[k + 7] = 0;
}
#endif
