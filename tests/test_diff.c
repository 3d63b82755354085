/* test_diff.c - differential test: random valid programs run by the
 * interpreter and by the JIT (checked, and unchecked when the program does
 * not fault) must give the same result, the same error code, instruction
 * index and fault address, and leave the same memory behind.
 *
 * Odd seeds compile with constant blinding; stack frames are 64, 512 or 4096
 * bytes. Programs mix every ALU row with edge values (0, -1, INT_MIN, INT64_MIN,
 * shifts >= width, division by zero), forward jumps of every kind, loads,
 * stores and atomics on the stack and the input memory (some out of bounds),
 * legacy packet loads, helper calls, callx (also of unknown ids), and local
 * calls into further functions (some recursive, some leaves: only register
 * operations and jumps), the division shapes the x86-64 JIT translates as a
 * whole (zero-extension then a constant divisor, clang's remainder by a
 * register). Some programs also jump
 * backwards; those run with a budget, so each ends, and the two engines must
 * stop at the same instruction.
 *
 *   test_diff [COUNT [FIRST_SEED]]   default: 10000 programs from seed 1
 * Seeds are fixed: a failure names its seed, and `test_diff 1 SEED` replays it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "test.h"

#define MEM_LEN 64
#include "engine_run.h"
#define MAX_SLOTS 1200
#define HELPER_ID 7

/* A jump or call whose target is chosen once the whole program is laid out. */
typedef struct fixup {
    size_t slot, item;
    int fn;        /* function the instruction is in */
    int callee;    /* local call: the function called; -1 for jumps */
    bool back;     /* jump: to an earlier item */
} fixup;

typedef struct gen {
    uint64_t s;
    bpfvm_insn p[MAX_SLOTS];
    size_t n;
    size_t item_slot[MAX_SLOTS]; /* first slot of each item (instruction) */
    size_t nitems;
    fixup fix[MAX_SLOTS];
    size_t nfix;
    size_t func_entry[4];        /* slot of each function's first instruction */
    size_t func_start[4];        /* item index of each function's first item */
    size_t func_end[4];          /* item index of each function's exit */
    bool backward;               /* the program may loop: run it with a budget */
    unsigned frame;              /* stack frame size the program runs with */
    bool runs;                   /* some items are runs of copies or stores (gen_run) */
} gen;

static uint64_t rnd(gen *g) { return xorshift64s(&g->s); }

static unsigned pick(gen *g, unsigned n) { return (unsigned)(rnd(g) % n); }

static const uint64_t edge64[] = {
    0, 1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 65, 0xffffffffffffffffull, 0xfffffffffffffffeull,
    0x80000000ull, 0x7fffffffull, 0xffffffffull, 0x100000000ull, 0xffffffff80000000ull,
    0x8000000000000000ull, 0x7fffffffffffffffull, 0x8000000000000001ull, 0x00000000ffff8000ull,
};

static uint64_t value(gen *g)
{
    return pick(g, 3) ? edge64[pick(g, sizeof(edge64) / sizeof(edge64[0]))] : rnd(g);
}

static int32_t imm(gen *g)
{
    static const int32_t e[] = { 0, 1, -1, 2, -2, 7, 31, 32, 33, 63, 64, 65, INT32_MIN,
                                 INT32_MAX, 0xff, 0x8000, -0x8000, 16 };
    return pick(g, 3) ? e[pick(g, sizeof(e) / sizeof(e[0]))] : (int32_t)rnd(g);
}

static void put(gen *g, bpfvm_insn in)
{
    if (g->n < MAX_SLOTS)
        g->p[g->n++] = in;
}

static void item(gen *g)
{
    g->item_slot[g->nitems++] = g->n;
}

/* A random register holding a plain value (r9 = mem, r10 = frame: never
 * written, never read as values, so results do not depend on addresses). */
static int vreg(gen *g) { return (int)pick(g, 9); }

static int row_of_fmt(gen *g, int fmt1, int fmt2)
{
    for (;;) {
        int row = (int)pick(g, BPFVM__OP_COUNT);
        if (bpfvm__ops[row].fmt == fmt1 || bpfvm__ops[row].fmt == fmt2)
            return row;
    }
}

