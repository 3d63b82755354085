/* test_jit_cg.c - shapes of clang's code the x86-64 JIT translates as a
 * whole, each against values computed here and the interpreter, in the JIT
 * checked, unchecked, blinded and with a budget:
 *
 * - `jcc T; mov d, V; ja T` (a select whose both arms go on elsewhere: spf's
 *   counting loop), made a conditional move (or, after `mov d, 1`, setcc)
 *   followed by the ja: every condition, 32/64-bit compares, K and X forms,
 *   the four movs, T before (the block the x86-64 JIT copies at backward
 *   jumps) or after the shape, a jcc going elsewhere than the ja (no
 *   conversion), a jump landing on the mov (no conversion), a register
 *   moved (no conversion).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm.h"
#include "jit_test.h"
#include "test.h"

#define NWORDS 12
static const uint64_t words[NWORDS] = { 0, 1, 5, 0x7fffffff, 0x80000000, 0xffffffff,
                                        0x100000005ull, 0xffffffff00000005ull,
                                        0x8000000000000000ull, 0xffffffffffffffffull, 5, 0 };

/* Run p on engine e (ENG_BUDGET: the checked JIT) over mem, with a budget
 * unless it is 0, without the verifier; *r0 and the return code. */
static int run(const bpfvm_insn *p, size_t n, int e, uint64_t budget, void *mem, size_t len,
               uint64_t *r0)
{
    bpfvm_vm *vm = jit_test_vm(p, n, e, budget, false);
    *r0 = 0;
    int rc = vm ? jit_test_run(vm, e, mem, len, r0) : -1000;
    bpfvm_destroy(vm);
    return rc;
}

/* Every engine runs p over mem and must give want (rc 0); the budget
 * engine, with a budget the run may need more than, what the interpreter
 * gives with that budget. Returns the failures. */
static int agree(const char *what, const bpfvm_insn *p, size_t n, void *mem, size_t len,
                 uint64_t want, uint64_t budget)
{
    int bad = 0;
    for (int e = 0; e < NENG; e++) {
        uint64_t r0, want_r0 = want;
        int want_rc = e == ENG_BUDGET ? run(p, n, ENG_INTERP, budget, mem, len, &want_r0) : 0;
        int rc = run(p, n, e, e == ENG_BUDGET ? budget : 0, mem, len, &r0);
        if (rc != want_rc || (rc == 0 && r0 != want_r0)) {
            bad++;
            CHECK(false, "%s: engine %d: rc %d r0 %#llx, want rc %d r0 %#llx", what, e, rc,
                  (unsigned long long)r0, want_rc, (unsigned long long)want_r0);
        }
    }
    return bad;
}

#if defined(__x86_64__)
/* Does the x86-64 code of p, unchecked (checked code has cmov in loop
 * guards), hold a conditional move or, setcc, a setcc? */
static bool has_select(const bpfvm_insn *p, size_t n, bool setcc)
{
    return jit_test_has_select(p, n, ENG_UNCHECKED, false, setcc);
}
#endif

/* ---- jcc T; mov d, V; ja T ------------------------------------------------ */

static const uint8_t ops[] = JIT_TEST_JUMP_OPS;

enum { MOV64_K, MOV32_K, MOV64_X, MOV32_X, NMOVS };

typedef struct sel {
    uint8_t op;
    bool w64, k;
    int32_t imm;   /* K form: the immediate; X form: compared with r7 = words[3] ^ imm */
    int mov;       /* MOV*: d = r6, the X forms move r8 */
    int32_t v;     /* the mov's immediate */
    bool back;     /* T before the shape (the loop's body block), else after it */
    bool one;      /* mov32 d, 1 before the compare */
    bool other;    /* the jcc goes one slot past T (no select) */
    bool land;     /* at word 2 a jump lands on the mov */
} sel;

#define R8_VALUE 0xfedcba9880000001ull
#define D_START 0xa5a5a5a5deadbeefull

/* The loop over the NWORDS words of the input: r5 = word; the shape on r6;
 * T: r0 = r0 * 31 + r6 (with `other`, the jcc lands after the multiply);
 * then the next word. */
