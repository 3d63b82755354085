/* disasm.c - the disassembler (classic and LLVM/kernel syntax, plain text or
 * JSON) and the control-flow graph as Graphviz DOT.
 *
 * Every slot is decoded through the opcode table; a slot that matches no row,
 * has fields its row does not allow, or is an lddw without its second half is
 * shown as data, `.8byte 0x...` (the 8 bytes as a little-endian number) with
 * a comment giving the reason. The assembler reads all of it back to the same
 * bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *const bpfvm__llvm_alu_op[16] = {
    "+", "-", "*", "/", "|", "&", "<<", ">>", NULL, "%", "^", NULL, "s>>", NULL, NULL, NULL,
};

const char *const bpfvm__llvm_jmp_op[16] = {
    NULL, "==", ">", ">=", "&", "!=", "s>", "s>=", NULL, NULL, "<", "<=", "s<", "s<=", NULL, NULL,
};

const char *const bpfvm__llvm_size[4] = { "u32", "u16", "u8", "u64" };

/* ---- growing text buffer ----------------------------------------------- */

typedef struct sbuf {
    char *buf;
    size_t len, cap;
    int oom; /* sticky: once set, appends do nothing */
} sbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *sb, const char *fmt, ...)
{
    if (sb->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = sb->cap - sb->len;
        int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->oom = 1;
            return;
        }
        if ((size_t)n < room) {
            sb->len += (size_t)n;
            return;
        }
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap - sb->len <= (size_t)n)
            cap *= 2;
        char *nb = realloc(sb->buf, cap);
        if (!nb) {
            sb->oom = 1;
            return;
        }
        sb->buf = nb;
        sb->cap = cap;
    }
}

static void sb_puts(sbuf *sb, const char *s)
{
    sb_printf(sb, "%s", s);
}

