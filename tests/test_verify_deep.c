/* test_verify_deep.c - the verifier's control-flow and data-flow checks: a
 * table of programs (assembly text), each accepted or rejected with the
 * expected message and instruction index, checked through bpfvm_verify and
 * bpfvm_load; the user's verifier hook around them; and every program of the
 * clang-built objects (<build>/elf, <build>/examples, <build>/bench), which
 * must be accepted. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"
#include "../tools/tool_util.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum { STD_HELPERS = 1 }; /* case flags */

typedef struct dcase {
    const char *name;
    const char *text;   /* the program, assembly */
    const char *msg;    /* NULL: accepted; else a substring of the first problem */
    int64_t insn;       /* index of the first problem */
    const char *also;   /* NULL or a substring of a later problem */
    unsigned flags;
    size_t stack;       /* 0: default frame size */
} dcase;

#define OK(name, text)                   { name, text, NULL, -1, NULL, 0, 0 }
#define OKX(name, text, flags, stack)    { name, text, NULL, -1, NULL, flags, stack }
#define BAD(name, text, msg, at)         { name, text, msg, at, NULL, 0, 0 }
#define BADX(name, text, msg, at, also, flags, stack) { name, text, msg, at, also, flags, stack }

static const dcase cases[] = {
    /* ---- accepted ---------------------------------------------------- */
    OK("r0 set before exit", "mov r0, 0\nexit\n"),
    OK("r0 set on both paths",
       "jeq r1, 0, +2\nmov r0, 1\nexit\nmov r0, 2\nexit\n"),
    OK("r1 and r10 at entry", "mov r0, r1\nadd r0, r10\nexit\n"),
    OK("r2 at entry (raw mode passes the length there)", "mov r0, r2\nexit\n"),
    OK("loop with a counter",
       "mov r0, 0\nmov r1, 10\nloop:\nadd r0, r1\nsub r1, 1\njne r1, 0, loop\nexit\n"),
    OK("a callee reads its arguments r1-r5",
       "mov r1, 1\nmov r2, 2\nmov r3, 3\nmov r4, 4\nmov r5, 5\ncall local f\nexit\n"
       "f:\nmov r0, r1\nadd r0, r2\nadd r0, r3\nadd r0, r4\nadd r0, r5\nexit\n"),
    OK("r6-r9 survive a local call",
       "mov r6, 1\nmov r9, 2\ncall local f\nmov r0, r6\nadd r0, r9\nexit\nf:\nmov r0, 0\nexit\n"),
    OK("r6 survives a helper call, r0 is its result",
       "mov r6, 7\ncall 5\nadd r0, r6\nexit\n"),
    OK("r1 written again after a call", "call 5\nmov r1, 2\nadd r0, r1\nexit\n"),
    OK("recursion into the entry function",
       "mov r0, 0\njeq r1, 0, +2\nmov r1, 0\ncall pc-4\nexit\n"),
    OK("a loop back to the start of a callee",
       "mov r1, 3\ncall local f\nexit\nf:\nsub r1, 1\njne r1, 0, f\nmov r0, 0\nexit\n"),
    OK("two callees, one called by the other",
       "call local f\nexit\nf:\ncall local g\nadd r0, 1\nexit\ng:\nmov r0, 1\nexit\n"),
    OK("a fetching atomic writes its source register",
       "stdw [r10-8], 5\nmov r2, 1\nlock fetch add [r10-8], r2\nmov r0, r2\nexit\n"),
    OK("cmpxchg reads and writes r0",
       "stdw [r10-8], 5\nmov r0, 5\nmov r2, 1\nlock cmpxchg [r10-8], r2\nexit\n"),
    OK("ldabs writes r0", "ldabsw 0\nexit\n"),
    OK("ldind reads its source register", "ldindb r1, 0\nexit\n"),
    OK("lddw writes its destination", "lddw r0, 0x100000000\nexit\n"),
    OK("stack frame bounds [r10-512, r10)",
       "stdw [r10-512], 1\nstb [r10-1], 2\nldxdw r0, [r10-8]\nexit\n"),
    OKX("a 1024-byte frame allows r10-1024", "ldxdw r0, [r10-1024]\nexit\n", 0, 1024),
    OK("no helper registered: any helper id", "call 123456\nexit\n"),
    OKX("a registered helper", "call 5\nexit\n", STD_HELPERS, 0),
    OKX("callx: the id is known only at run time", "mov r3, 77777\ncallx r3\nexit\n",
        STD_HELPERS, 0),
    OK("a jump over code that another path reaches",
       "mov r0, 1\njeq r1, 0, +1\nja +1\nmov r0, 2\nexit\n"),
    OK("a program that ends with a backward ja",
       "mov r0, 0\nloop:\nadd r0, 1\njgt r0, 9, out\nja loop\nout:\nexit\n"),

    /* ---- registers read before they are written on every path ---------- */
    BAD("exit only", "exit\n", "exit with r0 not written on every path", 0),
    BAD("r0 set on one path only", "jeq r1, 0, +1\nmov r0, 1\nexit\n", "exit with r0", 2),
    BAD("source never written", "mov r0, 1\nadd r0, r3\nexit\n", "reads r3, which is not written",
        1),
    OK("a copy of a register never written, never used", "mov r4, r3\nmov r0, 0\nexit\n"),
    BAD("exit with a copy of a register never written", "mov r0, r3\nexit\n",
        "exit with r0, a copy of a register that is not written on every path to it", 1),
    BAD("a copy of a copy, used", "mov r4, r3\nmov r5, r4\nmov r0, 0\nadd r0, r5\nexit\n",
        "reads r5, a copy of a register that is not written on every path to it", 3),
    OK("a copy written over before its use",
       "mov r4, r3\nmov r4, 2\nmov r0, r4\nexit\n"),
    BAD("read-modify-write of an unset register", "add r0, 1\nexit\n", "reads r0", 0),
    BAD("neg of an unset register", "mov r0, 0\nneg r4\nexit\n", "reads r4", 1),
    BAD("byte swap of an unset register", "mov r0, 0\nbe16 r5\nexit\n", "reads r5", 1),
    BAD("stored value never written", "mov r0, 0\nstxdw [r10-8], r4\nexit\n", "reads r4", 1),
    BAD("base address never written", "ldxdw r0, [r6+0]\nexit\n", "reads r6", 0),
    BAD("store through an unset base", "mov r0, 0\nstb [r7+0], 1\nexit\n", "reads r7", 1),
    BAD("jump compares an unset register", "mov r0, 0\njeq r8, 0, +0\nexit\n", "reads r8", 1),
    BAD("jump compares with an unset register", "mov r0, 0\njgt r1, r9, +0\nexit\n",
        "reads r9", 1),
    BAD("callx of an unset register", "callx r3\nexit\n", "reads r3", 0),
    BAD("ldind through an unset register", "ldindw r3, 0\nexit\n", "reads r3", 0),
    BAD("atomic with an unset source", "mov r0, 0\nlock add [r10-8], r6\nexit\n", "reads r6", 1),
    BAD("cmpxchg with r0 unset", "mov r1, 1\nlock cmpxchg [r10-8], r1\nexit\n", "reads r0", 1),
    BAD("r1 after a helper call", "call 5\nadd r0, r1\nexit\n",
        "reads r1 after a call clobbered it", 1),
    BAD("r5 after a local call",
        "call local f\nadd r0, r5\nexit\nf:\nmov r0, 0\nexit\n",
        "reads r5 after a call clobbered it", 1),
    BAD("r3 after callx", "mov r2, 5\ncallx r2\nadd r0, r3\nexit\n",
        "reads r3 after a call clobbered it", 2),
    BAD("r2 after a call on one path only",
        "mov r0, 0\njeq r1, 0, +1\ncall 5\nadd r0, r2\nexit\n", "reads r2 after a call", 3),
    BAD("r0 at a callee's entry", "call local f\nexit\nf:\nadd r0, 1\nexit\n", "reads r0", 2),
    BAD("r6 at a callee's entry", "call local f\nexit\nf:\nmov r0, 1\nadd r0, r6\nexit\n",
        "reads r6", 3),
    BAD("the entry's exit after a call that returns nothing",
        "mov r0, 1\ncall local f\nexit\nf:\nexit\n",
        "exit with r0, which the call at 1 may have left unset (the function at 3 does not "
        "write r0 on every path to its exit)", 2),
    BAD("r3 at entry", "mov r0, 0\nadd r0, r3\nexit\n", "reads r3", 1),
    BAD("a loop that sets r0 only after its first test",
        "loop:\njeq r1, 0, out\nmov r0, 1\nsub r1, 1\nja loop\nout:\nexit\n", "exit with r0", 4),

    /* ---- functions that return nothing (void) -------------------------- */
    OK("a callee may exit without r0", "mov r0, 1\ncall local f\nmov r0, 2\nexit\nf:\nexit\n"),
    OK("a callee writes r0 on one path only; the caller does not read it",
       "call local f\nmov r0, 0\nexit\nf:\njeq r1, 0, +1\nmov r0, 1\nexit\n"),
    OK("r0 from a callee that writes it on every path",
       "call local f\nadd r0, 1\nexit\nf:\njeq r1, 0, +2\nmov r0, 1\nexit\nmov r0, 2\nexit\n"),
    OK("a void callee that calls a function returning a value",
       "call local f\nmov r0, 0\nexit\nf:\ncall local g\nexit\ng:\nmov r0, 1\nexit\n"),
    OK("r0 from a callee whose callee returns a value",
       "call local f\nexit\nf:\ncall local g\nexit\ng:\nmov r0, 1\nexit\n"),
    OK("r0 from a recursive function whose base case writes r0",
       "mov r1, 3\ncall local f\nexit\n"
       "f:\nmov r0, 0\njeq r1, 0, +2\nsub r1, 1\ncall local f\nexit\n"),
    OK("mutual recursion that writes r0 on every path",
       "mov r1, 4\ncall local f\nexit\n"
       "f:\nmov r0, 1\njeq r1, 0, +2\nsub r1, 1\ncall local g\nexit\n"
       "g:\nsub r1, 1\ncall local f\nexit\n"),
    OK("a callee reads the arguments every call passes",
       "mov r1, 1\nmov r2, 2\ncall local f\nmov r1, 3\nmov r2, 4\ncall local f\nexit\n"
       "f:\nmov r0, r1\nadd r0, r2\nexit\n"),
    BAD("r0 read after a call of a function that may not write it",
        "call local f\nadd r0, 1\nexit\nf:\njeq r1, 0, +1\nmov r0, 1\nexit\n",
        "reads r0, which the call at 0 may have left unset (the function at 3", 1),
    BAD("r0 through a chain: the inner function returns nothing",
        "call local f\nexit\nf:\ncall local g\nexit\ng:\nexit\n",
        "exit with r0, which the call at 0 may have left unset (the function at 2", 1),
    BADX("recursion whose base case returns nothing",
         "mov r1, 3\ncall local f\nexit\n"
         "f:\njeq r1, 0, +3\nsub r1, 1\ncall local f\nadd r0, 1\nexit\n",
         "exit with r0, which the call at 1 may have left unset (the function at 3", 2,
         "instruction 6: reads r0, which the call at 5 may have left unset", 0, 0),
    BAD("mutual recursion with an exit without r0",
        "mov r1, 4\ncall local f\nexit\n"
        "f:\njeq r1, 0, +2\nsub r1, 1\ncall local g\nexit\n"
        "g:\nsub r1, 1\ncall local f\nmov r0, r0\nexit\n",
        "exit with r0, which the call at 1 may have left unset", 2),
    BAD("r0 unset on the path through a void call only",
        "mov r0, 0\njeq r1, 0, +1\ncall local f\nexit\nf:\nexit\n",
        "exit with r0, which the call at 2 may have left unset", 3),
    BAD("an argument one call does not pass",
        "mov r1, 1\nmov r2, 2\ncall local f\nmov r1, 3\ncall local f\nexit\n"
        "f:\nmov r0, r1\nadd r0, r2\nexit\n",
        "reads r2 after a call clobbered it", 7),

    /* ---- unreachable code -------------------------------------------- */
    BAD("one instruction skipped by ja", "mov r0, 0\nja +1\nmov r0, 1\nexit\n",
        "unreachable instruction", 2),
    BAD("code after exit", "mov r0, 0\nexit\nmov r0, 1\nexit\n",
        "unreachable instructions (2 to 3)", 2),
    BAD("lddw in dead code counts as one instruction", "mov r0, 0\nexit\nlddw r0, 1\nexit\n",
        "unreachable instructions (2 to 4)", 2),
    BAD("a function called only from dead code",
        "mov r0, 0\nexit\ncall local f\nexit\nf:\nmov r0, 1\nexit\n",
        "unreachable instructions (2 to 5)", 2),
    BADX("two dead runs, each reported",
         "mov r0, 0\nja +1\nmov r0, 1\njeq r1, 0, +2\nexit\nmov r0, 2\nexit\n",
         "unreachable instruction", 2, "instruction 5: unreachable instruction", 0, 0),

    /* ---- functions ---------------------------------------------------- */
    BAD("a jump from main into a callee",
        "mov r0, 0\ncall local f\njeq r0, 1, g\nexit\nf:\nmov r0, 1\ng:\nexit\n",
        "jump target 5 is in another function (the one at 4)", 2),
    BAD("a jump from a callee back into main",
        "mov r0, 0\ncall local f\nback:\nexit\nf:\nmov r0, 1\nja back\n",
        "jump target 2 is in another function (the one at 0)", 4),
    BADX("a call into the middle of code",
         "mov r0, 1\ncall local f\nmov r0, 2\nf:\nexit\n",
         "call target 3 is not the start of a function: instruction 2 runs into it", 1,
         "instruction 2: execution falls off the end of the function into the function at 3",
         0, 0),
    BADX("a call into a loop body",
         "mov r0, 0\nmov r1, 4\ntop:\nsub r1, 1\nmid:\nadd r0, 1\njne r1, 0, top\n"
         "call local mid\nexit\n",
         "falls off the end of the function into the function at 3", 2,
         "instruction 5: call target 3 is not the start of a function", 0, 0),
    BAD("a call to the instruction after the call",
        "call local f\nf:\nmov r0, 0\nexit\n",
        "call target 1 is not the start of a function: instruction 0 runs into it", 0),
    BADX("a conditional jump falls into the next function",
         "mov r0, 0\ncall local f\ncall local g\nexit\nf:\nmov r0, 1\njeq r1, 0, f\n"
         "g:\nmov r0, 2\nexit\n",
         "call target 6 is not the start of a function: instruction 5 runs into it", 2,
         "instruction 5: execution falls off the end of the function into the function at 6",
         0, 0),
    BAD("a jump to the start of another function",
        "mov r0, 0\ncall local f\ncall local g\nexit\nf:\nmov r0, 1\njeq r1, 0, g\nexit\n"
        "g:\nmov r0, 2\nexit\n",
        "jump target 7 is in another function (the one at 7)", 5),

    /* ---- the stack frame ---------------------------------------------- */
    BAD("below the frame", "ldxb r0, [r10-513]\nexit\n",
        "stack access at r10-513 (1 bytes) is outside the frame [r10-512, r10)", 0),
    BAD("at r10 itself", "mov r0, 0\nstb [r10+0], 1\nexit\n", "stack access at r10+0", 1),
    BAD("above r10", "mov r0, 0\nldxw r0, [r10+8]\nexit\n", "stack access at r10+8", 1),
    BAD("a word straddling the top", "mov r0, 0\nstw [r10-2], 1\nexit\n",
        "stack access at r10-2 (4 bytes)", 1),
    BAD("a double word straddling the bottom", "mov r0, 0\nstdw [r10-516], 1\nexit\n",
        "stack access at r10-516 (8 bytes)", 1),
    BAD("an atomic outside the frame", "mov r0, 0\nmov r1, 1\nlock add [r10-520], r1\nexit\n",
        "stack access at r10-520", 2),
    BAD("a store of a register outside the frame", "mov r0, 0\nstxdw [r10+0], r0\nexit\n",
        "stack access at r10+0", 1),
    BADX("a 64-byte frame", "ldxb r0, [r10-65]\nexit\n",
         "stack access at r10-65 (1 bytes) is outside the frame [r10-64, r10)", 0, NULL, 0, 64),

    /* ---- helpers ------------------------------------------------------ */
    BADX("an unregistered helper when helpers are registered", "call 77\nexit\n",
         "unknown helper 77", 0, NULL, STD_HELPERS, 0),
    BADX("a negative helper id", "call -1\nexit\n", "unknown helper 4294967295", 0, NULL,
         STD_HELPERS, 0),

    /* ---- every problem, in order --------------------------------------- */
    BADX("several problems",
         "mov r0, 0\nadd r0, r3\nldxb r1, [r10+1]\nexit\nmov r0, 1\nexit\n",
         "reads r3", 1, "instruction 4: unreachable instructions (4 to 5)", 0, 0),
};

