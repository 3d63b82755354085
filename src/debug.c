/* debug.c - traced runs and the debugger on top of them.
 *
 * A traced run is the interpreter built a second time (interp_trace.c) over
 * its own decoding of the program without fused forms, calling
 * bpfvm__trace_step before every instruction: the instruction semantics
 * stay in interp.c alone, and untraced runs carry no trace code.
 */
#include <string.h>

#include "internal.h"

/* ---- traced runs ----------------------------------------------------------- */

/* The memory instruction `insn` accesses with the registers as they are. */
static void access_of(const bpfvm_ctx *ctx, size_t insn, const uint64_t *reg,
                      bpfvm_trace_state *st)
{
    const bpfvm_insn *in = &ctx->vm->code[insn];
    const unsigned size = bpfvm__access_size(in->opcode);
    const uint64_t off = (uint64_t)(int64_t)in->off;
    if (!size)
        return;
    st->size = size;
    switch (bpfvm__ops[in->opcode].fmt) {
    case BPFVM__FMT_LDX: st->addr = reg[in->src] + off; break;
    case BPFVM__FMT_LDABS: st->addr = ctx->mem_start + (uint32_t)in->imm; break;
    case BPFVM__FMT_LDIND: st->addr = ctx->mem_start + reg[in->src] + (uint64_t)(int64_t)in->imm; break;
    default: st->addr = reg[in->dst] + off; st->write = 1; break; /* stores, atomics */
    }
}

int bpfvm__trace_step(bpfvm_ctx *ctx, size_t insn, uint64_t *reg, unsigned depth,
                      uint64_t executed)
{
    struct bpfvm__trace *t = ctx->trace;
    bpfvm_trace_state st = { insn, reg, depth, t->calls, executed, 0, 0, 0, ctx };
    if (insn == BPFVM_TRACE_END) {
        (void)t->fn(t->user, &st);
        return 0;
    }
    access_of(ctx, insn, reg, &st);
    if (t->fn(t->user, &st))
        return bpfvm__set_error(ctx->err, BPFVM_ESTOPPED, (int64_t)insn,
                                "instruction %zu: run stopped by the trace hook", insn);
    return 0;
}

/* A traced run of the loaded program with `counts` (NULL: trace) and `fn`. */
static int run_traced(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                      uint64_t *counts, bpfvm_trace_fn fn, void *user, uint64_t *r0,
                      bpfvm_error *err)
{
    bpfvm_error *detail = err ? err : vm ? &vm->last_error : NULL;
    struct bpfvm__trace t;
    if (!vm || !fn)
        return bpfvm__set_error(detail, BPFVM_EINVAL, -1, "no VM or no trace hook");
    if (!vm->code)
        return bpfvm__set_error(detail, BPFVM_ENOPROG, -1, "no program loaded");
    memset(&t, 0, sizeof(t));
    t.fn = fn;
    t.user = user;
    t.counts = counts;
    if (!(t.code = bpfvm__interp_decode_traced(vm, vm->code, vm->count)))
        return bpfvm__set_error(detail, BPFVM_ENOMEM, -1, "out of memory");
    int rc = bpfvm__run_engine_traced(vm, bpfvm__interpret_traced, &t, mem, mem_len, mbuff,
                                      mbuff_len, r0, err);
    bpfvm__free(vm, (void *)(uintptr_t)t.code);
    return rc;
}

int bpfvm_run_traced(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                     bpfvm_trace_fn fn, void *user, uint64_t *r0, bpfvm_error *err)
{
    return run_traced(vm, mem, mem_len, mbuff, mbuff_len, NULL, fn, user, r0, err);
}

/* Counting runs call the hook only where the depth changes: a hook that
 * ignores everything else. */
static int no_hook(void *user, const bpfvm_trace_state *state)
{
    (void)user, (void)state;
    return 0;
}

int bpfvm_run_counted(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                      uint64_t *counts, bpfvm_trace_fn fn, void *user, uint64_t *r0,
                      bpfvm_error *err)
{
    if (!counts)
        return bpfvm__set_error(err ? err : vm ? &vm->last_error : NULL, BPFVM_EINVAL, -1,
                                "no count array");
    return run_traced(vm, mem, mem_len, mbuff, mbuff_len, counts, fn ? fn : no_hook, user, r0,
                      err);
}

int bpfvm_test_run_traced(bpfvm_vm *vm, bpfvm_test_run_opts *opts, bpfvm_trace_fn fn, void *user,
                          uint64_t *counts)
{
    if (!vm || !fn)
        return BPFVM_EINVAL;
    struct bpfvm__test_trace t = { fn, user, counts };
    vm->test_trace = &t;
    int rc = bpfvm_test_run(vm, opts);
    vm->test_trace = NULL;
    return rc;
}

/* ---- the debugger ----------------------------------------------------------- */

#define MAX_WATCHES 16

