/* test_jit_comb.c - combined loads (x86-64 JIT, jit_x86_64.c comb_plan):
 * values assembled from byte or halfword loads of one base with lsh and or
 * become one wide load, and the loads, shifts and ors whose values nothing
 * else reads go. Every program runs in the interpreter and in the JIT
 * (checked, blinded, and unchecked where no access leaves the input) on
 * input memory of every length from 0 to MEM, so the first or last byte of
 * a combined range falls outside the input: the same r0, error,
 * instruction, fault address and memory after.
 *
 * A value of 2, 4 or 8 bytes at [base + OFF) is built from pieces of 1 or
 * 2 bytes, loaded in ascending, descending or shuffled order, each into a
 * register of its own, then shifted into place and or-ed into the lowest
 * one (in ascending, descending or shuffled order; 32-bit w forms where
 * the value fits); or as clang builds it (halves assembled first, the
 * upper one shifted over the lower). The base is the input (with a length
 * check proving the loads, or none: then checked loads fault) or the
 * frame. Between the loads and the or that completes the value: nothing;
 * a store into the range through the base or through a copy of it (no
 * combining); stores next to the range; each piece also stored elsewhere
 * (the byte stored loaded again); a piece register read after the value
 * (in the block, or after it); the base changed and changed back; a jump
 * landing among the loads (the loads after it combine on their own); a
 * piece spilled to the frame and reloaded (and the spill slot overwritten
 * in between); the upper half or-ed in w form (which drops it). On x86-64
 * the code has the wide load exactly where the value may combine. And a
 * combined load between an address computation and the store through it
 * (test_reorder), one inside a gathered copy's window reading bytes the
 * copy writes early (test_gathered), and values assembled in a versioned
 * loop (test_loop); a spill that only reloads the wide load replaces reads
 * goes (test_dead_spill). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm.h"
#define PROG_MAX 128
#include "jit_test.h"
#include "test.h"

#define MEM 40
#include "jit_mem_test.h"

#define OFF 5     /* the value's offset from the base (input: r6 = r1; frame: r10 - 16) */

enum { ORDER_UP, ORDER_DOWN, ORDER_SHUF, NORDER };
enum {
    IV_NONE, IV_STORE_IN, IV_STORE_ALIAS, IV_STORE_BESIDE, IV_STORE_PIECES, IV_READ_LATER,
    IV_BASE_MOVED, IV_JUMP_IN, IV_SPILL, IV_SPILL_CLOBBERED, IV_LIVE_OUT, IV_W_HALF, NIV
};
static const char *const iv_names[NIV] = {
    "nothing", "a store into the range", "a store into the range through a copy of the base",
    "stores beside the range", "the pieces stored elsewhere", "a piece read later",
    "the base moved and back", "a jump among the loads", "a piece spilled and reloaded",
    "the spill slot overwritten", "a piece read after the block",
    "the upper half or-ed in w form (so dropped)"
};
#if defined(__x86_64__)
/* Does the value still combine with this in between? (IV_JUMP_IN: the
 * loads after the landing are a stretch of their own. IV_SPILL: only with
 * the frame as base: a store through r10 may write the input, which may be
 * the frame, unless a guard proves the loads inside the input.) */
static const bool iv_combines[NIV] = { true, false, false, true, true, true, false, false, true,
                                       false, true, false };
#endif

typedef struct shape {
    unsigned n, piece;     /* value and piece sizes in bytes */
    int load_order, or_order;
    bool w32, clang, frame, guard;
    int iv;
} shape;

static const int piece_regs[8] = { 2, 3, 4, 5, 7, 8, 9, 0 };

/* The k-th of m in order `order` (a fixed shuffle for ORDER_SHUF). */
static unsigned nth(int order, unsigned k, unsigned m)
{
    static const unsigned shuf[8] = { 5, 2, 7, 0, 3, 6, 1, 4 };
    if (order == ORDER_UP)
        return k;
    if (order == ORDER_DOWN)
        return m - 1 - k;
    unsigned seen = 0;
    for (unsigned t = 0; t < 8; t++)
        if (shuf[t] < m && seen++ == k)
            return shuf[t];
    return k;
}

static int base_reg(const shape *s)
{
    return s->frame ? 10 : 6;
}

/* The base's offset of byte b of the value. */
static int16_t at(const shape *s, unsigned b)
{
    return (int16_t)((s->frame ? -16 : 0) + OFF + (int)b);
}

