/* test_jit_loadcomb.c - bytes loaded one at a time, combined or not, and
 * stored far from their loads in an order of their own (clang's memcpy of
 * bytes it also computes with, as in bench/progs/memops.c), which the
 * x86-64 JIT copies with wide moves at the first store ("gathered copies").
 * Every program runs in the interpreter and in the JIT (checked, blinded,
 * unchecked): the same result, error, faulting instruction and address,
 * and the same memory after. Cases: 2..16 bytes in several load and store
 * orders, a byte taken from a value combined with lsh/or, the registers
 * read afterwards, an access in the window that reads a destination byte
 * or writes a source or destination byte (through the same register or
 * another one pointing there), a frame spill in the window, the base
 * moved, a jump landing in the window, overlapping source and destination,
 * the frame as base, faults (first or last byte outside the input), a
 * budget, and the loop whose guard proves the accesses; the machine code is
 * checked for the wide copy where it must be made. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm.h"
#define PROG_MAX 256
#include "jit_test.h"
#include "test.h"

#define MEM 96

static uint8_t mem[MEM] __attribute__((aligned(16)));

typedef struct result {
    int rc;
    uint64_t r0;
    bpfvm_error err;
    uint8_t mem[MEM];
} result;

static void exec(bpfvm_vm *vm, bool jit, result *o)
{
    for (size_t i = 0; i < MEM; i++)
        mem[i] = (uint8_t)(i * 29 + 7);
    memset(o, 0, sizeof *o);
    o->rc = (jit ? bpfvm_run_jit : bpfvm_run)(vm, mem, MEM, NULL, 0, &o->r0, &o->err);
    memcpy(o->mem, mem, MEM);
}

static bool agree(const result *a, const result *b)
{
    return a->rc == b->rc && (a->rc != 0 || a->r0 == b->r0) && a->err.insn == b->err.insn &&
           a->err.addr == b->err.addr && a->err.size == b->err.size &&
           memcmp(a->mem, b->mem, MEM) == 0;
}

/* Run g in the interpreter and the three JIT modes; *want gets the
 * interpreter's result. Returns the VM compiled with `keep_checked` (for a
 * look at the code) when keep, else NULL. */
static bpfvm_vm *compare(const prog *g, uint64_t budget, const char *what, result *want,
                         bool keep, int keep_checked)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_set_budget(vm, budget);
    if (bpfvm_load(vm, g->p, g->n * sizeof(bpfvm_insn)) != 0) {
        CHECK(0, "%s: load: %s", what, bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);
        return NULL;
    }
    exec(vm, false, want);
    for (int e = 0; e < 3; e++) {
        result got;
        bpfvm_set_checked(vm, e != 2);
        if (e == 2 && want->rc == BPFVM_EMEMORY)
            break;
        if (bpfvm_compile(vm, e == 1 ? BPFVM_JIT_BLIND : 0) != 0) {
            CHECK(0, "%s: compile: %s", what, bpfvm_last_error(vm)->message);
            break;
        }
        exec(vm, true, &got);
        CHECK(agree(want, &got), "%s, %s JIT: interpreter %s r0 %#llx insn %lld, JIT %s r0 "
              "%#llx insn %lld", what, e == 0 ? "checked" : e == 1 ? "blinded" : "unchecked",
              bpfvm_errname(want->rc), (unsigned long long)want->r0,
              (long long)want->err.insn, bpfvm_errname(got.rc), (unsigned long long)got.r0,
              (long long)got.err.insn);
    }
    if (keep) {
        bpfvm_set_checked(vm, keep_checked);
        CHECK(bpfvm_compile(vm, 0) == 0, "%s: compile again", what);
        return vm;
    }
    bpfvm_destroy(vm);
    return NULL;
}

/* The registers that carry the bytes (r7 is the base, r1 mem, r6 and r8
 * the accesses in the window). */
static const int vregs[] = { 0, 2, 3, 4, 5, 9 };