struct bpfvm_debugger {
    bpfvm_vm *vm;
    size_t *breaks;       /* slots, unsorted */
    size_t nbreaks, breaks_cap;
    struct {
        uint64_t addr, len;
    } watches[MAX_WATCHES];
    size_t nwatches;
    /* while a run is stopped or stepping */
    bpfvm_stop_fn fn;
    void *user;
    const bpfvm_trace_state *st;
    bpfvm_resume mode;
    unsigned base_depth;  /* depth and source line where the mode was set */
    const char *base_file;
    uint32_t base_line;
    int store_pending;    /* the instruction that just ran stored into a watch */
    bpfvm_stop_info info;
};

bpfvm_debugger *bpfvm_debugger_create(bpfvm_vm *vm)
{
    if (!vm)
        return NULL;
    bpfvm_debugger *d = bpfvm__alloc(vm, sizeof(*d));
    if (d) {
        memset(d, 0, sizeof(*d));
        d->vm = vm;
    }
    return d;
}

void bpfvm_debugger_destroy(bpfvm_debugger *d)
{
    if (!d)
        return;
    bpfvm__free(d->vm, d->breaks);
    bpfvm__free(d->vm, d);
}

static bool is_break(const bpfvm_debugger *d, size_t insn)
{
    for (size_t i = 0; i < d->nbreaks; i++)
        if (d->breaks[i] == insn)
            return true;
    return false;
}

int bpfvm_debug_break(bpfvm_debugger *d, size_t insn)
{
    if (!d)
        return BPFVM_EINVAL;
    bpfvm_error *err = &d->vm->last_error;
    if (insn >= d->vm->count || (insn > 0 && d->vm->code[insn - 1].opcode == BPFVM__OP_LDDW))
        return bpfvm__set_error(err, BPFVM_EINVAL, (int64_t)insn,
                                "no instruction starts at slot %zu", insn);
    if (is_break(d, insn))
        return 0;
    if (d->nbreaks == d->breaks_cap) {
        size_t cap = d->breaks_cap ? 2 * d->breaks_cap : 8;
        size_t *b = bpfvm__realloc(d->vm, d->breaks, cap * sizeof(*b));
        if (!b)
            return bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
        d->breaks = b;
        d->breaks_cap = cap;
    }
    d->breaks[d->nbreaks++] = insn;
    return 0;
}

int bpfvm_debug_delete(bpfvm_debugger *d, size_t insn)
{
    if (!d)
        return BPFVM_EINVAL;
    for (size_t i = 0; i < d->nbreaks; i++)
        if (d->breaks[i] == insn) {
            d->breaks[i] = d->breaks[--d->nbreaks];
            return 0;
        }
    return bpfvm__set_error(&d->vm->last_error, BPFVM_ENOTFOUND, (int64_t)insn,
                            "no breakpoint at %zu", insn);
}

size_t bpfvm_debug_breakpoints(const bpfvm_debugger *d, const size_t **insns)
{
    if (insns)
        *insns = d ? d->breaks : NULL;
    return d ? d->nbreaks : 0;
}

int bpfvm_debug_watch(bpfvm_debugger *d, uint64_t addr, uint64_t len)
{
    if (!d)
        return BPFVM_EINVAL;
    if (len == 0 || len > UINT64_MAX - addr || d->nwatches == MAX_WATCHES)
        return bpfvm__set_error(&d->vm->last_error, BPFVM_EINVAL, -1,
                                "watch: %s", len == 0 || len > UINT64_MAX - addr
                                                 ? "empty or wrapping range"
                                                 : "too many watches (16)");
    d->watches[d->nwatches].addr = addr;
    d->watches[d->nwatches++].len = len;
    return 0;
}

/* Does [addr, addr+size) overlap a watch? */
static bool watched(const bpfvm_debugger *d, uint64_t addr, uint64_t size)
{
    for (size_t i = 0; i < d->nwatches; i++)
        if (addr < d->watches[i].addr + d->watches[i].len && d->watches[i].addr < addr + size)
            return true;
    return false;
}

/* The source line of a slot (file NULL, line 0 if unknown). */
static void line_of(const bpfvm_vm *vm, size_t insn, const char **file, uint32_t *line)
{
    bpfvm_source s;
    bpfvm_source_at(vm, insn, &s);
    *file = s.file;
    *line = s.line;
}

/* Should the run stop before st->insn, with the current mode? */
static bool mode_stops(const bpfvm_debugger *d, const bpfvm_trace_state *st)
{
    const char *file;
    uint32_t line;
    line_of(d->vm, st->insn, &file, &line);
    bool new_line = line != 0 && (line != d->base_line || file != d->base_file);
    bool source = d->base_line != 0; /* stepping by source lines where they are known */
    switch (d->mode) {
    case BPFVM_RESUME_STEPI: return true;
    case BPFVM_RESUME_NEXTI: return st->depth <= d->base_depth;
    case BPFVM_RESUME_STEP: return !source || new_line || st->depth != d->base_depth;
    case BPFVM_RESUME_NEXT:
        return st->depth < d->base_depth ||
               (st->depth == d->base_depth && (!source || new_line));
    case BPFVM_RESUME_FINISH: return st->depth < d->base_depth;
    default: return false;
    }
}

