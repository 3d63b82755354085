/* test_regress.c - inputs the fuzzers found that data tests cannot express
 * (they need the verifier replaced, or look inside the VM). Each case names
 * the bug it guards against. */
#include <string.h>

#include "bpfvm.h"
#include "internal.h" /* vm->code */
#include "test.h"

/* Loaded without the verifier, an lddw whose second slot has a nonzero
 * opcode byte (0xff) left that byte in the pre-decoded code, where the
 * interpreter's decoder used it as a row id: a read past the end of the
 * opcode table (found by the bytecode fuzzer under UBSan). The second slot
 * must hold row 0, and both engines must run the program. */
static void test_lddw_second_slot_opcode(void)
{
    static const uint8_t prog[] = {
        0x18, 0x00, 0x00, 0x00, 0x78, 0x88, 0x99, 0xaa, /* lddw r0, ... */
        0xff, 0xff, 0xff, 0xfc, 0x44, 0x33, 0x22, 0x11, /* second slot, junk fields */
        0xd4, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, /* le64 r0 */
        0x95, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* exit, off = 256 */
    };
    for (unsigned op = 0; op < 256; op += 15) {
        uint8_t p[sizeof(prog)];
        memcpy(p, prog, sizeof(p));
        p[8] = (uint8_t)op;
        bpfvm_vm *vm = bpfvm_create();
        uint64_t r0 = 0;
        bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
        CHECK(bpfvm_load(vm, p, sizeof(p)) == 0, "load (second opcode 0x%02x): %s", op,
              bpfvm_last_error(vm)->message);
        CHECK(vm->code && vm->code[1].opcode == 0, "second slot row %d (opcode 0x%02x)",
              vm->code ? vm->code[1].opcode : -1, op);
        int rc = bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL);
        CHECK(rc == 0 && r0 == 0x11223344aa998878ull, "interpreter (0x%02x): %d 0x%llx", op, rc,
              (unsigned long long)r0);
        r0 = 0;
        rc = bpfvm_compile(vm, 0);
        if (rc == 0)
            rc = bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL);
        CHECK(rc == 0 && r0 == 0x11223344aa998878ull, "JIT (0x%02x): %d 0x%llx %s", op, rc,
              (unsigned long long)r0, bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);
    }
}

int main(void)
{
    test_lddw_second_slot_opcode();
    return TEST_END();
}
