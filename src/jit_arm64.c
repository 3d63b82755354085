/* jit_arm64.c - the AArch64 backend of the JIT: instruction encoders and the
 * translation of every eBPF instruction. Same structure, state and run-time
 * functions as the x86-64 backend (jit.h); results and faults identical.
 *
 * Register map (AAPCS64):
 *
 *   eBPF  arm64  why
 *   r0    x0     helper results arrive here
 *   r1-r5 x1-x5  a helper call fn(ctx, r1, .., r5) only has to set x0 = ctx
 *   r6-r9 x19-x22  callee-saved: helper calls keep them
 *   r10   x25    top of the current stack frame
 *   -     x26    the run state (bpfvm__jit_state *)
 *   -     x23, x24, x27, x28  mem_lim[0..3]: an access of 1/2/4/8 bytes at
 *                mem + t is inside the input memory iff t < that (unsigned)
 *   -     x6     minus the start of the input memory (reloaded after calls into C)
 *   -     x7     the remaining budget (metered code; saved around calls into C)
 *   -     x13    a constant the code needs again (inside a basic block)
 *   -     x9-x12, x16  scratch
 *   x30 (the return address) is saved around every call the body makes, so
 *   `exit` is `ret` both for the program and for a local call.
 *
 * Layout: the common code (prologue, epilogue, error exits, the slow memory
 * check), then one piece of code per slot, then the stubs (rare paths).
 * Branches to slots, stubs and the common code are recorded as fixups and
 * filled in at the end. Conditional branches reach +-1 MiB (tbnz +-32 KiB):
 * j->range says which forms the code may use; when the code turns out
 * larger than that allows, it is translated again with longer forms
 * (0: all; 1: no tbz/tbnz to other code; 2: conditional branches jump over
 * an unconditional one).
 *
 * Memory checks (checked mode): the fast path tests the region the analysis
 * guessed (current frame or input memory); the stub tests the other, then
 * calls rt_access through check_slow. Loop versioning is not done here.
 *
 * Atomics: LSE instructions (ldaddal, ldclral, ldeoral, ldsetal, swpal,
 * casal) when the CPU has them (HWCAP_ATOMICS, read at compile time), else
 * ldaxr/stlxr loops.
 */
#if defined(__aarch64__)
#include <string.h>
#include <sys/auxv.h>

#include "jit.h"

#ifndef HWCAP_ATOMICS
#define HWCAP_ATOMICS (1ul << 8)
#endif

/* ---- registers, conditions --------------------------------------------- */

enum { X0 = 0, X6 = 6, X7 = 7, X9 = 9, X10 = 10, X11 = 11, X12 = 12, X13 = 13, X16 = 16, X25 = 25,
       X26 = 26, FP = 29, LR = 30, ZR = 31, SP = 31 };
#define STATE X26
#define MEMNEG X6
#define BUDGET X7
#define FRAME X25

static const uint8_t reg_map[11] = { 0, 1, 2, 3, 4, 5, 19, 20, 21, 22, 25 };
static const uint8_t lim_reg[4] = { 23, 24, 27, 28 };

enum { EQ = 0, NE = 1, HS = 2, LO = 3, MI = 4, HI = 8, LS = 9, GE = 10, LT = 11, GT = 12,
       LE = 13 };

#define ST_OFF(field) ((uint32_t)offsetof(bpfvm__jit_state, field))
#define CTX_OFF(field) (ST_OFF(ctx) + (uint32_t)offsetof(bpfvm_ctx, field))

/* Offsets of the common routines, and what the compile found out. */
typedef struct labels {
    uint32_t ret_normal, epilogue, exit_zero, raise_budget, raise_calldepth, raise_badcode,
        fault_exit, check_slow;
    bool lse;                /* the CPU has the LSE atomics */
} labels;

/* ---- the emit layer ---------------------------------------------------- */

/* Each write makes room for itself (bpfvm__jit_room). */
static void emit(bpfvm__jit *j, uint32_t insn)
{
    bpfvm__jit_room(j, 4);
    uint8_t *p = j->buf + j->len;
    p[0] = (uint8_t)insn;
    p[1] = (uint8_t)(insn >> 8);
    p[2] = (uint8_t)(insn >> 16);
    p[3] = (uint8_t)(insn >> 24);
    j->len += 4;
}

static uint32_t here(const bpfvm__jit *j) { return (uint32_t)j->len; }

static uint32_t sf(bool is64) { return is64 ? 1u << 31 : 0u; }

/* data processing, three registers: op | Rm << 16 | Rn << 5 | Rd */
static void emit_rrr(bpfvm__jit *j, uint32_t op, bool is64, int d, int n, int m)
{
    emit(j, op | sf(is64) | (uint32_t)m << 16 | (uint32_t)n << 5 | (uint32_t)d);
}

enum {
    ADD_R = 0x0b000000, SUB_R = 0x4b000000, SUBS_R = 0x6b000000, AND_R = 0x0a000000,
    ORR_R = 0x2a000000, EOR_R = 0x4a000000, ANDS_R = 0x6a000000, ORN_R = 0x2a200000,
    MUL_R = 0x1b007c00, UDIV_R = 0x1ac00800, SDIV_R = 0x1ac00c00, LSLV_R = 0x1ac02000,
    LSRV_R = 0x1ac02400, ASRV_R = 0x1ac02800,
    ADD_I = 0x11000000, SUB_I = 0x51000000, SUBS_I = 0x71000000, ADDS_I = 0x31000000,
    AND_I = 0x12000000, ORR_I = 0x32000000, EOR_I = 0x52000000, ANDS_I = 0x72000000,
    MOVN = 0x12800000, MOVZ = 0x52800000, MOVK = 0x72800000, UBFM = 0x53000000,
    SBFM = 0x13000000, B = 0x14000000, BL = 0x94000000, BCOND = 0x54000000,
    CBZ = 0x34000000, CBNZ = 0x35000000, TBZ = 0x36000000, TBNZ = 0x37000000,
    RET = 0xd65f03c0, BLR = 0xd63f0000, CSEL = 0x1a800000
};

/* Rd = Rm (orr Rd, zr, Rm) */
static void emit_mov(bpfvm__jit *j, bool is64, int d, int m)
{
    emit_rrr(j, ORR_R, is64, d, ZR, m);
}

/* add/sub with a 12-bit immediate (shifted by 12 if sh); register 31 is sp */
static void emit_addsub_imm(bpfvm__jit *j, uint32_t op, bool is64, int d, int n, uint32_t imm,
                            bool sh)
{
    emit(j, op | sf(is64) | (sh ? 1u << 22 : 0u) | (imm & 0xfff) << 10 | (uint32_t)n << 5 |
                (uint32_t)d);
}

/* Rd = imm in the fewest movz/movn/movk (is64: all 64 bits, else the low 32,
 * zero-extended). */