/* op dst, src (op BPFVM_OR, BPFVM_MOV) or lsh dst, 8 * bytes, in s's width */
static void alu(prog *g, const shape *s, uint8_t op, int dst, int src, unsigned bytes)
{
    uint8_t cls = s->w32 ? BPFVM_ALU : BPFVM_ALU64;
    if (op == BPFVM_LSH)
        put(g, BPFVM_INSN(cls | BPFVM_LSH | BPFVM_K, dst, 0, 0, 8 * bytes));
    else
        put(g, BPFVM_INSN(cls | op | BPFVM_X, dst, src, 0, 0));
}

/* The intervention of s after the piece with load index k (register reg,
 * byte b of the value) is loaded. */
static void intervene(prog *g, const shape *s, unsigned k, unsigned m, int reg, unsigned b)
{
    int base = base_reg(s);
    if (s->iv == IV_STORE_PIECES) {                    /* the piece's low byte elsewhere */
        put(g, BPFVM_STX_MEM(BPFVM_B, base, reg, at(s, 16 + b)));
        return;
    }
    if (k != m / 2)
        return;
    switch (s->iv) {
    case IV_STORE_IN:                                  /* a byte of this piece */
        put(g, BPFVM_ST_MEM(BPFVM_B, base, at(s, b + s->piece - 1), 0x5a));
        break;
    case IV_STORE_ALIAS:
        put(g, BPFVM_ST_MEM(BPFVM_B, 1, at(s, b), 0xa5));
        break;
    case IV_STORE_BESIDE:
        put(g, BPFVM_ST_MEM(BPFVM_B, base, at(s, s->n), 0x77));
        put(g, BPFVM_ST_MEM(BPFVM_B, base, (int16_t)(at(s, 0) - 1), 0x66));
        break;
    case IV_BASE_MOVED:
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, base, 1));
        put(g, BPFVM_ALU64_IMM(BPFVM_SUB, base, 1));
        break;
    case IV_SPILL: case IV_SPILL_CLOBBERED:
        put(g, BPFVM_STX_MEM(BPFVM_DW, 10, reg, -24));
        put(g, BPFVM_MOV64_IMM(reg, 0x3c));
        if (s->iv == IV_SPILL_CLOBBERED)
            put(g, BPFVM_ST_MEM(BPFVM_DW, 10, -24, 0x1234));
        put(g, BPFVM_LDX_MEM(BPFVM_DW, reg, 10, -24));
        break;
    default:
        break;
    }
}

