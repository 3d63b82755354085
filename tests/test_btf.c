/* test_btf.c - the BTF reader on hand-built sections: a valid one with every
 * kind the map loader reads, then each kind of damage, each with its error. */
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "test.h"

/* A BTF section under construction. */
typedef struct {
    uint8_t types[1024];
    size_t ntypes_len;
    char strs[256];
    size_t strs_len;
    uint8_t out[1400];
    size_t out_len;
} builder;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void w32(builder *b, uint32_t v)
{
    put32(b->types + b->ntypes_len, v);
    b->ntypes_len += 4;
}

static uint32_t str(builder *b, const char *s)
{
    if (!b->strs_len)
        b->strs_len = 1; /* offset 0: "" */
    uint32_t off = (uint32_t)b->strs_len;
    memcpy(b->strs + off, s, strlen(s) + 1);
    b->strs_len += strlen(s) + 1;
    return off;
}

static void rec(builder *b, uint32_t name, unsigned kind, unsigned vlen, uint32_t size_type)
{
    w32(b, name);
    w32(b, (uint32_t)kind << 24 | vlen);
    w32(b, size_type);
}

static const uint8_t *finish(builder *b)
{
    if (!b->strs_len)
        b->strs_len = 1;
    uint8_t *h = b->out;
    memset(h, 0, 24);
    h[0] = 0x9f, h[1] = 0xeb, h[2] = 1;
    put32(h + 4, 24);
    put32(h + 8, 0);
    put32(h + 12, (uint32_t)b->ntypes_len);
    put32(h + 16, (uint32_t)b->ntypes_len);
    put32(h + 20, (uint32_t)b->strs_len);
    memcpy(h + 24, b->types, b->ntypes_len);
    memcpy(h + 24 + b->ntypes_len, b->strs, b->strs_len);
    b->out_len = 24 + b->ntypes_len + b->strs_len;
    return b->out;
}

/* The shape of a BTF-defined map: struct { int (*type)[2]; int (*max_entries)[16];
 * int *key; long *value; } m SEC(".maps"); */
static void build_map(builder *b)
{
    memset(b, 0, sizeof(*b));
    rec(b, str(b, "int"), BPFVM__BTF_INT, 0, 4);        /* 1 */
    w32(b, 32);
    rec(b, 0, BPFVM__BTF_ARRAY, 0, 0);                 /* 2: int[2] */
    w32(b, 1), w32(b, 1), w32(b, 2);
    rec(b, 0, BPFVM__BTF_PTR, 0, 2);                   /* 3 */
    rec(b, 0, BPFVM__BTF_ARRAY, 0, 0);                 /* 4: int[16] */
    w32(b, 1), w32(b, 1), w32(b, 16);
    rec(b, 0, BPFVM__BTF_PTR, 0, 4);                   /* 5 */
    rec(b, 0, BPFVM__BTF_PTR, 0, 1);                   /* 6: int * */
    rec(b, str(b, "long"), BPFVM__BTF_INT, 0, 8);      /* 7 */
    w32(b, 64);
    rec(b, str(b, "u64"), BPFVM__BTF_TYPEDEF, 0, 7);   /* 8 */
    rec(b, 0, BPFVM__BTF_CONST, 0, 8);                 /* 9 */
    rec(b, 0, BPFVM__BTF_PTR, 0, 9);                   /* 10 */
    rec(b, 0, BPFVM__BTF_STRUCT, 4, 32);               /* 11 */
    w32(b, str(b, "type")), w32(b, 3), w32(b, 0);
    w32(b, str(b, "max_entries")), w32(b, 5), w32(b, 64);
    w32(b, str(b, "key")), w32(b, 6), w32(b, 128);
    w32(b, str(b, "value")), w32(b, 10), w32(b, 192);
    rec(b, str(b, "m"), BPFVM__BTF_VAR, 0, 11);        /* 12 */
    w32(b, 1);
    rec(b, str(b, ".maps"), BPFVM__BTF_DATASEC, 1, 32); /* 13 */
    w32(b, 12), w32(b, 0), w32(b, 32);
}

