/* Functions given the addresses of their callers' local variables (the
 * caller's and the caller's caller's stack frames), as ordinary C does: the
 * kernel accepts these as socket filters. Each entry ignores its context and
 * returns a value below 2^32 (a socket filter's result is 32 bits). */
#include "bpf.h"

FUNC void inc(unsigned long *p)
{
    *p += 1;
}

SEC("socket") unsigned long inc_local(void *ctx)
{
    (void)ctx;
    unsigned long n = 41;
    inc(&n);
    return n;
}

struct rec {
    u32 id;
    u32 flags;
    u64 value;
    u8 tag[8];
};

/* Fills the structure two frames up (through two calls). */
FUNC void fill(struct rec *r, u32 seed)
{
    r->id = seed * 3;
    r->flags = seed ^ 0x55;
    r->value = (u64)seed << 20 | 7;
    for (u32 i = 0; i < 8; i++)
        r->tag[i] = (u8)(seed + i * 5);
}

FUNC u32 make(struct rec *r, u32 *count, u32 seed)
{
    fill(r, seed);
    *count += 1;
    return r->id + 1;
}

SEC("socket") unsigned long fill_struct(void *ctx)
{
    (void)ctx;
    struct rec a, b;
    u32 count = 0;
    u32 ids = make(&a, &count, 5) + make(&b, &count, 9);
    u64 sum = 0;
    for (u32 i = 0; i < 8; i++)
        sum += a.tag[i] * (u64)(i + 1) + b.tag[i];
    return (ids << 24) ^ (a.flags << 16) ^ (b.flags << 8) ^ (u32)(a.value >> 20) ^
           (u32)b.value ^ (u32)sum ^ (count << 28);
}
