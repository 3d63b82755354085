/* test_jit_select.c - `jcc +1; mov d, K|s`, clang's lowering of a select,
 * which the JIT makes a conditional move (x86-64 cmov, arm64 csel): every
 * condition code, 32- and 64-bit compares, K and X forms, mov32 and mov64
 * from an immediate (also negative) or a register, upper bits of d set
 * before a mov32 that is skipped or not, the compared register being d, a
 * jump landing on the mov (which must then happen whatever the condition),
 * with a budget and under constant blinding. The interpreter and the JIT
 * (checked, unchecked, blinded, metered) must agree with the values
 * computed here. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "jit_test.h"
#include "test.h"

static const uint64_t values[] = { 0, 1, 5, 0x7fffffff, 0x80000000, 0xffffffff,
                                   0x100000005ull, 0xffffffff00000005ull,
                                   0x8000000000000000ull, 0xffffffffffffffffull };
#define NVALUES (sizeof values / sizeof values[0])

static const uint8_t ops[] = JIT_TEST_JUMP_OPS;

/* The mov of the shape. */
enum { MOV64_K, MOV32_K, MOV64_X, MOV32_X, NMOVS };

typedef struct shape {
    uint8_t op;
    bool w64, k;       /* 64-bit compare; compare with an immediate */
    int32_t imm;       /* the compare's immediate */
    int mov;           /* MOV* */
    int32_t mov_imm;
    int same;          /* the compare names d: as its first operand (1) or, X
                        * form, as its second (2) */
    int land;          /* when input[4] != 0, a jump lands on the mov (1) or on
                        * the compare (2, over the mov of `one`) */
    bool one;          /* mov d, 1 (of the mov's width) before the compare
                        * (x86-64: xor + setcc when the mov gives 0) */
    bool copyable;     /* the loop starts with the compare (or `one`): the
                        * x86-64 JIT copies that block at the back edge, and
                        * the copy's exit jumps to the mov (no conversion) */
    int konst;         /* X form: right before the compare, r6 = imm (1), r7 =
                        * imm (2), w6 = imm (3): the JIT compares with imm */
} shape;

/* Input: a, b, d, s, land (u64 each). d = r3, s = r4; the compare is on
 * r6 (or r3 when same == 1) against imm or r7 (or r3 when same == 2). The shape runs twice in a loop
 * (a backward jump: where the budget is checked), r0 = the sum of d after
 * each trip. Returns the slot count. */
static size_t build(const shape *s, bpfvm_insn *p)
{
    size_t n = 0;
    for (int r = 0; r < 5; r++)
        p[n++] = BPFVM_LDX_MEM(BPFVM_DW, r == 0 ? 6 : r == 1 ? 7 : r + 1, 1, (int16_t)(r * 8));
    p[n++] = BPFVM_MOV64_IMM(0, 0);
    p[n++] = BPFVM_MOV64_IMM(9, 2);
    size_t head = n;
    if (!s->copyable)
        p[n++] = BPFVM_STX_MEM(BPFVM_DW, 10, 9, -8);
    if (s->land)
        p[n++] = BPFVM_JMP_IMM(BPFVM_JNE, 5, 0, 1);
    if (s->one) {
        bool w = s->mov == MOV64_K || s->mov == MOV64_X;
        p[n++] = w ? BPFVM_MOV64_IMM(3, 1) : BPFVM_MOV32_IMM(3, 1);
        if (s->land == 1) /* the jump lands on the compare's mov instead */
            p[n - 2] = p[n - 1], p[n - 1] = BPFVM_JMP_IMM(BPFVM_JNE, 5, 0, 1);
    }
    int c = s->same == 1 ? 3 : 6, c2 = s->same == 2 ? 3 : 7;
    if (s->konst)
        p[n++] = s->konst == 3 ? BPFVM_MOV32_IMM(6, s->imm)
                               : BPFVM_MOV64_IMM(s->konst == 1 ? 6 : 7, s->imm);
    if (s->k)
        p[n++] = s->w64 ? BPFVM_JMP_IMM(s->op, c, s->imm, 1) : BPFVM_JMP32_IMM(s->op, c, s->imm, 1);
    else
        p[n++] = s->w64 ? BPFVM_JMP_REG(s->op, c, c2, 1) : BPFVM_JMP32_REG(s->op, c, c2, 1);
    switch (s->mov) {
    case MOV64_K: p[n++] = BPFVM_MOV64_IMM(3, s->mov_imm); break;
    case MOV32_K: p[n++] = BPFVM_MOV32_IMM(3, s->mov_imm); break;
    case MOV64_X: p[n++] = BPFVM_MOV64_REG(3, 4); break;
    default:      p[n++] = BPFVM_MOV32_REG(3, 4); break;
    }
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 3);
    p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 9, -1);
    p[n] = BPFVM_JMP_IMM(BPFVM_JNE, 9, 0, (int16_t)((int64_t)head - (int64_t)n - 1));
    n++;
    p[n++] = BPFVM_EXIT();
    return n;
}

