/* test_interp.c - the interpreter, instruction by instruction, through the
 * public API: every row of the opcode table with edge values, run modes,
 * local calls, the budget, memory faults, helpers and the packet loads. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* A program as (pointer, count) arguments. */
#define PROG(...) (bpfvm_insn[]){ __VA_ARGS__ }, COUNT(((bpfvm_insn[]){ __VA_ARGS__ }))

#define I64_MIN ((uint64_t)1 << 63)
#define I32_MIN 0x80000000u

/* Load and run in RAW mode on a fresh VM; the error detail goes to *err. */
static int run_on(bpfvm_vm *vm, const bpfvm_insn *prog, size_t n, void *mem, size_t len,
                  uint64_t *r0, bpfvm_error *err)
{
    int rc = bpfvm_load(vm, prog, n * sizeof(*prog));
    if (rc) {
        *err = *bpfvm_last_error(vm);
        return rc;
    }
    return bpfvm_run(vm, mem, len, NULL, 0, r0, err);
}

static int run(const bpfvm_insn *prog, size_t n, void *mem, size_t len, uint64_t *r0,
               bpfvm_error *err)
{
    bpfvm_vm *vm = bpfvm_create();
    int rc = run_on(vm, prog, n, mem, len, r0, err);
    bpfvm_destroy(vm);
    return rc;
}

/* Run and check the result. */
static void expect_r0(int line, uint64_t want, const bpfvm_insn *prog, size_t n)
{
    bpfvm_error err;
    uint64_t r0 = 0xdeadbeef;
    int rc = run(prog, n, NULL, 0, &r0, &err);
    CHECK(rc == 0 && r0 == want, "line %d: rc %d (%s) r0 0x%llx, want 0x%llx", line, rc,
          rc ? err.message : "", (unsigned long long)r0, (unsigned long long)want);
}
#define EXPECT(want, ...) expect_r0(__LINE__, want, PROG(__VA_ARGS__))

/* Run and check the error code and the instruction it names. */
static void expect_err(int line, int code, int64_t insn, const char *msg, const bpfvm_insn *prog,
                       size_t n, void *mem, size_t len)
{
    bpfvm_error err;
    uint64_t r0 = 0;
    memset(&err, 0, sizeof(err));
    int rc = run(prog, n, mem, len, &r0, &err);
    CHECK(rc == code && err.code == code && err.insn == insn &&
              (!msg || strstr(err.message, msg)),
          "line %d: rc %d insn %lld '%s', want %d at %lld with '%s'", line, rc,
          (long long)err.insn, err.message, code, (long long)insn, msg ? msg : "");
}

/* ---- ALU: one table for every operation, both sources and both widths --- */

typedef struct {
    uint8_t op;   /* BPFVM_ALU/ALU64 | BPFVM_K/X | operation */
    int16_t off;  /* 1 for sdiv/smod, 8/16/32 for movsx */
    uint64_t a;   /* dst before */
    uint64_t b;   /* src (X) or imm (K: low 32 bits) */
    uint64_t want;
} alu_case;

#define A64K(op) (BPFVM_ALU64 | BPFVM_K | BPFVM_##op)
#define A64X(op) (BPFVM_ALU64 | BPFVM_X | BPFVM_##op)
#define A32K(op) (BPFVM_ALU | BPFVM_K | BPFVM_##op)
#define A32X(op) (BPFVM_ALU | BPFVM_X | BPFVM_##op)
#define M1 UINT64_MAX

static const alu_case alu_cases[] = {
    /* op         off  a                      b                     want */
    { A64K(ADD),  0,   1,                     2,                    3 },
    { A64K(ADD),  0,   1,                     0xffffffff,           0 },           /* imm -1 sign-extended */
    { A64X(ADD),  0,   M1,                    1,                    0 },
    { A32K(ADD),  0,   0x1ffffffffull,        1,                    0 },           /* wraps, zero-extends */
    { A32X(ADD),  0,   0xffffffff00000001ull, 0x7fffffff,           0x80000000 },
    { A64K(SUB),  0,   0,                     1,                    M1 },
    { A64X(SUB),  0,   I64_MIN,               1,                    0x7fffffffffffffffull },
    { A32K(SUB),  0,   0,                     1,                    0xffffffff },
    { A32X(SUB),  0,   0xabcd00000005ull,     7,                    0xfffffffe },
    { A64K(MUL),  0,   3,                     0xfffffffe,           (uint64_t)-6 },
    { A64X(MUL),  0,   I64_MIN,               M1,                   I64_MIN },
    { A32K(MUL),  0,   0x10000,               0x10000,              0 },
    { A32X(MUL),  0,   0xffffffff,            0xffffffff,           1 },
    { A64K(DIV),  0,   10,                    3,                    3 },
    { A64K(DIV),  0,   10,                    0,                    0 },           /* by zero */
    { A64K(DIV),  0,   M1,                    0xffffffff,           1 },           /* imm -1 -> 2^64-1 unsigned */
    { A64X(DIV),  0,   M1,                    0,                    0 },
    { A64X(DIV),  0,   M1,                    2,                    0x7fffffffffffffffull },
    { A32K(DIV),  0,   0xffffffff,            0,                    0 },
    { A32K(DIV),  0,   0x1000000010ull,       0xfffffffe,           0 },           /* unsigned 32-bit */
    { A32X(DIV),  0,   0xffffffff,            0x100000002ull,       0x7fffffff },  /* src truncated */
    { A32X(DIV),  0,   5,                     0x100000000ull,       0 },           /* src low half 0 */
    { A64K(DIV),  1,   (uint64_t)-10,         3,                    (uint64_t)-3 },  /* sdiv */
    { A64K(DIV),  1,   I64_MIN,               0xffffffff,           I64_MIN },     /* INT64_MIN / -1 */
    { A64X(DIV),  1,   I64_MIN,               M1,                   I64_MIN },
    { A64X(DIV),  1,   10,                    (uint64_t)-3,         (uint64_t)-3 },
    { A64X(DIV),  1,   (uint64_t)-7,          0,                    0 },
    { A32K(DIV),  1,   I32_MIN,               0xffffffff,           I32_MIN },     /* INT32_MIN / -1 */
    { A32X(DIV),  1,   (uint32_t)-9,          2,                    (uint32_t)-4 },
    { A32X(DIV),  1,   0xffffffff00000009ull, (uint32_t)-2,         (uint32_t)-4 },
    { A32X(DIV),  1,   5,                     0,                    0 },
    { A64K(MOD),  0,   10,                    3,                    1 },
    { A64K(MOD),  0,   10,                    0,                    10 },          /* dividend kept */
    { A64X(MOD),  0,   M1,                    0,                    M1 },
    { A64X(MOD),  0,   M1,                    10,                   5 },
    { A32K(MOD),  0,   0xffffffff00000007ull, 0,                    7 },           /* upper half zeroed */
    { A32X(MOD),  0,   0xffffffff00000007ull, 0x100000000ull,       7 },
    { A32X(MOD),  0,   0xffffffff,            10,                   5 },
    { A64K(MOD),  1,   (uint64_t)-10,         3,                    (uint64_t)-1 },  /* smod: sign of dividend */
    { A64X(MOD),  1,   10,                    (uint64_t)-3,         1 },
    { A64X(MOD),  1,   I64_MIN,               M1,                   0 },
    { A64X(MOD),  1,   (uint64_t)-5,          0,                    (uint64_t)-5 },
    { A32K(MOD),  1,   I32_MIN,               0xffffffff,           0 },
    { A32X(MOD),  1,   (uint32_t)-10,         3,                    (uint32_t)-1 },
    { A32X(MOD),  1,   0xffffffff80000000ull, 0,                    I32_MIN },
    { A64K(OR),   0,   0x10,                  0x80000000,           0xffffffff80000010ull },
    { A64X(OR),   0,   0xf0,                  0x0f,                 0xff },
    { A32K(OR),   0,   0xffffffff00000000ull, 1,                    1 },
    { A32X(OR),   0,   0x100000000ull,        0x200000002ull,       2 },
    { A64K(AND),  0,   M1,                    0x80000000,           0xffffffff80000000ull },
    { A64X(AND),  0,   0xff00,                0x0ff0,               0x0f00 },
    { A32K(AND),  0,   M1,                    0xffffffff,           0xffffffff },
    { A32X(AND),  0,   M1,                    M1,                   0xffffffff },
    { A64K(XOR),  0,   0,                     0xffffffff,           M1 },
    { A64X(XOR),  0,   0x5555,                0xffff,               0xaaaa },
    { A32K(XOR),  0,   M1,                    1,                    0xfffffffe },
    { A32X(XOR),  0,   M1,                    M1,                   0 },
    { A64K(LSH),  0,   1,                     63,                   I64_MIN },
    { A64K(LSH),  0,   1,                     64,                   1 },           /* masked: & 63 */
    { A64X(LSH),  0,   3,                     65,                   6 },
    { A64X(LSH),  0,   1,                     M1,                   I64_MIN },     /* -1 & 63 = 63 */
    { A32K(LSH),  0,   1,                     31,                   I32_MIN },
    { A32K(LSH),  0,   1,                     32,                   1 },           /* masked: & 31 */
    { A32X(LSH),  0,   0xffffffff,            4,                    0xfffffff0 },
    { A32X(LSH),  0,   0x100000001ull,        33,                   2 },
    { A64K(RSH),  0,   I64_MIN,               63,                   1 },
    { A64K(RSH),  0,   I64_MIN,               64,                   I64_MIN },
    { A64X(RSH),  0,   M1,                    68,                   0x0fffffffffffffffull },
    { A32K(RSH),  0,   M1,                    28,                   0xf },
    { A32X(RSH),  0,   M1,                    36,                   0x0fffffff },
    { A64K(ARSH), 0,   I64_MIN,               63,                   M1 },
    { A64K(ARSH), 0,   0x4000000000000000ull, 62,                   1 },
    { A64X(ARSH), 0,   (uint64_t)-16,         66,                   (uint64_t)-4 },  /* 66 & 63 = 2 */
    { A32K(ARSH), 0,   I32_MIN,               31,                   0xffffffff },
    { A32K(ARSH), 0,   0xffffffff7fffffffull, 30,                   1 },           /* uses the low half's sign */
    { A32X(ARSH), 0,   0xfffffff0,            34,                   0xfffffffc },
    { A64K(MOV),  0,   5,                     0xffffffff,           M1 },          /* imm sign-extended */
    { A64X(MOV),  0,   5,                     0x123456789ull,       0x123456789ull },
    { A32K(MOV),  0,   M1,                    0xffffffff,           0xffffffff },  /* not sign-extended */
    { A32X(MOV),  0,   5,                     M1,                   0xffffffff },  /* mov32 zero-extends */
    { A64X(MOV),  8,   0,                     0x180,                M1 << 7 },     /* movsx8 */
    { A64X(MOV),  8,   0,                     0x17f,                0x7f },
    { A64X(MOV),  16,  0,                     0x8000,               M1 << 15 },    /* movsx16 */
    { A64X(MOV),  32,  0,                     0x80000000,           M1 << 31 },    /* movsx32 */
    { A64X(MOV),  32,  0,                     0xffffffff7fffffffull, 0x7fffffff },
    { A32X(MOV),  8,   M1,                    0x80,                 0xffffff80 },  /* movsx8 into 32 bits */
    { A32X(MOV),  16,  M1,                    0x18000,              0xffff8000 },
    { A32X(MOV),  16,  M1,                    0x7fff,               0x7fff },
};

