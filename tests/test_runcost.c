/* test_runcost.c - what the cheaper run path must keep doing.
 *
 * - The x86-64 entry saves and zeroes only the host registers of the eBPF
 *   registers a program names: called directly through a trampoline that
 *   puts known values in every callee-saved register, compiled code of
 *   programs naming none, one, three or all of r6..r9 (odd counts take a
 *   spare register to keep the stack aligned), ending normally or through
 *   the fault exit, must hand every callee-saved register back unchanged.
 * - A helper called from code naming any number of r6..r9 gets the stack
 *   alignment a C caller gives it.
 * - Registers a program reads without writing are 0 in both engines, also
 *   when only a helper reads them (r3..r5 of a call).
 * - Each run starts afresh: errors are filled after runs that went well
 *   (bad arguments, a fault at its instruction, address and size), a run
 *   after a failed one succeeds, the budget is whole again at every run
 *   and follows bpfvm_set_budget on code compiled with a budget, and the
 *   run modes give r1 and r2 as documented.
 * - A run prepares only the state its program reads (compiled code: the
 *   memory limits for memory accesses, the frame limit for local calls, the
 *   error slot and the helper-visible fields for helper calls, the budget
 *   for metered code): with the C stack below the caller filled with junk
 *   before each run, so that whatever a run leaves unset is junk, programs
 *   whose only memory access is each kind of load, store, atomic or packet
 *   load still read, write and fault exactly as the interpreter does; a
 *   helper sees the checked mode of the engine, a failed helper call does
 *   not fail the next run, the depth limit holds.
 * - The compiled code runs only while it fits the configuration: changing
 *   the stack size or setting a budget on code compiled without one makes
 *   runs fail until the change is undone or the program compiled again.
 * - Tail calls, which run out of line: a chain into a program whose stack
 *   area no longer fits on the C stack, a fault inside the target, then a
 *   plain run, each as the interpreter does. */
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "jit.h"
#include "frame_align.h"
#include "jit_test.h"
#include "test.h"

/* accepts everything (the built-in checks that keep execution inside the
 * program still run): programs may read registers they never set */
static int accept(void *user, const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
    (void)user, (void)insns, (void)count, (void)err;
    return 0;
}

