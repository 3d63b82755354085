/* test_jit_memops.c - runs of copies and stores as clang expands constant-size
 * memcpy/memset (`ldxb t, [s + a]; stxb [d + a], t` ..., `stxb [d + k], v`
 * ..., `st [d + k], imm` ...), which the x86-64 JIT turns into wide moves
 * after one overlap test and one range test per side. Every program runs in
 * the interpreter and in the JIT (checked, blinded, and unchecked when it
 * does not fault): the same r0 (which folds the registers the run writes),
 * error, instruction, fault address and size, and the same memory after.
 * Cases: every access size and order, sources and destinations overlapping
 * through one register or two (each distance), ranges crossing the end of
 * the input memory on either side (a fault in the middle of the run, after
 * some of its stores), the frame, a pointer into the frame, read-only and
 * readable regions, runs with holes, budgets running out around a run in a
 * loop, a run inside a loop whose guard proves one side, a jump into the
 * middle of a run, a block longer than a versioned segment (no run over
 * its end), the temporary read afterwards or not, and stores of known
 * values with register operations between them. On x86-64 the machine code is checked for the wide
 * forms. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#define PROG_MAX 600
#include "jit_test.h"
#include "test.h"

#define MEM 128

static struct {
    uint8_t before[64], mem[MEM], after[64]; /* no region: the bytes around mem fault */
} area __attribute__((aligned(16)));
static uint8_t *const mem = area.mem;
static uint8_t ro[64] __attribute__((aligned(16)));     /* a read-only region */
static uint8_t rw[64] __attribute__((aligned(16)));     /* a writable region */

typedef struct outcome {
    int rc;
    uint64_t r0;
    bpfvm_error err;
    uint8_t mem[MEM], rw[sizeof rw];
} outcome;

static void put_lddw(prog *g, int r, uint64_t v)
{
    bpfvm_insn two[] = { BPFVM_LD_IMM64(r, v) };
    put(g, two[0]);
    put(g, two[1]);
}

/* r1 = mem, r2 = its length; r3, r4, r5, r9 hold values; r7/r8 point where
 * the case wants. */
static void start(prog *g)
{
    g->n = 0;
    put_lddw(g, 0, 0x0102030405060708ull);
    put_lddw(g, 3, 0xa5a5a5a5a5a5a5a5ull);
    put_lddw(g, 4, 0x1234567890abcdefull);
    put_lddw(g, 5, 0xfedcba9876543210ull);
    put_lddw(g, 9, 0x0f0e0d0c0b0a0908ull);
}

/* r0 = a mix of r0, r3, r4, r5, r9 (pointers left out: frame addresses
 * differ between the engines); exit */
static void finish(prog *g)
{
    static const int regs[] = { 3, 4, 5, 9 };
    for (size_t k = 0; k < sizeof regs / sizeof regs[0]; k++) {
        put(g, BPFVM_ALU64_IMM(BPFVM_MUL, 0, 31));
        put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, regs[k]));
    }
    put(g, BPFVM_EXIT());
}

/* reg = r1 + off (mem) or r10 + off (frame) */
static void point(prog *g, int reg, int base, int32_t off)
{
    put(g, BPFVM_MOV64_REG(reg, base));
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, reg, off));
}

/* The order of n accesses: 0 descending, 1 ascending, 2 a fixed shuffle,
 * 3 clang's blocks (as memops: 8 descending, then the rest). */
static unsigned order_at(int order, unsigned n, unsigned m)
{
    switch (order) {
    case 0: return n - 1 - m;
    case 1: return m;
    case 2: return (m * (n % 7 ? 7 : 5) + 3) % n;     /* (a permutation for n < 35) */
    default: return m < 8 && n > 8 ? 7 - m : m;
    }
}

/* n pairs ldx t, [s + so + a]; stx [d + do + a], t of `size` bytes; the
 * offset `hole` (if < n) left out. */
static void copy_run(prog *g, uint8_t size, unsigned n, int order, int t, int s, int32_t so,
                     int d, int32_t dof, unsigned hole)
{
    unsigned bytes = size == BPFVM_B ? 1 : size == BPFVM_H ? 2 : size == BPFVM_W ? 4 : 8;
    for (unsigned m = 0; m < n; m++) {
        unsigned k = order_at(order, n, m);
        if (k == hole)
            continue;
        int16_t a = (int16_t)(k * bytes);
        put(g, BPFVM_LDX_MEM(size, t, s, (int16_t)(so + a)));
        put(g, BPFVM_STX_MEM(size, d, t, (int16_t)(dof + a)));
    }
}