static bpfvm_insn from_row(int row, int dst, int src, int16_t off, int32_t im)
{
    const bpfvm__opinfo *info = &bpfvm__ops[row];
    if (info->disc == BPFVM__DISC_OFF)
        off = (int16_t)info->value;
    if (info->disc == BPFVM__DISC_IMM)
        im = info->value;
    return BPFVM_INSN(info->code, dst, src, off, im);
}

/* Shapes of division the x86-64 JIT translates as a whole: a value
 * zero-extended (v1's lsh 32; rsh 32), maybe moved, then divided by a
 * constant; clang's remainder by a register (Q = N; Q /= D; Q *= D; R = N;
 * R -= Q). */
static void gen_division(gen *g)
{
    int a = vreg(g), b = vreg(g), c = vreg(g), d = vreg(g);
    if (pick(g, 2)) {
        item(g);
        put(g, BPFVM_ALU64_IMM(BPFVM_LSH, a, 32));
        item(g);
        put(g, BPFVM_ALU64_IMM(BPFVM_RSH, a, pick(g, 4) ? 32 : 31));
        if (pick(g, 2)) {
            item(g);
            put(g, BPFVM_MOV64_REG(b, a));
            a = b;
        }
        item(g);
        put(g, BPFVM_ALU64_IMM(pick(g, 2) ? BPFVM_DIV : BPFVM_MOD, a, imm(g)));
        return;
    }
    item(g);
    put(g, BPFVM_MOV64_REG(a, b));
    item(g);
    put(g, BPFVM_ALU64_REG(BPFVM_DIV, a, c));
    item(g);
    put(g, BPFVM_ALU64_REG(BPFVM_MUL, a, c));
    item(g);
    put(g, BPFVM_MOV64_REG(d, b));
    item(g);
    put(g, BPFVM_ALU64_REG(BPFVM_SUB, d, a));
}

static void gen_alu(gen *g)
{
    int row = row_of_fmt(g, BPFVM__FMT_ALU_K, pick(g, 4) ? BPFVM__FMT_ALU_X : BPFVM__FMT_END);
    int fmt = bpfvm__ops[row].fmt;
    if (pick(g, 24) == 0) {
        gen_division(g);
        return;
    }
    item(g);
    if (pick(g, 8) == 0) {
        bpfvm_insn two[] = { BPFVM_LD_IMM64(vreg(g), value(g)) };
        put(g, two[0]);
        put(g, two[1]);
        return;
    }
    if (pick(g, 16) == 0) {
        put(g, BPFVM_INSN(bpfvm__ops[pick(g, 2) ? BPFVM__OP_NEG64 : BPFVM__OP_NEG32].code,
                          vreg(g), 0, 0, 0));
        return;
    }
    if (pick(g, 24) == 0) {
        /* a rotate in clang's shape (the x86-64 JIT's rol), the counts
         * sometimes not adding up to the width */
        bool w64 = pick(g, 2);
        int t = vreg(g), x = vreg(g), k = 1 + (int)pick(g, w64 ? 63 : 31);
        int k2 = (w64 ? 64 : 32) - k + (pick(g, 4) == 0 ? 1 : 0);
        uint8_t alu = w64 ? BPFVM_ALU64 : BPFVM_ALU;
        bool rsh = pick(g, 2);
        put(g, w64 ? BPFVM_MOV64_REG(t, x) : BPFVM_MOV32_REG(t, x));
        put(g, BPFVM_INSN(alu | BPFVM_K | (rsh ? BPFVM_RSH : BPFVM_LSH), t, 0, 0, k2));
        put(g, BPFVM_INSN(alu | BPFVM_K | (rsh ? BPFVM_LSH : BPFVM_RSH), x, 0, 0, k));
        put(g, BPFVM_INSN(alu | BPFVM_X | BPFVM_OR, x, t, 0, 0));
        return;
    }
    put(g, from_row(row, vreg(g), fmt == BPFVM__FMT_ALU_X ? vreg(g) : 0, 0,
                    fmt == BPFVM__FMT_ALU_K ? imm(g) : 0));
}

/* [base + off] for an access of `size`: mostly inside mem (r9) or the frame
 * (r10), sometimes just outside, rarely through a value register. */
