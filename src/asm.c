/* asm.c - the assembler: classic (uBPF/rbpf-style) and LLVM/kernel syntax,
 * recognised line by line, into instruction slots.
 *
 * Every mnemonic comes from the opcode table (opcodes.def): a classic line
 * names a row (possibly through an alias: bare ALU names mean the 64-bit row,
 * `swapN` means `bswapN`, `gotol` means `ja32`, ...), and the row's format says
 * which operands it takes and which field carries its discriminator. LLVM
 * lines are matched by shape and mapped to a row by its opcode byte and
 * discriminator value.
 *
 * Labels (`name:`) may stand alone or before an instruction; a jump or local
 * call names them. Offsets count slots from the next instruction (lddw takes
 * two). A jump to `exit` with no `exit:` label goes to the first `exit`.
 *
 * Errors stop at the first problem: "file:line:column: message".
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- state ------------------------------------------------------------- */

typedef struct label {
    const char *name; /* NULL: empty hash slot */
    size_t len;
    size_t slot;
    int32_t line;
} label;

enum { FIX_OFF, FIX_IMM };

typedef struct fixup {
    const char *name; /* label text in the source */
    size_t len;
    size_t slot;      /* instruction to patch */
    int field;        /* FIX_OFF or FIX_IMM */
    int32_t line, column;
} fixup;

typedef struct asm_state {
    const char *file;
    bpfvm_error *err;
    int failed;

    /* current line */
    const char *line_start;
    const char *p;   /* cursor */
    const char *end; /* end of the line, comment excluded */
    int32_t line;

    bpfvm_insn *out;
    size_t count, cap;

    label *labels; /* hash table, open addressing */
    size_t nlabels, labels_cap;

    fixup *fixups;
    size_t nfixups, fixups_cap;

    long long first_exit; /* slot of the first exit, -1 if none */

    int by_name[BPFVM__OP_COUNT]; /* row ids sorted by mnemonic, then table order */
} asm_state;

/* Longest user text quoted in a message. */
#define QUOTE_MAX 40

/* The assembler needs no VM and links without the rest of the library, so it
 * fills error records itself. */
static void reset_error(bpfvm_error *e, int code, int32_t line, int32_t col)
{
    memset(e, 0, sizeof *e);
    e->code = code;
    e->insn = -1;
    e->offset = -1;
    e->line = line;
    e->column = col;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 0)))
#endif
static int verror(asm_state *st, int32_t line, int32_t col, const char *fmt, va_list ap)
{
    if (st->failed)
        return BPFVM_EASM;
    st->failed = 1;
    if (st->err) {
        bpfvm_error *e = st->err;
        reset_error(e, BPFVM_EASM, line, col);
        int n = snprintf(e->message, sizeof e->message, "%s:%d:%d: ",
                         st->file ? st->file : "<input>", (int)line, (int)col);
        if (n < 0)
            n = 0;
        if ((size_t)n >= sizeof e->message)
            n = (int)sizeof e->message - 1;
        vsnprintf(e->message + n, sizeof e->message - (size_t)n, fmt, ap);
    }
    return BPFVM_EASM;
}

/* An error at `at`, a position in the current line. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail_at(asm_state *st, const char *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(st, st->line, (int32_t)(at - st->line_start) + 1, fmt, ap);
    va_end(ap);
    return rc;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail_line(asm_state *st, int32_t line, int32_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(st, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

static int quote_len(size_t len)
{
    return len > QUOTE_MAX ? QUOTE_MAX : (int)len;
}

/* ---- output ------------------------------------------------------------ */

static int nomem(asm_state *st)
{
    st->failed = 1;
    if (st->err) {
        reset_error(st->err, BPFVM_ENOMEM, -1, -1);
        snprintf(st->err->message, sizeof st->err->message, "out of memory while assembling");
    }
    return BPFVM_ENOMEM;
}

/* Room for one more element in a growing array: the (possibly moved)
 * array, or NULL when out of memory (the old one is kept). */