/* The program of s: r0 = the value (plus a piece, for IV_READ_LATER). */
static void build(prog *g, const shape *s)
{
    g->n = 0;
    unsigned m = s->n / s->piece;
    size_t out = 0, jump = 0;
    int base = base_reg(s);
    put(g, BPFVM_MOV64_REG(6, 1));
    for (unsigned p = 0; p < m; p++)                   /* (for the paths of IV_JUMP_IN) */
        put(g, BPFVM_MOV64_IMM(piece_regs[p], (int32_t)p));
    if (s->frame) {                                    /* the frame's bytes from two lddw */
        put_lddw(g, 7, 0x0877665544332211ll);
        put(g, BPFVM_STX_MEM(BPFVM_DW, 10, 7, -16));
        put_lddw(g, 7, (int64_t)0xf0e0d0c0b0a09080ull);
        put(g, BPFVM_STX_MEM(BPFVM_DW, 10, 7, -8));
    }
    if (s->guard) {
        put(g, BPFVM_JMP_IMM(BPFVM_JLT, 2, OFF + 16 + 8, 0));
        out = g->n - 1;
    }
    if (s->iv == IV_JUMP_IN) {
        put(g, BPFVM_JMP_IMM(BPFVM_JGT, 2, 30, 0));
        jump = g->n - 1;
    }
    for (unsigned k = 0; k < m; k++) {                 /* the loads */
        unsigned p = nth(s->load_order, k, m);
        if (s->iv == IV_JUMP_IN && k == m / 2)
            patch(g, jump, g->n);
        put(g, BPFVM_LDX_MEM(s->piece == 1 ? BPFVM_B : BPFVM_H, piece_regs[p], base,
                             at(s, p * s->piece)));
        intervene(g, s, k, m, piece_regs[p], p * s->piece);
    }
    if (s->clang) {                                    /* halves first, the upper over the lower */
        for (unsigned w = 1; w < m; w *= 2)
            for (unsigned p = 0; p + w < m; p += 2 * w) {
                alu(g, s, BPFVM_MOV, 1, piece_regs[p + w], 0); /* (r1: the input, copied) */
                alu(g, s, BPFVM_LSH, 1, 0, w * s->piece);
                shape o = *s;                          /* (IV_W_HALF: the top or in w form) */
                o.w32 |= s->iv == IV_W_HALF && w * s->piece == 4;
                alu(g, &o, BPFVM_OR, 1, piece_regs[p], 0);
                alu(g, s, BPFVM_MOV, piece_regs[p], 1, 0);
            }
    } else {                                           /* each piece shifted into the lowest */
        for (unsigned k = 0; k + 1 < m; k++) {
            unsigned p = 1 + nth(s->or_order, k, m - 1);
            shape o = *s;                              /* (IV_W_HALF: byte 4's or in w form) */
            o.w32 |= s->iv == IV_W_HALF && p * s->piece == 4;
            alu(g, s, BPFVM_LSH, piece_regs[p], 0, p * s->piece);
            alu(g, &o, BPFVM_OR, piece_regs[0], piece_regs[p], 0);
        }
    }
    put(g, BPFVM_MOV64_REG(0, piece_regs[0]));
    if (s->iv == IV_LIVE_OUT)
        put(g, BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0));      /* (the next slot starts a block) */
    if (s->iv == IV_READ_LATER || s->iv == IV_LIVE_OUT)
        put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, piece_regs[m - 1]));
    put(g, BPFVM_EXIT());
    if (out) {
        patch(g, out, g->n);
        put(g, BPFVM_MOV64_IMM(0, 7));
        put(g, BPFVM_EXIT());
    }
}

#if defined(__x86_64__)
/* Has vm's code a load of n bytes at [base + disp] (base: r6 = rbx, r7 =
 * r14 or r10 = rbp, with an 8-bit displacement)? */
static bool has_wide(const bpfvm_vm *vm, unsigned n, int base, int16_t disp)
{
    size_t size = 0;
    const uint8_t *c = bpfvm_jit_code(vm, &size);
    int host = base == 10 ? 5 : base == 7 ? 14 : 3;
    for (size_t i = 2; c && i + 2 < size; i++) {
        uint8_t rex = (c[i - 1] & 0xf0) == 0x40 ? c[i - 1] : 0;
        bool op = n == 2 ? c[i - 1] == 0x0f && c[i] == 0xb7
                : n == 4 ? c[i] == 0x8b && !(rex & 8)
                         : c[i] == 0x8b && (rex & 8);
        if (n == 2)
            rex = (c[i - 2] & 0xf0) == 0x40 ? c[i - 2] : 0;
        if (op && (c[i + 1] & 0xc7) == (0x40 | (host & 7)) && !(rex & 1) == (host < 8) &&
            (int8_t)c[i + 2] == disp)
            return true;
    }
    return false;
}
#endif

/* The end of a program whose length check (at slot out) jumps past it:
 * r0 = r(result); exit; out: r0 = 7; exit. Then run in every engine. */
static void finish(prog *g, int result, size_t out, const char *what)
{
    put(g, BPFVM_MOV64_REG(0, result));
    put(g, BPFVM_EXIT());
    patch(g, out, g->n);
    put(g, BPFVM_MOV64_IMM(0, 7));
    put(g, BPFVM_EXIT());
    check_in(g, BPFVM_MODE_RAW, -1, what, 3);
}

