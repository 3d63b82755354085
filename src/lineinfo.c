/* lineinfo.c - source lines and function names of a linked program.
 *
 * clang -g records, for BPF targets, a line table in .BTF.ext: per code
 * section, records (instruction byte offset, file name, line text,
 * line << 10 | column) whose strings live in the string section of .BTF.
 * The ELF loader hands over both sections and the map of where each piece
 * of a code section went in the linked program (elf.c links callees behind
 * the program); this file turns them into one entry per slot.
 *
 * Every field is hostile: a header whose offsets or sizes leave its section
 * drops the whole table; a record whose instruction is past its section,
 * not on an instruction boundary or not after the one before it, or whose
 * strings are outside the string section (or not NUL-terminated in it), is
 * dropped and counted. Nothing read is trusted further than it was checked.
 *
 * Formats: include/uapi/linux/btf.h (struct btf_header, btf_ext_header,
 * bpf_line_info) in the kernel sources.
 */
#include <string.h>

#include "internal.h"

#define BTF_MAGIC 0xeB9Fu
#define BTF_HDR_MIN 24u      /* magic .. str_len */
#define BTF_EXT_HDR_MIN 32u  /* magic .. line_info_len */
#define LINE_REC_MIN 16u     /* insn_off, file_name_off, line_off, line_col */
#define NO_LINE UINT32_MAX

typedef struct line_rec {
    uint32_t file, text; /* offsets into the string copy */
    uint32_t line, column;
} line_rec;

typedef struct func_rec {
    size_t start, count;
    uint32_t name;       /* offset into names */
} func_rec;

struct bpfvm__lines {
    char *strings;       /* the BTF string section, copied (ends with NUL) */
    size_t strings_len;
    char *names;         /* function names, NUL-separated */
    line_rec *recs;
    size_t nrecs;
    uint32_t *at;        /* per slot: index into recs, or NO_LINE */
    size_t count;
    func_rec *funcs;
    size_t nfuncs;
    size_t ignored;      /* line records dropped */
    const char *problem; /* the first reason one was, or the table was */
};

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void bpfvm__lines_free(const bpfvm_vm *vm, bpfvm__lines *l)
{
    if (!l)
        return;
    bpfvm__free(vm, l->strings);
    bpfvm__free(vm, l->names);
    bpfvm__free(vm, l->recs);
    bpfvm__free(vm, l->at);
    bpfvm__free(vm, l->funcs);
    bpfvm__free(vm, l);
}

/* Drop one record (or, with fatal, the table) for `why`. */
static void drop(bpfvm__lines *l, const char *why)
{
    l->ignored++;
    if (!l->problem)
        l->problem = why;
}

/* Is `off` the start of a NUL-terminated string inside the string section? */
static bool valid_string(const bpfvm__lines *l, uint32_t off)
{
    return off < l->strings_len && memchr(l->strings + off, 0, l->strings_len - off) != NULL;
}

/* The string section of .BTF, copied; false (problem set) if the header lies. */
static bool read_strings(const bpfvm_vm *vm, bpfvm__lines *l, const uint8_t *btf, size_t len)
{
    if (len < BTF_HDR_MIN || rd16(btf) != BTF_MAGIC) {
        l->problem = ".BTF: no BTF header";
        return false;
    }
    uint64_t hdr_len = rd32(btf + 4), str_off = rd32(btf + 16), str_len = rd32(btf + 20);
    if (hdr_len < BTF_HDR_MIN || hdr_len > len || str_off + str_len > len - hdr_len ||
        str_len == 0) {
        l->problem = ".BTF: string section outside the section";
        return false;
    }
    if (!(l->strings = bpfvm__alloc(vm, (size_t)str_len + 1)))
        return false;
    memcpy(l->strings, btf + hdr_len + str_off, (size_t)str_len);
    l->strings[str_len] = 0; /* not counted in strings_len: an unterminated last string stays invalid */
    l->strings_len = (size_t)str_len;
    return true;
}

