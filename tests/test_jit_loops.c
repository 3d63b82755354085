/* test_jit_loops.c - loops the JIT versions in checked mode (a guard, then
 * a copy of the loop without memory checks) must behave exactly as in the
 * interpreter: same result, error code, instruction index, fault address and
 * size, memory left behind, and the same instruction count (runs with budgets
 * that expire before, inside and after the loop).
 *
 * Random counted loops over the input memory or the stack: induction
 * variables stepping up or down by constants or by a register (some zero,
 * some huge), exit tests of every form the guard understands (and some it
 * does not) as the back edge or as a side exit, before or after the
 * increment, bounds in registers or immediates, starting and ending values
 * near the ends of memory and near 2^64 (wrap-around), loops that run out of
 * memory in their first, a middle or their last iteration, atomics (which
 * also fault when misaligned), zero-trip loops
 * (the loop head skipped by a test before it), byte values used as indexes,
 * a second pointer stepping by its own constant, data-dependent side exits.
 * Then: the loops of the benchmark programs are versioned with all their
 * checks left out.
 *
 *   test_jit_loops [COUNT [FIRST_SEED]]   default: 20000 programs from seed 1
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "test.h"

/* The arm64 backend versions no loops (its code keeps every check): there
 * the programs only compare the engines. */
#if defined(__aarch64__)
#define VERSIONS 0u
#else
#define VERSIONS 1u
#endif

#define MEM_LEN 1280
#include "engine_run.h"
#include "bench_object.h"
#define STACK 512
#define MAX_SLOTS 128

typedef struct gen {
    uint64_t s;
    bpfvm_insn p[MAX_SLOTS];
    size_t n;
    bool stack;              /* the loop's base pointer points into the stack */
    size_t exits[16];        /* jumps to the end of the program, patched at the end */
    size_t nexits;
} gen;

static uint64_t rnd(gen *g) { return xorshift64s(&g->s); }

static unsigned pick(gen *g, unsigned n) { return (unsigned)(rnd(g) % n); }

static void put(gen *g, bpfvm_insn in) { g->p[g->n++] = in; }

/* a jump to the exit (its offset patched once the exit is placed) */
static void put_exit(gen *g, bpfvm_insn in)
{
    g->exits[g->nexits++] = g->n;
    put(g, in);
}

static void put64(gen *g, int reg, uint64_t v)
{
    bpfvm_insn two[2] = { BPFVM_LD_IMM64(reg, v) };
    put(g, two[0]);
    put(g, two[1]);
}

/* Registers: r1 = mem, r2 = len, r3 induction variable, r4 bound, r5 step,
 * r6 second pointer, r7 base pointer, r8 r9 temporaries, r0 sum. */
enum { IV = 3, BOUND = 4, STEP = 5, PTR = 6, BASE = 7, T1 = 8, T2 = 9 };

static const uint8_t sizes[4] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };

/* one memory access at [reg + off] */
static void access_at(gen *g, int reg, int16_t off)
{
    uint8_t sz = sizes[pick(g, 4)];
    switch (pick(g, 5)) {
    case 0:
        put(g, BPFVM_LDX_MEM(sz, T1, reg, off));
        put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, T1));
        break;
    case 1:
        put(g, BPFVM_STX_MEM(sz, reg, IV, off));
        break;
    case 2:
        put(g, BPFVM_ST_MEM(sz, reg, off, (int32_t)rnd(g)));
        break;
    case 3: /* atomics also fault when not aligned to their size */
        put(g, BPFVM_ATOMIC_OP(pick(g, 2) ? BPFVM_W : BPFVM_DW, BPFVM_ADD, reg, IV, off));
        break;
    default: /* read-modify-write of the same bytes */
        put(g, BPFVM_LDX_MEM(sz, T1, reg, off));
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, T1, 1));
        put(g, BPFVM_STX_MEM(sz, reg, T1, off));
        break;
    }
}

static int16_t small_off(gen *g) { return (int16_t)((int)pick(g, 24) - 12); }

/* Accesses in the body: through base + iv, the second pointer, or a byte
 * loaded from memory used as an index. */
