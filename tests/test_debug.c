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

#include "bpfvm.h"
#include "test.h"

static char elf_dir[512];

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

static int read_file(const char *path, blob *b)
{
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

static void test_objdump_lines(void)
{
    static const char *const names[] = { "calls", "data", "helpers", "maps", "multi",
                                         "rawasm", "textonly" };
    static dump d;
    size_t compared = 0, declared = 0;
    if (system("command -v llvm-objdump >/dev/null 2>&1") != 0) {
        printf("skipped: llvm-objdump not found; line info not compared\n");
        return;
    }
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[700];
        blob b;
        snprintf(path, sizeof path, "%s/%s-g.o", elf_dir, names[k]);
        if (read_file(path, &b) || objdump_lines(path, &d)) {
            CHECK(0, "%s: cannot read or dump", path);
            free(b.data);
            continue;
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
            for (size_t i = 0; fn->start + i < fn->end; i++) {
                const dump_row *r = row_at(&d, fn->section, fn->start + i);
                bpfvm_source s;
                if (!r || !r->file[0])
                    continue;
                int rc = bpfvm_source_at(vm, i, &s);
                CHECK(rc == 0 && s.file && s.function && strcmp(s.function, fn->name) == 0,
                      "%s %s+%zu: no source (rc %d)", names[k], fn->name, i, rc);
                if (rc || !s.file)
                    continue;
                CHECK(strcmp(base_name(s.file), r->file) == 0, "%s %s+%zu: file %s, objdump %s",
                      names[k], fn->name, i, s.file, r->file);
                if (s.column == 0 && s.line < r->line) { /* the declaration's record */
                    declared++;
                    continue;
                }
                CHECK(s.line == r->line, "%s %s+%zu: line %u, objdump %u", names[k], fn->name, i,
                      s.line, r->line);
                compared++;
            }
            bpfvm_destroy(vm);
        }
        free(b.data);
    }
    CHECK(compared > 150 && declared > 5, "compared %zu lines, %zu declarations", compared,
          declared);
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

int main(int argc, char **argv)
{
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    int dirlen = slash ? (int)(slash - argv[0]) : 1;
    snprintf(elf_dir, sizeof(elf_dir), "%.*s/../elf", dirlen, slash ? argv[0] : ".");
    blob probe;
    if (read_object("calls-g", &probe) == 0) {
        free(probe.data);
        test_objdump_lines();
        test_hostile_lines();
        test_no_lines();
        test_error_source();
    } else {
        printf("skipped: no BPF objects in %s (clang not found at build time)\n", elf_dir);
    }
    return TEST_END();
}