static void emit_mov_imm(bpfvm__jit *j, bool is64, int d, uint64_t imm)
{
    unsigned parts = is64 ? 4 : 2, zeros = 0, ones = 0;
    if (!is64)
        imm &= 0xffffffffu;
    for (unsigned k = 0; k < parts; k++) {
        uint16_t h = (uint16_t)(imm >> (16 * k));
        zeros += h == 0;
        ones += h == 0xffff;
    }
    bool inv = ones > zeros;
    uint16_t fill = inv ? 0xffff : 0;
    bool first = true;
    if ((inv ? ones : zeros) == parts) { /* all halves the same: one movz/movn */
        emit(j, (inv ? MOVN : MOVZ) | sf(is64) | (uint32_t)d);
        return;
    }
    for (unsigned k = 0; k < parts; k++) {
        uint16_t h = (uint16_t)(imm >> (16 * k));
        if (h == fill)
            continue;
        if (first)
            emit(j, (inv ? MOVN : MOVZ) | sf(is64) | k << 21 |
                        (uint32_t)(inv ? (uint16_t)~h : h) << 5 | (uint32_t)d);
        else
            emit(j, MOVK | sf(is64) | k << 21 | (uint32_t)h << 5 | (uint32_t)d);
        first = false;
    }
}

/* The N:immr:imms field of a logical immediate, or -1 if v has none (is64:
 * v as 64 bits, else its low 32). */
static int32_t logical_imm(uint64_t v, bool is64)
{
    if (!is64)
        v = (v & 0xffffffffu) | v << 32;
    if (v == 0 || v == ~0ull)
        return -1;
    unsigned e = 64;
    while (e > 2) { /* the smallest element the value repeats */
        unsigned h = e / 2;
        uint64_t mask = (1ull << h) - 1;
        if ((v & mask) != ((v >> h) & mask))
            break;
        e = h;
    }
    uint64_t emask = e == 64 ? ~0ull : (1ull << e) - 1, p = v & emask;
    unsigned ones = (unsigned)__builtin_popcountll(p);
    uint64_t low = (1ull << ones) - 1; /* ones < e <= 64 */
    for (unsigned r = 0; r < e; r++) {
        /* p == low rotated right by r within e bits */
        uint64_t rot = r ? ((low >> r) | (low << (e - r))) & emask : low;
        if (rot == p) {
            unsigned n = e == 64, imms = ((0x3fu << 1) << __builtin_ctz(e)) & 0x3f;
            imms = (imms | (ones - 1)) & 0x3f;
            return (int32_t)(n << 12 | r << 6 | imms);
        }
    }
    return -1;
}

/* Constant blinding: Rd = imm (64-bit value) as (imm ^ key) ^ key, key a
 * fresh random 32-bit value; uses x12. */
static void emit_blinded(bpfvm__jit *j, int d, uint64_t imm)
{
    uint32_t key = bpfvm__jit_blind_key(j);
    emit_mov_imm(j, true, d, imm ^ key);
    emit_mov_imm(j, true, X12, key);
    emit_rrr(j, EOR_R, true, d, d, X12);
}

/* Rd = imm, or blinded when blinding (is64: sign-extended 64-bit value,
 * else zero-extended 32). */
static void emit_imm(bpfvm__jit *j, bool is64, int d, int32_t imm)
{
    uint64_t v = is64 ? (uint64_t)(int64_t)imm : (uint32_t)imm;
    if (j->blind_state)
        emit_blinded(j, d, v);
    else
        emit_mov_imm(j, true, d, v);
}

/* A register holding the constant v: x13, loaded unless it holds v already
 * (from earlier in the same basic block; translate() forgets it at block
 * starts and after calls into C that do not keep x13). */
static int konst(bpfvm__jit *j, uint64_t v)
{
    if (!j->konst_valid || j->konst != v) {
        emit_mov_imm(j, true, X13, v);
        j->konst = v;
        j->konst_valid = true;
    }
    return X13;
}

/* Rd = Rn + imm (any 64-bit constant that fits 32 bits signed); uses x11
 * for large ones. Rd = Rn and imm = 0: nothing. */
static void emit_add_imm(bpfvm__jit *j, bool is64, int d, int n, int64_t imm)
{
    uint32_t op = imm < 0 ? SUB_I : ADD_I;
    uint64_t a = imm < 0 ? (uint64_t)-imm : (uint64_t)imm;
    if (a == 0) {
        if (d != n || !is64)
            emit_mov(j, is64, d, n);
    } else if (a < 4096) {
        emit_addsub_imm(j, op, is64, d, n, (uint32_t)a, false);
    } else if (a < (1u << 24)) {
        emit_addsub_imm(j, op, is64, d, n, (uint32_t)(a >> 12), true);
        if (a & 0xfff)
            emit_addsub_imm(j, op, is64, d, d, (uint32_t)(a & 0xfff), false);
    } else {
        emit_mov_imm(j, true, X11, (uint64_t)imm);
        emit_rrr(j, ADD_R, is64, d, n, X11);
    }
}

/* ldr/str Xt, [x26 + state field] (64-bit, or 32 when !is64) */
static void emit_state(bpfvm__jit *j, bool load, bool is64, int t, uint32_t off)
{
    uint32_t op = is64 ? 0xf9000000u : 0xb9000000u;
    emit(j, op | (load ? 0x400000u : 0u) | (off >> (is64 ? 3 : 2)) << 10 |
                (uint32_t)STATE << 5 | (uint32_t)t);
}

/* stp/ldp Xa, Xb, [sp, #off] with writeback mode: 0 signed offset,
 * 1 pre-index (push), 2 post-index (pop) */
static void emit_pair(bpfvm__jit *j, bool load, int mode, int a, int b, int32_t off)
{
    static const uint32_t ops[3] = { 0xa9000000u, 0xa9800000u, 0xa8800000u };
    emit(j, ops[mode] | (load ? 0x400000u : 0u) | ((uint32_t)(off / 8) & 0x7f) << 15 |
                (uint32_t)b << 10 | (uint32_t)SP << 5 | (uint32_t)a);
}

/* blr to a C function (its address in x16) */
static void emit_call_c(bpfvm__jit *j, uint64_t fn)
{
    emit_mov_imm(j, true, X16, fn);
    emit(j, BLR | (uint32_t)X16 << 5);
}

/* A branch (offset field zero) to a slot, stub or code offset, filled in
 * by apply_fixups. bits: width of the offset field (26, 19 or 14). */
static void emit_ref(bpfvm__jit *j, uint32_t insn, unsigned bits, int kind, size_t index)
{
    emit(j, insn);
    bpfvm__jit_add_fixup(j, here(j), index, kind, bits);
}

/* A conditional branch (b.cond, cbz/cbnz or tbz/tbnz, offset field zero)
 * through a fixup; where the range mode does not allow it, the inverse
 * branch jumps over an unconditional one. */
static uint32_t inverse(uint32_t insn)
{
    return (insn & 0xff000010u) == BCOND ? insn ^ 1u : insn ^ (1u << 24); /* cbz/cbnz, tbz/tbnz */
}

static void emit_cond_ref(bpfvm__jit *j, uint32_t insn, int kind, size_t index)
{
    bool tb = (insn & 0x7e000000u) == 0x36000000u;
    if (j->range < (tb ? 1u : 2u)) {
        emit_ref(j, insn, tb ? 14 : 19, kind, index);
        return;
    }
    emit(j, inverse(insn) | 2u << 5);                  /* skip the b */
    emit_ref(j, B, 26, kind, index);
}

static void emit_bcond_ref(bpfvm__jit *j, int cc, int kind, size_t index)
{
    emit_cond_ref(j, BCOND | (uint32_t)cc, kind, index);
}

/* A forward branch inside one instruction's code: placeholder, then patch. */
static uint32_t emit_fwd(bpfvm__jit *j, uint32_t insn)
{
    emit(j, insn);
    return here(j) - 4;
}

