/* test_helpers.c - the ready-made helpers, called from programs, including
 * the pointer checks that make a run fail. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm.h"
#include "test.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PROG(...) (bpfvm_insn[]){ __VA_ARGS__ }, COUNT(((bpfvm_insn[]){ __VA_ARGS__ }))

static bpfvm_vm *std_vm(void)
{
    bpfvm_vm *vm = bpfvm_create();
    CHECK(bpfvm_register_std_helpers(vm) == 0, "register std helpers");
    return vm;
}

/* Run `prog` on vm with mem as RAW input. */
static int run(bpfvm_vm *vm, const bpfvm_insn *prog, size_t n, void *mem, size_t len,
               uint64_t *r0, bpfvm_error *err)
{
    int rc = bpfvm_load(vm, prog, n * sizeof(*prog));
    if (rc) {
        *err = *bpfvm_last_error(vm);
        return rc;
    }
    return bpfvm_run(vm, mem, len, NULL, 0, r0, err);
}

/* Call helper `id` with r1..r5 = a..e, return r0. */
static int call5(bpfvm_vm *vm, uint32_t id, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                 uint64_t e, void *mem, size_t len, uint64_t *r0, bpfvm_error *err)
{
    bpfvm_insn prog[] = {
        BPFVM_LD_IMM64(BPFVM_R1, a), BPFVM_LD_IMM64(BPFVM_R2, b), BPFVM_LD_IMM64(BPFVM_R3, c),
        BPFVM_LD_IMM64(BPFVM_R4, d), BPFVM_LD_IMM64(BPFVM_R5, e),
        BPFVM_CALL_HELPER(id), BPFVM_EXIT(),
    };
    return run(vm, prog, COUNT(prog), mem, len, r0, err);
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void test_ktime(void)
{
    bpfvm_vm *vm = std_vm();
    struct timespec ts;
    uint64_t r0 = 0, before, after;
    bpfvm_error err;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    before = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    CHECK(call5(vm, BPFVM_HELPER_KTIME_GET_NS, 0, 0, 0, 0, 0, NULL, 0, &r0, &err) == 0, "ktime");
    clock_gettime(CLOCK_MONOTONIC, &ts);
    after = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    CHECK(before <= r0 && r0 <= after, "ktime in [before, after]");
    bpfvm_destroy(vm);
}

static void test_gather_bytes(void)
{
    bpfvm_vm *vm = std_vm();
    uint64_t r0 = 0;
    bpfvm_error err;
    CHECK(call5(vm, BPFVM_HELPER_GATHER_BYTES, 0x11, 0x22, 0x33, 0x44, 0x55, NULL, 0, &r0, &err) ==
              0 && r0 == 0x1122334455ull, "gather: 0x%llx", (unsigned long long)r0);
    CHECK(call5(vm, BPFVM_HELPER_GATHER_BYTES, 0xfff01, 0x102, ~0ull, 0x1200, 0x3456, NULL, 0, &r0,
                &err) == 0 && r0 == 0x0102ff0056ull, "gather low bytes: 0x%llx",
          (unsigned long long)r0);
    bpfvm_destroy(vm);
}

static void test_sqrti(void)
{
    bpfvm_vm *vm = std_vm();
    static const struct { uint64_t x, want; } cases[] = {
        { 0, 0 }, { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 2 }, { 15, 3 }, { 16, 4 },
        { 1000000, 1000 }, { 999999, 999 },
        { 0xfffffffe00000001ull, 0xffffffff },       /* (2^32 - 1)^2 */
        { 0xfffffffe00000000ull, 0xfffffffe },       /* one less */
        { UINT64_MAX, 0xffffffff },
        { 1ull << 62, 1ull << 31 },
        { (1ull << 62) - 1, (1ull << 31) - 1 },
        { 9007199254740993ull, 94906265 },           /* 2^53 + 1: not exact in a double */
        { 94906267ull * 94906267ull - 1, 94906266 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        uint64_t r0 = 0;
        bpfvm_error err;
        int rc = call5(vm, BPFVM_HELPER_SQRTI, cases[i].x, 0, 0, 0, 0, NULL, 0, &r0, &err);
        CHECK(rc == 0 && r0 == cases[i].want, "sqrti(%llu) = %llu, want %llu",
              (unsigned long long)cases[i].x, (unsigned long long)r0,
              (unsigned long long)cases[i].want);
    }
    /* r*r <= x < (r+1)^2 over a spread of values */
    int bad = 0;
    uint64_t x = 12345;
    for (int i = 0; i < 200; i++) {
        uint64_t r0 = 0;
        bpfvm_error err;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t v = x >> (i % 64);
        call5(vm, BPFVM_HELPER_SQRTI, v, 0, 0, 0, 0, NULL, 0, &r0, &err);
        if (r0 > 0xffffffff || r0 * r0 > v || (r0 < 0xffffffff && (r0 + 1) * (r0 + 1) <= v))
            bad++;
    }
    CHECK(bad == 0, "sqrti bounds: %d bad", bad);
    bpfvm_destroy(vm);
}

static void test_memfrob(void)
{
    bpfvm_vm *vm = std_vm();
    char mem[8] = "abcdefg";
    uint64_t r0 = 1;
    bpfvm_error err;
    CHECK(call5(vm, BPFVM_HELPER_MEMFROB, addr(mem) + 1, 3, 0, 0, 0, mem, sizeof(mem), &r0,
                &err) == 0 && r0 == 0, "memfrob");
    CHECK(mem[0] == 'a' && mem[1] == ('b' ^ 42) && mem[3] == ('d' ^ 42) && mem[4] == 'e',
          "memfrob bytes");
    /* on the stack */
    CHECK(run(vm, PROG(BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 0x2a2a),
                       BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R10), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, -8),
                       BPFVM_MOV64_IMM(BPFVM_R2, 8), BPFVM_CALL_HELPER(BPFVM_HELPER_MEMFROB),
                       BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -8), BPFVM_EXIT()),
              NULL, 0, &r0, &err) == 0 && r0 == 0x2a2a2a2a2a2a0000ull,
          "memfrob stack: 0x%llx", (unsigned long long)r0);
    /* zero length anywhere is fine */
    CHECK(call5(vm, BPFVM_HELPER_MEMFROB, 16, 0, 0, 0, 0, NULL, 0, &r0, &err) == 0, "len 0");
    /* one byte past the end, a wrapping range, address 0 */
    memcpy(mem, "abcdefg", 8);
    CHECK(call5(vm, BPFVM_HELPER_MEMFROB, addr(mem), 9, 0, 0, 0, mem, sizeof(mem), &r0, &err) ==
              BPFVM_EHELPERFAIL && strstr(err.message, "memfrob") && err.insn == 10,
          "memfrob past end: %s", err.message);
    CHECK(strcmp(mem, "abcdefg") == 0, "nothing changed");
    CHECK(call5(vm, BPFVM_HELPER_MEMFROB, addr(mem), UINT64_MAX, 0, 0, 0, mem, sizeof(mem), &r0,
                &err) == BPFVM_EHELPERFAIL, "memfrob wrap");
    CHECK(call5(vm, BPFVM_HELPER_MEMFROB, 0, 1, 0, 0, 0, mem, sizeof(mem), &r0, &err) ==
              BPFVM_EHELPERFAIL, "memfrob NULL");
    /* a read-only region cannot be frobbed; a read-write one can */
    static char ro[4] = "xyz";
    CHECK(bpfvm_add_region(vm, ro, sizeof(ro), BPFVM_READ) == 0, "ro region");
    CHECK(call5(vm, BPFVM_HELPER_MEMFROB, addr(ro), 3, 0, 0, 0, NULL, 0, &r0, &err) ==
              BPFVM_EHELPERFAIL && ro[0] == 'x', "memfrob read-only");
    CHECK(bpfvm_add_region(vm, ro, sizeof(ro), BPFVM_READ | BPFVM_WRITE) == 0, "rw region");
    CHECK(call5(vm, BPFVM_HELPER_MEMFROB, addr(ro), 3, 0, 0, 0, NULL, 0, &r0, &err) == 0 &&
              ro[0] == ('x' ^ 42), "memfrob read-write");
    bpfvm_destroy(vm);
}

