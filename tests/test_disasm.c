/* test_disasm.c - the disassembler: exact texts in both syntaxes, data slots,
 * JSON, labels, and the exhaustive round trip assemble(disassemble(x)) == x
 * over every row of the opcode table; the control-flow graph. */
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "internal.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t bits(const bpfvm_insn *in)
{
    uint64_t v;
    memcpy(&v, in, 8);
    return v;
}

/* One instruction (1 or 2 slots) must print as `classic` and `llvm`. */
static void text_eq(int line, const bpfvm_insn *in, size_t n, const char *classic,
                    const char *llvm)
{
    char buf[200];
    int used = bpfvm_disasm_insn(in, n, 0, 0, buf, sizeof buf);
    CHECK(used == (int)n, "line %d: used %d slots", line, used);
    CHECK(strcmp(buf, classic) == 0, "line %d: classic '%s', want '%s'", line, buf, classic);
    bpfvm_disasm_insn(in, n, 0, BPFVM_DISASM_LLVM, buf, sizeof buf);
    CHECK(strcmp(buf, llvm) == 0, "line %d: llvm '%s', want '%s'", line, buf, llvm);
}

#define TEXT_EQ(classic, llvm, ...)                                    \
    do {                                                               \
        const bpfvm_insn in_[] = { __VA_ARGS__ };                      \
        text_eq(__LINE__, in_, N(in_), classic, llvm);                 \
    } while (0)