static void test_valid(void)
{
    builder b;
    bpfvm__btf btf;
    bpfvm_error err;
    build_map(&b);
    const uint8_t *p = finish(&b);
    int rc = bpfvm__btf_parse(&btf, p, b.out_len, 100, NULL, &err);
    CHECK(rc == 0, "parse: %s", err.message);
    if (rc)
        return;
    CHECK(btf.ntypes == 14, "ntypes %u", btf.ntypes);
    uint32_t sec = bpfvm__btf_find(&btf, BPFVM__BTF_DATASEC, ".maps");
    CHECK(sec == 13, "datasec %u", sec);
    CHECK(bpfvm__btf_find(&btf, BPFVM__BTF_DATASEC, ".data") == 0, "no .data");
    bpfvm__btf_type t;
    CHECK(bpfvm__btf_get(&btf, sec, &t, &err) == 0 && t.vlen == 1, "datasec type");
    bpfvm__btf_member v = bpfvm__btf_member_at(&btf, &t, 0);
    CHECK(strcmp(v.name, "m") == 0 && v.type == 12 && v.size == 32, "var %s %u %u", v.name,
          v.type, v.size);
    uint64_t size = 0;
    CHECK(bpfvm__btf_size(&btf, 12, &size, &err) == 0 && size == 32, "var size %llu",
          (unsigned long long)size);
    CHECK(bpfvm__btf_size(&btf, 4, &size, &err) == 0 && size == 64, "int[16] %llu",
          (unsigned long long)size);
    CHECK(bpfvm__btf_size(&btf, 9, &size, &err) == 0 && size == 8, "const u64 %llu",
          (unsigned long long)size);
    uint32_t to;
    CHECK(bpfvm__btf_skip(&btf, 9, &to, &err) == 0 && to == 7, "skip const typedef -> %u", to);
    CHECK(bpfvm__btf_get(&btf, 11, &t, &err) == 0 && t.kind == BPFVM__BTF_STRUCT, "struct");
    bpfvm__btf_member m = bpfvm__btf_member_at(&btf, &t, 1);
    CHECK(strcmp(m.name, "max_entries") == 0 && m.type == 5 && m.offset == 64, "member %s",
          m.name);
    CHECK(bpfvm__btf_get(&btf, 5, &t, &err) == 0 && t.kind == BPFVM__BTF_PTR, "ptr");
    uint32_t elem, n;
    CHECK(bpfvm__btf_get(&btf, t.size_type, &t, &err) == 0, "array");
    bpfvm__btf_array(&t, &elem, &n);
    CHECK(elem == 1 && n == 16, "array %u[%u]", elem, n);
    CHECK(bpfvm__btf_get(&btf, 14, &t, &err) == BPFVM_EELF, "id past the end");
    CHECK(bpfvm__btf_size(&btf, 0, &size, &err) == BPFVM_EELF, "void has no size");
    bpfvm__btf_free(&btf);
}

/* Parse `p` (len bytes): expect BPFVM_EELF with `msg` in the message and,
 * if off >= 0, err.offset == off. */
static void expect_bad(const char *what, const uint8_t *p, size_t len, const char *msg,
                       long off)
{
    bpfvm__btf btf;
    bpfvm_error err;
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
    memcpy(copy, p, len);
    int rc = bpfvm__btf_parse(&btf, copy, len, 0, NULL, &err);
    CHECK(rc == BPFVM_EELF && strstr(err.message, msg) && (off < 0 || err.offset == off),
          "%s: rc %d, offset %lld, %s", what, rc, (long long)err.offset, err.message);
    if (rc == 0)
        bpfvm__btf_free(&btf);
    free(copy);
}

