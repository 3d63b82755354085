/* test_threads.c - one loaded VM, many threads running it at once.
 *
 * Eight threads share two VMs (each loaded and compiled once) and run them
 * over and over, alternating the interpreter and the JIT, each thread with
 * its own input memory and error record:
 *   - "sum": a loop over the input, the stack, a local call and a helper
 *     with a user pointer; every other run gets memory 8 bytes too short and
 *     must fault at the same instruction and address. Every result checked.
 *   - "atomics": atomic add, fetch-add (32-bit), a compare-and-exchange loop
 *     and or, on counters shared by all threads (a region of the VM); the
 *     totals must be exact.
 * `make tsan` builds and runs this test under ThreadSanitizer. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define THREADS 8
#define RUNS 2000
#define LOOPS 50 /* iterations of the atomics program per run */
#define SUM_FAULT_INSN 12

static const char sum_text[] =
    "mov r6, r1\n"
    "mov r7, r2\n"
    "mov r0, 0\n"
    "mov r3, 0\n"
    "loop:\n"
    "jge r3, r7, done\n"
    "mov r4, r6\n"
    "add r4, r3\n"
    "ldxb r5, [r4]\n"
    "add r0, r5\n"
    "add r3, 1\n"
    "ja loop\n"
    "done:\n"
    "stxdw [r10-8], r0\n"
    "ldxdw r1, [r6+64]\n" /* insn 12: faults when the memory is 64 bytes */
    "ldxdw r0, [r10-8]\n"
    "add r1, r0\n"
    "call local twice\n"
    "mov r1, r0\n"
    "call 50\n"
    "exit\n"
    "twice:\n"
    "mov r0, r1\n"
    "lsh r0, 1\n"
    "exit\n";

/* mem: [0] = address of the shared counters, [8] = this thread's bit. */
static const char atomics_text[] =
    "ldxdw r6, [r1]\n"
    "ldxdw r8, [r1+8]\n"
    "mov r7, 0\n"
    "loop:\n"
    "mov r2, 1\n"
    "lock add64 [r6], r2\n"
    "mov r2, 3\n"
    "lock fetch add32 [r6+8], r2\n"
    /* cmpxchg loop; the first guess read atomically (a fetch-add of 0):
     * plain loads racing with atomics would be the program's data race */
    "mov r0, 0\n"
    "lock fetch add64 [r6+16], r0\n"
    "retry:\n"
    "mov r9, r0\n"
    "mov r3, r0\n"
    "add r3, 5\n"
    "lock cmpxchg64 [r6+16], r3\n"
    "jne r0, r9, retry\n"
    "lock or64 [r6+24], r8\n"
    "add r7, 1\n"
    "jlt r7, 50, loop\n" /* LOOPS */
    "mov r0, r7\n"
    "exit\n";

static uint64_t shared[4]; /* counters of the atomics program */
static int helper_tag;

static uint64_t add_seven(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                          uint64_t r5)
{
    (void)r2, (void)r3, (void)r4, (void)r5;
    return r1 + (bpfvm_helper_user(ctx) == &helper_tag ? 7 : 1000);
}

static bpfvm_vm *sum_vm, *atomics_vm;

typedef struct {
    int id;
    int bad_results, bad_faults, bad_atomics;
    char first_problem[400];
} worker;

static void note(worker *w, const char *what, int run, int rc, const bpfvm_error *err)
{
    if (!w->first_problem[0])
        snprintf(w->first_problem, sizeof(w->first_problem), "thread %d run %d %s: %s (%s)",
                 w->id, run, what, bpfvm_errname(rc), err->message);
}

