/* fuzz_bytecode.c - arbitrary bytes -> load (verify) -> interpret with a
 * budget. Any crash, sanitizer report or hang is a finding. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bpfvm_vm *vm = fuzz_vm();
    uint8_t mem[FUZZ_MEM];
    uint64_t r0;
    bpfvm_error err;

    fuzz_fill_mem(mem, size);
    /* The first byte picks the run mode and whether checks are on: checked
     * mode only, since unchecked mode trusts the program by definition. */
    if (size > 0) {
        bpfvm_set_mode(vm, (bpfvm_mode)(data[0] % 2 ? BPFVM_MODE_RAW : BPFVM_MODE_NONE));
        data++, size--;
    }
    if (bpfvm_load(vm, data, size - size % 8) == 0)
        bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err);
    bpfvm_destroy(vm);
    return 0;
}
