/* test_escape.c - programs trying to get out of the VM.
 *
 * Loads, stores and atomics of every size aimed at: the VM's own structures
 * (the bpfvm_vm handle, its program copy, its pre-decoded code, its helper
 * table), the JIT code buffer, a host global and a host function, the host
 * stack just past the frame and just below it, from a local call the stack
 * above its frame and below its caller's, address 0, wrap-around addresses,
 * huge offsets on valid pointers, just past or straddling registered regions after using them,
 * writes to a read-only region; and helpers handed pointers to the same places. Each one must
 * stop the run with EMEMORY (helpers: EHELPERFAIL) at the right instruction,
 * naming the right address and size, in the interpreter and in the JIT with
 * and without constant blinding, and leave the target memory unchanged.
 *
 * Also: every access form at its caller's frame, from a callee, runs to the
 * end (the kernel allows it). Constant blinding keeps the program's immediates out of the
 * compiled code (present without blinding, absent with it), with the same
 * results. (W^X of the code mapping is checked in test_jit.c.) */
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "internal.h" /* the VM's own structures, as targets */
#include "test.h"

#define R(n) BPFVM_R##n
#define MEM_LEN 64
#define STACK 512

/* ---- the engines -------------------------------------------------------- */

enum { INTERP, JIT, JIT_BLIND, NENGINES };
static const char *const engine_name[NENGINES] = { "interpreter", "JIT", "JIT blinded" };

typedef struct {
    int rc;
    int64_t insn;
    uint64_t addr, size, r0;
    char message[320];
} outcome;

static int prepare(bpfvm_vm *vm, const bpfvm_insn *p, size_t n, int engine)
{
    int rc = bpfvm_load(vm, p, n * sizeof(*p));
    if (rc == 0 && engine != INTERP)
        rc = bpfvm_compile(vm, engine == JIT_BLIND ? BPFVM_JIT_BLIND : 0);
    return rc;
}

static outcome run(bpfvm_vm *vm, int engine, void *mem)
{
    bpfvm_error err;
    outcome o;
    memset(&err, 0, sizeof(err));
    memset(&o, 0, sizeof(o));
    o.rc = (engine == INTERP ? bpfvm_run : bpfvm_run_jit)(vm, mem, MEM_LEN, NULL, 0, &o.r0, &err);
    o.insn = err.insn;
    o.addr = err.addr;
    o.size = err.size;
    memcpy(o.message, err.message, sizeof(o.message));
    return o;
}

/* ---- memory accesses ------------------------------------------------------ */

typedef struct {
    const char *name;
    bpfvm_insn insn; /* base register r2, value r3 (r0 for cmpxchg), offset filled in */
    unsigned size;
} access_op;

#define ATOMIC(sz, aop) BPFVM_ATOMIC_OP(sz, aop, R(2), R(3), 0)
static const access_op ops[] = {
    { "ldxb", BPFVM_LDX_MEM(BPFVM_B, R(0), R(2), 0), 1 },
    { "ldxh", BPFVM_LDX_MEM(BPFVM_H, R(0), R(2), 0), 2 },
    { "ldxw", BPFVM_LDX_MEM(BPFVM_W, R(0), R(2), 0), 4 },
    { "ldxdw", BPFVM_LDX_MEM(BPFVM_DW, R(0), R(2), 0), 8 },
    { "ldxsw", BPFVM_LDX_MEMSX(BPFVM_W, R(0), R(2), 0), 4 },
    { "stb", BPFVM_ST_MEM(BPFVM_B, R(2), 0, 0x41), 1 },
    { "sth", BPFVM_ST_MEM(BPFVM_H, R(2), 0, 0x41), 2 },
    { "stw", BPFVM_ST_MEM(BPFVM_W, R(2), 0, 0x41), 4 },
    { "stdw", BPFVM_ST_MEM(BPFVM_DW, R(2), 0, 0x41), 8 },
    { "stxb", BPFVM_STX_MEM(BPFVM_B, R(2), R(3), 0), 1 },
    { "stxh", BPFVM_STX_MEM(BPFVM_H, R(2), R(3), 0), 2 },
    { "stxw", BPFVM_STX_MEM(BPFVM_W, R(2), R(3), 0), 4 },
    { "stxdw", BPFVM_STX_MEM(BPFVM_DW, R(2), R(3), 0), 8 },
    { "lock add32", ATOMIC(BPFVM_W, BPFVM_ADD), 4 },
    { "lock add64", ATOMIC(BPFVM_DW, BPFVM_ADD), 8 },
    { "lock fetch or64", ATOMIC(BPFVM_DW, BPFVM_OR | BPFVM_FETCH), 8 },
    { "lock xchg32", ATOMIC(BPFVM_W, BPFVM_XCHG), 4 },
    { "lock xchg64", ATOMIC(BPFVM_DW, BPFVM_XCHG), 8 },
    { "lock cmpxchg32", ATOMIC(BPFVM_W, BPFVM_CMPXCHG), 4 },
    { "lock cmpxchg64", ATOMIC(BPFVM_DW, BPFVM_CMPXCHG), 8 },
};
#define NOPS (sizeof(ops) / sizeof(*ops))

