/* test_asm.c - the assembler: classic and LLVM syntax, labels, errors. */
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Assemble `text` and compare with `want`. */
static void asm_eq(int line, const char *text, const bpfvm_insn *want, size_t n)
{
    bpfvm_insn *got = NULL;
    size_t count = 0;
    bpfvm_error err;
    int rc = bpfvm_asm(text, "t.s", &got, &count, &err);
    CHECK(rc == 0, "line %d: %s: %s", line, text, rc ? err.message : "");
    if (rc == 0) {
        CHECK(count == n, "line %d: %s: %zu slots, want %zu", line, text, count, n);
        for (size_t i = 0; i < count && i < n; i++) {
            uint64_t g, w;
            memcpy(&g, &got[i], 8);
            memcpy(&w, &want[i], 8);
            CHECK(g == w, "line %d: %s: slot %zu is %016llx, want %016llx", line, text, i,
                  (unsigned long long)g, (unsigned long long)w);
        }
    }
    free(got);
}

#define ASM_EQ(text, ...)                                        \
    do {                                                         \
        const bpfvm_insn want_[] = { __VA_ARGS__ };              \
        asm_eq(__LINE__, text, want_, N(want_));                 \
    } while (0)

/* Assembly must fail at line:column with a message containing `msg`. */
static void asm_err(int line, const char *text, int eline, int ecol, const char *msg)
{
    bpfvm_insn *got = (bpfvm_insn *)&got; /* must be reset to NULL */
    size_t count = 99;
    bpfvm_error err;
    int rc = bpfvm_asm(text, "t.s", &got, &count, &err);
    CHECK(rc == BPFVM_EASM, "line %d: '%s' gave %d, want EASM", line, text, rc);
    CHECK(got == NULL && count == 0, "line %d: output not cleared", line);
    if (rc != BPFVM_EASM)
        return;
    CHECK(err.code == BPFVM_EASM, "line %d: code %d", line, err.code);
    CHECK(err.line == eline && err.column == ecol, "line %d: '%s': at %d:%d, want %d:%d (%s)",
          line, text, err.line, err.column, eline, ecol, err.message);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.s:%d:%d: ", eline, ecol);
    CHECK(strncmp(err.message, prefix, strlen(prefix)) == 0, "line %d: message '%s'", line,
          err.message);
    CHECK(strstr(err.message, msg) != NULL, "line %d: message '%s' lacks '%s'", line,
          err.message, msg);
}

#define ASM_ERR(text, l, c, msg) asm_err(__LINE__, text, l, c, msg)