typedef struct reports {
    size_t n;
    int64_t last_insn;
    int ordered;     /* each problem's index >= the previous one's */
    const char *also;
    int also_seen;
} reports;

static void collect(void *user, const bpfvm_error *e)
{
    reports *r = user;
    if (r->n++ && e->insn < r->last_insn)
        r->ordered = 0;
    r->last_insn = e->insn;
    if (r->also && strstr(e->message, r->also))
        r->also_seen = 1;
}

static bpfvm_vm *vm_for(const dcase *c)
{
    bpfvm_vm *vm = bpfvm_create();
    if (!vm)
        return NULL;
    if (c->flags & STD_HELPERS)
        bpfvm_register_std_helpers(vm);
    if (c->stack)
        bpfvm_set_stack_size(vm, c->stack);
    return vm;
}

static void test_table(void)
{
    size_t accepted = 0, rejected = 0;
    for (size_t i = 0; i < COUNT(cases); i++) {
        const dcase *c = &cases[i];
        bpfvm_insn *prog = NULL;
        size_t n = 0;
        bpfvm_error err, first;
        int rc = bpfvm_asm(c->text, c->name, &prog, &n, &err);
        CHECK(rc == 0, "%s: assembles: %s", c->name, err.message);
        if (rc)
            continue;
        bpfvm_vm *vm = vm_for(c);
        reports r = { 0, 0, 1, c->also, 0 };
        /* with the VM's configuration (or none: 512-byte frame, no helpers) */
        const bpfvm_vm *cfg = (c->flags || c->stack) ? vm : NULL;
        rc = bpfvm_verify(cfg, prog, n, collect, &r, &first);
        if (!c->msg) {
            CHECK(rc == 0 && r.n == 0, "%s: accepted expected, got %d: %s", c->name, rc,
                  rc ? first.message : "");
            accepted++;
        } else {
            CHECK(rc == BPFVM_EVERIFY && first.code == BPFVM_EVERIFY && first.insn == c->insn &&
                      strstr(first.message, c->msg) != NULL,
                  "%s: want '%s' at %lld, got rc %d at %lld: %s", c->name, c->msg,
                  (long long)c->insn, rc, (long long)first.insn, first.message);
            CHECK(r.ordered, "%s: problems reported in instruction order", c->name);
            CHECK(!c->also || r.also_seen, "%s: also reports '%s'", c->name, c->also);
            rejected++;
        }
        /* bpfvm_load agrees and names the same instruction */
        int lrc = bpfvm_load(vm, prog, n * sizeof(*prog));
        const bpfvm_error *le = bpfvm_last_error(vm);
        CHECK(c->msg ? lrc == BPFVM_EVERIFY && le->insn == c->insn && strstr(le->message, c->msg)
                     : lrc == 0,
              "%s: load rc %d: %s", c->name, lrc, le->message);
        bpfvm_destroy(vm);
        free(prog);
    }
    printf("table: %zu accepted, %zu rejected\n", accepted, rejected);
}

