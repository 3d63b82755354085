/* test_maps.c - maps: creation errors, every element call's errno for each
 * type, LRU eviction, per-CPU layout, iteration; the same operation
 * sequences on kernel maps (bpf(2)) with identical results where the kernel
 * lets us; programs using maps through the kernel helpers in both engines,
 * and the faults of bad helper arguments. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm.h"
#include "test.h"

static bpfvm_map *make(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags)
{
    bpfvm_map_def d = { type, ks, vs, max, flags };
    bpfvm_map *m = NULL;
    bpfvm_error err;
    int rc = bpfvm_map_create(&d, "m", &m, &err);
    CHECK(rc == 0, "create type %u: %s", type, err.message);
    return m;
}

static void test_create_errors(void)
{
    static const struct {
        bpfvm_map_def d;
        const char *msg;
    } bad[] = {
        { { 99, 4, 4, 1, 0 }, "unsupported map type 99" },
        { { BPFVM_MAP_HASH, 0, 4, 1, 0 }, "must not be 0" },
        { { BPFVM_MAP_HASH, 4, 0, 1, 0 }, "must not be 0" },
        { { BPFVM_MAP_ARRAY, 4, 4, 0, 0 }, "must not be 0" },
        { { BPFVM_MAP_ARRAY, 8, 4, 1, 0 }, "4-byte keys" },
        { { BPFVM_MAP_PERCPU_ARRAY, 2, 4, 1, 0 }, "4-byte keys" },
        { { BPFVM_MAP_HASH, 513, 4, 1, 0 }, "key_size 513" },
        { { BPFVM_MAP_HASH, 4, (1u << 20) + 1, 1, 0 }, "value_size" },
        { { BPFVM_MAP_ARRAY, 4, 4, 1, BPFVM_F_NO_PREALLOC }, "flags 0x1" },
        { { BPFVM_MAP_LRU_HASH, 4, 4, 1, BPFVM_F_NO_PREALLOC }, "flags 0x1" },
        { { BPFVM_MAP_HASH, 4, 4, 1, 0x10000 }, "flags 0x10000" },
        { { BPFVM_MAP_ARRAY, 4, 1u << 20, 2000, 0 }, "over the limit" },
        /* tables beyond the values count too (a fuzzed object once asked 16 GB) */
        { { BPFVM_MAP_PROG_ARRAY, 4, 4, 0x7e000000, 0 }, "over the limit" },
        { { BPFVM_MAP_HASH, 4, 8, 40000000, 0 }, "over the limit" },
        { { BPFVM_MAP_QUEUE, 0, 64, 20000000, 0 }, "over the limit" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bpfvm_map *m = (bpfvm_map *)1;
        bpfvm_error err;
        int rc = bpfvm_map_create(&bad[i].d, "bad", &m, &err);
        CHECK(rc == BPFVM_EINVAL && !m && strstr(err.message, bad[i].msg), "bad %zu: %d %s", i,
              rc, err.message);
    }
    bpfvm_map *m = make(BPFVM_MAP_HASH, 4, 4, 1, BPFVM_F_NO_PREALLOC);
    CHECK(m && strcmp(bpfvm_map_name(m), "m") == 0 &&
              bpfvm_map_get_def(m)->flags == BPFVM_F_NO_PREALLOC, "hash with no_prealloc");
    CHECK(strcmp(bpfvm_map_type_name(BPFVM_MAP_LRU_PERCPU_HASH), "lru_percpu_hash") == 0,
          "type name");
    bpfvm_map_unref(m);
}

static void test_array(void)
{
    bpfvm_map *m = make(BPFVM_MAP_ARRAY, 4, 12, 3, 0);
    uint32_t k = 1, next = 99;
    uint8_t v[12] = { 1, 2, 3 }, out[12];
    if (!m)
        return;
    CHECK(bpfvm_map_lookup(m, &k, out) == 0 && out[0] == 0, "zeroed element");
    CHECK(bpfvm_map_update(m, &k, v, BPFVM_ANY) == 0, "update any");
    CHECK(bpfvm_map_update(m, &k, v, BPFVM_EXIST) == 0, "update exist");
    CHECK(bpfvm_map_update(m, &k, v, BPFVM_NOEXIST) == -EEXIST, "noexist -> EEXIST");
    CHECK(bpfvm_map_update(m, &k, v, 3) == -EINVAL, "flags 3 -> EINVAL");
    CHECK(bpfvm_map_lookup(m, &k, out) == 0 && memcmp(out, v, 12) == 0, "value back");
    k = 3;
    CHECK(bpfvm_map_update(m, &k, v, BPFVM_ANY) == -E2BIG, "index 3 -> E2BIG");
    CHECK(bpfvm_map_update(m, &k, v, 7) == -EINVAL, "bad flags before the index");
    CHECK(bpfvm_map_lookup(m, &k, out) == -ENOENT, "lookup 3 -> ENOENT");
    CHECK(bpfvm_map_delete(m, &k) == -EINVAL, "delete -> EINVAL");
    CHECK(bpfvm_map_next_key(m, NULL, &next) == 0 && next == 0, "first key");
    CHECK(bpfvm_map_next_key(m, &k, &next) == 0 && next == 0, "after an absent key: first");
    k = 1;
    CHECK(bpfvm_map_next_key(m, &k, &next) == 0 && next == 2, "next of 1");
    k = 2;
    CHECK(bpfvm_map_next_key(m, &k, &next) == -ENOENT, "next of the last -> ENOENT");
    CHECK(bpfvm_map_lookup(NULL, &k, out) == -EINVAL, "NULL map");
    CHECK(bpfvm_map_host_value_size(m) == 12, "host value size");
    bpfvm_map_unref(m);
}

static void test_hash(uint32_t type)
{
    bpfvm_map *m = make(type, 6, 8, 4, 0);
    uint8_t k[6] = "abcde", next[6];
    uint64_t v = 7, out;
    size_t hv = bpfvm_map_host_value_size(m);
    uint64_t *big = calloc(1, hv), *bigout = calloc(1, hv);
    if (!m)
        return;
    big[0] = 7;
    CHECK(bpfvm_map_lookup(m, k, bigout) == -ENOENT, "%u: lookup absent", type);
    CHECK(bpfvm_map_delete(m, k) == -ENOENT, "%u: delete absent", type);
    CHECK(bpfvm_map_next_key(m, NULL, next) == -ENOENT, "%u: next of empty", type);
    CHECK(bpfvm_map_update(m, k, big, BPFVM_EXIST) == -ENOENT, "%u: exist on absent", type);
    CHECK(bpfvm_map_update(m, k, big, 4) == -EINVAL, "%u: flags 4", type);
    CHECK(bpfvm_map_update(m, k, big, BPFVM_NOEXIST) == 0, "%u: noexist on absent", type);
    CHECK(bpfvm_map_update(m, k, big, BPFVM_NOEXIST) == -EEXIST, "%u: noexist on present",
          type);
    big[0] = 8;
    CHECK(bpfvm_map_update(m, k, big, BPFVM_EXIST) == 0, "%u: exist on present", type);
    CHECK(bpfvm_map_lookup(m, k, bigout) == 0 && bigout[0] == 8, "%u: value", type);
    for (int i = 1; i < 4; i++) {
        k[0] = (uint8_t)('a' + i);
        CHECK(bpfvm_map_update(m, k, big, BPFVM_ANY) == 0, "%u: fill %d", type, i);
    }
    k[0] = 'z';
    bool lru = type == BPFVM_MAP_LRU_HASH || type == BPFVM_MAP_LRU_PERCPU_HASH;
    int rc = bpfvm_map_update(m, k, big, BPFVM_ANY);
    CHECK(lru ? rc == 0 : rc == -E2BIG, "%u: full map: %d", type, rc);
    k[0] = 'b';
    CHECK(bpfvm_map_update(m, k, big, BPFVM_ANY) == 0, "%u: replace in a full map", type);
    /* iteration sees every element once */
    int seen = 0, count = 0;
    const uint8_t *prev = NULL;
    uint8_t cur[6];
    while (bpfvm_map_next_key(m, prev, cur) == 0 && count < 10) {
        count++;
        seen |= 1 << (cur[0] - 'a' > 25 ? 0 : cur[0] - 'a');
        memcpy(next, cur, 6);
        prev = next;
    }
    CHECK(count == 4, "%u: iterated %d", type, count);
    if (lru) /* 'a' was the least recently used: evicted for 'z' */
        CHECK(seen == (1 << 1 | 1 << 2 | 1 << 3 | 1 << 25), "%u: lru kept %x", type, seen);
    k[0] = 'b';
    CHECK(bpfvm_map_delete(m, k) == 0 && bpfvm_map_lookup(m, k, bigout) == -ENOENT,
          "%u: delete", type);
    CHECK(bpfvm_map_update(m, k, big, BPFVM_NOEXIST) == 0, "%u: reinsert after delete", type);
    (void)v, (void)out;
    free(big);
    free(bigout);
    bpfvm_map_unref(m);
}

