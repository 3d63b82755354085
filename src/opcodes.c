/* opcodes.c - the instruction table (opcodes.def) as data, and decoding. */
#include "internal.h"

const bpfvm__opinfo bpfvm__ops[BPFVM__OP_COUNT] = {
#define INSN(name, code, mnem, fmt, disc, value, group)                                  \
    { #name, mnem, code, BPFVM__FMT_##fmt, BPFVM__DISC_##disc, BPFVM__GROUP_##group, value },
#include "opcodes.def"
};

static int32_t disc_field(const bpfvm__opinfo *op, const bpfvm_insn *insn)
{
    switch (op->disc) {
    case BPFVM__DISC_OFF: return insn->off;
    case BPFVM__DISC_IMM: return insn->imm;
    case BPFVM__DISC_SRC: return insn->src;
    default: return 0;
    }
}

/* 1 + the last row of each opcode byte (0: no row). Rows are listed in
 * opcode order, so each byte's last row is the one that stays. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
_Static_assert(BPFVM__OP_COUNT < 256, "row numbers must fit in a byte");
static const uint8_t last_row[256] = {
#define INSN(name, code, mnem, fmt, disc, value, group) [code] = BPFVM__OP_##name + 1,
#include "opcodes.def"
};
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

int bpfvm__decode(const bpfvm_insn *insn)
{
    if (bpfvm__is_func_lddw(insn)) /* a function's slot: an lddw of a constant to the engines */
        return BPFVM__OP_LDDW;
    /* The (at most ten) rows sharing the opcode byte, from the last. */
    for (int i = last_row[insn->opcode] - 1; i >= 0 && bpfvm__ops[i].code == insn->opcode; i--) {
        const bpfvm__opinfo *op = &bpfvm__ops[i];
        if (op->disc == BPFVM__DISC_NONE || disc_field(op, insn) == op->value)
            return i;
    }
    return -1;
}

/* Which fields a format uses as operands. */
enum { F_DST = 1, F_SRC = 2, F_OFF = 4, F_IMM = 8 };

static unsigned operand_fields(int fmt)
{
    switch (fmt) {
    case BPFVM__FMT_ALU_K:      return F_DST | F_IMM;
    case BPFVM__FMT_ALU_X:      return F_DST | F_SRC;
    case BPFVM__FMT_NEG:        return F_DST;
    case BPFVM__FMT_END:        return F_DST;
    case BPFVM__FMT_JMP_K:      return F_DST | F_IMM | F_OFF;
    case BPFVM__FMT_JMP_X:      return F_DST | F_SRC | F_OFF;
    case BPFVM__FMT_JA:         return F_OFF;
    case BPFVM__FMT_JA32:       return F_IMM;
    case BPFVM__FMT_CALL:       return F_IMM;
    case BPFVM__FMT_CALL_LOCAL: return F_IMM;
    case BPFVM__FMT_CALLX:      return F_DST;
    case BPFVM__FMT_EXIT:       return 0;
    case BPFVM__FMT_LDX:        return F_DST | F_SRC | F_OFF;
    case BPFVM__FMT_ST:         return F_DST | F_OFF | F_IMM;
    case BPFVM__FMT_STX:        return F_DST | F_SRC | F_OFF;
    case BPFVM__FMT_ATOMIC:     return F_DST | F_SRC | F_OFF;
    case BPFVM__FMT_LDDW:       return F_DST | F_IMM;
    case BPFVM__FMT_LDABS:      return F_IMM;
    case BPFVM__FMT_LDIND:      return F_SRC | F_IMM;
    default:                    return 0;
    }
}