static void body_accesses(gen *g, bool ptr_iv)
{
    unsigned n = 1 + pick(g, 3);
    for (unsigned k = 0; k < n; k++) {
        switch (pick(g, 5)) {
        case 0: case 1:
            put(g, BPFVM_MOV64_REG(T2, BASE));
            put(g, BPFVM_ALU64_REG(BPFVM_ADD, T2, IV));
            access_at(g, T2, small_off(g));
            break;
        case 2:
            if (ptr_iv) {
                access_at(g, PTR, small_off(g));
                break;
            }
            /* fall through */
        case 3: { /* count[mem[i]]++ shape, sometimes through a wider index */
            put(g, BPFVM_MOV64_REG(T2, BASE));
            put(g, BPFVM_ALU64_REG(BPFVM_ADD, T2, IV));
            put(g, BPFVM_LDX_MEM(BPFVM_B, T1, T2, 0));
            put(g, BPFVM_ALU64_IMM(BPFVM_LSH, T1, (int32_t)pick(g, 3)));
            if (pick(g, 4) == 0)
                put(g, BPFVM_ALU64_IMM(BPFVM_AND, T1, (int32_t)pick(g, 2000)));
            put(g, BPFVM_MOV64_REG(T2, 1));
            put(g, BPFVM_ALU64_REG(BPFVM_ADD, T2, T1));
            access_at(g, T2, small_off(g));
            break;
        }
        default: /* a data-dependent side exit */
            put(g, BPFVM_MOV64_REG(T2, 0));
            put(g, BPFVM_ALU64_IMM(BPFVM_AND, T2, 63));
            put_exit(g, BPFVM_JMP_IMM(BPFVM_JEQ, T2, (int32_t)pick(g, 64), 0));
            break;
        }
    }
}

static uint64_t pick_value(gen *g, const uint64_t *v, size_t n) { return v[pick(g, (unsigned)n)]; }

/* The exit test of iv (dst) against the bound. cont: the comparison under
 * which the loop goes on, for the step's direction (or not, sometimes). */
static int exit_op(gen *g, int64_t step)
{
    static const int up[] = { BPFVM_JLT, BPFVM_JLE, BPFVM_JNE };
    static const int down[] = { BPFVM_JGT, BPFVM_JGE, BPFVM_JNE };
    static const int any[] = { BPFVM_JLT, BPFVM_JLE, BPFVM_JGT, BPFVM_JGE, BPFVM_JNE, BPFVM_JEQ,
                               BPFVM_JSLT, BPFVM_JSGT };
    if (pick(g, 8) == 0)
        return any[pick(g, 8)];
    return step > 0 ? up[pick(g, 3)] : down[pick(g, 3)];
}

static int negate(int op)
{
    switch (op) {
    case BPFVM_JLT: return BPFVM_JGE;
    case BPFVM_JGE: return BPFVM_JLT;
    case BPFVM_JLE: return BPFVM_JGT;
    case BPFVM_JGT: return BPFVM_JLE;
    case BPFVM_JNE: return BPFVM_JEQ;
    case BPFVM_JEQ: return BPFVM_JNE;
    case BPFVM_JSLT: return BPFVM_JSGE;
    default:        return BPFVM_JSLE; /* JSGT */
    }
}

static int swapped(int op)
{
    switch (op) {
    case BPFVM_JLT: return BPFVM_JGT;
    case BPFVM_JGT: return BPFVM_JLT;
    case BPFVM_JLE: return BPFVM_JGE;
    case BPFVM_JGE: return BPFVM_JLE;
    case BPFVM_JSLT: return BPFVM_JSGT;
    case BPFVM_JSGT: return BPFVM_JSLT;
    default:        return op;
    }
}

/* jump with condition op on iv to slot `target` (SIZE_MAX: the exit) */
static void put_test(gen *g, int op, bool reg_bound, int32_t bimm, size_t target)
{
    int16_t off = (int16_t)((int64_t)target - (int64_t)g->n - 1);
    bpfvm_insn in;
    if (!reg_bound)
        in = BPFVM_JMP_IMM(op, IV, bimm, off);
    else if (pick(g, 2))
        in = BPFVM_JMP_REG(op, IV, BOUND, off);
    else
        in = BPFVM_JMP_REG(swapped(op), BOUND, IV, off);
    if (target == SIZE_MAX)
        put_exit(g, in);
    else
        put(g, in);
}