/* Where the base register r2 comes from. */
typedef enum {
    BASE_TARGET, /* the first 8 bytes of the input memory: a host address */
    BASE_MEM,    /* r1: the input memory itself */
    BASE_R10,    /* r10 of the program's frame */
    BASE_CALLER, /* the caller's r10, used by a callee (local call) */
    BASE_CALLEE, /* r10 of a callee's frame */
    BASE_R10_DIRECT /* r10 itself as the base register, with no verifier
                     * (which would reject a constant offset out of the frame) */,
    BASE_R10_WRITTEN /* r10 overwritten with a host address (from the input
                      * memory), with no verifier (which rejects writing r10);
                      * the JIT refuses to compile it */
} base_kind;

/* Builds the program; returns the index of the access instruction. */
static size_t build(base_kind kind, const access_op *op, int16_t off, bpfvm_insn *p, size_t *n)
{
    size_t i = 0;
    switch (kind) {
    case BASE_TARGET: p[i++] = BPFVM_LDX_MEM(BPFVM_DW, R(2), R(1), 0); break;
    case BASE_MEM:    p[i++] = BPFVM_MOV64_REG(R(2), R(1)); break;
    case BASE_R10:    p[i++] = BPFVM_MOV64_REG(R(2), R(10)); break;
    case BASE_R10_DIRECT: p[i++] = BPFVM_MOV64_REG(R(2), R(1)); break; /* r2 unused */
    case BASE_R10_WRITTEN: p[i++] = BPFVM_LDX_MEM(BPFVM_DW, R(10), R(1), 0); break;
    case BASE_CALLER: /* r2 = our r10, passed to the callee unchanged */
        p[i++] = BPFVM_MOV64_REG(R(2), R(10));
        p[i++] = BPFVM_CALL_LOCAL(1);
        p[i++] = BPFVM_EXIT();
        break;
    case BASE_CALLEE:
        p[i++] = BPFVM_CALL_LOCAL(1);
        p[i++] = BPFVM_EXIT();
        p[i++] = BPFVM_MOV64_REG(R(2), R(10));
        break;
    }
    p[i++] = BPFVM_MOV64_IMM(R(3), 0x41);
    p[i++] = BPFVM_MOV64_IMM(R(0), 0);
    size_t at = i;
    p[i] = op->insn;
    p[i].off = off;
    int r10_base = kind == BASE_R10_DIRECT || kind == BASE_R10_WRITTEN;
    if (r10_base && BPFVM_CLASS(op->insn.opcode) == BPFVM_LDX)
        p[i].src = BPFVM_R10;
    else if (r10_base)
        p[i].dst = BPFVM_R10;
    i++;
    p[i++] = BPFVM_MOV64_IMM(R(0), 1);
    p[i++] = BPFVM_EXIT();
    *n = i;
    return at;
}

/* A target named by address: checked bytes [addr, addr+len) (len 0: not
 * readable, only the fault is checked). */
typedef struct {
    const char *name;
    uint64_t addr;
    size_t len;
} target;

static uint8_t secret[64] = "host data the program must not see";

static uint64_t hostile_helper(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                               uint64_t e)
{
    (void)ctx, (void)b, (void)c, (void)d, (void)e;
    return a;
}