/* What comes into the window. */
enum {
    IN_NONE, IN_LOAD_DST, IN_STORE_SRC, IN_STORE_DST, IN_ALIAS_LOAD_DST, IN_ALIAS_STORE_SRC,
    IN_ALIAS_STORE_OTHER, IN_SPILL, IN_MOVE_BASE, IN_JUMP, IN_STORE_APART, IN_CLOBBER_SLOT,
    IN_ALIAS_CLOBBER_SLOT, IN_COUNT
};
static const char *const in_names[] = {
    "nothing", "a load of a destination byte", "a store to a source byte",
    "a store to a destination byte", "a load of a destination byte through another register",
    "a store to a source byte through another register",
    "a store elsewhere through another register", "a frame spill and reload",
    "the base moved and back", "a jump into the window", "a store apart from both",
    "a store to a spilled byte's frame slot",
    "a store to a spilled byte's frame slot through another register"
};

typedef struct shape {
    unsigned n;          /* bytes (each in its own register when n <= 6) */
    int lorder, sorder;  /* 0 ascending, 1 descending, 2 shuffled */
    int early;           /* loads before the first store (the rest come before their store) */
    int32_t so, dof;     /* source and destination offsets from the base */
    int inter;           /* IN_* */
    unsigned at;         /* after which store it comes */
    bool tree;           /* byte 0 stored from (b1 << 8 | b0) */
    int base;            /* 7 (r7 = mem + 8) or 10 (the frame) */
    bool spill;          /* each byte spilled to its frame slot when loaded, reloaded to store */
} shape;


static unsigned nth(int order, unsigned n, unsigned m)
{
    return order == 0 ? m : order == 1 ? n - 1 - m : (m * 5 + 2) % n; /* (n not a multiple of 5) */
}

/* The frame slot of byte k when spilled (apart from the frame bytes
 * copied), and the byte whose slot the IN_*CLOBBER_SLOT stores hit: one
 * loaded early when there is one. */
static int16_t spill_slot(unsigned k)
{
    return (int16_t)(-64 - 8 * (int32_t)k);
}

static unsigned clobbered(const shape *s)
{
    return s->early > 0 ? nth(s->lorder, s->n, 0) : nth(s->sorder, s->n, s->n - 1);
}

/* r8 = r7 (another register on the same bytes), r6 = 0 */
static void intervene(prog *g, const shape *s)
{
    int b = s->base;
    switch (s->inter) {
    case IN_LOAD_DST:
        put(g, BPFVM_LDX_MEM(BPFVM_B, 6, b, (int16_t)(s->dof + (int32_t)s->n - 1)));
        break;
    case IN_STORE_SRC:
        put(g, BPFVM_ST_MEM(BPFVM_B, b, (int16_t)(s->so + (int32_t)s->n - 1), 0x5a));
        break;
    case IN_STORE_DST:
        put(g, BPFVM_ST_MEM(BPFVM_B, b, (int16_t)s->dof, 0x66));
        break;
    case IN_ALIAS_LOAD_DST:
        put(g, BPFVM_LDX_MEM(BPFVM_H, 6, 8, (int16_t)(s->dof + (int32_t)s->n - 2)));
        break;
    case IN_ALIAS_STORE_SRC:
        put(g, BPFVM_ST_MEM(BPFVM_W, 8, (int16_t)(s->so + (int32_t)s->n - 4), 0x11223344));
        break;
    case IN_ALIAS_STORE_OTHER:
        put(g, BPFVM_ST_MEM(BPFVM_B, 8, 70, 0x77));
        break;
    case IN_SPILL:
        put(g, BPFVM_STX_MEM(BPFVM_DW, 10, 3, -24));
        put(g, BPFVM_LDX_MEM(BPFVM_DW, 6, 10, -24));
        break;
    case IN_MOVE_BASE:
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, b, 1));
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, b, -1));
        break;
    case IN_JUMP:                                      /* lands on the next slot */
        put(g, BPFVM_JMP_IMM(BPFVM_JEQ, 6, 12345, 0));
        break;
    case IN_STORE_APART:
        put(g, BPFVM_ST_MEM(BPFVM_B, b, (int16_t)(s->dof - 1), 0x42));
        break;
    case IN_CLOBBER_SLOT:
        put(g, BPFVM_ST_MEM(BPFVM_B, 10, spill_slot(clobbered(s)), 0x5b));
        break;
    case IN_ALIAS_CLOBBER_SLOT:
        put(g, BPFVM_MOV64_REG(8, 10));
        put(g, BPFVM_ST_MEM(BPFVM_H, 8, spill_slot(clobbered(s)), 0x5c5c));
        put(g, BPFVM_MOV64_REG(8, 7));
        break;
    default:
        break;
    }
}

/* Byte k loaded into vregs[k] (and spilled to its slot); with spills
 * the register is then changed, so only the reload has the byte. */
