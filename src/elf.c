/* elf.c - loader for ELF objects produced by `clang -O2 -target bpf -c`.
 *
 * The object is parsed in place (every field read byte by byte, so the
 * buffer needs no alignment) and every offset, size and index is checked
 * before use: a hostile file gets an error naming what is wrong and where
 * (bpfvm_error.offset is the file offset), never a crash.
 *
 * Linking: the chosen program (a function, or a whole program section that
 * holds no function symbol) is copied first; every function it calls is
 * copied once behind it, breadth first, and each local call's imm becomes
 * target - (call + 1) in the linked program. Calls carry an R_BPF_64_32
 * relocation (target slot = symbol value / 8 + imm + 1 in the symbol's
 * section; against an undefined symbol it is an extern helper, resolved by
 * name), or none when the compiler resolved the offset inside one section.
 * lddw instructions carry R_BPF_64_64 relocations against global data: the
 * VM gets its own copy of each data section used (.bss zero-filled),
 * registered as a memory region (read-only without SHF_WRITE, as .rodata),
 * and the lddw gets the host address + symbol value + the addend the
 * compiler left in the instruction's immediate. R_BPF_64_ABS64 relocations
 * inside loaded data sections (pointer tables) are applied the same way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "internal.h"
#include "map.h"

/* ELF constants used here (System V gABI). */
#define ET_REL 1
#define EM_BPF 247
#define SHT_PROGBITS 1
#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_RELA 4
#define SHT_NOBITS 8
#define SHT_REL 9
#define SHF_WRITE 1u
#define SHF_ALLOC 2u
#define SHF_EXECINSTR 4u
#define SHN_UNDEF 0u
#define SHN_LORESERVE 0xff00u
#define STT_FUNC 2
#define STT_SECTION 3
#define STB_LOCAL 0

/* BPF relocation types (LLVM). */
#define R_BPF_NONE 0
#define R_BPF_64_64 1       /* lddw: S + A, A in the instruction's imm */
#define R_BPF_64_ABS64 2    /* data: 64-bit S + A, A in place */
#define R_BPF_64_ABS32 3    /* debug info */
#define R_BPF_64_NODYLD32 4 /* BTF.ext */
#define R_BPF_64_32 10      /* call: (S + A) / 8 - 1 with A = imm */

#define EHDR_SIZE 64u
#define SHDR_SIZE 64u
#define SYM_SIZE 24u
#define REL_SIZE 16u
#define INSN_SIZE 8u
#define OP_LDDW 0x18
#define OP_CALL 0x85

/* Limit on the data sections one object may make the VM allocate. */
#define MAX_DATA_BYTES (64u << 20)

typedef struct elf_sec {
    const char *name;
    uint32_t type, link, info;
    uint64_t flags, off, size;
    uint64_t hdr;         /* file offset of the section header */
    size_t rel;           /* index of the SHT_REL section applying to it, 0 if none */
} elf_sec;

typedef struct elf_sym {
    const char *name;     /* for section symbols: the section's name */
    uint64_t value, size;
    uint32_t shndx;
    uint8_t type, bind;
    uint64_t at;          /* file offset of the symbol entry */
} elf_sym;

/* A function symbol of an executable section; sorted by (sec, value). */
typedef struct elf_func {
    size_t sec;
    uint64_t value, size;
    const char *name;
    uint8_t bind;
} elf_func;

typedef struct elf_file {
    const uint8_t *p;
    size_t len;
    bpfvm_vm *vm;         /* allocator and helpers; NULL when only listing */
    bpfvm_error *err;
    elf_sec *sec;
    size_t nsec;
    size_t symtab;        /* index of the symbol table section, 0 if none */
    size_t nsym;
    elf_func *func;
    size_t nfunc;
    struct bpfvm_object *obj; /* loading from an object: its maps */
} elf_file;

/* A map of an object: from a map definition at `off` in section `sec`
 * (`maps` or `.maps`), or a global-data section's one-element array
 * (global: off 0). */
typedef struct obj_map {
    bpfvm_map *map;
    size_t sec;
    uint64_t off;
    bool global;
    uint64_t size;        /* bytes of its definition */
    uint64_t values_off;  /* BTF `values` member: its byte offset; UINT64_MAX if none */
} obj_map;

/* A `.values` initialiser: slot `slot` of program array `map` (index into
 * maps) holds the program of function `func`, loaded when the object first
 * loads a program into a VM, into a VM the object owns (`vm`). */
typedef struct obj_init {
    size_t map;
    uint32_t slot;
    const char *func;     /* in the object's copy of the file */
    bpfvm_vm *vm;
} obj_init;

struct bpfvm_object {
    uint8_t *data;        /* the object's own copy of the ELF file */
    size_t len;
    obj_map *maps;
    size_t nmaps, maps_cap;
    uint64_t map_bytes;   /* memory of its maps so far */
    obj_init *inits;
    size_t ninits, inits_cap;
    bool initialising;    /* loading the programs of `inits` */
};

/* Memory all the maps of one object may take. */
#define MAX_OBJECT_MAP_BYTES (256ull << 20)

/* The object's map defined at `off` of section `sec` (a global-data map
 * when `global`), or NULL. */
static const obj_map *obj_find(const struct bpfvm_object *obj, size_t sec, uint64_t off,
                               bool global)
{
    for (size_t i = 0; i < obj->nmaps; i++)
        if (obj->maps[i].sec == sec && obj->maps[i].global == global &&
            (global || obj->maps[i].off == off))
            return &obj->maps[i];
    return NULL;
}

/* ---- reading and errors ------------------------------------------------ */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(elf_file *e, int code, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bpfvm__vset_error(e->err, code, -1, fmt, ap);
    va_end(ap);
    e->err->offset = (int64_t)off;
    size_t n = strlen(e->err->message);
    snprintf(e->err->message + n, sizeof(e->err->message) - n, " (file offset 0x%llx)",
             (unsigned long long)off);
    return code;
}

static void *e_alloc(const elf_file *e, size_t size)
{
    return e->vm ? bpfvm__alloc(e->vm, size) : malloc(size ? size : 1);
}

static void *e_realloc(const elf_file *e, void *ptr, size_t size)
{
    return e->vm ? bpfvm__realloc(e->vm, ptr, size) : realloc(ptr, size ? size : 1);
}

/* `n` items of `size` bytes, zeroed; NULL when out of memory. */
static void *e_zalloc(const elf_file *e, size_t n, size_t size)
{
    void *p = n <= SIZE_MAX / size ? e_alloc(e, n * size) : NULL;
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void e_free(const elf_file *e, void *ptr)
{
    if (e->vm)
        bpfvm__free(e->vm, ptr);
    else
        free(ptr);
}

static int no_memory(elf_file *e)
{
    return bpfvm__set_error(e->err, BPFVM_ENOMEM, -1, "out of memory");
}

/* Grow *array to hold `need` items of `elem` bytes. */
static int grow(elf_file *e, void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return no_memory(e);
    void *p = e_realloc(e, *array, ncap * elem);
    if (!p)
        return no_memory(e);
    *array = p;
    *cap = ncap;
    return 0;
}

/* The NUL-terminated string at `off` in string table section `s`, or NULL. */
static const char *str_at(const elf_file *e, size_t s, uint64_t off)
{
    const elf_sec *t = &e->sec[s];
    if (t->type != SHT_STRTAB || off >= t->size)
        return NULL;
    const char *str = (const char *)e->p + t->off + off;
    return memchr(str, 0, (size_t)(t->size - off)) ? str : NULL;
}

static bool is_exec(const elf_sec *s)
{
    return s->type == SHT_PROGBITS && (s->flags & SHF_EXECINSTR);
}

static bool is_maps(const elf_sec *s)
{
    return strcmp(s->name, "maps") == 0 || strcmp(s->name, ".maps") == 0 ||
           strncmp(s->name, "maps/", 5) == 0;
}

/* A section whose contents the program may address (.rodata*, .data*, .bss*). */
static bool is_data(const elf_sec *s)
{
    return (s->type == SHT_PROGBITS || s->type == SHT_NOBITS) && (s->flags & SHF_ALLOC) &&
           !(s->flags & SHF_EXECINSTR) && !is_maps(s);
}

/* ---- parsing ----------------------------------------------------------- */

static const char *type_name(unsigned t)
{
    switch (t) {
    case 0: return "no file type";
    case 2: return "an executable";
    case 3: return "a shared object";
    case 4: return "a core file";
    default: return "unknown type";
    }
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case 3: return "x86";
    case 40: return "ARM";
    case 62: return "x86-64";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    default: return "not BPF";
    }
}

static int check_header(elf_file *e)
{
    const uint8_t *p = e->p;
    if (e->len < EHDR_SIZE)
        return fail(e, BPFVM_EELF, 0, "file is %zu bytes, too short for an ELF header (64)",
                    e->len);
    if (memcmp(p, "\177ELF", 4) != 0)
        return fail(e, BPFVM_EELF, 0, "not an ELF file (bad magic number)");
    if (p[4] != 2)
        return fail(e, BPFVM_EELF, 4, "ELF class %u (%s): a BPF object must be 64-bit", p[4],
                    p[4] == 1 ? "32-bit" : "unknown");
    if (p[5] != 1)
        return fail(e, BPFVM_EELF, 5, "ELF data encoding %u (%s): a BPF object must be "
                    "little-endian (clang -target bpfel or bpf on a little-endian host)", p[5],
                    p[5] == 2 ? "big-endian" : "unknown");
    if (p[6] != 1)
        return fail(e, BPFVM_EELF, 6, "ELF version %u, expected 1", p[6]);
    unsigned type = rd16(p + 16), machine = rd16(p + 18);
    if (machine != EM_BPF)
        return fail(e, BPFVM_EELF, 18, "ELF machine %u (%s), expected BPF (247)", machine,
                    machine_name(machine));
    if (type != ET_REL)
        return fail(e, BPFVM_EELF, 16, "ELF type %u (%s): expected a relocatable object "
                    "(clang -target bpf -c)", type, type_name(type));
    if (rd16(p + 58) != SHDR_SIZE)
        return fail(e, BPFVM_EELF, 58, "section header size %u, expected 64", rd16(p + 58));
    return 0;
}

typedef struct range {
    uint64_t start, end;
    size_t sec;           /* section index; SIZE_MAX for the headers */
} range;

