/* jit.h - what the JIT driver (jit.c) and its backends (jit_x86_64.c,
 * jit_arm64.c; one is built, chosen by the host architecture) share: the
 * per-run state the machine code works on, the compiler's working state for
 * one compilation, the analysis results, and the backend interface (at the
 * end; docs/jit.md describes what a backend provides). */
#ifndef BPFVM_JIT_H
#define BPFVM_JIT_H

#include <string.h>

#include "internal.h"

/* Per-run state of compiled code. One lives on the C stack of every
 * bpfvm_run_jit call; the code reaches it through one register. The fields
 * the code touches often come first, so their displacements fit in a byte. */
typedef struct bpfvm__jit_state {
    int64_t budget_left;   /* instructions the run may still execute; < 0: exhausted */
    uint64_t mem_neg;      /* minus the start of the input memory */
    uint64_t mem_lim[4];   /* an access of 1/2/4/8 bytes at mem + t is inside mem
                            * iff t < mem_lim[0/1/2/3] (unsigned) */
    uint64_t frame_limit;  /* r10 value at which a local call exceeds the depth limit */
    struct {               /* [0] reads, [1] writes: the region (mbuff or a registered
                            * one) the slow path last allowed, tried before it */
        uint64_t neg;      /* minus its start */
        uint64_t lim[4];   /* as mem_lim; all 0 while empty */
    } cache[2];
    uint64_t saved_sp;     /* machine stack pointer at entry: faults unwind to it */
    uint64_t helper_insn;  /* instruction index of the helper call being made */
    uint64_t helper_id;    /* callx: the register value naming the helper */
    uint64_t r0;           /* result of a run that ended normally */
    int rc;                /* error code once a run failed (error detail in ctx.err) */
    uint64_t cb_args[5];   /* a callback's entry (vm->jit_cb_entry): r1..r5, */
    uint64_t cb_code;      /* and the address of its function's code */
    bpfvm_ctx ctx;         /* what helpers and the memory checks see */
} bpfvm__jit_state;

/* Compiled code, given the initial r1, r2 and r10 in the ABI's argument
 * registers 2-4 (those of eBPF r1, r2 and r3 on both hosts): returns 0 (r0
 * in state->r0) or non-zero (state->rc). */
typedef int (*bpfvm__jit_fn)(bpfvm__jit_state *state, uint64_t r1, uint64_t r2, uint64_t r10);

/* Out-of-line pieces of code the backend emits after the program. */
enum bpfvm__jit_stub_kind { BPFVM__STUB_MEMORY, BPFVM__STUB_BUDGET, BPFVM__STUB_CALLDEPTH,
                            BPFVM__STUB_CONST, /* x86-64: 8 bytes of data, insn | resume << 32 */
                            BPFVM__STUB_THREAD /* x86-64: the threaded copy of the jump of slot
                                                * insn (resume: which of out_copies) */ };

typedef struct bpfvm__jit_stub {
    uint8_t kind;          /* enum bpfvm__jit_stub_kind */
    uint8_t reg;           /* MEMORY: eBPF base register */
    uint8_t size;          /* MEMORY: access size in bytes */
    uint8_t write;         /* MEMORY: 1 stores, 3 atomics (write and read), 0 loads */
    int16_t off;           /* MEMORY: offset from the base register */
    uint32_t insn;         /* instruction index */
    uint32_t resume;       /* MEMORY: code offset to continue at once the access is allowed */
    uint32_t rmw;          /* MEMORY, loads: slot + 1 of the store to the same bytes whose
                            * check this one makes (0: none) */
} bpfvm__jit_stub;

/* A displacement field to fill in once every offset is known. */
enum {
    BPFVM__FIX_SLOT,       /* to slot `index` */
    BPFVM__FIX_SLOT_JUMP,  /* to slot `index`, a jump that may be shortened to rel8 */
    BPFVM__FIX_STUB,       /* to stub `index` */
    BPFVM__FIX_ABS,        /* to code offset `index` */
    BPFVM__FIX_PAD,        /* not a displacement: alignment padding ending at `at` */
    BPFVM__FIX_PAD_COPY,   /* the same before the copy of a loop of `index` bytes */
    BPFVM__FIX_COPY,       /* to slot `index` in the unchecked copy of its loop */
    BPFVM__FIX_COPY_JUMP,  /* the same, a jump that may be shortened to rel8 */
    BPFVM__FIX_GUARD       /* to the guard of loop `index` */
};