static void test_texts(void)
{
    TEXT_EQ("mov64 r0, 1", "r0 = 1", BPFVM_MOV64_IMM(0, 1));
    TEXT_EQ("mov32 r1, -1", "w1 = -1", BPFVM_MOV32_IMM(1, -1));
    TEXT_EQ("mov64 r1, 0x12345678", "r1 = 305419896", BPFVM_MOV64_IMM(1, 0x12345678));
    TEXT_EQ("jne r0, 0x88776655, +1", "if r0 != -2005440939 goto +1",
            BPFVM_JMP_IMM(BPFVM_JNE, 0, (int32_t)0x88776655, 1));
    TEXT_EQ("stdw [r10-8], -65535", "*(u64 *)(r10 - 8) = -65535",
            BPFVM_ST_MEM(BPFVM_DW, 10, -8, -65535));
    TEXT_EQ("mov64 r1, r2", "r1 = r2", BPFVM_MOV64_REG(1, 2));
    TEXT_EQ("mov32 r1, r2", "w1 = w2", BPFVM_MOV32_REG(1, 2));
    TEXT_EQ("add32 r1, r2", "w1 += w2", BPFVM_ALU32_REG(BPFVM_ADD, 1, 2));
    TEXT_EQ("and64 r1, -256", "r1 &= -256", BPFVM_ALU64_IMM(BPFVM_AND, 1, -256));
    TEXT_EQ("arsh64 r3, 63", "r3 s>>= 63", BPFVM_ALU64_IMM(BPFVM_ARSH, 3, 63));
    TEXT_EQ("lsh32 r3, r4", "w3 <<= w4", BPFVM_ALU32_REG(BPFVM_LSH, 3, 4));
    TEXT_EQ("sdiv64 r1, r2", "r1 s/= r2", BPFVM_SDIV64_REG(1, 2));
    TEXT_EQ("smod64 r1, r2", "r1 s%= r2", BPFVM_SMOD64_REG(1, 2));
    TEXT_EQ("smod32 r1, 7", "w1 s%= 7", BPFVM_INSN(BPFVM_ALU | BPFVM_MOD, 1, 0, 1, 7));
    TEXT_EQ("mod64 r1, r2", "r1 %= r2", BPFVM_ALU64_REG(BPFVM_MOD, 1, 2));
    TEXT_EQ("neg64 r1", "r1 = -r1", BPFVM_NEG64(1));
    TEXT_EQ("neg32 r1", "w1 = -w1", BPFVM_NEG32(1));
    TEXT_EQ("le16 r1", "r1 = le16 r1", BPFVM_ENDIAN_LE(1, 16));
    TEXT_EQ("be64 r2", "r2 = be64 r2", BPFVM_ENDIAN_BE(2, 64));
    TEXT_EQ("bswap32 r2", "r2 = bswap32 r2", BPFVM_BSWAP(2, 32));
    TEXT_EQ("movsx864 r1, r2", "r1 = (s8)r2", BPFVM_MOVSX64_REG(1, 2, 8));
    TEXT_EQ("movsx3264 r1, r2", "r1 = (s32)r2", BPFVM_MOVSX64_REG(1, 2, 32));
    TEXT_EQ("movsx1632 r1, r2", "w1 = (s16)w2", BPFVM_MOVSX32_REG(1, 2, 16));
    TEXT_EQ("lddw r1, 0x123456789", "r1 = 4886718345 ll", BPFVM_LD_IMM64(1, 0x123456789ull));
    TEXT_EQ("lddw r1, 0xfffffffe12345678", "r1 = -8284514696 ll",
            BPFVM_LD_IMM64(1, 0xfffffffe12345678ull));
    TEXT_EQ("ldxw r0, [r1+4]", "r0 = *(u32 *)(r1 + 4)", BPFVM_LDX_MEM(BPFVM_W, 0, 1, 4));
    TEXT_EQ("ldxdw r0, [r10-8]", "r0 = *(u64 *)(r10 - 8)", BPFVM_LDX_MEM(BPFVM_DW, 0, 10, -8));
    TEXT_EQ("ldxsh r0, [r1+2]", "r0 = *(s16 *)(r1 + 2)", BPFVM_LDX_MEMSX(BPFVM_H, 0, 1, 2));
    TEXT_EQ("stb [r1+0], 7", "*(u8 *)(r1 + 0) = 7", BPFVM_ST_MEM(BPFVM_B, 1, 0, 7));
    TEXT_EQ("stxw [r1+4], r2", "*(u32 *)(r1 + 4) = r2", BPFVM_STX_MEM(BPFVM_W, 1, 2, 4));
    TEXT_EQ("lock add64 [r1+0], r2", "lock *(u64 *)(r1 + 0) += r2",
            BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 1, 2, 0));
    TEXT_EQ("lock xor32 [r1+8], r2", "lock *(u32 *)(r1 + 8) ^= r2",
            BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_XOR, 1, 2, 8));
    TEXT_EQ("lock fetch add64 [r1+0], r0", "r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)",
            BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD | BPFVM_FETCH, 1, 0, 0));
    TEXT_EQ("lock fetch or32 [r1-4], r3", "w3 = atomic_fetch_or((u32 *)(r1 - 4), w3)",
            BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_OR | BPFVM_FETCH, 1, 3, -4));
    TEXT_EQ("lock xchg64 [r1+0], r2", "r2 = xchg_64(r1 + 0, r2)",
            BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_XCHG, 1, 2, 0));
    TEXT_EQ("lock cmpxchg32 [r1+0], r2", "w0 = cmpxchg32_32(r1 + 0, w0, w2)",
            BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_CMPXCHG, 1, 2, 0));
    TEXT_EQ("ldabsw 3", "r0 = *(u32 *)skb[3]", BPFVM_LD_ABS(BPFVM_W, 3));
    TEXT_EQ("ldindb r3, 0", "r0 = *(u8 *)skb[r3]", BPFVM_LD_IND(BPFVM_B, 3, 0));
    TEXT_EQ("ldindh r3, 5", "r0 = *(u16 *)skb[r3 + 5]", BPFVM_LD_IND(BPFVM_H, 3, 5));
    TEXT_EQ("jsgt r1, 3, +2", "if r1 s> 3 goto +2", BPFVM_JMP_IMM(BPFVM_JSGT, 1, 3, 2));
    TEXT_EQ("jne32 r1, r2, -1", "if w1 != w2 goto -1", BPFVM_JMP32_REG(BPFVM_JNE, 1, 2, -1));
    TEXT_EQ("jset r1, r2, +0", "if r1 & r2 goto +0", BPFVM_JMP_REG(BPFVM_JSET, 1, 2, 0));
    TEXT_EQ("ja +3", "goto +3", BPFVM_JA_OFF(3));
    TEXT_EQ("ja32 -70000", "gotol -70000", BPFVM_JA32(-70000));
    TEXT_EQ("call 6", "call 6", BPFVM_CALL_HELPER(6));
    TEXT_EQ("call local +4", "call pc+4", BPFVM_CALL_LOCAL(4));
    TEXT_EQ("callx r3", "callx r3", BPFVM_CALLX(3));
    TEXT_EQ("exit", "exit", BPFVM_EXIT());
    /* data */
    TEXT_EQ(".8byte 0x00000000000000ff # not a valid instruction",
            ".8byte 0x00000000000000ff # not a valid instruction", BPFVM_INSN(0xff, 0, 0, 0, 0));
    TEXT_EQ(".8byte 0x0000000000000bb7 # destination register out of range",
            ".8byte 0x0000000000000bb7 # destination register out of range",
            BPFVM_INSN(0xb7, 11, 0, 0, 0));
}