static int range_cmp(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static const char *range_name(const elf_file *e, const range *r)
{
    return r->sec == SIZE_MAX ? "the ELF headers" : e->sec[r->sec].name;
}

/* No two sections' contents may share bytes, nor overlap the headers. */
static int check_overlap(elf_file *e, uint64_t shoff)
{
    range *r = e_alloc(e, (e->nsec + 2) * sizeof(*r));
    size_t n = 0;
    if (!r)
        return no_memory(e);
    r[n++] = (range){ 0, EHDR_SIZE, SIZE_MAX };
    r[n++] = (range){ shoff, shoff + e->nsec * SHDR_SIZE, SIZE_MAX };
    for (size_t i = 1; i < e->nsec; i++)
        if (e->sec[i].type != SHT_NOBITS && e->sec[i].size)
            r[n++] = (range){ e->sec[i].off, e->sec[i].off + e->sec[i].size, i };
    qsort(r, n, sizeof(*r), range_cmp);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (r[i].start < r[i - 1].end)
            rc = fail(e, BPFVM_EELF, r[i].start, "section %s overlaps %s",
                      range_name(e, &r[i]), range_name(e, &r[i - 1]));
    e_free(e, r);
    return rc;
}

static int read_sections(elf_file *e)
{
    const uint8_t *p = e->p;
    uint64_t shoff = rd64(p + 40);
    size_t shnum = rd16(p + 60), shstrndx = rd16(p + 62);

    if (shnum == 0)
        return fail(e, BPFVM_EELF, 60, "no section header table");
    if (shoff > e->len || shnum > (e->len - shoff) / SHDR_SIZE)
        return fail(e, BPFVM_EELF, 40, "section header table (%zu entries at 0x%llx) extends "
                    "past the end of the file (%zu bytes)", shnum, (unsigned long long)shoff,
                    e->len);
    if (shstrndx >= shnum)
        return fail(e, BPFVM_EELF, 62, "section name table index %zu out of range (%zu "
                    "sections)", shstrndx, shnum);
    if (!(e->sec = e_alloc(e, shnum * sizeof(*e->sec))))
        return no_memory(e);
    e->nsec = shnum;
    for (size_t i = 0; i < shnum; i++) {
        const uint8_t *h = p + shoff + i * SHDR_SIZE;
        elf_sec *s = &e->sec[i];
        *s = (elf_sec){ NULL, rd32(h + 4), rd32(h + 40), rd32(h + 44), rd64(h + 8),
                        rd64(h + 24), rd64(h + 32), shoff + i * SHDR_SIZE, 0 };
        if (s->type != SHT_NOBITS && (s->off > e->len || s->size > e->len - s->off))
            return fail(e, BPFVM_EELF, s->hdr, "section %zu: contents (%llu bytes at 0x%llx) "
                        "extend past the end of the file (%zu bytes)", i,
                        (unsigned long long)s->size, (unsigned long long)s->off, e->len);
    }
    if (e->sec[shstrndx].type != SHT_STRTAB)
        return fail(e, BPFVM_EELF, e->sec[shstrndx].hdr, "section name table (section %zu) "
                    "is not a string table", shstrndx);
    for (size_t i = 0; i < shnum; i++) {
        uint32_t name = rd32(p + e->sec[i].hdr);
        if (!(e->sec[i].name = str_at(e, shstrndx, name)))
            return fail(e, BPFVM_EELF, e->sec[i].hdr, "section %zu: name offset %u is outside "
                        "the section name table or not NUL-terminated", i, name);
    }
    return check_overlap(e, shoff);
}

static int read_symtab(elf_file *e)
{
    for (size_t i = 1; i < e->nsec; i++) {
        const elf_sec *s = &e->sec[i];
        if (s->type != SHT_SYMTAB)
            continue;
        if (e->symtab)
            return fail(e, BPFVM_EELF, s->hdr, "second symbol table (section %zu)", i);
        if (s->size % SYM_SIZE)
            return fail(e, BPFVM_EELF, s->hdr, "symbol table size %llu is not a multiple of %u",
                        (unsigned long long)s->size, SYM_SIZE);
        if (s->link == 0 || s->link >= e->nsec || e->sec[s->link].type != SHT_STRTAB)
            return fail(e, BPFVM_EELF, s->hdr, "symbol table links to section %u, which is "
                        "not a string table", s->link);
        e->symtab = i;
        e->nsym = (size_t)(s->size / SYM_SIZE);
    }
    return 0;
}

/* Symbol `idx`, checked: its name and section index. */
static int get_sym(elf_file *e, uint64_t idx, uint64_t from, elf_sym *sym)
{
    if (idx == 0 || idx >= e->nsym)
        return fail(e, BPFVM_EELF, from, "symbol index %llu out of range (%zu symbols)",
                    (unsigned long long)idx, e->nsym);
    const elf_sec *st = &e->sec[e->symtab];
    uint64_t at = st->off + idx * SYM_SIZE;
    const uint8_t *q = e->p + at;
    *sym = (elf_sym){ str_at(e, st->link, rd32(q)), rd64(q + 8), rd64(q + 16), rd16(q + 6),
                      (uint8_t)(q[4] & 0xf), (uint8_t)(q[4] >> 4), at };
    if (!sym->name)
        return fail(e, BPFVM_EELF, at, "symbol %llu: name offset %u is outside the string "
                    "table or not NUL-terminated", (unsigned long long)idx, rd32(q));
    if (sym->shndx != SHN_UNDEF && sym->shndx < SHN_LORESERVE && sym->shndx >= e->nsec)
        return fail(e, BPFVM_EELF, at, "symbol %llu (%s): section index %u out of range (%zu "
                    "sections)", (unsigned long long)idx, sym->name, sym->shndx, e->nsec);
    if (sym->type == STT_SECTION && sym->shndx < e->nsec)
        sym->name = e->sec[sym->shndx].name;
    return 0;
}

static int func_cmp(const void *a, const void *b)
{
    const elf_func *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    return x->value < y->value ? -1 : x->value > y->value;
}

/* Collect and check the function symbols of executable sections. */
static int read_funcs(elf_file *e)
{
    size_t cap = 0;
    for (size_t i = 1; i < e->nsec; i++) {
        const elf_sec *s = &e->sec[i];
        if (is_exec(s) && s->size % INSN_SIZE)
            return fail(e, BPFVM_EELF, s->hdr, "code section %s: size %llu is not a multiple "
                        "of 8", s->name, (unsigned long long)s->size);
    }
    for (size_t i = 1; i < e->nsym; i++) {
        elf_sym sym;
        int rc = get_sym(e, i, e->sec[e->symtab].hdr, &sym);
        if (rc)
            return rc;
        if (sym.type != STT_FUNC || sym.shndx == SHN_UNDEF)
            continue;
        const elf_sec *s = sym.shndx < e->nsec ? &e->sec[sym.shndx] : NULL;
        if (!s || !is_exec(s))
            return fail(e, BPFVM_EELF, sym.at, "function %s is not in a code section",
                        sym.name);
        if (sym.value % INSN_SIZE || sym.size % INSN_SIZE || sym.value > s->size ||
            sym.size > s->size - sym.value)
            return fail(e, BPFVM_EELF, sym.at, "function %s: [0x%llx, +%llu) is not whole "
                        "instructions inside section %s (%llu bytes)", sym.name,
                        (unsigned long long)sym.value, (unsigned long long)sym.size, s->name,
                        (unsigned long long)s->size);
        if ((rc = grow(e, (void **)&e->func, &cap, e->nfunc + 1, sizeof(*e->func))))
            return rc;
        e->func[e->nfunc++] = (elf_func){ sym.shndx, sym.value, sym.size, sym.name, sym.bind };
    }
    if (e->nfunc)
        qsort(e->func, e->nfunc, sizeof(*e->func), func_cmp);
    return 0;
}

/* Attach each SHT_REL section to the section it applies to. */
static int read_rels(elf_file *e)
{
    for (size_t i = 1; i < e->nsec; i++) {
        const elf_sec *s = &e->sec[i];
        if (s->type != SHT_REL && s->type != SHT_RELA)
            continue;
        if (s->info == 0 || s->info >= e->nsec)
            return fail(e, BPFVM_EELF, s->hdr, "relocation section %s applies to section %u, "
                        "out of range (%zu sections)", s->name, s->info, e->nsec);
        elf_sec *t = &e->sec[s->info];
        if (!is_exec(t) && !is_data(t) && !is_maps(t))
            continue; /* debug info, BTF: not needed to run */
        if (s->type == SHT_RELA)
            return fail(e, BPFVM_EUNSUPPORTED, s->hdr, "relocation section %s has explicit "
                        "addends (SHT_RELA), which BPF objects do not use", s->name);
        if (!e->symtab || s->link != e->symtab)
            return fail(e, BPFVM_EELF, s->hdr, "relocation section %s does not link to the "
                        "symbol table", s->name);
        if (s->size % REL_SIZE)
            return fail(e, BPFVM_EELF, s->hdr, "relocation section %s: size %llu is not a "
                        "multiple of %u", s->name, (unsigned long long)s->size, REL_SIZE);
        if (t->rel)
            return fail(e, BPFVM_EELF, s->hdr, "second relocation section for %s", t->name);
        t->rel = i;
    }
    return 0;
}

static int parse(elf_file *e)
{
    int rc;
    if ((rc = check_header(e)) || (rc = read_sections(e)) || (rc = read_symtab(e)) ||
        (rc = read_funcs(e)) || (rc = read_rels(e)))
        return rc;
    return 0;
}

static void release(elf_file *e)
{
    e_free(e, e->sec);
    e_free(e, e->func);
}

/* ---- functions and programs --------------------------------------------- */

/* First function of section `sec` at or after byte `value` (nfunc if none). */
static size_t func_at(const elf_file *e, size_t sec, uint64_t value)
{
    size_t lo = 0, hi = e->nfunc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const elf_func *f = &e->func[mid];
        if (f->sec < sec || (f->sec == sec && f->value < value))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool has_funcs(const elf_file *e, size_t sec)
{
    size_t i = func_at(e, sec, 0);
    return i < e->nfunc && e->func[i].sec == sec;
}

/* Instructions of the code starting at byte `start` of section `sec`: the
 * function there (its size, else up to the next function), or the rest of
 * a section that has no function symbols. 0 if `start` begins no function. */
static size_t extent(const elf_file *e, size_t sec, uint64_t start)
{
    const elf_sec *s = &e->sec[sec];
    size_t i = func_at(e, sec, start);
    if (!has_funcs(e, sec))
        return (size_t)((s->size - start) / INSN_SIZE);
    if (i >= e->nfunc || e->func[i].sec != sec || e->func[i].value != start)
        return 0;
    for (size_t j = i; j < e->nfunc && e->func[j].sec == sec && e->func[j].value == start; j++)
        if (e->func[j].size)
            return (size_t)(e->func[j].size / INSN_SIZE);
    for (size_t j = i; j < e->nfunc && e->func[j].sec == sec; j++)
        if (e->func[j].value > start)
            return (size_t)((e->func[j].value - start) / INSN_SIZE);
    return (size_t)((s->size - start) / INSN_SIZE);
}

static bool is_program_section(const elf_file *e, size_t i)
{
    return is_exec(&e->sec[i]) && e->sec[i].size && strcmp(e->sec[i].name, ".text") != 0;
}

/* Append "name" to a comma-separated list in buf (truncating quietly). */
static void list_add(char *buf, size_t size, const char *name)
{
    size_t n = strlen(buf);
    if (n + 1 < size)
        snprintf(buf + n, size - n, "%s%s", n ? ", " : "", name);
}

/* The entry function of code section `sec`: its only function, else its
 * only global function, else the start of a section without functions. */
static int section_entry(elf_file *e, size_t sec, uint64_t *start)
{
    size_t first = func_at(e, sec, 0), nfunc = 0, nglobal = 0, global = 0;
    char names[160] = "";
    for (size_t j = first; j < e->nfunc && e->func[j].sec == sec; j++) {
        nfunc++;
        list_add(names, sizeof(names), e->func[j].name);
        if (e->func[j].bind != STB_LOCAL) {
            nglobal++;
            global = j;
        }
    }
    if (nfunc == 0)
        *start = 0;
    else if (strcmp(e->sec[sec].name, ".text") == 0 || nfunc == 1)
        *start = e->func[first].value;
    else if (nglobal == 1)
        *start = e->func[global].value;
    else
        return fail(e, BPFVM_EINVAL, e->sec[sec].hdr, "section %s holds several functions "
                    "(%s): choose one by its entry name", e->sec[sec].name, names);
    return 0;
}

static int choose(elf_file *e, const char *section, const char *entry, size_t *sec,
                  uint64_t *start)
{
    if (entry) {
        for (size_t j = 0; j < e->nfunc; j++) {
            const elf_func *f = &e->func[j];
            if (strcmp(f->name, entry) == 0 &&
                (!section || strcmp(e->sec[f->sec].name, section) == 0)) {
                *sec = f->sec;
                *start = f->value;
                return 0;
            }
        }
        return bpfvm__set_error(e->err, BPFVM_ENOTFOUND, -1, "no function named %s%s%s",
                                entry, section ? " in section " : "", section ? section : "");
    }
    size_t found = 0, count = 0;
    char names[200] = "";
    for (size_t i = 1; i < e->nsec; i++) {
        if (section ? is_exec(&e->sec[i]) && e->sec[i].size &&
                          strcmp(e->sec[i].name, section) == 0
                    : is_program_section(e, i)) {
            found = i;
            count++;
            list_add(names, sizeof(names), e->sec[i].name);
        }
    }
    if (count == 0 && section)
        return bpfvm__set_error(e->err, BPFVM_ENOTFOUND, -1, "no code section named %s",
                                section);
    if (count > 1)
        return bpfvm__set_error(e->err, BPFVM_EINVAL, -1, "%zu program sections (%s): choose "
                                "one by section or entry name", count, names);
    if (count == 0) {
        for (size_t i = 1; i < e->nsec && !found; i++)
            if (is_exec(&e->sec[i]) && e->sec[i].size && strcmp(e->sec[i].name, ".text") == 0)
                found = i;
        if (!found)
            return bpfvm__set_error(e->err, BPFVM_ENOTFOUND, -1, "the object holds no code");
    }
    *sec = found;
    return section_entry(e, found, start);
}

/* ---- linking ----------------------------------------------------------- */

typedef struct piece {
    size_t sec;
    uint64_t start;       /* byte offset in the section */
    size_t count;         /* instructions */
    size_t out;           /* first slot in the linked program */
} piece;

typedef struct data_sec {
    uint8_t *buf;         /* the VM's copy, NULL until used */
    uint64_t size;
} data_sec;

typedef struct fixup {
    size_t insn;          /* slot of the call in the linked program */
    size_t target, delta; /* piece it calls, and slot in that piece */
} fixup;

typedef struct linker {
    elf_file *e;
    bpfvm_insn *out;
    size_t nout, out_cap;
    piece *pieces;
    size_t npieces, pieces_cap;
    uint32_t **piece_at;  /* per code section, per slot: piece index + 1, or 0 */
    uint32_t **rel_at;    /* per code section, per slot: relocation index + 1, or 0 */
    fixup *fixups;
    size_t nfixups, fixups_cap;
    data_sec *data;       /* per section */
    size_t *data_order;   /* sections in the order they were loaded */
    size_t ndata;
    uint64_t data_bytes;
} linker;

/* The piece of code holding byte `start` of section `sec`, and the slot of
 * `start` in it: the piece starting there, added and laid out behind the
 * others on first use; in a section without function symbols, a piece
 * already laid out that covers `start`. `from` is the file offset of the
 * instruction asking, for messages. */
static int piece_for(linker *l, size_t sec, uint64_t start, uint64_t from, size_t *index,
                     size_t *delta)
{
    elf_file *e = l->e;
    const elf_sec *s = &e->sec[sec];
    size_t slot = (size_t)(start / INSN_SIZE), slots = (size_t)(s->size / INSN_SIZE);
    int rc;
    if (!l->piece_at[sec] && !(l->piece_at[sec] = e_zalloc(e, slots, sizeof(uint32_t))))
        return no_memory(e);
    *delta = 0;
    if (l->piece_at[sec][slot]) {
        *index = l->piece_at[sec][slot] - 1;
        return 0;
    }
    for (size_t k = 0; k < l->npieces && !has_funcs(e, sec); k++) {
        const piece *p = &l->pieces[k];
        if (p->sec == sec && p->start <= start && (start - p->start) / INSN_SIZE < p->count) {
            *index = k;
            *delta = (size_t)((start - p->start) / INSN_SIZE);
            return 0;
        }
    }
    size_t count = extent(e, sec, start);
    if (count == 0)
        return fail(e, BPFVM_EELF, from, "call target: offset 0x%llx of section %s is not the "
                    "start of a function", (unsigned long long)start, s->name);
    if (count > BPFVM_MAX_INSNS - l->nout)
        return bpfvm__set_error(e->err, BPFVM_EVERIFY, -1, "linked program exceeds %u "
                                "instructions", BPFVM_MAX_INSNS);
    if ((rc = grow(e, (void **)&l->pieces, &l->pieces_cap, l->npieces + 1, sizeof(*l->pieces))))
        return rc;
    if ((rc = grow(e, (void **)&l->out, &l->out_cap, l->nout + count, sizeof(*l->out))))
        return rc;
    l->pieces[l->npieces] = (piece){ sec, start, count, l->nout };
    l->nout += count;
    *index = l->npieces++;
    l->piece_at[sec][slot] = (uint32_t)*index + 1;
    return 0;
}

/* Record that the call at output slot `insn` goes to byte `start` of
 * section `sec` (linking that code in). */
static int call_to(linker *l, size_t insn, size_t sec, uint64_t start, uint64_t from)
{
    size_t target, delta;
    int rc = piece_for(l, sec, start, from, &target, &delta);
    if (rc || (rc = grow(l->e, (void **)&l->fixups, &l->fixups_cap, l->nfixups + 1,
                         sizeof(*l->fixups))))
        return rc;
    l->fixups[l->nfixups++] = (fixup){ insn, target, delta };
    return 0;
}

/* The VM's copy of data section `sec`, made on first use. */
static int data_for(linker *l, size_t sec, uint64_t from, uint8_t **buf)
{
    elf_file *e = l->e;
    const elf_sec *s = &e->sec[sec];
    data_sec *d = &l->data[sec];
    if (!d->buf) {
        if (s->size > MAX_DATA_BYTES - l->data_bytes)
            return fail(e, BPFVM_EELF, from, "data section %s (%llu bytes) takes the object's "
                        "global data past the limit of %u bytes", s->name,
                        (unsigned long long)s->size, MAX_DATA_BYTES);
        if (!(d->buf = e_alloc(e, (size_t)s->size)))
            return no_memory(e);
        if (s->type == SHT_NOBITS)
            memset(d->buf, 0, (size_t)s->size);
        else
            memcpy(d->buf, e->p + s->off, (size_t)s->size);
        d->size = s->size;
        l->data_bytes += s->size;
        l->data_order[l->ndata++] = sec;
    }
    *buf = d->buf;
    return 0;
}

/* The host address a relocation against `sym` resolves to (symbol value +
 * addend added by the caller), for an lddw or a data word at `from`. */
static int data_address(linker *l, const elf_sym *sym, uint64_t from, const char *what,
                        uint64_t *addr)
{
    elf_file *e = l->e;
    if (sym->shndx == SHN_UNDEF)
        return fail(e, BPFVM_EUNSUPPORTED, from, "%s refers to the undefined symbol %s: "
                    "extern variables are not supported", what, sym->name);
    if (sym->shndx >= e->nsec)
        return fail(e, BPFVM_EUNSUPPORTED, from, "%s refers to %s, a symbol without a "
                    "section (index 0x%x)", what, sym->name, sym->shndx);
    const elf_sec *s = &e->sec[sym->shndx];
    if (is_maps(s) && !e->obj)
        return fail(e, BPFVM_EUNSUPPORTED, from, "%s uses map %s (section %s): maps are not "
                    "supported", what, sym->name, s->name);
    if (is_maps(s))
        return fail(e, BPFVM_EELF, from, "%s uses map %s (section %s) as data", what,
                    sym->name, s->name);
    if (is_exec(s))
        return fail(e, BPFVM_EUNSUPPORTED, from, "%s takes the address of function %s: "
                    "function pointers are not supported", what, sym->name);
    if (!is_data(s))
        return fail(e, BPFVM_EELF, from, "%s refers to %s in section %s, which is not "
                    "loaded at run time", what, sym->name, s->name);
    if (sym->value > s->size)
        return fail(e, BPFVM_EELF, sym->at, "symbol %s: value 0x%llx is past the end of "
                    "section %s (%llu bytes)", sym->name, (unsigned long long)sym->value,
                    s->name, (unsigned long long)s->size);
    uint8_t *buf = NULL;
    const obj_map *om = e->obj ? obj_find(e->obj, sym->shndx, 0, true) : NULL;
    int rc = om ? 0 : data_for(l, sym->shndx, from, &buf);
    if (rc)
        return rc;
    *addr = (uint64_t)(uintptr_t)(om ? om->map->values : buf) + sym->value;
    return 0;
}

/* Relocation entry `j` of section `sec`, its offset checked to be inside
 * the section. */
typedef struct rel {
    uint64_t off, at;     /* offset in the section; file offset of the entry */
    uint32_t type;
    uint64_t sym;
} rel;

static int get_rel(elf_file *e, size_t sec, size_t j, rel *r)
{
    const elf_sec *s = &e->sec[sec], *rs = &e->sec[s->rel];
    r->at = rs->off + (uint64_t)j * REL_SIZE;
    r->off = rd64(e->p + r->at);
    uint64_t info = rd64(e->p + r->at + 8);
    r->type = (uint32_t)info;
    r->sym = info >> 32;
    if (r->off >= s->size)
        return fail(e, BPFVM_EELF, r->at, "relocation %zu of section %s: offset 0x%llx is "
                    "outside the section (%llu bytes)", j, s->name,
                    (unsigned long long)r->off, (unsigned long long)s->size);
    return 0;
}

static size_t rel_count(const elf_file *e, size_t sec)
{
    return e->sec[sec].rel ? (size_t)(e->sec[e->sec[sec].rel].size / REL_SIZE) : 0;
}

/* Index the relocations of code section `sec` by slot (once). */
static int index_rels(linker *l, size_t sec)
{
    elf_file *e = l->e;
    const elf_sec *s = &e->sec[sec];
    size_t slots = (size_t)(s->size / INSN_SIZE);
    int rc;
    if (l->rel_at[sec])
        return 0;
    if (!(l->rel_at[sec] = e_zalloc(e, slots, sizeof(uint32_t))))
        return no_memory(e);
    for (size_t j = 0, n = rel_count(e, sec); j < n; j++) {
        rel r;
        if ((rc = get_rel(e, sec, j, &r)))
            return rc;
        if (r.off % INSN_SIZE)
            return fail(e, BPFVM_EELF, r.at, "relocation %zu of section %s: offset 0x%llx is "
                        "not on an instruction boundary", j, s->name,
                        (unsigned long long)r.off);
        if (r.type == R_BPF_NONE)
            continue;
        if (j >= UINT32_MAX || l->rel_at[sec][r.off / INSN_SIZE])
            return fail(e, BPFVM_EELF, r.at, "two relocations for the instruction at 0x%llx "
                        "of section %s", (unsigned long long)r.off, s->name);
        l->rel_at[sec][r.off / INSN_SIZE] = (uint32_t)j + 1;
    }
    return 0;
}

/* `lddw rX, func` at output slot `o` (libbpf's BPF_PSEUDO_FUNC): the
 * function at byte sym + addend of its code section, linked in; the
 * instruction becomes src 4 with imm the slot offset to it (set with the
 * calls' offsets). The verifier checks it is a function start. */
static int func_address(linker *l, size_t o, const elf_sym *sym, uint64_t addend, uint64_t at,
                        const char *what)
{
    elf_file *e = l->e;
    const elf_sec *ts = &e->sec[sym->shndx];
    if (sym->value > ts->size || addend >= ts->size - sym->value ||
        (sym->value + addend) % INSN_SIZE)
        return fail(e, BPFVM_EELF, at, "%s takes the address of %s+%llu, which is not an "
                    "instruction of section %s", what, sym->name[0] ? sym->name : "(unnamed)",
                    (unsigned long long)addend, ts->name);
    int rc = call_to(l, o, sym->shndx, sym->value + addend, at);
    if (rc)
        return rc;
    l->out[o].src = BPFVM_PSEUDO_FUNC;
    l->out[o + 1].imm = 0;
    return 0;
}

/* Apply one relocation to slot `i` of piece `pc` (its copy at out[pc.out + i]). */
static int relocate_insn(linker *l, const piece *pc, size_t i, const rel *r)
{
    elf_file *e = l->e;
    const char *sname = e->sec[pc->sec].name;
    size_t o = pc->out + i;
    bpfvm_insn *insn = &l->out[o];
    uint64_t at = e->sec[pc->sec].off + r->off;
    elf_sym sym;
    int rc;

    if (r->type != R_BPF_64_64 && r->type != R_BPF_64_32)
        return fail(e, BPFVM_EELF, r->at, "relocation type %u cannot apply to the instruction "
                    "at 0x%llx of section %s", r->type, (unsigned long long)r->off, sname);
    if ((rc = get_sym(e, r->sym, r->at, &sym)))
        return rc;
    if (insn->opcode == OP_LDDW && r->type == R_BPF_64_64) {
        if (i + 1 >= pc->count)
            return fail(e, BPFVM_EELF, at, "lddw at 0x%llx of section %s lacks its second "
                        "slot", (unsigned long long)r->off, sname);
        char what[64];
        snprintf(what, sizeof(what), "lddw at 0x%llx of section %s",
                 (unsigned long long)r->off, sname);
        uint64_t addr, addend = bpfvm__lddw_value(insn);
        if (e->obj && sym.shndx < e->nsec && is_maps(&e->sec[sym.shndx])) {
            const obj_map *om = obj_find(e->obj, sym.shndx, sym.value + addend, false);
            if (!om)
                return fail(e, BPFVM_EELF, at, "%s refers to %s+%llu in section %s, where no "
                            "map is defined", what, sym.name, (unsigned long long)addend,
                            e->sec[sym.shndx].name);
            addr = (uint64_t)(uintptr_t)om->map;
            insn[0].imm = (int32_t)(uint32_t)addr;
            insn[1].imm = (int32_t)(uint32_t)(addr >> 32);
            return 0;
        }
        if (sym.shndx < e->nsec && is_exec(&e->sec[sym.shndx]))
            return func_address(l, o, &sym, addend, at, what);
        if ((rc = data_address(l, &sym, at, what, &addr)))
            return rc;
        addr += addend;
        insn[0].imm = (int32_t)(uint32_t)addr;
        insn[1].imm = (int32_t)(uint32_t)(addr >> 32);
        return 0;
    }
    if (insn->opcode == OP_CALL && r->type == R_BPF_64_32) {
        if (sym.shndx == SHN_UNDEF) {
            const bpfvm__helper *h = bpfvm__find_helper_by_name(e->vm, sym.name);
            if (!h) {
                fail(e, BPFVM_EHELPER, at, "call at 0x%llx of section %s: %s is not a "
                     "registered helper (register helpers before loading)",
                     (unsigned long long)r->off, sname, sym.name[0] ? sym.name : "(unnamed)");
                e->err->insn = (int64_t)o;
                return BPFVM_EHELPER;
            }
            insn->src = 0;
            insn->imm = (int32_t)h->id;
            return 0;
        }
        if (sym.shndx >= e->nsec || !is_exec(&e->sec[sym.shndx]))
            return fail(e, BPFVM_EELF, r->at, "call at 0x%llx of section %s refers to %s, "
                        "which is not a function", (unsigned long long)r->off, sname,
                        sym.name);
        /* target slot = value / 8 + imm + 1; value is checked to be in the section */
        const elf_sec *ts = &e->sec[sym.shndx];
        int64_t slot = (int64_t)insn->imm + 1;
        if (sym.value % INSN_SIZE || sym.value > ts->size)
            return fail(e, BPFVM_EELF, sym.at, "symbol %s: value 0x%llx is not an "
                        "instruction of section %s", sym.name, (unsigned long long)sym.value,
                        ts->name);
        slot += (int64_t)(sym.value / INSN_SIZE);
        if (slot < 0 || (uint64_t)slot >= ts->size / INSN_SIZE)
            return fail(e, BPFVM_EELF, at, "call at 0x%llx of section %s targets slot %lld, "
                        "outside section %s", (unsigned long long)r->off, sname,
                        (long long)slot, ts->name);
        if ((rc = call_to(l, o, sym.shndx, (uint64_t)slot * INSN_SIZE, at)))
            return rc;
        l->out[o].src = BPFVM_PSEUDO_CALL;
        return 0;
    }
    return fail(e, BPFVM_EELF, r->at, "relocation type %u on the instruction at 0x%llx of "
                "section %s (opcode 0x%02x), which is not %s", r->type,
                (unsigned long long)r->off, sname, insn->opcode,
                r->type == R_BPF_64_64 ? "an lddw" : "a call");
}

/* Copy piece `k` into the output, apply its relocations, and find its local
 * calls (adding the callees as new pieces). */
static int link_piece(linker *l, size_t k)
{
    elf_file *e = l->e;
    const piece pc = l->pieces[k];
    const elf_sec *s = &e->sec[pc.sec];
    const uint8_t *code = e->p + s->off + pc.start;
    int rc;

    /* bpfvm_insn is the wire format (as bpfvm_load takes it). */
    memcpy(&l->out[pc.out], code, pc.count * INSN_SIZE);
    if ((rc = index_rels(l, pc.sec)))
        return rc;
    const uint32_t *rel_at = l->rel_at[pc.sec] + pc.start / INSN_SIZE;
    for (size_t i = 0; i < pc.count; i++) {
        rel r;
        if (rel_at[i] && ((rc = get_rel(e, pc.sec, rel_at[i] - 1, &r)) ||
                          (rc = relocate_insn(l, &pc, i, &r))))
            return rc;
    }
    for (size_t i = 0; i < pc.count; i++) {
        size_t o = pc.out + i;
        const bpfvm_insn *insn = &l->out[o];
        uint64_t at = s->off + pc.start + i * INSN_SIZE;
        uint8_t cls = BPFVM_CLASS(insn->opcode), op = BPFVM_OP(insn->opcode);
        if (insn->opcode == OP_LDDW) {
            i++;
            continue;
        }
        if (cls != BPFVM_JMP && cls != BPFVM_JMP32)
            continue;
        if (insn->opcode == OP_CALL && insn->src == BPFVM_PSEUDO_CALL && !rel_at[i]) {
            /* A call the compiler resolved inside this section. */
            int64_t slot = (int64_t)(pc.start / INSN_SIZE) + (int64_t)i + 1 + insn->imm;
            if (slot < 0 || (uint64_t)slot >= s->size / INSN_SIZE)
                return fail(e, BPFVM_EELF, at, "call at 0x%llx of section %s targets slot "
                            "%lld, outside the section", (unsigned long long)(at - s->off),
                            s->name, (long long)slot);
            if ((rc = call_to(l, o, pc.sec, (uint64_t)slot * INSN_SIZE, at)))
                return rc;
        } else if (op != BPFVM_CALL && op != BPFVM_EXIT_OP) {
            int64_t t = (int64_t)i + 1 +
                        (cls == BPFVM_JMP32 && op == BPFVM_JA ? insn->imm : insn->off);
            if (t < 0 || (uint64_t)t >= pc.count)
                return fail(e, BPFVM_EELF, at, "jump at 0x%llx of section %s leaves its "
                            "function", (unsigned long long)(at - s->off), s->name);
        }
    }
    return 0;
}

/* Relocation `j` of data section `sec`, checked to be an R_BPF_64_ABS64
 * with its 8 bytes inside the section, and its symbol: 0, 1 for an
 * R_BPF_NONE to skip, or an error. */
static int data_rel(elf_file *e, size_t sec, size_t j, rel *r, elf_sym *sym)
{
    const elf_sec *s = &e->sec[sec];
    int rc;
    if ((rc = get_rel(e, sec, j, r)))
        return rc;
    if (r->type == R_BPF_NONE)
        return 1;
    if (r->type != R_BPF_64_ABS64)
        return fail(e, BPFVM_EUNSUPPORTED, r->at, "relocation type %u in data section %s is "
                    "not supported", r->type, s->name);
    if (s->size - r->off < 8)
        return fail(e, BPFVM_EELF, r->at, "relocation %zu of section %s: 8 bytes at 0x%llx "
                    "pass the end of the section", j, s->name, (unsigned long long)r->off);
    return get_sym(e, r->sym, r->at, sym);
}

/* Apply the R_BPF_64_ABS64 relocations of loaded data section `sec`
 * (pointers stored in global data). */
static int relocate_data(linker *l, size_t sec)
{
    elf_file *e = l->e;
    const elf_sec *s = &e->sec[sec];
    int rc;
    for (size_t j = 0, n = rel_count(e, sec); j < n; j++) {
        rel r;
        elf_sym sym;
        uint64_t addr;
        if ((rc = data_rel(e, sec, j, &r, &sym)) < 0)
            return rc;
        if (rc)
            continue;
        char what[64];
        snprintf(what, sizeof(what), "data at 0x%llx of section %s", (unsigned long long)r.off,
                 s->name);
        if ((rc = data_address(l, &sym, s->off + r.off, what, &addr)))
            return rc;
        uint8_t *word = l->data[sec].buf + r.off;
        addr += rd64(word);
        memcpy(word, &addr, 8);
    }
    return 0;
}

static void linker_free(linker *l)
{
    elf_file *e = l->e;
    e_free(e, l->out);
    e_free(e, l->pieces);
    e_free(e, l->fixups);
    for (size_t i = 0; i < e->nsec; i++) {
        if (l->piece_at)
            e_free(e, l->piece_at[i]);
        if (l->rel_at)
            e_free(e, l->rel_at[i]);
    }
    e_free(e, l->piece_at);
    e_free(e, l->rel_at);
    if (l->data)
        for (size_t i = 0; i < l->ndata; i++)
            e_free(e, l->data[l->data_order[i]].buf);
    e_free(e, l->data);
    e_free(e, l->data_order);
}

/* Hand the data sections to the VM (after the program is installed). */
static int give_data(linker *l)
{
    bpfvm_vm *vm = l->e->vm;
    int rc = 0;
    size_t i = 0;
    for (; i < l->ndata && !rc; i++) {
        size_t sec = l->data_order[i];
        data_sec *d = &l->data[sec];
        uint8_t *buf = d->buf;
        d->buf = NULL;
        rc = bpfvm__own(vm, buf); /* frees buf on failure */
        if (!rc && d->size)
            rc = bpfvm__add_region(vm, (uint64_t)(uintptr_t)buf, d->size,
                                   (l->e->sec[sec].flags & SHF_WRITE) ? BPFVM_READ | BPFVM_WRITE
                                                                      : BPFVM_READ);
    }
    if (rc)
        bpfvm__unload(vm); /* frees what it owns; linker_free frees the rest */
    return rc;
}

/* The relocations of .debug_line (section `line`) that point into code
 * sections, sorted by offset: what lineinfo.c needs of DW_LNE_set_address.
 * Malformed ones end the list (line info is never worth failing a load). */
static size_t line_rels(elf_file *e, size_t line, bpfvm__line_rel *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 1; i < e->nsec; i++) {
        const elf_sec *rs = &e->sec[i];
        if (rs->type != SHT_REL || rs->info != line || !e->symtab || rs->link != e->symtab)
            continue;
        for (size_t j = 0; j < rs->size / REL_SIZE && n < max; j++) {
            const uint8_t *q = e->p + rs->off + j * REL_SIZE;
            uint64_t off = rd64(q), info = rd64(q + 8);
            elf_sym sym;
            if ((uint32_t)info != R_BPF_64_ABS64)
                continue;
            if (off > e->sec[line].size || get_sym(e, info >> 32, rs->off, &sym)) {
                bpfvm__clear_error(e->err);
                break;
            }
            if (sym.shndx < e->nsec && is_exec(&e->sec[sym.shndx]) &&
                (!n || out[n - 1].off < off))
                out[n++] = (bpfvm__line_rel){ off, sym.value, e->sec[sym.shndx].name };
        }
    }
    return n;
}

/* The linked program's source lines and function names (lineinfo.c): from
 * .BTF and .BTF.ext, or DWARF .debug_line, whose records name section
 * offsets, and where each piece of a section went. */
static int build_lines(linker *l, bpfvm__lines **out)
{
    static const char *const names[] = { ".BTF", ".BTF.ext", ".debug_line", ".debug_line_str",
                                         ".debug_str" };
    elf_file *e = l->e;
    const uint8_t *at[5] = { NULL };
    size_t len[5] = { 0 }, line = 0;
    for (size_t i = 1; i < e->nsec; i++)
        for (size_t k = 0; k < 5; k++)
            if (e->sec[i].type == SHT_PROGBITS && strcmp(e->sec[i].name, names[k]) == 0) {
                at[k] = e->p + e->sec[i].off;
                len[k] = (size_t)e->sec[i].size;
                line = k == 2 ? i : line;
            }
    bpfvm__code_map *map = e_zalloc(e, l->npieces + 1, sizeof(*map));
    size_t maxrels = 1024;
    bpfvm__line_rel *rels = e_zalloc(e, maxrels, sizeof(*rels));
    int rc = BPFVM_ENOMEM;
    if (map && rels) {
        for (size_t k = 0; k < l->npieces; k++) {
            const piece *p = &l->pieces[k];
            size_t f = func_at(e, p->sec, p->start);
            bool named = f < e->nfunc && e->func[f].sec == p->sec && e->func[f].value == p->start;
            map[k] = (bpfvm__code_map){ e->sec[p->sec].name, p->start, p->count, p->out,
                                        named ? e->func[f].name : e->sec[p->sec].name };
        }
        bpfvm__debug_sections d = { at[0], at[1], at[2], at[3], at[4],
                                    len[0], len[1], len[2], len[3], len[4],
                                    rels, line ? line_rels(e, line, rels, maxrels) : 0 };
        rc = bpfvm__lines_build(e->vm, &d, map, l->npieces, l->nout, out);
    }
    e_free(e, map);
    e_free(e, rels);
    return rc ? bpfvm__set_error(e->err, rc, -1, "line info: %s", bpfvm_strerror(rc)) : 0;
}

static int attach_object_maps(bpfvm_vm *vm, const bpfvm_object *obj);

static int load(elf_file *e, const char *section, const char *entry)
{
    bpfvm__lines *lines = NULL;
    linker l;
    memset(&l, 0, sizeof(l));
    l.e = e;
    size_t sec = 0, first, delta;
    uint64_t start = 0;
    int rc;

    if ((rc = parse(e)) || (rc = choose(e, section, entry, &sec, &start)))
        goto fail;
    l.piece_at = e_zalloc(e, e->nsec, sizeof(*l.piece_at));
    l.rel_at = e_zalloc(e, e->nsec, sizeof(*l.rel_at));
    l.data = e_zalloc(e, e->nsec, sizeof(*l.data));
    l.data_order = e_zalloc(e, e->nsec, sizeof(*l.data_order));
    if (!l.piece_at || !l.rel_at || !l.data || !l.data_order) {
        rc = no_memory(e);
        goto fail;
    }
    if ((rc = piece_for(&l, sec, start, e->sec[sec].off + start, &first, &delta)))
        goto fail;
    for (size_t k = 0; k < l.npieces; k++)
        if ((rc = link_piece(&l, k)))
            goto fail;
    for (size_t k = 0; k < l.nfixups; k++) {
        const fixup *f = &l.fixups[k];
        size_t to = l.pieces[f->target].out + f->delta;
        l.out[f->insn].imm = (int32_t)((int64_t)to - (int64_t)f->insn - 1);
    }
    for (size_t k = 0; k < l.ndata; k++) /* ndata grows as pointers pull in sections */
        if ((rc = relocate_data(&l, l.data_order[k])))
            goto fail;
    if ((rc = build_lines(&l, &lines)))
        goto fail;
    bpfvm__progtype_for_section(e->vm, e->sec[sec].name);
    rc = bpfvm__install(e->vm, l.out, l.nout);
    if (rc == 0) {
        e->vm->lines = lines;
        lines = NULL;
        rc = give_data(&l);
        if (rc == 0 && e->obj)
            rc = attach_object_maps(e->vm, e->obj);
    } else {
        bpfvm__lines_name(lines, e->err->insn, e->err->source, sizeof(e->err->source));
    }
fail:
    bpfvm__lines_free(e->vm, lines);
    linker_free(&l);
    release(e);
    return rc;
}

/* Does the object define maps? Read from the section headers directly,
 * allocating nothing; a malformed file answers no and load reports it. */
static bool has_maps(const elf_file *e)
{
    const uint8_t *p = e->p;
    if (e->len < EHDR_SIZE || memcmp(p, "\177ELF", 4) != 0)
        return false;
    uint64_t shoff = rd64(p + 40);
    size_t shnum = rd16(p + 60), shstrndx = rd16(p + 62);
    if (shoff > e->len || shnum > (e->len - shoff) / SHDR_SIZE || shstrndx >= shnum)
        return false;
    const uint8_t *strs = p + shoff + shstrndx * SHDR_SIZE;
    uint64_t soff = rd64(strs + 24), ssize = rd64(strs + 32);
    if (soff > e->len || ssize > e->len - soff)
        return false;
    for (size_t i = 1; i < shnum; i++) {
        uint32_t name = rd32(p + shoff + i * SHDR_SIZE);
        if (name >= ssize)
            continue;
        const char *n = (const char *)p + soff + name;
        size_t max = (size_t)(ssize - name);
        if ((strnlen(n, max) == 4 && memcmp(n, "maps", 4) == 0) ||
            (strnlen(n, max) == 5 && memcmp(n, ".maps", 5) == 0) ||
            (max > 5 && memcmp(n, "maps/", 5) == 0))
            return true;
    }
    return false;
}

/* ---- public entry points ------------------------------------------------ */

int bpfvm_load_elf(bpfvm_vm *vm, const void *data, size_t len, const char *section,
                   const char *entry)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (!data && len)
        return bpfvm__set_error(&vm->last_error, BPFVM_EINVAL, -1, "no ELF data");
    elf_file e = { data, len, vm, &vm->last_error, NULL, 0, 0, 0, NULL, 0, NULL };
    if (has_maps(&e)) { /* its maps and global data, private to this VM */
        bpfvm_object *obj;
        int rc = bpfvm_object_open(data, len, &obj, &vm->last_error);
        if (rc == 0)
            rc = bpfvm_object_load(obj, vm, section, entry);
        if (rc == 0)
            vm->elf_obj = obj; /* it owns the programs of `.values`: kept until unloaded */
        else
            bpfvm_object_close(obj);
        return rc;
    }
    return load(&e, section, entry);
}

