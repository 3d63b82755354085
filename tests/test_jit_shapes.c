/* test_jit_shapes.c - shapes of clang's code the x86-64 JIT translates as a
 * whole, each pinned at its edges, each program run in the interpreter (the
 * reference) and in the JIT (checked, unchecked, with constant blinding):
 * same return code, r0, faulting instruction and memory afterwards, and r0
 * equal to the value computed here where the test computes one.
 *
 * - One `div` for a quotient and a remainder: clang's `q = n / d; r = n % d`
 *   with a register d, Q = N; Q /= D; P = Q; P *= D; R = N; R -= P, and its
 *   `n % d` alone, Q = N; Q /= D; Q *= D; R = N; R -= Q. Every register
 *   role (r0 and r2, which live in rax and rdx, among them; roles shared),
 *   divisors 0, 1, 2^32 + 1, 2^63 and ~0, the product register read after
 *   or dead, r0 and r2 read after or dead, and a jump landing on each slot
 *   of the shape (then it is not one).
 * - An address computation (mov B, C; add B, X / K, X shifted or not) and
 *   the load or store through B after it, up to four register operations
 *   between (emitted before it when they leave B, C and X alone): faults,
 *   memory and registers as in the interpreter, in loops too.
 * - lddw constants a loop's proven copy holds in registers.
 * - clang's unsigned remainder by a constant (Q = N; Q /= K; Q *= K;
 *   N -= Q) as one N %= K.
 * - Division by a constant whose reciprocal multiplication uses rax, with
 *   r0 read afterwards (it is kept in a scratch register around it), and
 *   division by a register (the divisor used in place where it can be). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MEM_LEN 64
#include "engine_run.h"
#include "jit_test.h"
#include "test.h"

/* Every engine gives what the interpreter gives (return code, r0, the
 * faulting instruction, the memory afterwards), r0 = want unless `any`; the
 * unchecked JIT only when `safe` (every access in range). */
static void compare_engines(const bpfvm_insn *prog, size_t len, uint64_t want, bool any,
                            bool safe, const char *what)
{
    static uint8_t init[MEM_LEN];
    uint8_t mem[MEM_LEN];
    result ref, got;
    for (size_t k = 0; k < MEM_LEN; k++)
        init[k] = (uint8_t)(k * 7 + 1);
    bpfvm_vm *vm = bpfvm_create();
    int rc = vm ? bpfvm_load(vm, prog, len * sizeof(prog[0])) : -1;
    CHECK(rc == 0, "%s: load: %d", what, rc);
    if (rc) {
        bpfvm_destroy(vm);
        return;
    }
    run_once(bpfvm_run, vm, mem, init, &ref);
    CHECK(any || (ref.rc == 0 && ref.r0 == want), "%s: interpreter rc %d r0 0x%llx, want 0x%llx",
          what, ref.rc, (unsigned long long)ref.r0, (unsigned long long)want);
    for (int engine = 0; engine < 3; engine++) {
        if (engine == 1 && !safe)
            continue;
        rc = bpfvm_set_checked(vm, engine != 1);
        if (!rc)
            rc = bpfvm_compile(vm, engine == 2 ? BPFVM_JIT_BLIND : 0);
        CHECK(rc == 0, "%s: compile (engine %d): %d", what, engine, rc);
        if (rc)
            continue;
        run_once(bpfvm_run_jit, vm, mem, init, &got);
        CHECK(got.rc == ref.rc && got.r0 == ref.r0 && got.err.insn == ref.err.insn &&
                  memcmp(got.mem, ref.mem, MEM_LEN) == 0,
              "%s, JIT engine %d: rc %d r0 0x%llx insn %lld; interpreter rc %d r0 0x%llx insn %lld",
              what, engine, got.rc, (unsigned long long)got.r0, (long long)got.err.insn, ref.rc,
              (unsigned long long)ref.r0, (long long)ref.err.insn);
    }
    bpfvm_destroy(vm);
}

static void check_program(const bpfvm_insn *prog, size_t len, uint64_t want, const char *what)
{
    compare_engines(prog, len, want, false, true, what);
}

/* The two division shapes (see the top). variant: 0 plain, 1 the product
 * register dead after, 2 r0 and r2 dead after, 3..8 a never-taken jump from
 * before the shape onto its slot variant - 3 (3: its first). */