static void test_classic_alu(void)
{
    ASM_EQ("mov r0, 1", BPFVM_MOV64_IMM(0, 1));
    ASM_EQ("mov64 r0, r1", BPFVM_MOV64_REG(0, 1));
    ASM_EQ("mov32 r0, 0xffffffff", BPFVM_MOV32_IMM(0, -1));
    ASM_EQ("mov32 r0, -2147483648", BPFVM_MOV32_IMM(0, INT32_MIN));
    ASM_EQ("mov32 %r9, %r10", BPFVM_MOV32_REG(9, 10));
    ASM_EQ("add r1 , 2", BPFVM_ALU64_IMM(BPFVM_ADD, 1, 2));
    ASM_EQ("add32 r1,r2", BPFVM_ALU32_REG(BPFVM_ADD, 1, 2));
    ASM_EQ("sub r1, -0x10", BPFVM_ALU64_IMM(BPFVM_SUB, 1, -16));
    ASM_EQ("mul64 r1, 0X7fffFFFF", BPFVM_ALU64_IMM(BPFVM_MUL, 1, 0x7fffffff));
    ASM_EQ("div r1, r2\ndiv32 r3, 7", BPFVM_ALU64_REG(BPFVM_DIV, 1, 2),
           BPFVM_ALU32_IMM(BPFVM_DIV, 3, 7));
    ASM_EQ("sdiv r1, r2", BPFVM_SDIV64_REG(1, 2));
    ASM_EQ("sdiv32 r1, -3", BPFVM_INSN(BPFVM_ALU | BPFVM_DIV, 1, 0, 1, -3));
    ASM_EQ("smod r1, r2", BPFVM_SMOD64_REG(1, 2));
    ASM_EQ("smod32 r1, 5", BPFVM_INSN(BPFVM_ALU | BPFVM_MOD, 1, 0, 1, 5));
    ASM_EQ("mod r1, 5", BPFVM_ALU64_IMM(BPFVM_MOD, 1, 5));
    ASM_EQ("or r1, 1\nand r1, 2\nlsh r1, 3\nrsh r1, 4\nxor r1, 5\narsh r1, 6",
           BPFVM_ALU64_IMM(BPFVM_OR, 1, 1), BPFVM_ALU64_IMM(BPFVM_AND, 1, 2),
           BPFVM_ALU64_IMM(BPFVM_LSH, 1, 3), BPFVM_ALU64_IMM(BPFVM_RSH, 1, 4),
           BPFVM_ALU64_IMM(BPFVM_XOR, 1, 5), BPFVM_ALU64_IMM(BPFVM_ARSH, 1, 6));
    ASM_EQ("neg r3\nneg64 r4\nneg32 r5", BPFVM_NEG64(3), BPFVM_NEG64(4), BPFVM_NEG32(5));
    ASM_EQ("le16 r1\nle32 r1\nle64 r1", BPFVM_ENDIAN_LE(1, 16), BPFVM_ENDIAN_LE(1, 32),
           BPFVM_ENDIAN_LE(1, 64));
    ASM_EQ("be16 r1\nbe32 r1\nbe64 r1", BPFVM_ENDIAN_BE(1, 16), BPFVM_ENDIAN_BE(1, 32),
           BPFVM_ENDIAN_BE(1, 64));
    ASM_EQ("bswap16 r1\nbswap32 r2\nbswap64 r3", BPFVM_BSWAP(1, 16), BPFVM_BSWAP(2, 32),
           BPFVM_BSWAP(3, 64));
    ASM_EQ("swap16 r1\nswap32 r2\nswap64 r3", BPFVM_BSWAP(1, 16), BPFVM_BSWAP(2, 32),
           BPFVM_BSWAP(3, 64));
    ASM_EQ("movsx8 r1, r2\nmovsx16 r1, r2\nmovsx32 r1, r2", BPFVM_MOVSX64_REG(1, 2, 8),
           BPFVM_MOVSX64_REG(1, 2, 16), BPFVM_MOVSX64_REG(1, 2, 32));
    ASM_EQ("movsx864 %r1, %r2\nmovsx1664 %r1, %r2\nmovsx3264 %r1, %r2\n"
           "movsx832 %r1, %r2\nmovsx1632 %r1, %r2",
           BPFVM_MOVSX64_REG(1, 2, 8), BPFVM_MOVSX64_REG(1, 2, 16), BPFVM_MOVSX64_REG(1, 2, 32),
           BPFVM_MOVSX32_REG(1, 2, 8), BPFVM_MOVSX32_REG(1, 2, 16));
}

