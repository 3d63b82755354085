/* bench.c - the benchmark runner: native code vs the bpfvm interpreter and JIT.
 *
 * Every program of bench/progs/ exists twice: compiled natively into this
 * runner (a separate translation unit, -O2, noinline) and compiled by
 * clang -target bpf into DIR/NAME.bpf.o, which is loaded with
 * bpfvm_load_elf. Each is run in raw mode (r1 = mem, r2 = len) on the same
 * deterministic input; every result must equal the native one, else the
 * runner reports it and exits 1.
 *
 * Timing: CLOCK_MONOTONIC (--cputime: the thread CPU clock, which leaves out
 * time the runner spends descheduled) around a batch of executions sized so
 * one sample lasts at least --min-ms; the per-execution time is the median of
 * --samples samples, the engines' samples interleaved. Programs that write their input get a fresh copy before every
 * execution, in every engine; the cost of that copy (timed the same way) is
 * subtracted. Compile time is the median of several bpfvm_compile calls, and
 * compile throughput is measured on a large synthetic program.
 *
 *   bench [--check] [--json] [--cputime] [--dir DIR] [--only NAME,...] [--engines LIST]
 *         [--samples N] [--min-ms MS] [--synthetic N]
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm.h"
#include "progs/prog.h"

#ifndef BENCH_OBJDIR
#define BENCH_OBJDIR "build/bench"
#endif
#define SEED 0x9e3779b97f4a7c15ull

enum engine { NATIVE, INTERP, JIT, JIT_UNCHECKED, NENGINES };
static const char *const engine_names[NENGINES] = {"native", "interp", "jit", "unchecked"};

typedef struct program {
    const char *name;
    u64 (*native)(u8 *mem, u64 len);
    void (*input)(u8 *mem, u64 len, u64 seed);
    size_t size;
    int writes;
    uint8_t *pristine, *work; /* the input as generated; what a run sees */
    bpfvm_vm *vm;             /* interpreter and checked JIT */
    bpfvm_vm *vm_unchecked;   /* unchecked JIT */
    size_t insns;
    uint64_t executed;        /* BPF instructions one execution runs (about) */
    int have[NENGINES];       /* engine usable for this program */
    uint64_t expect;          /* native result */
    double ns[NENGINES];      /* median per execution (copy subtracted); <0 = not run */
    double copy_ns;           /* per-execution input copy, subtracted above */
    double compile_ns;        /* bpfvm_compile, checked */
} program;

#define BENCH_ENTRY(n, sz, wr) {.name = #n, .native = n, .input = n##_input, .size = sz, .writes = wr},
static program programs[] = {BENCH_PROGRAMS(BENCH_ENTRY)};
#define NPROGRAMS (sizeof(programs) / sizeof(programs[0]))

static struct {
    int check, json, cputime, samples, synthetic;
    double min_ns;
    const char *dir, *only;
    int engines[NENGINES];
} opt = {0, 0, 0, 11, 1000000, 20e6, BENCH_OBJDIR, NULL, {1, 1, 1, 1}};

static int passed, failed;
static volatile uint64_t sink; /* keeps every result alive */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(opt.cputime ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void check(int ok, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "FAIL %s: ", name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void *xmalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "bench: out of memory\n");
        exit(2);
    }
    return p;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Is `name` in the comma-separated `list`? */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !strncmp(p, name, n))
            return 1;
        p += k + (e != NULL);
    }
    return 0;
}

/* ---- one execution ------------------------------------------------------ */

static int execute(program *p, int engine, uint64_t *r0, bpfvm_error *err)
{
    if (p->writes)
        memcpy(p->work, p->pristine, p->size);
    switch (engine) {
    case NATIVE:
        *r0 = p->native(p->work, p->size);
        return 0;
    case INTERP:
        return bpfvm_run(p->vm, p->work, p->size, NULL, 0, r0, err);
    case JIT:
        return bpfvm_run_jit(p->vm, p->work, p->size, NULL, 0, r0, err);
    default:
        return bpfvm_run_jit(p->vm_unchecked, p->work, p->size, NULL, 0, r0, err);
    }
}