/* Is function j of code section `sec` a program of its own? Its global
 * functions are, and the only function of a section other than .text;
 * static functions beside others are subprograms, loaded with their callers. */
static bool is_program_func(const elf_file *e, size_t sec, size_t j)
{
    if (e->func[j].bind != STB_LOCAL)
        return true;
    size_t first = func_at(e, sec, 0);
    return strcmp(e->sec[sec].name, ".text") != 0 &&
           !(first + 1 < e->nfunc && e->func[first + 1].sec == sec);
}

static int list_funcs(const void *data, size_t len, bpfvm_elf_prog_fn fn, void *user,
                      bpfvm_error *err, bool programs_only)
{
    bpfvm_error local;
    elf_file e = { data, len, NULL, err ? err : &local, NULL, 0, 0, 0, NULL, 0, NULL };
    if (!data && len)
        return bpfvm__set_error(e.err, BPFVM_EINVAL, -1, "no ELF data");
    int rc = parse(&e);
    if (rc == 0) {
        for (size_t i = 1; i < e.nsec; i++) {
            if (!is_exec(&e.sec[i]) || !e.sec[i].size)
                continue;
            if (!has_funcs(&e, i) && fn)
                fn(user, e.sec[i].name, "", (size_t)(e.sec[i].size / INSN_SIZE));
            for (size_t j = func_at(&e, i, 0); j < e.nfunc && e.func[j].sec == i; j++)
                if (fn && (!programs_only || is_program_func(&e, i, j)))
                    fn(user, e.sec[i].name, e.func[j].name, extent(&e, i, e.func[j].value));
        }
        bpfvm__clear_error(e.err);
    }
    release(&e);
    return rc;
}