static void test_classic_mem(void)
{
    ASM_EQ("lddw r0, 0x123456789abcdef0", BPFVM_LD_IMM64(0, 0x123456789abcdef0ull));
    ASM_EQ("lddw r1, -1", BPFVM_LD_IMM64(1, -1));
    ASM_EQ("lddw r1, 0xffffffffffffffff", BPFVM_LD_IMM64(1, -1));
    ASM_EQ("lddw r1, -9223372036854775808", BPFVM_LD_IMM64(1, 0x8000000000000000ull));
    ASM_EQ("ldxb r0, [r1]", BPFVM_LDX_MEM(BPFVM_B, 0, 1, 0));
    ASM_EQ("ldxh r0, [r1+2]", BPFVM_LDX_MEM(BPFVM_H, 0, 1, 2));
    ASM_EQ("ldxw r0, [ r1 + 4 ]", BPFVM_LDX_MEM(BPFVM_W, 0, 1, 4));
    ASM_EQ("ldxdw r0, [r10-8]", BPFVM_LDX_MEM(BPFVM_DW, 0, 10, -8));
    ASM_EQ("ldxdw r0, [r10 + -8]", BPFVM_LDX_MEM(BPFVM_DW, 0, 10, -8));
    ASM_EQ("ldxdw r0, [r1+32767]\nldxdw r0, [r1-32768]", BPFVM_LDX_MEM(BPFVM_DW, 0, 1, 32767),
           BPFVM_LDX_MEM(BPFVM_DW, 0, 1, -32768));
    ASM_EQ("ldxsb r0, [r1+1]\nldxsh r0, [r1+2]\nldxsw r0, [r1+4]",
           BPFVM_LDX_MEMSX(BPFVM_B, 0, 1, 1), BPFVM_LDX_MEMSX(BPFVM_H, 0, 1, 2),
           BPFVM_LDX_MEMSX(BPFVM_W, 0, 1, 4));
    ASM_EQ("stb [r1+1], 7\nsth [r1+2], -1\nstw [r1+4], 0xffffffff\nstdw [r10-8], 0x44332211",
           BPFVM_ST_MEM(BPFVM_B, 1, 1, 7), BPFVM_ST_MEM(BPFVM_H, 1, 2, -1),
           BPFVM_ST_MEM(BPFVM_W, 1, 4, -1), BPFVM_ST_MEM(BPFVM_DW, 10, -8, 0x44332211));
    ASM_EQ("stxb [r1], r2\nstxh [r1+2], r2\nstxw [r1+4], r2\nstxdw [r10-8], r2",
           BPFVM_STX_MEM(BPFVM_B, 1, 2, 0), BPFVM_STX_MEM(BPFVM_H, 1, 2, 2),
           BPFVM_STX_MEM(BPFVM_W, 1, 2, 4), BPFVM_STX_MEM(BPFVM_DW, 10, 2, -8));
    ASM_EQ("ldabsb 1\nldabsh 2\nldabsw 0x10\nldabsdw 8", BPFVM_LD_ABS(BPFVM_B, 1),
           BPFVM_LD_ABS(BPFVM_H, 2), BPFVM_LD_ABS(BPFVM_W, 16), BPFVM_LD_ABS(BPFVM_DW, 8));
    ASM_EQ("ldindb r1, 1\nldindh r2, -2\nldindw r3, 0\nldinddw r4, 8",
           BPFVM_LD_IND(BPFVM_B, 1, 1), BPFVM_LD_IND(BPFVM_H, 2, -2), BPFVM_LD_IND(BPFVM_W, 3, 0),
           BPFVM_LD_IND(BPFVM_DW, 4, 8));
}

static void test_classic_atomic(void)
{
    ASM_EQ("lock add [r1+0], r2", BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 1, 2, 0));
    ASM_EQ("lock add64 [r1+8], r2", BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 1, 2, 8));
    ASM_EQ("lock add32 [r1-4], r2", BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_ADD, 1, 2, -4));
    ASM_EQ("lock fetch add [r1], r2", BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD | BPFVM_FETCH, 1, 2, 0));
    ASM_EQ("lock fetch add32 [%r1+0], %r2",
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_ADD | BPFVM_FETCH, 1, 2, 0));
    ASM_EQ("lock or [r1], r2\nlock and [r1], r2\nlock xor [r1], r2",
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_OR, 1, 2, 0),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_AND, 1, 2, 0),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_XOR, 1, 2, 0));
    ASM_EQ("lock fetch or32 [r1], r2\nlock fetch and32 [r1], r2\nlock fetch xor32 [r1], r2",
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_OR | BPFVM_FETCH, 1, 2, 0),
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_AND | BPFVM_FETCH, 1, 2, 0),
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_XOR | BPFVM_FETCH, 1, 2, 0));
    ASM_EQ("lock xchg [r1], r2\nlock xchg32 [r1], r2\nlock cmpxchg [r1], r2\n"
           "lock cmpxchg32 [r1+2], r2",
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_XCHG, 1, 2, 0),
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_XCHG, 1, 2, 0),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_CMPXCHG, 1, 2, 0),
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_CMPXCHG, 1, 2, 2));
}