static size_t build_sel(const sel *s, bpfvm_insn *p)
{
    size_t n = 0, shape, t;
    bpfvm_insn ld6[2] = { BPFVM_LD_IMM64(6, D_START) }, ld8[2] = { BPFVM_LD_IMM64(8, R8_VALUE) };
    p[n++] = BPFVM_MOV64_IMM(0, 0);
    p[n++] = BPFVM_MOV64_IMM(4, 0);
    p[n++] = ld6[0];
    p[n++] = ld6[1];
    p[n++] = ld8[0];
    p[n++] = ld8[1];
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 7, 1, 3 * 8);
    p[n++] = BPFVM_ALU64_IMM(BPFVM_XOR, 7, s->imm);
    size_t ja_l1 = n;
    if (s->back) {
        p[n++] = BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0); /* to L1, patched */
        t = n;                /* T: the body block */
        p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, 0, 31);
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 6);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 4, 8);
        p[n++] = BPFVM_JMP_IMM(BPFVM_JGE, 4, NWORDS * 8, 0); /* to the exit, patched */
        p[ja_l1].off = (int16_t)(n - ja_l1 - 1);
    }
    size_t l1 = n;
    p[n++] = BPFVM_MOV64_REG(5, 1);
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 5, 4);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 5, 5, 0);
    size_t land = n;
    if (s->land)
        p[n++] = BPFVM_JMP_IMM(BPFVM_JEQ, 4, 16, 0); /* to the mov, patched */
    if (s->one)
        p[n++] = BPFVM_MOV32_IMM(6, 1);
    shape = n;
    p[n++] = s->k ? (s->w64 ? BPFVM_JMP_IMM(s->op, 5, s->imm, 0) : BPFVM_JMP32_IMM(s->op, 5, s->imm, 0))
                  : (s->w64 ? BPFVM_JMP_REG(s->op, 5, 7, 0) : BPFVM_JMP32_REG(s->op, 5, 7, 0));
    if (s->land)
        p[land].off = (int16_t)(n - land - 1);
    switch (s->mov) {
    case MOV64_K: p[n++] = BPFVM_MOV64_IMM(6, s->v); break;
    case MOV32_K: p[n++] = BPFVM_MOV32_IMM(6, s->v); break;
    case MOV64_X: p[n++] = BPFVM_MOV64_REG(6, 8); break;
    default:      p[n++] = BPFVM_MOV32_REG(6, 8); break;
    }
    size_t ja = n++;
    if (!s->back) {
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 0, 0x55); /* skipped by the ja */
        t = n;
        p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, 0, 31);
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 6);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 4, 8);
        p[n] = BPFVM_JMP_IMM(BPFVM_JLT, 4, NWORDS * 8, (int16_t)((int64_t)l1 - (int64_t)n - 1));
        n++;
    } else {
        p[t + 3].off = (int16_t)(n - t - 4);
    }
    p[ja] = BPFVM_JMP_IMM(BPFVM_JA, 0, 0, (int16_t)((int64_t)t - (int64_t)ja - 1));
    p[shape].off = (int16_t)((int64_t)t + s->other - (int64_t)shape - 1);
    p[n++] = BPFVM_EXIT();
    return n;
}

static uint64_t expect_sel(const sel *s)
{
    uint64_t r0 = 0, d = D_START, r7 = words[3] ^ (uint64_t)(int64_t)s->imm;
    for (int w = 0; w < NWORDS; w++) {
        bool landed = s->land && w == 2, jumped = false;
        if (!landed) {
            if (s->one)
                d = 1;
            jumped = jit_test_holds(s->op, s->w64, words[w], s->k ? (uint64_t)(int64_t)s->imm : r7);
        }
        if (!jumped) {
            switch (s->mov) {
            case MOV64_K: d = (uint64_t)(int64_t)s->v; break;
            case MOV32_K: d = (uint32_t)s->v; break;
            case MOV64_X: d = R8_VALUE; break;
            default:      d = (uint32_t)R8_VALUE; break;
            }
        }
        if (!(jumped && s->other))
            r0 *= 31;
        r0 += d;
    }
    return r0;
}