/* ---- the user's verifier hook ------------------------------------------ */

static int hook_calls;

static int reject_all(void *user, const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
    (void)user, (void)insns;
    hook_calls++;
    err->insn = (int64_t)count - 1;
    snprintf(err->message, sizeof(err->message), "the hook says no");
    return 1;
}

static int accept_all(void *user, const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
    (void)user, (void)insns, (void)count, (void)err;
    hook_calls++;
    return 0;
}

static void test_hook(void)
{
    bpfvm_insn *good = NULL, *dead = NULL;
    size_t ngood = 0, ndead = 0;
    bpfvm_error err;
    CHECK(bpfvm_asm("mov r0, 7\nexit\n", "good", &good, &ngood, &err) == 0, "asm good");
    CHECK(bpfvm_asm("mov r0, 7\nexit\nmov r0, 8\nexit\n", "dead", &dead, &ndead, &err) == 0,
          "asm dead");
    bpfvm_vm *vm = bpfvm_create();
    uint64_t r0 = 0;

    /* after the built-in verifier: runs on what it accepts */
    bpfvm_set_verifier(vm, reject_all, NULL, BPFVM_VERIFY_AFTER);
    hook_calls = 0;
    CHECK(bpfvm_load(vm, good, ngood * sizeof(*good)) == BPFVM_EVERIFY &&
              strstr(bpfvm_last_error(vm)->message, "the hook says no") &&
              bpfvm_last_error(vm)->insn == 1 && hook_calls == 1,
          "hook rejects: %s", bpfvm_last_error(vm)->message);
    /* ... and is not asked about what the built-in verifier rejects */
    hook_calls = 0;
    CHECK(bpfvm_load(vm, dead, ndead * sizeof(*dead)) == BPFVM_EVERIFY &&
              strstr(bpfvm_last_error(vm)->message, "unreachable") && hook_calls == 0,
          "built-in first: %s", bpfvm_last_error(vm)->message);
    bpfvm_set_verifier(vm, accept_all, NULL, BPFVM_VERIFY_AFTER);
    CHECK(bpfvm_load(vm, good, ngood * sizeof(*good)) == 0 &&
              bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 7,
          "hook accepts: %s", bpfvm_last_error(vm)->message);

    /* replacing the built-in verifier: the hook alone decides, so dead code
     * loads and runs */
    bpfvm_set_verifier(vm, accept_all, NULL, BPFVM_VERIFY_REPLACE);
    hook_calls = 0;
    CHECK(bpfvm_load(vm, dead, ndead * sizeof(*dead)) == 0 && hook_calls == 1 &&
              bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 7,
          "replaced: %s", bpfvm_last_error(vm)->message);
    bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
    bpfvm_insn unset[] = { BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 1), BPFVM_EXIT() };
    CHECK(bpfvm_load(vm, unset, sizeof(unset)) == 0, "no verification: %s",
          bpfvm_last_error(vm)->message);
    bpfvm_destroy(vm);
    free(good);
    free(dead);
}