static void test_classic_jumps(void)
{
    ASM_EQ("ja +1\nja -1\nja 0", BPFVM_JA_OFF(1), BPFVM_JA_OFF(-1), BPFVM_JA_OFF(0));
    ASM_EQ("jeq r1, 0, +1\njne r1, r2, -3\njeq32 r1, -1, +2\njsgt32 r1, r2, +0",
           BPFVM_JMP_IMM(BPFVM_JEQ, 1, 0, 1), BPFVM_JMP_REG(BPFVM_JNE, 1, 2, -3),
           BPFVM_JMP32_IMM(BPFVM_JEQ, 1, -1, 2), BPFVM_JMP32_REG(BPFVM_JSGT, 1, 2, 0));
    ASM_EQ("jgt r1, 1, +1\njge r1, 1, +1\njlt r1, 1, +1\njle r1, 1, +1\njset r1, 1, +1",
           BPFVM_JMP_IMM(BPFVM_JGT, 1, 1, 1), BPFVM_JMP_IMM(BPFVM_JGE, 1, 1, 1),
           BPFVM_JMP_IMM(BPFVM_JLT, 1, 1, 1), BPFVM_JMP_IMM(BPFVM_JLE, 1, 1, 1),
           BPFVM_JMP_IMM(BPFVM_JSET, 1, 1, 1));
    ASM_EQ("jsgt r1, 1, +1\njsge r1, 1, +1\njslt r1, 1, +1\njsle r1, 1, +1",
           BPFVM_JMP_IMM(BPFVM_JSGT, 1, 1, 1), BPFVM_JMP_IMM(BPFVM_JSGE, 1, 1, 1),
           BPFVM_JMP_IMM(BPFVM_JSLT, 1, 1, 1), BPFVM_JMP_IMM(BPFVM_JSLE, 1, 1, 1));
    ASM_EQ("jne %r0, 0x88776655, +2", BPFVM_JMP_IMM(BPFVM_JNE, 0, (int32_t)0x88776655, 2));
    ASM_EQ("ja32 +5\ngotol -2", BPFVM_JA32(5), BPFVM_JA32(-2));
    ASM_EQ("call 5\ncall helper 6\ncallx r3\ncall %r2\ncall r4\nexit", BPFVM_CALL_HELPER(5),
           BPFVM_CALL_HELPER(6), BPFVM_CALLX(3), BPFVM_CALLX(2), BPFVM_CALLX(4), BPFVM_EXIT());
    ASM_EQ("call local +2\ncall pc-1\ncall local 3", BPFVM_CALL_LOCAL(2), BPFVM_CALL_LOCAL(-1),
           BPFVM_CALL_LOCAL(3));
}

static void test_labels(void)
{
    /* backward and forward, lddw counts two slots */
    ASM_EQ("  mov r0, 0\n"
           "loop:\n"
           "  add r0, 1\n"
           "  lddw r2, 0x100000000\n"
           "  jne r0, 10, loop   # back\n"
           "  ja done\n"
           "  mov r0, 0\n"
           "done: exit\n",
           BPFVM_MOV64_IMM(0, 0), BPFVM_ALU64_IMM(BPFVM_ADD, 0, 1),
           BPFVM_LD_IMM64(2, 0x100000000ull), BPFVM_JMP_IMM(BPFVM_JNE, 0, 10, -4),
           BPFVM_JA_OFF(1), BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT());
    /* local calls by label, `call local NAME` and a label on the same line */
    ASM_EQ("call func1\ncall local func1\nexit\nfunc1: mov r0, 1\nexit",
           BPFVM_CALL_LOCAL(2), BPFVM_CALL_LOCAL(1), BPFVM_EXIT(), BPFVM_MOV64_IMM(0, 1),
           BPFVM_EXIT());
    /* `exit` as a target means the first exit when no exit: label exists */
    ASM_EQ("jeq r1, 0, exit\nmov r0, 1\nexit\nexit\nja exit", BPFVM_JMP_IMM(BPFVM_JEQ, 1, 0, 1),
           BPFVM_MOV64_IMM(0, 1), BPFVM_EXIT(), BPFVM_EXIT(), BPFVM_JA_OFF(-3));
    ASM_EQ("ja exit\nexit\nexit:\nexit", BPFVM_JA_OFF(1), BPFVM_EXIT(), BPFVM_EXIT());
    /* gotol and ja32 take labels in imm */
    ASM_EQ("gotol end\nmov r0, 0\nend: exit", BPFVM_JA32(1), BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT());
    /* several labels on one slot, dots and digits in names */
    ASM_EQ("a: b.1:\n_c2: ja a\n", BPFVM_JA_OFF(-1));
}

static void test_comments_and_spacing(void)
{
    ASM_EQ("# full line\n; another\n// and another\n\n   \n\t mov r0, 1 ; trailing\n"
           "exit // done\r\nexit # conformance style\r\n",
           BPFVM_MOV64_IMM(0, 1), BPFVM_EXIT(), BPFVM_EXIT());
    bpfvm_insn *out;
    size_t count = 1;
    CHECK(bpfvm_asm("\n# nothing\n", NULL, &out, &count, NULL) == 0 && count == 0,
          "empty program assembles to 0 slots");
    free(out);
}

static void test_data(void)
{
    ASM_EQ(".8byte 0x00000001000000b7", BPFVM_MOV64_IMM(0, 1));
    ASM_EQ(".8byte 0xffffffffffffffff",
           BPFVM_INSN(0xff, 0xf, 0xf, -1, -1));
}