/* Targets that depend on the VM and engine (filled in after compiling). */
static size_t vm_targets(bpfvm_vm *vm, target *t)
{
    size_t n = 0, count = 0, len = 0;
    const bpfvm_insn *prog = bpfvm_program(vm, &count);
    const void *code = bpfvm_jit_code(vm, &len);
    t[n++] = (target){ "the bpfvm_vm handle", (uintptr_t)vm, sizeof(*vm) };
    t[n++] = (target){ "the program copy", (uintptr_t)prog, count * sizeof(*prog) };
    t[n++] = (target){ "the pre-decoded code", (uintptr_t)vm->code, count * sizeof(*prog) };
    t[n++] = (target){ "the helper table", (uintptr_t)vm->helpers,
                       vm->nhelpers * sizeof(*vm->helpers) };
    if (code)
        t[n++] = (target){ "the JIT code", (uintptr_t)code, len };
    t[n++] = (target){ "a host global", (uintptr_t)secret, sizeof(secret) };
    t[n++] = (target){ "a host function", (uintptr_t)hostile_helper, 16 };
    t[n++] = (target){ "address 0", 0, 0 };
    t[n++] = (target){ "the last bytes of the address space", 0xfffffffffffffffcull, 0 };
    return n;
}

static int expect_fault(const char *what, int engine, const outcome *o, int64_t insn,
                        unsigned size, int check_addr, uint64_t addr)
{
    int ok = o->rc == BPFVM_EMEMORY && o->insn == insn && o->size == size &&
             (!check_addr || o->addr == addr);
    CHECK(ok, "%s (%s): %s insn %lld addr 0x%llx size %llu, expected EMEMORY insn %lld "
              "addr 0x%llx size %u (%s)",
          what, engine_name[engine], bpfvm_errname(o->rc), (long long)o->insn,
          (unsigned long long)o->addr, (unsigned long long)o->size, (long long)insn,
          (unsigned long long)addr, size, o->message);
    return ok;
}

static int faults;

/* Every access op, aimed at every VM target and at targets + off. */
static void test_targets(int engine)
{
    for (size_t k = 0; k < NOPS; k++) {
        /* base + 0 and the wrap-around base + 0x200 */
        static const struct { int16_t off; uint64_t base; } wraps[] = {
            { 0x200, 0xffffffffffffff00ull }, { 0x7fff, 0xffffffffffffff00ull },
            { -0x8000, 0x10 },
        };
        bpfvm_insn p[16];
        size_t n;
        for (int w = -1; w < (int)(sizeof(wraps) / sizeof(*wraps)); w++) {
            int16_t off = w < 0 ? 0 : wraps[w].off;
            size_t at = build(BASE_TARGET, &ops[k], off, p, &n);
            bpfvm_vm *vm = bpfvm_create();
            bpfvm_register_helper(vm, 77, "hostile", hostile_helper, NULL);
            bpfvm_register_std_helpers(vm);
            CHECK(prepare(vm, p, n, engine) == 0, "%s: %s", ops[k].name,
                  bpfvm_last_error(vm)->message);
            target t[16];
            size_t nt = w < 0 ? vm_targets(vm, t) : 1;
            if (w >= 0)
                t[0] = (target){ "a wrap-around address", wraps[w].base, 0 };
            for (size_t j = 0; j < nt; j++) {
                uint64_t mem[MEM_LEN / 8] = { t[j].addr };
                uint8_t *before = t[j].len ? malloc(t[j].len) : NULL;
                if (before)
                    memcpy(before, (void *)(uintptr_t)t[j].addr, t[j].len);
                outcome o = run(vm, engine, mem);
                char what[160];
                snprintf(what, sizeof(what), "%s [%s %+d]", ops[k].name, t[j].name, off);
                faults += expect_fault(what, engine, &o, (int64_t)at, ops[k].size, 1,
                                       t[j].addr + (uint64_t)(int64_t)off);
                if (before) {
                    CHECK(memcmp(before, (void *)(uintptr_t)t[j].addr, t[j].len) == 0,
                          "%s (%s): the target changed", what, engine_name[engine]);
                    free(before);
                }
                CHECK(mem[0] == t[j].addr, "%s: the input memory changed", what);
            }
            bpfvm_destroy(vm);
        }
    }
}