int bpfvm_elf_list(const void *data, size_t len, bpfvm_elf_prog_fn fn, void *user,
                   bpfvm_error *err)
{
    return list_funcs(data, len, fn, user, err, false);
}

int bpfvm_elf_programs(const void *data, size_t len, bpfvm_elf_prog_fn fn, void *user,
                       bpfvm_error *err)
{
    return list_funcs(data, len, fn, user, err, true);
}

/* ---- objects: maps from the ELF file ------------------------------------ */

static int attach_object_maps(bpfvm_vm *vm, const bpfvm_object *obj)
{
    int rc = 0;
    bpfvm_map **list = bpfvm__alloc(vm, (obj->nmaps ? obj->nmaps : 1) * sizeof(*list));
    if (!list)
        rc = bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    for (size_t i = 0; !rc && i < obj->nmaps; i++)
        list[i] = obj->maps[i].map;
    if (!rc && (rc = bpfvm__attach_maps(vm, list, obj->nmaps)) != 0)
        bpfvm__unload(vm);
    bpfvm__free(vm, list);
    return rc;
}

static int add_map(elf_file *e, const bpfvm_map_def *def, const char *name, size_t sec,
                   uint64_t off, bool global, uint64_t at, uint64_t size, uint64_t values_off,
                   const bpfvm_map *inner)
{
    bpfvm_object *obj = e->obj;
    bpfvm_map *m;
    bpfvm_map_def d = *def;
    int rc = grow(e, (void **)&obj->maps, &obj->maps_cap, obj->nmaps + 1, sizeof(*obj->maps));
    if (rc)
        return rc;
    if (d.type == BPFVM_MAP_PERF_EVENT_ARRAY || d.type == BPFVM_MAP_PROG_ARRAY) {
        /* as libbpf: fd sizes implied; perf event arrays one slot per CPU */
        d.key_size = d.key_size ? d.key_size : 4;
        d.value_size = d.value_size ? d.value_size : 4;
        if (d.type == BPFVM_MAP_PERF_EVENT_ARRAY && !d.max_entries)
            d.max_entries = bpfvm_num_possible_cpus();
    }
    def = &d;
    if ((rc = bpfvm_map_create_outer(def, inner, name, &m, e->err)) != 0) {
        char msg[sizeof(e->err->message)];
        memcpy(msg, e->err->message, sizeof(msg));
        if (rc == BPFVM_EINVAL) /* a definition the object gives */
            return fail(e, strcmp(bpfvm_map_type_name(def->type), "unknown") == 0
                               ? BPFVM_EUNSUPPORTED : BPFVM_EELF, at, "%s", msg);
        return rc;
    }
    obj->maps[obj->nmaps++] = (obj_map){ m, sec, off, global, size, values_off };
    if ((obj->map_bytes += bpfvm__map_bytes(m)) > MAX_OBJECT_MAP_BYTES)
        return fail(e, BPFVM_EELF, at, "map %s takes the object's maps past the limit of %llu "
                    "bytes of memory", name, MAX_OBJECT_MAP_BYTES);
    return 0;
}