static bpfvm_vm *make(const char *text, int jit, uint64_t budget)
{
    bpfvm_vm *vm = bpfvm_create();
    if (vm && (bpfvm_set_verifier(vm, accept, NULL, BPFVM_VERIFY_REPLACE) ||
               bpfvm_set_budget(vm, budget) || bpfvm_load_asm(vm, text, "test") ||
               (jit && bpfvm_compile(vm, 0)))) {
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}

static int run(bpfvm_vm *vm, int jit, void *mem, size_t len, uint64_t *r0, bpfvm_error *err)
{
    return (jit ? bpfvm_run_jit : bpfvm_run)(vm, mem, len, NULL, 0, r0, err);
}

#if defined(__x86_64__)
/* int runcost_call(fn, state, r10, out[6]): calls the compiled code with
 * rbx, rbp, r12..r15 holding 0x1111..0x6666 patterns and stores what they
 * hold afterwards in out[]. */
__asm__(".text\n"
        ".globl runcost_call\n"
        ".type runcost_call, @function\n"
        "runcost_call:\n"
        "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  push %rcx\n"                   /* out; rsp is now 16-byte aligned */
        "  mov %rdi, %rax\n"
        "  mov %rsi, %rdi\n"              /* state */
        "  mov %rdx, %rcx\n"              /* r10 */
        "  xor %esi, %esi\n  xor %edx, %edx\n"
        "  movabs $0x1111111111111111, %rbx\n"
        "  movabs $0x2222222222222222, %rbp\n"
        "  movabs $0x3333333333333333, %r12\n"
        "  movabs $0x4444444444444444, %r13\n"
        "  movabs $0x5555555555555555, %r14\n"
        "  movabs $0x6666666666666666, %r15\n"
        "  call *%rax\n"
        "  pop %rcx\n"
        "  mov %rbx, 0(%rcx)\n  mov %rbp, 8(%rcx)\n  mov %r12, 16(%rcx)\n"
        "  mov %r13, 24(%rcx)\n  mov %r14, 32(%rcx)\n  mov %r15, 40(%rcx)\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
        "  ret\n"
        ".size runcost_call, .-runcost_call\n");
int runcost_call(const void *fn, bpfvm__jit_state *st, uint64_t r10, uint64_t out[6]);

static void entry_keeps_host_registers(void)
{
    static const struct {
        const char *text;
        int fails;          /* ends through the fault exit (unregistered helper) ... */
        uint64_t r0;        /* ... at this instruction, else with this r0 */
    } progs[] = {
        { "mov r0, 0\nexit\n", 0, 0 },
        { "mov r6, 5\nmov r0, r6\nexit\n", 0, 5 },
        { "mov r6, 1\nmov r7, 2\nmov r8, 3\nmov r0, r6\nadd r0, r7\nadd r0, r8\nexit\n", 0, 6 },
        { "mov r6, 1\nmov r7, 2\nmov r8, 3\nmov r9, 4\nmov r0, r9\nexit\n", 0, 4 },
        { "mov r7, 9\nmov r0, r9\nadd r0, r7\nexit\n", 0, 9 },  /* r9 read, never written */
        { "mov r9, 1\nmov r6, 2\ncall 77\nexit\n", 1, 2 },
        { "mov r8, 1\ncall 77\nexit\n", 1, 1 },
    };
    static const uint64_t want[6] = { 0x1111111111111111ull, 0x2222222222222222ull,
                                      0x3333333333333333ull, 0x4444444444444444ull,
                                      0x5555555555555555ull, 0x6666666666666666ull };
    static const char *const names[6] = { "rbx", "rbp", "r12", "r13", "r14", "r15" };
    for (size_t p = 0; p < sizeof(progs) / sizeof(progs[0]); p++) {
        bpfvm_vm *vm = make(progs[p].text, 1, 0);
        CHECK(vm, "program %zu: load and compile", p);
        if (!vm)
            continue;
        static uint64_t frame[64];
        bpfvm__jit_state st;
        bpfvm_error err;
        uint64_t out[6] = { 0 };
        memset(&st, 0, sizeof(st));
        memset(&err, 0, sizeof(err));
        st.ctx.vm = vm;
        st.ctx.err = &err;
        st.r0 = 0xdead;
        int rc = runcost_call(bpfvm_jit_code(vm, NULL), &st,
                              (uint64_t)(uintptr_t)&frame[64], out);
        CHECK(rc == progs[p].fails, "program %zu: returned %d", p, rc);
        if (progs[p].fails)
            CHECK(st.rc == BPFVM_EHELPER && err.insn == (int64_t)progs[p].r0,
                  "program %zu: rc %d, insn %lld", p, st.rc, (long long)err.insn);
        else
            CHECK(st.r0 == progs[p].r0, "program %zu: r0 %llu", p, (unsigned long long)st.r0);
        for (int k = 0; k < 6; k++)
            CHECK(out[k] == want[k], "program %zu: %s was 0x%llx afterwards", p, names[k],
                  (unsigned long long)out[k]);
        bpfvm_destroy(vm);
    }
}
#endif

/* helper 1: r3 | r4 | r5, which the program never sets */
static uint64_t helper_or(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                          uint64_t e)
{
    (void)ctx, (void)a, (void)b;
    return c | d | e;
}

/* programs naming 0..4 of r6..r9 call a C helper: the entry saves an even
 * number of registers, so the helper's stack is aligned as from C */
static void helper_stack_aligned(void)
{
    static const char *const progs[] = {
        "call 2\nexit\n",
        "mov r6, 1\ncall 2\nadd r0, r6\nexit\n",
        "mov r6, 1\nmov r7, 1\ncall 2\nadd r0, r6\nexit\n",
        "mov r6, 1\nmov r7, 1\nmov r9, 1\ncall 2\nadd r0, r9\nexit\n",
        "mov r6, 1\nmov r7, 1\nmov r8, 1\nmov r9, 1\ncall 2\nadd r0, r8\nexit\n",
    };
    for (size_t p = 0; p < sizeof(progs) / sizeof(progs[0]); p++) {
        uint64_t r0[2] = { 0, 0 }, mem = 0;
        for (int jit = 0; jit < 2; jit++) {
            bpfvm_vm *vm = bpfvm_create();
            CHECK(vm && bpfvm_register_helper(vm, 2, "align", helper_align, NULL) == 0 &&
                      bpfvm_load_asm(vm, progs[p], "t") == 0 &&
                      (!jit || bpfvm_compile(vm, 0) == 0) &&
                      run(vm, jit, &mem, 8, &r0[jit], NULL) == 0,
                  "alignment program %zu, %s", p, jit ? "jit" : "interp");
            bpfvm_destroy(vm);
        }
        CHECK(r0[0] == r0[1], "alignment program %zu: interpreter %llu, jit %llu", p,
              (unsigned long long)r0[0], (unsigned long long)r0[1]);
    }
}

static void unset_registers_read_zero(int jit)
{
    static const char *const reads[] = {
        "mov r0, r3\nor r0, r4\nor r0, r5\nor r0, r6\nor r0, r7\nor r0, r8\nor r0, r9\nexit\n",
        "mov r0, r9\nexit\n",
        "mov r6, 1\nmov r0, r7\nexit\n",
    };
    for (size_t p = 0; p < sizeof(reads) / sizeof(reads[0]); p++) {
        bpfvm_vm *vm = make(reads[p], jit, 0);
        uint64_t mem = 0, r0 = 1;
        CHECK(vm && run(vm, jit, &mem, 8, &r0, NULL) == 0 && r0 == 0,
              "%s: unset registers, program %zu: r0 0x%llx", jit ? "jit" : "interp", p,
              (unsigned long long)r0);
        bpfvm_destroy(vm);
    }
    /* only the helper reads r3..r5 */
    bpfvm_vm *vm = bpfvm_create();
    uint64_t mem = 0, r0 = 1;
    CHECK(vm && bpfvm_register_helper(vm, 1, "or", helper_or, NULL) == 0 &&
              bpfvm_set_verifier(vm, accept, NULL, BPFVM_VERIFY_REPLACE) == 0 &&
              bpfvm_load_asm(vm, "call 1\nexit\n", "t") == 0 && (!jit || bpfvm_compile(vm, 0) == 0) &&
              run(vm, jit, &mem, 8, &r0, NULL) == 0 && r0 == 0,
          "%s: r3..r5 a helper sees: 0x%llx", jit ? "jit" : "interp", (unsigned long long)r0);
    bpfvm_destroy(vm);
}

/* Junk in the C stack the next run's frame will occupy (its per-run
 * state): nothing a run reads may come from there. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void dirty_stack(void)
{
    uint8_t junk[32768];
    memset(junk, 0xa5, sizeof(junk));
    __asm__ volatile("" : : "r"(junk) : "memory");
}

static void errors_after_good_runs(int jit)
{
    const char *name = jit ? "jit" : "interp";
    /* r0 = *(u32 *)(r1 + r2 - 4) + 1: a fault when r2 < 4 */
    bpfvm_vm *vm = make("mov r3, r1\nadd r3, r2\nldxw r0, [r3-4]\nadd r0, 1\nexit\n", jit, 0);
    uint32_t mem[2] = { 5, 41 };
    uint64_t r0 = 0;
    bpfvm_error err;
    CHECK(vm, "%s: load", name);
    if (!vm)
        return;
    for (int round = 0; round < 3; round++) {
        memset(&err, 0x5a, sizeof(err));
        CHECK(run(vm, jit, mem, 8, &r0, &err) == 0 && r0 == 42, "%s: good run: r0 %llu", name,
              (unsigned long long)r0);
        dirty_stack(); /* a run that fails before it starts reads nothing of the junk */
        CHECK(run(vm, jit, NULL, 8, &r0, &err) == BPFVM_EINVAL && err.code == BPFVM_EINVAL &&
                  err.insn == -1 && strstr(err.message, "NULL"),
              "%s: NULL memory with a length: %d %lld %s", name, err.code, (long long)err.insn,
              err.message);
        r0 = 7;
        CHECK(run(vm, jit, mem, 2, &r0, &err) == BPFVM_EMEMORY && err.code == BPFVM_EMEMORY &&
                  err.insn == 2 && err.size == 4 &&
                  err.addr == (uint64_t)(uintptr_t)mem - 2 && r0 == 7,
              "%s: fault: %d insn %lld addr 0x%llx size %llu r0 %llu", name, err.code,
              (long long)err.insn, (unsigned long long)err.addr, (unsigned long long)err.size,
              (unsigned long long)r0);
        /* without an error record, the detail goes to the VM */
        CHECK(run(vm, jit, mem, 2, &r0, NULL) == BPFVM_EMEMORY &&
                  bpfvm_last_error(vm)->insn == 2,
              "%s: fault into last_error", name);
    }
    bpfvm_destroy(vm);
}

