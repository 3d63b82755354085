/* engine_run.h - for the tests that compare the engines on random programs
 * (test_diff, test_jit_loops): their random numbers, and one run of an engine
 * on MEM_LEN bytes of input memory restored from `init` first, with
 * everything the comparison needs. Define MEM_LEN before including it. */
#ifndef BPFVM_TEST_ENGINE_RUN_H
#define BPFVM_TEST_ENGINE_RUN_H

#include <string.h>

#include "bpfvm.h"

/* xorshift64*: deterministic from the seed in *s */
static uint64_t xorshift64s(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

typedef int (*run_fn)(bpfvm_vm *, void *, size_t, void *, size_t, uint64_t *, bpfvm_error *);

typedef struct result {
    int rc;
    uint64_t r0;
    bpfvm_error err;
    uint8_t mem[MEM_LEN];    /* the memory afterwards */
} result;

/* Both engines run through this one function on the same buffer. */
static void run_once(run_fn fn, bpfvm_vm *vm, uint8_t *mem, const uint8_t *init, result *out)
{
    memcpy(mem, init, MEM_LEN);
    memset(&out->err, 0, sizeof(out->err));
    out->r0 = 0;
    out->rc = fn(vm, mem, MEM_LEN, NULL, 0, &out->r0, &out->err);
    memcpy(out->mem, mem, MEM_LEN);
}

#endif
