/* recursion: functions that call themselves, of bounded depth (bpfvm allows
 * 8 nested calls by default): a tree sum over an implicit binary tree of
 * depth 4, a recursive power, mutual recursion; the same tree walked with an
 * explicit stack. clang keeps non-tail recursion as calls at every level. */
#include "corpus.h"

CORPUS_FN u64 tree_sum(const u8 *t, u64 node, u64 depth)
{
    if (depth == 0)
        return t[node];
    u64 l = tree_sum(t, 2 * node + 1, depth - 1);
    u64 r = tree_sum(t, 2 * node + 2, depth - 1);
    return t[node] + (l > r ? l * 2 + r : r * 3 + l);
}

CORPUS_FN u64 power(u64 b, u64 e)
{
    if (e == 0)
        return 1;
    u64 h = power(b, e / 2);
    return e & 1 ? h * h * b : h * h;
}

CORPUS_FN u64 odd_steps(u64 n, u64 depth);

CORPUS_FN u64 even_steps(u64 n, u64 depth)
{
    if (depth == 0 || n == 0)
        return n;
    return odd_steps(n / 2, depth - 1) + 1;
}

CORPUS_FN u64 odd_steps(u64 n, u64 depth)
{
    if (depth == 0)
        return n;
    return even_steps(n * 3 + 1, depth - 1) * 2;
}

CORPUS_FN u64 tree_sum_stack(const u8 *t)
{
    u64 stack[16], sum = 0, sp = 0;
    stack[sp++] = 0;
    while (sp) {
        u64 node = stack[--sp];
        sum = sum * 7 + t[node];
        if (2 * node + 2 < 31) {
            stack[sp++] = 2 * node + 2;
            stack[sp++] = 2 * node + 1;
        }
    }
    return sum;
}

CORPUS_PROG u64 recursion(u8 *mem, u64 len)
{
    if (len < 31)
        return 0;
    u64 r = tree_sum(mem, 0, 4);
    r = r * 31 + power((u64)(mem[40] | 1), mem[41] % 16u);
    r = r * 31 + even_steps(mem[42], 5) + odd_steps(mem[43], 4);
    return r * 31 + tree_sum_stack(mem + 64);
}

CORPUS_RANDOM_INPUT(recursion)