static void test_lru_order(void)
{
    /* Lookups by programs count as uses: build via bpfvm_load_maps below;
     * here host updates: the least recently updated goes first. */
    bpfvm_map *m = make(BPFVM_MAP_LRU_HASH, 4, 4, 3, 0);
    uint32_t k, v = 0;
    for (k = 0; k < 3; k++)
        bpfvm_map_update(m, &k, &v, BPFVM_ANY);
    k = 0;
    bpfvm_map_update(m, &k, &v, BPFVM_EXIST); /* 0 is now the most recent */
    for (k = 10; k < 12; k++)
        CHECK(bpfvm_map_update(m, &k, &v, BPFVM_ANY) == 0, "lru insert %u", k);
    k = 0;
    CHECK(bpfvm_map_lookup(m, &k, &v) == 0, "0 kept");
    k = 1;
    CHECK(bpfvm_map_lookup(m, &k, &v) == -ENOENT, "1 evicted");
    k = 2;
    CHECK(bpfvm_map_lookup(m, &k, &v) == -ENOENT, "2 evicted");
    bpfvm_map_unref(m);
}

static void test_percpu(void)
{
    unsigned n = bpfvm_num_possible_cpus();
    bpfvm_map *m = make(BPFVM_MAP_PERCPU_ARRAY, 4, 4, 2, 0);
    CHECK(n >= 1 && bpfvm_map_host_value_size(m) == 8u * n, "percpu host size %zu for %u cpus",
          bpfvm_map_host_value_size(m), n);
    uint32_t *vals = calloc(n, 8), *out = calloc(n, 8), k = 1;
    for (unsigned c = 0; c < n; c++)
        vals[2 * c] = 100 + c, vals[2 * c + 1] = 0xdead; /* padding is not stored */
    CHECK(bpfvm_map_update(m, &k, vals, BPFVM_ANY) == 0, "percpu update");
    CHECK(bpfvm_map_lookup(m, &k, out) == 0, "percpu lookup");
    for (unsigned c = 0; c < n; c++)
        CHECK(out[2 * c] == 100 + c && out[2 * c + 1] == 0, "cpu %u: %u %x", c, out[2 * c],
              out[2 * c + 1]);
    free(vals);
    free(out);
    bpfvm_map_unref(m);
}

/* ---- the same operations on the kernel's maps ------------------------- */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
    return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int kmap_create(const bpfvm_map_def *d)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = d->type;
    a.key_size = d->key_size;
    a.value_size = d->value_size;
    a.max_entries = d->max_entries;
    a.map_flags = d->flags;
    return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int kmap_op(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = (uint32_t)fd;
    a.key = (uint64_t)(uintptr_t)key;
    a.value = (uint64_t)(uintptr_t)value; /* also next_key */
    a.flags = flags;
    return sys_bpf(cmd, &a) == 0 ? 0 : -errno;
}

/* A random sequence of updates (every flag, some invalid), lookups and
 * deletes over a small key space, on both; every return and looked-up
 * value must agree, and at the end the contents (as sets). */
static void compare_with_kernel(uint32_t type, uint32_t max)
{
    bpfvm_map_def d = { type, 4, 8, max, 0 };
    int fd = kmap_create(&d);
    if (fd < 0) {
        printf("SKIP kernel comparison of %s: bpf(BPF_MAP_CREATE): %s\n",
               bpfvm_map_type_name(type), strerror(errno));
        return;
    }
    bpfvm_map *m = make(type, 4, 8, max, 0);
    size_t hv = bpfvm_map_host_value_size(m);
    uint8_t *v = calloc(1, hv), *o1 = calloc(1, hv), *o2 = calloc(1, hv);
    uint64_t s = 12345 + type;
    int mismatches = 0;
    for (int i = 0; i < 3000 && mismatches < 5; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t op = (uint32_t)(s >> 60) % 4, key = (uint32_t)(s >> 40) % (max + 3);
        uint64_t flags = (s >> 20) % 5;
        for (size_t b = 0; b < hv; b++)
            v[b] = (uint8_t)(s >> (b % 8) ^ b);
        int r1, r2;
        if (op <= 1) {
            r1 = bpfvm_map_update(m, &key, v, flags);
            r2 = kmap_op(BPF_MAP_UPDATE_ELEM, fd, &key, v, flags);
        } else if (op == 2) {
            memset(o1, 0, hv), memset(o2, 0, hv);
            r1 = bpfvm_map_lookup(m, &key, o1);
            r2 = kmap_op(BPF_MAP_LOOKUP_ELEM, fd, &key, o2, 0);
            if (r1 == 0 && r2 == 0 && memcmp(o1, o2, hv) != 0) {
                mismatches++;
                CHECK(0, "%s step %d: lookup %u values differ", bpfvm_map_type_name(type), i,
                      key);
            }
        } else {
            r1 = bpfvm_map_delete(m, &key);
            r2 = kmap_op(BPF_MAP_DELETE_ELEM, fd, &key, NULL, 0);
        }
        if (r1 != r2) {
            mismatches++;
            CHECK(r1 == r2, "%s step %d: op %u key %u flags %llu: bpfvm %d, kernel %d",
                  bpfvm_map_type_name(type), i, op, key, (unsigned long long)flags, r1, r2);
        }
    }
    /* the whole contents: every kernel key is ours with the same value, and
     * the counts agree */
    uint32_t k, nk = 0, n1 = 0, n2 = 0;
    const uint32_t *prev = NULL;
    while (kmap_op(BPF_MAP_GET_NEXT_KEY, fd, prev, &nk, 0) == 0 && n2 <= max) {
        k = nk;
        prev = &k;
        n2++;
        kmap_op(BPF_MAP_LOOKUP_ELEM, fd, &k, o2, 0);
        CHECK(bpfvm_map_lookup(m, &k, o1) == 0 && memcmp(o1, o2, hv) == 0,
              "%s: key %u differs at the end", bpfvm_map_type_name(type), k);
    }
    prev = NULL;
    while (bpfvm_map_next_key(m, prev, &nk) == 0 && n1 <= max) {
        k = nk;
        prev = &k;
        n1++;
    }
    CHECK(n1 == n2, "%s: %u elements, kernel %u", bpfvm_map_type_name(type), n1, n2);
    free(v), free(o1), free(o2);
    close(fd);
    bpfvm_map_unref(m);
}