static void generate(gen *g, uint64_t seed)
{
    static const int64_t steps[] = { 1, 2, 4, 8, 64, 3, 12, -1, -2, -4, -8, -6, 0 };
    g->s = seed * 0x9e3779b97f4a7c15ull + 1;
    g->n = 0;
    g->nexits = 0;
    g->stack = pick(g, 4) == 0;
    int64_t step = steps[pick(g, sizeof(steps) / sizeof(steps[0]))];
    bool reg_step = pick(g, 4) == 0;
    uint64_t len = g->stack ? STACK : MEM_LEN;
    uint64_t trips = pick(g, 3) ? pick(g, 40) : pick(g, 400);

    /* base pointer: mem or the stack, sometimes off by a little */
    int32_t bofs = pick(g, 3) ? 0 : (int32_t)pick(g, 64) - 32;
    if (g->stack) {
        put(g, BPFVM_MOV64_REG(BASE, 10));
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, BASE, -STACK + bofs));
    } else {
        put(g, BPFVM_MOV64_REG(BASE, 1));
        if (bofs)
            put(g, BPFVM_ALU64_IMM(BPFVM_ADD, BASE, bofs));
    }
    /* iv start: inside, at the ends, past them, near 2^64 */
    const uint64_t starts[] = { 0, 1, 4, 16, len / 2, len - 8, len - 1, len, len + 3,
                                (uint64_t)-1, (uint64_t)-4, (uint64_t)-64, 1ull << 63,
                                (uint64_t)(-3 * step), (uint64_t)(-2 * step), rnd(g) % len,
                                rnd(g) };
    uint64_t start = pick_value(g, starts, sizeof(starts) / sizeof(starts[0]));
    put64(g, IV, start);
    /* step register (reg_step), some zero or huge */
    const uint64_t rsteps[] = { 1, 2, 3, 4, 8, 0, (uint64_t)-1, (uint64_t)-8, 1ull << 62,
                                rnd(g) };
    uint64_t sreg = reg_step ? pick_value(g, rsteps, sizeof(rsteps) / sizeof(rsteps[0]))
                             : (uint64_t)step;
    put64(g, STEP, sreg);
    /* bound: reached after `trips` steps, or unreachable, or an edge value */
    uint64_t reach = start + trips * (reg_step ? sreg : (uint64_t)step);
    const uint64_t bounds[] = { reach, reach, reach, reach + 1, reach - 1, len, 0, 1, 2, 3,
                                (uint64_t)-1, (uint64_t)-2, (uint64_t)-3, (uint64_t)-8,
                                1ull << 63, start, rnd(g), 0xffffffffull, 0xfffffffdull,
                                1ull << 31, 1ull << 32 };
    uint64_t bound = pick_value(g, bounds, sizeof(bounds) / sizeof(bounds[0]));
    bool reg_bound = reg_step || pick(g, 2) || (uint64_t)(int64_t)(int32_t)bound != bound;
    put64(g, BOUND, bound);
    /* a bound written by a 32-bit operation is known below 2^32: the guard
     * of a loop entered only from the code before it leaves out the tests
     * of wrap-around and of 2^32 trips */
    if (bound >> 32 == 0 && pick(g, 2))
        put(g, BPFVM_MOV32_REG(BOUND, BOUND));
    /* the second pointer and its step */
    bool ptr_iv = pick(g, 2);
    int32_t pstep = (int32_t)steps[pick(g, sizeof(steps) / sizeof(steps[0]))] * 4;
    put(g, BPFVM_MOV64_REG(PTR, BASE));
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, PTR, (int32_t)pick(g, (unsigned)len / 2)));
    put(g, BPFVM_MOV64_IMM(0, 0));
    /* zero-trip: skip the loop when iv == bound */
    if (pick(g, 6) == 0)
        put_exit(g, BPFVM_JMP_REG(BPFVM_JEQ, IV, BOUND, 0));

    /* half the loops are entered by a jump too: then the JIT cannot use the
     * values the code before the loop leaves and computes the trip count in
     * the guard */
    if (pick(g, 2))
        put(g, BPFVM_JA_OFF(0));
    size_t head = g->n;
    int op = exit_op(g, reg_step ? (int64_t)sreg : step);
    bool back_test = pick(g, 3) != 0;     /* the test is the back edge */
    bool test_after_inc = pick(g, 4) != 0;
    body_accesses(g, ptr_iv);
    if (!test_after_inc && !back_test)
        put_test(g, negate(op), reg_bound, (int32_t)bound, SIZE_MAX);
    if (reg_step)
        put(g, BPFVM_ALU64_REG(BPFVM_ADD, IV, STEP));
    else
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, IV, (int32_t)step));
    if (ptr_iv)
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, PTR, pstep));
    if (test_after_inc && !back_test)
        put_test(g, negate(op), reg_bound, (int32_t)bound, SIZE_MAX);
    if (pick(g, 2))
        body_accesses(g, ptr_iv);
    if (back_test)
        put_test(g, op, reg_bound, (int32_t)bound, head);
    else
        put(g, BPFVM_JA_OFF((int16_t)((int64_t)head - (int64_t)g->n - 1)));
    for (size_t k = 0; k < g->nexits; k++)
        g->p[g->exits[k]].off = (int16_t)(g->n - g->exits[k] - 1);
    put(g, BPFVM_EXIT());
}