/* Offsets from the frame, from a callee's frame, from the caller's frame
 * and from the input memory that are outside what the program may touch. */
static void test_offsets(int engine)
{
    static const struct {
        base_kind kind;
        int16_t off;
        unsigned min_size; /* the access faults only from this size on */
        const char *name;
    } cases[] = {
        { BASE_R10, 0, 1, "r10 + 0" },          { BASE_R10, 8, 1, "r10 + 8" },
        { BASE_R10, 16, 1, "r10 + 16" },        { BASE_R10, 24, 1, "r10 + 24" },
        { BASE_R10, 32, 1, "r10 + 32" },        { BASE_R10, 40, 1, "r10 + 40" },
        { BASE_R10, 48, 1, "r10 + 48" },        { BASE_R10, 56, 1, "r10 + 56" },
        { BASE_R10, 64, 1, "r10 + 64" },        { BASE_R10, -1, 2, "r10 - 1 (straddling)" },
        { BASE_R10, -STACK - 8, 1, "r10 - stack_size - 8" },
        { BASE_R10, -STACK - 1, 1, "r10 - stack_size - 1" },
        { BASE_R10, -32768, 1, "r10 - 32768" }, { BASE_R10, 32767, 1, "r10 + 32767" },
        { BASE_R10_DIRECT, 0, 1, "[r10 + 0] unverified" },
        { BASE_R10_DIRECT, 8, 1, "[r10 + 8] unverified" },
        { BASE_R10_DIRECT, -1, 2, "[r10 - 1] unverified" },
        { BASE_R10_DIRECT, -STACK - 8, 1, "[r10 - stack_size - 8] unverified" },
        { BASE_R10_DIRECT, 32767, 1, "[r10 + 32767] unverified" },
        { BASE_R10_DIRECT, -32768, 1, "[r10 - 32768] unverified" },
        { BASE_R10_WRITTEN, -8, 1, "[r10 - 8], r10 = a host global + 8, unverified" },
        { BASE_R10_WRITTEN, 0, 1, "[r10], r10 = a host global + 8, unverified" },
        { BASE_CALLER, STACK, 1, "the caller's r10 + stack_size (above the callee's frame)" },
        { BASE_CALLER, STACK - 1, 2, "the caller's r10 + stack_size - 1 (straddling)" },
        { BASE_CALLER, -STACK - 1, 1, "the caller's r10 - stack_size - 1 (below the stack)" },
        { BASE_CALLEE, 0, 1, "a callee's r10 + 0" },
        { BASE_CALLEE, 8, 1, "a callee's r10 + 8" },
        { BASE_CALLEE, STACK - 8, 1, "a callee's r10 + stack_size - 8" },
        { BASE_CALLEE, -2 * STACK - 8, 1, "a callee's r10 - 2 * stack_size - 8 (below the stack)" },
        { BASE_MEM, MEM_LEN, 1, "mem + len" },  { BASE_MEM, MEM_LEN - 1, 2, "mem + len - 1" },
        { BASE_MEM, -1, 1, "mem - 1" },         { BASE_MEM, -32768, 1, "mem - 32768" },
        { BASE_MEM, 32767, 1, "mem + 32767" },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
        for (size_t k = 0; k < NOPS; k++) {
            if (ops[k].size < cases[c].min_size)
                continue;
            bpfvm_insn p[16];
            size_t n, at = build(cases[c].kind, &ops[k], cases[c].off, p, &n);
            bpfvm_vm *vm = bpfvm_create();
            bpfvm_set_stack_size(vm, STACK);
            if (cases[c].kind == BASE_R10_DIRECT || cases[c].kind == BASE_R10_WRITTEN)
                bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
            int rc = prepare(vm, p, n, engine);
            if (cases[c].kind == BASE_R10_WRITTEN && engine != INTERP) {
                /* the JIT refuses to translate a write to r10 */
                CHECK(rc == BPFVM_EJIT && strstr(bpfvm_last_error(vm)->message, "r10"),
                      "%s: compiling a write to r10: %s (%s)", ops[k].name, bpfvm_errname(rc),
                      bpfvm_last_error(vm)->message);
                bpfvm_destroy(vm);
                continue;
            }
            CHECK(rc == 0, "%s: %s", ops[k].name, bpfvm_last_error(vm)->message);
            uint8_t mem[MEM_LEN], before[MEM_LEN];
            for (size_t i = 0; i < MEM_LEN; i++)
                mem[i] = before[i] = (uint8_t)(i * 7 + 1);
            uint64_t base = (uintptr_t)mem;
            uint8_t secret_before[sizeof(secret)];
            memcpy(secret_before, secret, sizeof(secret));
            if (cases[c].kind == BASE_R10_WRITTEN) {
                base = (uintptr_t)secret + 8;
                memcpy(mem, &base, 8);
                memcpy(before, &base, 8);
            }
            outcome o = run(vm, engine, mem);
            char what[160];
            snprintf(what, sizeof(what), "%s [%s]", ops[k].name, cases[c].name);
            faults += expect_fault(what, engine, &o, (int64_t)at, ops[k].size,
                                   cases[c].kind == BASE_MEM || cases[c].kind == BASE_R10_WRITTEN,
                                   base + (uint64_t)(int64_t)cases[c].off);
            CHECK(memcmp(secret, secret_before, sizeof(secret)) == 0,
                  "%s (%s): a host global changed", what, engine_name[engine]);
            CHECK(memcmp(mem, before, MEM_LEN) == 0, "%s (%s): the input memory changed", what,
                  engine_name[engine]);
            bpfvm_destroy(vm);
        }
    }
}