static uint64_t run_alu(const alu_case *c, int *rc)
{
    uint64_t r0 = 0;
    bpfvm_error err;
    bool k = BPFVM_SRC(c->op) == BPFVM_K;
    bpfvm_insn prog[] = {
        BPFVM_LD_IMM64(BPFVM_R0, c->a),
        BPFVM_LD_IMM64(BPFVM_R1, c->b),
        BPFVM_INSN(c->op, BPFVM_R0, k ? 0 : BPFVM_R1, c->off, k ? (int32_t)(uint32_t)c->b : 0),
        BPFVM_EXIT(),
    };
    *rc = run(prog, COUNT(prog), NULL, 0, &r0, &err);
    return r0;
}

static void test_alu(void)
{
    for (size_t i = 0; i < COUNT(alu_cases); i++) {
        const alu_case *c = &alu_cases[i];
        int rc;
        uint64_t got = run_alu(c, &rc);
        CHECK(rc == 0 && got == c->want,
              "alu case %zu (op 0x%02x off %d a 0x%llx b 0x%llx): rc %d got 0x%llx want 0x%llx", i,
              c->op, c->off, (unsigned long long)c->a, (unsigned long long)c->b, rc,
              (unsigned long long)got, (unsigned long long)c->want);
    }
    /* neg */
    EXPECT(M1, BPFVM_MOV64_IMM(BPFVM_R0, 1), BPFVM_NEG64(BPFVM_R0), BPFVM_EXIT());
    EXPECT(I64_MIN, BPFVM_LD_IMM64(BPFVM_R0, I64_MIN), BPFVM_NEG64(BPFVM_R0), BPFVM_EXIT());
    EXPECT(0xffffffff, BPFVM_MOV64_IMM(BPFVM_R0, 1), BPFVM_NEG32(BPFVM_R0), BPFVM_EXIT());
    EXPECT(I32_MIN, BPFVM_LD_IMM64(BPFVM_R0, 0x1280000000ull), BPFVM_NEG32(BPFVM_R0),
           BPFVM_EXIT());
    EXPECT(0, BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_NEG64(BPFVM_R0), BPFVM_EXIT());
    /* dst == src */
    EXPECT(0, BPFVM_MOV64_IMM(BPFVM_R0, 77), BPFVM_ALU64_REG(BPFVM_SUB, BPFVM_R0, BPFVM_R0),
           BPFVM_EXIT());
    EXPECT(1, BPFVM_MOV64_IMM(BPFVM_R0, -9), BPFVM_SDIV64_REG(BPFVM_R0, BPFVM_R0), BPFVM_EXIT());
    /* lddw: both halves, and the second slot is not executed */
    EXPECT(0x1122334455667788ull, BPFVM_LD_IMM64(BPFVM_R0, 0x1122334455667788ull), BPFVM_EXIT());
    EXPECT(M1, BPFVM_LD_IMM64(BPFVM_R0, M1), BPFVM_EXIT());
}

/* ---- `mov64 rX, rY` followed by a 64-bit ALU on rX ----------------------
 * (the interpreter runs such pairs as one three-address operation) */

static void test_mov_then_alu(void)
{
    for (size_t i = 0; i < COUNT(alu_cases); i++) {
        const alu_case *c = &alu_cases[i];
        if (BPFVM_CLASS(c->op) != BPFVM_ALU64)
            continue;
        bool k = BPFVM_SRC(c->op) == BPFVM_K;
        uint64_t r0 = 0;
        bpfvm_error err;
        /* r0 = r2 (= a); r0 op= r1 (= b) | imm */
        bpfvm_insn prog[] = {
            BPFVM_LD_IMM64(BPFVM_R2, c->a),
            BPFVM_LD_IMM64(BPFVM_R1, c->b),
            BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R2),
            BPFVM_INSN(c->op, BPFVM_R0, k ? 0 : BPFVM_R1, c->off,
                       k ? (int32_t)(uint32_t)c->b : 0),
            BPFVM_EXIT(),
        };
        int rc = run(prog, COUNT(prog), NULL, 0, &r0, &err);
        CHECK(rc == 0 && r0 == c->want, "mov then alu case %zu (op 0x%02x off %d): got 0x%llx",
              i, c->op, c->off, (unsigned long long)r0);
        if (k)
            continue;
        /* r0 = r2; r0 op= r0: the operand is the moved value, a op a */
        uint64_t want = 0;
        bpfvm_insn same[] = {
            BPFVM_LD_IMM64(BPFVM_R2, c->a),
            BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R2),
            BPFVM_INSN(c->op, BPFVM_R0, BPFVM_R0, c->off, 0),
            BPFVM_EXIT(),
        };
        bpfvm_insn direct[] = {
            BPFVM_LD_IMM64(BPFVM_R0, c->a),
            BPFVM_INSN(c->op, BPFVM_R0, BPFVM_R0, c->off, 0),
            BPFVM_EXIT(),
        };
        rc = run(same, COUNT(same), NULL, 0, &r0, &err) |
             run(direct, COUNT(direct), NULL, 0, &want, &err);
        CHECK(rc == 0 && r0 == want, "mov then alu r0, r0 case %zu: got 0x%llx want 0x%llx", i,
              (unsigned long long)r0, (unsigned long long)want);
    }
    /* a jump to the second instruction of the pair runs it alone: 1 + 2 */
    EXPECT(3, BPFVM_MOV64_IMM(BPFVM_R0, 1), BPFVM_MOV64_IMM(BPFVM_R1, 10),
           BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R1, 10, 1),
           BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R1), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 2),
           BPFVM_EXIT());
    /* the pair at the end of a loop body, and the jump back landing on it */
    EXPECT(6, BPFVM_MOV64_IMM(BPFVM_R1, 3), BPFVM_MOV64_IMM(BPFVM_R0, 0),
           BPFVM_ALU64_IMM(BPFVM_SUB, BPFVM_R1, 1), BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R0),
           BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R2, 2), BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R2),
           BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R1, 0, -5), BPFVM_EXIT());
    /* rX = rY; rX += rZ; rW = *(T *)(rX + off) (also run as one operation):
     * every load kind against the same with an unrelated instruction between */
    static const uint8_t loads[] = {
        BPFVM_LDX | BPFVM_MEM | BPFVM_B, BPFVM_LDX | BPFVM_MEM | BPFVM_H,
        BPFVM_LDX | BPFVM_MEM | BPFVM_W, BPFVM_LDX | BPFVM_MEM | BPFVM_DW,
        BPFVM_LDX | BPFVM_MEMSX | BPFVM_B, BPFVM_LDX | BPFVM_MEMSX | BPFVM_H,
        BPFVM_LDX | BPFVM_MEMSX | BPFVM_W,
    };
    uint8_t mem[16];
    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(0x80 + i * 7);
    for (size_t i = 0; i < COUNT(loads); i++) {
        for (int w = 0; w < 2; w++) { /* rW = r0, then rW = rX (r3) */
            uint8_t rw = w ? BPFVM_R3 : BPFVM_R0;
            uint64_t got = 0, want = 0;
            bpfvm_error err;
            bpfvm_insn fused[] = {
                BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_MOV64_IMM(BPFVM_R2, 3),
                BPFVM_MOV64_REG(BPFVM_R3, BPFVM_R1), BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R3, BPFVM_R2),
                BPFVM_INSN(loads[i], rw, BPFVM_R3, 4, 0),
                BPFVM_ALU64_REG(BPFVM_SUB, BPFVM_R3, BPFVM_R1), BPFVM_LD_IMM64(BPFVM_R4, 1000),
                BPFVM_ALU64_REG(BPFVM_MUL, BPFVM_R3, BPFVM_R4),
                BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R3), BPFVM_EXIT(),
            };
            bpfvm_insn apart[COUNT(fused) + 1];
            memcpy(apart, fused, 4 * sizeof(fused[0]));
            apart[4] = BPFVM_MOV64_IMM(BPFVM_R5, 0);
            memcpy(apart + 5, fused + 4, (COUNT(fused) - 4) * sizeof(fused[0]));
            int rc = run(fused, COUNT(fused), mem, sizeof(mem), &got, &err) |
                     run(apart, COUNT(apart), mem, sizeof(mem), &want, &err);
            CHECK(rc == 0 && got == want, "load 0x%02x after mov, add (rW %d): 0x%llx, want 0x%llx",
                  loads[i], rw, (unsigned long long)got, (unsigned long long)want);
        }
    }
    /* a fault in the load names the load */
    expect_err(__LINE__, BPFVM_EMEMORY, 3, NULL,
               PROG(BPFVM_MOV64_IMM(BPFVM_R2, 13), BPFVM_MOV64_REG(BPFVM_R3, BPFVM_R1),
                    BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R3, BPFVM_R2),
                    BPFVM_LDX_MEM(BPFVM_W, BPFVM_R0, BPFVM_R3, 0), BPFVM_EXIT()),
               mem, sizeof(mem));
    /* different destinations are not a pair */
    EXPECT(12, BPFVM_MOV64_IMM(BPFVM_R1, 5), BPFVM_MOV64_IMM(BPFVM_R0, 7),
           BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R1), BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R2),
           BPFVM_EXIT());
}

