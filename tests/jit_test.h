/* jit_test.h - program builders the JIT tests share: the ten registers set
 * from values and then folded into r0 (so a register the code between
 * clobbers shows), a program array of one slot for tail calls, and, where
 * PROG_MAX (its capacity) is defined before including this, a program grown
 * one instruction at a time (`prog`, `put`). */
#ifndef BPFVM_TEST_JIT_TEST_H
#define BPFVM_TEST_JIT_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
