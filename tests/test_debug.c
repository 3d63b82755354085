/* test_debug.c - source lines, traced runs and the debugger's C API.
 *
 * Source lines: for every -g object the ELF loader's tests build
 * (<build>/elf/NAME-g.o), each function is loaded alone and the line of
 * each of its instructions is compared with `llvm-objdump -d -l` (DWARF).
 * One known difference is checked rather than skipped: BTF's record at a
 * function's first instruction names the line of its declaration (as
 * bpftool shows it), where DWARF names the first line of its body; there
 * the line must be the declaration's, i.e. not after the body's. Then the
 * line info is corrupted in each way the reader must survive.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "bpfvm.h"
#include "test.h"
#include "../tools/tool_util.h"

static char elf_dir[512];

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

/* The whole file at path into b (b->data NULL when it cannot be read). */
static int read_file(const char *path, blob *b)
{
    b->data = tool_read_file(path, &b->len);
    return b->data ? 0 : -1;
}

static int read_object(const char *name, blob *b)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.o", elf_dir, name);
    return read_file(path, b);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* ---- source lines against llvm-objdump ------------------------------------ */

#define MAX_ROWS 4096
typedef struct dump_row {
    char section[64];
    size_t index;        /* instruction index in its section */
    char file[64];       /* basename, "" when no line yet */
    unsigned line;
} dump_row;

typedef struct dump_func {
    char section[64], name[64];
    size_t start, end;   /* instruction indices in the section */
} dump_func;

typedef struct dump {
    dump_row rows[MAX_ROWS];
    size_t nrows;
    dump_func funcs[64];
    size_t nfuncs;
} dump;