/* ---- helpers: known only when registered ------------------------------- */

static uint64_t h_one(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    (void)ctx, (void)a, (void)b, (void)c, (void)d, (void)e;
    return 1;
}

static void test_helpers(void)
{
    bpfvm_insn prog[] = { BPFVM_CALL_HELPER(500), BPFVM_EXIT() };
    bpfvm_vm *vm = bpfvm_create();
    uint64_t r0 = 0;
    /* none registered yet: loads, and the call fails at run time */
    CHECK(bpfvm_load(vm, prog, sizeof(prog)) == 0, "no helpers: not checked");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EHELPER, "unknown at run time");
    /* registered after loading: the loaded program calls it */
    bpfvm_register_helper(vm, 500, "one", h_one, NULL);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 1, "registered later");
    CHECK(bpfvm_load(vm, prog, sizeof(prog)) == 0, "registered: accepted");
    /* another id, now that the registry is known */
    prog[0] = BPFVM_CALL_HELPER(501);
    CHECK(bpfvm_load(vm, prog, sizeof(prog)) == BPFVM_EVERIFY &&
              strstr(bpfvm_last_error(vm)->message, "unknown helper 501") &&
              bpfvm_last_error(vm)->insn == 0,
          "unregistered: %s", bpfvm_last_error(vm)->message);
    bpfvm_error first;
    CHECK(bpfvm_verify(NULL, prog, 2, NULL, NULL, &first) == 0, "no VM: not checked");
    bpfvm_destroy(vm);
}

