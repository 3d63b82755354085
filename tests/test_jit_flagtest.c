/* test_jit_flagtest.c - two conditions made 0/1, combined and tested:
 *     mov A, 1; mov B, 1; jcc_b +1; mov B, 0; jcc_a +1; mov A, 0;
 *     and|or A, B; (register operations); jeq|jne A, 0, T
 * (clang's `if (x == K1 || x == K2)`), which the x86-64 JIT turns into two
 * compares jumping to one of two copies of the operations between. Every
 * pair of condition codes, and/or, jeq/jne, 32/64-bit movs, operations and
 * compares, K and X compares; operations between: none, `and A, 1`, a mov
 * and add (one lea), a byte swap, B rewritten; A read after the test (then
 * set on each path); and the cases the JIT must leave alone: B read after
 * the test, A or B read between, a jump landing inside, a budget, blinding.
 * The interpreter and the JIT (checked, unchecked, blinded, metered) must
 * agree with the values computed here, and the x86-64 code must have no
 * setcc/cmov exactly where the shape applies. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "jit_test.h"
#include "test.h"

static const uint8_t ops[] = JIT_TEST_JUMP_OPS;
#define NOPS (sizeof ops / sizeof ops[0])

static const uint64_t xs[] = { 0x81, 0xa888, 0, 5, 0xffffffffffffffffull, 0x100000081ull,
                               0x80000000, 0x7fffffffffff0000ull };
#define NXS (sizeof xs / sizeof xs[0])

/* What sits between the and/or and the test. */
enum {
    MID_NONE,     /* nothing */
    MID_AND1,     /* and A, 1 (of the ops' width) */
    MID_LEA,      /* r2 = r5; r2 += 16; r2 = be16 r2; and A, 1 */
    MID_B,        /* B = r5; B += 3 (B rewritten: may stay live) */
    MID_READ_A,   /* r2 += A: not the shape */
    MID_READ_B,   /* r2 += B: not the shape */
    NMIDS
};

typedef struct shape {
    uint8_t op_b, op_a;
    bool and, jne, w64, k;
    int mid;
    bool a_live;    /* r0 += A after the test */
    bool b_live;    /* r0 += B after the test (not the shape unless B rewritten) */
    int land;       /* when input[2] != 0, a jump from before lands on jcc_a (1),
                     * the and/or (2) or the test (3: nothing or `and A, 1`
                     * between) */
    bool copyable;  /* the loop starts with the shape: its back edge copies
                     * the first block (up to jcc_b), so not the shape */
} shape;

enum { A = 3, B = 4 };
#define K1 0x81
#define K2 0xa888

/* Input: x, y, land, z (u64 each): x = r6 is compared with K1/K2 or y = r7,
 * z = r5 feeds the operations between. Two trips of a loop; r0 sums. */
