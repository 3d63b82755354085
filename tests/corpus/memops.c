/* memops: __builtin_memset, __builtin_memcpy and __builtin_memmove with
 * constant sizes on the stack and on the input, structures copied whole.
 * The helpers taking stack addresses are inlined (bpfvm gives a called
 * function no access to its caller's frame, see docs/verifier.md); the one
 * over the input stays a function. */
#include "corpus.h"

CORPUS_FN u64 checksum(const u8 *p, u64 n)
{
    u64 s = 0;
    for (u64 i = 0; i < n; i++)
        s = (s << 5 | s >> 59) ^ p[i];
    return s;
}

struct rec { /* no padding: every byte is compared */
    u32 id;
    u16 kind;
    u8 flags[10];
    u64 value;
};

CORPUS_INLINE u64 sum_bytes(const u8 *p, u64 n)
{
    u64 s = 0;
    for (u64 i = 0; i < n; i++)
        s = s * 3 + p[i];
    return s;
}

CORPUS_INLINE void fill(struct rec *r, const u8 *src)
{
    __builtin_memset(r, 0, sizeof(*r));
    __builtin_memcpy(&r->id, src, 4);
    __builtin_memcpy(r->flags, src + 4, sizeof(r->flags));
    __builtin_memcpy(&r->value, src + 14, 8);
    r->kind = (u16)(src[22] | src[23] << 8);
}

CORPUS_PROG u64 memops(u8 *mem, u64 len)
{
    u8 buf[64];
    struct rec a, b;
    if (len < 128)
        return 0;
    __builtin_memset(buf, 0x5a, sizeof(buf));
    __builtin_memcpy(buf + 8, mem, 32);
    u64 r = sum_bytes(buf, sizeof(buf));
    fill(&a, mem + 32);
    b = a; /* a structure copy */
    b.flags[2] ^= 0xff;
    r = r * 31 + sum_bytes((const u8 *)&b, sizeof(b)) + a.id + b.kind;
    __builtin_memmove(mem + 64, mem + 66, 16);  /* overlapping, forward */
    __builtin_memmove(mem + 90, mem + 88, 16);  /* overlapping, backward */
    __builtin_memset(mem + 112, 0, 7);
    __builtin_memcpy(mem, &a, sizeof(a));
    return r ^ checksum(mem, 128);
}

CORPUS_RANDOM_INPUT(memops)