static void patch_fwd(bpfvm__jit *j, uint32_t at)
{
    uint32_t d = (here(j) - at) / 4, insn;
    uint8_t *p = j->buf + at;
    memcpy(&insn, p, 4);
    insn |= (insn & 0x7c000000u) == 0x14000000u ? d : (d & 0x7ffff) << 5;
    memcpy(p, &insn, 4);
}

/* b / b.cond / cbz to an offset already emitted in the common code */
static void emit_back(bpfvm__jit *j, uint32_t insn, uint32_t target)
{
    int32_t d = ((int32_t)target - (int32_t)here(j)) / 4;
    if ((insn & 0x7c000000u) == 0x14000000u)
        emit(j, insn | ((uint32_t)d & 0x3ffffff));
    else
        emit(j, insn | ((uint32_t)d & 0x7ffff) << 5);
}

/* ---- common code at the start ------------------------------------------ */

/* The start of an entry, int fn(bpfvm__jit_state *x0, r1 x1, r2 x2, r10 x3)
 * (x1 and x2 left alone): the frame, the state, r10, and the memory limits
 * (programs with memory accesses) and the budget from the state. */
static void emit_enter(bpfvm__jit *j)
{
    emit_pair(j, false, 1, FP, LR, -96);               /* stp x29, x30, [sp, #-96]! */
    emit_addsub_imm(j, ADD_I, true, FP, SP, 0, false); /* mov x29, sp */
    for (int k = 0; k < 5; k++)                        /* stp x19..x28 */
        emit_pair(j, false, 0, 19 + 2 * k, 20 + 2 * k, 16 + 16 * k);
    emit_mov(j, true, STATE, X0);
    emit_addsub_imm(j, ADD_I, true, X9, SP, 0, false); /* mov x9, sp */
    emit_state(j, false, true, X9, ST_OFF(saved_sp));
    emit_mov(j, true, FRAME, 3);                       /* mov x25, x3 */
    if (j->uses & BPFVM__JIT_USES_MEM) { /* else a run leaves them unset */
        emit_state(j, true, true, MEMNEG, ST_OFF(mem_neg));
        for (int k = 0; k < 4; k++)
            emit_state(j, true, true, lim_reg[k], ST_OFF(mem_lim) + 8 * (uint32_t)k);
    }
    if (j->metered)
        emit_state(j, true, true, BUDGET, ST_OFF(budget_left));
}

static void emit_common(bpfvm__jit *j, labels *l)
{
    emit_enter(j);
    static const uint8_t zeroed[] = { 0, 3, 4, 5, 19, 20, 21, 22 };
    for (size_t k = 0; k < sizeof zeroed; k++)
        emit_mov(j, true, zeroed[k], ZR);
    emit_ref(j, BL, 26, BPFVM__FIX_SLOT, 0);           /* bl body */

    l->ret_normal = here(j);
    emit_state(j, false, true, X0, ST_OFF(r0));        /* state->r0 = x0 */
    emit_mov(j, false, X0, ZR);                        /* return 0 */
    l->epilogue = here(j);
    for (int k = 4; k >= 0; k--)
        emit_pair(j, true, 0, 19 + 2 * k, 20 + 2 * k, 16 + 16 * k);
    emit_pair(j, true, 2, FP, LR, 96);                 /* ldp x29, x30, [sp], #96 */
    emit(j, RET);

    /* legacy packet load out of bounds: the program ends with r0 = 0 */
    l->exit_zero = here(j);
    emit_mov(j, true, X0, ZR);
    emit_state(j, true, true, X9, ST_OFF(saved_sp));
    emit_addsub_imm(j, ADD_I, true, SP, X9, 0, false); /* mov sp, x9 */
    emit_back(j, B, l->ret_normal);

    /* raise_*: w1 = instruction index */
    l->raise_budget = here(j);
    emit_mov_imm(j, false, 2, BPFVM__RAISE_BUDGET);
    uint32_t p1 = emit_fwd(j, B);
    l->raise_calldepth = here(j);
    emit_mov_imm(j, false, 2, BPFVM__RAISE_CALLDEPTH);
    uint32_t p2 = emit_fwd(j, B);
    l->raise_badcode = here(j);
    emit_mov_imm(j, false, 2, BPFVM__RAISE_BADCODE);
    patch_fwd(j, p1);
    patch_fwd(j, p2);
    emit_state(j, true, true, X9, ST_OFF(saved_sp));
    emit_addsub_imm(j, ADD_I, true, SP, X9, 0, false); /* mov sp, x9 */
    emit_mov(j, true, X0, STATE);
    emit_call_c(j, j->rt_raise);                       /* rt_raise(state, insn, kind) */

    /* an error was recorded: unwind to the entry and return 1 */
    l->fault_exit = here(j);
    emit_state(j, true, true, X9, ST_OFF(saved_sp));
    emit_addsub_imm(j, ADD_I, true, SP, X9, 0, false);
    emit_mov_imm(j, false, X0, 1);
    emit_back(j, B, l->epilogue);

    /* check_slow: x9 = address, x10 = rmw << 32 | insn << 6 | read << 5 |
     * write << 4 | size; called with bl from stubs (which saved x30); keeps
     * every eBPF register and x13 */
    l->check_slow = here(j);
    emit_pair(j, false, 1, 0, 1, -80);
    emit_pair(j, false, 0, 2, 3, 16);
    emit_pair(j, false, 0, 4, 5, 32);
    emit_pair(j, false, 0, BUDGET, LR, 48);
    emit_pair(j, false, 0, X13, ZR, 64);
    emit_mov(j, true, X0, STATE);
    emit_mov(j, true, 1, X9);
    emit_mov(j, true, 2, X10);
    emit_call_c(j, j->rt_access);                      /* rt_access(state, addr, packed) */
    emit_mov(j, false, X9, X0);
    emit_pair(j, true, 0, X13, X10, 64);
    emit_pair(j, true, 0, BUDGET, LR, 48);
    emit_pair(j, true, 0, 4, 5, 32);
    emit_pair(j, true, 0, 2, 3, 16);
    emit_pair(j, true, 2, 0, 1, 80);
    emit_state(j, true, true, MEMNEG, ST_OFF(mem_neg));
    emit_back(j, CBZ | X9, l->fault_exit);             /* cbz w9, fault_exit */
    emit(j, RET);
}

/* The entry for callbacks (programs with callbacks only; bpfvm__jit.cb_entry):
 * the prologue of the run's entry with r1..r5 from state->cb_args, a call
 * to state->cb_code, the budget left back in the state, and the run's
 * normal return. Faults inside unwind to its saved_sp, which bpfvm__jit_callback
 * (jit.c) then puts back. */
static void emit_callback_entry(bpfvm__jit *j, const labels *l)
{
    static const uint8_t zeroed[] = { 0, 19, 20, 21, 22 };
    if (!j->vm->ncallbacks)
        return;
    j->cb_entry = here(j);
    emit_enter(j);
    for (int k = 0; k < 5; k++)                        /* x1..x5 = cb_args */
        emit_state(j, true, true, 1 + k, ST_OFF(cb_args) + 8 * (uint32_t)k);
    for (size_t k = 0; k < sizeof zeroed; k++)
        emit_mov(j, true, zeroed[k], ZR);
    emit_state(j, true, true, X9, ST_OFF(cb_code));
    emit(j, BLR | (uint32_t)X9 << 5);                  /* blr x9 */
    if (j->metered)
        emit_state(j, false, true, BUDGET, ST_OFF(budget_left));
    emit_back(j, B, l->ret_normal);
}

