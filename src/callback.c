/* callback.c - calls from helpers into the program: the functions that
 * `lddw rX, func` (src BPFVM_PSEUDO_FUNC) names, which bpf_loop and
 * bpf_for_each_map_elem call back.
 *
 * At install each such lddw becomes, in the engines' pre-decoded copy, an
 * lddw of the function's slot index: that is the value the program holds
 * and passes to the helper. A helper calls bpfvm__call_function, which
 * checks the value names a callback of the program, checks the call depth
 * as a local call would, moves the current frame up by one and runs the
 * function in the running engine (ctx->callback, the JIT's, or else the
 * interpreter, traced or not), which shares the run's instruction budget
 * (the engines set no field for it: a store per run cost the interpreter
 * half a nanosecond of its 14 ns empty run). A fault
 * inside the callback ends the whole run with that fault: the engine
 * reports it as is (ctx->failed < 0) once the helper returns.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int bpfvm__install_callbacks(const bpfvm_vm *vm, bpfvm_insn *code, size_t count,
                             uint32_t **out, size_t *n)
{
    size_t k = 0;
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i + 1 < count; i++)
        if (code[i].opcode == BPFVM__OP_LDDW && code[i].src == BPFVM_PSEUDO_FUNC)
            k++;
    if (!k)
        return 0;
    uint32_t *slots = bpfvm__alloc(vm, k * sizeof(*slots));
    if (!slots)
        return BPFVM_ENOMEM;
    k = 0;
    for (size_t i = 0; i + 1 < count; i++) {
        if (code[i].opcode != BPFVM__OP_LDDW)
            continue;
        if (code[i].src == BPFVM_PSEUDO_FUNC) {
            /* the verifier (control part, always run) kept it in the program */
            slots[k++] = (uint32_t)bpfvm__func_target(&code[i], i);
            code[i].imm = (int32_t)slots[k - 1];
            code[i + 1].imm = 0;
        }
        i++;
    }
    qsort(slots, k, sizeof(*slots), cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || slots[u - 1] != slots[i])
            slots[u++] = slots[i];
    *out = slots;
    *n = u;
    return 0;
}

int64_t bpfvm__callback_index(const bpfvm_vm *vm, uint64_t pc)
{
    size_t lo = 0, hi = vm->ncallbacks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vm->callbacks[mid] < pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < vm->ncallbacks && vm->callbacks[lo] == pc ? (int64_t)lo : -1;
}

int bpfvm__callback_budget_fault(bpfvm_ctx *ctx)
{
    return bpfvm__set_error(ctx->err, BPFVM_EBUDGET, (int64_t)ctx->call_insn,
                            "instruction %lld: budget of %llu instructions exhausted",
                            (long long)ctx->call_insn, (unsigned long long)ctx->vm->budget);
}

static int call(bpfvm_ctx *ctx, uint64_t fn, const uint64_t args[5], uint64_t *r0)
{
    const bpfvm_vm *vm = ctx->vm;
    int64_t insn = (int64_t)ctx->call_insn;
    unsigned max_depth = bpfvm__call_limit(vm);
    if (bpfvm__callback_index(vm, fn) < 0)
        return bpfvm__set_error(ctx->err, BPFVM_EHELPERFAIL, insn, "instruction %lld: 0x%llx "
                                "is not a function of the program (lddw rX, func)",
                                (long long)insn, (unsigned long long)fn);
    if ((ctx->frame_start - ctx->stack_start) / vm->stack_size >= max_depth)
        return bpfvm__set_error(ctx->err, BPFVM_ECALLDEPTH, insn,
                                "instruction %lld: call depth limit of %u exceeded",
                                (long long)insn, max_depth);
    int (*engine)(bpfvm_ctx *, size_t, const uint64_t *, uint64_t *) =
        ctx->callback ? ctx->callback
                      : ctx->trace ? bpfvm__interp_callback_traced : bpfvm__interp_callback;
    uint64_t frame = ctx->frame_start;
    void *user = ctx->helper_user;
    ctx->frame_start = frame + vm->stack_size;
    int rc = engine(ctx, (size_t)fn, args, r0);
    ctx->frame_start = frame;
    ctx->helper_user = user;
    ctx->call_insn = (uint64_t)insn;
    if (rc == BPFVM_EHELPERFAIL && ctx->tail && ctx->tail->target) {
        ctx->tail->target = NULL; /* the kernel's verifier refuses this */
        int64_t at = ctx->err ? ctx->err->insn : -1;
        rc = bpfvm__set_error(ctx->err, BPFVM_EHELPERFAIL, at, "instruction %lld: "
                              "bpf_tail_call inside a callback", (long long)at);
    }
    return rc;
}

int bpfvm__call_function(bpfvm_ctx *ctx, uint64_t fn, const uint64_t args[5], uint64_t *r0)
{
    *r0 = 0;
    int rc = call(ctx, fn, args, r0);
    if (rc)
        ctx->failed = rc;
    return rc;
}