static bool same(const gen *g, const result *a, const result *b)
{
    if (a->rc != b->rc || memcmp(a->mem, b->mem, MEM_LEN) != 0)
        return false;
    if (a->rc == 0)
        return a->r0 == b->r0;
    /* stack addresses may differ between engines: compare the others */
    return a->err.insn == b->err.insn && a->err.size == b->err.size &&
           (a->rc != BPFVM_EMEMORY || g->stack || a->err.addr == b->err.addr);
}

static void compare(const gen *g, bpfvm_vm *vm, uint64_t seed, const char *what, uint8_t *mem,
                    const uint8_t *init, const result *ri)
{
    result rj;
    run_once(bpfvm_run_jit, vm, mem, init, &rj);
    CHECK(same(g, ri, &rj),
          "seed %llu (%s): interpreter %s r0 %#llx insn %lld (%s); JIT %s r0 %#llx insn %lld (%s)",
          (unsigned long long)seed, what, bpfvm_errname(ri->rc), (unsigned long long)ri->r0,
          (long long)ri->err.insn, ri->err.message, bpfvm_errname(rj.rc),
          (unsigned long long)rj.r0, (long long)rj.err.insn, rj.err.message);
}

static void test_random(const char *what, void (*make)(gen *, uint64_t), unsigned long count,
                        unsigned long first)
{
    static gen g;
    static uint8_t mem[MEM_LEN] __attribute__((aligned(8)));
    static uint8_t init[MEM_LEN];
    static result ri;
    unsigned long versioned = 0, faults = 0, budget = 0, ok = 0;

    for (unsigned long seed = first; seed < first + count; seed++) {
        make(&g, seed);
        for (size_t i = 0; i < MEM_LEN; i++)
            init[i] = (uint8_t)(seed * 131 + i * 29 + (i >> 3));
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_set_stack_size(vm, STACK);
        int rc = bpfvm_load(vm, g.p, g.n * sizeof(bpfvm_insn));
        CHECK(rc == 0, "seed %lu: load: %s", seed, bpfvm_last_error(vm)->message);
        if (rc != 0) {
            bpfvm_destroy(vm);
            continue;
        }
        /* budgets: ample, and ending somewhere in the loop */
        uint64_t budgets[3] = { 200000, 20 + seed % 97, 50 + (seed * 7919) % 3000 };
        for (int b = 0; b < 3; b++) {
            bpfvm_set_budget(vm, budgets[b]);
            run_once(bpfvm_run, vm, mem, init, &ri);
            if (b == 0) {
                faults += ri.rc == BPFVM_EMEMORY;
                budget += ri.rc == BPFVM_EBUDGET;
                ok += ri.rc == 0;
            }
            CHECK(bpfvm_compile(vm, 0) == 0, "seed %lu: compile", seed);
            versioned += b == 0 && vm->jit_loops > 0;
            compare(&g, vm, seed, "checked", mem, init, &ri);
            CHECK(bpfvm_compile(vm, BPFVM_JIT_BLIND) == 0, "seed %lu: compile blinded", seed);
            compare(&g, vm, seed, "checked, blinded", mem, init, &ri);
        }
        bpfvm_destroy(vm);
    }
    printf("%lu %s (%lu versioned): %lu ended, %lu faulted, %lu hit the ample budget\n",
           count, what, versioned, ok, faults, budget);
    if (count >= 1000)
        CHECK(VERSIONS ? versioned * 3 > count : versioned == 0, "%lu of %lu %s versioned",
              versioned, count, what);
    if (count >= 1000)
        CHECK(faults * 10 > count && ok * 10 > count, "%lu faults, %lu normal ends", faults, ok);
}