static void set_memory(void)
{
    for (size_t i = 0; i < MEM; i++)
        mem[i] = (uint8_t)(i * 37 + 11);
    for (size_t i = 0; i < sizeof rw; i++)
        rw[i] = (uint8_t)(i * 13 + 200);
}

static void run(bpfvm_vm *vm, bool jit, outcome *o)
{
    set_memory();
    memset(o, 0, sizeof *o);
    o->rc = (jit ? bpfvm_run_jit : bpfvm_run)(vm, mem, MEM, NULL, 0, &o->r0, &o->err);
    memcpy(o->mem, mem, MEM);
    memcpy(o->rw, rw, sizeof rw);
}

/* Is the address inside mem or a region (else in a frame, which differs
 * between the engines)? */
static bool fixed_place(uint64_t a)
{
    uintptr_t x = (uintptr_t)a;
    return (x >= (uintptr_t)mem && x < (uintptr_t)mem + MEM + 8) ||
           (x >= (uintptr_t)ro && x < (uintptr_t)ro + sizeof ro + 8) ||
           (x >= (uintptr_t)rw && x < (uintptr_t)rw + sizeof rw + 8);
}

static bool same(const outcome *a, const outcome *b)
{
    return a->rc == b->rc && (a->rc != 0 || a->r0 == b->r0) && a->err.insn == b->err.insn &&
           (a->err.addr == b->err.addr || !fixed_place(a->err.addr)) &&
           a->err.size == b->err.size &&
           memcmp(a->mem, b->mem, MEM) == 0 && memcmp(a->rw, b->rw, sizeof rw) == 0;
}

/* Run g in every engine; returns the interpreter's outcome in *want. The
 * regions ro (read-only) and rw are registered. With `keep`, returns the
 * VM compiled again (checked) for a look at its code, else NULL. */
static bpfvm_vm *run_all(const prog *g, uint64_t budget, const char *what, outcome *want,
                         bool keep)
{
    outcome got;
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_set_budget(vm, budget);
    bpfvm_add_region(vm, ro, sizeof ro, BPFVM_READ);
    bpfvm_add_region(vm, rw, 32, BPFVM_READ | BPFVM_WRITE); /* byte 32 is in neither */
    bpfvm_add_region(vm, rw + 33, sizeof rw - 33, BPFVM_READ | BPFVM_WRITE);
    if (bpfvm_load(vm, g->p, g->n * sizeof(bpfvm_insn)) != 0) {
        CHECK(0, "%s: load: %s", what, bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);
        return NULL;
    }
    run(vm, false, want);
    for (int e = 0; e < 3; e++) {
        if (e == 2 && want->rc == BPFVM_EMEMORY)
            break;
        bpfvm_set_checked(vm, e != 2);
        if (bpfvm_compile(vm, e == 1 ? BPFVM_JIT_BLIND : 0) != 0) {
            CHECK(0, "%s: compile: %s", what, bpfvm_last_error(vm)->message);
            break;
        }
        run(vm, true, &got);
        CHECK(same(want, &got), "%s, %s JIT: interpreter %s r0 %#llx insn %lld addr %#llx, "
              "JIT %s r0 %#llx insn %lld addr %#llx", what,
              e == 0 ? "checked" : e == 1 ? "blinded" : "unchecked", bpfvm_errname(want->rc),
              (unsigned long long)want->r0, (long long)want->err.insn,
              (unsigned long long)want->err.addr, bpfvm_errname(got.rc),
              (unsigned long long)got.r0, (long long)got.err.insn,
              (unsigned long long)got.err.addr);
    }
    if (!keep) {
        bpfvm_destroy(vm);
        return NULL;
    }
    bpfvm_set_checked(vm, 1);
    CHECK(bpfvm_compile(vm, 0) == 0, "%s: compile", what);
    return vm;
}

static void check(const prog *g, const char *what)
{
    outcome want;
    run_all(g, 0, what, &want, false);
}

#if defined(__x86_64__)
/* Are the bytes b[0..n) in the machine code? */
static bool code_has(bpfvm_vm *vm, const uint8_t *b, size_t n)
{
    size_t size = 0;
    const uint8_t *code = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; code && i + n <= size; i++)
        if (memcmp(code + i, b, n) == 0)
            return true;
    return false;
}
#endif

#if defined(__x86_64__)
/* Does the machine code load 8 bytes from [rbp + off] (r10 + off)? */
static bool reloads(bpfvm_vm *vm, int8_t off)
{
    size_t size = 0;
    const uint8_t *code = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; code && i + 4 <= size; i++)
        if ((code[i] & 0xf8) == 0x48 && code[i + 1] == 0x8b && (code[i + 2] & 0xc7) == 0x45 &&
            code[i + 3] == (uint8_t)off)
            return true;
    return false;
}
#endif

