/* maps.c - map operation costs: ns per lookup and update for an array and
 * a hash map (hits and misses), from the host API and from programs (the
 * helper call included) in the interpreter and the JIT, on one thread and
 * on two threads sharing the map. `make bench-maps`. The figures move with
 * the machine's load: repeat them before comparing. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bpfvm.h"

#define KEYS 1024
#define LOOP 4096 /* map calls per program run */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* for (i = 0; i < LOOP; i++) { key = (i * 7 + base) & mask; op(map 0, &key, ...) };
 * update 0: lookup, 1: update, 2: bpf_get_smp_processor_id (the loop and a
 * helper call without a map: the baseline) */
static int load(bpfvm_vm *vm, bpfvm_map *m, int update, uint32_t base)
{
    const bpfvm_insn prog[] = {
        BPFVM_MOV64_IMM(6, 0),                                   /* i */
        BPFVM_ST_MEM(BPFVM_DW, 10, -16, 1),                      /* value */
        BPFVM_MOV64_REG(1, 6),                                   /* loop: */
        BPFVM_ALU64_IMM(BPFVM_MUL, 1, 7),
        BPFVM_ALU64_IMM(BPFVM_ADD, 1, (int32_t)base),
        BPFVM_ALU64_IMM(BPFVM_AND, 1, 2 * KEYS - 1),
        BPFVM_STX_MEM(BPFVM_W, 10, 1, -4),
        BPFVM_LD_MAP_FD(1, 0),
        BPFVM_MOV64_REG(2, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
        BPFVM_MOV64_REG(3, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 3, -16),
        BPFVM_MOV64_IMM(4, 0),
        BPFVM_CALL_HELPER(update == 2 ? 8 : update ? 2 : 1),
        BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1),
        BPFVM_JMP_IMM(BPFVM_JLT, 6, LOOP, -15),
        BPFVM_MOV64_IMM(0, 0),
        BPFVM_EXIT(),
    };
    return bpfvm_load_maps(vm, prog, sizeof(prog), &m, 1);
}

typedef struct job {
    bpfvm_vm *vm;
    int jit, runs;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    uint64_t r0;
    for (int i = 0; i < j->runs; i++)
        (j->jit ? bpfvm_run_jit : bpfvm_run)(j->vm, NULL, 0, NULL, 0, &r0, NULL);
    return NULL;
}

/* ns of wall time per map call from programs, with `threads` threads on one VM */
static double prog_ns(bpfvm_map *m, int update, int jit, int threads)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    bpfvm_set_mode(vm, BPFVM_MODE_NONE);
    bpfvm_set_cpu(vm, 0);
    if (load(vm, m, update, 0) || (jit && bpfvm_compile(vm, 0))) {
        bpfvm_destroy(vm);
        return -1;
    }
    job j = { vm, jit, 200 };
    pthread_t t[2];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run_job, &j);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double ns = (now() - t0) / ((double)threads * j.runs * LOOP); /* wall time per call */
    bpfvm_destroy(vm);
    return ns;
}

/* ns per host call over keys 0..2*KEYS-1 (half present) */
static double host_ns(bpfvm_map *m, int update)
{
    uint64_t v = 1;
    int n = 0;
    double t0 = now();
    for (int r = 0; r < 200; r++)
        for (uint32_t k = 0; k < 2 * KEYS; k++)
            n += update ? bpfvm_map_update(m, &k, &v, 0) == 0 : bpfvm_map_lookup(m, &k, &v) == 0;
    (void)n;
    return (now() - t0) / (200.0 * 2 * KEYS);
}

int main(void)
{
    bpfvm_map_def ad = { BPFVM_MAP_ARRAY, 4, 8, KEYS, 0 }, hd = { BPFVM_MAP_HASH, 4, 8, KEYS, 0 };
    bpfvm_map *a, *h;
    if (bpfvm_map_create(&ad, "array", &a, NULL) || bpfvm_map_create(&hd, "hash", &h, NULL))
        return 1;
    uint64_t v = 1;
    for (uint32_t k = 0; k < KEYS; k++) /* even keys of 0..2*KEYS-1 hit half the time */
        bpfvm_map_update(h, &(uint32_t){ k * 2 }, &v, 0);
    printf("ns per call; keys 0..%d, half of them present (array: the lower half)\n",
           2 * KEYS - 1);
    printf("%-10s %-7s %8s %8s %8s %8s %8s\n", "map", "op", "host", "interp", "jit",
           "interp*2", "jit*2");
    printf("%-10s %-7s %8s %8.1f %8.1f %8.1f %8.1f\n", "(none)", "loop", "-", prog_ns(a, 2, 0, 1),
           prog_ns(a, 2, 1, 1), prog_ns(a, 2, 0, 2), prog_ns(a, 2, 1, 2));
    bpfvm_map *maps[2] = { a, h };
    for (int mi = 0; mi < 2; mi++)
        for (int up = 0; up < 2; up++)
            printf("%-10s %-7s %8.1f %8.1f %8.1f %8.1f %8.1f\n", mi ? "hash" : "array",
                   up ? "update" : "lookup", host_ns(maps[mi], up), prog_ns(maps[mi], up, 0, 1),
                   prog_ns(maps[mi], up, 1, 1), prog_ns(maps[mi], up, 0, 2),
                   prog_ns(maps[mi], up, 1, 2));
    bpfvm_map_unref(a);
    bpfvm_map_unref(h);
    return 0;
}