/* ---- checks ------------------------------------------------------------ */

static int size_index(unsigned size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }

/* cmp Xn, imm; large ones in x13 (konst) when `reuse`, else in x11 (stubs
 * must not touch x13: the code they return to may rely on it) */
static void emit_cmp_imm(bpfvm__jit *j, bool is64, int n, int64_t imm, bool reuse)
{
    if (imm >= 0 && imm < 4096) {
        emit_addsub_imm(j, SUBS_I, is64, ZR, n, (uint32_t)imm, false);
    } else if (imm < 0 && imm > -4096) {
        emit_addsub_imm(j, ADDS_I, is64, ZR, n, (uint32_t)-imm, false); /* cmn */
    } else {
        uint64_t v = is64 ? (uint64_t)imm : (uint32_t)imm;
        int m = X11;
        if (reuse)
            m = konst(j, v);
        else
            emit_mov_imm(j, true, X11, v);
        emit_rrr(j, SUBS_R, is64, ZR, n, m);
    }
}

/* Flags "lo" iff [x + off, +size) is inside the current frame:
 *   x10 = x - r10 + off + S; cmp x10, S - size + 1 */
static void emit_frame_check(bpfvm__jit *j, int x, int32_t off, unsigned size)
{
    int32_t s = (int32_t)j->stack_size;
    emit_rrr(j, SUB_R, true, X10, x, FRAME);
    emit_add_imm(j, true, X10, X10, (int64_t)off + s);
    emit_cmp_imm(j, true, X10, s - (int32_t)size + 1, false);
}

/* Flags "lo" iff [x + off, +size) is inside the input memory:
 *   x10 = x - mem_start + off; cmp x10, mem_lim */
static void emit_mem_check(bpfvm__jit *j, int x, int32_t off, unsigned size)
{
    emit_rrr(j, ADD_R, true, X10, x, MEMNEG);
    emit_add_imm(j, true, X10, X10, off);
    emit_rrr(j, SUBS_R, true, ZR, X10, lim_reg[size_index(size)]);
}

/* Checked mode: guard the access [r(breg) + off, +size) of slot i. An
 * atomic (rw 3) must also be aligned: its address is computed into x9 after
 * the region check (the stub's call into C does not keep x9, so the stub
 * resumes there). Returns whether x9 holds the address. */
static bool emit_access_check(bpfvm__jit *j, size_t i, int breg, int16_t off, unsigned size,
                              unsigned rw)
{
    size_t k;
    bool in_frame;
    if (!bpfvm__jit_need_check(j, i, breg, off, size, rw, &k, &in_frame))
        return false;
    int x = reg_map[breg];
    if (!in_frame) {
        if (breg == BPFVM_R10 || (j->marks[i] & BPFVM__MARK_STACK))
            emit_frame_check(j, x, off, size);
        else
            emit_mem_check(j, x, off, size);
        emit_bcond_ref(j, HS, BPFVM__FIX_STUB, k);
    }
    uint32_t resume = here(j);
    if (rw == 3) {
        emit_add_imm(j, true, X9, x, off);
        /* tst x9, #size - 1 */
        emit(j, ANDS_I | sf(true) | (uint32_t)logical_imm(size - 1, true) << 10 |
                    (uint32_t)X9 << 5 | ZR);
        emit_bcond_ref(j, NE, BPFVM__FIX_STUB, k);
    }
    if (!j->err)
        j->stubs[k].resume = resume;
    return rw == 3;
}

/* Budget check at a checkpoint: budget < 0 -> stub */
static void emit_budget_check(bpfvm__jit *j, size_t i)
{
    if (!j->metered)
        return;
    bpfvm__jit_stub s = { BPFVM__STUB_BUDGET, 0, 0, 0, 0, (uint32_t)i, 0, 0 };
    size_t k = bpfvm__jit_add_stub(j, &s);
    emit_cond_ref(j, TBNZ | sf(true) | 31u << 19 | BUDGET, BPFVM__FIX_STUB, k); /* bit 63 */
}

/* ---- instructions ------------------------------------------------------ */

static bool is64_alu(uint8_t code) { return BPFVM_CLASS(code) == BPFVM_ALU64; }

/* d = n OP m for add, sub, or, and, xor, mul, div, mod, shifts, mov (= m) */
static void emit_alu_reg(bpfvm__jit *j, uint8_t code, bool is_signed, int d, int n, int m)
{
    bool w = is64_alu(code);
    switch (BPFVM_OP(code)) {
    case BPFVM_ADD: emit_rrr(j, ADD_R, w, d, n, m); break;
    case BPFVM_SUB: emit_rrr(j, SUB_R, w, d, n, m); break;
    case BPFVM_OR:  emit_rrr(j, ORR_R, w, d, n, m); break;
    case BPFVM_AND: emit_rrr(j, AND_R, w, d, n, m); break;
    case BPFVM_XOR: emit_rrr(j, EOR_R, w, d, n, m); break;
    case BPFVM_MUL: emit_rrr(j, MUL_R, w, d, n, m); break;
    case BPFVM_LSH: emit_rrr(j, LSLV_R, w, d, n, m); break;
    case BPFVM_RSH: emit_rrr(j, LSRV_R, w, d, n, m); break;
    case BPFVM_ARSH: emit_rrr(j, ASRV_R, w, d, n, m); break;
    case BPFVM_DIV: /* division by zero gives 0, INT_MIN / -1 = INT_MIN: as the ISA */
        emit_rrr(j, is_signed ? SDIV_R : UDIV_R, w, d, n, m);
        break;
    case BPFVM_MOD: /* n - (n / m) * m: by zero the dividend, INT_MIN % -1 = 0 */
        emit_rrr(j, is_signed ? SDIV_R : UDIV_R, w, X9, n, m);
        emit(j, 0x1b008000u | sf(w) | (uint32_t)m << 16 | (uint32_t)n << 10 |
                    (uint32_t)X9 << 5 | (uint32_t)d); /* msub d, x9, m, n */
        break;
    default: /* MOV */
        emit_mov(j, w, d, m);
        break;
    }
}

/* d = n OP imm (not blinded) */
static void emit_alu_imm(bpfvm__jit *j, uint8_t code, bool is_signed, int d, int n, int32_t imm)
{
    bool w = is64_alu(code);
    uint64_t v = w ? (uint64_t)(int64_t)imm : (uint32_t)imm;
    uint64_t ones = w ? ~0ull : 0xffffffffu;
    unsigned op = BPFVM_OP(code);
    switch (op) {
    case BPFVM_MOV:
        emit_mov_imm(j, w, d, v);
        return;
    case BPFVM_ADD: case BPFVM_SUB:
        emit_add_imm(j, w, d, n, op == BPFVM_ADD ? (int64_t)imm : -(int64_t)imm);
        return;
    case BPFVM_LSH: case BPFVM_RSH: case BPFVM_ARSH: {
        unsigned bits = w ? 64 : 32, k = (unsigned)imm & (bits - 1);
        uint32_t f = sf(w) | (w ? 1u << 22 : 0u) | (uint32_t)n << 5 | (uint32_t)d;
        if (k == 0) {
            if (d != n || !w)
                emit_mov(j, w, d, n);
        } else if (op == BPFVM_LSH) {
            emit(j, UBFM | f | ((bits - k) & (bits - 1)) << 16 | (bits - 1 - k) << 10);
        } else {
            emit(j, (op == BPFVM_RSH ? UBFM : SBFM) | f | k << 16 | (bits - 1) << 10);
        }
        return;
    }
    case BPFVM_OR: case BPFVM_AND: case BPFVM_XOR: {
        int32_t li = logical_imm(v, w);
        if (li >= 0) {
            uint32_t o = op == BPFVM_OR ? ORR_I : op == BPFVM_AND ? AND_I : EOR_I;
            emit(j, o | sf(w) | (uint32_t)li << 10 | (uint32_t)n << 5 | (uint32_t)d);
        } else if (v != 0 && v != ones) {
            break;                                     /* through x13 */
        } else if (v == 0 ? op == BPFVM_AND : op == BPFVM_OR) {
            emit_mov_imm(j, w, d, v);                  /* x & 0 = 0, x | ~0 = ~0 */
        } else if (v == ones && op == BPFVM_XOR) {
            emit_rrr(j, ORN_R, w, d, ZR, n);           /* mvn d, n */
        } else if (d != n || !w) {
            emit_mov(j, w, d, n);                      /* x & ~0, x | 0, x ^ 0 */
        }
        return;
    }
    default:
        break;
    }
    emit_alu_reg(j, code | BPFVM_X, is_signed, d, n, konst(j, v));
}