/* The caller's frame is reachable from a callee (as in the kernel): every
 * access op at the caller's r10 - 8 and r10 - stack_size runs to the end. */
static void test_caller_frame(int engine)
{
    static const int16_t offs[] = { -8, -STACK };
    for (size_t c = 0; c < sizeof(offs) / sizeof(*offs); c++) {
        for (size_t k = 0; k < NOPS; k++) {
            bpfvm_insn p[16];
            size_t n;
            build(BASE_CALLER, &ops[k], offs[c], p, &n);
            bpfvm_vm *vm = bpfvm_create();
            bpfvm_set_stack_size(vm, STACK);
            CHECK(prepare(vm, p, n, engine) == 0, "%s: %s", ops[k].name,
                  bpfvm_last_error(vm)->message);
            uint8_t mem[MEM_LEN] = { 0 };
            outcome o = run(vm, engine, mem);
            CHECK(o.rc == 0 && o.r0 == 1, "%s [the caller's r10 %d] (%s): %s %s", ops[k].name,
                  offs[c], engine_name[engine], bpfvm_errname(o.rc), o.message);
            bpfvm_destroy(vm);
        }
    }
}

/* ---- registered regions ------------------------------------------------------ */

/* A program first reads (and writes) inside a read-only and a read-write
 * region, so the JIT remembers them, then aims at just past each one, at a
 * span straddling its end, and writes to the read-only one. */