static void test_strcmp(void)
{
    bpfvm_vm *vm = std_vm();
    char mem[32];
    uint64_t r0 = 0;
    bpfvm_error err;
    memcpy(mem, "abc\0abd\0abc\0ab\0\xff\0xyz", 21);
    uint64_t m = addr(mem);
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m, m + 8, 0, 0, 0, mem, sizeof(mem), &r0, &err) == 0 &&
              r0 == 0, "equal");
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m, m + 4, 0, 0, 0, mem, sizeof(mem), &r0, &err) == 0 &&
              (int64_t)r0 < 0, "abc < abd");
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m + 4, m, 0, 0, 0, mem, sizeof(mem), &r0, &err) == 0 &&
              (int64_t)r0 > 0, "abd > abc");
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m + 12, m, 0, 0, 0, mem, sizeof(mem), &r0, &err) == 0 &&
              (int64_t)r0 < 0, "ab < abc");
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m + 15, m, 0, 0, 0, mem, sizeof(mem), &r0, &err) == 0 &&
              (int64_t)r0 > 0, "0xff > a (unsigned bytes)");
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m + 3, m + 7, 0, 0, 0, mem, sizeof(mem), &r0, &err) ==
              0 && r0 == 0, "empty strings");
    /* unterminated: runs off the end of mem */
    memset(mem, 'a', sizeof(mem));
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m, m, 0, 0, 0, mem, sizeof(mem), &r0, &err) ==
              BPFVM_EHELPERFAIL && strstr(err.message, "strcmp"), "unterminated: %s",
          err.message);
    /* different strings stop at the first difference, before the end */
    mem[31] = 'b';
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m + 1, m, 0, 0, 0, mem, sizeof(mem), &r0, &err) == 0 &&
              (int64_t)r0 > 0, "differ at the last byte");
    /* bad pointers */
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, 0, m, 0, 0, 0, mem, sizeof(mem), &r0, &err) ==
              BPFVM_EHELPERFAIL, "NULL a");
    CHECK(call5(vm, BPFVM_HELPER_STRCMP, m, UINT64_MAX, 0, 0, 0, mem, sizeof(mem), &r0, &err) ==
              BPFVM_EHELPERFAIL, "bad b");
    /* strings on the stack */
    CHECK(run(vm, PROG(BPFVM_ST_MEM(BPFVM_W, BPFVM_R10, -8, 0x00636261),  /* "abc" */
                       BPFVM_ST_MEM(BPFVM_W, BPFVM_R10, -4, 0x00636261),
                       BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R10), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, -8),
                       BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R2, -4),
                       BPFVM_CALL_HELPER(BPFVM_HELPER_STRCMP), BPFVM_EXIT()),
              NULL, 0, &r0, &err) == 0 && r0 == 0, "stack strings: %s", err.message);
    bpfvm_destroy(vm);
}

