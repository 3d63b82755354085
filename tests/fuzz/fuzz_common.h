/* fuzz_common.h - shared setup for the libFuzzer harnesses. */
#ifndef BPFVM_FUZZ_COMMON_H
#define BPFVM_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Instruction budget for fuzzed programs: small enough that loops end fast. */
#define FUZZ_BUDGET 20000
/* Size of the input memory handed to fuzzed programs. */
#define FUZZ_MEM 64

/* A VM set up the way every harness runs programs: std helpers, a budget,
 * a small read-write region of its own. */
static inline bpfvm_vm *fuzz_vm(void)
{
    bpfvm_vm *vm = bpfvm_create();
    if (!vm)
        abort();
    bpfvm_register_std_helpers(vm);
    bpfvm_set_budget(vm, FUZZ_BUDGET);
    return vm;
}

/* Run mode number 0..3: raw, mbuff, fixed-mbuff (32 bytes, data pointer at
 * 8, end at 16), none. */
static inline void fuzz_set_mode(bpfvm_vm *vm, unsigned n)
{
    static const bpfvm_mode modes[4] = { BPFVM_MODE_RAW, BPFVM_MODE_MBUFF,
                                         BPFVM_MODE_FIXED_MBUFF, BPFVM_MODE_NONE };
    if (modes[n & 3] == BPFVM_MODE_FIXED_MBUFF)
        bpfvm_set_fixed_mbuff(vm, 32, 8, 16);
    else
        bpfvm_set_mode(vm, modes[n & 3]);
}

/* Fill the memory image deterministically from the input's length. */
static inline void fuzz_fill_mem(uint8_t *mem, size_t size)
{
    for (size_t i = 0; i < FUZZ_MEM; i++)
        mem[i] = (uint8_t)(i * 37u + size);
}

#endif
