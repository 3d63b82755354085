/* lineinfo.c - source lines and function names of a linked program.
 *
 * clang -g records, for BPF targets, a line table in .BTF.ext: per code
 * section, records (instruction byte offset, file name, line text,
 * line << 10 | column) whose strings live in the string section of .BTF.
 * The ELF loader hands over both sections and the map of where each piece
 * of a code section went in the linked program (elf.c links callees behind
 * the program); this file turns them into one entry per slot.
 *
 * Without .BTF.ext, the DWARF line table (.debug_line, versions 2 to 5,
 * its file names from .debug_line_str / .debug_str) gives the lines,
 * without their text: each row's address is an offset into the code
 * section its sequence's DW_LNE_set_address is relocated against.
 *
 * Every field is hostile: a header whose offsets or sizes leave its section
 * drops the whole table (for DWARF, that unit); a record whose instruction
 * is past its section, not on an instruction boundary or not after the one
 * before it, or whose strings are outside the string section (or not
 * NUL-terminated in it), is dropped and counted. Nothing read is trusted
 * further than it was checked.
 *
 * Formats: include/uapi/linux/btf.h (struct btf_header, btf_ext_header,
 * bpf_line_info) in the kernel sources; DWARF 5, section 6.2.
 */
#include <string.h>

#include "internal.h"

#define BTF_MAGIC 0xeB9Fu
#define BTF_HDR_MIN 24u      /* magic .. str_len */
#define BTF_EXT_HDR_MIN 32u  /* magic .. line_info_len */
#define LINE_REC_MIN 16u     /* insn_off, file_name_off, line_off, line_col */
#define NO_LINE UINT32_MAX
#define NO_TEXT UINT32_MAX   /* DWARF rows: no line text */

typedef struct line_rec {
    uint32_t file, text; /* offsets into the string copy */
    uint32_t line, column;
} line_rec;

typedef struct func_rec {
    size_t start, count;
    uint32_t name;       /* offset into names */
} func_rec;

struct bpfvm__lines {
    char *strings;       /* the BTF string section, copied (ends with NUL); for
                            DWARF, the file paths used */
    size_t strings_len, strings_cap;
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

/* ---- DWARF .debug_line ------------------------------------------------------ */

#define MAX_DIRS 64
#define MAX_FILES 256

/* A reader over [p, end) that turns bad on any read past the end. */
typedef struct cursor {
    const uint8_t *p, *end;
    bool bad;
} cursor;

static uint64_t take(cursor *c, size_t n)
{
    uint64_t v = 0;
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = true;
        c->p = c->end;
        return 0;
    }
    for (size_t i = n; i-- > 0;)
        v = v << 8 | c->p[i];
    c->p += n;
    return v;
}

static uint64_t leb(cursor *c, bool sign)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t b = (uint8_t)take(c, 1);
        if (c->bad || shift > 63) {
            c->bad = true;
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (sign && shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            return v;
        }
    }
}

static const char *cstr(cursor *c)
{
    const uint8_t *nul = c->bad ? NULL : memchr(c->p, 0, (size_t)(c->end - c->p));
    const char *str = (const char *)c->p;
    if (!nul) {
        c->bad = true;
        return NULL;
    }
    c->p = nul + 1;
    return str;
}

/* A string at `off` of a string section, or NULL. */
static const char *section_string(const uint8_t *sec, size_t len, uint64_t off)
{
    if (!sec || off >= len || !memchr(sec + off, 0, len - (size_t)off))
        return NULL;
    return (const char *)sec + off;
}

/* Read one attribute of form `form`: a string (*str) or a number (*num). */
static bool read_form(cursor *c, const bpfvm__debug_sections *d, uint64_t form, size_t offsize,
                      const char **str, uint64_t *num)
{
    uint64_t n;
    switch (form) {
    case 0x08: *str = cstr(c); break;                                              /* string */
    case 0x1f: *str = section_string(d->line_str, d->line_str_len, take(c, offsize)); break;
    case 0x0e: *str = section_string(d->str, d->str_len, take(c, offsize)); break; /* strp */
    case 0x0f: *num = leb(c, false); break;                                        /* udata */
    case 0x0b: *num = take(c, 1); break;                                           /* data1 */
    case 0x05: *num = take(c, 2); break;                                           /* data2 */
    case 0x06: *num = take(c, 4); break;                                           /* data4 */
    case 0x07: *num = take(c, 8); break;                                           /* data8 */
    case 0x1e: take(c, 8); take(c, 8); break;                                      /* data16 */
    case 0x09:                                                                     /* block */
        n = leb(c, false);
        if (n > (uint64_t)(c->end - c->p))
            c->bad = true;
        else
            c->p += n;
        break;
    default: return false;
    }
    return !c->bad;
}

