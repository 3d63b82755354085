/* test_jit_bittest.c - clang's bit test of a switch's case cluster,
 * `r2 = 1; r2 <<= r3; r2 &= MASK; if r2 != 0 goto case`, which the x86-64
 * JIT emits as `bt mask, r3; jc`. Widths 64 (lsh, and, jump), 32, and 32-bit
 * operations with a 64-bit jump; jeq and jne; the mask as an immediate
 * (positive, negative: sign-extended in 64 bits), in a register, or from an
 * lddw between the shift and the and (its register also written after the
 * and: bt reads the number from r11); a mov between the and and the jump
 * (emitted before the bt); bit numbers at and past 31, 32, 63, 64 and with
 * high bits (lsh masks the count as bt does). Where the shape must not be
 * taken (the result is still right): 64-bit operations tested by a 32-bit
 * jump, the shifted register read after the
 * jump (on either way), a jump landing on the and, the mask's register
 * written after the and, the bit number's register written between the
 * shift and the and. The interpreter and the JIT (checked, unchecked,
 * blinded, with a budget) must agree with the values computed here; on
 * x86-64 the bt is in the code exactly where it applies. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#define PROG_MAX 32
#include "jit_test.h"
#include "test.h"

static const uint64_t bits[] = { 0, 1, 5, 29, 31, 32, 33, 40, 61, 63, 64, 65, 0xffffffffull,
                                 0x100000003ull, 0xffffffffffffffc5ull };
static const uint64_t masks[] = { 0x3000240000000000ull, 0xffffffffull, 0x80000001ull, 0,
                                  ~0ull, 0x8000000000000021ull };
static const int32_t imms[] = { 0x3000240, -8, INT32_MIN, 0x22 };
#define LDDW_MASK 0x3000240000000041ull
#define NBITS (sizeof bits / sizeof bits[0])
#define NMASKS (sizeof masks / sizeof masks[0])
#define NIMMS (sizeof imms / sizeof imms[0])

enum { V_IMM, V_REG, V_LDDW, V_LDDW_AFTER, V_READ_TAKEN, V_READ_AFTER, V_LANDING, V_MASK_AFTER,
       V_B_WRITTEN, NV };
static const char *const v_names[NV] = {
    "mask immediate", "mask in a register", "mask from an lddw",
    "mask from an lddw whose register is written after the and", "the register read where the jump goes",
    "the register read where it falls through", "a jump landing on the and",
    "the mask's register written after the and", "the bit number's register written before the and" };

/* Widths: all 64-bit; all 32-bit; 32-bit operations, 64-bit jump; 64-bit
 * operations, 32-bit jump (no bt: the bits above 31 are not tested). */
enum { W64, W32, W32_J64, W64_J32, NW };

/* r3 = the bit number, r4 = the register mask (input words 0, 1), r5 =
 * the landing's condition (word 2); r9 = 5 (set between the and and the
 * jump); r0 = 1 taken, 2 not, plus r9, plus r2 where read. */
static size_t build(int v, int w, bool eq, int32_t imm, bpfvm_insn *p)
{
    bool w64 = w == W64 || w == W64_J32;
    uint8_t alu = w64 ? BPFVM_ALU64 : BPFVM_ALU;
    uint8_t jmp = w == W32 || w == W64_J32 ? BPFVM_JMP32 : BPFVM_JMP;
    size_t n = 0, landing = 0;
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 3, 1, 0);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 4, 1, 8);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 5, 1, 16);
    p[n++] = BPFVM_MOV64_IMM(9, 0);
    p[n++] = BPFVM_MOV64_IMM(2, 1);
    if (v == V_LANDING) {
        landing = n;
        p[n++] = BPFVM_JMP_IMM(BPFVM_JNE, 5, 0, 0);      /* (over the shift, to the and) */
    }
    p[n++] = BPFVM_MOV64_IMM(2, 1);
    p[n++] = BPFVM_INSN(alu | BPFVM_LSH | BPFVM_X, 2, 3, 0, 0);
    if (v == V_B_WRITTEN)
        p[n++] = BPFVM_MOV64_IMM(3, 9);
    if (v == V_LDDW || v == V_LDDW_AFTER) {
        bpfvm_insn ld[2] = { BPFVM_LD_IMM64(6, LDDW_MASK) };
        p[n++] = ld[0];
        p[n++] = ld[1];
    }
    if (landing)
        p[landing].off = (int16_t)(n - landing - 1);
    if (v == V_IMM || v == V_READ_TAKEN || v == V_READ_AFTER || v == V_LANDING || v == V_B_WRITTEN)
        p[n++] = BPFVM_INSN(alu | BPFVM_AND | BPFVM_K, 2, 0, 0, imm);
    else
        p[n++] = BPFVM_INSN(alu | BPFVM_AND | BPFVM_X, 2, v == V_REG || v == V_MASK_AFTER ? 4 : 6,
                            0, 0);
    if (v == V_MASK_AFTER)
        p[n++] = BPFVM_MOV64_IMM(4, 0);
    if (v == V_LDDW_AFTER)
        p[n++] = BPFVM_MOV64_REG(6, 1);
    p[n++] = BPFVM_MOV64_IMM(9, 5);
    p[n++] = BPFVM_INSN(jmp | (eq ? BPFVM_JEQ : BPFVM_JNE) | BPFVM_K, 2, 0,
                        (int16_t)(v == V_READ_AFTER ? 4 : 3), 0);
    p[n++] = BPFVM_MOV64_IMM(0, 2);                      /* falls through */
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 9);
    if (v == V_READ_AFTER)
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 2);
    p[n++] = BPFVM_EXIT();
    p[n++] = BPFVM_MOV64_IMM(0, 1);                      /* taken */
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 9);
    if (v == V_READ_TAKEN)
        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 2);
    p[n++] = BPFVM_EXIT();
    return n;
}