/* Legacy definitions: struct bpf_map_def { u32 type, key_size, value_size,
 * max_entries, map_flags; ... } per symbol, all of section size / symbols
 * bytes (as libbpf: later fields, if any, must be zero). */
static int legacy_maps(elf_file *e, size_t sec)
{
    const elf_sec *s = &e->sec[sec];
    size_t nsyms = 0;
    int rc;
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = 1; i < e->nsym; i++) {
            elf_sym sym;
            if ((rc = get_sym(e, i, e->sec[e->symtab].hdr, &sym)))
                return rc;
            if (sym.shndx != sec || sym.type == STT_SECTION)
                continue;
            if (pass == 0) {
                nsyms++;
                continue;
            }
            uint64_t sz = s->size / nsyms;
            if (sz < 16)
                return fail(e, BPFVM_EELF, s->hdr, "section %s: %zu map definitions in %llu "
                            "bytes: less than the 16 of type, key, value and max_entries",
                            s->name, nsyms, (unsigned long long)s->size);
            if (s->type == SHT_NOBITS || sym.value > s->size || s->size - sym.value < sz)
                return fail(e, BPFVM_EELF, sym.at, "map %s: definition at 0x%llx is outside "
                            "section %s", sym.name, (unsigned long long)sym.value, s->name);
            const uint8_t *d = e->p + s->off + sym.value;
            bpfvm_map_def def = { rd32(d), rd32(d + 4), rd32(d + 8), rd32(d + 12),
                                  sz >= 20 ? rd32(d + 16) : 0 };
            for (uint64_t b = 20; b < sz; b++)
                if (d[b])
                    return fail(e, BPFVM_EUNSUPPORTED, s->off + sym.value + b, "map %s: "
                                "definition fields past map_flags are not supported",
                                sym.name);
            if ((rc = add_map(e, &def, sym.name, sec, sym.value, false, sym.at, sz, UINT64_MAX,
                              NULL)))
                return rc;
        }
    }
    return 0;
}

