/* test_stack_zero.c - a run zeroes only the stack bytes the program may read
 * (found at load), yet no program ever sees what an earlier run or the host
 * left there: a first program fills its whole frame with 0x5a, then programs
 * that read the frame directly at several depths, through a copy of r10,
 * after storing elsewhere, or in a local call run at the same place on the
 * C stack, or beside input loads the checked JIT proves (it zeroes less
 * then), in the interpreter and the JIT; each must read zeros. So must a
 * program reading the frame through a pointer it did not derive from r10. */
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define FILL_LEN 16

/* Both programs go through this one function, so their frames coincide. */
static int run_prog(bpfvm_vm *vm, int jit, uint64_t *r0)
{
    return (jit ? bpfvm_run_jit : bpfvm_run)(vm, NULL, 0, NULL, 0, r0, NULL);
}

static bpfvm_vm *make(const bpfvm_insn *p, size_t n, int jit)
{
    bpfvm_vm *vm = bpfvm_create();
    if (vm && (bpfvm_load(vm, p, n * sizeof(*p)) || (jit && bpfvm_compile(vm, 0)))) {
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}

int main(void)
{
    /* r1 = 0x5a5a..; r2 = r10 - 512; loop: *(u64 *)r2 = r1; r2 += 8; until r2 == r10 */
    static const bpfvm_insn fill[] = {
        BPFVM_LD_IMM64(BPFVM_R1, 0x5a5a5a5a5a5a5a5aull),
        BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R2, -512),
        BPFVM_STX_MEM(BPFVM_DW, BPFVM_R2, BPFVM_R1, 0),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R2, 8),
        BPFVM_INSN(BPFVM_JMP | BPFVM_X | BPFVM_JNE, BPFVM_R2, BPFVM_R10, -3, 0),
        BPFVM_MOV64_IMM(BPFVM_R0, 0),
        BPFVM_EXIT(),
    };
    static const bpfvm_insn direct[] = { /* loads at -8, -100, -512 */
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -8),
        BPFVM_LDX_MEM(BPFVM_W, BPFVM_R1, BPFVM_R10, -100),
        BPFVM_ALU64_REG(BPFVM_OR, BPFVM_R0, BPFVM_R1),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R1, BPFVM_R10, -512),
        BPFVM_ALU64_REG(BPFVM_OR, BPFVM_R0, BPFVM_R1),
        BPFVM_EXIT(),
    };
    static const bpfvm_insn shallow[] = { /* reads only the top 8 bytes, after a store below */
        BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -64, 7),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -8),
        BPFVM_EXIT(),
    };
    static const bpfvm_insn copied[] = { /* r1 = r10; reads at r1 - 400 */
        BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R10),
        BPFVM_ALU64_IMM(BPFVM_ADD, BPFVM_R1, -400),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R1, 0),
        BPFVM_EXIT(),
    };
    static const bpfvm_insn atomic[] = { /* fetch-add on an unwritten slot */
        BPFVM_MOV64_IMM(BPFVM_R0, 0),
        BPFVM_INSN(BPFVM_STX | BPFVM_ATOMIC | BPFVM_DW, BPFVM_R10, BPFVM_R0, -296,
                   BPFVM_ADD | BPFVM_FETCH),
        BPFVM_EXIT(),
    };
    static const bpfvm_insn proven[] = { /* reads at -8 and -100 beside an input load its
                                           * compare proves (the checked JIT zeroes less) */
        BPFVM_MOV64_IMM(BPFVM_R0, 0),
        BPFVM_JMP_IMM(BPFVM_JLT, BPFVM_R2, 8, 1),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R1, 0),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R3, BPFVM_R10, -8),
        BPFVM_ALU64_REG(BPFVM_OR, BPFVM_R0, BPFVM_R3),
        BPFVM_LDX_MEM(BPFVM_W, BPFVM_R3, BPFVM_R10, -100),
        BPFVM_ALU64_REG(BPFVM_OR, BPFVM_R0, BPFVM_R3),
        BPFVM_EXIT(),
    };
    static const bpfvm_insn call[] = { /* the callee reads its own frame */
        BPFVM_INSN(BPFVM_JMP | BPFVM_CALL, 0, BPFVM_PSEUDO_CALL, 0, 1),
        BPFVM_EXIT(),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -200),
        BPFVM_EXIT(),
    };
    static const struct {
        const char *name;
        const bpfvm_insn *p;
        size_t n;
    } readers[] = {
        {"direct", direct, sizeof(direct) / sizeof(direct[0])},
        {"shallow", shallow, sizeof(shallow) / sizeof(shallow[0])},
        {"copied", copied, sizeof(copied) / sizeof(copied[0])},
        {"atomic", atomic, sizeof(atomic) / sizeof(atomic[0])},
        {"proven", proven, sizeof(proven) / sizeof(proven[0])},
        {"call", call, sizeof(call) / sizeof(call[0])},
    };

    /* A program that reaches the frame through a pointer not derived from
     * r10 (programs see host addresses): a first program leaves its r10 in a
     * registered slot, the filler fills the frame, and the reader loads the
     * address from the slot and reads at -400. */
    static uint64_t slot;
    const uint64_t at = (uint64_t)(uintptr_t)&slot;
    const bpfvm_insn leave[] = {
        BPFVM_LD_IMM64(BPFVM_R1, at),
        BPFVM_STX_MEM(BPFVM_DW, BPFVM_R1, BPFVM_R10, 0),
        BPFVM_MOV64_IMM(BPFVM_R0, 0),
        BPFVM_EXIT(),
    };
    const bpfvm_insn pointer[] = { /* also a proven input load */
        BPFVM_JMP_IMM(BPFVM_JLT, BPFVM_R2, 8, 1),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R1, 0),
        BPFVM_LD_IMM64(BPFVM_R1, at),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R1, BPFVM_R1, 0),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R1, -400),
        BPFVM_EXIT(),
    };
    for (int jit = 0; jit < 2; jit++) {
        bpfvm_vm *a = make(fill, sizeof(fill) / sizeof(fill[0]), jit);
        bpfvm_vm *l = make(leave, sizeof(leave) / sizeof(leave[0]), 0);
        bpfvm_vm *b = make(pointer, sizeof(pointer) / sizeof(pointer[0]), 0);
        uint64_t r0 = 1;
        CHECK(a && l && b, "pointer: load");
        if (a && l && b && bpfvm_add_region(l, &slot, 8, BPFVM_WRITE) == 0 &&
            bpfvm_add_region(b, &slot, 8, BPFVM_READ) == 0 &&
            (!jit || (bpfvm_compile(l, 0) == 0 && bpfvm_compile(b, 0) == 0))) {
            CHECK(run_prog(l, jit, &r0) == 0 && run_prog(a, jit, &r0) == 0, "leave r10, fill");
            r0 = 1;
            int rc = run_prog(b, jit, &r0);
            CHECK(rc == 0 && r0 == 0, "pointer, %s: rc %d, r0 0x%llx (the frame was not zeroed)",
                  jit ? "jit" : "interpreter", rc, (unsigned long long)r0);
        }
        bpfvm_destroy(a);
        bpfvm_destroy(l);
        bpfvm_destroy(b);
    }

    for (int jit = 0; jit < 2; jit++)
        for (size_t r = 0; r < sizeof(readers) / sizeof(readers[0]); r++) {
            bpfvm_vm *a = make(fill, sizeof(fill) / sizeof(fill[0]), jit);
            bpfvm_vm *b = make(readers[r].p, readers[r].n, jit);
            uint64_t r0 = 1;
            CHECK(a && b, "%s: load", readers[r].name);
            if (a && b) {
                CHECK(run_prog(a, jit, &r0) == 0 && r0 == 0, "fill");
                r0 = 1;
                int rc = run_prog(b, jit, &r0);
                CHECK(rc == 0 && r0 == 0, "%s, %s: rc %d, r0 0x%llx (the frame was not zeroed)",
                      readers[r].name, jit ? "jit" : "interpreter", rc, (unsigned long long)r0);
            }
            bpfvm_destroy(a);
            bpfvm_destroy(b);
        }
    return TEST_END();
}