/* ---- programs --------------------------------------------------------- */


/* The input's first word is the key: count it in map 0 (hash u32 -> u64):
 * lookup; if absent insert 1 with NOEXIST, else atomically add 1. Returns
 * the new count, read back by a second lookup. */
static const bpfvm_insn counter_prog[] = {
    BPFVM_LDX_MEM(BPFVM_W, 6, 1, 0),              /* r6 = key */
    BPFVM_STX_MEM(BPFVM_W, 10, 6, -4),            /* *(u32 *)(fp-4) = key */
    BPFVM_LD_MAP_FD(1, 0),
    BPFVM_MOV64_REG(2, 10),
    BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
    BPFVM_CALL_HELPER(1),                         /* lookup */
    BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0, 3),
    BPFVM_MOV64_IMM(1, 1),
    BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 0, 1, 0),
    BPFVM_JA_OFF(9),
    BPFVM_ST_MEM(BPFVM_DW, 10, -16, 1),           /* value 1 at fp-16 */
    BPFVM_LD_MAP_FD(1, 0),
    BPFVM_MOV64_REG(2, 10),
    BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
    BPFVM_MOV64_REG(3, 10),
    BPFVM_ALU64_IMM(BPFVM_ADD, 3, -16),
    BPFVM_MOV64_IMM(4, BPFVM_NOEXIST),
    BPFVM_CALL_HELPER(2),                         /* update */
    BPFVM_LD_MAP_FD(1, 0),
    BPFVM_MOV64_REG(2, 10),
    BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
    BPFVM_CALL_HELPER(1),
    BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0, 1),
    BPFVM_LDX_MEM(BPFVM_DW, 0, 0, 0),
    BPFVM_EXIT(),
};

typedef int (*run_fn)(bpfvm_vm *, void *, size_t, void *, size_t, uint64_t *, bpfvm_error *);

static void test_program(void)
{
    bpfvm_map *h = make(BPFVM_MAP_HASH, 4, 8, 4, 0);
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    int rc = bpfvm_load_maps(vm, counter_prog, sizeof(counter_prog), &h, 1);
    CHECK(rc == 0, "load counter: %s", bpfvm_last_error(vm)->message);
    int jit = bpfvm_compile(vm, 0) == 0;
    run_fn runs[2] = { bpfvm_run, bpfvm_run_jit };
    for (int e = 0; e < 1 + jit; e++) {
        for (uint32_t key = 0; key < 6; key++) {
            uint64_t mem = key % 3, r0 = 0;
            bpfvm_error err;
            rc = runs[e](vm, &mem, sizeof(mem), NULL, 0, &r0, &err);
            CHECK(rc == 0 && r0 == (uint64_t)e * 2 + key / 3 + 1, "engine %d key %u: rc %d r0 %llu "
                  "%s", e, key, rc, (unsigned long long)r0, err.message);
        }
    }
    uint32_t k = 2;
    uint64_t v = 0;
    CHECK(bpfvm_map_lookup(h, &k, &v) == 0 && v == 2u + 2u * (unsigned)jit, "host sees %llu",
          (unsigned long long)v);
    /* five keys in a map of four: the fifth update fails with -E2BIG in the
     * program, which then finds no element and returns 0 */
    for (uint64_t key = 10; key < 12; key++) {
        uint64_t r0 = 99;
        rc = bpfvm_run(vm, &key, sizeof(key), NULL, 0, &r0, NULL);
        CHECK(rc == 0 && r0 == (key == 10 ? 1 : 0), "key %llu in a full map: r0 %llu",
              (unsigned long long)key, (unsigned long long)r0);
    }
    /* the VM keeps its reference: the host may drop its own */
    bpfvm_map_unref(h);
    uint64_t key = 0, r0 = 0;
    CHECK(bpfvm_run(vm, &key, sizeof(key), NULL, 0, &r0, NULL) == 0 && r0 == 3u + 2u * (unsigned)jit,
          "after the host's unref: %llu", (unsigned long long)r0);
    bpfvm_destroy(vm);
}

/* Faults: a map pointer that is not the program's, a key outside memory,
 * writes to a read-only map's values, lddw with a bad map index. */
static void test_program_faults(void)
{
    bpfvm_map *a = make(BPFVM_MAP_ARRAY, 4, 8, 2, 0);
    bpfvm_map *ro = make(BPFVM_MAP_ARRAY, 4, 8, 2, BPFVM_F_RDONLY_PROG);
    bpfvm_map *maps[2] = { a, ro };
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_error err;
    uint64_t r0;
    bpfvm_register_kernel_helpers(vm);

    const bpfvm_insn fake_map[] = {
        BPFVM_LD_IMM64(1, 0x1000), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -8),
        BPFVM_ST_MEM(BPFVM_DW, 10, -8, 0), BPFVM_CALL_HELPER(1), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, fake_map, sizeof(fake_map), maps, 2) == 0, "load fake");
    int rc = bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err);
    CHECK(rc == BPFVM_EHELPERFAIL && strstr(err.message, "not a map of this program"),
          "fake map: %d %s", rc, err.message);

    const bpfvm_insn bad_key[] = {
        BPFVM_LD_MAP_FD(1, 0), BPFVM_MOV64_IMM(2, 64), BPFVM_CALL_HELPER(1), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, bad_key, sizeof(bad_key), maps, 2) == 0, "load bad key");
    rc = bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err);
    CHECK(rc == BPFVM_EHELPERFAIL && strstr(err.message, "key [0x40, +4) is not readable"),
          "bad key: %d %s", rc, err.message);

    /* direct value access: map 0's value is writable, map 1's is not */
    const bpfvm_insn direct[] = {
        BPFVM_LD_MAP_VALUE(1, 0, 8), BPFVM_ST_MEM(BPFVM_DW, 1, 0, 42), /* element 1 of map 0 */
        BPFVM_LD_MAP_VALUE(1, 1, 0), BPFVM_LDX_MEM(BPFVM_DW, 0, 1, 0),
        BPFVM_ST_MEM(BPFVM_DW, 1, 0, 1), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, direct, sizeof(direct), maps, 2) == BPFVM_EVERIFY &&
              strstr(bpfvm_last_error(vm)->message, "offset 8"), "value offset past value_size: "
          "%s", bpfvm_last_error(vm)->message);
    const bpfvm_insn direct2[] = {
        BPFVM_LD_MAP_VALUE(1, 0, 0), BPFVM_ST_MEM(BPFVM_DW, 1, 8, 42),
        BPFVM_LD_MAP_VALUE(1, 1, 0), BPFVM_LDX_MEM(BPFVM_DW, 0, 1, 0),
        BPFVM_ST_MEM(BPFVM_DW, 1, 0, 1), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, direct2, sizeof(direct2), maps, 2) == 0, "load direct: %s",
          bpfvm_last_error(vm)->message);
    rc = bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err);
    uint32_t k = 1;
    uint64_t v = 0;
    CHECK(rc == BPFVM_EMEMORY && err.insn == 6 && strstr(err.message, "write"),
          "write to a read-only map: %d %s", rc, err.message);
    CHECK(bpfvm_map_lookup(a, &k, &v) == 0 && v == 42, "store through a value address: %llu",
          (unsigned long long)v);

    const bpfvm_insn bad_index[] = { BPFVM_LD_MAP_FD(1, 2), BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT() };
    rc = bpfvm_load_maps(vm, bad_index, sizeof(bad_index), maps, 2);
    CHECK(rc == BPFVM_EVERIFY && bpfvm_last_error(vm)->insn == 0 &&
              strstr(bpfvm_last_error(vm)->message, "refers to map 2"), "bad index: %s",
          bpfvm_last_error(vm)->message);
    /* a failed load keeps the previous program and its maps */
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == BPFVM_EMEMORY, "old program kept");

    const bpfvm_insn ro_update[] = {
        BPFVM_LD_MAP_FD(1, 1), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -8),
        BPFVM_ST_MEM(BPFVM_DW, 10, -8, 0), BPFVM_MOV64_REG(3, 2), BPFVM_MOV64_IMM(4, 0),
        BPFVM_CALL_HELPER(2), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, ro_update, sizeof(ro_update), maps, 2) == 0, "load ro update");
    rc = bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err);
    CHECK(rc == BPFVM_EHELPERFAIL && strstr(err.message, "read-only"), "ro update: %s",
          err.message);
    bpfvm_destroy(vm);
    bpfvm_map_unref(a);
    bpfvm_map_unref(ro);
}