/* Time `iters` executions; -1 engine = the input copy alone. Returns ns per
 * execution, or a negative value after a failed run (reported). */
static double time_batch(program *p, int engine, long iters)
{
    bpfvm_error err;
    uint64_t r0 = 0, acc = 0;
    double t0 = now_ns();

    for (long i = 0; i < iters; i++) {
        if (engine < 0) {
            memcpy(p->work, p->pristine, p->size);
            __asm__ volatile("" : : "r"(p->work) : "memory");
            continue;
        }
        int rc = execute(p, engine, &r0, &err);
        if (rc || r0 != p->expect) {
            fprintf(stderr, "bench: %s/%s: %s (result 0x%llx, native 0x%llx)\n", p->name,
                    engine_names[engine], rc ? err.message : "result differs from native",
                    (unsigned long long)r0, (unsigned long long)p->expect);
            return -1;
        }
        acc += r0;
    }
    double t = (now_ns() - t0) / (double)iters;
    sink += acc;
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Batch size for which one sample lasts at least opt.min_ns; 0 after a
 * failed run. */
static long calibrate(program *p, int engine)
{
    long iters = 1;
    double t;

    for (;;) {
        if ((t = time_batch(p, engine, iters)) < 0)
            return 0;
        if (t * (double)iters >= opt.min_ns)
            return iters;
        long want = (long)(opt.min_ns / (t > 1 ? t : 1) * 1.2) + 1;
        iters = want > iters * 100 ? iters * 100 : want > iters ? want : iters * 2;
    }
}

/* Median ns per execution of each engine of `p` that is enabled (else -1),
 * and in ns[NENGINES] of the input copy alone (0 if the program does not
 * write its input). The samples of all engines are interleaved, so a burst
 * of load on the machine hits them alike. Returns -1 after a failed run. */
static int measure(program *p, double ns[NENGINES + 1])
{
    double sample[NENGINES + 1][64];
    long iters[NENGINES + 1];

    for (int k = 0; k <= NENGINES; k++) {
        int on = k == NENGINES ? p->writes : p->have[k] && opt.engines[k];
        ns[k] = k == NENGINES ? 0 : -1;
        iters[k] = on ? calibrate(p, k == NENGINES ? -1 : k) : -1;
        if (!iters[k])
            return -1;
    }
    for (int s = 0; s < opt.samples; s++)
        for (int k = 0; k <= NENGINES; k++)
            if (iters[k] > 0 && (sample[k][s] = time_batch(p, k == NENGINES ? -1 : k, iters[k])) < 0)
                return -1;
    for (int k = 0; k <= NENGINES; k++) {
        if (iters[k] < 0)
            continue;
        qsort(sample[k], (size_t)opt.samples, sizeof(double), cmp_double);
        ns[k] = sample[k][opt.samples / 2];
    }
    return 0;
}

/* ---- setup ---------------------------------------------------------------- */

/* A VM holding the program: `code` is raw bytecode, or NULL to load the
 * ELF object `obj` (entry = the program's name). */
static bpfvm_vm *load_vm(program *p, const bpfvm_insn *code, const uint8_t *obj, size_t len,
                         int checked)
{
    bpfvm_vm *vm = bpfvm_create();

    if (!vm) {
        fprintf(stderr, "bench: out of memory\n");
        exit(2);
    }
    if (bpfvm_set_checked(vm, checked) ||
        (code ? bpfvm_load(vm, code, len) : bpfvm_load_elf(vm, obj, len, NULL, p->name))) {
        check(0, p->name, "cannot load the program: %s", bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}

/* Compile. A JIT that does not exist for this machine (BPFVM_EUNSUPPORTED) is
 * noted once and shows as "-"; any other compile failure is an error. */
static int compile(const char *name, bpfvm_vm *vm)
{
    static int noted;
    int rc = bpfvm_compile(vm, 0);
    if (rc == BPFVM_EUNSUPPORTED) {
        if (!opt.json && !noted++)
            printf("note: no JIT: %s\n", bpfvm_last_error(vm)->message);
        return 0;
    }
    check(rc == 0, name, "bpfvm_compile: %s", bpfvm_last_error(vm)->message);
    return rc == 0;
}

/* Input, native result, and the two VMs (from `code`, else from the ELF
 * object DIR/NAME.bpf.o). */
static int setup(program *p, const bpfvm_insn *code, size_t code_len)
{
    char path[4096];
    size_t len = code_len;
    uint8_t *obj = NULL;

    p->pristine = xmalloc(p->size);
    p->work = xmalloc(p->size);
    p->input(p->pristine, p->size, SEED);
    memcpy(p->work, p->pristine, p->size);
    p->expect = p->native(p->work, p->size);
    p->have[NATIVE] = 1;

    snprintf(path, sizeof(path), "%s/%s.bpf.o", opt.dir, p->name);
    if (!code && !(obj = read_file(path, &len))) {
        check(0, p->name, "cannot read %s", path);
        return -1;
    }
    p->vm = load_vm(p, code, obj, len, 1);
    p->vm_unchecked = load_vm(p, code, obj, len, 0);
    free(obj);
    if (!p->vm || !p->vm_unchecked)
        return -1;
    bpfvm_program(p->vm, &p->insns);
    p->have[INTERP] = 1;
    p->have[JIT] = compile(p->name, p->vm);
    p->have[JIT_UNCHECKED] = compile(p->name, p->vm_unchecked);
    return 0;
}

/* --check: one execution per engine; the result must equal native, and a
 * program that does not write its input must leave it untouched. */
static void check_program(program *p)
{
    for (int e = INTERP; e < NENGINES; e++) {
        bpfvm_error err;
        uint64_t r0 = 0;

        if (!p->have[e] || !opt.engines[e])
            continue;
        memcpy(p->work, p->pristine, p->size);
        int rc = execute(p, e, &r0, &err);
        check(rc == 0 && r0 == p->expect, p->name, "%s: %s (result 0x%llx, native 0x%llx)",
              engine_names[e], rc ? err.message : "result differs from native",
              (unsigned long long)r0, (unsigned long long)p->expect);
        if (!p->writes)
            check(!memcmp(p->work, p->pristine, p->size), p->name,
                  "%s wrote its read-only input", engine_names[e]);
    }
}

/* Instructions one execution runs, found by bisecting the budget: a run
 * with budget B succeeds when the count at every backward jump and call
 * stays <= B, so the result may miss the few instructions after the last
 * backward jump. 0 if the budget does not behave. */
static uint64_t count_executed(program *p)
{
    uint64_t lo = 0, hi = 1024, r0;
    bpfvm_error err;
    int rc;

    /* invariant: budget hi is enough, budget lo is not */
    while ((rc = (bpfvm_set_budget(p->vm, hi), execute(p, INTERP, &r0, &err))) != 0) {
        if (rc != BPFVM_EBUDGET || hi > (1ull << 40))
            goto out;
        lo = hi;
        hi *= 2;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        bpfvm_set_budget(p->vm, mid);
        if ((rc = execute(p, INTERP, &r0, &err)) == 0)
            hi = mid;
        else if (rc == BPFVM_EBUDGET)
            lo = mid;
        else
            goto out;
    }
out:
    bpfvm_set_budget(p->vm, 0);
    return rc == 0 || rc == BPFVM_EBUDGET ? hi : 0;
}

static void measure_program(program *p)
{
    p->executed = count_executed(p);
    double ns[NENGINES + 1];
    if (measure(p, ns)) {
        failed++;
        return;
    }
    passed++;
    p->copy_ns = ns[NENGINES];
    for (int e = 0; e < NENGINES; e++)
        p->ns[e] = ns[e] < 0 ? -1 : ns[e] > p->copy_ns ? ns[e] - p->copy_ns : 0;
    /* compile time: median of a few compiles (code is replaced each time) */
    if (p->have[JIT] && opt.engines[JIT]) {
        double sample[15];
        for (int s = 0; s < 15; s++) {
            double t0 = now_ns();
            if (bpfvm_compile(p->vm, 0))
                return;
            sample[s] = now_ns() - t0;
        }
        qsort(sample, 15, sizeof(double), cmp_double);
        p->compile_ns = sample[7];
    }
}

/* The fixed cost of one call: `r0 = 0; exit` on an 8-byte input. */
static u64 empty(u8 *mem, u64 len)
{
    (void)mem;
    (void)len;
    return 0;
}

static void empty_input(u8 *mem, u64 len, u64 seed)
{
    (void)seed;
    memset(mem, 0, len);
}

static program empty_program = {.name = "(empty)", .native = empty, .input = empty_input, .size = 8};

static void measure_empty(void)
{
    static const bpfvm_insn code[] = {BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_EXIT()};

    if (setup(&empty_program, code, sizeof(code)) == 0)
        measure_program(&empty_program);
}

/* ---- compile throughput on a large synthetic program ---------------------- */

static uint64_t rng_state = SEED;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 33) % n;
}

/* A straight-line mix of ALU64/ALU32 (register and immediate), multiplies,
 * shifts, stack stores and loads, lddw, and forward conditional jumps over
 * short runs of ALU instructions; r0..r9 only, ends with exit. */
static bpfvm_insn *synthetic(size_t n)
{
    static const uint8_t alu[] = {BPFVM_ADD, BPFVM_SUB, BPFVM_MUL, BPFVM_OR, BPFVM_AND,
                                  BPFVM_XOR, BPFVM_MOV, BPFVM_LSH, BPFVM_RSH, BPFVM_ARSH};
    static const uint8_t jmp[] = {BPFVM_JEQ, BPFVM_JNE, BPFVM_JGT, BPFVM_JSGE, BPFVM_JSET};
    bpfvm_insn *prog = xmalloc(n * sizeof(*prog));
    size_t i = 0;

    for (int r = 0; r < 10; r++) /* defined registers */
        prog[i++] = BPFVM_MOV64_IMM(r, rnd(1000) + 1);
    while (i < n - 1) {
        uint32_t kind = rnd(16), left = (uint32_t)(n - 1 - i);
        uint32_t dst = rnd(10), src = rnd(10), op = alu[rnd(sizeof(alu))];
        int32_t imm = (op == BPFVM_LSH || op == BPFVM_RSH || op == BPFVM_ARSH)
                          ? (int32_t)rnd(32) : (int32_t)rnd(100000) - 50000;
        int16_t slot = (int16_t)(-8 * (int)(1 + rnd(8)));
        if (kind < 6) {
            prog[i++] = BPFVM_ALU64_IMM(op, dst, imm);
        } else if (kind < 9) {
            prog[i++] = BPFVM_ALU64_REG(op, dst, src);
        } else if (kind < 11) {
            prog[i++] = BPFVM_ALU32_IMM(op, dst, imm);
        } else if (kind < 12) {
            prog[i++] = BPFVM_STX_MEM(BPFVM_DW, BPFVM_R10, src, slot);
        } else if (kind < 13) {
            prog[i++] = BPFVM_LDX_MEM(BPFVM_DW, dst, BPFVM_R10, slot);
        } else if (kind < 14 && left >= 2) {
            bpfvm_insn wide[] = {BPFVM_LD_IMM64(dst, (uint64_t)rnd(1u << 31) << 31 | rnd(1u << 31))};
            prog[i++] = wide[0];
            prog[i++] = wide[1];
        } else if (left >= 5) { /* jump over 1..3 ALU instructions */
            uint32_t skip = 1 + rnd(3);
            prog[i++] = BPFVM_JMP_IMM(jmp[rnd(sizeof(jmp))], dst, rnd(2000), skip);
            for (uint32_t k = 0; k < skip; k++)
                prog[i++] = BPFVM_ALU64_IMM(BPFVM_ADD, rnd(10), rnd(100));
        } else {
            prog[i++] = BPFVM_MOV64_REG(dst, src);
        }
    }
    prog[i++] = BPFVM_EXIT();
    return prog;
}

static struct {
    size_t insns;
    double load_ns, compile_ns;
    int done;
} big;

static void synthetic_bench(void)
{
    size_t n = (size_t)opt.synthetic;
    bpfvm_insn *prog = synthetic(n);
    bpfvm_vm *vm = bpfvm_create();
    double sample[5];
    int rounds = opt.check ? 1 : 5;
    uint64_t r_interp = 0, r_jit = 0;

    if (!vm) {
        fprintf(stderr, "bench: out of memory\n");
        exit(2);
    }
    double t0 = now_ns();
    int rc = bpfvm_load(vm, prog, n * sizeof(*prog));
    big.load_ns = now_ns() - t0;
    check(rc == 0, "synthetic", "load: %s", bpfvm_last_error(vm)->message);
    if (rc)
        goto out;
    big.insns = n;
    rc = bpfvm_run(vm, NULL, 0, NULL, 0, &r_interp, NULL);
    check(rc == 0, "synthetic", "interpreter: %s", bpfvm_last_error(vm)->message);
    for (int s = 0; s < rounds; s++) {
        t0 = now_ns();
        if (!compile("synthetic", vm))
            goto out;
        sample[s] = now_ns() - t0;
    }
    qsort(sample, (size_t)rounds, sizeof(double), cmp_double);
    big.compile_ns = sample[rounds / 2];
    big.done = 1;
    rc = bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r_jit, NULL);
    check(rc == 0, "synthetic", "JIT: %s", bpfvm_last_error(vm)->message);
    check(rc || r_jit == r_interp, "synthetic", "JIT result 0x%llx, interpreter 0x%llx",
          (unsigned long long)r_jit, (unsigned long long)r_interp);
out:
    bpfvm_destroy(vm);
    free(prog);
}