typedef struct bpfvm__jit_fixup {
    uint32_t at;           /* code offset just after the field (where the jump ends;
                            * arm64: just after the branch instruction) */
    uint32_t index;
    uint8_t kind;
    uint8_t width;         /* x86-64: 4, or 1 once shortened; padding: its length.
                            * arm64: bits of the offset field (26, 19 or 14) */
} bpfvm__jit_fixup;

/* Per-slot facts from the analysis. */
enum {
    BPFVM__MARK_STACK = 1,   /* the access's base register probably points into the
                              * stack: check the frame first, then mem */
    BPFVM__MARK_LEADER = 4,  /* a basic block starts here */
    BPFVM__MARK_LOOP = 8,    /* a backward jump lands here: align the code */
    BPFVM__MARK_GUARD = 16,  /* the head of a versioned loop (see bpfvm__jit_loop) */
    BPFVM__MARK_HOIST = 32,  /* an access the guard of its loop proves in range */
    BPFVM__MARK_RUN = 64,    /* analysis: a run of slots without jumps or calls with
                              * three or more accesses not through r10 starts here */
    BPFVM__MARK_PROVEN = 128 /* a load or store the program's compares prove inside the
                              * input memory (bpfvm__jit_bounds); a division or modulo
                              * by a register they prove neither 0 nor (signed) -1 */
};

/* Loop versioning (checked mode). A versioned loop is a superblock: slots
 * head..last run in order on every iteration, `last` jumps back to `head`,
 * every other jump inside leaves the loop; no calls or exits. Entering it from
 * outside runs a guard that bounds every iteration's register values from
 * the loop's exit test and proves the ranges below inside the input memory or
 * the current frame; then a copy of the loop runs without the checks of the
 * accesses marked BPFVM__MARK_HOIST (its back edge stays in the copy, its
 * exits go to the normal code). When the guard cannot prove it, the normal
 * (checked) loop runs, which faults exactly where the interpreter does.
 *
 * The guard computes K, the number of times the loop may go back to its head
 * (iterations 0..K start): the exit test compares t = iv + delta with a bound
 * B (register or immediate), iv changes by step[iv] = +-2^p per iteration
 * (any other step up to 2^30 when K is a constant, trips_known):
 *   LT/LE: the loop goes on while t < B / t <= B (step > 0)
 *   GT/GE: while t > B / t >= B (step < 0)
 *   NE:    while t != B
 * and fails when K >= 2^32 or t would wrap around. Every register with a
 * constant step s then takes values in [v, v + K*s] (v: its value on entry);
 * accesses after the exit test only in iterations 0..K-1. REG_LT: the step
 * of iv is the register step_reg, the test compares the next value of iv
 * with B: iv stays in [v, max(v, B - 1)] (ranges may not use other stepping
 * registers then). With the registers before the loop known, K may be a
 * constant (trips_known). */
enum { BPFVM__LOOP_LT, BPFVM__LOOP_LE, BPFVM__LOOP_GT, BPFVM__LOOP_GE, BPFVM__LOOP_NE,
       BPFVM__LOOP_REG_LT };

#define BPFVM__NOREG 0xff

/* Bytes [sum + lo, sum + hi] (sum: of the registers reg[], as they are at
 * the head of any iteration) hold every access of a group. */
typedef struct bpfvm__jit_range {
    uint8_t reg[2];          /* BPFVM__NOREG: none */
    uint8_t frame;           /* inside the current frame (else inside mem) */
    int32_t lo, hi;
} bpfvm__jit_range;