const char *bpfvm__check_fields(int opid, const bpfvm_insn *insn)
{
    const bpfvm__opinfo *op = &bpfvm__ops[opid];
    unsigned used = operand_fields(op->fmt);
    unsigned disc = op->disc == BPFVM__DISC_OFF ? F_OFF
                  : op->disc == BPFVM__DISC_IMM ? F_IMM
                  : op->disc == BPFVM__DISC_SRC ? F_SRC : 0;

    if ((used & F_DST) ? insn->dst > 10 : insn->dst != 0)
        return (used & F_DST) ? "destination register out of range" : "nonzero dst field";
    if (!(disc & F_SRC) && ((used & F_SRC) ? insn->src > 10 : insn->src != 0))
        return (used & F_SRC) ? "source register out of range" : "nonzero src field";
    if (!(disc & F_OFF) && !(used & F_OFF) && insn->off != 0)
        return "nonzero off field";
    if (!(disc & F_IMM) && !(used & F_IMM) && insn->imm != 0)
        return "nonzero imm field";
    return NULL;
}

unsigned bpfvm__access_size(int opid)
{
    const bpfvm__opinfo *op = &bpfvm__ops[opid];
    switch (op->fmt) {
    case BPFVM__FMT_LDX: case BPFVM__FMT_ST: case BPFVM__FMT_STX: case BPFVM__FMT_ATOMIC:
    case BPFVM__FMT_LDABS: case BPFVM__FMT_LDIND:
        switch (BPFVM_SIZE(op->code)) {
        case BPFVM_B: return 1;
        case BPFVM_H: return 2;
        case BPFVM_W: return 4;
        default: return 8;
        }
    default:
        return 0;
    }
}

void bpfvm__consts_track(bpfvm__consts *c, int op, const bpfvm_insn *in, uint16_t writes)
{
    int d = in->dst;
    c->known &= (uint16_t)~writes;
    if (op == BPFVM__OP_MOV64_K)
        c->val[d] = (uint64_t)(int64_t)in->imm;
    else if (op == BPFVM__OP_MOV32_K)
        c->val[d] = (uint32_t)in->imm;
    else if ((op == BPFVM__OP_MOV64_X || op == BPFVM__OP_MOV32_X) && (c->known & (1u << in->src)))
        c->val[d] = op == BPFVM__OP_MOV64_X ? c->val[in->src] : (uint32_t)c->val[in->src];
    else
        return;
    c->known |= (uint16_t)(1u << d);
}

int bpfvm__consts_decide(const bpfvm__consts *c, int op, const bpfvm_insn *in)
{
    int fmt = bpfvm__ops[op].fmt;
    unsigned need = 1u << in->dst | (fmt == BPFVM__FMT_JMP_X ? 1u << in->src : 0);
    if ((fmt != BPFVM__FMT_JMP_K && fmt != BPFVM__FMT_JMP_X) || (c->known & need) != need)
        return -1;
    uint64_t a = c->val[in->dst];
    uint64_t b = fmt == BPFVM__FMT_JMP_X ? c->val[in->src] : (uint64_t)(int64_t)in->imm;
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    if (BPFVM_CLASS(bpfvm__ops[op].code) == BPFVM_JMP32) { /* the low halves */
        a = (uint32_t)a;
        b = (uint32_t)b;
        sa = (int32_t)(uint32_t)a;
        sb = (int32_t)(uint32_t)b;
    }
    switch (BPFVM_OP(bpfvm__ops[op].code)) {
    case BPFVM_JEQ:  return a == b;
    case BPFVM_JNE:  return a != b;
    case BPFVM_JGT:  return a > b;
    case BPFVM_JGE:  return a >= b;
    case BPFVM_JLT:  return a < b;
    case BPFVM_JLE:  return a <= b;
    case BPFVM_JSET: return (a & b) != 0;
    case BPFVM_JSGT: return sa > sb;
    case BPFVM_JSGE: return sa >= sb;
    case BPFVM_JSLT: return sa < sb;
    case BPFVM_JSLE: return sa <= sb;
    default:         return -1;
    }
}

void bpfvm__consts_meet(bpfvm__consts *c, const bpfvm__consts *d)
{
    c->known &= d->known;
    for (int r = 0; r < 11; r++)
        if ((c->known >> r & 1) && c->val[r] != d->val[r])
            c->known &= (uint16_t)~(1u << r);
}
