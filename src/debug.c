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

int bpfvm_run_traced(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                     bpfvm_trace_fn fn, void *user, uint64_t *r0, bpfvm_error *err)
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
    if (!(t.code = bpfvm__interp_decode_traced(vm, vm->code, vm->count)))
        return bpfvm__set_error(detail, BPFVM_ENOMEM, -1, "out of memory");
    int rc = bpfvm__run_engine_traced(vm, bpfvm__interpret_traced, &t, mem, mem_len, mbuff,
                                      mbuff_len, r0, err);
    bpfvm__free(vm, (void *)(uintptr_t)t.code);
    return rc;
}
