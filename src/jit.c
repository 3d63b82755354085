/* jit.c - the JIT driver: program analysis, the code buffer, W^X mapping of
 * the result, running compiled code and the C functions compiled code calls
 * (slow memory check, helper calls, errors).
 *
 * Compilation
 *   1. analyse: reject what the code generator cannot translate safely
 *      (register fields above r10, writes to r10, jumps outside the program
 *      or into the second slot of lddw: only possible when the built-in
 *      verifier was replaced), find the basic blocks for the budget, and
 *      guess which memory accesses go to the stack.
 *   2. code: the host's backend (bpfvm__jit_host: jit_x86_64.c or
 *      jit_arm64.c; docs/jit.md says what one provides) translates the whole
 *      program, recording every jump and call as a fixup filled in once all
 *      offsets are known. x86-64 emits rel32 forms, then shortens each jump
 *      between slots whose distance fits in a byte to the rel8 form, sliding
 *      the code behind it down: removing bytes only shortens distances, so
 *      each jump chosen still fits, and the cost is one translation plus a
 *      copy instead of repeated passes. arm64 translates again with longer
 *      branch forms when the code outgrows the short ones' reach.
 *   3. map: the code was written straight into pages mapped read+write
 *      (fresh ones, or those of the VM's earlier code, made read+write again;
 *      grown with mremap, which moves pages rather than bytes); they are made
 *      read+execute and the instruction cache is made coherent with them. No
 *      mapping is ever writable and executable.
 *
 * Budget: every basic block charges its length (lddw counts once) when it is
 * entered; at each checkpoint - a backward jump taken or a call, always the
 * last instruction of its block - the code compares the remaining budget with
 * zero. That is exactly the interpreter's count.
 *
 * Memory checks (checked mode): the code tries the current frame and the
 * input memory inline, then (in a stub) the region the slow path allowed
 * last for that kind of access, then calls rt_access, which runs
 * bpfvm__access_ok and records faults with bpfvm__memory_fault, exactly as
 * the interpreter does.
 *
 * Loop versioning (checked mode, not with constant blinding): find_loops
 * picks loops that run straight through on every iteration (side exits
 * allowed, no calls), runs them symbolically once to find which registers
 * step by a constant (or by an invariant register), which stay put, and
 * what every access's address is in those terms (a register sum, a
 * constant, and a value in [0, u] such as a loaded byte shifted left), and
 * takes the first exit test on a stepping register that bounds the number
 * of iterations. The backend then emits, before the normal (checked) loop,
 * a guard that computes that bound and tests each group of accesses once
 * for all iterations, and an unchecked copy of the loop that the guard
 * enters when every test passes. A guard that cannot prove it enters the
 * checked loop, which behaves exactly as before; so does a program that
 * enters the loop other than through its head. See bpfvm__jit_loop.
 *
 * Helpers are resolved when the call executes (rt_helper looks the id up in
 * the VM's registry), so helpers registered after bpfvm_compile work, and
 * re-registering an id takes effect at once. The exception: lookups in
 * array maps the code inlines (bpfvm__jit_array_lookup) do not call helper
 * 1, so replacing it drops such code (bpfvm_register_helper).
 *
 * What is fixed at compile time: checked mode, the stack size and whether a
 * budget is enforced at all. Running after changing the stack size, or after
 * setting a budget on code compiled without one, fails with BPFVM_EINVAL
 * ("compile again"); the budget's value, the call depth, the run mode and the
 * regions are read at each run. Local calls check the call depth only where
 * they could nest deeper than the limit at compile time (call_need); a lower
 * limit set afterwards makes the runs the interpreter's.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "jit.h"
#include "map.h"

/* ---- code buffer and stubs ---------------------------------------------- */

/* The code is written straight into pages mapped read+write for it, which
 * become the compiled code: nothing is copied at the end. The first mapping
 * (12 bytes a slot) is populated at once, which costs less than a fault on
 * each page; growing moves the pages (mremap), not the bytes. */
void bpfvm__jit_reserve(bpfvm__jit *j, size_t n)
{
    if (j->err) {
        j->len = 0; /* the scratch area takes the output from now on */
        return;
    }
    if (j->cap - j->len >= n)
        return;
    size_t cap = j->cap ? j->cap : j->count * 12; /* the first guess: 12 bytes a slot */
    while (cap - j->len < n)
        cap *= 2;
    cap = (cap + j->page - 1) / j->page * j->page;
    void *p = j->code_buf
                  ? mremap(j->code_buf, j->cap, cap, MREMAP_MAYMOVE)
                  : mmap(NULL, cap, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) {
        j->err = BPFVM_ENOMEM;
        j->buf = j->scratch;
        j->cap = sizeof(j->scratch);
        j->len = 0;
        return;
    }
    j->buf = j->code_buf = p;
    j->cap = j->code_cap = cap;
}

bool bpfvm__jit_grow(bpfvm__jit *j, void **p, size_t *cap, size_t elem)
{
    size_t n = *cap ? *cap * 2 : 1024;
    void *q = j->err ? NULL : bpfvm__realloc(j->vm, *p, n * elem);
    if (!q) {
        if (!j->err)
            j->err = BPFVM_ENOMEM;
        return false;
    }
    *p = q;
    *cap = n;
    return true;
}

size_t bpfvm__jit_add_stub(bpfvm__jit *j, const bpfvm__jit_stub *stub)
{
    size_t cap = j->stubs_cap;
    if (j->nstubs == j->stubs_cap &&
        (!bpfvm__jit_grow(j, (void **)&j->stubs, &j->stubs_cap, sizeof(*j->stubs)) ||
         !bpfvm__jit_grow(j, (void **)&j->stub_off, &cap, sizeof(*j->stub_off))))
        return 0;
    j->stubs[j->nstubs] = *stub;
    return j->nstubs++;
}

/* ---- facts the backends share ------------------------------------------ */

/* Register-only instructions: they cannot fault, end the run or touch
 * memory. */
static bool register_only(int fmt)
{
    return fmt == BPFVM__FMT_ALU_K || fmt == BPFVM__FMT_ALU_X || fmt == BPFVM__FMT_NEG ||
           fmt == BPFVM__FMT_END || fmt == BPFVM__FMT_LDDW;
}

/* For a load at slot i from [r(breg) + off, +size): the slot of a store to
 * exactly those bytes later in the same block with only register operations
 * (none writing breg) between, or 0. */
size_t bpfvm__jit_rmw_partner(const bpfvm__jit *j, size_t i, int breg, int16_t off, unsigned size)
{
    if (j->code[i].dst == breg)
        return 0;
    for (size_t k = i + 1; k < j->count && k < i + 8; k++) {
        const bpfvm_insn *in = &j->code[k];
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (j->marks[k] & BPFVM__MARK_LEADER)
            return 0;
        if ((fmt == BPFVM__FMT_ST || fmt == BPFVM__FMT_STX) && in->dst == breg &&
            in->off == off && bpfvm__jit_access_size(bpfvm__ops[in->opcode].code) == size)
            return k;
        if (!register_only(fmt) || in->dst == breg)
            return 0;
        if (fmt == BPFVM__FMT_LDDW)
            k++;
    }
    return 0;
}

/* Where a jump from slot i to slot t goes: the slot (BPFVM__FIX_SLOT), its
 * copy while the unchecked copy of its loop is emitted and i is in the loop
 * too (BPFVM__FIX_COPY), or, entering a versioned loop from outside, its
 * guard (BPFVM__FIX_GUARD; *t becomes the loop's number). A block outside
 * the loop that the backend copies into the loop's copy (the target of an
 * exit) may change what the guard proved: its jumps back into the loop go
 * through the guard, as from anywhere outside. */
int bpfvm__jit_slot_ref(const bpfvm__jit *j, size_t i, size_t *t)
{
    const bpfvm__jit_loop *lp = j->copy;
    if (lp && *t >= lp->head && *t <= lp->last && i >= lp->head && i <= lp->last)
        return BPFVM__FIX_COPY;
    if (!(j->marks[*t] & BPFVM__MARK_GUARD))
        return BPFVM__FIX_SLOT;
    lp = bpfvm__jit_loop_at(j, *t);
    if (!j->copy && i >= lp->head && i <= lp->last)
        return BPFVM__FIX_SLOT; /* the back edge of the checked loop */
    *t = (size_t)(lp - j->loops);
    return BPFVM__FIX_GUARD;
}

uint32_t bpfvm__jit_fixup_target(const bpfvm__jit *j, const bpfvm__jit_fixup *f)
{
    switch (f->kind) {
    case BPFVM__FIX_STUB: return j->stub_off[f->index];
    case BPFVM__FIX_ABS:  return f->index;
    case BPFVM__FIX_COPY: case BPFVM__FIX_COPY_JUMP: return j->copy_off[f->index];
    case BPFVM__FIX_GUARD: return j->loops[f->index].guard;
    default:              return j->off[f->index];
    }
}

void bpfvm__jit_add_fixup(bpfvm__jit *j, uint32_t at, size_t index, int kind, unsigned width)
{
    if (j->nfixups == j->fixups_cap && !bpfvm__jit_grow(j, (void **)&j->fixups, &j->fixups_cap,
                                                        sizeof(*j->fixups)))
        return;
    bpfvm__jit_fixup f = { at, (uint32_t)index, (uint8_t)kind, (uint8_t)width };
    j->fixups[j->nfixups++] = f;
}

bool bpfvm__jit_need_check(bpfvm__jit *j, size_t i, int breg, int16_t off, unsigned size,
                           unsigned rw, size_t *stub, bool *in_frame)
{
    if (!j->checked || bpfvm__jit_hoisted(j, i))
        return false; /* unchecked, or proven in range by the guard of the loop */
    if (rw != 3 && (j->marks[i] & BPFVM__MARK_PROVEN))
        return false; /* proven by the program's compares (bpfvm__jit_bounds) */
    /* inside the current frame whatever the run? */
    *in_frame = bpfvm__jit_in_frame(j, breg, off, size);
    if (*in_frame && rw != 3)
        return false;
    if (j->rmw_store == i + 1)
        return false; /* the load of the same bytes checked for this store too */
    size_t partner = rw == 0 ? bpfvm__jit_rmw_partner(j, i, breg, off, size) : 0;
    j->rmw_store = partner ? partner + 1 : 0;
    bpfvm__jit_stub s = { BPFVM__STUB_MEMORY, (uint8_t)breg, (uint8_t)size, (uint8_t)rw,
                          off, (uint32_t)i, 0, partner ? (uint32_t)partner + 1 : 0 };
    *stub = bpfvm__jit_add_stub(j, &s);
    return true;
}

/* ---- liveness ------------------------------------------------------------ */

/* How control leaves a slot: to the next one; also (BRANCH) or only (JA,
 * JA32) to its jump target; nowhere; past the second slot of lddw. */