/* ---- byte order ---------------------------------------------------------- */

static void test_endian(void)
{
    const uint64_t v = 0x1122334455667788ull;
    EXPECT(0x7788, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_ENDIAN_LE(BPFVM_R0, 16), BPFVM_EXIT());
    EXPECT(0x55667788, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_ENDIAN_LE(BPFVM_R0, 32), BPFVM_EXIT());
    EXPECT(v, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_ENDIAN_LE(BPFVM_R0, 64), BPFVM_EXIT());
    EXPECT(0x8877, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_ENDIAN_BE(BPFVM_R0, 16), BPFVM_EXIT());
    EXPECT(0x88776655, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_ENDIAN_BE(BPFVM_R0, 32), BPFVM_EXIT());
    EXPECT(0x8877665544332211ull, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_ENDIAN_BE(BPFVM_R0, 64),
           BPFVM_EXIT());
    EXPECT(0x8877, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_BSWAP(BPFVM_R0, 16), BPFVM_EXIT());
    EXPECT(0x88776655, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_BSWAP(BPFVM_R0, 32), BPFVM_EXIT());
    EXPECT(0x8877665544332211ull, BPFVM_LD_IMM64(BPFVM_R0, v), BPFVM_BSWAP(BPFVM_R0, 64),
           BPFVM_EXIT());
}

/* ---- jumps: every condition, both sources, both widths -------------------- */

typedef struct {
    uint8_t op;  /* condition (BPFVM_JEQ ...) */
    uint64_t a;  /* dst */
    uint64_t b;  /* src (X) or imm (K: low 32 bits, sign-extended in JMP) */
    int j64, j32; /* taken in JMP / JMP32 */
} jmp_case;

static const jmp_case jmp_cases[] = {
    /* op          a                      b            jmp  jmp32 */
    { BPFVM_JEQ,   5,                     5,           1,   1 },
    { BPFVM_JEQ,   0x100000005ull,        5,           0,   1 },
    { BPFVM_JEQ,   M1,                    0xffffffff,  1,   1 },  /* imm -1 sign-extended in JMP */
    { BPFVM_JNE,   0x100000005ull,        5,           1,   0 },
    { BPFVM_JNE,   1,                     1,           0,   0 },
    { BPFVM_JSET,  0x100000000ull,        0x1,         0,   0 },
    { BPFVM_JSET,  0x100000001ull,        0x1,         1,   1 },
    { BPFVM_JSET,  I64_MIN,               0x80000000,  1,   0 },  /* sign-extended mask */
    { BPFVM_JGT,   M1,                    1,           1,   1 },
    { BPFVM_JGT,   1,                     0xffffffff,  0,   0 },
    { BPFVM_JGT,   0x100000000ull,        1,           1,   0 },
    { BPFVM_JGE,   7,                     7,           1,   1 },
    { BPFVM_JGE,   6,                     7,           0,   0 },
    { BPFVM_JLT,   1,                     0xffffffff,  1,   1 },
    { BPFVM_JLT,   0x100000000ull,        1,           0,   1 },
    { BPFVM_JLE,   7,                     7,           1,   1 },
    { BPFVM_JLE,   8,                     7,           0,   0 },
    { BPFVM_JSGT,  1,                     0xffffffff,  1,   1 },  /* 1 > -1 */
    { BPFVM_JSGT,  M1,                    0,           0,   0 },
    { BPFVM_JSGT,  0x80000000ull,         0,           1,   0 },  /* positive 64, negative 32 */
    { BPFVM_JSGE,  M1,                    0xffffffff,  1,   1 },
    { BPFVM_JSGE,  I64_MIN,               0,           0,   1 },
    { BPFVM_JSLT,  I64_MIN,               0,           1,   0 },
    { BPFVM_JSLT,  0xfffffffe,            0xffffffff,  0,   1 },
    { BPFVM_JSLE,  M1,                    0xffffffff,  1,   1 },
    { BPFVM_JSLE,  0,                     0x80000000,  0,   0 },
    { BPFVM_JEQ,   5,                     6,           0,   0 },
    { BPFVM_JSGE,  0xffffffff,            0,           1,   0 },
    { BPFVM_JLT,   2,                     1,           0,   0 },
    { BPFVM_JGT,   0x1ffffffffull,        0xffffffff,  0,   0 },  /* 64: vs 2^64-1; 32: equal */
};

/* What precedes the jump (the interpreter runs a jump after mov64 rX, rY or
 * add64 rX, K in one handler): each sets r0 = 1, or r1 = a with r0 = 1. */
enum { BEFORE_MOV_K, BEFORE_MOV_X, BEFORE_ADD_K, BEFORE_MOV_X_DST, BEFORE_ADD_K_DST, NBEFORE };

static int run_jmp_after(int before, uint8_t cls, uint8_t src, uint8_t op, uint64_t a,
                         uint64_t b, int *rc)
{
    static const bpfvm_insn prefix[NBEFORE] = {
        BPFVM_MOV64_IMM(BPFVM_R0, 1),
        BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R3),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 1),
        BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R4),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, 5),
    };
    uint64_t r0 = 0;
    bpfvm_error err;
    bpfvm_insn prog[] = {
        BPFVM_LD_IMM64(BPFVM_R1, before == BEFORE_ADD_K_DST   ? a - 5
                                 : before == BEFORE_MOV_X_DST ? ~a
                                                              : a),
        BPFVM_LD_IMM64(BPFVM_R2, b),
        BPFVM_LD_IMM64(BPFVM_R4, a),
        BPFVM_MOV64_IMM(BPFVM_R3, 1),
        BPFVM_MOV64_IMM(BPFVM_R0, before == BEFORE_ADD_K ? 0 : 1),
        prefix[before],
        BPFVM_INSN(cls | src | op, BPFVM_R1, src == BPFVM_X ? BPFVM_R2 : 0, 1,
                   src == BPFVM_K ? (int32_t)(uint32_t)b : 0),
        BPFVM_MOV64_IMM(BPFVM_R0, 0),
        BPFVM_EXIT(),
    };
    *rc = run(prog, COUNT(prog), NULL, 0, &r0, &err);
    return (int)r0;
}

static int run_jmp(uint8_t cls, uint8_t src, uint8_t op, uint64_t a, uint64_t b, int *rc)
{
    int taken = run_jmp_after(BEFORE_MOV_K, cls, src, op, a, b, rc);
    for (int before = 1; before < NBEFORE && *rc == 0; before++) {
        int rc2, again = run_jmp_after(before, cls, src, op, a, b, &rc2);
        if (rc2 || again != taken) {
            *rc = rc2 ? rc2 : -1000 - before; /* names what disagreed */
            break;
        }
    }
    return taken;
}