/* ---- bounded work on large programs ------------------------------------ */

/* Overlapping backward jumps and forward jumps that skip the writes of
 * r7-r9 make the data flow revisit blocks; it must still converge (each
 * block's state only shrinks). */
static void test_large(void)
{
    size_t n = 200000, k = 0;
    bpfvm_insn *p = calloc(n, sizeof(*p));
    CHECK(p != NULL, "calloc");
    if (!p)
        return;
    p[k++] = BPFVM_MOV64_IMM(BPFVM_R0, 0);
    p[k++] = BPFVM_MOV64_IMM(BPFVM_R6, 0);
    while (k + 8 < n) {
        /* a block that sets r7..r9 after a backward jump to the top */
        p[k++] = BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R6, 1);
        p[k] = BPFVM_JMP_IMM(BPFVM_JGT, BPFVM_R6, 1000, (int16_t)(1 + k % 3));
        k++;
        p[k++] = BPFVM_MOV64_IMM(BPFVM_R7, 1);
        p[k++] = BPFVM_MOV64_IMM(BPFVM_R8, 1);
        p[k++] = BPFVM_MOV64_IMM(BPFVM_R9, 1);
        size_t back = k % 4000 + 1 < k ? k % 4000 + 1 : k; /* to a slot at or after 0 */
        p[k] = BPFVM_JMP_IMM(BPFVM_JLT, BPFVM_R6, 3, -(int16_t)back);
        k++;
    }
    while (k + 1 < n)
        p[k++] = BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R0, 1);
    p[k++] = BPFVM_EXIT();
    bpfvm_error first;
    int rc = bpfvm_verify(NULL, p, n, NULL, NULL, &first);
    CHECK(rc == 0, "large program with loops: %s", rc ? first.message : "");
    /* reading r7 at the end is rejected: not set on the path that skips it */
    p[n - 2] = BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R7);
    rc = bpfvm_verify(NULL, p, n, NULL, NULL, &first);
    CHECK(rc == BPFVM_EVERIFY && first.insn == (int64_t)n - 2 && strstr(first.message, "r7"),
          "large program, r7 unset on a path: %s", first.message);
    free(p);
}