/* Straight-line segments: stores and loads off a few base registers (into
 * mem or the stack, some a little out of bounds), bases moved or reloaded
 * between accesses, atomics; the JIT proves them in range at once. */
static void generate_segment(gen *g, uint64_t seed)
{
    static const int bases[3] = { PTR, BASE, T2 };
    g->s = seed * 0x9e3779b97f4a7c15ull + 7;
    g->n = 0;
    g->nexits = 0;
    g->stack = false;
    put(g, BPFVM_MOV64_IMM(0, 0));
    put(g, BPFVM_MOV64_IMM(IV, 5));
    for (int k = 0; k < 3; k++) {
        bool stack = pick(g, 4) == 0;
        int32_t len = stack ? STACK : MEM_LEN;
        /* mostly well inside, sometimes near an end */
        int32_t at = pick(g, 4) ? 32 + (int32_t)pick(g, (unsigned)len - 96)
                                : (int32_t)pick(g, 48) - 8 + (pick(g, 2) ? len - 40 : 0);
        at &= pick(g, 8) ? ~7 : ~0; /* mostly aligned, for the atomics */
        g->stack |= stack;
        put(g, BPFVM_MOV64_REG(bases[k], stack ? 10 : 1));
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, bases[k], (stack ? -len : 0) + at));
    }
    unsigned n = 5 + pick(g, 40);
    int spread = pick(g, 3) ? 24 : 64; /* offsets from the bases: some past the ends */
    int align = pick(g, 4) ? ~7 : ~0;  /* aligned offsets: the atomics do not fault */
    for (unsigned k = 0; k < n; k++) {
        int b = bases[pick(g, 3)];
        int16_t off = (int16_t)(((int)pick(g, (unsigned)spread) - spread / 3) & align);
        switch (pick(g, 12)) {
        case 0:
            put(g, BPFVM_ALU64_IMM(BPFVM_ADD, b, ((int32_t)pick(g, 64) - 16) & align));
            break;
        case 1:
            put(g, BPFVM_LDX_MEM(BPFVM_DW, IV, b, off));
            break;
        case 2:
            if (pick(g, 4) == 0) /* the base changed in a way the JIT does not follow
                                  * (shifted by 0): its later accesses keep their checks */
                put(g, BPFVM_ALU64_IMM(BPFVM_LSH, b, 0));
            else
                put(g, BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_ADD, b, IV, (int16_t)(off & ~3)));
            break;
        case 3: /* a side exit, sometimes in the shape the JIT fuses (mov, and, jeq) */
            if (pick(g, 2)) {
                put(g, BPFVM_MOV64_REG(T1, 0));
                put(g, BPFVM_ALU64_IMM(BPFVM_AND, T1, 7));
                put_exit(g, BPFVM_JMP_IMM(BPFVM_JEQ, T1, 0, 0));
            } else {
                put_exit(g, BPFVM_JMP_IMM(BPFVM_JEQ, IV, (int32_t)pick(g, 4), 0));
            }
            break;
        default:
            access_at(g, b, off);
            break;
        }
    }
    for (size_t k = 0; k < g->nexits; k++)
        g->p[g->exits[k]].off = (int16_t)(g->n - g->exits[k] - 1);
    put(g, BPFVM_EXIT());
}

/* The loops of the benchmark programs (<build>/bench/NAME.bpf.o): how many
 * are versioned (as loops: no straight-line segments), and how many checks
 * their copies leave out. */
