/* test_jit_cg_addr.c - the checked x86-64 JIT folds an address computation
 * into a load or store the program's compares prove (BPFVM__MARK_PROVEN),
 * as unchecked code does: `mov B, C; add B, X; ldx D, [B + off]` is one
 * `mov D, [C + X + off]`. After `if len < need goto out`, B = r1 + (mem[0] &
 * 7): a load, a store of a register, a store of an immediate, each with a
 * register operation between the address and the access or one rewriting
 * the index there, B read afterwards (no folding), a jump landing on the
 * access (no folding), a compare between the two (no folding); each with
 * need large enough (proven: no memory check) and one byte short (checked:
 * some lengths fault at the access). Interpreter and JIT (checked, blinded,
 * unchecked) on every input length must agree: r0, error, instruction,
 * fault address, memory after; on x86-64 the checked code of the folded
 * cases has no lea, that of the others has one. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm.h"
#define PROG_MAX 32
#include "jit_test.h"
#include "test.h"

#define MEM 24
#include "jit_mem_test.h"

enum { A_LOAD, A_STX, A_ST, NACCESS };
enum { V_PLAIN, V_BETWEEN, V_INDEX, V_LIVE, V_LAND, V_CMP, NVAR };
static const char *const var_name[NVAR] = { "plain", "an op between", "the index rewritten",
                                            "B read after", "a jump landing", "a compare between" };

/* r0 = 0; if len < need goto out; r3 = mem[0] & 7; r6 = 0x5a; B = r4 = r1 + r3;
 * the access at r4 + 5 (size 1 or 8); r0 += what it read / r3 */
static void build(prog *g, int access, int var, unsigned size, int need)
{
    put(g, BPFVM_MOV64_IMM(0, 0));
    size_t out = g->n;
    put(g, BPFVM_JMP_IMM(BPFVM_JLT, 2, need, 0));
    put(g, BPFVM_LDX_MEM(BPFVM_B, 3, 1, 0));
    put(g, BPFVM_ALU64_IMM(BPFVM_AND, 3, 7));
    put(g, BPFVM_MOV64_IMM(6, 0x5a));
    put(g, BPFVM_MOV64_REG(4, 1));
    size_t land = g->n;
    if (var == V_LAND)
        put(g, BPFVM_JMP_IMM(BPFVM_JEQ, 3, 6, 0));     /* (to the access: B is r1 there) */
    put(g, BPFVM_MOV64_REG(4, 1));
    put(g, BPFVM_ALU64_REG(BPFVM_ADD, 4, 3));
    if (var == V_BETWEEN)
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 0, 3));
    if (var == V_INDEX)
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 3, 100));
    if (var == V_CMP)
        put(g, BPFVM_JMP_IMM(BPFVM_JEQ, 3, 6, 0));
    if (var == V_LAND)
        patch(g, land, g->n);
    uint8_t sz = size == 1 ? BPFVM_B : BPFVM_DW;
    if (access == A_LOAD)
        put(g, BPFVM_LDX_MEM(sz, 5, 4, 5));
    else if (access == A_STX)
        put(g, BPFVM_STX_MEM(sz, 4, 6, 5));
    else
        put(g, BPFVM_ST_MEM(sz, 4, 5, 0x77));
    if (access == A_LOAD)
        put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 5));
    put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 3));
    if (var == V_LIVE) {
        put(g, BPFVM_ALU64_REG(BPFVM_SUB, 4, 1));
        put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 4));
    }
    patch(g, out, g->n);
    put(g, BPFVM_EXIT());
}

#if defined(__x86_64__)
/* a 64-bit lea (REX.W 8d, register operand) in the checked code of g? */
static bool has_lea(const prog *g)
{
    bpfvm_vm *vm = bpfvm_create();
    bool found = false;
    size_t size = 0;
    if (vm && bpfvm_load(vm, g->p, g->n * sizeof(bpfvm_insn)) == 0 && bpfvm_compile(vm, 0) == 0) {
        const uint8_t *code = bpfvm_jit_code(vm, &size);
        for (size_t i = 0; code && i + 3 <= size; i++)
            found |= (code[i] & 0xf8) == 0x48 && code[i + 1] == 0x8d && (code[i + 2] & 0xc0) != 0xc0;
    }
    bpfvm_destroy(vm);
    return found;
}
#endif

int main(void)
{
    int cases = 0;
    for (int access = 0; access < NACCESS; access++)
        for (int var = 0; var < NVAR; var++)
            for (unsigned size = 1; size <= 8; size += 7)
                for (int shortby = 0; shortby <= 1; shortby++) {
                    prog g = { .n = 0 };
                    int need = 7 + 5 + (int)size - shortby;
                    build(&g, access, var, size, need);
                    char what[96];
                    snprintf(what, sizeof what, "%s of %u, %s, need %d",
                             access == A_LOAD ? "load" : access == A_STX ? "stx" : "st", size,
                             var_name[var], need);
                    int faults = check_in(&g, BPFVM_MODE_RAW, shortby ? 0 : 1, what, 3);
                    CHECK(shortby ? faults > 0 : faults == 0, "%s: %d runs faulted", what, faults);
#if defined(__x86_64__)
                    bool fold = !shortby && var != V_LIVE && var != V_LAND && var != V_CMP;
                    CHECK(has_lea(&g) != fold, "%s: lea %d, want %d", what, has_lea(&g), !fold);
#endif
                    cases++;
                }
    CHECK(cases == NACCESS * NVAR * 4, "%d cases", cases);
    return TEST_END();
}
