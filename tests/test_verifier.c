/* test_verifier.c - the built-in verifier: a table of programs, each
 * accepted or rejected with an expected message and instruction index. */
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAXP 8

typedef struct {
    const char *name;
    bpfvm_insn prog[MAXP];
    size_t n;           /* slots */
    const char *msg;    /* NULL: accepted; else a substring of the first problem */
    int64_t insn;       /* index of the first problem */
} vcase;

#define OK(name, n, ...)              { name, { __VA_ARGS__ }, n, NULL, -1 }
#define BAD(name, msg, at, n, ...)    { name, { __VA_ARGS__ }, n, msg, at }

#define EXIT BPFVM_EXIT()
#define MOV0 BPFVM_MOV64_IMM(BPFVM_R0, 0)
#define RAW(op, d, s, o, i) BPFVM_INSN(op, d, s, o, i)

static const vcase cases[] = {
    /* accepted (each also passes the control-flow and data-flow checks:
     * r0 set before exit, no dead code; see test_verify_deep.c) */
    OK("mov and exit", 2, MOV0, EXIT),
    OK("ends with ja", 4, MOV0, BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R0, 0, 1), EXIT, BPFVM_JA_OFF(-2)),
    OK("ends with ja32", 4, MOV0, BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R0, 0, 1), EXIT,
       BPFVM_JA32(-2)),
    OK("div by constant zero", 3, MOV0, BPFVM_ALU64_IMM(BPFVM_DIV, BPFVM_R0, 0), EXIT),
    OK("mod32 by constant zero", 3, MOV0, BPFVM_ALU32_IMM(BPFVM_MOD, BPFVM_R0, 0), EXIT),
    OK("callx", 3, MOV0, BPFVM_CALLX(BPFVM_R1), EXIT),
    OK("unregistered helper", 2, BPFVM_CALL_HELPER(123456), EXIT),
    OK("store through r10", 4, BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, 1),
       BPFVM_STX_MEM(BPFVM_DW, BPFVM_R10, BPFVM_R10, -16), MOV0, EXIT),
    OK("read r10", 2, BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R10), EXIT),
    OK("non-fetch atomic with src r10", 3, MOV0,
       BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, BPFVM_R10, BPFVM_R10, -8), EXIT),
    OK("cmpxchg with src r10", 3, MOV0,
       BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_CMPXCHG, BPFVM_R10, BPFVM_R10, -8), EXIT),
    OK("lddw", 3, BPFVM_LD_IMM64(BPFVM_R0, 0x123456789ull), EXIT),
    OK("jump over lddw", 5, MOV0, BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R1, 0, 2),
       BPFVM_LD_IMM64(BPFVM_R0, 1), EXIT),
    OK("jump to last", 4, MOV0, BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R1, 0, 1), MOV0, EXIT),
    OK("local call", 4, BPFVM_CALL_LOCAL(1), EXIT, MOV0, EXIT),
    OK("conditional jump to itself", 3, MOV0, BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R1, 1, -1), EXIT),
    OK("sdiv/smod/movsx", 5, MOV0, BPFVM_SDIV64_REG(BPFVM_R0, BPFVM_R1),
       BPFVM_SMOD64_REG(BPFVM_R0, BPFVM_R1), BPFVM_MOVSX64_REG(BPFVM_R0, BPFVM_R1, 8), EXIT),
    OK("packet loads", 3, BPFVM_LD_ABS(BPFVM_W, 0), BPFVM_LD_IND(BPFVM_B, BPFVM_R1, -1), EXIT),

    /* unknown opcodes and invalid fields */
    BAD("opcode 0xff", "unknown opcode 0xff", 0, 2, RAW(0xff, 0, 0, 0, 0), EXIT),
    BAD("opcode 0x00", "unknown opcode 0x00", 1, 3, MOV0, RAW(0x00, 0, 0, 0, 0), EXIT),
    BAD("dst r11", "destination register out of range", 0, 2, BPFVM_MOV64_IMM(11, 1), EXIT),
    BAD("src r12", "source register out of range", 0, 2, BPFVM_MOV64_REG(BPFVM_R0, 12), EXIT),
    BAD("nonzero src in K form", "nonzero src field", 0, 2,
        RAW(BPFVM_ALU64 | BPFVM_K | BPFVM_ADD, 0, 1, 0, 1), EXIT),
    BAD("nonzero off in ALU", "nonzero off field", 0, 2,
        RAW(BPFVM_ALU64 | BPFVM_K | BPFVM_ADD, 0, 0, 3, 1), EXIT),
    BAD("nonzero imm in X form", "nonzero imm field", 0, 2,
        RAW(BPFVM_ALU64 | BPFVM_X | BPFVM_ADD, 0, 1, 0, 1), EXIT),
    BAD("nonzero imm in exit", "nonzero imm field", 0, 1, RAW(BPFVM_JMP | BPFVM_EXIT_OP, 0, 0, 0, 1)),
    BAD("sdiv with off 2", "invalid offset 2", 0, 2,
        RAW(BPFVM_ALU64 | BPFVM_X | BPFVM_DIV, 0, 1, 2, 0), EXIT),
    BAD("movsx with off 24", "invalid offset 24", 0, 2,
        RAW(BPFVM_ALU64 | BPFVM_X | BPFVM_MOV, 0, 1, 24, 0), EXIT),
    BAD("movsx32 from 32", "invalid offset 32", 0, 2,
        RAW(BPFVM_ALU | BPFVM_X | BPFVM_MOV, 0, 1, 32, 0), EXIT),
    BAD("bad byte-swap width", "byte-swap width 8", 0, 2, BPFVM_ENDIAN_BE(BPFVM_R0, 8), EXIT),
    BAD("bad bswap width", "byte-swap width 48", 0, 2, BPFVM_BSWAP(BPFVM_R0, 48), EXIT),
    BAD("bad atomic op", "invalid atomic operation 0x10", 0, 2,
        BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_SUB, BPFVM_R10, BPFVM_R1, -8), EXIT),
    BAD("bad atomic op fetch bit", "invalid atomic operation 0xe0", 0, 2,
        BPFVM_ATOMIC_OP(BPFVM_W, 0xe0, BPFVM_R10, BPFVM_R1, -8), EXIT),
    BAD("atomic on bytes", "unknown opcode 0xd3", 0, 2,
        RAW(BPFVM_STX | BPFVM_ATOMIC | BPFVM_B, BPFVM_R10, 1, -8, BPFVM_ADD), EXIT),
    BAD("call src 2", "unsupported call kind (src 2", 0, 2,
        RAW(BPFVM_JMP | BPFVM_CALL, 0, 2, 0, 1), EXIT),

    /* writes to r10 */
    BAD("mov to r10", "writes r10", 0, 2, BPFVM_MOV64_IMM(BPFVM_R10, 0), EXIT),
    BAD("add32 to r10", "writes r10", 1, 3, MOV0, BPFVM_ALU32_REG(BPFVM_ADD, BPFVM_R10, BPFVM_R0),
        EXIT),
    BAD("neg r10", "writes r10", 0, 2, BPFVM_NEG64(BPFVM_R10), EXIT),
    BAD("be16 r10", "writes r10", 0, 2, BPFVM_ENDIAN_BE(BPFVM_R10, 16), EXIT),
    BAD("load into r10", "writes r10", 0, 2, BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R10, BPFVM_R10, -8),
        EXIT),
    BAD("lddw into r10", "writes r10", 0, 3, BPFVM_LD_IMM64(BPFVM_R10, 1), EXIT),
    BAD("fetch add into r10", "writes r10", 0, 2,
        BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD | BPFVM_FETCH, BPFVM_R1, BPFVM_R10, 0), EXIT),
    BAD("xchg into r10", "writes r10", 0, 2,
        BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_XCHG, BPFVM_R1, BPFVM_R10, 0), EXIT),

    /* lddw */
    BAD("lddw in the last slot", "incomplete lddw", 1, 2, MOV0,
        RAW(BPFVM_LD | BPFVM_IMM | BPFVM_DW, 0, 0, 0, 1)),
    BAD("lddw second slot opcode", "second slot (instruction 1) must be zero", 0, 3,
        RAW(BPFVM_LD | BPFVM_IMM | BPFVM_DW, 0, 0, 0, 1), RAW(0x04, 0, 0, 0, 0), EXIT),
    BAD("lddw second slot dst", "must be zero except imm", 0, 3,
        RAW(BPFVM_LD | BPFVM_IMM | BPFVM_DW, 0, 0, 0, 1), RAW(0, 1, 0, 0, 5), EXIT),
    BAD("lddw second slot off", "must be zero except imm", 0, 3,
        RAW(BPFVM_LD | BPFVM_IMM | BPFVM_DW, 0, 0, 0, 1), RAW(0, 0, 0, 1, 5), EXIT),
    BAD("map lddw", "map and pseudo lddw forms are not supported yet", 0, 3,
        RAW(BPFVM_LD | BPFVM_IMM | BPFVM_DW, 0, 1, 0, 1), RAW(0, 0, 0, 0, 0), EXIT),
    BAD("lddw nonzero off", "nonzero off field", 0, 3,
        RAW(BPFVM_LD | BPFVM_IMM | BPFVM_DW, 0, 0, 7, 1), RAW(0, 0, 0, 0, 0), EXIT),

    /* jump and call targets */
    BAD("jump past the end", "jump target 3 is outside the program", 0, 2,
        BPFVM_JA_OFF(2), EXIT),
    BAD("jump before the start", "jump target -1 is outside", 1, 3, MOV0,
        BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R0, 0, -3), EXIT),
    BAD("jmp32 out", "outside the program", 0, 2, BPFVM_JMP32_REG(BPFVM_JGT, 0, 1, 100), EXIT),
    BAD("ja32 out", "jump target 70001 is outside", 0, 2, BPFVM_JA32(70000), EXIT),
    BAD("into lddw", "second slot of the lddw at 1", 0, 4,
        BPFVM_JA_OFF(1), BPFVM_LD_IMM64(BPFVM_R0, 1), EXIT),
    BAD("call into lddw", "call target 2 is the second slot", 0, 4,
        BPFVM_CALL_LOCAL(1), BPFVM_LD_IMM64(BPFVM_R0, 1), EXIT),
    BAD("call out", "call target 5 is outside", 0, 2, BPFVM_CALL_LOCAL(4), EXIT),
    BAD("call before", "call target -1 is outside", 0, 2, BPFVM_CALL_LOCAL(-2), EXIT),
    BAD("ja -1", "jumps to itself", 1, 3, MOV0, BPFVM_JA_OFF(-1), EXIT),
    BAD("ja32 -1", "jumps to itself", 1, 3, MOV0, BPFVM_JA32(-1), EXIT),

    /* falling off the end */
    BAD("no exit", "fall off the end", 0, 1, MOV0),
    BAD("conditional jump last", "fall off the end", 1, 2, MOV0,
        BPFVM_JMP_IMM(BPFVM_JEQ, BPFVM_R0, 0, -2)),
    BAD("call last", "fall off the end", 1, 2, MOV0, BPFVM_CALL_HELPER(1)),
    BAD("lddw last", "fall off the end", 1, 3, MOV0, BPFVM_LD_IMM64(BPFVM_R0, 1)),
};

