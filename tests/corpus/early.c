/* early: functions with several early returns of values, and an entry that
 * returns early too. */
#include "corpus.h"

CORPUS_FN u64 classify(u8 c)
{
    if (c < 32)
        return 0;
    if (c == ' ')
        return 1;
    if (c >= 'a' && c <= 'z')
        return 2;
    if (c >= 'A' && c <= 'Z')
        return 3;
    if (c >= '0' && c <= '9')
        return 4;
    if (c >= 128)
        return 6;
    return 5;
}

CORPUS_FN u64 find_first(const u8 *p, u64 n, u8 v)
{
    for (u64 i = 0; i < n; i++)
        if (p[i] == v)
            return i;
    return n;
}

CORPUS_FN s64 check(const u8 *p, u64 n)
{
    if (n == 0)
        return -1;
    if (p[0] > 250)
        return -2;
    if (p[n - 1] == p[0])
        return 0;
    return p[0] < p[n - 1] ? 1 : 2;
}

CORPUS_PROG u64 early(u8 *mem, u64 len)
{
    u64 classes[7] = { 0 };
    if (len < 16)
        return 0;
    if (mem[0] == 0xff && mem[1] == 0xff)
        return 1;
    for (u64 i = 0; i < len; i++)
        classes[classify(mem[i])]++;
    u64 r = find_first(mem, len, 0x41) * 7 + find_first(mem + 1, len - 1, mem[0]);
    for (u64 i = 0; i < 7; i++)
        r = r * 131 + classes[i];
    for (u64 k = 0; k + 8 <= len; k += 8)
        r += (u64)(check(mem + k, 8) + 3) << (k % 32);
    return r + (u64)(check(mem, 0) + 1);
}

CORPUS_RANDOM_INPUT(early)