typedef struct bpfvm__jit_loop {
    uint32_t head, last;     /* slots */
    uint32_t guard;          /* code offset of the guard (where entries from outside go) */
    uint32_t first_range, nranges; /* in bpfvm__jit.ranges */
    int32_t step[11];        /* change of each register per iteration (0: invariant) */
    uint8_t form;            /* BPFVM__LOOP_* */
    uint8_t iv, step_reg, bound_reg; /* bound_reg BPFVM__NOREG: bound_imm */
    int32_t bound_imm, delta;
    bool all_hoisted;        /* every access of the loop is in a range */
    bool trips_known;        /* K is `trips` on every entry (the values before it are known) */
    bool segment;            /* not a loop: a straight-line segment (K = 0), last is no jump */
    uint32_t trips;
} bpfvm__jit_loop;

/* What a program's code reads of its per-run state beyond the fields every
 * run sets (bpfvm__jit.uses, vm->jit_uses): a run prepares only those
 * (bpfvm__jit_engine). */
enum {
    BPFVM__JIT_USES_MEM = 1,     /* checked accesses, packet loads: mem_neg, mem_lim, cache */
    BPFVM__JIT_USES_CALLS = 2,   /* local calls or callbacks: frame_limit */
    BPFVM__JIT_USES_HELPERS = 4, /* helper calls: rc, ctx.callback, ctx.checked */
    BPFVM__JIT_USES_BUDGET = 8   /* metered code: budget_left */
};

/* Kinds of run-time errors raised from code through rt_raise. */
enum bpfvm__jit_raise { BPFVM__RAISE_BUDGET, BPFVM__RAISE_CALLDEPTH, BPFVM__RAISE_BADCODE };

/* A value a register holds at a slot in every run, if known. */
typedef struct bpfvm__jit_known {
    uint64_t value;
    bool known;
} bpfvm__jit_known;

/* One compilation: the driver's analysis, then the backend's translation
 * (references between pieces of code recorded as fixups, filled in at the
 * end). */
