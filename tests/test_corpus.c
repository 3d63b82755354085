/* test_corpus.c - the verifier against real clang output: every program of
 * tests/corpus/ and bench/progs/, compiled by clang for BPF at each -O level
 * (CORPUS_OPTS), -mcpu (CORPUS_CPUS), with and without -g (mk/corpus.mk),
 * must verify (every program of each object, as `bpfvm verify OBJ` checks
 * them) and give, in the interpreter and in the JIT, the result and memory
 * of the same C compiled natively into this test.
 *
 *   test_corpus [DIR]     objects in DIR (default: <this binary>/../corpus)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"
#include "../tools/tool_util.h"

#include "corpus/corpus.h" /* and bench/progs/prog.h */

#ifndef CORPUS_OPTS
#define CORPUS_OPTS "O0 O1 O2 O3 Os"
#endif
#ifndef CORPUS_CPUS
#define CORPUS_CPUS "v1 v2 v3"
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define BUDGET 200000000u /* instructions: a program that loops fails, not hangs */

typedef struct entry {
    const char *name;
    u64 (*native)(u8 *mem, u64 len);
    void (*input)(u8 *mem, u64 len, u64 seed);
    u64 size;
} entry;

#define CORPUS_ENTRY(n, sz) { #n, n, n##_input, sz },
#define BENCH_ENTRY(n, sz, writes) { #n, n, n##_input, sz },
static const entry entries[] = { CORPUS_PROGRAMS(CORPUS_ENTRY) BENCH_PROGRAMS(BENCH_ENTRY) };

typedef struct totals {
    size_t objects, programs, verified, interp_equal, jit_equal;
} totals;

/* Every program of the object loads, which runs the verifier on it. */
typedef struct each {
    const char *path;
    const unsigned char *data;
    size_t len;
    totals *t;
} each;

static void verify_program(void *user, const char *section, const char *function, size_t n)
{
    each *e = user;
    (void)n;
    bpfvm_vm *vm = bpfvm_create();
    int rc = bpfvm_register_std_helpers(vm);
    if (rc == 0)
        rc = bpfvm_load_elf(vm, e->data, e->len, section, function[0] ? function : NULL);
    CHECK(rc == 0, "%s: %s %s: %s", e->path, section, function, bpfvm_last_error(vm)->message);
    e->t->programs++;
    e->t->verified += rc == 0;
    bpfvm_destroy(vm);
}

/* Run the loaded program on a copy of `input`; compare with the native
 * result and memory. */
static int run_equal(bpfvm_vm *vm, int jit, const char *path, const u64 *input,
                     const u64 *native_mem, u64 size, u64 native_r0)
{
    u64 *mem = malloc(size + 8);
    uint64_t r0 = 0;
    bpfvm_error err;
    if (!mem)
        return 0;
    memcpy(mem, input, size);
    int rc = jit ? bpfvm_run_jit(vm, mem, size, NULL, 0, &r0, &err)
                 : bpfvm_run(vm, mem, size, NULL, 0, &r0, &err);
    int ok = rc == 0 && r0 == native_r0 && memcmp(mem, native_mem, size) == 0;
    CHECK(ok, "%s (%s): %s, r0 0x%llx, native 0x%llx%s", path, jit ? "JIT" : "interpreter",
          rc ? err.message : "ran", (unsigned long long)r0, (unsigned long long)native_r0,
          rc == 0 && r0 == native_r0 ? ", memory differs" : "");
    free(mem);
    return ok;
}

static void check_object(const char *path, const entry *p, const u64 *input,
                         const u64 *native_mem, u64 native_r0, totals *t)
{
    size_t len;
    unsigned char *data = tool_read_file(path, &len);
    CHECK(data != NULL, "%s: cannot read", path);
    if (!data)
        return;
    t->objects++;
    each e = { path, data, len, t };
    bpfvm_error err;
    CHECK(bpfvm_elf_programs(data, len, verify_program, &e, &err) == 0, "%s: %s", path,
          err.message);

    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_std_helpers(vm);
    bpfvm_set_budget(vm, BUDGET);
    int rc = bpfvm_load_elf(vm, data, len, NULL, p->name);
    CHECK(rc == 0, "%s: entry %s: %s", path, p->name, bpfvm_last_error(vm)->message);
    if (rc == 0) {
        t->interp_equal += (size_t)run_equal(vm, 0, path, input, native_mem, p->size, native_r0);
        rc = bpfvm_compile(vm, 0);
        CHECK(rc == 0 || rc == BPFVM_EUNSUPPORTED, "%s: compile: %s", path,
              bpfvm_last_error(vm)->message);
        if (rc == 0)
            t->jit_equal += (size_t)run_equal(vm, 1, path, input, native_mem, p->size, native_r0);
    }
    bpfvm_destroy(vm);
    free(data);
}

/* The words of a space-separated list into out (at most max); their count. */
static size_t split(const char *list, char out[][8], size_t max)
{
    size_t n = 0;
    while (*list && n < max) {
        size_t k = strcspn(list, " ");
        if (k && k < 8) {
            memcpy(out[n], list, k);
            out[n++][k] = 0;
        }
        list += k + (list[k] == ' ');
    }
    return n;
}

int main(int argc, char **argv)
{
    char dir[600];
    if (argc > 1) {
        snprintf(dir, sizeof(dir), "%s", argv[1]);
    } else { /* this binary is <build>/tests/test_corpus */
        const char *slash = strrchr(argv[0], '/');
        snprintf(dir, sizeof(dir), "%.*s/../corpus", slash ? (int)(slash - argv[0]) : 1,
                 slash ? argv[0] : ".");
    }
    char opts[8][8], cpus[8][8], probe[700];
    size_t nopts = split(CORPUS_OPTS, opts, 8), ncpus = split(CORPUS_CPUS, cpus, 8);
    snprintf(probe, sizeof(probe), "%s/%s-%s-%s.o", dir, entries[0].name, opts[0], cpus[0]);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        printf("skipped: no corpus objects in %s (clang not found at build time)\n", dir);
        return TEST_END();
    }
    fclose(f);

    totals t = { 0, 0, 0, 0, 0 };
    for (size_t i = 0; i < COUNT(entries); i++) {
        const entry *p = &entries[i];
        u64 *input = calloc(1, p->size + 8), *native_mem = calloc(1, p->size + 8);
        CHECK(input && native_mem, "out of memory");
        if (!input || !native_mem)
            return TEST_END();
        p->input((u8 *)input, p->size, 1000 + i);
        memcpy(native_mem, input, p->size);
        u64 native_r0 = p->native((u8 *)native_mem, p->size);
        for (size_t o = 0; o < nopts; o++)
            for (size_t c = 0; c < ncpus; c++)
                for (int g = 0; g < 2; g++) {
                    char path[800];
                    snprintf(path, sizeof(path), "%s/%s-%s-%s%s.o", dir, p->name, opts[o],
                             cpus[c], g ? "-g" : "");
                    check_object(path, p, input, native_mem, native_r0, &t);
                }
        free(input);
        free(native_mem);
    }
    printf("corpus: %zu programs x %zu variants = %zu objects; %zu of their %zu programs "
           "verified; equal to native: %zu in the interpreter, %zu in the JIT\n",
           COUNT(entries), nopts * ncpus * 2, t.objects, t.verified, t.programs, t.interp_equal,
           t.jit_equal);
    return TEST_END();
}