/* Per-CPU maps: a program's lookup gets the slot of the CPU the VM is set to. */
static void test_percpu_program(void)
{
    unsigned n = bpfvm_num_possible_cpus();
    bpfvm_map *m = make(BPFVM_MAP_PERCPU_HASH, 4, 4, 2, 0);
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    /* update key 5 with the CPU id + 100, return get_smp_processor_id */
    const bpfvm_insn prog[] = {
        BPFVM_CALL_HELPER(8), BPFVM_MOV64_REG(6, 0), BPFVM_ALU64_IMM(BPFVM_ADD, 0, 100),
        BPFVM_STX_MEM(BPFVM_W, 10, 0, -8), BPFVM_ST_MEM(BPFVM_W, 10, -4, 5),
        BPFVM_LD_MAP_FD(1, 0), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
        BPFVM_MOV64_REG(3, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 3, -8), BPFVM_MOV64_IMM(4, 0),
        BPFVM_CALL_HELPER(2), BPFVM_MOV64_REG(0, 6), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, prog, sizeof(prog), &m, 1) == 0, "load percpu");
    CHECK(bpfvm_set_cpu(vm, (int)n) == BPFVM_EINVAL, "cpu out of range");
    uint32_t *out = calloc(n, 8), k = 5;
    for (unsigned c = n; c-- > 0;) {
        uint64_t r0 = 99;
        bpfvm_set_cpu(vm, (int)c);
        CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == c, "cpu %u: %llu", c,
              (unsigned long long)r0);
    }
    CHECK(bpfvm_map_lookup(m, &k, out) == 0, "lookup");
    for (unsigned c = 0; c < n; c++)
        CHECK(out[2 * c] == 100 + c, "slot %u: %u", c, out[2 * c]);
    free(out);
    bpfvm_destroy(vm);
    bpfvm_map_unref(m);
}

static void test_probe_read(void)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    /* probe_read(fp-8, 8, mem + len - 8): the input's last 8 bytes, or -EFAULT */
    const bpfvm_insn prog[] = {
        BPFVM_ALU64_REG(BPFVM_ADD, 1, 2), BPFVM_ALU64_IMM(BPFVM_ADD, 1, -8),
        BPFVM_MOV64_REG(3, 1), BPFVM_MOV64_REG(1, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 1, -8), BPFVM_MOV64_IMM(2, 8), BPFVM_CALL_HELPER(4),
        BPFVM_JMP_IMM(BPFVM_JNE, 0, 0, 1), BPFVM_LDX_MEM(BPFVM_DW, 0, 10, -8), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load(vm, prog, sizeof(prog)) == 0, "load");
    uint64_t mem[2] = { 0x1122334455667788ull, 0x99 }, r0 = 0;
    CHECK(bpfvm_run(vm, mem, 16, NULL, 0, &r0, NULL) == 0 && r0 == 0x99, "read: %llx",
          (unsigned long long)r0);
    CHECK(bpfvm_run(vm, mem, 8, NULL, 0, &r0, NULL) == 0 && r0 == 0x1122334455667788ull,
          "read: %llx", (unsigned long long)r0);
    CHECK(bpfvm_run(vm, mem, 4, NULL, 0, &r0, NULL) == 0 && r0 == (uint64_t)-EFAULT,
          "partly readable source: %llx", (unsigned long long)r0);
    CHECK(bpfvm_run(vm, mem, 0, NULL, 0, &r0, NULL) == 0 && r0 == (uint64_t)-EFAULT,
          "unreadable source: %llx", (unsigned long long)r0);
    /* str form: copy "hi" */
    const bpfvm_insn sprog[] = {
        BPFVM_MOV64_REG(3, 1), BPFVM_MOV64_REG(1, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 1, -8),
        BPFVM_MOV64_IMM(2, 8), BPFVM_CALL_HELPER(45), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load(vm, sprog, sizeof(sprog)) == 0, "load str");
    char s[8] = "hi";
    CHECK(bpfvm_run(vm, s, 8, NULL, 0, &r0, NULL) == 0 && r0 == 3, "str len %llu",
          (unsigned long long)r0);
    CHECK(bpfvm_run(vm, s, 0, NULL, 0, &r0, NULL) == 0 && r0 == (uint64_t)-EFAULT,
          "str unreadable %llx", (unsigned long long)r0);
    memcpy(s, "abcdefgh", 8);
    CHECK(bpfvm_run(vm, s, 8, NULL, 0, &r0, NULL) == 0 && r0 == 8, "str cut at size: %llu",
          (unsigned long long)r0);
    bpfvm_destroy(vm);
}

/* ---- queues, stacks, ring buffers, spin locks ------------------------------- */

static void count_record(void *user, const void *data, size_t size)
{
    uint64_t *sum = user;
    uint64_t v = 0;
    memcpy(&v, data, size < 8 ? size : 8);
    sum[0]++;
    sum[1] += v + size;
}