/* Parse `llvm-objdump -d -l --no-show-raw-insn` of one object. */
static int objdump_lines(const char *path, dump *d)
{
    char cmd[800], line[512], section[64] = "", file[64] = "";
    unsigned cur = 0;
    snprintf(cmd, sizeof cmd, "llvm-objdump -d -l --no-show-raw-insn '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    d->nrows = d->nfuncs = 0;
    while (fgets(line, sizeof line, p)) {
        char name[128];
        unsigned long long addr;
        size_t idx;
        int n = 0;
        if (sscanf(line, "Disassembly of section %63[^:]:", section) == 1) {
            file[0] = 0;
            cur = 0;
        } else if (sscanf(line, "%llx <%127[^>]>:", &addr, name) == 2) {
            if (strncmp(name, "LBB", 3) != 0 && d->nfuncs < 64) {
                dump_func *f = &d->funcs[d->nfuncs++];
                snprintf(f->section, sizeof f->section, "%.63s", section);
                snprintf(f->name, sizeof f->name, "%.63s", name);
                f->start = f->end = (size_t)(addr / 8);
            }
        } else if (line[0] == ';' && line[1] == ' ' && line[2] == '/') {
            char *colon = strrchr(line, ':');
            if (colon) {
                *colon = 0;
                snprintf(file, sizeof file, "%.63s", base_name(line + 2));
                cur = (unsigned)strtoul(colon + 1, NULL, 10);
            }
        } else if (sscanf(line, " %zu:%n", &idx, &n) == 1 && n > 0 && line[n] == '\t' &&
                   d->nrows < MAX_ROWS) {
            dump_row *r = &d->rows[d->nrows++];
            snprintf(r->section, sizeof r->section, "%.63s", section);
            snprintf(r->file, sizeof r->file, "%.63s", file);
            r->index = idx;
            r->line = cur;
            if (d->nfuncs && strcmp(d->funcs[d->nfuncs - 1].section, section) == 0)
                d->funcs[d->nfuncs - 1].end = idx + 1;
        }
    }
    return pclose(p) == 0 && d->nrows > 0 ? 0 : -1;
}

static const dump_row *row_at(const dump *d, const char *section, size_t index)
{
    for (size_t i = 0; i < d->nrows; i++)
        if (d->rows[i].index == index && strcmp(d->rows[i].section, section) == 0)
            return &d->rows[i];
    return NULL;
}

/* Compare the lines of every function of `loaded` with llvm-objdump's of
 * `path` (the same code). With BTF lines, a function's first record names
 * its declaration; with DWARF lines (no .BTF.ext), everything must match
 * but line 0 (code without a line, which llvm-objdump does not show). */
static void compare_lines(const char *name, const char *path, const char *loaded, int dwarf,
                          size_t *compared, size_t *declared)
{
    static dump d;
    blob b;
    if (read_file(loaded, &b) || objdump_lines(path, &d)) {
        CHECK(0, "%s: cannot read or dump", loaded);
        free(b.data);
        return;
    }
    for (size_t f = 0; f < d.nfuncs; f++) {
        const dump_func *fn = &d.funcs[f];
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
        if (bpfvm_load_elf(vm, b.data, b.len, fn->section, fn->name)) {
            /* functions that cannot load alone (maps, externs) */
            bpfvm_destroy(vm);
            continue;
        }
        size_t ignored;
        bpfvm_source_stats(vm, &ignored, NULL);
        CHECK(ignored == 0, "%s %s: %zu line records dropped", name, fn->name, ignored);
        for (size_t i = 0; fn->start + i < fn->end; i++) {
            const dump_row *r = row_at(&d, fn->section, fn->start + i);
            bpfvm_source s;
            if (!r || !r->file[0])
                continue;
            int rc = bpfvm_source_at(vm, i, &s);
            CHECK(rc == 0 && s.file && s.function && strcmp(s.function, fn->name) == 0,
                  "%s %s+%zu: no source (rc %d)", name, fn->name, i, rc);
            if (rc || !s.file || (dwarf && s.line == 0))
                continue;
            CHECK(strcmp(base_name(s.file), r->file) == 0, "%s %s+%zu: file %s, objdump %s",
                  name, fn->name, i, s.file, r->file);
            CHECK(!dwarf || (!s.text && s.file[0] == '/'), "%s: DWARF gives absolute paths, no text",
                  name);
            if (!dwarf && s.column == 0 && s.line < r->line) { /* the declaration's record */
                (*declared)++;
                continue;
            }
            CHECK(s.line == r->line, "%s%s %s+%zu: line %u, objdump %u", name, dwarf ? " (DWARF)" : "",
                  fn->name, i, s.line, r->line);
            (*compared)++;
        }
        bpfvm_destroy(vm);
    }
    free(b.data);
}

static void test_objdump_lines(void)
{
    size_t compared = 0, declared = 0, dwarf_compared = 0, none = 0, objects = 0;
    if (system("command -v llvm-objdump >/dev/null 2>&1") != 0) {
        printf("skipped: llvm-objdump not found; line info not compared\n");
        return;
    }
    int objcopy = system("command -v llvm-objcopy >/dev/null 2>&1") == 0;
    DIR *dir = opendir(elf_dir);
    struct dirent *ent;
    while (dir && (ent = readdir(dir))) { /* every NAME-g.o */
        size_t n = strlen(ent->d_name);
        if (n < 5 || strcmp(ent->d_name + n - 4, "-g.o") != 0)
            continue;
        char path[800], stripped[128], cmd[1000], name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n - 4), ent->d_name);
        snprintf(path, sizeof path, "%s/%s", elf_dir, ent->d_name);
        objects++;
        compare_lines(name, path, path, 0, &compared, &declared);
        /* the same without .BTF.ext: the lines come from DWARF */
        snprintf(stripped, sizeof stripped, "/tmp/bpfvm-test-dwarf-%d.o", (int)getpid());
        snprintf(cmd, sizeof cmd, "llvm-objcopy --remove-section .BTF.ext --remove-section "
                 ".rel.BTF.ext '%s' %s", path, stripped);
        if (objcopy && system(cmd) == 0)
            compare_lines(name, path, stripped, 1, &dwarf_compared, &none);
        remove(stripped);
    }
    if (dir)
        closedir(dir);
    CHECK(objects >= 7, "%zu -g objects in %s", objects, elf_dir);
    CHECK(compared > 150 && declared > 5, "compared %zu lines, %zu declarations", compared,
          declared);
    CHECK(!objcopy || dwarf_compared > 150, "compared %zu DWARF lines", dwarf_compared);
}

/* ---- hostile line info ---------------------------------------------------- */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* File offset and size of the section named `name` (the tests' objects are
 * well formed). */
