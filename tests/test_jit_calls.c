/* test_jit_calls.c - local calls as the x86-64 JIT makes them: it saves only
 * the r6..r9 the callee may write and pads the machine stack so it moves by
 * a multiple of 16 bytes per call. Chains of 1..5 nested calls whose
 * functions write 0..4 of r6..r9 end in a helper that reports how its frame
 * is aligned (a misaligned C call can crash the host); the caller checks its
 * r6..r9. With the depth limit at the chain's depth the run succeeds; one
 * less and both engines fail with ECALLDEPTH at the same instruction.
 *
 * A leaf callee (only register operations and jumps, r10 not named) is
 * called without a new frame or stack padding: such calls at and over the
 * depth limit, with budgets that run out inside a leaf's loop, and callees
 * that are not leaves (they read r10, use their stack, access memory, call
 * a helper) and must keep their frame. */
#include <stdio.h>
#include <string.h>

#include "jit.h"
#include "frame_align.h"
#include "test.h"

/* main sets r6..r9, calls f1; f_k writes `writes` of r6..r9, calls f_k+1;
 * the last calls the helper. r0 = helper result + 100 * (r6..r9 changed). */
static size_t program(char *buf, size_t cap, int depth, int writes)
{
    size_t n = (size_t)snprintf(buf, cap, "mov r6, 6\nmov r7, 7\nmov r8, 8\nmov r9, 9\n"
                                          "call local f1\nmov r1, r6\nadd r1, r7\nadd r1, r8\n"
                                          "add r1, r9\njeq r1, 30, ok\nadd r0, 100\nok:\nexit\n");
    for (int k = 1; k <= depth && n < cap; k++) {
        n += (size_t)snprintf(buf + n, cap - n, "f%d:\n", k);
        for (int r = 0; r < writes && n < cap; r++)
            n += (size_t)snprintf(buf + n, cap - n, "mov r%d, %d\n", 6 + r, 50 + k);
        if (k < depth)
            n += (size_t)snprintf(buf + n, cap - n, "call local f%d\nexit\n", k + 1);
        else
            n += (size_t)snprintf(buf + n, cap - n, "call 60\nexit\n");
    }
    return n;
}

/* Run `text` in the interpreter or the JIT with the given depth limit and
 * budget (0: none); *frame_stores (unless NULL): how many times the JIT's
 * code sets ctx.frame_start from rbp (a call's new frame). */
static int run_engine(const char *text, unsigned limit, uint64_t budget, int jit, uint64_t *r0,
                      bpfvm_error *err, size_t *frame_stores)
{
    static uint8_t mem[16];
    bpfvm_vm *vm = bpfvm_create();
    int rc = vm ? 0 : -1;
    memset(err, 0, sizeof(*err));
    if (!rc)
        rc = bpfvm_register_helper(vm, 60, "align", helper_align, NULL);
    if (!rc)
        rc = bpfvm_set_call_depth(vm, limit);
    if (!rc && budget)
        rc = bpfvm_set_budget(vm, budget);
    if (!rc)
        rc = bpfvm_load_asm(vm, text, "calls");
    if (!rc && jit)
        rc = bpfvm_compile(vm, 0);
    if (!rc && jit && frame_stores) { /* mov [r13 + ctx.frame_start], rbp */
        size_t size = 0;
        const uint8_t *code = bpfvm_jit_code(vm, &size);
        int32_t disp = (int32_t)(offsetof(bpfvm__jit_state, ctx) +
                                 offsetof(bpfvm_ctx, frame_start));
        uint8_t pat[7] = { 0x49, 0x89, 0xad, (uint8_t)disp, (uint8_t)(disp >> 8),
                           (uint8_t)(disp >> 16), (uint8_t)(disp >> 24) };
        *frame_stores = 0;
        for (size_t k = 0; code && k + sizeof(pat) <= size; k++)
            *frame_stores += memcmp(code + k, pat, sizeof(pat)) == 0;
    }
    if (!rc)
        rc = (jit ? bpfvm_run_jit : bpfvm_run)(vm, mem, sizeof(mem), NULL, 0, r0, err);
    bpfvm_destroy(vm);
    return rc;
}

/* Both engines must agree; returns the interpreter's rc, r0 in *r0. */
static int both(const char *text, unsigned limit, uint64_t budget, uint64_t *r0,
                size_t *frame_stores)
{
    bpfvm_error err[2];
    uint64_t res[2] = { 0, 0 };
    int rc[2];
    for (int jit = 0; jit < 2; jit++)
        rc[jit] = run_engine(text, limit, budget, jit, &res[jit], &err[jit], frame_stores);
    CHECK(rc[0] == rc[1] && (rc[0] ? err[0].insn == err[1].insn : res[0] == res[1]),
          "%s\nlimit %u budget %llu: rc %d/%d, insn %lld/%lld, r0 %llu/%llu", text, limit,
          (unsigned long long)budget, rc[0], rc[1], (long long)err[0].insn,
          (long long)err[1].insn, (unsigned long long)res[0], (unsigned long long)res[1]);
    *r0 = res[0];
    return rc[0];
}