static uint64_t expect(int v, int w, bool eq, int32_t imm, const uint64_t in[3])
{
    bool w64 = w == W64 || w == W64_J32;
    uint64_t b = in[0], a = 1, mask;
    if (v == V_LANDING && in[2] != 0)
        a = 1;                                           /* the shift jumped over */
    else
        a = w64 ? a << (b & 63) : (uint32_t)(1u << (b & 31));
    if (v == V_REG || v == V_MASK_AFTER)
        mask = in[1];
    else if (v == V_LDDW || v == V_LDDW_AFTER)
        mask = LDDW_MASK;
    else
        mask = (uint64_t)(int64_t)imm;
    a &= w64 ? mask : (uint32_t)mask;
    uint64_t tested = w == W32 || w == W64_J32 ? (uint32_t)a : a;
    bool taken = eq ? tested == 0 : tested != 0;
    if (taken)
        return 1 + 5 + (v == V_READ_TAKEN ? a : 0);
    return 2 + 5 + (v == V_READ_AFTER ? a : 0);
}

#if defined(__x86_64__)
/* Does the code hold a bt with a register bit number (0f a3)? */
static bool has_bt(bpfvm_vm *vm)
{
    size_t size = 0;
    const uint8_t *c = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; c && i + 2 <= size; i++)
        if (c[i] == 0x0f && c[i + 1] == 0xa3)
            return true;
    return false;
}
#endif

int main(void)
{
    bpfvm_insn p[PROG_MAX];
    for (int v = 0; v < NV; v++)
        for (int w = 0; w < NW; w++)
            for (int eq = 0; eq < 2; eq++)
                for (size_t k = 0; k < NIMMS; k++) {
                    int32_t imm = imms[k];
                    size_t n = build(v, w, eq, imm, p);
                    for (int e = 0; e < NENG; e++) {
                        bpfvm_vm *vm = jit_test_vm(p, n, e, e == ENG_BUDGET ? 1000 : 0, true);
                        if (!vm)
                            continue;
                        for (size_t b = 0; b < NBITS; b++)
                            for (size_t m = 0; m < NMASKS; m++) {
                                uint64_t in[3] = { bits[b], masks[m], (b + m) % 2 }, r0 = 0;
                                int rc = jit_test_run(vm, e, in, sizeof in, &r0);
                                uint64_t want = expect(v, w, eq, imm, in);
                                CHECK(rc == 0 && r0 == want,
                                      "%s, width %d, %s, imm %#x, engine %d, bit %#llx mask %#llx: "
                                      "rc %d r0 %#llx, want %#llx", v_names[v], w, eq ? "jeq" : "jne",
                                      (unsigned)imm, e, (unsigned long long)in[0],
                                      (unsigned long long)in[1], rc, (unsigned long long)r0,
                                      (unsigned long long)want);
                            }
#if defined(__x86_64__)
                        if (e == ENG_CHECKED || e == ENG_UNCHECKED)
                            CHECK(has_bt(vm) == (v <= V_LDDW_AFTER && w != W64_J32),
                                  "%s, width %d, %s: the bt %s", v_names[v], w, eq ? "jeq" : "jne",
                                  v <= V_LDDW_AFTER ? "missing" : "there");
#endif
                        bpfvm_destroy(vm);
                    }
                }
    return TEST_END();
}