/* The number N of a BTF map field `int (*name)[N]`. */
static int btf_uint(elf_file *e, const bpfvm__btf *btf, const char *map, const char *field,
                    uint32_t type, uint32_t *out)
{
    bpfvm__btf_type t;
    uint32_t id, elem;
    int rc;
    if ((rc = bpfvm__btf_skip(btf, type, &id, e->err)))
        return rc;
    if (!id || (rc = bpfvm__btf_get(btf, id, &t, e->err)) || t.kind != BPFVM__BTF_PTR ||
        (rc = bpfvm__btf_skip(btf, t.size_type, &id, e->err)) || !id ||
        (rc = bpfvm__btf_get(btf, id, &t, e->err)) || t.kind != BPFVM__BTF_ARRAY)
        return rc ? rc : fail(e, BPFVM_EELF, bpfvm__btf_type_offset(btf, type), "map %s: "
                              "field %s is not of the form int (*%s)[N]", map, field, field);
    bpfvm__btf_array(&t, &elem, out);
    return 0;
}

/* The size of the pointee of a BTF map field `T *name` (__type(key, T)). */
static int btf_pointee_size(elf_file *e, const bpfvm__btf *btf, const char *map,
                            const char *field, uint32_t type, uint32_t *out, uint32_t *pointee)
{
    bpfvm__btf_type t;
    uint32_t id;
    uint64_t size;
    int rc;
    if ((rc = bpfvm__btf_skip(btf, type, &id, e->err)))
        return rc;
    if (!id || (rc = bpfvm__btf_get(btf, id, &t, e->err)) || t.kind != BPFVM__BTF_PTR)
        return rc ? rc : fail(e, BPFVM_EELF, bpfvm__btf_type_offset(btf, type), "map %s: "
                              "field %s is not a pointer to a type", map, field);
    if ((rc = bpfvm__btf_size(btf, t.size_type, &size, e->err)))
        return rc;
    *pointee = t.size_type;
    if (size > UINT32_MAX)
        return fail(e, BPFVM_EELF, bpfvm__btf_type_offset(btf, type), "map %s: %s type of "
                    "%llu bytes", map, field, (unsigned long long)size);
    *out = (uint32_t)size;
    return 0;
}

/* The offset of the struct bpf_spin_lock among the members of value type
 * `type` (as the kernel's btf_find_spin_lock: members of a struct, not
 * nested), BPFVM__NO_LOCK if none; two are an error. */
static int btf_lock(elf_file *e, const bpfvm__btf *btf, const char *map, uint32_t type,
                    uint32_t *out)
{
    bpfvm__btf_type t, mt;
    uint32_t id;
    int rc;
    *out = BPFVM__NO_LOCK;
    if ((rc = bpfvm__btf_skip(btf, type, &id, e->err)) || !id ||
        (rc = bpfvm__btf_get(btf, id, &t, e->err)) || t.kind != BPFVM__BTF_STRUCT)
        return rc;
    for (unsigned i = 0; i < t.vlen; i++) {
        bpfvm__btf_member m = bpfvm__btf_member_at(btf, &t, i);
        if ((rc = bpfvm__btf_skip(btf, m.type, &id, e->err)))
            return rc;
        if (!id || (rc = bpfvm__btf_get(btf, id, &mt, e->err)) || mt.kind != BPFVM__BTF_STRUCT ||
            strcmp(bpfvm__btf_str(btf, mt.name_off), "bpf_spin_lock") != 0)
            continue;
        if (*out != BPFVM__NO_LOCK)
            return fail(e, BPFVM_EELF, bpfvm__btf_type_offset(btf, type), "map %s: its value "
                        "holds more than one struct bpf_spin_lock", map);
        *out = (m.offset & 0xffffffu) / 8; /* kind_flag structs: bit size in the top byte */
    }
    return rc;
}

/* A BTF map definition: the struct of a .maps variable, or the inner one
 * of `__array(values, struct inner)`. */
typedef struct btf_def {
    bpfvm_map_def def;
    uint64_t values_off;  /* the `values` member's byte offset; UINT64_MAX if none */
    uint32_t values_type; /* what its pointers point to (a map definition or a function) */
    uint32_t lock_off;    /* the value's struct bpf_spin_lock, or BPFVM__NO_LOCK */
} btf_def;

/* Read struct `sid`: members type, max_entries, map_flags (int (*f)[N]),
 * key and value (T *f) or key_size and value_size (int (*f)[N]), values
 * (not in an inner definition: one level of map-in-map, as the kernel). */
