/* voidfn: functions that return void, with early returns (clang writes no
 * r0 on those paths): a heap sort whose sift-down returns early, a swap that
 * returns at once for equal pointers, an accumulator skipping zeros. (The
 * accumulator is in the input: bpfvm gives a called function no access to
 * its caller's stack frame, see docs/verifier.md.) */
#include "corpus.h"

CORPUS_FN void swap32(u32 *a, u32 *b)
{
    if (a == b)
        return;
    u32 t = *a;
    *a = *b;
    *b = t;
}

CORPUS_FN void sift_down(u32 *a, u64 n, u64 i)
{
    for (int k = 0; k < 32; k++) {
        u64 l = 2 * i + 1, big = i;
        if (l >= n)
            return;
        if (a[l] > a[big])
            big = l;
        if (l + 1 < n && a[l + 1] > a[big])
            big = l + 1;
        if (big == i)
            return;
        swap32(&a[i], &a[big]);
        i = big;
    }
}

CORPUS_FN void heap_sort(u32 *a, u64 n)
{
    if (n < 2)
        return;
    for (u64 i = n / 2; i-- > 0;)
        sift_down(a, n, i);
    for (u64 end = n - 1; end > 0; end--) {
        swap32(&a[0], &a[end]);
        sift_down(a, end, 0);
    }
}

CORPUS_FN void note(u64 *acc, u64 v)
{
    if (!v)
        return;
    *acc = *acc * 31 + v;
}

CORPUS_PROG u64 voidfn(u8 *mem, u64 len)
{
    u32 *a = (u32 *)mem;
    u64 *acc = (u64 *)(mem + len - 8), n = len / 4 - 2;
    if (n > 62)
        n = 62;
    heap_sort(a, n);
    heap_sort(a, 1);
    *acc = 0;
    for (u64 i = 0; i < n; i++)
        note(acc, a[i] & 0xff ? a[i] ^ (u32)i : 0);
    swap32(&a[0], &a[0]);
    return *acc;
}

CORPUS_RANDOM_INPUT(voidfn)
