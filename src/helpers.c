/* helpers.c - what helpers see of a run (user pointer, memory checks,
 * failure) and the ready-made helper set.
 *
 * Every pointer a ready-made helper takes is checked with bpfvm_ctx_access
 * against what the program itself may access; a bad pointer stops the run
 * with BPFVM_EHELPERFAIL and a message naming the helper and the address.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- the helper's view of the run ---------------------------------------- */

void *bpfvm_helper_user(const bpfvm_ctx *ctx)
{
    return ctx ? ctx->helper_user : NULL;
}

/* In unchecked mode the program may touch anything, and so may its helpers. */
void *bpfvm_ctx_access(const bpfvm_ctx *ctx, uint64_t addr, uint64_t len, int write)
{
    if (!ctx)
        return NULL;
    if (len && ctx->checked && !bpfvm__access_ok(ctx, addr, len, write != 0))
        return NULL;
    return (void *)(uintptr_t)addr;
}

void bpfvm_ctx_fail(bpfvm_ctx *ctx, const char *message)
{
    if (!ctx)
        return;
    ctx->failed = 1;
    snprintf(ctx->fail_msg, sizeof(ctx->fail_msg), "%s", message ? message : "failed");
}

void bpfvm_set_trace_stream(bpfvm_vm *vm, FILE *stream)
{
    if (vm)
        vm->trace = stream;
}

/* Fail with a formatted message; returns 0 for the helper to return. */
static uint64_t fail(bpfvm_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static uint64_t fail(bpfvm_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->fail_msg, sizeof(ctx->fail_msg), fmt, ap);
    va_end(ap);
    ctx->failed = 1;
    return 0;
}

/* ---- the ready-made set ----------------------------------------------------- */

