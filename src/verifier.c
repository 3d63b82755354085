/* verifier.c - the built-in structural verifier, run at load.
 *
 * One pass over the instructions: each is decoded against the opcode table
 * (opcodes.def), its fields are checked against its format, then every check
 * of the `checks` table whose formats include the instruction's runs on it.
 * Whole-program checks (size, falling off the end) run around the pass.
 * Every problem is reported with the index of the instruction it is about;
 * the pass goes on after a problem so that all of them are reported.
 *
 * To add a check: write a check_fn and add a row to `checks`.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

typedef struct verifier {
    const bpfvm_insn *insns;
    size_t count;
    bpfvm_report_fn report;
    void *user;
    bpfvm_error *first;
    size_t problems;
    bool control_only; /* only the checks marked `control` (bpfvm__verify_control) */
} verifier;

static void problem(verifier *v, int64_t insn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Record one problem: "instruction N: what" (or just "what" with no index). */
static void problem(verifier *v, int64_t insn, const char *fmt, ...)
{
    bpfvm_error e;
    char what[sizeof(e.message)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (insn >= 0)
        bpfvm__set_error(&e, BPFVM_EVERIFY, insn, "instruction %lld: %s", (long long)insn, what);
    else
        bpfvm__set_error(&e, BPFVM_EVERIFY, insn, "%s", what);
    if (v->problems++ == 0 && v->first)
        *v->first = e;
    if (v->report)
        v->report(v->user, &e);
}

/* ---- per-instruction checks --------------------------------------------- */

typedef void (*check_fn)(verifier *v, size_t i, int op, const bpfvm_insn *insn);

/* Formats whose dst register is written. */
static void check_dst_write(verifier *v, size_t i, int op, const bpfvm_insn *insn)
{
    if (insn->dst == BPFVM_R10)
        problem(v, (int64_t)i, "%s writes r10, the read-only frame pointer",
                bpfvm__ops[op].mnemonic);
}

/* Fetching atomics (and xchg, cmpxchg) write the old value to src. */
static void check_atomic(verifier *v, size_t i, int op, const bpfvm_insn *insn)
{
    if ((insn->imm & BPFVM_FETCH) && insn->imm != BPFVM_CMPXCHG && insn->src == BPFVM_R10)
        problem(v, (int64_t)i, "%s writes r10, the read-only frame pointer",
                bpfvm__ops[op].mnemonic);
}

/* lddw needs a second slot that carries only the upper immediate. */
static void check_lddw(verifier *v, size_t i, int op, const bpfvm_insn *insn)
{
    (void)op;
    (void)insn;
    if (i + 1 >= v->count) {
        problem(v, (int64_t)i, "incomplete lddw: the program ends before its second slot");
        return;
    }
    const bpfvm_insn *next = &v->insns[i + 1];
    if (next->opcode || next->dst || next->src || next->off)
        problem(v, (int64_t)i,
                "malformed lddw: its second slot (instruction %zu) must be zero except imm", i + 1);
}

/* The slot a jump or local call goes to, relative to the next slot. */
static int64_t target_of(size_t i, int op, const bpfvm_insn *insn)
{
    int fmt = bpfvm__ops[op].fmt;
    int64_t rel = fmt == BPFVM__FMT_JA32 || fmt == BPFVM__FMT_CALL_LOCAL ? insn->imm : insn->off;
    return (int64_t)i + 1 + rel;
}

static void check_jump(verifier *v, size_t i, int op, const bpfvm_insn *insn)
{
    int64_t t = target_of(i, op, insn);
    const char *what = bpfvm__ops[op].fmt == BPFVM__FMT_CALL_LOCAL ? "call" : "jump";

    if (t < 0 || t >= (int64_t)v->count)
        problem(v, (int64_t)i, "%s target %lld is outside the program (0..%zu)", what,
                (long long)t, v->count - 1);
    else if (t > 0 && v->insns[t - 1].opcode == (BPFVM_LD | BPFVM_IMM | BPFVM_DW))
        problem(v, (int64_t)i, "%s target %lld is the second slot of the lddw at %lld", what,
                (long long)t, (long long)t - 1);
}

static void check_self_jump(verifier *v, size_t i, int op, const bpfvm_insn *insn)
{
    if (target_of(i, op, insn) == (int64_t)i)
        problem(v, (int64_t)i, "%s jumps to itself: infinite loop", bpfvm__ops[op].mnemonic);
}

#define F(fmt) (1u << BPFVM__FMT_##fmt)

/* Which check runs on which formats. `control`: the check keeps execution
 * inside the program's instructions, so it runs even without verification. */
static const struct {
    unsigned formats;
    check_fn fn;
    bool control;
} checks[] = {
    { F(ALU_K) | F(ALU_X) | F(NEG) | F(END) | F(LDX) | F(LDDW), check_dst_write, false },
    { F(ATOMIC),                                               check_atomic,    false },
    { F(LDDW),                                                 check_lddw,      false },
    { F(JMP_K) | F(JMP_X) | F(JA) | F(JA32) | F(CALL_LOCAL),   check_jump,      true },
    { F(JA) | F(JA32),                                         check_self_jump, false },
};

/* Why a slot matches no row: the opcode byte is unknown, or the field that
 * tells its rows apart has a value no row has. */
static void report_undecodable(verifier *v, size_t i, const bpfvm_insn *insn)
{
    int row = -1;
    for (int r = 0; r < BPFVM__OP_COUNT && row < 0; r++)
        if (bpfvm__ops[r].code == insn->opcode)
            row = r;
    if (row < 0) {
        problem(v, (int64_t)i, "unknown opcode 0x%02x", insn->opcode);
        return;
    }
    switch (bpfvm__ops[row].fmt) {
    case BPFVM__FMT_END:
        problem(v, (int64_t)i, "invalid byte-swap width %d (must be 16, 32 or 64)", insn->imm);
        break;
    case BPFVM__FMT_ATOMIC:
        problem(v, (int64_t)i, "invalid atomic operation 0x%x", (unsigned)insn->imm);
        break;
    case BPFVM__FMT_LDDW:
        problem(v, (int64_t)i,
                "lddw with src %u: map and pseudo lddw forms are not supported yet", insn->src);
        break;
    case BPFVM__FMT_CALL:
    case BPFVM__FMT_CALL_LOCAL:
        problem(v, (int64_t)i, "unsupported call kind (src %u; 0 = helper, 1 = local call)",
                insn->src);
        break;
    default: /* the offset tells the rows apart (sdiv, smod, movsx) */
        problem(v, (int64_t)i, "invalid offset %d for opcode 0x%02x (%s)", insn->off,
                insn->opcode, bpfvm__ops[row].mnemonic);
        break;
    }
}

static int verify(verifier v)
{
    const bpfvm_insn *insns = v.insns;
    size_t count = v.count;
    size_t last = 0; /* index of the last instruction (not slot) */

    if (count == 0) {
        problem(&v, -1, "empty program");
        return BPFVM_EVERIFY;
    }
    if (count > BPFVM_MAX_INSNS) {
        problem(&v, -1, "program has %zu instructions, more than the limit of %u", count,
                BPFVM_MAX_INSNS);
        return BPFVM_EVERIFY;
    }
    for (size_t i = 0; i < count; i++) {
        const bpfvm_insn *insn = &insns[i];
        int op = bpfvm__decode(insn);
        last = i;
        if (op < 0) {
            if (!v.control_only)
                report_undecodable(&v, i, insn);
            if (insn->opcode == (BPFVM_LD | BPFVM_IMM | BPFVM_DW))
                i++; /* still two slots wide */
            continue;
        }
        const char *why = v.control_only ? NULL : bpfvm__check_fields(op, insn);
        if (why) {
            problem(&v, (int64_t)i, "invalid %s: %s", bpfvm__ops[op].mnemonic, why);
            continue;
        }
        for (size_t c = 0; c < sizeof(checks) / sizeof(checks[0]); c++)
            if ((checks[c].formats & (1u << bpfvm__ops[op].fmt)) &&
                (checks[c].control || !v.control_only))
                checks[c].fn(&v, i, op, insn);
        if (op == BPFVM__OP_LDDW)
            i++; /* the second slot was checked with it */
    }
    int last_op = bpfvm__decode(&insns[last]);
    if (last_op >= 0 && last_op != BPFVM__OP_EXIT && last_op != BPFVM__OP_JA &&
        last_op != BPFVM__OP_JA32)
        problem(&v, (int64_t)last,
                "execution can fall off the end of the program: the last instruction must be "
                "exit or ja");
    return v.problems ? BPFVM_EVERIFY : 0;
}

int bpfvm__verify(const bpfvm_vm *vm, const bpfvm_insn *insns, size_t count,
                  bpfvm_report_fn report, void *user, bpfvm_error *first)
{
    verifier v = { insns, count, report, user, first, 0, false };
    (void)vm;
    return verify(v);
}

int bpfvm__verify_control(const bpfvm_insn *insns, size_t count, bpfvm_error *first)
{
    verifier v = { insns, count, NULL, NULL, first, 0, true };
    return verify(v);
}

int bpfvm_verify(const bpfvm_vm *vm, const bpfvm_insn *insns, size_t count,
                 bpfvm_report_fn report, void *user, bpfvm_error *first)
{
    if (!insns && count)
        return bpfvm__set_error(first, BPFVM_EINVAL, -1, "no instructions");
    return bpfvm__verify(vm, insns, count, report, user, first);
}
