/* loops: for, while and do-while loops with break and continue, nested
 * loops leaving through a flag and through goto, a loop whose exit test is
 * in the middle. */
#include "corpus.h"

CORPUS_FN u64 run_lengths(const u8 *p, u64 n)
{
    u64 runs = 0, longest = 0, i = 0;
    while (i < n) {
        u64 j = i + 1;
        while (j < n && p[j] == p[i])
            j++;
        if (j - i > longest)
            longest = j - i;
        runs++;
        i = j;
    }
    return runs << 8 | longest;
}

CORPUS_FN u64 skip_and_stop(const u8 *p, u64 n)
{
    u64 sum = 0;
    for (u64 i = 0; i < n; i++) {
        if (p[i] % 3 == 0)
            continue;
        if (p[i] == 0xfe)
            break;
        sum += p[i];
        if (sum > 20000)
            break;
    }
    return sum;
}

CORPUS_FN u64 find_pair(const u8 *p, u64 n, u64 target)
{
    u64 found = 0;
    for (u64 i = 0; i < n && !found; i++) {
        for (u64 j = i + 1; j < n; j++) {
            if ((u64)p[i] + p[j] == target) {
                found = i << 16 | j;
                break;
            }
        }
    }
    return found;
}

CORPUS_FN u64 grid_search(const u8 *p, u64 rows, u64 cols)
{
    u64 r, c;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++)
            if (p[r * cols + c] == 0x7f)
                goto found;
    return 0;
found:
    return r * 1000 + c + 1;
}

CORPUS_FN u64 digits(u64 x)
{
    u64 n = 0;
    do {
        n++;
        x /= 10;
    } while (x);
    return n;
}

CORPUS_PROG u64 loops(u8 *mem, u64 len)
{
    u64 r = run_lengths(mem, len);
    r = r * 31 + skip_and_stop(mem, len);
    r = r * 31 + find_pair(mem, len < 64 ? len : 64, 300);
    r = r * 31 + grid_search(mem, len / 32, 32);
    u64 x = 0;
    for (u64 i = 0; i < 8 && i < len; i++)
        x = x << 8 | mem[i];
    r = r * 31 + digits(x) + digits(0) + digits(x >> 40);
    u64 k = 0;
    for (;;) { /* the exit test in the middle */
        r ^= mem[k % len] * (k + 1);
        if (k * k > len)
            break;
        k++;
    }
    return r;
}

CORPUS_RANDOM_INPUT(loops)