/* Collects reported problems. */
typedef struct {
    int n;
    int64_t insns[16];
} reports;

static void collect(void *user, const bpfvm_error *e)
{
    reports *r = user;
    if (r->n < 16)
        r->insns[r->n] = e->insn;
    r->n++;
}

static void test_table(void)
{
    for (size_t i = 0; i < COUNT(cases); i++) {
        const vcase *c = &cases[i];
        bpfvm_error first;
        reports r = { 0, { 0 } };
        if (c->n == 0)
            continue;
        int rc = bpfvm_verify(NULL, c->prog, c->n, collect, &r, &first);
        if (!c->msg) {
            CHECK(rc == 0 && r.n == 0, "%s: accepted expected, got %d: %s", c->name, rc,
                  rc ? first.message : "");
        } else {
            CHECK(rc == BPFVM_EVERIFY && first.code == BPFVM_EVERIFY && first.insn == c->insn &&
                      strstr(first.message, c->msg) && r.n >= 1 && r.insns[0] == c->insn,
                  "%s: want '%s' at %lld, got rc %d at %lld: %s", c->name, c->msg,
                  (long long)c->insn, rc, (long long)first.insn, first.message);
        }
        /* bpfvm_load agrees */
        bpfvm_vm *vm = bpfvm_create();
        int lrc = bpfvm_load(vm, c->prog, c->n * sizeof(bpfvm_insn));
        CHECK(c->msg ? lrc == BPFVM_EVERIFY && bpfvm_last_error(vm)->insn == c->insn
                     : lrc == 0,
              "%s: load rc %d: %s", c->name, lrc, bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);
    }
}