/* Hand the text to the caller (NUL-terminated) or report out of memory. */
static int sb_finish(sbuf *sb, char **out)
{
    sb_puts(sb, ""); /* makes sure a buffer exists */
    if (sb->oom) {
        free(sb->buf);
        *out = NULL;
        return BPFVM_ENOMEM;
    }
    *out = sb->buf;
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

/* The row of slot i, or -1 if it is data; *why says why (may be NULL). */
static int row_at(const bpfvm_insn *insns, size_t count, size_t i, const char **why)
{
    const bpfvm_insn *in = &insns[i];
    int row = bpfvm__decode(in);
    *why = NULL;
    if (row < 0) {
        *why = "not a valid instruction";
        return -1;
    }
    if ((*why = bpfvm__check_fields(row, in)) != NULL)
        return -1;
    if (bpfvm__ops[row].fmt == BPFVM__FMT_LDDW) {
        const bpfvm_insn *hi = i + 1 < count ? &insns[i + 1] : NULL;
        if (!hi || hi->opcode || hi->dst || hi->src || hi->off) {
            *why = "lddw without a valid second slot";
            return -1;
        }
        if (bpfvm__is_func_lddw(in) && hi->imm) {
            *why = "lddw of a function with a second immediate";
            return -1;
        }
    }
    return row;
}

static uint64_t slot_bits(const bpfvm_insn *in)
{
    return (uint64_t)in->opcode | (uint64_t)in->dst << 8 | (uint64_t)in->src << 12 |
           (uint64_t)(uint16_t)in->off << 16 | (uint64_t)(uint32_t)in->imm << 32;
}

/* Where a jump or local call at slot i goes (may be outside the program);
 * returns 0 if the row does not branch. */
static int branch_target(const bpfvm_insn *in, int row, size_t i, long long *target)
{
    switch (bpfvm__ops[row].fmt) {
    case BPFVM__FMT_JMP_K:
    case BPFVM__FMT_JMP_X:
    case BPFVM__FMT_JA:
        *target = (long long)i + 1 + in->off;
        return 1;
    case BPFVM__FMT_JA32:
    case BPFVM__FMT_CALL_LOCAL:
        *target = (long long)i + 1 + in->imm;
        return 1;
    default:
        return 0;
    }
}

static int is_jump_fmt(int fmt)
{
    return fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X || fmt == BPFVM__FMT_JA ||
           fmt == BPFVM__FMT_JA32;
}

/* While marking: jump and local-call targets, not yet known to be
 * instruction starts. */
enum { TARGET = 64, CALL_TARGET = 128 };

void bpfvm__cfg_marks(const bpfvm_insn *insns, size_t count, const uint8_t *rows,
                      unsigned char *mark)
{
    if (count)
        mark[0] |= BPFVM__CFG_LEADER | BPFVM__CFG_FUNC;
    for (size_t i = 0; i < count; i++) {
        const char *why;
        long long t;
        int row = rows ? rows[i] : row_at(insns, count, i, &why);
        mark[i] |= BPFVM__CFG_START;
        if (row < 0)
            continue;
        int fmt = bpfvm__ops[row].fmt;
        size_t next = i + (fmt == BPFVM__FMT_LDDW ? 2 : 1);
        if (branch_target(&insns[i], row, i, &t) && t >= 0 && (size_t)t < count)
            mark[t] |= fmt == BPFVM__FMT_CALL_LOCAL ? CALL_TARGET : TARGET;
        else if (bpfvm__is_func_lddw(&insns[i]) && (t = bpfvm__func_target(&insns[i], i)) >= 0 &&
                 (size_t)t < count) /* a callback: a function */
            mark[t] |= CALL_TARGET;
        if (is_jump_fmt(fmt) || fmt == BPFVM__FMT_EXIT)
            mark[next] |= BPFVM__CFG_LEADER;
        i = next - 1;
    }
    mark[count] |= BPFVM__CFG_START;
    /* targets that are instruction starts begin blocks (and functions) */
    for (size_t i = 0; i < count; i++) {
        unsigned m = mark[i];
        if ((m & (TARGET | CALL_TARGET)) && (m & BPFVM__CFG_START))
            m |= BPFVM__CFG_LEADER | ((m & CALL_TARGET) ? BPFVM__CFG_FUNC : 0u);
        mark[i] = (unsigned char)(m & ~(unsigned)(TARGET | CALL_TARGET));
    }
}

/* The slot a jump, local call or `lddw rX, func` names; 0 for other rows. */
static int named_target(const bpfvm_insn *in, int row, size_t i, long long *target)
{
    if (branch_target(in, row, i, target))
        return 1;
    *target = bpfvm__func_target(in, i);
    return bpfvm__is_func_lddw(in);
}

/* The marks of bpfvm__cfg_marks in a calloc'd array of count + 1 bytes. */
static unsigned char *find_marks(const bpfvm_insn *insns, size_t count)
{
    unsigned char *mark = calloc(count + 1, 1);
    if (mark)
        bpfvm__cfg_marks(insns, count, NULL, mark);
    return mark;
}

/* ---- one instruction as text ------------------------------------------- */

typedef struct fmtctx {
    unsigned flags;
    const unsigned char *marks; /* with BPFVM_DISASM_LABELS: bpfvm__cfg_marks */
    size_t count;
} fmtctx;

/* A jump target: "+3", "-1", or "lbl_12" when labels are on and the target
 * can carry one. */
static void target_text(const fmtctx *fc, long long target, long long rel, char *buf, size_t size)
{
    if ((fc->flags & BPFVM_DISASM_LABELS) && target >= 0 && (size_t)target <= fc->count &&
        (!fc->marks || (fc->marks[target] & BPFVM__CFG_START)))
        snprintf(buf, size, "lbl_%lld", target);
    else
        snprintf(buf, size, "%+lld", rel);
}

/* A classic immediate: decimal when small, else the 32 bits in hex (the
 * assembler takes both forms). */
static const char *imm_text(int32_t imm, char *buf, size_t size)
{
    if (imm > -65536 && imm < 65536)
        snprintf(buf, size, "%d", imm);
    else
        snprintf(buf, size, "0x%x", (unsigned)imm);
    return buf;
}

static void classic_text(const bpfvm_insn *in, int row, const char *target, char *buf,
                         size_t size)
{
    const bpfvm__opinfo *op = &bpfvm__ops[row];
    const char *m = op->mnemonic;
    char ib[16];
    const char *imm = imm_text(in->imm, ib, sizeof ib);
    switch (op->fmt) {
    case BPFVM__FMT_ALU_K:  snprintf(buf, size, "%s r%d, %s", m, in->dst, imm); break;
    case BPFVM__FMT_ALU_X:  snprintf(buf, size, "%s r%d, r%d", m, in->dst, in->src); break;
    case BPFVM__FMT_NEG:
    case BPFVM__FMT_END:
    case BPFVM__FMT_CALLX:  snprintf(buf, size, "%s r%d", m, in->dst); break;
    case BPFVM__FMT_JMP_K:  snprintf(buf, size, "%s r%d, %s, %s", m, in->dst, imm, target); break;
    case BPFVM__FMT_JMP_X:  snprintf(buf, size, "%s r%d, r%d, %s", m, in->dst, in->src, target); break;
    case BPFVM__FMT_JA:
    case BPFVM__FMT_JA32:   snprintf(buf, size, "%s %s", m, target); break;
    case BPFVM__FMT_CALL:   snprintf(buf, size, "%s %d", m, in->imm); break;
    case BPFVM__FMT_CALL_LOCAL: snprintf(buf, size, "%s local %s", m, target); break;
    case BPFVM__FMT_EXIT:   snprintf(buf, size, "%s", m); break;
    case BPFVM__FMT_LDX:    snprintf(buf, size, "%s r%d, [r%d%+d]", m, in->dst, in->src, in->off); break;
    case BPFVM__FMT_ST:     snprintf(buf, size, "%s [r%d%+d], %s", m, in->dst, in->off, imm); break;
    case BPFVM__FMT_STX:
    case BPFVM__FMT_ATOMIC: snprintf(buf, size, "%s [r%d%+d], r%d", m, in->dst, in->off, in->src); break;
    case BPFVM__FMT_LDDW:
        if (bpfvm__is_func_lddw(in))
            snprintf(buf, size, "%s r%d, func %s", m, in->dst, target);
        else
            snprintf(buf, size, "%s r%d, 0x%llx", m, in->dst,
                     (unsigned long long)bpfvm__lddw_value(in));
        break;
    case BPFVM__FMT_LDABS:  snprintf(buf, size, "%s %s", m, imm); break;
    case BPFVM__FMT_LDIND:  snprintf(buf, size, "%s r%d, %s", m, in->src, imm); break;
    default:                snprintf(buf, size, "%s", m); break;
    }
}

/* "(r1 + 4)" / "(r10 - 8)" without the parentheses */
static void addr_text(int reg, int off, char *buf, size_t size)
{
    snprintf(buf, size, "r%d %c %d", reg, off < 0 ? '-' : '+', off < 0 ? -off : off);
}

static void llvm_atomic_text(const bpfvm_insn *in, char *buf, size_t size)
{
    static const char *const names[16] = {
        [BPFVM_ADD >> 4] = "add", [BPFVM_OR >> 4] = "or", [BPFVM_AND >> 4] = "and",
        [BPFVM_XOR >> 4] = "xor",
    };
    int wide = BPFVM_SIZE(in->opcode) == BPFVM_DW;
    char w = wide ? 'r' : 'w', addr[32];
    const char *type = wide ? "u64" : "u32";
    addr_text(in->dst, in->off, addr, sizeof addr);
    if (in->imm == BPFVM_XCHG)
        snprintf(buf, size, "%c%d = xchg%s(%s, %c%d)", w, in->src, wide ? "_64" : "32_32", addr, w,
                 in->src);
    else if (in->imm == BPFVM_CMPXCHG)
        snprintf(buf, size, "%c0 = cmpxchg%s(%s, %c0, %c%d)", w, wide ? "_64" : "32_32", addr, w, w,
                 in->src);
    else if (in->imm & BPFVM_FETCH)
        snprintf(buf, size, "%c%d = atomic_fetch_%s((%s *)(%s), %c%d)", w, in->src,
                 names[(in->imm >> 4) & 0xf], type, addr, w, in->src);
    else
        snprintf(buf, size, "lock *(%s *)(%s) %s= r%d", type, addr,
                 bpfvm__llvm_alu_op[(in->imm >> 4) & 0xf], in->src);
}

static void llvm_text(const bpfvm_insn *in, int row, const char *target, char *buf, size_t size)
{
    const bpfvm__opinfo *op = &bpfvm__ops[row];
    int cls = BPFVM_CLASS(in->opcode), opn = BPFVM_OP(in->opcode) >> 4;
    char r = (cls == BPFVM_ALU || cls == BPFVM_JMP32) ? 'w' : 'r';
    const char *sign = (op->disc == BPFVM__DISC_OFF && in->off == 1) ? "s" : "";
    const char *size_name = bpfvm__llvm_size[BPFVM_SIZE(in->opcode) >> 3];
    char addr[32];
    addr_text(in->src, in->off, addr, sizeof addr);
    switch (op->fmt) {
    case BPFVM__FMT_ALU_K:
        if (BPFVM_OP(in->opcode) == BPFVM_MOV)
            snprintf(buf, size, "%c%d = %d", r, in->dst, in->imm);
        else
            snprintf(buf, size, "%c%d %s%s= %d", r, in->dst, sign, bpfvm__llvm_alu_op[opn], in->imm);
        break;
    case BPFVM__FMT_ALU_X:
        if (BPFVM_OP(in->opcode) == BPFVM_MOV && in->off)
            snprintf(buf, size, "%c%d = (s%d)%c%d", r, in->dst, in->off, r, in->src);
        else if (BPFVM_OP(in->opcode) == BPFVM_MOV)
            snprintf(buf, size, "%c%d = %c%d", r, in->dst, r, in->src);
        else
            snprintf(buf, size, "%c%d %s%s= %c%d", r, in->dst, sign, bpfvm__llvm_alu_op[opn], r,
                     in->src);
        break;
    case BPFVM__FMT_NEG:
        snprintf(buf, size, "%c%d = -%c%d", r, in->dst, r, in->dst);
        break;
    case BPFVM__FMT_END:
        snprintf(buf, size, "r%d = %s%d r%d", in->dst,
                 cls == BPFVM_ALU64 ? "bswap" : BPFVM_SRC(in->opcode) ? "be" : "le", in->imm,
                 in->dst);
        break;
    case BPFVM__FMT_JMP_K:
        snprintf(buf, size, "if %c%d %s %d goto %s", r, in->dst, bpfvm__llvm_jmp_op[opn], in->imm,
                 target);
        break;
    case BPFVM__FMT_JMP_X:
        snprintf(buf, size, "if %c%d %s %c%d goto %s", r, in->dst, bpfvm__llvm_jmp_op[opn], r,
                 in->src, target);
        break;
    case BPFVM__FMT_JA:         snprintf(buf, size, "goto %s", target); break;
    case BPFVM__FMT_JA32:       snprintf(buf, size, "gotol %s", target); break;
    case BPFVM__FMT_CALL:       snprintf(buf, size, "call %d", in->imm); break;
    case BPFVM__FMT_CALL_LOCAL:
        if (target[0] == '+' || target[0] == '-')
            snprintf(buf, size, "call pc%s", target);
        else
            snprintf(buf, size, "call %s", target);
        break;
    case BPFVM__FMT_CALLX:      snprintf(buf, size, "callx r%d", in->dst); break;
    case BPFVM__FMT_EXIT:       snprintf(buf, size, "exit"); break;
    case BPFVM__FMT_LDX:
        snprintf(buf, size, "r%d = *(%s%s *)(%s)", in->dst,
                 BPFVM_MODE(in->opcode) == BPFVM_MEMSX ? "s" : "u", size_name + 1, addr);
        break;
    case BPFVM__FMT_ST:
        addr_text(in->dst, in->off, addr, sizeof addr);
        snprintf(buf, size, "*(%s *)(%s) = %d", size_name, addr, in->imm);
        break;
    case BPFVM__FMT_STX:
        addr_text(in->dst, in->off, addr, sizeof addr);
        snprintf(buf, size, "*(%s *)(%s) = r%d", size_name, addr, in->src);
        break;
    case BPFVM__FMT_ATOMIC:
        llvm_atomic_text(in, buf, size);
        break;
    case BPFVM__FMT_LDDW:
        if (bpfvm__is_func_lddw(in))
            snprintf(buf, size, "r%d = func %s ll", in->dst, target);
        else
            snprintf(buf, size, "r%d = %lld ll", in->dst, (long long)bpfvm__lddw_value(in));
        break;
    case BPFVM__FMT_LDABS:
        snprintf(buf, size, "r0 = *(%s *)skb[%d]", size_name, in->imm);
        break;
    case BPFVM__FMT_LDIND:
        if (in->imm)
            snprintf(buf, size, "r0 = *(%s *)skb[r%d + %d]", size_name, in->src, in->imm);
        else
            snprintf(buf, size, "r0 = *(%s *)skb[r%d]", size_name, in->src);
        break;
    default:
        snprintf(buf, size, "%s", op->mnemonic);
        break;
    }
}

/* Format slot i; returns the slots used (1, or 2 for lddw) and the row (-1
 * for data) in *rowp. */
static int format_insn(const fmtctx *fc, const bpfvm_insn *insns, size_t i, char *buf,
                       size_t size, int *rowp)
{
    const char *why;
    int row = row_at(insns, fc->count, i, &why);
    *rowp = row;
    if (row < 0) {
        snprintf(buf, size, ".8byte 0x%016llx # %s", (unsigned long long)slot_bits(&insns[i]),
                 why);
        return 1;
    }
    char target[32] = "";
    long long t;
    if (named_target(&insns[i], row, i, &t))
        target_text(fc, t, t - (long long)i - 1, target, sizeof target);
    if (fc->flags & BPFVM_DISASM_LLVM)
        llvm_text(&insns[i], row, target, buf, size);
    else
        classic_text(&insns[i], row, target, buf, size);
    return bpfvm__ops[row].fmt == BPFVM__FMT_LDDW ? 2 : 1;
}

int bpfvm_disasm_insn(const bpfvm_insn *insns, size_t count, size_t index, unsigned flags,
                      char *buf, size_t size)
{
    char line[160];
    int row, used = 1;
    fmtctx fc = { flags, NULL, count };
    if (!insns || index >= count)
        snprintf(line, sizeof line, "# no instruction at %zu", index);
    else
        used = format_insn(&fc, insns, index, line, sizeof line, &row);
    if (buf && size)
        snprintf(buf, size, "%s", line);
    return used;
}

/* ---- whole programs ---------------------------------------------------- */

static void json_string(sbuf *sb, const char *s)
{
    sb_puts(sb, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(sb, "\\%c", c);
        else if (c < 0x20)
            sb_printf(sb, "\\u%04x", c);
        else
            sb_printf(sb, "%c", c);
    }
    sb_puts(sb, "\"");
}

static void json_insn(sbuf *sb, const bpfvm_insn *in, size_t i, int row, const char *text,
                      int first)
{
    long long imm = row >= 0 && bpfvm__ops[row].fmt == BPFVM__FMT_LDDW
                        ? (long long)bpfvm__lddw_value(in) : in->imm;
    sb_printf(sb, "%s\n  {\"index\": %zu, \"opcode\": %u, \"mnemonic\": ", first ? "" : ",", i,
              in->opcode);
    json_string(sb, row >= 0 ? bpfvm__ops[row].mnemonic : ".8byte");
    sb_printf(sb, ", \"dst\": %u, \"src\": %u, \"off\": %d, \"imm\": %lld, \"text\": ", in->dst,
              in->src, in->off, imm);
    json_string(sb, text);
    sb_puts(sb, "}");
}

int bpfvm_disasm(const bpfvm_insn *insns, size_t count, unsigned flags, char **out)
{
    if (!out)
        return BPFVM_EINVAL;
    *out = NULL;
    if (!insns && count)
        return BPFVM_EINVAL;
    sbuf sb = { 0 };
    fmtctx fc = { flags, NULL, count };
    unsigned char *marks = NULL, *labelled = NULL;
    int json = (flags & BPFVM_DISASM_JSON) != 0;

    if (flags & BPFVM_DISASM_LABELS) {
        marks = find_marks(insns, count);
        labelled = calloc(count + 1, 1);
        if (!marks || !labelled)
            goto oom;
        fc.marks = marks;
        for (size_t i = 0; i < count; i++) {
            const char *why;
            long long t;
            int row = row_at(insns, count, i, &why);
            if (!(marks[i] & BPFVM__CFG_START) || row < 0)
                continue;
            if (named_target(&insns[i], row, i, &t) && t >= 0 && (size_t)t <= count &&
                (marks[t] & BPFVM__CFG_START))
                labelled[t] = 1;
        }
    }
    if (json)
        sb_puts(&sb, "[");
    for (size_t i = 0; i < count;) {
        char line[160];
        int row;
        if (labelled && labelled[i] && !json)
            sb_printf(&sb, "lbl_%zu:\n", i);
        int used = format_insn(&fc, insns, i, line, sizeof line, &row);
        if (json)
            json_insn(&sb, &insns[i], i, row, line, i == 0);
        else if (flags & BPFVM_DISASM_INDEX)
            sb_printf(&sb, "%6zu: %s\n", i, line);
        else
            sb_printf(&sb, "%s\n", line);
        i += (size_t)used;
    }
    if (labelled && labelled[count] && !json)
        sb_printf(&sb, "lbl_%zu:\n", count);
    if (json)
        sb_puts(&sb, "\n]\n");
    free(marks);
    free(labelled);
    return sb_finish(&sb, out);
oom:
    free(marks);
    free(labelled);
    free(sb.buf);
    return BPFVM_ENOMEM;
}

/* ---- control-flow graph ------------------------------------------------ */

/* A DOT string body: quotes and backslashes escaped. */
static void dot_escape(sbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_printf(sb, "\\%c", *s);
        else
            sb_printf(sb, "%c", *s);
    }
}