#if defined(__x86_64__)
/* g compiled, checked or not (NULL after a failed CHECK). */
static bpfvm_vm *compiled(const prog *g, int checked, const char *what)
{
    bpfvm_vm *vm = bpfvm_create();
    if (bpfvm_load(vm, g->p, g->n * sizeof g->p[0]) != 0 || bpfvm_set_checked(vm, checked) != 0 ||
        bpfvm_compile(vm, 0) != 0) {
        CHECK(0, "%s: %s", what, bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}
#endif

static void describe(char *what, size_t len, const shape *s)
{
    static const char *const orders[NORDER] = { "ascending", "descending", "shuffled" };
    snprintf(what, len, "%u bytes of %u-byte pieces, loads %s, ors %s%s, %s%s, with %s", s->n,
             s->piece, orders[s->load_order], s->clang ? "as clang" : orders[s->or_order],
             s->w32 ? " (w)" : "", s->frame ? "frame" : "input",
             s->guard ? " after a length check" : "", iv_names[s->iv]);
}

/* Run s in every engine; on x86-64, the wide load exactly where s combines
 * (checked and unchecked). */
static void check_shape(const shape *s)
{
    prog g;
    char what[256];
    build(&g, s);
    describe(what, sizeof what, s);
    /* (unchecked: only where no access leaves the input, whose bytes after
     * are not restored between runs) */
    check_in(&g, BPFVM_MODE_RAW, -1, what, s->guard || s->frame ? 3 : 2);
#if defined(__x86_64__)
    for (int checked = 0; checked < 2; checked++) {
        /* (checked after a length check, the code may run as a copy whose
         * guard proves the loads inside the input, so apart from the frame:
         * either) */
        bool wide = iv_combines[s->iv] && s->n > s->piece && (s->iv != IV_SPILL || s->frame);
        if (s->iv == IV_SPILL && !s->frame && checked && s->guard)
            continue;
        bpfvm_vm *vm = compiled(&g, checked, what);
        if (!vm)
            return;
        CHECK(has_wide(vm, s->n, base_reg(s), at(s, 0)) == wide, "%s, %s: %s the wide load", what,
              checked ? "checked" : "unchecked", wide ? "without" : "with");
        bpfvm_destroy(vm);
    }
#endif
}

static void test_shapes(void)
{
    static const unsigned sizes[][2] = { { 2, 1 }, { 4, 1 }, { 8, 1 }, { 4, 2 }, { 8, 2 } };
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
        for (int lo = 0; lo < NORDER; lo++)
            for (int oo = 0; oo <= NORDER; oo++)       /* NORDER: as clang */
                for (int w32 = 0; w32 < 2; w32++) {
                    shape s = { sizes[z][0], sizes[z][1], lo, oo % NORDER, w32 != 0,
                                oo == NORDER, false, false, IV_NONE };
                    if (s.w32 && s.n > 4)
                        continue;
                    for (int base = 0; base < 3; base++) {
                        s.frame = base == 2;
                        s.guard = base == 1;
                        check_shape(&s);
                    }
                }
}

static void test_interventions(void)
{
    for (int iv = 0; iv < NIV; iv++)
        for (int base = 0; base < 3; base++)
            for (int lo = 0; lo < NORDER; lo++) {
                shape s = { 8, 1, lo, ORDER_SHUF, false, lo == ORDER_UP, base == 2, base == 1, iv };
                if (s.frame && (iv == IV_STORE_ALIAS || iv == IV_STORE_PIECES ||
                                iv == IV_BASE_MOVED))
                    continue;
                check_shape(&s);
                s.n = 4;
                s.w32 = true;
                if (iv != IV_W_HALF)
                    check_shape(&s);
            }
}

/* Register operations between an address computation and its access that
 * write what the address is computed from run after the access
 * (emit_address): a combined load among them (here the index, from the
 * frame, 0) must stay before the store through the address that writes its
 * bytes. */
static void test_reorder(void)
{
    prog g = { .n = 0 };
    put(&g, BPFVM_ST_MEM(BPFVM_H, 10, -16, 0));
    put(&g, BPFVM_LDX_MEM(BPFVM_B, 2, 10, -16));
    put(&g, BPFVM_LDX_MEM(BPFVM_B, 3, 10, -15));
    put(&g, BPFVM_ALU64_IMM(BPFVM_LSH, 3, 8));
    put(&g, BPFVM_MOV64_REG(7, 10));                   /* r7 = r10 + r2 */
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 7, 2));
    put(&g, BPFVM_ALU64_REG(BPFVM_OR, 2, 3));          /* bytes -16, -15 as they were */
    put(&g, BPFVM_ST_MEM(BPFVM_B, 7, -16, 0x5a));      /* byte -16 written */
    put(&g, BPFVM_MOV64_REG(0, 2));
    put(&g, BPFVM_EXIT());
    check_in(&g, BPFVM_MODE_RAW, -1, "combined load between an address and its store", 3);
}

/* A gathered copy writes its bytes at its first store: a combined load in
 * its window must not read bytes it writes there that the program writes
 * after the load (the copy is then not gathered). */
