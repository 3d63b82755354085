/* ex_calls: examples/calls.bpf.c (the least common multiple of the input's
 * numbers, through two functions of its own), called from .text into its
 * program section. */
#include "corpus.h"

u64 lcm_all(const u64 *mem, u64 len);
#include "../../examples/calls.bpf.c"

CORPUS_PROG u64 ex_calls(u8 *mem, u64 len)
{
    u64 *v = (u64 *)mem;
    for (u64 i = 0; i < len / 8; i++) /* small numbers, so that the lcm stays interesting */
        v[i] = v[i] % 24 + 1;
    return lcm_all(v, len);
}

CORPUS_RANDOM_INPUT(ex_calls)