static void test_llvm(void)
{
    ASM_EQ("r0 = 1", BPFVM_MOV64_IMM(0, 1));
    ASM_EQ("w0 = -1\nw0 = 0xffffffff", BPFVM_MOV32_IMM(0, -1), BPFVM_MOV32_IMM(0, -1));
    ASM_EQ("r0 = r1\nw0 = w1", BPFVM_MOV64_REG(0, 1), BPFVM_MOV32_REG(0, 1));
    ASM_EQ("w1 += w2\nr1 -= 3\nr1 *= r2\nw1 /= 4\nr1 |= 5\nr1 &= -256\nr1 <<= 3\nw1 >>= w2",
           BPFVM_ALU32_REG(BPFVM_ADD, 1, 2), BPFVM_ALU64_IMM(BPFVM_SUB, 1, 3),
           BPFVM_ALU64_REG(BPFVM_MUL, 1, 2), BPFVM_ALU32_IMM(BPFVM_DIV, 1, 4),
           BPFVM_ALU64_IMM(BPFVM_OR, 1, 5), BPFVM_ALU64_IMM(BPFVM_AND, 1, -256),
           BPFVM_ALU64_IMM(BPFVM_LSH, 1, 3), BPFVM_ALU32_REG(BPFVM_RSH, 1, 2));
    ASM_EQ("r0 s>>= 3\nr0 %= r1\nr0 ^= 7", BPFVM_ALU64_IMM(BPFVM_ARSH, 0, 3),
           BPFVM_ALU64_REG(BPFVM_MOD, 0, 1), BPFVM_ALU64_IMM(BPFVM_XOR, 0, 7));
    ASM_EQ("r0 s/= r1\nr0 s%= r1\nw0 s/= 3", BPFVM_SDIV64_REG(0, 1), BPFVM_SMOD64_REG(0, 1),
           BPFVM_INSN(BPFVM_ALU | BPFVM_DIV, 0, 0, 1, 3));
    ASM_EQ("r0 = -r0\nw3 = -w3", BPFVM_NEG64(0), BPFVM_NEG32(3));
    ASM_EQ("r0 = be16 r0\nr0 = le64 r0\nr0 = bswap64 r0", BPFVM_ENDIAN_BE(0, 16),
           BPFVM_ENDIAN_LE(0, 64), BPFVM_BSWAP(0, 64));
    ASM_EQ("r0 = (s8)r1\nr0 = (s32)r1\nw0 = (s16)w1", BPFVM_MOVSX64_REG(0, 1, 8),
           BPFVM_MOVSX64_REG(0, 1, 32), BPFVM_MOVSX32_REG(0, 1, 16));
    ASM_EQ("r1 = 0x123456789 ll", BPFVM_LD_IMM64(1, 0x123456789ull));
    ASM_EQ("r1 = -8284514696 ll", BPFVM_LD_IMM64(1, 0xfffffffe12345678ull));
    ASM_EQ("r0 = *(u64 *)(r10 - 8)\nr0 = *(u8 *)(r1 + 0)\nw0 = *(u32 *)(r1 + 4)",
           BPFVM_LDX_MEM(BPFVM_DW, 0, 10, -8), BPFVM_LDX_MEM(BPFVM_B, 0, 1, 0),
           BPFVM_LDX_MEM(BPFVM_W, 0, 1, 4));
    ASM_EQ("r0 = *(s16 *)(r1 + 2)\nr0 = *(s8 *)(r1 - 1)\nr0 = *(s32 *)(r1 + 0)",
           BPFVM_LDX_MEMSX(BPFVM_H, 0, 1, 2), BPFVM_LDX_MEMSX(BPFVM_B, 0, 1, -1),
           BPFVM_LDX_MEMSX(BPFVM_W, 0, 1, 0));
    ASM_EQ("*(u32 *)(r1 + 4) = r2\n*(u8 *)(r1 + 0) = 7\n*(u64 *)(r10 - 8) = -1",
           BPFVM_STX_MEM(BPFVM_W, 1, 2, 4), BPFVM_ST_MEM(BPFVM_B, 1, 0, 7),
           BPFVM_ST_MEM(BPFVM_DW, 10, -8, -1));
    ASM_EQ("r0 = *(u32 *)skb[3]\nr0 = *(u8 *)skb[r3]\nr0 = *(u16 *)skb[r3 + 5]",
           BPFVM_LD_ABS(BPFVM_W, 3), BPFVM_LD_IND(BPFVM_B, 3, 0), BPFVM_LD_IND(BPFVM_H, 3, 5));
    ASM_EQ("if r1 s> 3 goto +2\nif w1 == w2 goto -1\nif r1 & 4 goto +0\nif r1 s<= r2 goto +1",
           BPFVM_JMP_IMM(BPFVM_JSGT, 1, 3, 2), BPFVM_JMP32_REG(BPFVM_JEQ, 1, 2, -1),
           BPFVM_JMP_IMM(BPFVM_JSET, 1, 4, 0), BPFVM_JMP_REG(BPFVM_JSLE, 1, 2, 1));
    ASM_EQ("if r1 >= 1 goto +1\nif r1 > 1 goto +1\nif r1 <= 1 goto +1\nif r1 < 1 goto +1\n"
           "if r1 != 1 goto +1\nif r1 s>= 1 goto +1\nif r1 s< 1 goto +1",
           BPFVM_JMP_IMM(BPFVM_JGE, 1, 1, 1), BPFVM_JMP_IMM(BPFVM_JGT, 1, 1, 1),
           BPFVM_JMP_IMM(BPFVM_JLE, 1, 1, 1), BPFVM_JMP_IMM(BPFVM_JLT, 1, 1, 1),
           BPFVM_JMP_IMM(BPFVM_JNE, 1, 1, 1), BPFVM_JMP_IMM(BPFVM_JSGE, 1, 1, 1),
           BPFVM_JMP_IMM(BPFVM_JSLT, 1, 1, 1));
    ASM_EQ("goto +3\ngotol -5\ncall 6\ncall pc+2\ncallx r2\nexit", BPFVM_JA_OFF(3), BPFVM_JA32(-5),
           BPFVM_CALL_HELPER(6), BPFVM_CALL_LOCAL(2), BPFVM_CALLX(2), BPFVM_EXIT());
    /* labels, and llvm-objdump's <symbol> notes after a target */
    ASM_EQ("start:\nif r1 == 0 goto done\ngoto start\ndone:\nexit\n"
           "if w9 s< w7 goto +0 <LBB0_2>",
           BPFVM_JMP_IMM(BPFVM_JEQ, 1, 0, 1), BPFVM_JA_OFF(-2), BPFVM_EXIT(),
           BPFVM_JMP32_REG(BPFVM_JSLT, 9, 7, 0));
    ASM_EQ("lock *(u64 *)(r1 + 0) += r2\nlock *(u32 *)(r1 + 8) |= r2\n"
           "lock *(u64 *)(r1 - 8) &= r2\nlock *(u32 *)(r1 + 0) ^= w2",
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 1, 2, 0), BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_OR, 1, 2, 8),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_AND, 1, 2, -8),
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_XOR, 1, 2, 0));
    ASM_EQ("r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)\n"
           "w2 = atomic_fetch_xor((u32 *)(r1 + 4), w2)\n"
           "r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)\n"
           "r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)",
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD | BPFVM_FETCH, 1, 0, 0),
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_XOR | BPFVM_FETCH, 1, 2, 4),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_AND | BPFVM_FETCH, 1, 2, 0),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_OR | BPFVM_FETCH, 1, 2, 0));
    ASM_EQ("r1 = xchg_64(r8 + 0, r1)\nw1 = xchg32_32(r8 + 4, w1)\n"
           "r0 = cmpxchg_64(r8 + 0, r0, r3)\nw0 = cmpxchg32_32(r8 - 4, w0, w3)",
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_XCHG, 8, 1, 0), BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_XCHG, 8, 1, 4),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_CMPXCHG, 8, 3, 0),
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_CMPXCHG, 8, 3, -4));
    /* both syntaxes in one file */
    ASM_EQ("mov r0, 0\nr0 += 1 ; llvm\nadd r0, 1 # classic\nexit",
           BPFVM_MOV64_IMM(0, 0), BPFVM_ALU64_IMM(BPFVM_ADD, 0, 1), BPFVM_ALU64_IMM(BPFVM_ADD, 0, 1),
           BPFVM_EXIT());

    ASM_ERR("r0 = w1", 1, 6, "rN or both wN");
    ASM_ERR("w0 += r1", 1, 7, "rN or both wN");
    ASM_ERR("r0 = -r1", 1, 6, "same register");
    ASM_ERR("r0 = *(u128 *)(r1 + 0)", 1, 8, "expected a type");
    ASM_ERR("r0 = *(u32 *)(r1 + 0", 1, 21, "expected ')'");
    ASM_ERR("if r1 ~ 3 goto +1", 1, 7, "expected a comparison");
    ASM_ERR("if r1 == 3 +1", 1, 12, "expected 'goto'");
    ASM_ERR("w0 = (s32)w1", 1, 1, "no such instruction");
    ASM_ERR("w1 = 1 ll", 1, 1, "needs an rN register");
    ASM_ERR("r0 = 0x1ffffffff", 1, 6, "out of range");
    ASM_ERR("r0 = 1 junk", 1, 8, "unexpected text");
    ASM_ERR("r1 = cmpxchg_64(r8 + 0, r0, r3)", 1, 1, "loads r0");
    ASM_ERR("lock *(u64 *)(r1 + 0) -= r2", 1, 23, "expected +=");
    ASM_ERR("r0 = *(u8 *)skb[r1 + 1", 1, 23, "expected ']'");
    ASM_ERR("r2 = *(u8 *)skb[1]", 1, 1, "packet loads");
    ASM_ERR("goto nowhere", 1, 6, "undefined label");
    ASM_ERR("w1 = xchg_64(r8 + 0, w1)", 1, 1, "xchg_64 takes rN registers");
    ASM_ERR("if w1 > r2 goto +1", 1, 9, "rN or both wN");
}