static void test_gathered(void)
{
    prog g = { .n = 0 };
    put(&g, BPFVM_MOV64_REG(6, 1));
    put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 2, 16, 0));
    size_t out = g.n - 1;
    put(&g, BPFVM_LDX_MEM(BPFVM_B, 2, 6, 0));          /* the copy's source: bytes 0, 1 */
    put(&g, BPFVM_LDX_MEM(BPFVM_B, 3, 6, 1));
    put(&g, BPFVM_LDX_MEM(BPFVM_B, 4, 6, 11));         /* the value: bytes 11, 12 */
    put(&g, BPFVM_LDX_MEM(BPFVM_B, 5, 6, 12));
    put(&g, BPFVM_STX_MEM(BPFVM_B, 6, 2, 10));         /* the copy's bytes 10, 11 ... */
    put(&g, BPFVM_ALU64_IMM(BPFVM_LSH, 5, 8));
    put(&g, BPFVM_ALU64_REG(BPFVM_OR, 5, 4));          /* (byte 11 as it was) */
    put(&g, BPFVM_STX_MEM(BPFVM_B, 6, 3, 11));         /* ... byte 11 after the value */
    finish(&g, 5, out, "combined load inside a gathered copy's window");
}

/* A loop of three trips (a versioned one: its guard proves the loads)
 * assembling a value of 4 bytes per trip, one of its bytes also stored,
 * then code after it. */
static void test_loop(void)
{
    prog g = { .n = 0 };
    put(&g, BPFVM_MOV64_REG(6, 1));
    put(&g, BPFVM_MOV64_IMM(8, 0));
    put(&g, BPFVM_MOV64_IMM(9, 0));
    put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 2, 40, 0));
    size_t out = g.n - 1, head = g.n;
    put(&g, BPFVM_MOV64_REG(7, 6));                    /* r7 = r6 + 8 * trip */
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 7, 8));
    for (int p = 0; p < 4; p++)
        put(&g, BPFVM_LDX_MEM(BPFVM_B, 2 + p, 7, (int16_t)(OFF + p)));
    for (int p = 0; p < 4; p += 2) {                   /* as clang: halves, then the upper */
        put(&g, BPFVM_MOV32_REG(1, 3 + p));
        put(&g, BPFVM_ALU32_IMM(BPFVM_LSH, 1, 8));
        put(&g, BPFVM_ALU32_REG(BPFVM_OR, 1, 2 + p));
        put(&g, BPFVM_MOV32_REG(2 + p, 1));
    }
    put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 3, 20));         /* byte OFF + 1 at 20 */
    put(&g, BPFVM_ALU32_IMM(BPFVM_LSH, 4, 16));
    put(&g, BPFVM_ALU32_REG(BPFVM_OR, 4, 2));
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 9, 4));
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 8, 8));
    put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 8, 24, 0));
    patch(&g, g.n - 1, head);
    finish(&g, 9, out, "a loop assembling 4 bytes per trip");
#if defined(__x86_64__)
    for (int checked = 0; checked < 2; checked++) {
        bpfvm_vm *vm = compiled(&g, checked, "loop");
        CHECK(vm && has_wide(vm, 4, 7, OFF), "loop, %s: without the wide load",
              checked ? "checked" : "unchecked");
        bpfvm_destroy(vm);
    }
#endif
}

#if defined(__x86_64__)
/* Does vm's code store a register at [rbp - 24] (r10 - 24)? */
static bool spills_24(const bpfvm_vm *vm)
{
    size_t size = 0;
    const uint8_t *c = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; c && i + 4 <= size; i++)
        if ((c[i] & 0xfa) == 0x48 && c[i + 1] == 0x89 && (c[i + 2] & 0xc7) == 0x45 &&
            c[i + 3] == 0xe8)
            return true;
    return false;
}
#endif

/* clang spills a byte it loaded for a combined value to the frame and
 * reloads it for the or (memops): when the reload has no code (the value
 * is one wide load), the spill goes too, unless its bytes may be read
 * otherwise. In a loop of two trips (the slot written again before the
 * next read) or straight code; the byte also stored elsewhere (a reload
 * read by a byte store only). Kept: the slot read after the block, a byte
 * of it read in the block, the reload's value read by other code, r10
 * copied (a frame reachable otherwise), the slot read after the loop. The
 * same results in every engine; on x86-64 the spill is in the code or
 * not. */