static void address(gen *g, unsigned size, bool aligned, int *base, int16_t *off)
{
    unsigned k = pick(g, 400);
    int o;
    if (k < 195) {
        *base = 9;
        o = (int)pick(g, MEM_LEN - size + 1);
    } else if (k < 390) {
        *base = 10; /* inside the frame: the verifier rejects r10 offsets outside it */
        o = -(int)size - (int)pick(g, (g->frame < 64 ? g->frame : 64) - size + 1);
    } else if (k < 395) {
        /* just past mem (the verifier rejects r10 offsets outside the frame) */
        *base = 9;
        o = MEM_LEN - (int)size + 1 + (int)pick(g, 8);
    } else {
        *base = vreg(g);
        o = (int)pick(g, 16);
    }
    if (aligned && *base >= 9)
        o &= ~(int)(size - 1);
    *off = (int16_t)o;
}

static void gen_mem(gen *g)
{
    int row = row_of_fmt(g, BPFVM__FMT_LDX, pick(g, 2) ? BPFVM__FMT_STX : BPFVM__FMT_ST);
    if (pick(g, 6) == 0)
        row = row_of_fmt(g, BPFVM__FMT_ATOMIC, BPFVM__FMT_ATOMIC);
    unsigned size = bpfvm__access_size(row);
    int fmt = bpfvm__ops[row].fmt, base;
    int16_t off;
    address(g, size, fmt == BPFVM__FMT_ATOMIC, &base, &off);
    item(g);
    if (fmt == BPFVM__FMT_LDX)
        put(g, from_row(row, vreg(g), base, off, 0));
    else if (fmt == BPFVM__FMT_ST)
        put(g, from_row(row, base, 0, off, imm(g)));
    else
        put(g, from_row(row, base, vreg(g), off, 0));
}

/* read-modify-write of the same bytes: load, register operations, store */
static void gen_rmw(gen *g)
{
    static const uint8_t sizes[4] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };
    uint8_t sz = sizes[pick(g, 4)];
    unsigned size = sz == BPFVM_B ? 1 : sz == BPFVM_H ? 2 : sz == BPFVM_W ? 4 : 8;
    int base, r = vreg(g);
    int16_t off;
    address(g, size, false, &base, &off);
    if (base == r)
        r = (r + 1) % 9;
    item(g);
    put(g, BPFVM_LDX_MEM(sz, r, base, off));
    for (unsigned k = pick(g, 3); k > 0; k--) {
        item(g);
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, r, imm(g)));
    }
    item(g);
    put(g, pick(g, 4) ? BPFVM_STX_MEM(sz, base, r, off) : BPFVM_ST_MEM(sz, base, off, imm(g)));
}

/* A base for a run: r9 (mem), r10 (the frame) or register p set to point
 * into either (p < 0: not allowed); the offsets of n accesses of `size`
 * bytes then start at *off. Mem runs sometimes go past its end. */
static int run_base(gen *g, int p, unsigned span, int *off)
{
    unsigned k = pick(g, p < 0 ? 2 : 4), room = g->frame < 256 ? g->frame : 256;
    if (k == 1 || k == 3) {
        *off = -(int)span - (int)pick(g, room - span + 1);
        if (k == 1)
            return 10;
        int32_t d = (int32_t)pick(g, 9);               /* p = r10 - d, offsets + d */
        put(g, BPFVM_MOV64_REG(p, 10));
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, p, -d));
        *off += d;
        return p;
    }
    *off = (int)pick(g, MEM_LEN - span + 1);
    if (pick(g, 8) == 0)
        *off += (int)pick(g, span) + 1;                 /* faults part of the way */
    if (k == 0)
        return 9;
    int32_t d = (int32_t)pick(g, 17) - 8;             /* p = r9 + d, offsets - d */
    put(g, BPFVM_MOV64_REG(p, 9));
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, p, d));
    *off -= d;
    return p;
}

/* The pointers p and q (-1: none) become values again. */
static void run_end(gen *g, int p, int q)
{
    for (int r = 0; r < 9; r++)
        if (r == p || r == q)
            put(g, BPFVM_MOV64_IMM(r, imm(g)));
}

/* n bytes copied as clang does when it also computes with them (which the
 * x86-64 JIT gathers into wide moves): each loaded into a register of its
 * own (not p or q), some before the first store, the stores in the order
 * order[], the bytes loaded later just before their stores. */
