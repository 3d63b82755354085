/* test_mapinmap.c - maps of maps (the host API, the kernel's compatibility
 * rules, programs reaching inner maps in every engine, lifetime),
 * BPF_F_LOCK on the host, and map values checked per element (a lookup's
 * pointer reaches value_size bytes, not the padding or the next element's
 * bytes from an access that straddles them). Objects defining maps of maps
 * are tested in test_maps.c; programs using BPF_F_LOCK against the kernel
 * in tests/kernel/maps/. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

/* A map with 4-byte keys; `tmpl`: a map of maps holding maps like it. */
static bpfvm_map *mk(uint32_t type, uint32_t vs, uint32_t max, uint32_t flags,
                     const bpfvm_map *tmpl)
{
    bpfvm_map_def d = { type, 4, vs, max, flags };
    bpfvm_map *m = NULL;
    bpfvm_error err;
    int rc = bpfvm_map_create_outer(&d, tmpl, "m", &m, &err);
    CHECK(rc == 0, "create type %u: %s", type, err.message);
    return m;
}

static void unref_all(bpfvm_map *const *maps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bpfvm_map_unref(maps[i]);
}
#define UNREF(...) unref_all((bpfvm_map *[]){ __VA_ARGS__ }, \
                             sizeof((bpfvm_map *[]){ __VA_ARGS__ }) / sizeof(bpfvm_map *))

/* ---- the host API ------------------------------------------------------ */

static void test_create(void)
{
    bpfvm_map *arr = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    bpfvm_map *prog = mk(BPFVM_MAP_PROG_ARRAY, 4, 4, 0, NULL);
    bpfvm_map *out = mk(BPFVM_MAP_ARRAY_OF_MAPS, 4, 2, 0, arr);
    static const struct {
        bpfvm_map_def d;
        int tmpl; /* 0 none, 1 array, 2 prog array, 3 an outer map */
        const char *msg;
    } bad[] = {
        { { BPFVM_MAP_ARRAY_OF_MAPS, 4, 4, 2, 0 }, 0, "needs an inner map" },
        { { BPFVM_MAP_HASH_OF_MAPS, 4, 4, 2, 0 }, 2, "not prog_array" },
        { { BPFVM_MAP_ARRAY_OF_MAPS, 4, 4, 2, 0 }, 3, "not array_of_maps" },
        { { BPFVM_MAP_ARRAY_OF_MAPS, 4, 8, 2, 0 }, 1, "value_size must be 4" },
        { { BPFVM_MAP_ARRAY_OF_MAPS, 8, 4, 2, 0 }, 1, "value_size must be 4" },
        { { BPFVM_MAP_ARRAY_OF_MAPS, 4, 4, 2, BPFVM_F_NO_PREALLOC }, 1, "flags 0x1" },
    };
    const bpfvm_map *tmpls[4] = { NULL, arr, prog, out };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bpfvm_map *m = (bpfvm_map *)1;
        bpfvm_error err;
        int rc = bpfvm_map_create_outer(&bad[i].d, tmpls[bad[i].tmpl], "bad", &m, &err);
        CHECK(rc == BPFVM_EINVAL && !m && strstr(err.message, bad[i].msg), "bad %zu: %d %s", i,
              rc, err.message);
    }
    bpfvm_map_def d = { BPFVM_MAP_HASH_OF_MAPS, 4, 4, 2, 0 };
    bpfvm_map *m = (bpfvm_map *)1;
    CHECK(bpfvm_map_create(&d, "x", &m, NULL) == BPFVM_EINVAL && !m,
          "bpfvm_map_create refuses maps of maps");
    CHECK(strcmp(bpfvm_map_type_name(BPFVM_MAP_HASH_OF_MAPS), "hash_of_maps") == 0 &&
              bpfvm_map_host_value_size(out) == sizeof(bpfvm_map *) &&
              bpfvm_map_values_address(out) == 0, "names and sizes");
    UNREF(out, prog, arr);
}