/* Text of a whole program. */
static char *disasm(const bpfvm_insn *in, size_t n, unsigned flags)
{
    char *out = NULL;
    int rc = bpfvm_disasm(in, n, flags, &out);
    CHECK(rc == 0 && out, "bpfvm_disasm flags %u: %d", flags, rc);
    return out;
}

/* assemble(disassemble(prog)) == prog, for one set of flags. */
static int round_trip(const bpfvm_insn *prog, size_t n, unsigned flags)
{
    char *text = disasm(prog, n, flags);
    bpfvm_insn *back = NULL;
    size_t count = 0;
    bpfvm_error err;
    int ok = 0;
    if (!text)
        return 0;
    int rc = bpfvm_asm(text, "disasm", &back, &count, &err);
    CHECK(rc == 0, "flags %u: reassembly failed: %s", flags, rc ? err.message : "");
    if (rc == 0) {
        ok = count == n;
        for (size_t i = 0; ok && i < n; i++)
            if (bits(&back[i]) != bits(&prog[i])) {
                char a[200];
                bpfvm_disasm_insn(prog, n, i, flags, a, sizeof a);
                CHECK(0, "flags %u: slot %zu: %016llx came back as %016llx (%s)", flags, i,
                      (unsigned long long)bits(&prog[i]), (unsigned long long)bits(&back[i]), a);
                ok = 0;
            }
        CHECK(count == n, "flags %u: %zu slots came back as %zu", flags, n, count);
    }
    free(back);
    free(text);
    return ok;
}

static const int regs[] = { 0, 1, 5, 9, 10 };
static const int16_t offs[] = { 0, 1, -1, 2, -3, 100, INT16_MAX, INT16_MIN };
static const int32_t imms[] = { 0, 1, -1, 2, -2, 0x12345678, INT32_MAX, INT32_MIN };

/* Which fields a row takes as operands (same meaning as its format). */
static void row_fields(int fmt, int *d, int *s, int *o, int *i)
{
    *d = *s = *o = *i = 0;
    switch (fmt) {
    case BPFVM__FMT_ALU_K: *d = *i = 1; break;
    case BPFVM__FMT_ALU_X: *d = *s = 1; break;
    case BPFVM__FMT_NEG: case BPFVM__FMT_END: case BPFVM__FMT_CALLX: *d = 1; break;
    case BPFVM__FMT_JMP_K: *d = *i = *o = 1; break;
    case BPFVM__FMT_JMP_X: *d = *s = *o = 1; break;
    case BPFVM__FMT_JA: *o = 1; break;
    case BPFVM__FMT_JA32: case BPFVM__FMT_CALL: case BPFVM__FMT_CALL_LOCAL:
    case BPFVM__FMT_LDABS: *i = 1; break;
    case BPFVM__FMT_LDX: case BPFVM__FMT_STX: case BPFVM__FMT_ATOMIC: *d = *s = *o = 1; break;
    case BPFVM__FMT_ST: *d = *o = *i = 1; break;
    case BPFVM__FMT_LDDW: *d = *i = 1; break;
    case BPFVM__FMT_LDIND: *s = *i = 1; break;
    default: break;
    }
}

