/* fuzz_elf.c - arbitrary bytes as an ELF object: list its programs, load the
 * default one, run it with a budget in the interpreter and the JIT. */
#include "fuzz_common.h"

static void count_prog(void *user, const char *section, const char *function, size_t n)
{
    (void)section, (void)function, (void)n;
    ++*(int *)user;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bpfvm_vm *vm = fuzz_vm();
    bpfvm_error err;
    uint8_t mem[FUZZ_MEM];
    uint64_t r0;
    int progs = 0;

    bpfvm_elf_list(data, size, count_prog, &progs, &err);
    fuzz_fill_mem(mem, size);
    if (bpfvm_load_elf(vm, data, size, NULL, NULL) == 0) {
        bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err);
        if (bpfvm_compile(vm, 0) == 0)
            bpfvm_run_jit(vm, mem, sizeof(mem), NULL, 0, &r0, &err);
    }
    bpfvm_destroy(vm);
    return 0;
}