/* The kernel's rules for what an outer map may hold. */
static void test_fits(void)
{
    bpfvm_map *tmpl = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    bpfvm_map *a = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    bpfvm_map *a5 = mk(BPFVM_MAP_ARRAY, 8, 5, 0, NULL);
    bpfvm_map *v16 = mk(BPFVM_MAP_ARRAY, 16, 4, 0, NULL);
    bpfvm_map *ro = mk(BPFVM_MAP_ARRAY, 8, 4, BPFVM_F_RDONLY_PROG, NULL);
    bpfvm_map *h = mk(BPFVM_MAP_HASH, 8, 4, 0, NULL);
    bpfvm_map *locked = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    bpfvm_map *o = mk(BPFVM_MAP_ARRAY_OF_MAPS, 4, 3, 0, tmpl);
    bpfvm_map *o2 = mk(BPFVM_MAP_ARRAY_OF_MAPS, 4, 3, 0, tmpl);
    bpfvm_map *nul = NULL, *got = NULL;
    uint32_t k = 0, next = 9;
    if (!o || !o2)
        return;
    CHECK(bpfvm_map_set_spin_lock(locked, 0) == 0, "lock");
    CHECK(bpfvm_map_update(o, &k, &a, BPFVM_ANY) == 0, "same definition");
    CHECK(bpfvm_map_update(o, &k, &a5, BPFVM_ANY) == -EINVAL, "array max_entries differs");
    CHECK(bpfvm_map_update(o, &k, &v16, BPFVM_ANY) == -EINVAL, "value_size differs");
    CHECK(bpfvm_map_update(o, &k, &ro, BPFVM_ANY) == -EINVAL, "flags differ");
    CHECK(bpfvm_map_update(o, &k, &h, BPFVM_ANY) == -EINVAL, "type differs");
    CHECK(bpfvm_map_update(o, &k, &locked, BPFVM_ANY) == -EINVAL, "lock differs");
    CHECK(bpfvm_map_update(o, &k, &o2, BPFVM_ANY) == -EINVAL, "an outer map inside");
    CHECK(bpfvm_map_update(o, &k, &nul, BPFVM_ANY) == -EBADF, "no map");
    CHECK(bpfvm_map_update(o, &k, &a, BPFVM_NOEXIST) == -EINVAL, "arrays of maps: ANY only");
    k = 3;
    CHECK(bpfvm_map_update(o, &k, &a, BPFVM_ANY) == -E2BIG, "index past the end");
    CHECK(bpfvm_map_delete(o, &k) == -E2BIG, "delete past the end");
    k = 1;
    CHECK(bpfvm_map_lookup(o, &k, &got) == -ENOENT, "empty slot");
    CHECK(bpfvm_map_delete(o, &k) == -ENOENT, "delete an empty slot");
    k = 0;
    CHECK(bpfvm_map_lookup(o, &k, &got) == 0 && got == a, "lookup gives the map");
    CHECK(bpfvm_map_next_key(o, NULL, &next) == 0 && next == 0, "next key");
    CHECK(bpfvm_map_delete(o, &k) == 0 && bpfvm_map_lookup(o, &k, &got) == -ENOENT, "delete");

    /* BPF_F_INNER_MAP: arrays of any size; hash templates never compare it */
    bpfvm_map *ti = mk(BPFVM_MAP_ARRAY, 8, 4, BPFVM_F_INNER_MAP, NULL);
    bpfvm_map *b9 = mk(BPFVM_MAP_ARRAY, 8, 9, BPFVM_F_INNER_MAP, NULL);
    bpfvm_map *oi = mk(BPFVM_MAP_ARRAY_OF_MAPS, 4, 2, 0, ti);
    CHECK(oi && bpfvm_map_update(oi, &k, &b9, BPFVM_ANY) == 0, "F_INNER_MAP: any size");
    CHECK(oi && bpfvm_map_update(oi, &k, &a, BPFVM_ANY) == -EINVAL, "F_INNER_MAP: flags too");
    bpfvm_map *h9 = mk(BPFVM_MAP_HASH, 8, 9, 0, NULL);
    bpfvm_map *oh = mk(BPFVM_MAP_HASH_OF_MAPS, 4, 2, 0, h);
    k = 77;
    CHECK(oh && bpfvm_map_update(oh, &k, &h9, BPFVM_NOEXIST) == 0, "hash: any max_entries");
    CHECK(oh && bpfvm_map_update(oh, &k, &h, BPFVM_NOEXIST) == -EEXIST, "hash: NOEXIST");
    k = 78;
    CHECK(oh && bpfvm_map_update(oh, &k, &h, BPFVM_EXIST) == -ENOENT, "hash: EXIST");
    CHECK(oh && bpfvm_map_lookup(oh, &k, &got) == -ENOENT, "hash: absent");
    k = 77;
    CHECK(oh && bpfvm_map_lookup(oh, &k, &got) == 0 && got == h9, "hash: lookup");
    UNREF(tmpl, a, a5, v16, ro, h, locked, o, o2, ti, b9, oi, h9, oh);
}