enum { FLOW_NEXT, FLOW_BRANCH, FLOW_JA, FLOW_JA32, FLOW_END, FLOW_LDDW };

/* What slot i reads (*use) and surely writes (*def), bit n = rn, and how
 * control leaves it. Helper calls read r1..r5 and keep them; a local call
 * reads everything; exit reads r0..r5 (a callee's r0..r5 reach its caller,
 * r6..r9 never outlive a frame; dead_after knows when there is no caller). */
static int slot_effect(const bpfvm__jit *j, size_t i, unsigned *use, unsigned *def)
{
    const bpfvm_insn *in = &j->code[i];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    unsigned d = 1u << in->dst, s = 1u << in->src, u = 0, w = 0;
    int flow = FLOW_NEXT;
    switch (info->fmt) {
    case BPFVM__FMT_ALU_K: case BPFVM__FMT_ALU_X:
        u = (BPFVM_OP(info->code) == BPFVM_MOV ? 0 : d) | (info->fmt == BPFVM__FMT_ALU_X ? s : 0);
        w = d;
        break;
    case BPFVM__FMT_NEG: case BPFVM__FMT_END: u = w = d; break;
    case BPFVM__FMT_JMP_K: u = d; flow = FLOW_BRANCH; break;
    case BPFVM__FMT_JMP_X: u = d | s; flow = FLOW_BRANCH; break;
    case BPFVM__FMT_JA:   flow = FLOW_JA; break;
    case BPFVM__FMT_JA32: flow = FLOW_JA32; break;
    case BPFVM__FMT_CALL: u = 0x3e; w = 1; break;
    case BPFVM__FMT_CALLX: u = 0x3e | d; w = 1; break;
    case BPFVM__FMT_CALL_LOCAL: u = 0x7ff; break;
    case BPFVM__FMT_EXIT: u = 0x3f; flow = FLOW_END; break;
    case BPFVM__FMT_LDX: u = s; w = d; break;
    case BPFVM__FMT_ST: u = d; break;
    case BPFVM__FMT_STX: u = d | s; break;
    case BPFVM__FMT_ATOMIC: u = d | s | 1; break;
    case BPFVM__FMT_LDDW: w = d; flow = FLOW_LDDW; break;
    case BPFVM__FMT_LDABS: w = 1; break;
    default: /* LDIND */ u = s; w = 1; break;
    }
    *use = u;
    *def = w;
    return flow;
}

/* In a program whose frame is private (frame_private): does slot i read
 * any of the frame bytes [r10 + off, + size)? *covers: it writes them all. */
static bool frame_read(const bpfvm__jit *j, size_t i, int32_t off, unsigned size, unsigned *covers)
{
    const bpfvm_insn *in = &j->code[i];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    int32_t lo = in->off, hi = lo + (int32_t)bpfvm__jit_access_size(info->code);
    bool overlap = lo < off + (int32_t)size && off < hi;
    *covers = 0;
    switch (info->fmt) {
    case BPFVM__FMT_LDX:
        return in->src == BPFVM_R10 && overlap;
    case BPFVM__FMT_ATOMIC:
        return in->dst == BPFVM_R10 && overlap;
    case BPFVM__FMT_ST: case BPFVM__FMT_STX:
        *covers = in->dst == BPFVM_R10 && lo <= off && off + (int32_t)size <= hi;
        return false;
    default:
        return false;
    }
}

/* Does slot i keep the frame private: no call, and r10 read only as the
 * base of an access inside the frame? */
static bool frame_only(const bpfvm__jit *j, size_t i)
{
    unsigned use, def;
    slot_effect(j, i, &use, &def);
    const bpfvm_insn *in = &j->code[i];
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    switch (info->fmt) {
    case BPFVM__FMT_CALL: case BPFVM__FMT_CALLX: case BPFVM__FMT_CALL_LOCAL:
        return false;
    case BPFVM__FMT_LDX:
        return in->dst != BPFVM_R10 &&
               (in->src != BPFVM_R10 ||
                bpfvm__jit_in_frame(j, in->src, in->off, bpfvm__jit_access_size(info->code)));
    case BPFVM__FMT_ST: case BPFVM__FMT_STX: case BPFVM__FMT_ATOMIC:
        return (info->fmt == BPFVM__FMT_ST || in->src != BPFVM_R10) &&
               (in->dst != BPFVM_R10 ||
                bpfvm__jit_in_frame(j, in->dst, in->off, bpfvm__jit_access_size(info->code)));
    default:
        return !(use & (1u << BPFVM_R10));
    }
}

/* Is the whole program's frame private (frame_only), asked once? */
static bool frame_private(bpfvm__jit *j)
{
    if (j->frame_private == 0) {
        j->frame_private = 1;
        for (size_t i = 0; i < j->count && j->frame_private == 1; i++)
            if (!frame_only(j, i))
                j->frame_private = 2;
            else
                i += j->code[i].opcode == BPFVM__OP_LDDW;
    }
    return j->frame_private == 1;
}

/* Which of the registers in `want` (bit n = rn; bit FRAME_BIT << f: the
 * frame bytes fr[f], f < nfr) may be read from slot i on (slot i itself
 * included when `from`) before being written again? A bounded search along
 * every path: a path stops following what it writes (frame bytes: a store
 * covering them all) and ends at exit, off the end of the program or once
 * it follows nothing; more than *budget slots (counted down) or `paths`
 * paths to explore: all of `want` may be read. Frame bytes are followed
 * only where the frame is private (frame_private; else: read). With
 * `start` (the constants registers hold at slot i), each path carries the
 * constants its movs set and goes only where they let its conditional jumps
 * go. */
#define SEARCH_SLOTS 64
#define SEARCH_PATHS 16
#define SEARCH_PATHS_MAX 32
#define FRAME_BIT (1u << 11)

typedef struct search_at {
    size_t k;
    unsigned follow;         /* what the path still follows */
    bpfvm__consts c;
} search_at;

/* A path reaches slot at->k, which seen[0..n) may hold: false if a path
 * went on from there following as much and knowing no more than at (nothing
 * new to explore); else the slot keeps (and *at takes) what either follows
 * and what both know (each slot is explored again only as those grow or
 * shrink), or the slot is added. */
static bool explore(search_at *seen, int *n, search_at *at)
{
    for (int m = 0; m < *n; m++) {
        if (seen[m].k != at->k)
            continue;
        bpfvm__consts both = seen[m].c;
        bpfvm__consts_meet(&both, &at->c);
        unsigned follow = seen[m].follow | at->follow;
        if (both.known == seen[m].c.known && follow == seen[m].follow)
            return false;
        seen[m].c = both;
        seen[m].follow = follow;
        *at = seen[m];
        return true;
    }
    seen[(*n)++] = *at;
    return true;
}

static unsigned reads(bpfvm__jit *j, size_t i, bool from, unsigned want,
                      const bpfvm__jit_bytes *fr, int nfr, int *budget, int paths,
                      const bpfvm__consts *start)
{
    unsigned read = 0, frame = want & ~0x7ffu;
    if (frame && !frame_private(j)) {
        read = frame;
        want &= ~frame;
    }
    /* exit: r0..r5 reach a local call's caller, only r0 the end of a run */
    unsigned exit_use = j->targets[j->count] ? 0x3fu : 1u;
    search_at todo[SEARCH_PATHS_MAX], seen[SEARCH_PATHS_MAX];
    int ntodo = 0, nseen = 0;
    bool first = true;
    search_at at = { i, want, { 0, { 0 } } };
    if (start)
        at.c = *start;
    for (; ntodo > 0 || first; first = false) {
        if (!first) {
            at = todo[--ntodo];
            at.follow &= ~read;
            if (nseen == paths)
                return read | want;
            if (!at.follow || !explore(seen, &nseen, &at))
                continue;
        }
        for (size_t k = at.k; k < j->count && at.follow; k++) {
            const bpfvm_insn *in = &j->code[k];
            unsigned use, def;
            int flow = slot_effect(j, k, &use, &def), taken = -1;
            if (flow == FLOW_END)
                use = exit_use;
            if (k != i || !first || from) {
                if ((*budget)-- == 0)
                    return read | want;
                for (int f = 0; f < nfr; f++) {
                    unsigned covers, bit = FRAME_BIT << f;
                    if (!(at.follow & bit))
                        continue;
                    if (frame_read(j, k, fr[f].off, fr[f].size, &covers))
                        use |= bit;
                    else if (covers)
                        def |= bit;
                }
                read |= use & at.follow;
                at.follow &= ~(read | def);
            }
            if (flow == FLOW_END)
                break;
            if (start) {
                taken = flow == FLOW_BRANCH ? bpfvm__consts_decide(&at.c, in->opcode, in) : -1;
                bpfvm__consts_track(&at.c, in->opcode, in, (uint16_t)bpfvm__jit_may_write(j, k));
            }
            if (flow == FLOW_LDDW)
                k++;
            if ((flow == FLOW_BRANCH || flow == FLOW_JA || flow == FLOW_JA32) && at.follow) {
                if (taken == 0)
                    continue;                        /* (decided: falls through) */
                if (ntodo == paths)
                    return read | want;
                todo[ntodo] = at;
                todo[ntodo++].k = bpfvm__jit_dest(j, k);
                if (flow != FLOW_BRANCH || taken == 1)
                    break;
            }
        }
    }
    return read;
}

bool bpfvm__jit_dead_after(bpfvm__jit *j, size_t i, int r)
{
    int budget = SEARCH_SLOTS;
    return reads(j, i, false, 1u << r, NULL, 0, &budget, SEARCH_PATHS, NULL) == 0;
}

unsigned bpfvm__jit_live_from(bpfvm__jit *j, size_t i, const bpfvm__consts *c,
                              const bpfvm__jit_bytes *fr, int nfr)
{
    static const bpfvm__consts none = { 0, { 0 } };
    unsigned want = 0x3ffu | ((FRAME_BIT << nfr) - FRAME_BIT);
    int budget = 8 * SEARCH_SLOTS;
    unsigned read = reads(j, i, true, want, fr, nfr, &budget, SEARCH_PATHS_MAX, c ? c : &none);
    j->searched += (size_t)(8 * SEARCH_SLOTS - (budget < 0 ? 0 : budget));
    return read;
}

bool bpfvm__jit_dead_from(bpfvm__jit *j, size_t i, int r)
{
    int budget = SEARCH_SLOTS;
    return reads(j, i, true, 1u << r, NULL, 0, &budget, SEARCH_PATHS, NULL) == 0;
}

bool bpfvm__jit_frame_dead(bpfvm__jit *j, size_t i, int32_t off, unsigned size)
{
    bpfvm__jit_bytes fr = { off, size };
    int budget = 8 * SEARCH_SLOTS;
    return reads(j, i, true, FRAME_BIT, &fr, 1, &budget, SEARCH_PATHS_MAX, NULL) == 0;
}

