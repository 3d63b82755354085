/* test_map_threads.c - programs on several threads sharing maps: four
 * threads run a counter program (two on an interpreter VM, two on a JIT VM,
 * both given the same hash map and array) while a fifth inserts keys of
 * its own through the host API, then deletes and inserts them again and
 * again (their elements are reused while the programs' lookups, which take
 * no lock, walk the chains). Each run counts its key in the hash (an
 * atomic add on the looked-up value, or an insert with BPF_NOEXIST, again
 * as an add when another thread inserted first) and in the array through a
 * direct value address. The totals must be exact, and the host's values
 * untouched: a lookup that returned another key's element would break
 * both. `make tsan` runs this under ThreadSanitizer. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define THREADS 4
#define RUNS 3000
#define KEYS 16
#define HOST_KEYS 40
#define CHURN 10 /* rounds of deleting and inserting the host's keys, at least: it goes on
                  * while the programs run */

static int running = THREADS; /* workers not yet done */


static const bpfvm_insn prog[] = {
    BPFVM_LDX_MEM(BPFVM_W, 6, 1, 0),              /* 0: key from the input */
    BPFVM_STX_MEM(BPFVM_W, 10, 6, -4),
    BPFVM_ST_MEM(BPFVM_DW, 10, -16, 1),           /* value 1 */
    /* retry: */
    BPFVM_LD_MAP_FD(1, 0),                        /* 3 */
    BPFVM_MOV64_REG(2, 10),
    BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
    BPFVM_CALL_HELPER(1),                         /* lookup */
    BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0, 3),
    BPFVM_MOV64_IMM(1, 1),
    BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 0, 1, 0),
    BPFVM_JA_OFF(10),                             /* to count */
    BPFVM_LD_MAP_FD(1, 0),                        /* 12 */
    BPFVM_MOV64_REG(2, 10),
    BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
    BPFVM_MOV64_REG(3, 10),
    BPFVM_ALU64_IMM(BPFVM_ADD, 3, -16),
    BPFVM_MOV64_IMM(4, 1),                        /* BPF_NOEXIST */
    BPFVM_CALL_HELPER(2),
    BPFVM_JMP_IMM(BPFVM_JEQ, 0, -EEXIST, -18),    /* lost the race: retry */
    BPFVM_JMP_IMM(BPFVM_JNE, 0, 0, 5),            /* other failure: return it */
    /* count: */
    BPFVM_LD_MAP_VALUE(1, 1, 0),                  /* 21 */
    BPFVM_MOV64_IMM(2, 1),
    BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 1, 2, 0),
    BPFVM_MOV64_IMM(0, 0),
    BPFVM_EXIT(),
};

typedef struct worker {
    bpfvm_vm *vm;
    int jit, id, failures;
    bpfvm_map *hash;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < RUNS; i++) {
        uint32_t mem[2] = { (uint32_t)((i * 7 + w->id) % KEYS), 0 };
        uint64_t r0 = 1;
        bpfvm_error err;
        int rc = (w->jit ? bpfvm_run_jit : bpfvm_run)(w->vm, mem, sizeof(mem), NULL, 0, &r0, &err);
        if (rc != 0 || r0 != 0)
            w->failures++;
    }
    __atomic_sub_fetch(&running, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *run_host(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < CHURN || __atomic_load_n(&running, __ATOMIC_ACQUIRE); round++)
        for (uint32_t k = 1000; k < 1000 + HOST_KEYS; k++) {
            uint64_t v = 5;
            if ((round && bpfvm_map_delete(w->hash, &k) != 0) ||
                bpfvm_map_update(w->hash, &k, &v, 1) != 0)
                w->failures++;
        }
    return NULL;
}

int main(void)
{
    bpfvm_map_def hd = { BPFVM_MAP_HASH, 4, 8, KEYS + HOST_KEYS, 0 };
    bpfvm_map_def ad = { BPFVM_MAP_ARRAY, 4, 8, 1, 0 };
    bpfvm_map *maps[2];
    bpfvm_vm *vms[2];
    CHECK(bpfvm_map_create(&hd, "h", &maps[0], NULL) == 0, "hash");
    CHECK(bpfvm_map_create(&ad, "a", &maps[1], NULL) == 0, "array");
    int jit_ok = 1;
    for (int v = 0; v < 2; v++) {
        vms[v] = bpfvm_create();
        bpfvm_register_kernel_helpers(vms[v]);
        CHECK(bpfvm_load_maps(vms[v], prog, sizeof(prog), maps, 2) == 0, "load: %s",
              bpfvm_last_error(vms[v])->message);
        if (v == 1 && bpfvm_compile(vms[v], 0) != 0)
            jit_ok = 0; /* not x86-64: both run the interpreter */
    }
    pthread_t t[THREADS + 1];
    worker w[THREADS + 1];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){ vms[i % 2], i % 2 && jit_ok, i, 0, maps[0] };
        pthread_create(&t[i], NULL, run_worker, &w[i]);
    }
    w[THREADS] = (worker){ NULL, 0, THREADS, 0, maps[0] };
    pthread_create(&t[THREADS], NULL, run_host, &w[THREADS]);
    int failures = 0;
    for (int i = 0; i <= THREADS; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    CHECK(failures == 0, "%d failed runs or updates", failures);
    uint64_t sum = 0, v;
    for (uint32_t k = 0; k < KEYS; k++)
        if (bpfvm_map_lookup(maps[0], &k, &v) == 0)
            sum += v;
    CHECK(sum == (uint64_t)THREADS * RUNS, "hash total %llu", (unsigned long long)sum);
    uint32_t zero = 0, k;
    CHECK(bpfvm_map_lookup(maps[1], &zero, &v) == 0 && v == (uint64_t)THREADS * RUNS,
          "array total %llu", (unsigned long long)v);
    for (k = 1000; k < 1000 + HOST_KEYS; k++)
        CHECK(bpfvm_map_lookup(maps[0], &k, &v) == 0 && v == 5, "host key %u: %llu", k,
              (unsigned long long)v);
    for (int i = 0; i < 2; i++) {
        bpfvm_destroy(vms[i]);
        bpfvm_map_unref(maps[i]);
    }
    return TEST_END();
}
