/* oracle.c - the kernel as oracle for map programs: every program of
 * tests/kernel/maps/ runs in the kernel (libbpf, BPF_PROG_TEST_RUN) and in
 * bpfvm's interpreter and JIT (each with its own copy of the object's
 * maps; bpfvm_test_run with the XDP context, as the kernel), with the same
 * inputs written to the `input` map and the same packet for each run.
 * Return values and the full contents of every map must be identical
 * (hash maps as sets; per-CPU maps with everything pinned to CPU 0). LRU
 * maps are approximate in the kernel: for them only the capacity is
 * compared. Skips cleanly where bpf() is refused. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfvm.h"
#include "test.h"

struct input {
    uint64_t a, b, c, d;
};

typedef struct spec {
    const char *object, *program;
    int runs;
    bool approx_lru;        /* LRU maps: compare capacity only, not returns */
    uint64_t threshold;     /* config: .rodata's first 8 bytes, when non-zero */
    const char *tail[4];    /* programs for slots 0.. of the program array `jmp` */
    int consume_every;      /* ring buffer `events`: consumed every this many runs */
    int perf;               /* perf event array `perf_events`: records compared */
} spec;

static const spec specs[] = {
    { "counters", "count", 300, false, 0, { NULL }, 0, 0 },
    { "flows", "track", 300, false, 0, { NULL }, 0, 0 },
    { "lru", "lookup", 300, true, 0, { NULL }, 0, 0 },
    { "hist", "bucket", 300, false, 0, { NULL }, 0, 0 },
    { "config", "classify", 200, false, 1300, { NULL }, 0, 0 },
    { "errors", "op", 400, false, 0, { NULL }, 0, 0 },
    { "lb", "balance", 200, false, 0, { "backend0", "backend1", "backend2" }, 0, 0 },
    { "queues", "qs", 400, false, 0, { NULL }, 0, 0 },
    { "ringbuf", "log_event", 400, false, 0, { NULL }, 150, 0 },
    { "spinlock", "police", 300, false, 0, { NULL }, 0, 0 },
    { "perf", "emit", 300, false, 0, { NULL }, 0, 1 },
    { "lbinit", "pick", 200, false, 0, { NULL }, 0, 0 },
    { "loop", "loops", 200, false, 0, { NULL }, 0, 0 },
    { "foreach", "walk", 300, false, 0, { NULL }, 0, 0 },
    { "mapinmap", "route", 300, false, 0, { NULL }, 0, 0 },
    { "flock", "lockup", 300, false, 0, { NULL }, 0, 0 },
};

static char dir[512];

/* Ring buffer records, as consumed: each as a 4-byte size and its bytes. */
typedef struct records {
    uint8_t buf[1 << 16];
    size_t len;
    unsigned n;
} records;

static void add_record(records *r, const void *data, size_t size)
{
    uint32_t n = (uint32_t)size;
    if (r->len + 4 + size > sizeof(r->buf))
        return;
    memcpy(r->buf + r->len, &n, 4);
    memcpy(r->buf + r->len + 4, data, size);
    r->len += 4 + size;
    r->n++;
}

static int kernel_record(void *ctx, void *data, size_t size)
{
    add_record(ctx, data, size);
    return 0;
}

static void bpfvm_record(void *user, const void *data, size_t size)
{
    add_record(user, data, size);
}

/* Perf event records: the slot, then as ring buffer records. */
static void kernel_perf(void *ctx, int cpu, void *data, __u32 size)
{
    uint32_t slot = (uint32_t)cpu;
    add_record(ctx, &slot, 4);
    add_record(ctx, data, size);
}

static void bpfvm_perf(void *user, uint32_t slot, const void *data, size_t size)
{
    add_record(user, &slot, 4);
    add_record(user, data, size);
}