static void test_queues_ringbuf(void)
{
    bpfvm_map_def qd = { BPFVM_MAP_QUEUE, 0, 4, 2, 0 }, sd = { BPFVM_MAP_STACK, 0, 4, 2, 0 };
    bpfvm_map *q, *st, *bad = NULL;
    bpfvm_error err;
    CHECK(bpfvm_map_create(&qd, "q", &q, &err) == 0 && bpfvm_map_create(&sd, "s", &st, &err) == 0,
          "queue and stack: %s", err.message);
    qd.key_size = 4;
    CHECK(bpfvm_map_create(&qd, "q", &bad, &err) == BPFVM_EINVAL, "queue with a key");
    uint32_t v, k = 0;
    for (uint32_t i = 1; i <= 3; i++) {
        int want = i == 3 ? -E2BIG : 0;
        CHECK(bpfvm_map_update(q, NULL, &i, BPFVM_ANY) == want, "push q %u", i);
        CHECK(bpfvm_map_update(st, NULL, &i, BPFVM_ANY) == want, "push s %u", i);
    }
    v = 3;
    CHECK(bpfvm_map_update(q, NULL, &v, 1) == -EINVAL, "push with NOEXIST");
    CHECK(bpfvm_map_update(q, NULL, &v, BPFVM_EXIST) == 0, "push over the oldest");
    CHECK(bpfvm_map_lookup(q, NULL, &v) == 0 && v == 2, "peek q %u", v);
    CHECK(bpfvm_map_lookup_and_delete(q, NULL, &v) == 0 && v == 2, "pop q %u", v);
    CHECK(bpfvm_map_lookup_and_delete(q, NULL, &v) == 0 && v == 3, "pop q %u", v);
    CHECK(bpfvm_map_lookup_and_delete(q, NULL, &v) == -ENOENT, "pop empty q");
    CHECK(bpfvm_map_lookup_and_delete(st, NULL, &v) == 0 && v == 2, "pop s %u", v);
    CHECK(bpfvm_map_delete(st, &k) == -EINVAL && bpfvm_map_next_key(st, NULL, &k) == -EINVAL,
          "no delete or next_key on a stack");

    bpfvm_map_def rd = { BPFVM_MAP_RINGBUF, 0, 0, 4096, 0 };
    bpfvm_map *rb;
    CHECK(bpfvm_map_create(&rd, "rb", &rb, &err) == 0, "ringbuf: %s", err.message);
    rd.max_entries = 5000;
    CHECK(bpfvm_map_create(&rd, "rb", &bad, &err) == BPFVM_EINVAL, "ringbuf of 5000 bytes");
    bpfvm_map *maps[3] = { q, st, rb };
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    /* reserve mem[0] bytes; write the size in; submit, or discard when
     * mem[1]; return the record address (0 when the ring is full) */
    const bpfvm_insn prog2[] = {
        BPFVM_LDX_MEM(BPFVM_DW, 6, 1, 0), BPFVM_LDX_MEM(BPFVM_DW, 7, 1, 8),
        BPFVM_LD_MAP_FD(1, 2), BPFVM_MOV64_REG(2, 6), BPFVM_MOV64_IMM(3, 0),
        BPFVM_CALL_HELPER(131), BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0, 9),
        BPFVM_STX_MEM(BPFVM_DW, 0, 6, 0), BPFVM_MOV64_REG(8, 0), BPFVM_MOV64_REG(1, 0),
        BPFVM_MOV64_IMM(2, 0), BPFVM_JMP_IMM(BPFVM_JNE, 7, 0, 2), BPFVM_CALL_HELPER(132),
        BPFVM_JA_OFF(1), BPFVM_CALL_HELPER(133), BPFVM_MOV64_REG(0, 8), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, prog2, sizeof(prog2), maps, 3) == 0, "load ringbuf prog: %s",
          bpfvm_last_error(vm)->message);
    uint64_t in[2] = { 24, 0 }, r0 = 0, sum[2] = { 0, 0 };
    int n = 0;
    while (bpfvm_run(vm, in, sizeof(in), NULL, 0, &r0, &err) == 0 && r0 && n < 1000) {
        n++;
        in[1] = (uint64_t)(n % 2);
    }
    /* 32 bytes a record, at most 4095 bytes ahead: 127 records */
    CHECK(n == 127 && r0 == 0, "records until full: %d", n);
    CHECK(bpfvm_ringbuf_consume(rb, count_record, sum, 1) == 64 && sum[0] == 64 &&
              sum[1] == 64u * 48u, "peek: %llu records, %llu", (unsigned long long)sum[0],
          (unsigned long long)sum[1]);
    CHECK(bpfvm_ringbuf_consume(rb, NULL, NULL, 0) == 64, "consume");
    CHECK(bpfvm_ringbuf_consume(rb, NULL, NULL, 0) == 0, "empty");
    CHECK(bpfvm_run(vm, in, sizeof(in), NULL, 0, &r0, &err) == 0 && r0, "space again");
    CHECK(bpfvm_ringbuf_consume(q, NULL, NULL, 0) == -EINVAL, "consume a queue");
    in[0] = 5000;
    CHECK(bpfvm_run(vm, in, sizeof(in), NULL, 0, &r0, &err) == 0 && r0 == 0,
          "a record larger than the ring");
    /* submitting what was not reserved stops the run */
    const bpfvm_insn fake[] = {
        BPFVM_MOV64_REG(1, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 1, -8), BPFVM_MOV64_IMM(2, 0),
        BPFVM_CALL_HELPER(132), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, fake, sizeof(fake), maps, 3) == 0, "load fake submit");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == BPFVM_EHELPERFAIL &&
              strstr(err.message, "not a reserved ring buffer record"), "fake submit: %s",
          err.message);
    /* push/pop helpers on a map that is not a queue */
    const bpfvm_insn wrong[] = {
        BPFVM_LD_MAP_FD(1, 2), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -8),
        BPFVM_MOV64_IMM(3, 0), BPFVM_CALL_HELPER(87), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, wrong, sizeof(wrong), maps, 3) == 0, "load wrong push");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == BPFVM_EHELPERFAIL &&
              strstr(err.message, "not a queue or stack"), "push to a ringbuf: %s",
          err.message);
    /* and lookup/update/delete on a queue */
    const bpfvm_insn wrong2[] = {
        BPFVM_LD_MAP_FD(1, 0), BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, -8),
        BPFVM_ST_MEM(BPFVM_DW, 10, -8, 0), BPFVM_CALL_HELPER(3), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, wrong2, sizeof(wrong2), maps, 3) == 0, "load wrong delete");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == BPFVM_EHELPERFAIL &&
              strstr(err.message, "bpf_map_delete_elem: map q is a queue, which takes other "
                     "helpers"), "delete on a queue: %s", err.message);
    /* spin lock in the stack frame: taken, released; misaligned stops the run */
    const bpfvm_insn lock[] = {
        BPFVM_ST_MEM(BPFVM_W, 10, -8, 0), BPFVM_MOV64_REG(1, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 1, -8), BPFVM_CALL_HELPER(93),
        BPFVM_LDX_MEM(BPFVM_W, 6, 10, -8), BPFVM_MOV64_REG(1, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 1, -8), BPFVM_CALL_HELPER(94),
        BPFVM_LDX_MEM(BPFVM_W, 0, 10, -8), BPFVM_ALU64_IMM(BPFVM_LSH, 6, 8),
        BPFVM_ALU64_REG(BPFVM_OR, 0, 6), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, lock, sizeof(lock), maps, 3) == 0, "load lock");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == 0 && r0 == 0x100,
          "lock word 1 while held, 0 after: %llx", (unsigned long long)r0);
    bpfvm_destroy(vm);
    bpfvm_map_unref(q);
    bpfvm_map_unref(st);
    bpfvm_map_unref(rb);
}

static void on_perf(void *user, uint32_t slot, const void *data, size_t size)
{
    uint64_t *got = user;
    uint64_t v = 0;
    memcpy(&v, data, size < 8 ? size : 8);
    got[0] = slot;
    got[1] = v;
    got[2] = size;
}