static size_t build(const shape *s, bpfvm_insn *p)
{
    size_t n = 0;
    uint8_t alu = s->w64 ? BPFVM_ALU64 : BPFVM_ALU, jmp = s->w64 ? BPFVM_JMP : BPFVM_JMP32;
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 6, 1, 0);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 7, 1, 8);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 8, 1, 16);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 5, 1, 24);
    p[n++] = BPFVM_MOV64_IMM(0, 0);
    p[n++] = BPFVM_MOV64_IMM(9, 2);
    p[n++] = BPFVM_MOV64_IMM(2, 0);
    size_t head = n;
    if (!s->copyable)
        p[n++] = BPFVM_STX_MEM(BPFVM_DW, 10, 9, -8);
    size_t land = 0;
    if (s->land) {                                     /* A = B = 1, then maybe into the shape */
        p[n++] = BPFVM_MOV64_IMM(A, 1);
        p[n++] = BPFVM_MOV64_IMM(B, 1);
        land = n++;
    }
    p[n++] = BPFVM_INSN((uint8_t)(alu | BPFVM_MOV | BPFVM_K), A, 0, 0, 1);
    p[n++] = BPFVM_INSN((uint8_t)(alu | BPFVM_MOV | BPFVM_K), B, 0, 0, 1);
    bpfvm_insn jb = BPFVM_INSN((uint8_t)(jmp | s->op_b | (s->k ? BPFVM_K : BPFVM_X)), 6, s->k ? 0 : 7, 1,
                                s->k ? K1 : 0);
    bpfvm_insn ja = BPFVM_INSN((uint8_t)(jmp | s->op_a | (s->k ? BPFVM_K : BPFVM_X)), 6, s->k ? 0 : 7, 1,
                                s->k ? K2 : 0);
    p[n++] = jb;
    p[n++] = BPFVM_INSN((uint8_t)(alu | BPFVM_MOV | BPFVM_K), B, 0, 0, 0);
    p[n++] = ja;
    p[n++] = BPFVM_INSN((uint8_t)(alu | BPFVM_MOV | BPFVM_K), A, 0, 0, 0);
    p[n++] = BPFVM_INSN((uint8_t)(alu | (s->and ? BPFVM_AND : BPFVM_OR) | BPFVM_X), A, B, 0, 0);
    switch (s->mid) {
    case MID_AND1:
        p[n++] = BPFVM_INSN((uint8_t)(alu | BPFVM_AND | BPFVM_K), A, 0, 0, 1);
        break;
    case MID_LEA:
        p[n++] = BPFVM_MOV64_REG(2, 5);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 2, 16);
        p[n++] = BPFVM_ENDIAN_BE(2, 16);
        p[n++] = BPFVM_INSN((uint8_t)(alu | BPFVM_AND | BPFVM_K), A, 0, 0, 1);
        break;
    case MID_B:
        p[n++] = BPFVM_MOV64_REG(B, 5);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, B, 3);
        break;
    case MID_READ_A:
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 2, A);
        break;
    case MID_READ_B:
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 2, B);
        break;
    default:
        break;
    }
    if (s->land)                                       /* to jcc_a, the and/or or the test */
        p[land] = BPFVM_JMP_IMM(BPFVM_JNE, 8, 0,
                                (int16_t)(s->land == 1 ? 4 : s->land == 2 ? 6 : n - land - 1));
    p[n++] = BPFVM_INSN((uint8_t)(jmp | (s->jne ? BPFVM_JNE : BPFVM_JEQ) | BPFVM_K), A, 0, 2, 0);
    p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 0, 100);
    p[n++] = BPFVM_JA_OFF(1);
    p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 0, 1000);
    if (s->a_live) {
        p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, A, 7);
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, A);
    }
    if (s->b_live || s->mid == MID_B) {
        p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, B, 11);
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, B);
    }
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 2);
    p[n++] = BPFVM_ALU64_IMM(BPFVM_SUB, 9, 1);
    p[n] = BPFVM_JMP_IMM(BPFVM_JNE, 9, 0, (int16_t)(head - n - 1));
    n++;
    p[n++] = BPFVM_EXIT();
    return n;
}

static uint64_t bswap16(uint64_t v) { return (v >> 8 & 0xff) | (v & 0xff) << 8; }

/* r0 for input x, y, land, z, computed from the shape's meaning. */
static uint64_t expect(const shape *s, uint64_t x, uint64_t y, uint64_t land, uint64_t z)
{
    uint64_t r0 = 0, r2 = 0, a = 0, b = 0;
    for (int trip = 0; trip < 2; trip++) {
        bool cb = jit_test_holds(s->op_b, s->w64, x, s->k ? (uint64_t)(int64_t)K1 : y);
        bool ca = jit_test_holds(s->op_a, s->w64, x, s->k ? (uint64_t)(int64_t)K2 : y);
        bool landed = s->land && land;             /* A = B = 1 before the jump */
        b = landed || cb ? 1 : 0;
        a = (landed && s->land > 1) || ca ? 1 : 0;
        if (!landed || s->land < 3)
            a = s->and ? a & b : a | b;
        if (s->mid == MID_LEA)
            r2 = bswap16(z + 16);
        else if (s->mid == MID_B)
            b = z + 3;
        else if (s->mid == MID_READ_A)
            r2 += a;
        else if (s->mid == MID_READ_B)
            r2 += b;
        r0 += (a != 0) == s->jne ? 1000 : 100;
        if (s->a_live) {
            a *= 7;
            r0 += a;
        }
        if (s->b_live || s->mid == MID_B) {
            b *= 11;
            r0 += b;
        }
        r0 += r2;
    }
    return r0;
}