/* Every row with varied fields: each operand field runs through its edge
 * values while the others take a rotating value. */
static size_t gen_all_rows(bpfvm_insn *out, size_t cap, size_t *rows_seen)
{
    size_t n = 0;
    *rows_seen = 0;
    for (int r = 0; r < BPFVM__OP_COUNT; r++) {
        const bpfvm__opinfo *op = &bpfvm__ops[r];
        int d, s, o, i;
        row_fields(op->fmt, &d, &s, &o, &i);
        for (size_t k = 0; k < 8 && n + 2 <= cap; k++) {
            int dst = d ? regs[k % N(regs)] : 0;
            int src = s ? regs[(k + 2) % N(regs)] : 0;
            int off = o ? offs[k] : 0;
            int32_t imm = i ? imms[(k * 3) % N(imms)] : 0;
            if (op->disc == BPFVM__DISC_OFF)
                off = op->value;
            if (op->disc == BPFVM__DISC_IMM)
                imm = op->value;
            if (op->disc == BPFVM__DISC_SRC)
                src = op->value;
            out[n] = BPFVM_INSN(op->code, dst, src, off, imm);
            CHECK(bpfvm__decode(&out[n]) == r, "row %s variant %zu decodes", op->name, k);
            n++;
            if (op->fmt == BPFVM__FMT_LDDW)
                out[n++] = BPFVM_INSN(0, 0, 0, 0, imms[(k + 5) % N(imms)]);
        }
        (*rows_seen)++;
    }
    return n;
}

static void test_round_trip(void)
{
    static bpfvm_insn prog[BPFVM__OP_COUNT * 16 + 4096];
    size_t rows;
    size_t n = gen_all_rows(prog, N(prog), &rows);
    CHECK(rows == BPFVM__OP_COUNT, "all %d rows generated", BPFVM__OP_COUNT);

    /* each row's text names it (classic) and is not data */
    for (size_t i = 0; i < n;) {
        char buf[200];
        int row = bpfvm__decode(&prog[i]);
        int used = bpfvm_disasm_insn(prog, n, i, 0, buf, sizeof buf);
        CHECK(row >= 0 && strncmp(buf, bpfvm__ops[row].mnemonic,
                                  strlen(bpfvm__ops[row].mnemonic)) == 0,
              "slot %zu prints as '%s'", i, buf);
        i += (size_t)used;
    }
    static const unsigned flag_sets[] = {
        0, BPFVM_DISASM_LLVM, BPFVM_DISASM_LABELS, BPFVM_DISASM_LLVM | BPFVM_DISASM_LABELS,
    };
    for (size_t f = 0; f < N(flag_sets); f++)
        CHECK(round_trip(prog, n, flag_sets[f]), "all rows, flags %u", flag_sets[f]);

    /* each row alone, so no label or neighbour can hide a problem */
    for (size_t i = 0; i < n;) {
        int row = bpfvm__decode(&prog[i]);
        size_t len = bpfvm__ops[row].fmt == BPFVM__FMT_LDDW ? 2 : 1;
        for (size_t f = 0; f < N(flag_sets); f++)
            round_trip(&prog[i], len, flag_sets[f]);
        i += len;
    }

    /* random slots: mostly data, some valid; every one must come back */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t m = 4096;
    for (size_t i = 0; i < m; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = x;
        if (i % 3 == 0) /* a valid opcode byte with random fields */
            v = (v & ~0xffull) | bpfvm__ops[(v >> 40) % BPFVM__OP_COUNT].code;
        if (i % 7 == 0) /* small registers and fields, often valid */
            v &= 0x0000000f00ff11ffull;
        memcpy(&prog[i], &v, 8);
    }
    for (size_t f = 0; f < N(flag_sets); f++)
        CHECK(round_trip(prog, m, flag_sets[f]), "random slots, flags %u", flag_sets[f]);
}