static void budget_per_run(int jit)
{
    const char *name = jit ? "jit" : "interp";
    /* a loop of r1 (the input's first byte) trips of 2 instructions */
    const char *loop = "ldxb r2, [r1]\nmov r0, 0\nl:\nadd r0, 1\njlt r0, r2, l\nexit\n";
    bpfvm_vm *vm = make(loop, jit, 12);
    uint8_t mem[8] = { 4 };
    uint64_t r0 = 0;
    bpfvm_error err;
    CHECK(vm, "%s: load", name);
    if (!vm)
        return;
    memset(&err, 0, sizeof(err));
    for (int round = 0; round < 3; round++) {
        mem[0] = 4; /* 2 + 2 * 4 + 1 = 11 instructions: within 12 every time */
        CHECK(run(vm, jit, mem, 8, &r0, &err) == 0 && r0 == 4, "%s: round %d within budget",
              name, round);
        mem[0] = 10; /* a backward jump taken with the budget below 0 */
        CHECK(run(vm, jit, mem, 8, &r0, &err) == BPFVM_EBUDGET && err.insn == 3,
              "%s: round %d over budget: %d at %lld: %s", name, round, err.code, (long long)err.insn,
              err.message);
    }
    /* budget 0 on code compiled with one: unlimited; then enforced again */
    CHECK(bpfvm_set_budget(vm, 0) == 0 && run(vm, jit, mem, 8, &r0, &err) == 0 && r0 == 10,
          "%s: no budget", name);
    CHECK(bpfvm_set_budget(vm, 12) == 0 && run(vm, jit, mem, 8, &r0, &err) == BPFVM_EBUDGET,
          "%s: budget again", name);
    bpfvm_destroy(vm);
    if (jit) { /* compiled without a budget: setting one needs a new compile */
        vm = make(loop, 1, 0);
        CHECK(vm && bpfvm_set_budget(vm, 12) == 0 &&
                  run(vm, 1, mem, 8, &r0, &err) == BPFVM_EINVAL && strstr(err.message, "compile"),
              "jit: budget after compile");
        bpfvm_destroy(vm);
    }
}