/* A version 5 directory or file table: each entry's path (DW_LNCT_path)
 * and directory index (DW_LNCT_directory_index). */
static bool read_entries(cursor *c, const bpfvm__debug_sections *d, size_t offsize,
                         const char **paths, uint64_t *dirs, size_t max, size_t *n)
{
    uint64_t formats[16][2];
    size_t nformats = (size_t)take(c, 1);
    if (nformats > 16)
        return false;
    for (size_t k = 0; k < nformats; k++) {
        formats[k][0] = leb(c, false);
        formats[k][1] = leb(c, false);
    }
    uint64_t count = leb(c, false);
    if (c->bad || count > max)
        return false;
    for (size_t i = 0; i < count; i++) {
        paths[i] = NULL;
        dirs[i] = 0;
        for (size_t k = 0; k < nformats; k++) {
            const char *str = NULL;
            uint64_t num = 0;
            if (!read_form(c, d, formats[k][1], offsize, &str, &num))
                return false;
            if (formats[k][0] == 1)
                paths[i] = str;
            else if (formats[k][0] == 2)
                dirs[i] = num;
        }
    }
    *n = (size_t)count;
    return true;
}

/* The version 2-4 tables: directories, then files (name, directory, time,
 * size), each list ending with an empty string. */
static bool read_old_entries(cursor *c, const char **dir_paths, size_t *ndirs,
                             const char **paths, uint64_t *dirs, size_t *n)
{
    dir_paths[0] = NULL; /* 0: the compilation directory, not known here */
    for (*ndirs = 1; !c->bad && c->p < c->end && *c->p; (*ndirs)++) {
        if (*ndirs == MAX_DIRS)
            return false;
        dir_paths[*ndirs] = cstr(c);
    }
    take(c, 1);
    paths[0] = NULL; /* file 0 does not exist before version 5 */
    dirs[0] = 0;
    for (*n = 1; !c->bad && c->p < c->end && *c->p; (*n)++) {
        if (*n == MAX_FILES)
            return false;
        paths[*n] = cstr(c);
        dirs[*n] = leb(c, false);
        leb(c, false);
        leb(c, false);
    }
    take(c, 1);
    return !c->bad;
}

/* Append "base/dir/name" (NULL or absolute parts leave out what is before
 * them) to the string pool; its offset, or NO_LINE when out of memory. */
static uint32_t pool_add(const bpfvm_vm *vm, bpfvm__lines *l, const char *base, const char *dir,
                         const char *name)
{
    if (name[0] == '/')
        base = dir = NULL;
    else if (dir && dir[0] == '/')
        base = NULL;
    size_t nb = base ? strlen(base) + 1 : 0, nd = dir ? strlen(dir) : 0, nn = strlen(name);
    size_t need = nb + nd + nn + 2;
    if (l->strings_len + need > UINT32_MAX / 2)
        return NO_LINE;
    if (l->strings_len + need > l->strings_cap) {
        size_t cap = 2 * (l->strings_len + need);
        char *p = bpfvm__realloc(vm, l->strings, cap);
        if (!p)
            return NO_LINE;
        l->strings = p;
        l->strings_cap = cap;
    }
    uint32_t at = (uint32_t)l->strings_len;
    char *w = l->strings + at;
    if (nb) {
        memcpy(w, base, nb - 1);
        w[nb - 1] = '/';
    }
    if (nd) {
        memcpy(w + nb, dir, nd);
        w[nb + nd++] = '/';
    }
    memcpy(w + nb + nd, name, nn + 1);
    l->strings_len += nb + nd + nn + 1;
    return at;
}