static void test_bench(const char *argv0)
{
    static const struct {
        const char *name;
        size_t loops, hoisted;
    } want[] = {
        /* sieve: none (its loops' accesses are proven by the program's
         * compares, jit_bounds.c, and need no guard); isort: the
         * inner loop (the checksum loop has a branch inside); histogram:
         * none (its counting loop's accesses and the stores clearing the
         * counters are proven; the summary loop has a second back edge);
         * matmul: the inner product (two pointers, exit test before
         * the back edge; the trip count is a constant), not the hash (proven); packet: both
         * checksum loops (two registers holding the same index); memops: each round's
         * gathering loop (133 slots, its counter stepping by 37, 64 trips: a constant),
         * its 56 loads from a pointer stepped by 56 (the stores are proven) */
        { "sieve", 0, 0 },  { "isort", 1, 2 },  { "histogram", 0, 0 },
        { "matmul", 1, 2 }, { "packet", 2, 2 }, { "memops", 4, 224 },
    };
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        char path[600];
        bpfvm_vm *vm = bench_object(argv0, want[k].name, path, sizeof(path));
        if (!vm)
            continue;
        CHECK(vm->jit_loops == want[k].loops * VERSIONS && vm->jit_segments == 0 &&
                  vm->jit_hoisted == want[k].hoisted * VERSIONS,
              "%s: %zu loops versioned (%zu segments), %zu checks left out; expected %zu, %zu",
              want[k].name, vm->jit_loops, vm->jit_segments, vm->jit_hoisted,
              want[k].loops * VERSIONS, want[k].hoisted * VERSIONS);
        bpfvm_destroy(vm);
    }
}

/* A versioned loop left by a backward exit to a short block before it,
 * which moves the base register the guard proved and comes back to the
 * head (falling into it, or by its own jump): the checked JIT copies such
 * a block into the loop's copy, and its way back must go through the guard
 * again (once it went straight into the copy and read past the memory).
 * Without a budget, which the block copies need. */
static void test_reentry(void)
{
    static uint8_t mem[64];
    static const struct {
        bpfvm_insn p[12];
        size_t n, head;
    } progs[] = {
        { { BPFVM_MOV64_IMM(0, 0), BPFVM_MOV64_IMM(3, 0), BPFVM_MOV64_REG(7, 1),
            BPFVM_JA_OFF(2),                            /* into the loop */
            BPFVM_ALU64_IMM(BPFVM_ADD, 7, 1000),        /* 4: the exit's block */
            BPFVM_JMP_IMM(BPFVM_JEQ, 0, 77, 4),         /* 5: falls into the head */
            BPFVM_LDX_MEM(BPFVM_B, 8, 7, 0),            /* 6: head; faults once r7 moved */
            BPFVM_ALU64_IMM(BPFVM_ADD, 3, 1),
            BPFVM_JMP_IMM(BPFVM_JEQ, 3, 5, -5),         /* exit to 4 */
            BPFVM_JMP_IMM(BPFVM_JLT, 3, 10, -4),        /* back edge */
            BPFVM_EXIT() }, 11, 6 },
        { { BPFVM_MOV64_IMM(0, 0), BPFVM_MOV64_IMM(3, 0), BPFVM_MOV64_REG(7, 1),
            BPFVM_JA_OFF(3),                            /* into the loop */
            BPFVM_ALU64_IMM(BPFVM_ADD, 7, 1000),        /* 4: the exit's block */
            BPFVM_JMP_IMM(BPFVM_JNE, 0, 77, 1),         /* 5: jumps to the head */
            BPFVM_EXIT(),
            BPFVM_LDX_MEM(BPFVM_B, 8, 7, 0),            /* 7: head */
            BPFVM_ALU64_IMM(BPFVM_ADD, 3, 1),
            BPFVM_JMP_IMM(BPFVM_JEQ, 3, 5, -6),         /* exit to 4 */
            BPFVM_JMP_IMM(BPFVM_JLT, 3, 10, -4),        /* back edge */
            BPFVM_EXIT() }, 12, 7 },
    };
    for (size_t k = 0; k < sizeof(progs) / sizeof(progs[0]); k++)
        for (int e = 0; e < 2; e++) {
            bpfvm_vm *vm = bpfvm_create();
            uint64_t r0 = 0;
            bpfvm_error err;
            memset(&err, 0, sizeof(err));
            int rc = bpfvm_load(vm, progs[k].p, progs[k].n * sizeof(bpfvm_insn));
            if (!rc && e)
                rc = bpfvm_compile(vm, 0);
            CHECK(rc == 0, "reentry %zu: load/compile %d", k, rc);
            if (e)
                CHECK(vm->jit_loops == VERSIONS, "reentry %zu: %zu loops versioned", k,
                      vm->jit_loops);
            rc = (e ? bpfvm_run_jit : bpfvm_run)(vm, mem, sizeof(mem), NULL, 0, &r0, &err);
            CHECK(rc == BPFVM_EMEMORY && err.insn == (int64_t)progs[k].head &&
                      err.addr == (uint64_t)(uintptr_t)mem + 1000 && err.size == 1,
                  "reentry %zu, %s: rc %d insn %lld", k, e ? "JIT" : "interpreter", rc,
                  (long long)err.insn);
            bpfvm_destroy(vm);
        }
}