static void gen_gathered(gen *g, unsigned n, const unsigned *order, int sb, int so, int db,
                         int doff, int p, int q)
{
    int reg[8];
    unsigned nreg = 0, early = pick(g, n + 1);
    for (int r = 0; r < 9 && nreg < n; r++)
        if (r != p && r != q)
            reg[nreg++] = r;
    n = nreg < n ? nreg : n;
    bool loaded[8] = { false };
    for (unsigned m = 0; m < early && m < n; m++) {
        unsigned k = (order[m] + 1) % n;
        put(g, BPFVM_LDX_MEM(BPFVM_B, reg[k], sb, (int16_t)(so + (int)k)));
        loaded[k] = true;
    }
    for (unsigned m = 0; m < n; m++) {
        unsigned k = order[m] % n;
        if (!loaded[k])
            put(g, BPFVM_LDX_MEM(BPFVM_B, reg[k], sb, (int16_t)(so + (int)k)));
        loaded[k] = true;
        put(g, BPFVM_STX_MEM(BPFVM_B, db, reg[k], (int16_t)(doff + (int)k)));
    }
    run_end(g, p, q);
}

/* A run as clang expands memcpy/memset of constant size (which the x86-64
 * JIT turns into wide moves): n pairs `ldx t, [s + a]; stx [d + a + delta],
 * t` of one size, n stores of one register's low byte, or n stores of
 * immediates, at consecutive offsets (one sometimes left out) in a
 * descending, ascending or shuffled order; source and destination may
 * overlap, through one base or two. One item: nothing jumps into it. */
static void gen_run(gen *g)
{
    static const uint8_t sizes[4] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };
    unsigned kind = pick(g, 3), sz = pick(g, 3) ? 0 : pick(g, 4);
    uint8_t code = kind == 1 ? BPFVM_B : sizes[sz];
    unsigned size = kind == 1 ? 1u : 1u << sz, n = 4 + pick(g, 24);
    if (n * size > 48)
        n = 48 / size;
    int p = pick(g, 2) ? vreg(g) : -1, q = pick(g, 2) ? vreg(g) : -1, t = vreg(g);
    if (q == p)
        q = -1;
    int so = 0, doff, hole = pick(g, 3) ? -1 : (int)pick(g, n);
    item(g);
    int db = run_base(g, p, n * size, &doff), sb = kind == 0 ? run_base(g, q, n * size, &so) : 0;
    if (t == p || t == q)
        t = (t + 1) % 9 == p || (t + 1) % 9 == q ? (t + 2) % 9 : (t + 1) % 9;
    unsigned order[48], dir = pick(g, 3);
    for (unsigned m = 0; m < n; m++)
        order[m] = dir == 0 ? n - 1 - m : m;
    for (unsigned m = n; dir == 2 && m > 1; m--) {
        unsigned r = pick(g, m), x = order[m - 1];
        order[m - 1] = order[r];
        order[r] = x;
    }
    int v = vreg(g) % 8;                               /* a value, not the pointer */
    if (v == p)
        v++;
    if (kind == 0 && code == BPFVM_B && n <= 8 && pick(g, 2)) {
        gen_gathered(g, n, order, sb, so, db, doff, p, q);
        return;
    }
    for (unsigned m = 0; m < n; m++) {
        if ((int)order[m] == hole)
            continue;
        int16_t a = (int16_t)(order[m] * size);
        if (kind == 0) {
            put(g, BPFVM_LDX_MEM(code, t, sb, (int16_t)(so + a)));
            put(g, BPFVM_STX_MEM(code, db, t, (int16_t)(doff + a)));
        } else if (kind == 1) {
            put(g, BPFVM_STX_MEM(code, db, v, (int16_t)(doff + a)));
        } else {
            put(g, BPFVM_ST_MEM(code, db, (int16_t)(doff + a), imm(g)));
        }
    }
    run_end(g, p, q);
}

static void gen_packet(gen *g)
{
    int row = row_of_fmt(g, BPFVM__FMT_LDABS, BPFVM__FMT_LDIND);
    item(g);
    int32_t o = pick(g, 8) ? (int32_t)pick(g, MEM_LEN + 4) : imm(g);
    if (bpfvm__ops[row].fmt == BPFVM__FMT_LDABS)
        put(g, from_row(row, 0, 0, 0, o));
    else
        put(g, from_row(row, 0, vreg(g), 0, (int32_t)pick(g, 8) - 2));
}

