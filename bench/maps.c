/* maps.c - map operation costs: ns per lookup and update for an array and
 * a hash map (hits and misses), from the host API and from programs (the
 * helper call included) in the interpreter and the JIT, on one thread and
 * on two threads sharing the map, and the same program in the kernel
 * (BPF_PROG_TEST_RUN's duration; built with libbpf, else that column says
 * "-"). `make bench-maps`.
 *
 * The machine may be shared: bpfvm's figures are CPU time of the running
 * threads (CLOCK_THREAD_CPUTIME_ID), not wall time, and every figure is the
 * median of REPEAT measurements. The kernel's test run measures its own
 * time and stops its clock while the task is rescheduled. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

#include "bpfvm.h"

#define KEYS 1024
#define LOOP 4096  /* map calls per program run */
#define RUNS 200   /* program runs per thread and measurement */
#define REPEAT 5   /* measurements; the median is printed */

enum op { OP_LOOKUP, OP_UPDATE, OP_NONE };

/* for (i = 0; i < LOOP; i++) { key = (i * 7) & mask; op(map 0, &key, ...) };
 * OP_NONE calls bpf_get_smp_processor_id (the loop and a helper call
 * without a map: the baseline). The lddw's imm is map 0 (bpfvm) or the
 * map's fd (the kernel). */
static void program(bpfvm_insn *out, size_t *n, enum op op, int map)
{
    const bpfvm_insn prog[] = {
        BPFVM_MOV64_IMM(6, 0),                                   /* i */
        BPFVM_ST_MEM(BPFVM_DW, 10, -16, 1),                      /* value */
        BPFVM_MOV64_REG(1, 6),                                   /* loop: */
        BPFVM_ALU64_IMM(BPFVM_MUL, 1, 7),
        BPFVM_ALU64_IMM(BPFVM_AND, 1, 2 * KEYS - 1),
        BPFVM_STX_MEM(BPFVM_W, 10, 1, -4),
        BPFVM_LD_MAP_FD(1, map),
        BPFVM_MOV64_REG(2, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
        BPFVM_MOV64_REG(3, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 3, -16),
        BPFVM_MOV64_IMM(4, 0),
        BPFVM_CALL_HELPER(op == OP_NONE ? 8 : op == OP_UPDATE ? 2 : 1),
        BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1),
        BPFVM_JMP_IMM(BPFVM_JLT, 6, LOOP, -14),
        BPFVM_MOV64_IMM(0, 2),                                   /* XDP_PASS */
        BPFVM_EXIT(),
    };
    memcpy(out, prog, sizeof(prog));
    *n = sizeof(prog) / sizeof(prog[0]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One thread of a measurement: bpfvm (vm) or the kernel (fd); *ns gets its
 * ns per map call (<0: failed). */
typedef struct job {
    bpfvm_vm *vm;
    int jit, fd;
    double ns;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    uint64_t r0;
    if (j->vm) {
        double t0 = cpu_ns();
        for (int i = 0; i < RUNS; i++)
            if ((j->jit ? bpfvm_run_jit : bpfvm_run)(j->vm, NULL, 0, NULL, 0, &r0, NULL))
                return j->ns = -1, NULL;
        j->ns = (cpu_ns() - t0) / ((double)RUNS * LOOP);
        return NULL;
    }
#ifdef HAVE_LIBBPF
    unsigned char pkt[64] = { 0 };
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
                .repeat = RUNS);
    j->ns = bpf_prog_test_run_opts(j->fd, &o) ? -1 : (double)o.duration / LOOP;
#endif
    return NULL;
}

/* Median ns per map call with `threads` threads (each thread's own time). */
static double measure(bpfvm_vm *vm, int jit, int fd, int threads)
{
    double v[REPEAT];
    for (int r = 0; r < REPEAT; r++) {
        job j[2] = { { vm, jit, fd, 0 }, { vm, jit, fd, 0 } };
        pthread_t t[2];
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, run_job, &j[i]);
        v[r] = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(t[i], NULL);
            if (j[i].ns < 0)
                return -1;
            v[r] += j[i].ns / threads;
        }
    }
    return median(v, REPEAT);
}

/* The program in the kernel on the kernel's copy of the map: its fd, or
 * -1 (no libbpf, or the kernel refused). */
static int kernel_prog(int map_fd, enum op op)
{
#ifdef HAVE_LIBBPF
    bpfvm_insn insns[32];
    size_t n;
    if (map_fd < 0)
        return -1;
    program(insns, &n, op, map_fd);
    return bpf_prog_load(BPF_PROG_TYPE_XDP, "bench_maps", "GPL", (const struct bpf_insn *)insns,
                         n, NULL);
#else
    (void)map_fd, (void)op;
    return -1;
#endif
}