/* Copies between two registers pointing into mem at every distance
 * (overlapping ones must run byte by byte, in the program's order), each
 * size and order, the temporary read afterwards or not. */
static void test_copy_distances(void)
{
    static const uint8_t sizes[] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };
    char what[128];
    for (size_t si = 0; si < 4; si++)
        for (int order = 0; order < 4; order++)
            for (int dist = -20; dist <= 20; dist++) {
                unsigned n = sizes[si] == BPFVM_B ? 24 : sizes[si] == BPFVM_DW ? 4 : 8;
                prog g;
                start(&g);
                point(&g, 7, 1, 40);
                point(&g, 8, 1, 40 + dist);
                copy_run(&g, sizes[si], n, order, 3, 7, 0, 8, 0, 99);
                if (dist & 1)
                    put(&g, BPFVM_MOV64_IMM(3, 5));    /* t dead after the run */
                finish(&g);
                snprintf(what, sizeof what, "copy size %zu order %d distance %d", si, order, dist);
                check(&g, what);
            }
}

/* Source and destination through one register: the offsets decide. */
static void test_copy_same_base(void)
{
    char what[128];
    for (int order = 0; order < 4; order++)
        for (int delta = -18; delta <= 18; delta++) {
            prog g;
            start(&g);
            point(&g, 7, 1, 40);
            copy_run(&g, BPFVM_B, 16, order, 3, 7, 0, 7, delta, delta == 5 ? 7 : 99);
            finish(&g);
            snprintf(what, sizeof what, "same base order %d delta %d", order, delta);
            check(&g, what);
        }
}

/* A fault in the middle of the run: the destination or the source crosses
 * the end of mem, or starts before it; the stores before the faulting
 * access happen, at the same instruction. */
static void test_copy_faults(void)
{
    char what[128];
    for (int side = 0; side < 2; side++)
        for (int order = 0; order < 4; order++)
            for (int over = -3; over <= 25; over++) {
                int32_t at = over < 0 ? over : MEM - 24 + over;
                prog g;
                start(&g);
                point(&g, 7, 1, side ? at : 8);
                point(&g, 8, 1, side ? 64 : at);
                copy_run(&g, BPFVM_B, 24, order, 3, 7, 0, 8, 0, 99);
                finish(&g);
                snprintf(what, sizeof what, "fault on %s order %d at %d",
                         side ? "source" : "destination", order, at);
                outcome want;
                run_all(&g, 0, what, &want, false);
                CHECK((want.rc == BPFVM_EMEMORY) == (over > 0 || over < 0),
                      "%s: the interpreter's %s", what, bpfvm_errname(want.rc));
            }
}

/* The frame (r10 at constant offsets; a register pointing there), the
 * regions, and mem to frame and back. */
static void test_copy_places(void)
{
    static const struct {
        const char *what;
        int sbase, dbase;     /* 1 mem, 10 frame, 2 ro region, 3 rw region */
        int32_t so, dof;
        bool dreg_frame;      /* the destination through r8 = r10 + dof */
    } cases[] = {
        { "mem to frame", 1, 10, 8, -64, false },
        { "mem to frame through a register", 1, 10, 8, -64, true },
        { "mem to frame, part outside", 1, 10, 8, -20, true },
        { "read-only region to mem", 2, 1, 4, 60, false },
        { "mem to read-only region", 1, 2, 4, 8, false },
        { "mem to writable region", 1, 3, 4, 8, false },
        { "writable region to mem", 3, 1, 4, 8, false },
        { "mem to writable region, past its end", 1, 3, 4, 48, false },
    };
    char what[128];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int order = 0; order < 4; order++) {
            prog g;
            start(&g);
            int s = 7, d = 8;
            int32_t so = 0, dof = 0;
            if (cases[c].sbase == 1)
                point(&g, 7, 1, cases[c].so);
            else
                put_lddw(&g, 7, (uint64_t)(uintptr_t)(cases[c].sbase == 2 ? ro : rw) +
                                    (uint64_t)cases[c].so);
            if (cases[c].dbase == 10 && !cases[c].dreg_frame) {
                d = 10;
                dof = cases[c].dof;
            } else if (cases[c].dbase == 10 || cases[c].dbase == 1) {
                point(&g, 8, cases[c].dbase, cases[c].dof);
            } else {
                put_lddw(&g, 8, (uint64_t)(uintptr_t)(cases[c].dbase == 2 ? ro : rw) +
                                    (uint64_t)cases[c].dof);
            }
            copy_run(&g, BPFVM_B, 24, order, 3, s, so, d, dof, 99);
            if (cases[c].dbase == 10) {                /* and back into mem */
                if (d == 8)
                    put(&g, BPFVM_MOV64_IMM(8, 0));
                put(&g, BPFVM_MOV64_REG(9, 10));
                put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 9, cases[c].dof));
                copy_run(&g, BPFVM_B, 24, order, 4, 9, 0, 1, 96, 99);
                put(&g, BPFVM_MOV64_IMM(9, 0));
            }
            put(&g, BPFVM_MOV64_IMM(7, 0));
            put(&g, BPFVM_MOV64_IMM(8, 0));
            finish(&g);
            snprintf(what, sizeof what, "%s, order %d", cases[c].what, order);
            check(&g, what);
        }
}