static void test_jumps(void)
{
    for (size_t i = 0; i < COUNT(jmp_cases); i++) {
        const jmp_case *c = &jmp_cases[i];
        uint64_t bx = c->b;
        int rc, got;
        /* X form: the register holds what the K form's immediate means. */
        if (bx >> 31 == 1)
            bx |= 0xffffffff00000000ull;
        got = run_jmp(BPFVM_JMP, BPFVM_K, c->op, c->a, c->b, &rc);
        CHECK(rc == 0 && got == c->j64, "jmp case %zu K: rc %d taken %d", i, rc, got);
        got = run_jmp(BPFVM_JMP, BPFVM_X, c->op, c->a, bx, &rc);
        CHECK(rc == 0 && got == c->j64, "jmp case %zu X: rc %d taken %d", i, rc, got);
        got = run_jmp(BPFVM_JMP32, BPFVM_K, c->op, c->a, c->b, &rc);
        CHECK(rc == 0 && got == c->j32, "jmp32 case %zu K: rc %d taken %d", i, rc, got);
        got = run_jmp(BPFVM_JMP32, BPFVM_X, c->op, c->a, bx, &rc);
        CHECK(rc == 0 && got == c->j32, "jmp32 case %zu X: rc %d taken %d", i, rc, got);
    }
    /* ja forward and backward, ja32 takes its offset from imm (a jeq never taken
     * keeps the skipped instruction reachable: the verifier rejects dead code) */
    EXPECT(2, BPFVM_MOV64_IMM(BPFVM_R0, 2), BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R0, -1, 1), BPFVM_JA_OFF(1),
           BPFVM_MOV64_IMM(BPFVM_R0, 3), BPFVM_EXIT());
    EXPECT(7, BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_JA_OFF(2), BPFVM_MOV64_IMM(BPFVM_R0, 7),
           BPFVM_EXIT(), BPFVM_JA_OFF(-3));
    EXPECT(4, BPFVM_MOV64_IMM(BPFVM_R0, 4), BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R0, -1, 1), BPFVM_JA32(1),
           BPFVM_MOV64_IMM(BPFVM_R0, 5), BPFVM_EXIT());
    EXPECT(9, BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_JA32(2), BPFVM_MOV64_IMM(BPFVM_R0, 9),
           BPFVM_EXIT(), BPFVM_JA32(-3));
    /* a loop: sum 1..10 */
    EXPECT(55, BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_MOV64_IMM(BPFVM_R1, 10),
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R1),
           BPFVM_ALU64_IMM(BPFVM_SUB, BPFVM_R1, 1),
           BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R1, 0, -3), BPFVM_EXIT());
    /* a jump over an lddw */
    EXPECT(1, BPFVM_MOV64_IMM(BPFVM_R0, 1), BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R0, -1, 1), BPFVM_JA_OFF(2),
           BPFVM_LD_IMM64(BPFVM_R0, 5), BPFVM_EXIT());
}

/* ---- memory: loads, stores, sign-extending loads ------------------------- */

static void test_memory(void)
{
    uint8_t mem[16];
    bpfvm_error err;
    uint64_t r0;

    for (int i = 0; i < 16; i++)
        mem[i] = (uint8_t)(0xf0 + i);
    struct { uint8_t op; uint64_t want; } loads[] = {
        { BPFVM_LDX | BPFVM_MEM | BPFVM_B,    0xf1 },
        { BPFVM_LDX | BPFVM_MEM | BPFVM_H,    0xf2f1 },
        { BPFVM_LDX | BPFVM_MEM | BPFVM_W,    0xf4f3f2f1 },
        { BPFVM_LDX | BPFVM_MEM | BPFVM_DW,   0xf8f7f6f5f4f3f2f1ull },
        { BPFVM_LDX | BPFVM_MEMSX | BPFVM_B,  0xfffffffffffffff1ull },
        { BPFVM_LDX | BPFVM_MEMSX | BPFVM_H,  0xfffffffffffff2f1ull },
        { BPFVM_LDX | BPFVM_MEMSX | BPFVM_W,  0xfffffffff4f3f2f1ull },
    };
    for (size_t i = 0; i < COUNT(loads); i++) {
        /* unaligned on purpose: offset 1 from r1 + 2 - 2 */
        bpfvm_insn prog[] = {
            BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, 2),
            BPFVM_INSN(loads[i].op, BPFVM_R0, BPFVM_R1, -1, 0),
            BPFVM_EXIT(),
        };
        int rc = run(prog, COUNT(prog), mem, sizeof(mem), &r0, &err);
        CHECK(rc == 0 && r0 == loads[i].want, "load 0x%02x: rc %d r0 0x%llx", loads[i].op, rc,
              (unsigned long long)r0);
    }
    mem[0] = 0x70;
    {
        bpfvm_insn prog[] = { BPFVM_LDX_MEMSX(BPFVM_B, BPFVM_R0, BPFVM_R1, 0), BPFVM_EXIT() };
        CHECK(run(prog, 2, mem, sizeof(mem), &r0, &err) == 0 && r0 == 0x70, "ldxsb positive");
    }

    /* stores of every size, immediate and register, into mem and the stack */
    memset(mem, 0, sizeof(mem));
    {
        bpfvm_insn prog[] = {
            BPFVM_ST_MEM(BPFVM_B, BPFVM_R1, 0, 0x1ab),          /* truncated to 0xab */
            BPFVM_ST_MEM(BPFVM_H, BPFVM_R1, 1, 0x1cdef),
            BPFVM_ST_MEM(BPFVM_W, BPFVM_R1, 3, -2),
            BPFVM_ST_MEM(BPFVM_DW, BPFVM_R1, 8, -1),            /* sign-extended imm */
            BPFVM_MOV64_IMM(BPFVM_R0, 0),
            BPFVM_EXIT(),
        };
        CHECK(run(prog, COUNT(prog), mem, sizeof(mem), &r0, &err) == 0, "st: %s", err.message);
        static const uint8_t want[16] = { 0xab, 0xef, 0xcd, 0xfe, 0xff, 0xff, 0xff, 0,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        CHECK(memcmp(mem, want, 16) == 0, "st results");
    }
    memset(mem, 0, sizeof(mem));
    {
        bpfvm_insn prog[] = {
            BPFVM_LD_IMM64(BPFVM_R2, 0x8877665544332211ull),
            BPFVM_STX_MEM(BPFVM_B, BPFVM_R1, BPFVM_R2, 0),
            BPFVM_STX_MEM(BPFVM_H, BPFVM_R1, BPFVM_R2, 1),
            BPFVM_STX_MEM(BPFVM_W, BPFVM_R1, BPFVM_R2, 3),
            BPFVM_STX_MEM(BPFVM_DW, BPFVM_R1, BPFVM_R2, 7),
            /* the stack, through r10, and back */
            BPFVM_STX_MEM(BPFVM_DW, BPFVM_R10, BPFVM_R2, -8),
            BPFVM_LDX_MEM(BPFVM_W, BPFVM_R0, BPFVM_R10, -4),
            BPFVM_EXIT(),
        };
        CHECK(run(prog, COUNT(prog), mem, sizeof(mem), &r0, &err) == 0 && r0 == 0x88776655,
              "stx: r0 0x%llx %s", (unsigned long long)r0, err.message);
        static const uint8_t want[16] = { 0x11, 0x11, 0x22, 0x11, 0x22, 0x33, 0x44, 0x11,
                                          0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0 };
        CHECK(memcmp(mem, want, 16) == 0, "stx results");
    }
    /* the whole stack frame is usable: [r10 - 512, r10) */
    EXPECT(0x42, BPFVM_ST_MEM(BPFVM_B, BPFVM_R10, -512, 0x42),
           BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R10, -512), BPFVM_EXIT());
    /* the stack starts zeroed */
    EXPECT(0, BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -256), BPFVM_EXIT());
}

/* ---- atomics ----------------------------------------------------------------- */

typedef struct {
    uint8_t size;      /* BPFVM_W or BPFVM_DW */
    int32_t aop;
    uint64_t mem;      /* value in memory before */
    uint64_t src;      /* src register before */
    uint64_t r0;       /* r0 before (cmpxchg) */
    uint64_t mem_after, src_after, r0_after;
} atomic_case;