/* r0 the shape gives for input in[] */
static uint64_t expect(const shape *s, const uint64_t in[5])
{
    uint64_t d = in[2], sum = 0;
    for (int trip = 0; trip < 2; trip++) {
        bool jumped = in[4] != 0 && s->land != 0;
        if (s->one && !(jumped && s->land == 2))
            d = 1;
        uint64_t k = s->konst == 3 ? (uint32_t)s->imm : (uint64_t)(int64_t)s->imm;
        uint64_t a = s->same == 1 ? d : s->konst == 1 || s->konst == 3 ? k : in[0];
        uint64_t b = s->k || s->konst == 2 ? k : s->same == 2 ? d : in[1];
        bool skipped = !(jumped && s->land == 1) && jit_test_holds(s->op, s->w64, a, b);
        if (!skipped) {
            switch (s->mov) {
            case MOV64_K: d = (uint64_t)(int64_t)s->mov_imm; break;
            case MOV32_K: d = (uint32_t)s->mov_imm; break;
            case MOV64_X: d = in[3]; break;
            default:      d = (uint32_t)in[3]; break;
            }
        }
        sum += d;
    }
    return sum;
}

static int budget_stops; /* runs the budget stopped */

/* Runs shape s on engine e for every pair of compared values; returns the
 * number of wrong results (each reported). */
static int run_all(const shape *s, int e)
{
    bpfvm_insn p[16];
    size_t n = build(s, p);
    int bad = 0;
    bpfvm_vm *vm = jit_test_vm(p, n, e,
                               e == ENG_BUDGET ? 12u + (s->land != 0) + s->one - s->copyable : 0,
                               true);
    if (!vm)
        return 1;
    for (size_t ai = 0; ai < NVALUES; ai++)
        for (size_t bi = 0; bi < (s->k ? 1 : NVALUES); bi++)
            for (int land = 0; land < (s->land ? 2 : 1); land++) {
                /* d: upper bits set, or the compared value when the compare names d */
                uint64_t in[5] = { values[ai], values[bi],
                                   s->same == 1   ? values[ai]
                                   : s->same == 2 ? values[bi]
                                                  : 0xa5a5a5a5deadbeefull,
                                   values[(ai + bi + 3) % NVALUES] ^ 0x1234567800000000ull,
                                   (uint64_t)land };
                uint64_t r0 = 0, want = expect(s, in);
                int want_rc = 0;
                if (e == ENG_BUDGET) {
                    /* the budget is enough for the first trip only when it
                     * skips the mov: the interpreter says which */
                    want_rc = bpfvm_run(vm, in, sizeof in, NULL, 0, &r0, NULL);
                    budget_stops += want_rc == BPFVM_EBUDGET;
                }
                int rc = jit_test_run(vm, e, in, sizeof in, &r0);
                if (rc != want_rc || (rc == 0 && r0 != want)) {
                    bad++;
                    CHECK(false, "engine %d op %#x w64 %d k %d imm %d mov %d imm %d same %d "
                          "land %d one %d a %#llx b %#llx: rc %d r0 %#llx, want rc %d r0 %#llx", e,
                          s->op, s->w64, s->k, s->imm, s->mov, s->mov_imm, s->same, land, s->one,
                          (unsigned long long)in[0], (unsigned long long)in[1], rc,
                          (unsigned long long)r0, want_rc, (unsigned long long)want);
                }
            }
    bpfvm_destroy(vm);
    return bad;
}