static int btf_def_read(elf_file *e, const bpfvm__btf *btf, const char *name, uint64_t at,
                        uint32_t sid, bool inner, btf_def *out)
{
    bpfvm__btf_type st, t;
    uint32_t v, pointee = 0, id;
    int rc;
    *out = (btf_def){ { 0, 0, 0, 0, 0 }, UINT64_MAX, 0, BPFVM__NO_LOCK };
    bpfvm_map_def *def = &out->def;
    if ((rc = bpfvm__btf_skip(btf, sid, &id, e->err)))
        return rc;
    if (!id || (rc = bpfvm__btf_get(btf, id, &st, e->err)) || st.kind != BPFVM__BTF_STRUCT)
        return rc ? rc : fail(e, BPFVM_EELF, at, "map %s: %snot a struct", name,
                              inner ? "inner definition: " : "");
    for (unsigned j = 0; j < st.vlen; j++) {
        bpfvm__btf_member m = bpfvm__btf_member_at(btf, &st, j);
        const char *f = m.name;
        if (strcmp(f, "key") == 0 || strcmp(f, "value") == 0) {
            if ((rc = btf_pointee_size(e, btf, name, f, m.type, &v, &pointee)))
                return rc;
            uint32_t *slot = f[0] == 'k' ? &def->key_size : &def->value_size;
            if (*slot && *slot != v)
                return fail(e, BPFVM_EELF, at, "map %s: %s size %u conflicts with %u",
                            name, f, v, *slot);
            *slot = v;
            if (f[0] == 'v' && (rc = btf_lock(e, btf, name, pointee, &out->lock_off)))
                return rc;
            continue;
        }
        uint32_t *slot = strcmp(f, "type") == 0 ? &def->type
                       : strcmp(f, "max_entries") == 0 ? &def->max_entries
                       : strcmp(f, "map_flags") == 0 ? &def->flags
                       : strcmp(f, "key_size") == 0 ? &def->key_size
                       : strcmp(f, "value_size") == 0 ? &def->value_size : NULL;
        if (strcmp(f, "values") == 0) { /* __array(values, ...): T *values[] */
            uint32_t n;
            if (inner)
                return fail(e, BPFVM_EUNSUPPORTED, at, "map %s: an inner map definition "
                            "with values (maps of maps of maps are not supported)", name);
            if ((rc = bpfvm__btf_skip(btf, m.type, &id, e->err)) || !id ||
                (rc = bpfvm__btf_get(btf, id, &t, e->err)) || t.kind != BPFVM__BTF_ARRAY ||
                (bpfvm__btf_array(&t, &id, &n), 0) ||
                (rc = bpfvm__btf_skip(btf, id, &id, e->err)) || !id ||
                (rc = bpfvm__btf_get(btf, id, &t, e->err)) || t.kind != BPFVM__BTF_PTR ||
                (rc = bpfvm__btf_skip(btf, t.size_type, &out->values_type, e->err)))
                return rc ? rc : fail(e, BPFVM_EELF, at, "map %s: values is not an array of "
                                      "pointers (__array(values, ...))", name);
            out->values_off = m.offset / 8;
            continue;
        }
        bool ignored = strcmp(f, "pinning") == 0 || strcmp(f, "numa_node") == 0;
        if (!slot && !ignored)
            return fail(e, BPFVM_EUNSUPPORTED, at, "map %s: field %s is not supported",
                        name, f);
        if ((rc = btf_uint(e, btf, name, f, m.type, &v)))
            return rc;
        if (slot && *slot && *slot != v)
            return fail(e, BPFVM_EELF, at, "map %s: %s %u conflicts with %u", name, f, v,
                        *slot);
        if (slot)
            *slot = v;
    }
    return 0;
}

/* The inner map template of map-in-map definition `d` (libbpf: the struct
 * its `values` point to), created from that definition; NULL (and 0) for
 * other maps. Values that are maps need a map-in-map, and a map-in-map
 * needs them; program arrays' values are functions. */
static int btf_inner(elf_file *e, const bpfvm__btf *btf, const char *name, uint64_t at,
                     btf_def *d, bpfvm_map **tmpl)
{
    bpfvm__btf_type t;
    btf_def in;
    int rc;
    bool outer = d->def.type == BPFVM_MAP_ARRAY_OF_MAPS || d->def.type == BPFVM_MAP_HASH_OF_MAPS;
    bool maps = d->values_off != UINT64_MAX && d->values_type &&
                (rc = bpfvm__btf_get(btf, d->values_type, &t, e->err)) == 0 &&
                t.kind == BPFVM__BTF_STRUCT;
    *tmpl = NULL;
    if (!outer && d->values_off != UINT64_MAX && (maps || d->def.type != BPFVM_MAP_PROG_ARRAY))
        return fail(e, BPFVM_EUNSUPPORTED, at, "map %s: initial values are supported for "
                    "program arrays and maps of maps only", name);
    if (!outer)
        return 0;
    if (!maps)
        return fail(e, BPFVM_EELF, at, "map %s: a map of maps needs the definition of its inner "
                    "maps (__array(values, struct ...))", name);
    if ((rc = btf_def_read(e, btf, name, at, d->values_type, true, &in)))
        return rc;
    if (d->def.value_size && d->def.value_size != 4)
        return fail(e, BPFVM_EELF, at, "map %s: value_size %u, a map of maps takes 4", name,
                    d->def.value_size);
    d->def.value_size = 4; /* as libbpf */
    if (!d->def.key_size && d->def.type == BPFVM_MAP_ARRAY_OF_MAPS)
        d->def.key_size = 4;
    if ((rc = bpfvm_map_create(&in.def, name, tmpl, e->err)) != 0 ||
        (in.lock_off != BPFVM__NO_LOCK && bpfvm_map_set_spin_lock(*tmpl, in.lock_off) != 0)) {
        bpfvm_map_unref(*tmpl);
        *tmpl = NULL;
        return rc == BPFVM_ENOMEM ? rc
             : fail(e, rc ? BPFVM_EELF : BPFVM_EUNSUPPORTED, at, "map %s: inner definition: %s",
                    name, rc ? e->err->message : "struct bpf_spin_lock in a value of a type "
                    "other than hash or array");
    }
    return 0;
}

/* BTF-defined maps: each variable of the .maps DATASEC is a struct read by
 * btf_def_read. */
static int btf_maps(elf_file *e, size_t sec, const bpfvm__btf *btf)
{
    const elf_sec *s = &e->sec[sec];
    bpfvm__btf_type ds;
    uint32_t id = bpfvm__btf_find(btf, BPFVM__BTF_DATASEC, s->name);
    int rc;
    if (!id)
        return fail(e, BPFVM_EELF, s->hdr, "section %s: no BTF DATASEC describes it", s->name);
    if ((rc = bpfvm__btf_get(btf, id, &ds, e->err)))
        return rc;
    for (unsigned i = 0; i < ds.vlen; i++) {
        bpfvm__btf_member var = bpfvm__btf_member_at(btf, &ds, i);
        const char *name = var.name;
        uint64_t size;
        uint64_t at = bpfvm__btf_type_offset(btf, var.type);
        bpfvm__btf_type vt;
        btf_def d;
        if ((rc = bpfvm__btf_get(btf, var.type, &vt, e->err)))
            return rc;
        if (vt.kind != BPFVM__BTF_VAR)
            return fail(e, BPFVM_EELF, at, "section %s: entry %u is not a variable", s->name, i);
        if ((rc = btf_def_read(e, btf, name, at, vt.size_type, false, &d)))
            return rc;
        /* clang leaves the DATASEC offsets 0: the symbol has the offset */
        elf_sym sym = { NULL, 0, 0, 0, 0, 0, 0 };
        for (size_t k = 1; k < e->nsym && !sym.name; k++) {
            if ((rc = get_sym(e, k, e->sec[e->symtab].hdr, &sym)))
                return rc;
            if (sym.shndx != sec || sym.type == STT_SECTION || strcmp(sym.name, name) != 0)
                sym.name = NULL;
        }
        if (!sym.name)
            return fail(e, BPFVM_EELF, at, "map %s: no symbol of that name in section %s",
                        name, s->name);
        if (s->type == SHT_NOBITS || sym.value > s->size)
            return fail(e, BPFVM_EELF, sym.at, "map %s: offset %llu is outside section %s",
                        name, (unsigned long long)sym.value, s->name);
        if ((rc = bpfvm__btf_size(btf, vt.size_type, &size, e->err)))
            return rc;
        if (sym.size > size) /* a `values` array initialised past the struct's end */
            size = sym.size;
        if (size > s->size - sym.value)
            return fail(e, BPFVM_EELF, sym.at, "map %s: its %llu bytes pass the end of section "
                        "%s", name, (unsigned long long)size, s->name);
        bpfvm_map *tmpl;
        if ((rc = btf_inner(e, btf, name, at, &d, &tmpl)))
            return rc;
        rc = add_map(e, &d.def, name, sec, sym.value, false, at, size, d.values_off, tmpl);
        bpfvm_map_unref(tmpl);
        if (!rc && d.lock_off != BPFVM__NO_LOCK &&
            bpfvm_map_set_spin_lock(e->obj->maps[e->obj->nmaps - 1].map, d.lock_off))
            rc = fail(e, BPFVM_EUNSUPPORTED, at, "map %s: struct bpf_spin_lock in a %s value: "
                      "the kernel allows it in hash and array maps only", name,
                      bpfvm_map_type_name(d.def.type));
        if (rc)
            return rc;
    }
    return 0;
}

/* Relocations in a global-data section: pointers into global data, applied
 * once to the map's value. */
static int relocate_global(elf_file *e, const obj_map *om)
{
    const elf_sec *s = &e->sec[om->sec];
    int rc;
    for (size_t j = 0, n = rel_count(e, om->sec); j < n; j++) {
        rel r;
        elf_sym sym;
        if ((rc = data_rel(e, om->sec, j, &r, &sym)) < 0)
            return rc;
        if (rc)
            continue;
        const obj_map *to = sym.shndx < e->nsec ? obj_find(e->obj, sym.shndx, 0, true) : NULL;
        if (!to || sym.value > e->sec[sym.shndx].size)
            return fail(e, BPFVM_EUNSUPPORTED, r.at, "data at 0x%llx of section %s points to "
                        "%s, which is not global data", (unsigned long long)r.off, s->name,
                        sym.name);
        uint8_t *word = om->map->values + r.off;
        uint64_t addr = (uint64_t)(uintptr_t)to->map->values + sym.value + rd64(word);
        memcpy(word, &addr, 8);
    }
    return 0;
}

/* `.values = { [slot] = &inner }` of a map of maps: key `slot` (4 bytes)
 * holds the map defined by `sym`, stored now (libbpf does it at load). */