static void *work(void *arg)
{
    worker *w = arg;
    uint8_t mem[72];
    for (int run = 0; run < RUNS; run++) {
        int jit = run % 2;
        int (*fn)(bpfvm_vm *, void *, size_t, void *, size_t, uint64_t *, bpfvm_error *) =
            jit ? bpfvm_run_jit : bpfvm_run;
        bpfvm_error err;
        uint64_t r0 = 0, expect = 0;

        /* sum: its own bytes each run; every other run 8 bytes short */
        size_t len = (run / 2 + w->id) % 2 ? 64 : 72;
        for (size_t i = 0; i < sizeof(mem); i++) {
            mem[i] = (uint8_t)(w->id * 31 + run * 7 + (int)i);
            if (i < len)
                expect += mem[i];
        }
        uint64_t tail;
        memcpy(&tail, mem + 64, 8);
        expect = 2 * (expect + tail) + 7;
        int rc = fn(sum_vm, mem, len, NULL, 0, &r0, &err);
        if (len == 72 && (rc != 0 || r0 != expect)) {
            w->bad_results++;
            note(w, jit ? "sum (JIT)" : "sum", run, rc, &err);
        } else if (len == 64 && (rc != BPFVM_EMEMORY || err.insn != SUM_FAULT_INSN ||
                                 err.addr != (uint64_t)(uintptr_t)(mem + 64) || err.size != 8)) {
            w->bad_faults++;
            note(w, jit ? "sum fault (JIT)" : "sum fault", run, rc, &err);
        }

        /* atomics on the shared counters */
        uint64_t amem[2] = { (uint64_t)(uintptr_t)shared, 1ull << w->id };
        rc = fn(atomics_vm, amem, sizeof(amem), NULL, 0, &r0, &err);
        if (rc != 0 || r0 != LOOPS) {
            w->bad_atomics++;
            note(w, jit ? "atomics (JIT)" : "atomics", run, rc, &err);
        }
    }
    return NULL;
}

static bpfvm_vm *make_vm(const char *text, const char *name)
{
    bpfvm_vm *vm = bpfvm_create();
    int rc = bpfvm_register_helper(vm, 50, "add_seven", add_seven, &helper_tag);
    if (rc == 0)
        rc = bpfvm_set_budget(vm, 100000); /* metered JIT code too */
    if (rc == 0)
        rc = bpfvm_load_asm(vm, text, name);
    if (rc == 0)
        rc = bpfvm_compile(vm, 0);
    CHECK(rc == 0, "%s: %s", name, bpfvm_last_error(vm)->message);
    return vm;
}

int main(void)
{
    sum_vm = make_vm(sum_text, "sum.s");
    atomics_vm = make_vm(atomics_text, "atomics.s");
    CHECK(bpfvm_add_region(atomics_vm, shared, sizeof(shared), BPFVM_READ | BPFVM_WRITE) == 0,
          "region");

    pthread_t tid[THREADS];
    worker w[THREADS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        CHECK(pthread_create(&tid[i], NULL, work, &w[i]) == 0, "pthread_create %d", i);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        CHECK(w[i].bad_results == 0, "thread %d: %d wrong sums; %s", i, w[i].bad_results,
              w[i].first_problem);
        CHECK(w[i].bad_faults == 0, "thread %d: %d wrong faults; %s", i, w[i].bad_faults,
              w[i].first_problem);
        CHECK(w[i].bad_atomics == 0, "thread %d: %d failed atomics runs; %s", i,
              w[i].bad_atomics, w[i].first_problem);
    }
    const uint64_t n = (uint64_t)THREADS * RUNS * LOOPS;
    CHECK(shared[0] == n, "lock add64: %llu, expected %llu", (unsigned long long)shared[0],
          (unsigned long long)n);
    CHECK((uint32_t)shared[1] == (uint32_t)(3 * n) && shared[1] >> 32 == 0,
          "lock fetch add32: 0x%llx, expected 0x%llx", (unsigned long long)shared[1],
          (unsigned long long)(uint32_t)(3 * n));
    CHECK(shared[2] == 5 * n, "cmpxchg64 loop: %llu, expected %llu",
          (unsigned long long)shared[2], (unsigned long long)(5 * n));
    CHECK(shared[3] == (1u << THREADS) - 1, "lock or64: 0x%llx", (unsigned long long)shared[3]);
    bpfvm_destroy(sum_vm);
    bpfvm_destroy(atomics_vm);
    return TEST_END();
}