static const atomic_case atomic_cases[] = {
    /* size      aop                            mem         src   r0   mem_after   src_after  r0_after */
    { BPFVM_DW, BPFVM_ADD,                      10,         5,    0,   15,         5,         0 },
    { BPFVM_DW, BPFVM_ADD | BPFVM_FETCH,        10,         5,    0,   15,         10,        0 },
    { BPFVM_DW, BPFVM_OR,                       0xf0,       0x0f, 0,   0xff,       0x0f,      0 },
    { BPFVM_DW, BPFVM_OR | BPFVM_FETCH,         0xf0,       0x0f, 0,   0xff,       0xf0,      0 },
    { BPFVM_DW, BPFVM_AND,                      0xff,       0x0f, 0,   0x0f,       0x0f,      0 },
    { BPFVM_DW, BPFVM_AND | BPFVM_FETCH,        0xff,       0x0f, 0,   0x0f,       0xff,      0 },
    { BPFVM_DW, BPFVM_XOR,                      0xff,       0x0f, 0,   0xf0,       0x0f,      0 },
    { BPFVM_DW, BPFVM_XOR | BPFVM_FETCH,        0xff,       0x0f, 0,   0xf0,       0xff,      0 },
    { BPFVM_DW, BPFVM_XCHG,                     M1,         7,    0,   7,          M1,        0 },
    { BPFVM_DW, BPFVM_CMPXCHG,                  9,          7,    9,   7,          7,         9 },  /* equal: store */
    { BPFVM_DW, BPFVM_CMPXCHG,                  9,          7,    8,   9,          7,         9 },  /* not equal */
    { BPFVM_W,  BPFVM_ADD,                      0xffffffff, 1,    0,   0,          1,         0 },  /* 32-bit wrap */
    { BPFVM_W,  BPFVM_ADD | BPFVM_FETCH,        0xffffffff, 2,    0,   1,          0xffffffff, 0 },
    { BPFVM_W,  BPFVM_OR | BPFVM_FETCH,         1,          M1,   0,   0xffffffff, 1,         0 },
    { BPFVM_W,  BPFVM_AND | BPFVM_FETCH,        0xffffffff, 0x100000003ull, 0, 3,  0xffffffff, 0 },
    { BPFVM_W,  BPFVM_XOR | BPFVM_FETCH,        3,          1,    0,   2,          3,         0 },
    { BPFVM_W,  BPFVM_OR,                       1,          2,    0,   3,          2,         0 },
    { BPFVM_W,  BPFVM_AND,                      3,          2,    0,   2,          2,         0 },
    { BPFVM_W,  BPFVM_XOR,                      3,          2,    0,   1,          2,         0 },
    { BPFVM_W,  BPFVM_XCHG,                     0x80000000, M1,   0,   0xffffffff, 0x80000000, 0 },
    { BPFVM_W,  BPFVM_CMPXCHG,                  5,          6,    0xffffffff00000005ull, 6, 6, 5 },  /* low half compared */
    { BPFVM_W,  BPFVM_CMPXCHG,                  5,          6,    4,   5,          6,         5 },
};

static void test_atomics(void)
{
    for (size_t i = 0; i < COUNT(atomic_cases); i++) {
        const atomic_case *c = &atomic_cases[i];
        uint64_t mem[2] = { 0, 0x5a5a5a5a5a5a5a5aull }, r0 = 0;
        bpfvm_error err;
        if (c->size == BPFVM_W) {
            uint32_t v = (uint32_t)c->mem;
            memcpy(mem, &v, 4);
        } else {
            mem[0] = c->mem;
        }
        /* r0 = r0_after == src_after ? ... : we return each register via memory */
        bpfvm_insn prog[] = {
            BPFVM_MOV64_REG(BPFVM_R6, BPFVM_R1),
            BPFVM_LD_IMM64(BPFVM_R2, c->src),
            BPFVM_LD_IMM64(BPFVM_R0, c->r0),
            BPFVM_ATOMIC_OP(c->size, c->aop, BPFVM_R6, BPFVM_R2, 0),
            BPFVM_STX_MEM(BPFVM_DW, BPFVM_R6, BPFVM_R2, 8),  /* src after -> mem[1] */
            BPFVM_EXIT(),
        };
        int rc = run(prog, COUNT(prog), mem, sizeof(mem), &r0, &err);
        uint64_t mem_after = mem[0];
        if (c->size == BPFVM_W) {
            uint32_t v;
            memcpy(&v, mem, 4);
            mem_after = v;
            CHECK((mem[0] >> 32) == 0, "atomic case %zu: upper half untouched", i);
        }
        CHECK(rc == 0 && mem_after == c->mem_after && mem[1] == c->src_after && r0 == c->r0_after,
              "atomic case %zu: rc %d mem 0x%llx src 0x%llx r0 0x%llx", i, rc,
              (unsigned long long)mem_after, (unsigned long long)mem[1], (unsigned long long)r0);
    }
    /* atomics on the stack */
    EXPECT(3, BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 1), BPFVM_MOV64_IMM(BPFVM_R1, 2),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, BPFVM_R10, BPFVM_R1, -8),
           BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -8), BPFVM_EXIT());
}

/* ---- run modes ------------------------------------------------------------ */

static void test_modes(void)
{
    uint8_t mem[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint64_t mbuff[2];
    uint64_t r0 = 0;
    bpfvm_error err;
    bpfvm_vm *vm = bpfvm_create();

    /* RAW: r1 = mem, r2 = len */
    bpfvm_insn raw[] = {
        BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R1, 7),
        BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R2),
        BPFVM_EXIT(),
    };
    CHECK(run_on(vm, raw, COUNT(raw), mem, sizeof(mem), &r0, &err) == 0 && r0 == 16, "raw");
    /* NONE: r1 = 0, no memory */
    CHECK(bpfvm_set_mode(vm, BPFVM_MODE_NONE) == 0, "set none");
    bpfvm_insn none[] = { BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R1), BPFVM_EXIT() };
    CHECK(run_on(vm, none, COUNT(none), mem, sizeof(mem), &r0, &err) == 0 && r0 == 0, "none");
    CHECK(run_on(vm, raw, COUNT(raw), mem, sizeof(mem), &r0, &err) == BPFVM_EMEMORY,
          "none: no memory access");
    /* MBUFF: r1 = mbuff, which points to mem */
    mbuff[0] = (uint64_t)(uintptr_t)mem;
    mbuff[1] = sizeof(mem);
    CHECK(bpfvm_set_mode(vm, BPFVM_MODE_MBUFF) == 0, "set mbuff");
    bpfvm_insn mb[] = {
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R2, BPFVM_R1, 0),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R3, BPFVM_R1, 8),
        BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R2, BPFVM_R3),
        BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R2, -2),
        BPFVM_EXIT(),
    };
    CHECK(bpfvm_load(vm, mb, sizeof(mb)) == 0, "load mbuff prog");
    CHECK(bpfvm_run(vm, mem, sizeof(mem), mbuff, sizeof(mbuff), &r0, &err) == 0 && r0 == 7,
          "mbuff: rc r0 %llu %s", (unsigned long long)r0, err.message);
    /* FIXED_MBUFF: the VM writes data/data_end at the configured offsets */
    CHECK(bpfvm_set_fixed_mbuff(vm, 32, 8, 24) == 0, "set fixed mbuff");
    bpfvm_insn fixed[] = {
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R2, BPFVM_R1, 8),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R3, BPFVM_R1, 24),
        BPFVM_ST_MEM(BPFVM_DW, BPFVM_R1, 0, 9),             /* the copy is writable */
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R4, BPFVM_R1, 0),
        BPFVM_ALU64_REG(BPFVM_SUB, BPFVM_R3, BPFVM_R2),      /* = len */
        BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R2, 2),       /* = 3 */
        BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R3),
        BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R4),
        BPFVM_EXIT(),
    };
    CHECK(bpfvm_load(vm, fixed, sizeof(fixed)) == 0, "load fixed prog");
    for (int i = 0; i < 2; i++) /* each run starts from the template */
        CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err) == 0 && r0 == 3 + 8 + 9,
              "fixed mbuff run %d: r0 %llu %s", i, (unsigned long long)r0, err.message);
    bpfvm_destroy(vm);
}

/* ---- local calls ------------------------------------------------------------ */

