/* fuzz_diff.c - arbitrary bytes -> load -> interpreter and JIT on the same
 * memory; the result, the error (code, instruction index, faulting address
 * and size) and the memory afterwards must be identical. A mismatch aborts
 * (a finding).
 *
 * Input: one option byte, then the bytecode.
 *   bit 0     JIT with constant blinding
 *   bits 1-2  run mode: raw, mbuff, fixed-mbuff, none
 *   bit 3     no verifier (only the checks that keep execution inside the
 *             program): the engines must still agree and stay confined
 *
 * Besides the input memory and the metadata buffer, a read-only and a
 * read-write region are registered; their addresses are in the first 16
 * bytes of both.
 *
 * Programs see host addresses, so a program may return or store a pointer
 * (r10, r1, ...). Both engines therefore get exactly the same addresses:
 * the input memory, metadata buffer and regions are static buffers, and the stack
 * area (big enough not to fit the VM's on-stack buffer) comes from one fixed
 * arena through the VM's allocator (a run allocates nothing else). Helpers whose result depends on the
 * clock or on global state are replaced by deterministic ones. */
#include <stdio.h>

#include "fuzz_common.h"

/* 1024-byte frames x (call depth 8 + 1) + the 32-byte fixed mbuff: more than
 * the VM keeps on the C stack, so each run allocates exactly this. */
#define STACK_SIZE 1024
#define FIXED_SIZE 32
#define AREA_SIZE (STACK_SIZE * 9 + FIXED_SIZE)

static _Alignas(16) uint8_t arena[AREA_SIZE];
/* The arena is handed out to the first allocation made during a run. */
static int arena_used, running;

static void *arena_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (running && !ptr && !arena_used) {
        if (size > AREA_SIZE)
            abort();
        arena_used = 1;
        return arena;
    }
    if (ptr == arena)
        abort(); /* the stack area is never resized */
    return realloc(ptr, size);
}

static void arena_free(void *user, void *ptr)
{
    (void)user;
    if (ptr == arena)
        arena_used = 0;
    else
        free(ptr);
}

static uint64_t fixed_clock(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                            uint64_t e)
{
    (void)ctx, (void)a, (void)b, (void)c, (void)d, (void)e;
    return 123456789;
}

static uint64_t fixed_rand(bpfvm_ctx *ctx, uint64_t min, uint64_t max, uint64_t c, uint64_t d,
                           uint64_t e)
{
    (void)ctx, (void)c, (void)d, (void)e;
    return min < max ? min : max;
}

/* Both engines are called through one pointer from one place. */
typedef int (*run_fn)(bpfvm_vm *, void *, size_t, void *, size_t, uint64_t *, bpfvm_error *);

/* The memory a program may touch besides its stack: the input memory, the
 * metadata buffer, a read-only and a read-write region. The first 16 bytes
 * of mem and mbuff hold the addresses of the two regions. */
enum { MEM, MBUFF, RO, RW, NAREAS };
static uint8_t areas[NAREAS][FUZZ_MEM];

typedef struct {
    int rc;
    uint64_t r0;
    bpfvm_error err;
    uint8_t areas[NAREAS][FUZZ_MEM];
} outcome;

static void run_once(run_fn fn, bpfvm_vm *vm, size_t seed, outcome *o)
{
    const uint64_t regions[2] = { (uintptr_t)areas[RO], (uintptr_t)areas[RW] };
    for (int a = 0; a < NAREAS; a++)
        fuzz_fill_mem(areas[a], seed + (size_t)a);
    memcpy(areas[MEM], regions, sizeof(regions));
    memcpy(areas[MBUFF], regions, sizeof(regions));
    memset(o, 0, sizeof(*o));
    running = 1;
    o->rc = fn(vm, areas[MEM], FUZZ_MEM, areas[MBUFF], FUZZ_MEM, &o->r0, &o->err);
    running = 0;
    memcpy(o->areas, areas, sizeof(areas));
}

static int same(const outcome *a, const outcome *b)
{
    if (a->rc != b->rc || memcmp(a->areas, b->areas, sizeof(a->areas)) != 0)
        return 0;
    if (a->rc == 0)
        return a->r0 == b->r0;
    return a->err.insn == b->err.insn && a->err.addr == b->err.addr && a->err.size == b->err.size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const bpfvm_allocator alloc = { arena_realloc, arena_free, NULL };
    if (size < 1)
        return 0;
    unsigned opts = data[0];
    data++, size--;

    bpfvm_vm *vm = bpfvm_create_ex(&alloc);
    if (!vm)
        abort();
    bpfvm_register_std_helpers(vm);
    bpfvm_register_helper(vm, BPFVM_HELPER_KTIME_GET_NS, "bpf_ktime_get_ns", fixed_clock, NULL);
    bpfvm_register_helper(vm, BPFVM_HELPER_RAND, "rand", fixed_rand, NULL);
    bpfvm_set_budget(vm, FUZZ_BUDGET);
    bpfvm_set_stack_size(vm, STACK_SIZE);
    bpfvm_add_region(vm, areas[RO], FUZZ_MEM, BPFVM_READ);
    bpfvm_add_region(vm, areas[RW], FUZZ_MEM, BPFVM_READ | BPFVM_WRITE);
    fuzz_set_mode(vm, opts >> 1);
    if (opts & 8)
        bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);

    if (bpfvm_load(vm, data, size - size % 8) != 0 ||
        bpfvm_compile(vm, opts & 1 ? BPFVM_JIT_BLIND : 0) != 0) {
        bpfvm_destroy(vm);
        return 0;
    }
    run_fn engines[2] = { bpfvm_run, bpfvm_run_jit };
    outcome o[2];
    for (int i = 0; i < 2; i++)
        run_once(engines[i], vm, size, &o[i]);
    if (!same(&o[0], &o[1])) {
        for (int i = 0; i < 2; i++)
            fprintf(stderr, "%-11s %s r0=0x%llx insn %lld addr 0x%llx size %llu (%s)\n",
                    i ? "JIT" : "interpreter", bpfvm_errname(o[i].rc),
                    (unsigned long long)o[i].r0, (long long)o[i].err.insn,
                    (unsigned long long)o[i].err.addr, (unsigned long long)o[i].err.size,
                    o[i].err.message);
        fprintf(stderr, "memory after the runs %s\n",
                memcmp(o[0].areas, o[1].areas, sizeof(o[0].areas)) ? "differs" : "is the same");
        abort();
    }
    bpfvm_destroy(vm);
    return 0;
}