/* mov dst, src followed by dst OP= (K or a register) in the same block, as
 * one instruction with src as the first operand: mov64 with an op of either
 * width, mov32 with a 32-bit op. Returns the slots used (0: not this shape). */
static size_t emit_mov_op(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *mv = &j->code[i], *in = mv + 1;
    if (i + 1 >= j->count || (j->marks[i + 1] & BPFVM__MARK_LEADER) ||
        (mv->opcode != BPFVM__OP_MOV64_X && mv->opcode != BPFVM__OP_MOV32_X) ||
        in->dst != mv->dst || mv->src == mv->dst)
        return 0;
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    uint8_t code = info->code;
    unsigned op = BPFVM_OP(code);
    if ((info->fmt != BPFVM__FMT_ALU_K && info->fmt != BPFVM__FMT_ALU_X) || op == BPFVM_MOV ||
        (mv->opcode == BPFVM__OP_MOV32_X && is64_alu(code)))
        return 0;
    int d = reg_map[mv->dst], n = reg_map[mv->src];
    if (info->fmt == BPFVM__FMT_ALU_X) {
        emit_alu_reg(j, code, info->value == 1, d, n, in->src == in->dst ? n : reg_map[in->src]);
    } else if (j->blind_state && op != BPFVM_LSH && op != BPFVM_RSH && op != BPFVM_ARSH) {
        emit_imm(j, is64_alu(code), X11, in->imm);
        emit_alu_reg(j, code | BPFVM_X, info->value == 1, d, n, X11);
    } else {
        emit_alu_imm(j, code, info->value == 1, d, n, in->imm);
    }
    return 2;
}

static void emit_endian(bpfvm__jit *j, int op, int dst)
{
    uint32_t r = (uint32_t)dst << 5 | (uint32_t)dst;
    switch (op) {
    case BPFVM__OP_LE16:
        emit(j, UBFM | 15u << 10 | r);                 /* uxth wd, wd */
        break;
    case BPFVM__OP_LE32:
        emit_mov(j, false, dst, dst);
        break;
    case BPFVM__OP_LE64:
        break;
    case BPFVM__OP_BE16:
    case BPFVM__OP_BSWAP16:
        emit(j, 0x5ac00400u | r);                      /* rev16 wd, wd */
        emit(j, UBFM | 15u << 10 | r);                 /* uxth wd, wd */
        break;
    case BPFVM__OP_BE32:
    case BPFVM__OP_BSWAP32:
        emit(j, 0x5ac00800u | r);                      /* rev wd, wd */
        break;
    default: /* BE64, BSWAP64 */
        emit(j, 0xdac00c00u | r);                      /* rev xd, xd */
        break;
    }
}

/* Load/store families: size log2 (0..3), opc 0 store, 1 load, 2 load
 * sign-extended to 64 bits. [base + off] in the shortest form; x11 for
 * offsets no immediate form takes. */
static void emit_mem(bpfvm__jit *j, unsigned lg, unsigned opc, int t, int base, int32_t off)
{
    uint32_t op = 0x38000000u | lg << 30 | opc << 22 | (uint32_t)base << 5 | (uint32_t)t;
    if (off >= 0 && (off & ((1 << lg) - 1)) == 0 && (off >> lg) < 4096) {
        emit(j, op | 1u << 24 | (uint32_t)(off >> lg) << 10);
    } else if (off >= -256 && off < 256) {
        emit(j, op | ((uint32_t)off & 0x1ff) << 12);
    } else {
        emit_mov_imm(j, true, X11, (uint64_t)(int64_t)off);
        emit(j, op | 1u << 21 | (uint32_t)X11 << 16 | 0x6800u);
    }
}

static unsigned size_lg(unsigned size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }

/* atomics on [x9] with src */
static void emit_atomic(bpfvm__jit *j, const labels *l, int op, bool is64, int src)
{
    int aop = bpfvm__ops[op].value;
    uint32_t size = is64 ? 0xc0000000u : 0x80000000u;
    bool fetch = (aop & BPFVM_FETCH) != 0;
    int base = (aop & ~BPFVM_FETCH) & 0xff;
    if (aop == BPFVM_CMPXCHG) {
        if (l->lse) {
            /* casal r0, src, [x9]: r0 = old */
            emit(j, (is64 ? 0xc8e0fc00u : 0x88e0fc00u) | (uint32_t)X0 << 16 | (uint32_t)X9 << 5 |
                        (uint32_t)src);
            return;
        }
        uint32_t loop = here(j);
        emit(j, (is64 ? 0xc85ffc00u : 0x885ffc00u) | (uint32_t)X9 << 5 | X10); /* ldaxr x10, [x9] */
        emit_rrr(j, SUBS_R, is64, ZR, X10, X0);         /* cmp x10, r0 */
        uint32_t p = emit_fwd(j, BCOND | NE);          /* b.ne done */
        emit(j, (is64 ? 0xc800fc00u : 0x8800fc00u) | (uint32_t)X12 << 16 | (uint32_t)X9 << 5 |
                    (uint32_t)src);                    /* stlxr w12, src, [x9] */
        emit_back(j, CBNZ | X12, loop);                /* cbnz w12, loop */
        patch_fwd(j, p);
        emit_mov(j, is64, X0, X10);                    /* r0 = old */
        return;
    }
    if (l->lse) {
        uint32_t o;
        int s = src;
        switch (base) {
        case BPFVM_ADD: o = 0x0000; break;
        case BPFVM_AND: /* clear the bits not in src */
            emit_rrr(j, ORN_R, is64, X10, ZR, src);    /* mvn x10, src */
            s = X10;
            o = 0x1000;
            break;
        case BPFVM_XOR: o = 0x2000; break;
        case BPFVM_OR:  o = 0x3000; break;
        default:        o = 0x8000; break;            /* xchg: swpal */
        }
        /* ld<op>al / swpal s, x11, [x9] */
        emit(j, size | 0x38e00000u | o | (uint32_t)s << 16 | (uint32_t)X9 << 5 | X11);
        if (fetch)
            emit_mov(j, is64, src, X11);
        return;
    }
    /* ldaxr x10, [x9]; x11 = x10 op src; stlxr w12, x11, [x9]; cbnz w12, loop */
    uint32_t loop = here(j);
    emit(j, (is64 ? 0xc85ffc00u : 0x885ffc00u) | (uint32_t)X9 << 5 | X10);
    int v = X11;
    switch (base) {
    case BPFVM_ADD: emit_rrr(j, ADD_R, is64, X11, X10, src); break;
    case BPFVM_AND: emit_rrr(j, AND_R, is64, X11, X10, src); break;
    case BPFVM_XOR: emit_rrr(j, EOR_R, is64, X11, X10, src); break;
    case BPFVM_OR:  emit_rrr(j, ORR_R, is64, X11, X10, src); break;
    default:        v = src; break;                    /* xchg */
    }
    emit(j, (is64 ? 0xc800fc00u : 0x8800fc00u) | (uint32_t)X12 << 16 | (uint32_t)X9 << 5 |
                (uint32_t)v);
    emit_back(j, CBNZ | X12, loop);
    if (fetch)
        emit_mov(j, is64, src, X10);
}