/* stxb runs of one register (its low byte), and st runs of immediates of
 * every size, with holes, across the end of mem. */
static void test_stores(void)
{
    static const uint8_t sizes[] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };
    static const int32_t imms[] = { 0, -1, 0x7f, -0x80, 0x12345678, -0x12345678, 0x80, 0x8000 };
    char what[128];
    for (int order = 0; order < 4; order++)
        for (int32_t at = 0; at <= MEM - 4; at += 3) {
            for (unsigned n = 4; n <= 21; n += 17) {
                prog g;
                start(&g);
                point(&g, 8, 1, at);
                for (unsigned m = 0; m < n; m++) {
                    unsigned k = order_at(order, n, m) % n;
                    if (k != 2 || n < 21)
                        put(&g, BPFVM_STX_MEM(BPFVM_B, 8, 4, (int16_t)k));
                }
                finish(&g);
                snprintf(what, sizeof what, "stxb run of %u at %d, order %d", n, (int)at, order);
                check(&g, what);
            }
            for (size_t si = 0; si < 4; si++) {
                unsigned bytes = 1u << si, n = 24 / bytes < 4 ? 4 : 24 / bytes;
                prog g;
                start(&g);
                point(&g, 8, 1, at);
                for (unsigned m = 0; m < n; m++) {
                    unsigned k = order_at(order, n, m) % n;
                    if (k != 1 || order != 2)
                        put(&g, BPFVM_ST_MEM(sizes[si], 8, (int16_t)(k * bytes),
                                             imms[(k + si + (unsigned)order) % 8]));
                }
                finish(&g);
                snprintf(what, sizeof what, "st run of %u x %u at %d, order %d", n, bytes, (int)at,
                         order);
                check(&g, what);
            }
        }
    /* mixed sizes of immediates in one run, on the frame and into mem */
    prog g;
    start(&g);
    put(&g, BPFVM_ST_MEM(BPFVM_B, 10, -16, -3));
    put(&g, BPFVM_ST_MEM(BPFVM_H, 10, -15, 0x1234));
    put(&g, BPFVM_ST_MEM(BPFVM_W, 10, -13, -0x10000));
    put(&g, BPFVM_ST_MEM(BPFVM_DW, 10, -9, -2));
    put(&g, BPFVM_ST_MEM(BPFVM_B, 10, -1, 0x80));
    copy_run(&g, BPFVM_B, 16, 0, 5, 10, -16, 1, 100, 99);
    finish(&g);
    check(&g, "mixed immediates on the frame");
}

/* start, then r6 = 0 (the trip count), r7 = mem */
static void start_loop(prog *g)
{
    start(g);
    put(g, BPFVM_MOV64_IMM(6, 0));
    point(g, 7, 1, 0);
}

/* r6 += 1; if r6 < trips goto head; r7 = r8 = 0; finish */
static void end_loop(prog *g, size_t head, int32_t trips)
{
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1));
    put(g, BPFVM_JMP_IMM(BPFVM_JLT, 6, trips, (int16_t)(head - g->n - 1)));
    put(g, BPFVM_MOV64_IMM(7, 0));
    put(g, BPFVM_MOV64_IMM(8, 0));
    finish(g);
}

/* A run in a loop of three trips: every budget from 1 up runs out before,
 * inside (charged with its block) or after it, at the same instruction. */
static void test_budget(void)
{
    char what[128];
    for (uint64_t budget = 1; budget <= 130; budget++) {
        prog g;
        start_loop(&g);
        point(&g, 8, 1, 64);
        size_t head = g.n;
        copy_run(&g, BPFVM_B, 16, 3, 3, 7, 0, 8, 0, 99);
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 7, 16));
        end_loop(&g, head, 3);
        snprintf(what, sizeof what, "budget %llu", (unsigned long long)budget);
        outcome want;
        run_all(&g, budget, what, &want, false);
        if (budget == 1 || budget == 130)
            CHECK((want.rc == BPFVM_EBUDGET) == (budget == 1), "%s: %s", what,
                  bpfvm_errname(want.rc));
    }
}