static void test_errors(void)
{
    ASM_ERR("mov r0, 1\nfoo r1, 2", 2, 1, "unknown mnemonic 'foo'");
    ASM_ERR("mov32 r0, 0x1ffffffff", 1, 11, "out of range");
    ASM_ERR("mov r0, -2147483649", 1, 9, "out of range");
    ASM_ERR("lddw r0, 0x10000000000000000", 1, 10, "64 bits");
    ASM_ERR("ldxw r0, [r1+32768]", 1, 14, "offset out of range");
    ASM_ERR("ldxw r0, [r1-32769]", 1, 14, "offset out of range");
    ASM_ERR("jeq r1, 0, +32768", 1, 12, "offset out of range");
    ASM_ERR("mov r11, 1", 1, 5, "out of range");
    ASM_ERR("mov r0", 1, 5, "expects a destination register");
    ASM_ERR("ja nowhere", 1, 4, "undefined label 'nowhere'");
    ASM_ERR("x:\nx: exit", 2, 1, "already defined on line 1");
    ASM_ERR("ldxw r0, r1", 1, 6, "[register+offset]");
    ASM_ERR("ldxw r0, [r1+4", 1, 15, "expected ']'");
    ASM_ERR("mov r0, 1 2", 1, 11, "expected ','");
    ASM_ERR("add r0, 12abc", 1, 9, "invalid number");
    ASM_ERR("exit r0", 1, 6, "expects no operands");
    ASM_ERR("lock nand [r1], r2", 1, 1, "unknown mnemonic 'lock nand'");
    ASM_ERR("r1: exit", 1, 1, "register name");
    ASM_ERR("mov r0, 1, 2, 3, 4", 1, 15, "too many operands");
    ASM_ERR("mov r0, 0x", 1, 9, "hex digits");
    /* a jump too far for 16 bits */
    {
        size_t n = 40000;
        char *text = malloc(n * 11 + 32);
        char *q = text;
        q += sprintf(q, "ja far\n");
        for (size_t i = 0; i < n; i++)
            q += sprintf(q, "mov r0, 1\n");
        sprintf(q, "far: exit\n");
        ASM_ERR(text, 1, 4, "too far");
        free(text);
    }
}