/* ---- report --------------------------------------------------------------- */

static void cpu_model(char *buf, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];

    snprintf(buf, size, "unknown");
    while (f && fgets(line, sizeof(line), f)) {
        char *c = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && c) {
            snprintf(buf, size, "%s", c + 2);
            buf[strcspn(buf, "\n")] = 0;
            break;
        }
    }
    if (f)
        fclose(f);
}

/* The 1-minute load average: other work on the machine skews the timings. */
static double loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l = -1;
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

/* Geometric mean of ns[e] / ns[NATIVE] over the programs that have both. */
static double geomean(int e, int *count)
{
    double logsum = 0;
    int n = 0;
    for (size_t i = 0; i < NPROGRAMS; i++) {
        program *p = &programs[i];
        if (p->ns[e] > 0 && p->ns[NATIVE] > 0) {
            logsum += log(p->ns[e] / p->ns[NATIVE]);
            n++;
        }
    }
    *count = n;
    return n ? exp(logsum / n) : 0;
}

static void print_ns(double ns, int width)
{
    if (ns < 0)
        printf(" %*s", width, "-");
    else
        printf(" %*.0f", width, ns);
}

static void print_ratio(double ns, double native)
{
    if (ns < 0 || native <= 0)
        printf(" %7s", "-");
    else
        printf(" %6.2fx", ns / native);
}

