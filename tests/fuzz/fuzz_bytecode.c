/* fuzz_bytecode.c - arbitrary bytes -> load (verify) -> interpret with a
 * budget. Any crash, sanitizer report or hang is a finding. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bpfvm_vm *vm = fuzz_vm();
    uint8_t mem[FUZZ_MEM], mbuff[FUZZ_MEM];
    uint64_t r0;
    bpfvm_error err;

    fuzz_fill_mem(mem, size);
    fuzz_fill_mem(mbuff, size + 1);
    /* The first byte picks the run mode (checked mode only: unchecked mode
     * trusts the program by definition), the stack size, and whether the
     * verifier runs (without it only the checks that keep execution inside
     * the program remain). */
    if (size > 0) {
        fuzz_set_mode(vm, data[0] & 3);
        if (data[0] & 4)
            bpfvm_set_stack_size(vm, 8); /* the smallest frame */
        if (data[0] & 8)
            bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
        data++, size--;
    }
    if (bpfvm_load(vm, data, size - size % 8) == 0)
        bpfvm_run(vm, mem, sizeof(mem), mbuff, sizeof(mbuff), &r0, &err);
    bpfvm_destroy(vm);
    return 0;
}