static void test_select_ja(void)
{
    static const int32_t imms[] = { 0, 5, -1, INT32_MIN };
    static const int32_t vs[] = { 0, -7 };
    uint64_t mem[NWORDS];
    int shapes = 0, bad = 0;
    memcpy(mem, words, sizeof mem);
    for (size_t oi = 0; oi < sizeof ops; oi++)
        for (int form = 0; form < 4; form++)
            for (size_t ii = 0; ii < sizeof imms / sizeof imms[0]; ii++)
                for (int mov = 0; mov < NMOVS; mov++)
                    for (int var = 0; var < 8; var++) {
                        sel s = { ops[oi], form & 1, form & 2, imms[ii], mov,
                                  vs[(ii + (size_t)mov) % 2], var & 1, (var & 2) != 0,
                                  var == 4 || var == 5, var >= 6 };
                        bpfvm_insn p[40];
                        size_t n = build_sel(&s, p);
                        char what[96];
                        snprintf(what, sizeof what, "select-ja op %#x form %d imm %d mov %d var %d",
                                 s.op, form, s.imm, mov, var);
                        bad += agree(what, p, n, mem, sizeof mem, expect_sel(&s), 40u + oi * 3);
                        shapes++;
                    }
    CHECK(shapes > 1000 && bad == 0, "%d shapes, %d wrong", shapes, bad);
#if defined(__x86_64__)
    /* the shape is converted, in both layouts and as setcc, but not when
     * the jcc goes elsewhere or a jump lands on the mov */
    for (int var = 0; var < 8; var++) {
        sel s = { BPFVM_JEQ, true, true, 0, MOV32_K, 0, var & 1, (var & 2) != 0,
                  var == 4 || var == 5, var >= 6 };
        bpfvm_insn p[40];
        size_t n = build_sel(&s, p);
        bool want = var < 4;
        CHECK(has_select(p, n, s.one) == want, "variant %d: select %d, want %d", var,
              has_select(p, n, s.one), want);
    }
    /* a register moved stays a branch (an arg-max loop would wait on the
     * conditional move for its next load) */
    for (int var = 0; var < 4; var++) {
        sel s = { BPFVM_JEQ, true, true, 0, MOV64_X, 0, var & 1, (var & 2) != 0, false, false };
        bpfvm_insn p[40];
        size_t n = build_sel(&s, p);
        CHECK(!has_select(p, n, false), "variant %d, register moved: select", var);
    }
#endif
}

/* ---- rotates ---------------------------------------------------------------- */

static const uint64_t rot_x[] = { 0, 1, 0x8000000000000000ull, 0xfedcba9876543210ull,
                                  0x00000000deadbeefull, 0xffffffff00000001ull };
#define T_START 0x0f0f0000f0f0ull

typedef struct rot {
    bool w64, rsh_first; /* rsh t first (then lsh x), else lsh t first */
    int32_t a, b;        /* the shift counts of t and of x */
    bool same;           /* t is x */
    bool t_live;         /* r0 also reads t afterwards */
    bool land;           /* a jump lands on the or when the input's word is 1 */
    bool jeq;            /* if x == 0 skip an add, right after the or */
} rot;

/* r3 = x, r4 = t; r0 = x (+ 3 * t) (+ 1000 unless x == 0, with jeq) */
static size_t build_rot(const rot *r, uint64_t x, bpfvm_insn *p)
{
    size_t n = 0;
    bpfvm_insn lx[2] = { BPFVM_LD_IMM64(3, x) }, lt[2] = { BPFVM_LD_IMM64(4, T_START) };
    int t = r->same ? 3 : 4, w = r->w64 ? 64 : 32;
    uint8_t alu = r->w64 ? BPFVM_ALU64 : BPFVM_ALU, jmp = r->w64 ? BPFVM_JMP : BPFVM_JMP32;
    p[n++] = lx[0];
    p[n++] = lx[1];
    p[n++] = lt[0];
    p[n++] = lt[1];
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 6, 1, 0);
    p[n++] = BPFVM_MOV64_IMM(0, 0);
    if (r->land)
        p[n++] = BPFVM_JMP_IMM(BPFVM_JEQ, 6, 1, 3);
    p[n++] = r->w64 ? BPFVM_MOV64_REG(t, 3) : BPFVM_MOV32_REG(t, 3);
    p[n++] = BPFVM_INSN(alu | BPFVM_K | (r->rsh_first ? BPFVM_RSH : BPFVM_LSH), t, 0, 0, r->a);
    p[n++] = BPFVM_INSN(alu | BPFVM_K | (r->rsh_first ? BPFVM_LSH : BPFVM_RSH), 3, 0, 0, r->b);
    p[n++] = BPFVM_INSN(alu | BPFVM_X | BPFVM_OR, 3, t, 0, 0);
    if (r->jeq) {
        p[n++] = BPFVM_INSN(jmp | BPFVM_K | BPFVM_JEQ, 3, 0, 1, 0);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 0, 1000);
    }
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 3);
    if (r->t_live) {
        p[n++] = BPFVM_MOV64_REG(5, t);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, 5, 3);
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 5);
    }
    p[n++] = BPFVM_EXIT();
    (void)w;
    return n;
}

