/* Functions that return void: clang writes no r0 on their return paths, and
 * the callers never read it (the reproducer of the verifier's void-function
 * bug). The entry swaps a[0] with a[a[1] - 1] when a[1] >= 2, then adds
 * a[2..3] reversed into a[0] with a void helper that calls another. */
#include "bpf.h"

static __attribute__((noinline)) void sift(unsigned *a, unsigned long n)
{
    if (n < 2)
        return; /* r0 never written on this path */
    unsigned t = a[0];
    a[0] = a[n - 1];
    a[n - 1] = t;
}

static __attribute__((noinline)) void add_to(unsigned *dst, unsigned v)
{
    *dst += v;
}

static __attribute__((noinline)) void add_pair(unsigned *a)
{
    if (a[2] == a[3])
        return;
    add_to(&a[0], a[3] * 16 + a[2]);
}

SEC("prog") unsigned long entry(unsigned *a)
{
    sift(a, a[1]);
    add_pair(a);
    return a[0];
}