/* vm's JIT and ref's interpreter on len bytes of mem: the same result, or
 * the same error at the same instruction and address (what: the case).
 * Returns the interpreter's code, its error in *werr. */
static int agree(bpfvm_vm *vm, bpfvm_vm *ref, void *mem, size_t len, bpfvm_error *werr,
                 const char *what)
{
    uint64_t r0 = 0, want = 0;
    bpfvm_error err;
    memset(&err, 0, sizeof(err));
    memset(werr, 0, sizeof(*werr));
    int rc = bpfvm_run_jit(vm, mem, len, NULL, 0, &r0, &err);
    int wrc = bpfvm_run(ref, mem, len, NULL, 0, &want, werr);
    CHECK(rc == wrc && r0 == want && err.insn == werr->insn && err.addr == werr->addr,
          "%s: rc %d r0 %llu insn %lld, want %d %llu %lld", what, rc, (unsigned long long)r0,
          (long long)err.insn, wrc, (unsigned long long)want, (long long)werr->insn);
    return wrc;
}

/* Loops whose bound the code before them writes: with an and (below 2^32)
 * right before the head, or before a slot one jump alone lands on, the
 * guard leaves out the tests of wrap-around and 2^32 trips (x86-64: its
 * `shr r10, 32`); passed through a 64-bit xor, or brought by a second way
 * into the loop or into the join (a jump or the slot before: the input's
 * first or third word), it keeps them. Every run agrees with the
 * interpreter, which faults only at the loop's load or the third word's,
 * and for the plain and exactly when the trips read past the input; a guard without the tests
 * where a 64-bit bound comes in (2^61 + 2 trips of an 8-byte step) would
 * let the unchecked copy run past the input. */
