/* test_jit_divconst.c - division and modulo by constants, unsigned and
 * signed (sdiv/smod), which the x86-64 JIT turns into shifts, masks and
 * multiplications by a reciprocal (and clang's div, mul, sub remainder by a
 * register, one division; see test_divrem):
 * every divisor class (1, powers of two, 2^31 = INT_MIN as a 32-bit
 * divisor, INT_MIN and -1 sign-extended to 64 bits, small and large odd
 * and even constants, 0) on dividends at the edges, in every destination
 * register (r0 and r2 live in rax and rdx, which the multiplication uses),
 * 32 and 64 bit. Each program then folds all ten registers into r0, so a
 * register the sequence clobbers shows; the result must equal the value
 * computed here, in the interpreter and in the JIT (checked, unchecked and
 * with constant blinding, which keeps the division instruction). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "jit_test.h"
#include "test.h"

static uint64_t reg_init(int k)
{
    return UINT64_C(0x0123456789abcdef) * (uint64_t)(k + 3) ^ (uint64_t)k << 56;
}

/* dst = dst / d or dst % d as the signed instruction defines it: by 0, 0 or
 * the dividend; by -1, the negation (INT_MIN stays INT_MIN) or 0 */
static uint64_t expect_signed(bool mod, bool alu64, uint64_t n, int32_t imm)
{
    if (alu64) {
        int64_t a = (int64_t)n, d = imm;
        if (d == 0)
            return mod ? n : 0;
        if (d == -1)
            return mod ? 0 : 0 - n;
        return (uint64_t)(mod ? a % d : a / d);
    }
    int32_t a = (int32_t)(uint32_t)n, d = imm;
    if (d == 0)
        return mod ? (uint32_t)a : 0;
    if (d == -1)
        return mod ? 0 : 0u - (uint32_t)a;
    return (uint32_t)(mod ? a % d : a / d);
}

/* dst = dst / d or dst % d as the instruction defines it */
static uint64_t expect_op(bool mod, bool alu64, bool sign, uint64_t n, int32_t imm)
{
    if (sign)
        return expect_signed(mod, alu64, n, imm);
    if (alu64) {
        uint64_t d = (uint64_t)(int64_t)imm;
        return d == 0 ? (mod ? n : 0) : mod ? n % d : n / d;
    }
    uint32_t a = (uint32_t)n, d = (uint32_t)imm;
    return d == 0 ? (mod ? a : 0) : mod ? a % d : a / d;
}

/* prog must give r0 = want in the interpreter and the JIT (checked,
 * unchecked, with constant blinding) */
static void check_engines(const bpfvm_insn *prog, size_t len, uint64_t want, const char *what)
{
    for (int engine = 0; engine < 4; engine++) {
        bpfvm_vm *vm = bpfvm_create();
        uint64_t r0 = 0;
        int rc = vm ? bpfvm_set_checked(vm, engine != 2) : -1;
        if (!rc)
            rc = bpfvm_load(vm, prog, len * sizeof(prog[0]));
        if (!rc && engine)
            rc = bpfvm_compile(vm, engine == 3 ? BPFVM_JIT_BLIND : 0);
        if (!rc)
            rc = (engine ? bpfvm_run_jit : bpfvm_run)(vm, NULL, 0, NULL, 0, &r0, NULL);
        CHECK(rc == 0 && r0 == want, "engine %d, %s: rc %d, r0 0x%llx, want 0x%llx", engine,
              what, rc, (unsigned long long)r0, (unsigned long long)want);
        bpfvm_destroy(vm);
    }
}

/* 64-bit division and modulo by a constant of a value the JIT may know to be
 * below 2^32 from the instructions before (then it divides in 32 bits): the
 * zero-extensions v1 code uses, through a move, and shapes where the value
 * is not below 2^32 (a shift by 31, a negative mask, another path joining
 * in between with a wide value, the high half of an lddw). */
