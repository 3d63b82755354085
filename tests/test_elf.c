/* test_elf.c - the ELF loader on real clang output (the programs in tests/elf, built
 * into <build>/elf/ as NAME.o, NAME-v3.o and NAME-g.o) and on hostile
 * variants of those objects. Expected results come from the same C
 * functions compiled natively (elf/calc.h). Skips when the objects were not
 * built (no clang). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "elf/calc.h"
#include "test.h"

static char elf_dir[512];
static const char *const variants[] = { "", "-v3", "-g" };
static int use_jit; /* run the programs with the JIT instead of the interpreter */
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

static int read_object(const char *name, const char *variant, blob *b)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s%s.o", elf_dir, name, variant);
    FILE *f = fopen(path, "rb");
    b->data = NULL;
    b->len = 0;
    if (!f)
        return -1;
    uint8_t buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        uint8_t *p = realloc(b->data, b->len + n);
        if (!p)
            break;
        memcpy(p + b->len, buf, n);
        b->data = p;
        b->len += n;
    }
    fclose(f);
    return 0;
}

/* ---- helpers the programs call ------------------------------------------ */

static char emitted[64];

static uint64_t h_emit(bpfvm_ctx *ctx, uint64_t s, uint64_t n, uint64_t a, uint64_t b, uint64_t c)
{
    (void)a, (void)b, (void)c;
    const char *p = bpfvm_ctx_access(ctx, s, n, 0);
    if (!p || n >= sizeof(emitted)) {
        bpfvm_ctx_fail(ctx, "emit: bad string");
        return 0;
    }
    memcpy(emitted, p, n);
    emitted[n] = 0;
    return n;
}

static uint64_t h_mul(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    (void)ctx, (void)c, (void)d, (void)e;
    return a * b;
}

static uint64_t h_add(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    (void)ctx, (void)c, (void)d, (void)e;
    return a + b;
}

/* A VM with `name`+variant loaded (section/entry may be NULL); returns the
 * load result, the VM in *out (destroy it). */
static int load(const char *name, const char *variant, const char *section, const char *entry,
                int helpers, bpfvm_vm **out)
{
    blob b;
    bpfvm_vm *vm = bpfvm_create();
    *out = vm;
    if (!vm || read_object(name, variant, &b) != 0)
        return -1000;
    if (helpers) {
        bpfvm_register_helper(vm, 6, "emit", h_emit, NULL);
        bpfvm_register_helper(vm, 100, "host_mul", h_mul, NULL);
        bpfvm_register_helper(vm, 77, NULL, h_add, NULL);
    }
    int rc = bpfvm_load_elf(vm, b.data, b.len, section, entry);
    free(b.data);
    if (rc == 0 && use_jit)
        rc = bpfvm_compile(vm, 0);
    return rc;
}

static uint64_t run(bpfvm_vm *vm, void *mem, size_t len, int *rc)
{
    uint64_t r0 = 0;
    *rc = use_jit ? bpfvm_run_jit(vm, mem, len, NULL, 0, &r0, NULL)
                  : bpfvm_run(vm, mem, len, NULL, 0, &r0, NULL);
    return r0;
}

static const char *msg(const bpfvm_vm *vm)
{
    return bpfvm_last_error(vm)->message;
}

/* ---- programs ---------------------------------------------------------- */