/* ldabs/ldind: r0 = big-endian load from mem at (x + imm), or end the run
 * with r0 = 0 when outside mem */
static void emit_packet_load(bpfvm__jit *j, const labels *l, unsigned size, int x, int32_t imm)
{
    if (x < 0) {
        emit_imm(j, false, X9, imm);                   /* x9 = (u32)imm */
    } else if (j->blind_state) {
        emit_imm(j, true, X9, imm);
        emit_rrr(j, ADD_R, true, X9, X9, x);
    } else {
        emit_add_imm(j, true, X9, x, imm);
    }
    emit_rrr(j, SUBS_R, true, ZR, X9, lim_reg[size_index(size)]);
    emit_bcond_ref(j, HS, BPFVM__FIX_ABS, l->exit_zero);
    emit_rrr(j, SUB_R, true, X9, X9, MEMNEG);          /* + mem_start */
    emit_mem(j, size_lg(size), 1, X0, X9, 0);
    if (size == 2)
        emit(j, 0x5ac00400u);                          /* rev16 w0, w0 */
    else if (size == 4)
        emit(j, 0x5ac00800u);                          /* rev w0, w0 */
    else if (size == 8)
        emit(j, 0xdac00c00u);                          /* rev x0, x0 */
}

/* helper call (imm id) or callx (register): r1..r5 are kept, r0 = result */
static void emit_helper_call(bpfvm__jit *j, const labels *l, size_t i, int idreg)
{
    emit_budget_check(j, i);
    if (idreg >= 0)
        emit_state(j, false, true, idreg, ST_OFF(helper_id));
    emit_mov_imm(j, true, X9, i);
    emit_state(j, false, true, X9, ST_OFF(helper_insn));
    emit_pair(j, false, 1, 1, 2, -64);
    emit_pair(j, false, 0, 3, 4, 16);
    emit_pair(j, false, 0, 5, BUDGET, 32);
    emit_pair(j, false, 0, LR, ZR, 48);
    emit_addsub_imm(j, ADD_I, true, X0, STATE, ST_OFF(ctx), false); /* x0 = &state->ctx */
    bool callbacks = j->metered && j->vm->ncallbacks; /* they spend the budget too */
    if (callbacks)
        emit_state(j, false, true, BUDGET, ST_OFF(budget_left));
    emit_call_c(j, j->rt_helper);                      /* r0 = rt_helper(ctx, r1..r5) */
    emit_pair(j, true, 0, LR, X9, 48);
    emit_pair(j, true, 0, 5, BUDGET, 32);
    if (callbacks)
        emit_state(j, true, true, BUDGET, ST_OFF(budget_left));
    emit_pair(j, true, 0, 3, 4, 16);
    emit_pair(j, true, 2, 1, 2, 64);
    if (j->uses & BPFVM__JIT_USES_MEM)
        emit_state(j, true, true, MEMNEG, ST_OFF(mem_neg));
    j->konst_valid = false;                            /* x13 did not survive */
    emit_state(j, true, false, X9, ST_OFF(rc));        /* a stop requested or an error */
    emit_cond_ref(j, CBNZ | X9, BPFVM__FIX_ABS, l->fault_exit);
}

/* bpf_map_lookup_elem inlined on an array (bpfvm__jit_array_lookup), as
 * the x86-64 backend: the key read inline when the helper would surely
 * accept its pointer (checked: [r2, +4) inside the current frame;
 * unchecked: r2 not NULL), else the helper call.
 *   (checks)                  b.hs/cbz slow
 *   mov x0, 0; ldr w9, [x2]; cmp w9, max; b.hs done
 *   x10 = values; add x0, x10, x9, lsl log2(stride) (madd for other strides)
 *   b done; slow: the helper call; done: */
static void emit_array_lookup(bpfvm__jit *j, const labels *l, size_t i, const bpfvm__jit_array *a)
{
    emit_budget_check(j, i);
    uint32_t slow;
    if (j->checked) {
        emit_frame_check(j, 2, 0, 4);
        slow = emit_fwd(j, BCOND | HS);                /* b.hs slow */
    } else {
        slow = emit_fwd(j, CBZ | sf(true) | 2);        /* cbz x2, slow */
    }
    emit_mov_imm(j, true, X0, 0);                      /* mov x0, 0 */
    emit_mem(j, 2, 1, X9, 2, 0);                       /* ldr w9, [x2] */
    emit_cmp_imm(j, false, X9, a->max_entries, false); /* cmp w9, max_entries */
    uint32_t miss = emit_fwd(j, BCOND | HS);           /* b.hs done */
    emit_mov_imm(j, true, X10, a->values);             /* x10 = values */
    if ((a->stride & (a->stride - 1)) == 0) {          /* add x0, x10, x9, lsl k */
        emit_rrr(j, ADD_R | (uint32_t)__builtin_ctz(a->stride) << 10, true, X0, X10, X9);
    } else {
        emit_mov_imm(j, true, X11, a->stride);         /* madd x0, x9, x11, x10 */
        emit(j, 0x9b000000u | (uint32_t)X11 << 16 | (uint32_t)X10 << 10 | (uint32_t)X9 << 5 | X0);
    }
    uint32_t done = emit_fwd(j, B);                    /* b done */
    patch_fwd(j, slow);
    emit_helper_call(j, l, i, -1);
    patch_fwd(j, done);
    patch_fwd(j, miss);
}

/* local call: depth check, save r6..r9, r10 and x30, next frame, bl */
static void emit_local_call(bpfvm__jit *j, size_t i, size_t t)
{
    int32_t s = (int32_t)j->stack_size;
    emit_budget_check(j, i);
    if (!j->calls_free) {
        bpfvm__jit_stub st = { BPFVM__STUB_CALLDEPTH, 0, 0, 0, 0, (uint32_t)i, 0, 0 };
        size_t k = bpfvm__jit_add_stub(j, &st);
        emit_state(j, true, true, X9, ST_OFF(frame_limit));
        emit_rrr(j, SUBS_R, true, ZR, FRAME, X9);      /* cmp r10, frame_limit */
        emit_bcond_ref(j, HS, BPFVM__FIX_STUB, k);
    }
    emit_pair(j, false, 1, 19, 20, -48);
    emit_pair(j, false, 0, 21, 22, 16);
    emit_pair(j, false, 0, FRAME, LR, 32);
    emit_state(j, false, true, FRAME, CTX_OFF(frame_start)); /* the new frame starts here */
    emit_add_imm(j, true, FRAME, FRAME, s);
    emit_ref(j, BL, 26, BPFVM__FIX_SLOT, t);
    emit_pair(j, true, 0, FRAME, LR, 32);
    emit_pair(j, true, 0, 21, 22, 16);
    emit_pair(j, true, 2, 19, 20, 48);
    emit_add_imm(j, true, X9, FRAME, -s);
    emit_state(j, false, true, X9, CTX_OFF(frame_start));
    j->konst_valid = false;
}