static void load_byte(prog *g, const shape *s, unsigned k)
{
    put(g, BPFVM_LDX_MEM(BPFVM_B, vregs[k], s->base, (int16_t)(s->so + (int32_t)k)));
    if (!s->spill)
        return;
    put(g, BPFVM_STX_MEM(BPFVM_DW, 10, vregs[k], spill_slot(k)));
    if (!s->tree || k > 1)
        put(g, BPFVM_ALU64_IMM(BPFVM_XOR, vregs[k], 0x3c));
}

/* The bytes [base + so, + n) loaded into vregs[] and stored to
 * [base + dof, + n) in the orders of s. */
static void gather_body(prog *g, const shape *s)
{
    bool loaded[16] = { false };
    int b = s->base;
    for (size_t k = 0; k < sizeof vregs / sizeof vregs[0]; k++)
        put(g, BPFVM_MOV64_IMM(vregs[k], (int32_t)k));
    for (unsigned m = 0; m < (unsigned)s->early && m < s->n; m++) {
        unsigned k = nth(s->lorder, s->n, m);
        load_byte(g, s, k);
        loaded[k] = true;
    }
    if (s->tree) {                                     /* r6 = b1 << 8 | b0 (after r6 = 0) */
        for (unsigned k = 0; k < 2; k++)
            if (!loaded[k]) {
                load_byte(g, s, k);
                loaded[k] = true;
            }
        put(g, BPFVM_MOV32_REG(6, vregs[1]));
        put(g, BPFVM_ALU32_IMM(BPFVM_LSH, 6, 8));
        put(g, BPFVM_ALU32_REG(BPFVM_OR, 6, vregs[0]));
    }
    for (unsigned m = 0; m < s->n; m++) {
        unsigned k = nth(s->sorder, s->n, m);
        if (!loaded[k])
            load_byte(g, s, k);
        loaded[k] = true;
        int v = s->tree && k == 0 ? 6 : vregs[k];
        if (s->spill && v != 6)
            put(g, BPFVM_LDX_MEM(BPFVM_DW, v, 10, spill_slot(k)));
        put(g, BPFVM_STX_MEM(BPFVM_B, b, v, (int16_t)(s->dof + (int32_t)k)));
        if (m == s->at)
            intervene(g, s);
    }
}

/* r0 = a mix of every register but the pointers; exit */
static void fold(prog *g)
{
    static const int regs[] = { 2, 3, 4, 5, 6, 9 };
    for (size_t k = 0; k < sizeof regs / sizeof regs[0]; k++) {
        put(g, BPFVM_ALU64_IMM(BPFVM_MUL, 0, 257));
        put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, regs[k]));
    }
    put(g, BPFVM_EXIT());
}

/* Both forms start with r7 = mem + 8, r8 = r7, (the loop: r1 = 0,) r6 = 0,
 * r0 = 0. */
static void start_prog(prog *g, bool loop)
{
    g->n = 0;
    put(g, BPFVM_MOV64_REG(7, 1));
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 7, 8));
    put(g, BPFVM_MOV64_REG(8, 7));
    if (loop)
        put(g, BPFVM_MOV64_IMM(1, 0));
    put(g, BPFVM_MOV64_IMM(6, 0));
    put(g, BPFVM_MOV64_IMM(0, 0));
}

/* Straight code: the bytes; r0 = the registers mixed with two words of mem
 * read back. */
static void straight_prog(prog *g, const shape *s)
{
    start_prog(g, false);
    gather_body(g, s);
    put(g, BPFVM_LDX_MEM(BPFVM_DW, 8, s->base, (int16_t)s->dof));
    put(g, BPFVM_ALU64_REG(BPFVM_XOR, 6, 8));
    put(g, BPFVM_LDX_MEM(BPFVM_DW, 8, s->base, (int16_t)(s->dof + (int32_t)s->n - 8)));
    put(g, BPFVM_ALU64_REG(BPFVM_ADD, 6, 8));
    fold(g);
}

/* The same bytes in a loop of three trips (r1 counts; the accesses are
 * through the invariant r7: the loop's guard proves them). */
