/* strings: text processing over the input taken as characters: decimal
 * numbers parsed between separators, words reversed in place, a
 * case-folding hash, a search for a fixed string. */
#include "corpus.h"

CORPUS_FN u64 parse_numbers(const u8 *p, u64 n)
{
    u64 total = 0, cur = 0, count = 0;
    int in_number = 0;
    for (u64 i = 0; i < n; i++) {
        u8 c = p[i];
        if (c >= '0' && c <= '9') {
            cur = cur * 10 + (u64)(c - '0');
            in_number = 1;
        } else if (in_number) {
            total += cur;
            count++;
            cur = 0;
            in_number = 0;
        }
    }
    return (total + (in_number ? cur : 0)) << 8 | count;
}

CORPUS_FN void reverse(u8 *p, u64 n)
{
    for (u64 i = 0, j = n - 1; n && i < j; i++, j--) {
        u8 t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

CORPUS_FN void reverse_words(u8 *p, u64 n)
{
    u64 start = 0;
    for (u64 i = 0; i <= n; i++) {
        if (i == n || p[i] == ' ') {
            reverse(p + start, i - start);
            start = i + 1;
        }
    }
}

CORPUS_FN u64 fold_hash(const u8 *p, u64 n)
{
    u64 h = 1469598103934665603ull;
    for (u64 i = 0; i < n; i++) {
        u8 c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (u8)(c + 32);
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

/* 1 + the position of needle in p, or 0. (Written with an early return from
 * the outer loop, clang 14 -O1 reads a register it never wrote on a path
 * that then loops: the kernel rejects that code (R6 !read_ok), and so does
 * bpfvm, see docs/verifier.md.) */
CORPUS_FN u64 search(const u8 *p, u64 n, const char *needle, u64 m)
{
    u64 found = 0;
    for (u64 i = 0; !found && i + m <= n; i++) {
        u64 j = 0;
        while (j < m && p[i + j] == (u8)needle[j])
            j++;
        if (j == m)
            found = i + 1;
    }
    return found;
}

CORPUS_PROG u64 strings(u8 *mem, u64 len)
{
    static const char text[] = "abc 12 def";
    /* make the input text-like: digits, letters and spaces */
    for (u64 i = 0; i < len; i++) {
        u8 c = mem[i];
        mem[i] = c < 60 ? (u8)('0' + c % 10) : c < 200 ? (u8)('a' + c % 26) : (u8)' ';
    }
    __builtin_memcpy(mem + len / 2, text, sizeof(text) - 1);
    u64 r = parse_numbers(mem, len);
    reverse_words(mem, len);
    r = r * 31 + fold_hash(mem, len);
    return r * 31 + search(mem, len, "21 cba", 6) + search(mem, len, "zzzzzzzz", 8);
}

CORPUS_RANDOM_INPUT(strings)