/* The code map entry holding byte `off` of section `name`, or NULL. */
static const bpfvm__code_map *map_find(const bpfvm__code_map *map, size_t nmap, const char *name,
                                       uint64_t off)
{
    for (size_t k = 0; k < nmap; k++)
        if (strcmp(map[k].section, name) == 0 && off >= map[k].start &&
            (off - map[k].start) / 8 < map[k].count)
            return &map[k];
    return NULL;
}

/* Read the line_info part of .BTF.ext into l->recs and l->at. */
static int read_lines(const bpfvm_vm *vm, bpfvm__lines *l, const uint8_t *ext, size_t len,
                      const bpfvm__code_map *map, size_t nmap)
{
    if (len < BTF_EXT_HDR_MIN || rd16(ext) != BTF_MAGIC) {
        l->problem = ".BTF.ext: no BTF.ext header";
        return 0;
    }
    uint64_t hdr_len = rd32(ext + 4), off = rd32(ext + 16), size = rd32(ext + 20);
    if (hdr_len < BTF_EXT_HDR_MIN || hdr_len > len || off + size > len - hdr_len ||
        (size && size < 4)) {
        l->problem = ".BTF.ext: line info outside the section";
        return 0;
    }
    const uint8_t *p = ext + hdr_len + off, *end = p + size;
    if (size == 0)
        return 0;
    uint32_t rec_size = rd32(p);
    p += 4;
    if (rec_size < LINE_REC_MIN || rec_size > 1024) {
        l->problem = ".BTF.ext: bad line record size";
        return 0;
    }
    /* at most one record per 16 bytes: enough room for all */
    size_t cap = size / LINE_REC_MIN + 1;
    if (!(l->recs = bpfvm__alloc(vm, cap * sizeof(*l->recs))))
        return BPFVM_ENOMEM;
    while (p < end) {
        if ((size_t)(end - p) < 8) {
            drop(l, ".BTF.ext: truncated section header");
            break;
        }
        uint32_t sec_name = rd32(p), n = rd32(p + 4);
        p += 8;
        if ((uint64_t)n * rec_size > (uint64_t)(end - p)) {
            drop(l, ".BTF.ext: line records past the end of the section");
            break;
        }
        const char *name = valid_string(l, sec_name) ? l->strings + sec_name : NULL;
        uint64_t last = 0;
        for (uint32_t j = 0; j < n; j++, p += rec_size) {
            uint32_t insn_off = rd32(p), file = rd32(p + 4), text = rd32(p + 8),
                     line_col = rd32(p + 12);
            const bpfvm__code_map *m = name ? map_find(map, nmap, name, insn_off) : NULL;
            if (!name) {
                drop(l, ".BTF.ext: section name outside the string section");
            } else if (insn_off % 8) {
                drop(l, ".BTF.ext: instruction offset not on an instruction");
            } else if (j > 0 && insn_off <= last) {
                drop(l, ".BTF.ext: instruction offsets out of order");
            } else if (!valid_string(l, file) || !valid_string(l, text)) {
                drop(l, ".BTF.ext: file or line text outside the string section");
            } else if (m) { /* else: code that was not linked in, or past its section */
                size_t slot = m->out + (insn_off - m->start) / 8;
                l->at[slot] = (uint32_t)l->nrecs;
                l->recs[l->nrecs++] = (line_rec){ file, text, line_col >> 10, line_col & 0x3ff };
            }
            if (j == 0 || insn_off > last)
                last = insn_off;
        }
    }
    return 0;
}

/* Slots without a record of their own take the one before them in their
 * piece (instructions of one line follow its first). */
static void spread(bpfvm__lines *l, const bpfvm__code_map *map, size_t nmap)
{
    for (size_t k = 0; k < nmap; k++)
        for (size_t i = 1; i < map[k].count; i++)
            if (l->at[map[k].out + i] == NO_LINE)
                l->at[map[k].out + i] = l->at[map[k].out + i - 1];
}