static void test_divrem_shapes(void)
{
    static const uint64_t dvs[] = { 0, 1, 3, 0x100000001ull, 0x8000000000000000ull, ~0ull, 10 };
    uint64_t seed = 0x5eed;
    for (int t = 0; t < 4000; t++) {
        uint64_t x = xorshift64s(&seed);
        bool quot = t & 1;
        int variant = (t >> 1) % 9, q = (int)(x % 10), n = (int)((x >> 8) % 10),
            d = (int)((x >> 16) % 10), p = (int)((x >> 24) % 10), r = (int)((x >> 32) % 10);
        if (t % 3 == 0) /* mostly the roles the JIT fuses: distinct, no r2 */
            n = (int)((x >> 40) % 2) * 6, q = 1, d = 3 + (int)((x >> 44) % 2), p = 5,
            r = (int)((x >> 48) % 3) == 0 ? n : 7 + (int)((x >> 48) % 3);
        if (!quot)
            p = q;
        uint64_t regs[10], dv = dvs[(x >> 56) % 7];
        bpfvm_insn prog[64];
        for (int k = 0; k < 10; k++)
            regs[k] = k == d ? dv : xorshift64s(&seed) >> (k & 3) * 16;
        size_t len = set_regs(prog, regs);
        if (variant >= 3 && variant - 3 < (quot ? 6 : 5))
            prog[len++] = BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0x7abc, variant - 3);
        prog[len++] = BPFVM_MOV64_REG(q, n);
        prog[len++] = BPFVM_ALU64_REG(BPFVM_DIV, q, d);
        if (quot)
            prog[len++] = BPFVM_MOV64_REG(p, q);
        prog[len++] = BPFVM_ALU64_REG(BPFVM_MUL, p, d);
        prog[len++] = BPFVM_MOV64_REG(r, n);
        prog[len++] = BPFVM_ALU64_REG(BPFVM_SUB, r, p);
        regs[q] = regs[n];
        regs[q] = regs[d] ? regs[q] / regs[d] : 0;
        if (quot)
            regs[p] = regs[q];
        regs[p] *= regs[d];
        regs[r] = regs[n];
        regs[r] -= regs[p];
        if (variant == 1) {
            prog[len++] = BPFVM_MOV64_IMM(p, 11);
            regs[p] = 11;
        } else if (variant == 2) {
            prog[len++] = BPFVM_MOV64_IMM(0, 12);
            prog[len++] = BPFVM_MOV64_IMM(2, 13);
            regs[0] = 12;
            regs[2] = 13;
        }
        uint64_t want = fold_regs(prog, &len, regs);
        char what[128];
        snprintf(what, sizeof(what), "%s: Q r%d N r%d D r%d = 0x%llx P r%d R r%d, variant %d",
                 quot ? "div+mod" : "mod", q, n, d, (unsigned long long)dv, p, r, variant);
        check_program(prog, len, want, what);
    }
}

/* dst = dst / k or % k (unsigned and signed, 64 bit: the multiplication
 * through rax), every destination but r0, r0 read after. */
static void test_const_div_keeps_r0(void)
{
    static const int32_t ks[] = { 10, 7, 1000003, -10, 641 };
    uint64_t seed = 0xd1;
    for (int dst = 1; dst < 10; dst++)
        for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++)
            for (int op = 0; op < 4; op++) {
                bool mod = op & 1, sign = op & 2;
                uint64_t regs[10];
                bpfvm_insn prog[64];
                for (int k = 0; k < 10; k++)
                    regs[k] = xorshift64s(&seed);
                size_t len = set_regs(prog, regs);
                bpfvm_insn div = BPFVM_ALU64_IMM(mod ? BPFVM_MOD : BPFVM_DIV, dst, ks[ki]);
                div.off = sign; /* sdiv / smod */
                prog[len++] = div;
                int64_t k = ks[ki], a = (int64_t)regs[dst];
                uint64_t u = (uint64_t)k;
                regs[dst] = sign ? (uint64_t)(mod ? a % k : a / k)
                                 : mod ? regs[dst] % u : regs[dst] / u;
                uint64_t want = fold_regs(prog, &len, regs);
                char what[96];
                snprintf(what, sizeof(what), "r%d %s%s %d", dst, sign ? "s" : "",
                         mod ? "mod" : "div", ks[ki]);
                check_program(prog, len, want, what);
            }
}