static void add_fixup(gen *g, int fn, int callee, bool back)
{
    fixup f = { g->n, g->nitems - 1, fn, callee, back };
    g->fix[g->nfix++] = f;
}

/* Two conditions as 0/1 combined and tested, as clang makes `x == K1 || x
 * == K2` (the x86-64 JIT's two compares): random registers, widths and
 * conditions, random operations between (which may touch A or B), then a
 * jump on A as gen_jump's. */
static void gen_flag_test(gen *g, int fn)
{
    int a = vreg(g), b = vreg(g), reg[2] = { b, a };
    uint8_t alu = pick(g, 2) ? BPFVM_ALU64 : BPFVM_ALU;
    item(g);
    put(g, BPFVM_INSN(alu | BPFVM_K | BPFVM_MOV, a, 0, 0, 1));
    put(g, BPFVM_INSN(alu | BPFVM_K | BPFVM_MOV, b, 0, 0, 1));
    for (int k = 0; k < 2; k++) {
        int row = row_of_fmt(g, BPFVM__FMT_JMP_K, BPFVM__FMT_JMP_X), fmt = bpfvm__ops[row].fmt;
        put(g, from_row(row, vreg(g), fmt == BPFVM__FMT_JMP_X ? vreg(g) : 0, 1,
                        fmt == BPFVM__FMT_JMP_K ? imm(g) : 0));
        put(g, BPFVM_INSN(alu | BPFVM_K | BPFVM_MOV, reg[k], 0, 0, 0));
    }
    put(g, BPFVM_INSN(alu | BPFVM_X | (pick(g, 2) ? BPFVM_AND : BPFVM_OR), a, b, 0, 0));
    for (unsigned k = pick(g, 4); k > 0; k--)
        gen_alu(g);
    if (pick(g, 2))
        put(g, BPFVM_INSN(alu | BPFVM_K | BPFVM_AND, a, 0, 0, 1));
    add_fixup(g, fn, -1, g->backward && pick(g, 4) == 0);
    put(g, BPFVM_INSN((pick(g, 2) ? BPFVM_JMP : BPFVM_JMP32) | BPFVM_K |
                          (pick(g, 2) ? BPFVM_JNE : BPFVM_JEQ), a, 0, 0, 0));
}

/* a jump to a later item of the function (or, in looping programs,
 * sometimes an earlier one) */
static void gen_jump(gen *g, int fn)
{
    if (pick(g, 24) == 0) {
        gen_flag_test(g, fn);
        return;
    }
    int row = row_of_fmt(g, BPFVM__FMT_JMP_K, BPFVM__FMT_JMP_X);
    if (pick(g, 10) == 0)
        row = pick(g, 2) ? BPFVM__OP_JA : BPFVM__OP_JA32;
    int fmt = bpfvm__ops[row].fmt;
    item(g);
    if (pick(g, 16) == 0 && fmt != BPFVM__FMT_JA && fmt != BPFVM__FMT_JA32) {
        /* jcc T; mov d, v; ja T (a select the JIT makes a conditional move) */
        put(g, from_row(row, vreg(g), fmt == BPFVM__FMT_JMP_X ? vreg(g) : 0, 2,
                        fmt == BPFVM__FMT_JMP_K ? imm(g) : 0));
        put(g, pick(g, 2) ? BPFVM_MOV64_IMM(vreg(g), imm(g)) : BPFVM_MOV32_REG(vreg(g), vreg(g)));
        put(g, BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0));
        return;
    }
    if (fmt == BPFVM__FMT_JA || fmt == BPFVM__FMT_JA32) {
        /* a conditional jump over it keeps the code after it reachable */
        int guard = row_of_fmt(g, BPFVM__FMT_JMP_K, BPFVM__FMT_JMP_K);
        put(g, from_row(guard, vreg(g), 0, 1, imm(g)));
    }
    add_fixup(g, fn, -1, g->backward && pick(g, 4) == 0);
    bool cond = fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X;
    put(g, from_row(row, cond ? vreg(g) : 0, fmt == BPFVM__FMT_JMP_X ? vreg(g) : 0, 0,
                    fmt == BPFVM__FMT_JMP_K ? imm(g) : 0));
}

/* A local call: mem goes to the callee in r1. */
static void call_local(gen *g, int fn, int callee)
{
    put(g, BPFVM_MOV64_REG(1, 9));
    add_fixup(g, fn, callee, false);
    put(g, BPFVM_CALL_LOCAL(0));
}