static void print_table(void)
{
    int n;

    printf("%-10s %5s %8s %9s %10s %7s %7s %9s %7s %9s %7s %8s\n", "program", "insns", "executed",
           "native ns", "interp ns", "ratio", "ns/insn", "jit ns", "ratio", "unchk ns", "ratio",
           "compile");
    for (size_t i = 0; i < NPROGRAMS; i++) {
        program *p = &programs[i];
        if (!p->vm)
            continue;
        printf("%-10s %5zu %8llu", p->name, p->insns, (unsigned long long)p->executed);
        print_ns(p->ns[NATIVE], 9);
        print_ns(p->ns[INTERP], 10);
        print_ratio(p->ns[INTERP], p->ns[NATIVE]);
        if (p->ns[INTERP] >= 0 && p->executed)
            printf(" %7.2f", p->ns[INTERP] / (double)p->executed);
        else
            printf(" %7s", "-");
        print_ns(p->ns[JIT], 9);
        print_ratio(p->ns[JIT], p->ns[NATIVE]);
        print_ns(p->ns[JIT_UNCHECKED], 9);
        print_ratio(p->ns[JIT_UNCHECKED], p->ns[NATIVE]);
        if (p->compile_ns > 0)
            printf(" %6.1fus\n", p->compile_ns / 1e3);
        else
            printf(" %8s\n", "-");
    }
    /* the ratios only, each under its column: skip ns/insn + jit ns, unchk ns */
    printf("%-10s %5s %8s %9s %10s", "geomean", "", "", "", "");
    for (int e = INTERP; e < NENGINES; e++) {
        double g = geomean(e, &n);
        if (n)
            printf(" %6.2fx", g);
        else
            printf(" %7s", "-");
        printf("%*s", e == INTERP ? 18 : e == JIT ? 10 : 0, "");
    }
    printf("\n");
    if (empty_program.vm) {
        printf("call overhead (r0 = 0; exit):");
        for (int e = INTERP; e < NENGINES; e++)
            if (empty_program.ns[e] >= 0)
                printf(" %s %.0f ns", engine_names[e], empty_program.ns[e]);
        printf("\n");
    }
    if (big.insns) {
        printf("synthetic %zu-insn program: load+verify %.1f ms", big.insns, big.load_ns / 1e6);
        if (big.done)
            printf(", compile %.1f ms = %.1f ns/insn (%.1f M insns/s)", big.compile_ns / 1e6,
                   big.compile_ns / (double)big.insns, (double)big.insns / big.compile_ns * 1e3);
        printf("\n");
    }
    printf("(%s clock, median of %d samples of >= %.0f ms; input copies of writing programs\n"
           " subtracted; executed = BPF instructions per run, found by bisecting the budget)\n",
           opt.cputime ? "thread CPU" : "monotonic", opt.samples, opt.min_ns / 1e6);
}