static int map_init_inner(elf_file *e, const obj_map *om, uint32_t slot, const elf_sym *sym,
                          uint64_t at)
{
    const obj_map *in = sym->shndx < e->nsec && is_maps(&e->sec[sym->shndx])
                            ? obj_find(e->obj, sym->shndx, sym->value, false) : NULL;
    if (!in)
        return fail(e, BPFVM_EELF, at, "map %s: slot %u holds %s, which is not a map",
                    bpfvm_map_name(om->map), slot, sym->name);
    if (om->map->def.key_size != 4)
        return fail(e, BPFVM_EUNSUPPORTED, at, "map %s: initial values need 4-byte keys, not "
                    "%u", bpfvm_map_name(om->map), om->map->def.key_size);
    int rc = bpfvm_map_update(om->map, &slot, &in->map, BPFVM_ANY);
    if (rc)
        return fail(e, rc == -ENOMEM ? BPFVM_ENOMEM : BPFVM_EELF, at, "map %s: slot %u: map %s "
                    "does not fit its inner map definition (%s)", bpfvm_map_name(om->map), slot,
                    sym->name, strerror(-rc));
    return 0;
}

/* The relocations of a maps section: program pointers in `values` arrays,
 * and inner maps in those of maps of maps. */
static int map_inits(elf_file *e, size_t sec)
{
    bpfvm_object *obj = e->obj;
    const elf_sec *s = &e->sec[sec];
    int rc;
    for (size_t j = 0, n = rel_count(e, sec); j < n; j++) {
        rel r;
        elf_sym sym;
        if ((rc = data_rel(e, sec, j, &r, &sym)) < 0)
            return rc;
        if (rc)
            continue;
        size_t k = 0;
        while (k < obj->nmaps && !(obj->maps[k].sec == sec && !obj->maps[k].global &&
                                   r.off - obj->maps[k].off < obj->maps[k].size))
            k++;
        const obj_map *om = k < obj->nmaps ? &obj->maps[k] : NULL;
        uint64_t rel_off = om ? r.off - om->off - om->values_off : 0;
        if (!om || om->values_off == UINT64_MAX || r.off - om->off < om->values_off ||
            rel_off % 8 || rel_off / 8 >= om->map->def.max_entries)
            return fail(e, BPFVM_EELF, r.at, "relocation %zu of section %s: offset 0x%llx is "
                        "not a slot of a map's values", j, s->name, (unsigned long long)r.off);
        if (bpfvm__is_outer(om->map)) {
            if ((rc = map_init_inner(e, om, (uint32_t)(rel_off / 8), &sym, r.at)))
                return rc;
            continue;
        }
        if (sym.type != STT_FUNC || sym.shndx >= e->nsec || !is_exec(&e->sec[sym.shndx]))
            return fail(e, BPFVM_EUNSUPPORTED, r.at, "map %s: slot %llu holds %s, which is not "
                        "a program", bpfvm_map_name(om->map), (unsigned long long)(rel_off / 8),
                        sym.name);
        if ((rc = grow(e, (void **)&obj->inits, &obj->inits_cap, obj->ninits + 1,
                       sizeof(*obj->inits))))
            return rc;
        obj->inits[obj->ninits++] = (obj_init){ k, (uint32_t)(rel_off / 8), sym.name, NULL };
    }
    return 0;
}

static int open_maps(elf_file *e)
{
    bpfvm__btf btf;
    bool have_btf = false;
    int rc = 0;
    for (size_t i = 1; i < e->nsec && !rc; i++) {
        const elf_sec *s = &e->sec[i];
        if (strcmp(s->name, ".BTF") == 0 && s->type == SHT_PROGBITS && !have_btf) {
            if ((rc = bpfvm__btf_parse(&btf, e->p + s->off, (size_t)s->size, s->off, NULL,
                                       e->err)))
                return rc;
            have_btf = true;
        }
    }
    uint64_t global_bytes = 0;
    for (size_t i = 1; i < e->nsec && !rc; i++) {
        const elf_sec *s = &e->sec[i];
        if (strcmp(s->name, ".maps") == 0) {
            rc = have_btf ? btf_maps(e, i, &btf)
                          : fail(e, BPFVM_EUNSUPPORTED, s->hdr, "section .maps: BTF-defined maps "
                                 "need the object's .BTF section (compile with -g)");
        } else if (is_maps(s)) {
            rc = legacy_maps(e, i);
        } else if (is_data(s) && s->size && strcmp(s->name, "license") != 0 &&
                   strcmp(s->name, "version") != 0) { /* libbpf reads those two itself */
            if (s->size > MAX_DATA_BYTES - global_bytes) {
                rc = fail(e, BPFVM_EELF, s->hdr, "data section %s (%llu bytes) takes the "
                          "object's global data past the limit of %u bytes", s->name,
                          (unsigned long long)s->size, MAX_DATA_BYTES);
                break;
            }
            global_bytes += s->size;
            bpfvm_map_def def = { BPFVM_MAP_ARRAY, 4, (uint32_t)s->size, 1,
                                  (s->flags & SHF_WRITE) ? 0 : BPFVM_F_RDONLY_PROG };
            if ((rc = add_map(e, &def, s->name, i, 0, true, s->hdr, s->size, UINT64_MAX,
                              NULL)) == 0 &&
                s->type != SHT_NOBITS)
                memcpy(e->obj->maps[e->obj->nmaps - 1].map->values, e->p + s->off,
                       (size_t)s->size);
        }
    }
    for (size_t i = 0; i < e->obj->nmaps && !rc; i++)
        if (e->obj->maps[i].global)
            rc = relocate_global(e, &e->obj->maps[i]);
    for (size_t i = 1; i < e->nsec && !rc; i++)
        if (strcmp(e->sec[i].name, ".maps") == 0)
            rc = map_inits(e, i);
    if (have_btf)
        bpfvm__btf_free(&btf);
    return rc;
}

int bpfvm_object_open(const void *data, size_t len, bpfvm_object **out, bpfvm_error *err)
{
    bpfvm_error local;
    if (!err)
        err = &local;
    if (!out || (!data && len))
        return bpfvm__set_error(err, BPFVM_EINVAL, -1, "object: no data or no output");
    *out = NULL;
    bpfvm_object *obj = calloc(1, sizeof(*obj));
    if (!obj || !(obj->data = malloc(len ? len : 1))) {
        free(obj);
        return bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
    }
    memcpy(obj->data, data, len);
    obj->len = len;
    elf_file e = { obj->data, len, NULL, err, NULL, 0, 0, 0, NULL, 0, obj };
    int rc = parse(&e);
    if (rc == 0)
        rc = open_maps(&e);
    release(&e);
    if (rc) {
        bpfvm_object_close(obj);
        return rc;
    }
    bpfvm__clear_error(err);
    *out = obj;
    return 0;
}

void bpfvm_object_close(bpfvm_object *obj)
{
    if (!obj)
        return;
    for (size_t i = 0; i < obj->ninits; i++) {
        const obj_init *in = &obj->inits[i];
        if (in->vm && bpfvm_prog_array_get(obj->maps[in->map].map, in->slot) == in->vm)
            bpfvm_prog_array_set(obj->maps[in->map].map, in->slot, NULL);
        bpfvm_destroy(in->vm);
    }
    free(obj->inits);
    for (size_t i = 0; i < obj->nmaps; i++)
        bpfvm_map_unref(obj->maps[i].map);
    free(obj->maps);
    free(obj->data);
    free(obj);
}

/* The programs of the `.values` initialisers, each into a VM of the
 * object's set up as `vm` (helpers, program type, CPU, stack, call depth,
 * budget, checking), once. */
static int load_inits(bpfvm_object *obj, bpfvm_vm *vm)
{
    int rc = 0;
    obj->initialising = true;
    for (size_t i = 0; i < obj->ninits && !rc; i++) {
        obj_init *in = &obj->inits[i];
        if (in->vm)
            continue;
        bpfvm_vm *sub = bpfvm_create_ex(&vm->alloc);
        rc = sub ? 0 : bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
        for (size_t h = 0; !rc && h < vm->nhelpers; h++)
            rc = bpfvm_register_helper(sub, vm->helpers[h].id, vm->helpers[h].name,
                                       vm->helpers[h].fn, vm->helpers[h].user);
        if (!rc) {
            sub->prog_type = vm->prog_type;
            sub->fixed_cpu = vm->fixed_cpu;
            sub->stack_size = vm->stack_size;
            sub->call_depth = vm->call_depth;
            sub->budget = vm->budget;
            sub->checked = vm->checked;
            if ((rc = bpfvm_object_load(obj, sub, NULL, in->func)) != 0)
                bpfvm__set_error(&vm->last_error, rc, -1, "map %s, slot %u: program %s: %s",
                                 bpfvm_map_name(obj->maps[in->map].map), in->slot, in->func,
                                 sub->last_error.message);
        }
        if (rc) {
            bpfvm_destroy(sub);
            break;
        }
        in->vm = sub;
        bpfvm_prog_array_set(obj->maps[in->map].map, in->slot, sub);
    }
    obj->initialising = false;
    return rc;
}

int bpfvm_object_load(bpfvm_object *obj, bpfvm_vm *vm, const char *section, const char *entry)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (!obj)
        return bpfvm__set_error(&vm->last_error, BPFVM_EINVAL, -1, "no object");
    elf_file e = { obj->data, obj->len, vm, &vm->last_error, NULL, 0, 0, 0, NULL, 0, obj };
    int rc = load(&e, section, entry);
    if (rc == 0 && !obj->initialising)
        rc = load_inits(obj, vm);
    return rc;
}

size_t bpfvm_object_map_count(const bpfvm_object *obj)
{
    return obj ? obj->nmaps : 0;
}

bpfvm_map *bpfvm_object_map(const bpfvm_object *obj, size_t i)
{
    return obj && i < obj->nmaps ? obj->maps[i].map : NULL;
}

const char *bpfvm_object_slot_program(const bpfvm_object *obj, const bpfvm_map *map,
                                      uint32_t slot)
{
    for (size_t i = 0; obj && i < obj->ninits; i++)
        if (obj->maps[obj->inits[i].map].map == map && obj->inits[i].slot == slot &&
            obj->inits[i].vm && bpfvm_prog_array_get(map, slot) == obj->inits[i].vm)
            return obj->inits[i].func;
    bpfvm_source src; /* a program the host put there: the function it starts with */
    const bpfvm_vm *vm = bpfvm_prog_array_get(map, slot);
    return vm && bpfvm_source_at(vm, 0, &src) == 0 ? src.function : NULL;
}

bpfvm_map *bpfvm_object_find_map(const bpfvm_object *obj, const char *name)
{
    for (size_t i = 0; obj && name && i < obj->nmaps; i++)
        if (strcmp(bpfvm_map_name(obj->maps[i].map), name) == 0)
            return obj->maps[i].map;
    return NULL;
}