static void test_rand(void)
{
    bpfvm_vm *vm = std_vm();
    uint64_t r0 = 0, seen = 0;
    bpfvm_error err;
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        if (call5(vm, BPFVM_HELPER_RAND, 10, 15, 0, 0, 0, NULL, 0, &r0, &err) != 0 || r0 < 10 ||
            r0 > 15)
            bad++;
        else
            seen |= 1u << (r0 - 10);
    }
    CHECK(bad == 0 && seen == 0x3f, "rand in [10, 15], all values seen (0x%llx)",
          (unsigned long long)seen);
    CHECK(call5(vm, BPFVM_HELPER_RAND, 7, 7, 0, 0, 0, NULL, 0, &r0, &err) == 0 && r0 == 7,
          "rand [7, 7]");
    CHECK(call5(vm, BPFVM_HELPER_RAND, 20, 18, 0, 0, 0, NULL, 0, &r0, &err) == 0 && r0 >= 18 &&
              r0 <= 20, "bounds in either order");
    uint64_t a = 0, b = 0;
    call5(vm, BPFVM_HELPER_RAND, 0, UINT64_MAX, 0, 0, 0, NULL, 0, &a, &err);
    call5(vm, BPFVM_HELPER_RAND, 0, UINT64_MAX, 0, 0, 0, NULL, 0, &b, &err);
    CHECK(a != b, "full range differs between calls");
    bpfvm_destroy(vm);
}

/* trace_printk with the format stored in mem. */
static int printk(bpfvm_vm *vm, const char *fmt, uint64_t fmt_len_delta, uint64_t a, uint64_t b,
                  uint64_t c, uint64_t *r0, bpfvm_error *err)
{
    static char mem[128];
    size_t len = strlen(fmt);
    memcpy(mem, fmt, len + 1);
    return call5(vm, BPFVM_HELPER_TRACE_PRINTK, addr(mem), len + fmt_len_delta, a, b, c, mem,
                 len + 1, r0, err);
}

