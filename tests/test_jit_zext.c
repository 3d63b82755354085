/* test_jit_zext.c - `mov d, s; and d, 0xff` (or 0xffff), clang's
 * zero-extension of a byte or halfword (fsm's character classes), which the
 * x86-64 JIT emits as one movzx: every width of the mov and of the and, the
 * masks that do and do not qualify, d equal to s, source values whose high
 * bits differ, the register read afterwards, a jeq/jne on d right after
 * (which may take the flags of an and) and a jump onto the and. The
 * interpreter and the JIT (checked, unchecked, blinded) must agree, and the
 * values must be the ones computed here. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

static const uint64_t values[] = { 0, 0x7f, 0x80, 0xff, 0x100, 0x1234, 0xffff, 0x18000,
                                   0xffffffff80000080ull, 0x8000000000000000ull,
                                   0xfedcba9876543210ull, 0xffffffffffffffffull };

/* r0 for mov (64/32) d, s; and (64/32) d, mask; then (jump_after) if d == 0
 * goto +1; r0 = d * 3 + 1 + s */
static uint64_t expect(uint64_t v, bool mov64, bool and64, int32_t mask, bool same, int jump)
{
    uint64_t d = mov64 ? v : (uint32_t)v, s = same ? 0 : v;
    d = and64 ? d & (uint64_t)(int64_t)mask : (uint32_t)d & (uint32_t)mask;
    if (same)
        s = d;
    if (jump == 1 && d == 0)
        return 7;
    return d * 3 + 1 + s;
}

int main(void)
{
    static const int32_t masks[] = { 0xff, 0xffff, 0xfe, 0x1ff, 0x7fff };
    static const unsigned flags[] = { 0, BPFVM_JIT_BLIND };
    for (size_t vi = 0; vi < sizeof values / sizeof values[0]; vi++)
        for (int form = 0; form < 4; form++)
            for (size_t mi = 0; mi < sizeof masks / sizeof masks[0]; mi++)
                for (int same = 0; same < 2; same++)
                    for (int jump = 0; jump < 3; jump++) {
                        bool mov64 = form & 1, and64 = form & 2;
                        int d = 3, s = same ? 3 : 4;
                        bpfvm_insn one[] = { BPFVM_LD_IMM64(s, values[vi]) };
                        bpfvm_insn p[16];
                        size_t n = 0;
                        p[n++] = one[0];
                        p[n++] = one[1];
                        p[n++] = BPFVM_MOV64_IMM(0, 7);
                        if (!same)
                            p[n++] = BPFVM_MOV64_IMM(d, 0);
                        /* jump 2: a jump onto the and (taken when s != 0) */
                        p[n++] = BPFVM_JMP_IMM(BPFVM_JNE, s, 0, jump == 2 ? 1 : 0);
                        p[n++] = mov64 ? BPFVM_MOV64_REG(d, s) : BPFVM_MOV32_REG(d, s);
                        p[n++] = and64 ? BPFVM_ALU64_IMM(BPFVM_AND, d, masks[mi])
                                       : BPFVM_ALU32_IMM(BPFVM_AND, d, masks[mi]);
                        if (jump == 1)
                            p[n++] = BPFVM_JMP_IMM(BPFVM_JEQ, d, 0, 4);
                        p[n++] = BPFVM_MOV64_REG(0, d);
                        p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, 0, 3);
                        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 0, 1);
                        p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, s);
                        p[n++] = BPFVM_EXIT();
                        uint64_t want = expect(values[vi], mov64, and64, masks[mi], same, jump);
                        if (jump == 2 && values[vi] != 0) {
                            /* the jump skips the mov: d keeps 0 (and with d = 0) */
                            uint64_t dv = same ? (and64 ? values[vi] & (uint64_t)(int64_t)masks[mi]
                                                        : (uint32_t)values[vi] & (uint32_t)masks[mi])
                                               : 0;
                            want = dv * 3 + 1 + (same ? dv : values[vi]);
                        }
                        bpfvm_vm *vm = bpfvm_create();
                        CHECK(bpfvm_load(vm, p, n * sizeof p[0]) == 0, "load: %s",
                              bpfvm_last_error(vm)->message);
                        uint64_t r0 = 0;
                        CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == want,
                              "interpreter: value %zu form %d mask %#x same %d jump %d: %#llx, "
                              "want %#llx", vi, form, (unsigned)masks[mi], same, jump,
                              (unsigned long long)r0, (unsigned long long)want);
                        for (int e = 0; e < 3; e++) {
                            bpfvm_set_checked(vm, e != 2);
                            r0 = 0;
                            CHECK(bpfvm_compile(vm, flags[e == 1]) == 0 &&
                                      bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 &&
                                      r0 == want,
                                  "JIT %d: value %zu form %d mask %#x same %d jump %d: %#llx, "
                                  "want %#llx", e, vi, form, (unsigned)masks[mi], same, jump,
                                  (unsigned long long)r0, (unsigned long long)want);
                        }
                        bpfvm_destroy(vm);
                    }
#if defined(__x86_64__)
    /* mov r0, r1; and r0, 0xff -> movzx eax, sil (40 0f b6 c6) */
    bpfvm_insn p[] = { BPFVM_MOV64_REG(0, 1), BPFVM_ALU64_IMM(BPFVM_AND, 0, 0xff), BPFVM_EXIT() };
    bpfvm_vm *vm = bpfvm_create();
    size_t size = 0;
    CHECK(bpfvm_load(vm, p, sizeof p) == 0 && bpfvm_compile(vm, 0) == 0, "compile");
    const uint8_t *code = bpfvm_jit_code(vm, &size);
    static const uint8_t movzx[] = { 0x40, 0x0f, 0xb6, 0xc6 };
    bool found = false;
    for (size_t i = 0; code && i + 4 <= size; i++)
        found |= memcmp(code + i, movzx, 4) == 0;
    CHECK(found, "mov + and 0xff as movzx");
    bpfvm_destroy(vm);
#endif
    return TEST_END();
}
