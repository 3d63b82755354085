/* interp.c - the interpreter.
 *
 * Runs vm->interp_code, its own decoding of the pre-decoded program (see
 * `icode` below), whose op field holds the row id of src/opcodes.def. Every
 * row has a handler below; the dispatch table is generated from opcodes.def,
 * so under computed goto a row without a handler (or a handler without a
 * row) does not compile.
 *
 * State kept in locals for speed: the registers, pc as a pointer into the
 * code, the current slot's fields as one word (`w`), the executed-instruction
 * count and the bounds of the current stack frame and the input memory
 * (checked inline before the general bpfvm__access_ok).
 *
 * Instruction count: straight-line code is not counted one by one. `stop`
 * is the address pc reaches when the budget is used up if it only moves one
 * slot at a time: the instructions completed before the current one are
 * EXECUTED = limit - (stop - pc) / slot size. Whatever moves pc other than
 * by one slot (taken jumps, lddw, calls, returns) moves `stop` by as much,
 * so that it counts one instruction. An instruction that checks the budget
 * counts itself: the check is EXECUTED + 1 > limit, i.e. pc >= stop. No
 * budget is a budget of 2^58 instructions (years of run time), which keeps
 * `stop` from wrapping around.
 */
#include <string.h>

#include "internal.h"

/* Traced runs (debug.c) use this interpreter compiled a second time, by
 * interp_trace.c: decoded without fused forms, so that every instruction is
 * dispatched on its own, and calling the trace hook before each. INTERP()
 * names that build's entry points; FUSE is 0 in it. The normal build is
 * unchanged by it. */
#ifdef BPFVM_INTERP_TRACED
#define INTERP(name) name##_traced
#define FUSE 0
#else
#define INTERP(name) name
#define FUSE 1
#endif

#if !defined(BPFVM_NO_COMPUTED_GOTO) && !defined(__GNUC__)
#define BPFVM_NO_COMPUTED_GOTO
#endif

/* Under gcc's sanitizers (make asan), the points-to analysis of the
 * instrumented dispatch function is superlinear in the number of handlers:
 * it took most of interp.c's compile time (48 of 55 s); the instrumented
 * build does without it. */
#if defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
#pragma GCC optimize("no-tree-pta")
#endif

/* ---- arithmetic that C leaves undefined or the ISA defines differently -- */

static inline uint64_t sdiv64(uint64_t a, uint64_t b)
{
    if (b == 0)
        return 0;
    if (b == UINT64_MAX) /* x / -1 = -x; INT64_MIN / -1 = INT64_MIN */
        return 0 - a;
    return (uint64_t)((int64_t)a / (int64_t)b);
}

static inline uint64_t smod64(uint64_t a, uint64_t b)
{
    if (b == 0)
        return a;
    if (b == UINT64_MAX) /* x % -1 = 0, including INT64_MIN */
        return 0;
    return (uint64_t)((int64_t)a % (int64_t)b);
}

static inline uint32_t sdiv32(uint32_t a, uint32_t b)
{
    if (b == 0)
        return 0;
    if (b == UINT32_MAX)
        return 0 - a;
    return (uint32_t)((int32_t)a / (int32_t)b);
}

static inline uint32_t smod32(uint32_t a, uint32_t b)
{
    if (b == 0)
        return a;
    if (b == UINT32_MAX)
        return 0;
    return (uint32_t)((int32_t)a % (int32_t)b);
}

#define bswap8(x) (x) /* one byte: nothing to swap */
static inline uint16_t bswap16(uint16_t x) { return __builtin_bswap16(x); }
static inline uint32_t bswap32(uint32_t x) { return __builtin_bswap32(x); }
static inline uint64_t bswap64(uint64_t x) { return __builtin_bswap64(x); }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TO_LE(w, x) bswap##w(x)
#define TO_BE(w, x) (x)
#else
#define TO_LE(w, x) (x)
#define TO_BE(w, x) bswap##w(x)
#endif

/* ---- the operator tables ------------------------------------------------ */

/* ALU operations: dst = EXPR(a = dst, b = operand), 64-bit and 32-bit. */
#define ALU_OPS(X)                                                                      \
    /* name  64-bit                                32-bit                            */ \
    X(ADD,   a + b,                                a + b)                               \
    X(SUB,   a - b,                                a - b)                               \
    X(MUL,   a * b,                                a * b)                               \
    X(DIV,   b ? a / b : 0,                        b ? a / b : 0)                       \
    X(SDIV,  sdiv64(a, b),                         sdiv32(a, b))                        \
    X(MOD,   b ? a % b : a,                        b ? a % b : a)                       \
    X(SMOD,  smod64(a, b),                         smod32(a, b))                        \
    X(OR,    a | b,                                a | b)                               \
    X(AND,   a & b,                                a & b)                               \
    X(XOR,   a ^ b,                                a ^ b)                               \
    X(LSH,   a << (b & 63),                        a << (b & 31))                       \
    X(RSH,   a >> (b & 63),                        a >> (b & 31))                       \
    X(ARSH,  (uint64_t)((int64_t)a >> (b & 63)),   (uint32_t)((int32_t)a >> (b & 31)))  \
    X(MOV,   ((void)a, b),                         ((void)a, b))

/* Each ALU operation as a function, for the fused pairs below. */
#define ALU_FN(NAME, EXPR64, EXPR32)                                                    \
    static inline uint64_t alu64_##NAME(uint64_t a, uint64_t b) { return (EXPR64); }    \
    static inline uint32_t alu32_##NAME(uint32_t a, uint32_t b) { return (EXPR32); }
ALU_OPS(ALU_FN)

/* Pairs of ALU instructions on one register (`rX op1= K|rY; rX op2= K|rZ`,
 * both ALU64 or both ALU32) that run as one form: the pairs clang emits
 * most in hashes, checksums and dot products. */
#define ALU_PAIRS(X)                                                                    \
    X(MUL, ADD)   /* multiply-accumulate */                                             \
    X(XOR, MUL)   /* hash ^= byte; hash *= prime */                                     \
    X(AND, XOR)   /* masked feedback (CRC) */                                           \
    X(RSH, AND)   /* bit field extraction */                                            \
    X(AND, ADD)   /* masked sums (population counts) */

/* Conditional jumps: taken if COND(a = dst, b = operand), compared as T64 in
 * JMP and as T32 (low halves) in JMP32. */
#define JCOND_OPS(X)                                                                    \
    /* name  64-bit     32-bit    condition */                                          \
    X(JEQ,   uint64_t,  uint32_t, a == b)                                               \
    X(JNE,   uint64_t,  uint32_t, a != b)                                               \
    X(JSET,  uint64_t,  uint32_t, (a & b) != 0)                                         \
    X(JGT,   uint64_t,  uint32_t, a > b)                                                \
    X(JGE,   uint64_t,  uint32_t, a >= b)                                               \
    X(JLT,   uint64_t,  uint32_t, a < b)                                                \
    X(JLE,   uint64_t,  uint32_t, a <= b)                                               \
    X(JSGT,  int64_t,   int32_t,  a > b)                                                \
    X(JSGE,  int64_t,   int32_t,  a >= b)                                               \
    X(JSLT,  int64_t,   int32_t,  a < b)                                                \
    X(JSLE,  int64_t,   int32_t,  a <= b)

/* Loads: dst = *(T *)(src + off); T signed for the sign-extending ones. */
#define LOAD_OPS(X)                                                                     \
    X(LDXB,  uint8_t)                                                                   \
    X(LDXH,  uint16_t)                                                                  \
    X(LDXW,  uint32_t)                                                                  \
    X(LDXDW, uint64_t)                                                                  \
    X(LDXSB, int8_t)                                                                    \
    X(LDXSH, int16_t)                                                                   \
    X(LDXSW, int32_t)