static uint64_t expect_rot(const rot *r, uint64_t x, bool jumped)
{
    uint64_t mask = r->w64 ? ~0ull : 0xffffffffull, t = r->same ? x : T_START;
    if (!(r->land && jumped)) {
        t = x & mask;
        t = (r->rsh_first ? t >> r->a : t << r->a) & mask;
        x = r->same ? t : x & mask;
        x = (r->rsh_first ? x << r->b : x >> r->b) & mask;
        if (r->same)
            t = x;
    }
    x = (x | t) & mask;
    if (r->same)
        t = x;
    uint64_t r0 = x;
    if (r->jeq && x != 0)
        r0 += 1000;
    return r->t_live ? r0 + t * 3 : r0;
}

static void test_rotate(void)
{
    int shapes = 0, bad = 0;
    for (int w64 = 0; w64 < 2; w64++)
        for (int a = 1; a < (w64 ? 64 : 32); a += (a < 3 || a > (w64 ? 60 : 28)) ? 1 : 5)
            for (int d = -1; d <= 1; d++)
                for (int var = 0; var < 32; var++) {
                    int w = w64 ? 64 : 32;
                    rot r = { w64 == 1, var & 1, a, w - a + d, (var & 2) != 0, (var & 4) != 0,
                              (var & 8) != 0, (var & 16) != 0 };
                    if (r.b <= 0 || r.b >= w)
                        continue;
                    for (size_t xi = 0; xi < sizeof rot_x / sizeof rot_x[0]; xi++)
                        for (uint64_t word = 0; word < (r.land ? 2u : 1u); word++) {
                            bpfvm_insn p[32];
                            size_t n = build_rot(&r, rot_x[xi], p);
                            uint64_t mem[1] = { word };
                            char what[96];
                            snprintf(what, sizeof what, "rotate w64 %d a %d b %d var %d x %#llx",
                                     w64, r.a, r.b, var, (unsigned long long)rot_x[xi]);
                            bad += agree(what, p, n, mem, sizeof mem,
                                         expect_rot(&r, rot_x[xi], word == 1), 9);
                            shapes++;
                        }
                }
    CHECK(shapes > 1000 && bad == 0, "%d rotates, %d wrong", shapes, bad);
#if defined(__x86_64__)
    /* rol x, b (REX.W or not, c1 /0) appears for a true rotate only */
    for (int d = -1; d <= 1; d++) {
        rot r = { true, true, 13, 51 + d, false, false, false, false };
        bpfvm_insn p[32];
        size_t n = build_rot(&r, 5, p), size = 0;
        bpfvm_vm *vm = bpfvm_create();
        bool rol = false;
        if (vm && bpfvm_set_checked(vm, 0) == 0 && bpfvm_load(vm, p, n * sizeof p[0]) == 0 &&
            bpfvm_compile(vm, 0) == 0) {
            const uint8_t *c = bpfvm_jit_code(vm, &size);
            for (size_t i = 0; c && i + 3 < size; i++)
                rol |= c[i] == 0xc1 && (c[i + 1] & 0xf8) == 0xc0 && c[i + 2] == r.b;
        }
        bpfvm_destroy(vm);
        CHECK(rol == (d == 0), "shifts 13, %d: rol %d", 51 + d, rol);
    }
#endif
}