static int read_funcs(const bpfvm_vm *vm, bpfvm__lines *l, const bpfvm__code_map *map,
                      size_t nmap)
{
    size_t bytes = 0;
    for (size_t k = 0; k < nmap; k++)
        bytes += strlen(map[k].function) + 1;
    if (!(l->funcs = bpfvm__alloc(vm, nmap * sizeof(*l->funcs) + 1)) ||
        !(l->names = bpfvm__alloc(vm, bytes + 1)))
        return BPFVM_ENOMEM;
    size_t at = 0;
    for (size_t k = 0; k < nmap; k++) {
        size_t n = strlen(map[k].function) + 1;
        memcpy(l->names + at, map[k].function, n);
        l->funcs[l->nfuncs++] = (func_rec){ map[k].out, map[k].count, (uint32_t)at };
        at += n;
    }
    return 0;
}

int bpfvm__lines_build(const bpfvm_vm *vm, const uint8_t *btf, size_t btf_len,
                       const uint8_t *ext, size_t ext_len, const bpfvm__code_map *map,
                       size_t nmap, size_t count, bpfvm__lines **out)
{
    bpfvm__lines *l = bpfvm__alloc(vm, sizeof(*l));
    int rc = BPFVM_ENOMEM;
    *out = NULL;
    if (!l)
        return rc;
    memset(l, 0, sizeof(*l));
    l->count = count;
    for (size_t k = 0; k < nmap; k++) /* the map must describe the program */
        if (map[k].out > count || map[k].count > count - map[k].out)
            goto fail_inval;
    if (!(l->at = bpfvm__alloc(vm, (count + 1) * sizeof(*l->at))))
        goto fail;
    for (size_t i = 0; i < count; i++)
        l->at[i] = NO_LINE;
    if ((rc = read_funcs(vm, l, map, nmap)))
        goto fail;
    if (btf && ext) {
        if (read_strings(vm, l, btf, btf_len)) {
            if ((rc = read_lines(vm, l, ext, ext_len, map, nmap)))
                goto fail;
            spread(l, map, nmap);
        } else if (!l->problem) {
            goto fail; /* out of memory */
        }
    }
    *out = l;
    return 0;
fail_inval:
    rc = BPFVM_EINVAL;
fail:
    bpfvm__lines_free(vm, l);
    return rc;
}

void bpfvm__lines_name(const bpfvm__lines *l, int64_t insn, char *buf, size_t size)
{
    if (size)
        buf[0] = 0;
    if (!l || insn < 0 || (uint64_t)insn >= l->count || l->at[insn] == NO_LINE)
        return;
    const line_rec *r = &l->recs[l->at[insn]];
    const char *file = l->strings + r->file, *slash = strrchr(file, '/');
    snprintf(buf, size, "%s:%u", slash ? slash + 1 : file, r->line);
}

/* ---- public ------------------------------------------------------------- */

int bpfvm_source_at(const bpfvm_vm *vm, size_t insn, bpfvm_source *out)
{
    if (!vm || !out)
        return BPFVM_EINVAL;
    memset(out, 0, sizeof(*out));
    const bpfvm__lines *l = vm->lines;
    if (!l || insn >= l->count)
        return BPFVM_ENOTFOUND;
    for (size_t k = 0; k < l->nfuncs; k++) {
        const func_rec *f = &l->funcs[k];
        if (insn >= f->start && insn - f->start < f->count) {
            out->function = l->names + f->name;
            out->function_start = f->start;
        }
    }
    if (l->at[insn] != NO_LINE) {
        const line_rec *r = &l->recs[l->at[insn]];
        out->file = l->strings + r->file;
        out->text = l->strings + r->text;
        out->line = r->line;
        out->column = r->column;
    }
    return out->function || out->file ? 0 : BPFVM_ENOTFOUND;
}

size_t bpfvm_source_stats(const bpfvm_vm *vm, size_t *ignored, const char **problem)
{
    const bpfvm__lines *l = vm ? vm->lines : NULL;
    size_t n = 0;
    if (ignored)
        *ignored = l ? l->ignored : 0;
    if (problem)
        *problem = l ? l->problem : NULL;
    for (size_t i = 0; l && i < l->count; i++)
        n += l->at[i] != NO_LINE;
    return n;
}