static void test_calls(const char *v)
{
    bpfvm_vm *vm;
    int rc = load("calls", v, NULL, NULL, 0, &vm);
    CHECK(rc == 0, "calls%s: %s", v, msg(vm));
    static const uint64_t pairs[][2] = { { 12, 18 }, { 27, 1000 }, { 97, 3 }, { 1u << 20, 6 } };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        uint64_t mem[2] = { pairs[i][0], pairs[i][1] };
        uint64_t want = calc_all(mem[0], mem[1]) ^ calc_mix((const u8 *)mem, 16) ^
                        (calc_gcd(mem[0], 12) * 2 << 40);
        uint64_t got = run(vm, mem, sizeof(mem), &rc);
        CHECK(rc == 0 && got == want, "calls%s(%llu, %llu): rc %d, %llu != %llu (%s)", v,
              (unsigned long long)mem[0], (unsigned long long)mem[1], rc,
              (unsigned long long)got, (unsigned long long)want, msg(vm));
    }
    /* The linked program: every callee once, behind the entry. */
    size_t count = 0;
    const bpfvm_insn *p = bpfvm_program(vm, &count);
    size_t locals = 0;
    for (size_t i = 0; p && i < count; i++)
        if (p[i].opcode == 0x85 && p[i].src == 1) {
            locals++;
            int64_t t = (int64_t)i + 1 + p[i].imm;
            CHECK(t > 0 && (size_t)t < count, "calls%s: call at %zu targets %lld", v, i,
                  (long long)t);
        }
    CHECK(locals >= 6, "calls%s: %zu local calls", v, locals);
    bpfvm_destroy(vm);

    /* An entry in .text, run with r1 = 0. */
    rc = load("calls", v, NULL, "twice_gcd12", 0, &vm);
    CHECK(rc == 0, "calls%s twice_gcd12: %s", v, msg(vm));
    bpfvm_set_mode(vm, BPFVM_MODE_NONE);
    if (use_jit)
        bpfvm_compile(vm, 0);
    uint64_t got = run(vm, NULL, 0, &rc);
    CHECK(rc == 0 && got == 24, "twice_gcd12(0) = %llu, rc %d", (unsigned long long)got, rc);
    bpfvm_destroy(vm);
}

static void test_data(const char *v)
{
    bpfvm_vm *vm;
    int rc = load("data", v, "greet", NULL, 1, &vm);
    CHECK(rc == 0, "data%s greet: %s", v, msg(vm));
    emitted[0] = 0;
    uint64_t got = run(vm, NULL, 0, &rc);
    CHECK(rc == 0 && got == 14 && strcmp(emitted, "hello from bpf") == 0,
          "greet: rc %d, %llu, \"%s\"", rc, (unsigned long long)got, emitted);
    bpfvm_destroy(vm);

    /* A pointer table in .rodata (R_BPF_64_ABS64 into the strings). */
    rc = load("data", v, "name", NULL, 1, &vm);
    CHECK(rc == 0, "data%s name: %s", v, msg(vm));
    static const char *const names[] = { "zero", "one", "two" };
    for (uint64_t i = 0; i < 3; i++) {
        uint64_t mem[1] = { i }, want = 0;
        for (int k = 0; k < 4; k++)
            want |= (uint64_t)(uint8_t)names[i][k] << (8 * k);
        got = run(vm, mem, sizeof(mem), &rc);
        CHECK(rc == 0 && got == want, "name(%llu): rc %d, 0x%llx != 0x%llx (%s)",
              (unsigned long long)i, rc, (unsigned long long)got, (unsigned long long)want,
              msg(vm));
    }
    bpfvm_destroy(vm);

    /* .data keeps its value across runs, and starts afresh at each load. */
    for (int load_no = 0; load_no < 2; load_no++) {
        rc = load("data", v, "count", NULL, 0, &vm);
        CHECK(rc == 0, "data%s count: %s", v, msg(vm));
        for (uint64_t i = 1; i <= 3; i++) {
            got = run(vm, NULL, 0, &rc);
            CHECK(rc == 0 && got == 40 + i, "count run %llu: rc %d, %llu",
                  (unsigned long long)i, rc, (unsigned long long)got);
        }
        bpfvm_destroy(vm);
    }

    /* .bss starts at zero. */
    rc = load("data", v, NULL, "accumulate_fn", 0, &vm);
    CHECK(rc == 0, "data%s accumulate: %s", v, msg(vm));
    uint64_t in[1] = { 5 };
    got = run(vm, in, sizeof(in), &rc);
    CHECK(rc == 0 && got == 5, "accumulate 5: rc %d, %llu", rc, (unsigned long long)got);
    in[0] = 7;
    got = run(vm, in, sizeof(in), &rc);
    CHECK(rc == 0 && got == 12, "accumulate 7: rc %d, %llu", rc, (unsigned long long)got);
    bpfvm_destroy(vm);

    /* A constant table read through a local call. */
    rc = load("data", v, "table", NULL, 0, &vm);
    CHECK(rc == 0, "data%s table: %s", v, msg(vm));
    u8 bytes[37];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (u8)(i * 37 + 11);
    got = run(vm, bytes, sizeof(bytes), &rc);
    CHECK(rc == 0 && got == calc_mix(bytes, sizeof(bytes)), "table: rc %d, %llu != %llu", rc,
          (unsigned long long)got, (unsigned long long)calc_mix(bytes, sizeof(bytes)));
    bpfvm_destroy(vm);

    /* .rodata is read-only. */
    rc = load("data", v, "badwrite", NULL, 0, &vm);
    CHECK(rc == 0, "data%s badwrite: %s", v, msg(vm));
    run(vm, NULL, 0, &rc);
    CHECK(rc == BPFVM_EMEMORY, "write to .rodata: rc %d (%s)", rc, msg(vm));
    bpfvm_destroy(vm);
}