/* Basic blocks start at 0, at every jump or local-call target and after every
 * jump and exit. Nodes are named b<first slot>; edges: "taken" and
 * "fallthrough" for branches, dashed "call" edges to local-call targets.
 * Targets outside the program or inside an lddw get no edge. */
int bpfvm_cfg_dot(const bpfvm_insn *insns, size_t count, char **out)
{
    if (!out)
        return BPFVM_EINVAL;
    *out = NULL;
    if (!insns && count)
        return BPFVM_EINVAL;
    sbuf sb = { 0 };
    fmtctx fc = { 0, NULL, count };
    unsigned char *mark = find_marks(insns, count);
    if (!mark)
        goto oom;

    sb_puts(&sb, "digraph bpf {\n  node [shape=box, fontname=\"monospace\"];\n");
    for (size_t b = 0; b < count;) {
        /* one block: slots b .. end-1 */
        size_t i = b, last = b;
        sb_printf(&sb, "  b%zu [label=\"", b);
        do {
            char line[160];
            int row;
            last = i;
            int used = format_insn(&fc, insns, i, line, sizeof line, &row);
            sb_printf(&sb, "%zu: ", i);
            dot_escape(&sb, line);
            sb_puts(&sb, "\\l");
            i += (size_t)used;
        } while (i < count && !(mark[i] & BPFVM__CFG_LEADER));
        sb_puts(&sb, "\"];\n");

        /* local calls anywhere in the block */
        for (size_t k = b; k < i; k++) {
            const char *why;
            long long t;
            int row = (mark[k] & BPFVM__CFG_START) ? row_at(insns, count, k, &why) : -1;
            if (row >= 0 && bpfvm__ops[row].fmt == BPFVM__FMT_CALL_LOCAL &&
                branch_target(&insns[k], row, k, &t) && t >= 0 && (size_t)t < count &&
                (mark[t] & BPFVM__CFG_START))
                sb_printf(&sb, "  b%zu -> b%lld [label=\"call\", style=dashed];\n", b, t);
        }
        /* how the block ends */
        const char *why;
        long long t;
        int row = row_at(insns, count, last, &why);
        int fmt = row >= 0 ? bpfvm__ops[row].fmt : -1;
        if (row >= 0 && is_jump_fmt(fmt) && branch_target(&insns[last], row, last, &t) && t >= 0 &&
            (size_t)t < count && (mark[t] & BPFVM__CFG_START))
            sb_printf(&sb, "  b%zu -> b%lld [label=\"taken\"];\n", b, t);
        int falls = fmt != BPFVM__FMT_EXIT && fmt != BPFVM__FMT_JA && fmt != BPFVM__FMT_JA32;
        if (falls && i < count)
            sb_printf(&sb, "  b%zu -> b%zu [label=\"fallthrough\"];\n", b, i);
        b = i;
    }
    sb_puts(&sb, "}\n");
    free(mark);
    return sb_finish(&sb, out);
oom:
    return BPFVM_ENOMEM;
}
