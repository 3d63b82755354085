/* jit_test.h - program builders the JIT tests share: the ten registers set
 * from values and then folded into r0 (so a register the code between
 * clobbers shows), the engines a shape test runs (a VM for each, a run, a
 * look for conditional moves in the code), a program array of one slot for
 * tail calls, and, where
 * PROG_MAX (its capacity) is defined before including this, a program grown
 * one instruction at a time (`prog`, `put`). */
#ifndef BPFVM_TEST_JIT_TEST_H
#define BPFVM_TEST_JIT_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

/* p = r0..r9 set to regs[] (lddw each); returns the slots written. */
static inline size_t set_regs(bpfvm_insn *p, const uint64_t *regs)
{
    size_t len = 0;
    for (int k = 0; k < 10; k++) {
        bpfvm_insn ld[2] = { BPFVM_LD_IMM64(k, regs[k]) };
        p[len++] = ld[0];
        p[len++] = ld[1];
    }
    return len;
}

/* End the program p[0..*len) with r0 = a fold of r0..r9 and exit; returns
 * that value for regs[]. */
static inline uint64_t fold_regs(bpfvm_insn *p, size_t *len, const uint64_t *regs)
{
    uint64_t want = regs[0];
    for (int k = 1; k < 10; k++) {
        p[(*len)++] = BPFVM_ALU64_IMM(BPFVM_MUL, 0, 31);
        p[(*len)++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, k);
        want = want * 31 + regs[k];
    }
    p[(*len)++] = BPFVM_EXIT();
    return want;
}

/* The conditional jump operations (for `static const uint8_t ops[] =
 * JIT_TEST_JUMP_OPS;`) and whether `a op b` holds, compared as 64 or 32
 * bits: the tests' own account of the conditions. */
#define JIT_TEST_JUMP_OPS                                                      \
    { BPFVM_JEQ, BPFVM_JNE, BPFVM_JGT, BPFVM_JGE, BPFVM_JLT, BPFVM_JLE,        \
      BPFVM_JSGT, BPFVM_JSGE, BPFVM_JSLT, BPFVM_JSLE, BPFVM_JSET }

static inline bool jit_test_holds(uint8_t op, bool w64, uint64_t a, uint64_t b)
{
    if (!w64) {
        a = (uint32_t)a;
        b = (uint32_t)b;
    }
    int64_t sa = w64 ? (int64_t)a : (int32_t)a, sb = w64 ? (int64_t)b : (int32_t)b;
    switch (op) {
    case BPFVM_JEQ:  return a == b;
    case BPFVM_JNE:  return a != b;
    case BPFVM_JGT:  return a > b;
    case BPFVM_JGE:  return a >= b;
    case BPFVM_JLT:  return a < b;
    case BPFVM_JLE:  return a <= b;
    case BPFVM_JSGT: return sa > sb;
    case BPFVM_JSGE: return sa >= sb;
    case BPFVM_JSLT: return sa < sb;
    case BPFVM_JSLE: return sa <= sb;
    default:         return (a & b) != 0; /* JSET */
    }
}

/* The engines the shape tests compare: the interpreter, the JIT checked,
 * unchecked and blinded, and the checked JIT with a budget. */
enum { ENG_INTERP, ENG_CHECKED, ENG_UNCHECKED, ENG_BLIND, ENG_BUDGET, NENG };

/* A new VM holding p[0..n) for engine e (budget: 0 for none; verify: false
 * for no verifier), compiled for the JIT engines; NULL after a failed CHECK. */
static inline bpfvm_vm *jit_test_vm(const bpfvm_insn *p, size_t n, int e, uint64_t budget,
                                    bool verify)
{
    bpfvm_vm *vm = bpfvm_create();
    bool ok = vm && (verify || bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE) == 0) &&
              bpfvm_load(vm, p, n * sizeof p[0]) == 0;
    CHECK(ok, "load: %s", vm ? bpfvm_last_error(vm)->message : "no memory");
    if (ok) {
        bpfvm_set_checked(vm, e != ENG_UNCHECKED);
        bpfvm_set_budget(vm, budget);
    }
    if (ok && e != ENG_INTERP) {
        ok = bpfvm_compile(vm, e == ENG_BLIND ? BPFVM_JIT_BLIND : 0) == 0;
        CHECK(ok, "compile: %s", bpfvm_last_error(vm)->message);
    }
    if (!ok) {
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}

/* Run vm (made for engine e) on mem[0..len): the return code, *r0. */
static inline int jit_test_run(bpfvm_vm *vm, int e, void *mem, size_t len, uint64_t *r0)
{
    return e == ENG_INTERP ? bpfvm_run(vm, mem, len, NULL, 0, r0, NULL)
                           : bpfvm_run_jit(vm, mem, len, NULL, 0, r0, NULL);
}

/* Does the code of p for JIT engine e hold a conditional move (x86-64:
 * REX.W 0f 4x with a register operand; arm64: csel, 0x9a800000 under mask
 * 0xffe00c00) or, with setcc, a setcc of a register (x86-64: 0f 9x)? */
static inline bool jit_test_has_select(const bpfvm_insn *p, size_t n, int e, bool verify,
                                       bool setcc)
{
    bpfvm_vm *vm = jit_test_vm(p, n, e, 0, verify);
    bool found = false;
    size_t size = 0;
    const uint8_t *code = vm ? bpfvm_jit_code(vm, &size) : NULL;
    for (size_t i = 0; code && i + 4 <= size; i++) {
#if defined(__x86_64__)
        if (setcc)
            found |= code[i] == 0x0f && (code[i + 1] & 0xf0) == 0x90 && (code[i + 2] & 0xf8) == 0xc0;
        else
            found |= (code[i] & 0xf8) == 0x48 && code[i + 1] == 0x0f &&
                     (code[i + 2] & 0xf0) == 0x40 && (code[i + 3] & 0xc0) == 0xc0;
#elif defined(__aarch64__)
        uint32_t w;
        memcpy(&w, code + i, 4);
        found |= !setcc && i % 4 == 0 && (w & 0xffe00c00u) == 0x9a800000u;
#endif
    }
    bpfvm_destroy(vm);
    return found;
}

/* A program array of one slot (checked; NULL if it cannot be made). */
static inline bpfvm_map *prog_array(void)
{
    bpfvm_map_def pd = { BPFVM_MAP_PROG_ARRAY, 4, 4, 1, 0 };
    bpfvm_map *progs = NULL;
    bpfvm_error err;
    CHECK(bpfvm_map_create(&pd, "progs", &progs, &err) == 0, "prog array: %s", err.message);
    return progs;
}

#ifdef PROG_MAX
typedef struct prog {
    bpfvm_insn p[PROG_MAX];
    size_t n;
} prog;

/* Append in (dropped once the program is full). */
static inline void put(prog *g, bpfvm_insn in)
{
    if (g->n < PROG_MAX)
        g->p[g->n++] = in;
}
#endif

#endif