/* A loop copying 8-byte records byte by byte (its guard proves the source,
 * the destination goes through a multiplication it cannot follow); the last
 * trips fault when the record count reaches past mem. */
static void test_loop(void)
{
    char what[128];
    for (int32_t trips = 1; trips <= 10; trips++) {
        prog g;
        start_loop(&g);
        size_t head = g.n;
        put(&g, BPFVM_MOV64_REG(8, 6));
        put(&g, BPFVM_ALU64_IMM(BPFVM_MUL, 8, 8));
        put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 8, 1));
        copy_run(&g, BPFVM_B, 8, 0, 3, 7, 0, 8, 56, 99);
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 7, 8));
        end_loop(&g, head, trips);
        snprintf(what, sizeof what, "loop of %d records", (int)trips);
        outcome want;
        run_all(&g, 0, what, &want, false);
        CHECK((want.rc == BPFVM_EMEMORY) == (trips > 9), "%s: %s", what, bpfvm_errname(want.rc));
    }
}

/* A jump into the middle of a run (taken or not): the run splits there. */
static void test_jump_into(void)
{
    char what[128];
    for (int taken = 0; taken < 2; taken++)
        for (int16_t skip = 1; skip < 16; skip++) {
            prog g;
            start(&g);
            point(&g, 7, 1, 0);
            point(&g, 8, 1, 64);
            put(&g, BPFVM_JMP_REG(taken ? BPFVM_JEQ : BPFVM_JNE, 4, 4, (int16_t)(2 * skip)));
            copy_run(&g, BPFVM_B, 16, 0, 3, 7, 0, 8, 0, 99);
            put(&g, BPFVM_MOV64_IMM(7, 0));
            put(&g, BPFVM_MOV64_IMM(8, 0));
            finish(&g);
            snprintf(what, sizeof what, "jump over %d pairs, %s", skip, taken ? "taken" : "not taken");
            check(&g, what);
        }
}

/* A block longer than the longest segment the checked JIT versions (255
 * slots, after a never-taken jump): the unchecked copy of the segment
 * resumes in the normal code at the slot after it, so no run may reach
 * over that edge. Copies of bytes right up to it and past it, the edge at
 * each place of a load/store pair. */
static void test_segment_edge(void)
{
    char what[128];
    for (int shift = 0; shift < 4; shift++) {
        prog g;
        start(&g);
        point(&g, 7, 1, 0);
        point(&g, 8, 1, 64);
        put(&g, BPFVM_JMP_IMM(BPFVM_JEQ, 3, 0, 0));
        for (int k = 0; k < shift; k++)
            put(&g, BPFVM_MOV64_IMM(9, k));
        copy_run(&g, BPFVM_B, 64, 1, 3, 7, 0, 8, 0, 99);
        copy_run(&g, BPFVM_B, 64, 1, 4, 7, 1, 8, 0, 99);
        copy_run(&g, BPFVM_B, 16, 1, 5, 7, 2, 8, 0, 99);
        finish(&g);
        snprintf(what, sizeof what, "segment edge, shift %d", shift);
        check(&g, what);
    }
}

/* A store run inside the bytes a copy run just wrote needs no test of its
 * own, unless the base register changed in between or a jump lands on it
 * from a path where the copy did not run (then it faults past mem). */
static void test_written_before(void)
{
    char what[128];
    for (int how = 0; how < 4; how++)
        for (int32_t at = 60; at <= 124; at += 4) {
            prog g;
            start(&g);
            point(&g, 7, 1, 0);
            point(&g, 8, 1, at);
            if (how == 3)                              /* taken: onto the store run */
                put(&g, BPFVM_JMP_REG(BPFVM_JEQ, 4, 4, 34));
            copy_run(&g, BPFVM_B, 16, 0, 3, 7, 0, 8, 0, 99);
            if (how == 1)
                put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 8, 8));
            if (how == 2)
                put(&g, BPFVM_LDX_MEM(BPFVM_B, 8, 7, 3));
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 5, 1));  /* stores and loads in between */
            put(&g, BPFVM_LDX_MEM(BPFVM_W, 9, 8, 0));
            for (int16_t k = 4; k < 12; k++)
                put(&g, BPFVM_STX_MEM(BPFVM_B, 8, 4, k));
            put(&g, BPFVM_MOV64_IMM(7, 0));
            put(&g, BPFVM_MOV64_IMM(8, 0));
            finish(&g);
            snprintf(what, sizeof what, "store run after a copy run, case %d, at %d", how, (int)at);
            check(&g, what);
        }
    /* the copy leaves out the byte between the two parts of rw: a store there
     * faults (the copy did not prove it) */
    for (int32_t at = 20; at <= 36; at += 4) {
        prog g;
        start(&g);
        point(&g, 7, 1, 0);
        put_lddw(&g, 8, (uint64_t)(uintptr_t)rw);
        copy_run(&g, BPFVM_B, 41, 0, 3, 7, 0, 8, 0, 32);
        for (int16_t k = 0; k < 8; k++)
            put(&g, BPFVM_STX_MEM(BPFVM_B, 8, 4, (int16_t)(at + k)));
        put(&g, BPFVM_MOV64_IMM(7, 0));
        put(&g, BPFVM_MOV64_IMM(8, 0));
        finish(&g);
        snprintf(what, sizeof what, "store run at rw + %d after a copy with a hole", (int)at);
        outcome want;
        run_all(&g, 0, what, &want, false);
        CHECK((want.rc == BPFVM_EMEMORY) == (at > 24 && at <= 32), "%s: %s", what,
              bpfvm_errname(want.rc));
    }
}