/* Hostile input: long lines, binary bytes, deep garbage; nothing may crash. */
static void test_hostile(void)
{
    size_t n = 1 << 20;
    char *text = malloc(n + 1);
    memset(text, 'a', n);
    text[n] = 0;
    bpfvm_insn *out;
    size_t count;
    bpfvm_error err;
    CHECK(bpfvm_asm(text, NULL, &out, &count, &err) == BPFVM_EASM, "long identifier");
    CHECK(strncmp(err.message, "<input>:1:1: ", 13) == 0, "%s", err.message);
    memset(text, ' ', n);
    memcpy(text + n - 6, "exit  ", 6);
    CHECK(bpfvm_asm(text, NULL, &out, &count, &err) == 0 && count == 1, "long blank prefix");
    free(out);
    memset(text, '9', n);
    CHECK(bpfvm_asm(text, NULL, &out, &count, &err) == BPFVM_EASM, "long number");
    for (size_t i = 0; i < n; i++)
        text[i] = (char)(1 + (i * 7919) % 255);
    CHECK(bpfvm_asm(text, NULL, &out, &count, &err) == BPFVM_EASM, "binary garbage");
    memset(text, '[', n);
    CHECK(bpfvm_asm(text, NULL, &out, &count, &err) == BPFVM_EASM, "brackets");
    free(text);
    CHECK(bpfvm_asm(NULL, NULL, &out, &count, &err) == BPFVM_EINVAL, "NULL text");
    CHECK(bpfvm_asm("exit", NULL, &out, &count, NULL) == 0 && count == 1, "err may be NULL");
    free(out);
    CHECK(bpfvm_asm("bogus", NULL, &out, &count, NULL) == BPFVM_EASM, "err may be NULL on error");
}