/* Calls leave r1-r5 unset (the verifier rejects reading them): new values. */
static void reset_args(gen *g)
{
    for (int r = 1; r <= 5; r++)
        put(g, BPFVM_MOV64_IMM(r, imm(g)));
}

static void gen_call(gen *g, int fn, int nfuncs)
{
    unsigned k = pick(g, 10);
    item(g);
    if (k < 4 && fn + 1 < nfuncs) {
        call_local(g, fn, fn + 1 + (int)pick(g, (unsigned)(nfuncs - fn - 1)));
    } else if (k == 4 && fn > 0 && pick(g, 4) == 0) {
        call_local(g, fn, fn); /* recursion: ends at the depth limit or the budget */
    } else if (k < 8) {
        put(g, BPFVM_CALL_HELPER(HELPER_ID)); /* unknown ids: the verifier rejects them */
    } else {
        int r = vreg(g);
        put(g, BPFVM_MOV64_IMM(r, pick(g, 150) ? HELPER_ID : 998));
        put(g, BPFVM_CALLX(r));
    }
    reset_args(g);
}

/* leaf: register operations and jumps only (the x86-64 JIT calls such a
 * function without a new frame) */
static void gen_body(gen *g, int fn, int nfuncs, unsigned len, bool leaf)
{
    for (unsigned i = 0; i < len && g->n < MAX_SLOTS - 8; i++) {
        unsigned k = pick(g, 100);
        if (leaf)
            k = k < 75 ? 0 : 80;
        if (k < 50)
            gen_alu(g);
        else if (k < 66)
            gen_mem(g);
        else if (k < 72)
            gen_rmw(g);
        else if (k < 88)
            gen_jump(g, fn);
        else if (k < 90)
            gen_packet(g);
        else if (g->runs && k < 94)
            gen_run(g);
        else
            gen_call(g, fn, nfuncs);
    }
}

/* Resolve jump and call targets to item starts. */
static void finish(gen *g)
{
    for (size_t k = 0; k < g->nfix; k++) {
        const fixup *f = &g->fix[k];
        bpfvm_insn *in = &g->p[f->slot];
        size_t t;
        if (f->callee >= 0) {
            t = g->func_entry[f->callee];
            in->imm = (int32_t)((int64_t)t - (int64_t)f->slot - 1);
            continue;
        }
        size_t lo = g->func_start[f->fn], hi = g->func_end[f->fn];
        if (f->back)
            t = g->item_slot[lo + pick(g, (unsigned)(f->item - lo + 1))];
        else
            t = g->item_slot[f->item + 1 + pick(g, (unsigned)(hi - f->item))];
        int64_t rel = (int64_t)t - (int64_t)f->slot - 1;
        if (rel == -1)
            rel = 0; /* no `ja -1`: the verifier rejects trivial self-loops */
        if (bpfvm__decode(in) == BPFVM__OP_JA32)
            in->imm = (int32_t)rel;
        else
            in->off = (int16_t)rel;
    }
}

static void generate(gen *g, uint64_t seed)
{
    memset(g, 0, sizeof(*g));
    g->s = seed * 0x9e3779b97f4a7c15ull + 1;
    g->backward = pick(g, 3) == 0;
    g->frame = seed % 7 == 3 ? 64 : seed % 7 == 5 ? 4096 : 512;
    g->runs = seed % 3 == 1;
    int nfuncs = 1 + (int)pick(g, 3);
    for (int fn = 0; fn < nfuncs; fn++) {
        /* every function starts with r9 = mem (passed in r1) and values in
         * r0-r8; the verifier takes only r1-r5 and r10 as set at a callee's
         * entry */
        g->func_entry[fn] = g->n;
        put(g, BPFVM_MOV64_REG(9, 1));
        for (int r = 0; r <= 8; r++) {
            bpfvm_insn two[] = { BPFVM_LD_IMM64(r, value(g)) };
            put(g, two[0]);
            put(g, two[1]);
        }
        g->func_start[fn] = g->nitems;
        if (fn + 1 < nfuncs) { /* so that every function is reachable */
            item(g);
            call_local(g, fn, fn + 1);
            reset_args(g);
        }
        gen_body(g, fn, nfuncs, 10 + pick(g, 120), fn > 0 && fn + 1 == nfuncs && pick(g, 2));
        g->func_end[fn] = g->nitems;
        item(g);
        put(g, BPFVM_EXIT());
    }
    finish(g);
}