static void test_leaves(void)
{
    /* main: r6..r9 and a stack slot set, two nested calls, the last to
     * `leaf`; r0 = leaf's r0 + 100 if r6..r9 or the slot changed */
    static const char head[] =
        "mov r6, 6\nmov r7, 7\nmov r8, 8\nmov r9, 9\nstdw [r10-8], 5\nmov r1, 3\n"
        "call local f1\nmov r1, r6\nadd r1, r7\nadd r1, r8\nadd r1, r9\nldxdw r2, [r10-8]\n"
        "add r1, r2\njeq r1, 35, ok\nadd r0, 100\nok:\nexit\n"
        "f1:\nmov r6, 60\ncall local leaf\nexit\n";
    static const struct {
        const char *body;
        bool leaf;
        uint64_t r0;      /* with the limit at 2 and no budget (0: a fault) */
    } callees[] = {
        /* leaves: a loop of r1 trips writing r6..r9, a branchy one, lddw */
        { "mov r0, 0\nmov r6, 1\nmov r7, 2\nmov r8, 3\nmov r9, 4\nloop:\nadd r0, r1\n"
          "sub r1, 1\njne r1, 0, loop\nexit\n", true, 6 },
        { "mov r0, 1000\njlt r1, 1000, +3\njlt r1, 60000, +1\nmov r1, 60000\nmov r0, r1\n"
          "exit\n", true, 1000 },
        { "lddw r0, 0x123456789\nrsh r0, 4\nexit\n", true, 0x12345678 },
        /* not leaves: r10 read (its frame is the caller's + 512), a store
         * to its own frame, a memory fault, a helper call */
        { "mov r0, r10\nand r0, 7\nexit\n", false, 0 },
        { "stdw [r10-8], 99\nldxdw r0, [r10-8]\nexit\n", false, 99 },
        { "ldxb r0, [r1+1000]\nexit\n", false, 0 },
        { "call 60\nexit\n", false, 0 },
    };
    char text[1024];
    for (size_t c = 0; c < sizeof(callees) / sizeof(callees[0]); c++) {
        snprintf(text, sizeof(text), "%sleaf:\n%s", head, callees[c].body);
        uint64_t r0 = 0;
        size_t stores = 0;
        /* at the limit, over it (the call to the leaf fails), and budgets
         * that end anywhere in the run */
        int rc = both(text, 2, 0, &r0, &stores);
        if (c == 5)
            CHECK(rc == BPFVM_EMEMORY, "callee %zu: rc %d", c, rc);
        else if (c != 6)
            CHECK(rc == 0 && r0 == callees[c].r0, "callee %zu: rc %d r0 %llu", c, rc,
                  (unsigned long long)r0);
#if defined(__x86_64__)
        CHECK(stores == (callees[c].leaf ? 1u : 2u),
              "callee %zu: %zu frame changes in the code, expected %u", c, stores,
              callees[c].leaf ? 1u : 2u);
#endif
        CHECK(both(text, 1, 0, &r0, &stores) == BPFVM_ECALLDEPTH, "callee %zu over the limit",
              c);
        for (uint64_t b = 1; b < 40; b++)
            both(text, 2, b, &r0, &stores);
    }
    /* r10 in a non-leaf callee: its frame, 512 bytes above the caller's */
    uint64_t r0 = 0;
    size_t stores = 0;
    CHECK(both("mov r6, r10\ncall local f\nsub r0, r6\nexit\nf:\nmov r0, r10\nexit\n", 8, 0,
               &r0, &stores) == 0 && r0 == 512, "r10 callee: r0 %llu", (unsigned long long)r0);
}

int main(void)
{
    char text[4096];

    test_leaves();

    for (int depth = 1; depth <= 5; depth++)
        for (int writes = 0; writes <= 4; writes++) {
            CHECK(program(text, sizeof(text), depth, writes) < sizeof(text), "program text");
            for (int limit = depth - 1; limit <= depth; limit++) {
                bpfvm_error err[2];
                uint64_t r0[2] = { 0, 0 };
                int rc[2];
                for (int jit = 0; jit < 2; jit++)
                    rc[jit] = run_engine(text, (unsigned)limit, 0, jit, &r0[jit], &err[jit], NULL);
                if (limit == depth) {
                    CHECK(rc[0] == 0 && rc[1] == 0 && r0[0] < 100 && r0[1] == r0[0],
                          "depth %d, %d writes: rc %d/%d, r0 %llu/%llu (>= 100: r6..r9 "
                          "changed; else 1 + frame mod 16)", depth, writes, rc[0], rc[1],
                          (unsigned long long)r0[0], (unsigned long long)r0[1]);
                } else {
                    CHECK(rc[0] == BPFVM_ECALLDEPTH && rc[1] == BPFVM_ECALLDEPTH &&
                              err[0].insn == err[1].insn && err[0].insn >= 0,
                          "depth %d, limit %d: rc %d/%d at %lld/%lld", depth, limit, rc[0],
                          rc[1], (long long)err[0].insn, (long long)err[1].insn);
                }
            }
        }
    return TEST_END();
}