void bpfvm__jit_use_def(const bpfvm__jit *j, size_t i, unsigned *use, unsigned *def)
{
    slot_effect(j, i, use, def);
}

unsigned bpfvm__jit_may_write(const bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *in = &j->code[i];
    unsigned use, def;
    slot_effect(j, i, &use, &def);
    switch (bpfvm__ops[in->opcode].fmt) {
    case BPFVM__FMT_ATOMIC: return 1u | 1u << in->src; /* fetch: src; cmpxchg: r0 */
    case BPFVM__FMT_LDABS: case BPFVM__FMT_LDIND:
    case BPFVM__FMT_CALL: case BPFVM__FMT_CALLX: case BPFVM__FMT_CALL_LOCAL: return 0x7ffu;
    default: return def;
    }
}

const uint32_t *bpfvm__jit_preds(bpfvm__jit *j, size_t k, size_t *n)
{
    if (!j->preds) {
        uint32_t *first = bpfvm__alloc(j->vm, (j->count + 2) * sizeof(*first));
        uint32_t *from = first ? bpfvm__alloc(j->vm, (j->count + 1) * sizeof(*from)) : NULL;
        if (!first || !from) {
            bpfvm__free(j->vm, first);
            j->err = BPFVM_ENOMEM;
            *n = 0;
            return NULL;
        }
        memset(first, 0, (j->count + 2) * sizeof(*first));
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < j->count; i++) {
                int fmt = bpfvm__ops[j->code[i].opcode].fmt;
                if (fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X || fmt == BPFVM__FMT_JA ||
                    fmt == BPFVM__FMT_JA32 || fmt == BPFVM__FMT_CALL_LOCAL) {
                    size_t t = bpfvm__jit_dest(j, i);
                    if (pass == 0)
                        first[t + 2]++;              /* (counts, then ends) */
                    else
                        from[first[t + 1]++] = (uint32_t)i;
                } else if (fmt == BPFVM__FMT_LDDW) {
                    i++;
                }
            }
            for (size_t t = 0; pass == 0 && t < j->count; t++)
                first[t + 2] += first[t + 1];
        }
        j->preds = from;
        j->preds_first = first;
    }
    *n = j->preds_first[k + 1] - j->preds_first[k];
    return j->preds + j->preds_first[k];
}

/* Slot i (a conditional jump) goes where the ja at slot i + 2 goes: the
 * jump skips the mov at i + 1 as one of +1 would (clang's `jcc T; mov D, V;
 * ja T` when T is elsewhere). */
static bool jumps_with_ja(const bpfvm__jit *j, size_t i)
{
    return i + 2 < j->count && bpfvm__ops[j->code[i + 2].opcode].fmt == BPFVM__FMT_JA &&
           bpfvm__jit_dest(j, i + 2) == bpfvm__jit_dest(j, i);
}

/* Is slot i a conditional jump of +1 over a mov (64/32, K/X, not movsx),
 * or to where a ja right after a mov of a constant goes, that a backend may
 * make a conditional move (the ja then follows it)? (Not the ja form with a
 * register: clang's arg-max loops, `r5 = r1; if r7 > r0 goto L; r5 = r6; ja
 * L`, then wait on the conditional move for the next trip's load: histogram
 * 0.97x -> 1.15x native.) Not with a budget (the mov's
 * slot is charged as a block), nor for an immediate under blinding; only
 * the jump reaches the mov (no other jump lands there, no guard, loop
 * alignment or versioned code resumes there), and in a loop's copy both
 * the mov and the slot after it are inside the copy. */
bool bpfvm__jit_select(bpfvm__jit *j, size_t i)
{
    size_t k = i + 1;
    int fmt = bpfvm__ops[j->code[i].opcode].fmt, op = k < j->count ? j->code[k].opcode : -1;
    bool imm = op == BPFVM__OP_MOV64_K || op == BPFVM__OP_MOV32_K;
    if (j->metered || (fmt != BPFVM__FMT_JMP_K && fmt != BPFVM__FMT_JMP_X) ||
        (j->code[i].off != 1 && !(imm && jumps_with_ja(j, i))) ||
        (!imm && op != BPFVM__OP_MOV64_X && op != BPFVM__OP_MOV32_X) || (imm && j->blind_state) ||
        k + 1 >= j->count || (j->copy && k >= j->copy->last) || bpfvm__jit_loop_edge(j, k) ||
        bpfvm__jit_is_target(j, k))
        return false;
    return true;
}

/* A backward jump's target, a versioned loop's head or the slot after one? */
bool bpfvm__jit_loop_edge(const bpfvm__jit *j, size_t k)
{
    if (j->marks[k] & (BPFVM__MARK_GUARD | BPFVM__MARK_LOOP))
        return true;
    for (size_t m = 0; m < j->nloops; m++)
        if (j->loops[m].last + 1 == k)
            return true;
    return false;
}

/* eBPF registers (bit n = rn) the program may name: the dst and src fields
 * of every slot (more than it reads or writes: an lddw's src is its kind),
 * r0..r5 for a helper call, every register for a local call, r0 for the
 * end of the run. The value of any other register can never be observed,
 * so the code's entry neither zeroes it nor saves the host register behind
 * it. One cheap pass: it runs on every compile. */
unsigned bpfvm__jit_regs_used(const bpfvm__jit *j)
{
    unsigned used = 1u;
    for (size_t i = 0; i < j->count && used != 0x7ffu; i++) { /* (0x7ff: all of r0..r10) */
        const bpfvm_insn *in = &j->code[i];
        used |= 1u << in->dst | 1u << in->src;
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (fmt == BPFVM__FMT_CALL || fmt == BPFVM__FMT_CALLX)
            used |= 0x3fu;
        else if (fmt == BPFVM__FMT_CALL_LOCAL)
            used |= 0x7ffu;
    }
    return used;
}

/* ---- analysis ------------------------------------------------------------ */

/* Does the instruction write its dst register? */
static bool writes_dst(int fmt)
{
    return fmt == BPFVM__FMT_ALU_K || fmt == BPFVM__FMT_ALU_X || fmt == BPFVM__FMT_NEG ||
           fmt == BPFVM__FMT_END || fmt == BPFVM__FMT_LDX || fmt == BPFVM__FMT_LDDW;
}

/* Per-slot marks: BPFVM__MARK_*, and during analysis only: */
enum { HINT = BPFVM__MARK_STACK, SECOND = 2, LEADER = BPFVM__MARK_LEADER, LOOP = BPFVM__MARK_LOOP,
       RUN = BPFVM__MARK_RUN };

/* A run of slots without jumps and calls ends before slot next: mark its
 * start if it holds enough accesses for a segment guard (find_segments). */
static void end_run(uint8_t *mark, size_t n, size_t *run, unsigned *accesses, size_t next)
{
    if (*accesses >= 3 && *run < n)
        mark[*run] |= RUN;
    *run = next;
    *accesses = 0;
}

/* One walk over the program: structural checks, basic-block leaders, and a
 * guess of which registers point into the stack (copies of r10 moved by
 * constants, in program order): the access check tries the frame first for
 * those and the input memory first for the others. Only a guess: both are
 * always checked. What the code reads of its per-run state goes to j->uses.
 * Then, with a budget, each leader is charged the number of instructions up
 * to the next one. */
static int analyse(bpfvm__jit *j, bpfvm_error *err)
{
    const bpfvm_insn *code = j->code;
    size_t n = j->count;
    uint8_t *mark = j->marks;
    unsigned sp = 1u << 10, accesses = 0;
    size_t run = 0;
    /* the memory limits: read by the checks of checked code, and by the
     * legacy packet loads in both modes */
    unsigned checks = j->checked ? BPFVM__JIT_USES_MEM : 0;

    memset(mark, 0, n);
    memset(j->targets, 0, n + 1);
    mark[0] = LEADER;
    for (size_t i = 0; i < n; i++) {
        const bpfvm_insn *in = &code[i];
        int op = in->opcode;
        if (op >= BPFVM__OP_COUNT || in->dst > 10 || in->src > 10)
            return bpfvm__set_error(err, BPFVM_EJIT, (int64_t)i,
                                    "instruction %zu: invalid instruction", i);
        int fmt = bpfvm__ops[op].fmt;
        unsigned d = 1u << in->dst, s = 1u << in->src;
        bool fetch = fmt == BPFVM__FMT_ATOMIC && (bpfvm__ops[op].value & BPFVM_FETCH);
        if ((writes_dst(fmt) && in->dst == 10) || (fetch && in->src == 10))
            return bpfvm__set_error(err, BPFVM_EJIT, (int64_t)i,
                                    "instruction %zu: writes to r10", i);
        switch (fmt) {
        case BPFVM__FMT_LDX:
            j->uses |= checks;
            accesses += in->src != 10;
            mark[i] |= (sp & s) ? HINT : 0;
            sp &= ~d;
            break;
        case BPFVM__FMT_ST: case BPFVM__FMT_STX:
            j->uses |= checks;
            accesses += in->dst != 10;
            mark[i] |= (sp & d) ? HINT : 0;
            break;
        case BPFVM__FMT_ATOMIC:
            j->uses |= checks;
            accesses++;
            mark[i] |= (sp & d) ? HINT : 0;
            sp &= ~(s | 1u);
            break;
        case BPFVM__FMT_LDDW:
            if (i + 1 >= n)
                return bpfvm__set_error(err, BPFVM_EJIT, (int64_t)i,
                                        "instruction %zu: incomplete lddw", i);
            if (in->src == BPFVM_PSEUDO_FUNC && (uint32_t)in->imm < n)
                mark[(uint32_t)in->imm] |= LEADER; /* a callback (its slot, see callback.c) */
            sp &= ~d;
            mark[++i] |= SECOND;
            break;
        case BPFVM__FMT_LDABS: case BPFVM__FMT_LDIND:
            j->uses |= BPFVM__JIT_USES_MEM;
            sp &= ~1u;
            break;
        case BPFVM__FMT_CALL: case BPFVM__FMT_CALLX: case BPFVM__FMT_EXIT:
            j->uses |= fmt != BPFVM__FMT_EXIT ? BPFVM__JIT_USES_HELPERS : 0;
            end_run(mark, n, &run, &accesses, i + 1);
            sp &= ~0x3fu;
            if (i + 1 < n)
                mark[i + 1] |= LEADER;
            break;
        case BPFVM__FMT_JMP_K: case BPFVM__FMT_JMP_X: case BPFVM__FMT_JA: case BPFVM__FMT_JA32:
        case BPFVM__FMT_CALL_LOCAL: {
            end_run(mark, n, &run, &accesses, i + 1);
            int64_t t = bpfvm__jit_target(in, i);
            if (t < 0 || t >= (int64_t)n)
                return bpfvm__set_error(err, BPFVM_EJIT, (int64_t)i,
                                        "instruction %zu: jump target %lld is outside the "
                                        "program", i, (long long)t);
            mark[t] |= LEADER | (t <= (int64_t)i ? LOOP : 0);
            if (i + 1 < n)
                mark[i + 1] |= LEADER;
            uint8_t *tg = &j->targets[t];              /* (see bpfvm__jit.targets) */
            bool jump = fmt != BPFVM__FMT_JA32 && fmt != BPFVM__FMT_CALL_LOCAL;
            *tg = (uint8_t)(*tg | (jump && (fmt == BPFVM__FMT_JA || t <= (int64_t)i) ? 3u : 1u) |
                            (*tg ? 4u : 0u) | (*tg & 4u ? 8u : 0u));
            if (fmt == BPFVM__FMT_CALL_LOCAL) {
                j->targets[n] = 1;
                j->uses |= BPFVM__JIT_USES_CALLS;
                sp &= ~0x3fu;
            }
            break;
        }
        default:
            if (op == BPFVM__OP_MOV64_X)
                sp = (sp & s) ? sp | d : sp & ~d;
            else if (op != BPFVM__OP_ADD64_K && op != BPFVM__OP_SUB64_K &&
                     op != BPFVM__OP_ADD64_X && op != BPFVM__OP_SUB64_X)
                sp &= ~d; /* every other ALU row writes dst */
            break;
        }
    }
    end_run(mark, n, &run, &accesses, n);
    size_t leader = 0;
    uint32_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t m = mark[i];
        mark[i] = m & (HINT | LEADER | LOOP | RUN);
        if (m & SECOND) {
            if (m & LEADER)
                return bpfvm__set_error(err, BPFVM_EJIT, (int64_t)i,
                                        "instruction %zu: a jump lands in the middle of lddw",
                                        i);
            continue;
        }
        if (!j->metered)
            continue;
        if ((m & LEADER) && i != leader) {
            j->charge[leader] = len;
            leader = i;
            len = 0;
        }
        j->charge[i] = 0;
        len++;
    }
    if (j->metered)
        j->charge[leader] = len;
    return 0;
}