/* ---- programs ---------------------------------------------------------- */

typedef int (*run_fn)(bpfvm_vm *, void *, size_t, void *, size_t, uint64_t *, bpfvm_error *);

/* r6 = mem, r0 = the inner map of map 0 (a map of maps) at key mem[0];
 * return `none` if there is none. */
#define LOOKUP_OUTER(none)                                                                   \
    BPFVM_MOV64_REG(6, 1), BPFVM_LDX_MEM(BPFVM_W, 2, 6, 0), BPFVM_STX_MEM(BPFVM_W, 10, 2, -4), \
    BPFVM_LD_MAP_FD(1, 0), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),         \
    BPFVM_CALL_HELPER(1), BPFVM_JMP_IMM(BPFVM_JNE, 0, 0, 2), BPFVM_MOV64_IMM(0, none),        \
    BPFVM_EXIT()

/* mem = {u32 outer key, u32 inner index}: add 1 to the inner array's
 * element and return it; -1 empty slot, -2 no such element. */
static const bpfvm_insn count_prog[] = {
    LOOKUP_OUTER(-1),
    BPFVM_MOV64_REG(7, 0),
    BPFVM_LDX_MEM(BPFVM_W, 2, 6, 4), BPFVM_STX_MEM(BPFVM_W, 10, 2, -8),
    BPFVM_MOV64_REG(1, 7), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -8),
    BPFVM_CALL_HELPER(1),
    BPFVM_JMP_IMM(BPFVM_JNE, 0, 0, 2), BPFVM_MOV64_IMM(0, -2), BPFVM_EXIT(),
    BPFVM_MOV64_IMM(1, 1), BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 0, 1, 0),
    BPFVM_LDX_MEM(BPFVM_DW, 0, 0, 0), BPFVM_EXIT(),
};

/* The engines of a VM: interpreter, JIT checked, JIT unchecked (the last
 * only when `unchecked`). Returns how many; each run by runs[i] after
 * setup(i). */
static int engines(bpfvm_vm *vm, int e, bool unchecked)
{
    if (e == 0)
        return bpfvm_set_checked(vm, 1) == 0;
    if (e == 2 && !unchecked)
        return 0;
    bpfvm_set_checked(vm, e == 1);
    return bpfvm_compile(vm, 0) == 0;
}

static run_fn runs[3] = { bpfvm_run, bpfvm_run_jit, bpfvm_run_jit };

/* Load `prog` with `maps` into a fresh VM with the kernel's helpers, run it
 * once with no input by engine e (checked), and return the run's code (the
 * load's, with err filled, if that fails). */
static int run_prog(const bpfvm_insn *prog, size_t len, bpfvm_map **maps, size_t nmaps, int e,
                    bpfvm_error *err)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t r0;
    bpfvm_register_kernel_helpers(vm);
    int rc = bpfvm_load_maps(vm, prog, len, maps, nmaps);
    if (rc == 0 && !engines(vm, e, false))
        rc = BPFVM_ENOJIT;
    if (rc)
        *err = *bpfvm_last_error(vm);
    else
        rc = runs[e](vm, NULL, 0, NULL, 0, &r0, err);
    bpfvm_destroy(vm);
    return rc;
}