/* dst = dst op src, a division by a register not fused with anything (the
 * divisor used in place unless it is r0 or r2): every dst and src, r0 and
 * r2 among them, 32 and 64 bit, unsigned and signed, by 0 and -1, of
 * INT_MIN. */
static void test_div_by_register(void)
{
    static const uint64_t dvs[] = { 0, ~0ull, 3, 0x100000007ull, 0xffffffffull };
    static const uint64_t ns[] = { 0x8000000000000000ull, 0x80000000ull, 0x123456789abcdefull };
    uint64_t seed = 0xd2;
    for (int dst = 0; dst < 10; dst++)
        for (int src = 0; src < 10; src++)
            for (int op = 0; op < 8; op++) {
                bool mod = op & 1, sign = op & 2, wide = op & 4;
                uint64_t regs[10], dv = dvs[(size_t)(dst + src + op) % 5];
                bpfvm_insn prog[64];
                for (int k = 0; k < 10; k++)
                    regs[k] = xorshift64s(&seed);
                regs[dst] = ns[(size_t)(dst * 3 + src) % 3];
                regs[src] = src == dst ? regs[src] : dv;
                size_t len = set_regs(prog, regs);
                bpfvm_insn div = wide ? BPFVM_ALU64_REG(mod ? BPFVM_MOD : BPFVM_DIV, dst, src)
                                      : BPFVM_ALU32_REG(mod ? BPFVM_MOD : BPFVM_DIV, dst, src);
                div.off = sign;
                prog[len++] = div;
                uint64_t a = regs[dst], d = regs[src], v;
                if (wide && sign)
                    v = d == 0 ? (mod ? a : 0) : d == ~0ull ? (mod ? 0 : 0 - a)
                      : (uint64_t)(mod ? (int64_t)a % (int64_t)d : (int64_t)a / (int64_t)d);
                else if (wide)
                    v = d == 0 ? (mod ? a : 0) : mod ? a % d : a / d;
                else if (sign) {
                    int32_t x = (int32_t)(uint32_t)a, y = (int32_t)(uint32_t)d;
                    v = y == 0 ? (mod ? (uint32_t)x : 0) : y == -1 ? (mod ? 0 : 0u - (uint32_t)x)
                      : (uint32_t)(mod ? x % y : x / y);
                } else {
                    uint32_t x = (uint32_t)a, y = (uint32_t)d;
                    v = y == 0 ? (mod ? x : 0) : mod ? x % y : x / y;
                }
                regs[dst] = v;
                uint64_t want = fold_regs(prog, &len, regs);
                char what[96];
                snprintf(what, sizeof(what), "r%d %s%s%s r%d = 0x%llx", dst, sign ? "s" : "",
                         mod ? "mod" : "div", wide ? "64" : "32", src, (unsigned long long)d);
                check_program(prog, len, want, what);
            }
}

/* An address computed into B (mov B, C; add B, X / K, or with X shifted
 * left by 1..3 first), up to five register operations (on B, C, X or
 * other registers: then not fused, or not; four at most are fused over),
 * then a load through B (into
 * any register, B too), a store of a register (B too) or of an immediate,
 * 1 to 8 bytes; B read afterwards or not; a never-taken jump onto each
 * slot; out of range sometimes (a fault at the access, checked engines
 * only). Compared with the interpreter only. */