/* Stores: *(T *)(dst + off) = VALUE, of an immediate or of a register. */
#define STORE_IMM_OPS(X)                                                                \
    X(STB,   uint8_t,  IMM)                                                             \
    X(STH,   uint16_t, IMM)                                                             \
    X(STW,   uint32_t, IMM)                                                             \
    X(STDW,  uint64_t, IMM64)
#define STORE_REG_OPS(X)                                                                \
    X(STXB,  uint8_t,  SRC)                                                             \
    X(STXH,  uint16_t, SRC)                                                             \
    X(STXW,  uint32_t, SRC)                                                             \
    X(STXDW, uint64_t, SRC)

/* Forms (handler ids): the rows of opcodes.def (same ids as enum
 * bpfvm__opid), then the interpreter's own forms, chosen at decoding:
 * - NAME_BACK: a jump whose offset is negative (it checks the budget; the
 *   forward forms do not test the sign);
 * - NAME64_K3, NAME64_X3: `rX = rY` followed by `rX op= K` or `rX op= rZ`,
 *   fused into rX = rY op K|rZ (two slots; the second keeps its own decoding
 *   for jumps that land on it);
 * - NAME32_K3: `rX = (u32)rY` followed by `rX op= K` (32-bit), fused into
 *   rX = (u32)rY op K (two slots, as above);
 * - NAME_ADD3: ADD64_X3 followed by a load from or a store to the address
 *   in the register it computes (`rX = rY; rX += rZ; rW = *(T *)(rX + off)`
 *   or `*(T *)(rX + off) = rW`), three slots; the first slot carries off
 *   and rW too; NAME_SADD3: the same after `rZ <<= K` (array indexing),
 *   four slots;
 * - NAME_P: a conditional jump after a "step" (`rX = rY`, `rX += K` or
 *   `rX = K`, all run as rX = rY + K), two slots;
 * - NAME_PP: a conditional jump after two steps, three slots;
 * - NAME_P3: a conditional jump after ADD64_K3 (`rX = rY; rX += K`, the
 *   same step in two slots), three slots;
 * - TEST_JEQ, TEST_JNE: AND64_K3 followed by `jeq|jne rX, 0` (a bit test,
 *   `if (y & K)`), three slots;
 * - MUL_ADD64_KX, ...: two ALU instructions on one register (ALU_PAIRS),
 *   two slots;
 * - STEP2: two steps in a row, two slots;
 * - STXB_P, ...: a store of a register after a step, two slots;
 * - NAME64_LDDW: `lddw rY, K` followed by a 64-bit ALU instruction reading
 *   rY (`rX op= rY`), run with K for rY (rY still gets K), three slots;
 * - NAME_OVER: a 64-bit conditional jump by +1 over a `ja` (the loop test
 *   clang writes as `if (done) skip; ja loop`), two slots; NAME_P_OVER: the
 *   same after a step, three slots;
 * - NAME64_K_ACC, ..., NEG32_ACC: an ALU instruction whose operand rX was
 *   the result of the instruction before it (see `acc`); STXB_ACC, ...: a
 *   store of a register that was.
 * OWN_FORMS lists the latter as FORM(name), for the user's FORM. */