static void test_program(void)
{
    bpfvm_map *tmpl = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    bpfvm_map *a = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    bpfvm_map *b = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    bpfvm_map *o = mk(BPFVM_MAP_ARRAY_OF_MAPS, 4, 3, 0, tmpl);
    uint32_t k = 0;
    bpfvm_map_update(o, &k, &a, BPFVM_ANY);
    k = 1;
    bpfvm_map_update(o, &k, &b, BPFVM_ANY);
    bpfvm_map_unref(b); /* the outer map keeps it */
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    CHECK(bpfvm_load_maps(vm, count_prog, sizeof(count_prog), &o, 1) == 0, "load: %s",
          bpfvm_last_error(vm)->message);
    static const struct {
        uint32_t key, index;
        int64_t r0; /* > 0: the count's increase since the engine began */
    } cases[] = {
        { 0, 1, 1 }, { 0, 1, 2 }, { 1, 1, 1 }, { 1, 3, 1 }, { 0, 3, 1 },
        { 2, 0, -1 }, { 9, 0, -1 }, { 0, 4, -2 }, { 1, 99, -2 },
    };
    for (int e = 0; e < 3; e++) {
        if (!engines(vm, e, true))
            continue;
        uint64_t base[2][4];
        for (uint32_t s = 0; s < 2; s++)
            for (uint32_t i = 0; i < 4; i++)
                bpfvm_map_lookup(s ? b : a, &i, &base[s][i]);
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
            uint32_t mem[2] = { cases[c].key, cases[c].index };
            uint64_t r0 = 0;
            bpfvm_error err;
            int rc = runs[e](vm, mem, sizeof(mem), NULL, 0, &r0, &err);
            int64_t want = cases[c].r0 > 0
                               ? (int64_t)base[cases[c].key][cases[c].index] + cases[c].r0
                               : cases[c].r0;
            CHECK(rc == 0 && (int64_t)r0 == want, "engine %d case %zu: rc %d r0 %lld want %lld "
                  "%s", e, c, rc, (long long)r0, (long long)want, rc ? err.message : "");
        }
    }
    /* replaced and removed slots: runs see the new state; the old inner map
     * stays valid (the outer map holds it) */
    bpfvm_map *c2 = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    k = 1;
    CHECK(bpfvm_map_update(o, &k, &c2, BPFVM_ANY) == 0, "replace slot 1");
    uint32_t mem[2] = { 1, 2 };
    uint64_t r0 = 0;
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == 0 && r0 == 1, "new map: %llu",
          (unsigned long long)r0);
    CHECK(bpfvm_map_delete(o, &k) == 0 && bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == 0 &&
              (int64_t)r0 == -1, "removed");
    bpfvm_destroy(vm);
    UNREF(c2, o, a, tmpl);
}

/* Programs on two threads (interpreter and JIT) counting through an array
 * of maps while the host swaps 40 inner maps in and out of its slots (the
 * outer map's set of held maps grows under the readers). Every run either
 * finds a map and counts (r0 >= 1) or finds the slot empty (-1). */
typedef struct swap_run {
    bpfvm_vm *vm;
    int jit, bad;
} swap_run;

static void *swap_runner(void *arg)
{
    swap_run *r = arg;
    for (uint32_t i = 0; i < 4000; i++) {
        uint32_t mem[2] = { i % 2, i % 4 };
        uint64_t r0 = 0;
        int rc = (r->jit ? bpfvm_run_jit : bpfvm_run)(r->vm, mem, sizeof(mem), NULL, 0, &r0, NULL);
        r->bad += rc != 0 || ((int64_t)r0 < 1 && (int64_t)r0 != -1);
    }
    return NULL;
}

static void test_swap_threads(void)
{
    bpfvm_map *tmpl = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    bpfvm_map *o = mk(BPFVM_MAP_ARRAY_OF_MAPS, 4, 2, 0, tmpl);
    bpfvm_map *inner[40];
    swap_run runs2[2];
    pthread_t t[2];
    for (int i = 0; i < 40; i++)
        inner[i] = mk(BPFVM_MAP_ARRAY, 8, 4, 0, NULL);
    for (int e = 0; e < 2; e++) {
        runs2[e] = (swap_run){ bpfvm_create(), e, 0 };
        bpfvm_register_kernel_helpers(runs2[e].vm);
        CHECK(bpfvm_load_maps(runs2[e].vm, count_prog, sizeof(count_prog), &o, 1) == 0 &&
                  (!e || bpfvm_compile(runs2[e].vm, 0) == 0), "load %d", e);
        pthread_create(&t[e], NULL, swap_runner, &runs2[e]);
    }
    for (uint32_t i = 0; i < 2000; i++) {
        uint32_t k = i % 2;
        if (i % 7 == 3)
            bpfvm_map_delete(o, &k);
        else
            bpfvm_map_update(o, &k, &inner[i % 40], BPFVM_ANY);
    }
    for (int e = 0; e < 2; e++) {
        pthread_join(t[e], NULL);
        CHECK(runs2[e].bad == 0, "engine %d: %d bad runs", e, runs2[e].bad);
        bpfvm_destroy(runs2[e].vm);
    }
    unref_all(inner, 40);
    UNREF(o, tmpl);
}