/* () -> CLOCK_MONOTONIC in nanoseconds */
uint64_t bpfvm__ktime_get_ns(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                             uint64_t e)
{
    struct timespec ts;
    (void)a, (void)b, (void)c, (void)d, (void)e;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return fail(ctx, "bpf_ktime_get_ns: clock_gettime failed");
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Output of trace_printk: counted, and written to the stream if any. */
typedef struct {
    FILE *stream;
    uint64_t written;
} trace_out;

static void out_bytes(trace_out *o, const char *s, size_t n)
{
    if (o->stream && n)
        fwrite(s, 1, n, o->stream);
    o->written += n;
}

/* (fmt, fmt_len, a, b, c) -> bytes written. The format is at most fmt_len
 * bytes (up to a NUL) and takes %d %i %u %x with an optional l or ll size
 * (no size: 32 bits; l, ll: 64 bits) and %%; up to three arguments. */
uint64_t bpfvm__trace_printk(bpfvm_ctx *ctx, uint64_t fmt_addr, uint64_t fmt_len, uint64_t a,
                             uint64_t b, uint64_t c)
{
    const char *fmt = bpfvm_ctx_access(ctx, fmt_addr, fmt_len, 0);
    const uint64_t args[3] = { a, b, c };
    trace_out o = { ctx->vm->trace, 0 };
    size_t nargs = 0, i = 0, lit = 0;
    char num[32];

    if (!fmt)
        return fail(ctx, "bpf_trace_printk: format [0x%" PRIx64 ", +%" PRIu64 ") is not readable",
                    fmt_addr, fmt_len);
    while (i < fmt_len && fmt[i]) {
        if (fmt[i] != '%') {
            i++;
            continue;
        }
        out_bytes(&o, fmt + lit, i - lit);
        size_t start = i++;
        int longs = 0;
        while (i < fmt_len && fmt[i] == 'l' && longs < 2) {
            longs++;
            i++;
        }
        char conv = i < fmt_len ? fmt[i] : '\0';
        if (conv == '%' && longs == 0) {
            out_bytes(&o, "%", 1);
        } else if (conv == 'd' || conv == 'i' || conv == 'u' || conv == 'x') {
            if (nargs == 3)
                return fail(ctx, "bpf_trace_printk: more than 3 conversions in the format");
            uint64_t v = args[nargs++];
            bool is_signed = conv == 'd' || conv == 'i';
            int n;
            if (!longs) /* 32-bit argument */
                v = is_signed ? (uint64_t)(int64_t)(int32_t)(uint32_t)v : (uint32_t)v;
            if (is_signed)
                n = snprintf(num, sizeof(num), "%" PRId64, (int64_t)v);
            else if (conv == 'u')
                n = snprintf(num, sizeof(num), "%" PRIu64, v);
            else
                n = snprintf(num, sizeof(num), "%" PRIx64, v);
            out_bytes(&o, num, (size_t)n);
        } else {
            return fail(ctx, "bpf_trace_printk: unsupported conversion '%.*s' at format offset %zu",
                        (int)(i - start + (i < fmt_len && fmt[i] ? 1 : 0)), fmt + start, start);
        }
        lit = ++i;
    }
    out_bytes(&o, fmt + lit, i - lit);
    return o.written;
}

/* (a, b, c, d, e) -> the low byte of each, packed: a<<32 | b<<24 | c<<16 | d<<8 | e */
static uint64_t h_gather_bytes(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                               uint64_t e)
{
    (void)ctx;
    return (a & 0xff) << 32 | (b & 0xff) << 24 | (c & 0xff) << 16 | (d & 0xff) << 8 | (e & 0xff);
}

/* (ptr, len) -> 0; XORs each byte with 42 (needs read and write access) */
static uint64_t h_memfrob(bpfvm_ctx *ctx, uint64_t ptr, uint64_t len, uint64_t c, uint64_t d,
                          uint64_t e)
{
    (void)c, (void)d, (void)e;
    uint8_t *p = bpfvm_ctx_access(ctx, ptr, len, 1);
    if (!p || !bpfvm_ctx_access(ctx, ptr, len, 0))
        return fail(ctx, "memfrob: [0x%" PRIx64 ", +%" PRIu64 ") is not readable and writable",
                    ptr, len);
    for (uint64_t i = 0; i < len; i++)
        p[i] ^= 42;
    return 0;
}

/* (x) -> floor(sqrt(x)), exact for every 64-bit x (digit-by-digit method) */
static uint64_t h_sqrti(bpfvm_ctx *ctx, uint64_t x, uint64_t b, uint64_t c, uint64_t d,
                        uint64_t e)
{
    uint64_t res = 0, bit = (uint64_t)1 << 62;
    (void)ctx, (void)b, (void)c, (void)d, (void)e;
    while (bit > x)
        bit >>= 2;
    while (bit) {
        if (x >= res + bit) {
            x -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return res;
}

/* (a, b) -> <0, 0, >0 as strcmp (bytes compared unsigned). Each byte read is
 * checked; a string that runs out of accessible memory fails the run. */
static uint64_t h_strcmp(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                         uint64_t e)
{
    (void)c, (void)d, (void)e;
    for (uint64_t i = 0;; i++) {
        const uint8_t *pa = bpfvm_ctx_access(ctx, a + i, 1, 0);
        const uint8_t *pb = bpfvm_ctx_access(ctx, b + i, 1, 0);
        if (!pa || !pb)
            return fail(ctx, "strcmp: string at 0x%" PRIx64 " is not readable up to its NUL "
                        "(byte 0x%" PRIx64 ")", pa ? b : a, (pa ? b : a) + i);
        if (*pa != *pb || !*pa)
            return (uint64_t)((int64_t)*pa - (int64_t)*pb);
    }
}

/* (min, max) -> pseudo-random in [min, max] (the bounds may come in either
 * order). splitmix64 over a process-wide counter advanced atomically, so
 * concurrent runs never share a state word non-atomically. */
static uint64_t rand_state;

uint64_t bpfvm__rand(bpfvm_ctx *ctx, uint64_t min, uint64_t max, uint64_t c, uint64_t d,
                     uint64_t e)
{
    (void)c, (void)d, (void)e;
    uint64_t z = __atomic_add_fetch(&rand_state, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
    z ^= (uint64_t)(uintptr_t)ctx; /* different runs start apart */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    if (min > max) {
        uint64_t t = min;
        min = max;
        max = t;
    }
    uint64_t span = max - min + 1; /* 0: the whole 64-bit range */
    return span ? min + z % span : z;
}

int bpfvm_register_std_helpers(bpfvm_vm *vm)
{
    static const bpfvm__helper_def std[] = {
        { BPFVM_HELPER_KTIME_GET_NS, "bpf_ktime_get_ns", bpfvm__ktime_get_ns },
        { BPFVM_HELPER_TRACE_PRINTK, "bpf_trace_printk", bpfvm__trace_printk },
        { BPFVM_HELPER_GATHER_BYTES, "gather_bytes",     h_gather_bytes },
        { BPFVM_HELPER_MEMFROB,      "memfrob",          h_memfrob },
        { BPFVM_HELPER_SQRTI,        "sqrti",            h_sqrti },
        { BPFVM_HELPER_STRCMP,       "strcmp",           h_strcmp },
        { BPFVM_HELPER_RAND,         "rand",             bpfvm__rand },
    };
    return bpfvm__register_helpers(vm, std, sizeof(std) / sizeof(std[0]));
}

int bpfvm__register_helpers(bpfvm_vm *vm, const bpfvm__helper_def *set, size_t n)
{
    if (!vm)
        return BPFVM_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int rc = bpfvm_register_helper(vm, set[i].id, set[i].name, set[i].fn, NULL);
        if (rc)
            return rc;
    }
    return 0;
}