/* ---- loop versioning (checked mode) -------------------------------------- */

/* What the analysis knows of a register at a point of one iteration: the sum
 * of the values registers reg[] had at the head of the iteration, plus c,
 * plus some value in [0, u]; or nothing (known = false). */
typedef struct sym {
    bool known;
    uint8_t reg[2];          /* BPFVM__NOREG: none; reg[0] <= reg[1] */
    int64_t c;
    uint64_t u;
} sym;

#define MAX_LOOP 256         /* longest loop considered (keeps the analysis linear) */
#define MAX_RANGES 8         /* ranges one guard proves at most */

static const sym unknown_sym = { false, { BPFVM__NOREG, BPFVM__NOREG }, 0, 0 };

static sym const_sym(int64_t c, uint64_t u)
{
    sym s = { true, { BPFVM__NOREG, BPFVM__NOREG }, c, u };
    return s;
}

/* Constants stay small enough for the guard's 32-bit immediates. */
static sym norm(sym s)
{
    bool ok = s.known && s.c > INT32_MIN / 2 && s.c < INT32_MAX / 2 && s.u <= UINT32_MAX;
    return ok ? s : unknown_sym;
}

static bool is_const(const sym *s) { return s->known && s->reg[0] == BPFVM__NOREG; }

static sym add_sym(sym a, const sym *b)
{
    if (!a.known || !b->known)
        return unknown_sym;
    for (int k = 0; k < 2 && b->reg[k] != BPFVM__NOREG; k++) {
        uint8_t r = b->reg[k];
        if (a.reg[1] != BPFVM__NOREG)
            return unknown_sym;
        if (a.reg[0] == BPFVM__NOREG) {
            a.reg[0] = r;
        } else if (a.reg[0] <= r) {
            a.reg[1] = r;
        } else {
            a.reg[1] = a.reg[0];
            a.reg[0] = r;
        }
    }
    a.c += b->c;
    a.u += b->u;
    return norm(a);
}

/* A value in [0, max]. */
static sym bounded(uint64_t max) { return norm(const_sym(0, max)); }

/* The new value of dst after a register-only instruction or a load. */
static sym transfer(const sym *s, const bpfvm_insn *in)
{
    const sym *d = &s[in->dst], *x = &s[in->src];
    int64_t k = in->imm;
    switch (in->opcode) {
    case BPFVM__OP_MOV64_X: return *x;
    case BPFVM__OP_MOV64_K: return norm(const_sym(k, 0));
    case BPFVM__OP_MOV32_K: return norm(const_sym((uint32_t)k, 0));
    case BPFVM__OP_MOV32_X:
        return is_const(x) && x->c >= 0 && (uint64_t)x->c + x->u <= UINT32_MAX ? *x
                                                                               : unknown_sym;
    case BPFVM__OP_ADD64_K: {
        sym t = const_sym(k, 0);
        return add_sym(*d, &t);
    }
    case BPFVM__OP_SUB64_K: {
        sym t = const_sym(-k, 0);
        return add_sym(*d, &t);
    }
    case BPFVM__OP_ADD64_X: return add_sym(*d, x);
    case BPFVM__OP_AND64_K: return k >= 0 ? bounded((uint64_t)k) : unknown_sym;
    case BPFVM__OP_AND32_K: return bounded((uint32_t)k);
    case BPFVM__OP_LSH64_K:
        if (!is_const(d) || d->c < 0 || (k & 63) > 31)
            return unknown_sym;
        return norm(const_sym(d->c * ((int64_t)1 << (k & 63)), d->u << (k & 63)));
    case BPFVM__OP_RSH64_K:
        if (!is_const(d) || d->c < 0)
            return unknown_sym;
        return bounded(((uint64_t)d->c + d->u) >> (k & 63));
    case BPFVM__OP_LDXB: return bounded(0xff);
    case BPFVM__OP_LDXH: return bounded(0xffff);
    case BPFVM__OP_LDXW: return bounded(0xffffffff);
    default: return unknown_sym;
    }
}

static bool same_sym(const sym *a, const sym *b)
{
    return a->known && b->known && a->reg[0] == b->reg[0] && a->reg[1] == b->reg[1] &&
           a->c == b->c && a->u == b->u;
}

static sym reg_sym(unsigned r)
{
    sym s = { true, { (uint8_t)r, BPFVM__NOREG }, 0, 0 };
    return s;
}

/* A power of two up to 2^30 (or its negation): p, else -1. */
static int log2_step(int64_t s)
{
    uint64_t a = s < 0 ? (uint64_t)-s : (uint64_t)s;
    if (a == 0 || (a & (a - 1)) || a > (1u << 30))
        return -1;
    int p = 0;
    while (a >> p != 1)
        p++;
    return p;
}

/* The register of s that changes from one iteration to the next, or -1. */
static int changing_reg(const bpfvm__jit_loop *lp, const sym *s)
{
    for (int k = 0; s->known && k < 2 && s->reg[k] != BPFVM__NOREG; k++)
        if (lp->step[s->reg[k]])
            return s->reg[k];
    return -1;
}

/* Can the guard bound the loop from the conditional jump `in` (its operands
 * a and b at that point)? `taken_stays`: taking it goes back to the head
 * (else taking it leaves the loop). Fills in form, iv, delta and the bound. */
static bool exit_test(bpfvm__jit_loop *lp, const sym *end, const bpfvm_insn *in, sym a, sym b,
                      bool taken_stays)
{
    int op = BPFVM_OP(bpfvm__ops[in->opcode].code);
    if (BPFVM_CLASS(bpfvm__ops[in->opcode].code) != BPFVM_JMP)
        return false; /* 32-bit comparisons */
    if (changing_reg(lp, &a) < 0) { /* the induction variable on the left */
        sym t = a;
        a = b;
        b = t;
        op = op == BPFVM_JLT ? BPFVM_JGT : op == BPFVM_JGT ? BPFVM_JLT
           : op == BPFVM_JLE ? BPFVM_JGE : op == BPFVM_JGE ? BPFVM_JLE : op;
    }
    if (!taken_stays) /* the condition under which the loop goes on */
        op = op == BPFVM_JLT ? BPFVM_JGE : op == BPFVM_JGE ? BPFVM_JLT
           : op == BPFVM_JLE ? BPFVM_JGT : op == BPFVM_JGT ? BPFVM_JLE
           : op == BPFVM_JEQ ? BPFVM_JNE : op == BPFVM_JNE ? BPFVM_JEQ : -1;
    int iv = changing_reg(lp, &a);
    if (iv < 0 || a.u || !b.known || b.u || b.reg[1] != BPFVM__NOREG)
        return false;
    /* the bound: an invariant register or a constant */
    if (b.reg[0] != BPFVM__NOREG) {
        if (b.c || lp->step[b.reg[0]])
            return false;
        lp->bound_reg = b.reg[0];
    } else {
        lp->bound_reg = BPFVM__NOREG;
        lp->bound_imm = (int32_t)b.c;
    }
    lp->iv = (uint8_t)iv;
    if (a.reg[1] != BPFVM__NOREG) {
        /* iv + q, q invariant: iv's next value (iv += q in the loop) */
        lp->step_reg = a.reg[0] == iv ? a.reg[1] : a.reg[0];
        lp->form = BPFVM__LOOP_REG_LT;
        return op == BPFVM_JLT && !a.c && !lp->step[lp->step_reg] && same_sym(&a, &end[iv]);
    }
    int32_t s = lp->step[iv];
    if (s == 0 || s > (1 << 30) || s < -(1 << 30))
        return false; /* (steps other than 2^p need a constant trip count: try_loop) */
    lp->delta = (int32_t)a.c;
    /* an immediate bound the last value compared would wrap around from
     * (with a register, the guard tests it) */
    uint64_t bound = (uint64_t)b.c, step = s < 0 ? 0u - (uint64_t)s : (uint64_t)s;
    bool imm = lp->bound_reg == BPFVM__NOREG;
    switch (op) {
    case BPFVM_JNE: lp->form = BPFVM__LOOP_NE; return true;
    case BPFVM_JLT: lp->form = BPFVM__LOOP_LT; return s > 0 && !(imm && bound > -step);
    case BPFVM_JLE: lp->form = BPFVM__LOOP_LE; return s > 0 && !(imm && bound >= -step);
    case BPFVM_JGT: lp->form = BPFVM__LOOP_GT; return s < 0 && !(imm && bound + 1 < step);
    case BPFVM_JGE: lp->form = BPFVM__LOOP_GE; return s < 0 && !(imm && bound < step);
    default: return false;
    }
}

/* With the values on entry known (pre), the trip count may be a constant:
 * then the guard need not compute it. False if the guard would always fail. */