#if defined(__x86_64__)
/* Does the shape apply to s (no setcc, no cmov in the x86-64 code)? */
static bool applies(const shape *s)
{
    return !s->land && !s->copyable && !(s->b_live && s->mid != MID_B) && s->mid != MID_READ_A &&
           s->mid != MID_READ_B;
}
#endif

static void check(const shape *s)
{
    bpfvm_insn p[64];
    size_t n = build(s, p);
    char what[160];
    snprintf(what, sizeof what, "ops %u/%u %s %s w64 %d k %d mid %d a_live %d b_live %d land %d copyable %d",
             s->op_b, s->op_a, s->and ? "and" : "or", s->jne ? "jne" : "jeq", s->w64, s->k, s->mid,
             s->a_live, s->b_live, s->land, s->copyable);
    for (int e = 0; e < NENG; e++) {
        bpfvm_vm *vm = jit_test_vm(p, n, e, e == ENG_BUDGET ? 1000000 : 0, true);
        if (!vm)
            return;
        for (size_t xi = 0; xi < NXS; xi++)
            for (int land = 0; land < (s->land ? 2 : 1); land++) {
                uint64_t in[4] = { xs[xi], xs[(xi + 3) % NXS], (uint64_t)land, xs[(xi + 5) % NXS] };
                uint64_t r0 = 0, want = expect(s, in[0], in[1], in[2], in[3]);
                int rc = jit_test_run(vm, e, in, sizeof in, &r0);
                CHECK(rc == 0 && r0 == want, "%s, engine %d, x %#llx land %d: rc %d r0 %#llx, want %#llx",
                      what, e, (unsigned long long)in[0], land, rc, (unsigned long long)r0,
                      (unsigned long long)want);
            }
        bpfvm_destroy(vm);
    }
#if defined(__x86_64__)
    for (int e = ENG_CHECKED; e <= ENG_UNCHECKED; e++) {
        bool sel = jit_test_has_select(p, n, e, true, true) || jit_test_has_select(p, n, e, true, false);
        CHECK(sel == !applies(s), "%s, engine %d: %s setcc/cmov", what, e, sel ? "a" : "no");
    }
#endif
}

int main(void)
{
    shape s = { 0 };
    /* every pair of conditions, and/or, jne/jeq, both widths, K and X */
    for (size_t b = 0; b < NOPS; b++)
        for (size_t a = 0; a < NOPS; a++)
            for (int v = 0; v < 16; v++) {
                s = (shape){ ops[b], ops[a], v & 1, (v >> 1) & 1, (v >> 2) & 1, (v >> 3) & 1,
                             MID_NONE, false, false, 0, false };
                check(&s);
            }
    /* what sits between, who reads A and B after, a jump landing inside */
    for (int mid = 0; mid < NMIDS; mid++)
        for (int v = 0; v < 64; v++) {
            s = (shape){ (v & 1) ? BPFVM_JNE : BPFVM_JEQ, (v & 2) ? BPFVM_JNE : BPFVM_JGT,
                         (v >> 2) & 1, (v >> 3) & 1, (v >> 4) & 1, true, mid, (v >> 5) & 1, false, 0, false };
            check(&s);
            s.b_live = true;
            check(&s);
            s.b_live = false;
            for (s.land = 1; s.land <= (mid <= MID_AND1 ? 3 : 2); s.land++)
                check(&s);
            s.land = 0;
            s.copyable = true;
            check(&s);
        }
    return TEST_END();
}