static void test_labels_and_index(void)
{
    const bpfvm_insn prog[] = {
        BPFVM_MOV64_IMM(0, 0),                 /* 0 */
        BPFVM_JMP_IMM(BPFVM_JEQ, 1, 0, 3),     /* 1 -> 5 */
        BPFVM_LD_IMM64(2, 1),                  /* 2, 3 */
        BPFVM_JA_OFF(-2),                      /* 4 -> 3: inside lddw, stays an offset */
        BPFVM_CALL_LOCAL(1),                   /* 5 -> 7 */
        BPFVM_EXIT(),                          /* 6 */
        BPFVM_JA_OFF(-1),                      /* 7 -> 7 */
        BPFVM_JA_OFF(0),                       /* 8 -> 9 = end */
    };
    char *t = disasm(prog, N(prog), BPFVM_DISASM_LABELS);
    const char *want = "mov64 r0, 0\n"
                       "jeq r1, 0, lbl_5\n"
                       "lddw r2, 0x1\n"
                       "ja -2\n"
                       "lbl_5:\n"
                       "call local lbl_7\n"
                       "exit\n"
                       "lbl_7:\n"
                       "ja lbl_7\n"
                       "ja lbl_9\n"
                       "lbl_9:\n";
    CHECK(t && strcmp(t, want) == 0, "labels:\n%s", t ? t : "");
    free(t);
    t = disasm(prog, N(prog), BPFVM_DISASM_LABELS | BPFVM_DISASM_LLVM);
    CHECK(t && strstr(t, "if r1 == 0 goto lbl_5\n") && strstr(t, "call lbl_7\n") &&
              strstr(t, "goto -2\n"),
          "llvm labels:\n%s", t ? t : "");
    free(t);
    t = disasm(prog, N(prog), BPFVM_DISASM_INDEX);
    CHECK(t && strncmp(t, "     0: mov64 r0, 0\n     1: jeq r1, 0, +3\n     2: lddw", 51) == 0 &&
              strstr(t, "     4: ja -2\n"),
          "index:\n%s", t ? t : "");
    free(t);
    CHECK(round_trip(prog, N(prog), BPFVM_DISASM_LABELS), "labels round trip");
}

static void test_json(void)
{
    const bpfvm_insn prog[] = {
        BPFVM_LD_IMM64(1, -2),
        BPFVM_INSN(0xff, 1, 2, 3, 4),
        BPFVM_STX_MEM(BPFVM_W, 1, 2, -4),
    };
    char *t = disasm(prog, N(prog), BPFVM_DISASM_JSON);
    const char *want =
        "[\n"
        "  {\"index\": 0, \"opcode\": 24, \"mnemonic\": \"lddw\", \"dst\": 1, \"src\": 0, "
        "\"off\": 0, \"imm\": -2, \"text\": \"lddw r1, 0xfffffffffffffffe\"},\n"
        "  {\"index\": 2, \"opcode\": 255, \"mnemonic\": \".8byte\", \"dst\": 1, \"src\": 2, "
        "\"off\": 3, \"imm\": 4, \"text\": \".8byte 0x00000004000321ff # not a valid instruction\"},\n"
        "  {\"index\": 3, \"opcode\": 99, \"mnemonic\": \"stxw\", \"dst\": 1, \"src\": 2, "
        "\"off\": -4, \"imm\": 0, \"text\": \"stxw [r1-4], r2\"}\n"
        "]\n";
    CHECK(t && strcmp(t, want) == 0, "json:\n%s", t ? t : "");
    free(t);
    t = disasm(prog, N(prog), BPFVM_DISASM_JSON | BPFVM_DISASM_LLVM);
    CHECK(t && strstr(t, "\"text\": \"*(u32 *)(r1 - 4) = r2\""), "json llvm:\n%s", t ? t : "");
    free(t);
    t = disasm(prog, 0, BPFVM_DISASM_JSON);
    CHECK(t && strcmp(t, "[\n]\n") == 0, "empty json '%s'", t ? t : "");
    free(t);
}

