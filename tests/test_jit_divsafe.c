/* test_jit_divsafe.c - division and modulo by a register the program's
 * compares prove neither 0 nor (signed) -1, which the x86-64 JIT emits
 * without its tests of the divisor (bpfvm__jit_bounds). Every division row
 * (div, mod, sdiv, smod; 64 and 32 bits) after guards that prove the
 * divisor nonzero (`if r4 == 0 goto out`, `r4 |= 1`, the taken side of
 * `if r4 != 0`, also through a mov), in a range that excludes -1 for the
 * signed rows (`if r4 > 1000 goto out` and nonzero), and where the proof
 * must fail: no guard, a jump landing past the guard, the divisor written
 * after it, a 64-bit guard of a 32-bit division (the low half may be 0), a
 * guard on the other way, a loop whose first trip divides by 1. Dividends and divisors at the edges (0, 1, -1,
 * INT_MIN, 2^32, 2^32 + 5, ...); the interpreter and the JIT (checked,
 * unchecked, blinded, with a budget) must agree. On x86-64 the divisor's
 * test (test d, d; jnz) is in the code exactly where nothing proves it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

static const uint64_t dividends[] = { 0, 1, 7, 1000, ~0ull, 0x8000000000000000ull, 0x80000000,
                                      0x100000000ull, 12345678901ull, 0xfffffffffffffff9ull };
static const uint64_t divisors[] = { 0, 1, 3, 1000, 1001, ~0ull, 0xffffffff, 0x100000000ull,
                                     0x100000005ull, 0x8000000000000000ull, 0xfffffffffffffffdull };
#define NDIVIDENDS (sizeof dividends / sizeof dividends[0])
#define NDIVISORS (sizeof divisors / sizeof divisors[0])

static const char *const ops[] = { "div", "mod", "sdiv", "smod" };

typedef struct guard {
    const char *name;
    const char *before;   /* r3 = dividend, r4 = divisor, r5 = input word 2 (0/1) loaded,
                           * `out` reached (r0 = 77) by a jump never taken before it */
    bool safe64, safe32;  /* the unsigned rows proven (64, 32 bits) */
    bool signed_safe;     /* the signed rows too */
    bool probe;           /* the code check applies (no `jne` guard, whose code looks alike) */
} guard;

static const guard guards[] = {
    { "no guard", "", false, false, false, true },
    { "jeq 0", "jeq r4, 0, out\n", true, false, false, true },
    { "or 1 after a shift", "rsh r4, 40\nor r4, 1\n", true, true, true, true },
    { "jne 0 taken", "jne r4, 0, go\nja out\ngo:\n", true, false, false, false },
    { "through a mov", "jeq r4, 0, out\nmov r6, r4\nmov r4, r6\n", true, false, false, true },
    { "a range", "jgt r4, 1000, out\njeq r4, 0, out\n", true, true, true, true },
    { "a jump landing past the guard", "jeq r5, 0, skip\njeq r4, 0, out\nskip:\n", false, false,
      false, true },
    { "the divisor written after", "jeq r4, 0, out\nmov r4, r5\n", false, false, false, true },
    { "the other way", "jeq r4, 0, go\nja out\ngo:\n", false, false, false, true },
};
#define NGUARDS (sizeof guards / sizeof guards[0])

static void program(char *buf, size_t cap, const guard *g, const char *op, bool w32)
{
    snprintf(buf, cap,
             "ldxdw r3, [r1+0]\nldxdw r4, [r1+8]\nldxdw r5, [r1+16]\njeq r5, 7, out\n%s"
             "%s%s r3, r4\nmov r0, r3\nexit\nout:\nmov r0, 77\nexit\n",
             g->before, op, w32 ? "32" : "");
}