enum { DS_NONE, DS_STORED, DS_READ_AFTER, DS_BYTE_READ, DS_RELOAD_READ, DS_R10_COPIED,
       DS_LOOP, DS_LOOP_READ_AFTER, NDS };
static void test_dead_spill(void)
{
    static const char *const names[NDS] = {
        "a dead spill", "a dead spill, the byte also stored", "the slot read after the block",
        "a byte of the slot read", "the reload read by other code", "r10 copied",
        "a dead spill in a loop", "the slot read after the loop" };
    for (int v = 0; v < NDS; v++) {
        bool loop = v == DS_LOOP || v == DS_LOOP_READ_AFTER;
        prog g = { .n = 0 };
        put(&g, BPFVM_MOV64_REG(6, 1));
        put(&g, BPFVM_MOV64_IMM(8, 0));
        put(&g, BPFVM_MOV64_IMM(9, 0));
        if (v == DS_R10_COPIED)
            put(&g, BPFVM_MOV64_REG(9, 10));
        put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 2, 32, 0));
        size_t out = g.n - 1, head = g.n;
        put(&g, BPFVM_MOV64_REG(7, 6));                /* r7 = r6 + 8 * trip */
        put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 7, 8));
        put(&g, BPFVM_LDX_MEM(BPFVM_B, 2, 7, OFF + 1));
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 2, -24)); /* spilled */
        put(&g, BPFVM_LDX_MEM(BPFVM_B, 2, 7, OFF));    /* (r2 written: the spill's reason) */
        put(&g, BPFVM_LDX_MEM(BPFVM_B, 3, 7, OFF + 2));
        put(&g, BPFVM_LDX_MEM(BPFVM_B, 4, 7, OFF + 3));
        if (v == DS_BYTE_READ)
            put(&g, BPFVM_LDX_MEM(BPFVM_B, 5, 10, -23));
        put(&g, BPFVM_LDX_MEM(BPFVM_DW, 1, 10, -24)); /* reloaded */
        if (v == DS_STORED)
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 1, 16));
        if (v == DS_RELOAD_READ)
            put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 9, 1));
        put(&g, BPFVM_ALU64_IMM(BPFVM_LSH, 1, 8));
        put(&g, BPFVM_ALU64_REG(BPFVM_OR, 1, 2));
        put(&g, BPFVM_ALU64_IMM(BPFVM_LSH, 4, 8));
        put(&g, BPFVM_ALU64_REG(BPFVM_OR, 4, 3));
        put(&g, BPFVM_ALU64_IMM(BPFVM_LSH, 4, 16));
        put(&g, BPFVM_ALU64_REG(BPFVM_OR, 4, 1));
        put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 9, 4));
        if (v == DS_BYTE_READ)
            put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 9, 5));
        if (loop) {
            put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 8, 8));
            put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 8, 16, 0));
            patch(&g, g.n - 1, head);
        }
        if (v == DS_READ_AFTER)
            put(&g, BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0)); /* (the next slot starts a block) */
        if (v == DS_READ_AFTER || v == DS_LOOP_READ_AFTER) {
            put(&g, BPFVM_LDX_MEM(BPFVM_DW, 5, 10, -24));
            put(&g, BPFVM_ALU64_REG(BPFVM_XOR, 9, 5));
        }
        if (v == DS_R10_COPIED) {
            put(&g, BPFVM_MOV64_IMM(9, 0));
            put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 9, 4));
        }
        finish(&g, 9, out, names[v]);
#if defined(__x86_64__)
        static const bool dropped[NDS] = { true, true, false, false, false, false, true, false };
        for (int checked = 0; checked < 2; checked++) {
            bpfvm_vm *vm = compiled(&g, checked, names[v]);
            CHECK(vm && has_wide(vm, 4, 7, OFF), "%s, %s: without the wide load", names[v],
                  checked ? "checked" : "unchecked");
            CHECK(vm && spills_24(vm) != dropped[v], "%s, %s: the spill %s", names[v],
                  checked ? "checked" : "unchecked", dropped[v] ? "left" : "dropped");
            bpfvm_destroy(vm);
        }
#endif
    }
}

int main(void)
{
    test_shapes();
    test_interventions();
    test_reorder();
    test_gathered();
    test_loop();
    test_dead_spill();
    return TEST_END();
}