static void test_address_access(void)
{
    static const uint8_t ldx[4] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };
    uint64_t seed = 0xadd;
    for (int t = 0; t < 6000; t++) {
        uint64_t x = xorshift64s(&seed);
        uint64_t y = xorshift64s(&seed);               /* the operations between */
        int shape = (int)(x % 4), between = (int)((x >> 4) % 6), access = (int)((x >> 8) % 3);
        int b = (int)((x >> 12) % 8), xr = 3 + (int)((x >> 16) % 7), a = 3 + (int)((x >> 20) % 7);
        int size = (int)((x >> 24) % 4), sh = 1 + (int)((x >> 28) % 3), off = (int)((x >> 32) % 4);
        int other = (int)((x >> 36) % 10), jump = (int)((x >> 40) % 12) - 4;
        bool live = (x >> 44) & 1, far = (x >> 45) % 8 == 0;
        b = b == 1 ? 0 : b == 2 ? 9 : b;                /* B: r0, r3..r9 */
        other = other == 1 ? 2 : other;                /* r1 (mem) stays */
        xr = xr == b ? (xr == 9 ? 3 : xr + 1) : xr;    /* X: not B */
        a = a == b || a == xr ? (a == 9 ? 3 : a + 1) : a;
        a = a == b || a == xr ? (a == 9 ? 3 : a + 1) : a; /* A: neither B nor X */
        bool safe = !far;                              /* B unchanged before the access */
        bpfvm_insn p[64];
        size_t len = 0;
        int64_t xval = far ? 60 + (int64_t)((x >> 48) % 8) : (int64_t)((x >> 48) % 4);
        for (int k = 3; k < 10; k++)
            p[len++] = BPFVM_MOV64_IMM(k, k == xr || k == a ? (int32_t)xval : k * 3);
        p[len++] = BPFVM_MOV64_IMM(0, 5);
        size_t start = len + 1;
        p[len++] = BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0x7abc, jump < 0 ? 0 : jump);
        if (shape == 3) {
            p[len++] = BPFVM_MOV64_REG(a, xr);
            p[len++] = BPFVM_ALU64_IMM(BPFVM_LSH, a, sh);
        } else if (shape == 2) {
            p[len++] = BPFVM_ALU64_IMM(BPFVM_LSH, a, sh);
        }
        p[len++] = BPFVM_MOV64_REG(b, 1);
        p[len++] = shape == 1 ? BPFVM_ALU64_IMM(BPFVM_ADD, b, (int32_t)xval * 2)
                              : BPFVM_ALU64_REG(BPFVM_ADD, b, shape >= 2 ? a : xr);
        for (int k = 0; k < between; k++) {
            int d = (int)((y >> (4 * k)) % 10), s2 = (k + other) % 10;
            d = d == 1 || d == 2 ? other : d;          /* not r1 (C) or r2, mostly */
            safe &= d != b || k == 1 || k == 4;        /* B + 1 or B & -8 stays in range */
            p[len++] = k == 0 ? BPFVM_MOV32_REG(d, s2)
                     : k == 1 ? BPFVM_ALU64_IMM(BPFVM_ADD, d, 1)
                     : k == 2 ? BPFVM_ALU64_REG(BPFVM_XOR, d, s2)
                     : k == 3 ? BPFVM_ALU32_IMM(BPFVM_LSH, d, 1)
                              : BPFVM_ALU64_IMM(BPFVM_AND, d, -8);
        }
        uint8_t sz = ldx[size];
        p[len++] = access == 0 ? BPFVM_LDX_MEM(sz, other, b, (int16_t)off)
                 : access == 1 ? BPFVM_STX_MEM(sz, b, other, (int16_t)off)
                               : BPFVM_ST_MEM(sz, b, (int16_t)off, 0x5a5a5a5a);
        if (!live)
            p[len++] = BPFVM_MOV64_IMM(b, 0);
        else
            p[len++] = BPFVM_ALU64_REG(BPFVM_SUB, b, 1); /* the offset B had (no pointer) */
        if (jump < 0 || start + (size_t)jump >= len)
            p[start - 1] = BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0x7abc, 0);
        for (int k = 3; k < 10; k++)
            if (k != b)
                p[len++] = BPFVM_MOV64_IMM(k, k); /* registers that may hold mem's address */
        p[len++] = BPFVM_LDX_MEM(BPFVM_DW, 3, 1, 0);
        p[len++] = BPFVM_ALU64_REG(BPFVM_XOR, 0, 3);
        p[len++] = BPFVM_LDX_MEM(BPFVM_DW, 3, 1, 8);
        p[len++] = BPFVM_ALU64_REG(BPFVM_XOR, 0, 3);
        p[len++] = BPFVM_EXIT();
        char what[128];
        snprintf(what, sizeof(what), "address shape %d B r%d X r%d=%lld A r%d between %d access %d "
                 "size %d off %d other r%d jump %d live %d", shape, b, xr, (long long)xval, a,
                 between, access, size, off, other, jump, live);
        compare_engines(p, len, 0, true, safe, what);
    }
}