/* ---- lddw X, c; OP Y, X -------------------------------------------------- */

static const uint64_t pool_c[] = { 0x5555555555555555ull, 0x0f0f0f0f0f0f0f0full, 0x80000000ull,
                                   0xffffffffull, 0x100000000ull, 0x7fffffffull,
                                   0xffffffffffffffffull, 0xffffffff80000000ull };
static const uint8_t pool_ops[] = { BPFVM_ADD, BPFVM_SUB, BPFVM_OR, BPFVM_AND, BPFVM_XOR, BPFVM_MUL };

static uint64_t alu(uint8_t op, uint64_t a, uint64_t b)
{
    switch (op) {
    case BPFVM_ADD: return a + b;
    case BPFVM_SUB: return a - b;
    case BPFVM_OR:  return a | b;
    case BPFVM_AND: return a & b;
    case BPFVM_XOR: return a ^ b;
    default:        return a * b;
    }
}

#if defined(__x86_64__)
/* Does code have an `op reg, [rip + d]` (REX.W, one-byte opcode, ModRM mod
 * 0 rm 5) whose d reaches the 8 bytes of c inside the code? */
static bool pooled_in(const uint8_t *code, size_t size, uint64_t c)
{
    for (size_t i = 0; code && i + 7 <= size; i++) {
        if ((code[i] & 0xf8) != 0x48 || code[i + 1] == 0x0f || (code[i + 2] & 0xc7) != 0x05)
            continue;
        int32_t d = (int32_t)((uint32_t)code[i + 3] | (uint32_t)code[i + 4] << 8 |
                              (uint32_t)code[i + 5] << 16 | (uint32_t)code[i + 6] << 24);
        int64_t at = (int64_t)i + 7 + d;
        if (at >= 0 && (uint64_t)at + 8 <= size && memcmp(code + at, &c, 8) == 0)
            return true;
    }
    return false;
}
#endif

/* r0..r9 = regs; [jeq y, y, +2 (onto the OP)]; lddw x, c; OP y, x;
 * [then x read: add y, x]; a second constant; fold r0..r9 into r0 */