static void test_helpers(const char *v)
{
    bpfvm_vm *vm;
    int rc = load("helpers", v, "ext", NULL, 0, &vm);
    CHECK(rc == BPFVM_EHELPER && strstr(msg(vm), "host_mul"), "unregistered extern: rc %d, %s",
          rc, msg(vm));
    bpfvm_destroy(vm);

    rc = load("helpers", v, "ext", NULL, 1, &vm);
    CHECK(rc == 0, "helpers%s ext: %s", v, msg(vm));
    uint64_t mem[2] = { 6, 10 };
    uint64_t got = run(vm, mem, sizeof(mem), &rc);
    CHECK(rc == 0 && got == 33, "ext: rc %d, %llu (%s)", rc, (unsigned long long)got, msg(vm));
    bpfvm_destroy(vm);

    rc = load("helpers", v, "unknown", NULL, 1, &vm);
    CHECK(rc == BPFVM_EHELPER && strstr(msg(vm), "nowhere"), "unknown extern: rc %d, %s", rc,
          msg(vm));
    bpfvm_destroy(vm);
}

typedef struct listing {
    char text[1024];
    size_t n;
} listing;

static void on_prog(void *user, const char *section, const char *function, size_t count)
{
    listing *l = user;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof(l->text) - len, "%s/%s/%zu ", section, function, count);
    l->n++;
}