static void test_narrow(void)
{
    static const uint64_t values[] = { 0xfedcba9876543210ull, 0x00000001fffffffeull,
                                       0xffffffffffffffffull, 0x123456789ull, 41 };
    static const int32_t divs[] = { 7, 10, 65521, 1000003, 0x7fffffff, 6 };
    enum { N = 3 };
    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++)
        for (size_t d = 0; d < sizeof(divs) / sizeof(divs[0]); d++)
            for (int shape = 0; shape < 8; shape++)
                for (int mod = 0; mod < 2; mod++) {
                    uint64_t x = values[v], y;
                    bpfvm_insn p[16] = { BPFVM_LD_IMM64(N, x) };
                    size_t len = 2;
                    switch (shape) {
                    case 0: /* v1: lsh 32; rsh 32 */
                        p[len++] = BPFVM_ALU64_IMM(BPFVM_LSH, N, 32);
                        p[len++] = BPFVM_ALU64_IMM(BPFVM_RSH, N, 32);
                        y = (uint32_t)x;
                        break;
                    case 1: /* mov32, then a move to another register */
                        p[len++] = BPFVM_MOV32_REG(N, N);
                        p[len++] = BPFVM_MOV64_REG(N + 1, N);
                        p[len++] = BPFVM_MOV64_REG(N, N + 1);
                        y = (uint32_t)x;
                        break;
                    case 2: /* a mask */
                        p[len++] = BPFVM_ALU64_IMM(BPFVM_AND, N, 0x7fffffff);
                        y = x & 0x7fffffff;
                        break;
                    case 3: /* a 32-bit load */
                        p[len++] = BPFVM_STX_MEM(BPFVM_DW, 10, N, -8);
                        p[len++] = BPFVM_LDX_MEM(BPFVM_W, N, 10, -8);
                        y = (uint32_t)x;
                        break;
                    case 4: /* a shift by 31: up to 33 bits */
                        p[len++] = BPFVM_ALU64_IMM(BPFVM_RSH, N, 31);
                        y = x >> 31;
                        break;
                    case 5: /* a negative mask (sign-extended): 64 bits */
                        p[len++] = BPFVM_ALU64_IMM(BPFVM_AND, N, -2);
                        y = x & ~1ull;
                        break;
                    case 6: /* zero-extended on one path only: r0 = 0 jumps over it */
                        p[len++] = BPFVM_MOV64_IMM(0, 0);
                        p[len++] = BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0, 2);
                        p[len++] = BPFVM_ALU64_IMM(BPFVM_LSH, N, 32);
                        p[len++] = BPFVM_ALU64_IMM(BPFVM_RSH, N, 32);
                        y = x;
                        break;
                    default: /* a wide lddw right before */
                        y = x;
                        break;
                    }
                    p[len++] = BPFVM_ALU64_IMM(mod ? BPFVM_MOD : BPFVM_DIV, N, divs[d]);
                    p[len++] = BPFVM_MOV64_REG(0, N);
                    p[len++] = BPFVM_EXIT();
                    uint64_t dv = (uint64_t)divs[d];
                    char what[96];
                    snprintf(what, sizeof(what), "narrow shape %d, 0x%llx %s %d", shape,
                             (unsigned long long)x, mod ? "%" : "/", divs[d]);
                    check_engines(p, len, mod ? y % dv : y / dv, what);
                }
}

/* Q = N; Q /= D; Q *= D; R = N; R -= Q: the JIT makes one division of it
 * (R the remainder). Every register role, r0 and r2 (rax, rdx) among them,
 * registers shared between roles, divisors 0 and 1 and ones with the high
 * bit, Q read afterwards or not, and a jump landing on the division (then
 * each instruction alone). */
static void test_divrem(void)
{
    static const uint64_t dvs[] = { 0, 1, 3, 0x100000001ull, 0x8000000000000000ull, ~0ull };
    uint64_t seed = 7;
    for (int t = 0; t < 3000; t++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int q = (int)(seed >> 60) % 10, n = (int)(seed >> 56) % 10, d = (int)(seed >> 52) % 10,
            r = (int)(seed >> 48) % 10, variant = t % 3;
        uint64_t regs[10], dv = dvs[(seed >> 40) % 6];
        bpfvm_insn p[48];
        for (int k = 0; k < 10; k++)
            regs[k] = k == d ? dv : reg_init(k) * (uint64_t)(t + 1);
        size_t len = set_regs(p, regs);
        if (variant == 2) /* never taken; makes the division a jump target */
            p[len++] = BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0x7abc, 1);
        p[len++] = BPFVM_MOV64_REG(q, n);
        p[len++] = BPFVM_ALU64_REG(BPFVM_DIV, q, d);
        p[len++] = BPFVM_ALU64_REG(BPFVM_MUL, q, d);
        p[len++] = BPFVM_MOV64_REG(r, n);
        p[len++] = BPFVM_ALU64_REG(BPFVM_SUB, r, q);
        regs[q] = regs[n];
        regs[q] = regs[d] ? regs[q] / regs[d] : 0;
        regs[q] *= regs[d];
        regs[r] = regs[n];
        regs[r] -= regs[q];
        if (variant == 1) { /* Q dead */
            p[len++] = BPFVM_MOV64_IMM(q, 5);
            regs[q] = 5;
        }
        uint64_t want = fold_regs(p, &len, regs);
        char what[96];
        snprintf(what, sizeof(what), "divrem Q r%d N r%d D r%d = 0x%llx R r%d, variant %d", q, n,
                 d, (unsigned long long)dv, r, variant);
        check_engines(p, len, want, what);
    }
}

