/* test_jit_frameop.c - a conditional jump whose operand slot i - 1 loads
 * from the frame (clang's `r1 = *(u64 *)(r10 - 24); if r4 >= r1` of a
 * bound it spilled), the register dead after the jump: the x86-64 JIT
 * compares with the frame directly (`cmp r, [rbp + off]`) and leaves the
 * load out. Every condition code but jset, 64-bit (ldxdw) and 32-bit
 * (ldxw) compares, the loaded register as the jump's first or second
 * operand, on pairs of values around the signed and unsigned edges; and
 * where the load must stay: the register read after the jump (on either
 * way), a jump landing on the compare, a load of the wrong size, a load
 * through another register. The interpreter and the JIT (checked,
 * unchecked, blinded, with a budget) must agree with the values computed
 * here; on x86-64 the compare with the frame is in the code exactly where
 * it applies. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#define PROG_MAX 64
#include "jit_test.h"
#include "test.h"

static const uint64_t values[] = { 0, 1, 5, 0x7fffffff, 0x80000000, 0xffffffff,
                                   0x100000005ull, 0xffffffff00000005ull,
                                   0x8000000000000000ull, 0xffffffffffffffffull };
#define NVALUES (sizeof values / sizeof values[0])

static const uint8_t ops[] = JIT_TEST_JUMP_OPS;

/* Where the load must stay (or not). */
enum { V_PLAIN, V_READ_TAKEN, V_READ_AFTER, V_LANDING, V_WRONG_SIZE, V_OTHER_BASE, NV };
static const char *const v_names[NV] = { "plain", "the register read where the jump goes",
                                         "the register read where it falls through",
                                         "a jump landing on the compare",
                                         "a load of the other size", "a load through r9 = r10 - 16" };

/* r3 = a, r4 = b (from the input words), the frame slot [r10 - 24] = b and
 * [r10 - 8] = a; then r1 = [r10 - 24] (or [r9 - 8] for V_OTHER_BASE, r9 =
 * r10 - 16) and
 * `if r3 op r1` (or `if r1 op r3` with `swap`), r0 = 1 or 2 by the way
 * taken, plus r1 where the variant reads it. */
static size_t build(uint8_t op, bool w64, bool swap, int v, bpfvm_insn *p)
{
    size_t n = 0;
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 3, 1, 0);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 4, 1, 8);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 5, 1, 16);         /* the landing's condition */
    p[n++] = BPFVM_STX_MEM(BPFVM_DW, 10, 4, -24);
    p[n++] = BPFVM_STX_MEM(BPFVM_DW, 10, 3, -8);        /* (what [r9 - 8] is not) */
    p[n++] = BPFVM_MOV64_REG(9, 10);
    p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 9, -16);
    p[n++] = BPFVM_MOV64_IMM(1, 7);
    if (v == V_LANDING)                                  /* over the load, to the compare */
        p[n++] = BPFVM_JMP_IMM(BPFVM_JNE, 5, 0, 1);
    bool size64 = w64 != (v == V_WRONG_SIZE);
    p[n++] = BPFVM_LDX_MEM(size64 ? BPFVM_DW : BPFVM_W, 1, v == V_OTHER_BASE ? 9 : 10,
                           (int16_t)(v == V_OTHER_BASE ? -8 : -24));
    uint8_t cls = w64 ? BPFVM_JMP : BPFVM_JMP32;
    p[n++] = swap ? BPFVM_INSN(cls | op | BPFVM_X, 1, 3, 3, 0)
                  : BPFVM_INSN(cls | op | BPFVM_X, 3, 1, 3, 0);
    p[n++] = BPFVM_MOV64_IMM(0, 2);                      /* falls through */
    if (v == V_READ_AFTER)
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 1);
    else
        p[n++] = BPFVM_MOV64_IMM(2, 0);
    p[n++] = BPFVM_EXIT();
    p[n++] = BPFVM_MOV64_IMM(0, 1);                      /* taken */
    if (v == V_READ_TAKEN)
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 1);
    p[n++] = BPFVM_EXIT();
    return n;
}

static uint64_t expect(uint8_t op, bool w64, bool swap, int v, const uint64_t in[3])
{
    uint64_t a = in[0], b = in[1];
    bool size64 = w64 != (v == V_WRONG_SIZE);
    if (v == V_LANDING && in[2] != 0)
        b = 7;                                           /* r1 as it was */
    else if (!size64)
        b = (uint32_t)b;                                 /* ldxw */
    bool taken = swap ? jit_test_holds(op, w64, b, a) : jit_test_holds(op, w64, a, b);
    if (taken)
        return v == V_READ_TAKEN ? 1 + b : 1;
    return v == V_READ_AFTER ? 2 + b : 2;
}

#if defined(__x86_64__)
/* Does the code compare a register with [rbp - 24] (3b /r, mod 01, rm rbp,
 * disp8 0xe8)? */
static bool has_frame_cmp(bpfvm_vm *vm)
{
    size_t size = 0;
    const uint8_t *c = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; c && i + 3 <= size; i++)
        if (c[i] == 0x3b && (c[i + 1] & 0xc7) == 0x45 && c[i + 2] == 0xe8)
            return true;
    return false;
}
#endif

int main(void)
{
    bpfvm_insn p[PROG_MAX];
    for (size_t o = 0; o + 1 < sizeof ops; o++)          /* (no jset) */
        for (int w = 0; w < 2; w++)
            for (int swap = 0; swap < 2; swap++)
                for (int v = 0; v < NV; v++) {
                    size_t n = build(ops[o], w, swap, v, p);
                    for (int e = 0; e < NENG; e++) {
                        bpfvm_vm *vm = jit_test_vm(p, n, e, e == ENG_BUDGET ? 1000 : 0, true);
                        if (!vm)
                            continue;
                        for (size_t a = 0; a < NVALUES; a++)
                            for (size_t b = 0; b < NVALUES; b++) {
                                uint64_t in[3] = { values[a], values[b], (a + b) % 2 }, r0 = 0;
                                int rc = jit_test_run(vm, e, in, sizeof in, &r0);
                                uint64_t want = expect(ops[o], w, swap, v, in);
                                CHECK(rc == 0 && r0 == want,
                                      "op %#x %s%s, %s, engine %d, %#llx %#llx: rc %d r0 %#llx, "
                                      "want %#llx", ops[o], w ? "64" : "32", swap ? " swapped" : "",
                                      v_names[v], e, (unsigned long long)in[0],
                                      (unsigned long long)in[1], rc, (unsigned long long)r0,
                                      (unsigned long long)want);
                            }
#if defined(__x86_64__)
                        if (e == ENG_CHECKED || e == ENG_UNCHECKED)
                            CHECK(has_frame_cmp(vm) == (v == V_PLAIN),
                                  "op %#x %s%s, %s: the compare with the frame %s", ops[o],
                                  w ? "64" : "32", swap ? " swapped" : "", v_names[v],
                                  v == V_PLAIN ? "missing" : "there");
#endif
                        bpfvm_destroy(vm);
                    }
                }
    return TEST_END();
}
