/* test_jit_sink.c - movs before a conditional jump that only its taken way
 * reads (clang's compare chains setting the next state before each test:
 * `r8 = 2; r9 = 0; if w3 == 48 goto tail`), which the x86-64 JIT emits where
 * the jump goes: at the start of the threaded copy or block copy the jump
 * becomes, else between the compare and the jump. A loop over the input
 * bytes runs a chain of such tests into a tail that many jumps reach and
 * that tests the state (so the jumps are threaded), accumulating state and
 * value; variants where the movs must stay (the fall-through reads one, the
 * jump compares one, a jump lands among them, a budget), where the jump
 * has no copy (one arrival: the movs stay put), where the tail is a short
 * block a backward jump copies, where the tail's test is not decided (no
 * threading: the movs stay put), and movs of every form (32/64-bit, negative and large immediates, a
 * 32-bit copy of a register with high bits). Interpreter and JIT (checked,
 * unchecked, blinded, with a budget) on random bytes: the same r0. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#define PROG_MAX 160
#include "jit_test.h"
#include "test.h"

enum { V_PLAIN, V_READ_ON, V_COMPARED, V_LANDING, V_ONE_WAY, V_BLOCK, V_UNTHREADED, V_FORMS, NV };
static const char *const names[NV] = {
    "threaded", "the fall-through reads a mov's register", "the jump compares a mov's register",
    "a jump landing among the movs", "the jump's target reached once", "a backward block copied",
    "the tail's test not decided", "movs of every form" };

static void patch_to(prog *g, size_t at, size_t to)
{
    g->p[at].off = (int16_t)((int64_t)to - (int64_t)at - 1);
}

/* r6 = the input, r7 = its end, r0 = r8 = r9 = 0 */
static void start(prog *g)
{
    g->n = 0;
    put(g, BPFVM_MOV64_REG(6, 1));
    put(g, BPFVM_MOV64_REG(7, 1));
    put(g, BPFVM_ALU64_REG(BPFVM_ADD, 7, 2));
    put(g, BPFVM_MOV64_IMM(0, 0));
    put(g, BPFVM_MOV64_IMM(8, 0));
    put(g, BPFVM_MOV64_IMM(9, 0));
}

/* r6 = input, r7 = its end; r0 = acc; per byte r3 (and r5 = r3 * 0x100000001
 * + 7, high bits set): a chain of tests setting r8 (state) and r9 (value),
 * each going to the tail; the tail folds them into r0 and (except
 * V_UNTHREADED, V_ONE_WAY) tests the state. */
static void build(prog *g, int v)
{
    size_t to_tail[8], nt = 0, land = 0;
    start(g);
    size_t head = g->n;
    put(g, BPFVM_JMP_REG(BPFVM_JGE, 6, 7, 0));         /* the loop's test */
    size_t exit_jump = g->n - 1;
    put(g, BPFVM_LDX_MEM(BPFVM_B, 3, 6, 0));
    put(g, BPFVM_MOV64_REG(5, 3));
    put(g, BPFVM_ALU64_IMM(BPFVM_LSH, 5, 32));
    put(g, BPFVM_ALU64_REG(BPFVM_OR, 5, 3));
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 5, 7));
    if (v == V_LANDING) {                              /* to the second mov of the first test */
        put(g, BPFVM_JMP_IMM(BPFVM_JEQ, 3, 'a', 0));
        land = g->n - 1;
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 0, 3));      /* (no select: the jump skips two) */
    }
    /* test 1: r9 = r3; r8 = 1; if w3 == 'a' goto tail (the landing on r8's
     * mov: r8 known there, so the jump is still threaded) */
    put(g, BPFVM_MOV64_REG(9, 3));
    if (v == V_LANDING)
        patch_to(g, land, g->n);
    put(g, BPFVM_MOV64_IMM(8, 1));
    put(g, v == V_COMPARED ? BPFVM_JMP_REG(BPFVM_JEQ, 9, 5, 0)
                           : BPFVM_JMP32_IMM(BPFVM_JEQ, 3, 'a', 0));
    to_tail[nt++] = g->n - 1;
    if (v == V_READ_ON)
        put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 8));
    /* test 2: r8 = 2; r9 = 0; if r3 > 'm' goto tail */
    if (v == V_FORMS) {
        put(g, BPFVM_MOV32_IMM(8, -5));                /* 0xfffffffb */
        put(g, BPFVM_MOV32_REG(9, 5));                 /* the low half of r5 */
    } else {
        put(g, BPFVM_MOV64_IMM(8, 2));
        put(g, BPFVM_MOV64_IMM(9, 0));
    }
    put(g, BPFVM_JMP_IMM(BPFVM_JGT, 3, 'm', 0));
    to_tail[nt++] = g->n - 1;
    if (v != V_ONE_WAY) {
        /* test 3: r8 = 3 (or -7, 0x7fffffff); r9 = r5; if r3 < 0x30 goto tail */
        put(g, BPFVM_MOV64_IMM(8, v == V_FORMS ? -7 : 3));
        put(g, v == V_FORMS ? BPFVM_MOV64_IMM(9, 0x7fffffff) : BPFVM_MOV64_REG(9, 5));
        put(g, BPFVM_JMP_IMM(BPFVM_JLT, 3, 0x30, 0));
        to_tail[nt++] = g->n - 1;
        /* test 4: r8 = 0; r9 = 1; if r3 != 'q' goto tail */
        put(g, BPFVM_MOV64_IMM(8, 0));
        put(g, BPFVM_MOV64_IMM(9, 1));
        put(g, BPFVM_JMP_IMM(BPFVM_JNE, 3, 'q', 0));
        to_tail[nt++] = g->n - 1;
    }
    put(g, BPFVM_MOV64_IMM(8, 5));
    put(g, BPFVM_MOV64_REG(9, 3));
    size_t tail = g->n;                                /* (falls into the tail) */
    put(g, BPFVM_ALU64_IMM(BPFVM_MUL, 0, 31));
    put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 8));
    put(g, BPFVM_ALU64_REG(BPFVM_XOR, 0, 9));
    if (v != V_UNTHREADED && v != V_ONE_WAY) {         /* a test the movs decide */
        put(g, BPFVM_JMP_IMM(BPFVM_JNE, 8, 2, 1));
        put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 0, 1000));
    }
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1));
    put(g, BPFVM_JA_OFF(0));
    patch_to(g, g->n - 1, head);
    size_t out = g->n;
    put(g, BPFVM_EXIT());
    patch_to(g, exit_jump, out);
    for (size_t k = 0; k < nt; k++)
        patch_to(g, to_tail[k], tail);
}