/* Is there a conditional move (with setcc: a setcc) in the checked code
 * of shape s? */
static bool has_select(const shape *s, bool setcc)
{
    bpfvm_insn p[16];
    size_t n = build(s, p);
    return jit_test_has_select(p, n, ENG_CHECKED, true, setcc);
}

int main(void)
{
    static const int32_t imms[] = { 0, 5, -1, INT32_MIN, 0x7fffffff };
    static const int32_t mov_imms[] = { 1, -7, 0 };
    int shapes = 0;
    for (size_t oi = 0; oi < sizeof ops; oi++)
        for (int w = 0; w < 2; w++)
            for (size_t ki = 0; ki <= sizeof imms / sizeof imms[0]; ki++)
                for (int mov = 0; mov < NMOVS; mov++)
                    for (int mi = 0; mi < (mov == MOV64_K || mov == MOV32_K ? 3 : 1); mi++)
                        for (int same = 0; same < (ki > 0 ? 2 : 3); same++)
                            for (int one = 0; one < 2; one++)
                                for (int land = 0; land < 2 + one; land++)
                                    for (int cp = 0; cp < 1 + (land == 0); cp++) {
                                        shape s = { ops[oi], w == 1, ki > 0,
                                                    ki > 0 ? imms[ki - 1] : 0, mov, mov_imms[mi],
                                                    same, land, one == 1, cp == 1, 0 };
                                        for (int e = 0; e < NENG; e++)
                                            run_all(&s, e);
                                        shapes++;
                                    }
    /* X forms whose one register was just set to a constant */
    for (size_t oi = 0; oi < sizeof ops; oi++)
        for (int w = 0; w < 2; w++)
            for (size_t ki = 0; ki < sizeof imms / sizeof imms[0]; ki++)
                for (int konst = 1; konst <= 3; konst++)
                    for (int one = 0; one < 2; one++) {
                        shape s = { ops[oi], w == 1, false, imms[ki], one ? MOV32_K : MOV64_K,
                                    one ? 0 : -7, 0, 0, one == 1, false, konst };
                        for (int e = 0; e < NENG; e++)
                            run_all(&s, e);
                        shapes++;
                    }
    CHECK(shapes > 1000, "%d shapes", shapes);
    CHECK(budget_stops > 1000, "%d runs stopped by the budget", budget_stops);
#if defined(__x86_64__) || defined(__aarch64__)
    /* the shape is actually converted (else the runs above test nothing
     * new), but not when a jump lands on the mov */
    for (int mov = 0; mov < NMOVS; mov++) {
        shape s = { BPFVM_JGT, true, true, 5, mov, -7, 0, 0, false, false, 0 };
        CHECK(has_select(&s, false), "mov %d: no conditional move", mov);
        s.land = 1;
        CHECK(!has_select(&s, false), "mov %d: a conditional move onto a jump target", mov);
    }
#if defined(__x86_64__)
    /* mov d, 1; jcc +1; mov d, 0 as setcc: not when the compare reads d or a
     * jump lands on the compare */
    shape s = { BPFVM_JSLT, false, true, 5, MOV32_K, 0, 0, 0, true, false, 0 };
    CHECK(has_select(&s, true), "no setcc");
    for (int konst = 1; konst <= 3; konst++) {         /* (over the mov of the constant) */
        shape t = { BPFVM_JGT, konst < 3, false, 26, MOV32_K, 0, 0, 0, true, false, konst };
        CHECK(has_select(&t, true), "no setcc over a mov of the constant (%d)", konst);
    }
    s.same = 1;
    CHECK(!has_select(&s, true), "setcc of a compare reading d");
    s.same = 0;
    s.land = 2;
    CHECK(!has_select(&s, true), "setcc with a jump onto the compare");
    s.land = 0;
    s.copyable = true;
    CHECK(!has_select(&s, true), "setcc at the end of a block the back edge copies");
#endif
#endif
    return TEST_END();
}