static bool const_trips(bpfvm__jit_loop *lp, const sym *pre)
{
    const sym *v = &pre[lp->iv], *b = lp->bound_reg == BPFVM__NOREG ? NULL : &pre[lp->bound_reg];
    if (lp->form == BPFVM__LOOP_REG_LT || !is_const(v) || v->u || (b && (!is_const(b) || b->u)))
        return true;
    int32_t s = lp->step[lp->iv];
    uint64_t a = s < 0 ? 0u - (uint64_t)s : (uint64_t)s, bound = b ? (uint64_t)b->c : (uint64_t)(int64_t)lp->bound_imm;
    uint64_t t0 = (uint64_t)v->c + (uint64_t)(int64_t)lp->delta, k;
    bool up = lp->form == BPFVM__LOOP_LT || lp->form == BPFVM__LOOP_LE ||
              (lp->form == BPFVM__LOOP_NE && s > 0);
    uint64_t d = up ? bound - t0 : t0 - bound;
    bool below = up ? bound < t0 : t0 < bound; /* the subtraction borrowed */
    switch (lp->form) {
    case BPFVM__LOOP_NE:
        if (d % a)
            return false;
        k = d / a;
        break;
    case BPFVM__LOOP_LT: case BPFVM__LOOP_GT:
        if (lp->form == BPFVM__LOOP_LT ? bound > -a : bound + 1 < a)
            return false;
        k = below || !d ? 0 : (d - 1) / a + 1;
        break;
    default:
        if (lp->form == BPFVM__LOOP_LE ? bound >= -a : bound < a)
            return false;
        k = below ? 0 : d / a + 1;
        break;
    }
    if (k > UINT32_MAX)
        return false;
    lp->trips = (uint32_t)k;
    lp->trips_known = true;
    return true;
}

/* Slots head..last: a superblock loop (see bpfvm__jit_loop)? */
static bool superblock(const bpfvm__jit *j, size_t head, size_t last)
{
    for (size_t i = head; i <= last; i++) {
        const bpfvm_insn *in = &j->code[i];
        int fmt = bpfvm__ops[in->opcode].fmt;
        switch (fmt) {
        case BPFVM__FMT_CALL: case BPFVM__FMT_CALLX: case BPFVM__FMT_CALL_LOCAL:
        case BPFVM__FMT_EXIT:
            return false;
        case BPFVM__FMT_JA: case BPFVM__FMT_JA32: case BPFVM__FMT_JMP_K: case BPFVM__FMT_JMP_X: {
            int64_t t = bpfvm__jit_target(in, i);
            bool leaves = t < (int64_t)head || t > (int64_t)last;
            if (i == last ? t != (int64_t)head
                          : t != (int64_t)i + 1 && (!leaves || fmt == BPFVM__FMT_JA ||
                                                    fmt == BPFVM__FMT_JA32))
                return false;
            break;
        }
        case BPFVM__FMT_LDDW:
            i++;
            break;
        default:
            break;
        }
    }
    return true;
}

/* An access the code checks: (slot, value of its base register, off, size) */
typedef struct loop_access {
    uint32_t slot;
    int16_t off;
    uint8_t size;
    bool after;              /* after the exit test the guard counts the iterations with */
    sym base;
} loop_access;

/* Add access a to the loop's ranges; false if
 * the guard cannot bound it. */
static bool add_range(bpfvm__jit *j, bpfvm__jit_loop *lp, const loop_access *a)
{
    const sym *s = &a->base;
    if (!s->known || s->reg[0] == BPFVM__NOREG)
        return false;
    bool frame = (j->marks[a->slot] & BPFVM__MARK_STACK) != 0;
    int64_t c = s->c + a->off;
    for (int k = 0; k < 2 && s->reg[k] != BPFVM__NOREG; k++) {
        unsigned r = s->reg[k];
        int32_t st = lp->step[r];
        frame |= r == BPFVM_R10;
        if (st && (lp->form == BPFVM__LOOP_REG_LT ? r != lp->iv : st == INT32_MIN))
            return false;
        /* after the exit test: not in the last iteration, so the values of
         * iterations 0..K-1, which are those of 1..K minus the step */
        if (a->after && lp->form != BPFVM__LOOP_REG_LT)
            c -= st;
    }
    int64_t lo = c, hi = c + (int64_t)a->size - 1 + (int64_t)s->u;
    if (lo <= INT32_MIN || hi >= INT32_MAX)
        return false;
    for (size_t k = 0; k < lp->nranges; k++) {
        bpfvm__jit_range *g = &j->ranges[lp->first_range + k];
        if (g->reg[0] == s->reg[0] && g->reg[1] == s->reg[1] && g->frame == frame) {
            g->lo = lo < g->lo ? (int32_t)lo : g->lo;
            g->hi = hi > g->hi ? (int32_t)hi : g->hi;
            return true;
        }
    }
    if (lp->nranges == MAX_RANGES ||
        (j->nranges == j->ranges_cap &&
         !bpfvm__jit_grow(j, (void **)&j->ranges, &j->ranges_cap, sizeof(*j->ranges))))
        return false;
    bpfvm__jit_range r = { { s->reg[0], s->reg[1] }, frame, (int32_t)lo, (int32_t)hi };
    j->ranges[j->nranges++] = r;
    lp->nranges++;
    return true;
}

static unsigned mem_size(const bpfvm_insn *in)
{
    return bpfvm__jit_access_size(bpfvm__ops[in->opcode].code);
}

/* Symbolic execution of slot i (not a jump) on s[]. */
static void execute(const bpfvm_insn *in, sym *s)
{
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    switch (info->fmt) {
    case BPFVM__FMT_ALU_K: case BPFVM__FMT_ALU_X: case BPFVM__FMT_NEG: case BPFVM__FMT_END:
    case BPFVM__FMT_LDX:
        s[in->dst] = transfer(s, in);
        break;
    case BPFVM__FMT_LDDW:
        s[in->dst] = norm(const_sym((int64_t)bpfvm__lddw_value(in), 0));
        break;
    case BPFVM__FMT_ATOMIC:
        if (info->value & BPFVM_FETCH)
            s[info->value == BPFVM_CMPXCHG ? 0 : in->src] = unknown_sym;
        break;
    case BPFVM__FMT_LDABS: case BPFVM__FMT_LDIND:
        s[0] = unknown_sym;
        break;
    default:
        break;
    }
}


/* Does slot i's access have a check (not an access through r10 inside the
 * frame, nor one the program's compares prove: bpfvm__jit_bounds)? */
static bool checked_access(const bpfvm__jit *j, const bpfvm_insn *in, int fmt)
{
    if (fmt == BPFVM__FMT_ATOMIC)
        return true; /* its check also tests the alignment */
    if (j->marks[in - j->code] & BPFVM__MARK_PROVEN)
        return false;
    if (fmt == BPFVM__FMT_LDX)
        return !bpfvm__jit_in_frame(j, in->src, in->off, mem_size(in));
    return (fmt == BPFVM__FMT_ST || fmt == BPFVM__FMT_STX) &&
           !bpfvm__jit_in_frame(j, in->dst, in->off, mem_size(in));
}

/* Version lp (accesses acc[0..nacc)) if its guard can prove enough of them
 * in range: one for a loop, for a straight-line segment enough to pay for
 * the guard. */
static void keep(bpfvm__jit *j, bpfvm__jit_loop *lp, const loop_access *acc, size_t nacc)
{
    size_t nhoisted = 0;
    lp->all_hoisted = true;
    for (size_t k = 0; k < nacc; k++) {
        if (add_range(j, lp, &acc[k])) {
            j->marks[acc[k].slot] |= BPFVM__MARK_HOIST;
            nhoisted++;
        } else {
            lp->all_hoisted = false;
        }
    }
    if (lp->nranges == 0 || (lp->segment && 3 * nhoisted < 8 * lp->nranges + 6) ||
        (j->nloops == j->loops_cap &&
         !bpfvm__jit_grow(j, (void **)&j->loops, &j->loops_cap, sizeof(*j->loops)))) {
        for (size_t k = 0; k < nacc; k++)
            j->marks[acc[k].slot] &= (uint8_t)~BPFVM__MARK_HOIST;
        j->nranges = lp->first_range;
        return;
    }
    j->marks[lp->head] |= BPFVM__MARK_GUARD;
    j->loops[j->nloops++] = *lp;
    j->nhoisted += nhoisted;
}

/* Version the superblock loop head..last if its guard can prove at least one
 * access in range. */
static void try_loop(bpfvm__jit *j, size_t head, size_t last, loop_access *acc, const sym *pre)
{
    bpfvm__jit_loop lp;
    sym s[11], end[11];
    uint8_t alias[11];
    memset(&lp, 0, sizeof(lp));
    lp.head = (uint32_t)head;
    lp.last = (uint32_t)last;
    lp.first_range = (uint32_t)j->nranges;
    /* registers equal on entry (pre: their values then, if known) that stay
     * equal at the end of each iteration are one register for the analysis */
    for (unsigned r = 0; r < 11; r++) {
        alias[r] = (uint8_t)r;
        for (unsigned q = 0; pre && q < r && alias[r] == r; q++)
            if (alias[q] == q && same_sym(&pre[q], &pre[r]))
                alias[r] = (uint8_t)q;
    }
    for (bool again = true; again;) {
        for (unsigned r = 0; r < 11; r++)
            end[r] = reg_sym(alias[r]);
        for (size_t i = head; i < last;
             i += bpfvm__ops[j->code[i].opcode].fmt == BPFVM__FMT_LDDW ? 2 : 1)
            execute(&j->code[i], end);
        again = false;
        for (unsigned r = 0; r < 11; r++)
            if (alias[r] != r && !same_sym(&end[r], &end[alias[r]])) {
                alias[r] = (uint8_t)r;
                again = true;
            }
    }
    for (unsigned r = 0; r < 11; r++) {
        sym v = reg_sym(r);
        if (same_sym(&end[r], &v))
            lp.step[r] = 0;
        else if (end[r].known && end[r].reg[0] == r && end[r].reg[1] == BPFVM__NOREG && !end[r].u)
            lp.step[r] = (int32_t)end[r].c; /* norm() keeps it small and != INT32_MIN */
        else
            lp.step[r] = INT32_MIN;
        s[r] = reg_sym(alias[r]);
    }
    /* again: the exit test (the first that bounds the loop) and the accesses */
    bool bounded_loop = false;
    size_t nacc = 0;
    for (size_t i = head; i <= last; i++) {
        const bpfvm_insn *in = &j->code[i];
        int fmt = bpfvm__ops[in->opcode].fmt;
        int base = fmt == BPFVM__FMT_LDX ? in->src : in->dst;
        if (fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X) {
            sym b = fmt == BPFVM__FMT_JMP_K ? norm(const_sym(in->imm, 0)) : s[in->src];
            if (!bounded_loop && bpfvm__jit_target(in, i) != (int64_t)i + 1)
                bounded_loop = exit_test(&lp, end, in, s[in->dst], b, i == last);
            continue;
        }
        if (checked_access(j, in, fmt)) { /* atomics keep their check */
            loop_access a = { (uint32_t)i, in->off, (uint8_t)mem_size(in), bounded_loop,
                              fmt == BPFVM__FMT_ATOMIC ? unknown_sym : s[base] };
            acc[nacc++] = a;
        }
        execute(in, s);
        if (fmt == BPFVM__FMT_LDDW)
            i++;
    }
    /* the guard computes K with shifts: other steps need it constant */
    if (bounded_loop && (!pre || const_trips(&lp, pre)) &&
        (lp.form == BPFVM__LOOP_REG_LT || log2_step(lp.step[lp.iv]) >= 0 || lp.trips_known))
        keep(j, &lp, acc, nacc);
}