/* The wide forms are emitted (x86-64): movups for a copy of 16 bytes and
 * more, one imul replicating the byte of an stxb run, one 64-bit immediate
 * for eight st bytes; and the copy left alone when blinded or in a block
 * entered in its middle still gives the same results (above). */
static void test_code(void)
{
#if defined(__x86_64__)
    prog g;
    outcome want;
    start(&g);
    point(&g, 7, 1, 0);
    point(&g, 8, 1, 64);
    copy_run(&g, BPFVM_B, 32, 0, 3, 7, 0, 8, 0, 99);   /* r7 = r14, r8 = r15 */
    for (int k = 0; k < 8; k++)
        put(&g, BPFVM_STX_MEM(BPFVM_B, 8, 4, (int16_t)(40 + k)));
    for (int k = 0; k < 8; k++)
        put(&g, BPFVM_ST_MEM(BPFVM_B, 8, (int16_t)(48 + k), 0x11 * (k + 1)));
    put(&g, BPFVM_MOV64_IMM(7, 0));
    put(&g, BPFVM_MOV64_IMM(8, 0));
    finish(&g);
    bpfvm_vm *vm = run_all(&g, 0, "code", &want, true);
    static const uint8_t load16[] = { 0x41, 0x0f, 0x10, 0x06 };  /* movups xmm0, [r14] */
    static const uint8_t store16[] = { 0x41, 0x0f, 0x11, 0x07 }; /* movups [r15], xmm0 */
    static const uint8_t imul[] = { 0x4c, 0x0f, 0xaf, 0xdf };    /* imul r11, rdi */
    static const uint8_t imm64[] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
    CHECK(vm && code_has(vm, load16, 4) && code_has(vm, store16, 4), "copy as movups");
    CHECK(vm && code_has(vm, imul, 4), "stxb run as one replicated store");
    CHECK(vm && code_has(vm, imm64, 8), "st run as one 64-bit immediate");
    CHECK(memcmp(want.mem + 64, want.mem, 32) == 0, "the copy copied");
    bpfvm_destroy(vm);
#endif
}

/* Accesses the program's compares prove (after `if r2 < need goto out`,
 * straight-line code: no guard) need no range test (x86-64): a copy run of
 * 32 bytes from [r7, + 32) to [r7 + 64, + 32), then 16 bytes from [r7 + 32]
 * loaded two at a time and stored at r7 + 96 (a gathered copy: movups,
 * across a spill to the frame, apart from the proven bytes; a byte
 * spilled and reloaded only for its store, which the copy did, is not
 * reloaded; in the unchecked JIT too).
 * With need 95 the run's last byte is not proven: a range test stays. */