static bpfvm_vm *make(const char *text, int engine)
{
    bpfvm_vm *vm = bpfvm_create();
    bool ok = vm && bpfvm_set_checked(vm, engine != 2) == 0 &&
              (engine != 4 || bpfvm_set_budget(vm, 1000) == 0) &&
              bpfvm_load_asm(vm, text, "divsafe") == 0 &&
              (engine == 0 || bpfvm_compile(vm, engine == 3 ? BPFVM_JIT_BLIND : 0) == 0);
    CHECK(ok, "%s: %s", text, vm ? bpfvm_last_error(vm)->message : "no vm");
    if (!ok) {
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}

#if defined(__x86_64__)
/* How many `test r, r; jnz rel8` (REX 85 /r with mod 11 and reg = rm, 75)? */
static int divisor_tests(bpfvm_vm *vm)
{
    size_t size = 0;
    const uint8_t *c = bpfvm_jit_code(vm, &size);
    int n = 0;
    for (size_t i = 0; c && i + 3 < size; i++) {
        size_t k = i + ((c[i] & 0xf0) == 0x40); /* (a REX prefix) */
        if (c[k] == 0x85 && (c[k + 1] & 0xc0) == 0xc0 &&
            ((c[k + 1] >> 3) & 7) == (c[k + 1] & 7) && c[k + 2] == 0x75)
            n++, i = k + 2;
    }
    return n;
}
#endif

/* A loop whose first trip has the divisor 1 and whose later trips the
 * input's word 1 (r4 = word 1 at the end of each trip, for word 2 trips):
 * what a first pass over the loop would prove must not stay. */
static const char loop_text[] =
    "ldxdw r3, [r1+0]\nldxdw r5, [r1+8]\nldxdw r6, [r1+16]\nand r6, 3\nmov r4, 1\n"
    "loop:\ndiv r3, r4\nmov r4, r5\nsub r6, 1\njsgt r6, 0, loop\nmov r0, r3\nexit\n";

/* Run the five engines' VMs on every dividend and divisor, with input word 2
 * from 0 to words - 1: each JIT engine as the interpreter. */
static void compare(bpfvm_vm *const vm[5], uint64_t words, const char *what)
{
    for (size_t a = 0; a < NDIVIDENDS; a++)
        for (size_t b = 0; b < NDIVISORS; b++)
            for (uint64_t w = 0; w < words; w++) {
                uint64_t in[3] = { dividends[a], divisors[b], w }, r[5] = { 0 };
                int rc[5] = { 0 };
                for (int e = 0; e < 5; e++)
                    if (vm[e])
                        rc[e] = (e ? bpfvm_run_jit : bpfvm_run)(vm[e], in, sizeof in, NULL, 0,
                                                               &r[e], NULL);
                for (int e = 1; e < 5; e++)
                    CHECK(vm[e] && rc[e] == rc[0] && r[e] == r[0],
                          "%s, engine %d, %#llx / %#llx (word 2 %llu): rc %d r0 %#llx, "
                          "interpreter rc %d r0 %#llx", what, e, (unsigned long long)in[0],
                          (unsigned long long)in[1], (unsigned long long)w, rc[e],
                          (unsigned long long)r[e], rc[0], (unsigned long long)r[0]);
            }
}

int main(void)
{
    char text[512], what[96];
    bpfvm_vm *vm[5];
    for (int e = 0; e < 5; e++)
        vm[e] = make(loop_text, e);
    compare(vm, 4, "the loop");
#if defined(__x86_64__)
    CHECK(vm[1] && divisor_tests(vm[1]) == 1, "the loop: its division's test missing");
#endif
    for (int e = 0; e < 5; e++)
        bpfvm_destroy(vm[e]);

    for (size_t g = 0; g < NGUARDS; g++)
        for (int o = 0; o < 4; o++)
            for (int w32 = 0; w32 < 2; w32++) {
                program(text, sizeof text, &guards[g], ops[o], w32);
                snprintf(what, sizeof what, "%s, %s%s", guards[g].name, ops[o], w32 ? "32" : "");
                for (int e = 0; e < 5; e++)
                    vm[e] = make(text, e);
                compare(vm, 2, what);
#if defined(__x86_64__)
                bool safe = (w32 ? guards[g].safe32 : guards[g].safe64) &&
                            (o < 2 || guards[g].signed_safe);
                for (int e = 1; e < 3 && guards[g].probe; e++)
                    CHECK(vm[e] && (divisor_tests(vm[e]) == 0) == safe,
                          "%s, engine %d: the divisor's test %s", what, e,
                          safe ? "there" : "missing");
#endif
                for (int e = 0; e < 5; e++)
                    bpfvm_destroy(vm[e]);
            }
    return TEST_END();
}