/* Does the loop head..last go on through the code after it (the back edge
 * falls through to code that jumps back to head without a branch)? Then the
 * loop has two back edges, and the guard would run on every iteration that
 * takes the second. */
static bool continues(const bpfvm__jit *j, size_t head, size_t last)
{
    for (size_t i = last + 1; i < j->count && (i == last + 1 || !(j->marks[i] & LEADER)); i++) {
        const bpfvm_insn *in = &j->code[i];
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (fmt == BPFVM__FMT_JA || fmt == BPFVM__FMT_JA32)
            return bpfvm__jit_target(in, i) == (int64_t)head;
        if (fmt != BPFVM__FMT_ALU_K && fmt != BPFVM__FMT_ALU_X && fmt != BPFVM__FMT_NEG &&
            fmt != BPFVM__FMT_END)
            return false;
    }
    return false;
}

/* The registers at the end of the block before slot h (which falls through
 * to h), in terms of their values at its start. */
static void block_before(const bpfvm__jit *j, size_t h, sym *pre)
{
    size_t i = h - 1;
    while (i > 0 && !(j->marks[i] & LEADER))
        i--;
    for (unsigned r = 0; r < 11; r++)
        pre[r] = reg_sym(r);
    for (; i < h; i += bpfvm__ops[j->code[i].opcode].fmt == BPFVM__FMT_LDDW ? 2 : 1) {
        const bpfvm_insn *in = &j->code[i];
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (fmt == BPFVM__FMT_CALL || fmt == BPFVM__FMT_CALLX || fmt == BPFVM__FMT_CALL_LOCAL)
            for (unsigned r = 0; r < 6; r++)
                pre[r] = unknown_sym;
        else
            execute(in, pre);
    }
}

/* Has some slot mark m? */
static bool has_mark(const uint8_t *marks, size_t n, uint8_t m)
{
    for (size_t i = 0; i < n; i++)
        if (marks[i] & m)
            return true;
    return false;
}

/* Jump kinds the loop analysis follows. */
static bool is_jump(int fmt)
{
    return fmt == BPFVM__FMT_JA || fmt == BPFVM__FMT_JA32 || fmt == BPFVM__FMT_JMP_K ||
           fmt == BPFVM__FMT_JMP_X || fmt == BPFVM__FMT_CALL_LOCAL;
}

#define ENTERED 0x80000000u /* first[h]: h is reached by a jump from outside its loop */

/* Find the loops to version: for each loop head (not slot 0: the code enters
 * the program there without a guard), the first backward jump to it closes
 * the only candidate; candidates never overlap. A head that only the slot
 * before it enters from outside lets the guard use what that block leaves
 * in the registers. j->copy_off serves as the scratch array. */
static void find_loops(bpfvm__jit *j)
{
    uint32_t *first = j->copy_off;
    loop_access acc[MAX_LOOP];
    size_t n = j->count, next = 1;
    if (!has_mark(j->marks, n, LOOP))
        return; /* no backward jump */
    memset(first, 0, n * sizeof(*first));
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const bpfvm_insn *in = &j->code[i];
            int fmt = bpfvm__ops[in->opcode].fmt;
            if (fmt == BPFVM__FMT_LDDW)
                i++;
            if (!is_jump(fmt))
                continue;
            size_t t = (size_t)bpfvm__jit_target(in, i), loop_end = (first[t] & ~ENTERED) - 1;
            if (pass == 0 && t <= i && !first[t] && fmt != BPFVM__FMT_CALL_LOCAL)
                first[t] = (uint32_t)i + 1;
            else if (pass == 1 && first[t] && (i < t || i > loop_end || fmt == BPFVM__FMT_CALL_LOCAL))
                first[t] |= ENTERED;
        }
    for (size_t h = 1; h < n && !j->err; h++) {
        size_t last = (first[h] & ~ENTERED) - 1;
        if (!first[h] || h < next || last + 1 - h > MAX_LOOP || !superblock(j, h, last) ||
            continues(j, h, last))
            continue;
        sym pre[11];
        if (!(first[h] & ENTERED))
            block_before(j, h, pre);
        try_loop(j, h, last, acc, first[h] & ENTERED ? NULL : pre);
        if (j->nloops && j->loops[j->nloops - 1].head == h)
            next = last + 1;
    }
}

#define MAX_SEGMENT 256 /* longest straight-line segment versioned */

/* Version the straight-line segment a..b (no jumps, calls or exits): its
 * guard proves the accesses off registers it does not change (their values
 * at a, plus constants) in range at once. */
static void try_segment(bpfvm__jit *j, size_t a, size_t b, loop_access *acc)
{
    bpfvm__jit_loop lp;
    sym s[11];
    size_t nacc = 0;
    memset(&lp, 0, sizeof(lp));
    lp.head = (uint32_t)a;
    lp.last = (uint32_t)b;
    lp.first_range = (uint32_t)j->nranges;
    lp.form = BPFVM__LOOP_NE;
    lp.trips_known = true; /* K = 0: runs once */
    lp.segment = true;
    for (unsigned r = 0; r < 11; r++)
        s[r] = reg_sym(r);
    for (size_t i = a; i <= b; i++) {
        const bpfvm_insn *in = &j->code[i];
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (checked_access(j, in, fmt)) {
            loop_access x = { (uint32_t)i, in->off, (uint8_t)mem_size(in), false,
                              fmt == BPFVM__FMT_ATOMIC ? unknown_sym
                              : s[fmt == BPFVM__FMT_LDX ? in->src : in->dst] };
            acc[nacc++] = x;
        }
        execute(in, s);
        if (fmt == BPFVM__FMT_LDDW)
            i++;
    }
    keep(j, &lp, acc, nacc);
}

static int by_head(const void *x, const void *y)
{
    const bpfvm__jit_loop *a = x, *b = y;
    return (a->head > b->head) - (a->head < b->head);
}

/* Straight-line segments worth a guard: in the runs analyse() marked, each
 * block's instructions from its start up to the next block, jump, call or
 * exit (at most MAX_SEGMENT slots), outside versioned loops, with enough
 * checked accesses. Then the loops and segments are sorted by head. */
static void find_segments(bpfvm__jit *j)
{
    static const int min_accesses = 3;
    loop_access acc[MAX_SEGMENT];
    size_t n = j->count, nl = j->nloops, li = 0;
    for (size_t r = 1; r < n && !j->err; r++) {
        if (!(j->marks[r] & RUN))
            continue;
        /* the blocks of the run, up to its jump or call */
        for (size_t i = r; i < n && !j->err;) {
            while (li < nl && j->loops[li].last < i)
                li++;
            bool in_loop = li < nl && i >= j->loops[li].head, ends = false;
            size_t a = i, checks = 0;
            while (i < n && i - a < MAX_SEGMENT - 1 && (i == a || !(j->marks[i] & LEADER))) {
                const bpfvm_insn *in = &j->code[i];
                int fmt = bpfvm__ops[in->opcode].fmt;
                if (is_jump(fmt) || fmt == BPFVM__FMT_CALL || fmt == BPFVM__FMT_CALLX ||
                    fmt == BPFVM__FMT_EXIT || fmt == BPFVM__FMT_LDABS ||
                    fmt == BPFVM__FMT_LDIND) {
                    ends = true;
                    break;
                }
                checks += checked_access(j, in, fmt);
                i += fmt == BPFVM__FMT_LDDW ? 2 : 1;
            }
            size_t b = i - 1;
            /* a mov the backend would fuse with the add after the segment */
            if (b > a && !(i < n && (j->marks[i] & LEADER)) &&
                j->code[b].opcode == BPFVM__OP_MOV64_X)
                b--;
            if (!in_loop && (j->marks[a] & LEADER) && checks >= min_accesses && b > a)
                try_segment(j, a, b, acc);
            if (ends || i == a)
                break;
        }
    }
    if (j->nloops > 1)
        qsort(j->loops, j->nloops, sizeof(*j->loops), by_head);
}

const bpfvm__jit_loop *bpfvm__jit_loop_at(const bpfvm__jit *j, size_t head)
{
    size_t lo = 0, hi = j->nloops;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (j->loops[mid].head < head)
            lo = mid + 1;
        else
            hi = mid;
    }
    return &j->loops[lo];
}

/* ---- inlined array lookups ---------------------------------------------- */

/* May slot k write r1? (calls end their block, so they never come up) */
static bool may_write_r1(const bpfvm_insn *in)
{
    int fmt = bpfvm__ops[in->opcode].fmt;
    return (writes_dst(fmt) && in->dst == BPFVM_R1) ||
           (fmt == BPFVM__FMT_ATOMIC && in->src == BPFVM_R1) || fmt == BPFVM__FMT_CALL ||
           fmt == BPFVM__FMT_CALLX || fmt == BPFVM__FMT_CALL_LOCAL;
}

bool bpfvm__jit_array_lookup(bpfvm__jit *j, size_t i, bpfvm__jit_array *a)
{
    const bpfvm_vm *vm = j->vm;
    const bpfvm_insn *in = &j->code[i];
    if (in->opcode != BPFVM__OP_CALL || in->imm != BPFVM__HELPER_MAP_LOOKUP || j->blind_state)
        return false;
    const bpfvm__helper *h = bpfvm__find_helper(vm, BPFVM__HELPER_MAP_LOOKUP);
    if (!h || !bpfvm__is_kernel_map_lookup(h->fn))
        return false;
    /* the lddw of r1 in the call's basic block, nothing writing r1 after it */
    size_t start = i, k = SIZE_MAX;
    while (start > 0 && !(j->marks[start] & BPFVM__MARK_LEADER))
        start--;
    for (size_t s = start; s < i; s += j->code[s].opcode == BPFVM__OP_LDDW ? 2 : 1)
        if (may_write_r1(&j->code[s]))
            k = s;
    if (k == SIZE_MAX || j->code[k].opcode != BPFVM__OP_LDDW || j->code[k].dst != BPFVM_R1)
        return false;
    uint64_t v = bpfvm__lddw_value(&j->code[k]);
    for (size_t m = 0; m < vm->nmaps; m++) {
        const bpfvm_map *map = vm->maps[m];
        if ((uint64_t)(uintptr_t)map != v)
            continue;
        if (map->def.type != BPFVM_MAP_ARRAY || map->ncpus != 1 || !map->values_len ||
            map->elem_bytes > UINT32_MAX)
            return false;
        a->values = (uint64_t)(uintptr_t)map->values;
        a->max_entries = map->def.max_entries;
        a->stride = (uint32_t)map->elem_bytes;
        j->inlined_lookup = true;
        return true;
    }
    return false;
}

