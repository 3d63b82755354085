/* hashtab: an open-addressing hash table counting the 16-bit words of the
 * input's first half, probed linearly; then the most frequent word. The
 * table is in the input's second half (bpfvm gives a called function no
 * access to its caller's stack frame, see docs/verifier.md). */
#include "corpus.h"

#define SLOTS 32

struct table {
    u16 key[SLOTS];
    u16 count[SLOTS];
    u8 used[SLOTS];
};

CORPUS_FN u64 slot_of(const struct table *t, u16 key)
{
    u64 h = ((u64)key * 40503u) % SLOTS;
    for (u64 probe = 0; probe < SLOTS; probe++) {
        u64 s = (h + probe) % SLOTS;
        if (!t->used[s] || t->key[s] == key)
            return s;
    }
    return SLOTS; /* full */
}

CORPUS_FN int add(struct table *t, u16 key)
{
    u64 s = slot_of(t, key);
    if (s == SLOTS)
        return 0;
    if (!t->used[s]) {
        t->used[s] = 1;
        t->key[s] = key;
        t->count[s] = 0;
    }
    t->count[s]++;
    return 1;
}

CORPUS_PROG u64 hashtab(u8 *mem, u64 len)
{
    struct table *t = (struct table *)(mem + len / 2);
    if (len < 2 * sizeof(*t))
        return 0;
    __builtin_memset(t, 0, sizeof(*t));
    u64 added = 0, dropped = 0;
    for (u64 i = 0; i + 1 < len / 2; i += 2) {
        u16 key = (u16)((mem[i] & 0x1f) << 8 | (mem[i + 1] & 0x3));
        if (add(t, key))
            added++;
        else
            dropped++;
    }
    u64 best = 0, best_key = 0;
    for (u64 s = 0; s < SLOTS; s++)
        if (t->used[s] && t->count[s] > best) {
            best = t->count[s];
            best_key = t->key[s];
        }
    return added << 40 | dropped << 24 | best_key << 8 | best;
}

CORPUS_RANDOM_INPUT(hashtab)
