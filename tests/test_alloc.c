/* test_alloc.c - allocation-failure injection.
 *
 * Every VM here allocates through a counting allocator (bpfvm_create_ex).
 * A scenario (create, configure, load bytecode / assembly / an ELF object,
 * verify, compile plain and blinded, interpret and run the JIT with a stack
 * too big for the C stack) is played once for each allocation it makes,
 * failing the 1st, then the 2nd, ... allocation. Each time:
 *   - the step that met the failure reports BPFVM_ENOMEM (create: NULL), in
 *     its return code and in its error record, and every other step succeeds;
 *   - either the VM is destroyed right there, or the step is retried and the
 *     scenario completes with the right results;
 *   - after bpfvm_destroy no block is left allocated.
 * The loop ends with a pass in which no allocation was failed: it must
 * complete with the right results. */
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

typedef struct {
    long calls;   /* realloc_fn calls so far */
    long fail_at; /* fail this call (1-based); 0 = never */
    long live;    /* blocks allocated and not freed */
    int failed;   /* a call was failed */
} counter;

static void *count_realloc(void *user, void *ptr, size_t size)
{
    counter *c = user;
    if (++c->calls == c->fail_at) {
        c->failed = 1;
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p && !ptr)
        c->live++;
    return p;
}

static void count_free(void *user, void *ptr)
{
    counter *c = user;
    c->live--;
    free(ptr);
}

static char elf_dir[512];

static void *read_file(const char *name, size_t *len)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", elf_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 4096);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

/* ---- scenarios ---------------------------------------------------------- */

/* One step of a scenario: returns 0 or a BPFVM_E* code; *detail is the error
 * record the step reports to (NULL: the VM's last error). */
typedef struct scenario scenario;
typedef int (*step_fn)(const scenario *s, bpfvm_vm *vm, const bpfvm_error **detail);

struct scenario {
    const char *name;
    const step_fn *steps;
    const char *const *step_names;
    size_t nsteps;
    /* bytecode / assembly / ELF input and the expected results */
    const bpfvm_insn *insns;
    size_t count;
    const char *text;
    const void *elf;
    size_t elf_len;
    const char *section;
    uint64_t expect;
};

static uint64_t mem[4] = { 5, 6, 7, 8 };
/* Injected failures met by each step of the scenario being tested. */
static long hits[16];
static bpfvm_error run_err;

static int st_helpers(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    (void)s, (void)d;
    return bpfvm_register_std_helpers(vm);
}

static int st_config(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    (void)s, (void)d;
    static uint8_t extra[64];
    int rc = bpfvm_add_region(vm, extra, sizeof(extra), BPFVM_READ);
    /* allocates the fixed-mbuff template, then goes back to raw mode */
    if (rc == 0)
        rc = bpfvm_set_fixed_mbuff(vm, 64, 0, 8);
    if (rc == 0)
        rc = bpfvm_set_mode(vm, BPFVM_MODE_RAW);
    /* 64 KiB frames: the stack area of a run is allocated */
    if (rc == 0)
        rc = bpfvm_set_stack_size(vm, 65536);
    return rc;
}

static int st_load(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    (void)d;
    return bpfvm_load(vm, s->insns, s->count * sizeof(bpfvm_insn));
}

static int st_load_asm(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    (void)d;
    return bpfvm_load_asm(vm, s->text, "alloc.s");
}

static int st_load_elf(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    (void)d;
    return bpfvm_load_elf(vm, s->elf, s->elf_len, s->section, NULL);
}

static int st_verify(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    size_t n;
    const bpfvm_insn *p = bpfvm_program(vm, &n);
    (void)s;
    *d = &run_err;
    return bpfvm_verify(vm, p, n, NULL, NULL, &run_err);
}

static int st_compile(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    (void)s, (void)d;
    return bpfvm_compile(vm, 0);
}

/* Compiling again: a compile that fails leaves no code (the earlier code's
 * pages were taken for the new code). */