static size_t find_section(const blob *b, const char *name, size_t *size)
{
    const uint8_t *e = b->data;
    uint64_t shoff;
    memcpy(&shoff, e + 0x28, 8);
    unsigned shnum = (unsigned)e[0x3c] | (unsigned)e[0x3d] << 8;
    unsigned shstr = (unsigned)e[0x3e] | (unsigned)e[0x3f] << 8;
    uint64_t stroff;
    memcpy(&stroff, e + shoff + shstr * 64 + 24, 8);
    for (unsigned i = 0; i < shnum; i++) {
        const uint8_t *h = e + shoff + i * 64;
        if (strcmp((const char *)e + stroff + get32(h), name) == 0) {
            uint64_t off, sz;
            memcpy(&off, h + 24, 8);
            memcpy(&sz, h + 32, 8);
            *size = (size_t)sz;
            return (size_t)off;
        }
    }
    return 0;
}

/* Load calls-g.o with one change to its .BTF.ext made by `mutate` and
 * return the number of slots with lines; *ignored, *problem as reported. */
static size_t lines_after(const blob *orig, void (*mutate)(uint8_t *ext, size_t len),
                          size_t *ignored, const char **problem, int *rc)
{
    blob b = { malloc(orig->len), orig->len };
    size_t len = 0, off = find_section(orig, ".BTF.ext", &len);
    memcpy(b.data, orig->data, orig->len);
    mutate(b.data + off, len);
    bpfvm_vm *vm = bpfvm_create();
    *rc = bpfvm_load_elf(vm, b.data, b.len, "xdp", NULL);
    size_t n = bpfvm_source_stats(vm, ignored, problem);
    size_t count;
    const bpfvm_insn *p = bpfvm_program(vm, &count);
    for (size_t i = 0; p && i < count; i++) { /* whatever is kept stays inside the strings */
        bpfvm_source s;
        if (bpfvm_source_at(vm, i, &s) == 0 && s.file)
            CHECK(strlen(s.file) < 4096 && strlen(s.text) < 4096, "slot %zu", i);
    }
    bpfvm_destroy(vm);
    free(b.data);
    return n;
}

/* Offsets inside .BTF.ext: the line info part and its first record. */
static uint8_t *first_record(uint8_t *ext)
{
    return ext + get32(ext + 4) + get32(ext + 16) + 4 + 8;
}
static void m_none(uint8_t *ext, size_t len) { (void)ext, (void)len; }
static void m_insn_past(uint8_t *ext, size_t len) { (void)len; put32(first_record(ext) + 16, 0x7ffffff8); }
static void m_insn_odd(uint8_t *ext, size_t len) { (void)len; put32(first_record(ext) + 16, 13); }
static void m_file_past(uint8_t *ext, size_t len) { (void)len; put32(first_record(ext) + 4, 0xfffffff0); }
static void m_text_past(uint8_t *ext, size_t len) { (void)len; put32(first_record(ext) + 8, 0x7fffffff); }
static void m_order(uint8_t *ext, size_t len)
{
    (void)len;
    uint8_t *r = first_record(ext);
    put32(r + 32, get32(r + 16)); /* third record at the second's offset */
}
static void m_count(uint8_t *ext, size_t len) { (void)len; put32(first_record(ext) - 4, 0x10000000); }
static void m_len(uint8_t *ext, size_t len) { (void)len; put32(ext + 20, 0xfffffff0); }
static void m_recsize(uint8_t *ext, size_t len) { (void)len; put32(first_record(ext) - 12, 4); }
static void m_magic(uint8_t *ext, size_t len) { (void)len; ext[0] ^= 0xff; }
static void m_trunc(uint8_t *ext, size_t len) { memset(ext + len / 2, 0xff, len - len / 2); }

