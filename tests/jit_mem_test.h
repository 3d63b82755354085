/* jit_mem_test.h - the harness of the tests of the checked JIT's bounds
 * analysis (test_jit_pkt.c, test_jit_ctr.c): a program runs in the
 * interpreter and in the JIT on input memory of every length from 0 to MEM
 * (ending where the memory ends, so accesses past it fault), and must give
 * the same r0, error, instruction, fault address and memory after; on
 * x86-64 the checked code's memory checks are counted. Include after
 * defining MEM and PROG_MAX (and including jit_test.h); with CHECK_BUDGET
 * defined, the runs have that instruction budget. */
#ifndef BPFVM_TEST_JIT_MEM_TEST_H
#define BPFVM_TEST_JIT_MEM_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "jit_test.h"
#include "test.h"

static struct {
    uint8_t before[64], mem[MEM], after[64]; /* the bytes around mem fault */
} area __attribute__((aligned(16)));
static uint8_t *const mem = area.mem;

typedef struct outcome {
    int rc;
    uint64_t r0;
    bpfvm_error err;
    uint8_t mem[MEM];
} outcome;

static inline void put_lddw(prog *g, int dst, int64_t v)
{
    bpfvm_insn two[] = { BPFVM_LD_IMM64(dst, v) };
    put(g, two[0]);
    put(g, two[1]);
}

/* the jump at slot `at` goes to slot `to` */
static inline void patch(prog *g, size_t at, size_t to)
{
    g->p[at].off = (int16_t)((int64_t)to - (int64_t)at - 1);
}

static inline void set_memory(unsigned seed)
{
    for (size_t i = 0; i < MEM; i++)
        mem[i] = (uint8_t)((i * 37 + seed * 11 + 5) ^ (i >> 2));
}

static inline void run(bpfvm_vm *vm, bool jit, size_t len, unsigned seed, outcome *o)
{
    set_memory(seed);
    memset(o, 0, sizeof *o);
    o->rc = (jit ? bpfvm_run_jit : bpfvm_run)(vm, mem + MEM - len, len, NULL, 0, &o->r0,
                                              &o->err);
    memcpy(o->mem, mem, MEM);
}

static inline bool same(const outcome *a, const outcome *b)
{
    return a->rc == b->rc && (a->rc != 0 || a->r0 == b->r0) && a->err.insn == b->err.insn &&
           a->err.addr == b->err.addr && a->err.size == b->err.size &&
           memcmp(a->mem, b->mem, MEM) == 0;
}

#if defined(__x86_64__)
/* memory checks in the checked code: cmp r11, [r13+disp8] */
static inline size_t mem_checks(const bpfvm_vm *vm)
{
    size_t size = 0, k = 0;
    const uint8_t *code = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; code && i + 3 <= size; i++)
        k += code[i] == 0x4d && code[i + 1] == 0x3b && code[i + 2] == 0x5d;
    return k;
}
#endif

/* Run g on every length of input (memory ending where mem ends, so
 * accesses past it fault) in the first `engines` of: checked, blinded,
 * unchecked (where it does not fault). proven: 1 the code must have no
 * memory check, 0 some, -1 either. Returns how many runs faulted. */
static inline int check_in(const prog *g, bpfvm_mode mode, int proven, const char *what, int engines)
{
    outcome want, got;
    int faults = 0;
    bpfvm_vm *vm = bpfvm_create();
    static uint8_t mbuff[16];
    if (mode != BPFVM_MODE_RAW && mode != BPFVM_MODE_NONE)
        bpfvm_set_fixed_mbuff(vm, sizeof mbuff, 0, 8);
    bpfvm_set_mode(vm, mode);
#ifdef CHECK_BUDGET
    bpfvm_set_budget(vm, CHECK_BUDGET); /* (programs that may not end) */
#endif
    if (bpfvm_load(vm, g->p, g->n * sizeof(bpfvm_insn)) != 0) {
        CHECK(0, "%s: load: %s", what, bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);
        return 0;
    }
    for (int e = 0; e < engines; e++) {
        bpfvm_set_checked(vm, e != 2);
        if (bpfvm_compile(vm, e == 1 ? BPFVM_JIT_BLIND : 0) != 0) {
            CHECK(0, "%s: compile: %s", what, bpfvm_last_error(vm)->message);
            break;
        }
#if defined(__x86_64__)
        if (e == 0 && proven >= 0)
            CHECK((mem_checks(vm) == 0) == (proven == 1), "%s: %zu memory checks", what,
                  mem_checks(vm));
#else
        (void)proven;
#endif
        for (size_t len = 0; len <= MEM; len++) {
            for (unsigned seed = 0; seed < 3; seed++) {
                run(vm, false, len, seed, &want);
                faults += e == 0 && want.rc != 0;
                if (e == 2 && want.rc != 0)
                    continue;
                run(vm, true, len, seed, &got);
                CHECK(same(&want, &got), "%s, len %zu, %s JIT: interpreter %s r0 %#llx insn "
                      "%lld, JIT %s r0 %#llx insn %lld", what, len,
                      e == 0 ? "checked" : e == 1 ? "blinded" : "unchecked",
                      bpfvm_errname(want.rc), (unsigned long long)want.r0,
                      (long long)want.err.insn, bpfvm_errname(got.rc),
                      (unsigned long long)got.r0, (long long)got.err.insn);
            }
        }
    }
    bpfvm_destroy(vm);
    return faults;
}

#endif