static void test_perf_events(void)
{
    bpfvm_map_def pd = { BPFVM_MAP_PERF_EVENT_ARRAY, 4, 4, 2, 0 };
    bpfvm_map *pm;
    bpfvm_error err;
    CHECK(bpfvm_map_create(&pd, "perf", &pm, &err) == 0, "perf array: %s", err.message);
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    /* perf_event_output(ctx, map, mem[0] (flags), &mem[1], 8) */
    const bpfvm_insn prog[] = {
        BPFVM_LDX_MEM(BPFVM_DW, 3, 1, 0), BPFVM_MOV64_REG(4, 1), BPFVM_ALU64_IMM(BPFVM_ADD, 4, 8),
        BPFVM_MOV64_IMM(5, 8), BPFVM_LD_MAP_FD(2, 0), BPFVM_CALL_HELPER(25), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm, prog, sizeof(prog), &pm, 1) == 0, "load perf: %s",
          bpfvm_last_error(vm)->message);
    bpfvm_set_cpu(vm, 0);
    uint64_t mem[2] = { 0xffffffffu, 77 }, r0 = 0, got[3] = { 9, 9, 9 };
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err) == 0 && r0 == (uint64_t)-ENOENT,
          "no callback: %lld", (long long)r0);
    CHECK(bpfvm_perf_event_set_callback(pm, on_perf, got) == 0, "set callback");
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err) == 0 && r0 == 0 && got[0] == 0 &&
              got[1] == 77 && got[2] == 8, "current cpu: %lld slot %llu", (long long)r0,
          (unsigned long long)got[0]);
    mem[0] = 1;
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err) == 0 && r0 == 0 && got[0] == 1,
          "slot 1");
    mem[0] = 2;
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err) == 0 && r0 == (uint64_t)-E2BIG,
          "slot 2");
    mem[0] = 1ull << 40;
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err) == 0 && r0 == (uint64_t)-EINVAL,
          "context length");
    CHECK(bpfvm_perf_event_set_callback(NULL, on_perf, got) == BPFVM_EINVAL, "not a perf array");
    bpfvm_destroy(vm);
    bpfvm_map_unref(pm);
}

/* ---- tail calls --------------------------------------------------------- */

/* count in counters[slot] (map 1, direct value), then tail-call
 * prog_array[mem[0]] (map 0) and return what the call returned */
#define TAIL_PROG(slot)                                                              \
    {                                                                                \
        BPFVM_LDX_MEM(BPFVM_W, 3, 1, 0), BPFVM_LD_MAP_VALUE(2, 1, (slot) * 8),     \
        BPFVM_MOV64_IMM(4, 1), BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 2, 4, 0),      \
        BPFVM_LD_MAP_FD(2, 0), BPFVM_CALL_HELPER(12), BPFVM_EXIT(),                \
    }

static void test_tail_calls(void)
{
    bpfvm_map_def pd = { BPFVM_MAP_PROG_ARRAY, 4, 4, 4, 0 }, cd = { BPFVM_MAP_ARRAY, 4, 24, 1, 0 };
    bpfvm_map *maps[2];
    bpfvm_error err;
    CHECK(bpfvm_map_create(&pd, "progs", &maps[0], &err) == 0, "prog array: %s", err.message);
    CHECK(bpfvm_map_create(&cd, "counts", &maps[1], &err) == 0, "counters");
    bpfvm_map_def bad = { BPFVM_MAP_PROG_ARRAY, 4, 8, 4, 0 };
    bpfvm_map *no = NULL;
    CHECK(bpfvm_map_create(&bad, "x", &no, &err) == BPFVM_EINVAL, "prog array value_size 8");
    static const bpfvm_insn p0[] = TAIL_PROG(0), p1[] = TAIL_PROG(1), p2[] = TAIL_PROG(2);
    const bpfvm_insn *progs[3] = { p0, p1, p2 };
    bpfvm_vm *vm[3];
    int jit = 1;
    for (int i = 0; i < 3; i++) {
        vm[i] = bpfvm_create();
        bpfvm_register_kernel_helpers(vm[i]);
        CHECK(bpfvm_load_maps(vm[i], progs[i], sizeof(p0), maps, 2) == 0, "load %d: %s", i,
              bpfvm_last_error(vm[i])->message);
        jit &= bpfvm_compile(vm[i], 0) == 0;
    }
    CHECK(bpfvm_prog_array_set(maps[0], 4, vm[1]) == -E2BIG, "slot 4");
    CHECK(bpfvm_prog_array_set(maps[1], 0, vm[1]) == -EINVAL, "not a prog array");
    CHECK(bpfvm_prog_array_set(maps[0], 1, vm[1]) == 0 && bpfvm_prog_array_set(maps[0], 2, vm[2]) == 0,
          "fill");
    uint32_t k = 1, v4 = 0;
    uint64_t cnt[3];
    CHECK(bpfvm_map_update(maps[0], &k, &v4, 0) == -EINVAL, "update of a prog array");
    CHECK(bpfvm_map_lookup(maps[0], &k, &v4) == -EOPNOTSUPP, "lookup of a prog array");
    CHECK(bpfvm_prog_array_get(maps[0], 1) == vm[1] && !bpfvm_prog_array_get(maps[0], 0),
          "get");
    for (int e = 0; e < 1 + jit; e++) {
        int (*run)(bpfvm_vm *, void *, size_t, void *, size_t, uint64_t *, bpfvm_error *) =
            e ? bpfvm_run_jit : bpfvm_run;
        uint32_t zero = 0;
        memset(cnt, 0, sizeof(cnt));
        bpfvm_map_update(maps[1], &zero, cnt, 0);
        uint32_t mem[2] = { 1, 0 };
        uint64_t r0 = 0;
        /* 0 -> 1 -> 1 -> ... : program 1 tail-calls itself until the limit */
        int rc = run(vm[0], mem, sizeof(mem), NULL, 0, &r0, &err);
        bpfvm_map_lookup(maps[1], &zero, cnt);
        CHECK(rc == 0 && r0 == (uint64_t)-E2BIG && cnt[0] == 1 && cnt[1] == 33,
              "engine %d: chain to the limit: rc %d r0 %lld counts %llu %llu %s", e, rc,
              (long long)r0, (unsigned long long)cnt[0], (unsigned long long)cnt[1],
              rc ? err.message : "");
        mem[0] = 3; /* an empty slot: the caller continues */
        rc = run(vm[0], mem, sizeof(mem), NULL, 0, &r0, &err);
        bpfvm_map_lookup(maps[1], &zero, cnt);
        CHECK(rc == 0 && r0 == (uint64_t)-ENOENT && cnt[0] == 2, "empty slot: %d %lld", rc,
              (long long)r0);
        mem[0] = 9; /* past the end */
        rc = run(vm[2], mem, sizeof(mem), NULL, 0, &r0, &err);
        CHECK(rc == 0 && r0 == (uint64_t)-ENOENT, "index past the end: %d %lld", rc,
              (long long)r0);
    }
    /* a tail call with a map that is not a program array stops the run */
    const bpfvm_insn wrong[] = {
        BPFVM_LD_MAP_FD(2, 1), BPFVM_MOV64_IMM(3, 0), BPFVM_CALL_HELPER(12), BPFVM_EXIT(),
    };
    CHECK(bpfvm_load_maps(vm[2], wrong, sizeof(wrong), maps, 2) == 0, "load wrong");
    uint64_t r0;
    int rc = bpfvm_run(vm[2], NULL, 0, NULL, 0, &r0, &err);
    CHECK(rc == BPFVM_EHELPERFAIL && strstr(err.message, "not a prog_array"), "wrong map: %s",
          err.message);
    CHECK(bpfvm_map_delete(maps[0], &k) == 0 && bpfvm_map_delete(maps[0], &k) == -ENOENT,
          "delete a slot");
    for (int i = 0; i < 3; i++)
        bpfvm_destroy(vm[i]);
    bpfvm_map_unref(maps[0]);
    bpfvm_map_unref(maps[1]);
}

/* ---- objects ---------------------------------------------------------- */

static char obj_dir[512];

static uint8_t *read_obj(const char *name, size_t *len)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.bpf.o", obj_dir, name);
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f)
        return NULL;
    static uint8_t buf[1 << 16];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    uint8_t *p = malloc(*len);
    memcpy(p, buf, *len);
    return p;
}