static void test_regions(int engine)
{
    /* two 16-byte regions with unregistered words around them */
    static uint64_t pool[8] = { 1, 2, 0, 0, 3, 4, 0, 0 };
    uint64_t *ro = pool, *rw = pool + 4;
    static const struct {
        int writable; /* which region */
        bpfvm_insn access;
        unsigned size;
        uint64_t off;
        const char *name;
    } cases[] = {
        { 0, BPFVM_LDX_MEM(BPFVM_DW, R(0), R(2), 16), 8, 16, "ldxdw just past a read-only region" },
        { 0, BPFVM_LDX_MEM(BPFVM_DW, R(0), R(2), 9), 8, 9, "ldxdw straddling its end" },
        { 0, BPFVM_LDX_MEM(BPFVM_B, R(0), R(2), -1), 1, (uint64_t)-1, "ldxb just before it" },
        { 0, BPFVM_STX_MEM(BPFVM_B, R(2), R(3), 0), 1, 0, "stxb into it" },
        { 0, BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, R(2), R(3), 8), 8, 8, "lock add64 into it" },
        { 1, BPFVM_STX_MEM(BPFVM_DW, R(2), R(3), 16), 8, 16, "stxdw just past a read-write region" },
        { 1, BPFVM_STX_MEM(BPFVM_W, R(2), R(3), 13), 4, 13, "stxw straddling its end" },
        { 1, BPFVM_LDX_MEM(BPFVM_H, R(0), R(2), 15), 2, 15, "ldxh straddling its end" },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
        uint64_t base = (uintptr_t)(cases[c].writable ? rw : ro);
        const bpfvm_insn p[] = {
            BPFVM_LD_IMM64(R(2), base),
            BPFVM_LD_IMM64(R(4), (uintptr_t)rw),
            BPFVM_MOV64_IMM(R(5), 4),
            /* loop: read both regions, write the read-write one */
            BPFVM_LDX_MEM(BPFVM_DW, R(0), R(2), 8),
            BPFVM_LDX_MEM(BPFVM_DW, R(3), R(4), 0),
            BPFVM_STX_MEM(BPFVM_DW, R(4), R(3), 8),
            BPFVM_ALU64_IMM(BPFVM_SUB, R(5), 1),
            BPFVM_JMP_IMM(BPFVM_JNE, R(5), 0, -5),
            cases[c].access, /* insn 10 */
            BPFVM_EXIT(),
        };
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_add_region(vm, ro, 16, BPFVM_READ);
        bpfvm_add_region(vm, rw, 16, BPFVM_READ | BPFVM_WRITE);
        CHECK(prepare(vm, p, sizeof(p) / sizeof(*p), engine) == 0, "%s: %s", cases[c].name,
              bpfvm_last_error(vm)->message);
        uint8_t mem[MEM_LEN] = { 0 };
        outcome o = run(vm, engine, mem);
        faults += expect_fault(cases[c].name, engine, &o, 10, cases[c].size, 1,
                               base + cases[c].off);
        CHECK(ro[0] == 1 && ro[1] == 2 && rw[0] == 3 && rw[1] == 3 && !pool[2] && !pool[3] &&
                  !pool[6] && !pool[7],
              "%s (%s): regions %llu %llu %llu %llu", cases[c].name, engine_name[engine],
              (unsigned long long)ro[0], (unsigned long long)ro[1], (unsigned long long)rw[0],
              (unsigned long long)rw[1]);
        rw[1] = 4;
        bpfvm_destroy(vm);
    }
}

/* ---- helpers handed hostile pointers ------------------------------------------ */