static void test_hostile_lines(void)
{
    blob b;
    if (read_object("calls-g", &b)) {
        printf("skipped: no calls-g.o\n");
        return;
    }
    size_t ignored, good;
    const char *problem;
    int rc;
    good = lines_after(&b, m_none, &ignored, &problem, &rc);
    CHECK(rc == 0 && good > 10 && ignored == 0 && !problem, "clean: %zu lines, %zu ignored", good,
          ignored);
    /* the first .text record (the first section) is dropped; others kept */
    static const struct {
        void (*fn)(uint8_t *, size_t);
        const char *what;
        int whole; /* 1: the table is dropped, no record counted; 2: the rest dropped */
    } cases[] = {
        { m_insn_past, "instruction offsets out of order", 0 }, /* past .text: then order breaks */
        { m_insn_odd, "instruction offset not on an instruction", 0 },
        { m_file_past, "file or line text outside the string section", 0 },
        { m_text_past, "file or line text outside the string section", 0 },
        { m_order, "instruction offsets out of order", 0 },
        { m_count, "line records past the end of the section", 2 }, /* and all after */
        { m_len, "line info outside the section", 1 },
        { m_recsize, "bad line record size", 1 },
        { m_magic, "no BTF.ext header", 1 },
        { m_trunc, NULL, 0 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = lines_after(&b, cases[k].fn, &ignored, &problem, &rc);
        CHECK(rc == 0, "case %zu: load failed: %d", k, rc);
        if (cases[k].what)
            CHECK(problem && strstr(problem, cases[k].what), "case %zu: problem %s", k,
                  problem ? problem : "(none)");
        if (cases[k].whole == 2)
            CHECK(n < good && ignored == 1, "case %zu: %zu lines %zu ignored", k, n, ignored);
        else if (cases[k].whole)
            CHECK(n == 0 && ignored == 0, "case %zu: %zu lines %zu ignored", k, n, ignored);
        else if (cases[k].what)
            CHECK(ignored >= 1 && n > 0 && n <= good, "case %zu: %zu lines, %zu ignored", k, n,
                  ignored);
    }
    free(b.data);
}

/* DWARF line tables that lie: the unit is dropped, the load goes on. */
static void m_version(uint8_t *line, size_t len) { (void)len; line[4] = 9; }
static void m_unit_len(uint8_t *line, size_t len) { (void)len; put32(line, 0xfffffff0); }
static void m_line_range(uint8_t *line, size_t len) { (void)len; line[4 + 2 + 2 + 4 + 4] = 0; } /* line_range */
static void m_program(uint8_t *line, size_t len)
{
    for (size_t i = 0x70; i < len; i++) /* the line program: garbage */
        line[i] = (uint8_t)(i * 37 + 11);
}

static void test_hostile_dwarf(void)
{
    char path[700], stripped[128], cmd[1000];
    blob b;
    snprintf(path, sizeof path, "%s/calls-g.o", elf_dir);
    snprintf(stripped, sizeof stripped, "/tmp/bpfvm-test-dwarf2-%d.o", (int)getpid());
    snprintf(cmd, sizeof cmd, "llvm-objcopy --remove-section .BTF.ext --remove-section "
             ".rel.BTF.ext '%s' %s 2>/dev/null", path, stripped);
    if (system(cmd) != 0 || read_file(stripped, &b)) {
        printf("skipped: llvm-objcopy not found; hostile DWARF not tested\n");
        return;
    }
    remove(stripped);
    static void (*const cases[])(uint8_t *, size_t) = { m_none, m_version, m_unit_len,
                                                        m_line_range, m_program };
    size_t len = 0, off = find_section(&b, ".debug_line", &len);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t *copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        cases[k](copy + off, len);
        bpfvm_vm *vm = bpfvm_create();
        int rc = bpfvm_load_elf(vm, copy, b.len, "xdp", NULL);
        size_t ignored;
        const char *problem;
        size_t n = bpfvm_source_stats(vm, &ignored, &problem);
        if (k == 0)
            CHECK(rc == 0 && n > 10 && !problem, "clean DWARF: %zu lines", n);
        else if (k < 4)
            CHECK(rc == 0 && n == 0 && problem && strstr(problem, "malformed unit"),
                  "case %zu: %d, %zu lines, %s", k, rc, n, problem ? problem : "(none)");
        else
            CHECK(rc == 0, "garbage program: %d", rc);
        bpfvm_destroy(vm);
        free(copy);
    }
    free(b.data);
}

/* A non -g object: function names, no lines. */
static void test_no_lines(void)
{
    blob b;
    if (read_object("calls", &b))
        return;
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_source s;
    CHECK(bpfvm_load_elf(vm, b.data, b.len, "xdp", NULL) == 0, "load");
    CHECK(bpfvm_source_stats(vm, NULL, NULL) == 0, "no lines without -g");
    CHECK(bpfvm_source_at(vm, 0, &s) == 0 && !s.file && s.function &&
              strcmp(s.function, "calls_main") == 0,
          "function name");
    CHECK(bpfvm_source_at(vm, 100000, &s) == BPFVM_ENOTFOUND, "past the end");
    bpfvm_destroy(vm);
    free(b.data);
}

static uint64_t h_mul(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    (void)ctx, (void)c, (void)d, (void)e;
    return a * b;
}