static void json_num(const char *key, double v, const char *sep)
{
    if (v < 0)
        printf("\"%s\": null%s", key, sep);
    else
        printf("\"%s\": %.3f%s", key, v, sep);
}

static void print_json(void)
{
    char cpu[200];
    int n;

    cpu_model(cpu, sizeof(cpu));
    printf("{\"cpu\": \"%s\", \"nproc\": %ld, \"loadavg\": %.2f, \"samples\": %d, "
           "\"min_ms\": %.0f,\n \"programs\": [",
           cpu, sysconf(_SC_NPROCESSORS_ONLN), loadavg(), opt.samples, opt.min_ns / 1e6);
    const char *sep = "";
    for (size_t i = 0; i < NPROGRAMS; i++) {
        program *p = &programs[i];
        if (!p->vm)
            continue;
        printf("%s\n  {\"name\": \"%s\", \"insns\": %zu, \"executed\": %llu, \"result\": \"0x%llx\", ",
               sep, p->name, p->insns, (unsigned long long)p->executed,
               (unsigned long long)p->expect);
        for (int e = 0; e < NENGINES; e++) {
            char key[32];
            snprintf(key, sizeof(key), "%s_ns", engine_names[e]);
            json_num(key, p->ns[e], ", ");
        }
        json_num("copy_ns", p->copy_ns, ", ");
        json_num("compile_ns", p->compile_ns > 0 ? p->compile_ns : -1, "}");
        sep = ",";
    }
    printf("],\n \"geomean\": {");
    for (int e = INTERP; e < NENGINES; e++) {
        double g = geomean(e, &n);
        json_num(engine_names[e], n ? g : -1, e + 1 < NENGINES ? ", " : "},\n");
    }
    printf(" \"call_overhead\": {");
    for (int e = INTERP; e < NENGINES; e++)
        json_num(engine_names[e], empty_program.vm ? empty_program.ns[e] : -1,
                 e + 1 < NENGINES ? ", " : "},\n");
    printf(" \"synthetic\": {\"insns\": %zu, ", big.insns);
    json_num("load_ns", big.insns ? big.load_ns : -1, ", ");
    json_num("compile_ns", big.done ? big.compile_ns : -1, ", ");
    json_num("compile_ns_per_insn", big.done ? big.compile_ns / (double)big.insns : -1, "}}\n");
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench [options]\n"
            "  --check         run each program once per engine and compare with native\n"
            "  --json          print the results as one JSON object\n"
            "  --cputime       time with the thread's CPU clock instead of CLOCK_MONOTONIC\n"
            "                  (steadier when other work shares the machine)\n"
            "  --dir DIR       where NAME.bpf.o are (default %s)\n"
            "  --only A,B      only these programs (\"empty\": the call overhead line)\n"
            "  --engines LIST  of native,interp,jit,unchecked (default all)\n"
            "  --samples N     samples per measurement (default 11, 1..63)\n"
            "  --min-ms MS     minimum duration of one sample (default 20)\n"
            "  --synthetic N   size of the compile-throughput program (default 1000000, 0: skip)\n",
            BENCH_OBJDIR);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--check")) {
            opt.check = 1;
        } else if (!strcmp(a, "--json")) {
            opt.json = 1;
        } else if (!strcmp(a, "--cputime")) {
            opt.cputime = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (v && !strcmp(a, "--dir")) {
            opt.dir = argv[++i];
        } else if (v && !strcmp(a, "--only")) {
            opt.only = argv[++i];
        } else if (v && !strcmp(a, "--engines")) {
            for (int e = 0; e < NENGINES; e++)
                opt.engines[e] = in_list(v, engine_names[e]);
            i++;
        } else if (v && !strcmp(a, "--samples")) {
            opt.samples = atoi(argv[++i]);
        } else if (v && !strcmp(a, "--min-ms")) {
            opt.min_ns = atof(argv[++i]) * 1e6;
        } else if (v && !strcmp(a, "--synthetic")) {
            opt.synthetic = atoi(argv[++i]);
        } else {
            fprintf(stderr, "bench: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (opt.samples < 1 || opt.samples > 63 || opt.min_ns <= 0 || opt.synthetic < 0 ||
        (opt.synthetic > 0 && opt.synthetic < 64) || opt.synthetic > (int)BPFVM_MAX_INSNS) {
        fprintf(stderr, "bench: --samples 1..63, --min-ms > 0, --synthetic 0 or 64..%u\n",
                BPFVM_MAX_INSNS);
        return 2;
    }
    for (const char *t = opt.only; t && *t;) { /* every name in --only must exist */
        size_t k = strcspn(t, ",");
        size_t i = 0;
        while (i < NPROGRAMS && !(strlen(programs[i].name) == k && !strncmp(programs[i].name, t, k)))
            i++;
        if (i == NPROGRAMS && !(k == 5 && !strncmp(t, "empty", 5))) {
            fprintf(stderr, "bench: --only: no program named '%.*s'\n", (int)k, t);
            return 2;
        }
        t += k + (t[k] == ',');
    }
    if (!opt.check && !opt.json) {
        char cpu[200];
        cpu_model(cpu, sizeof(cpu));
        printf("bpfvm %s bench: %s, %ld CPUs, load average %.2f\n", BPFVM_VERSION, cpu,
               sysconf(_SC_NPROCESSORS_ONLN), loadavg());
    }
    for (size_t i = 0; i < NPROGRAMS; i++) {
        program *p = &programs[i];
        if (opt.only && !in_list(opt.only, p->name))
            continue;
        if (setup(p, NULL, 0))
            continue;
        if (opt.check)
            check_program(p);
        else
            measure_program(p);
    }
    if (!opt.check && (!opt.only || in_list(opt.only, "empty")))
        measure_empty();
    if (opt.synthetic)
        synthetic_bench();
    if (opt.check)
        printf("%d passed, %d failed\n", passed, failed);
    else if (opt.json)
        print_json();
    else
        print_table();
    for (size_t i = 0; i <= NPROGRAMS; i++) {
        program *p = i < NPROGRAMS ? &programs[i] : &empty_program;
        bpfvm_destroy(p->vm);
        bpfvm_destroy(p->vm_unchecked);
        free(p->pristine);
        free(p->work);
    }
    if (failed && !opt.check)
        fprintf(stderr, "bench: %d failure%s\n", failed, failed == 1 ? "" : "s");
    return failed != 0;
}