static void test_helper_pointers(int engine)
{
    /* r1 = the target read from the input memory, r2 = length (strcmp: the
     * target again), call at insn 3 */
    static const struct {
        uint32_t helper;
        uint64_t len;
        const char *name;
    } calls[] = {
        { BPFVM_HELPER_MEMFROB, 8, "memfrob(target, 8)" },
        { BPFVM_HELPER_MEMFROB, 1, "memfrob(target, 1)" },
        { BPFVM_HELPER_TRACE_PRINTK, 8, "trace_printk(target, 8)" },
        { BPFVM_HELPER_STRCMP, 0, "strcmp(target, target)" },
    };
    for (size_t c = 0; c < sizeof(calls) / sizeof(*calls); c++) {
        bpfvm_insn p[] = {
            BPFVM_LDX_MEM(BPFVM_DW, R(1), R(1), 0),
            BPFVM_LD_IMM64(R(2), calls[c].len),
            BPFVM_CALL_HELPER(calls[c].helper),
            BPFVM_EXIT(),
        };
        if (calls[c].helper == BPFVM_HELPER_STRCMP) { /* both strings at the target */
            p[1] = BPFVM_MOV64_REG(R(2), R(1));
            p[2] = BPFVM_JA_OFF(0);
        }
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_register_std_helpers(vm);
        CHECK(prepare(vm, p, 5, engine) == 0, "%s: %s", calls[c].name,
              bpfvm_last_error(vm)->message);
        target t[16];
        size_t nt = vm_targets(vm, t);
        for (size_t j = 0; j < nt; j++) {
            uint64_t mem[MEM_LEN / 8] = { t[j].addr };
            uint8_t *before = t[j].len ? malloc(t[j].len) : NULL;
            if (before)
                memcpy(before, (void *)(uintptr_t)t[j].addr, t[j].len);
            outcome o = run(vm, engine, mem);
            CHECK(o.rc == BPFVM_EHELPERFAIL && o.insn == 3, "%s on %s (%s): %s insn %lld (%s)",
                  calls[c].name, t[j].name, engine_name[engine], bpfvm_errname(o.rc),
                  (long long)o.insn, o.message);
            faults += o.rc == BPFVM_EHELPERFAIL;
            if (before) {
                CHECK(memcmp(before, (void *)(uintptr_t)t[j].addr, t[j].len) == 0,
                      "%s on %s (%s): the target changed", calls[c].name, t[j].name,
                      engine_name[engine]);
                free(before);
            }
        }
        bpfvm_destroy(vm);
    }

    /* memfrob on the input memory and the stack with lengths running out of
     * them (also wrapping around the address space) */
    static const struct {
        int from_r10;
        int32_t delta;
        uint64_t len;
        const char *name;
    } spans[] = {
        { 0, 0, MEM_LEN + 1, "memfrob(mem, len + 1)" },
        { 0, 0, ~0ull, "memfrob(mem, 2^64 - 1)" },
        { 0, 8, ~0ull - 7, "memfrob(mem + 8, 2^64 - 8)" },
        { 1, 0, 1, "memfrob(r10, 1)" },
        { 1, -8, 9, "memfrob(r10 - 8, 9)" },
        { 1, -STACK - 1, 2, "memfrob(r10 - stack_size - 1, 2)" },
    };
    for (size_t s = 0; s < sizeof(spans) / sizeof(*spans); s++) {
        const bpfvm_insn p[] = {
            spans[s].from_r10 ? BPFVM_MOV64_REG(R(1), R(10)) : BPFVM_MOV64_REG(R(1), R(1)),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(1), spans[s].delta),
            BPFVM_LD_IMM64(R(2), spans[s].len),
            BPFVM_CALL_HELPER(BPFVM_HELPER_MEMFROB),
            BPFVM_EXIT(),
        };
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_register_std_helpers(vm);
        bpfvm_set_stack_size(vm, STACK);
        CHECK(prepare(vm, p, 6, engine) == 0, "%s: %s", spans[s].name,
              bpfvm_last_error(vm)->message);
        uint8_t mem[MEM_LEN], before[MEM_LEN];
        for (size_t i = 0; i < MEM_LEN; i++)
            mem[i] = before[i] = (uint8_t)(i * 5 + 3);
        outcome o = run(vm, engine, mem);
        CHECK(o.rc == BPFVM_EHELPERFAIL && o.insn == 4, "%s (%s): %s insn %lld (%s)",
              spans[s].name, engine_name[engine], bpfvm_errname(o.rc), (long long)o.insn,
              o.message);
        faults += o.rc == BPFVM_EHELPERFAIL;
        CHECK(memcmp(mem, before, MEM_LEN) == 0, "%s (%s): the input memory changed",
              spans[s].name, engine_name[engine]);
        bpfvm_destroy(vm);
    }
}

/* ---- constant blinding ------------------------------------------------------- */

#if defined(__aarch64__)
/* arm64 code holds constants in the 16-bit fields of movz/movn/movk: does a
 * sequence of them build the n-byte value pat (n 4: as either half of a
 * register) in a register? */
static int contains(const void *code, size_t len, const void *pat, size_t n)
{
    uint64_t val[32] = { 0 }, want = 0;
    memcpy(&want, pat, n);
    for (size_t i = 0; i + 4 <= len; i += 4) {
        uint32_t w;
        memcpy(&w, (const uint8_t *)code + i, 4);
        unsigned d = w & 31, shift = ((w >> 21) & 3) * 16;
        uint64_t imm = (uint64_t)((w >> 5) & 0xffff) << shift;
        switch (w & 0x7f800000u) {
        case 0x52800000u: val[d] = imm; break;                              /* movz */
        case 0x12800000u: val[d] = ~imm; break;                             /* movn */
        case 0x72800000u: val[d] = (val[d] & ~(0xffffull << shift)) | imm; break; /* movk */
        default: continue;
        }
        if (!(w >> 31))
            val[d] &= 0xffffffffu;
        if (n == 8 ? val[d] == want
                   : (uint32_t)val[d] == (uint32_t)want || val[d] >> 32 == (uint32_t)want)
            return 1;
    }
    return 0;
}
#else
static int contains(const void *code, size_t len, const void *pat, size_t n)
{
    const uint8_t *c = code;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(c + i, pat, n) == 0)
            return 1;
    return 0;
}
#endif