/* sieve's first loop, mem[i + off] = i & 1 for i < n (the address, two
 * register operations, the store), n up to beyond the memory, off -1..1
 * (the guard, its trip count known, proves [mem + off, mem + off + n)): the
 * checked engines fault at the store in the same iteration. */
static void test_store_loop(void)
{
    static const int32_t ns[] = { 1, MEM_LEN - 1, MEM_LEN, MEM_LEN + 1, 3 * MEM_LEN };
    for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
        for (int form = 0; form < 6; form++) {
            int16_t off = (int16_t)(form / 2 - 1);
            bpfvm_insn p[] = {
                BPFVM_MOV64_IMM(3, 0),
                BPFVM_MOV64_REG(4, 1),
                BPFVM_ALU64_REG(BPFVM_ADD, 4, 3),
                BPFVM_MOV32_REG(5, 3),
                BPFVM_ALU32_IMM(BPFVM_AND, 5, 1),
                form & 1 ? BPFVM_ST_MEM(BPFVM_B, 4, off, 9) : BPFVM_STX_MEM(BPFVM_B, 4, 5, off),
                BPFVM_ALU64_IMM(BPFVM_ADD, 3, 1),
                BPFVM_JMP_IMM(BPFVM_JLT, 3, ns[k], -7),
                BPFVM_MOV64_REG(0, 3),
                BPFVM_EXIT(),
            };
            bool in_range = off >= 0 && ns[k] + off <= MEM_LEN;
            char what[64];
            snprintf(what, sizeof(what), "store loop to %d, form %d", ns[k], form);
            compare_engines(p, sizeof(p) / sizeof(p[0]), (uint64_t)ns[k], !in_range, in_range,
                            what);
        }
}

/* A loop over the input words whose proven copy holds its lddw constants
 * in registers: one, two or three distinct constants (one repeated), each
 * used by add/sub/or/and/xor/mul of another register or by an operation on
 * the lddw's register itself, that register read after the loop or not, a
 * store in the loop (then nothing is held) or not; the loop runs once, a
 * few times, or its guard fails (the words run past the memory). */
static void test_konst_loop(void)
{
    static const uint8_t ops[6] = { BPFVM_ADD, BPFVM_SUB, BPFVM_OR, BPFVM_AND, BPFVM_XOR,
                                    BPFVM_MUL };
    static const int32_t ends[4] = { 8, 40, MEM_LEN, MEM_LEN + 8 };
    uint64_t seed = 0xc0;
    for (int t = 0; t < 600; t++) {
        uint64_t x = xorshift64s(&seed);
        int nk = 1 + (int)(x % 4), live = (int)((x >> 2) % 2), store = (x >> 3) % 5 == 0;
        int32_t end = ends[(x >> 5) % 4];
        bpfvm_insn p[64];
        size_t len = 0;
        p[len++] = BPFVM_MOV64_IMM(3, 0);
        p[len++] = BPFVM_MOV64_IMM(6, 0);
        for (int r = 7; r < 10; r++)
            p[len++] = BPFVM_MOV64_IMM(r, r);
        size_t head = len;
        p[len++] = BPFVM_MOV64_REG(4, 1);
        p[len++] = BPFVM_ALU64_REG(BPFVM_ADD, 4, 3);
        p[len++] = BPFVM_LDX_MEM(BPFVM_DW, 5, 4, 0);
        uint64_t k0 = xorshift64s(&seed);
        for (int k = 0; k < nk; k++) {
            uint64_t y = xorshift64s(&seed), c = k == 3 ? k0 : k == 0 ? k0 : y;
            int r = 7 + (int)(y % 3), d = (y >> 8) % 4 == 0 ? r : (int)((y >> 10) % 2) * 1 + 5;
            bpfvm_insn ld[2] = { BPFVM_LD_IMM64(r, c) };
            p[len++] = ld[0];
            p[len++] = ld[1];
            p[len++] = BPFVM_ALU64_REG(ops[(y >> 12) % 6], d, r);
        }
        if (store)
            p[len++] = BPFVM_STX_MEM(BPFVM_DW, 4, 6, 0);
        p[len++] = BPFVM_ALU64_REG(BPFVM_ADD, 6, 5);
        p[len++] = BPFVM_ALU64_IMM(BPFVM_ADD, 3, 8);
        p[len] = BPFVM_JMP_IMM(BPFVM_JLT, 3, end, (int16_t)(head - len - 1));
        len++;
        p[len++] = BPFVM_MOV64_REG(0, 6);
        for (int r = 7; r < 10 && live; r++)
            p[len++] = BPFVM_ALU64_REG(BPFVM_XOR, 0, r);
        p[len++] = BPFVM_EXIT();
        char what[96];
        snprintf(what, sizeof(what), "konst loop %d: %d constants, live %d, store %d, to %d", t,
                 nk, live, store, end);
        compare_engines(p, len, 0, true, end <= MEM_LEN, what);
    }
}

