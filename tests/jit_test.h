/* jit_test.h - program builders the JIT tests share: the ten registers set
 * from values and then folded into r0 (so a register the code between
 * clobbers shows), a program array of one slot for tail calls, and, where
 * PROG_MAX (its capacity) is defined before including this, a program grown
 * one instruction at a time (`prog`, `put`). */
#ifndef BPFVM_TEST_JIT_TEST_H
#define BPFVM_TEST_JIT_TEST_H

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