/* V_BLOCK: a backward jump to a short block (three operations and a
 * conditional jump), which the JIT copies in place of the jump. */
static void build_block(prog *g)
{
    start(g);
    put(g, BPFVM_JMP_REG(BPFVM_JGE, 6, 7, 0));
    size_t out1 = g->n - 1;
    put(g, BPFVM_JA_OFF(0));                           /* over the block */
    size_t over = g->n - 1, blk = g->n;
    put(g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 8));          /* the block: r0 += r8, ^= r9; next */
    put(g, BPFVM_ALU64_REG(BPFVM_XOR, 0, 9));
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1));
    put(g, BPFVM_JMP_REG(BPFVM_JGE, 6, 7, 0));
    size_t out2 = g->n - 1, first = g->n;
    patch_to(g, over, first);
    put(g, BPFVM_LDX_MEM(BPFVM_B, 3, 6, 0));
    put(g, BPFVM_MOV64_IMM(8, 1));
    put(g, BPFVM_MOV64_REG(9, 3));
    put(g, BPFVM_JMP_IMM(BPFVM_JGT, 3, 'm', 0));       /* back to the block */
    patch_to(g, g->n - 1, blk);
    put(g, BPFVM_ALU64_IMM(BPFVM_MUL, 0, 3));
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1));
    put(g, BPFVM_JMP_REG(BPFVM_JLT, 6, 7, 0));
    patch_to(g, g->n - 1, first);
    size_t out = g->n;
    put(g, BPFVM_EXIT());
    patch_to(g, out1, out);
    patch_to(g, out2, out);
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(void)
{
    uint8_t in[64];
    for (int v = 0; v < NV; v++) {
        prog g;
        if (v == V_BLOCK)
            build_block(&g);
        else
            build(&g, v);
        bpfvm_vm *vm[NENG];
        for (int e = 0; e < NENG; e++)
            vm[e] = jit_test_vm(g.p, g.n, e, e == ENG_BUDGET ? 100000 : 0, true);
        for (int trial = 0; trial < 400; trial++) {
            size_t len = (size_t)(next() % sizeof in);
            for (size_t k = 0; k < len; k++) {           /* mostly the letters the chain tests */
                static const char pick[] = "aamq0z!q\x77 m";
                uint64_t r = next();
                in[k] = r % 3 ? (uint8_t)pick[r % (sizeof pick - 1)] : (uint8_t)(r >> 8);
            }
            uint64_t want = 0, got = 0;
            int rc0 = vm[ENG_INTERP] ? jit_test_run(vm[ENG_INTERP], ENG_INTERP, in, len, &want) : -1;
            CHECK(rc0 == 0, "%s: interpreter rc %d", names[v], rc0);
            for (int e = 1; e < NENG; e++) {
                if (!vm[e])
                    continue;
                int rc = jit_test_run(vm[e], e, in, len, &got);
                CHECK(rc == 0 && got == want, "%s, engine %d, %zu bytes: rc %d r0 %#llx, want %#llx",
                      names[v], e, len, rc, (unsigned long long)got, (unsigned long long)want);
            }
        }
        for (int e = 0; e < NENG; e++)
            bpfvm_destroy(vm[e]);
    }
    return TEST_END();
}