/* Errors of runs and of the verifier name the source line. */
static void test_error_source(void)
{
    blob b;
    if (read_object("data-g", &b))
        return;
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_error err;
    uint64_t r0;
    CHECK(bpfvm_load_elf(vm, b.data, b.len, "badwrite", NULL) == 0, "load badwrite");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == BPFVM_EMEMORY &&
              strcmp(err.source, "data.c:40") == 0,
          "run error source '%s'", err.source);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EMEMORY &&
              strcmp(bpfvm_last_error(vm)->source, "data.c:40") == 0,
          "last error source '%s'", bpfvm_last_error(vm)->source);
    bpfvm_destroy(vm);
    free(b.data);

    /* helper 77 (host_add), unknown to a VM that has helpers: the verifier */
    if (read_object("helpers-g", &b))
        return;
    vm = bpfvm_create();
    bpfvm_register_helper(vm, 100, "host_mul", h_mul, NULL);
    int rc = bpfvm_load_elf(vm, b.data, b.len, "ext", NULL);
    CHECK(rc == BPFVM_EVERIFY && strncmp(bpfvm_last_error(vm)->source, "helpers.c:", 10) == 0,
          "verifier error %d source '%s' (%s)", rc, bpfvm_last_error(vm)->source,
              bpfvm_last_error(vm)->message);
    bpfvm_destroy(vm);
    free(b.data);
}

/* ---- traced runs and the debugger ---------------------------------------------- */

/* r0 = 3 * 3 + 1 through a local call; 8 instructions: 0 1 5 6 7 2 3 4 */
static const char call_prog[] = "mov r1, 3\n"
                                "call local +3\n"
                                "add r0, 1\n"
                                "stxdw [r10-8], r0\n"
                                "exit\n"
                                "mov r0, r1\n"
                                "mul r0, r1\n"
                                "exit\n";

typedef struct seen {
    size_t order[32];
    unsigned depth[32];
    size_t n, call_at_5, stop_at;
    uint64_t end_executed, store_addr, fp;
    uint32_t store_size;
    int ended, bump;
} seen;

static int record(void *user, const bpfvm_trace_state *st)
{
    seen *s = user;
    if (st->insn == BPFVM_TRACE_END) {
        s->ended++;
        s->end_executed = st->executed;
        return 0;
    }
    if (s->n < 32) {
        s->depth[s->n] = st->depth;
        s->order[s->n++] = st->insn;
    }
    if (st->insn == 5)
        s->call_at_5 = st->depth == 1 ? st->calls[0] : 99;
    if (st->insn == 3) {
        s->store_addr = st->addr;
        s->store_size = st->size;
        s->fp = st->regs[10];
        CHECK(st->write == 1 && bpfvm_ctx_access(st->ctx, st->addr, 8, 1) != NULL, "store access");
        /* checked like the run (the VM's default), whatever the C stack held */
        CHECK(bpfvm_ctx_access(st->ctx, 16, 8, 0) == NULL, "address 16 refused");
    }
    if (st->insn == 6 && s->bump)
        st->regs[1] = 4; /* the multiply sees the change: 3 * 4 */
    return st->insn == s->stop_at;
}

