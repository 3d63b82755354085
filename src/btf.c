/* btf.c - the BTF reader: header, types, strings, DATASEC/VAR.
 *
 * Layout (linux/btf.h): a header (magic 0xeB9F, version 1, hdr_len, then the
 * offset and length of the type and string sections, counted from the end
 * of the header); the type section is a sequence of 12-byte records
 * {name_off, info (vlen 0-15, kind 24-28, kind_flag 31), size or type},
 * each followed by kind-specific data; type ids count from 1 in that order.
 * Everything is read byte by byte (the section need not be aligned in the
 * file) and checked once in bpfvm__btf_parse.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "internal.h"

#define BTF_MAGIC 0xeB9Fu
#define HDR_MIN 24u
#define REC 12u

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(bpfvm_error *err, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bpfvm__vset_error(err, BPFVM_EELF, -1, fmt, ap);
    va_end(ap);
    if (err) {
        err->offset = (int64_t)off;
        size_t n = strlen(err->message);
        snprintf(err->message + n, sizeof(err->message) - n, " (BTF, file offset 0x%llx)",
                 (unsigned long long)off);
    }
    return BPFVM_EELF;
}

static const char *const kind_names[BPFVM__BTF_KIND_COUNT] = {
    "UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE",
    "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG",
    "TYPE_TAG", "ENUM64"
};

/* Bytes of kind-specific data after a record. */
static uint64_t extra_len(unsigned kind, unsigned vlen)
{
    switch (kind) {
    case BPFVM__BTF_INT: case BPFVM__BTF_VAR: case BPFVM__BTF_DECL_TAG: return 4;
    case BPFVM__BTF_ARRAY: return 12;
    case BPFVM__BTF_STRUCT: case BPFVM__BTF_UNION: case BPFVM__BTF_DATASEC:
    case BPFVM__BTF_ENUM64: return 12ull * vlen;
    case BPFVM__BTF_ENUM: case BPFVM__BTF_FUNC_PROTO: return 8ull * vlen;
    default: return 0;
    }
}

/* Does the record's size_type field name a type? */
static bool refers(unsigned kind)
{
    switch (kind) {
    case BPFVM__BTF_PTR: case BPFVM__BTF_TYPEDEF: case BPFVM__BTF_VOLATILE:
    case BPFVM__BTF_CONST: case BPFVM__BTF_RESTRICT: case BPFVM__BTF_FUNC:
    case BPFVM__BTF_FUNC_PROTO: case BPFVM__BTF_VAR: case BPFVM__BTF_TYPE_TAG:
    case BPFVM__BTF_DECL_TAG:
        return true;
    default:
        return false;
    }
}

static void decode(const bpfvm__btf *btf, uint32_t id, bpfvm__btf_type *t)
{
    const uint8_t *p = btf->types + btf->off[id];
    uint32_t info = rd32(p + 4);
    t->id = id;
    t->name_off = rd32(p);
    t->vlen = info & 0xffff;
    t->kind = (info >> 24) & 0x1f;
    t->kflag = info >> 31;
    t->size_type = rd32(p + 8);
    t->extra = p + REC;
}

uint64_t bpfvm__btf_type_offset(const bpfvm__btf *btf, uint32_t id)
{
    return btf->base + btf->hdr_len + (id < btf->ntypes ? btf->off[id] : 0);
}

/* Check a string offset and a type id held by type `id`. */
static int check_name(const bpfvm__btf *btf, uint32_t id, uint32_t off, bpfvm_error *err)
{
    if (off >= btf->strs_len)
        return fail(err, bpfvm__btf_type_offset(btf, id), "type %u: name offset %u is outside "
                    "the string section (%u bytes)", id, off, btf->strs_len);
    return 0;
}

static int check_ref(const bpfvm__btf *btf, uint32_t id, uint32_t ref, const char *what,
                     bpfvm_error *err)
{
    if (ref >= btf->ntypes)
        return fail(err, bpfvm__btf_type_offset(btf, id), "type %u: %s refers to type %u, "
                    "past the last type (%u)", id, what, ref, btf->ntypes - 1);
    return 0;
}