static void test_local_calls(void)
{
    /* r6-r9 preserved across a call; the callee gets a fresh frame; r1-r5 pass arguments */
    EXPECT(1111 + 100 + 21,
           BPFVM_MOV64_IMM(BPFVM_R6, 1000), BPFVM_MOV64_IMM(BPFVM_R7, 100),
           BPFVM_MOV64_IMM(BPFVM_R8, 10), BPFVM_MOV64_IMM(BPFVM_R9, 1),
           BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 100),
           BPFVM_MOV64_IMM(BPFVM_R1, 20),
           BPFVM_CALL_LOCAL(7),                                /* -> 14 */
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R6),     /* 7 */
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R7),
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R8),
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R9),
           BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R1, BPFVM_R10, -8),   /* caller's frame intact */
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R1),
           BPFVM_EXIT(),                                       /* 13 */
           /* callee at 14: clobbers r6-r9, writes its own frame, which starts zeroed */
           BPFVM_MOV64_IMM(BPFVM_R6, 0), BPFVM_MOV64_IMM(BPFVM_R7, 0),
           BPFVM_MOV64_IMM(BPFVM_R8, 0), BPFVM_MOV64_IMM(BPFVM_R9, 0),
           BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -8),
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R1),
           BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 1),
           BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 555),
           BPFVM_EXIT());
    /* recursion: sum n..1 with depth n-1 <= 8 */
    EXPECT(36,
           BPFVM_MOV64_IMM(BPFVM_R1, 8),
           BPFVM_CALL_LOCAL(1),
           BPFVM_EXIT(),
           /* f(r1): r1 == 1 ? 1 : r1 + f(r1 - 1) */
           BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R1),
           BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R1, 1, 4),
           BPFVM_MOV64_REG(BPFVM_R6, BPFVM_R1),
           BPFVM_ALU64_IMM(BPFVM_SUB, BPFVM_R1, 1),
           BPFVM_CALL_LOCAL(-5),
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R6),
           BPFVM_EXIT());
    /* a callee cannot reach above its own frame (through a copy of r10: the
     * verifier rejects r10 + constant outside the frame) */
    expect_err(__LINE__, BPFVM_EMEMORY, 3, "read of 8 bytes",
               PROG(BPFVM_CALL_LOCAL(1), BPFVM_EXIT(), BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10),
                    BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R2, 8), BPFVM_EXIT()),
               NULL, 0);
    /* ... but reaches its caller's frame, just below its own (frames are
     * adjacent), as the kernel allows: reads 1, writes 7 there */
    EXPECT(1 + 7,
           BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 1), BPFVM_CALL_LOCAL(3),
           BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R1, BPFVM_R10, -16),
           BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R1), BPFVM_EXIT(),
           BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10),
           BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R2, -520),
           BPFVM_ST_MEM(BPFVM_DW, BPFVM_R2, -528, 7), BPFVM_EXIT());
    /* ... and nothing below the first frame */
    expect_err(__LINE__, BPFVM_EMEMORY, 4, "read of 8 bytes",
               PROG(BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 1), BPFVM_CALL_LOCAL(1), BPFVM_EXIT(),
                    BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10),
                    BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R2, -1032), BPFVM_EXIT()),
               NULL, 0);
    /* and a caller cannot reach the frame of a callee that returned */
    expect_err(__LINE__, BPFVM_EMEMORY, 2, "read of 8 bytes",
               PROG(BPFVM_CALL_LOCAL(3), BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10),
                    BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R2, 0), BPFVM_EXIT(),
                    BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 1), BPFVM_MOV64_IMM(BPFVM_R0, 0),
                    BPFVM_EXIT()),
               NULL, 0);
    /* endless recursion stops at the depth limit, at the call */
    expect_err(__LINE__, BPFVM_ECALLDEPTH, 2, "call depth",
               PROG(BPFVM_CALL_LOCAL(1), BPFVM_EXIT(), BPFVM_CALL_LOCAL(-1), BPFVM_EXIT()), NULL,
               0);
    {
        /* exactly call_depth nested calls are allowed */
        bpfvm_vm *vm = bpfvm_create();
        uint64_t r0 = 0;
        bpfvm_error err;
        bpfvm_insn prog[] = {
            BPFVM_MOV64_IMM(BPFVM_R1, 1),
            BPFVM_CALL_LOCAL(1),
            BPFVM_EXIT(),
            /* f(r1) */
            BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, 1),
            BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R1),
            BPFVM_JMP_IMM(BPFVM_JGE, BPFVM_R1, 4, 1),  /* stop recursing at depth 3 */
            BPFVM_CALL_LOCAL(-4),
            BPFVM_EXIT(),
        };
        CHECK(bpfvm_set_call_depth(vm, 3) == 0, "depth 3");
        CHECK(run_on(vm, prog, COUNT(prog), NULL, 0, &r0, &err) == 0 && r0 == 4,
              "3 nested calls: %s", err.message);
        CHECK(bpfvm_set_call_depth(vm, 2) == 0, "depth 2");
        CHECK(run_on(vm, prog, COUNT(prog), NULL, 0, &r0, &err) == BPFVM_ECALLDEPTH &&
                  err.insn == 6, "2 allowed: %s", err.message);
        CHECK(bpfvm_set_call_depth(vm, 0) == 0, "depth 0");
        CHECK(run_on(vm, prog, COUNT(prog), NULL, 0, &r0, &err) == BPFVM_ECALLDEPTH, "none allowed");
        bpfvm_destroy(vm);
    }
}

/* ---- the budget ---------------------------------------------------------------- */

static int run_budget(uint64_t budget, const bpfvm_insn *prog, size_t n, uint64_t *r0,
                      bpfvm_error *err)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_set_budget(vm, budget);
    int rc = run_on(vm, prog, n, NULL, 0, r0, err);
    bpfvm_destroy(vm);
    return rc;
}

static void test_budget(void)
{
    uint64_t r0 = 0;
    bpfvm_error err;
    /* an infinite loop stops */
    bpfvm_insn loop[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 1),
                          BPFVM_JA_OFF(-2) };
    CHECK(run_budget(1000, loop, COUNT(loop), &r0, &err) == BPFVM_EBUDGET && err.insn == 2,
          "infinite loop: %s", err.message);
    CHECK(strstr(err.message, "budget") != NULL, "message: %s", err.message);
    /* exact count: 10 iterations of (add, sub, jne) + mov, mov, exit = 33 */
    bpfvm_insn sum[] = {
        BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_MOV64_IMM(BPFVM_R1, 10),
        BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R1), BPFVM_ALU64_IMM(BPFVM_SUB, BPFVM_R1, 1),
        BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R1, 0, -3), BPFVM_EXIT(),
    };
    CHECK(run_budget(33, sum, COUNT(sum), &r0, &err) == 0 && r0 == 55, "budget 33 is enough");
    /* the last backward jump taken is instruction 29 (2 + 9*3) */
    CHECK(run_budget(29, sum, COUNT(sum), &r0, &err) == 0, "budget 29 is enough");
    CHECK(run_budget(28, sum, COUNT(sum), &r0, &err) == BPFVM_EBUDGET && err.insn == 4,
          "budget 28 is not");
    /* straight-line code is only checked at jumps back and calls */
    CHECK(run_budget(1, sum, 2, &r0, &err) == BPFVM_EVERIFY, "falls off");
    bpfvm_insn straight[] = { BPFVM_MOV64_IMM(BPFVM_R0, 1), BPFVM_MOV64_IMM(BPFVM_R0, 2),
                              BPFVM_EXIT() };
    CHECK(run_budget(1, straight, COUNT(straight), &r0, &err) == 0 && r0 == 2, "straight");
    /* lddw counts once; calls check: mov, lddw, call = 3 */
    bpfvm_insn call[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_LD_IMM64(BPFVM_R1, 1),
                          BPFVM_CALL_LOCAL(1), BPFVM_EXIT(), BPFVM_MOV64_IMM(BPFVM_R0, 0),
                          BPFVM_EXIT() };
    CHECK(run_budget(3, call, COUNT(call), &r0, &err) == 0, "call within budget: %s", err.message);
    CHECK(run_budget(2, call, COUNT(call), &r0, &err) == BPFVM_EBUDGET && err.insn == 3,
          "call over budget: %lld", (long long)err.insn);
    /* calls and returns count once each: per iteration call, mov, exit, sub, jne;
     * the calls are the 2nd, 7th and 12th instructions executed */
    bpfvm_insn loop_call[] = {
        BPFVM_MOV64_IMM(BPFVM_R6, 3), BPFVM_CALL_LOCAL(3),
        BPFVM_ALU64_IMM(BPFVM_SUB, BPFVM_R6, 1), BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R6, 0, -3),
        BPFVM_EXIT(),
        BPFVM_MOV64_IMM(BPFVM_R0, 100), BPFVM_EXIT(),
    };
    CHECK(run_budget(12, loop_call, COUNT(loop_call), &r0, &err) == 0 && r0 == 100,
          "12: %s", err.message);
    CHECK(run_budget(11, loop_call, COUNT(loop_call), &r0, &err) == BPFVM_EBUDGET &&
              err.insn == 1, "11: %lld", (long long)err.insn);
    CHECK(run_budget(6, loop_call, COUNT(loop_call), &r0, &err) == BPFVM_EBUDGET &&
              err.insn == 1, "6 stops at the second call");
    CHECK(run_budget(5, loop_call, COUNT(loop_call), &r0, &err) == BPFVM_EBUDGET &&
              err.insn == 3, "5 stops at the first jne: %lld", (long long)err.insn);
    /* pairs run as one operation count as two instructions: per iteration
     * mov, add, sub, jne; the jumps back are the 5th and 9th executed */
    bpfvm_insn pair[] = {
        BPFVM_MOV64_IMM(BPFVM_R1, 3), BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R1),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 1), BPFVM_ALU64_IMM(BPFVM_SUB, BPFVM_R1, 1),
        BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R1, 0, -4), BPFVM_EXIT(),
    };
    CHECK(run_budget(9, pair, COUNT(pair), &r0, &err) == 0 && r0 == 2, "pair: 9 is enough");
    CHECK(run_budget(8, pair, COUNT(pair), &r0, &err) == BPFVM_EBUDGET && err.insn == 4,
          "pair: 8 is not");
    /* a jump back run together with the add64 or mov64 before it checks too:
     * the jumps back are the 4th and 7th instructions executed */
    bpfvm_insn after_add[] = {
        BPFVM_MOV64_IMM(BPFVM_R1, 3), BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R1),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, -1), BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R1, 0, -3),
        BPFVM_EXIT(),
    };
    bpfvm_insn after_mov[] = {
        BPFVM_MOV64_IMM(BPFVM_R1, 3), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, -1),
        BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R1), BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R1, 0, -3),
        BPFVM_EXIT(),
    };
    CHECK(run_budget(7, after_add, COUNT(after_add), &r0, &err) == 0 && r0 == 1,
          "add, jne: 7 is enough: %s", err.message);
    CHECK(run_budget(6, after_add, COUNT(after_add), &r0, &err) == BPFVM_EBUDGET &&
              err.insn == 3, "add, jne: 6 is not");
    CHECK(run_budget(7, after_mov, COUNT(after_mov), &r0, &err) == 0 && r0 == 0,
          "mov, jne: 7 is enough: %s", err.message);
    CHECK(run_budget(6, after_mov, COUNT(after_mov), &r0, &err) == BPFVM_EBUDGET &&
              err.insn == 3, "mov, jne: 6 is not");
    /* a backward ja32 checks too */
    bpfvm_insn loop32[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 1),
                            BPFVM_JA32(-2) };
    CHECK(run_budget(100, loop32, COUNT(loop32), &r0, &err) == BPFVM_EBUDGET && err.insn == 2,
          "ja32 loop: %s", err.message);
    /* 0 = unlimited */
    CHECK(run_budget(0, sum, COUNT(sum), &r0, &err) == 0, "no budget");
}

