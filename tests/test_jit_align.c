/* test_jit_align.c - where the x86-64 JIT puts loop heads: a loop of at
 * most 32 bytes must not cross a 32-byte boundary, a loop of 33 to 60 bytes
 * must start a 64-byte line, also when the same head is the target of an
 * outer loop's back edge too far away to fit a line (the inner loop sizes
 * the alignment). Loops of 0..10 extra instructions after 0..15 instructions
 * before, with and without the outer loop; every program also gives the
 * interpreter's result in the JIT checked, unchecked, blinded and with a
 * budget.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "jit_test.h"
#include "test.h"

#define PROG_N 64
#define HEAD_MARK 0x5a5a5a5a /* r3 += HEAD_MARK starts the loop */
#define END_MARK 0x6b6b6b6b  /* r5 += END_MARK follows its back edge */

/* The program: `before` filler instructions, then the loop (head marked,
 * `body` more instructions, the counter and its back edge), the end mark,
 * and with outer, a stretch of code and a back edge to the same head. */
static size_t build(bpfvm_insn *p, unsigned before, unsigned body, bool outer)
{
    size_t n = 0;
    p[n++] = BPFVM_MOV64_IMM(0, 0);
    p[n++] = BPFVM_MOV64_IMM(3, 0);
    p[n++] = BPFVM_MOV64_IMM(4, 0);
    p[n++] = BPFVM_MOV64_IMM(5, 0);
    p[n++] = BPFVM_MOV64_IMM(6, 0);
    p[n++] = BPFVM_MOV64_IMM(7, 0);
    for (unsigned k = 0; k < before; k++)
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1);
    size_t head = n;
    p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 3, HEAD_MARK);
    p[n++] = BPFVM_STX_MEM(BPFVM_DW, 10, 6, -8); /* (the JIT copies no block holding it) */
    for (unsigned k = 0; k < body; k++)
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 6, (int32_t)k + 1);
    p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 4, 1);
    p[n] = BPFVM_JMP_IMM(BPFVM_JLT, 4, 5, (int16_t)(head - n - 1));
    n++;
    p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 5, END_MARK);
    if (outer) {
        for (unsigned k = 0; k < 12; k++)
            p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 0, 0x22222222);
        p[n++] = BPFVM_MOV64_IMM(4, 0);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 7, 1);
        p[n] = BPFVM_JMP_IMM(BPFVM_JLT, 7, 3, (int16_t)(head - n - 1));
        n++;
    }
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 3);
    p[n++] = BPFVM_ALU64_REG(BPFVM_XOR, 0, 6);
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 5);
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 6, 10, -8);
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 6);
    p[n++] = BPFVM_EXIT();
    return n;
}

#if defined(__x86_64__)
/* The offset of the first `op reg, imm32` (REX.W 81 /modrm imm32) with
 * immediate v in code, or SIZE_MAX. */
static size_t find_imm(const uint8_t *code, size_t size, uint32_t v)
{
    for (size_t i = 3; i + 4 <= size; i++) {
        uint32_t w;
        memcpy(&w, code + i, 4);
        if (w == v && code[i - 2] == 0x81 && (code[i - 3] & 0xf8) == 0x48)
            return i - 3;
    }
    return SIZE_MAX;
}
#endif

static void test_layout(void)
{
    bpfvm_insn p[PROG_N];
#if defined(__x86_64__)
    unsigned short_loops = 0, line_loops = 0;
#endif
    for (int outer = 0; outer < 2; outer++)
        for (unsigned body = 0; body <= 10; body++)
            for (unsigned before = 0; before < 16; before++) {
                size_t n = build(p, before, body, outer);
                uint64_t want = 0;
                bpfvm_vm *vm = jit_test_vm(p, n, ENG_INTERP, 0, true);
                CHECK(vm && jit_test_run(vm, ENG_INTERP, NULL, 0, &want) == 0, "interpreter");
                bpfvm_destroy(vm);
                for (int e = ENG_CHECKED; e < NENG; e++) {
                    uint64_t r0 = 0;
                    vm = jit_test_vm(p, n, e, e == ENG_BUDGET ? 100000 : 0, true);
                    int rc = vm ? jit_test_run(vm, e, NULL, 0, &r0) : -1000;
                    CHECK(rc == 0 && r0 == want, "before %u body %u outer %d engine %d: rc %d r0 %#llx, want %#llx",
                          before, body, outer, e, rc, (unsigned long long)r0,
                          (unsigned long long)want);
#if defined(__x86_64__)
                    size_t size = 0;
                    const uint8_t *code = vm && e == ENG_UNCHECKED ? bpfvm_jit_code(vm, &size) : NULL;
                    if (code) {
                        size_t head = find_imm(code, size, HEAD_MARK);
                        size_t end = find_imm(code, size, END_MARK);
                        CHECK(head < end && end != SIZE_MAX, "marks not found");
                        size_t len = end - head;
                        if (head < end && len <= 32) {
                            short_loops++;
                            CHECK(head % 32 + len <= 32,
                                  "before %u body %u outer %d: loop of %zu bytes at %#zx crosses 32 bytes",
                                  before, body, outer, len, head);
                        } else if (head < end && len <= 60) { /* (sized before its jumps are
                                                                  * shortened: up to 4 more bytes) */
                            line_loops++;
                            CHECK(head % 64 == 0,
                                  "before %u body %u outer %d: loop of %zu bytes at %#zx not on a line",
                                  before, body, outer, len, head);
                        }
                    }
#endif
                    bpfvm_destroy(vm);
                }
            }
#if defined(__x86_64__)
    CHECK(short_loops >= 32 && line_loops >= 32, "loops of each size: %u short, %u a line",
          short_loops, line_loops);
#endif
}

int main(void)
{
    test_layout();
    return TEST_END();
}