static int jump_cc(uint8_t code)
{
    switch (BPFVM_OP(code)) {
    case BPFVM_JEQ:  return EQ;
    case BPFVM_JNE:  return NE;
    case BPFVM_JSET: return NE;
    case BPFVM_JGT:  return HI;
    case BPFVM_JGE:  return HS;
    case BPFVM_JLT:  return LO;
    case BPFVM_JLE:  return LS;
    case BPFVM_JSGT: return GT;
    case BPFVM_JSGE: return GE;
    case BPFVM_JSLT: return LT;
    default:         return LE; /* JSLE */
    }
}

/* A jump from slot i to slot t: `insn` a conditional branch with its offset
 * field zero, or B. Backward jumps taken are budget checkpoints. */
static void emit_branch(bpfvm__jit *j, size_t i, size_t t, uint32_t insn)
{
    if (t == i + 1)
        return; /* both ways lead to the next slot */
    bool uncond = insn == B;
    if (t > i || !j->metered) {
        if (uncond)
            emit_ref(j, B, 26, BPFVM__FIX_SLOT, t);
        else
            emit_cond_ref(j, insn, BPFVM__FIX_SLOT, t);
        return;
    }
    uint32_t p = 0;
    if (!uncond)
        p = emit_fwd(j, inverse(insn));                /* not taken: skip */
    emit_budget_check(j, i);
    emit_ref(j, B, 26, BPFVM__FIX_SLOT, t);
    if (!uncond)
        patch_fwd(j, p);
}

/* The compare of conditional jump slot i (immediates through x11 when
 * blinding); returns the condition under which it jumps. */
static int emit_compare(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    uint8_t code = bpfvm__ops[in->opcode].code;
    bool w = BPFVM_CLASS(code) == BPFVM_JMP, k = BPFVM_SRC(code) == BPFVM_K;
    int dst = reg_map[in->dst], src = reg_map[in->src];
    unsigned op = BPFVM_OP(code);
    if (k && j->blind_state) {
        emit_imm(j, w, X11, in->imm);
        src = X11;
        k = false;
    }
    if (op == BPFVM_JSET) {
        uint64_t v = w ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm;
        int32_t li = k ? logical_imm(v, w) : -1;
        if (li >= 0) {
            emit(j, ANDS_I | sf(w) | (uint32_t)li << 10 | (uint32_t)dst << 5 | ZR); /* tst */
        } else {
            emit_rrr(j, ANDS_R, w, ZR, dst, k ? konst(j, v) : src); /* tst dst, src */
        }
    } else if (k) {
        emit_cmp_imm(j, w, dst, in->imm, true);
    } else {
        emit_rrr(j, SUBS_R, w, ZR, dst, src);          /* cmp dst, src */
    }
    return jump_cc(code);
}

/* conditional jump slot i */
static void emit_cond_jump(bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    uint8_t code = bpfvm__ops[in->opcode].code;
    bool w = BPFVM_CLASS(code) == BPFVM_JMP;
    unsigned op = BPFVM_OP(code);
    size_t t = bpfvm__jit_dest(j, i);
    if (BPFVM_SRC(code) == BPFVM_K && in->imm == 0 && !j->blind_state &&
        (op == BPFVM_JEQ || op == BPFVM_JNE)) {
        emit_branch(j, i, t, (op == BPFVM_JEQ ? CBZ : CBNZ) | sf(w) | (uint32_t)reg_map[in->dst]);
        return;
    }
    emit_branch(j, i, t, BCOND | (uint32_t)emit_compare(j, i));
}

/* jcc +1; mov D, K|S (clang's lowered select, bpfvm__jit_select: the mov
 * happens when the condition is false): cmp; csel D, D, value, cc, 64-bit
 * from a zero- or sign-extended value (a 32-bit csel would zero-extend D
 * when the condition holds); the value 0 is xzr. */
static size_t emit_select(bpfvm__jit *j, size_t i)
{
    if (!bpfvm__jit_select(j, i))
        return 0;
    const bpfvm_insn *mv = &j->code[i + 1];
    int d = reg_map[mv->dst], v = reg_map[mv->src];
    int cc = emit_compare(j, i);
    if (mv->opcode == BPFVM__OP_MOV64_K || mv->opcode == BPFVM__OP_MOV32_K) {
        uint64_t imm = mv->opcode == BPFVM__OP_MOV64_K ? (uint64_t)(int64_t)mv->imm
                                                       : (uint32_t)mv->imm;
        v = imm == 0 ? ZR : X9;
        if (imm != 0)
            emit_mov_imm(j, true, X9, imm);
    } else if (mv->opcode == BPFVM__OP_MOV32_X) {
        emit_mov(j, false, X9, v);                     /* mov w9, wS */
        v = X9;
    }
    emit_rrr(j, CSEL | (uint32_t)cc << 12, true, d, d, v); /* csel xD, xD, xV, cc */
    return 2;
}