typedef struct bpfvm__jit {
    const bpfvm_vm *vm;
    const bpfvm_insn *code;  /* vm->code: opcode = row id */
    size_t count;

    /* code buffer. Errors are sticky: once err is set, the output goes to
     * `scratch` (restarted at each reservation) and the pass is discarded. */
    uint8_t *buf;            /* where code is written: code_buf, or scratch after an error */
    size_t len, cap;
    int err;                 /* 0 or a BPFVM_E* code */
    uint8_t *code_buf;       /* pages mapped read+write, code_cap bytes (page multiple) */
    size_t code_cap, page;
    uint8_t scratch[1024];

    uint32_t *off;           /* code offset of each slot; off[count] = end of body */
    bpfvm__jit_stub *stubs;  /* stubs requested in this pass, in order */
    size_t nstubs, stubs_cap;
    uint32_t *stub_off;      /* code offset of each stub (stubs_cap entries) */
    bpfvm__jit_fixup *fixups; /* displacements to fill in at the end of the pass */
    size_t nfixups, fixups_cap;

    /* analysis of the program (arch-independent, done once) */
    uint32_t *charge;        /* instructions charged to the budget on entering slot i (0: none) */
    uint8_t *marks;          /* per slot, BPFVM__MARK_* */
    size_t rmw_store;        /* 1 + slot of a store whose check the load before it made (0: none) */
    bpfvm__jit_loop *loops;  /* versioned loops, by head */
    size_t nloops, loops_cap;
    bpfvm__jit_range *ranges;
    size_t nranges, ranges_cap;
    size_t nhoisted;         /* accesses the copies leave unchecked */
    size_t nproven;          /* accesses marked BPFVM__MARK_PROVEN (bpfvm__jit_bounds) */
    bpfvm__jit_known *stored; /* per slot, from bpfvm__jit_bounds (NULL if it did not run):
                              * the value an stx's register holds in every run */
    uint32_t *copy_off;      /* code offset of each slot's copy (slots of versioned loops) */
    const bpfvm__jit_loop *copy; /* the loop whose unchecked copy is being emitted */
    uint8_t *targets;        /* per slot, 1 if a jump or a call lands there (3 if a ja or
                              * a backward jump does), 4 if more than one does and 8 if
                              * more than two; after the last slot, 1 if the program makes
                              * local calls */
    uint32_t *preds, *preds_first; /* made when first asked (bpfvm__jit_preds): the slots
                              * jumping or calling to slot k are preds[preds_first[k] ..
                              * preds_first[k + 1]) */
    uint8_t frame_private;   /* 1: the frame is reached only through r10, at constant
                              * offsets inside it, and no calls are made; 2: not; 0: not
                              * asked yet */
    int copying;             /* backend: a copy of a short block (1) or a threaded
                              * path (2) is being emitted */
    size_t nthreads, nthreaded; /* backend: threaded jumps, and the steps of their paths */
    size_t nthreads_out;     /* backend: of the threaded jumps, those copied out of line */
    void *out_copies;        /* backend (x86-64): what each of those copies is (its path) */
    size_t out_copies_cap;
    size_t searched;         /* backend: slots its threading looked at (walks, constants,
                              * liveness searches) */
    uint8_t *in_loop;        /* backend, made when first asked: per slot, 1 inside a
                              * versioned loop */
    uint64_t copy_konst[2];  /* backend (x86-64): lddw constants that rdi and r11 hold */
    unsigned copy_nkonst;    /* through the loop copy being emitted (how many) */
    struct {                 /* backend (x86-64): the last run of stores that wrote every
                              * byte of [reg + lo, reg + hi) (on both of its paths), */
        const bpfvm__jit_loop *copy; /* in this loop copy (NULL: the normal code), */
        uint32_t end;        /* up to slot end (0: none) */
        int32_t lo, hi;
        uint8_t reg;
    } run_wrote;
    struct {                 /* backend (x86-64): the byte stores of slots start + 1 .. end */
        const bpfvm__jit_loop *copy; /* a gathered copy at slot start did (bit k - start of */
        uint32_t start, end; /* done: slot k; end 0: none), in this loop copy */
        uint64_t done[8];
        int32_t lo, hi;      /* the bytes [r(reg) + lo, + hi) the copies of the window */
        int reg;             /* wrote early (their hull) */
    } gathered;
    struct bpfvm__jit_comb { /* backend (x86-64): combined loads, planned for the slots */
        const bpfvm__jit_loop *copy; /* start .. end - 1 (end 0: none) in this loop copy */
        uint32_t start, end;
        bool capped, active; /* the block goes on after end; some slot is not plain */
        uint8_t kind[256];   /* per slot - start: COMB_* (jit_x86_64.c) */
        uint8_t base[256], size[256];
        int32_t off[256];    /* a load's or byte store's bytes [r(base) + off, + size) */
    } comb;
    struct {                 /* backend (x86-64): movs emitted where the conditional */
        uint32_t first, jcc; /* jump at slot jcc goes (jit_x86_64.c sink_plan): slots */
    } sunk;                  /* first .. jcc - 1 (jcc 0: none) */
    unsigned range;          /* backend: how far its branches must reach (arm64: see
                              * jit_arm64.c; set before a translation is redone) */
    uint64_t konst;          /* backend: the constant a scratch register holds, */
    bool konst_valid;        /* while konst_valid */

    bool inlined_lookup;     /* bpfvm__jit_array_lookup said yes at least once */

    /* configuration */
    int checked;
    int metered;             /* a budget is set */
    unsigned uses;           /* BPFVM__JIT_USES_* (analysis) */
    unsigned call_need;      /* how deep local calls can nest (call_need, jit.c) */
    bool calls_free;         /* call_need within the call depth limit: no call checks it */
    uint32_t stack_size;
    uint64_t blind_state;    /* constant blinding: random generator state; 0 = off */

    /* the C functions the code calls */
    uint64_t rt_access, rt_helper, rt_raise;
    /* backend: code offset of the entry for callbacks (emitted when the
     * program has any: vm->ncallbacks), int fn(bpfvm__jit_state *) calling
     * state->cb_code with r1..r5 = state->cb_args; a bpfvm__jit_fn (its
     * r1 and r2 unused) */
    uint32_t cb_entry;
    uint32_t *cb_off;        /* code offset of each of vm->callbacks (driver) */
} bpfvm__jit;