/* Every reference and name of type `id`. */
static int check_type(const bpfvm__btf *btf, uint32_t id, bpfvm_error *err)
{
    bpfvm__btf_type t;
    int rc;
    decode(btf, id, &t);
    if ((rc = check_name(btf, id, t.name_off, err)))
        return rc;
    if (refers(t.kind) && (rc = check_ref(btf, id, t.size_type, "its type", err)))
        return rc;
    switch (t.kind) {
    case BPFVM__BTF_ARRAY:
        if ((rc = check_ref(btf, id, rd32(t.extra), "the element type", err)) ||
            (rc = check_ref(btf, id, rd32(t.extra + 4), "the index type", err)))
            return rc;
        break;
    case BPFVM__BTF_STRUCT: case BPFVM__BTF_UNION: case BPFVM__BTF_DATASEC:
    case BPFVM__BTF_FUNC_PROTO:
        for (unsigned i = 0; i < t.vlen; i++) {
            const uint8_t *m = t.extra + i * (t.kind == BPFVM__BTF_FUNC_PROTO ? 8u : 12u);
            uint32_t name = t.kind == BPFVM__BTF_DATASEC ? 0 : rd32(m);
            uint32_t type = rd32(t.kind == BPFVM__BTF_DATASEC ? m : m + 4);
            if ((rc = check_name(btf, id, name, err)) ||
                (rc = check_ref(btf, id, type, "a member", err)))
                return rc;
            if (t.kind == BPFVM__BTF_DATASEC && rd32(m + 4) > UINT32_MAX - rd32(m + 8))
                return fail(err, bpfvm__btf_type_offset(btf, id), "type %u: DATASEC entry %u "
                            "(offset %u, size %u) overflows", id, i, rd32(m + 4), rd32(m + 8));
        }
        break;
    case BPFVM__BTF_ENUM: case BPFVM__BTF_ENUM64:
        for (unsigned i = 0; i < t.vlen; i++)
            if ((rc = check_name(btf, id, rd32(t.extra + i * (t.kind == BPFVM__BTF_ENUM ? 8u
                                                                                  : 12u)), err)))
                return rc;
        break;
    default:
        break;
    }
    return 0;
}