static void test_multi(const char *v)
{
    bpfvm_vm *vm;
    uint64_t mem[2] = { 1000001, 2 };
    int rc = load("multi", v, NULL, NULL, 0, &vm);
    CHECK(rc == BPFVM_EINVAL && strstr(msg(vm), "prog_a") && strstr(msg(vm), "prog_b"),
          "multi%s default: rc %d, %s", v, rc, msg(vm));
    bpfvm_destroy(vm);

    static const struct {
        const char *section, *entry;
        int rc;
        uint64_t want;
    } cases[] = {
        { "prog_a", NULL, 0, 1 },         /* gcd(1000001, 2) */
        { "prog_b", NULL, 0, 1000 },      /* isqrt(1000001) */
        { NULL, "prog_a_fn", 0, 1 },
        { NULL, "text_fn", 0, 2000 },
        { "tracepoint/sched/sched_switch", NULL, 0, 7 },
        { "pair", NULL, BPFVM_EINVAL, 0 },
        { NULL, "pair_two", 0, 2 },
        { "pair", "pair_one", 0, 1 },
        { "prog_a", "pair_one", BPFVM_ENOTFOUND, 0 },
        { "nosuch", NULL, BPFVM_ENOTFOUND, 0 },
        { NULL, "nosuch", BPFVM_ENOTFOUND, 0 },
        { ".rodata", NULL, BPFVM_ENOTFOUND, 0 },
        { "chain", NULL, BPFVM_EINVAL, 0 },
        { NULL, "chain_main", 0, 3 * 1000001 + 1 + 3 * 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = load("multi", v, cases[i].section, cases[i].entry, 0, &vm);
        CHECK(rc == cases[i].rc, "multi%s %s/%s: rc %d (%s)", v,
              cases[i].section ? cases[i].section : "-", cases[i].entry ? cases[i].entry : "-",
              rc, msg(vm));
        if (rc == 0) {
            uint64_t got = run(vm, mem, sizeof(mem), &rc);
            CHECK(rc == 0 && got == cases[i].want, "multi%s %s/%s: rc %d, %llu", v,
                  cases[i].section ? cases[i].section : "-",
                  cases[i].entry ? cases[i].entry : "-", rc, (unsigned long long)got);
        }
        bpfvm_destroy(vm);
    }

    blob b;
    listing l = { "", 0 };
    bpfvm_error err;
    CHECK(read_object("multi", v, &b) == 0, "read multi%s", v);
    rc = bpfvm_elf_list(b.data, b.len, on_prog, &l, &err);
    CHECK(rc == 0 && strstr(l.text, "prog_a/prog_a_fn/") && strstr(l.text, "pair/pair_one/2 ") &&
              strstr(l.text, "pair/pair_two/2 ") && strstr(l.text, ".text/text_fn/") &&
              strstr(l.text, ".text/calc_isqrt/") &&
              strstr(l.text, "tracepoint/sched/sched_switch/tp/2 ") &&
              strstr(l.text, "chain/chain_h1/3 ") && strstr(l.text, "chain/chain_main/"),
          "list multi%s: rc %d: %s", v, rc, l.text);
    free(b.data);
}

static void test_textonly(const char *v)
{
    bpfvm_vm *vm;
    int rc = load("textonly", v, NULL, NULL, 0, &vm);
    CHECK(rc == 0, "textonly%s: %s", v, msg(vm));
    uint64_t mem[1] = { 27 };
    uint64_t got = run(vm, mem, sizeof(mem), &rc);
    CHECK(rc == 0 && got == calc_collatz(27) + 1, "textonly: rc %d, %llu", rc,
          (unsigned long long)got);
    bpfvm_destroy(vm);
}

static void test_rawasm(const char *v)
{
    bpfvm_vm *vm;
    int rc = load("rawasm", v, NULL, NULL, 0, &vm);
    CHECK(rc == 0, "rawasm%s: %s", v, msg(vm));
    size_t count = 0;
    bpfvm_program(vm, &count);
    CHECK(count == 7, "rawasm%s: %zu instructions linked, the section has 7", v, count);
    uint64_t got = run(vm, NULL, 0, &rc);
    CHECK(rc == 0 && got == 41, "rawasm%s: rc %d, %llu", v, rc, (unsigned long long)got);
    bpfvm_destroy(vm);

    blob b;
    listing l = { "", 0 };
    CHECK(read_object("rawasm", v, &b) == 0, "read rawasm%s", v);
    rc = bpfvm_elf_list(b.data, b.len, on_prog, &l, NULL);
    CHECK(rc == 0 && l.n == 1 && strcmp(l.text, "rawprog//7 ") == 0, "list rawasm%s: %s", v,
          l.text);
    free(b.data);
}

static void test_maps(const char *v)
{
    bpfvm_vm *vm;
    int rc;
    if (strcmp(v, "-g") != 0) {
        rc = load("maps", v, "nomap", NULL, 0, &vm);
        CHECK(rc == BPFVM_EUNSUPPORTED && strstr(msg(vm), "need the object's .BTF section"),
              "maps%s without BTF: rc %d, %s", v, rc, msg(vm));
        bpfvm_destroy(vm);
        return;
    }
    /* each load has maps of its own: the array value starts at 0 */
    static const struct {
        const char *section;
        uint64_t want;
    } uses[] = { { "usemap", 7 }, { "usebtfmap", 5 }, { "nomap", 42 } };
    for (int i = 0; i < 3; i++) {
        rc = load("maps", v, uses[i].section, NULL, 0, &vm);
        bpfvm_register_kernel_helpers(vm);
        CHECK(rc == 0, "maps%s %s: rc %d, %s", v, uses[i].section, rc, msg(vm));
        uint64_t mem[1] = { 41 };
        uint64_t got = run(vm, mem, sizeof(mem), &rc);
        CHECK(rc == 0 && got == uses[i].want, "%s: rc %d, %llu", uses[i].section, rc,
              (unsigned long long)got);
        if (i == 1) {
            got = run(vm, mem, sizeof(mem), &rc);
            CHECK(rc == 0 && got == 10, "%s again: rc %d, %llu", uses[i].section, rc,
                  (unsigned long long)got);
        }
        bpfvm_destroy(vm);
    }
}

/* ---- allocation failures ------------------------------------------------ */

typedef struct failing {
    size_t left; /* allocations that succeed before the next one fails */
} failing;

static void *f_realloc(void *user, void *ptr, size_t size)
{
    failing *f = user;
    if (f->left == 0)
        return NULL;
    f->left--;
    return realloc(ptr, size);
}

static void f_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

/* Fail the 1st, 2nd, ... allocation of a load until it succeeds: each
 * failure is ENOMEM, leaves nothing leaked (ASan) and the VM usable. */
static void test_alloc_failures(const char *name, const char *section, uint64_t arg,
                                uint64_t want)
{
    blob b;
    if (read_object(name, "", &b) != 0) {
        CHECK(0, "read %s", name);
        return;
    }
    size_t failures = 0;
    for (size_t n = 0; n < 1000; n++) {
        failing f = { n };
        bpfvm_allocator a = { f_realloc, f_free, &f };
        bpfvm_vm *vm = bpfvm_create_ex(&a);
        if (!vm)
            continue;
        bpfvm_register_helper(vm, 6, "emit", h_emit, NULL);
        int rc = bpfvm_load_elf(vm, b.data, b.len, section, NULL);
        if (rc == 0) {
            f.left = (size_t)-1;
            uint64_t mem[2] = { arg, 12 }, r0 = 0;
            rc = bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL);
            CHECK(rc == 0 && r0 == want, "%s after %zu failures: rc %d, r0 %llu", name, failures,
                  rc, (unsigned long long)r0);
            bpfvm_destroy(vm);
            break;
        }
        failures++;
        CHECK(rc == BPFVM_ENOMEM, "%s, allocation %zu failing: rc %d (%s)", name, n, rc, msg(vm));
        bpfvm_destroy(vm);
    }
    CHECK(failures >= 5, "%s: only %zu allocation failures exercised", name, failures);
    free(b.data);
}