static void loop_prog(prog *g, const shape *s)
{
    start_prog(g, true);
    size_t head = g->n;
    gather_body(g, s);
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 1, 1));
    put(g, BPFVM_JMP_IMM(BPFVM_JLT, 1, 3, (int16_t)((int64_t)head - (int64_t)g->n - 1)));
    put(g, BPFVM_LDX_MEM(BPFVM_DW, 8, 7, (int16_t)s->dof));
    put(g, BPFVM_ALU64_REG(BPFVM_XOR, 6, 8));
    fold(g);
}

static void describe(char *what, size_t len, const char *form, const shape *s)
{
    snprintf(what, len, "%s: %u bytes %d->%d loads %d stores %d early %d%s%s, %s after store %u%s",
             form, s->n, s->so, s->dof, s->lorder, s->sorder, s->early, s->tree ? " tree" : "",
             s->spill ? " spilled" : "", in_names[s->inter], s->at,
             s->base == 10 ? " (frame)" : "");
}

/* Shape s in straight code, then in a loop (form and loop name them), each
 * in every engine; fault: the straight code must fault in the interpreter. */
static void check_forms(const shape *s, const char *form, const char *loop, bool fault)
{
    char what[256];
    prog g;
    result want;
    straight_prog(&g, s);
    describe(what, sizeof what, form, s);
    compare(&g, 0, what, &want, false, 1);
    if (fault)
        CHECK(want.rc == BPFVM_EMEMORY, "%s: the interpreter's %s", what, bpfvm_errname(want.rc));
    loop_prog(&g, s);
    describe(what, sizeof what, loop, s);
    compare(&g, 0, what, &want, false, 1);
}

/* Every width and order, with each kind of access in the window, in
 * straight code and in a loop. */
static void test_shapes(void)
{
    static const unsigned widths[] = { 2, 3, 4, 6 };
    for (size_t w = 0; w < 4; w++)
        for (int lo = 0; lo < 3; lo++)
            for (int so = 0; so < 3; so++)
                for (int in = 0; in < 4 * IN_COUNT; in++) {
                    bool frame = in >= 2 * IN_COUNT;   /* (then the bytes spilled) */
                    if (frame && in % IN_COUNT == IN_MOVE_BASE)
                        continue;                      /* (r10 is read-only) */
                    shape s = { widths[w], lo, so, (lo + so) % 3 == 0 ? 0 : (int)widths[w] / 2,
                                frame ? -40 : 40, frame ? -16 : 8, in % IN_COUNT,
                                (unsigned)(so % 2 ? 0 : widths[w] / 2), w == 1 && lo == 2,
                                frame ? 10 : 7, in >= IN_COUNT };
                    check_forms(&s, "straight", "loop", false);
                }
}

/* Source and destination at every distance (overlapping ones must not
 * become one copy), and the frame as the base. */
static void test_distances(void)
{
    for (int32_t d = -9; d <= 9; d++)
        for (int frame = 0; frame < 4; frame++) {
            shape s = { 6, 1, 2, 2, frame & 1 ? -40 : 30, (frame & 1 ? -40 : 30) + d, IN_NONE, 0,
                        false, frame & 1 ? 10 : 7, frame >= 2 };
            check_forms(&s, "distance", "distance, loop", false);
        }
}

/* Checked straight code: the first or the last byte of the source or the
 * destination outside mem faults at that access, after the same stores. */
static void test_faults(void)
{
    for (int side = 0; side < 2; side++)
        for (int last = 0; last < 2; last++)
            for (int order = 0; order < 3; order++) {
                int32_t out = last ? MEM - 8 - 5 : -8 - 1;   /* 6 bytes from here: one outside */
                shape s = { 6, order, 2 - order, 1, side ? out : 20, side ? 20 : out, IN_NONE, 0,
                            false, 7, order == 1 };
                check_forms(&s, "fault", "fault, loop", true);
            }
}

/* A budget running out anywhere in or around the loop. */
static void test_budget(void)
{
    char what[256];
    shape s = { 6, 2, 1, 2, 40, 8, IN_NONE, 0, true, 7, true };
    prog g;
    loop_prog(&g, &s);
    for (uint64_t budget = 1; budget <= 3 * g.n + 20; budget += 3) {
        result want;
        snprintf(what, sizeof what, "budget %llu", (unsigned long long)budget);
        compare(&g, budget, what, &want, false, 1);
    }
}

#if defined(__x86_64__)
/* Is `mov r11d, [r14 + so]; mov [r14 + dof], r11d` (disp8; rbp for the
 * frame) in the code? */