/* ---- memory faults ---------------------------------------------------------------- */

static void test_faults(void)
{
    uint8_t mem[16] = { 0 };
    uint8_t ro[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint64_t r0;
    bpfvm_error err;

    /* load/store/atomic just past the end of mem; the fault names the access */
    expect_err(__LINE__, BPFVM_EMEMORY, 0, "read of 4 bytes",
               PROG(BPFVM_LDX_MEM(BPFVM_W, BPFVM_R0, BPFVM_R1, 13), BPFVM_EXIT()), mem, 16);
    expect_err(__LINE__, BPFVM_EMEMORY, 0, "write of 8 bytes",
               PROG(BPFVM_ST_MEM(BPFVM_DW, BPFVM_R1, 9, 0), BPFVM_MOV64_IMM(BPFVM_R0, 0),
                    BPFVM_EXIT()), mem, 16);
    expect_err(__LINE__, BPFVM_EMEMORY, 1, "write of 1 byte ",
               PROG(BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_STX_MEM(BPFVM_B, BPFVM_R1, BPFVM_R0, -1),
                    BPFVM_EXIT()), mem, 16);
    expect_err(__LINE__, BPFVM_EMEMORY, 0, "write of 8 bytes",
               PROG(BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, BPFVM_R1, BPFVM_R1, 12),
                    BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_EXIT()),
               mem, 16);
    expect_err(__LINE__, BPFVM_EMEMORY, 2, "write of 4 bytes",
               PROG(BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10),
                    BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_CMPXCHG, BPFVM_R2, BPFVM_R1, 0), BPFVM_EXIT()),
               mem, 16);
    /* address 0 and a wrap-around address */
    expect_err(__LINE__, BPFVM_EMEMORY, 1, "at 0x0 ",
               PROG(BPFVM_MOV64_IMM(BPFVM_R1, 0), BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R1, 0),
                    BPFVM_EXIT()), mem, 16);
    expect_err(__LINE__, BPFVM_EMEMORY, 1, "at 0xfffffffffffffffc",
               PROG(BPFVM_MOV64_IMM(BPFVM_R1, -1), BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R1, -3),
                    BPFVM_EXIT()), mem, 16);
    /* a huge offset from mem wraps around to below it */
    expect_err(__LINE__, BPFVM_EMEMORY, 3, "read of 1 byte",
               PROG(BPFVM_LD_IMM64(BPFVM_R2, M1), BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R1, BPFVM_R2),
                    BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R1, 0), BPFVM_EXIT()), mem, 16);
    /* the stack: above r10 and below the frame (through a copy of r10: the
     * verifier rejects r10 + constant outside the frame) */
#define VIA_R2 BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10)
    expect_err(__LINE__, BPFVM_EMEMORY, 2, "read of 1 byte",
               PROG(VIA_R2, BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R2, 0), BPFVM_EXIT()), NULL, 0);
    expect_err(__LINE__, BPFVM_EMEMORY, 2, "write of 2 bytes",
               PROG(VIA_R2, BPFVM_ST_MEM(BPFVM_H, BPFVM_R2, -513, 0), BPFVM_EXIT()), NULL, 0);
    expect_err(__LINE__, BPFVM_EMEMORY, 2, "write of 8 bytes",
               PROG(VIA_R2, BPFVM_ST_MEM(BPFVM_DW, BPFVM_R2, -4, 0), BPFVM_EXIT()), NULL, 0);
#undef VIA_R2
    /* the fault records address and size */
    {
        bpfvm_insn prog[] = { BPFVM_LDX_MEM(BPFVM_H, BPFVM_R0, BPFVM_R1, 16), BPFVM_EXIT() };
        CHECK(run(prog, 2, mem, 16, &r0, &err) == BPFVM_EMEMORY &&
                  err.addr == (uint64_t)(uintptr_t)mem + 16 && err.size == 2,
              "fault detail");
    }
    /* regions: a read-only region can be read, not written or used atomically */
    {
        bpfvm_vm *vm = bpfvm_create();
        uint64_t addr = (uint64_t)(uintptr_t)ro;
        bpfvm_insn rd[] = { BPFVM_LD_IMM64(BPFVM_R1, addr),
                            BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R1, 7), BPFVM_EXIT() };
        bpfvm_insn wr[] = { BPFVM_LD_IMM64(BPFVM_R1, addr),
                            BPFVM_ST_MEM(BPFVM_B, BPFVM_R1, 0, 1), BPFVM_MOV64_IMM(BPFVM_R0, 0),
                            BPFVM_EXIT() };
        bpfvm_insn at[] = { BPFVM_LD_IMM64(BPFVM_R1, addr), BPFVM_MOV64_IMM(BPFVM_R0, 0),
                            BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_ADD | BPFVM_FETCH, BPFVM_R1, BPFVM_R0, 0),
                            BPFVM_EXIT() };
        CHECK(run_on(vm, rd, COUNT(rd), NULL, 0, &r0, &err) == BPFVM_EMEMORY, "no region yet");
        CHECK(bpfvm_add_region(vm, ro, sizeof(ro), BPFVM_READ) == 0, "add region");
        CHECK(run_on(vm, rd, COUNT(rd), NULL, 0, &r0, &err) == 0 && r0 == 8, "read region");
        CHECK(run_on(vm, wr, COUNT(wr), NULL, 0, &r0, &err) == BPFVM_EMEMORY && err.insn == 2 &&
                  strstr(err.message, "write"), "write read-only: %s", err.message);
        CHECK(run_on(vm, at, COUNT(at), NULL, 0, &r0, &err) == BPFVM_EMEMORY && err.insn == 3,
              "atomic on read-only");
        CHECK(ro[0] == 1, "region not modified");
        bpfvm_clear_regions(vm);
        CHECK(bpfvm_add_region(vm, ro, sizeof(ro), BPFVM_WRITE) == 0, "write-only region");
        CHECK(run_on(vm, wr, COUNT(wr), NULL, 0, &r0, &err) == 0 && ro[0] == 1 + 0, "write");
        CHECK(run_on(vm, at, COUNT(at), NULL, 0, &r0, &err) == BPFVM_EMEMORY,
              "atomic on write-only");
        CHECK(run_on(vm, rd, COUNT(rd), NULL, 0, &r0, &err) == BPFVM_EMEMORY, "read write-only");
        bpfvm_destroy(vm);
    }
    /* unchecked mode: the access goes where the program says */
    {
        bpfvm_vm *vm = bpfvm_create();
        uint64_t addr = (uint64_t)(uintptr_t)ro;
        bpfvm_insn rd[] = { BPFVM_LD_IMM64(BPFVM_R1, addr),
                            BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R1, 3), BPFVM_EXIT() };
        bpfvm_set_checked(vm, 0);
        CHECK(run_on(vm, rd, COUNT(rd), NULL, 0, &r0, &err) == 0 && r0 == 4, "unchecked read");
        bpfvm_destroy(vm);
    }
}

/* ---- helpers ------------------------------------------------------------------------ */

static uint64_t h_sum(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    uint64_t *calls = bpfvm_helper_user(ctx);
    ++*calls;
    return a + b * 10 + c * 100 + d * 1000 + e * 10000;
}

static uint64_t h_fail(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    (void)a, (void)b, (void)c, (void)d, (void)e;
    bpfvm_ctx_fail(ctx, "no good");
    return 0;
}