/* Translate slot i (and the second slot of lddw); returns the slots used. */
static size_t emit_insn(bpfvm__jit *j, const labels *l, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    int op = in->opcode;
    const bpfvm__opinfo *info = &bpfvm__ops[op];
    uint8_t code = info->code;
    int dst = reg_map[in->dst], src = reg_map[in->src];

    if (j->marks[i] & BPFVM__MARK_LEADER)
        j->konst_valid = false; /* jumps land here */
    if (j->metered && j->charge[i])
        emit_add_imm(j, true, BUDGET, BUDGET, -(int64_t)j->charge[i]);
    size_t fused = emit_mov_op(j, i);
    if (!fused)
        fused = emit_select(j, i);
    if (fused)
        return fused;

    switch (info->fmt) {
    case BPFVM__FMT_ALU_K: {
        unsigned aop = BPFVM_OP(code);
        if (j->blind_state && aop != BPFVM_LSH && aop != BPFVM_RSH && aop != BPFVM_ARSH) {
            /* the immediate through x11 (the X form); shift counts are not blinded */
            emit_imm(j, is64_alu(code), X11, in->imm);
            emit_alu_reg(j, code | BPFVM_X, info->value == 1, dst, dst, X11);
            return 1;
        }
        emit_alu_imm(j, code, info->value == 1, dst, dst, in->imm);
        return 1;
    }
    case BPFVM__FMT_ALU_X:
        if (BPFVM_OP(code) == BPFVM_MOV && info->value != 0) {
            bool w = is64_alu(code);
            /* sxtb / sxth / sxtw: sbfm dst, src, #0, #bits - 1 */
            emit(j, SBFM | sf(w) | (w ? 1u << 22 : 0u) | (uint32_t)(info->value - 1) << 10 |
                        (uint32_t)src << 5 | (uint32_t)dst);
            return 1;
        }
        emit_alu_reg(j, code, info->value == 1, dst, dst, src);
        return 1;
    case BPFVM__FMT_NEG:
        emit_rrr(j, SUB_R, is64_alu(code), dst, ZR, dst);
        return 1;
    case BPFVM__FMT_END:
        emit_endian(j, op, dst);
        return 1;
    case BPFVM__FMT_JMP_K:
    case BPFVM__FMT_JMP_X:
        emit_cond_jump(j, i);
        return 1;
    case BPFVM__FMT_JA:
    case BPFVM__FMT_JA32:
        emit_branch(j, i, bpfvm__jit_dest(j, i), B);
        return 1;
    case BPFVM__FMT_CALL: {
        bpfvm__jit_array a;
        if (bpfvm__jit_array_lookup(j, i, &a))
            emit_array_lookup(j, l, i, &a);
        else
            emit_helper_call(j, l, i, -1);
        return 1;
    }
    case BPFVM__FMT_CALLX:
        emit_helper_call(j, l, i, dst);
        return 1;
    case BPFVM__FMT_CALL_LOCAL:
        emit_local_call(j, i, bpfvm__jit_dest(j, i));
        return 1;
    case BPFVM__FMT_EXIT:
        emit(j, RET);
        return 1;
    case BPFVM__FMT_LDX: {
        unsigned size = bpfvm__jit_access_size(code);
        emit_access_check(j, i, in->src, in->off, size, 0);
        bool sx = op == BPFVM__OP_LDXSB || op == BPFVM__OP_LDXSH || op == BPFVM__OP_LDXSW;
        emit_mem(j, size_lg(size), sx ? 2 : 1, dst, src, in->off);
        return 1;
    }
    case BPFVM__FMT_ST: {
        unsigned size = bpfvm__jit_access_size(code);
        emit_access_check(j, i, in->dst, in->off, size, 1);
        int v = ZR;
        if (j->blind_state) {
            emit_imm(j, true, X10, in->imm);
            v = X10;
        } else if (in->imm != 0) {
            v = konst(j, (uint64_t)(int64_t)in->imm);
        }
        emit_mem(j, size_lg(size), 0, v, dst, in->off);
        return 1;
    }
    case BPFVM__FMT_STX: {
        unsigned size = bpfvm__jit_access_size(code);
        emit_access_check(j, i, in->dst, in->off, size, 1);
        emit_mem(j, size_lg(size), 0, src, dst, in->off);
        return 1;
    }
    case BPFVM__FMT_ATOMIC: {
        unsigned size = bpfvm__jit_access_size(code);
        if (!emit_access_check(j, i, in->dst, in->off, size, 3))
            emit_add_imm(j, true, X9, dst, in->off);   /* x9 = address */
        emit_atomic(j, l, op, size == 8, src);
        return 1;
    }
    case BPFVM__FMT_LDDW: {
        uint64_t v = bpfvm__lddw_value(in);
        if (j->blind_state) {
            uint64_t key = (uint64_t)bpfvm__jit_blind_key(j) << 32 | bpfvm__jit_blind_key(j);
            emit_mov_imm(j, true, dst, v ^ key);
            emit_mov_imm(j, true, X11, key);
            emit_rrr(j, EOR_R, true, dst, dst, X11);
        } else {
            emit_mov_imm(j, true, dst, v);
        }
        return 2;
    }
    case BPFVM__FMT_LDABS:
        emit_packet_load(j, l, bpfvm__jit_access_size(code), -1, in->imm);
        return 1;
    default: /* LDIND */
        emit_packet_load(j, l, bpfvm__jit_access_size(code), src, in->imm);
        return 1;
    }
}

/* ---- stubs ------------------------------------------------------------- */

static void emit_stub(bpfvm__jit *j, const labels *l, const bpfvm__jit_stub *s)
{
    if (s->kind != BPFVM__STUB_MEMORY) {
        emit_mov_imm(j, false, 1, s->insn);            /* w1 = insn */
        emit_back(j, B, s->kind == BPFVM__STUB_BUDGET ? l->raise_budget : l->raise_calldepth);
        return;
    }
    int x = reg_map[s->reg];
    if (s->write != 3) { /* atomics: always the C check, which tests alignment too */
        /* the region the fast path did not try */
        if (s->reg == BPFVM_R10 || (j->marks[s->insn] & BPFVM__MARK_STACK))
            emit_mem_check(j, x, s->off, s->size);
        else
            emit_frame_check(j, x, s->off, s->size);
        emit_bcond_ref(j, LO, BPFVM__FIX_ABS, s->resume);
    }
    emit_add_imm(j, true, X9, x, s->off);
    emit_mov_imm(j, true, X10, (uint64_t)s->rmw << 32 | (uint64_t)s->insn << 6 |
                                   (uint64_t)s->write << 4 | s->size);
    emit(j, 0xf81f0fe0u | LR);                         /* str x30, [sp, #-16]! */
    emit_back(j, BL, l->check_slow);
    emit(j, 0xf84107e0u | LR);                         /* ldr x30, [sp], #16 */
    emit_ref(j, B, 26, BPFVM__FIX_ABS, s->resume);
}

/* ---- fixups, the whole translation -------------------------------------- */

static void apply_fixups(bpfvm__jit *j)
{
    if (j->err)
        return;
    for (size_t k = 0; k < j->nfixups; k++) {
        const bpfvm__jit_fixup *f = &j->fixups[k];
        int64_t d = ((int64_t)bpfvm__jit_fixup_target(j, f) - (int64_t)(f->at - 4)) / 4;
        int64_t lim = (int64_t)1 << (f->width - 1);
        if (d < -lim || d >= lim) {
            j->err = BPFVM_EJIT;
            return;
        }
        uint32_t insn, field = (uint32_t)d & (uint32_t)((1ull << f->width) - 1);
        memcpy(&insn, j->buf + f->at - 4, 4);
        insn |= f->width == 26 ? field : field << 5;
        memcpy(j->buf + f->at - 4, &insn, 4);
    }
}

/* One translation in range mode j->range. */
static void translate(bpfvm__jit *j, labels *l)
{
    j->len = 0;
    j->nstubs = 0;
    j->nfixups = 0;
    j->rmw_store = 0;
    j->konst_valid = false;
    emit_common(j, l);
    emit_callback_entry(j, l);
    for (size_t i = 0; i < j->count && !j->err;) {
        j->off[i] = here(j);
        size_t n = emit_insn(j, l, i);
        for (size_t k = 1; k < n; k++)
            j->off[i + k] = here(j); /* never a jump target */
        i += n;
    }
    j->off[j->count] = here(j);
    /* falling off the end of the program */
    emit_mov_imm(j, false, 1, j->count);
    emit_back(j, B, l->raise_badcode);
    for (size_t k = 0; k < j->nstubs && !j->err; k++) {
        j->stub_off[k] = here(j);
        emit_stub(j, l, &j->stubs[k]);
    }
}

static void compile(bpfvm__jit *j)
{
    labels l;
    memset(&l, 0, sizeof(l));
    l.lse = (getauxval(AT_HWCAP) & HWCAP_ATOMICS) != 0;
    /* code up to 32 KiB: every form reaches; up to 1 MiB: all but tbz */
    static const size_t reach[3] = { 32764, 1048572, 134217724 };
    for (j->range = 0; j->range < 3; j->range++) {
        translate(j, &l);
        if (j->err || j->len <= reach[j->range])
            break;
    }
    if (!j->err && j->range == 3)
        j->err = BPFVM_EJIT;
    apply_fixups(j);
}

const bpfvm__jit_arch bpfvm__jit_host = { "arm64", false, 0xd4200000u /* brk #0 */, compile };
#endif /* __aarch64__ */