static void test_malformed(void)
{
    char buf[200];
    /* lddw at the end, lddw with a bad second slot, reserved fields */
    const bpfvm_insn a[] = { BPFVM_INSN(0x18, 1, 0, 0, 5) };
    bpfvm_disasm_insn(a, 1, 0, 0, buf, sizeof buf);
    CHECK(strstr(buf, ".8byte 0x0000000500000118 # lddw without") == buf, "%s", buf);
    const bpfvm_insn b[] = { BPFVM_INSN(0x18, 1, 0, 0, 5), BPFVM_INSN(0, 1, 0, 0, 0) };
    CHECK(bpfvm_disasm_insn(b, 2, 0, 0, buf, sizeof buf) == 1 && strstr(buf, ".8byte") == buf,
          "%s", buf);
    const bpfvm_insn c[] = { BPFVM_INSN(0x95, 0, 0, 1, 0), BPFVM_INSN(0xb7, 11, 0, 0, 0),
                             BPFVM_INSN(0xdc, 1, 0, 0, 17), BPFVM_INSN(0xdb, 1, 2, 0, 0x02) };
    for (size_t i = 0; i < N(c); i++) {
        bpfvm_disasm_insn(c, N(c), i, BPFVM_DISASM_LLVM, buf, sizeof buf);
        CHECK(strncmp(buf, ".8byte 0x", 9) == 0 && strstr(buf, " # "), "slot %zu: %s", i, buf);
    }
    CHECK(round_trip(c, N(c), 0) && round_trip(b, 2, BPFVM_DISASM_LLVM), "data round trip");
    /* small and zero-sized buffers, out-of-range index */
    const bpfvm_insn d[] = { BPFVM_LD_IMM64(1, 0x123456789ull) };
    CHECK(bpfvm_disasm_insn(d, 2, 0, 0, buf, 5) == 2 && strcmp(buf, "lddw") == 0, "'%s'", buf);
    CHECK(bpfvm_disasm_insn(d, 2, 0, 0, buf, 0) == 2, "size 0");
    CHECK(bpfvm_disasm_insn(d, 2, 0, 0, NULL, 0) == 2, "NULL buffer");
    bpfvm_disasm_insn(d, 2, 9, 0, buf, sizeof buf);
    CHECK(buf[0] == '#', "index out of range: '%s'", buf);
    char *out = (char *)1;
    CHECK(bpfvm_disasm(NULL, 3, 0, &out) == BPFVM_EINVAL && out == NULL, "NULL insns");
    CHECK(bpfvm_disasm(d, 2, 0, NULL) == BPFVM_EINVAL, "NULL out");
    CHECK(bpfvm_cfg_dot(NULL, 3, &out) == BPFVM_EINVAL, "cfg NULL insns");
}

/* ---- CFG: parse the DOT back -------------------------------------------- */

typedef struct edge {
    size_t from, to;
    char label[16];
    int dashed;
} edge;

typedef struct graph {
    size_t nodes[64];
    size_t nnodes;
    edge edges[64];
    size_t nedges;
} graph;

/* A quoted DOT string at *p; returns 0 if malformed. Escapes must be \" \\ or \l. */
static int dot_string(const char **p, char *out, size_t size)
{
    const char *s = *p;
    size_t n = 0;
    if (*s++ != '"')
        return 0;
    for (; *s && *s != '"'; s++) {
        if (*s == '\\') {
            s++;
            if (*s != '"' && *s != '\\' && *s != 'l')
                return 0;
        }
        if (n + 1 < size)
            out[n++] = *s;
    }
    if (*s != '"')
        return 0;
    out[n] = 0;
    *p = s + 1;
    return 1;
}