int bpfvm__btf_parse(bpfvm__btf *btf, const void *data, size_t len, uint64_t base,
                     const bpfvm_allocator *alloc, bpfvm_error *err)
{
    const uint8_t *p = data;
    memset(btf, 0, sizeof(*btf));
    btf->base = base;
    btf->alloc = alloc;
    if (!p || len < HDR_MIN)
        return fail(err, base, "section is %zu bytes, too short for a BTF header (%u)", len,
                    HDR_MIN);
    if ((p[0] | p[1] << 8) != BTF_MAGIC)
        return fail(err, base, "bad BTF magic 0x%02x%02x (expected 0xeb9f)", p[1], p[0]);
    if (p[2] != 1)
        return fail(err, base + 2, "BTF version %u, expected 1", p[2]);
    uint32_t hdr_len = rd32(p + 4);
    uint64_t type_off = rd32(p + 8), type_len = rd32(p + 12);
    uint64_t str_off = rd32(p + 16), str_len = rd32(p + 20);
    if (hdr_len < HDR_MIN || hdr_len > len)
        return fail(err, base + 4, "BTF header length %u is outside [%u, %zu]", hdr_len,
                    HDR_MIN, len);
    uint64_t body = len - hdr_len;
    if (type_off + type_len > body)
        return fail(err, base + 8, "BTF type section [%llu, +%llu) passes the end of the "
                    "section (%llu bytes after the header)", (unsigned long long)type_off,
                    (unsigned long long)type_len, (unsigned long long)body);
    if (str_off + str_len > body)
        return fail(err, base + 16, "BTF string section [%llu, +%llu) passes the end of the "
                    "section (%llu bytes after the header)", (unsigned long long)str_off,
                    (unsigned long long)str_len, (unsigned long long)body);
    if (type_off % 4)
        return fail(err, base + 8, "BTF type section offset %llu is not a multiple of 4",
                    (unsigned long long)type_off);
    if (type_off < str_off + str_len && str_off < type_off + type_len && type_len && str_len)
        return fail(err, base + 8, "BTF type and string sections overlap");
    btf->hdr_len = hdr_len;
    btf->types = p + hdr_len + type_off;
    btf->strs = (const char *)p + hdr_len + str_off;
    btf->strs_len = (uint32_t)str_len;
    if (str_len == 0 || btf->strs[0] != '\0' || btf->strs[str_len - 1] != '\0')
        return fail(err, base + hdr_len + str_off, "BTF string section must start and end "
                    "with a NUL byte");

    /* Pass 1: record boundaries. */
    size_t cap = (size_t)(type_len / REC) + 2; /* ids 0..n, and n at a bad record */
    uint32_t *off = alloc ? alloc->realloc_fn(alloc->user, NULL, cap * sizeof(*off))
                          : malloc(cap * sizeof(*off));
    int rc = 0;
    if (!off)
        return bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
    btf->off = off;
    off[0] = 0;
    uint32_t n = 1;
    for (uint64_t at = 0; at < type_len && !rc; n++) {
        uint64_t file = base + hdr_len + type_off + at;
        uint32_t info = type_len - at < REC ? 0 : rd32(btf->types + at + 4);
        unsigned kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
        if (type_len - at < REC)
            rc = fail(err, file, "BTF type %u: record of %u bytes passes the end of the "
                      "type section", n, REC);
        else if (kind == BPFVM__BTF_UNKN || kind >= BPFVM__BTF_KIND_COUNT)
            rc = fail(err, file, "BTF type %u: unknown kind %u", n, kind);
        else if (type_len - at - REC < extra_len(kind, vlen))
            rc = fail(err, file, "BTF type %u (%s, %u entries): its data passes the end of "
                      "the type section", n, kind_names[kind], vlen);
        off[n] = (uint32_t)at;
        at += REC + extra_len(kind, vlen);
    }
    btf->ntypes = n;
    /* Pass 2: references and names. */
    for (uint32_t id = 1; id < n && !rc; id++)
        rc = check_type(btf, id, err);
    if (rc)
        bpfvm__btf_free(btf);
    return rc;
}

void bpfvm__btf_free(bpfvm__btf *btf)
{
    if (btf->off) {
        if (btf->alloc)
            btf->alloc->free_fn(btf->alloc->user, btf->off);
        else
            free(btf->off);
    }
    btf->off = NULL;
    btf->ntypes = 0;
}

int bpfvm__btf_get(const bpfvm__btf *btf, uint32_t id, bpfvm__btf_type *t, bpfvm_error *err)
{
    if (id == 0 || id >= btf->ntypes)
        return fail(err, btf->base, "BTF type id %u out of range (1..%u)", id,
                    btf->ntypes ? btf->ntypes - 1 : 0);
    decode(btf, id, t);
    return 0;
}

const char *bpfvm__btf_str(const bpfvm__btf *btf, uint32_t off)
{
    return off < btf->strs_len ? btf->strs + off : "";
}

bpfvm__btf_member bpfvm__btf_member_at(const bpfvm__btf *btf, const bpfvm__btf_type *t,
                                       unsigned i)
{
    bpfvm__btf_member m = { "", 0, 0, 0 };
    if (i >= t->vlen)
        return m;
    if (t->kind == BPFVM__BTF_DATASEC) {
        const uint8_t *q = t->extra + i * 12u;
        m.type = rd32(q);
        m.offset = rd32(q + 4);
        m.size = rd32(q + 8);
        bpfvm__btf_type v;
        if (m.type && m.type < btf->ntypes) {
            decode(btf, m.type, &v);
            m.name = bpfvm__btf_str(btf, v.name_off);
        }
    } else if (t->kind == BPFVM__BTF_FUNC_PROTO) {
        const uint8_t *q = t->extra + i * 8u;
        m.name = bpfvm__btf_str(btf, rd32(q));
        m.type = rd32(q + 4);
    } else if (t->kind == BPFVM__BTF_STRUCT || t->kind == BPFVM__BTF_UNION) {
        const uint8_t *q = t->extra + i * 12u;
        m.name = bpfvm__btf_str(btf, rd32(q));
        m.type = rd32(q + 4);
        /* with kind_flag, bits 24-31 hold a bitfield's width */
        m.offset = t->kflag ? rd32(q + 8) & 0xffffff : rd32(q + 8);
    }
    return m;
}

