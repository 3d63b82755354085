/* bpfvm.h - embed eBPF in a C program.
 *
 * A bpfvm_vm holds one loaded program and its configuration (run mode, stack
 * size, call depth, budget, helpers, memory regions, verifier). Load bytecode,
 * assembly text or an ELF object into it, then run it with the interpreter or,
 * after bpfvm_compile(), the JIT (x86-64 or arm64). Both engines give the
 * same results and the same faults for every program.
 *
 * Conventions:
 *  - Every fallible call returns an int: 0 on success, a negative BPFVM_E*
 *    code on failure. bpfvm_strerror()/bpfvm_errname() describe a code;
 *    bpfvm_last_error() gives the detail (message, instruction index, ...).
 *  - The library never prints (except bpf_trace_printk to the stream the user
 *    set) and never aborts.
 *  - Memory passed in is borrowed for the duration of the call unless stated.
 *  - A loaded VM may run on several threads at once (bpfvm_run/bpfvm_run_jit
 *    with a non-NULL `err` keep all their state per call). Configuration and
 *    loading calls must not run concurrently with anything else on that VM.
 */
#ifndef BPFVM_API_H
#define BPFVM_API_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bpfvm/insn.h"
#include "bpfvm/maps.h" /* maps, objects with maps, the kernel's helpers */

