/* jit.h - what the JIT driver (jit.c) and its x86-64 backend (jit_x86_64.c)
 * share: the per-run state the machine code works on, and the compiler's
 * working state for one compilation. */
#ifndef BPFVM_JIT_H
#define BPFVM_JIT_H

#include "internal.h"

/* Per-run state of compiled code. One lives on the C stack of every
 * bpfvm_run_jit call; the code reaches it through one register. The fields
 * the code touches often come first, so their displacements fit in a byte. */
typedef struct bpfvm__jit_state {
    int64_t budget_left;   /* instructions the run may still execute; < 0: exhausted */
    uint64_t mem_start;    /* input memory */
    uint64_t mem_lim[4];   /* an access of 1/2/4/8 bytes at mem_start + t is inside mem
                            * iff t < mem_lim[0/1/2/3] (unsigned) */
    uint64_t frame_limit;  /* r10 value at which a local call exceeds the depth limit */
    uint64_t saved_rsp;    /* machine stack pointer at entry: faults unwind to it */
    uint64_t helper_insn;  /* instruction index of the helper call being made */
    uint64_t helper_id;    /* callx: the register value naming the helper */
    uint64_t r1, r2, r10;  /* initial registers */
    uint64_t r0;           /* result of a run that ended normally */
    int rc;                /* error code once a run failed (error detail in ctx.err) */
    bpfvm_ctx ctx;         /* what helpers and the memory checks see */
} bpfvm__jit_state;

/* Compiled code: returns 0 (r0 in state->r0) or non-zero (state->rc). */
typedef int (*bpfvm__jit_fn)(bpfvm__jit_state *state);

/* Out-of-line pieces of code the backend emits after the program. */
enum bpfvm__jit_stub_kind { BPFVM__STUB_MEMORY, BPFVM__STUB_BUDGET, BPFVM__STUB_CALLDEPTH };

typedef struct bpfvm__jit_stub {
    uint8_t kind;          /* enum bpfvm__jit_stub_kind */
    uint8_t reg;           /* MEMORY: eBPF base register */
    uint8_t size;          /* MEMORY: access size in bytes */
    uint8_t write;         /* MEMORY: 1 stores, 3 atomics (write and read), 0 loads */
    int16_t off;           /* MEMORY: offset from the base register */
    uint32_t insn;         /* instruction index */
    uint32_t resume;       /* MEMORY: code offset to continue at once the access is allowed */
} bpfvm__jit_stub;

/* Kinds of run-time errors raised from code through rt_raise. */
enum bpfvm__jit_raise { BPFVM__RAISE_BUDGET, BPFVM__RAISE_CALLDEPTH, BPFVM__RAISE_BADCODE };

/* One compilation. The driver runs the backend's pass over the program
 * repeatedly until every code offset equals the one of the pass before. */
typedef struct bpfvm__jit {
    const bpfvm_vm *vm;
    const bpfvm_insn *code;  /* vm->code: opcode = row id */
    size_t count;

    /* code buffer; errors are sticky: once err is set, emitting does nothing */
    uint8_t *buf;
    size_t len, cap;
    int err;                 /* 0 or a BPFVM_E* code */

    uint32_t *off;           /* this pass: code offset of each slot; off[count] = end of body */
    uint32_t *prev;          /* the previous pass's offsets; NULL in the first pass */
    bpfvm__jit_stub *stubs;  /* stubs requested in this pass, in order */
    size_t nstubs, stubs_cap;
    uint32_t *stub_off;      /* this pass: code offset of each stub */
    uint32_t *stub_prev;     /* previous pass (NULL in the first) */
    size_t stub_off_cap;

    /* analysis of the program (arch-independent, done once) */
    uint32_t *charge;        /* instructions charged to the budget on entering slot i (0: none) */
    uint8_t *stack_hint;     /* 1: the base register of slot i's access probably points
                              * into the stack (check the frame first, then mem) */

    /* configuration */
    int checked;
    int metered;             /* a budget is set */
    uint32_t stack_size;
    uint32_t blind_key;      /* constant blinding key; 0 = off */

    /* the C functions the code calls */
    uint64_t rt_access, rt_helper, rt_raise;
} bpfvm__jit;

/* Make room for at least n more bytes (sticky error on failure). */
void bpfvm__jit_reserve(bpfvm__jit *j, size_t n);
/* Record a stub; returns its number (the same in every pass). */
size_t bpfvm__jit_add_stub(bpfvm__jit *j, const bpfvm__jit_stub *stub);

/* The x86-64 backend: one complete pass (prologue, program, stubs). */
void bpfvm__jit_x86_64_pass(bpfvm__jit *j);

#endif /* BPFVM_JIT_H */