int main(void)
{
    test_narrow();
    test_divrem();
    static const int32_t divisors[] = {
        1, 2, 3, 4, 5, 7, 10, 16, 100, 641, 1000, 65521, 1000003, 0x12345,
        0x40000000, 0x7fffffff, 0x7ffffffe, -1, -2, -3, -7, -10, INT32_MIN, 0,
        6, -16, -1000, -65536, 0x40000001, -0x40000000, -0x7fffffff, 0x55555555};
    static const uint64_t dividends[] = {
        0, 1, 2, 9, 10, 11, 99, 641 * 6700417ull, 0xfffffffeull, 0xffffffffull,
        0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xfffffffffffffffeull,
        0xffffffffffffffffull, 0x123456789abcdef0ull, 0xfedcba9876543210ull,
        0x80000000ull, 0x7fffffffull, 0xffffffff80000000ull, 0xfffffffffffffff9ull,
        0x8000000000000001ull, 0xffffffff80000001ull, 0xfffffffffffffc18ull};
    enum { NDIV = sizeof(divisors) / sizeof(divisors[0]),
           NDIVIDEND = sizeof(dividends) / sizeof(dividends[0]) };
    uint64_t seed = 1;
    int programs = 0;

    for (size_t di = 0; di < NDIV; di++)
        for (int op = 0; op < 8; op++) {
            bool mod = (op & 1) != 0, alu64 = (op & 2) != 0, sign = (op & 4) != 0;
            uint8_t code = (uint8_t)((alu64 ? BPFVM_ALU64 : BPFVM_ALU) | BPFVM_K |
                                     (mod ? BPFVM_MOD : BPFVM_DIV));
            /* signed: every edge dividend (in a register chosen from it), then
             * every register with a random one; unsigned: every register */
            for (int t = 0; t < (sign ? NDIVIDEND + 10 : 10); t++) {
                int dst = sign && t < NDIVIDEND ? (int)(di + (size_t)t) % 10 : t % 10;
                /* dividend: the edge list, then random values */
                size_t ni = sign && t < NDIVIDEND ? (size_t)t
                          : (di + (size_t)op * 3 + (size_t)dst) % NDIVIDEND;
                uint64_t n = (sign ? t < NDIVIDEND : dst & 1)
                                 ? dividends[ni]
                                 : (seed = seed * 6364136223846793005ull + 1442695040888963407ull);
                bpfvm_insn prog[40];
                uint64_t regs[10], want;

                for (int k = 0; k < 10; k++)
                    regs[k] = k == dst ? n : reg_init(k);
                size_t len = set_regs(prog, regs);
                prog[len++] = BPFVM_INSN(code, dst, 0, sign ? 1 : 0, divisors[di]);
                regs[dst] = expect_op(mod, alu64, sign, n, divisors[di]);
                want = fold_regs(prog, &len, regs);

                char what[128];
                snprintf(what, sizeof(what), "%s%s%s r%d = 0x%llx by %d", sign ? "s" : "",
                         mod ? "mod" : "div", alu64 ? "64" : "32", dst, (unsigned long long)n,
                         divisors[di]);
                check_engines(prog, len, want, what);
                programs++;
            }
        }
    CHECK(programs == NDIV * (4 * 10 + 4 * (NDIVIDEND + 10)), "%d programs", programs);
    return TEST_END();
}