/* The kernel's copy of a map (filled as bpfvm's), or -1. */
static int kernel_map(bpfvm_map *m)
{
#ifdef HAVE_LIBBPF
    const bpfvm_map_def *d = bpfvm_map_get_def(m);
    int fd = bpf_map_create((enum bpf_map_type)d->type, NULL, d->key_size, d->value_size,
                            d->max_entries, NULL);
    uint32_t k, next;
    uint64_t v;
    for (void *prev = NULL; fd >= 0 && bpfvm_map_next_key(m, prev, &next) == 0; prev = &k) {
        k = next;
        if (bpfvm_map_lookup(m, &k, &v) || bpf_map_update_elem(fd, &k, &v, 0))
            break;
    }
    return fd;
#else
    (void)m;
    return -1;
#endif
}

/* ns per host call over keys 0..2*KEYS-1 (half present), CPU time, median */
static double host_ns(bpfvm_map *m, enum op op)
{
    double v[REPEAT];
    for (int r = 0; r < REPEAT; r++) {
        uint64_t x = 1;
        int n = 0;
        double t0 = cpu_ns();
        for (int k = 0; k < 200; k++)
            for (uint32_t i = 0; i < 2 * KEYS; i++)
                n += op == OP_UPDATE ? bpfvm_map_update(m, &i, &x, 0) == 0
                                     : bpfvm_map_lookup(m, &i, &x) == 0;
        (void)n;
        v[r] = (cpu_ns() - t0) / (200.0 * 2 * KEYS);
    }
    return median(v, REPEAT);
}

/* A figure, or "-" where there is none (< 0). */
static void cell(double v, int width)
{
    if (v < 0)
        printf(" %*s", width, "-");
    else
        printf(" %*.1f", width, v);
}

static void row(const char *name, const char *opname, bpfvm_map *m, enum op op, double host)
{
    bpfvm_insn insns[32];
    size_t n;
    double f[6];
    program(insns, &n, op, 0);
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    bpfvm_set_mode(vm, BPFVM_MODE_NONE);
    bpfvm_set_cpu(vm, 0);
    int kmap = kernel_map(m), kfd = kernel_prog(kmap, op);
    if (bpfvm_load_maps(vm, insns, n * sizeof(*insns), &m, 1) || bpfvm_compile(vm, 0)) {
        printf("%-6s %-7s cannot load: %s\n", name, opname, bpfvm_last_error(vm)->message);
    } else {
        for (int t = 1; t <= 2; t++) {
            f[3 * (t - 1)] = measure(vm, 0, -1, t);
            f[3 * (t - 1) + 1] = measure(vm, 1, -1, t);
            f[3 * (t - 1) + 2] = kfd >= 0 ? measure(NULL, 0, kfd, t) : -1;
        }
        printf("%-6s %-7s", name, opname);
        cell(host, 6);
        for (int k = 0; k < 6; k++)
            cell(f[k], 8);
        printf("\n");
    }
    if (kfd >= 0)
        close(kfd);
    if (kmap >= 0)
        close(kmap);
    bpfvm_destroy(vm);
}

int main(void)
{
    bpfvm_map_def ad = { BPFVM_MAP_ARRAY, 4, 8, KEYS, 0 }, hd = { BPFVM_MAP_HASH, 4, 8, KEYS, 0 };
    bpfvm_map *a, *h;
    if (bpfvm_map_create(&ad, "array", &a, NULL) || bpfvm_map_create(&hd, "hash", &h, NULL))
        return 1;
    uint64_t v = 1;
    for (uint32_t k = 0; k < KEYS; k++) { /* even keys of 0..2*KEYS-1 hit half the time */
        bpfvm_map_update(a, &k, &v, 0);
        bpfvm_map_update(h, &(uint32_t){ k * 2 }, &v, 0);
    }
    printf("ns per call (CPU time, median of %d); keys 0..%d, half of them present (array: "
           "the lower half); *2: two threads on one map, per thread\n", REPEAT, 2 * KEYS - 1);
    printf("%-6s %-7s %6s %8s %8s %8s %8s %8s %8s\n", "map", "op", "host", "interp", "jit",
           "kernel", "interp*2", "jit*2", "kernel*2");
    row("-", "loop", a, OP_NONE, -1);
    bpfvm_map *maps[2] = { a, h };
    for (int mi = 0; mi < 2; mi++)
        for (int op = OP_LOOKUP; op <= OP_UPDATE; op++)
            row(mi ? "hash" : "array", op == OP_UPDATE ? "update" : "lookup", maps[mi],
                (enum op)op, host_ns(maps[mi], (enum op)op));
    bpfvm_map_unref(a);
    bpfvm_map_unref(h);
    return 0;
}