static void test_whole_program(void)
{
    bpfvm_error first;
    bpfvm_insn exit_insn = BPFVM_EXIT();
    /* empty */
    CHECK(bpfvm_verify(NULL, &exit_insn, 0, NULL, NULL, &first) == BPFVM_EVERIFY &&
              strstr(first.message, "empty") && first.insn == -1, "empty: %s", first.message);
    /* too long (the verifier stops before reading the instructions) */
    CHECK(bpfvm_verify(NULL, &exit_insn, (size_t)BPFVM_MAX_INSNS + 1, NULL, NULL, &first) ==
              BPFVM_EVERIFY && strstr(first.message, "limit"), "too long: %s", first.message);
    /* the length of raw bytecode must be a multiple of 8 */
    bpfvm_vm *vm = bpfvm_create();
    CHECK(bpfvm_load(vm, &exit_insn, 7) == BPFVM_EVERIFY &&
              strstr(bpfvm_last_error(vm)->message, "multiple of 8"), "length");
    bpfvm_destroy(vm);
    /* NULL program */
    CHECK(bpfvm_verify(NULL, NULL, 3, NULL, NULL, &first) == BPFVM_EINVAL, "NULL");
    /* every problem is reported, in order; first holds the first */
    bpfvm_insn multi[] = {
        BPFVM_MOV64_IMM(BPFVM_R10, 1),
        BPFVM_INSN(0xff, 0, 0, 0, 0),
        BPFVM_JA_OFF(10),
        BPFVM_MOV64_IMM(BPFVM_R0, 0),
    };
    reports r = { 0, { 0 } };
    CHECK(bpfvm_verify(NULL, multi, COUNT(multi), collect, &r, &first) == BPFVM_EVERIFY,
          "multi rejected");
    CHECK(r.n == 4 && r.insns[0] == 0 && r.insns[1] == 1 && r.insns[2] == 2 && r.insns[3] == 3,
          "multi: %d problems", r.n);
    CHECK(first.insn == 0 && strstr(first.message, "r10"), "multi first: %s", first.message);
    /* report and first may both be NULL */
    CHECK(bpfvm_verify(NULL, multi, COUNT(multi), NULL, NULL, NULL) == BPFVM_EVERIFY, "no out");
    /* a maximal program is accepted */
    static bpfvm_insn big[BPFVM_MAX_INSNS];
    for (size_t i = 0; i + 1 < COUNT(big); i++)
        big[i] = BPFVM_MOV64_IMM(BPFVM_R0, 1);
    big[COUNT(big) - 1] = BPFVM_EXIT();
    CHECK(bpfvm_verify(NULL, big, COUNT(big), NULL, NULL, &first) == 0, "max size");
}