static int st_compile_blind(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    (void)d;
    int rc = bpfvm_compile(vm, BPFVM_JIT_BLIND);
    uint64_t r0 = 0;
    bpfvm_error e; /* (the VM's record keeps the compile's error) */
    CHECK(rc == 0 || (bpfvm_jit_code(vm, NULL) == NULL &&
                      bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, &e) == BPFVM_ENOJIT),
          "%s: compiled code left after a failed compile", s->name);
    return rc;
}

/* A wrong result fails the step: EINVAL, with the value in run_err. */
static int check_r0(const scenario *s, int rc, uint64_t r0, const bpfvm_error **d)
{
    if (rc != 0 || r0 == s->expect)
        return rc;
    snprintf(run_err.message, sizeof(run_err.message), "result 0x%llx, expected 0x%llx",
             (unsigned long long)r0, (unsigned long long)s->expect);
    *d = &run_err;
    return BPFVM_EINVAL;
}

static int st_run(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    uint64_t r0 = 0;
    uint64_t m[4];
    memcpy(m, mem, sizeof(m));
    *d = &run_err;
    int rc = bpfvm_run(vm, m, sizeof(m), NULL, 0, &r0, &run_err);
    return check_r0(s, rc, r0, d);
}

static int st_run_jit(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    uint64_t r0 = 0;
    uint64_t m[4];
    memcpy(m, mem, sizeof(m));
    *d = &run_err;
    int rc = bpfvm_run_jit(vm, m, sizeof(m), NULL, 0, &r0, &run_err);
    return check_r0(s, rc, r0, d);
}

/* Without an error record: the detail goes to the VM. */
static int st_run_vm_error(const scenario *s, bpfvm_vm *vm, const bpfvm_error **d)
{
    uint64_t r0 = 0;
    uint64_t m[4];
    memcpy(m, mem, sizeof(m));
    int rc = bpfvm_run(vm, m, sizeof(m), NULL, 0, &r0, NULL);
    return check_r0(s, rc, r0, d);
}

/* Plays scenario `s` failing allocation number fail_at (0: none). keep: on a
 * failure, retry the step and go on; else destroy the VM at once. Returns
 * whether an allocation was failed. */
static int play(const scenario *s, long fail_at, int keep)
{
    counter c = { 0, fail_at, 0, 0 };
    const bpfvm_allocator alloc = { count_realloc, count_free, &c };
    bpfvm_vm *vm = bpfvm_create_ex(&alloc);
    if (!vm) {
        CHECK(c.failed && c.live == 0, "%s: create failed without an injected failure", s->name);
        return c.failed;
    }
    for (size_t i = 0; i < s->nsteps; i++) {
        int before = c.failed;
        const bpfvm_error *detail = NULL;
        int rc = s->steps[i](s, vm, &detail);
        if (!detail)
            detail = bpfvm_last_error(vm);
        if (c.failed == before) {
            CHECK(rc == 0, "%s fail@%ld %s: %s (%s)", s->name, fail_at, s->step_names[i],
                  bpfvm_errname(rc), detail->message);
            continue;
        }
        hits[i]++;
        CHECK(rc == BPFVM_ENOMEM && detail->code == BPFVM_ENOMEM && detail->message[0],
              "%s fail@%ld %s: %s, detail %s (%s)", s->name, fail_at, s->step_names[i],
              bpfvm_errname(rc), bpfvm_errname(detail->code), detail->message);
        if (!keep)
            break;
        c.fail_at = 0;
        detail = NULL;
        rc = s->steps[i](s, vm, &detail);
        CHECK(rc == 0, "%s fail@%ld %s, retried: %s (%s)", s->name, fail_at, s->step_names[i],
              bpfvm_errname(rc), (detail ? detail : bpfvm_last_error(vm))->message);
    }
    bpfvm_destroy(vm);
    CHECK(c.live == 0, "%s fail@%ld%s: %ld blocks leaked", s->name, fail_at,
          keep ? " (retried)" : "", c.live);
    return c.failed;
}