static void test_small_bound(void)
{
    enum { HEAD = 0x7f }; /* (an offset patched to jump to the head) */
    static const struct {
        const char *name;
        bool small;
        bpfvm_insn pre[4];
    } cases[] = {
        { "and", true, { BPFVM_MOV64_REG(8, 9), BPFVM_MOV64_REG(8, 9), BPFVM_MOV64_REG(8, 9),
                         BPFVM_MOV64_REG(8, 9) } },
        { "and, 64-bit xor", false, { BPFVM_ALU64_REG(BPFVM_XOR, 4, 9), BPFVM_MOV64_REG(8, 9),
                                      BPFVM_MOV64_REG(8, 9), BPFVM_MOV64_REG(8, 9) } },
        { "and, a join one jump lands on", true,
          { BPFVM_JMP_IMM(BPFVM_JEQ, 7, 0, 1), BPFVM_EXIT(), BPFVM_MOV64_REG(8, 9),
            BPFVM_MOV64_REG(8, 9) } },
        { "and, a join a jump and the slot before reach", false,
          { BPFVM_JMP_IMM(BPFVM_JEQ, 7, 0, 1), BPFVM_LDX_MEM(BPFVM_DW, 4, 1, 16),
            BPFVM_MOV64_REG(8, 9), BPFVM_MOV64_REG(8, 9) } },
        { "and, a join two jumps land on", false,
          { BPFVM_JMP_IMM(BPFVM_JEQ, 7, 0, 2), BPFVM_LDX_MEM(BPFVM_DW, 4, 1, 16), BPFVM_JA_OFF(0),
            BPFVM_MOV64_REG(8, 9) } },
        { "and, a jump into the loop", false,
          { BPFVM_JMP_IMM(BPFVM_JEQ, 7, 0, 2), BPFVM_LDX_MEM(BPFVM_DW, 4, 1, 16),
            BPFVM_JA_OFF(HEAD), BPFVM_MOV64_REG(8, 9) } },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        bpfvm_insn p[32];
        size_t n = 0, head;
        p[n++] = BPFVM_MOV64_IMM(0, 0);
        p[n++] = BPFVM_MOV64_IMM(9, 0);
        p[n++] = BPFVM_MOV64_IMM(3, 0);
        p[n++] = BPFVM_MOV64_REG(6, 1);
        p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 4, 1, 0);      /* the bound: the first word */
        p[n++] = BPFVM_LDX_MEM(BPFVM_B, 7, 1, 8);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_AND, 4, 0x3c);
        size_t pre = n;
        for (int k = 0; k < 4; k++)
            p[n++] = cases[c].pre[k];
        p[n++] = BPFVM_MOV64_REG(8, 9);                 /* (where the jumps land) */
        head = n;
        p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 5, 6, 0);
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 5);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 6, 8);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 3, 1);
        p[n] = BPFVM_JMP_REG(BPFVM_JLT, 3, 4, (int16_t)(head - n - 1));
        n++;
        p[n++] = BPFVM_EXIT();
        for (size_t k = pre; k < head; k++)
            if (p[k].off == HEAD)
                p[k].off = (int16_t)(head - k - 1);
        bpfvm_vm *vm = bpfvm_create(), *ref = bpfvm_create();
        CHECK(bpfvm_load(vm, p, n * sizeof(*p)) == 0 && bpfvm_load(ref, p, n * sizeof(*p)) == 0 &&
                  bpfvm_compile(vm, 0) == 0 && vm->jit_loops == VERSIONS,
              "%s: load/compile, %zu loops versioned", cases[c].name, vm->jit_loops);
#if defined(__x86_64__)
        static const uint8_t shr32[4] = { 0x49, 0xc1, 0xea, 0x20 }; /* shr r10, 32 */
        size_t size = 0;
        const uint8_t *code = bpfvm_jit_code(vm, &size);
        bool has = false;
        for (size_t k = 0; code && k + sizeof(shr32) <= size && !has; k++)
            has = memcmp(code + k, shr32, sizeof(shr32)) == 0;
        CHECK(has != cases[c].small, "%s: the test of 2^32 trips %s", cases[c].name,
              has ? "kept" : "left out");
#endif
        static const uint64_t words[] = { 3, 0x3c, 0x2c, (1ull << 61) + 2, 0xffffffffull,
                                          1ull << 40 };
        for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
            for (uint64_t way = 0; way < 2; way++)
                for (size_t len = 16; len <= 64; len += 24) {
                    uint64_t mem[8] = { words[w], way, words[(w + 3) % 6], 1, 2, 3, 4, 5 };
                    char what[96];
                    bpfvm_error werr;
                    snprintf(what, sizeof what, "%s, word %#llx, way %llu, len %zu",
                             cases[c].name, (unsigned long long)words[w],
                             (unsigned long long)way, len);
                    int wrc = agree(vm, ref, mem, len, &werr, what);
                    uint64_t trips = words[w] & 0x3c ? words[w] & 0x3c : 1;
                    bool third = werr.insn == (int64_t)pre + 1 && p[pre + 1].off == 16;
                    CHECK((wrc == 0 ||
                           (wrc == BPFVM_EMEMORY && (werr.insn == (int64_t)head || third))) &&
                              (c != 0 || (wrc != 0) == (8 * trips > len)),
                          "%s: interpreter rc %d insn %lld", what, wrc, (long long)werr.insn);
                }
        bpfvm_destroy(vm);
        bpfvm_destroy(ref);
    }
}

int main(int argc, char **argv)
{
    test_bench(argv[0]);
    test_reentry();
    test_small_bound();
    unsigned long count = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
    unsigned long first = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
    test_random("loops", generate, count, first);
    test_random("segments", generate_segment, count, first);
    return TEST_END();
}