/* Q = N; Q /= K; Q *= K; N -= Q (unsigned N % K as clang emits it), 64 and
 * 32 bit: K 0, 1, a power of two, small and large odd ones, negative (a
 * huge unsigned divisor at 64 bits); N above 2^32 or zero-extended first
 * (the 64-bit form then divides in 32 bits); Q read after or dead; every
 * register role (r0 and r2 among them); a jump onto each slot. */
static void test_mod_const(void)
{
    static const int32_t ks[] = { 0, 1, 8, 7, 10, 65521, 1000003, -1, -7, INT32_MIN, 0x7fffffff };
    uint64_t seed = 0x3d;
    for (int t = 0; t < 3000; t++) {
        uint64_t x = xorshift64s(&seed);
        bool w = x & 1, narrow = (x >> 1) & 1, live = (x >> 2) % 4 == 0;
        int q = (int)((x >> 4) % 10), n = (int)((x >> 8) % 10), jump = (int)((x >> 12) % 6) - 1;
        int32_t k = ks[(x >> 16) % (sizeof(ks) / sizeof(ks[0]))];
        n = n == q ? (q + 1) % 10 : n;
        uint64_t regs[10];
        bpfvm_insn p[64];
        for (int r = 0; r < 10; r++)
            regs[r] = xorshift64s(&seed) >> (r % 3) * 8;
        size_t len = set_regs(p, regs);
        if (narrow) {
            p[len++] = BPFVM_MOV32_REG(n, n);
            regs[n] = (uint32_t)regs[n];
        }
        if (jump >= 0 && jump < 4) /* never taken, onto slot `jump` of the shape */
            p[len++] = BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0x7abc, (int16_t)jump);
        p[len++] = w ? BPFVM_MOV64_REG(q, n) : BPFVM_MOV32_REG(q, n);
        p[len++] = w ? BPFVM_ALU64_IMM(BPFVM_DIV, q, k) : BPFVM_ALU32_IMM(BPFVM_DIV, q, k);
        p[len++] = w ? BPFVM_ALU64_IMM(BPFVM_MUL, q, k) : BPFVM_ALU32_IMM(BPFVM_MUL, q, k);
        p[len++] = w ? BPFVM_ALU64_REG(BPFVM_SUB, n, q) : BPFVM_ALU32_REG(BPFVM_SUB, n, q);
        if (w) {
            uint64_t d = (uint64_t)(int64_t)k, qv = d ? regs[n] / d : 0;
            regs[q] = qv * d;
            regs[n] -= regs[q];
        } else {
            uint32_t d = (uint32_t)k, a = (uint32_t)regs[n], qv = d ? a / d : 0;
            regs[q] = (uint32_t)(qv * d);
            regs[n] = (uint32_t)(a - (uint32_t)regs[q]);
        }
        if (!live) {
            p[len++] = BPFVM_MOV64_IMM(q, 3);
            regs[q] = 3;
        }
        uint64_t want = fold_regs(p, &len, regs);
        char what[96];
        snprintf(what, sizeof(what), "mod%s Q r%d N r%d K %d narrow %d live %d jump %d",
                 w ? "64" : "32", q, n, k, narrow, live, jump);
        check_program(p, len, want, what);
    }
}

int main(void)
{
    test_mod_const();
    test_konst_loop();
    test_address_access();
    test_store_loop();
    test_div_by_register();
    test_divrem_shapes();
    test_const_div_keeps_r0();
    return TEST_END();
}