/* The user verifier: after the built-in one, or replacing it. */
static int reject_all(void *user, const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
    int *calls = user;
    (void)insns;
    ++*calls;
    snprintf(err->message, sizeof(err->message), "no thanks (%zu)", count);
    err->insn = 0;
    return 1;
}

static void test_user_verifier(void)
{
    int calls = 0;
    bpfvm_insn good[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_EXIT() };
    bpfvm_insn bad[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_JA_OFF(-1), BPFVM_EXIT() };
    bpfvm_vm *vm = bpfvm_create();
    CHECK(bpfvm_set_verifier(vm, reject_all, &calls, BPFVM_VERIFY_AFTER) == 0, "set");
    CHECK(bpfvm_load(vm, bad, sizeof(bad)) == BPFVM_EVERIFY && calls == 0 &&
              strstr(bpfvm_last_error(vm)->message, "itself"), "built-in first");
    CHECK(bpfvm_load(vm, good, sizeof(good)) == BPFVM_EVERIFY && calls == 1 &&
              strstr(bpfvm_last_error(vm)->message, "no thanks (2)"), "then the user's");
    CHECK(bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE) == 0, "replace, none");
    CHECK(bpfvm_load(vm, bad, sizeof(bad)) == 0, "no verification");
    /* ... except that execution must stay inside the program */
    bpfvm_insn r10[] = { BPFVM_MOV64_IMM(BPFVM_R10, 0), BPFVM_INSN(0x07, 0, 3, 5, 0), BPFVM_EXIT() };
    CHECK(bpfvm_load(vm, r10, sizeof(r10)) == 0, "r10 write and bad fields accepted");
    bpfvm_insn out[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_JA_OFF(5), BPFVM_EXIT() };
    CHECK(bpfvm_load(vm, out, sizeof(out)) == BPFVM_EVERIFY &&
              bpfvm_last_error(vm)->insn == 1 &&
              strstr(bpfvm_last_error(vm)->message, "outside the program"), "jump out: %s",
          bpfvm_last_error(vm)->message);
    bpfvm_insn mid[] = { BPFVM_CALL_LOCAL(1), BPFVM_LD_IMM64(BPFVM_R0, 1), BPFVM_EXIT() };
    CHECK(bpfvm_load(vm, mid, sizeof(mid)) == BPFVM_EVERIFY &&
              strstr(bpfvm_last_error(vm)->message, "second slot"), "call into lddw");
    bpfvm_insn fall[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_EXIT(), BPFVM_MOV64_IMM(BPFVM_R0, 1) };
    CHECK(bpfvm_load(vm, fall, sizeof(fall)) == BPFVM_EVERIFY &&
              bpfvm_last_error(vm)->insn == 2, "falls off the end");
    /* with a user verifier too */
    CHECK(bpfvm_set_verifier(vm, reject_all, &calls, BPFVM_VERIFY_REPLACE) == 0, "replace");
    CHECK(bpfvm_load(vm, out, sizeof(out)) == BPFVM_EVERIFY && calls == 1, "control first");
    CHECK(bpfvm_load(vm, bad, sizeof(bad)) == BPFVM_EVERIFY && calls == 2, "then the user's");
    bpfvm_destroy(vm);
}

int main(void)
{
    test_table();
    test_whole_program();
    test_user_verifier();
    return TEST_END();
}
