/* test_jit_calls.c - local calls as the x86-64 JIT makes them: it saves only
 * the r6..r9 the callee may write and pads the machine stack so it moves by
 * a multiple of 16 bytes per call. Chains of 1..5 nested calls whose
 * functions write 0..4 of r6..r9 end in a helper that reports how its frame
 * is aligned (a misaligned C call can crash the host); the caller checks its
 * r6..r9. With the depth limit at the chain's depth the run succeeds; one
 * less and both engines fail with ECALLDEPTH at the same instruction. */
#include <stdio.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

/* this C frame's address mod 16: the same from the JIT as from the
 * interpreter (a C caller) when the JIT keeps the ABI's alignment */
__attribute__((noinline)) static uint64_t frame_misalign(void)
{
    return (uint64_t)(uintptr_t)__builtin_frame_address(0) & 15;
}

static uint64_t helper_align(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                             uint64_t e)
{
    (void)ctx, (void)a, (void)b, (void)c, (void)d, (void)e;
    return 1 + frame_misalign();
}

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

int main(void)
{
    char text[4096];

    for (int depth = 1; depth <= 5; depth++)
        for (int writes = 0; writes <= 4; writes++) {
            CHECK(program(text, sizeof(text), depth, writes) < sizeof(text), "program text");
            for (int limit = depth - 1; limit <= depth; limit++) {
                bpfvm_error err[2];
                uint64_t r0[2] = { 0, 0 };
                int rc[2];
                for (int jit = 0; jit < 2; jit++) {
                    bpfvm_vm *vm = bpfvm_create();
                    rc[jit] = vm ? 0 : -1;
                    memset(&err[jit], 0, sizeof(err[jit]));
                    if (!rc[jit])
                        rc[jit] = bpfvm_register_helper(vm, 60, "align", helper_align, NULL);
                    if (!rc[jit])
                        rc[jit] = bpfvm_set_call_depth(vm, (unsigned)limit);
                    if (!rc[jit])
                        rc[jit] = bpfvm_load_asm(vm, text, "calls");
                    if (!rc[jit] && jit)
                        rc[jit] = bpfvm_compile(vm, 0);
                    if (!rc[jit])
                        rc[jit] = (jit ? bpfvm_run_jit : bpfvm_run)(vm, NULL, 0, NULL, 0,
                                                                    &r0[jit], &err[jit]);
                    bpfvm_destroy(vm);
                }
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
