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
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct verifier {
    const bpfvm_insn *insns;
    size_t count;
    bpfvm_report_fn report;
    void *user;
    bpfvm_error *first;
    size_t problems;
    bool control_only; /* only the checks marked `control` (bpfvm__verify_control) */
    uint8_t *rows;     /* NULL, or receives the row of each instruction */
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

/* `lddw rX, func`: the callback must be an instruction of the program (the
 * engines enter it when a helper calls it). */
static void check_func_ref(verifier *v, size_t i, int op, const bpfvm_insn *insn)
{
    (void)op;
    if (!bpfvm__is_func_lddw(insn))
        return;
    int64_t t = bpfvm__func_target(insn, i);
    if (t < 0 || t >= (int64_t)v->count)
        problem(v, (int64_t)i, "lddw of a function: target %lld is outside the program (0..%zu)",
                (long long)t, v->count - 1);
    else if (t > 0 && v->insns[t - 1].opcode == (BPFVM_LD | BPFVM_IMM | BPFVM_DW))
        problem(v, (int64_t)i, "lddw of a function: target %lld is the second slot of the lddw "
                "at %lld", (long long)t, (long long)t - 1);
    if (i + 1 < v->count && v->insns[i + 1].imm)
        problem(v, (int64_t)i, "lddw of a function: its second slot's imm must be 0");
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
    { F(LDDW),                                                 check_func_ref,  true },
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

/* ==== control flow and data flow ==========================================
 *
 * Runs after a clean structural pass, so every slot decodes and every target
 * is an instruction start. Built on the control-flow marks of
 * bpfvm__cfg_marks (block leaders, function starts):
 *
 *  - Functions: slot 0 (the entry function) and every local-call target;
 *    each instruction belongs to the function whose start is the closest at
 *    or before it. A call target that the instruction before it can run
 *    into is not a function start (reported at the call, and the
 *    fall-through at that instruction) and does not split the code.
 *  - A forward data flow over the blocks, from slot 0 and from every called
 *    function entered by a reachable call, computes the registers written on
 *    every path (meet: intersection) and those a call may have left unset
 *    (meet: union). Entry of the program: r1, r2 (raw mode passes the input
 *    length there) and r10; entry of a called function: r10 and those of
 *    r1-r5 (its arguments) that every reachable call passes. Calls (helper
 *    and local) leave r1-r5 unset; a helper call sets r0, a local call sets
 *    r0 unless the function called may exit without writing it. That
 *    summary (NO_R0 on the function's start) starts optimistic and is
 *    cleared the first time an exit of the function is reached with r0
 *    unset; the slots after the calls of that function (return points,
 *    where the flow splits blocks) then lose r0 and flow on. A copy (mov)
 *    gives its destination the source's state: only uses of unset registers
 *    are errors. A conditional jump the constants of the block reaching it
 *    decide passes the state to the side it takes only (reach_edge). Block
 *    states only shrink and summaries change once, so the flow ends,
 *    recursion and call cycles included.
 *  - Reachability is structural, over every edge (find_reachable), as the
 *    kernel's; blocks reachable that the flow never reaches (only constants
 *    rule them out) get no register, frame or helper checks.
 *  - A last pass in program order reports, with the instruction index:
 *    unreachable instructions, uses of registers not written on every path
 *    (exit reads r0 in the entry function only: a called function may
 *    return nothing), r10-relative accesses outside the frame, jumps into
 *    another function, execution running into the next function, calls to
 *    what is not a function start and calls to unregistered helpers (only
 *    when the VM has helpers registered: otherwise they may come after
 *    loading). docs/verifier.md compares each with the kernel's checks.
 */

/* Marks beyond BPFVM__CFG_*: RETURN on the slot after a local call (a block
 * boundary for the flow), NO_R0 on the start of a function that may exit
 * with r0 unset. */
enum { REACHED = 8, QUEUED = 16, CALLED = 32, RETURN = 64, NO_R0 = 128 };

#define REG(r) ((uint16_t)(1u << (r)))
#define CALL_CLOBBERS (REG(1) | REG(2) | REG(3) | REG(4) | REG(5))

typedef struct effect {
    uint16_t reads, writes, clobbers;
    int8_t copy; /* mov rX, rY (64 or 32 bits): Y, whose state X takes; else -1 */
} effect;

/* The registers an instruction reads, writes and leaves unset, as far as
 * the instruction alone tells (see effect_at). */
static effect effect_of(int op, const bpfvm_insn *in)
{
    const bpfvm__opinfo *info = &bpfvm__ops[op];
    uint16_t d = REG(in->dst), s = REG(in->src);
    int mov = BPFVM_OP(info->code) == BPFVM_MOV;
    effect e = { 0, 0, 0, -1 };
    switch (info->fmt) {
    case BPFVM__FMT_ALU_K:      e.reads = mov ? 0 : d; e.writes = d; break;
    case BPFVM__FMT_ALU_X:
        e.reads = mov ? s : d | s;
        e.writes = d;
        if (op == BPFVM__OP_MOV64_X || op == BPFVM__OP_MOV32_X) { /* a copy reads nothing */
            e.reads = 0;
            e.copy = (int8_t)in->src;
        }
        break;
    case BPFVM__FMT_NEG:
    case BPFVM__FMT_END:        e.reads = d; e.writes = d; break;
    case BPFVM__FMT_JMP_K:      e.reads = d; break;
    case BPFVM__FMT_JMP_X:      e.reads = d | s; break;
    case BPFVM__FMT_CALLX:      e.reads = d; /* fall through */
    case BPFVM__FMT_CALL:
    case BPFVM__FMT_CALL_LOCAL: e.writes = REG(0); e.clobbers = CALL_CLOBBERS; break;
    case BPFVM__FMT_EXIT:       e.reads = REG(0); break;
    case BPFVM__FMT_LDX:        e.reads = s; e.writes = d; break;
    case BPFVM__FMT_ST:         e.reads = d; break;
    case BPFVM__FMT_STX:        e.reads = d | s; break;
    case BPFVM__FMT_ATOMIC:
        e.reads = d | s;
        if (in->imm == BPFVM_CMPXCHG) {
            e.reads |= REG(0);
            e.writes = REG(0);
        } else if (in->imm & BPFVM_FETCH) {
            e.writes = s;
        }
        break;
    case BPFVM__FMT_LDDW:       e.writes = d; break;
    case BPFVM__FMT_LDABS:      e.writes = REG(0); break;
    case BPFVM__FMT_LDIND:      e.reads = s; e.writes = REG(0); break;
    default: break; /* ja, ja32 */
    }
    return e;
}

/* Register state on entry to a block (or at an instruction). */
typedef struct regs {
    uint16_t set;     /* written on every path */
    uint16_t clobber; /* left unset by a call on some path */
    uint16_t copied;  /* unset on some path as a copy of an unset register */
    uint32_t r0_call; /* with r0 in clobber: slot + 1 of a local call that may
                         leave r0 unset (the lowest, over the paths); else 0 */
} regs;

_Static_assert(BPFVM__OP_COUNT <= 256, "row ids are kept in a byte");

typedef struct call_site {
    uint32_t target, ret; /* the function called, the slot after the call */
} call_site;

typedef struct flow {
    verifier *v;
    const bpfvm_vm *vm;
    unsigned char *mark;  /* bpfvm__cfg_marks, then the marks above */
    unsigned char *seen;  /* blocks reachable over every edge (what the kernel calls
                             reachable), at their leaders: 1 */
    const uint8_t *op;    /* row of each instruction start (from the structural pass) */
    uint32_t *func;       /* function start of each slot */
    regs *in;             /* state on entry, at block leaders and return points */
    uint32_t *work;       /* leaders waiting to be processed */
    size_t nwork;
    call_site *sites;     /* every local call, by target */
    size_t nsites;
    int64_t frame;        /* bytes of one stack frame */
} flow;

static void *flow_alloc(const bpfvm_vm *vm, size_t size)
{
    return vm ? bpfvm__alloc(vm, size) : malloc(size ? size : 1);
}

static void flow_free(const bpfvm_vm *vm, void *p)
{
    if (vm)
        bpfvm__free(vm, p);
    else
        free(p);
}

/* The effect of instruction i in its program: a local call leaves r0 unset
 * when the function it calls may, and exit reads r0 only in the entry
 * function (it returns to the host; a called function may return nothing,
 * and its caller then holds an unset r0). */
static effect effect_at(const flow *f, size_t i, int op, const bpfvm_insn *in)
{
    effect e = effect_of(op, in);
    int fmt = bpfvm__ops[op].fmt;
    if (fmt == BPFVM__FMT_CALL_LOCAL && (f->mark[(size_t)((int64_t)i + 1 + in->imm)] & NO_R0)) {
        e.writes = 0;
        e.clobbers |= REG(0);
    } else if (fmt == BPFVM__FMT_EXIT && f->func[i] != 0) {
        e.reads = 0;
    }
    return e;
}

/* The state after instruction i, with effect e, from state r. A copy of a
 * register takes its state: clang copies registers it never wrote around
 * loops (values it then never uses), so only a use is an error. */
static regs apply(regs r, effect e, size_t i)
{
    if (e.copy >= 0 && !(r.set & REG(e.copy))) {
        uint16_t to = e.writes;
        if (to == REG(e.copy))
            return r; /* a copy to itself */
        r.set &= (uint16_t)~to;
        r.clobber = (uint16_t)((r.clobber & REG(e.copy)) ? r.clobber | to : r.clobber & ~to);
        r.copied |= to;
        if (to == REG(0))
            r.r0_call = 0;
        return r;
    }
    r.set = (uint16_t)((r.set & ~e.clobbers) | e.writes);
    r.clobber = (uint16_t)((r.clobber | e.clobbers) & ~e.writes);
    r.copied &= (uint16_t)~(e.clobbers | e.writes);
    if (e.clobbers & REG(0))
        r.r0_call = (uint32_t)i + 1;
    else if (e.writes & REG(0))
        r.r0_call = 0;
    return r;
}

/* Merge a state into the entry of the block at `b`; queue it if it changed. */
static void reach(flow *f, size_t b, regs r)
{
    unsigned char *m = &f->mark[b];
    if (*m & REACHED) {
        regs old = f->in[b];
        r.set &= old.set;
        r.clobber |= old.clobber;
        r.copied |= old.copied;
        if (!r.r0_call || (old.r0_call && old.r0_call < r.r0_call))
            r.r0_call = old.r0_call;
        if (r.set == old.set && r.clobber == old.clobber && r.copied == old.copied &&
            r.r0_call == old.r0_call)
            return;
    }
    f->in[b] = r;
    *m |= REACHED;
    if (!(*m & QUEUED)) {
        *m |= QUEUED;
        f->work[f->nwork++] = (uint32_t)b;
    }
}

/* An exit of function `fn` is reached with r0 unset: from now on its calls
 * leave r0 unset, and the return points already reached lose r0. */
static void exits_without_r0(flow *f, uint32_t fn)
{
    if (f->mark[fn] & NO_R0)
        return;
    f->mark[fn] |= NO_R0;
    size_t lo = 0, hi = f->nsites;
    while (lo < hi) { /* the first site calling fn */
        size_t mid = lo + (hi - lo) / 2;
        if (f->sites[mid].target < fn)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k < f->nsites && f->sites[k].target == fn; k++) {
        uint32_t ret = f->sites[k].ret;
        if (f->mark[ret] & REACHED) {
            regs r = f->in[ret];
            r.set &= (uint16_t)~REG(0);
            r.clobber |= REG(0);
            r.copied &= (uint16_t)~REG(0);
            r.r0_call = ret; /* the call's slot + 1 */
            reach(f, ret, r);
        }
    }
}

static int is_jump(int fmt)
{
    return fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X || fmt == BPFVM__FMT_JA ||
           fmt == BPFVM__FMT_JA32;
}

static size_t width(int op)
{
    return op == BPFVM__OP_LDDW ? 2 : 1;
}

/* Registers holding a value the block being walked set from a constant
 * (mov, lddw, copies of those): enough to decide the flag tests clang puts
 * where the paths of a loop meet, as the kernel does by following paths. */
typedef bpfvm__consts consts;

static void track(consts *c, int op, const bpfvm_insn *in, effect e)
{
    bpfvm__consts_track(c, op, in, (uint16_t)(e.writes | e.clobbers));
    if (op == BPFVM__OP_LDDW && !bpfvm__is_func_lddw(in)) {
        c->val[in->dst] = bpfvm__lddw_value(in);
        c->known |= REG(in->dst);
    }
}

/* Pass a state along an edge to the block at t. A block that is only a
 * conditional jump the constants decide is passed through to the side it
 * takes (a few in a row at most), so the paths that meet there stay apart. */
static void reach_edge(flow *f, size_t t, regs r, const consts *c)
{
    for (int hops = 0; hops < 8 && !(f->mark[t] & RETURN); hops++) {
        int op = f->op[t];
        int taken = bpfvm__consts_decide(c, op, &f->v->insns[t]);
        if (taken < 0)
            break;
        t = taken ? (size_t)target_of(t, op, &f->v->insns[t]) : t + 1;
    }
    reach(f, t, r);
}

/* Walk the block at `b` with its entry state, passing the state on to the
 * blocks and functions it leads to. */
static void walk_block(flow *f, size_t b)
{
    const bpfvm_insn *insns = f->v->insns;
    size_t count = f->v->count;
    regs r = f->in[b];
    consts c = { 0, { 0 } };
    for (size_t i = b;;) {
        int op = f->op[i];
        int fmt = bpfvm__ops[op].fmt;
        size_t next = i + width(op);
        int taken = -1;
        if (fmt == BPFVM__FMT_CALL_LOCAL) /* the arguments every call passes */
            reach(f, (size_t)target_of(i, op, &insns[i]),
                  (regs){ (uint16_t)((r.set & CALL_CLOBBERS) | REG(10)),
                          (uint16_t)(r.clobber & CALL_CLOBBERS),
                          (uint16_t)(r.copied & CALL_CLOBBERS), 0 });
        else if (bpfvm__is_func_lddw(&insns[i])) /* a callback: the helper passes r1-r5 */
            reach(f, (size_t)bpfvm__func_target(&insns[i], i),
                  (regs){ (uint16_t)(CALL_CLOBBERS | REG(10)), 0, 0, 0 });
        else if (fmt == BPFVM__FMT_EXIT && !(r.set & REG(0)))
            exits_without_r0(f, f->func[i]);
        effect e = effect_at(f, i, op, &insns[i]);
        r = apply(r, e, i);
        if (is_jump(fmt)) {
            taken = bpfvm__consts_decide(&c, op, &insns[i]);
            if (taken != 0)
                reach_edge(f, (size_t)target_of(i, op, &insns[i]), r, &c);
        }
        track(&c, op, &insns[i], e);
        if (!bpfvm__falls_through(fmt) || taken == 1 || next >= count)
            return;
        if (f->mark[next] & (BPFVM__CFG_LEADER | RETURN)) {
            reach_edge(f, next, r, &c);
            return;
        }
        i = next;
    }
}

/* Mark the blocks reachable from slot 0 over every jump, fall-through and
 * call, whatever the constants (the kernel's rule for unreachable code). */
static void find_reachable(flow *f)
{
    size_t n = 0, count = f->v->count;
    f->seen[0] = 1;
    f->work[n++] = 0;
    while (n) {
        for (size_t i = f->work[--n];; ) {
            int op = f->op[i];
            int fmt = bpfvm__ops[op].fmt;
            size_t next = i + width(op), t = count;
            if (is_jump(fmt) || fmt == BPFVM__FMT_CALL_LOCAL)
                t = (size_t)target_of(i, op, &f->v->insns[i]);
            else if (bpfvm__is_func_lddw(&f->v->insns[i]))
                t = (size_t)bpfvm__func_target(&f->v->insns[i], i);
            if (t < count && !f->seen[t]) {
                f->seen[t] = 1;
                f->work[n++] = (uint32_t)t;
            }
            if (!bpfvm__falls_through(fmt) || next >= count)
                break;
            if (f->mark[next] & BPFVM__CFG_LEADER) {
                if (!f->seen[next]) {
                    f->seen[next] = 1;
                    f->work[n++] = (uint32_t)next;
                }
                break;
            }
            i = next;
        }
    }
}

/* The instruction that starts before slot t (t > 0). */
static size_t previous_insn(const flow *f, size_t t)
{
    return (f->mark[t - 1] & BPFVM__CFG_START) ? t - 1 : t - 2;
}

/* Reads of registers not written on every path to instruction i. */
static void check_reads(flow *f, size_t i, int op, uint16_t reads, regs r)
{
    uint16_t unset = (uint16_t)(reads & ~r.set);
    const char *verb = op == BPFVM__OP_EXIT ? "exit with" : "reads";
    for (int reg = 0; unset && reg <= 10; reg++) {
        if (!(unset & REG(reg)))
            continue;
        if (reg == 0 && r.r0_call) {
            size_t call = r.r0_call - 1;
            problem(f->v, (int64_t)i, "%s r0, which the call at %zu may have left unset (the "
                    "function at %lld does not write r0 on every path to its exit)", verb,
                    call, (long long)target_of(call, f->op[call], &f->v->insns[call]));
        } else if (r.copied & REG(reg)) {
            problem(f->v, (int64_t)i, "%s r%d, a copy of a register that is not written on "
                    "every path to it", verb, reg);
        } else if (r.clobber & REG(reg)) {
            problem(f->v, (int64_t)i, "reads r%d after a call clobbered it (calls leave r1-r5 "
                    "unset)", reg);
        } else if (op == BPFVM__OP_EXIT) {
            problem(f->v, (int64_t)i, "exit with r0 not written on every path to it");
        } else {
            problem(f->v, (int64_t)i, "reads r%d, which is not written on every path to it",
                    reg);
        }
    }
}

/* A helper call must name a registered helper, when the VM has any. */
static void check_helper(flow *f, size_t i, int op, const bpfvm_insn *in)
{
    if (bpfvm__ops[op].fmt == BPFVM__FMT_CALL && f->vm && f->vm->nhelpers &&
        !bpfvm__find_helper(f->vm, (uint32_t)in->imm))
        problem(f->v, (int64_t)i, "unknown helper %u", (unsigned)in->imm);
}

/* A load or store at r10 + constant must stay inside the current frame. */
static void check_stack(flow *f, size_t i, int op, const bpfvm_insn *in)
{
    int fmt = bpfvm__ops[op].fmt;
    int base = fmt == BPFVM__FMT_LDX ? in->src : in->dst;
    if (base != BPFVM_R10 || (fmt != BPFVM__FMT_LDX && fmt != BPFVM__FMT_ST &&
                              fmt != BPFVM__FMT_STX && fmt != BPFVM__FMT_ATOMIC))
        return;
    int64_t size = bpfvm__access_size(op);
    if (in->off < -f->frame || in->off + size > 0)
        problem(f->v, (int64_t)i,
                "stack access at r10%+d (%lld bytes) is outside the frame [r10-%lld, r10)",
                in->off, (long long)size, (long long)f->frame);
}

/* Jumps, calls and falling through, against function bounds. */
static void check_flow(flow *f, size_t i, int op, const bpfvm_insn *in)
{
    int fmt = bpfvm__ops[op].fmt;
    size_t next = i + width(op);
    if (is_jump(fmt)) {
        size_t t = (size_t)target_of(i, op, in);
        if (f->func[t] != f->func[i])
            problem(f->v, (int64_t)i, "jump target %zu is in another function (the one at %u)",
                    t, f->func[t]);
    } else if (fmt == BPFVM__FMT_CALL_LOCAL || bpfvm__is_func_lddw(in)) {
        size_t t = (size_t)(fmt == BPFVM__FMT_CALL_LOCAL ? target_of(i, op, in)
                                                         : bpfvm__func_target(in, i));
        if (!(f->mark[t] & BPFVM__CFG_FUNC))
            problem(f->v, (int64_t)i,
                    "%s target %zu is not the start of a function: instruction %zu runs "
                    "into it", fmt == BPFVM__FMT_CALL_LOCAL ? "call" : "callback", t,
                    previous_insn(f, t));
    }
    if (bpfvm__falls_through(fmt) && next < f->v->count && (f->mark[next] & CALLED))
        problem(f->v, (int64_t)i,
                "execution falls off the end of the function into the function at %zu", next);
}

/* Report a run of unreachable instructions starting at i; returns the slot
 * after it. */
static size_t report_unreachable(flow *f, size_t i)
{
    size_t last = i, j = i;
    while (j < f->v->count && !((f->mark[j] & BPFVM__CFG_LEADER) && f->seen[j])) {
        if (f->mark[j] & BPFVM__CFG_START)
            last = j;
        j++;
    }
    if (last == i)
        problem(f->v, (int64_t)i, "unreachable instruction");
    else
        problem(f->v, (int64_t)i, "unreachable instructions (%zu to %zu)", i, last);
    return j;
}

static int site_cmp(const void *a, const void *b)
{
    const call_site *x = a, *y = b;
    return x->target < y->target ? -1 : x->target > y->target;
}

/* Mark call targets (those the previous instruction runs into are no
 * function starts) and return points, list the calls by target, then give
 * each slot its function. Returns 0 or BPFVM_ENOMEM. */
static int find_functions(flow *f)
{
    const bpfvm_insn *insns = f->v->insns;
    size_t count = f->v->count, n = 0;
    for (size_t i = 0; i < count; i += width(f->op[i]))
        n += f->op[i] == BPFVM__OP_CALL_LOCAL;
    f->sites = flow_alloc(f->vm, n * sizeof(*f->sites));
    if (!f->sites)
        return BPFVM_ENOMEM;
    for (size_t i = 0; i < count; i += width(f->op[i])) {
        int op = f->op[i];
        if (bpfvm__is_func_lddw(&insns[i])) { /* a callback */
            size_t t = (size_t)bpfvm__func_target(&insns[i], i);
            f->mark[t] |= CALLED;
            if (t > 0 && bpfvm__falls_through(bpfvm__ops[f->op[previous_insn(f, t)]].fmt))
                f->mark[t] &= (unsigned char)~BPFVM__CFG_FUNC;
            continue;
        }
        if (op != BPFVM__OP_CALL_LOCAL)
            continue;
        size_t t = (size_t)target_of(i, op, &insns[i]);
        f->mark[t] |= CALLED;
        f->mark[i + 1] |= RETURN; /* a call is never last: the structural pass checked */
        f->sites[f->nsites++] = (call_site){ (uint32_t)t, (uint32_t)i + 1 };
        if (t > 0 && bpfvm__falls_through(bpfvm__ops[f->op[previous_insn(f, t)]].fmt))
            f->mark[t] &= (unsigned char)~BPFVM__CFG_FUNC;
    }
    if (f->nsites)
        qsort(f->sites, f->nsites, sizeof(*f->sites), site_cmp);
    uint32_t cur = 0;
    for (size_t i = 0; i < count; i++) {
        if (f->mark[i] & BPFVM__CFG_FUNC)
            cur = (uint32_t)i;
        f->func[i] = cur;
    }
    return 0;
}

static int check_flow_and_data(verifier *v, const bpfvm_vm *vm)
{
    size_t count = v->count;
    flow f = { v, vm, NULL, NULL, v->rows, NULL, NULL, NULL, 0, NULL, 0,
               vm ? (int64_t)vm->stack_size : 512 };
    int rc = 0;

    f.mark = flow_alloc(vm, count + 1);
    f.func = flow_alloc(vm, count * sizeof(*f.func));
    f.in = flow_alloc(vm, count * sizeof(*f.in));
    f.work = flow_alloc(vm, count * sizeof(*f.work));
    f.seen = flow_alloc(vm, count);
    if (f.mark)
        memset(f.mark, 0, count + 1);
    if (f.seen)
        memset(f.seen, 0, count);
    if (f.in) /* blocks the flow never reaches are read by the last pass too */
        memset(f.in, 0, count * sizeof(*f.in));
    if (!f.mark || !f.func || !f.in || !f.work || !f.seen ||
        (bpfvm__cfg_marks(v->insns, count, f.op, f.mark), find_functions(&f))) {
        rc = bpfvm__set_error(v->first, BPFVM_ENOMEM, -1, "out of memory");
        goto done;
    }

    find_reachable(&f);
    reach(&f, 0, (regs){ (uint16_t)(REG(1) | REG(2) | REG(10)), 0, 0, 0 });
    while (f.nwork) {
        size_t b = f.work[--f.nwork];
        f.mark[b] &= (unsigned char)~QUEUED;
        walk_block(&f, b);
    }

    /* In program order. The checks of paths (registers, the frame, helpers)
     * skip the blocks only constants rule out, which the kernel never walks
     * either; those of the code's shape apply to every reachable block. */
    regs r = { 0, 0, 0, 0 };
    bool live = true;
    for (size_t i = 0; i < count;) {
        if (f.mark[i] & (BPFVM__CFG_LEADER | RETURN)) {
            r = f.in[i];
            live = (f.mark[i] & REACHED) != 0;
        }
        if ((f.mark[i] & BPFVM__CFG_LEADER) && !f.seen[i]) {
            i = report_unreachable(&f, i);
            continue;
        }
        const bpfvm_insn *in = &v->insns[i];
        int op = f.op[i];
        effect e = effect_at(&f, i, op, in);
        if (live) {
            check_reads(&f, i, op, e.reads, r);
            check_stack(&f, i, op, in);
            check_helper(&f, i, op, in);
        }
        check_flow(&f, i, op, in);
        r = apply(r, e, i);
        i += width(op);
    }
done:
    flow_free(vm, f.mark);
    flow_free(vm, f.func);
    flow_free(vm, f.in);
    flow_free(vm, f.work);
    flow_free(vm, f.sites);
    flow_free(vm, f.seen);
    return rc;
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
        if (v.rows)
            v.rows[i] = (uint8_t)op;
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
    bool sized = count && count <= BPFVM_MAX_INSNS;
    uint8_t *rows = sized ? flow_alloc(vm, count) : NULL;
    if (sized && !rows)
        return bpfvm__set_error(first, BPFVM_ENOMEM, -1, "out of memory");
    verifier v = { insns, count, report, user, first, 0, false, rows };
    int rc = verify(v);
    if (rc == 0)
        rc = check_flow_and_data(&v, vm);
    flow_free(vm, rows);
    return rc ? rc : v.problems ? BPFVM_EVERIFY : 0;
}

int bpfvm__verify_control(const bpfvm_insn *insns, size_t count, bpfvm_error *first)
{
    verifier v = { insns, count, NULL, NULL, first, 0, true, NULL };
    return verify(v);
}

int bpfvm_verify(const bpfvm_vm *vm, const bpfvm_insn *insns, size_t count,
                 bpfvm_report_fn report, void *user, bpfvm_error *first)
{
    if (!insns && count)
        return bpfvm__set_error(first, BPFVM_EINVAL, -1, "no instructions");
    return bpfvm__verify(vm, insns, count, report, user, first);
}