static void test_proven(void)
{
#if defined(__x86_64__)
    static const uint8_t lim[] = { 0x4d, 0x3b, 0x5d };                 /* cmp r11, [r13 + d8] */
    static const uint8_t gather16[] = { 0x41, 0x0f, 0x10, 0x46, 0x20 }; /* movups xmm0, [r14+32] */
    for (int need = 112; need >= 95; need -= 17) {
        prog g;
        outcome want;
        char what[64];
        start(&g);
        point(&g, 7, 1, 0);
        size_t out = g.n;
        put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 2, need, 0));
        copy_run(&g, BPFVM_B, 32, 0, 3, 7, 0, 7, 64, 99);
        for (int16_t k = 0; k < 16; k += 2) {
            if (k == 8)                                /* a spill in the window */
                put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 3, -8));
            put(&g, BPFVM_LDX_MEM(BPFVM_B, 4, 7, (int16_t)(32 + k)));
            put(&g, BPFVM_LDX_MEM(BPFVM_B, 5, 7, (int16_t)(33 + k)));
            if (k == 4) {                              /* spilled, reloaded for its store */
                put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 4, -16));
                put(&g, BPFVM_MOV64_IMM(4, 0));
                put(&g, BPFVM_LDX_MEM(BPFVM_DW, 4, 10, -16));
            }
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 5, (int16_t)(97 + k)));
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 4, (int16_t)(96 + k)));
        }
        g.p[out].off = (int16_t)(g.n - out - 1);
        put(&g, BPFVM_MOV64_IMM(7, 0));
        finish(&g);
        snprintf(what, sizeof what, "proven run and gathered copy, need %d", need);
        bpfvm_vm *vm = run_all(&g, 0, what, &want, true);
        CHECK(vm && code_has(vm, lim, 3) == (need < 112), "%s: range tests %s", what,
              need < 112 ? "missing" : "left");
        for (int e = 0; vm && e < 2; e++) {            /* checked, unchecked */
            bpfvm_set_checked(vm, e == 0);
            CHECK(bpfvm_compile(vm, 0) == 0 && (need < 112 || code_has(vm, gather16, 5)),
                  "%s: no gathered copy, %s", what, e ? "unchecked" : "checked");
            CHECK(need < 112 || !reloads(vm, -16), "%s: the reload stays, %s", what,
                  e ? "unchecked" : "checked");
        }
        CHECK(memcmp(want.mem + 64, want.mem, 32) == 0 &&
                  memcmp(want.mem + 96, want.mem + 32, 16) == 0, "%s: the copies copied", what);
        bpfvm_destroy(vm);
    }
    /* a load nothing reads still faults where it is not proven */
    prog g;
    outcome want;
    start(&g);
    put(&g, BPFVM_LDX_MEM(BPFVM_B, 4, 1, MEM + 8));
    put(&g, BPFVM_MOV64_IMM(4, 0));
    finish(&g);
    run_all(&g, 0, "a dead load past the input", &want, false);
    CHECK(want.rc == BPFVM_EMEMORY && want.err.insn == 10, "a dead load past the input: %s",
          bpfvm_errname(want.rc));
#endif
}

/* Stores of registers whose values the bounds analysis knows (the same in
 * every run) make runs of immediates: eight stxb of r3 = 0x5a, then stxdw,
 * stxw, stxh and stxb of r4 = 0x1122334455667788, after `len >= 64`. In
 * the other cases r3 is 0x5a or 0x5b (mem[0] decides), or the r4 run is
 * blinded: the run replicates r3's byte (imul) as before. Against the
 * interpreter; on x86-64 the immediates are in the code or not. */
static void test_known(void)
{
    static const char *const names[] = { "known stored values", "a stored value of two",
                                         "known stored values, blinded" };
    for (int c = 0; c < 3; c++) {
        prog g;
        outcome want;
        start(&g);
        point(&g, 7, 1, 0);
        size_t out = g.n;
        put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 2, 64, 0));
        put(&g, BPFVM_MOV64_IMM(3, 0x5a));
        if (c == 1) {
            put(&g, BPFVM_LDX_MEM(BPFVM_B, 6, 1, 0));
            put(&g, BPFVM_JMP_IMM(BPFVM_JEQ, 6, 0, 1));
            put(&g, BPFVM_MOV64_IMM(3, 0x5b));
        }
        for (int16_t k = 0; k < 8; k++)
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 3, (int16_t)(16 + k)));
        put_lddw(&g, 4, 0x1122334455667788ull);
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 7, 4, 32));
        put(&g, BPFVM_STX_MEM(BPFVM_W, 7, 4, 40));
        put(&g, BPFVM_STX_MEM(BPFVM_H, 7, 4, 44));
        put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 4, 46));
        g.p[out].off = (int16_t)(g.n - out - 1);
        put(&g, BPFVM_MOV64_IMM(7, 0));
        finish(&g);
        bpfvm_vm *vm = run_all(&g, 0, names[c], &want, true);
        CHECK(want.mem[16] == (mem[0] ? 0x5b : 0x5a) || c != 1, "%s: the stores", names[c]);
#if defined(__x86_64__)
        static const uint8_t imul[] = { 0x4c, 0x0f, 0xaf, 0xdf };   /* imul r11, rdi */
        static const uint8_t v8[] = { 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a };
        static const uint8_t v4[] = { 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
        if (vm && c == 2)
            CHECK(bpfvm_compile(vm, BPFVM_JIT_BLIND) == 0, "%s: compile", names[c]);
        CHECK(vm && code_has(vm, imul, 4) == (c != 0), "%s: a replicated byte %s", names[c],
              c ? "missing" : "left");
        CHECK(vm && code_has(vm, v8, 8) == (c == 0) && code_has(vm, v4, 8) == (c != 2),
              "%s: the immediates", names[c]);
#endif
        bpfvm_destroy(vm);
    }
}

