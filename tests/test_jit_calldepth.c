/* test_jit_calldepth.c - local calls without depth checks. The JIT works out
 * how deep a program's local calls can nest (a chain, a function called
 * from several places, a call jumped over, a diamond of calls); with a call
 * depth limit at least that deep at compile time no call checks its depth.
 * Recursion (direct or mutual) keeps every check whatever the limit. For
 * each program and each limit at compile time (around the nesting), runs
 * under each limit at run time, lowered or raised after compiling, must
 * give what the interpreter gives: the result, or ECALLDEPTH at the same
 * instruction (a limit below the nesting the code assumed runs the
 * interpreter). On x86-64 the depth check is in the code exactly when the
 * limit at compile time is below the nesting or the program recurses. */
#include <stdio.h>
#include <string.h>

#include "jit.h"
#include "test.h"

#define NOT_BOUNDED 99 /* (recursion) */

typedef struct shape {
    const char *name;
    const char *text;
    unsigned nest; /* how deep the calls nest */
} shape;

static const shape shapes[] = {
    { "no calls", "mov r0, 3\nexit\n", 0 },
    { "one call", "call local f\nadd r0, 1\nexit\nf:\nmov r0, 5\nexit\n", 1 },
    { "a chain of three",
      "mov r6, 1\ncall local f1\nadd r0, r6\nexit\n"
      "f1:\nmov r6, 2\ncall local f2\nadd r0, 10\nexit\n"
      "f2:\nstdw [r10-8], 4\ncall local f3\nldxdw r1, [r10-8]\nadd r0, r1\nexit\n"
      "f3:\nmov r0, 100\nexit\n",
      3 },
    { "a diamond",
      "call local a\nmov r6, r0\ncall local b\nadd r0, r6\nexit\n"
      "a:\ncall local c\nadd r0, 1\nexit\n"
      "b:\ncall local c\nadd r0, 2\nexit\n"
      "c:\nmov r0, 40\nexit\n",
      2 },
    { "the deep call jumped over (input word 0 says)",
      "ldxdw r1, [r1+0]\njne r1, 0, deep\ncall local f2\nexit\n"
      "deep:\ncall local f1\nexit\n"
      "f1:\ncall local f2\nadd r0, 1\nexit\n"
      "f2:\nmov r0, 7\nexit\n",
      2 },
    { "a function called twice on one path",
      "call local f\nmov r6, r0\ncall local f\nadd r0, r6\nexit\n"
      "f:\ncall local g\nadd r0, 3\nexit\n"
      "g:\nmov r0, 11\nexit\n",
      2 },
    { "recursion (input word 0 calls deep)",
      "ldxdw r1, [r1+0]\nand r1, 7\nmov r0, 0\ncall local f\nexit\n"
      "f:\nmov r0, 0\njeq r1, 0, done\nsub r1, 1\ncall local f\nadd r0, 2\ndone:\nexit\n",
      NOT_BOUNDED },
    { "mutual recursion",
      "ldxdw r1, [r1+0]\nand r1, 7\nmov r0, 0\ncall local f\nexit\n"
      "f:\nmov r0, 1\njeq r1, 0, out\nsub r1, 1\ncall local g\nadd r0, 1\nout:\nexit\n"
      "g:\nmov r0, 2\njeq r1, 0, back\nsub r1, 1\ncall local f\nadd r0, 5\nback:\nexit\n",
      NOT_BOUNDED },
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* How deep the calls of a run on input word w nest. */
static unsigned run_nest(const shape *s, uint64_t w)
{
    if (s->nest == NOT_BOUNDED)
        return (unsigned)(w & 7) + 1;                /* (the first call, then w more) */
    if (strstr(s->name, "jumped over"))
        return w ? 2 : 1;
    return s->nest;
}

static bpfvm_vm *make(const shape *s, unsigned limit, bool jit)
{
    bpfvm_vm *vm = bpfvm_create();
    bool ok = vm && bpfvm_set_call_depth(vm, limit) == 0 &&
              bpfvm_load_asm(vm, s->text, s->name) == 0 && (!jit || bpfvm_compile(vm, 0) == 0);
    CHECK(ok, "%s, limit %u: %s", s->name, limit, vm ? bpfvm_last_error(vm)->message : "no vm");
    if (!ok) {
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}

#if defined(__x86_64__)
/* Does the code compare rbp with the state's frame_limit (REX.W+B 3b, rbp
 * with [r13 + disp8|disp32])? */
static bool has_depth_check(bpfvm_vm *vm)
{
    size_t size = 0, off = offsetof(bpfvm__jit_state, frame_limit);
    const uint8_t *c = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; c && i + 4 <= size; i++)
        if (c[i] == 0x49 && c[i + 1] == 0x3b &&
            ((off < 128 && c[i + 2] == 0x6d && c[i + 3] == off) ||
             (off >= 128 && c[i + 2] == 0xad && c[i + 3] == (off & 0xff))))
            return true;
    return false;
}
#endif

int main(void)
{
    for (size_t k = 0; k < NSHAPES; k++) {
        const shape *s = &shapes[k];
        unsigned top = s->nest == NOT_BOUNDED ? 5 : s->nest + 1;
        for (unsigned at_compile = 0; at_compile <= top; at_compile++) {
            bpfvm_vm *vm = make(s, at_compile, true);
            if (!vm)
                continue;
#if defined(__x86_64__)
            bool want = s->nest > at_compile;
            CHECK(has_depth_check(vm) == want, "%s, limit %u at compile time: the depth check %s",
                  s->name, at_compile, want ? "missing" : "there");
#endif
            for (int round = 0; round < 2; round++) /* (lowered and raised again) */
                for (unsigned at_run = 0; at_run <= top; at_run++) {
                    bpfvm_vm *ref = make(s, at_run, false);
                    CHECK(bpfvm_set_call_depth(vm, at_run) == 0, "set the limit");
                    for (uint64_t word = 0; ref && word < 8; word++) {
                        uint64_t in[2] = { word, 0 }, r0[2] = { 0, 0 };
                        bpfvm_error e[2];
                        memset(e, 0, sizeof e);
                        int rc0 = bpfvm_run(ref, in, sizeof in, NULL, 0, &r0[0], &e[0]);
                        int rc1 = bpfvm_run_jit(vm, in, sizeof in, NULL, 0, &r0[1], &e[1]);
                        CHECK(rc0 == rc1 && (rc0 ? e[0].insn == e[1].insn : r0[0] == r0[1]),
                              "%s, limit %u at compile time, %u at run time, word %llu: "
                              "interpreter rc %d r0 %llu insn %lld, JIT rc %d r0 %llu insn %lld",
                              s->name, at_compile, at_run, (unsigned long long)word, rc0,
                              (unsigned long long)r0[0], (long long)e[0].insn, rc1,
                              (unsigned long long)r0[1], (long long)e[1].insn);
                        CHECK(rc0 == (at_run < run_nest(s, word) ? BPFVM_ECALLDEPTH : 0),
                              "%s, limit %u at run time, word %llu: rc %d", s->name, at_run,
                              (unsigned long long)word, rc0);
                    }
                    bpfvm_destroy(ref);
                }
            bpfvm_destroy(vm);
        }
    }
    return TEST_END();
}