#define JCOND_FORMS(NAME, T64, T32, COND)                                               \
    FORM(NAME##_K_BACK) FORM(NAME##_X_BACK) FORM(NAME##32_K_BACK) FORM(NAME##32_X_BACK) \
    FORM(NAME##_K_P) FORM(NAME##_X_P) FORM(NAME##32_K_P) FORM(NAME##32_X_P)             \
    FORM(NAME##_K_PP) FORM(NAME##_X_PP) FORM(NAME##32_K_PP) FORM(NAME##32_X_PP)         \
    FORM(NAME##_K_P3) FORM(NAME##_X_P3) FORM(NAME##32_K_P3) FORM(NAME##32_X_P3)         \
    FORM(NAME##_K_OVER) FORM(NAME##_X_OVER) FORM(NAME##_K_P_OVER) FORM(NAME##_X_P_OVER)
#define ALU_FORMS(NAME, EXPR64, EXPR32)                                                 \
    FORM(NAME##64_K3) FORM(NAME##64_X3) FORM(NAME##32_K3) FORM(NAME##64_LDDW)           \
    FORM(NAME##64_K_ACC) FORM(NAME##64_X_ACC) FORM(NAME##32_K_ACC) FORM(NAME##32_X_ACC)
#define PAIR_FORMS(A, B)                                                                \
    FORM(A##_##B##64_KK) FORM(A##_##B##64_KX) FORM(A##_##B##64_XK) FORM(A##_##B##64_XX) \
    FORM(A##_##B##32_KK) FORM(A##_##B##32_KX) FORM(A##_##B##32_XK) FORM(A##_##B##32_XX)
#define LOAD_FORMS(NAME, T) FORM(NAME##_ADD3) FORM(NAME##_SADD3)
#define STORE_FORMS(NAME, T, VALUE) FORM(NAME##_ADD3) FORM(NAME##_SADD3) FORM(NAME##_ACC) \
                                    FORM(NAME##_P)
#define OWN_FORMS                                                                       \
    JCOND_OPS(JCOND_FORMS) FORM(JA_BACK) FORM(JA32_BACK)                                \
    ALU_OPS(ALU_FORMS) FORM(NEG64_ACC) FORM(NEG32_ACC) LOAD_OPS(LOAD_FORMS)             \
    STORE_REG_OPS(STORE_FORMS) FORM(STEP2) FORM(TEST_JEQ) FORM(TEST_JNE) ALU_PAIRS(PAIR_FORMS)
#define ROW_FORM(name, code, mnem, fmt, disc, value, group) FORM(name)
enum iop {
#define FORM(name) IOP_##name,
#define INSN ROW_FORM
#include "opcodes.def"
    OWN_FORMS
#undef FORM
    IOP_COUNT
};

/* ---- dispatch ------------------------------------------------------------ */

#ifndef BPFVM_NO_COMPUTED_GOTO
#define DISPATCH()    { w = pc->w; TRACE_HOOK(); goto *pc->h.handler; }
#define CASE(name)    L_##name
#define RUN_BEGIN     DISPATCH();
#define RUN_END
#else
#define DISPATCH()    continue
#define CASE(name)    case IOP_##name
#define RUN_BEGIN     for (;;) { w = pc->w; TRACE_HOOK(); switch (pc->h.op) {
#define RUN_END       default: goto bad_opcode; } }
#endif

/* The trace hook before each instruction (its error ends the run; a
 * counting run counts each instruction and calls it only where the call
 * depth changed), the call sites of the active local calls, and the hook's
 * last call once the run has ended. */
#ifdef BPFVM_INTERP_TRACED
#define TRACE_HOOK()                                                                    \
    do {                                                                                \
        if (counts) {                                                                   \
            counts[INDEX]++;                                                            \
            if (LIKELY(depth == hooked_depth))                                          \
                break;                                                                  \
            hooked_depth = depth;                                                       \
        }                                                                               \
        if (UNLIKELY((rc = bpfvm__trace_step(ctx, (size_t)INDEX, reg, depth, EXECUTED)))) \
            goto out;                                                                   \
    } while (0)
#define TRACE_LOCALS  uint64_t *const counts = ctx->trace->counts; unsigned hooked_depth = 0;
#define TRACE_CALL()  (ctx->trace->calls[depth] = (size_t)INDEX)
#define TRACE_END()   ((void)bpfvm__trace_step(ctx, BPFVM_TRACE_END, reg, depth, ctx->executed))
/* after a helper whose callbacks ran (the count moved): the depth changed
 * twice since the hook's last call, which a counting run must see */
#define TRACE_HELPER_DONE() (hooked_depth = ctx->executed != EXECUTED + 1 ? ~0u : hooked_depth)
#define RUN_CODE      (ctx->trace->code)
#else
#define TRACE_HOOK()  ((void)0)
#define TRACE_LOCALS
#define TRACE_CALL()  ((void)0)
#define TRACE_END()   ((void)0)
#define TRACE_HELPER_DONE() ((void)0)
#define RUN_CODE      (vm->interp_code)
#endif

/* Finish the current instruction and go to the next slot. (A plain block:
 * `continue` must reach the dispatch loop, not a do-while.) */
#define NEXT          { pc++; DISPATCH(); }
#define NEXT2         { pc += 2; DISPATCH(); } /* after a fused pair */

/* Operands of the current instruction, from `w` (see icode). */
#define DST           reg[(uint8_t)w]
#define SRC           reg[(uint8_t)(w >> 8)]
#define SRC2          reg[(uint8_t)(w >> 32)] /* rZ of a fused NAME64_X3 */
#define REG3          reg[(uint8_t)(w >> 40)] /* rW of a fused NAME_ADD3 */
#define IMM           ((int32_t)(w >> 32))
#define OFF           ((int16_t)(w >> 16))
#define MOFF          IMM64 /* off of a load or of a store of a register: the
                               decoder copies it to imm, which they do not use */
/* Moves to the next slot inside a fused handler. */
#define ADVANCE(n)    { pc += (n); w = pc->w; }
#define IMM64         ((uint64_t)((int64_t)w >> 32)) /* sign-extended */
#define LDDW_VALUE    ((uint32_t)IMM | (pc[1].w >> 32 << 32)) /* of an lddw at pc */
#define INDEX         ((int64_t)(pc - code))
#define PC_ADDR       ((uint64_t)(uintptr_t)pc)
#define EXECUTED      (limit - (uint64_t)((int64_t)(stop - PC_ADDR) / (int64_t)sizeof(icode)))
#define MAX_BUDGET    ((uint64_t)1 << 58)

/* Slow paths (faults, the budget running out) out of the handlers' way. */
#define UNLIKELY(x)   __builtin_expect(!!(x), 0)
#define LIKELY(x)     __builtin_expect(!!(x), 1)

/* Stop the run with the error code that `set` returns (it fills ctx->err). */
#define FAIL(set)     do { rc = (set); goto out; } while (0)

/* The budget: the current instruction counts. */
#define BUDGET_CHECK() do { if (UNLIKELY(PC_ADDR >= stop)) goto budget_exhausted; } while (0)

/* Taken jump by `b` bytes (slots * sizeof(icode)) from the next
 * instruction; a backward one checks the budget first. The decoder writes
 * the bytes where they cost fewest operations on the way from the word
 * dispatch loaded to the next pc (the chain a loop's back edge waits on):
 * ja/ja32 as the whole word (JA_BYTES); conditional jumps by immediate in
 * bits 8-31, src and off, which they do not read (KBYTES). Those by
 * register keep dst and src where every handler reads them and the bytes
 * in imm (XBYTES): their loop back edges take the target from the jump
 * cache below, and the registers cost two operations fewer there. */
#define JUMP(b)                                                                         \
    do {                                                                                \
        int64_t b_ = (b);                                                               \
        pc = (const icode *)(const void *)((const char *)pc + b_);                      \
        stop += (uint64_t)b_;                                                           \
    } while (0)
#define JA_BYTES      ((int64_t)w)
#define XBYTES        ((int64_t)w >> 32)
#define KBYTES        ((int64_t)(int32_t)(uint32_t)w >> 8)
/* JUMP through the jump cache: two (slot, target) pairs in locals, the
 * last two jumps taken from a slot not already there. On a hit the next pc is
 * a register picked by a predicted branch: it does not wait for `w` and the
 * offset taken out of it, the chain a loop's back edge is otherwise bound by
 * (a slot always jumps to the same target). Used by the jumps that check the
 * budget; forward ones gained nothing from it. */
#define JUMP_CACHED(b)                                                                  \
    do {                                                                                \
        int64_t c_ = (b);                                                               \
        stop += (uint64_t)c_;                                                           \
        if (LIKELY(pc == jc_from))                                                      \
            pc = jc_to;                                                                 \
        else if (LIKELY(pc == jc_from2))                                                \
            pc = jc_to2;                                                                \
        else {                                                                          \
            jc_from2 = jc_from;                                                         \
            jc_to2 = jc_to;                                                             \
            jc_from = pc;                                                               \
            pc = (const icode *)(const void *)((const char *)pc + c_);                  \
            jc_to = pc;                                                                 \
        }                                                                               \
    } while (0)
#define JUMP_BACK(b)  do { BUDGET_CHECK(); JUMP_CACHED(b); } while (0)
/* The same for a jump whose direction the handler does not know: the sign
 * is tested only when the budget check fails (once a run), on a path of its
 * own so that the usual one runs straight through. A plain block: NEXT. */
#define JUMP_ANY(b)                                                                     \
    {                                                                                   \
        int64_t a_ = (b);                                                               \
        if (UNLIKELY(PC_ADDR >= stop)) {                                                \
            if (a_ < 0)                                                                 \
                goto budget_exhausted;                                                  \
            JUMP(a_);                                                                   \
            NEXT;                                                                       \
        }                                                                               \
        JUMP_CACHED(a_);                                                                \
    }

/* May the program access [addr, addr+size)? Tried first: the region the
 * last access hit (the current stack frame or the input memory, both
 * read-write and at least 8 bytes long), as one compare against the last
 * offset where 8 bytes fit (a narrower access at the very end of the region
 * takes the slow way); then those two regions exactly, then everything else
 * through bpfvm__access_ok. ALLOWED is the slow check. Unchecked runs make
 * the last-hit region the whole address space, so the first compare always
 * passes. */
#define HIT(lo, len)  do { hit_neg = 0 - (lo); hit_last = (len) - 8; } while (0)
#define CHECKED_ACCESS(addr, size, ALLOWED, write)                                      \
    do {                                                                                \
        if (UNLIKELY((addr) + hit_neg > hit_last)) {                                    \
            if ((addr) - frame_lo <= frame_len - (size))                                \
                HIT(frame_lo, frame_len);                                               \
            else if (mem_len >= 8 && (addr) - mem_lo <= mem_len - (size))               \
                HIT(mem_lo, mem_len);                                                   \
            else if (!(ALLOWED))                                                        \
                FAIL(bpfvm__memory_fault(ctx, INDEX, (addr), (size), (write)));         \
        }                                                                               \
    } while (0)
#define ACCESS(addr, size, write)                                                       \
    CHECKED_ACCESS(addr, size, bpfvm__access_ok(ctx, (addr), (size), (write)), write)
/* Atomics read and write: both permissions are needed. */
#define ACCESS_RW(addr, size)                                                           \
    CHECKED_ACCESS(addr, size, bpfvm__access_ok(ctx, (addr), (size), false) &&         \
                               bpfvm__access_ok(ctx, (addr), (size), true), true)

#define PTR(addr)     ((void *)(uintptr_t)(addr))

/* ---- operator families, as tables ---------------------------------------- */

/* ALU: ALU64 immediates are sign-extended, ALU32 works on the low halves
 * and zero-extends the result. Every form leaves its result in `acc` too;
 * the _ACC forms take rX from there. */
#define ALU_FORM(NAME, SFX, A64, A32, EXPR64, EXPR32)                                   \
    CASE(NAME##64_K##SFX): { uint64_t a = A64, b = IMM64; DST = acc = (EXPR64); } NEXT; \
    CASE(NAME##64_X##SFX): { uint64_t a = A64, b = SRC; DST = acc = (EXPR64); } NEXT;   \
    CASE(NAME##32_K##SFX): { uint32_t a = A32, b = (uint32_t)IMM;                       \
                             DST = acc = (uint32_t)(EXPR32); } NEXT;                    \
    CASE(NAME##32_X##SFX): { uint32_t a = A32, b = (uint32_t)SRC;                       \
                             DST = acc = (uint32_t)(EXPR32); } NEXT;
#define ALU(NAME, EXPR64, EXPR32)                                                       \
    ALU_FORM(NAME, , DST, (uint32_t)DST, EXPR64, EXPR32)                                \
    ALU_FORM(NAME, _ACC, acc, (uint32_t)acc, EXPR64, EXPR32)                            \
    CASE(NAME##64_K3): { uint64_t a = SRC, b = IMM64; DST = acc = (EXPR64); } NEXT2;    \
    CASE(NAME##64_X3): { uint64_t a = SRC, b = SRC2; DST = acc = (EXPR64); } NEXT2;    \
    CASE(NAME##32_K3): { uint32_t a = (uint32_t)SRC, b = (uint32_t)IMM;                \
                         DST = acc = (uint32_t)(EXPR32); } NEXT2;                       \
    CASE(NAME##64_LDDW): { uint64_t b = LDDW_VALUE; DST = b; stop += sizeof(icode);     \
                           ADVANCE(2) uint64_t a = DST; DST = acc = (EXPR64); } NEXT;

/* A pair (see ALU_PAIRS): the first result is stored before the second
 * instruction's fields are read, in case its rZ is rX. */
#define PAIR_FORM(A, B, W, K1, B1, K2, B2)                                              \
    CASE(A##_##B##W##_##K1##K2): { uint##W##_t v = alu##W##_##A((uint##W##_t)DST, B1);  \
                                   DST = v; ADVANCE(1)                                  \
                                   DST = acc = alu##W##_##B(v, B2); } NEXT;
#define PAIR(A, B)                                                                      \
    PAIR_FORM(A, B, 64, K, IMM64, K, IMM64) PAIR_FORM(A, B, 64, K, IMM64, X, SRC)      \
    PAIR_FORM(A, B, 64, X, SRC, K, IMM64) PAIR_FORM(A, B, 64, X, SRC, X, SRC)          \
    PAIR_FORM(A, B, 32, K, (uint32_t)IMM, K, (uint32_t)IMM)                            \
    PAIR_FORM(A, B, 32, K, (uint32_t)IMM, X, (uint32_t)SRC)                            \
    PAIR_FORM(A, B, 32, X, (uint32_t)SRC, K, (uint32_t)IMM)                            \
    PAIR_FORM(A, B, 32, X, (uint32_t)SRC, X, (uint32_t)SRC)

/* A step: rX = rY + K, the form in which the decoder writes `rX = rY`
 * (K = 0), `rX += K` (rY = rX) and `rX = K` (rY = ZERO_REG); a step leaves
 * the instruction's own handler unchanged (it reads no more fields). STEP
 * runs the one in the current slot and moves to the next. */
#define ZERO_REG      11 /* always 0: the verifier rejects r11 in programs */
#define STEP          { DST = acc = SRC + IMM64; ADVANCE(1) }

/* One conditional jump form, forward, backward, and after a step or two;
 * JB is the taken jump in bytes. JMP immediates are sign-extended. */
#define JFORM(NAME, T, A, B, COND, JB)                                                  \
    CASE(NAME):         { T a = (T)(A), b = (T)(B); if (COND) JUMP(JB); } NEXT;         \
    CASE(NAME##_BACK):  { T a = (T)(A), b = (T)(B); if (COND) JUMP_BACK(JB); } NEXT;    \
    CASE(NAME##_P):     STEP { T a = (T)(A), b = (T)(B); if (COND) JUMP_ANY(JB) } NEXT; \
    CASE(NAME##_PP):    STEP STEP { T a = (T)(A), b = (T)(B); if (COND) JUMP_ANY(JB) } NEXT; \
    CASE(NAME##_P3):    { DST = acc = SRC + IMM64; ADVANCE(2) }                         \
                        { T a = (T)(A), b = (T)(B); if (COND) JUMP_ANY(JB) } NEXT;
/* A conditional jump over `ja` (JB: the ja's jump in bytes): the jump not
 * taken runs the ja, in its own slot. */
#define OVER_JA(JB)                                                                     \
    {                                                                                   \
        const int64_t b_ja = (JB);                                                      \
        pc++;                                                                           \
        JUMP_ANY(b_ja)                                                                  \
    }
#define JFORM_OVER(NAME, T, A, B, COND, JB)                                             \
    CASE(NAME##_OVER):  { T a = (T)(A), b = (T)(B);                                     \
                          if (COND) { stop += sizeof(icode); NEXT2; } } OVER_JA(JB) NEXT; \
    CASE(NAME##_P_OVER): STEP { T a = (T)(A), b = (T)(B);                               \
                          if (COND) { stop += sizeof(icode); NEXT2; } } OVER_JA(JB) NEXT;
#define JCOND(NAME, T64, T32, COND)                                                     \
    JFORM(NAME##_K,   T64, DST,           IMM64,         COND, KBYTES)                  \
    JFORM(NAME##_X,   T64, DST,           SRC,           COND, XBYTES)                  \
    JFORM_OVER(NAME##_K, T64, DST,        IMM64,         COND, KBYTES)                  \
    JFORM_OVER(NAME##_X, T64, DST,        SRC,           COND, XBYTES)                  \
    JFORM(NAME##32_K, T32, (uint32_t)DST, (uint32_t)IMM, COND, KBYTES)                  \
    JFORM(NAME##32_X, T32, (uint32_t)DST, (uint32_t)SRC, COND, XBYTES)

/* Byte order: le/be convert the low W bits from host order (truncating),
 * bswap swaps unconditionally. */
#define ENDIAN(W)                                                                       \
    CASE(LE##W):    DST = TO_LE(W, (uint##W##_t)DST); NEXT;                             \
    CASE(BE##W):    DST = TO_BE(W, (uint##W##_t)DST); NEXT;                             \
    CASE(BSWAP##W): DST = bswap##W((uint##W##_t)DST); NEXT;

/* A load, and the same fused after ADD64_X3: that writes rX, then moves to
 * the load's slot (for a fault's index; the fields are the first slot's);
 * SADD3 runs the `lsh rZ, K` before it first. ADD3_ADDR declares the
 * address. */
#define ADD3_ADDR     uint64_t addr = SRC + SRC2; DST = addr; pc += 2; addr += (uint64_t)(int64_t)OFF;
#define SHIFT         { DST = DST << (IMM & 63); ADVANCE(1) }
#define LOAD_FROM(addr, T, R)                                                           \
    { T v; ACCESS(addr, sizeof(T), false); memcpy(&v, PTR(addr), sizeof v);             \
      R = acc = (uint64_t)v; }
#define LOAD(NAME, T)                                                                   \
    CASE(NAME):        { uint64_t addr = SRC + MOFF; LOAD_FROM(addr, T, DST) } NEXT;   \
    CASE(NAME##_ADD3): { ADD3_ADDR LOAD_FROM(addr, T, REG3) } NEXT;                     \
    CASE(NAME##_SADD3): SHIFT { ADD3_ADDR LOAD_FROM(addr, T, REG3) } NEXT;

/* A store of an immediate; of a register, also fused after ADD64_X3 (as
 * for loads). */
#define STORE_TO(addr, T, VALUE)                                                        \
    { T v = (T)(VALUE); ACCESS(addr, sizeof(T), true); memcpy(PTR(addr), &v, sizeof v); }
#define STORE(NAME, T, VALUE)                                                           \
    CASE(NAME):        { uint64_t addr = DST + (uint64_t)(int64_t)OFF;                  \
                         STORE_TO(addr, T, VALUE) } NEXT;
/* Stores of a register: fused after ADD64_X3, and taking a register the
 * instruction before computed from `acc`. */
#define STORE_REG(NAME, T, VALUE)                                                       \
    CASE(NAME):        { uint64_t addr = DST + MOFF; STORE_TO(addr, T, VALUE) } NEXT;  \
    CASE(NAME##_ADD3): { ADD3_ADDR STORE_TO(addr, T, REG3) } NEXT;                      \
    CASE(NAME##_SADD3): SHIFT { ADD3_ADDR STORE_TO(addr, T, REG3) } NEXT;               \
    CASE(NAME##_ACC):  { uint64_t addr = DST + MOFF; STORE_TO(addr, T, acc) } NEXT;    \
    CASE(NAME##_P):    STEP { uint64_t addr = DST + MOFF; STORE_TO(addr, T, VALUE) } NEXT;

/* Atomic read-modify-write on *(T *)(dst + off) with src; the FETCH form
 * returns the old value in src. Checked runs fault on an address that is
 * not a multiple of the size. */
#define ATOMIC_PTR(T) T *p; { uint64_t addr = DST + (uint64_t)(int64_t)OFF;             \
                              ACCESS_RW(addr, sizeof(T));                               \
                              if (checked && (addr & (sizeof(T) - 1)))                  \
                                  FAIL(bpfvm__misaligned_atomic(ctx, INDEX, addr,       \
                                                                sizeof(T)));            \
                              p = (T *)PTR(addr); }
#define ATOMIC_RMW(W, T, OP, FN)                                                        \
    CASE(ATOMIC##W##_##OP):       { ATOMIC_PTR(T)                                       \
                                    (void)FN(p, (T)SRC, __ATOMIC_SEQ_CST); } NEXT;      \
    CASE(ATOMIC##W##_FETCH_##OP): { ATOMIC_PTR(T)                                       \
                                    SRC = FN(p, (T)SRC, __ATOMIC_SEQ_CST); } NEXT;
#define ATOMIC(W, T)                                                                    \
    ATOMIC_RMW(W, T, ADD, __atomic_fetch_add)                                           \
    ATOMIC_RMW(W, T, OR,  __atomic_fetch_or)                                            \
    ATOMIC_RMW(W, T, AND, __atomic_fetch_and)                                           \
    ATOMIC_RMW(W, T, XOR, __atomic_fetch_xor)                                           \
    CASE(ATOMIC##W##_XCHG):    { ATOMIC_PTR(T)                                          \
                                 SRC = __atomic_exchange_n(p, (T)SRC, __ATOMIC_SEQ_CST); } NEXT; \
    CASE(ATOMIC##W##_CMPXCHG): { ATOMIC_PTR(T) T old = (T)reg[0];                       \
                                 __atomic_compare_exchange_n(p, &old, (T)SRC, false,    \
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);               \
                                 reg[0] = old; } NEXT;

/* Legacy packet loads: r0 = big-endian T at mem + OFFSET; outside the input
 * memory the program ends with r0 = 0. */
#define PACKET(NAME, W, OFFSET)                                                         \
    CASE(NAME): { uint64_t o = (OFFSET); uint##W##_t v;                                 \
                  if (o > mem_len || mem_len - o < sizeof v) { reg[0] = 0; goto done; } \
                  memcpy(&v, PTR(mem_lo + o), sizeof v); reg[0] = TO_BE(W, v); } NEXT;

/* One slot of the interpreter's program: its handler (the label's address
 * under computed goto, the handler id under switch dispatch), then the
 * instruction's fields packed in one word, which dispatch loads into `w`
 * with the handler (one load rather than one per field). A fused NAME64_X3
 * carries rZ in imm (and NAME_ADD3 rW above it, the load's or store's off in
 * off); jumps keep their offset in bytes as JUMP says, a NAME_OVER the ja's. */
typedef struct icode {
    union {
        const void *handler;
        size_t op;
    } h;
    uint64_t w; /* dst | src << 8 | (u16)off << 16 | (u32)imm << 32 */
} icode;

/* A slot's fields while it is decoded, and as `w` packs them. */
typedef struct ifields {
    uint8_t dst, src;
    int16_t off;
    int32_t imm;
} ifields;

static uint64_t pack(const ifields *f)
{
    return f->dst | (uint64_t)f->src << 8 | (uint64_t)(uint16_t)f->off << 16 |
           (uint64_t)(uint32_t)f->imm << 32;
}

/* The interpreter's own forms of a row (0: none), one table per kind (see
 * "Forms" above): backward jumps, after `mov64 rX, rY`, after `mov32 rX, rY`,
 * after ADD64_X3, after a step, after two steps, over a ja, after a step and
 * over a ja, and reading rX from `acc`. */
#define JCOND_BACK(NAME, T64, T32, COND)                                                \
    [IOP_##NAME##_K] = IOP_##NAME##_K_BACK, [IOP_##NAME##_X] = IOP_##NAME##_X_BACK,     \
    [IOP_##NAME##32_K] = IOP_##NAME##32_K_BACK, [IOP_##NAME##32_X] = IOP_##NAME##32_X_BACK,
static const uint16_t backward_form[BPFVM__OP_COUNT] = {
    JCOND_OPS(JCOND_BACK)
    [IOP_JA] = IOP_JA_BACK, [IOP_JA32] = IOP_JA32_BACK
};
#define ALU_FUSED(NAME, EXPR64, EXPR32)                                                 \
    [IOP_##NAME##64_K] = IOP_##NAME##64_K3, [IOP_##NAME##64_X] = IOP_##NAME##64_X3,
static const uint16_t after_mov_form[BPFVM__OP_COUNT] = { ALU_OPS(ALU_FUSED) };
#define ALU_LDDW(NAME, EXPR64, EXPR32) [IOP_##NAME##64_X] = IOP_##NAME##64_LDDW,
static const uint16_t after_lddw_form[BPFVM__OP_COUNT] = { ALU_OPS(ALU_LDDW) };
#define ALU32_FUSED(NAME, EXPR64, EXPR32) [IOP_##NAME##32_K] = IOP_##NAME##32_K3,
static const uint16_t after_mov32_form[BPFVM__OP_COUNT] = { ALU_OPS(ALU32_FUSED) };
#define LOAD_FUSED(NAME, T) [IOP_##NAME] = IOP_##NAME##_ADD3,
#define STORE_FUSED(NAME, T, VALUE) [IOP_##NAME] = IOP_##NAME##_ADD3,
static const uint16_t after_add3_form[BPFVM__OP_COUNT] = {
    LOAD_OPS(LOAD_FUSED) STORE_REG_OPS(STORE_FUSED)
};
#define STORE_P(NAME, T, VALUE) [IOP_##NAME] = IOP_##NAME##_P,
#define LOAD_SHIFTED(NAME, T) [IOP_##NAME] = IOP_##NAME##_SADD3,
#define STORE_SHIFTED(NAME, T, VALUE) [IOP_##NAME] = IOP_##NAME##_SADD3,
static const uint16_t shifted_add3_form[BPFVM__OP_COUNT] = {
    LOAD_OPS(LOAD_SHIFTED) STORE_REG_OPS(STORE_SHIFTED)
};
#define JCOND_P(NAME, T64, T32, COND)                                                   \
    [IOP_##NAME##_K] = IOP_##NAME##_K_P, [IOP_##NAME##_X] = IOP_##NAME##_X_P,           \
    [IOP_##NAME##32_K] = IOP_##NAME##32_K_P, [IOP_##NAME##32_X] = IOP_##NAME##32_X_P,
static const uint16_t after_step_form[BPFVM__OP_COUNT] = {
    JCOND_OPS(JCOND_P) STORE_REG_OPS(STORE_P)
    [IOP_MOV64_X] = IOP_STEP2, [IOP_MOV64_K] = IOP_STEP2, [IOP_ADD64_K] = IOP_STEP2
};
#define JCOND_P3(NAME, T64, T32, COND)                                                  \
    [IOP_##NAME##_K] = IOP_##NAME##_K_P3, [IOP_##NAME##_X] = IOP_##NAME##_X_P3,         \
    [IOP_##NAME##32_K] = IOP_##NAME##32_K_P3, [IOP_##NAME##32_X] = IOP_##NAME##32_X_P3,
static const uint16_t after_add_k3_form[BPFVM__OP_COUNT] = { JCOND_OPS(JCOND_P3) };
#define JCOND_PP(NAME, T64, T32, COND)                                                  \
    [IOP_##NAME##_K] = IOP_##NAME##_K_PP, [IOP_##NAME##_X] = IOP_##NAME##_X_PP,         \
    [IOP_##NAME##32_K] = IOP_##NAME##32_K_PP, [IOP_##NAME##32_X] = IOP_##NAME##32_X_PP,
static const uint16_t after_step2_form[BPFVM__OP_COUNT] = { JCOND_OPS(JCOND_PP) };
#define JCOND_OVER(NAME, T64, T32, COND)                                                \
    [IOP_##NAME##_K] = IOP_##NAME##_K_OVER, [IOP_##NAME##_X] = IOP_##NAME##_X_OVER,
static const uint16_t over_form[BPFVM__OP_COUNT] = { JCOND_OPS(JCOND_OVER) };
#define JCOND_P_OVER(NAME, T64, T32, COND)                                              \
    [IOP_##NAME##_K] = IOP_##NAME##_K_P_OVER, [IOP_##NAME##_X] = IOP_##NAME##_X_P_OVER,
static const uint16_t step_over_form[BPFVM__OP_COUNT] = { JCOND_OPS(JCOND_P_OVER) };
#define ALU_ACC(NAME, EXPR64, EXPR32)                                                   \
    [IOP_##NAME##64_K] = IOP_##NAME##64_K_ACC, [IOP_##NAME##64_X] = IOP_##NAME##64_X_ACC, \
    [IOP_##NAME##32_K] = IOP_##NAME##32_K_ACC, [IOP_##NAME##32_X] = IOP_##NAME##32_X_ACC,
static const uint16_t acc_form[BPFVM__OP_COUNT] = {
    ALU_OPS(ALU_ACC) [IOP_NEG64] = IOP_NEG64_ACC, [IOP_NEG32] = IOP_NEG32_ACC
};

#define STORE_ACC_ROW(NAME, T, VALUE) [IOP_##NAME] = IOP_##NAME##_ACC,
static const uint16_t store_acc_form[BPFVM__OP_COUNT] = { STORE_REG_OPS(STORE_ACC_ROW) };

/* The form of the pair `in; next` (0: not a pair). */
#define PAIR_IF(A, B, W, K1, K2)                                                        \
    if (in->opcode == IOP_##A##W##_##K1 && next->opcode == IOP_##B##W##_##K2)           \
        return IOP_##A##_##B##W##_##K1##K2;
#define PAIR_ROWS(A, B)                                                                 \
    PAIR_IF(A, B, 64, K, K) PAIR_IF(A, B, 64, K, X) PAIR_IF(A, B, 64, X, K)             \
    PAIR_IF(A, B, 64, X, X) PAIR_IF(A, B, 32, K, K) PAIR_IF(A, B, 32, K, X)             \
    PAIR_IF(A, B, 32, X, K) PAIR_IF(A, B, 32, X, X)
static unsigned pair_form(const bpfvm_insn *in, const bpfvm_insn *next)
{
    if (!next || next->dst != in->dst)
        return 0;
    ALU_PAIRS(PAIR_ROWS)
    return 0;
}

/* Does the row leave its result in `acc`? (The ALU rows and loads.) */
static bool sets_acc(unsigned row)
{
    return acc_form[row] || bpfvm__ops[row].fmt == BPFVM__FMT_LDX;
}

/* What a run other than the program's from its start does: with `handlers`
 * set, only store there the table of handler addresses indexed by row id
 * (NULL under switch dispatch), for the decoder; else run a callback
 * (bpfvm__call_function): the function at slot `pc` with r1..r5 = args,
 * at call depth `depth` (its exit ends the run), from ctx->executed
 * instructions and in the frame at ctx->frame_start. */
struct run_other {
    const void *const **handlers;
    size_t pc;
    unsigned depth;
    const uint64_t *args;
};

static int run(const bpfvm_vm *vm, bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t *r0,
               const struct run_other *other);

/* Does `rX = rY` at `in`, followed by `next`, run as NAME64_K3/X3 (or
 * NAME_ADD3)? */
static bool fuses_after_mov(const bpfvm_insn *in, const bpfvm_insn *next)
{
    return in->opcode == IOP_MOV64_X && next && after_mov_form[next->opcode] &&
           next->dst == in->dst;
}

/* If `in` is a step (see STEP), writes its rY and K into c. */
static bool as_step(const bpfvm_insn *in, ifields *c)
{
    switch (in->opcode) {
    case IOP_MOV64_X: c->imm = 0; return true;
    case IOP_ADD64_K: c->src = in->dst; return true;
    case IOP_MOV64_K: c->src = ZERO_REG; return true;
    default: return false;
    }
}

/* A jump of `slots` as bytes, in the bits JUMP says for row `op`. */
static void set_jump(ifields *c, unsigned op, int32_t slots)
{
    uint32_t bytes = (uint32_t)(slots * (int32_t)sizeof(icode));
    switch (bpfvm__ops[op].fmt) {
    case BPFVM__FMT_JMP_K:
        c->src = (uint8_t)bytes;
        c->off = (int16_t)(uint16_t)(bytes >> 8);
        return;
    case BPFVM__FMT_JMP_X:
        c->imm = (int32_t)bytes;
        return;
    default: /* ja, ja32: sign-extended to the whole word */
        c->imm = slots < 0 ? -1 : 0;
        break;
    }
    c->dst = (uint8_t)bytes;
    c->src = (uint8_t)(bytes >> 8);
    c->off = (int16_t)(uint16_t)(bytes >> 16);
}

/* Is code[i..i+2] `rX = rY; rX += rZ` and a load from or a store to the
 * address in rX (NAME_ADD3)? */
static bool is_add3(const bpfvm_insn *code, size_t i, size_t count)
{
    const bpfvm_insn *in = &code[i];
    return i + 2 < count && fuses_after_mov(in, &in[1]) && in[1].opcode == IOP_ADD64_X &&
           after_add3_form[in[2].opcode] &&
           (bpfvm__ops[in[2].opcode].fmt == BPFVM__FMT_LDX ? in[2].src : in[2].dst) == in->dst;
}

/* Is code[i] a conditional jump over a `ja` (run as NAME_OVER)? */
static bool jumps_over_ja(const bpfvm_insn *code, size_t i, size_t count)
{
    return i + 1 < count && over_form[code[i].opcode] && code[i].off == 1 &&
           code[i + 1].opcode == IOP_JA;
}

/* The handler id of the instruction at code[i] (one of the rows, of
 * count slots, already checked by the verifier's control pass). */
static unsigned choose_form(const bpfvm_insn *code, size_t i, size_t count, ifields *c)
{
    const bpfvm_insn *in = &code[i], *next = i + 1 < count ? &code[i + 1] : NULL;
    const bpfvm_insn *after = i + 2 < count ? &code[i + 2] : NULL;
    unsigned op = in->opcode;
    const bool over = FUSE && jumps_over_ja(code, i, count);

    switch (bpfvm__ops[op].fmt) {
    case BPFVM__FMT_JMP_K: case BPFVM__FMT_JMP_X: case BPFVM__FMT_JA:
        set_jump(c, op, over ? next->off : in->off);
        break;
    case BPFVM__FMT_JA32: set_jump(c, op, in->imm); break;
    default: break;
    }
    if (backward_form[op] && (op == IOP_JA32 ? in->imm : in->off) < 0)
        return backward_form[op];
    if (!FUSE)
        return op;
    if (op == IOP_LDDW && i + 2 < count && after_lddw_form[code[i + 2].opcode] &&
        code[i + 2].src == in->dst) /* lddw rY, K; rX op= rY: the constant for rY */
        return after_lddw_form[code[i + 2].opcode];
    if (op == IOP_LSH64_K && is_add3(code, i + 1, count) && code[i + 2].src == in->dst)
        /* rZ <<= K, then NAME_ADD3 with that rZ: an indexed access */
        return shifted_add3_form[code[i + 3].opcode];
    if (over) /* with the ja's jump (above) */
        return over_form[op];
    if (fuses_after_mov(in, next)) {
        /* rX = rY; rX op= K|rZ: rX = rY op K|rZ, where rZ = rX reads rY */
        c->imm = bpfvm__ops[next->opcode].fmt == BPFVM__FMT_ALU_K ? next->imm
                 : next->src == in->dst ? in->src : next->src;
        if (is_add3(code, i, count)) {
            bool load = bpfvm__ops[after->opcode].fmt == BPFVM__FMT_LDX;
            c->off = after->off; /* and rW beside rZ */
            c->imm |= (load ? after->dst : after->src) << 8;
            return after_add3_form[after->opcode];
        }
        /* rX = rY + K (a step of two slots), then a conditional jump */
        if (next->opcode == IOP_ADD64_K && after && after_add_k3_form[after->opcode] &&
            !jumps_over_ja(code, i + 2, count))
            return after_add_k3_form[after->opcode];
        /* rX = rY & K; if rX ==/!= 0: a bit test */
        if (next->opcode == IOP_AND64_K && after && after->dst == in->dst && after->imm == 0 &&
            (after->opcode == IOP_JEQ_K || after->opcode == IOP_JNE_K) &&
            !jumps_over_ja(code, i + 2, count))
            return after->opcode == IOP_JEQ_K ? IOP_TEST_JEQ : IOP_TEST_JNE;
        return after_mov_form[next->opcode];
    }
    if (op == IOP_MOV32_X && next && after_mov32_form[next->opcode] && next->dst == in->dst) {
        c->imm = next->imm; /* rX = (u32)rY op K */
        return after_mov32_form[next->opcode];
    }
    /* a step followed by a conditional jump or by a step that keeps its
     * step decoding (STEP2 reads it) */
    if (as_step(in, c) && next && after_step_form[next->opcode] &&
        !fuses_after_mov(next, after)) {
        if (jumps_over_ja(code, i + 1, count))
            return step_over_form[next->opcode];
        if (after_step_form[next->opcode] == IOP_STEP2 && after &&
            after_step2_form[after->opcode] && !jumps_over_ja(code, i + 2, count))
            return after_step2_form[after->opcode];
        return after_step_form[next->opcode];
    }
    const unsigned pair = pair_form(in, next);
    return pair ? pair : op;
}

void *INTERP(bpfvm__interp_decode)(const bpfvm_vm *vm, const bpfvm_insn *code, size_t count)
{
    const void *const *handlers = NULL;
    icode *out = bpfvm__alloc(vm, count * sizeof(*out));
    uint8_t *rows = bpfvm__alloc(vm, 2 * count + 1); /* then the marks of bpfvm__cfg_marks */
    if (!out || !rows) {
        bpfvm__free(vm, out);
        bpfvm__free(vm, rows);
        return NULL;
    }
    const struct run_other table = { &handlers, 0, 0, NULL };
    (void)run(NULL, NULL, 0, 0, NULL, &table);
    for (size_t i = 0; i < count; i++) { /* each slot's own form */
        const bpfvm_insn *in = &code[i];
        ifields f = { in->dst, in->src, in->off, in->imm };
        if (bpfvm__ops[in->opcode].fmt == BPFVM__FMT_LDX ||
            bpfvm__ops[in->opcode].fmt == BPFVM__FMT_STX)
            f.imm = in->off; /* MOFF */
        out[i].h.op = choose_form(code, i, count, &f);
        out[i].w = pack(&f);
        if (in->opcode == IOP_LDDW && i + 1 < count) { /* the second slot: never run, imm read */
            f.imm = code[i + 1].imm;
            out[i + 1].h.op = IOP_LDDW;
            out[i + 1].w = pack(&f);
            i++;
        }
    }
    /* An ALU instruction whose rX the one before it computed, and which no
     * jump lands on, reads rX from `acc`; so does a store of such a rY. */
    for (size_t i = 0; i < count; i++)
        rows[i] = code[i].opcode;
    memset(rows + count, 0, count + 1);
    bpfvm__cfg_marks(code, count, rows, rows + count);
    for (size_t i = 1; FUSE && i < count; i++) {
        size_t op = out[i].h.op;
        if (op >= BPFVM__OP_COUNT || (rows[count + i] & BPFVM__CFG_LEADER) ||
            out[i - 1].h.op == IOP_LDDW || !sets_acc(code[i - 1].opcode))
            continue;
        if (acc_form[op] && code[i - 1].dst == code[i].dst)
            out[i].h.op = acc_form[op];
        else if (store_acc_form[op] && code[i - 1].dst == code[i].src)
            out[i].h.op = store_acc_form[op];
    }
    bpfvm__free(vm, rows);
    if (handlers)
        for (size_t i = 0; i < count; i++)
            out[i].h.handler = handlers[out[i].h.op];
    return out;
}

struct call_frame {
    const icode *ret;     /* where exit resumes */
    uint64_t r6, r7, r8, r9;   /* callee-saved registers */
};

int INTERP(bpfvm__interp_callback)(bpfvm_ctx *ctx, size_t pc, const uint64_t args[5],
                                   uint64_t *r0)
{
    const bpfvm_vm *vm = ctx->vm;
    if (vm->budget && ctx->executed > vm->budget)
        return bpfvm__callback_budget_fault(ctx);
    struct run_other cb = {
        NULL, pc, (unsigned)((ctx->frame_start - ctx->stack_start) / vm->stack_size), args
    };
#ifdef BPFVM_INTERP_TRACED
    ctx->trace->calls[cb.depth - 1] = (size_t)ctx->call_insn;
#endif
    return run(vm, ctx, 0, 0, r0, &cb);
}

int INTERP(bpfvm__interpret)(const bpfvm_vm *vm, bpfvm_ctx *ctx, uint64_t r1, uint64_t r2,
                             uint64_t *r0)
{
    return run(vm, ctx, r1, r2, r0, NULL);
}

/* `other`: NULL for a run of the program, else see struct run_other. */
static int run(const bpfvm_vm *vm, bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t *r0,
               const struct run_other *other)
{
#ifndef BPFVM_NO_COMPUTED_GOTO
    /* in the order of the form ids; named for mk/align-handlers.awk */
    static const void *const labels[IOP_COUNT] __asm__("bpfvm__interp_labels") = {
#define FORM(name) &&L_##name,
#define INSN ROW_FORM
#include "opcodes.def"
        OWN_FORMS
#undef FORM
    };
    if (UNLIKELY(other && other->handlers)) {
        *other->handlers = labels;
        return 0;
    }
#else
    if (other && other->handlers)
        return 0;
#endif
    const icode *const code = RUN_CODE;
    const icode *pc = code;
    /* 16: a register field can name r11..r15. Zeroed by separate stores:
     * an initializer becomes `rep stos`, whose start-up cost was a third of
     * a whole run of a short program. */
    uint64_t reg[16];
    reg[0] = reg[1] = reg[2] = reg[3] = reg[4] = reg[5] = reg[6] = reg[7] = 0;
    reg[8] = reg[9] = reg[10] = reg[11] = reg[12] = reg[13] = reg[14] = reg[15] = 0;
    const uint64_t limit = vm->budget && vm->budget < MAX_BUDGET ? vm->budget : MAX_BUDGET;
    uint64_t stop = PC_ADDR + limit * sizeof(icode); /* see EXECUTED */
    const bool checked = vm->checked != 0;
    const uint64_t stack_size = vm->stack_size;
    const uint64_t frame_len = stack_size;
    uint64_t frame_lo = ctx->frame_start;
    const uint64_t mem_lo = ctx->mem_start, mem_len = ctx->mem_len;
    uint64_t hit_neg = 0, hit_last = UINT64_MAX; /* see CHECKED_ACCESS */
    struct call_frame frames[BPFVM__MAX_CALL_DEPTH];
    const unsigned max_depth = bpfvm__call_limit(vm);
    unsigned depth = 0, base = 0; /* base: the depth whose exit ends the run */
    uint64_t helper_id = 0;
    /* The result of the last ALU instruction, step or load: an _ACC form
     * that follows one (never a jump target) reads its rX from here rather
     * than from memory, which it would wait for. */
    uint64_t acc = 0;
    uint64_t w; /* the fields of the slot at pc, read at dispatch */
    /* the jump cache (JUMP_CACHED) */
    const icode *jc_from = NULL, *jc_to = NULL, *jc_from2 = NULL, *jc_to2 = NULL;
    int rc = 0;
    TRACE_LOCALS

    reg[1] = r1;
    reg[2] = r2;
    if (UNLIKELY(other != NULL)) { /* a callback */
        pc = code + other->pc;
        for (int k = 0; k < 5; k++)
            reg[1 + k] = other->args[k];
        depth = base = other->depth;
        stop = PC_ADDR + (limit - ctx->executed) * sizeof(icode);
    }
    reg[10] = frame_lo + stack_size;
    if (checked)
        HIT(frame_lo, frame_len);

    RUN_BEGIN

    ALU_OPS(ALU)
    ALU_PAIRS(PAIR)

    CASE(NEG64):      DST = acc = 0 - DST; NEXT;
    CASE(NEG32):      DST = acc = (uint32_t)(0u - (uint32_t)DST); NEXT;
    CASE(NEG64_ACC):  DST = acc = 0 - acc; NEXT;
    CASE(NEG32_ACC):  DST = acc = (uint32_t)(0u - (uint32_t)acc); NEXT;
    CASE(MOVSX8_64):  DST = (uint64_t)(int8_t)SRC; NEXT;
    CASE(MOVSX16_64): DST = (uint64_t)(int16_t)SRC; NEXT;
    CASE(MOVSX32_64): DST = (uint64_t)(int32_t)SRC; NEXT;
    CASE(MOVSX8_32):  DST = (uint64_t)(uint32_t)(int8_t)SRC; NEXT;
    CASE(MOVSX16_32): DST = (uint64_t)(uint32_t)(int16_t)SRC; NEXT;

    ENDIAN(16)
    ENDIAN(32)
    ENDIAN(64)

    JCOND_OPS(JCOND)

    CASE(STEP2):     STEP STEP DISPATCH();
    CASE(TEST_JEQ):  { uint64_t v = SRC & IMM64; DST = acc = v; ADVANCE(2)
                       if (v == 0) JUMP_ANY(KBYTES) } NEXT;
    CASE(TEST_JNE):  { uint64_t v = SRC & IMM64; DST = acc = v; ADVANCE(2)
                       if (v != 0) JUMP_ANY(KBYTES) } NEXT;

    CASE(JA):        JUMP(JA_BYTES); NEXT;
    CASE(JA_BACK):   JUMP_BACK(JA_BYTES); NEXT;
    CASE(JA32):      JUMP(JA_BYTES); NEXT;
    CASE(JA32_BACK): JUMP_BACK(JA_BYTES); NEXT;

    CASE(LDDW): DST = LDDW_VALUE;
                pc++; stop += sizeof(icode); NEXT;

    LOAD_OPS(LOAD)

    STORE_IMM_OPS(STORE)
    STORE_REG_OPS(STORE_REG)

    ATOMIC(32, uint32_t)
    ATOMIC(64, uint64_t)

    /*      name     width  offset into the input memory */
    PACKET(LDABSB,  8,     (uint32_t)IMM)
    PACKET(LDABSH,  16,    (uint32_t)IMM)
    PACKET(LDABSW,  32,    (uint32_t)IMM)
    PACKET(LDABSDW, 64,    (uint32_t)IMM)
    PACKET(LDINDB,  8,     SRC + IMM64)
    PACKET(LDINDH,  16,    SRC + IMM64)
    PACKET(LDINDW,  32,    SRC + IMM64)
    PACKET(LDINDDW, 64,    SRC + IMM64)

    CASE(CALL):  helper_id = (uint32_t)IMM; goto call_helper;
    CASE(CALLX): helper_id = DST; goto call_helper;

    CASE(CALL_LOCAL): {
        const int64_t rel = IMM;
        BUDGET_CHECK();
        if (depth >= max_depth)
            FAIL(bpfvm__set_error(ctx->err, BPFVM_ECALLDEPTH, INDEX,
                                  "instruction %lld: call depth limit of %u exceeded",
                                  (long long)INDEX, max_depth));
        TRACE_CALL();
        frames[depth].ret = pc + 1;
        frames[depth].r6 = reg[6];
        frames[depth].r7 = reg[7];
        frames[depth].r8 = reg[8];
        frames[depth].r9 = reg[9];
        depth++;
        frame_lo += stack_size;
        ctx->frame_start = frame_lo;
        if (checked) /* the new frame is the region tried first */
            HIT(frame_lo, frame_len);
        reg[10] = frame_lo + stack_size;
        JUMP(rel * (int64_t)sizeof(icode));
        NEXT;
    }

    CASE(EXIT):
        if (depth == base)
            goto done;
        depth--;
        reg[6] = frames[depth].r6;
        reg[7] = frames[depth].r7;
        reg[8] = frames[depth].r8;
        reg[9] = frames[depth].r9;
        frame_lo -= stack_size;
        ctx->frame_start = frame_lo;
        if (checked) /* the callee's frame is out of reach now */
            HIT(frame_lo, frame_len);
        reg[10] = frame_lo + stack_size;
        JUMP((frames[depth].ret - 1 - pc) * (int64_t)sizeof(icode));
        NEXT;

    call_helper: {
        const bpfvm__helper *h;
        BUDGET_CHECK();
        h = helper_id <= UINT32_MAX ? bpfvm__find_helper(vm, (uint32_t)helper_id) : NULL;
        if (!h)
            FAIL(bpfvm__set_error(ctx->err, BPFVM_EHELPER, INDEX,
                                  "instruction %lld: call to unregistered helper %llu",
                                  (long long)INDEX, (unsigned long long)helper_id));
        ctx->helper_user = h->user;
        ctx->executed = EXECUTED + 1;
        ctx->call_insn = (uint64_t)INDEX;
        reg[0] = h->fn(ctx, reg[1], reg[2], reg[3], reg[4], reg[5]);
        TRACE_HELPER_DONE();
        /* callbacks the helper made ran instructions too */
        stop = PC_ADDR + (limit - ctx->executed + 1) * sizeof(icode);
        if (ctx->failed)
            FAIL(ctx->failed < 0 ? ctx->failed
                                 : bpfvm__set_error(ctx->err, BPFVM_EHELPERFAIL, INDEX,
                                                    "instruction %lld: helper %llu failed: %s",
                                                    (long long)INDEX,
                                                    (unsigned long long)helper_id,
                                                    ctx->fail_msg));
        NEXT;
    }

    RUN_END

budget_exhausted:
    FAIL(bpfvm__set_error(ctx->err, BPFVM_EBUDGET, INDEX,
                          "instruction %lld: budget of %llu instructions exhausted",
                          (long long)INDEX, (unsigned long long)limit));

#ifdef BPFVM_NO_COMPUTED_GOTO
bad_opcode:
    FAIL(bpfvm__set_error(ctx->err, BPFVM_EINVAL, INDEX,
                          "instruction %lld: invalid pre-decoded instruction",
                          (long long)INDEX));
#endif

done:
    *r0 = reg[0];
    stop -= sizeof(icode); /* counts the exit (or the packet load that ended the run) */
out:
    ctx->executed = EXECUTED;
    TRACE_END();
    return rc;
}