static uint64_t helper(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    (void)ctx;
    return (a * 3) ^ (b << 7) ^ (c >> 3) ^ (d + e);
}

static bool same(const gen *g, const result *a, const result *b)
{
    if (a->rc != b->rc || memcmp(a->mem, b->mem, MEM_LEN) != 0)
        return false;
    if (a->rc == 0)
        return a->r0 == b->r0;
    if (a->err.insn != b->err.insn || a->err.size != b->err.size)
        return false;
    /* stack addresses may differ between engines: compare the others */
    const bpfvm_insn *in = &g->p[a->err.insn];
    int base = bpfvm__ops[bpfvm__decode(in)].fmt == BPFVM__FMT_LDX ? in->src : in->dst;
    return a->rc != BPFVM_EMEMORY || base == 10 || a->err.addr == b->err.addr;
}

int main(int argc, char **argv)
{
    static gen g;
    static uint8_t mem[MEM_LEN] __attribute__((aligned(8)));
    uint8_t init[MEM_LEN];
    unsigned long count = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
    unsigned long first = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
    unsigned long rejected = 0, faults = 0, budget = 0;
    result ri, rj, ru;

    for (unsigned long seed = first; seed < first + count; seed++) {
        generate(&g, seed);
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_register_helper(vm, HELPER_ID, "mix", helper, NULL);
        if (g.backward)
            bpfvm_set_budget(vm, 2000 + seed % 512);
        bpfvm_set_call_depth(vm, (unsigned)(seed % 8));
        bpfvm_set_stack_size(vm, g.frame);
        if (bpfvm_load(vm, g.p, g.n * sizeof(bpfvm_insn)) != 0) {
            rejected++;
            if (getenv("DIFF_VERBOSE"))
                printf("seed %lu rejected: %s\n", seed, bpfvm_last_error(vm)->message);
            bpfvm_destroy(vm);
            continue;
        }
        for (size_t i = 0; i < MEM_LEN; i++)
            init[i] = (uint8_t)(seed * 131 + i * 29);
        run_fn interp = bpfvm_run, jit = bpfvm_run_jit;
        run_once(interp, vm, mem, init, &ri);
        int rc = bpfvm_compile(vm, seed & 1 ? BPFVM_JIT_BLIND : 0);
        CHECK(rc == 0, "seed %lu: compile: %s", seed, bpfvm_last_error(vm)->message);
        run_once(jit, vm, mem, init, &rj);
        CHECK(same(&g, &ri, &rj),
              "seed %lu: interpreter %s r0 %#llx insn %lld (%s); JIT %s r0 %#llx insn %lld (%s)",
              seed, bpfvm_errname(ri.rc), (unsigned long long)ri.r0, (long long)ri.err.insn,
              ri.err.message, bpfvm_errname(rj.rc), (unsigned long long)rj.r0,
              (long long)rj.err.insn, rj.err.message);
        faults += ri.rc != 0;
        if (ri.rc && getenv("DIFF_VERBOSE"))
            printf("seed %lu: %s\n", seed, bpfvm_errname(ri.rc));
        budget += ri.rc == BPFVM_EBUDGET;
        if (ri.rc != BPFVM_EMEMORY) {
            bpfvm_set_checked(vm, 0);
            CHECK(bpfvm_compile(vm, 0) == 0, "seed %lu: compile unchecked", seed);
            run_once(jit, vm, mem, init, &ru);
            CHECK(same(&g, &ri, &ru), "seed %lu: unchecked JIT %s r0 %#llx, interpreter %s r0 %#llx",
                  seed, bpfvm_errname(ru.rc), (unsigned long long)ru.r0, bpfvm_errname(ri.rc),
                  (unsigned long long)ri.r0);
        }
        bpfvm_destroy(vm);
    }
    CHECK(rejected * 20 < count + 20, "%lu of %lu generated programs rejected by the verifier",
          rejected, count);
    printf("%lu programs (%lu rejected by the verifier, %lu faulted, %lu hit the budget)\n",
           count, rejected, faults, budget);
    return TEST_END();
}
