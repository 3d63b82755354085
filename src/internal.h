/* internal.h - private structures and bpfvm__ functions shared by the
 * components of the library. Nothing here is part of the public API. */
#ifndef BPFVM_INTERNAL_H
#define BPFVM_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm.h"

/* ---- the opcode table (opcodes.def, opcodes.c) ------------------------- */

/* Operand layouts. For each: which fields are operands; all others must be 0
 * (the discriminating field, if any, must equal the row's value). */
enum bpfvm__fmt {
    BPFVM__FMT_ALU_K,      /* dst, imm                      */
    BPFVM__FMT_ALU_X,      /* dst, src                      */
    BPFVM__FMT_NEG,        /* dst                           */
    BPFVM__FMT_END,        /* dst (imm = width, the disc)   */
    BPFVM__FMT_JMP_K,      /* dst, imm, off                 */
    BPFVM__FMT_JMP_X,      /* dst, src, off                 */
    BPFVM__FMT_JA,         /* off                           */
    BPFVM__FMT_JA32,       /* imm (slot offset)             */
    BPFVM__FMT_CALL,       /* imm (helper id)               */
    BPFVM__FMT_CALL_LOCAL, /* imm (slot offset), src = 1    */
    BPFVM__FMT_CALLX,      /* dst (register holding helper id) */
    BPFVM__FMT_EXIT,       /* nothing                       */
    BPFVM__FMT_LDX,        /* dst, src, off                 */
    BPFVM__FMT_ST,         /* dst, off, imm                 */
    BPFVM__FMT_STX,        /* dst, src, off                 */
    BPFVM__FMT_ATOMIC,     /* dst, src, off (imm = op, the disc) */
    BPFVM__FMT_LDDW,       /* dst, imm + next slot's imm    */
    BPFVM__FMT_LDABS,      /* imm                           */
    BPFVM__FMT_LDIND       /* src, imm                      */
};

enum bpfvm__disc { BPFVM__DISC_NONE, BPFVM__DISC_OFF, BPFVM__DISC_IMM, BPFVM__DISC_SRC };

enum bpfvm__group {
    BPFVM__GROUP_BASE32, BPFVM__GROUP_BASE64, BPFVM__GROUP_ATOMIC32, BPFVM__GROUP_ATOMIC64,
    BPFVM__GROUP_DIVMUL32, BPFVM__GROUP_DIVMUL64, BPFVM__GROUP_PACKET, BPFVM__GROUP_CALLX
};

/* Row ids: BPFVM__OP_ADD32_K, ... in table order. */
enum bpfvm__opid {
#define INSN(name, code, mnem, fmt, disc, value, group) BPFVM__OP_##name,
#include "opcodes.def"
    BPFVM__OP_COUNT
};

typedef struct bpfvm__opinfo {
    const char *name;     /* "ADD32_K" */
    const char *mnemonic; /* "add32" */
    uint8_t code;
    uint8_t fmt;          /* enum bpfvm__fmt */
    uint8_t disc;         /* enum bpfvm__disc */
    uint8_t group;        /* enum bpfvm__group */
    int32_t value;        /* discriminator value */
} bpfvm__opinfo;

extern const bpfvm__opinfo bpfvm__ops[BPFVM__OP_COUNT];

/* The row an instruction slot belongs to, or -1 if the opcode byte and its
 * discriminating field match no row. Only the discriminator is checked here;
 * bpfvm__check_fields checks the remaining fields against the format. */
int bpfvm__decode(const bpfvm_insn *insn);
/* NULL if the slot's other fields fit the row's format, else a short reason
 * ("nonzero src field", "register r11 out of range", ...). */
const char *bpfvm__check_fields(int op, const bpfvm_insn *insn);
/* Registers known to hold a constant along a path (bit n = rn), and their
 * values. */
typedef struct bpfvm__consts {
    uint16_t known;
    uint64_t val[11];
} bpfvm__consts;
/* After slot `in` (row op) writing the registers `writes`: a mov of a
 * constant or of a known register makes its dst known. */
void bpfvm__consts_track(bpfvm__consts *c, int op, const bpfvm_insn *in, uint16_t writes);
/* Whether the conditional jump `in` (row op) is taken with the constants c:
 * 1 or 0, or -1 if they do not tell. */
