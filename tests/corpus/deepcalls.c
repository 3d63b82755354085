/* deepcalls: a chain of seven functions, each calling the next with five
 * arguments (the most BPF passes in registers), so that the deepest runs
 * eight frames down (bpfvm's default call depth); callee-saved registers
 * carry values across every call. */
#include "corpus.h"

CORPUS_FN u64 f7(u64 a, u64 b, u64 c, u64 d, u64 e)
{
    return a * 3 + b * 5 + c * 7 + d * 11 + e * 13;
}

#define LINK(name, next, k)                                              \
    CORPUS_FN u64 name(u64 a, u64 b, u64 c, u64 d, u64 e)                \
    {                                                                    \
        u64 keep = a ^ (e << k);                                         \
        u64 r = next(b + k, c ^ a, d * k, e + a, a - b);                 \
        return r * 31 + keep + (r >> 7);                                 \
    }
LINK(f6, f7, 6)
LINK(f5, f6, 5)
LINK(f4, f5, 4)
LINK(f3, f4, 3)
LINK(f2, f3, 2)
LINK(f1, f2, 1)

CORPUS_PROG u64 deepcalls(u8 *mem, u64 len)
{
    const u64 *v = (const u64 *)mem;
    u64 r = 0;
    for (u64 i = 0; i + 5 <= len / 8; i++)
        r ^= f1(v[i], v[i + 1], v[i + 2], v[i + 3], v[i + 4]) + r;
    return r;
}

CORPUS_RANDOM_INPUT(deepcalls)