static void test_blinding(void)
{
    /* Distinctive immediates of every kind the program can choose: ALU
     * 64/32, lddw halves, store immediate, jump immediate, mul/div/mod. */
    static const uint32_t imm32[] = { 0x5a17c3e9, 0x6b28d4fa, 0x1c2d3e4f, 0x2e3f4051,
                                      0x3a4b5c6d, 0x4c5d6e7f, 0x13579bdf, 0x7d8e9fa1,
                                      0x2468ace1 };
    const uint64_t imm64 = 0x7c39e50b8d4af61cull;
    const bpfvm_insn p[] = {
        BPFVM_MOV64_IMM(R(0), (int32_t)imm32[0]),
        BPFVM_ALU64_IMM(BPFVM_ADD, R(0), (int32_t)imm32[1]),
        BPFVM_ALU64_IMM(BPFVM_XOR, R(0), (int32_t)imm32[2]),
        BPFVM_LD_IMM64(R(1), imm64),
        BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(1)),
        BPFVM_ST_MEM(BPFVM_DW, R(10), -8, (int32_t)imm32[3]),
        BPFVM_LDX_MEM(BPFVM_DW, R(2), R(10), -8),
        BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(2)),
        BPFVM_JMP_IMM(BPFVM_JEQ, R(0), (int32_t)imm32[4], 1),
        BPFVM_ALU32_IMM(BPFVM_ADD, R(0), (int32_t)imm32[5]),
        BPFVM_ALU64_IMM(BPFVM_MUL, R(0), (int32_t)imm32[6]),
        BPFVM_ALU64_IMM(BPFVM_MOD, R(0), (int32_t)imm32[7]),
        BPFVM_ALU32_IMM(BPFVM_AND, R(0), (int32_t)imm32[8]),
        BPFVM_EXIT(),
    };
    bpfvm_vm *vm = bpfvm_create();
    uint64_t want = 0, r0 = 0;
    CHECK(bpfvm_load(vm, p, sizeof(p)) == 0, "load: %s", bpfvm_last_error(vm)->message);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &want, NULL) == 0, "interpreter");

    uint8_t *first = NULL;
    size_t first_len = 0;
    for (int blind = 0; blind < 2; blind++) {
        for (int round = 0; round < (blind ? 8 : 1); round++) {
            CHECK(bpfvm_compile(vm, blind ? BPFVM_JIT_BLIND : 0) == 0, "compile");
            size_t len = 0;
            const void *code = bpfvm_jit_code(vm, &len);
            for (size_t i = 0; i < sizeof(imm32) / sizeof(*imm32); i++)
                CHECK(contains(code, len, &imm32[i], 4) == !blind,
                      "imm32 0x%08x %s in the %s code", imm32[i], blind ? "present" : "absent",
                      blind ? "blinded" : "plain");
            const uint32_t lo = (uint32_t)imm64, hi = (uint32_t)(imm64 >> 32);
            CHECK(contains(code, len, &imm64, 8) == !blind, "imm64 %s in the %s code",
                  blind ? "present" : "absent", blind ? "blinded" : "plain");
            CHECK(!blind || (!contains(code, len, &lo, 4) && !contains(code, len, &hi, 4)),
                  "a half of imm64 present in the blinded code");
            CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == want,
                  "%s code: 0x%llx, interpreter 0x%llx", blind ? "blinded" : "plain",
                  (unsigned long long)r0, (unsigned long long)want);
            if (blind && round == 0) {
                first = malloc(len);
                memcpy(first, code, len);
                first_len = len;
            } else if (blind && round == 1) {
                /* a fresh key each compile */
                CHECK(len != first_len || memcmp(first, code, len) != 0,
                      "two blinded compiles gave the same code");
            }
        }
    }
    free(first);
    bpfvm_destroy(vm);
}

int main(void)
{
    for (int e = 0; e < NENGINES; e++) {
        test_targets(e);
        test_offsets(e);
        test_caller_frame(e);
        test_regions(e);
        test_helper_pointers(e);
    }
    printf("%d escape attempts stopped cleanly\n", faults);
    test_blinding();
    return TEST_END();
}