void bpfvm__btf_array(const bpfvm__btf_type *t, uint32_t *elem, uint32_t *nelems)
{
    *elem = rd32(t->extra);
    *nelems = rd32(t->extra + 8);
}

int bpfvm__btf_skip(const bpfvm__btf *btf, uint32_t id, uint32_t *out, bpfvm_error *err)
{
    for (int depth = 0; depth < BPFVM__BTF_MAX_DEPTH; depth++) {
        bpfvm__btf_type t;
        if (id == 0) {
            *out = 0;
            return 0;
        }
        int rc = bpfvm__btf_get(btf, id, &t, err);
        if (rc)
            return rc;
        switch (t.kind) {
        case BPFVM__BTF_TYPEDEF: case BPFVM__BTF_VOLATILE: case BPFVM__BTF_CONST:
        case BPFVM__BTF_RESTRICT: case BPFVM__BTF_TYPE_TAG:
            id = t.size_type;
            break;
        default:
            *out = id;
            return 0;
        }
    }
    return fail(err, bpfvm__btf_type_offset(btf, id), "BTF type %u: chain of typedefs and "
                "modifiers longer than %d (a loop?)", id, BPFVM__BTF_MAX_DEPTH);
}

int bpfvm__btf_size(const bpfvm__btf *btf, uint32_t id, uint64_t *size, bpfvm_error *err)
{
    uint64_t mult = 1;
    for (int depth = 0; depth < BPFVM__BTF_MAX_DEPTH; depth++) {
        bpfvm__btf_type t;
        uint32_t elem, nelems;
        int rc;
        if (id == 0)
            return fail(err, btf->base, "BTF: void has no size");
        if ((rc = bpfvm__btf_get(btf, id, &t, err)))
            return rc;
        switch (t.kind) {
        case BPFVM__BTF_INT: case BPFVM__BTF_STRUCT: case BPFVM__BTF_UNION:
        case BPFVM__BTF_ENUM: case BPFVM__BTF_ENUM64: case BPFVM__BTF_DATASEC:
        case BPFVM__BTF_FLOAT:
            *size = mult * t.size_type; /* mult <= 2^32: no overflow */
            if (t.size_type && *size / t.size_type != mult)
                return fail(err, bpfvm__btf_type_offset(btf, id), "BTF type %u: size "
                            "overflows", id);
            return 0;
        case BPFVM__BTF_PTR:
            if (mult > UINT64_MAX / 8)
                return fail(err, bpfvm__btf_type_offset(btf, id), "BTF type %u: size "
                            "overflows", id);
            *size = mult * 8;
            return 0;
        case BPFVM__BTF_ARRAY:
            bpfvm__btf_array(&t, &elem, &nelems);
            if (nelems && mult > UINT32_MAX / nelems)
                return fail(err, bpfvm__btf_type_offset(btf, id), "BTF array type %u: size "
                            "overflows", id);
            mult *= nelems;
            id = elem;
            break;
        case BPFVM__BTF_TYPEDEF: case BPFVM__BTF_VOLATILE: case BPFVM__BTF_CONST:
        case BPFVM__BTF_RESTRICT: case BPFVM__BTF_TYPE_TAG: case BPFVM__BTF_VAR:
            id = t.size_type;
            break;
        default:
            return fail(err, bpfvm__btf_type_offset(btf, id), "BTF type %u (%s) has no size",
                        id, kind_names[t.kind]);
        }
    }
    return fail(err, bpfvm__btf_type_offset(btf, id), "BTF type %u: chain of types longer "
                "than %d (a loop?)", id, BPFVM__BTF_MAX_DEPTH);
}

uint32_t bpfvm__btf_find(const bpfvm__btf *btf, unsigned kind, const char *name)
{
    for (uint32_t id = 1; id < btf->ntypes; id++) {
        bpfvm__btf_type t;
        decode(btf, id, &t);
        if (t.kind == kind && strcmp(bpfvm__btf_str(btf, t.name_off), name) == 0)
            return id;
    }
    return 0;
}