/* Hash of maps: the program inserts into an inner hash map it looked up;
 * the inner map pointer cannot be read, the outer map not changed. */
static void test_program_hash_and_faults(void)
{
    bpfvm_map *tmpl = mk(BPFVM_MAP_HASH, 8, 2, 0, NULL);
    bpfvm_map *h = mk(BPFVM_MAP_HASH, 8, 2, 0, NULL);
    bpfvm_map *o = mk(BPFVM_MAP_HASH_OF_MAPS, 4, 4, 0, tmpl);
    uint32_t k = 7;
    bpfvm_map_update(o, &k, &h, BPFVM_ANY);
    /* mem = {u32 outer key, u32 inner key}: update(inner, key, key * 10, NOEXIST) */
    const bpfvm_insn insert[] = {
        LOOKUP_OUTER(-100),
        BPFVM_MOV64_REG(1, 0),
        BPFVM_LDX_MEM(BPFVM_W, 2, 6, 4), BPFVM_STX_MEM(BPFVM_W, 10, 2, -8),
        BPFVM_ALU64_IMM(BPFVM_MUL, 2, 10), BPFVM_STX_MEM(BPFVM_DW, 10, 2, -16),
        BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -8),
        BPFVM_MOV64_REG(3, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 3, -16),
        BPFVM_MOV64_IMM(4, BPFVM_NOEXIST), BPFVM_CALL_HELPER(2), BPFVM_EXIT(),
    };
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    CHECK(bpfvm_load_maps(vm, insert, sizeof(insert), &o, 1) == 0, "load insert: %s",
          bpfvm_last_error(vm)->message);
    for (int e = 0; e < 3; e++) {
        if (!engines(vm, e, true))
            continue;
        bpfvm_map_delete(h, &(uint32_t){ 1 });
        bpfvm_map_delete(h, &(uint32_t){ 2 });
        static const struct {
            uint32_t key, inner;
            int64_t r0;
        } cases[] = { { 7, 1, 0 }, { 7, 1, -EEXIST }, { 7, 2, 0 }, { 7, 3, -E2BIG },
                      { 8, 1, -100 } };
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
            uint32_t mem[2] = { cases[c].key, cases[c].inner };
            uint64_t r0 = 0;
            int rc = runs[e](vm, mem, sizeof(mem), NULL, 0, &r0, NULL);
            CHECK(rc == 0 && (int64_t)r0 == cases[c].r0, "engine %d case %zu: %d %lld", e, c,
                  rc, (long long)r0);
        }
        uint64_t v = 0;
        CHECK(bpfvm_map_lookup(h, &(uint32_t){ 2 }, &v) == 0 && v == 20, "inner value %llu",
              (unsigned long long)v);
    }
    bpfvm_destroy(vm);

    /* faults: reading through the inner map reference, changing the outer map */
    const bpfvm_insn peek[] = {
        BPFVM_ST_MEM(BPFVM_W, 10, -4, 7), BPFVM_LD_MAP_FD(1, 0), BPFVM_MOV64_REG(2, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4), BPFVM_CALL_HELPER(1),
        BPFVM_LDX_MEM(BPFVM_DW, 0, 0, 0), BPFVM_EXIT(),
    };
    const bpfvm_insn del[] = {
        BPFVM_ST_MEM(BPFVM_W, 10, -4, 7), BPFVM_LD_MAP_FD(1, 0), BPFVM_MOV64_REG(2, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4), BPFVM_CALL_HELPER(3), BPFVM_EXIT(),
    };
    for (int e = 0; e < 2; e++) {
        bpfvm_error err;
        int rc = run_prog(peek, sizeof(peek), &o, 1, e, &err);
        CHECK(rc == BPFVM_EMEMORY && err.insn == 6, "engine %d: read the map: %d %s", e, rc,
              err.message);
        rc = run_prog(del, sizeof(del), &o, 1, e, &err);
        CHECK(rc == BPFVM_EHELPERFAIL && strstr(err.message, "only lookups"),
              "engine %d: delete from the outer map: %d %s", e, rc, err.message);
    }
    CHECK(bpfvm_map_lookup(o, &k, &(bpfvm_map *){ NULL }) == 0, "outer unchanged");
    UNREF(h, o, tmpl);
}

/* ---- map values checked per element ------------------------------------ */