static int debug_hook(void *user, const bpfvm_trace_state *st)
{
    bpfvm_debugger *d = user;
    bpfvm_stop why = BPFVM_STOP_NONE;
    if (st->insn == BPFVM_TRACE_END)
        return 0;
    if (d->store_pending) {
        why = BPFVM_STOP_WATCH;
        d->store_pending = 0;
    }
    if (st->size && st->write && watched(d, st->addr, st->size)) {
        d->info.store_insn = st->insn;
        d->info.store_addr = st->addr;
        d->info.store_size = st->size;
        d->store_pending = 1;
    }
    if (!why && mode_stops(d, st))
        why = BPFVM_STOP_STEP;
    if (!why && is_break(d, st->insn))
        why = BPFVM_STOP_BREAK;
    if (!why)
        return 0;
    d->st = st;
    d->info.why = why;
    d->info.insn = st->insn;
    d->info.depth = st->depth;
    d->info.executed = st->executed;
    bpfvm_resume next = d->fn(d->user, d, &d->info);
    d->st = NULL;
    if (next == BPFVM_RESUME_KILL)
        return 1;
    d->mode = next;
    d->base_depth = st->depth;
    line_of(d->vm, st->insn, &d->base_file, &d->base_line);
    return 0;
}

int bpfvm_debug_run(bpfvm_debugger *d, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                    bpfvm_resume first, bpfvm_stop_fn fn, void *user, uint64_t *r0,
                    bpfvm_error *err)
{
    if (!d || !fn)
        return BPFVM_EINVAL;
    d->fn = fn;
    d->user = user;
    d->mode = first;
    d->base_depth = 0;
    d->base_file = NULL;
    d->base_line = 0;
    d->store_pending = 0;
    memset(&d->info, 0, sizeof(d->info));
    return bpfvm_run_traced(d->vm, mem, mem_len, mbuff, mbuff_len, debug_hook, d, r0, err);
}

/* ---- a stopped run ----------------------------------------------------------- */

int bpfvm_debug_get_reg(const bpfvm_debugger *d, unsigned reg, uint64_t *value)
{
    if (!d || !d->st || reg > 10 || !value)
        return BPFVM_EINVAL;
    *value = d->st->regs[reg];
    return 0;
}

int bpfvm_debug_set_reg(bpfvm_debugger *d, unsigned reg, uint64_t value)
{
    if (!d || !d->st || reg > 9) /* r10, the frame pointer, is the VM's */
        return BPFVM_EINVAL;
    d->st->regs[reg] = value;
    return 0;
}

/* The host memory of [addr, addr+len) if the program may access it now
 * (checked whether or not the run checks memory: the debugger's reads and
 * writes never go where the program could not). */
static void *debug_access(const bpfvm_debugger *d, uint64_t addr, size_t len, bool write)
{
    if (!d || !d->st || len == 0 || !bpfvm__access_ok(d->st->ctx, addr, len, write))
        return NULL;
    return (void *)(uintptr_t)addr;
}

int bpfvm_debug_read(const bpfvm_debugger *d, uint64_t addr, void *buf, size_t len)
{
    const void *p = debug_access(d, addr, len, false);
    if (!p)
        return d && d->st ? BPFVM_EMEMORY : BPFVM_EINVAL;
    memcpy(buf, p, len);
    return 0;
}

int bpfvm_debug_write(bpfvm_debugger *d, uint64_t addr, const void *buf, size_t len)
{
    void *p = debug_access(d, addr, len, true);
    if (!p)
        return d && d->st ? BPFVM_EMEMORY : BPFVM_EINVAL;
    memcpy(p, buf, len);
    return 0;
}

size_t bpfvm_debug_frames(const bpfvm_debugger *d, bpfvm_frame *out, size_t max)
{
    if (!d || !d->st)
        return 0;
    const bpfvm_trace_state *st = d->st;
    const bpfvm_ctx *ctx = st->ctx;
    const uint64_t size = d->vm->stack_size;
    size_t n = 0;
    for (unsigned k = st->depth + 1; k-- > 0 && n < max; n++) { /* innermost first */
        size_t call = k ? st->calls[k - 1] : 0;
        out[n].pc = k == st->depth ? st->insn : st->calls[k];
        out[n].function = k ? (size_t)((int64_t)call + 1 + d->vm->code[call].imm) : 0;
        out[n].fp = ctx->stack_start + (uint64_t)k * size + size;
    }
    return (size_t)st->depth + 1;
}