/* ---- compile -------------------------------------------------------------- */

static void release(bpfvm__jit *j)
{
    const bpfvm_vm *vm = j->vm;
    if (j->code_buf)
        munmap(j->code_buf, j->code_cap);
    bpfvm__free(vm, j->off);
    bpfvm__free(vm, j->stubs);
    bpfvm__free(vm, j->stub_off);
    bpfvm__free(vm, j->fixups);
    bpfvm__free(vm, j->charge);
    bpfvm__free(vm, j->marks);
    bpfvm__free(vm, j->stored);
    bpfvm__free(vm, j->loops);
    bpfvm__free(vm, j->ranges);
    bpfvm__free(vm, j->copy_off);
    bpfvm__free(vm, j->targets);
    bpfvm__free(vm, j->preds);
    bpfvm__free(vm, j->preds_first);
    bpfvm__free(vm, j->in_loop);
    bpfvm__free(vm, j->out_copies);
    bpfvm__free(vm, j->cb_off);
}

static int rt_access(bpfvm__jit_state *st, uint64_t addr, uint64_t packed);
static uint64_t rt_helper(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                          uint64_t r5);
static void rt_raise(bpfvm__jit_state *st, uint32_t insn, int kind);

/* A per-compile random seed for constant blinding (never 0). */
static uint64_t blind_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        seed = (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)t.tv_sec ^
               (uint64_t)(uintptr_t)&t;
    }
    return seed | 1;
}

/* n bytes of the backend's 4-byte trap pattern (in doubling copies). */
static void fill_trap(uint8_t *p, size_t n, uint32_t pattern)
{
    size_t k = 0;
    for (; k < n && k < 4; k++)
        p[k] = (uint8_t)(pattern >> (8 * k));
    for (; k < n; k *= 2)
        memcpy(p + k, p, k < n - k ? k : n - k);
}

/* The backend built for this host, or NULL. */
static const bpfvm__jit_arch *host_arch(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    return &bpfvm__jit_host;
#else
    return NULL;
#endif
}

/* Callbacks: room for the code offset of each (vm->jit_cb_off once the
 * code is in place). */
static int alloc_callbacks(bpfvm__jit *j, bpfvm_error *err)
{
    if (j->vm->ncallbacks &&
        !(j->cb_off = bpfvm__alloc(j->vm, j->vm->ncallbacks * sizeof(*j->cb_off))))
        return bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
    return 0;
}

/* After the code is in place: where the callbacks' entry and functions are. */
static void set_callbacks(bpfvm_vm *vm, bpfvm__jit *j)
{
    if (!vm->ncallbacks)
        return;
    for (size_t k = 0; k < vm->ncallbacks; k++)
        j->cb_off[k] = j->off[vm->callbacks[k]];
    vm->jit_cb_off = j->cb_off;
    j->cb_off = NULL;
    vm->jit_cb_entry = (uint8_t *)vm->jit_code + j->cb_entry;
}

/* ---- the nesting of local calls ----------------------------------------- */

#define CALL_NEST_UNKNOWN UINT32_MAX

/* The most calls the entry function's calls nest (through the callees'),
 * memoized in h[f] (0: not yet; 1 + the nesting; CALL_NEST_UNKNOWN while f is
 * on the path: recursion); CALL_NEST_UNKNOWN past the deepest limit. */
static uint32_t call_nest(const uint32_t *first, const uint32_t *to, uint32_t *h, uint32_t f,
                          unsigned depth)
{
    if (h[f] == CALL_NEST_UNKNOWN || depth > BPFVM__MAX_CALL_DEPTH)
        return CALL_NEST_UNKNOWN;
    if (h[f])
        return h[f] - 1;
    h[f] = CALL_NEST_UNKNOWN;
    uint32_t most = 0;
    for (uint32_t e = first[f]; e < first[f + 1] && most != CALL_NEST_UNKNOWN; e++) {
        uint32_t n = call_nest(first, to, h, to[e], depth + 1);
        most = n == CALL_NEST_UNKNOWN ? n : n + 1 > most ? n + 1 : most;
    }
    h[f] = most == CALL_NEST_UNKNOWN ? CALL_NEST_UNKNOWN : most + 1;
    return most;
}

/* j->call_need: how deep the program's local calls can nest: a call made
 * at depth d (the entry function's calls at 0) fails when d >= the call
 * depth limit, so with a limit of at least this none can. 0 for a program
 * without local calls; UINT_MAX where unknown: recursion, callbacks (called
 * from helpers at any depth), code that runs off the program's end, a call
 * two functions reach, or more slots than the walk looks at (four times the
 * program's). Each function (the entry and each call's target) is walked
 * along its jumps for the calls it makes, then the call graph depth first.
 * Returns 0 or BPFVM_ENOMEM. */
static int call_need(bpfvm__jit *j)
{
    size_t n = j->count, ncalls = 0, nfn = 1;
    j->call_need = j->uses & BPFVM__JIT_USES_CALLS ? UINT_MAX : 0;
    if (!j->call_need || j->vm->ncallbacks)
        return 0;
    for (size_t i = 0; i < n; i++)
        ncalls += bpfvm__ops[j->code[i].opcode].fmt == BPFVM__FMT_CALL_LOCAL;
    uint32_t *fn = bpfvm__alloc(j->vm, n * sizeof(*fn));       /* 1 + function of an entry */
    uint32_t *seen = bpfvm__alloc(j->vm, n * sizeof(*seen));   /* 1 + the walk there last */
    uint32_t *todo = bpfvm__alloc(j->vm, n * sizeof(*todo));
    uint32_t *entry = bpfvm__alloc(j->vm, (ncalls + 1) * sizeof(*entry));
    uint32_t *first = bpfvm__alloc(j->vm, (ncalls + 2) * sizeof(*first));
    uint32_t *to = bpfvm__alloc(j->vm, (ncalls + 1) * sizeof(*to));
    uint32_t *h = bpfvm__alloc(j->vm, (ncalls + 1) * sizeof(*h));
    int rc = 0;
    if (!fn || !seen || !todo || !entry || !first || !to || !h) {
        rc = BPFVM_ENOMEM;
        goto out;
    }
    memset(fn, 0, n * sizeof(*fn));
    memset(seen, 0, n * sizeof(*seen));
    fn[0] = 1;
    entry[0] = 0;
    for (size_t i = 0; i < n; i++)
        if (bpfvm__ops[j->code[i].opcode].fmt == BPFVM__FMT_CALL_LOCAL) {
            size_t t = bpfvm__jit_dest(j, i);
            if (!fn[t]) {
                entry[nfn] = (uint32_t)t;
                fn[t] = (uint32_t)++nfn;
            }
        }
    size_t budget = 4 * n, nedges = 0;
    for (uint32_t f = 0; f < nfn; f++) {
        size_t ntodo = 0;
        first[f] = (uint32_t)nedges;
        todo[ntodo++] = entry[f];
        while (ntodo) {
            size_t i = todo[--ntodo];
            while (seen[i] != f + 1) {
                const bpfvm_insn *in = &j->code[i];
                int fmt = bpfvm__ops[in->opcode].fmt;
                seen[i] = f + 1;
                if (budget-- == 0)
                    goto out;
                if (fmt == BPFVM__FMT_EXIT)
                    break;
                if (fmt == BPFVM__FMT_JA || fmt == BPFVM__FMT_JA32) {
                    i = bpfvm__jit_dest(j, i);
                    continue;
                }
                if (fmt == BPFVM__FMT_JMP_K || fmt == BPFVM__FMT_JMP_X)
                    todo[ntodo++] = (uint32_t)bpfvm__jit_dest(j, i); /* (seen: once per slot) */
                if (fmt == BPFVM__FMT_CALL_LOCAL) {
                    if (nedges == ncalls)
                        goto out;                  /* (a call reached by two functions) */
                    to[nedges++] = fn[bpfvm__jit_dest(j, i)] - 1;
                }
                i += fmt == BPFVM__FMT_LDDW ? 2 : 1;
                if (i >= n)
                    goto out;                      /* (runs off the end) */
            }
        }
    }
    first[nfn] = (uint32_t)nedges;
    memset(h, 0, nfn * sizeof(*h));
    uint32_t most = call_nest(first, to, h, 0, 0);
    j->call_need = most == CALL_NEST_UNKNOWN ? UINT_MAX : most;
out:
    bpfvm__free(j->vm, fn);
    bpfvm__free(j->vm, seen);
    bpfvm__free(j->vm, todo);
    bpfvm__free(j->vm, entry);
    bpfvm__free(j->vm, first);
    bpfvm__free(j->vm, to);
    bpfvm__free(j->vm, h);
    return rc;
}