/* The relocation of .debug_line at `off`, or NULL. */
static const bpfvm__line_rel *rel_at(const bpfvm__debug_sections *d, uint64_t off)
{
    size_t lo = 0, hi = d->nline_rels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->line_rels[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->nline_rels && d->line_rels[lo].off == off ? &d->line_rels[lo] : NULL;
}

/* The file tables of a unit. */
typedef struct unit_files {
    const char *dir_paths[MAX_DIRS], *paths[MAX_FILES];
    uint64_t dirs[MAX_FILES], dir_index[MAX_DIRS];
    uint32_t pooled[MAX_FILES]; /* pool offset of each path used, else NO_LINE */
    size_t ndirs, nfiles;
} unit_files;

/* Record a row of the line program at `address` of `section`. Returns 0 or
 * BPFVM_ENOMEM. */
static int add_row(const bpfvm_vm *vm, bpfvm__lines *l, unit_files *f, const bpfvm__code_map *map,
                   size_t nmap, const char *section, uint64_t address, uint64_t file, uint64_t line,
                   uint64_t column)
{
    const bpfvm__code_map *m = address % 8 ? NULL : map_find(map, nmap, section, address);
    if (!m)
        return 0; /* code not linked in (or not on an instruction) */
    if (file >= f->nfiles || !f->paths[file] || line > (UINT32_MAX >> 10)) { /* negative too */
        drop(l, ".debug_line: row with a bad file index or line");
        return 0;
    }
    if (f->pooled[file] == NO_LINE) { /* directories are relative to directory 0 */
        uint64_t di = f->dirs[file];
        const char *dir = di < f->ndirs ? f->dir_paths[di] : NULL;
        const char *base = di > 0 && f->ndirs ? f->dir_paths[0] : NULL;
        if ((f->pooled[file] = pool_add(vm, l, base, dir, f->paths[file])) == NO_LINE)
            return BPFVM_ENOMEM;
    }
    size_t slot = m->out + (size_t)(address - m->start) / 8;
    uint32_t k = l->at[slot] != NO_LINE ? l->at[slot] : (uint32_t)l->nrecs++;
    l->at[slot] = k; /* a later row for the same address wins */
    l->recs[k] = (line_rec){ f->pooled[file], NO_TEXT, (uint32_t)line,
                             column > 0x3ff ? 0 : (uint32_t)column };
    return 0;
}

/* One unit's header and line program. Returns 0, BPFVM_ENOMEM, or 1 when
 * the unit is malformed (dropped). */
static int read_unit(const bpfvm_vm *vm, bpfvm__lines *l, const bpfvm__debug_sections *d,
                     cursor *c, const bpfvm__code_map *map, size_t nmap, unit_files *f)
{
    uint8_t std_len[256] = { 0 };
    size_t offsize = 4;
    uint64_t len = take(c, 4);
    if (len == 0xffffffffu) {
        len = take(c, 8);
        offsize = 8;
    }
    if (c->bad || len > (uint64_t)(c->end - c->p)) {
        c->bad = true;
        return 1;
    }
    cursor u = { c->p, c->p + len, false };
    c->p += len; /* the next unit, whatever this one holds */
    unsigned version = (unsigned)take(&u, 2);
    if (version < 2 || version > 5)
        return 1;
    if (version == 5)
        take(&u, 2); /* address size, segment selector size */
    uint64_t header_len = take(&u, offsize);
    if (u.bad || header_len > (uint64_t)(u.end - u.p))
        return 1;
    const uint8_t *program = u.p + header_len;
    unsigned min_inst = (unsigned)take(&u, 1);
    if (version >= 4)
        take(&u, 1); /* maximum operations per instruction */
    take(&u, 1);     /* default is_stmt */
    int line_base = (int8_t)take(&u, 1);
    unsigned line_range = (unsigned)take(&u, 1), opcode_base = (unsigned)take(&u, 1);
    if (line_range == 0 || opcode_base == 0)
        return 1;
    for (unsigned k = 1; k < opcode_base; k++)
        std_len[k] = (uint8_t)take(&u, 1);
    bool ok = version == 5
                  ? read_entries(&u, d, offsize, f->dir_paths, f->dir_index, MAX_DIRS, &f->ndirs) &&
                        read_entries(&u, d, offsize, f->paths, f->dirs, MAX_FILES, &f->nfiles)
                  : read_old_entries(&u, f->dir_paths, &f->ndirs, f->paths, f->dirs, &f->nfiles);
    if (!ok || u.p > program)
        return 1;
    for (size_t i = 0; i < f->nfiles; i++)
        f->pooled[i] = NO_LINE;

    u.p = program; /* the line program: a state machine of rows */
    /* unsigned: a lying program wraps around rather than overflow */
    uint64_t address = 0, file = version == 5 ? 0 : 1, column = 0, line = 1;
    const char *section = NULL;
    while (!u.bad && u.p < u.end) {
        unsigned op = (unsigned)take(&u, 1);
        bool row = false;
        if (op >= opcode_base) { /* special opcode */
            unsigned adj = op - opcode_base;
            address += (uint64_t)(adj / line_range) * min_inst;
            line += (uint64_t)(int64_t)(line_base + (int)(adj % line_range));
            row = true;
        } else if (op == 0) { /* extended opcode */
            uint64_t n = leb(&u, false);
            if (u.bad || n == 0 || n > (uint64_t)(u.end - u.p))
                return 1;
            const uint8_t *next = u.p + n;
            unsigned sub = (unsigned)take(&u, 1);
            if (sub == 1) { /* end_sequence */
                address = column = 0;
                file = version == 5 ? 0 : 1;
                line = 1;
                section = NULL;
            } else if (sub == 2 && n == 9) { /* set_address: section from its relocation */
                const bpfvm__line_rel *r = rel_at(d, (uint64_t)(u.p - d->line));
                address = take(&u, 8) + (r ? r->value : 0);
                section = r ? r->section : NULL;
            }
            u.p = next;
        } else {
            switch (op) {
            case 1: row = true; break;                                      /* copy */
            case 2: address += leb(&u, false) * min_inst; break;            /* advance_pc */
            case 3: line += leb(&u, true); break;                           /* advance_line */
            case 4: file = leb(&u, false); break;                           /* set_file */
            case 5: column = leb(&u, false); break;                         /* set_column */
            case 8: address += (uint64_t)((255 - opcode_base) / line_range) * min_inst; break;
            case 9: address += take(&u, 2); break;                          /* fixed_advance_pc */
            default:
                for (unsigned k = 0; k < std_len[op]; k++)
                    leb(&u, false);
                break;
            }
        }
        int rc = row && section ? add_row(vm, l, f, map, nmap, section, address, file, line, column)
                                : 0;
        if (rc)
            return rc;
    }
    return u.bad ? 1 : 0;
}

static int read_dwarf(const bpfvm_vm *vm, bpfvm__lines *l, const bpfvm__debug_sections *d,
                      const bpfvm__code_map *map, size_t nmap)
{
    cursor c = { d->line, d->line + d->line_len, false };
    unit_files *f = bpfvm__alloc(vm, sizeof(*f));
    int rc = 0;
    if (!f || !(l->recs = bpfvm__alloc(vm, (l->count + 1) * sizeof(*l->recs)))) {
        bpfvm__free(vm, f);
        return BPFVM_ENOMEM;
    }
    while (!c.bad && c.p < c.end && rc >= 0) {
        rc = read_unit(vm, l, d, &c, map, nmap, f);
        if (rc > 0)
            drop(l, ".debug_line: malformed unit");
    }
    bpfvm__free(vm, f);
    return rc < 0 ? rc : 0;
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

int bpfvm__lines_build(const bpfvm_vm *vm, const bpfvm__debug_sections *d,
                       const bpfvm__code_map *map, size_t nmap, size_t count,
                       bpfvm__lines **out)
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
    if (d->btf && d->btf_ext) {
        if (read_strings(vm, l, d->btf, d->btf_len)) {
            if ((rc = read_lines(vm, l, d->btf_ext, d->btf_ext_len, map, nmap)))
                goto fail;
        } else if (!l->problem) {
            goto fail; /* out of memory */
        }
    } else if (d->line && (rc = read_dwarf(vm, l, d, map, nmap))) {
        goto fail;
    }
    spread(l, map, nmap);
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
        out->text = r->text == NO_TEXT ? NULL : l->strings + r->text;
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