/* The slot a jump, ja32 or local call at slot i goes to (the verifier keeps
 * it inside the program; the JIT's analysis checks it again). */
static inline int64_t bpfvm__jit_target(const bpfvm_insn *in, size_t i)
{
    int fmt = bpfvm__ops[in->opcode].fmt;
    int64_t rel = (fmt == BPFVM__FMT_JA32 || fmt == BPFVM__FMT_CALL_LOCAL) ? in->imm : in->off;
    return (int64_t)i + 1 + rel;
}

/* The slot a jump, ja32 or local call at slot i of j goes to. */
static inline size_t bpfvm__jit_dest(const bpfvm__jit *j, size_t i)
{
    return (size_t)bpfvm__jit_target(&j->code[i], i);
}

/* A conditional jump's code with the operands swapped (a > b is b < a). */
static inline uint8_t bpfvm__jit_mirror(uint8_t code)
{
    static const uint8_t swap[16] = { [0x2] = 0xa, [0x3] = 0xb, [0x6] = 0xc, [0x7] = 0xd,
                                      [0xa] = 0x2, [0xb] = 0x3, [0xc] = 0x6, [0xd] = 0x7,
                                      [0x1] = 0x1, [0x4] = 0x4, [0x5] = 0x5 };
    return (uint8_t)((code & 0x0f) | swap[code >> 4] << 4);
}

/* Bytes accessed by a load/store/atomic/packet row. */
static inline unsigned bpfvm__jit_access_size(uint8_t code)
{
    static const unsigned bytes[4] = { 4, 2, 1, 8 };
    return bytes[BPFVM_SIZE(code) >> 3];
}

/* Constant blinding: each immediate the program chose is emitted as
 * (imm ^ key) and key, with a fresh random key per immediate, so no
 * attacker-chosen 32-bit value lands in executable memory. */
static inline uint32_t bpfvm__jit_blind_key(bpfvm__jit *j)
{
    uint64_t x = j->blind_state; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    j->blind_state = x;
    return (uint32_t)(x >> 32) | 1u;
}

/* Make room for at least n (at most sizeof(scratch)) more bytes (sticky
 * error on failure). */
void bpfvm__jit_reserve(bpfvm__jit *j, size_t n);
/* Before each write of n bytes at j->len: every write makes its own room, so
 * no piece of code, however long, can pass the end of the buffer. */
static inline void bpfvm__jit_room(bpfvm__jit *j, size_t n)
{
    if (j->cap - j->len < n)
        bpfvm__jit_reserve(j, n);
}
/* Is slot k's access proven in range by the guard of the loop whose
 * unchecked copy is being emitted? */
static inline bool bpfvm__jit_hoisted(const bpfvm__jit *j, size_t k)
{
    return j->copy && k >= j->copy->head && k <= j->copy->last &&
           (j->marks[k] & BPFVM__MARK_HOIST);
}
/* Is slot k's access proven in range, by the guard of the loop being copied
 * (bpfvm__jit_hoisted) or by the program's compares (BPFVM__MARK_PROVEN)? */
static inline bool bpfvm__jit_proven(const bpfvm__jit *j, size_t k)
{
    return bpfvm__jit_hoisted(j, k) || (j->marks[k] & BPFVM__MARK_PROVEN);
}
/* Is [r(breg) + off, + size) inside the current frame, whatever the run? */
static inline bool bpfvm__jit_in_frame(const bpfvm__jit *j, int breg, int32_t off, unsigned size)
{
    return breg == BPFVM_R10 && off >= -(int32_t)j->stack_size && off + (int32_t)size <= 0;
}
/* Record a stub; returns its number. */
size_t bpfvm__jit_add_stub(bpfvm__jit *j, const bpfvm__jit_stub *stub);
/* Record a fixup (see bpfvm__jit_fixup). */
void bpfvm__jit_add_fixup(bpfvm__jit *j, uint32_t at, size_t index, int kind, unsigned width);
/* The code offset a fixup refers to (once every offset is known). */
uint32_t bpfvm__jit_fixup_target(const bpfvm__jit *j, const bpfvm__jit_fixup *f);
/* Double an array of *cap elements of `elem` bytes (sticky error on
 * failure, then false). */