static bool has_copy4(bpfvm_vm *vm, int8_t so, int8_t dof, bool frame)
{
    uint8_t x = frame ? 0x44 : 0x45, m = frame ? 0x5d : 0x5e;
    const uint8_t want[8] = { x, 0x8b, m, (uint8_t)so, x, 0x89, m, (uint8_t)dof };
    size_t size = 0;
    const uint8_t *code = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; code && i + sizeof want <= size; i++)
        if (memcmp(code + i, want, sizeof want) == 0)
            return true;
    return false;
}

/* Six bytes in memops' shape (loaded partly before the first store, one
 * through a combined value) become two 4-byte copies: unchecked in straight
 * code, checked in the loop whose guard proves them; not in checked
 * straight code, nor unchecked with a frame spill in the window. In the
 * frame, checked, also when each byte is spilled to a frame slot and
 * reloaded to be stored. */
static void test_code(void)
{
    static const int ins[] = { IN_NONE, IN_STORE_APART, IN_SPILL };
    for (size_t c = 0; c < 3; c++) {
        shape s = { 6, 1, 2, 3, 40, 8, ins[c], 2, true, 7, false };
        char what[256];
        prog g;
        result want;
        bool unchecked = ins[c] != IN_SPILL;
        straight_prog(&g, &s);
        describe(what, sizeof what, "code, straight unchecked", &s);
        bpfvm_vm *vm = compare(&g, 0, what, &want, true, 0);
        if (vm)
            CHECK(has_copy4(vm, 40, 8, false) == unchecked, "%s: the copy %s", what,
                  unchecked ? "missing" : "made");
        bpfvm_destroy(vm);
        describe(what, sizeof what, "code, straight checked", &s);
        vm = compare(&g, 0, what, &want, true, 1);
        if (vm)
            CHECK(!has_copy4(vm, 40, 8, false), "%s: a copy made", what);
        bpfvm_destroy(vm);
        loop_prog(&g, &s);
        describe(what, sizeof what, "code, loop checked", &s);
        vm = compare(&g, 0, what, &want, true, 1);
        if (vm && unchecked)
            CHECK(has_copy4(vm, 40, 8, false), "%s: the copy missing", what);
        bpfvm_destroy(vm);
    }
    for (int spill = 0; spill < 2; spill++) {          /* the frame, checked */
        shape s = { 6, 2, 0, 2, -40, -16, IN_NONE, 1, false, 10, spill };
        char what[256];
        prog g;
        result want;
        straight_prog(&g, &s);
        describe(what, sizeof what, "code, frame checked", &s);
        bpfvm_vm *vm = compare(&g, 0, what, &want, true, 1);
        if (vm)
            CHECK(has_copy4(vm, -40, -16, true), "%s: the copy missing", what);
        bpfvm_destroy(vm);
    }
}
#endif

/* Two copies in one window, the second's source a byte the first wrote
 * early: loads of [30], [33], [34], [32], [29]; stores [25] <- [29],
 * [28] <- [32], [29] <- [33], a load of [31], [27] <- [31], [26] <- [30]
 * (loaded before [30] is stored), [30] <- [34]. The first copy ([29..30]
 * at the store of [29]) writes [30] early, so the second ([26..27]) must
 * not read [30] from memory. */
static void test_windows(void)
{
    static const int8_t loads[][2] = { { 1, 30 }, { 4, 33 }, { 5, 34 }, { 3, 32 }, { 0, 29 } };
    static const int8_t tail[][3] = { /* store: reg, off; load: -reg, off */
        { 0, 25 }, { 3, 28 }, { 4, 29 }, { -2, 31 }, { 2, 27 }, { 1, 26 }, { 5, 30 } };
    prog g;
    result want;
    g.n = 0;
    put(&g, BPFVM_MOV64_REG(9, 1));
    for (size_t k = 0; k < sizeof loads / sizeof loads[0]; k++)
        put(&g, BPFVM_LDX_MEM(BPFVM_B, loads[k][0], 9, loads[k][1]));
    for (size_t k = 0; k < sizeof tail / sizeof tail[0]; k++)
        put(&g, tail[k][0] < 0 ? (bpfvm_insn)BPFVM_LDX_MEM(BPFVM_B, -tail[k][0], 9, tail[k][1])
                               : (bpfvm_insn)BPFVM_STX_MEM(BPFVM_B, 9, tail[k][0], tail[k][1]));
    put(&g, BPFVM_MOV64_IMM(0, 0));
    put(&g, BPFVM_EXIT());
    compare(&g, 0, "two copies in one window", &want, false, 1);
}

