/* btf.h - the BTF reader (btf.c): type information from a .BTF section.
 *
 * bpfvm__btf_parse checks the whole section once: header, every type's
 * record length, kind, referenced type ids and name offsets. After it, the
 * accessors below only need to guard against what a valid section can still
 * hold: chains of typedefs and modifiers (bounded by BPFVM__BTF_MAX_DEPTH,
 * so loops end with an error) and sizes that overflow. Internal to the
 * library. */
#ifndef BPFVM_BTF_H
#define BPFVM_BTF_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm.h"

/* Kinds (linux/btf.h). */
enum {
    BPFVM__BTF_UNKN, BPFVM__BTF_INT, BPFVM__BTF_PTR, BPFVM__BTF_ARRAY, BPFVM__BTF_STRUCT,
    BPFVM__BTF_UNION, BPFVM__BTF_ENUM, BPFVM__BTF_FWD, BPFVM__BTF_TYPEDEF,
    BPFVM__BTF_VOLATILE, BPFVM__BTF_CONST, BPFVM__BTF_RESTRICT, BPFVM__BTF_FUNC,
    BPFVM__BTF_FUNC_PROTO, BPFVM__BTF_VAR, BPFVM__BTF_DATASEC, BPFVM__BTF_FLOAT,
    BPFVM__BTF_DECL_TAG, BPFVM__BTF_TYPE_TAG, BPFVM__BTF_ENUM64, BPFVM__BTF_KIND_COUNT
};

/* Longest chain of typedefs, modifiers, arrays and variables followed. */
#define BPFVM__BTF_MAX_DEPTH 32

typedef struct bpfvm__btf {
    const uint8_t *types;  /* the type section */
    const char *strs;      /* the string section (ends with a NUL) */
    uint32_t strs_len;
    uint32_t *off;         /* offset in `types` of each type id; off[0] unused (void) */
    uint32_t ntypes;       /* type ids 0 .. ntypes-1 */
    uint64_t base;         /* file offset of the section, for messages */
    uint32_t hdr_len;
    const bpfvm_allocator *alloc;
} bpfvm__btf;

/* One type record, decoded. */
typedef struct bpfvm__btf_type {
    uint32_t id;
    uint32_t name_off;
    unsigned kind, vlen, kflag;
    uint32_t size_type;    /* size (INT, STRUCT, UNION, ENUM*, DATASEC, FLOAT) or type */
    const uint8_t *extra;  /* the data after the record (members, array, ...) */
} bpfvm__btf_type;

/* A member of a STRUCT/UNION, a parameter of a FUNC_PROTO or a DATASEC entry:
 * name ("" if none), type id, bit offset (members) or byte offset (DATASEC),
 * and byte size (DATASEC only). */
typedef struct bpfvm__btf_member {
    const char *name;
    uint32_t type;
    uint32_t offset;
    uint32_t size;
} bpfvm__btf_member;

/* Parse and check `len` bytes of a .BTF section found at file offset `base`.
 * `alloc` NULL: libc. Errors: BPFVM_EELF with err->offset set (the file
 * offset of the bad field), BPFVM_ENOMEM. On success free with
 * bpfvm__btf_free. */
int bpfvm__btf_parse(bpfvm__btf *btf, const void *data, size_t len, uint64_t base,
                     const bpfvm_allocator *alloc, bpfvm_error *err);
void bpfvm__btf_free(bpfvm__btf *btf);

/* Type `id` (0 < id < ntypes); 0 on success, BPFVM_EELF otherwise. */
int bpfvm__btf_get(const bpfvm__btf *btf, uint32_t id, bpfvm__btf_type *t, bpfvm_error *err);
/* The string at `off` (checked at parse for every offset a type holds). */
const char *bpfvm__btf_str(const bpfvm__btf *btf, uint32_t off);
/* Member `i` (< vlen) of a STRUCT, UNION, FUNC_PROTO or DATASEC type. */
bpfvm__btf_member bpfvm__btf_member_at(const bpfvm__btf *btf, const bpfvm__btf_type *t,
                                       unsigned i);
/* Array element type and count (t is an ARRAY). */
void bpfvm__btf_array(const bpfvm__btf_type *t, uint32_t *elem, uint32_t *nelems);
/* Follow typedefs, const/volatile/restrict and type tags from `id`; *out is
 * the first other type (0 for void). */
int bpfvm__btf_skip(const bpfvm__btf *btf, uint32_t id, uint32_t *out, bpfvm_error *err);
/* Size in bytes of type `id` (arrays multiplied out, overflow checked;
 * pointers 8). BPFVM_EELF for types without a size (void, functions, FWD). */
int bpfvm__btf_size(const bpfvm__btf *btf, uint32_t id, uint64_t *size, bpfvm_error *err);
/* The first type of `kind` named `name`; 0 if none. */
uint32_t bpfvm__btf_find(const bpfvm__btf *btf, unsigned kind, const char *name);
/* File offset of type `id`'s record, for messages. */
uint64_t bpfvm__btf_type_offset(const bpfvm__btf *btf, uint32_t id);

#endif