bool bpfvm__jit_grow(bpfvm__jit *j, void **p, size_t *cap, size_t elem);

/* The versioned loop whose head is slot `head`. */
const bpfvm__jit_loop *bpfvm__jit_loop_at(const bpfvm__jit *j, size_t head);

/* Where a jump from slot i to slot *t goes: BPFVM__FIX_SLOT, BPFVM__FIX_COPY
 * or BPFVM__FIX_GUARD (*t becomes the loop's number). Without versioned
 * loops always BPFVM__FIX_SLOT. */
int bpfvm__jit_slot_ref(const bpfvm__jit *j, size_t i, size_t *t);

/* For a load at slot i from [r(breg) + off, +size): the slot of a store to
 * exactly those bytes later in the same block with only register operations
 * (none writing breg) between, or 0. */
size_t bpfvm__jit_rmw_partner(const bpfvm__jit *j, size_t i, int breg, int16_t off,
                              unsigned size);

/* Checked mode: does the access [r(breg) + off, +size) of slot i (rw: 0
 * load, 1 store, 3 atomic) need code? If so, records its memory stub in
 * *stub and returns true; *in_frame: it is inside the current frame
 * whatever the run (only an atomic's alignment is left to test). Skips
 * accesses the guard of a versioned loop proved, stack accesses at constant
 * offsets inside the frame, and the store whose bytes the load before it
 * checked (bpfvm__jit.rmw_store). */
bool bpfvm__jit_need_check(bpfvm__jit *j, size_t i, int breg, int16_t off, unsigned size,
                           unsigned rw, size_t *stub, bool *in_frame);

/* Mark BPFVM__MARK_PROVEN the loads and stores that the
 * program's own compares of pointers derived from r1 with r1 + r2 (raw mode's
 * input) prove inside the input memory, and record in j->stored the values
 * stx slots store that are the same in every run (jit_bounds.c). 0 or
 * BPFVM_ENOMEM. */
int bpfvm__jit_bounds(bpfvm__jit *j);

/* Liveness (bounded search): is rn certainly not read after slot i before
 * being written again? */
bool bpfvm__jit_dead_after(bpfvm__jit *j, size_t i, int r);
/* Liveness (bounded search): is rn certainly not read from slot i on (its
 * own reads included) before being written again? */
bool bpfvm__jit_dead_from(bpfvm__jit *j, size_t i, int r);
/* Frame bytes [r10 + off, + size). */
typedef struct bpfvm__jit_bytes {
    int32_t off;
    unsigned size;
} bpfvm__jit_bytes;
/* From slot i on (its own reads included), searching further (the slots
 * looked at are added to j->searched) and only where the constants
 * registers hold (c at slot i, NULL: none known, then those its movs set)
 * let conditional jumps go: what may be read before
 * being written, bit n for rn (r0..r9) and bit 11 + f for the frame bytes
 * fr[f] (f < nfr <= 5), which are followed only in a program that reaches
 * its frame through r10 alone, at constant offsets inside it, and makes no
 * calls (else: they may be). */
unsigned bpfvm__jit_live_from(bpfvm__jit *j, size_t i, const bpfvm__consts *c,
                              const bpfvm__jit_bytes *fr, int nfr);
/* Are the frame bytes [r10 + off, + size) certainly not read from slot i
 * on (its own reads included) before being written? (A bounded search; in
 * a program that reaches its frame otherwise than through r10 at constant
 * offsets, or makes calls: false.) */
bool bpfvm__jit_frame_dead(bpfvm__jit *j, size_t i, int32_t off, unsigned size);
/* The registers slot i reads (*use) and surely writes (*def), bit n = rn. */
void bpfvm__jit_use_def(const bpfvm__jit *j, size_t i, unsigned *use, unsigned *def);
/* The registers slot i may write (an atomic's fetch its src, cmpxchg r0,
 * calls and legacy packet loads any). */