static void test_bad(void)
{
    builder b;
    build_map(&b);
    const uint8_t *good = finish(&b);
    uint8_t p[1400];
    size_t len = b.out_len;

    expect_bad("empty", good, 0, "too short", 0);
    expect_bad("short header", good, 20, "too short", 0);
    memcpy(p, good, len), p[0] = 0x9e;
    expect_bad("magic", p, len, "bad BTF magic", 0);
    memcpy(p, good, len), p[2] = 2;
    expect_bad("version", p, len, "version 2", 2);
    memcpy(p, good, len), put32(p + 4, 8);
    expect_bad("hdr_len", p, len, "header length 8", 4);
    memcpy(p, good, len), put32(p + 12, 0xfffffff0u);
    expect_bad("type_len", p, len, "type section", 8);
    memcpy(p, good, len), put32(p + 16, 0xffffffffu);
    expect_bad("str_off", p, len, "string section", 16);
    expect_bad("truncated", good, len - 1, "passes the end", -1);
    memcpy(p, good, len), put32(p + 8, 2);
    expect_bad("unaligned types", p, len, "multiple of 4", 8);
    memcpy(p, good, len), p[len - 1] = 'x';
    expect_bad("unterminated strings", p, len, "NUL", -1);
    /* type 1 is at 24: its info's kind byte at 24 + 7 */
    memcpy(p, good, len), p[24 + 7] = 25;
    expect_bad("unknown kind", p, len, "unknown kind 25", 24);
    memcpy(p, good, len), p[24 + 7] = 0;
    expect_bad("kind 0", p, len, "unknown kind 0", 24);
    memcpy(p, good, len), put32(p + 24, 0x7fff);
    expect_bad("name offset", p, len, "name offset", 24);
    /* type 3 (PTR to 2) at 24 + 16 + 24: its type field */
    memcpy(p, good, len), put32(p + 24 + 40 + 8, 99);
    expect_bad("dangling ref", p, len, "refers to type 99", 24 + 40);
    /* vlen of the struct (type 11) made huge: data past the end */
    size_t t11 = 24 + 16 + 24 + 12 + 24 + 12 + 12 + 16 + 12 + 12 + 12;
    memcpy(p, good, len), p[t11 + 4] = 0xff, p[t11 + 5] = 0xff;
    expect_bad("vlen", p, len, "passes the end", (long)t11);

    /* Loops and overflow are not parse errors: the accessors stop them. */
    builder c;
    memset(&c, 0, sizeof(c));
    rec(&c, str(&c, "a"), BPFVM__BTF_TYPEDEF, 0, 2);   /* 1 -> 2 */
    rec(&c, str(&c, "b"), BPFVM__BTF_TYPEDEF, 0, 1);   /* 2 -> 1 */
    rec(&c, 0, BPFVM__BTF_INT, 0, 0xffffffffu);        /* 3 */
    w32(&c, 32);
    rec(&c, 0, BPFVM__BTF_ARRAY, 0, 0);                /* 4: huge[0xffffffff] */
    w32(&c, 3), w32(&c, 3), w32(&c, 0xffffffffu);
    rec(&c, 0, BPFVM__BTF_ARRAY, 0, 0);                /* 5: (4)[2] */
    w32(&c, 4), w32(&c, 3), w32(&c, 2);
    rec(&c, 0, BPFVM__BTF_ARRAY, 0, 0);                /* 6: self-array */
    w32(&c, 6), w32(&c, 3), w32(&c, 1);
    rec(&c, 0, BPFVM__BTF_FUNC_PROTO, 0, 0);           /* 7 */
    const uint8_t *q = finish(&c);
    bpfvm__btf btf;
    bpfvm_error err;
    uint64_t size;
    uint32_t to;
    int rc = bpfvm__btf_parse(&btf, q, c.out_len, 0, NULL, &err);
    CHECK(rc == 0, "loop section parses: %s", err.message);
    if (rc)
        return;
    CHECK(bpfvm__btf_skip(&btf, 1, &to, &err) == BPFVM_EELF && strstr(err.message, "loop"),
          "typedef loop: %s", err.message);
    CHECK(bpfvm__btf_size(&btf, 2, &size, &err) == BPFVM_EELF && strstr(err.message, "loop"),
          "typedef loop size: %s", err.message);
    CHECK(bpfvm__btf_size(&btf, 4, &size, &err) == 0 && size == 0xfffffffe00000001ull,
          "largest size that fits: %llu", (unsigned long long)size);
    CHECK(bpfvm__btf_size(&btf, 5, &size, &err) == BPFVM_EELF &&
              strstr(err.message, "overflows"), "nested overflow: %s", err.message);
    CHECK(bpfvm__btf_size(&btf, 6, &size, &err) == BPFVM_EELF && strstr(err.message, "loop"),
          "array loop: %s", err.message);
    CHECK(bpfvm__btf_size(&btf, 7, &size, &err) == BPFVM_EELF &&
              strstr(err.message, "no size"), "func proto: %s", err.message);
    bpfvm__btf_free(&btf);
}

int main(void)
{
    test_valid();
    test_bad();
    return TEST_END();
}