/* Consume `events` in the kernel and in both bpfvm sides: the same records. */
static void compare_ringbuf(const char *object, struct ring_buffer *krb, records *kr,
                            bpfvm_map *m[2])
{
    static records b;
    const records *k = kr;
    kr->len = kr->n = 0;
    ring_buffer__consume(krb);
    for (int e = 0; e < 2; e++) {
        b.len = b.n = 0;
        bpfvm_ringbuf_consume(m[e], bpfvm_record, &b, 0);
        CHECK(b.n == k->n && b.len == k->len && memcmp(b.buf, k->buf, k->len) == 0,
              "%s%s: ring buffer: kernel %u records (%zu bytes), bpfvm %u (%zu)", object,
              e ? " JIT" : "", k->n, k->len, b.n, b.len);
    }
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    *len = p && n > 0 && fread(p, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return p;
}

/* bpfvm's side: an object, a VM with its program (interpreter or JIT). */
typedef struct side {
    bpfvm_object *obj;
    bpfvm_vm *vm;
    int jit;
    bpfvm_vm *targets[4];   /* the programs in `jmp` */
} side;

static bpfvm_vm *side_vm(const spec *sp, bpfvm_object *obj, const char *program, int jit)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    bpfvm_set_cpu(vm, 0);
    bpfvm_set_prog_type(vm, BPFVM_PROG_AUTO); /* xdp, with its context, as in the kernel */
    int rc = bpfvm_object_load(obj, vm, NULL, program);
    if (rc == 0 && jit)
        rc = bpfvm_compile(vm, 0);
    CHECK(rc == 0, "%s: load %s%s: %s", sp->object, program, jit ? " (JIT)" : "",
          bpfvm_last_error(vm)->message);
    if (rc) {
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}

static int side_open(side *s, const spec *sp, const uint8_t *elf, size_t len, int jit)
{
    bpfvm_error err;
    s->jit = jit;
    s->vm = NULL;
    int rc = bpfvm_object_open(elf, len, &s->obj, &err);
    CHECK(rc == 0, "%s: open: %s", sp->object, err.message);
    if (rc)
        return rc;
    if (sp->threshold) {
        bpfvm_map *ro = bpfvm_object_find_map(s->obj, ".rodata");
        size_t vs = ro ? bpfvm_map_get_def(ro)->value_size : 0;
        uint8_t *v = calloc(1, vs + 8);
        uint32_t zero = 0;
        CHECK(ro && bpfvm_map_lookup(ro, &zero, v) == 0, "%s: .rodata", sp->object);
        memcpy(v, &sp->threshold, 8);
        CHECK(ro && bpfvm_map_update(ro, &zero, v, 0) == 0, "%s: set .rodata", sp->object);
        free(v);
    }
    if (!(s->vm = side_vm(sp, s->obj, sp->program, jit)))
        return -1;
    for (int i = 0; i < 4 && sp->tail[i]; i++) {
        if (!(s->targets[i] = side_vm(sp, s->obj, sp->tail[i], jit)))
            return -1;
        CHECK(bpfvm_prog_array_set(bpfvm_object_find_map(s->obj, "jmp"), (uint32_t)i,
                                   s->targets[i]) == 0, "%s: slot %d", sp->object, i);
    }
    return 0;
}

static void side_close(side *s)
{
    bpfvm_destroy(s->vm);
    for (int i = 0; i < 4; i++)
        bpfvm_destroy(s->targets[i]);
    bpfvm_object_close(s->obj);
}

/* The bpfvm map a kernel map corresponds to: same name, or for libbpf's
 * internal maps ("<obj>.bss") the global-data map whose section name ends
 * the kernel's name. */
static bpfvm_map *match(const bpfvm_object *obj, const struct bpf_map *km)
{
    const char *kn = bpf_map__name(km);
    bpfvm_map *best = NULL;
    size_t best_len = 0, kl = strlen(kn);
    for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
        bpfvm_map *m = bpfvm_object_map(obj, i);
        const char *n = bpfvm_map_name(m);
        size_t nl = strlen(n);
        if (strcmp(n, kn) == 0)
            return m;
        if (n[0] == '.' && nl <= kl && strcmp(kn + kl - nl, n) == 0 && nl > best_len) {
            best = m;
            best_len = nl;
        }
    }
    return best;
}

/* Every element of the kernel map is in ours with the same value, and the
 * counts agree (LRU: both within capacity). */
/* Queues and stacks: pop everything from both; the same values in order.
 * The kernel's are popped once (for the interpreter's side) and kept for
 * the JIT's. */