/* Parse the subset of DOT bpfvm_cfg_dot writes; 0 if it is not well-formed. */
static int parse_dot(const char *t, graph *g)
{
    memset(g, 0, sizeof *g);
    const char *head = "digraph bpf {\n  node [shape=box, fontname=\"monospace\"];\n";
    if (strncmp(t, head, strlen(head)) != 0)
        return 0;
    const char *p = t + strlen(head);
    while (strncmp(p, "  b", 3) == 0) {
        char *e;
        size_t a = strtoul(p + 3, &e, 10);
        p = e;
        char text[4096];
        if (strncmp(p, " [label=", 8) == 0) {
            p += 8;
            if (!dot_string(&p, text, sizeof text) || strncmp(p, "];\n", 3) != 0)
                return 0;
            p += 3;
            if (g->nnodes < 64)
                g->nodes[g->nnodes++] = a;
        } else if (strncmp(p, " -> b", 5) == 0) {
            edge *ed = &g->edges[g->nedges < 63 ? g->nedges++ : 63];
            ed->from = a;
            ed->to = strtoul(p + 5, &e, 10);
            p = e;
            if (strncmp(p, " [label=", 8) != 0)
                return 0;
            p += 8;
            if (!dot_string(&p, ed->label, sizeof ed->label))
                return 0;
            ed->dashed = strncmp(p, ", style=dashed", 14) == 0;
            if (ed->dashed)
                p += 14;
            if (strncmp(p, "];\n", 3) != 0)
                return 0;
            p += 3;
        } else {
            return 0;
        }
    }
    if (strcmp(p, "}\n") != 0)
        return 0;
    /* every edge joins declared nodes */
    for (size_t i = 0; i < g->nedges; i++) {
        int from = 0, to = 0;
        for (size_t k = 0; k < g->nnodes; k++) {
            from |= g->nodes[k] == g->edges[i].from;
            to |= g->nodes[k] == g->edges[i].to;
        }
        if (!from || !to)
            return 0;
    }
    return 1;
}

static int has_edge(const graph *g, size_t from, size_t to, const char *label)
{
    for (size_t i = 0; i < g->nedges; i++)
        if (g->edges[i].from == from && g->edges[i].to == to &&
            strcmp(g->edges[i].label, label) == 0 &&
            g->edges[i].dashed == (strcmp(label, "call") == 0))
            return 1;
    return 0;
}

static char *cfg_of(const char *src, graph *g)
{
    bpfvm_insn *prog;
    size_t n;
    bpfvm_error err;
    char *dot = NULL;
    if (bpfvm_asm(src, "cfg", &prog, &n, &err) != 0) {
        CHECK(0, "assemble: %s", err.message);
        return NULL;
    }
    CHECK(bpfvm_cfg_dot(prog, n, &dot) == 0 && dot, "cfg_dot");
    free(prog);
    CHECK(dot && parse_dot(dot, g), "well-formed DOT:\n%s", dot ? dot : "");
    return dot;
}

/* If graphviz is installed, it must accept the graph. */
static void render(const char *dot)
{
    if (system("command -v dot >/dev/null 2>&1") != 0)
        return;
    FILE *f = popen("dot -Tsvg >/dev/null", "w");
    CHECK(f != NULL, "popen dot");
    if (!f)
        return;
    fputs(dot, f);
    CHECK(pclose(f) == 0, "dot -Tsvg accepts:\n%s", dot);
}