/* A memset as clang writes it: stores of known values with the register
 * operations computing them between (lddw of the pattern, rsh), which the
 * run's wide stores come after. Variants: the values computed between read
 * after the run or not (the wide stores do not need them), a chain through
 * two registers, a division between (not one of them: two runs), the base
 * register changed between (two runs), a value not known (loaded from mem:
 * no run of immediates), seventy operations between. At each place, some crossing the end of mem (a
 * fault in the middle, after some stores, at the same instruction), with
 * budgets running out inside. On x86-64, the 13 bytes as one pattern. */
static void test_between(void)
{
    static const int32_t places[] = { 0, 40, MEM - 16, MEM - 13, MEM - 8, MEM - 5 };
    static const char *const names[] = { "computed values dead after", "read after",
                                         "a chain", "a division between", "the base changed",
                                         "a value not known", "seventy operations between" };
    char what[128];
    for (int c = 0; c < 7; c++)
        for (size_t pl = 0; pl < sizeof places / sizeof places[0]; pl++) {
            prog g;
            outcome want;
            start(&g);
            point(&g, 7, 1, places[pl]);
            size_t out = g.n;
            put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 2, 64, 0));   /* (the bounds analysis runs) */
            put(&g, BPFVM_MOV64_IMM(3, 1));
            for (int16_t k = 12; k >= 9; k--)
                put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 3, k));
            put_lddw(&g, 6, 0x0101010101010101ull);
            put(&g, BPFVM_ALU64_IMM(BPFVM_RSH, 6, 16));
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 6, 8));
            if (c == 2) {
                put_lddw(&g, 5, 0x8000000000000001ull);
                put(&g, BPFVM_ALU64_REG(BPFVM_XOR, 5, 6));
                put(&g, BPFVM_MOV64_REG(9, 5));
            }
            if (c == 3)
                put(&g, BPFVM_ALU64_IMM(BPFVM_DIV, 9, 3));
            if (c == 4)
                put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 7, 0));
            if (c == 5)
                put(&g, BPFVM_LDX_MEM(BPFVM_B, 6, 1, 0));
            for (int k = 0; c == 6 && k < 70; k++)     /* (more than the run looks at) */
                put(&g, BPFVM_ALU64_IMM(k % 2 ? BPFVM_ADD : BPFVM_MUL, 5, k + 3));
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 6, 4));
            put_lddw(&g, 6, 0x0101010101010101ull);
            put(&g, BPFVM_ALU64_IMM(BPFVM_RSH, 6, 8));
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 6, 7));
            put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 6, 3));
            for (int16_t k = 6; k >= 0; k--)
                if (k != 3 && k != 4)
                    put(&g, BPFVM_STX_MEM(BPFVM_B, 7, 3, k));
            if (c == 1)
                put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 5, 6));
            g.p[out].off = (int16_t)(g.n - out - 1);
            put(&g, BPFVM_MOV64_IMM(7, 0));
            finish(&g);
            snprintf(what, sizeof what, "a store run with operations between, %s, at %d",
                     names[c], (int)places[pl]);
            bpfvm_vm *vm = run_all(&g, 0, what, &want, c == 0 && pl == 0);
            CHECK(places[pl] > MEM - 13 ? want.rc == BPFVM_EMEMORY : want.rc == 0, "%s: %s",
                  what, bpfvm_errname(want.rc));
#if defined(__x86_64__)
            static const uint8_t ones[] = { 0x49, 0xbb, 1, 1, 1, 1, 1, 1, 1, 1 };
            CHECK(!vm || code_has(vm, ones, 10), "%s: the pattern as one immediate (mov r11)",
                  what);
#endif
            bpfvm_destroy(vm);
            for (uint64_t budget = 20; places[pl] == 40 && budget < 50; budget++) {
                snprintf(what, sizeof what, "a store run with operations between, %s, budget %d",
                         names[c], (int)budget);
                run_all(&g, budget, what, &want, false);
            }
        }
}

int main(void)
{
    test_copy_distances();
    test_copy_same_base();
    test_copy_faults();
    test_copy_places();
    test_stores();
    test_budget();
    test_loop();
    test_jump_into();
    test_segment_edge();
    test_written_before();
    test_code();
    test_proven();
    test_known();
    test_between();
    return TEST_END();
}