/* ---- real clang output ------------------------------------------------- */

typedef struct progs {
    char section[16][64];
    char function[16][64];
    size_t n;
} progs;

static void list_prog(void *user, const char *section, const char *function, size_t count)
{
    progs *p = user;
    (void)count;
    if (p->n < 16) {
        snprintf(p->section[p->n], sizeof(p->section[0]), "%s", section);
        snprintf(p->function[p->n], sizeof(p->function[0]), "%s", function);
        p->n++;
    }
}

static uint64_t h_any(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    (void)ctx;
    return a + b + c + d + e;
}

/* Every program of every BPF object in dir: loading never fails in the
 * verifier, and the linked program verifies on its own too. Returns the
 * number of programs accepted. */
static size_t check_objects(const char *dir)
{
    size_t accepted = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name), len;
        char path[1024];
        if (nl < 3 || strcmp(e->d_name + nl - 2, ".o") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unsigned char *data = tool_read_file(path, &len);
        /* ELF for the BPF machine (e_machine 247) only */
        if (!data || len < 20 || memcmp(data, "\177ELF", 4) != 0 || data[18] != 247) {
            free(data);
            continue;
        }
        progs p = { .n = 0 };
        CHECK(bpfvm_elf_programs(data, len, list_prog, &p, NULL) == 0, "%s: list", path);
        for (size_t i = 0; i < p.n; i++) {
            bpfvm_vm *vm = bpfvm_create();
            bpfvm_register_std_helpers(vm);
            bpfvm_register_helper(vm, 77, NULL, h_any, NULL);
            bpfvm_register_helper(vm, 100, "host_mul", h_any, NULL);
            bpfvm_register_helper(vm, 3000, "host_checksum", h_any, NULL);
            const char *fn = p.function[i][0] ? p.function[i] : NULL;
            int rc = bpfvm_load_elf(vm, data, len, p.section[i], fn);
            /* maps and unresolvable extern helpers are the loader's refusals */
            CHECK(rc == 0 || rc == BPFVM_EUNSUPPORTED || rc == BPFVM_EHELPER,
                  "%s %s %s: %s", path, p.section[i], p.function[i],
                  bpfvm_last_error(vm)->message);
            if (rc == 0) {
                size_t n;
                const bpfvm_insn *insns = bpfvm_program(vm, &n);
                bpfvm_error first;
                CHECK(bpfvm_verify(NULL, insns, n, NULL, NULL, &first) == 0, "%s %s: %s", path,
                      p.function[i], first.message);
                accepted++;
            }
            bpfvm_destroy(vm);
        }
        free(data);
    }
    closedir(d);
    return accepted;
}