unsigned bpfvm__jit_may_write(const bpfvm__jit *j, size_t i);
/* Does a jump or a call land on slot k? */
static inline bool bpfvm__jit_is_target(const bpfvm__jit *j, size_t k)
{
    return j->targets[k] != 0;
}
/* Does a ja or a backward jump land on slot k (a jump the x86-64 backend
 * may replace by a copy of the block at k)? */
static inline bool bpfvm__jit_is_ja_target(const bpfvm__jit *j, size_t k)
{
    return (j->targets[k] & 2) != 0;
}
/* Do n (2 or 3) or more jumps or calls land on slot k? */
static inline bool bpfvm__jit_many_in(const bpfvm__jit *j, size_t k, unsigned n)
{
    return (j->targets[k] & (n > 2 ? 8 : 4)) != 0;
}
/* The slots whose jumps or calls land on slot k (*n of them); NULL (sticky
 * error) without memory for the table. */
const uint32_t *bpfvm__jit_preds(bpfvm__jit *j, size_t k, size_t *n);
/* Is slot i `jcc +1` over a mov, or `jcc T; mov; ja T`, a backend may make
 * a conditional move (the mov happens when the condition is false; a ja
 * after the mov stays)? */
bool bpfvm__jit_select(bpfvm__jit *j, size_t i);
/* Is slot k (< count) a loop's edge, where code made of slots k - 1 and k
 * together must not span: a backward jump lands there (aligned), a
 * versioned loop's guard comes before it, or a versioned loop's unchecked
 * copy resumes there (the slot after its last)? Whether k is inside the
 * loop being copied is left to the caller. */
bool bpfvm__jit_loop_edge(const bpfvm__jit *j, size_t k);
/* eBPF registers (bit n = rn) some slot reads or writes (jit.c). */
unsigned bpfvm__jit_regs_used(const bpfvm__jit *j);

/* An inlined bpf_map_lookup_elem (helper 1) on an array: the call at slot
 * i gets r1 from an lddw of one of the program's maps in its own basic
 * block (nothing writes r1 in between), the map is a plain ARRAY (not
 * per-CPU), helper 1 is the kernel set's at compile time and there is no
 * constant blinding (max_entries would be an unblinded immediate). Then the
 * lookup is r0 = key < max_entries ? values + key * stride : 0 with the u32
 * key at r2; r1..r5 are kept as after a call. The backend reads the key
 * inline only where the helper would surely accept it (checked: inside the
 * current frame; unchecked: not NULL) and otherwise makes the helper call
 * (which faults as in the interpreter). The budget checkpoint stays. */
typedef struct bpfvm__jit_array {
    uint64_t values;         /* host address of element 0 */
    uint32_t max_entries;
    uint32_t stride;         /* bytes per element */
} bpfvm__jit_array;
bool bpfvm__jit_array_lookup(bpfvm__jit *j, size_t i, bpfvm__jit_array *a);

/* ---- the backend interface ----------------------------------------------
 * A backend is one file defining bpfvm__jit_host. bpfvm_compile analyses
 * the program (charges, marks; versioned loops only if the backend has
 * `versioning`) and calls compile(), which writes through bpfvm__jit_room
 * into pages mapped for the code (they become it) and must leave in
 * j->buf/j->len the complete position-independent code, entered
 * at offset 0 as a bpfvm__jit_fn (state, r1, r2, r10), with
 * j->off[] set for every slot. The driver maps it W^X, fills the rest of
 * the last page with `fill` (4-byte little-endian pattern, a trap), makes
 * the instruction cache coherent and runs it. */
typedef struct bpfvm__jit_arch {
    const char *name;        /* "x86-64", "arm64" */
    bool versioning;         /* emits guards for bpfvm__jit.loops (else none are found) */
    uint32_t fill;           /* trap pattern after the code */
    void (*compile)(bpfvm__jit *j);
} bpfvm__jit_arch;

