/* fuzz_diff.c - arbitrary bytes -> load -> interpreter and JIT on the same
 * memory; the result, the error code and instruction index, and the memory
 * afterwards must be identical. A mismatch aborts (a finding). */
#include <stdio.h>

#include "fuzz_common.h"

/* Both engines are called through one pointer from one place, so they see
 * the same addresses for the stack and the memory. */
typedef int (*run_fn)(bpfvm_vm *, void *, size_t, void *, size_t, uint64_t *, bpfvm_error *);

static int run_once(run_fn fn, bpfvm_vm *vm, uint8_t *mem, uint64_t *r0, bpfvm_error *err)
{
    memset(err, 0, sizeof(*err));
    *r0 = 0;
    return fn(vm, mem, FUZZ_MEM, NULL, 0, r0, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t mem[FUZZ_MEM];
    uint8_t after_interp[FUZZ_MEM];
    bpfvm_vm *vm = fuzz_vm();
    bpfvm_error e1, e2;
    uint64_t r1, r2;

    if (bpfvm_load(vm, data, size - size % 8) != 0 || bpfvm_compile(vm, 0) != 0) {
        bpfvm_destroy(vm);
        return 0;
    }
    run_fn engines[2] = { bpfvm_run, bpfvm_run_jit };
    fuzz_fill_mem(mem, size);
    int rc1 = run_once(engines[0], vm, mem, &r1, &e1);
    memcpy(after_interp, mem, sizeof(mem));
    fuzz_fill_mem(mem, size);
    int rc2 = run_once(engines[1], vm, mem, &r2, &e2);
    if (rc1 != rc2 || (rc1 == 0 && r1 != r2) || (rc1 != 0 && e1.insn != e2.insn) ||
        memcmp(after_interp, mem, sizeof(mem)) != 0) {
        fprintf(stderr, "mismatch: interpreter %s r0=0x%llx insn %lld (%s)\n"
                        "           JIT         %s r0=0x%llx insn %lld (%s)\n",
                bpfvm_errname(rc1), (unsigned long long)r1, (long long)e1.insn, e1.message,
                bpfvm_errname(rc2), (unsigned long long)r2, (long long)e2.insn, e2.message);
        abort();
    }
    bpfvm_destroy(vm);
    return 0;
}