/* ---- hostile files ------------------------------------------------------ */

static size_t hostile_runs, hostile_loaded;
static int hostile_bad;

static void ignore_prog(void *user, const char *section, const char *function, size_t count)
{
    (void)user;
    /* Touch the strings: they must be valid NUL-terminated memory. */
    hostile_loaded += (strlen(section) + strlen(function) + count) == (size_t)-1;
}

/* Load (default choice and by a section name) and list a variant: either
 * success or an error with a message; ELF errors name a file offset. */
static void try_variant(const uint8_t *data, size_t len, const char *what)
{
    static const char *const sections[] = { NULL, "xdp", "greet" };
    for (size_t s = 0; s < 3; s++) {
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_register_helper(vm, 6, "emit", h_emit, NULL);
        int rc = bpfvm_load_elf(vm, data, len, sections[s], NULL);
        const bpfvm_error *err = bpfvm_last_error(vm);
        hostile_runs++;
        if (rc == 0) {
            /* Whatever loaded runs safely (bounded by a budget). */
            uint64_t mem[4] = { 1, 2, 3, 4 }, r0;
            bpfvm_set_budget(vm, 10000);
            bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL);
            hostile_loaded++;
        } else if (!err->message[0] || err->code != rc ||
                 (rc == BPFVM_EELF && (err->offset < 0 || (uint64_t)err->offset > len))) {
            if (hostile_bad++ < 5)
                fprintf(stderr, "hostile %s: rc %d, offset %lld, \"%s\"\n", what, rc,
                        (long long)err->offset, err->message);
        }
        bpfvm_destroy(vm);
    }
    bpfvm_error err;
    int rc = bpfvm_elf_list(data, len, ignore_prog, NULL, &err);
    if (rc != 0 && !err.message[0] && hostile_bad++ < 5)
        fprintf(stderr, "hostile %s: list rc %d without message\n", what, rc);
}