static void test_cfg(void)
{
    graph g;
    /* a loop with a conditional exit */
    char *dot = cfg_of("  mov r0, 0\n"        /* 0 */
                       "loop:\n"
                       "  add r0, 1\n"        /* 1 */
                       "  jeq r0, 10, out\n"  /* 2 */
                       "  ja loop\n"          /* 3 */
                       "out:\n"
                       "  exit\n",            /* 4 */
                       &g);
    CHECK(g.nnodes == 4 && g.nedges == 4, "loop: %zu nodes %zu edges", g.nnodes, g.nedges);
    CHECK(has_edge(&g, 0, 1, "fallthrough") && has_edge(&g, 1, 4, "taken") &&
              has_edge(&g, 1, 3, "fallthrough") && has_edge(&g, 3, 1, "taken"),
          "loop edges:\n%s", dot ? dot : "");
    if (dot)
        render(dot);
    free(dot);

    /* local calls, lddw inside a block, quotes and backslashes escaped */
    dot = cfg_of("  lddw r1, 0x22\n"      /* 0, 1 */
                 "  call f\n"             /* 2 */
                 "  jsgt r0, 5, +1\n"     /* 3 */
                 "  mov r0, 0\n"          /* 4 */
                 "  exit\n"               /* 5 */
                 "f:\n"
                 "  mov r0, r1\n"         /* 6 */
                 "  exit\n",              /* 7 */
                 &g);
    CHECK(g.nnodes == 4, "calls: %zu nodes", g.nnodes);
    CHECK(has_edge(&g, 0, 6, "call") && has_edge(&g, 0, 5, "taken") &&
              has_edge(&g, 0, 4, "fallthrough") && has_edge(&g, 4, 5, "fallthrough") &&
              g.nedges == 4,
          "call edges:\n%s", dot ? dot : "");
    CHECK(dot && strstr(dot, "0: lddw r1, 0x22\\l2: call local +3\\l"), "%s", dot ? dot : "");
    if (dot)
        render(dot);
    free(dot);

    /* data slots and out-of-range jumps do not break the graph */
    const bpfvm_insn odd[] = { BPFVM_JA_OFF(100), BPFVM_INSN(0xff, 0, 0, 0, 0),
                               BPFVM_JMP_IMM(BPFVM_JEQ, 1, 0, -2), BPFVM_EXIT() };
    CHECK(bpfvm_cfg_dot(odd, N(odd), &dot) == 0 && parse_dot(dot, &g), "odd graph");
    CHECK(has_edge(&g, 1, 1, "taken") && has_edge(&g, 1, 3, "fallthrough") && g.nnodes == 3,
          "odd edges:\n%s", dot);
    free(dot);
    CHECK(bpfvm_cfg_dot(odd, 0, &dot) == 0 && parse_dot(dot, &g) && g.nnodes == 0, "empty");
    free(dot);
}

/* docs/syntax.md has a table row for every row of the opcode table. */
static void test_doc_table(void)
{
    FILE *f = fopen("docs/syntax.md", "rb");
    CHECK(f != NULL, "docs/syntax.md readable (tests run from the top directory)");
    if (!f)
        return;
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = 0;
    fclose(f);
    for (int r = 0; r < BPFVM__OP_COUNT; r++) {
        const bpfvm__opinfo *op = &bpfvm__ops[r];
        char want[96], disc[32] = "";
        if (op->disc == BPFVM__DISC_OFF)
            snprintf(disc, sizeof disc, "off = %d", op->value);
        if (op->disc == BPFVM__DISC_IMM)
            snprintf(disc, sizeof disc, "imm = 0x%02x", op->value);
        if (op->disc == BPFVM__DISC_SRC)
            snprintf(disc, sizeof disc, "src = %d", op->value);
        snprintf(want, sizeof want, "| 0x%02x | %s | `%s", op->code, disc, op->mnemonic);
        CHECK(strstr(doc, want) != NULL, "docs/syntax.md lacks '%s'", want);
    }
}

int main(void)
{
    test_texts();
    test_round_trip();
    test_labels_and_index();
    test_json();
    test_malformed();
    test_cfg();
    test_doc_table();
    return TEST_END();
}