static uint64_t global_u64(bpfvm_object *obj, const char *sec, size_t off)
{
    bpfvm_map *m = bpfvm_object_find_map(obj, sec);
    uint8_t v[64] = { 0 };
    uint32_t zero = 0;
    uint64_t x = 0;
    if (m && bpfvm_map_get_def(m)->value_size <= sizeof(v) && bpfvm_map_lookup(m, &zero, v) == 0)
        memcpy(&x, v + off, 8);
    return x;
}

static void test_objects(void)
{
    size_t len;
    uint8_t *elf = read_obj("objects", &len);
    if (!elf) {
        printf("skipped: no BPF objects in %s (clang not found at build time)\n", obj_dir);
        return;
    }
    bpfvm_object *obj;
    bpfvm_error err;
    int rc = bpfvm_object_open(elf, len, &obj, &err);
    free(elf); /* the object keeps its own copy */
    CHECK(rc == 0, "open: %s", err.message);
    if (rc)
        return;
    CHECK(bpfvm_object_map_count(obj) == 7, "%zu maps", bpfvm_object_map_count(obj));
    static const struct {
        const char *name;
        uint32_t type, ks, vs, max, flags;
    } want[] = {
        { "seen", BPFVM_MAP_HASH, 4, 8, 32, 0 },
        { "slots", BPFVM_MAP_ARRAY, 4, 16, 4, 0 },
        { "old", BPFVM_MAP_ARRAY, 4, 8, 2, 0 },
        { ".data", BPFVM_MAP_ARRAY, 4, 8, 1, 0 },
        { ".bss", BPFVM_MAP_ARRAY, 4, 8, 1, 0 },
        { ".rodata", BPFVM_MAP_ARRAY, 4, 24, 1, BPFVM_F_RDONLY_PROG },
        { ".rodata.str1.1", BPFVM_MAP_ARRAY, 4, 11, 1, BPFVM_F_RDONLY_PROG },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const bpfvm_map_def *d = bpfvm_map_get_def(bpfvm_object_find_map(obj, want[i].name));
        CHECK(d && d->type == want[i].type && d->key_size == want[i].ks &&
                  d->value_size == want[i].vs && d->max_entries == want[i].max &&
                  d->flags == want[i].flags, "map %s", want[i].name);
    }
    CHECK(!bpfvm_object_find_map(obj, "nope") && !bpfvm_object_map(obj, 7), "no such map");
    CHECK(global_u64(obj, ".data", 0) == 100, ".data initial %llu",
          (unsigned long long)global_u64(obj, ".data", 0));

    /* the host configures .rodata before loading: step = 3 */
    uint8_t ro[24];
    uint32_t zero = 0;
    bpfvm_map *rom = bpfvm_object_find_map(obj, ".rodata");
    CHECK(bpfvm_map_lookup(rom, &zero, ro) == 0, ".rodata");
    uint64_t step = 3;
    memcpy(ro, &step, 8);
    CHECK(bpfvm_map_update(rom, &zero, ro, BPFVM_ANY) == 0, "set .rodata");

    bpfvm_vm *add = bpfvm_create(), *rd = bpfvm_create();
    bpfvm_register_kernel_helpers(add);
    bpfvm_register_kernel_helpers(rd);
    CHECK(bpfvm_object_load(obj, add, NULL, "add") == 0, "load add: %s",
          bpfvm_last_error(add)->message);
    CHECK(bpfvm_object_load(obj, rd, "xdp", "read") == 0, "load read: %s",
          bpfvm_last_error(rd)->message);
    int jit = bpfvm_compile(rd, 0) == 0;
    uint64_t r0 = 0;
    for (int i = 1; i <= 2; i++) {
        CHECK(bpfvm_run(add, NULL, 0, NULL, 0, &r0, &err) == 0 && r0 == 100u + 3u * (unsigned)i,
              "add run %d: %llu %s", i, (unsigned long long)r0, err.message);
    }
    rc = (jit ? bpfvm_run_jit : bpfvm_run)(rd, NULL, 0, NULL, 0, &r0, &err);
    CHECK(rc == 0 && r0 == 6, "read sees the other VM's update: %llu %s",
          (unsigned long long)r0, err.message);
    CHECK(global_u64(obj, ".data", 0) == 106 && global_u64(obj, ".bss", 0) == 2,
          "globals after runs: %llu %llu", (unsigned long long)global_u64(obj, ".data", 0),
          (unsigned long long)global_u64(obj, ".bss", 0));
    uint8_t slot[16];
    uint32_t idx = 2;
    CHECK(bpfvm_map_lookup(bpfvm_object_find_map(obj, "slots"), &idx, slot) == 0 &&
              slot[0] == 'a', "a string through a relocated .rodata pointer: %c", slot[0]);
    uint64_t old = 0;
    idx = 1;
    CHECK(bpfvm_map_lookup(bpfvm_object_find_map(obj, "old"), &idx, &old) == 0 && old == 4,
          "legacy map %llu", (unsigned long long)old);
    /* the host writes global data between runs */
    uint64_t total = 1000;
    CHECK(bpfvm_map_update(bpfvm_object_find_map(obj, ".data"), &zero, &total, BPFVM_ANY) == 0,
          "set .data");
    /* the VMs keep the maps after the object is closed */
    bpfvm_object_close(obj);
    CHECK(bpfvm_run(add, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 1003, "after close: %llu",
          (unsigned long long)r0);
    CHECK((jit ? bpfvm_run_jit : bpfvm_run)(rd, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 9,
          "read after close: %llu", (unsigned long long)r0);
    bpfvm_destroy(add);
    bpfvm_destroy(rd);

    /* a program array the object fills (.values) */
    elf = read_obj("tailinit", &len);
    rc = bpfvm_object_open(elf, len, &obj, &err);
    free(elf);
    CHECK(rc == 0, "open tailinit: %s", err.message);
    if (rc == 0) {
        bpfvm_map *slots = bpfvm_object_find_map(obj, "slots");
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_register_kernel_helpers(vm);
        bpfvm_set_prog_type(vm, BPFVM_PROG_AUTO);
        CHECK(!bpfvm_prog_array_get(slots, 1), "slot empty before a load");
        CHECK(bpfvm_object_load(obj, vm, NULL, "entry") == 0, "load entry: %s",
              bpfvm_last_error(vm)->message);
        const char *name = bpfvm_object_slot_program(obj, slots, 1);
        CHECK(bpfvm_prog_array_get(slots, 1) && name && strcmp(name, "target") == 0 &&
                  !bpfvm_object_slot_program(obj, slots, 0), "slot 1 holds target");
        uint8_t pkt[64] = { 0 };
        for (int e = 0; e < 2; e++) {
            bpfvm_test_run_opts o = { .data_in = pkt, .data_size_in = sizeof(pkt), .jit = e };
            if (e && bpfvm_compile(vm, 0))
                break;
            CHECK(bpfvm_test_run(vm, &o) == 0 && o.retval == 7, "engine %d: tail call to the "
                  "initialised slot: %u %s", e, o.retval, bpfvm_last_error(vm)->message);
        }
        bpfvm_object_close(obj); /* empties the slot: the entry goes on */
        bpfvm_test_run_opts o = { .data_in = pkt, .data_size_in = sizeof(pkt) };
        CHECK(bpfvm_test_run(vm, &o) == 0 && o.retval == 1, "after close: %u", o.retval);
        bpfvm_destroy(vm);
    }

    static const struct {
        const char *name;
        int rc;
        const char *msg;
    } bad[] = {
        { "bad_field", BPFVM_EUNSUPPORTED, "map m: field frobnicate is not supported" },
        { "bad_conflict", BPFVM_EELF, "map m: key size 4 conflicts with 8" },
        { "bad_type", BPFVM_EUNSUPPORTED, "map m: unsupported map type 19" },
        { "bad_size", BPFVM_EELF, "max_entries 0 must not be 0" },
        { "mim_noinner", BPFVM_EELF, "needs the definition of its inner maps" },
        { "mim_misfit", BPFVM_EELF, "map eight does not fit its inner map definition" },
        { "mim_func", BPFVM_EELF, "slot 0 holds f, which is not a map" },
        { "mim_nested", BPFVM_EUNSUPPORTED, "maps of maps of maps are not supported" },
        { "mim_twolocks", BPFVM_EELF, "more than one struct bpf_spin_lock" },
        { "mim_lockpercpu", BPFVM_EUNSUPPORTED, "spin_lock in a percpu_array value" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        elf = read_obj(bad[i].name, &len);
        obj = (bpfvm_object *)1;
        rc = bpfvm_object_open(elf, len, &obj, &err);
        CHECK(rc == bad[i].rc && !obj && strstr(err.message, bad[i].msg) && err.offset > 0,
              "%s: %d %s", bad[i].name, rc, err.message);
        bpfvm_vm *vm = bpfvm_create();
        CHECK(bpfvm_load_elf(vm, elf, len, NULL, NULL) == bad[i].rc, "%s: load_elf",
              bad[i].name);
        bpfvm_destroy(vm);
        free(elf);
    }
}

/* Maps of maps defined in objects (their malformed forms are in
 * test_objects' table), and bpfvm_load_elf keeping the programs of `.values`. */
static void test_map_in_map_objects(void)
{
    size_t len;
    uint8_t *elf = read_obj("mim_good", &len);
    if (!elf)
        return; /* test_objects said why */
    bpfvm_object *obj;
    bpfvm_error err;
    int rc = bpfvm_object_open(elf, len, &obj, &err);
    CHECK(rc == 0, "open mim_good: %s", err.message);
    if (rc == 0) {
        bpfvm_map *outer = bpfvm_object_find_map(obj, "outer");
        bpfvm_map *big = bpfvm_object_find_map(obj, "big");
        bpfvm_map *houter = bpfvm_object_find_map(obj, "houter");
        bpfvm_map *li = bpfvm_object_find_map(obj, "li");
        bpfvm_map *got = NULL;
        uint32_t k = 2;
        uint64_t seven = 7;
        CHECK(outer && bpfvm_map_get_def(outer)->type == BPFVM_MAP_ARRAY_OF_MAPS &&
                  bpfvm_map_get_def(outer)->value_size == 4 &&
                  bpfvm_map_lookup(outer, &k, &got) == 0 && got == big, "slot 2 holds big");
        k = 1;
        CHECK(bpfvm_map_lookup(outer, &k, &got) == -ENOENT, "slot 1 empty");
        CHECK(houter && bpfvm_map_lookup(houter, &k, &got) == 0 && got == li, "houter[1] = li");
        struct {
            uint32_t lock, n;
        } lv = { 0, 3 };
        CHECK(li && bpfvm_map_update(li, &k, &lv, BPFVM_F_LOCK) == 0, "li has its lock");
        k = 0;
        bpfvm_map_update(big, &k, &seven, BPFVM_ANY);
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_register_kernel_helpers(vm);
        bpfvm_set_prog_type(vm, BPFVM_PROG_AUTO);
        CHECK(bpfvm_object_load(obj, vm, NULL, "lookup_inner") == 0, "load: %s",
              bpfvm_last_error(vm)->message);
        uint8_t pkt[64] = { 0 };
        for (int e = 0; e < 2; e++) {
            for (uint32_t slot = 0; slot < 4; slot++) {
                pkt[0] = (uint8_t)slot;
                bpfvm_test_run_opts o = { .data_in = pkt, .data_size_in = sizeof(pkt), .jit = e };
                if (e && bpfvm_compile(vm, 0))
                    break;
                int want = slot == 0 ? 1 : slot == 2 ? 8 : 0;
                CHECK(bpfvm_test_run(vm, &o) == 0 && (int)o.retval == want,
                      "engine %d slot %u: %d (want %d) %s", e, slot, (int)o.retval, want,
                      bpfvm_last_error(vm)->message);
            }
        }
        bpfvm_destroy(vm);
        bpfvm_object_close(obj);
    }
    free(elf);

    /* a slot the host fills with a program from an ELF object is named by
     * that program's function */
    elf = read_obj("tailinit", &len);
    if (elf && bpfvm_object_open(elf, len, &obj, &err) == 0) {
        bpfvm_vm *host_vm = bpfvm_create();
        bpfvm_map *slots = bpfvm_object_find_map(obj, "slots");
        const char *name;
        CHECK(bpfvm_object_load(obj, host_vm, NULL, "target") == 0 &&
                  bpfvm_prog_array_set(slots, 0, host_vm) == 0 &&
                  (name = bpfvm_object_slot_program(obj, slots, 0)) && strcmp(name, "target") == 0,
              "host-filled slot named");
        bpfvm_prog_array_set(slots, 0, NULL);
        bpfvm_object_close(obj);
        bpfvm_destroy(host_vm);
    }
    free(elf);

    /* bpfvm_load_elf keeps the programs of `.values` for as long as its
     * program stays loaded */
    elf = read_obj("tailinit", &len);
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    bpfvm_set_prog_type(vm, BPFVM_PROG_AUTO);
    CHECK(elf && bpfvm_load_elf(vm, elf, len, NULL, "entry") == 0, "load_elf tailinit: %s",
          bpfvm_last_error(vm)->message);
    free(elf);
    uint8_t pkt[64] = { 0 };
    for (int e = 0; e < 2; e++) {
        bpfvm_test_run_opts o = { .data_in = pkt, .data_size_in = sizeof(pkt), .jit = e };
        if (e && bpfvm_compile(vm, 0))
            break;
        CHECK(bpfvm_test_run(vm, &o) == 0 && o.retval == 7, "engine %d: the slot's program "
              "ran: %u %s", e, o.retval, bpfvm_last_error(vm)->message);
    }
    bpfvm_destroy(vm);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    int dirlen = slash ? (int)(slash - argv[0]) : 1;
    snprintf(obj_dir, sizeof(obj_dir), "%.*s/../maps", dirlen, slash ? argv[0] : ".");
    test_objects();
    test_map_in_map_objects();
    test_create_errors();
    test_array();
    test_hash(BPFVM_MAP_HASH);
    test_hash(BPFVM_MAP_PERCPU_HASH);
    test_hash(BPFVM_MAP_LRU_HASH);
    test_hash(BPFVM_MAP_LRU_PERCPU_HASH);
    test_lru_order();
    test_percpu();
    compare_with_kernel(BPFVM_MAP_ARRAY, 8);
    compare_with_kernel(BPFVM_MAP_PERCPU_ARRAY, 8);
    compare_with_kernel(BPFVM_MAP_HASH, 8);
    compare_with_kernel(BPFVM_MAP_PERCPU_HASH, 8);
    test_program();
    test_program_faults();
    test_percpu_program();
    test_probe_read();
    test_tail_calls();
    test_queues_ringbuf();
    test_perf_events();
    return TEST_END();
}