#ifdef __cplusplus
extern "C" {
#endif

#define BPFVM_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------ */

/* X(NAME, value, message): the one list of error codes. */
#define BPFVM_ERRORS(X)                                                          \
    X(OK,          0, "success")                                                 \
    X(EINVAL,     -1, "invalid argument")                                        \
    X(ENOMEM,     -2, "out of memory")                                           \
    X(ENOPROG,    -3, "no program loaded")                                       \
    X(EVERIFY,    -4, "program rejected by the verifier")                        \
    X(EMEMORY,    -5, "memory access out of bounds")                             \
    X(EBUDGET,    -6, "instruction budget exhausted")                            \
    X(ECALLDEPTH, -7, "call depth limit exceeded")                               \
    X(EHELPER,    -8, "call to an unregistered helper")                          \
    X(EHELPERFAIL,-9, "helper reported an error")                                \
    X(EASM,      -10, "assembly error")                                          \
    X(EELF,      -11, "invalid or unsupported ELF object")                       \
    X(ENOTFOUND, -12, "not found")                                               \
    X(ENOJIT,    -13, "program not compiled")                                    \
    X(EJIT,      -14, "JIT compilation failed")                                  \
    X(EUNSUPPORTED, -15, "not supported")                                        \
    X(ESTOPPED,  -16, "run stopped by its trace hook")

enum bpfvm_errcode {
#define BPFVM__ERR_ENUM(name, value, msg) BPFVM_##name = value,
    BPFVM_ERRORS(BPFVM__ERR_ENUM)
#undef BPFVM__ERR_ENUM
};

/* Human-readable message / symbolic name ("EMEMORY") for a code; never NULL. */
const char *bpfvm_strerror(int code);
const char *bpfvm_errname(int code);

/* Detail of a failure. Fields that do not apply are -1 (insn, line, column,
 * offset) or 0 (addr, size). */
typedef struct bpfvm_error {
    int code;            /* BPFVM_E* */
    int64_t insn;        /* instruction index (slot) the error is about */
    uint64_t addr;       /* faulting address (EMEMORY) */
    uint64_t size;       /* access size in bytes (EMEMORY) */
    int32_t line;        /* assembly: 1-based line */
    int32_t column;      /* assembly: 1-based column */
    int64_t offset;      /* ELF: file offset */
    char message[320];   /* full sentence, NUL-terminated */
    char source[96];     /* "file.c:31": the source line of `insn` when the
                            program's line info knows it (ELF objects built
                            with -g), else "" */
} bpfvm_error;

/* ---- VM lifetime ------------------------------------------------------- */

typedef struct bpfvm_vm bpfvm_vm;

/* Optional allocator. realloc_fn(user, NULL, n) must behave as malloc. */
typedef struct bpfvm_allocator {
    void *(*realloc_fn)(void *user, void *ptr, size_t size);
    void (*free_fn)(void *user, void *ptr);
    void *user;
} bpfvm_allocator;

/* Create a VM with default settings (mode raw, 512-byte stack frames, call
 * depth 8, no budget, checked memory). Returns NULL when out of memory. */
bpfvm_vm *bpfvm_create(void);
/* As bpfvm_create, allocating everything through `alloc` (copied; NULL = libc). */
bpfvm_vm *bpfvm_create_ex(const bpfvm_allocator *alloc);
/* Frees the VM, its program copy, JIT code and ELF data. NULL is ignored. */
void bpfvm_destroy(bpfvm_vm *vm);

/* Detail of the last failed call on this VM (never NULL). */
const bpfvm_error *bpfvm_last_error(const bpfvm_vm *vm);

/* ---- configuration ----------------------------------------------------- */

/* How r1/r2 are set up and what memory the program may touch:
 *   RAW          r1 = mem, r2 = mem_len (rbpf EbpfVmRaw).
 *   MBUFF        r1 = mbuff; mbuff and mem are accessible (rbpf EbpfVmMbuff).
 *   FIXED_MBUFF  the VM owns a metadata buffer; before each run the addresses
 *                of mem and mem+mem_len are written (8 bytes each) at the
 *                configured offsets; r1 = that buffer (rbpf EbpfVmFixedMbuff).
 *   NONE         r1 = 0, no input memory (rbpf EbpfVmNoData). */
typedef enum bpfvm_mode {
    BPFVM_MODE_RAW = 0,
    BPFVM_MODE_MBUFF = 1,
    BPFVM_MODE_FIXED_MBUFF = 2,
    BPFVM_MODE_NONE = 3
} bpfvm_mode;

int bpfvm_set_mode(bpfvm_vm *vm, bpfvm_mode mode);
/* Fixed-mbuff layout: buffer of `size` bytes, data pointer at `data_off`,
 * data_end pointer at `data_end_off` (each 8 bytes, inside the buffer, not
 * overlapping). Also selects BPFVM_MODE_FIXED_MBUFF. */
int bpfvm_set_fixed_mbuff(bpfvm_vm *vm, size_t size, size_t data_off, size_t data_end_off);
/* Bytes of stack per call frame (multiple of 8, 8..1 MiB; default 512). */
int bpfvm_set_stack_size(bpfvm_vm *vm, size_t bytes);
/* Nested local calls allowed (0..64; default 8). Takes effect at the next
 * run; code compiled under a limit its calls cannot reach checks no depth,
 * so bpfvm_run_jit under a lower limit set afterwards runs the interpreter
 * (compile again for JIT speed). */
int bpfvm_set_call_depth(bpfvm_vm *vm, unsigned depth);
/* Instruction budget: a run that executes more than `n` instructions stops
 * with BPFVM_EBUDGET. The count is exact; it is compared against the budget
 * at every backward jump and every call, and the error names that
 * instruction. 0 = unlimited (default). */
int bpfvm_set_budget(bpfvm_vm *vm, uint64_t n);
/* Checked memory (default 1). 0 = unchecked: loads and stores go where the
 * program says, for trusted programs only. The budget and call depth are
 * still enforced. Takes effect for bpfvm_run immediately and for the JIT at
 * the next bpfvm_compile. */
int bpfvm_set_checked(bpfvm_vm *vm, int checked);

/* ---- memory regions ---------------------------------------------------- */

#define BPFVM_READ  1u
#define BPFVM_WRITE 2u

/* Allow the program to access [addr, addr+len) (rbpf register_allowed_memory).
 * The memory is borrowed: it must stay valid while the VM runs. Regions may
 * overlap. Programs see host addresses. */
int bpfvm_add_region(bpfvm_vm *vm, void *addr, size_t len, unsigned flags);
void bpfvm_clear_regions(bpfvm_vm *vm);

/* ---- helpers ----------------------------------------------------------- */

/* Per-run context handed to helpers. */
typedef struct bpfvm_ctx bpfvm_ctx;

/* A helper receives r1..r5 and returns the new r0. */
typedef uint64_t (*bpfvm_helper_fn)(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3,
                                    uint64_t r4, uint64_t r5);

/* Register `fn` as helper `id` (and `name`, used to resolve extern helper
 * functions in ELF objects; may be NULL; copied). Re-registering an id
 * replaces it. Helpers may be registered before or after loading and
 * compiling: calls are resolved when they execute. (Except array lookups
 * the JIT inlined, see docs/jit.md: replacing helper 1 with another
 * function drops that code; compile again.) */
int bpfvm_register_helper(bpfvm_vm *vm, uint32_t id, const char *name, bpfvm_helper_fn fn,
                          void *user);
/* Ready-made helpers (see helpers.c for exact semantics): */
#define BPFVM_HELPER_KTIME_GET_NS   5u    /* () -> monotonic ns */
#define BPFVM_HELPER_TRACE_PRINTK   6u    /* (fmt, fmt_len, a, b, c) -> bytes written */
#define BPFVM_HELPER_GATHER_BYTES   1000u /* (a..e) -> a<<32|b<<24|c<<16|d<<8|e (low bytes) */
#define BPFVM_HELPER_MEMFROB        1001u /* (ptr, len) -> 0, XORs each byte with 42 */
#define BPFVM_HELPER_SQRTI          1002u /* (x) -> floor(sqrt(x)) */
#define BPFVM_HELPER_STRCMP         1003u /* (a, b) -> <0, 0, >0 like strcmp */
#define BPFVM_HELPER_RAND           1004u /* (min, max) -> pseudo-random in [min, max] */
/* Registers all of the above. */
int bpfvm_register_std_helpers(bpfvm_vm *vm);
/* Where bpf_trace_printk writes (NULL, the default, discards). */
void bpfvm_set_trace_stream(bpfvm_vm *vm, FILE *stream);

/* Inside a helper: the `user` pointer the helper was registered with. */
void *bpfvm_helper_user(const bpfvm_ctx *ctx);
/* Inside a helper: the host pointer for [addr, addr+len) if the program may
 * access it (write != 0: for writing), else NULL. len 0 is allowed. */
void *bpfvm_ctx_access(const bpfvm_ctx *ctx, uint64_t addr, uint64_t len, int write);
/* Inside a helper: stop the run after the helper returns, with
 * BPFVM_EHELPERFAIL and `message` (copied). */
void bpfvm_ctx_fail(bpfvm_ctx *ctx, const char *message);

/* ---- verifier ---------------------------------------------------------- */

/* A user verifier: return 0 to accept, non-zero to reject (then fill
 * err->message and err->insn; code is set to BPFVM_EVERIFY). */
typedef int (*bpfvm_verifier_fn)(void *user, const bpfvm_insn *insns, size_t count,
                                 bpfvm_error *err);
typedef enum bpfvm_verify_mode {
    BPFVM_VERIFY_AFTER = 0,   /* built-in verifier, then `fn` */
    BPFVM_VERIFY_REPLACE = 1  /* only `fn` (NULL: none), plus the control-flow checks
                                 every program gets: jump and call targets inside
                                 the program, not into lddw, no falling off its end */
} bpfvm_verify_mode;
/* Takes effect for the next load. */
int bpfvm_set_verifier(bpfvm_vm *vm, bpfvm_verifier_fn fn, void *user, bpfvm_verify_mode mode);

/* Run the built-in verifier alone on a program (no VM state changes). Each
 * problem found is passed to `report` (may be NULL), in instruction order;
 * returns 0 if none, else BPFVM_EVERIFY with the first problem in *first
 * (may be NULL), or BPFVM_ENOMEM. `vm` may be NULL.
 *
 * The built-in verifier (also run by every load) checks each instruction's
 * encoding, then, over the control-flow graph, rejects:
 *  - unreachable instructions (over every edge, whatever the values);
 *  - jumps from one function into another and execution running into the
 *    next function (functions: instruction 0, the entry function, and every
 *    local-call target, each up to the next one), local calls to an
 *    instruction that the one before it runs into;
 *  - uses of a register that is not written on every path to them: at entry
 *    only r1, r2 (raw mode's input length) and r10 are set; at a called
 *    function's entry r10 and those of r1-r5 that every call passes; every
 *    call (helper or local) leaves r1-r5 unset; a helper call sets r0, a
 *    local call too unless the function may exit without writing r0 (a
 *    function returning void: r0 is then unset in the caller until written);
 *    exit reads r0 in the entry function only. Copying an unset register
 *    (mov) is no use: the copy is unset too. A conditional jump that the
 *    constants a block sets decide (a flag tested where paths meet) passes
 *    the state to the side it takes only, and code only such jumps rule out
 *    is not checked for registers, the frame or helpers;
 *  - loads, stores and atomics at r10 + constant outside the frame
 *    [r10 - stack size, r10), with the VM's stack size (512 with no VM);
 *  - calls of helper ids that are not registered, only when the VM has at
 *    least one helper registered: with none, helpers may still be registered
 *    after loading, and an unknown id fails when the call runs (EHELPER).
 * docs/verifier.md compares each check with the kernel's verifier.
 * Accesses through other registers and callx ids are checked at run time. */
typedef void (*bpfvm_report_fn)(void *user, const bpfvm_error *problem);
int bpfvm_verify(const bpfvm_vm *vm, const bpfvm_insn *insns, size_t count, bpfvm_report_fn report,
                 void *user, bpfvm_error *first);

/* ---- loading ----------------------------------------------------------- */

#define BPFVM_MAX_INSNS 1000000u

/* Load raw bytecode (`len` bytes, a multiple of 8). The VM keeps its own
 * copy. Replaces any previous program (and drops its JIT code). The program
 * is verified (see bpfvm_verify) with the VM's stack size and helpers as
 * they are now: set the stack size and register helpers first. */
int bpfvm_load(bpfvm_vm *vm, const void *code, size_t len);
/* Assemble `text` (either syntax; see bpfvm_asm) and load it. */
int bpfvm_load_asm(bpfvm_vm *vm, const char *text, const char *filename);
/* Load a program from an ELF object (clang -target bpf). `section` and
 * `entry` (function name) choose the program; both may be NULL. The VM
 * copies what it needs, including global data sections. With neither, the
 * only program section (a code section other than .text) is taken, else the
 * first function of .text; a section holding several functions takes its
 * only global one. Callees are linked behind the program. Extern helper
 * functions are resolved by name, so register helpers first. Errors:
 * BPFVM_EELF (malformed object; bpfvm_error.offset is the file offset),
 * BPFVM_ENOTFOUND (no such section/function), BPFVM_EINVAL (choice
 * ambiguous), BPFVM_EHELPER (unknown extern helper), BPFVM_EUNSUPPORTED
 * (maps, extern variables, function pointers), BPFVM_EVERIFY. */
int bpfvm_load_elf(bpfvm_vm *vm, const void *data, size_t len, const char *section,
                   const char *entry);
/* List the programs of an ELF object: `fn` is called for each function of
 * each code section (`function` is "" for a code section without function
 * symbols), with its instruction count. `err` may be NULL. */
typedef void (*bpfvm_elf_prog_fn)(void *user, const char *section, const char *function,
                                  size_t insn_count);
int bpfvm_elf_list(const void *data, size_t len, bpfvm_elf_prog_fn fn, void *user,
                   bpfvm_error *err);
/* As bpfvm_elf_list, for the programs only: the global functions, the only
 * function of a code section other than .text, and each code section without
 * function symbols. Static functions beside others (.text's helpers, a
 * section's static callees) are subprograms, not listed: loading a program
 * links the ones it calls. */
int bpfvm_elf_programs(const void *data, size_t len, bpfvm_elf_prog_fn fn, void *user,
                       bpfvm_error *err);

/* The loaded program as loaded (after ELF linking); NULL/0 if none. */
const bpfvm_insn *bpfvm_program(const bpfvm_vm *vm, size_t *count);

/* ---- program types and context layouts -------------------------------- */

/* Kernel-style programs take a context pointer in r1 (`struct xdp_md *`,
 * `struct __sk_buff *`) whose fields are not where the program's loads say:
 * `ctx->data` is a 32-bit field in the program's view and a 64-bit pointer
 * in memory. A context layout describes that view; at load every load and
 * store through the context pointer (r1 at entry, followed through register
 * moves, stack spills of 8 bytes at r10 + constant and local-call
 * arguments) is rewritten, one instruction for one, into an ordinary access
 * to the run buffer: the engines run plain loads and stores, checked as
 * usual. An access that matches no field, is not aligned to its size, or
 * that the field's flags do not allow, goes through a context pointer that
 * was modified (ctx + 8) or is not one on every path, or is an atomic or an
 * immediate store, is a load error (BPFVM_EVERIFY) naming the instruction
 * and the field. A context pointer copied by other means (through memory
 * other than the stack slots above) is not followed: its accesses stay
 * ordinary ones into the run buffer, still checked. */
#define BPFVM_CTX_READ       1u /* loads of the whole field */
#define BPFVM_CTX_WRITE      2u /* stores of the whole field */
#define BPFVM_CTX_READ_PART  4u /* loads of an aligned part (1, 2, 4 or 8 bytes) */
#define BPFVM_CTX_WRITE_PART 8u /* stores of an aligned part */

/* One field: bytes [off, off+size) of the program's view live at
 * [run_off, run_off+run_size) of the run buffer (run_size 1, 2, 4 or 8, or
 * equal to size). A whole-field load reads run_size bytes (zero-extended: a
 * 4-byte view of an 8-byte pointer loads the pointer); a whole-field store
 * writes the low run_size bytes (run_size <= size). Parts of a field whose
 * run_size equals its size are the same parts of the run field; parts of a
 * narrower run field read as the kernel reads them: a part at least as wide
 * as the run field reads the whole run field, a part inside it reads those
 * bytes, a part beyond it reads 0 (parts of narrower fields are never
 * written). */
typedef struct bpfvm_ctx_field {
    const char *name;            /* "data": for messages */
    uint32_t off, size;          /* in the program's view */
    uint32_t run_off, run_size;  /* in the run buffer, below 32768 */
    unsigned flags;              /* BPFVM_CTX_*; 0: the field exists but may not be used */
} bpfvm_ctx_field;

typedef struct bpfvm_ctx_layout {
    const char *name;            /* "xdp_md": for messages */
    uint32_t size;               /* size of the program's view */
    const bpfvm_ctx_field *fields;
    size_t nfields;
} bpfvm_ctx_layout;

/* Use `layout` for the programs loaded from now on (NULL: none). The field
 * array is copied; the name strings must stay valid while programs load.
 * Selects BPFVM_MODE_MBUFF: the run buffer is bpfvm_run's `mbuff`, the
 * memory its pointers point into is `mem` (or a region). Fields must not
 * overlap, in either view. Replaces a built-in program type (see below). */
int bpfvm_set_ctx_layout(bpfvm_vm *vm, const bpfvm_ctx_layout *layout);

/* Built-in program types: the kernel's context layouts and their access
 * rules per type (net/core/filter.c), the packet helpers of the type, and
 * bpfvm_test_run's buffers (see docs/progtypes.md for every field). */
typedef enum bpfvm_prog_type {
    BPFVM_PROG_NONE = 0,       /* no context: bpfvm_set_mode decides (default) */
    BPFVM_PROG_AUTO,           /* bpfvm_load_elf chooses from the section name as
                                  libbpf does; other loads and unknown names: NONE */
    BPFVM_PROG_XDP,            /* struct xdp_md; helpers 28, 44, 54, 65 */
    BPFVM_PROG_SCHED_CLS,      /* tc: struct __sk_buff from the Ethernet header;
                                  helpers 9, 10, 11, 26, 28 */
    BPFVM_PROG_SOCKET_FILTER,  /* socket: struct __sk_buff from the network header;
                                  helper 26 */
    BPFVM_PROG_CGROUP_SKB,     /* cgroup_skb/ingress|egress: as socket, with
                                  data/data_end */
    BPFVM_PROG_RAW_CTX         /* raw_tp, tracepoint, kprobe, syscall, ...: r1 = the
                                  context buffer, r2 = its size (RAW mode) */
} bpfvm_prog_type;

/* Select a program type (for the next load). Registers the type's helpers
 * (replacing helpers of those ids). */
int bpfvm_set_prog_type(bpfvm_vm *vm, bpfvm_prog_type type);
/* The type of the loaded program (AUTO resolved); NONE without one. */
bpfvm_prog_type bpfvm_get_prog_type(const bpfvm_vm *vm);
/* The type libbpf gives section `section` ("xdp", "tc", "classifier",
 * "socket", "cgroup_skb/ingress", "raw_tp/x", ...); BPFVM_PROG_NONE if none. */
bpfvm_prog_type bpfvm_prog_type_from_section(const char *section);
/* Type by name ("xdp", "tc", "socket", "cgroup_skb", "raw", "none");
 * BPFVM_ENOTFOUND for others. bpfvm_prog_type_name is its inverse. */
int bpfvm_prog_type_by_name(const char *name, bpfvm_prog_type *type);
const char *bpfvm_prog_type_name(bpfvm_prog_type type);
/* The built-in layout of a type (NULL for NONE, AUTO and RAW_CTX). */
const bpfvm_ctx_layout *bpfvm_prog_type_layout(bpfvm_prog_type type);

/* bpfvm_test_run: one call runs the loaded program as the kernel's
 * BPF_PROG_TEST_RUN does, on a copy of data_in and ctx_in:
 *  - XDP: the packet lies behind 256 bytes of headroom in a 4096-byte frame
 *    (tailroom as the kernel's); ctx_in (struct xdp_md) may give metadata
 *    (data = its length, data_end = data_size_in, ingress_ifindex 0 or 1,
 *    rx_queue_index 0); data_out is [data_meta, data_end) after the run.
 *    Past 3520 bytes the packet continues in page-sized fragments the
 *    program does not see (appended to data_out), as in the kernel.
 *  - socket-buffer types: the __sk_buff of the kernel's test run on the
 *    loopback device (protocol and pkt_type from the Ethernet header);
 *    ctx_in may set mark, priority, ingress_ifindex, ifindex (0 or 1), cb,
 *    tstamp, wire_len, gso_segs, gso_size, hwtstamp (other bytes must be
 *    0); ctx_out is ctx_in with those fields as the program left them.
 *  - RAW_CTX: r1 = a copy of ctx_in; ctx_out = that copy after the run; no
 *    data_in.
 *  - NONE: r1 = a copy of data_in (RAW mode) and data_out that copy, or the
 *    VM's mode with data_in as the input memory.
 * `repeat` runs (0 = 1) go over the same buffers, as the kernel's do;
 * duration_ns is the average wall time of one. retval is r0's low 32 bits.
 * Outputs larger than data_size_out/ctx_size_out are cut (the *_size_out
 * fields then say the full size) and the call returns BPFVM_EINVAL after
 * filling what fits. Bad inputs (packet shorter than an Ethernet header,
 * malformed ctx_in) are BPFVM_EINVAL with the reason. Errors go to
 * bpfvm_last_error, as bpfvm_run's with a NULL `err`: one test run at a
 * time per VM. */
typedef struct bpfvm_test_run_opts {
    const void *data_in;
    size_t data_size_in;
    void *data_out;              /* may be NULL */
    size_t data_size_out;        /* in: capacity; out: size of the output */
    const void *ctx_in;          /* may be NULL */
    size_t ctx_size_in;
    void *ctx_out;               /* may be NULL */
    size_t ctx_size_out;         /* in: capacity; out: size of the output */
    uint32_t repeat;
    int jit;                     /* run the compiled code (bpfvm_compile first) */
    uint32_t retval;             /* out */
    uint64_t duration_ns;        /* out */
} bpfvm_test_run_opts;
int bpfvm_test_run(bpfvm_vm *vm, bpfvm_test_run_opts *opts);

/* ---- running ----------------------------------------------------------- */

/* Run the loaded program with the interpreter. `mem` is the input memory
 * (RAW, MBUFF, FIXED_MBUFF), `mbuff` the metadata buffer (MBUFF only); unused
 * ones may be NULL/0. On success *r0 is the return value. On failure the
 * detail goes to *err if given (the VM is then not touched: safe for
 * concurrent runs), else to the VM's last error. */
int bpfvm_run(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
              uint64_t *r0, bpfvm_error *err);

/* ---- JIT (x86-64, arm64) ----------------------------------------------- */

#define BPFVM_JIT_BLIND 1u /* constant blinding */
/* Compile the loaded program to machine code (replacing earlier code, which
 * is gone even when compiling fails). BPFVM_EUNSUPPORTED on hosts that are
 * neither x86-64 nor arm64 (the interpreter runs everywhere). */
int bpfvm_compile(bpfvm_vm *vm, unsigned flags);
/* As bpfvm_run, with the compiled code. BPFVM_ENOJIT if not compiled. */
int bpfvm_run_jit(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                  uint64_t *r0, bpfvm_error *err);
/* The machine code (for inspection); NULL if not compiled. */
const void *bpfvm_jit_code(const bpfvm_vm *vm, size_t *size);

/* ---- source lines, tracing, debugging ---------------------------------- */

/* Where an instruction comes from. Source lines come from the line info
 * clang -g records in an ELF object (.BTF.ext, with the file names and line
 * text in .BTF); function names from its symbols. Corrupt line info is
 * dropped (see bpfvm_source_stats), never trusted. Strings stay valid until
 * the next load or bpfvm_destroy. Unknown parts are NULL / 0. */
typedef struct bpfvm_source {
    const char *file;      /* as recorded by the compiler (may hold directories) */
    const char *text;      /* the line's text, without newline */
    uint32_t line, column; /* 1-based */
    const char *function;  /* the function holding the instruction */
    size_t function_start; /* slot where that function begins */
} bpfvm_source;
/* Source of slot `insn` of the loaded program: 0, or BPFVM_ENOTFOUND when
 * neither a line nor a function is known. */
int bpfvm_source_at(const bpfvm_vm *vm, size_t insn, bpfvm_source *out);
/* How many slots of the loaded program have a source line; *ignored (may
 * be NULL) gets the number of line records dropped as corrupt and *problem
 * (may be NULL) the first reason (static text) or NULL. */
size_t bpfvm_source_stats(const bpfvm_vm *vm, size_t *ignored, const char **problem);

/* What a trace hook sees before each instruction of a traced run. */
typedef struct bpfvm_trace_state {
    size_t insn;          /* slot of the instruction about to run;
                             BPFVM_TRACE_END once after the run has ended */
    uint64_t *regs;       /* r0..r10: writable, the instruction sees changes */
    unsigned depth;       /* local calls active (0: in the entry function) */
    const size_t *calls;  /* calls[0..depth-1]: slot of each active local call,
                             outermost first */
    uint64_t executed;    /* instructions executed before this one */
    /* the memory the instruction accesses (loads, stores, atomics), as its
     * registers say now; size 0 for other instructions */
    uint64_t addr;
    uint32_t size;
    int write;            /* stores and atomics */
    bpfvm_ctx *ctx;       /* for bpfvm_ctx_access: memory as the program sees it */
} bpfvm_trace_state;
#define BPFVM_TRACE_END ((size_t)-1)
/* Return 0 to go on; anything else stops the run with BPFVM_ESTOPPED (the
 * value returned at BPFVM_TRACE_END is ignored). */
typedef int (*bpfvm_trace_fn)(void *user, const bpfvm_trace_state *state);
/* As bpfvm_run, calling `fn` before each instruction. The run uses the
 * interpreter without fused instructions (one stop per instruction) and
 * gives the same result and faults as bpfvm_run and bpfvm_run_jit; runs that
 * are not traced are not slowed by it. */
int bpfvm_run_traced(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                     bpfvm_trace_fn fn, void *user, uint64_t *r0, bpfvm_error *err);
/* A counting run, for profilers: counts[i] (one per slot of the program, as
 * the caller set them) grows by one each time instruction i runs; `fn` (may
 * be NULL) is called only where the local call depth changes (the first
 * instruction of a called function, the one after a return) and at
 * BPFVM_TRACE_END. Much cheaper than a hook on every instruction. */
int bpfvm_run_counted(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                      uint64_t *counts, bpfvm_trace_fn fn, void *user, uint64_t *r0,
                      bpfvm_error *err);
/* bpfvm_test_run with its runs traced (counts NULL: bpfvm_run_traced) or
 * counted (bpfvm_run_counted, the counts adding up over opts->repeat runs);
 * opts->jit is ignored. Not concurrently with other calls on the VM. */
int bpfvm_test_run_traced(bpfvm_vm *vm, bpfvm_test_run_opts *opts, bpfvm_trace_fn fn, void *user,
                          uint64_t *counts);

/* A debugger over traced runs: breakpoints, watches on stores, stepping by
 * instruction or source line, registers, memory and call frames of the
 * stopped run. The run calls the stop function each time it stops; it may
 * inspect and change the run through the calls below, then says how to go
 * on. Not for concurrent use; `vm` must outlive the debugger. */
typedef struct bpfvm_debugger bpfvm_debugger;
typedef enum bpfvm_stop {
    BPFVM_STOP_NONE = 0,
    BPFVM_STOP_STEP,      /* the step asked for is done */
    BPFVM_STOP_BREAK,     /* at a breakpoint */
    BPFVM_STOP_WATCH      /* the instruction before stored into a watched range */
} bpfvm_stop;
typedef enum bpfvm_resume {
    BPFVM_RESUME_CONTINUE = 0, /* to the next breakpoint or watch */
    BPFVM_RESUME_STEPI,   /* one instruction (into local calls) */
    BPFVM_RESUME_NEXTI,   /* one instruction, over local calls */
    BPFVM_RESUME_STEP,    /* to the next source line (into calls); by instruction without lines */
    BPFVM_RESUME_NEXT,    /* to the next source line, over local calls */
    BPFVM_RESUME_FINISH,  /* until the current function returns */
    BPFVM_RESUME_KILL     /* end the run (BPFVM_ESTOPPED) */
} bpfvm_resume;
typedef struct bpfvm_stop_info {
    bpfvm_stop why;
    size_t insn;          /* the slot the run stopped before */
    unsigned depth;       /* local calls active */
    uint64_t executed;    /* instructions executed so far */
    size_t store_insn;    /* BPFVM_STOP_WATCH: the store, its address and size */
    uint64_t store_addr;
    uint32_t store_size;
} bpfvm_stop_info;
typedef bpfvm_resume (*bpfvm_stop_fn)(void *user, bpfvm_debugger *dbg,
                                      const bpfvm_stop_info *where);
/* NULL when out of memory or vm is NULL. */
bpfvm_debugger *bpfvm_debugger_create(bpfvm_vm *vm);
void bpfvm_debugger_destroy(bpfvm_debugger *dbg);
/* Breakpoint before slot `insn` (BPFVM_EINVAL if no instruction starts
 * there); delete one (BPFVM_ENOTFOUND); list them (*insns valid until the
 * next change). */
int bpfvm_debug_break(bpfvm_debugger *dbg, size_t insn);
int bpfvm_debug_delete(bpfvm_debugger *dbg, size_t insn);
size_t bpfvm_debug_breakpoints(const bpfvm_debugger *dbg, const size_t **insns);
/* Stop after any store, atomic included, that overlaps [addr, addr+len). */
int bpfvm_debug_watch(bpfvm_debugger *dbg, uint64_t addr, uint64_t len);
/* Run the loaded program (as bpfvm_run_traced) under the debugger: `first`
 * is how it starts (CONTINUE: to the first breakpoint; STEPI: stop before
 * the first instruction). */
int bpfvm_debug_run(bpfvm_debugger *dbg, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                    bpfvm_resume first, bpfvm_stop_fn fn, void *user, uint64_t *r0,
                    bpfvm_error *err);
/* Only inside the stop function (else BPFVM_EINVAL): registers r0..r10
 * (r10 read-only), and memory through the checks the program's own accesses
 * get (BPFVM_EMEMORY where it may not read or write). */
int bpfvm_debug_get_reg(const bpfvm_debugger *dbg, unsigned reg, uint64_t *value);
int bpfvm_debug_set_reg(bpfvm_debugger *dbg, unsigned reg, uint64_t value);
int bpfvm_debug_read(const bpfvm_debugger *dbg, uint64_t addr, void *buf, size_t len);
int bpfvm_debug_write(bpfvm_debugger *dbg, uint64_t addr, const void *buf, size_t len);
/* The local call frames, innermost first: up to `max` into out; returns how
 * many there are (0 when not stopped). */
typedef struct bpfvm_frame {
    size_t pc;            /* innermost: where the run stopped; others: their call */
    size_t function;      /* the slot the frame's function begins at */
    uint64_t fp;          /* its r10 (its stack is the stack size below) */
} bpfvm_frame;
size_t bpfvm_debug_frames(const bpfvm_debugger *dbg, bpfvm_frame *out, size_t max);

/* ---- assembler / disassembler ------------------------------------------ */

/* Assemble text in the classic (ldxw r0, [r1+4]) or LLVM (r0 = *(u32 *)(r1 + 4))
 * syntax; both may be mixed line by line. On success *out is a malloc'd array
 * of *count slots (caller frees with free()). On failure err (optional)
 * holds "file:line:column: message" detail. `filename` is for messages only. */
int bpfvm_asm(const char *text, const char *filename, bpfvm_insn **out, size_t *count,
              bpfvm_error *err);

#define BPFVM_DISASM_LLVM   1u /* LLVM/kernel syntax instead of classic */
#define BPFVM_DISASM_LABELS 2u /* jump targets as generated labels */
#define BPFVM_DISASM_JSON   4u /* one JSON object per instruction, as an array */
#define BPFVM_DISASM_INDEX  8u /* prefix each line with its slot index */
/* Disassemble `count` slots into a malloc'd NUL-terminated text (*out, free()).
 * Malformed slots are shown as data (`.8byte 0x...`) with a comment, never
 * rejected. */
int bpfvm_disasm(const bpfvm_insn *insns, size_t count, unsigned flags, char **out);
/* One instruction at `index` into buf (always NUL-terminated when size > 0).
 * Returns the number of slots it used (1 or 2). */
int bpfvm_disasm_insn(const bpfvm_insn *insns, size_t count, size_t index, unsigned flags,
                      char *buf, size_t size);
/* Control-flow graph as Graphviz DOT, malloc'd into *out (free()). */
int bpfvm_cfg_dot(const bpfvm_insn *insns, size_t count, char **out);

#ifdef __cplusplus
}
#endif
#endif /* BPFVM_API_H */