static void test_scenario(const scenario *s)
{
    long n = 1;
    memset(hits, 0, sizeof(hits));
    for (; n < 10000; n++) {
        int failed = play(s, n, 0);
        play(s, n, 1);
        if (!failed)
            break; /* the scenario made fewer than n allocations */
    }
    CHECK(n > 2 && n < 10000, "%s: %ld allocations", s->name, n - 1);
    play(s, 0, 0);
    /* Every step that allocates met failures (the verifier allocates nothing). */
    printf("%s: failed each of %ld allocations in turn;", s->name, n - 1);
    for (size_t i = 0; i < s->nsteps; i++) {
        printf(" %s %ld", s->step_names[i], hits[i] / 2);
        CHECK(hits[i] > 0 || s->steps[i] == st_verify, "%s: %s met no failure", s->name,
              s->step_names[i]);
    }
    printf("\n");
}

static const step_fn bytecode_steps[] = { st_helpers, st_config, st_load, st_verify,
                                          st_compile, st_run, st_run_jit, st_compile_blind,
                                          st_run_jit, st_run_vm_error };
static const char *const bytecode_names[] = { "helpers", "config", "load", "verify",
                                              "compile", "run", "run_jit", "compile blind",
                                              "run_jit blind", "run (VM error)" };
static const step_fn asm_steps[] = { st_helpers, st_config, st_load_asm, st_compile, st_run,
                                     st_run_jit };
static const char *const asm_names[] = { "helpers", "config", "load_asm", "compile", "run",
                                         "run_jit" };
static const step_fn elf_steps[] = { st_helpers, st_config, st_load_elf, st_compile, st_run,
                                     st_run_jit };
static const char *const elf_names[] = { "helpers", "config", "load_elf", "compile", "run",
                                         "run_jit" };

/* mem[0] + mem[1] through the stack, a local call and a helper:
 * 5 + 6 = 11; gather_bytes(0, 0, 0, 0, 11) = 11; sub(11) = 11 * 3 = 33. */
static const char program_text[] =
    "ldxdw r6, [r1]\n"
    "ldxdw r7, [r1+8]\n"
    "add r6, r7\n"
    "stxdw [r10-8], r6\n"
    "mov r1, 0\n"
    "mov r2, 0\n"
    "mov r3, 0\n"
    "mov r4, 0\n"
    "ldxdw r5, [r10-8]\n"
    "call 1000\n"
    "mov r1, r0\n"
    "call local sub\n"
    "exit\n"
    "sub:\n"
    "mov r0, r1\n"
    "mul r0, 3\n"
    "exit\n";

int main(int argc, char **argv)
{
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    int dirlen = slash ? (int)(slash - argv[0]) : 1;
    snprintf(elf_dir, sizeof(elf_dir), "%.*s/../elf", dirlen, slash ? argv[0] : ".");

    bpfvm_insn *insns = NULL;
    size_t count = 0;
    bpfvm_error err;
    CHECK(bpfvm_asm(program_text, "alloc.s", &insns, &count, &err) == 0, "assemble: %s",
          err.message);

    scenario bytecode = { "bytecode", bytecode_steps, bytecode_names,
                          sizeof(bytecode_steps) / sizeof(*bytecode_steps),
                          insns, count, NULL, NULL, 0, NULL, 33 };
    test_scenario(&bytecode);
    scenario text = { "assembly", asm_steps, asm_names, sizeof(asm_steps) / sizeof(*asm_steps),
                      NULL, 0, program_text, NULL, 0, NULL, 33 };
    test_scenario(&text);

    /* data.o "name": a table of string pointers in .rodata (relocated
     * copies owned by the VM); mem[0] = 5 picks names[2] = "two". */
    size_t len = 0;
    void *obj = read_file("data.o", &len);
    if (obj) {
        scenario elf = { "elf data.o", elf_steps, elf_names, sizeof(elf_steps) / sizeof(*elf_steps),
                         NULL, 0, NULL, obj, len, "name", 0x6f7774 };
        test_scenario(&elf);
        free(obj);
    } else {
        printf("skipped: no BPF objects in %s (clang not found at build time)\n", elf_dir);
    }
    free(insns);
    return TEST_END();
}