static void test_clang_output(const char *argv0)
{
    /* this binary is <build>/tests/test_verify_deep */
    const char *slash = strrchr(argv0, '/');
    int dirlen = slash ? (int)(slash - argv0) : 1;
    static const char *const dirs[] = { "elf", "examples", "bench" };
    size_t total = 0;
    for (size_t i = 0; i < COUNT(dirs); i++) {
        char dir[600];
        snprintf(dir, sizeof(dir), "%.*s/../%s", dirlen, slash ? argv0 : ".", dirs[i]);
        size_t n = check_objects(dir);
        printf("clang output in %s: %zu programs accepted\n", dir, n);
        total += n;
    }
    if (total == 0)
        printf("skipped: no BPF objects (clang not found at build time)\n");
}

/* bpfvm_elf_programs: the programs of an object, without the static helpers
 * (which verified alone as entries would need r0 they need not write). */
static void test_programs_list(const char *argv0)
{
    static const struct {
        const char *obj, *want;
    } objs[] = {
        { "multi.o", ".text text_fn, prog_a prog_a_fn, prog_b prog_b_fn, "
                     "tracepoint/sched/sched_switch tp, pair pair_one, pair pair_two, "
                     "chain chain_h2, chain chain_main, " },
        { "voidfn.o", "prog entry, " },
        { "rawasm.o", "rawprog , " },
    };
    const char *slash = strrchr(argv0, '/');
    int dirlen = slash ? (int)(slash - argv0) : 1;
    for (size_t o = 0; o < COUNT(objs); o++) {
        char path[700], got[1024] = "";
        size_t len;
        snprintf(path, sizeof(path), "%.*s/../elf/%s", dirlen, slash ? argv0 : ".", objs[o].obj);
        unsigned char *data = tool_read_file(path, &len);
        if (!data)
            continue;
        progs p = { .n = 0 };
        CHECK(bpfvm_elf_programs(data, len, list_prog, &p, NULL) == 0, "%s: list", path);
        for (size_t i = 0; i < p.n; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s %s, ", p.section[i],
                     p.function[i]);
        CHECK(strcmp(got, objs[o].want) == 0, "%s: programs '%s', want '%s'", path, got,
              objs[o].want);
        free(data);
    }
    bpfvm_error err;
    CHECK(bpfvm_elf_programs("nope", 4, list_prog, NULL, &err) == BPFVM_EELF, "not ELF");
}