static void test_trace_printk(void)
{
    bpfvm_vm *vm = std_vm();
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    uint64_t r0 = 0;
    bpfvm_error err;
    static const struct {
        const char *fmt;
        uint64_t a, b, c;
        const char *want;
    } cases[] = {
        { "hello\n", 0, 0, 0, "hello\n" },
        { "%d %i %u", UINT64_MAX, 0x80000000, UINT64_MAX, "-1 -2147483648 4294967295" },
        { "%ld %lld %lu", UINT64_MAX, 1ull << 63, UINT64_MAX,
          "-1 -9223372036854775808 18446744073709551615" },
        { "%x|%lx|%llx", 0x1234abcd5678ull, 0x1234abcd5678ull, 255, "abcd5678|1234abcd5678|ff" },
        { "100%% %d%%", 7, 0, 0, "100% 7%" },
        { "%li %llu %lli", 5, 6, (uint64_t)-7, "5 6 -7" },
        { "", 0, 0, 0, "" },
    };
    bpfvm_set_trace_stream(vm, out);
    for (size_t i = 0; i < COUNT(cases); i++) {
        long start = ftell(out);
        int rc = printk(vm, cases[i].fmt, 0, cases[i].a, cases[i].b, cases[i].c, &r0, &err);
        fflush(out);
        size_t wlen = strlen(cases[i].want);
        CHECK(rc == 0 && r0 == wlen && size - (size_t)start == wlen &&
                  memcmp(buf + start, cases[i].want, wlen) == 0,
              "printk '%s': rc %d r0 %llu out '%.*s'", cases[i].fmt, rc, (unsigned long long)r0,
              (int)(size - (size_t)start), buf + start);
    }
    /* fmt_len shorter than the string: only that much is used */
    long start = ftell(out);
    CHECK(printk(vm, "abcdef", (uint64_t)-3, 0, 0, 0, &r0, &err) == 0 && r0 == 3, "fmt_len");
    fflush(out);
    CHECK(size - (size_t)start == 3 && memcmp(buf + start, "abc", 3) == 0, "fmt_len output");
    /* rejected formats */
    CHECK(printk(vm, "%s", 0, 0, 0, 0, &r0, &err) == BPFVM_EHELPERFAIL &&
              strstr(err.message, "unsupported conversion '%s'"), "%%s: %s", err.message);
    CHECK(printk(vm, "%d %d %d %d", 0, 1, 2, 3, &r0, &err) == BPFVM_EHELPERFAIL &&
              strstr(err.message, "more than 3"), "4 conversions: %s", err.message);
    CHECK(printk(vm, "%lll", 0, 0, 0, 0, &r0, &err) == BPFVM_EHELPERFAIL, "lll");
    CHECK(printk(vm, "abc %", 0, 0, 0, 0, &r0, &err) == BPFVM_EHELPERFAIL, "trailing %%");
    CHECK(printk(vm, "abc %l", 0, 0, 0, 0, &r0, &err) == BPFVM_EHELPERFAIL, "trailing %%l");
    /* the format must be readable for fmt_len bytes */
    CHECK(printk(vm, "abc", 1000, 0, 0, 0, &r0, &err) == BPFVM_EHELPERFAIL &&
              strstr(err.message, "not readable"), "fmt past mem: %s", err.message);
    CHECK(call5(vm, BPFVM_HELPER_TRACE_PRINTK, 0, 4, 0, 0, 0, NULL, 0, &r0, &err) ==
              BPFVM_EHELPERFAIL, "fmt NULL");
    /* no stream: nothing written, the count is still returned */
    bpfvm_set_trace_stream(vm, NULL);
    CHECK(printk(vm, "x=%d\n", 0, 42, 0, 0, &r0, &err) == 0 && r0 == 5, "no stream");
    fclose(out);
    free(buf);
    bpfvm_destroy(vm);
}

/* ctx_access directly, from a user helper. */
static uint64_t probe(bpfvm_ctx *ctx, uint64_t a, uint64_t len, uint64_t write, uint64_t d,
                      uint64_t e)
{
    (void)d, (void)e;
    return bpfvm_ctx_access(ctx, a, len, (int)write) != NULL;
}