static void modes(int jit)
{
    const char *name = jit ? "jit" : "interp";
    uint8_t mem[16] = { 0 }, mbuff[24] = { 0 };
    uint64_t r0;
    static const struct {
        bpfvm_mode mode;
        int reg; /* returned register */
    } cases[] = {
        { BPFVM_MODE_RAW, 1 }, { BPFVM_MODE_RAW, 2 }, { BPFVM_MODE_MBUFF, 1 },
        { BPFVM_MODE_MBUFF, 2 }, { BPFVM_MODE_NONE, 1 }, { BPFVM_MODE_NONE, 2 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        bpfvm_vm *vm = bpfvm_create();
        int ok = vm && bpfvm_set_mode(vm, cases[c].mode) == 0 &&
                 bpfvm_load_asm(vm, cases[c].reg == 1 ? "mov r0, r1\nexit\n"
                                                      : "mov r0, r2\nexit\n", "t") == 0 &&
                 (!jit || bpfvm_compile(vm, 0) == 0) &&
                 (jit ? bpfvm_run_jit : bpfvm_run)(vm, mem, sizeof(mem), mbuff, sizeof(mbuff),
                                                   &r0, NULL) == 0;
        uint64_t want = cases[c].mode == BPFVM_MODE_RAW
                            ? (cases[c].reg == 1 ? (uint64_t)(uintptr_t)mem : sizeof(mem))
                        : cases[c].mode == BPFVM_MODE_MBUFF && cases[c].reg == 1
                            ? (uint64_t)(uintptr_t)mbuff
                            : 0;
        CHECK(ok && r0 == want, "%s: mode %d r%d = 0x%llx", name, (int)cases[c].mode,
              cases[c].reg, (unsigned long long)r0);
        bpfvm_destroy(vm);
    }
    /* without input memory, mode none: mem is not accessible */
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_error err;
    const uint64_t at = (uint64_t)(uintptr_t)mem;
    char text[128];
    snprintf(text, sizeof(text), "lddw r1, 0x%llx\nldxb r0, [r1]\nexit\n", (unsigned long long)at);
    CHECK(vm && bpfvm_set_mode(vm, BPFVM_MODE_NONE) == 0 && bpfvm_load_asm(vm, text, "t") == 0 &&
              (!jit || bpfvm_compile(vm, 0) == 0) &&
              (jit ? bpfvm_run_jit : bpfvm_run)(vm, mem, sizeof(mem), NULL, 0, &r0, &err) ==
                  BPFVM_EMEMORY && err.insn == 2,
          "%s: mode none keeps mem out of reach", name);
    bpfvm_destroy(vm);
}

typedef struct outcome {
    int rc;
    int64_t insn;
    uint64_t r0;
    uint8_t mem[16];
} outcome;

static outcome run_dirty(bpfvm_vm *vm, int jit, size_t len)
{
    outcome o;
    bpfvm_error err;
    memset(&o, 0, sizeof(o));
    for (int k = 0; k < 16; k++)
        o.mem[k] = (uint8_t)(0x10 + k);
    o.r0 = 0x77;
    dirty_stack();
    o.rc = run(vm, jit, o.mem, len, &o.r0, &err);
    o.insn = o.rc ? err.insn : -1;
    return o;
}

/* Programs whose only memory access is of one kind, in bounds and out of
 * bounds (checked only; the legacy packet loads end the run with r0 = 0). */
static void state_only_as_needed(void)
{
    static const struct {
        const char *text;
        uint64_t r0;  /* in bounds (mem of 16 bytes 0x10..0x1f) */
        int oob;      /* the same at len 4: 1 an EMEMORY at instruction 1, 2 r0 = 0 */
    } progs[] = {
        { "mov r0, 0\nldxb r0, [r1+5]\nexit\n", 0x15, 1 },
        { "mov r0, 0\nstb [r1+5], 7\nldxb r0, [r1+5]\nexit\n", 7, 1 },
        { "mov r3, 9\nstxb [r1+5], r3\nmov r0, r3\nexit\n", 9, 1 },
        { "mov r3, 2\nlock add [r1+8], r3\nmov r0, 1\nexit\n", 1, 1 },
        { "mov r6, r1\nldabsb 5\nexit\n", 0x15, 2 },
        { "mov r6, r1\nmov r3, 2\nldindb r3, 3\nexit\n", 0x15, 2 },
    };
    for (size_t p = 0; p < sizeof(progs) / sizeof(progs[0]); p++) {
        bpfvm_vm *interp = make(progs[p].text, 0, 0);
        for (int checked = 1; checked >= 0; checked--) {
            bpfvm_vm *vm = bpfvm_create();
            CHECK(interp && vm && bpfvm_set_checked(vm, checked) == 0 &&
                      bpfvm_load_asm(vm, progs[p].text, "t") == 0 && bpfvm_compile(vm, 0) == 0,
                  "program %zu: load", p);
            for (int round = 0; interp && vm && round < 3; round++) {
                outcome want = run_dirty(interp, 0, 16), got = run_dirty(vm, 1, 16);
                CHECK(want.rc == 0 && want.r0 == progs[p].r0 && got.rc == 0 &&
                          got.r0 == want.r0 && !memcmp(got.mem, want.mem, 16),
                      "program %zu, %s: in bounds: rc %d r0 0x%llx (interpreter %d 0x%llx)", p,
                      checked ? "checked" : "unchecked", got.rc, (unsigned long long)got.r0,
                      want.rc, (unsigned long long)want.r0);
                if (!checked && progs[p].oob == 1)
                    continue; /* unchecked code touches the bytes after len */
                want = run_dirty(interp, 0, 4);
                got = run_dirty(vm, 1, 4);
                int ok = progs[p].oob == 1 ? want.rc == BPFVM_EMEMORY && want.insn == 1
                                           : want.rc == 0 && want.r0 == 0;
                CHECK(ok && got.rc == want.rc && got.insn == want.insn && got.r0 == want.r0 &&
                          !memcmp(got.mem, want.mem, 16),
                      "program %zu, %s: out of bounds: rc %d at %lld r0 0x%llx (interpreter "
                      "%d at %lld 0x%llx)", p, checked ? "checked" : "unchecked", got.rc,
                      (long long)got.insn, (unsigned long long)got.r0, want.rc,
                      (long long)want.insn, (unsigned long long)want.r0);
            }
            bpfvm_destroy(vm);
        }
        bpfvm_destroy(interp);
    }
}

/* helper 3: 1 if the engine lets a helper read [r1, +8); fails when r2 is 1 */
static uint64_t helper_probe(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                             uint64_t e)
{
    (void)c, (void)d, (void)e;
    if (b == 1)
        bpfvm_ctx_fail(ctx, "asked to");
    return bpfvm_ctx_access(ctx, a, 8, 0) != NULL;
}

static void helpers_and_calls_on_junk(void)
{
    /* r2 = mem[0]: the helper fails when it is 1; r0 = may it read address 16 */
    const char *text = "ldxb r2, [r1]\nmov r1, 16\ncall 3\nexit\n";
    /* interpreter, checked code, unchecked code, checked code of a VM set to
     * unchecked after the compile (its helpers check as the code does) */
    for (int e = 0; e < 4; e++) {
        bpfvm_vm *vm = bpfvm_create();
        CHECK(vm && bpfvm_set_checked(vm, e != 2) == 0 &&
                  bpfvm_register_helper(vm, 3, "probe", helper_probe, NULL) == 0 &&
                  bpfvm_load_asm(vm, text, "t") == 0 && (!e || bpfvm_compile(vm, 0) == 0) &&
                  bpfvm_set_checked(vm, e != 2 && e != 3) == 0,
              "engine %d: load", e);
        for (int round = 0; vm && round < 3; round++) {
            outcome o;
            bpfvm_error err;
            uint8_t mem[8] = { 1 };
            dirty_stack();
            int rc = run(vm, e != 0, mem, 8, &o.r0, &err);
            CHECK(rc == BPFVM_EHELPERFAIL && err.insn == 2 && strstr(err.message, "asked to"),
                  "engine %d: failing helper: %d at %lld", e, rc, (long long)err.insn);
            o = run_dirty(vm, e != 0, 16); /* mem[0] 0x10: the helper goes well */
            CHECK(o.rc == 0 && o.r0 == (e == 2), "engine %d: round %d: rc %d, address 16 %s", e,
                  round, o.rc, o.r0 ? "readable" : "refused");
        }
        bpfvm_destroy(vm);
    }
    /* local calls: within the depth limit, and past it (endless recursion) */
    const char *calls[2] = { "call local f\nexit\nf:\ncall local g\nadd r0, 1\nexit\n"
                             "g:\nmov r0, 40\nexit\n",
                             "call local f\nexit\nf:\ncall local f\nexit\n" };
    for (int e = 0; e < 2; e++) {
        bpfvm_vm *ok = make(calls[0], e, 0), *deep = make(calls[1], e, 0);
        for (int round = 0; ok && deep && round < 3; round++) {
            outcome o = run_dirty(ok, e, 16);
            CHECK(o.rc == 0 && o.r0 == 41, "engine %d: calls: rc %d r0 %llu", e, o.rc,
                  (unsigned long long)o.r0);
            o = run_dirty(deep, e, 16);
            CHECK(o.rc == BPFVM_ECALLDEPTH && o.insn == 2, "engine %d: depth: rc %d at %lld", e,
                  o.rc, (long long)o.insn);
        }
        CHECK(ok && deep, "engine %d: load the call programs", e);
        bpfvm_destroy(ok);
        bpfvm_destroy(deep);
    }
}

/* A callback (bpf_loop) of code compiled without a budget: nothing about
 * the budget may come from the junk (a negative count read as exhausted). */
static void callback_without_budget_on_junk(void)
{
    const char *text = "mov r6, 0\nstxdw [r10-8], r6\nlddw r1, 5\nlddw r2, func cb\n"
                       "mov r3, r10\nadd r3, -8\nmov r4, 0\ncall 181\nldxdw r0, [r10-8]\n"
                       "exit\ncb:\nldxdw r3, [r2]\nadd r3, r1\nstxdw [r2], r3\nmov r0, 0\n"
                       "exit\n";
    for (int e = 0; e < 2; e++) {
        bpfvm_vm *vm = bpfvm_create();
        CHECK(vm && bpfvm_register_kernel_helpers(vm) == 0 && bpfvm_load_asm(vm, text, "t") == 0 &&
                  (!e || bpfvm_compile(vm, 0) == 0),
              "engine %d: load the bpf_loop program", e);
        for (int round = 0; vm && round < 3; round++) {
            outcome o = run_dirty(vm, e, 16); /* the callback sums 0..4 at r10-8 */
            CHECK(o.rc == 0 && o.r0 == 10, "engine %d: round %d: bpf_loop: rc %d r0 %llu", e,
                  round, o.rc, (unsigned long long)o.r0);
        }
        bpfvm_destroy(vm);
    }
}

static void code_fits_configuration(void)
{
    bpfvm_vm *vm = make("mov r0, 3\nexit\n", 1, 0);
    uint64_t r0 = 0, mem = 0;
    bpfvm_error err;
    CHECK(vm && run(vm, 1, &mem, 8, &r0, &err) == 0 && r0 == 3, "compiled: runs");
    if (!vm)
        return;
    CHECK(bpfvm_set_stack_size(vm, 1024) == 0 && run(vm, 1, &mem, 8, &r0, &err) == BPFVM_EINVAL &&
              strstr(err.message, "compile again"),
          "another stack size: %s", err.message);
    CHECK(bpfvm_set_stack_size(vm, 512) == 0 && run(vm, 1, &mem, 8, &r0, &err) == 0,
          "the stack size back: runs");
    CHECK(bpfvm_set_budget(vm, 100) == 0 && run(vm, 1, &mem, 8, &r0, &err) == BPFVM_EINVAL,
          "a budget on code compiled without one");
    CHECK(bpfvm_set_budget(vm, 0) == 0 && run(vm, 1, &mem, 8, &r0, &err) == 0,
          "the budget removed: runs");
    CHECK(bpfvm_set_budget(vm, 100) == 0 && bpfvm_compile(vm, 0) == 0 &&
              run(vm, 1, &mem, 8, &r0, &err) == 0 && r0 == 3,
          "compiled again with the budget: runs");
    CHECK(bpfvm_set_budget(vm, 0) == 0 && run(vm, 1, &mem, 8, &r0, &err) == 0,
          "metered code without a budget: runs");
    CHECK(bpfvm_load_asm(vm, "mov r0, 4\nexit\n", "t") == 0 &&
              run(vm, 1, &mem, 8, &r0, &err) == BPFVM_ENOJIT,
          "a new program drops the code");
    bpfvm_destroy(vm);
}

/* program 0 tail-calls slot 0 of a program array with r1 + 1: program 1,
 * whose stack area (16 frames of 4096 bytes) does not fit on the C stack,
 * writes and reads a byte of its frame, then returns it plus r1[r1[0]]
 * (faults when out of the input) */
static void tail_calls_out_of_line(void)
{
    bpfvm_map *progs = prog_array();
    bpfvm_error err;
    if (!progs)
        return;
    for (int jit = 0; jit < 2; jit++) {
        bpfvm_vm *first = bpfvm_create(), *target = bpfvm_create();
        static const bpfvm_insn p0[] = {
            BPFVM_ALU64_IMM(BPFVM_ADD, 1, 1), BPFVM_LD_MAP_FD(2, 0), BPFVM_MOV64_IMM(3, 0),
            BPFVM_CALL_HELPER(12),
            BPFVM_MOV64_IMM(0, 99), BPFVM_EXIT(),
        };
        const char *p1 = "mov r2, 5\nstxb [r10-4096], r2\nldxb r0, [r10-4096]\n"
                         "ldxb r3, [r1]\nadd r1, r3\nldxb r3, [r1]\nadd r0, r3\nexit\n";
        CHECK(first && target && bpfvm_register_kernel_helpers(first) == 0 &&
                  bpfvm_load_maps(first, p0, sizeof(p0), &progs, 1) == 0 &&
                  bpfvm_set_stack_size(target, 4096) == 0 &&
                  bpfvm_set_call_depth(target, 15) == 0 && bpfvm_load_asm(target, p1, "t") == 0 &&
                  (!jit || (bpfvm_compile(first, 0) == 0 && bpfvm_compile(target, 0) == 0)) &&
                  bpfvm_prog_array_set(progs, 0, target) == 0,
              "%s: load the tail-call pair: %s", jit ? "jit" : "interp",
              bpfvm_last_error(first)->message);
        for (int round = 0; first && target && round < 3; round++) {
            uint8_t mem[32] = { 0, 3, 0, 0, 30 };
            uint64_t r0 = 0;
            int rc = run(first, jit, mem, 32, &r0, &err);
            CHECK(rc == 0 && r0 == 35, "%s: tail call: %d r0 %llu", jit ? "jit" : "interp", rc,
                  (unsigned long long)r0);
            mem[1] = 40;
            rc = run(first, jit, mem, 32, &r0, &err);
            CHECK(rc == BPFVM_EMEMORY && err.insn == 5, "%s: fault in the target: %d at %lld",
                  jit ? "jit" : "interp", rc, (long long)err.insn);
            outcome o = run_dirty(target, jit, 16); /* mem[0] 0x10: reads mem[16], a fault */
            CHECK(o.rc == BPFVM_EMEMORY && o.insn == 5, "%s: the target alone: %d at %lld",
                  jit ? "jit" : "interp", o.rc, (long long)o.insn);
        }
        uint32_t slot = 0;
        bpfvm_map_delete(progs, &slot);
        bpfvm_destroy(first);
        bpfvm_destroy(target);
    }
    bpfvm_map_unref(progs);
}

int main(void)
{
#if defined(__x86_64__)
    entry_keeps_host_registers();
#endif
    helper_stack_aligned();
    for (int jit = 0; jit < 2; jit++) {
        unset_registers_read_zero(jit);
        errors_after_good_runs(jit);
        budget_per_run(jit);
        modes(jit);
    }
    state_only_as_needed();
    helpers_and_calls_on_junk();
    callback_without_budget_on_junk();
    code_fits_configuration();
    tail_calls_out_of_line();
    return TEST_END();
}