/* ---- functions returning void, compiled by clang ------------------------ */

/* tests/elf/voidfn.c compiled natively: the expected results. */
unsigned long entry(unsigned *a);
#include "elf/voidfn.c"

/* Every build of voidfn.c (the reproducer) loads, and both engines
 * give the native result on inputs that take each early return. */
static void test_void_functions(const char *argv0)
{
    static const char *const objs[] = { "voidfn.o", "voidfn-v3.o", "voidfn-g.o" };
    static const unsigned inputs[][4] = {
        { 5, 3, 9, 2 }, { 5, 1, 9, 2 }, { 5, 0, 7, 7 }, { 1, 4, 2, 3 },
    };
    const char *slash = strrchr(argv0, '/');
    int dirlen = slash ? (int)(slash - argv0) : 1;
    size_t runs = 0;
    for (size_t o = 0; o < COUNT(objs); o++) {
        char path[700];
        size_t len;
        snprintf(path, sizeof(path), "%.*s/../elf/%s", dirlen, slash ? argv0 : ".", objs[o]);
        unsigned char *data = tool_read_file(path, &len);
        if (!data)
            continue;
        bpfvm_vm *vm = bpfvm_create();
        int rc = bpfvm_load_elf(vm, data, len, NULL, NULL);
        CHECK(rc == 0, "%s loads: %s", path, bpfvm_last_error(vm)->message);
        int jit = rc == 0 && bpfvm_compile(vm, 0) == 0;
        for (size_t k = 0; rc == 0 && k < COUNT(inputs); k++) {
            unsigned want[4], got[4];
            memcpy(want, inputs[k], sizeof(want));
            unsigned long expect = entry(want);
            for (int engine = 0; engine <= jit; engine++) {
                uint64_t r0 = 0;
                memcpy(got, inputs[k], sizeof(got));
                int run = engine ? bpfvm_run_jit(vm, got, sizeof(got), NULL, 0, &r0, NULL)
                                 : bpfvm_run(vm, got, sizeof(got), NULL, 0, &r0, NULL);
                CHECK(run == 0 && r0 == expect && memcmp(got, want, sizeof(got)) == 0,
                      "%s input %zu %s: rc %d, r0 %llu, want %lu", path, k,
                      engine ? "jit" : "interpreter", run, (unsigned long long)r0, expect);
                runs++;
            }
        }
        bpfvm_destroy(vm);
        free(data);
    }
    if (runs == 0)
        printf("void functions: skipped (no voidfn objects: clang not found at build time)\n");
}

int main(int argc, char **argv)
{
    (void)argc;
    test_table();
    test_hook();
    test_helpers();
    test_large();
    test_clang_output(argv[0]);
    test_void_functions(argv[0]);
    test_programs_list(argv[0]);
    return TEST_END();
}