static void compare_queue(const spec *sp, const side *s, const struct bpf_map *km,
                          bpfvm_map *m)
{
    static struct {
        const struct bpf_map *km;
        int rc[65];
        uint8_t v[65][64];
    } snap[4];
    const bpfvm_map_def *d = bpfvm_map_get_def(m);
    unsigned slot = 0;
    while (slot < 3 && snap[slot].km && snap[slot].km != km)
        slot++;
    if (!s->jit) {
        snap[slot].km = km;
        for (unsigned n = 0; n < 65; n++)
            snap[slot].rc[n] = n < 64 && d->value_size <= 64 &&
                                       bpf_map_lookup_and_delete_elem(bpf_map__fd(km), NULL,
                                                                      snap[slot].v[n]) == 0
                                   ? 0 : -ENOENT;
    }
    uint8_t ov[64];
    for (unsigned n = 0; n < 65; n++) {
        int orc = bpfvm_map_lookup_and_delete(m, NULL, ov);
        CHECK(snap[slot].rc[n] == orc && (orc || memcmp(snap[slot].v[n], ov, d->value_size) == 0),
              "%s%s: %s: element %u: kernel %d, bpfvm %d", sp->object, s->jit ? " JIT" : "",
              bpf_map__name(km), n, snap[slot].rc[n], orc);
        if (orc)
            break;
    }
}

/* Maps of maps: the same keys hold inner maps of the same names (the
 * kernel's values are map ids). */
static void compare_outer(const spec *sp, const side *s, const struct bpf_map *km, bpfvm_map *m)
{
    const bpfvm_map_def *d = bpfvm_map_get_def(m);
    uint8_t key[64], next[64];
    const void *prev = NULL;
    unsigned nk = 0, no = 0;
    int fd = bpf_map__fd(km);
    while (d->key_size <= sizeof(key) && bpf_map_get_next_key(fd, prev, next) == 0 &&
           nk <= d->max_entries) {
        uint32_t id;
        memcpy(key, next, d->key_size);
        prev = key;
        if (bpf_map_lookup_elem(fd, key, &id) != 0)
            continue;
        nk++;
        struct bpf_map_info info;
        __u32 len = sizeof(info);
        memset(&info, 0, sizeof(info));
        int ifd = bpf_map_get_fd_by_id(id);
        int got = ifd >= 0 ? bpf_obj_get_info_by_fd(ifd, &info, &len) : -1;
        if (ifd >= 0)
            close(ifd);
        bpfvm_map *inner = NULL;
        int rc = bpfvm_map_lookup(m, key, &inner);
        CHECK(got == 0 && rc == 0 && strcmp(info.name, bpfvm_map_name(inner)) == 0,
              "%s%s: map %s: key %02x: kernel inner map %s, bpfvm %s (rc %d)", sp->object,
              s->jit ? " JIT" : "", bpf_map__name(km), key[0], got == 0 ? info.name : "?",
              rc == 0 ? bpfvm_map_name(inner) : "none", rc);
    }
    prev = NULL;
    while (bpfvm_map_next_key(m, prev, next) == 0 && no <= d->max_entries) {
        bpfvm_map *inner;
        memcpy(key, next, d->key_size);
        prev = key;
        no += bpfvm_map_lookup(m, key, &inner) == 0;
    }
    CHECK(nk == no && nk > 0, "%s%s: map %s: kernel %u inner maps, bpfvm %u", sp->object,
          s->jit ? " JIT" : "", bpf_map__name(km), nk, no);
}

static void compare_map(const spec *sp, const side *s, const struct bpf_map *km)
{
    bpfvm_map *m = match(s->obj, km);
    const char *name = bpf_map__name(km);
    CHECK(m != NULL, "%s: no bpfvm map for kernel map %s", sp->object, name);
    if (!m)
        return;
    const bpfvm_map_def *d = bpfvm_map_get_def(m);
    if (d->type == BPFVM_MAP_PROG_ARRAY || d->type == BPFVM_MAP_RINGBUF)
        return; /* slots: the programs the test put there; records: compared as consumed */
    if (d->type == BPFVM_MAP_QUEUE || d->type == BPFVM_MAP_STACK) {
        compare_queue(sp, s, km, m);
        return;
    }
    if (d->type == BPFVM_MAP_ARRAY_OF_MAPS || d->type == BPFVM_MAP_HASH_OF_MAPS) {
        compare_outer(sp, s, km, m);
        return;
    }
    /* LRU maps, and with them the counts of hits the program keeps */
    bool lru = d->type == BPFVM_MAP_LRU_HASH || d->type == BPFVM_MAP_LRU_PERCPU_HASH ||
               (sp->approx_lru && bpfvm_map_name(m)[0] == '.');
    size_t hv = bpfvm_map_host_value_size(m);
    uint8_t *key = calloc(1, d->key_size), *next = calloc(1, d->key_size);
    uint8_t *kv = calloc(1, hv), *ov = calloc(1, hv);
    int fd = bpf_map__fd(km);
    unsigned nk = 0, no = 0, diffs = 0;
    const void *prev = NULL;
    while (bpf_map_get_next_key(fd, prev, next) == 0 && nk <= d->max_entries) {
        memcpy(key, next, d->key_size);
        prev = key;
        nk++;
        if (bpf_map_lookup_elem(fd, key, kv) != 0 || lru)
            continue;
        int rc = bpfvm_map_lookup(m, key, ov);
        if ((rc != 0 || memcmp(kv, ov, hv) != 0) && diffs++ < 3)
            CHECK(0, "%s%s: map %s: element %u (key %02x%02x%02x%02x...) differs (rc %d)",
                  sp->object, s->jit ? " JIT" : "", name, nk - 1, key[0],
                  d->key_size > 1 ? key[1] : 0, d->key_size > 2 ? key[2] : 0,
                  d->key_size > 3 ? key[3] : 0, rc);
    }
    prev = NULL;
    while (bpfvm_map_next_key(m, prev, next) == 0 && no <= d->max_entries) {
        memcpy(key, next, d->key_size);
        prev = key;
        no++;
    }
    if (lru)
        CHECK(nk <= d->max_entries && no <= d->max_entries && no > 0 && nk > 0,
              "%s: LRU map %s: kernel %u, bpfvm %u elements, capacity %u", sp->object, name, nk,
              no, d->max_entries);
    else
        CHECK(nk == no && diffs == 0, "%s%s: map %s: kernel %u elements, bpfvm %u", sp->object,
              s->jit ? " JIT" : "", name, nk, no);
    free(key), free(next), free(kv), free(ov);
}