static void test_granularity(void)
{
    /* value_size 4, stride 8: element 0 at +0, element 1 at +8 */
    bpfvm_map *a = mk(BPFVM_MAP_ARRAY, 4, 2, 0, NULL);
    bpfvm_map *h = mk(BPFVM_MAP_HASH, 12, 2, 0, NULL);
    bpfvm_map *maps[2] = { a, h };
    uint32_t k = 1;
    uint8_t v12[12] = { 0 };
    bpfvm_map_update(h, &k, v12, BPFVM_ANY);
    static const struct {
        int16_t off;
        uint8_t size;
        bool ok;
    } acc[] = {
        { 0, BPFVM_W, true }, { 0, BPFVM_DW, false }, { 4, BPFVM_W, false }, { 2, BPFVM_W, false },
        { 3, BPFVM_B, true }, { 8, BPFVM_W, true }, { 12, BPFVM_B, false }, { -1, BPFVM_B, false },
    };
    for (size_t i = 0; i < sizeof(acc) / sizeof(acc[0]); i++) {
        /* a first access to element 0 that is allowed (the JIT then tries
         * that element first), then the one under test */
        const bpfvm_insn prog[] = {
            BPFVM_LD_MAP_VALUE(1, 0, 0), BPFVM_LDX_MEM(BPFVM_W, 0, 1, 0),
            BPFVM_LDX_MEM(acc[i].size, 0, 1, acc[i].off), BPFVM_STX_MEM(acc[i].size, 1, 0, acc[i].off),
            BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT(),
        };
        for (int e = 0; e < 2; e++) {
            bpfvm_error err;
            int rc = run_prog(prog, sizeof(prog), maps, 2, e, &err);
            CHECK(acc[i].ok ? rc == 0 : rc == BPFVM_EMEMORY && err.insn == 3,
                  "engine %d access %zu (off %d): %d %s", e, i, acc[i].off, rc, err.message);
        }
    }
    /* a hash lookup's pointer: 12 bytes, not the 4 of padding after them */
    const bpfvm_insn hp[] = {
        BPFVM_ST_MEM(BPFVM_W, 10, -4, 1), BPFVM_LD_MAP_FD(1, 1), BPFVM_MOV64_REG(2, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4), BPFVM_CALL_HELPER(1),
        BPFVM_LDX_MEM(BPFVM_W, 1, 0, 8), BPFVM_LDX_MEM(BPFVM_W, 1, 0, 12), BPFVM_EXIT(),
    };
    for (int e = 0; e < 2; e++) {
        bpfvm_error err;
        int rc = run_prog(hp, sizeof(hp), maps, 2, e, &err);
        CHECK(rc == BPFVM_EMEMORY && err.insn == 7, "engine %d: hash padding: %d %s", e, rc,
              err.message);
    }
    UNREF(a, h);
}

/* ---- BPF_F_LOCK ------------------------------------------------------- */

struct lv {
    uint64_t a;
    uint32_t lock, pad;
    uint64_t b;
};

static void *flock_writer(void *arg)
{
    bpfvm_map *m = arg;
    uint32_t k = 3;
    for (uint64_t i = 1; i <= 20000; i++) {
        struct lv v = { i, 0, 0, i };
        bpfvm_map_update(m, &k, &v, BPFVM_ANY | BPFVM_F_LOCK);
    }
    return NULL;
}