static void *grow(asm_state *st, void *arr, size_t used, size_t *cap, size_t elem)
{
    if (used < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *n = realloc(arr, ncap * elem);
    if (!n) {
        nomem(st);
        return NULL;
    }
    *cap = ncap;
    return n;
}

static int emit(asm_state *st, bpfvm_insn insn)
{
    bpfvm_insn *n = grow(st, st->out, st->count, &st->cap, sizeof *n);
    if (!n)
        return BPFVM_ENOMEM;
    st->out = n;
    st->out[st->count++] = insn;
    return 0;
}

/* ---- labels ------------------------------------------------------------ */

static size_t hash_name(const char *s, size_t len)
{
    size_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static label *find_label(const asm_state *st, const char *name, size_t len)
{
    if (!st->labels_cap)
        return NULL;
    size_t mask = st->labels_cap - 1;
    for (size_t i = hash_name(name, len) & mask;; i = (i + 1) & mask) {
        label *l = &st->labels[i];
        if (!l->name)
            return NULL;
        if (l->len == len && memcmp(l->name, name, len) == 0)
            return l;
    }
}

static int add_label(asm_state *st, const char *name, size_t len)
{
    label *old = find_label(st, name, len);
    if (old)
        return fail_at(st, name, "label '%.*s' already defined on line %d", quote_len(len), name,
                       (int)old->line);
    if ((st->nlabels + 1) * 2 > st->labels_cap) {
        size_t cap = st->labels_cap ? st->labels_cap * 2 : 64;
        label *n = calloc(cap, sizeof *n);
        if (!n)
            return nomem(st);
        for (size_t i = 0; i < st->labels_cap; i++) {
            label *l = &st->labels[i];
            if (!l->name)
                continue;
            size_t j = hash_name(l->name, l->len) & (cap - 1);
            while (n[j].name)
                j = (j + 1) & (cap - 1);
            n[j] = *l;
        }
        free(st->labels);
        st->labels = n;
        st->labels_cap = cap;
    }
    size_t mask = st->labels_cap - 1;
    size_t i = hash_name(name, len) & mask;
    while (st->labels[i].name)
        i = (i + 1) & mask;
    st->labels[i] = (label){ name, len, st->count, st->line };
    st->nlabels++;
    return 0;
}

static int add_fixup(asm_state *st, const char *name, size_t len, int field)
{
    fixup *n = grow(st, st->fixups, st->nfixups, &st->fixups_cap, sizeof *n);
    if (!n)
        return BPFVM_ENOMEM;
    st->fixups = n;
    st->fixups[st->nfixups++] = (fixup){ name, len, st->count, field, st->line,
                                         (int32_t)(name - st->line_start) + 1 };
    return 0;
}

/* ---- lexing ------------------------------------------------------------ */

static int is_ident_start(int c)
{
    return isalpha(c) || c == '_' || c == '.';
}

static int is_ident_char(int c)
{
    return isalnum(c) || c == '_' || c == '.';
}

static void skip_ws(asm_state *st)
{
    while (st->p < st->end && (*st->p == ' ' || *st->p == '\t' || *st->p == '\r' ||
                               *st->p == '\v' || *st->p == '\f'))
        st->p++;
}

static int at_end(asm_state *st)
{
    skip_ws(st);
    return st->p >= st->end;
}

static int peek(asm_state *st)
{
    skip_ws(st);
    return st->p < st->end ? (unsigned char)*st->p : 0;
}

static int accept(asm_state *st, char c)
{
    if (peek(st) == (unsigned char)c) {
        st->p++;
        return 1;
    }
    return 0;
}

/* Accept a punctuation string (e.g. "<<="). */
static int accept_str(asm_state *st, const char *s)
{
    size_t n = strlen(s);
    skip_ws(st);
    if ((size_t)(st->end - st->p) >= n && memcmp(st->p, s, n) == 0) {
        st->p += n;
        return 1;
    }
    return 0;
}

/* Identifier at the cursor (len 0 if none); does not move. */
static size_t ident_len(asm_state *st)
{
    skip_ws(st);
    const char *q = st->p;
    if (q >= st->end || !is_ident_start((unsigned char)*q))
        return 0;
    while (q < st->end && is_ident_char((unsigned char)*q))
        q++;
    return (size_t)(q - st->p);
}

static int ident_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Accept the keyword `word` (a whole identifier). */
static int accept_word(asm_state *st, const char *word)
{
    size_t len = ident_len(st);
    if (len && ident_is(st->p, len, word)) {
        st->p += len;
        return 1;
    }
    return 0;
}

static int expect(asm_state *st, char c, const char *what)
{
    if (accept(st, c))
        return 0;
    return fail_at(st, st->p, "expected %s", what);
}

/* A number: optional sign, decimal or 0x hex. */
typedef struct num {
    uint64_t mag;
    int neg;
    const char *at;
} num;

/* 1 if a number was read, 0 if none is here (cursor unchanged), <0 on error. */
static int parse_num(asm_state *st, num *n)
{
    skip_ws(st);
    const char *start = st->p, *q = st->p;
    n->at = start;
    n->neg = 0;
    n->mag = 0;
    if (q < st->end && (*q == '-' || *q == '+')) {
        n->neg = *q == '-';
        q++;
        while (q < st->end && (*q == ' ' || *q == '\t'))
            q++;
    }
    if (q >= st->end || !isdigit((unsigned char)*q))
        return 0;
    unsigned base = 10;
    if (q + 1 < st->end && q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
        base = 16;
        q += 2;
        if (q >= st->end || !isxdigit((unsigned char)*q))
            return fail_at(st, start, "expected hex digits after '0x'");
    }
    for (; q < st->end && isxdigit((unsigned char)*q); q++) {
        int c = (unsigned char)*q;
        unsigned d = isdigit(c) ? (unsigned)(c - '0') : (unsigned)(tolower(c) - 'a' + 10);
        if (d >= base)
            break;
        if (n->mag > (UINT64_MAX - d) / base)
            return fail_at(st, start, "number does not fit in 64 bits");
        n->mag = n->mag * base + d;
    }
    if (q < st->end && is_ident_char((unsigned char)*q))
        return fail_at(st, start, "invalid number");
    st->p = q;
    return 1;
}

static int num_to_imm32(asm_state *st, const num *n, int32_t *out)
{
    if (n->neg ? n->mag > 0x80000000u : n->mag > 0xffffffffu)
        return fail_at(st, n->at,
                       "immediate out of range (expected a 32-bit value, -2147483648 to 4294967295)");
    *out = n->neg ? (int32_t)(0 - (int64_t)n->mag) : (int32_t)(uint32_t)n->mag;
    return 0;
}

static int num_to_off16(asm_state *st, const num *n, int16_t *out)
{
    if (n->neg ? n->mag > 32768u : n->mag > 32767u)
        return fail_at(st, n->at, "offset out of range (expected -32768 to 32767)");
    *out = (int16_t)(n->neg ? -(int32_t)n->mag : (int32_t)n->mag);
    return 0;
}

static int num_to_imm64(asm_state *st, const num *n, uint64_t *out)
{
    if (n->neg && n->mag > (UINT64_C(1) << 63))
        return fail_at(st, n->at, "immediate out of range (expected a 64-bit value)");
    *out = n->neg ? 0 - n->mag : n->mag;
    return 0;
}

/* A register r0-r10 (also %r0; `w` names the 32-bit view when `allow_w`).
 * 1 if read (*reg, *wide = 1 for r / 0 for w), 0 if none here, <0 error. */
static int parse_reg(asm_state *st, int allow_w, int *reg, int *wide)
{
    skip_ws(st);
    const char *q = st->p;
    if (q < st->end && *q == '%')
        q++;
    if (q >= st->end || !(*q == 'r' || (allow_w && *q == 'w')))
        return 0;
    int w = *q == 'w';
    q++;
    if (q >= st->end || !isdigit((unsigned char)*q))
        return 0;
    const char *digits = q;
    unsigned v = 0;
    while (q < st->end && isdigit((unsigned char)*q) && v < 100)
        v = v * 10 + (unsigned)(*q++ - '0');
    if (q < st->end && is_ident_char((unsigned char)*q))
        return 0; /* an identifier such as r1x */
    if (v > 10 || q - digits > 2)
        return fail_at(st, st->p, "register %.*s out of range (r0 to r10)",
                       quote_len((size_t)(q - st->p)), st->p);
    *reg = (int)v;
    *wide = !w;
    st->p = q;
    return 1;
}

/* ---- classic syntax ---------------------------------------------------- */

enum { OPK_REG, OPK_IMM, OPK_MEM, OPK_LABEL };

typedef struct operand {
    int kind;
    int reg;         /* REG, MEM */
    num n;           /* IMM; MEM offset */
    const char *at;  /* start in the line; LABEL: its name */
    size_t len;      /* LABEL */
} operand;

#define MAX_OPERANDS 3

/* [rN], [rN+off], [rN - off], [rN + -off] */
static int parse_mem(asm_state *st, operand *op)
{
    int wide, rc;
    const char *at = st->p;
    st->p++; /* '[' */
    if ((rc = parse_reg(st, 0, &op->reg, &wide)) <= 0)
        return rc < 0 ? rc : fail_at(st, st->p, "expected a register after '['");
    op->kind = OPK_MEM;
    op->n = (num){ 0, 0, st->p };
    op->at = at;
    int c = peek(st);
    if (c == '+' || c == '-') {
        int neg = c == '-';
        st->p++;
        if ((rc = parse_num(st, &op->n)) <= 0)
            return rc < 0 ? rc : fail_at(st, st->p, "expected an offset");
        if (neg)
            op->n.neg = !op->n.neg;
        if (op->n.mag == 0)
            op->n.neg = 0;
    }
    return expect(st, ']', "']'");
}

static int parse_operand(asm_state *st, operand *op)
{
    int rc, wide;
    skip_ws(st);
    op->at = st->p;
    if (st->p < st->end && *st->p == '[')
        return parse_mem(st, op);
    if ((rc = parse_reg(st, 0, &op->reg, &wide)) != 0) {
        op->kind = OPK_REG;
        return rc < 0 ? rc : 0;
    }
    if ((rc = parse_num(st, &op->n)) != 0) {
        op->kind = OPK_IMM;
        return rc < 0 ? rc : 0;
    }
    size_t len = ident_len(st);
    if (len) {
        op->kind = OPK_LABEL;
        op->len = len;
        st->p += len;
        return 0;
    }
    return fail_at(st, st->p, "expected an operand (register, number, [register+offset] or label)");
}

static int is_target(const operand *op)
{
    return op->kind == OPK_IMM || op->kind == OPK_LABEL;
}

/* Does the operand list fit the row's format? */
static int shape_fits(int fmt, const operand *o, int n)
{
    switch (fmt) {
    case BPFVM__FMT_ALU_K:      return n == 2 && o[0].kind == OPK_REG && o[1].kind == OPK_IMM;
    case BPFVM__FMT_ALU_X:      return n == 2 && o[0].kind == OPK_REG && o[1].kind == OPK_REG;
    case BPFVM__FMT_NEG:
    case BPFVM__FMT_END:
    case BPFVM__FMT_CALLX:      return n == 1 && o[0].kind == OPK_REG;
    case BPFVM__FMT_JMP_K:      return n == 3 && o[0].kind == OPK_REG && o[1].kind == OPK_IMM &&
                                       is_target(&o[2]);
    case BPFVM__FMT_JMP_X:      return n == 3 && o[0].kind == OPK_REG && o[1].kind == OPK_REG &&
                                       is_target(&o[2]);
    case BPFVM__FMT_JA:
    case BPFVM__FMT_JA32:
    case BPFVM__FMT_CALL_LOCAL: return n == 1 && is_target(&o[0]);
    case BPFVM__FMT_CALL:
    case BPFVM__FMT_LDABS:      return n == 1 && o[0].kind == OPK_IMM;
    case BPFVM__FMT_EXIT:       return n == 0;
    case BPFVM__FMT_LDX:        return n == 2 && o[0].kind == OPK_REG && o[1].kind == OPK_MEM;
    case BPFVM__FMT_ST:         return n == 2 && o[0].kind == OPK_MEM && o[1].kind == OPK_IMM;
    case BPFVM__FMT_STX:
    case BPFVM__FMT_ATOMIC:     return n == 2 && o[0].kind == OPK_MEM && o[1].kind == OPK_REG;
    case BPFVM__FMT_LDDW:
    case BPFVM__FMT_LDIND:      return n == 2 && o[0].kind == OPK_REG && o[1].kind == OPK_IMM;
    default:                    return 0;
    }
}

static const char *shape_text(int fmt)
{
    switch (fmt) {
    case BPFVM__FMT_ALU_K:
    case BPFVM__FMT_ALU_X:      return "a destination register, then a source register or immediate";
    case BPFVM__FMT_NEG:
    case BPFVM__FMT_END:        return "one register";
    case BPFVM__FMT_CALLX:      return "a register holding the helper id";
    case BPFVM__FMT_JMP_K:
    case BPFVM__FMT_JMP_X:      return "a register, a register or immediate, and a target (+offset or label)";
    case BPFVM__FMT_JA:
    case BPFVM__FMT_JA32:       return "a target (+offset or label)";
    case BPFVM__FMT_CALL:
    case BPFVM__FMT_CALL_LOCAL: return "a helper id, a label, 'local LABEL' or a register";
    case BPFVM__FMT_EXIT:       return "no operands";
    case BPFVM__FMT_LDX:        return "a register, then [register+offset]";
    case BPFVM__FMT_ST:         return "[register+offset], then an immediate";
    case BPFVM__FMT_STX:
    case BPFVM__FMT_ATOMIC:     return "[register+offset], then a register";
    case BPFVM__FMT_LDDW:       return "a register, then a 64-bit immediate";
    case BPFVM__FMT_LDABS:      return "an immediate offset";
    case BPFVM__FMT_LDIND:      return "a register, then an immediate offset";
    default:                    return "operands";
    }
}

/* Set the row's discriminating field to its value. */
static void set_disc(int row, bpfvm_insn *insn)
{
    const bpfvm__opinfo *op = &bpfvm__ops[row];
    switch (op->disc) {
    case BPFVM__DISC_OFF: insn->off = (int16_t)op->value; break;
    case BPFVM__DISC_IMM: insn->imm = op->value; break;
    case BPFVM__DISC_SRC: insn->src = (uint8_t)(op->value & 0xf); break;
    default: break;
    }
}

/* A jump target into off (FIX_OFF) or imm (FIX_IMM). */
static int set_target(asm_state *st, const operand *o, int field, bpfvm_insn *insn)
{
    if (o->kind == OPK_LABEL)
        return add_fixup(st, o->at, o->len, field); /* patched by resolve() */
    if (field == FIX_OFF)
        return num_to_off16(st, &o->n, &insn->off);
    return num_to_imm32(st, &o->n, &insn->imm);
}

/* Encode row `row` with operands already checked by shape_fits; emits. */
static int encode_row(asm_state *st, int row, const operand *o)
{
    const bpfvm__opinfo *op = &bpfvm__ops[row];
    bpfvm_insn insn = { 0 };
    bpfvm_insn hi = { 0 };
    uint64_t imm64 = 0;
    int rc = 0, dst = 0, src = 0;
    switch (op->fmt) {
    case BPFVM__FMT_ALU_K:
        dst = o[0].reg;
        rc = num_to_imm32(st, &o[1].n, &insn.imm);
        break;
    case BPFVM__FMT_ALU_X:
        dst = o[0].reg;
        src = o[1].reg;
        break;
    case BPFVM__FMT_NEG:
    case BPFVM__FMT_END:
    case BPFVM__FMT_CALLX:
        dst = o[0].reg;
        break;
    case BPFVM__FMT_JMP_K:
        dst = o[0].reg;
        if ((rc = num_to_imm32(st, &o[1].n, &insn.imm)) == 0)
            rc = set_target(st, &o[2], FIX_OFF, &insn);
        break;
    case BPFVM__FMT_JMP_X:
        dst = o[0].reg;
        src = o[1].reg;
        rc = set_target(st, &o[2], FIX_OFF, &insn);
        break;
    case BPFVM__FMT_JA:
        rc = set_target(st, &o[0], FIX_OFF, &insn);
        break;
    case BPFVM__FMT_JA32:
    case BPFVM__FMT_CALL_LOCAL:
        rc = set_target(st, &o[0], FIX_IMM, &insn);
        break;
    case BPFVM__FMT_CALL:
    case BPFVM__FMT_LDABS:
        rc = num_to_imm32(st, &o[0].n, &insn.imm);
        break;
    case BPFVM__FMT_EXIT:
        if (st->first_exit < 0)
            st->first_exit = (long long)st->count;
        break;
    case BPFVM__FMT_LDX:
        dst = o[0].reg;
        src = o[1].reg;
        rc = num_to_off16(st, &o[1].n, &insn.off);
        break;
    case BPFVM__FMT_ST:
        dst = o[0].reg;
        if ((rc = num_to_off16(st, &o[0].n, &insn.off)) == 0)
            rc = num_to_imm32(st, &o[1].n, &insn.imm);
        break;
    case BPFVM__FMT_STX:
    case BPFVM__FMT_ATOMIC:
        dst = o[0].reg;
        src = o[1].reg;
        rc = num_to_off16(st, &o[0].n, &insn.off);
        break;
    case BPFVM__FMT_LDDW:
        dst = o[0].reg;
        rc = num_to_imm64(st, &o[1].n, &imm64);
        insn.imm = (int32_t)(uint32_t)imm64;
        hi.imm = (int32_t)(uint32_t)(imm64 >> 32);
        break;
    case BPFVM__FMT_LDIND:
        src = o[0].reg;
        rc = num_to_imm32(st, &o[1].n, &insn.imm);
        break;
    default:
        break;
    }
    if (rc)
        return rc;
    insn = BPFVM_INSN(op->code, dst, src, insn.off, insn.imm);
    set_disc(row, &insn);
    if ((rc = emit(st, insn)) != 0)
        return rc;
    if (op->fmt == BPFVM__FMT_LDDW)
        rc = emit(st, hi);
    return rc;
}

/* Classic spellings that are not a row's own mnemonic. */
static const char *const classic_alias[][2] = {
    { "gotol", "ja32" }, { "swap16", "bswap16" }, { "swap32", "bswap32" },
    { "swap64", "bswap64" },
};

static int cmp_rows_by_name(const void *a, const void *b)
{
    int ra = *(const int *)a, rb = *(const int *)b;
    int c = strcmp(bpfvm__ops[ra].mnemonic, bpfvm__ops[rb].mnemonic);
    return c ? c : ra - rb;
}

static void index_rows(asm_state *st)
{
    for (int i = 0; i < BPFVM__OP_COUNT; i++)
        st->by_name[i] = i;
    qsort(st->by_name, BPFVM__OP_COUNT, sizeof st->by_name[0], cmp_rows_by_name);
}

/* The rows whose mnemonic is `name` (K and X forms, call and local call...),
 * in table order; returns how many. */
static int rows_named(const asm_state *st, const char *name, int *rows, int max)
{
    int lo = 0, hi = BPFVM__OP_COUNT, n = 0;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(bpfvm__ops[st->by_name[mid]].mnemonic, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < BPFVM__OP_COUNT && n < max && strcmp(bpfvm__ops[st->by_name[lo]].mnemonic, name) == 0;
         lo++)
        rows[n++] = st->by_name[lo];
    return n;
}

/* `.8byte VALUE`: one raw slot, the 8 bytes as a little-endian number. */
static int asm_data(asm_state *st)
{
    num n;
    uint64_t v = 0;
    int rc = parse_num(st, &n);
    if (rc <= 0)
        return rc < 0 ? rc : fail_at(st, st->p, "expected a 64-bit value after .8byte");
    if ((rc = num_to_imm64(st, &n, &v)) != 0)
        return rc;
    if (!at_end(st))
        return fail_at(st, st->p, "unexpected text after the value");
    bpfvm_insn insn;
    insn.opcode = (uint8_t)v;
    insn.dst = (uint8_t)((v >> 8) & 0xf);
    insn.src = (uint8_t)((v >> 12) & 0xf);
    insn.off = (int16_t)(uint16_t)(v >> 16);
    insn.imm = (int32_t)(uint32_t)(v >> 32);
    return emit(st, insn);
}

#define MNEMONIC_MAX 32

/* `lddw rX, func TARGET` (a label or +offset, from the next slot, as a
 * local call's): BPFVM_PSEUDO_FUNC, the callback's slot in imm. */
static int asm_func_lddw(asm_state *st, const operand *o, int n)
{
    if (n != 2 || o[0].kind != OPK_REG || !is_target(&o[1]))
        return fail_at(st, n ? o[0].at : st->p, "'lddw' of a function expects a register, "
                       "then 'func' and a target (+offset or label)");
    bpfvm_insn insn = BPFVM_INSN(BPFVM_LD | BPFVM_IMM | BPFVM_DW, o[0].reg, BPFVM_PSEUDO_FUNC,
                                 0, 0);
    int rc = set_target(st, &o[1], FIX_IMM, &insn);
    if (rc == 0)
        rc = emit(st, insn);
    return rc ? rc : emit(st, BPFVM_INSN(0, 0, 0, 0, 0));
}

static int asm_classic(asm_state *st)
{
    char name[MNEMONIC_MAX + 8];
    const char *mn_at = st->p;
    size_t len = ident_len(st);
    int force_local = 0, func = 0, rc;

    if (len == 0)
        return fail_at(st, st->p, "expected an instruction mnemonic or a label");
    if (ident_is(st->p, len, ".8byte")) {
        st->p += len;
        return asm_data(st);
    }
    if (len > MNEMONIC_MAX)
        return fail_at(st, mn_at, "unknown mnemonic '%.*s'", quote_len(len), mn_at);
    memcpy(name, st->p, len);
    name[len] = 0;
    st->p += len;
    if (strcmp(name, "lock") == 0) {
        /* lock [fetch] OP[32|64] */
        int fetch = accept_word(st, "fetch");
        size_t olen = ident_len(st);
        if (olen == 0 || olen > 12)
            return fail_at(st, st->p, "expected an atomic operation after 'lock' "
                                      "(add, or, and, xor, xchg, cmpxchg)");
        snprintf(name, sizeof name, "lock %s%.*s", fetch ? "fetch " : "", (int)olen, st->p);
        st->p += olen;
    } else if (strcmp(name, "call") == 0) {
        if (accept_word(st, "local"))
            force_local = 1;
        else if (accept_word(st, "helper"))
            force_local = 0;
        else if (ident_len(st) == 2 && ident_is(st->p, 2, "pc") &&
                 (st->p + 2 < st->end && (st->p[2] == '+' || st->p[2] == '-'))) {
            st->p += 2; /* call pc+N: local call by offset */
            force_local = 1;
        }
    }
    for (size_t i = 0; i < sizeof classic_alias / sizeof classic_alias[0]; i++)
        if (strcmp(name, classic_alias[i][0]) == 0)
            snprintf(name, sizeof name, "%s", classic_alias[i][1]);

    operand o[MAX_OPERANDS];
    int n = 0;
    if (!at_end(st)) {
        for (;;) {
            skip_ws(st);
            if (n == MAX_OPERANDS)
                return fail_at(st, st->p, "too many operands for '%s'", name);
            if (n == 1 && strcmp(name, "lddw") == 0 && accept_word(st, "func")) {
                func = 1; /* lddw rX, func TARGET: a callback (src 4) */
                skip_ws(st);
            }
            if ((rc = parse_operand(st, &o[n])) != 0)
                return rc;
            n++;
            if (at_end(st))
                break;
            if (!accept(st, ','))
                return fail_at(st, st->p, "expected ',' or the end of the line");
        }
    }

    if (func)
        return asm_func_lddw(st, o, n);
    /* call rN is callx rN */
    if (strcmp(name, "call") == 0 && n == 1 && o[0].kind == OPK_REG && !force_local)
        snprintf(name, sizeof name, "callx");

    int rows[16];
    int nrows = rows_named(st, name, rows, 16);
    if (nrows == 0) {
        /* a bare ALU/atomic/movsx name means the 64-bit row */
        char wide[sizeof name + 2];
        snprintf(wide, sizeof wide, "%s64", name);
        nrows = rows_named(st, wide, rows, 16);
    }
    if (nrows == 0)
        return fail_at(st, mn_at, "unknown mnemonic '%s'", name);
    for (int i = 0; i < nrows; i++) {
        const bpfvm__opinfo *op = &bpfvm__ops[rows[i]];
        if (force_local && op->fmt != BPFVM__FMT_CALL_LOCAL)
            continue;
        if (shape_fits(op->fmt, o, n))
            return encode_row(st, rows[i], o);
    }
    return fail_at(st, n ? o[0].at : mn_at, "'%s' expects %s", name,
                   shape_text(bpfvm__ops[rows[0]].fmt));
}

/* ---- LLVM syntax ----------------------------------------------------- */

/* Emit an LLVM-syntax instruction after checking that it is one the table
 * knows (every field combination built below maps to a row, but movsx and
 * the operators leave room for ones that do not). */
static int llvm_emit(asm_state *st, const char *at, bpfvm_insn insn)
{
    if (bpfvm__decode(&insn) < 0)
        return fail_at(st, at, "no such instruction (opcode 0x%02x)", insn.opcode);
    return emit(st, insn);
}

/* A register; `want_wide` -1 = either kind, else the kind required. */
static int llvm_reg(asm_state *st, int want_wide, int *reg, int *wide)
{
    const char *at = (skip_ws(st), st->p);
    int rc = parse_reg(st, 1, reg, wide);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return fail_at(st, at, "expected a register");
    if (want_wide >= 0 && *wide != want_wide)
        return fail_at(st, at, "expected a %s register here (%s)", want_wide ? "64-bit" : "32-bit",
                       want_wide ? "rN" : "wN");
    return 0;
}

static int llvm_expect_end(asm_state *st)
{
    if (!at_end(st))
        return fail_at(st, st->p, "unexpected text at the end of the instruction");
    return 0;
}

/* `uN *` or `sN *` inside a cast; sets the size bits, *sign. */
static int llvm_type(asm_state *st, int *size, int *sign)
{
    size_t len = ident_len(st);
    for (int i = 0; i < 4 && len; i++) {
        const char *t = bpfvm__llvm_size[i];
        if (len == strlen(t) && memcmp(st->p + 1, t + 1, len - 1) == 0 &&
            (st->p[0] == 'u' || st->p[0] == 's')) {
            *sign = st->p[0] == 's';
            *size = i << 3;
            st->p += len;
            return accept(st, '*') ? 0 : fail_at(st, st->p, "expected '*' after the type");
        }
    }
    return fail_at(st, st->p, "expected a type (u8, u16, u32, u64, s8, s16, s32)");
}

/* `(rN + off)`, `(rN - off)`, or without parentheses when `paren` is 0. */
static int llvm_addr(asm_state *st, int paren, int *reg, int16_t *off)
{
    int wide, rc;
    if (paren && (rc = expect(st, '(', "'('")) != 0)
        return rc;
    if ((rc = llvm_reg(st, 1, reg, &wide)) != 0)
        return rc;
    *off = 0;
    int c = peek(st);
    if (c == '+' || c == '-') {
        num n;
        st->p++;
        if ((rc = parse_num(st, &n)) <= 0)
            return rc < 0 ? rc : fail_at(st, st->p, "expected an offset");
        if (c == '-')
            n.neg = !n.neg;
        if (n.mag == 0)
            n.neg = 0;
        if ((rc = num_to_off16(st, &n, off)) != 0)
            return rc;
    }
    return paren ? expect(st, ')', "')'") : 0;
}

/* `*(uN *)(rN + off)` with the leading '*' already read. */
static int llvm_mem(asm_state *st, int *size, int *sign, int *reg, int16_t *off)
{
    int rc;
    if ((rc = expect(st, '(', "'(' after '*'")) != 0 || (rc = llvm_type(st, size, sign)) != 0 ||
        (rc = expect(st, ')', "')' after the type")) != 0)
        return rc;
    return llvm_addr(st, 1, reg, off);
}

/* `ll` and the end of the line. */
static int llvm_expect_ll(asm_state *st)
{
    skip_ws(st);
    if (!accept_word(st, "ll"))
        return fail_at(st, st->p, "expected 'll'");
    return llvm_expect_end(st);
}

/* A jump target: +N, -N or a label; an llvm-objdump `<sym+0x..>` note after
 * it is skipped. */
static int llvm_target_at(asm_state *st, int field, bpfvm_insn *insn)
{
    operand o;
    int rc;
    skip_ws(st);
    o.at = st->p;
    if ((rc = parse_num(st, &o.n)) < 0)
        return rc;
    if (rc > 0) {
        o.kind = OPK_IMM;
    } else if ((o.len = ident_len(st)) != 0) {
        o.kind = OPK_LABEL;
        st->p += o.len;
    } else {
        return fail_at(st, st->p, "expected a jump target (+offset or label)");
    }
    if ((rc = set_target(st, &o, field, insn)) != 0)
        return rc;
    if (accept(st, '<')) {
        const char *close = memchr(st->p, '>', (size_t)(st->end - st->p));
        if (!close)
            return fail_at(st, st->p, "expected '>'");
        st->p = close + 1;
    }
    return 0;
}

/* The same, ending the instruction. */
static int llvm_target(asm_state *st, int field, bpfvm_insn *insn)
{
    int rc = llvm_target_at(st, field, insn);
    return rc ? rc : llvm_expect_end(st);
}

/* if DST OP SRC|IMM goto TARGET */
static int llvm_if(asm_state *st, const char *at)
{
    int dst, src = 0, wide, swide, rc;
    int32_t imm = 0;
    if ((rc = llvm_reg(st, -1, &dst, &wide)) != 0)
        return rc;
    int op = -1;
    size_t best = 0;
    skip_ws(st);
    for (int i = 0; i < 16; i++) {
        const char *s = bpfvm__llvm_jmp_op[i];
        size_t n = s ? strlen(s) : 0;
        if (n > best && (size_t)(st->end - st->p) >= n && memcmp(st->p, s, n) == 0) {
            best = n;
            op = i;
        }
    }
    if (op < 0)
        return fail_at(st, st->p, "expected a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &)");
    st->p += best;
    int x = 0;
    const char *ra = (skip_ws(st), st->p);
    if ((rc = parse_reg(st, 1, &src, &swide)) < 0)
        return rc;
    if (rc > 0) {
        x = 1;
        if (swide != wide)
            return fail_at(st, ra, "both registers of a comparison must be rN or both wN");
    } else {
        num n;
        if ((rc = parse_num(st, &n)) <= 0)
            return rc < 0 ? rc : fail_at(st, st->p, "expected a register or an immediate");
        if ((rc = num_to_imm32(st, &n, &imm)) != 0)
            return rc;
    }
    if (!accept_word(st, "goto"))
        return fail_at(st, st->p, "expected 'goto'");
    bpfvm_insn insn = BPFVM_INSN((wide ? BPFVM_JMP : BPFVM_JMP32) | (x ? BPFVM_X : BPFVM_K) |
                                     (op << 4), dst, src, 0, imm);
    if ((rc = llvm_target(st, FIX_OFF, &insn)) != 0)
        return rc;
    return llvm_emit(st, at, insn);
}

/* lock *(uN *)(rD + off) OP= rS */
static int llvm_lock(asm_state *st, const char *at)
{
    int size, sign, dst, src, wide, rc;
    int16_t off;
    if ((rc = expect(st, '*', "'*'")) != 0 || (rc = llvm_mem(st, &size, &sign, &dst, &off)) != 0)
        return rc;
    if (sign)
        return fail_at(st, at, "atomic operations take an unsigned type");
    static const int atomic_ops[] = { BPFVM_ADD, BPFVM_OR, BPFVM_AND, BPFVM_XOR };
    int aop = -1;
    for (size_t k = 0; k < sizeof atomic_ops / sizeof atomic_ops[0] && aop < 0; k++) {
        char s[8];
        snprintf(s, sizeof s, "%s=", bpfvm__llvm_alu_op[atomic_ops[k] >> 4]);
        if (accept_str(st, s))
            aop = atomic_ops[k];
    }
    if (aop < 0)
        return fail_at(st, st->p, "expected +=, |=, &= or ^=");
    if ((rc = llvm_reg(st, -1, &src, &wide)) != 0 || (rc = llvm_expect_end(st)) != 0)
        return rc;
    return llvm_emit(st, at, BPFVM_INSN(BPFVM_STX | BPFVM_ATOMIC | size, dst, src, off, aop));
}

/* *(uN *)(rD + off) = rS | IMM */
static int llvm_store(asm_state *st, const char *at)
{
    int size, sign, dst, src, wide, rc;
    int16_t off;
    st->p++; /* '*' */
    if ((rc = llvm_mem(st, &size, &sign, &dst, &off)) != 0)
        return rc;
    if (sign)
        return fail_at(st, at, "stores take an unsigned type");
    if ((rc = expect(st, '=', "'='")) != 0)
        return rc;
    if ((rc = parse_reg(st, 1, &src, &wide)) < 0)
        return rc;
    if (rc > 0) {
        if ((rc = llvm_expect_end(st)) != 0)
            return rc;
        return llvm_emit(st, at, BPFVM_STX_MEM(size, dst, src, off));
    }
    num n;
    int32_t imm = 0;
    if ((rc = parse_num(st, &n)) <= 0)
        return rc < 0 ? rc : fail_at(st, st->p, "expected a register or an immediate");
    if ((rc = num_to_imm32(st, &n, &imm)) != 0 || (rc = llvm_expect_end(st)) != 0)
        return rc;
    return llvm_emit(st, at, BPFVM_ST_MEM(size, dst, off, imm));
}

/* DST = *(uN *)(rS + off) | *(sN *)... | *(uN *)skb[IMM] | *(uN *)skb[rS + IMM] */
static int llvm_load(asm_state *st, const char *at, int dst, int wide)
{
    int size, sign, src, rc;
    int16_t off;
    st->p++; /* '*' */
    if ((rc = expect(st, '(', "'(' after '*'")) != 0 || (rc = llvm_type(st, &size, &sign)) != 0 ||
        (rc = expect(st, ')', "')' after the type")) != 0)
        return rc;
    if (accept_word(st, "skb")) {
        int swide, ind;
        int32_t imm = 0;
        num n;
        if (sign || dst != 0 || !wide)
            return fail_at(st, at, "packet loads are r0 = *(uN *)skb[...]");
        if ((rc = expect(st, '[', "'['")) != 0)
            return rc;
        if ((rc = parse_reg(st, 0, &src, &swide)) < 0)
            return rc;
        ind = rc > 0;
        if (!ind)
            src = 0;
        if (!ind || accept(st, '+')) {
            if ((rc = parse_num(st, &n)) <= 0)
                return rc < 0 ? rc : fail_at(st, st->p, "expected an offset");
            if ((rc = num_to_imm32(st, &n, &imm)) != 0)
                return rc;
        }
        if ((rc = expect(st, ']', "']'")) != 0 || (rc = llvm_expect_end(st)) != 0)
            return rc;
        return llvm_emit(st, at, ind ? BPFVM_LD_IND(size, src, imm) : BPFVM_LD_ABS(size, imm));
    }
    if ((rc = llvm_addr(st, 1, &src, &off)) != 0 || (rc = llvm_expect_end(st)) != 0)
        return rc;
    return llvm_emit(st, at, BPFVM_INSN(BPFVM_LDX | (sign ? BPFVM_MEMSX : BPFVM_MEM) | size, dst,
                                        src, off, 0));
}

/* DST = atomic_fetch_OP((uN *)(rD + off), DST) | xchg_64(rD + off, DST) |
 * r0 = cmpxchg_64(rD + off, r0, rS), and the 32-bit spellings. */
static int llvm_atomic_call(asm_state *st, const char *at, int dst, int wide)
{
    static const struct { const char *name; int aop; int wide; } calls[] = {
        { "atomic_fetch_add", BPFVM_ADD | BPFVM_FETCH, -1 },
        { "atomic_fetch_or", BPFVM_OR | BPFVM_FETCH, -1 },
        { "atomic_fetch_and", BPFVM_AND | BPFVM_FETCH, -1 },
        { "atomic_fetch_xor", BPFVM_XOR | BPFVM_FETCH, -1 },
        { "xchg_64", BPFVM_XCHG, 1 },
        { "xchg32_32", BPFVM_XCHG, 0 },
        { "cmpxchg_64", BPFVM_CMPXCHG, 1 },
        { "cmpxchg32_32", BPFVM_CMPXCHG, 0 },
    };
    size_t len = ident_len(st), k;
    for (k = 0; k < sizeof calls / sizeof calls[0]; k++)
        if (ident_is(st->p, len, calls[k].name))
            break;
    if (k == sizeof calls / sizeof calls[0])
        return 1; /* not an atomic call */
    st->p += len;
    int size = BPFVM_DW, sign = 0, base, src, swide, rc;
    int16_t off;
    if ((rc = expect(st, '(', "'('")) != 0)
        return rc;
    if (calls[k].wide < 0) {
        if ((rc = expect(st, '(', "'('")) != 0 || (rc = llvm_type(st, &size, &sign)) != 0 ||
            (rc = expect(st, ')', "')' after the type")) != 0 ||
            (rc = llvm_addr(st, 1, &base, &off)) != 0)
            return rc;
        if (sign || (size != BPFVM_W && size != BPFVM_DW))
            return fail_at(st, at, "atomic operations take u32 or u64");
    } else {
        if (wide != calls[k].wide)
            return fail_at(st, at, "%s takes %s registers", calls[k].name, wide ? "wN" : "rN");
        size = calls[k].wide ? BPFVM_DW : BPFVM_W;
        if ((rc = llvm_addr(st, 0, &base, &off)) != 0)
            return rc;
    }
    if ((rc = expect(st, ',', "','")) != 0)
        return rc;
    if ((calls[k].aop) == BPFVM_CMPXCHG) {
        /* the comparand is always r0 / w0 */
        int r0, r0wide;
        if ((rc = llvm_reg(st, wide, &r0, &r0wide)) != 0)
            return rc;
        if (r0 != 0 || dst != 0)
            return fail_at(st, at, "cmpxchg compares with and loads r0");
        if ((rc = expect(st, ',', "','")) != 0)
            return rc;
    }
    if ((rc = llvm_reg(st, wide, &src, &swide)) != 0 || (rc = expect(st, ')', "')'")) != 0 ||
        (rc = llvm_expect_end(st)) != 0)
        return rc;
    if (calls[k].aop != BPFVM_CMPXCHG && src != dst)
        return fail_at(st, at, "the result register must be the value register");
    return llvm_emit(st, at, BPFVM_ATOMIC_OP(size, calls[k].aop, base, src, off));
}

/* DST = ... and DST OP= ... */
/* A source register of the same width as the destination, ending the
 * line: 1 if one was parsed, 0 if no register is there, <0 on error. */
static int llvm_src_reg(asm_state *st, int wide, int *src)
{
    int swide, rc;
    const char *ra = (skip_ws(st), st->p);
    if ((rc = parse_reg(st, 1, src, &swide)) <= 0)
        return rc;
    if (swide != wide)
        return fail_at(st, ra, "both registers must be rN or both wN");
    if ((rc = llvm_expect_end(st)) != 0)
        return rc;
    return 1;
}

static int llvm_assign(asm_state *st, const char *at)
{
    int dst, wide, src, swide, rc;
    num n;
    if ((rc = llvm_reg(st, -1, &dst, &wide)) != 0)
        return rc;
    int cls = wide ? BPFVM_ALU64 : BPFVM_ALU;

    /* compound assignment: DST OP= SRC|IMM (sdiv/smod spelled s/= and s%=) */
    skip_ws(st);
    for (int i = 0; i < 16; i++) {
        const char *s = bpfvm__llvm_alu_op[i];
        for (int sgn = 0; s && sgn < 2; sgn++) {
            char word[8];
            if (sgn && (i << 4 != BPFVM_DIV && i << 4 != BPFVM_MOD))
                continue;
            snprintf(word, sizeof word, "%s%s=", sgn ? "s" : "", s);
            if (!accept_str(st, word))
                continue;
            if ((rc = llvm_src_reg(st, wide, &src)) < 0)
                return rc;
            if (rc > 0)
                return llvm_emit(st, at, BPFVM_INSN(cls | BPFVM_X | (i << 4), dst, src, sgn, 0));
            int32_t imm = 0;
            if ((rc = parse_num(st, &n)) <= 0)
                return rc < 0 ? rc : fail_at(st, st->p, "expected a register or an immediate");
            if ((rc = num_to_imm32(st, &n, &imm)) != 0 || (rc = llvm_expect_end(st)) != 0)
                return rc;
            return llvm_emit(st, at, BPFVM_INSN(cls | BPFVM_K | (i << 4), dst, 0, sgn, imm));
        }
    }
    if (!accept(st, '='))
        return fail_at(st, st->p, "expected '=' or an operator such as '+='");
    int c = peek(st);
    if (c == '*')
        return llvm_load(st, at, dst, wide);
    if (c == '(') {
        /* movsx: DST = (sN)SRC */
        st->p++;
        size_t len = ident_len(st);
        int bits = ident_is(st->p, len, "s8") ? 8 : ident_is(st->p, len, "s16") ? 16
                 : ident_is(st->p, len, "s32") ? 32 : 0;
        if (!bits)
            return fail_at(st, st->p, "expected s8, s16 or s32");
        st->p += len;
        if ((rc = expect(st, ')', "')'")) != 0 || (rc = llvm_reg(st, wide, &src, &swide)) != 0 ||
            (rc = llvm_expect_end(st)) != 0)
            return rc;
        return llvm_emit(st, at, BPFVM_INSN(cls | BPFVM_X | BPFVM_MOV, dst, src, bits, 0));
    }
    if (c == '-') {
        /* neg: DST = -DST */
        const char *save = st->p++;
        if ((rc = parse_reg(st, 1, &src, &swide)) < 0)
            return rc;
        if (rc > 0) {
            if (src != dst || swide != wide)
                return fail_at(st, save, "negation is DST = -DST with the same register");
            if ((rc = llvm_expect_end(st)) != 0)
                return rc;
            return llvm_emit(st, at, BPFVM_INSN(cls | BPFVM_NEG, dst, 0, 0, 0));
        }
        st->p = save;
    }
    size_t len = ident_len(st);
    if (len) {
        /* byte swaps: DST = le16 DST, be32, bswap64 ... */
        static const struct { const char *name; int code; } swaps[] = {
            { "le", BPFVM_ALU | BPFVM_END | BPFVM_TO_LE },
            { "be", BPFVM_ALU | BPFVM_END | BPFVM_TO_BE },
            { "bswap", BPFVM_ALU64 | BPFVM_END },
        };
        for (size_t k = 0; k < sizeof swaps / sizeof swaps[0]; k++) {
            size_t n0 = strlen(swaps[k].name);
            if (len != n0 + 2 || memcmp(st->p, swaps[k].name, n0) != 0)
                continue;
            int bits = atoi(st->p + n0);
            if (bits != 16 && bits != 32 && bits != 64)
                break;
            st->p += len;
            if ((rc = llvm_reg(st, -1, &src, &swide)) != 0 || (rc = llvm_expect_end(st)) != 0)
                return rc;
            if (src != dst)
                return fail_at(st, at, "a byte swap is DST = %s%d DST with the same register",
                               swaps[k].name, bits);
            return llvm_emit(st, at, BPFVM_INSN(swaps[k].code, dst, 0, 0, bits));
        }
        rc = llvm_atomic_call(st, at, dst, wide);
        if (rc <= 0)
            return rc;
    }
    if (wide && accept_word(st, "func")) { /* rX = func TARGET ll: a callback (src 4) */
        bpfvm_insn insn = BPFVM_INSN(BPFVM_LD | BPFVM_IMM | BPFVM_DW, dst, BPFVM_PSEUDO_FUNC, 0, 0);
        if ((rc = llvm_target_at(st, FIX_IMM, &insn)) != 0 || (rc = llvm_expect_ll(st)) != 0 ||
            (rc = emit(st, insn)) != 0)
            return rc;
        return emit(st, BPFVM_INSN(0, 0, 0, 0, 0));
    }
    if ((rc = llvm_src_reg(st, wide, &src)) < 0)
        return rc;
    if (rc > 0)
        return llvm_emit(st, at, BPFVM_INSN(cls | BPFVM_X | BPFVM_MOV, dst, src, 0, 0));
    if ((rc = parse_num(st, &n)) < 0)
        return rc;
    if (rc == 0)
        return fail_at(st, st->p, "expected a register, an immediate, a load, a byte swap, "
                                  "a sign-extension or an atomic operation");
    if (accept_word(st, "ll")) {
        uint64_t v = 0;
        if (!wide)
            return fail_at(st, at, "a 64-bit immediate load needs an rN register");
        if ((rc = num_to_imm64(st, &n, &v)) != 0 || (rc = llvm_expect_end(st)) != 0)
            return rc;
        const bpfvm_insn two[] = { BPFVM_LD_IMM64(dst, v) };
        if ((rc = llvm_emit(st, at, two[0])) != 0)
            return rc;
        return emit(st, two[1]);
    }
    int32_t imm = 0;
    if ((rc = num_to_imm32(st, &n, &imm)) != 0 || (rc = llvm_expect_end(st)) != 0)
        return rc;
    return llvm_emit(st, at, BPFVM_INSN(cls | BPFVM_K | BPFVM_MOV, dst, 0, 0, imm));
}

static int asm_llvm(asm_state *st)
{
    skip_ws(st);
    const char *at = st->p;
    if (*st->p == '*')
        return llvm_store(st, at);
    if (accept_word(st, "if"))
        return llvm_if(st, at);
    if (accept_word(st, "goto")) {
        bpfvm_insn insn = BPFVM_JA_OFF(0);
        int rc = llvm_target(st, FIX_OFF, &insn);
        return rc ? rc : llvm_emit(st, at, insn);
    }
    if (accept_word(st, "lock"))
        return llvm_lock(st, at);
    return llvm_assign(st, at);
}

/* Does the rest of the line look like LLVM syntax? */
static int is_llvm_line(asm_state *st)
{
    skip_ws(st);
    if (st->p < st->end && *st->p == '*')
        return 1;
    size_t len = ident_len(st);
    if (len && (ident_is(st->p, len, "if") || ident_is(st->p, len, "goto")))
        return 1;
    if (len && ident_is(st->p, len, "lock")) {
        const char *q = st->p + len;
        while (q < st->end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < st->end && *q == '*')
            return 1;
    }
    return memchr(st->p, '=', (size_t)(st->end - st->p)) != NULL;
}

/* ---- lines ------------------------------------------------------------- */

static const char *comment_start(const char *p, const char *end)
{
    for (const char *q = p; q < end; q++)
        if (*q == '#' || *q == ';' || (*q == '/' && q + 1 < end && q[1] == '/'))
            return q;
    return end;
}

static int asm_line(asm_state *st)
{
    int rc;
    /* labels: NAME ':' (several may precede one instruction) */
    for (;;) {
        size_t len = ident_len(st);
        if (!len)
            break;
        const char *q = st->p + len;
        while (q < st->end && (*q == ' ' || *q == '\t'))
            q++;
        if (q >= st->end || *q != ':')
            break;
        int reg, wide;
        const char *save = st->p;
        if (parse_reg(st, 1, &reg, &wide) > 0 && st->p == save + len)
            return fail_at(st, save, "a register name cannot be a label");
        st->p = save;
        if ((rc = add_label(st, save, len)) != 0)
            return rc;
        st->p = q + 1;
    }
    if (at_end(st))
        return 0;
    return is_llvm_line(st) ? asm_llvm(st) : asm_classic(st);
}

static int resolve(asm_state *st)
{
    for (size_t i = 0; i < st->nfixups; i++) {
        const fixup *f = &st->fixups[i];
        const label *l = find_label(st, f->name, f->len);
        long long target;
        if (l)
            target = (long long)l->slot;
        else if (ident_is(f->name, f->len, "exit") && st->first_exit >= 0)
            target = st->first_exit;
        else
            return fail_line(st, f->line, f->column, "undefined label '%.*s'", quote_len(f->len),
                             f->name);
        long long rel = target - (long long)f->slot - 1;
        bpfvm_insn *insn = &st->out[f->slot];
        if (f->field == FIX_OFF) {
            if (rel < INT16_MIN || rel > INT16_MAX)
                return fail_line(st, f->line, f->column,
                                 "label '%.*s' is too far away (offset %lld does not fit in 16 bits)",
                                 quote_len(f->len), f->name, rel);
            insn->off = (int16_t)rel;
        } else {
            if (rel < INT32_MIN || rel > INT32_MAX)
                return fail_line(st, f->line, f->column, "label '%.*s' is too far away",
                                 quote_len(f->len), f->name);
            insn->imm = (int32_t)rel;
        }
    }
    return 0;
}

int bpfvm_asm(const char *text, const char *filename, bpfvm_insn **out, size_t *count,
              bpfvm_error *err)
{
    asm_state st;
    int rc = 0;
    memset(&st, 0, sizeof st);
    st.file = filename;
    st.err = err;
    st.first_exit = -1;
    index_rows(&st);
    if (out)
        *out = NULL;
    if (count)
        *count = 0;
    if (!text || !out || !count) {
        if (err) {
            reset_error(err, BPFVM_EINVAL, -1, -1);
            snprintf(err->message, sizeof err->message, "bpfvm_asm: NULL argument");
        }
        return BPFVM_EINVAL;
    }
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        const char *line_end = nl ? nl : p + strlen(p);
        if (st.line == INT32_MAX) {
            rc = fail_line(&st, st.line, 1, "too many lines");
            goto fail;
        }
        st.line++;
        st.line_start = p;
        st.p = p;
        st.end = comment_start(p, line_end);
        if ((rc = asm_line(&st)) != 0)
            goto fail;
        if (st.count > BPFVM_MAX_INSNS) {
            rc = fail_at(&st, p, "program too long (more than %u instructions)",
                         (unsigned)BPFVM_MAX_INSNS);
            goto fail;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if ((rc = resolve(&st)) != 0)
        goto fail;
    free(st.labels);
    free(st.fixups);
    if (err)
        reset_error(err, BPFVM_OK, -1, -1);
    *out = st.out;
    *count = st.count;
    return 0;
fail:
    free(st.labels);
    free(st.fixups);
    free(st.out);
    return rc;
}