int bpfvm_compile(bpfvm_vm *vm, unsigned flags)
{
    bpfvm__jit j;
    bpfvm_error *err;
    void *map = MAP_FAILED;
    size_t map_size = 0;
    int rc;

    if (!vm)
        return BPFVM_EINVAL;
    err = &vm->last_error;
    if (!vm->code)
        return bpfvm__set_error(err, BPFVM_ENOPROG, -1, "no program loaded");
    if (flags & ~BPFVM_JIT_BLIND)
        return bpfvm__set_error(err, BPFVM_EINVAL, -1, "unknown compile flags 0x%x", flags);
    const bpfvm__jit_arch *arch = host_arch();
    if (!arch)
        return bpfvm__set_error(err, BPFVM_EUNSUPPORTED, -1,
                                "the JIT emits x86-64 or arm64 code and this host is neither");

    memset(&j, 0, sizeof(j));
    j.vm = vm;
    j.code = vm->code;
    j.count = vm->count;
    j.checked = vm->checked != 0;
    j.metered = vm->budget != 0;
    j.uses = vm->ncallbacks ? BPFVM__JIT_USES_CALLS : 0; /* run in frames past the first */
    j.stack_size = (uint32_t)vm->stack_size;
    j.page = (size_t)sysconf(_SC_PAGESIZE);
    if (flags & BPFVM_JIT_BLIND)
        j.blind_state = blind_seed();
    j.rt_access = (uint64_t)(uintptr_t)rt_access;
    j.rt_helper = (uint64_t)(uintptr_t)rt_helper;
    j.rt_raise = (uint64_t)(uintptr_t)rt_raise;

    /* recompiling: the earlier code's pages, read+write again, take the new
     * code (the earlier code is gone even if this compile fails) */
    if (vm->jit_code && mprotect(vm->jit_code, vm->jit_size, PROT_READ | PROT_WRITE) == 0) {
        j.buf = j.code_buf = vm->jit_code;
        j.cap = j.code_cap = vm->jit_size;
        vm->jit_code = NULL;
        bpfvm__jit_free(vm);
    }
    j.off = bpfvm__alloc(vm, (j.count + 1) * sizeof(*j.off));
    j.charge = bpfvm__alloc(vm, j.count * sizeof(*j.charge));
    j.marks = bpfvm__alloc(vm, j.count);
    j.copy_off = bpfvm__alloc(vm, (j.count + 1) * sizeof(*j.copy_off));
    j.targets = bpfvm__alloc(vm, j.count + 1);
    if (!j.off || !j.charge || !j.marks || !j.copy_off || !j.targets) {
        rc = bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
        goto fail;
    }
    if ((rc = analyse(&j, err)) != 0 || (rc = alloc_callbacks(&j, err)) != 0)
        goto fail;
    if (call_need(&j) != 0 || bpfvm__jit_bounds(&j) != 0) {
        rc = bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
        goto fail;
    }
    j.calls_free = j.call_need <= bpfvm__call_limit(vm);
    if (arch->versioning && j.checked && !j.blind_state) {
        find_loops(&j);
        find_segments(&j);
    }

    arch->compile(&j);
    if (j.err) {
        rc = bpfvm__set_error(err, j.err, -1, j.err == BPFVM_ENOMEM ? "out of memory"
                                                                   : "code generation failed");
        goto fail;
    }

    /* the code's pages become the code; the reserve past them goes */
    map = j.code_buf;
    map_size = (j.len + j.page - 1) / j.page * j.page;
    if (map_size < j.code_cap)
        munmap((uint8_t *)map + map_size, j.code_cap - map_size);
    j.code_buf = NULL;
    fill_trap((uint8_t *)map + j.len, map_size - j.len, arch->fill);
    if (mprotect(map, map_size, PROT_READ | PROT_EXEC) != 0) {
        rc = bpfvm__set_error(err, BPFVM_EJIT, -1, "cannot make the code executable");
        goto fail;
    }
    /* the instruction cache sees the new code (nothing to do on x86-64) */
    __builtin___clear_cache((char *)map, (char *)map + map_size);
    bpfvm__jit_free(vm);
    vm->jit_code = map;
    vm->jit_size = map_size;
    vm->jit_len = j.len;
    vm->jit_entry = map;
    vm->jit_checked = j.checked;
    vm->jit_metered = j.metered;
    vm->jit_uses = j.uses | (j.metered ? BPFVM__JIT_USES_BUDGET : 0);
    vm->jit_call_need = j.calls_free ? j.call_need : 0;
    vm->jit_stack_size = vm->stack_size;
    vm->jit_stack_read = j.nproven ? bpfvm__stack_reads(vm->insns, vm->count, vm->local_calls,
                                                        j.marks)
                                   : vm->stack_read;
    vm->jit_loops = j.nloops;
    vm->jit_segments = 0;
    for (size_t k = 0; k < j.nloops; k++)
        vm->jit_segments += j.loops[k].segment;
    vm->jit_hoisted = j.nhoisted;
    vm->jit_threads = j.nthreads;
    vm->jit_threads_out = j.nthreads_out;
    vm->jit_inline_lookup = j.inlined_lookup;
    set_callbacks(vm, &j);
    bpfvm__jit_refresh(vm);
    release(&j);
    bpfvm__clear_error(err);
    return 0;
fail:
    if (map != MAP_FAILED)
        munmap(map, map_size);
    release(&j);
    return rc;
}

void bpfvm__jit_free(bpfvm_vm *vm)
{
    bpfvm__free(vm, vm->jit_cb_off);
    vm->jit_cb_off = NULL;
    vm->jit_cb_entry = NULL;
    if (vm->jit_code)
        munmap(vm->jit_code, vm->jit_size);
    vm->jit_code = vm->jit_entry = NULL;
    vm->jit_size = vm->jit_len = 0;
    bpfvm__jit_refresh(vm);
}

void bpfvm__jit_refresh(bpfvm_vm *vm)
{
    bool fits = vm->stack_size == vm->jit_stack_size && (!vm->budget || vm->jit_metered);
    vm->jit_ready = fits ? vm->jit_entry : NULL;
}

const void *bpfvm_jit_code(const bpfvm_vm *vm, size_t *size)
{
    if (size)
        *size = vm && vm->jit_code ? vm->jit_len : 0;
    return vm ? vm->jit_code : NULL;
}

/* ---- run ------------------------------------------------------------------ */

/* After the slow path allowed a read or a write at [addr, +size) outside the
 * frame and mem: remember the region that allowed it (mbuff, a registered
 * region with that permission, or for map values the element's value), so
 * the stubs try it inline next time. */
static void remember_region(bpfvm__jit_state *st, uint64_t addr, uint64_t size, bool write)
{
    uint64_t start, len;
    if (bpfvm__find_region(&st->ctx, addr, size, write, &start, &len)) {
        st->cache[write].neg = 0 - start;
        bpfvm__jit_set_limits(st->cache[write].lim, len);
    }
}

/* Called by compiled code (check_slow) when an access is outside the current
 * frame and the input memory. packed = rmw << 32 | insn << 6 | read << 5 |
 * write << 4 | size, where rmw (a load's) is 1 + the slot of a store to the
 * same bytes later in the block, with only register operations between, whose
 * check this one makes: the load is allowed but that store is not, the run
 * fails now with the store's fault - nothing the program could observe
 * happens in between. Returns 1 if allowed, else records the fault and
 * returns 0. */
static int rt_access(bpfvm__jit_state *st, uint64_t addr, uint64_t packed)
{
    uint64_t size = packed & 15, rmw = packed >> 32;
    int64_t insn = (int64_t)((packed >> 6) & 0x3ffffff);
    bool write = (packed >> 4) & 1, read = (packed >> 5) & 1;
    if ((!read || bpfvm__access_ok(&st->ctx, addr, size, false)) &&
        bpfvm__access_ok(&st->ctx, addr, size, write)) {
        if (rmw && !bpfvm__access_ok(&st->ctx, addr, size, true)) {
            st->rc = bpfvm__memory_fault(&st->ctx, (int64_t)rmw - 1, addr, size, true);
            return 0;
        }
        if (read && write && (addr & (size - 1))) { /* an atomic */
            st->rc = bpfvm__misaligned_atomic(&st->ctx, insn, addr, size);
            return 0;
        }
        if (!read && !rmw)
            remember_region(st, addr, size, write);
        return 1;
    }
    st->rc = bpfvm__memory_fault(&st->ctx, insn, addr, size, write);
    return 0;
}

/* Called by compiled code for call and callx (st->helper_insn names the
 * instruction): resolves the helper now, runs it, and records EHELPER or
 * EHELPERFAIL in st->rc. */
static uint64_t rt_helper(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                          uint64_t r5)
{
    bpfvm__jit_state *st = bpfvm__jit_state_of(ctx);
    int64_t insn = (int64_t)st->helper_insn;
    const bpfvm_insn *in = &ctx->vm->code[insn];
    uint64_t id = in->opcode == BPFVM__OP_CALLX ? st->helper_id : (uint32_t)in->imm;
    const bpfvm__helper *h = id <= UINT32_MAX ? bpfvm__find_helper(ctx->vm, (uint32_t)id) : NULL;
    if (!h) {
        st->rc = bpfvm__set_error(ctx->err, BPFVM_EHELPER, insn,
                                  "instruction %lld: call to unregistered helper %llu",
                                  (long long)insn, (unsigned long long)id);
        return 0;
    }
    ctx->helper_user = h->user;
    ctx->call_insn = (uint64_t)insn;
    uint64_t r0 = h->fn(ctx, r1, r2, r3, r4, r5);
    if (ctx->failed)
        st->rc = ctx->failed < 0 ? ctx->failed
                                 : bpfvm__set_error(ctx->err, BPFVM_EHELPERFAIL, insn,
                                                    "instruction %lld: helper %llu failed: %s",
                                                    (long long)insn, (unsigned long long)id,
                                                    ctx->fail_msg);
    return r0;
}

/* Called by compiled code for the errors it detects itself. */
static void rt_raise(bpfvm__jit_state *st, uint32_t insn, int kind)
{
    const bpfvm_vm *vm = st->ctx.vm;
    bpfvm_error *err = st->ctx.err;
    switch (kind) {
    case BPFVM__RAISE_BUDGET:
        st->rc = bpfvm__set_error(err, BPFVM_EBUDGET, insn,
                                  "instruction %lld: budget of %llu instructions exhausted",
                                  (long long)insn, (unsigned long long)vm->budget);
        break;
    case BPFVM__RAISE_CALLDEPTH:
        st->rc = bpfvm__set_error(err, BPFVM_ECALLDEPTH, insn,
                                  "instruction %lld: call depth limit of %u exceeded",
                                  (long long)insn, bpfvm__call_limit(vm));
        break;
    default:
        st->rc = bpfvm__set_error(err, BPFVM_EINVAL, insn,
                                  "instruction %lld: execution fell off the end of the program",
                                  (long long)insn);
        break;
    }
}

/* A callback (bpfvm__call_function): through the code's entry for them,
 * in the frame at ctx->frame_start, sharing the run's budget. The fields
 * of the run the entry changes are put back. */
int bpfvm__jit_callback(bpfvm_ctx *ctx, size_t pc, const uint64_t args[5], uint64_t *r0)
{
    bpfvm__jit_state *st = bpfvm__jit_state_of(ctx);
    const bpfvm_vm *vm = ctx->vm;
    int64_t k = bpfvm__callback_index(vm, pc);
    bpfvm__jit_fn fn;
    if (vm->jit_metered && st->budget_left < 0) /* (set only for metered code) */
        return bpfvm__callback_budget_fault(ctx);
    if (k < 0 || !vm->jit_cb_entry) /* bpfvm__call_function checked it */
        return bpfvm__set_error(ctx->err, BPFVM_EJIT, -1, "no code for the callback at %zu", pc);
    uint64_t saved_sp = st->saved_sp, insn = st->helper_insn, id = st->helper_id;
    memcpy(st->cb_args, args, sizeof(st->cb_args));
    st->cb_code = (uint64_t)(uintptr_t)vm->jit_code + vm->jit_cb_off[k];
    memcpy(&fn, &vm->jit_cb_entry, sizeof(fn));
    int rc = fn(st, 0, 0, ctx->frame_start + vm->stack_size) ? st->rc : 0;
    st->saved_sp = saved_sp;
    st->helper_insn = insn;
    st->helper_id = id;
    *r0 = st->r0;
    return rc;
}