static void test_pool(void)
{
    int shapes = 0, bad = 0;
#if defined(__x86_64__)
    int pooled = 0;
#endif
    for (size_t oi = 0; oi < sizeof pool_ops; oi++)
        for (size_t ci = 0; ci < sizeof pool_c / sizeof pool_c[0]; ci++)
            for (int x = 0; x < 10; x++)
                for (int y = 0; y < 10; y++)
                    for (int var = 0; var < 4; var++) {
                        if (x == y || ((x + y + (int)ci) % 3 != 0 && var == 0 && oi > 0))
                            continue;
                        uint64_t regs[10], mem[1] = { 0 };
                        for (int r = 0; r < 10; r++)
                            regs[r] = (0x0123456789abcdefull * (unsigned)(r + 3)) ^ ((uint64_t)(unsigned)r << 60);
                        bool live = var == 1, land = var == 2;
                        uint8_t op = pool_ops[oi];
                        uint64_t c = pool_c[ci], c2 = pool_c[(ci + 1) % 8];
                        bpfvm_insn p[80];
                        size_t n = set_regs(p, regs);
                        bpfvm_insn ld[2] = { BPFVM_LD_IMM64(x, c) }, ld2[2] = { BPFVM_LD_IMM64(x, c2) };
                        if (land) /* taken: y OP= x with x as set, not c */
                            p[n++] = BPFVM_JMP_REG(BPFVM_JEQ, y, y, 2);
                        p[n++] = ld[0];
                        p[n++] = ld[1];
                        p[n++] = BPFVM_ALU64_REG(op, y, x);
                        if (live)
                            p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, y, x);
                        /* a second constant into the same y */
                        p[n++] = ld2[0];
                        p[n++] = ld2[1];
                        p[n++] = BPFVM_ALU64_REG(op, y, x);
                        uint64_t want_regs[10];
                        memcpy(want_regs, regs, sizeof regs);
                        if (!land)
                            want_regs[x] = c;
                        want_regs[y] = alu(op, want_regs[y], want_regs[x]);
                        if (live)
                            want_regs[y] += want_regs[x];
                        want_regs[x] = c2;
                        want_regs[y] = alu(op, want_regs[y], c2);
                        uint64_t want = fold_regs(p, &n, want_regs);
                        char what[96];
                        snprintf(what, sizeof what, "pool op %#x c %#llx x %d y %d var %d", op,
                                 (unsigned long long)c, x, y, var);
                        bad += agree(what, p, n, mem, sizeof mem, want, 25);
                        shapes++;
#if defined(__x86_64__)
                        /* the constant is stored after the code when it does
                         * not fit an imm32 and x is dead */
                        size_t size = 0;
                        bpfvm_vm *vm = bpfvm_create();
                        bool found = false;
                        if (vm && bpfvm_set_checked(vm, 0) == 0 &&
                            bpfvm_load(vm, p, n * sizeof p[0]) == 0 && bpfvm_compile(vm, 0) == 0) {
                            const uint8_t *code = bpfvm_jit_code(vm, &size);
                            found = pooled_in(code, size, c);
                        }
                        bpfvm_destroy(vm);
                        bool want_pool = op != BPFVM_MUL && !live && !land &&
                                         (int64_t)c != (int32_t)c;
                        if (op != BPFVM_MUL)
                            CHECK(found == want_pool, "%s: pooled %d, want %d", what, found,
                                  want_pool);
                        pooled += found;
#endif
                    }
    /* in a loop: x dead at the back edge (pooled) or read after the loop
     * (not); x read behind a forward jump (not pooled: the look ahead gives
     * up there) */
    for (int var = 0; var < 3; var++) {
        uint64_t mem[1] = { 0 }, c = 0x5555555555555555ull, acc = 0, x = 7;
        bpfvm_insn ld[2] = { BPFVM_LD_IMM64(5, c) };
        bpfvm_insn p[16] = { BPFVM_MOV64_IMM(3, 0), BPFVM_MOV64_IMM(5, 7), BPFVM_MOV64_IMM(6, 4),
                             ld[0], ld[1], BPFVM_ALU64_REG(BPFVM_ADD, 3, 5),
                             BPFVM_ALU64_IMM(BPFVM_ADD, 6, -1),
                             var == 2 ? BPFVM_JMP_IMM(BPFVM_JNE, 6, 0, 1)
                                      : BPFVM_JMP_IMM(BPFVM_JNE, 6, 0, -5),
                             BPFVM_MOV64_REG(0, 3) };
        size_t n = 9;
        if (var >= 1)
            p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 5); /* x read after the loop / the jump */
        p[n++] = BPFVM_EXIT();
        for (int t = 0; t < (var == 2 ? 1 : 4); t++)
            acc += c;
        x = c;
        uint64_t want = var == 2 ? acc + x : var == 1 ? acc + x : acc;
        if (var == 2) /* r6 = 3 != 0: the jump skips the mov, r0 = its 0 + x */
            want = x;
        char what[32];
        snprintf(what, sizeof what, "pool loop %d", var);
        bad += agree(what, p, n, mem, sizeof mem, want, 12);
#if defined(__x86_64__)
        size_t size = 0;
        bpfvm_vm *vm = bpfvm_create();
        bool found = false;
        if (vm && bpfvm_set_checked(vm, 0) == 0 &&
            bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE) == 0 &&
            bpfvm_load(vm, p, n * sizeof p[0]) == 0 && bpfvm_compile(vm, 0) == 0) {
            const uint8_t *code = bpfvm_jit_code(vm, &size);
            found = pooled_in(code, size, c);
        }
        bpfvm_destroy(vm);
        CHECK(found == (var == 0), "%s: pooled %d", what, found);
#endif
    }
    CHECK(shapes > 1000 && bad == 0, "%d pool shapes, %d wrong", shapes, bad);
#if defined(__x86_64__)
    CHECK(pooled > 100, "%d pooled", pooled);
#endif
}

int main(void)
{
    test_pool();
    test_select_ja();
    test_rotate();
    return TEST_END();
}