/* Random lines built from the assembler's own tokens: every one must either
 * assemble or fail with a positioned error, never crash (run under ASan). */
static void test_token_soup(void)
{
    static const char *const tok[] = {
        "r0", "r10", "w1", "%r2", "r11", "[", "]", "+", "-", ",", "(", ")", "*", "=", "+=",
        "s>>=", "s/=", "<<=", "0x", "0x7fffffff", "-2147483648", "4294967296", "99999999999999999999",
        "lock", "fetch", "add", "add32", "mov", "lddw", "ldxw", "stxdw", "ja", "jeq", "call", "local",
        "pc", "exit", "if", "goto", "gotol", "ll", "(u32 *)", "(s8)", "*(u64 *)", "skb", "xchg_64",
        "cmpxchg_64", "atomic_fetch_add", "le16", "bswap64", ".8byte", "lbl:", "lbl", "#", ";", "//",
        ":", "<", ">", "\t", "movsx832", "callx", "u8", "1", "-1", "+3", "\r",
    };
    uint32_t x = 12345;
    int ok = 0, failed = 0, other = 0;
    for (int i = 0; i < 20000; i++) {
        char line[512];
        size_t len = 0;
        int words = 1 + (int)(x % 9);
        for (int w = 0; w < words; w++) {
            x = x * 1103515245u + 12345u;
            const char *t = tok[(x >> 8) % (sizeof tok / sizeof tok[0])];
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", t, (x >> 4) & 1 ? " " : "");
        }
        bpfvm_insn *out = NULL;
        size_t count = 0;
        bpfvm_error err;
        int rc = bpfvm_asm(line, "soup", &out, &count, &err);
        if (rc == 0)
            ok++;
        else if (rc == BPFVM_EASM && err.line == 1 && err.column >= 1 &&
                 (size_t)err.column <= len + 1 && strncmp(err.message, "soup:1:", 7) == 0)
            failed++;
        else
            other++;
        free(out);
    }
    CHECK(other == 0, "%d results were neither success nor a positioned error", other);
    CHECK(ok > 0 && failed > 0, "soup: %d assembled, %d rejected", ok, failed);
}

/* Many labels: the table grows and every reference resolves to its own. */
static void test_many_labels(void)
{
    size_t n = 100 * 1024;
    char *text = malloc(n * 40);
    char *q = text;
    /* each jump goes somewhere in its own block of 1024 slots */
#define MANY_TARGET(i) (((i) & ~(size_t)1023) | (((i) * 7919) & 1023))
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "L%zu: jeq r1, %zu, L%zu\n", i, i, MANY_TARGET(i));
    bpfvm_insn *out = NULL;
    size_t count = 0;
    bpfvm_error err;
    int rc = bpfvm_asm(text, "many", &out, &count, &err);
    CHECK(rc == 0 && count == n, "many labels: %s", rc ? err.message : "");
    size_t bad = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        long long target = (long long)i + 1 + out[i].off;
        if (target != (long long)MANY_TARGET(i) || out[i].imm != (int32_t)i)
            bad++;
    }
    CHECK(bad == 0, "%zu jumps resolved wrongly", bad);
    free(out);
    free(text);
}

int main(void)
{
    test_classic_alu();
    test_classic_mem();
    test_classic_atomic();
    test_classic_jumps();
    test_labels();
    test_llvm();
    test_comments_and_spacing();
    test_data();
    test_errors();
    test_hostile();
    test_token_soup();
    test_many_labels();
    return TEST_END();
}