/* 0 ran, 1 skipped */
static int run_spec(const spec *sp)
{
    char path[700];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s.bpf.o", dir, sp->object);
    uint8_t *elf = read_file(path, &len);
    CHECK(elf && len, "read %s", path);
    if (!elf || !len) {
        free(elf);
        return 0;
    }
    struct bpf_object *kobj = bpf_object__open_file(path, NULL);
    CHECK(kobj != NULL, "libbpf open %s", path);
    if (!kobj) {
        free(elf);
        return 0;
    }
    if (sp->threshold) {
        struct bpf_map *ro;
        bpf_object__for_each_map(ro, kobj) {
            size_t sz = 0;
            const char *n = bpf_map__name(ro);
            void *init = (void *)bpf_map__initial_value(ro, &sz);
            if (bpf_map__is_internal(ro) && strstr(n, ".rodata") && init && sz >= 8)
                memcpy(init, &sp->threshold, 8);
        }
    }
    int lrc = bpf_object__load(kobj);
    if (lrc) {
        printf("SKIP %s: the kernel refused to load it (%s)\n", sp->object, strerror(-lrc));
        bpf_object__close(kobj);
        free(elf);
        return 1;
    }
    struct bpf_program *kprog = bpf_object__find_program_by_name(kobj, sp->program);
    for (int i = 0; i < 4 && sp->tail[i]; i++) {
        struct bpf_program *t = bpf_object__find_program_by_name(kobj, sp->tail[i]);
        struct bpf_map *jmp = bpf_object__find_map_by_name(kobj, "jmp");
        uint32_t slot = (uint32_t)i;
        int pfd = t ? bpf_program__fd(t) : -1;
        CHECK(jmp && pfd >= 0 && bpf_map_update_elem(bpf_map__fd(jmp), &slot, &pfd, 0) == 0,
              "%s: kernel slot %d", sp->object, i);
    }
    struct bpf_map *kin = bpf_object__find_map_by_name(kobj, "input");
    side sides[2];
    memset(sides, 0, sizeof(sides));
    int ok = kprog && kin && side_open(&sides[0], sp, elf, len, 0) == 0 &&
             side_open(&sides[1], sp, elf, len, 1) == 0;
    CHECK(ok, "%s: set up", sp->object);
    struct ring_buffer *krb = NULL;
    struct perf_buffer *kpb = NULL;
    static records krec, kperf, bperf[2];
    bpfvm_map *brb[2] = { NULL, NULL };
    if (ok && sp->consume_every) {
        struct bpf_map *ev = bpf_object__find_map_by_name(kobj, "events");
        krb = ev ? ring_buffer__new(bpf_map__fd(ev), kernel_record, &krec, NULL) : NULL;
        brb[0] = bpfvm_object_find_map(sides[0].obj, "events");
        brb[1] = bpfvm_object_find_map(sides[1].obj, "events");
        CHECK(krb && brb[0] && brb[1], "%s: ring buffers", sp->object);
        ok = krb && brb[0] && brb[1];
    }
    if (ok && sp->perf) {
        struct bpf_map *pm = bpf_object__find_map_by_name(kobj, "perf_events");
        kperf.len = bperf[0].len = bperf[1].len = 0;
        kperf.n = bperf[0].n = bperf[1].n = 0;
        kpb = pm ? perf_buffer__new(bpf_map__fd(pm), 8, kernel_perf, NULL, &kperf, NULL) : NULL;
        for (int e = 0; e < 2; e++)
            CHECK(bpfvm_perf_event_set_callback(bpfvm_object_find_map(sides[e].obj,
                                                                      "perf_events"),
                                                bpfvm_perf, &bperf[e]) == 0, "perf callback");
        CHECK(kpb != NULL, "%s: perf buffer", sp->object);
        ok = kpb != NULL;
    }
    uint64_t seed = 0x5eed0000u + (uint64_t)sp->runs * 7919u + (uint64_t)strlen(sp->object);
    int mismatches = 0;
    for (int i = 0; ok && i < sp->runs; i++) {
        if (krb && i % sp->consume_every == sp->consume_every - 1)
            compare_ringbuf(sp->object, krb, &krec, brb);
        struct input in;
        uint64_t *w = &in.a;
        for (int k = 0; k < 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            w[k] = seed >> 11;
        }
        uint32_t zero = 0;
        uint8_t pkt[64] = { 0 };
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt),
                    .repeat = 1);
        CHECK(bpf_map_update_elem(bpf_map__fd(kin), &zero, &in, 0) == 0, "kernel input");
        int rc = bpf_prog_test_run_opts(bpf_program__fd(kprog), &opts);
        CHECK(rc == 0, "%s: kernel test run: %d", sp->object, rc);
        for (int e = 0; e < 2; e++) {
            side *s = &sides[e];
            bpfvm_map *bin = bpfvm_object_find_map(s->obj, "input");
            bpfvm_test_run_opts o = { .data_in = pkt, .data_size_in = sizeof(pkt), .jit = e };
            bpfvm_map_update(bin, &zero, &in, 0);
            int brc = bpfvm_test_run(s->vm, &o);
            if ((brc != 0 || (!sp->approx_lru && o.retval != opts.retval)) && mismatches++ < 5)
                CHECK(0, "%s run %d (%s): bpfvm rc %d r0 %d, kernel %d %s", sp->object, i,
                      e ? "JIT" : "interpreter", brc, (int)o.retval, (int)opts.retval,
                      brc ? bpfvm_last_error(s->vm)->message : "");
        }
    }
    if (ok) {
        struct bpf_map *km;
        int failed_before = test_failed;
        if (krb)
            compare_ringbuf(sp->object, krb, &krec, brb);
        if (kpb) {
            perf_buffer__consume(kpb);
            for (int e = 0; e < 2; e++)
                CHECK(bperf[e].n == kperf.n && bperf[e].len == kperf.len &&
                          memcmp(bperf[e].buf, kperf.buf, kperf.len) == 0,
                      "%s%s: perf events: kernel %u records, bpfvm %u", sp->object,
                      e ? " JIT" : "", kperf.n / 2, bperf[e].n / 2);
        }
        for (int e = 0; e < 2; e++)
            bpf_object__for_each_map(km, kobj)
                compare_map(sp, &sides[e], km);
        if (test_failed == failed_before && !mismatches)
            printf("%s: %d runs, kernel and both engines agree%s\n", sp->object, sp->runs,
                   sp->approx_lru ? " (LRU: capacity only)" : "");
    }
    ring_buffer__free(krb);
    perf_buffer__free(kpb);
    side_close(&sides[0]);
    side_close(&sides[1]);
    bpf_object__close(kobj);
    free(elf);
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    int dirlen = slash ? (int)(slash - argv[0]) : 1;
    snprintf(dir, sizeof(dir), "%.*s/../kernel/maps", dirlen, slash ? argv[0] : ".");
    /* per-CPU values: the kernel's test runs and bpfvm's (bpfvm_set_cpu) on CPU 0 */
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        printf("skipped: cannot pin to CPU 0 (%s)\n", strerror(errno));
        return TEST_END();
    }
    libbpf_set_print(NULL);
    int skipped = 0;
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        skipped += run_spec(&specs[i]);
    if (skipped)
        printf("skipped %d of %zu programs: bpf() refused\n", skipped,
               sizeof(specs) / sizeof(specs[0]));
    return TEST_END();
}