static void test_helpers(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t calls = 0, r0 = 0;
    bpfvm_error err;
    bpfvm_insn prog[] = {
        BPFVM_MOV64_IMM(BPFVM_R1, 1), BPFVM_MOV64_IMM(BPFVM_R2, 2), BPFVM_MOV64_IMM(BPFVM_R3, 3),
        BPFVM_MOV64_IMM(BPFVM_R4, 4), BPFVM_MOV64_IMM(BPFVM_R5, 5),
        BPFVM_CALL_HELPER(77),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 5), /* (reading r1-r5 here: rejected) */
        BPFVM_EXIT(),
    };
    /* unknown helper: error at the call, naming the id */
    CHECK(run_on(vm, prog, COUNT(prog), NULL, 0, &r0, &err) == BPFVM_EHELPER && err.insn == 5 &&
              strstr(err.message, "77"), "unknown helper: %s", err.message);
    /* registered after loading */
    CHECK(bpfvm_register_helper(vm, 77, "sum", h_sum, &calls) == 0, "register");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == 0 && r0 == 54321 + 5 && calls == 1,
          "helper call: r0 %llu", (unsigned long long)r0);
    /* callx: the id in the register named by dst */
    bpfvm_insn cx[] = {
        BPFVM_MOV64_IMM(BPFVM_R1, 9), BPFVM_MOV64_IMM(BPFVM_R2, 0), BPFVM_MOV64_IMM(BPFVM_R3, 0),
        BPFVM_MOV64_IMM(BPFVM_R4, 0), BPFVM_MOV64_IMM(BPFVM_R5, 0),
        BPFVM_MOV64_IMM(BPFVM_R8, 77), BPFVM_CALLX(BPFVM_R8), BPFVM_EXIT(),
    };
    CHECK(run_on(vm, cx, COUNT(cx), NULL, 0, &r0, &err) == 0 && r0 == 9 && calls == 2, "callx");
    cx[5] = BPFVM_MOV64_IMM(BPFVM_R8, 78);
    CHECK(run_on(vm, cx, COUNT(cx), NULL, 0, &r0, &err) == BPFVM_EHELPER && err.insn == 6 &&
              strstr(err.message, "78"), "callx unknown: %s", err.message);
    /* an id above 32 bits never matches */
    bpfvm_insn cxbig[] = { BPFVM_LD_IMM64(BPFVM_R8, 0x10000004dull), BPFVM_CALLX(BPFVM_R8),
                           BPFVM_EXIT() };
    CHECK(run_on(vm, cxbig, COUNT(cxbig), NULL, 0, &r0, &err) == BPFVM_EHELPER && err.insn == 2,
          "callx 64-bit id");
    /* a failing helper stops the run */
    CHECK(bpfvm_register_helper(vm, 77, "fail", h_fail, NULL) == 0, "re-register");
    CHECK(run_on(vm, prog, COUNT(prog), NULL, 0, &r0, &err) == BPFVM_EHELPERFAIL &&
              err.insn == 5 && strstr(err.message, "no good"), "helper fail: %s", err.message);
    /* the VM's last error when no err is given */
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EHELPERFAIL &&
              bpfvm_last_error(vm)->insn == 5, "last error");
    bpfvm_destroy(vm);
}

/* ---- legacy packet loads ------------------------------------------------------------- */

static void test_packet(void)
{
    uint8_t pkt[12] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc };
    struct { bpfvm_insn insn; uint64_t want; } cases[] = {
        { BPFVM_LD_ABS(BPFVM_B, 0),  0x11 },
        { BPFVM_LD_ABS(BPFVM_H, 1),  0x2233 },
        { BPFVM_LD_ABS(BPFVM_W, 2),  0x33445566 },
        { BPFVM_LD_ABS(BPFVM_DW, 4), 0x5566778899aabbccull },
        { BPFVM_LD_ABS(BPFVM_B, 12), 0 },         /* just outside: r0 = 0, program ends */
        { BPFVM_LD_ABS(BPFVM_DW, 5), 0 },
        { BPFVM_LD_ABS(BPFVM_W, -1), 0 },         /* imm is unsigned: 4 GiB - 1 */
        { BPFVM_LD_IND(BPFVM_B, BPFVM_R6, 1),  0x55 },   /* r6 = 3 */
        { BPFVM_LD_IND(BPFVM_H, BPFVM_R6, -3), 0x1122 },
        { BPFVM_LD_IND(BPFVM_W, BPFVM_R6, 5),  0x99aabbcc },
        { BPFVM_LD_IND(BPFVM_DW, BPFVM_R6, 1), 0x5566778899aabbccull },
        { BPFVM_LD_IND(BPFVM_B, BPFVM_R6, -4), 0 },      /* wraps below 0 */
        { BPFVM_LD_IND(BPFVM_W, BPFVM_R6, 6),  0 },
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        uint64_t r0 = 0;
        bpfvm_error err;
        bpfvm_insn prog[] = {
            BPFVM_MOV64_IMM(BPFVM_R6, 3),
            BPFVM_MOV64_IMM(BPFVM_R0, 99),
            cases[i].insn,
            BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R1, 0, 1),  /* r1 unchanged: r1 = mem */
            BPFVM_MOV64_IMM(BPFVM_R0, 1),
            BPFVM_EXIT(),
        };
        int rc = run(prog, COUNT(prog), pkt, sizeof(pkt), &r0, &err);
        CHECK(rc == 0 && r0 == cases[i].want, "packet case %zu: rc %d r0 0x%llx", i, rc,
              (unsigned long long)r0);
    }
    /* outside the input memory inside a local call: the whole run ends */
    {
        uint64_t r0 = 99;
        bpfvm_error err;
        bpfvm_insn prog[] = {
            BPFVM_CALL_LOCAL(2), BPFVM_MOV64_IMM(BPFVM_R0, 7), BPFVM_EXIT(),
            BPFVM_LD_ABS(BPFVM_W, 100), BPFVM_EXIT(),
        };
        CHECK(run(prog, COUNT(prog), pkt, sizeof(pkt), &r0, &err) == 0 && r0 == 0,
              "packet load in a call: r0 %llu", (unsigned long long)r0);
    }
    /* no input memory at all */
    EXPECT(0, BPFVM_LD_ABS(BPFVM_B, 0), BPFVM_MOV64_IMM(BPFVM_R0, 1), BPFVM_EXIT());
}

/* ---- the same VM on several threads ------------------------------------------ */

typedef struct {
    bpfvm_vm *vm;
    uint64_t *shared;
    int rc;
    uint64_t r0;
} thread_arg;

static void *thread_run(void *p)
{
    thread_arg *a = p;
    bpfvm_error err;
    a->rc = bpfvm_run(a->vm, a->shared, 16, NULL, 0, &a->r0, &err);
    return NULL;
}

static void test_threads(void)
{
    enum { THREADS = 4, ITER = 20000 };
    uint64_t shared[2] = { 0, 0 };
    thread_arg args[THREADS];
    pthread_t tid[THREADS];
    bpfvm_vm *vm = bpfvm_create();
    /* ITER times: lock add [r1], 1; lock fetch add32 [r1+8], 1; the stack per run */
    bpfvm_insn prog[] = {
        BPFVM_MOV64_IMM(BPFVM_R6, ITER),
        BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 0),
        BPFVM_MOV64_IMM(BPFVM_R2, 1),
        BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, BPFVM_R1, BPFVM_R2, 0),
        BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_ADD | BPFVM_FETCH, BPFVM_R1, BPFVM_R2, 8),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R3, BPFVM_R10, -8),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R3, 1),
        BPFVM_STX_MEM(BPFVM_DW, BPFVM_R10, BPFVM_R3, -8),
        BPFVM_ALU64_IMM(BPFVM_SUB, BPFVM_R6, 1),
        BPFVM_JMP_IMM(BPFVM_JNE, BPFVM_R6, 0, -8),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -8),
        BPFVM_EXIT(),
    };
    CHECK(bpfvm_load(vm, prog, sizeof(prog)) == 0, "load");
    for (int i = 0; i < THREADS; i++) {
        args[i] = (thread_arg){ vm, shared, -100, 0 };
        pthread_create(&tid[i], NULL, thread_run, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        CHECK(args[i].rc == 0 && args[i].r0 == ITER, "thread %d: rc %d r0 %llu", i, args[i].rc,
              (unsigned long long)args[i].r0);
    }
    CHECK(shared[0] == THREADS * ITER && shared[1] == THREADS * ITER, "atomic totals %llu %llu",
          (unsigned long long)shared[0], (unsigned long long)shared[1]);
    bpfvm_destroy(vm);
}

/* Bytecode at an odd address loads and runs. */
static void test_unaligned_load(void)
{
    bpfvm_insn prog[] = { BPFVM_MOV64_IMM(BPFVM_R0, 3), BPFVM_EXIT() };
    uint64_t store[5], r0 = 0;
    uint8_t *odd = (uint8_t *)store + 1;
    bpfvm_vm *vm = bpfvm_create();
    memcpy(odd, prog, sizeof(prog));
    CHECK(bpfvm_load(vm, odd, sizeof(prog)) == 0 && bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 &&
              r0 == 3, "unaligned bytecode");
    bpfvm_destroy(vm);
}

int main(void)
{
    test_alu();
    test_mov_then_alu();
    test_endian();
    test_jumps();
    test_memory();
    test_atomics();
    test_modes();
    test_local_calls();
    test_budget();
    test_faults();
    test_helpers();
    test_packet();
    test_threads();
    test_unaligned_load();
    return TEST_END();
}
