/* structs: structures passed by pointer (read and written), nested
 * structures, arrays of structures, a structure filled by a callee. The
 * structures live in the input's second half (bpfvm gives a called function
 * no access to its caller's stack frame, see docs/verifier.md). */
#include "corpus.h"

struct point {
    s32 x, y;
};

struct box {
    struct point lo, hi;
    u32 hits;
    u32 pad;
};

CORPUS_FN void point_from(struct point *p, const u8 *src)
{
    p->x = (s32)(s8)src[0] * 100 + src[1];
    p->y = (s32)(s8)src[2] * 100 + src[3];
}

CORPUS_FN void box_grow(struct box *b, const struct point *p)
{
    if (p->x < b->lo.x)
        b->lo.x = p->x;
    if (p->y < b->lo.y)
        b->lo.y = p->y;
    if (p->x > b->hi.x)
        b->hi.x = p->x;
    if (p->y > b->hi.y)
        b->hi.y = p->y;
}

CORPUS_FN int box_has(const struct box *b, const struct point *p)
{
    return p->x >= b->lo.x && p->x <= b->hi.x && p->y >= b->lo.y && p->y <= b->hi.y;
}

CORPUS_FN u64 area(const struct box *b)
{
    return (u64)(s64)(b->hi.x - b->lo.x) * (u64)(s64)(b->hi.y - b->lo.y);
}

CORPUS_PROG u64 structs(u8 *mem, u64 len)
{
    struct point *pts = (struct point *)(mem + 64);   /* 16 x 8 bytes */
    struct box *boxes = (struct box *)(mem + 192);    /* 4 x 24 bytes */
    u64 n = 16;
    if (len < 288)
        return 0;
    for (u64 i = 0; i < n; i++)
        point_from(&pts[i], mem + 4 * i);
    for (u64 k = 0; k < 4; k++) {
        boxes[k].lo = pts[k];
        boxes[k].hi = pts[k];
        boxes[k].hits = 0;
        boxes[k].pad = 0;
        for (u64 i = k; i < n; i += 4)
            box_grow(&boxes[k], &pts[i]);
    }
    for (u64 i = 0; i < n; i++)
        for (u64 k = 0; k < 4; k++)
            boxes[k].hits += (u32)box_has(&boxes[k], &pts[(i * 7) % n]);
    u64 r = 0;
    for (u64 k = 0; k < 4; k++)
        r = r * 1000003 + area(&boxes[k]) + boxes[k].hits;
    struct box *out = (struct box *)mem;
    *out = boxes[r % 4];
    return r;
}

CORPUS_RANDOM_INPUT(structs)