/* Zeros in the C stack the next run's frame will occupy: a hook must not
 * see a run unchecked because a field it reads was left as the stack had it. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void zero_stack(void)
{
    uint8_t junk[32768];
    memset(junk, 0, sizeof(junk));
    __asm__ volatile("" : : "r"(junk) : "memory");
}

static void test_trace_hook(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t r0 = 0;
    bpfvm_error err;
    static const size_t want[] = { 0, 1, 5, 6, 7, 2, 3, 4 };
    seen s;
    memset(&s, 0, sizeof s);
    s.stop_at = SIZE_MAX;
    CHECK(bpfvm_run_traced(vm, NULL, 0, NULL, 0, record, &s, &r0, &err) == BPFVM_ENOPROG,
          "no program");
    CHECK(bpfvm_load_asm(vm, call_prog, "call.s") == 0, "load");
    CHECK(bpfvm_run_traced(vm, NULL, 0, NULL, 0, NULL, NULL, &r0, &err) == BPFVM_EINVAL, "no hook");
    zero_stack();
    CHECK(bpfvm_run_traced(vm, NULL, 0, NULL, 0, record, &s, &r0, &err) == 0 && r0 == 10,
          "result %" PRIu64, r0);
    CHECK(s.n == 8 && memcmp(s.order, want, sizeof want) == 0 && s.ended == 1 &&
              s.end_executed == 8,
          "order: %zu steps, %" PRIu64 " executed", s.n, s.end_executed);
    CHECK(s.depth[2] == 1 && s.depth[4] == 1 && s.depth[5] == 0 && s.call_at_5 == 1, "depths");
    CHECK(s.store_addr == s.fp - 8 && s.store_size == 8, "store address");

    memset(&s, 0, sizeof s); /* a hook that changes a register */
    s.stop_at = SIZE_MAX;
    s.bump = 1;
    CHECK(bpfvm_run_traced(vm, NULL, 0, NULL, 0, record, &s, &r0, &err) == 0 && r0 == 13,
          "changed register: %" PRIu64, r0);

    memset(&s, 0, sizeof s); /* a hook that stops the run */
    s.stop_at = 6;
    CHECK(bpfvm_run_traced(vm, NULL, 0, NULL, 0, record, &s, &r0, &err) == BPFVM_ESTOPPED &&
              err.insn == 6 && s.n == 4 && s.ended == 1,
          "stop: %d insn %" PRId64 " after %zu", err.code, err.insn, s.n);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == 0 && r0 == 10, "untraced after");

    /* counting: every instruction counted, the hook only where the depth changes */
    uint64_t counts[8] = { 0 };
    static const uint64_t once[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    static const size_t hooked[] = { 5, 2 };
    memset(&s, 0, sizeof s);
    s.stop_at = SIZE_MAX;
    CHECK(bpfvm_run_counted(vm, NULL, 0, NULL, 0, NULL, record, &s, &r0, &err) == BPFVM_EINVAL,
          "no counts");
    CHECK(bpfvm_run_counted(vm, NULL, 0, NULL, 0, counts, record, &s, &r0, &err) == 0 && r0 == 10 &&
              memcmp(counts, once, sizeof once) == 0,
          "counted run");
    CHECK(s.n == 2 && memcmp(s.order, hooked, sizeof hooked) == 0 && s.ended == 1 &&
              s.end_executed == 8,
          "counted run's hook: %zu calls", s.n);
    CHECK(bpfvm_run_counted(vm, NULL, 0, NULL, 0, counts, NULL, NULL, &r0, &err) == 0 &&
              counts[6] == 2,
          "counts add up");
    bpfvm_destroy(vm);
}

typedef struct script {
    bpfvm_resume steps[16];
    size_t stops[16];
    bpfvm_stop why[16];
    size_t n, frames[16];
    uint64_t r0_at_stop[16];
    int checked_memory;
} script;

static bpfvm_resume on_stop(void *user, bpfvm_debugger *d, const bpfvm_stop_info *w)
{
    script *s = user;
    size_t k = s->n++;
    bpfvm_frame f[4];
    s->stops[k] = w->insn;
    s->why[k] = w->why;
    s->frames[k] = bpfvm_debug_frames(d, f, 4);
    bpfvm_debug_get_reg(d, 0, &s->r0_at_stop[k]);
    if (w->insn == 6 && !s->checked_memory) { /* inside the call */
        uint64_t fp, v = 0x1122334455667788u, back = 0;
        s->checked_memory = 1;
        CHECK(f[0].pc == 6 && f[0].function == 5 && f[1].pc == 1 && f[1].function == 0 &&
                  f[1].fp + 512 == f[0].fp,
              "frames %zu/%zu %zu/%zu", f[0].pc, f[0].function, f[1].pc, f[1].function);
        CHECK(bpfvm_debug_get_reg(d, 10, &fp) == 0 && fp == f[0].fp, "r10 is the frame's");
        CHECK(bpfvm_debug_write(d, fp - 16, &v, 8) == 0 && bpfvm_debug_read(d, fp - 16, &back, 8) == 0 &&
                  back == v, "memory write and read");
        CHECK(bpfvm_debug_read(d, fp, &back, 8) == BPFVM_EMEMORY, "above the frame");
        CHECK(bpfvm_debug_read(d, f[1].fp - 8, &back, 8) == 0,
              "the caller's frame is in the program's reach, so in the debugger's");
        CHECK(bpfvm_debug_read(d, f[1].fp - 512 - 8, &back, 8) == BPFVM_EMEMORY,
              "below the first frame");
        CHECK(bpfvm_debug_read(d, 0, &back, 1) == BPFVM_EMEMORY, "null");
        CHECK(bpfvm_debug_set_reg(d, 10, 0) == BPFVM_EINVAL &&
                  bpfvm_debug_get_reg(d, 11, &back) == BPFVM_EINVAL, "bad registers");
        CHECK(bpfvm_debug_set_reg(d, 1, 5) == 0, "set r1"); /* 3 * 5 + 1 */
    }
    return s->steps[k];
}