static uint64_t rd(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static void wr(uint8_t *p, size_t n, uint64_t v)
{
    for (size_t i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Set the n-byte field at `off` of a copy to each interesting value. */
static void mutate_field(const blob *b, uint8_t *copy, size_t off, size_t n, const char *what)
{
    const uint64_t values[] = { 0, 1, 7, 8, 0x40, b->len - 1, b->len, b->len + 1, 0x7fff,
                                0xffff, 0x7fffffff, 0xffffffff, 0x100000000ull,
                                0x8000000000000000ull, ~0ull, rd(b->data + off, n) ^ 0x80 };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        wr(copy + off, n, values[i]);
        try_variant(copy, b->len, what);
    }
    memcpy(copy + off, b->data + off, n);
}

static void test_hostile(const char *name, const char *v)
{
    blob b;
    if (read_object(name, v, &b) != 0) {
        CHECK(0, "read %s%s", name, v);
        return;
    }
    size_t before = hostile_runs;
    hostile_bad = 0;
    uint8_t *copy = malloc(b.len);
    memcpy(copy, b.data, b.len);

    /* Truncated at every 64-byte boundary and by one byte (each in an
     * exact-size buffer, so ASan sees any read past the end). */
    for (size_t n = 0; n <= b.len; n = n + 64 < b.len ? n + 64 : n == b.len - 1 ? b.len : b.len - 1) {
        if (n == b.len)
            break;
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, b.data, n);
        try_variant(t, n, "truncated");
        free(t);
    }
    /* Every byte of the ELF header. */
    for (size_t off = 0; off < 64; off++)
        mutate_field(&b, copy, off, 1, "header byte");
    /* Every field of every section header. */
    uint64_t shoff = rd(b.data + 40, 8);
    size_t shnum = (size_t)rd(b.data + 60, 2);
    static const size_t sh_fields[][2] = { { 0, 4 }, { 4, 4 }, { 8, 8 }, { 24, 8 },
                                           { 32, 8 }, { 40, 4 }, { 44, 4 }, { 56, 8 } };
    for (size_t i = 0; i < shnum; i++)
        for (size_t f = 0; f < 8; f++)
            mutate_field(&b, copy, (size_t)shoff + i * 64 + sh_fields[f][0], sh_fields[f][1],
                         "section header");
    /* Symbols, relocations and instructions of each section. */
    for (size_t i = 0; i < shnum; i++) {
        const uint8_t *h = b.data + shoff + i * 64;
        uint32_t type = (uint32_t)rd(h + 4, 4);
        uint64_t flags = rd(h + 8, 8), off = rd(h + 24, 8), size = rd(h + 32, 8);
        if (type == 2) { /* symbols: name, info, shndx, value, size */
            static const size_t fields[][2] = { { 0, 4 }, { 4, 1 }, { 6, 2 }, { 8, 8 },
                                                { 16, 8 } };
            for (uint64_t s = 24; s < size; s += 24)
                for (size_t f = 0; f < 5; f++)
                    mutate_field(&b, copy, (size_t)(off + s + fields[f][0]), fields[f][1],
                                 "symbol");
        } else if (type == 9) { /* relocations: offset, type, symbol */
            for (uint64_t r = 0; r < size; r += 16) {
                mutate_field(&b, copy, (size_t)(off + r), 8, "relocation offset");
                mutate_field(&b, copy, (size_t)(off + r + 8), 4, "relocation type");
                mutate_field(&b, copy, (size_t)(off + r + 12), 4, "relocation symbol");
            }
        } else if (type == 1 && (flags & 4)) { /* code: local calls and lddw anywhere */
            for (uint64_t k = 0; k < size; k += 8) {
                uint8_t *insn = copy + off + k;
                static const uint8_t ops[][2] = { { 0x85, 0x10 }, { 0x18, 0x00 },
                                                  { 0x05, 0x00 } };
                for (size_t o = 0; o < 3; o++) {
                    insn[0] = ops[o][0];
                    insn[1] = ops[o][1];
                    mutate_field(&b, copy, (size_t)(off + k + 4), 4, "instruction imm");
                    mutate_field(&b, copy, (size_t)(off + k + 2), 2, "instruction off");
                }
                memcpy(insn, b.data + off + k, 8);
            }
        }
    }
    CHECK(hostile_bad == 0, "%s%s: %d hostile variants gave no proper error", name, v,
          hostile_bad);
    CHECK(hostile_runs - before > 1000, "%s%s: only %zu variants", name, v,
          hostile_runs - before);
    free(copy);
    free(b.data);
}

static void test_not_bpf(void)
{
    /* Headers that are ELF but not ours: each names what is wrong. */
    blob b;
    if (read_object("data", "", &b) != 0)
        return;
    static const struct {
        size_t off;
        uint8_t value;
        const char *word;
    } cases[] = {
        { 4, 1, "32-bit" }, { 5, 2, "big-endian" }, { 18, 62, "x86-64" }, { 16, 2, "executable" },
        { 16, 3, "shared object" }, { 0, 'X', "not an ELF" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t saved = b.data[cases[i].off];
        b.data[cases[i].off] = cases[i].value;
        bpfvm_vm *vm = bpfvm_create();
        int rc = bpfvm_load_elf(vm, b.data, b.len, NULL, NULL);
        CHECK(rc == BPFVM_EELF && strstr(msg(vm), cases[i].word) &&
                  bpfvm_last_error(vm)->offset == (int64_t)(cases[i].off == 16 ? 16 : cases[i].off),
              "not bpf (%s): rc %d, %s", cases[i].word, rc, msg(vm));
        bpfvm_destroy(vm);
        b.data[cases[i].off] = saved;
    }
    bpfvm_vm *vm = bpfvm_create();
    CHECK(bpfvm_load_elf(vm, b.data, 10, NULL, NULL) == BPFVM_EELF &&
              strstr(msg(vm), "too short"), "short file: %s", msg(vm));
    CHECK(bpfvm_load_elf(vm, NULL, 0, NULL, NULL) == BPFVM_EELF, "empty file: %s", msg(vm));
    CHECK(bpfvm_load_elf(NULL, b.data, b.len, NULL, NULL) == BPFVM_EINVAL, "NULL vm");
    bpfvm_destroy(vm);
    free(b.data);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* The objects live in <build>/elf; this binary is <build>/tests/test_elf. */
    const char *slash = strrchr(argv[0], '/');
    int dirlen = slash ? (int)(slash - argv[0]) : 1;
    snprintf(elf_dir, sizeof(elf_dir), "%.*s/../elf", dirlen, slash ? argv[0] : ".");
    blob probe;
    if (read_object("calls", "", &probe) != 0) {
        printf("skipped: no BPF objects in %s (clang not found at build time)\n", elf_dir);
        return TEST_END();
    }
    free(probe.data);

    for (use_jit = 0; use_jit < 2; use_jit++) {
        for (size_t i = 0; i < NVARIANTS; i++) {
            test_calls(variants[i]);
            test_data(variants[i]);
            test_helpers(variants[i]);
            test_multi(variants[i]);
            test_textonly(variants[i]);
            test_rawasm(variants[i]);
            test_maps(variants[i]);
        }
    }
    use_jit = 0;
    test_not_bpf();
    /* name(1) reads "one" through the pointer table: 'o' 'n' 'e' '\0' */
    test_alloc_failures("data", "name", 1, 0x656e6f);
    test_alloc_failures("calls", NULL, 18,
                        calc_all(18, 12) ^ calc_mix((const u8 *)(const uint64_t[2]){ 18, 12 }, 16) ^
                            (calc_gcd(18, 12) * 2 << 40));
    test_hostile("data", "");
    test_hostile("calls", "-g");
    test_hostile("maps", "-v3");
    test_hostile("maps", "-g");
    printf("hostile: %zu loads of corrupted objects, %zu loaded\n", hostile_runs,
           hostile_loaded);
    return TEST_END();
}