static void test_ctx_access(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint8_t mem[16];
    uint64_t r0 = 0;
    bpfvm_error err;
    uint64_t m = addr(mem);
    CHECK(bpfvm_register_helper(vm, 1, "probe", probe, NULL) == 0, "register");
    static const struct { uint64_t delta, len, write, want; } cases[] = {
        { 0, 16, 0, 1 }, { 0, 16, 1, 1 }, { 1, 16, 0, 0 }, { 15, 1, 1, 1 }, { 16, 1, 0, 0 },
        { 16, 0, 0, 1 }, { (uint64_t)-1, 2, 0, 0 }, { 8, UINT64_MAX, 0, 0 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        int rc = call5(vm, 1, m + cases[i].delta, cases[i].len, cases[i].write, 0, 0, mem,
                       sizeof(mem), &r0, &err);
        CHECK(rc == 0 && r0 == cases[i].want, "ctx_access case %zu: %llu", i,
              (unsigned long long)r0);
    }
    /* the stack frame of the calling function */
    CHECK(run(vm, PROG(BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R10), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, -512),
                       BPFVM_MOV64_IMM(BPFVM_R2, 512), BPFVM_MOV64_IMM(BPFVM_R3, 1),
                       BPFVM_CALL_HELPER(1), BPFVM_EXIT()),
              NULL, 0, &r0, &err) == 0 && r0 == 1, "stack frame accessible");
    /* ... and from inside a local call given the caller's r10 - 512: the
     * caller's frame and the callee's own just above, for writing too */
    CHECK(run(vm, PROG(BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R10), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, -512),
                       BPFVM_MOV64_IMM(BPFVM_R2, 1024), BPFVM_MOV64_IMM(BPFVM_R3, 1),
                       BPFVM_CALL_LOCAL(1), BPFVM_EXIT(),
                       BPFVM_CALL_HELPER(1), BPFVM_EXIT()),
              NULL, 0, &r0, &err) == 0 && r0 == 1, "caller frame accessible");
    /* ... but not one byte more below the caller's frame, nor above the
     * callee's (offsets from the caller's r10) */
    static const struct { int32_t off; int32_t len; } beyond[] = {
        { -513, 8 }, { -513, 1025 }, { 508, 8 }, { 512, 1 },
    };
    for (size_t i = 0; i < COUNT(beyond); i++)
        CHECK(run(vm, PROG(BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R10),
                           BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, beyond[i].off),
                           BPFVM_MOV64_IMM(BPFVM_R2, beyond[i].len), BPFVM_MOV64_IMM(BPFVM_R3, 0),
                           BPFVM_CALL_LOCAL(1), BPFVM_EXIT(),
                           BPFVM_CALL_HELPER(1), BPFVM_EXIT()),
                  NULL, 0, &r0, &err) == 0 && r0 == 0, "beyond the live frames %zu", i);
    /* ... nor the frame of a callee that returned */
    CHECK(run(vm, PROG(BPFVM_CALL_LOCAL(6), BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R0),
                       BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, -8), BPFVM_MOV64_IMM(BPFVM_R2, 8),
                       BPFVM_MOV64_IMM(BPFVM_R3, 0), BPFVM_CALL_HELPER(1), BPFVM_EXIT(),
                       BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R10), BPFVM_EXIT()),
              NULL, 0, &r0, &err) == 0 && r0 == 0, "returned callee frame not accessible");
    /* unchecked mode: anything goes */
    bpfvm_set_checked(vm, 0);
    CHECK(call5(vm, 1, 8, 8, 1, 0, 0, NULL, 0, &r0, &err) == 0 && r0 == 1, "unchecked");
    bpfvm_destroy(vm);
    CHECK(bpfvm_helper_user(NULL) == NULL && bpfvm_ctx_access(NULL, 0, 0, 0) == NULL, "NULL ctx");
    bpfvm_ctx_fail(NULL, "x");
    CHECK(bpfvm_register_std_helpers(NULL) == BPFVM_EINVAL, "NULL vm");
}

int main(void)
{
    test_ktime();
    test_gather_bytes();
    test_sqrti();
    test_memfrob();
    test_strcmp();
    test_rand();
    test_trace_printk();
    test_ctx_access();
    return TEST_END();
}