/* The backend of this host (absent where there is none). */
extern const bpfvm__jit_arch bpfvm__jit_host;

/* ---- the run entry --------------------------------------------------------
 * bpfvm_run_jit (vm.c) is the run path with this engine inlined into it. */

/* The per-run state around a context bpfvm_run_jit prepared in place. */
static inline bpfvm__jit_state *bpfvm__jit_state_of(bpfvm_ctx *ctx)
{
    return (bpfvm__jit_state *)(void *)((char *)ctx - offsetof(bpfvm__jit_state, ctx));
}

/* lim[k] = len - 2^k + 1, or 0 when shorter; written out (every run) */
static inline void bpfvm__jit_set_limits(uint64_t lim[4], uint64_t len)
{
    for (unsigned k = 0; k < 4; k++) {
        uint64_t n = (1u << k) - 1, lim_k = len - n;
        lim[k] = len >= n ? lim_k : 0;
    }
}

/* A callback (bpfvm__call_function) of a run in compiled code (jit.c). */
int bpfvm__jit_callback(bpfvm_ctx *ctx, size_t pc, const uint64_t args[5], uint64_t *r0);

/* Was the code compiled without call depth checks (its local calls nest at
 * most vm->jit_call_need deep) and is the limit now lower? Then runs are
 * the interpreter's (run_engine, vm.c), which faults at the call exactly.
 * Only while the code may run at all (else the engine says why not). */
static inline bool bpfvm__jit_call_short(const bpfvm_vm *vm)
{
    return vm->jit_call_need > bpfvm__call_limit(vm) && vm->jit_ready;
}

/* The JIT's engine (a bpfvm__engine_fn): the state around ctx, then the
 * compiled code. */
static BPFVM__INLINE int bpfvm__jit_engine(const bpfvm_vm *vm, bpfvm_ctx *ctx, uint64_t r1,
                                           uint64_t r2, uint64_t *r0)
{
    bpfvm__jit_state *st = bpfvm__jit_state_of(ctx);
    bpfvm__jit_fn fn;

    if (!vm->jit_ready) /* see bpfvm__jit_refresh */
        return vm->jit_entry ? bpfvm__set_error(ctx->err, BPFVM_EINVAL, -1,
                                                "the stack size or budget changed since "
                                                "bpfvm_compile: compile again")
                             : bpfvm__set_error(ctx->err, BPFVM_ENOJIT, -1,
                                                "no compiled code: call bpfvm_compile first");

    /* The fields before ctx the code and the run-time functions read
     * before writing (saved_sp is the code's; r0, helper_insn, helper_id
     * are written by the code before read), only those this program's code
     * reads (vm->jit_uses): rt_access runs only from memory checks. */
    unsigned uses = vm->jit_uses;
    if (uses) { /* one test for programs that read none */
        if (uses & BPFVM__JIT_USES_HELPERS) { /* what helpers and callbacks see */
            ctx->checked = vm->jit_checked; /* what the code was compiled with */
            ctx->callback = bpfvm__jit_callback;
            st->rc = 0;
        }
        if (uses & BPFVM__JIT_USES_BUDGET)
            st->budget_left =
                vm->budget && vm->budget <= INT64_MAX ? (int64_t)vm->budget : INT64_MAX;
        if (uses & BPFVM__JIT_USES_MEM) {
            st->mem_neg = 0 - ctx->mem_start;
            bpfvm__jit_set_limits(st->mem_lim, ctx->mem_len);
            memset(st->cache, 0, sizeof(st->cache)); /* empty (lim 0: no address fits) */
        }
        if (uses & BPFVM__JIT_USES_CALLS) /* call_depth <= its maximum */
            st->frame_limit = ctx->stack_start + ctx->stack_len;
    }
    memcpy(&fn, &vm->jit_ready, sizeof(fn));
    if (fn(st, r1, r2, ctx->frame_start + vm->stack_size) != 0)
        return st->rc;
    *r0 = st->r0;
    return 0;
}

#endif /* BPFVM_JIT_H */