static void test_debugger(void)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_debugger *d = bpfvm_debugger_create(vm);
    uint64_t r0 = 0, v;
    bpfvm_error err;
    script s;
    CHECK(bpfvm_debugger_create(NULL) == NULL, "no vm");
    CHECK(bpfvm_load_asm(vm, call_prog, "call.s") == 0, "load");
    CHECK(bpfvm_debug_break(d, 99) == BPFVM_EINVAL && bpfvm_debug_delete(d, 3) == BPFVM_ENOTFOUND,
          "bad breakpoints");
    CHECK(bpfvm_debug_get_reg(d, 0, &v) == BPFVM_EINVAL &&
              bpfvm_debug_read(d, 0, &v, 1) == BPFVM_EINVAL,
          "not stopped");

    /* step into the call, step by instruction, finish, continue */
    memset(&s, 0, sizeof s);
    bpfvm_resume plan[] = { BPFVM_RESUME_STEPI, BPFVM_RESUME_STEPI, BPFVM_RESUME_STEPI,
                            BPFVM_RESUME_FINISH, BPFVM_RESUME_CONTINUE };
    memcpy(s.steps, plan, sizeof plan);
    CHECK(bpfvm_debug_break(d, 1) == 0 && bpfvm_debug_break(d, 1) == 0, "break 1");
    int rc = bpfvm_debug_run(d, NULL, 0, NULL, 0, BPFVM_RESUME_CONTINUE, on_stop, &s, &r0, &err);
    CHECK(rc == 0 && r0 == 16, "debug run: %d r0 %" PRIu64, rc, r0);
    static const size_t where1[] = { 1, 5, 6, 7, 2 };
    CHECK(s.n == 5 && memcmp(s.stops, where1, sizeof where1) == 0, "stops: %zu", s.n);
    CHECK(s.why[0] == BPFVM_STOP_BREAK && s.why[1] == BPFVM_STOP_STEP && s.frames[0] == 1 &&
              s.frames[2] == 2 && s.frames[4] == 1,
          "reasons and frames");

    /* nexti steps over the call; a watch stops after the store */
    memset(&s, 0, sizeof s);
    bpfvm_resume plan2[] = { BPFVM_RESUME_NEXTI, BPFVM_RESUME_CONTINUE, BPFVM_RESUME_KILL };
    memcpy(s.steps, plan2, sizeof plan2);
    s.checked_memory = 1;
    bpfvm_debug_delete(d, 1);
    bpfvm_debug_break(d, 1);
    CHECK(bpfvm_debug_watch(d, 0, 0) == BPFVM_EINVAL, "empty watch");
    /* the stack's address is known once stopped: watch all of memory instead */
    CHECK(bpfvm_debug_watch(d, 1, UINT64_MAX - 1) == 0, "watch");
    rc = bpfvm_debug_run(d, NULL, 0, NULL, 0, BPFVM_RESUME_CONTINUE, on_stop, &s, &r0, &err);
    CHECK(rc == BPFVM_ESTOPPED && s.n == 3 && s.stops[0] == 1 && s.stops[1] == 2 &&
              s.stops[2] == 4 && s.why[2] == BPFVM_STOP_WATCH && s.r0_at_stop[1] == 9,
          "nexti/watch: rc %d, %zu stops: %zu %zu %zu", rc, s.n, s.stops[0], s.stops[1],
          s.stops[2]);
    bpfvm_debugger_destroy(d);
    bpfvm_destroy(vm);
}

int main(int argc, char **argv)
{
    test_trace_hook();
    test_debugger();
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    int dirlen = slash ? (int)(slash - argv[0]) : 1;
    snprintf(elf_dir, sizeof(elf_dir), "%.*s/../elf", dirlen, slash ? argv[0] : ".");
    blob probe;
    if (read_object("calls-g", &probe) == 0) {
        free(probe.data);
        test_objdump_lines();
        test_hostile_lines();
        test_hostile_dwarf();
        test_no_lines();
        test_error_source();
    } else {
        printf("skipped: no BPF objects in %s (clang not found at build time)\n", elf_dir);
    }
    return TEST_END();
}