int bpfvm__consts_decide(const bpfvm__consts *c, int op, const bpfvm_insn *in);
/* *c keeps only what it and d both know. */
void bpfvm__consts_meet(bpfvm__consts *c, const bpfvm__consts *d);
/* Does an instruction of format fmt go on to the next one (no ja, no exit)? */
static inline bool bpfvm__falls_through(int fmt)
{
    return fmt != BPFVM__FMT_JA && fmt != BPFVM__FMT_JA32 && fmt != BPFVM__FMT_EXIT;
}
/* The 64-bit immediate of the lddw at *in (its two slots' imm fields). */
static inline uint64_t bpfvm__lddw_value(const bpfvm_insn *in)
{
    return (uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32;
}
/* An `lddw rX, func` (src BPFVM_PSEUDO_FUNC; decodes as the LDDW row): the
 * slot of the function it names (may be outside the program). */
static inline bool bpfvm__is_func_lddw(const bpfvm_insn *in)
{
    return in->opcode == (BPFVM_LD | BPFVM_IMM | BPFVM_DW) && in->src == BPFVM_PSEUDO_FUNC;
}
static inline int64_t bpfvm__func_target(const bpfvm_insn *in, size_t i)
{
    return (int64_t)i + 1 + in->imm;
}
/* Access width in bytes of a load/store/atomic/ldabs/ldind row; 0 otherwise. */
unsigned bpfvm__access_size(int op);

/* ---- LLVM/kernel assembly spellings (disasm.c; the assembler reads them) - */

/* Compound-assignment operator of an ALU operation, indexed by op >> 4
 * ("+" for add: `r0 += r1`); NULL for neg, mov and end, which have their own
 * forms. Signed div/mod (off = 1) prefix "s". */
extern const char *const bpfvm__llvm_alu_op[16];
/* Comparison of a conditional jump, indexed by op >> 4 ("s<=" for jsle);
 * NULL for ja, call and exit. */
extern const char *const bpfvm__llvm_jmp_op[16];
/* Access type of a load/store, indexed by size >> 3: u32, u16, u8, u64. */
extern const char *const bpfvm__llvm_size[4];

/* ---- control flow (disasm.c; the verifier builds on it) ---------------- */

enum {
    BPFVM__CFG_START = 1,  /* an instruction begins at this slot (also slot `count`) */
    BPFVM__CFG_LEADER = 2, /* a basic block begins here */
    BPFVM__CFG_FUNC = 4    /* a function begins here: 0 and every local-call target */
};
/* Mark mark[0..count] (count + 1 bytes, zeroed by the caller; bits above
 * BPFVM__CFG_FUNC are the caller's). Blocks begin at 0, at every jump or
 * local-call target and after every jump and exit. Works on any slots:
 * malformed ones count as one-slot instructions, and targets outside the
 * program or inside an lddw are ignored. `rows` is NULL, or the row
 * (bpfvm__decode) of each instruction start of a program that passed the
 * verifier's structural checks: then nothing is decoded again. */
void bpfvm__cfg_marks(const bpfvm_insn *insns, size_t count, const uint8_t *rows,
                      unsigned char *mark);

/* ---- the VM ------------------------------------------------------------ */

typedef struct bpfvm__helper {
    uint32_t id;
    char *name;           /* owned, may be NULL */
    bpfvm_helper_fn fn;
    void *user;
} bpfvm__helper;

typedef struct bpfvm__region {
    uint64_t start;       /* host address */
    uint64_t len;
    unsigned flags;       /* BPFVM_READ | BPFVM_WRITE */
    uint32_t stride, size; /* map values: an access stays inside the first `size`
                            * bytes of one `stride`-byte element; stride 0: anywhere */
    uint32_t lock;        /* and off the element's struct bpf_spin_lock: its offset + 1
                           * (0: none), as the kernel's verifier forbids touching it */
} bpfvm__region;

struct bpfvm_vm {
    bpfvm_allocator alloc;

    /* the program, as loaded (ELF: after linking) */
    bpfvm_insn *insns;
    size_t count;
    /* pre-decoded copy for the engines: opcode byte replaced by the row id */
    bpfvm_insn *code;
    bool local_calls;     /* the program makes local calls (uses frames past the first) */
    bool helper_calls;    /* the program calls helpers (call or callx) */
    size_t stack_read;    /* bytes below r10 the program may read in its frame, the rest
                           * of a run's frames it cannot see (SIZE_MAX: any byte of any
                           * frame); zeroed before each run */
    size_t jit_stack_read; /* the same for the compiled code (bpfvm_compile: the checked
                            * code's proven loads read no frame) */
    /* the interpreter's own decoding of `code` (bpfvm__interp_decode) */
    void *interp_code;

    /* configuration */
    bpfvm_mode mode;
    size_t stack_size;
    unsigned call_depth;
    uint64_t budget;      /* 0 = unlimited */
    int checked;
    size_t fixed_size, fixed_data_off, fixed_data_end_off;
    /* program type and context layout (progtype.c) */
    int prog_type;        /* bpfvm_prog_type as set */
    int auto_type;        /* AUTO: the type the ELF loader chose for the next install */
    int run_type;         /* type of the loaded program (AUTO resolved) */
    bpfvm_ctx_layout layout; /* user layout (fields owned), nfields 0 = none */

    bpfvm__helper *helpers; /* sorted by id */
    size_t nhelpers, helpers_cap;

    bpfvm__region *regions; /* user regions first, then ELF data sections */
    size_t nregions, regions_cap, nuser_regions;
    uint8_t *fixed_mbuff;   /* fixed-mbuff template (fixed_size bytes) */

    /* maps the loaded program uses (one reference each, dropped at unload);
     * their values are regions behind the user's */
    struct bpfvm_map **maps;
    size_t nmaps;
    int fixed_cpu;        /* per-CPU slot of runs: cpu + 1, or 0 for the running CPU */

    /* ELF data sections owned by the VM (freed with it or the next load) */
    void **owned;
    size_t nowned, owned_cap;

    bpfvm_verifier_fn verifier;
    void *verifier_user;
    bpfvm_verify_mode verify_mode;

    FILE *trace;

    /* JIT */
    void *jit_code;       /* mmap'd, read+exec */
    size_t jit_size;      /* mapping size */
    size_t jit_len;       /* bytes of code */
    void *jit_entry;
    void *jit_ready;      /* jit_entry while runs may use it (bpfvm__jit_refresh), else NULL */
    int jit_checked;      /* checked-mode flag the code was compiled with */
    int jit_metered;      /* the code enforces a budget */
    unsigned jit_uses;    /* the per-run state it reads (BPFVM__JIT_USES_*, jit.h) */
    unsigned jit_call_need; /* the call depth limit its local calls assume (they check
                             * none; 0: they check it): a lower limit is interpreted */
    size_t jit_stack_size; /* stack size the code was compiled for */
    size_t jit_loops;     /* loops and straight-line segments compiled with a guard
                           * and an unchecked copy */
    size_t jit_segments;  /* of them, straight-line segments */
    size_t jit_threads;   /* threaded jumps (jit_x86_64.c) */
    size_t jit_threads_out; /* of them, copies placed after the program */
    size_t jit_hoisted;   /* memory checks those copies leave out */
    bool jit_inline_lookup; /* the code inlines the kernel's bpf_map_lookup_elem on
                             * arrays: replacing helper 1 drops it (compile again) */

    bpfvm_error last_error;

    /* Last, so that the engines' offsets into the VM stay as they were. */
    /* source lines and function names (lineinfo.c; ELF loads only) */
    struct bpfvm__lines *lines;
    /* the hook of a bpfvm_test_run_traced call in progress (debug.c), else NULL */
    const struct bpfvm__test_trace *test_trace;
    /* callbacks (callback.c): the slots `lddw rX, func` (src 4) name, sorted,
     * and the JIT code's entry for them and offset of each */
    uint32_t *callbacks;
    size_t ncallbacks;
    void *jit_cb_entry;
    uint32_t *jit_cb_off;
    /* the object bpfvm_load_elf opened (it owns the programs of `.values`
     * initialisers), closed when the program is unloaded */
    struct bpfvm_object *elf_obj;
};

/* Per-run state (also what helpers see). One lives on the C stack of each
 * bpfvm_run / bpfvm_run_jit call. */
struct bpfvm_ctx {
    const bpfvm_vm *vm;
    uint64_t mem_start, mem_len;     /* input memory (0,0 if none) */
    uint64_t mbuff_start, mbuff_len; /* metadata buffer (0,0 if none) */
    uint64_t stack_start, stack_len; /* the whole stack area (all frames) */
    uint64_t frame_start;            /* current frame: [frame_start, frame_start+stack_size) */
    uint64_t executed;               /* instructions executed so far */
    void *helper_user;               /* user pointer of the running helper */
    int failed;                      /* set by bpfvm_ctx_fail; < 0: that error code, already
                                      * in err (a fault inside a callback) */
    int checked;                     /* the running engine checks memory */
    bpfvm_error *err;                /* where the run's error detail goes */
    struct bpfvm__tail *tail;        /* tail-call state of the run (vm.c's run_engine) */
    uint64_t spin_held;              /* the bpf_spin_lock the run holds (address), or 0 */
    /* callbacks (callback.c): the JIT's way of calling a function (NULL:
     * the interpreter's); the slot of the helper call being made */
    int (*callback)(bpfvm_ctx *ctx, size_t pc, const uint64_t args[5], uint64_t *r0);
    uint64_t call_insn;
    uint64_t lent_start, lent_len;   /* bytes a helper lends a callback to read (the key of
                                      * bpf_for_each_map_elem), else 0, 0 */
    char fail_msg[200];
    struct bpfvm__trace *trace;      /* traced runs (debug.c), else NULL */
};

/* A tail call (kernel_helpers.c): bpf_tail_call records its target and
 * stops the run as a failing helper does; run_engine (vm.c) then runs the
 * target with r1 = the call's context argument. At most
 * BPFVM__MAX_TAIL_CALLS per run, as the kernel's MAX_TAIL_CALL_CNT. */
#define BPFVM__MAX_TAIL_CALLS 33u
struct bpfvm__tail {
    const bpfvm_vm *target;          /* set by a tail call that is to happen */
    uint64_t r1;
    unsigned count;                  /* tail calls made so far in this run */
};

/* ---- shared internals -------------------------------------------------- */

/* A function of the run path its callers must inline (and, for an engine,
 * the call through a constant function pointer). */
#if defined(__GNUC__)
#define BPFVM__INLINE __attribute__((always_inline)) inline
#else
#define BPFVM__INLINE inline
#endif

#define BPFVM__MAX_CALL_DEPTH 64u
/* The call depth limit a run enforces: a local call (or callback) made at
 * depth d (the entry's at 0) fails when d >= this. */
static inline unsigned bpfvm__call_limit(const bpfvm_vm *vm)
{
    return vm->call_depth < BPFVM__MAX_CALL_DEPTH ? vm->call_depth : BPFVM__MAX_CALL_DEPTH;
}
/* Stack areas up to this size live on the C stack of bpfvm_run. */
#define BPFVM__SMALL_STACK 8192u

void *bpfvm__alloc(const bpfvm_vm *vm, size_t size);               /* NULL on failure */
void *bpfvm__realloc(const bpfvm_vm *vm, void *ptr, size_t size);
void bpfvm__free(const bpfvm_vm *vm, void *ptr);

/* Fill an error record: code, insn (-1 for none) and a printf-style message.
 * Other fields are reset to "not applicable". Returns code. */
int bpfvm__set_error(bpfvm_error *err, int code, int64_t insn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int bpfvm__vset_error(bpfvm_error *err, int code, int64_t insn, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;
void bpfvm__clear_error(bpfvm_error *err);

/* Helper lookup by id (NULL if none). */
const bpfvm__helper *bpfvm__find_helper(const bpfvm_vm *vm, uint32_t id);
const bpfvm__helper *bpfvm__find_helper_by_name(const bpfvm_vm *vm, const char *name);

/* Is [addr, addr+size) allowed for this access in this run? Overflow-safe. */
bool bpfvm__access_ok(const bpfvm_ctx *ctx, uint64_t addr, uint64_t size, bool write);
/* Does region r allow it? *start, *len: the part of r that does (for map
 * values, the element's value, or the part of it before or after its
 * lock). */
bool bpfvm__region_allows(const bpfvm__region *r, uint64_t addr, uint64_t size, bool write,
                          uint64_t *start, uint64_t *len);
/* Outside the stack and the input memory: the mbuff, registered region or
 * inner map's value that allows it, as [*start, +*len); false if none. */
bool bpfvm__find_region(const bpfvm_ctx *ctx, uint64_t addr, uint64_t size, bool write,
                        uint64_t *start, uint64_t *len);
/* Fill err with an EMEMORY fault naming insn, address, size and the allowed
 * regions. Returns BPFVM_EMEMORY. */
int bpfvm__memory_fault(const bpfvm_ctx *ctx, int64_t insn, uint64_t addr, uint64_t size,
                        bool write);
/* A checked atomic whose address is not a multiple of its size: the
 * EMEMORY error naming it (atomics split over two cache lines can stop the
 * host process on some machines). */
int bpfvm__misaligned_atomic(const bpfvm_ctx *ctx, int64_t insn, uint64_t addr, uint64_t size);

/* Structural verification (verifier.c). Each problem goes to report (may be
 * NULL); returns 0 or BPFVM_EVERIFY with the first problem in *first. */
int bpfvm__verify(const bpfvm_vm *vm, const bpfvm_insn *insns, size_t count,
                  bpfvm_report_fn report, void *user, bpfvm_error *first);
/* The part of it that keeps execution inside the program (jump and call
 * targets, not falling off the end); run at load even when the user replaced
 * the verifier, so no engine ever leaves the program's instructions. */
int bpfvm__verify_control(const bpfvm_insn *insns, size_t count, bpfvm_error *first);

/* Install a program (already linked) into the VM: copy, verify, pre-decode.
 * Used by bpfvm_load and the ELF loader. */
int bpfvm__install(bpfvm_vm *vm, const bpfvm_insn *insns, size_t count);
/* Drop the loaded program, its JIT code, owned ELF data and their regions. */
void bpfvm__unload(bpfvm_vm *vm);
/* Take ownership of a data buffer allocated with bpfvm__alloc (ELF sections). */
int bpfvm__own(bpfvm_vm *vm, void *buf);
/* Add a region without touching the user's list semantics (ELF sections). */
int bpfvm__add_region(bpfvm_vm *vm, uint64_t start, uint64_t len, unsigned flags);

/* Bytes of per-run stack area: all frames, then the fixed-mbuff copy. */
size_t bpfvm__stack_area_size(const bpfvm_vm *vm);
/* Set up a run context: mode, memory, stack (stack_area must hold
 * bpfvm__stack_area_size bytes; the bytes of it the program may read,
 * stack_read: vm->stack_read, or vm->jit_stack_read for the JIT's code, are
 * zeroed here, so programs never see host data). ctx->tail and ctx->trace
 * are the caller's to set. Returns 0 or an error (err filled; ctx is then
 * not set up). */
int bpfvm__prepare_run(const bpfvm_vm *vm, bpfvm_ctx *ctx, void *mem, size_t mem_len,
                       void *mbuff, size_t mbuff_len, void *stack_area, size_t stack_read,
                       uint64_t *r1, uint64_t *r2, bpfvm_error *err);
/* Bytes below r10 a program may read from its frame (SIZE_MAX: any byte of
 * any frame); marks: the checked JIT's (its proven loads read no frame), or
 * NULL. */
size_t bpfvm__stack_reads(const bpfvm_insn *p, size_t count, bool local_calls,
                          const uint8_t *marks);

/* The interpreter's decoding of a pre-decoded program (count slots), built
 * at load; allocated with bpfvm__alloc, NULL when out of memory. */
void *bpfvm__interp_decode(const bpfvm_vm *vm, const bpfvm_insn *code, size_t count);
/* The interpreter (interp.c): runs vm->code with the prepared context. */
int bpfvm__interpret(const bpfvm_vm *vm, bpfvm_ctx *ctx, uint64_t r1, uint64_t r2,
                     uint64_t *r0);

/* The same compiled for traced runs (interp_trace.c): the decoding without
 * fused forms, and the interpreter running ctx->trace->code, calling
 * bpfvm__trace_step before each instruction. */
void *bpfvm__interp_decode_traced(const bpfvm_vm *vm, const bpfvm_insn *code, size_t count);
int bpfvm__interpret_traced(const bpfvm_vm *vm, bpfvm_ctx *ctx, uint64_t r1, uint64_t r2,
                            uint64_t *r0);
/* Their callbacks (bpfvm__call_function): the function at slot pc with
 * r1..r5 = args, in the frame at ctx->frame_start. */
int bpfvm__interp_callback(bpfvm_ctx *ctx, size_t pc, const uint64_t args[5], uint64_t *r0);
int bpfvm__interp_callback_traced(bpfvm_ctx *ctx, size_t pc, const uint64_t args[5],
                                  uint64_t *r0);

/* A traced run (debug.c). */
struct bpfvm__trace {
    const void *code;     /* bpfvm__interp_decode_traced of the program */
    bpfvm_trace_fn fn;
    void *user;
    uint64_t *counts;     /* counting runs: per slot; fn only where the depth changes */
    size_t calls[BPFVM__MAX_CALL_DEPTH]; /* slot of each active local call */
};
/* What bpfvm_test_run_traced asks of bpfvm_test_run's runs. */
struct bpfvm__test_trace {
    bpfvm_trace_fn fn;
    void *user;
    uint64_t *counts;     /* NULL: traced runs, else counting runs */
};
/* Before instruction `insn` (BPFVM_TRACE_END: the run has ended): calls the
 * hook; returns 0 or the error that stops the run (ctx->err filled). */
int bpfvm__trace_step(bpfvm_ctx *ctx, size_t insn, uint64_t *reg, unsigned depth,
                      uint64_t executed);

/* An engine: runs the loaded program with a prepared context. */
typedef int (*bpfvm__engine_fn)(const bpfvm_vm *vm, bpfvm_ctx *ctx, uint64_t r1, uint64_t r2,
                                uint64_t *r0);
/* bpfvm_run / bpfvm_run_jit for a traced run (ctx.trace = trace): stack
 * area, prepare, engine, error routing (err, else vm->last_error). */
int bpfvm__run_engine_traced(bpfvm_vm *vm, bpfvm__engine_fn engine, struct bpfvm__trace *trace,
                             void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                             uint64_t *r0, bpfvm_error *err);

/* ---- source lines (lineinfo.c) ------------------------------------------ */

/* Where a piece of a code section went in the linked program (elf.c). */
typedef struct bpfvm__code_map {
    const char *section;  /* its section's name */
    uint64_t start;       /* byte offset in the section */
    size_t count;         /* instructions */
    size_t out;           /* first slot in the linked program */
    const char *function; /* the function starting there (or the section's name) */
} bpfvm__code_map;
/* A relocation of .debug_line: the 8 bytes at `off` hold an offset into the
 * code section named `section`, plus `value`. */
typedef struct bpfvm__line_rel {
    uint64_t off, value;
    const char *section;
} bpfvm__line_rel;
/* The debug sections line info is read from (any may be NULL/0). */
typedef struct bpfvm__debug_sections {
    const uint8_t *btf, *btf_ext, *line, *line_str, *str;
    size_t btf_len, btf_ext_len, line_len, line_str_len, str_len;
    const bpfvm__line_rel *line_rels; /* sorted by off */
    size_t nline_rels;
} bpfvm__debug_sections;
typedef struct bpfvm__lines bpfvm__lines;
/* The line table of a linked program of `count` slots: from .BTF.ext (with
 * the strings of .BTF), else from DWARF .debug_line; with neither, only
 * the function names of the code map. Corrupt records are dropped and
 * counted, never trusted. Returns 0, BPFVM_ENOMEM, or BPFVM_EINVAL if the
 * map does not fit the program. */
int bpfvm__lines_build(const bpfvm_vm *vm, const bpfvm__debug_sections *d,
                       const bpfvm__code_map *map, size_t nmap, size_t count,
                       bpfvm__lines **out);
void bpfvm__lines_free(const bpfvm_vm *vm, bpfvm__lines *l);
/* "file.c:31" (file name without directories) of slot insn into buf; ""
 * when unknown. */
void bpfvm__lines_name(const bpfvm__lines *l, int64_t insn, char *buf, size_t size);

/* Maps (maps.c): drop the loaded program's maps; give it `n` maps (a
 * reference and a region each). */
void bpfvm__release_maps(bpfvm_vm *vm);
int bpfvm__attach_maps(bpfvm_vm *vm, struct bpfvm_map *const *maps, size_t n);
/* The value of an inner map (of one of the program's map-in-map maps)
 * that allows [addr, +size), as bpfvm__region_allows; false if none. */
bool bpfvm__inner_access(const bpfvm_vm *vm, uint64_t addr, uint64_t size, bool write,
                         uint64_t *start, uint64_t *len);
/* A run that ended holding a bpf_spin_lock (which the kernel's verifier
 * refuses): release it; the run's code, or an EHELPERFAIL naming it
 * (kernel_helpers.c). */
int bpfvm__spin_leftover(bpfvm_ctx *ctx, int rc);
/* The CPU whose per-CPU slots a run uses (kernel_helpers.c). */
unsigned bpfvm__run_cpu(const bpfvm_ctx *ctx);
/* bpf_map_lookup_elem's id, and whether `fn` is the kernel set's
 * implementation of it (kernel_helpers.c): the JIT inlines array lookups
 * only while it is the one registered. */
#define BPFVM__HELPER_MAP_LOOKUP 1
bool bpfvm__is_kernel_map_lookup(bpfvm_helper_fn fn);
/* A set of helpers registered by one call (helpers.c). */
typedef struct bpfvm__helper_def {
    uint32_t id;
    const char *name;
    bpfvm_helper_fn fn;
} bpfvm__helper_def;
int bpfvm__register_helpers(bpfvm_vm *vm, const bpfvm__helper_def *set, size_t n);
/* Ready-made helpers the kernel set shares (helpers.c). */
uint64_t bpfvm__ktime_get_ns(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                             uint64_t e);
uint64_t bpfvm__trace_printk(bpfvm_ctx *ctx, uint64_t fmt, uint64_t fmt_len, uint64_t a,
                             uint64_t b, uint64_t c);
uint64_t bpfvm__rand(bpfvm_ctx *ctx, uint64_t min, uint64_t max, uint64_t c, uint64_t d,
                     uint64_t e);
/* Program types (progtype.c). The type the next install uses (AUTO
 * resolved), its layout (the user's or the type's; NULL if none), and the
 * load-time context conversion of `insns` (count slots, verified) in place:
 * 0 or BPFVM_EVERIFY with err naming the instruction and field. */
int bpfvm__install_type(const bpfvm_vm *vm);
const bpfvm_ctx_layout *bpfvm__layout_for(const bpfvm_vm *vm, int type);
int bpfvm__ctx_convert(const bpfvm_vm *vm, const bpfvm_ctx_layout *layout, int type,
                       bpfvm_insn *insns, size_t count, bpfvm_error *err);
/* After the generic run setup: a packet type's run buffer (mbuff) is
 * checked to be one bpfvm_test_run made (else EINVAL) and only its
 * program-visible part is left accessible. 0 for other types. */
int bpfvm__progtype_prepare(const bpfvm_vm *vm, bpfvm_ctx *ctx, bpfvm_error *err);
/* ELF loader, before installing the program of section `section`. */
void bpfvm__progtype_for_section(bpfvm_vm *vm, const char *section);

/* Callbacks into the program from helpers (callback.c; bpf_loop and
 * bpf_for_each_map_elem). Install: in the pre-decoded `code` of a verified
 * program, each `lddw rX, func` becomes an lddw of the function's slot;
 * those slots, sorted and once each, in *out (allocated; NULL when none).
 * 0 or BPFVM_ENOMEM. */
int bpfvm__install_callbacks(const bpfvm_vm *vm, bpfvm_insn *code, size_t count,
                             uint32_t **out, size_t *n);
/* Index of callback slot `pc` in vm->callbacks, or -1. */
int64_t bpfvm__callback_index(const bpfvm_vm *vm, uint64_t pc);
/* Run the callback `fn` (a value `lddw rX, func` gave the program) with
 * r1..r5 = args in a new frame of the running engine, as a local call from
 * the helper call being made: its r0 in *r0. Returns 0, or the error that
 * ends the run (ctx->err filled, ctx->failed set to it: the helper returns
 * at once and the engine stops the run with it). */
int bpfvm__call_function(bpfvm_ctx *ctx, uint64_t fn, const uint64_t args[5], uint64_t *r0);
/* Engines: the budget is spent (before a callback): the EBUDGET error
 * naming the helper call. */
int bpfvm__callback_budget_fault(bpfvm_ctx *ctx);

/* JIT (jit.c): free code. */
void bpfvm__jit_free(bpfvm_vm *vm);
/* After the code, the stack size or the budget changed: vm->jit_ready is
 * the code's entry if it was compiled for this stack size and, when a
 * budget is set, with one; else NULL (a run then says why). */
void bpfvm__jit_refresh(bpfvm_vm *vm);

#endif /* BPFVM_INTERNAL_H */