/* A spilled byte is what its load read only while the slot holds it and
 * the base register is unchanged: (1) a zero spilled to [r10 - 64], the
 * slot's byte 0 then set through r8 = r10, the reload or-ed with the byte
 * [r10 - 40] and stored to [r10 - 16] beside [r10 - 15] <- [r10 - 39]
 * (checked frame accesses: a gathered copy if the reload were still
 * zero); (2) [r9 + 30] spilled, r9 moved by one, the reload stored to
 * [r9 + 10] beside [r9 + 11] <- [r9 + 31] (unchecked: a gathered copy if
 * the reload were still [r9 + 30]). */
static void test_spills(void)
{
    static const bpfvm_insn zero[] = {
        BPFVM_ST_MEM(BPFVM_DW, 10, -40, 0x1234567), BPFVM_MOV64_IMM(6, 0),
        BPFVM_STX_MEM(BPFVM_DW, 10, 6, -64), BPFVM_MOV64_REG(8, 10),
        BPFVM_ST_MEM(BPFVM_B, 8, -64, 0x5c), BPFVM_LDX_MEM(BPFVM_DW, 6, 10, -64),
        BPFVM_LDX_MEM(BPFVM_B, 2, 10, -40), BPFVM_ALU64_REG(BPFVM_OR, 6, 2),
        BPFVM_LDX_MEM(BPFVM_B, 3, 10, -39), BPFVM_STX_MEM(BPFVM_B, 10, 6, -16),
        BPFVM_STX_MEM(BPFVM_B, 10, 3, -15), BPFVM_LDX_MEM(BPFVM_H, 0, 10, -16), BPFVM_EXIT()
    };
    static const bpfvm_insn moved[] = {
        BPFVM_MOV64_REG(9, 1), BPFVM_LDX_MEM(BPFVM_B, 2, 9, 30),
        BPFVM_STX_MEM(BPFVM_DW, 10, 2, -64), BPFVM_ALU64_IMM(BPFVM_ADD, 9, 1),
        BPFVM_LDX_MEM(BPFVM_DW, 2, 10, -64), BPFVM_LDX_MEM(BPFVM_B, 3, 9, 31),
        BPFVM_STX_MEM(BPFVM_B, 9, 2, 10), BPFVM_STX_MEM(BPFVM_B, 9, 3, 11),
        BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT()
    };
    static const bpfvm_insn moved_loop[] = {           /* the same in a loop of three trips */
        BPFVM_MOV64_REG(7, 1), BPFVM_MOV64_IMM(6, 0), BPFVM_MOV64_REG(9, 7),
        BPFVM_LDX_MEM(BPFVM_B, 2, 9, 30), BPFVM_STX_MEM(BPFVM_DW, 10, 2, -64),
        BPFVM_ALU64_IMM(BPFVM_XOR, 2, 0x3c), BPFVM_ALU64_IMM(BPFVM_ADD, 9, 1),
        BPFVM_LDX_MEM(BPFVM_DW, 2, 10, -64), BPFVM_LDX_MEM(BPFVM_B, 3, 9, 31),
        BPFVM_STX_MEM(BPFVM_B, 9, 2, 10), BPFVM_STX_MEM(BPFVM_B, 9, 3, 11),
        BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1), BPFVM_JMP_IMM(BPFVM_JLT, 6, 3, -11),
        BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT()
    };
    prog g;
    result want;
    g.n = sizeof zero / sizeof zero[0];
    memcpy(g.p, zero, sizeof zero);
    compare(&g, 0, "a spilled zero, its slot written through another register", &want, false, 1);
    g.n = sizeof moved / sizeof moved[0];
    memcpy(g.p, moved, sizeof moved);
    compare(&g, 0, "a spilled byte, its base moved", &want, false, 1);
    g.n = sizeof moved_loop / sizeof moved_loop[0];
    memcpy(g.p, moved_loop, sizeof moved_loop);
    compare(&g, 0, "a spilled byte, its base moved, in a loop", &want, false, 1);
}

int main(void)
{
    test_spills();
    test_shapes();
    test_distances();
    test_faults();
    test_budget();
    test_windows();
#if defined(__x86_64__)
    test_code();
#endif
    return TEST_END();
}