static void test_flock(void)
{
    bpfvm_map *pc = mk(BPFVM_MAP_PERCPU_ARRAY, 24, 4, 0, NULL);
    bpfvm_map *lru = mk(BPFVM_MAP_LRU_HASH, 24, 4, 0, NULL);
    bpfvm_map *a = mk(BPFVM_MAP_ARRAY, 24, 4, 0, NULL);
    bpfvm_map *h = mk(BPFVM_MAP_HASH, 24, 4, 0, NULL);
    bpfvm_map *plain = mk(BPFVM_MAP_ARRAY, 24, 4, 0, NULL);
    CHECK(bpfvm_map_set_spin_lock(pc, 8) == BPFVM_EINVAL, "per-CPU: no lock");
    CHECK(bpfvm_map_set_spin_lock(lru, 8) == BPFVM_EINVAL, "LRU: no lock");
    CHECK(bpfvm_map_set_spin_lock(a, 6) == BPFVM_EINVAL, "misaligned");
    CHECK(bpfvm_map_set_spin_lock(a, 24) == BPFVM_EINVAL, "past the value");
    CHECK(bpfvm_map_set_spin_lock(a, 8) == 0 && bpfvm_map_set_spin_lock(a, 8) == BPFVM_EINVAL,
          "one lock");
    CHECK(bpfvm_map_set_spin_lock(h, 8) == 0, "hash lock");
    uint32_t k = 1;
    struct lv v = { 5, 77, 0, 6 }, out;
    CHECK(bpfvm_map_update(plain, &k, &v, BPFVM_F_LOCK) == -EINVAL, "no lock: -EINVAL");
    CHECK(bpfvm_map_lookup_flags(plain, &k, &out, BPFVM_F_LOCK) == -EINVAL, "lookup: -EINVAL");
    CHECK(bpfvm_map_lookup_flags(a, &k, &out, 8) == -EINVAL, "other lookup flags");
    CHECK(bpfvm_map_update(a, &k, &v, BPFVM_F_LOCK | 3) == -EINVAL, "flag 3");
    k = 9;
    CHECK(bpfvm_map_update(a, &k, &v, BPFVM_F_LOCK) == -E2BIG, "index");
    k = 1;
    CHECK(bpfvm_map_update(a, &k, &v, BPFVM_F_LOCK | BPFVM_NOEXIST) == -EEXIST, "noexist");
    /* the lock word is never written by an update, shown as 0 */
    uint8_t *vals = (uint8_t *)(uintptr_t)bpfvm_map_values_address(a);
    vals[24 + 8] = 0; /* element 1's lock (stride 24) */
    CHECK(bpfvm_map_update(a, &k, &v, BPFVM_ANY) == 0 && vals[24 + 8] == 0 &&
              bpfvm_map_lookup(a, &k, &out) == 0 && out.a == 5 && out.b == 6 && out.lock == 0,
          "update keeps the lock word");
    v.a = 8;
    CHECK(bpfvm_map_update(a, &k, &v, BPFVM_F_LOCK | BPFVM_EXIST) == 0 &&
              bpfvm_map_lookup_flags(a, &k, &out, BPFVM_F_LOCK) == 0 && out.a == 8 &&
              out.lock == 0 && vals[24 + 8] == 0, "locked update and lookup");
    vals[24 + 8] = 1; /* held: a plain lookup does not wait, and shows 0 */
    CHECK(bpfvm_map_lookup(a, &k, &out) == 0 && out.lock == 0, "held lock shown as 0");
    vals[24 + 8] = 0;
    /* hash: absent keys are inserted, present ones updated in place */
    CHECK(bpfvm_map_update(h, &k, &v, BPFVM_F_LOCK | BPFVM_EXIST) == -ENOENT, "hash exist");
    CHECK(bpfvm_map_update(h, &k, &v, BPFVM_F_LOCK) == 0 &&
              bpfvm_map_update(h, &k, &v, BPFVM_F_LOCK | BPFVM_NOEXIST) == -EEXIST &&
              bpfvm_map_lookup_flags(h, &k, &out, BPFVM_F_LOCK) == 0 && out.a == 8,
          "hash insert and update");
    /* a reader under the lock never sees half of a writer's update */
    pthread_t t;
    k = 3;
    pthread_create(&t, NULL, flock_writer, h);
    int torn = 0;
    for (int i = 0; i < 20000; i++)
        if (bpfvm_map_lookup_flags(h, &k, &out, BPFVM_F_LOCK) == 0 && out.a != out.b)
            torn++;
    pthread_join(t, NULL);
    CHECK(torn == 0 && bpfvm_map_lookup(h, &k, &out) == 0 && out.a == 20000, "torn reads: %d",
          torn);
    /* a program's update with BPF_F_LOCK: written under the lock, the lock
     * word kept; on a map without a lock -EINVAL */
    const bpfvm_insn prog[] = {
        BPFVM_ST_MEM(BPFVM_W, 10, -4, 2), BPFVM_ST_MEM(BPFVM_DW, 10, -32, 11),
        BPFVM_ST_MEM(BPFVM_DW, 10, -24, -1), BPFVM_ST_MEM(BPFVM_DW, 10, -16, 12),
        BPFVM_LD_MAP_FD(1, 0), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
        BPFVM_MOV64_REG(3, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 3, -32),
        BPFVM_MOV64_IMM(4, BPFVM_F_LOCK), BPFVM_CALL_HELPER(2), BPFVM_EXIT(),
    };
    for (int e = 0; e < 2; e++) {
        bpfvm_map *maps[2] = { a, plain };
        uint64_t r0 = 0;
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_register_kernel_helpers(vm);
        k = 2;
        CHECK(bpfvm_load_maps(vm, prog, sizeof(prog), maps, 2) == 0 && engines(vm, e, false) &&
                  runs[e](vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 0 &&
                  bpfvm_map_lookup(a, &k, &out) == 0 && out.a == 11 && out.b == 12 &&
                  vals[2 * 24 + 8] == 0, "engine %d: program F_LOCK update: %lld", e,
              (long long)r0);
        CHECK(bpfvm_load_maps(vm, prog, sizeof(prog), maps + 1, 1) == 0 && engines(vm, e, false) &&
                  runs[e](vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && (int64_t)r0 == -EINVAL,
              "engine %d: no lock: %lld", e, (long long)r0);
        bpfvm_destroy(vm);
    }
    /* what the kernel's verifier proves about bpf_spin_lock, checked so
     * that nothing waits forever */
    const bpfvm_insn twice[] = {
        BPFVM_LD_MAP_VALUE(1, 0, 8), BPFVM_CALL_HELPER(93), BPFVM_LD_MAP_VALUE(1, 0, 8),
        BPFVM_CALL_HELPER(93), BPFVM_EXIT(),
    };
    const bpfvm_insn kept[] = {
        BPFVM_LD_MAP_VALUE(1, 0, 8), BPFVM_CALL_HELPER(93), BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT(),
    };
    const bpfvm_insn foreign[] = {
        BPFVM_LD_MAP_VALUE(1, 0, 8), BPFVM_CALL_HELPER(94), BPFVM_EXIT(),
    };
    const bpfvm_insn locked_update[] = {
        BPFVM_LD_MAP_VALUE(1, 0, 8), BPFVM_CALL_HELPER(93),
        BPFVM_ST_MEM(BPFVM_W, 10, -4, 0), BPFVM_ST_MEM(BPFVM_DW, 10, -32, 0),
        BPFVM_ST_MEM(BPFVM_DW, 10, -24, 0), BPFVM_ST_MEM(BPFVM_DW, 10, -16, 0),
        BPFVM_LD_MAP_FD(1, 0), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
        BPFVM_MOV64_REG(3, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 3, -32),
        BPFVM_MOV64_IMM(4, BPFVM_F_LOCK), BPFVM_CALL_HELPER(2), BPFVM_EXIT(),
    };
    const struct {
        const bpfvm_insn *p;
        size_t len;
        const char *msg;
    } rules[] = {
        { twice, sizeof(twice), "already holds a lock" },
        { kept, sizeof(kept), "ended holding the bpf_spin_lock" },
        { foreign, sizeof(foreign), "not the lock the program holds" },
        { locked_update, sizeof(locked_update), "BPF_F_LOCK while the program holds" },
    };
    /* nor may the program touch the lock word itself */
    const bpfvm_insn touch[] = {
        BPFVM_LD_MAP_VALUE(1, 0, 0), BPFVM_LDX_MEM(BPFVM_DW, 0, 1, 0),
        BPFVM_LDX_MEM(BPFVM_DW, 0, 1, 16), BPFVM_LDX_MEM(BPFVM_B, 0, 1, 11), BPFVM_EXIT(),
    };
    for (int e = 0; e < 2; e++) {
        bpfvm_error err;
        int rc = run_prog(touch, sizeof(touch), &a, 1, e, &err);
        CHECK(rc == BPFVM_EMEMORY && err.insn == 4, "engine %d: lock word read: %d %s", e, rc,
              err.message);
    }
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        for (int e = 0; e < 2; e++) {
            bpfvm_error err;
            int rc = run_prog(rules[i].p, rules[i].len, &a, 1, e, &err);
            CHECK(rc == BPFVM_EHELPERFAIL && strstr(err.message, rules[i].msg) && vals[8] == 0,
                  "engine %d rule %zu: %d %s (lock %u)", e, i, rc, err.message, vals[8]);
        }
    UNREF(pc, lru, a, h, plain);
}

int main(void)
{
    test_create();
    test_fits();
    test_program();
    test_swap_threads();
    test_program_hash_and_faults();
    test_granularity();
    test_flock();
    return TEST_END();
}
