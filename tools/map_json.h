/* map_json.h - maps as JSON for `bpfvm test-run --json` and `--map
 * NAME=FILE`, through the public map API only (included by bpfvm.c).
 *
 * One map: {"type": "hash", "key_size": 4, "value_size": 8,
 * "max_entries": 1024, "entries": [{"key": "<hex>", "value": "<hex>"}]};
 * arrays list every index; per-CPU maps give "values": ["<hex>", ...] (one
 * per possible CPU) instead of "value"; queues and stacks "entries":
 * [{"value": "<hex>"}] in pop order; ring buffers "records": ["<hex>"] in
 * submit order; program arrays the filled slots as {"key", "prog"}; maps
 * of maps the filled slots as {"key", "inner": "<inner map's name>"}. */
#ifndef BPFVM_TOOL_MAP_JSON_H
#define BPFVM_TOOL_MAP_JSON_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"

static void mjson_hex(FILE *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    fputc('"', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
    fputc('"', f);
}

static int map_is_percpu(uint32_t type)
{
    return type == BPFVM_MAP_PERCPU_ARRAY || type == BPFVM_MAP_PERCPU_HASH ||
           type == BPFVM_MAP_LRU_PERCPU_HASH;
}

/* A value as the host sees it: "value", or "values" one per CPU. */
static void mjson_value(FILE *f, const bpfvm_map *m, const unsigned char *v)
{
    const bpfvm_map_def *d = bpfvm_map_get_def(m);
    if (!map_is_percpu(d->type)) {
        fputs("\"value\": ", f);
        mjson_hex(f, v, d->value_size);
        return;
    }
    size_t stride = (d->value_size + 7u) & ~7u;
    fputs("\"values\": [", f);
    for (unsigned c = 0; c < bpfvm_num_possible_cpus(); c++) {
        fputs(c ? ", " : "", f);
        mjson_hex(f, v + c * stride, d->value_size);
    }
    fputc(']', f);
}

static void mjson_record(void *user, const void *data, size_t size)
{
    int *n = user;
    fputs((*n)++ ? ", " : "", stdout);
    mjson_hex(stdout, data, size);
}

/* Print map `m` of `obj` (to stdout). Queues and stacks are popped to
 * list them. */
static void print_map_json(const bpfvm_object *obj, bpfvm_map *m)
{
    const bpfvm_map_def *d = bpfvm_map_get_def(m);
    unsigned char *key = calloc(1, d->key_size + 1), *next = calloc(1, d->key_size + 1);
    unsigned char *val = calloc(1, bpfvm_map_host_value_size(m) + 1);
    printf("{\"type\": \"%s\", \"key_size\": %u, \"value_size\": %u, \"max_entries\": %u, ",
           bpfvm_map_type_name(d->type), d->key_size, d->value_size, d->max_entries);
    int n = 0;
    if (d->type == BPFVM_MAP_RINGBUF) {
        fputs("\"records\": [", stdout);
        bpfvm_ringbuf_consume(m, mjson_record, &n, 1);
    } else {
        fputs("\"entries\": [", stdout);
    }
    if (d->type == BPFVM_MAP_QUEUE || d->type == BPFVM_MAP_STACK) {
        while (val && bpfvm_map_lookup_and_delete(m, NULL, val) == 0) {
            fputs(n++ ? ", {" : "{", stdout);
            mjson_value(stdout, m, val);
            fputc('}', stdout);
        }
    } else if (d->type == BPFVM_MAP_PROG_ARRAY) {
        for (uint32_t i = 0; i < d->max_entries; i++) {
            if (!bpfvm_prog_array_get(m, i))
                continue;
            const char *prog = bpfvm_object_slot_program(obj, m, i);
            fputs(n++ ? ", {\"key\": " : "{\"key\": ", stdout);
            mjson_hex(stdout, &i, 4);
            printf(", \"prog\": \"%s\"}", prog ? prog : "");
        }
    } else if (d->type != BPFVM_MAP_RINGBUF) {
        const unsigned char *prev = NULL;
        while (key && next && val && bpfvm_map_next_key(m, prev, next) == 0 &&
               (unsigned)n < d->max_entries) {
            memcpy(key, next, d->key_size);
            prev = key;
            if (bpfvm_map_lookup(m, key, val) != 0)
                continue;
            fputs(n++ ? ", {\"key\": " : "{\"key\": ", stdout);
            mjson_hex(stdout, key, d->key_size);
            fputs(", ", stdout);
            if (d->type == BPFVM_MAP_ARRAY_OF_MAPS || d->type == BPFVM_MAP_HASH_OF_MAPS) {
                bpfvm_map *inner;
                memcpy(&inner, val, sizeof(inner));
                printf("\"inner\": \"%s\"", bpfvm_map_name(inner));
            } else {
                mjson_value(stdout, m, val);
            }
            fputc('}', stdout);
        }
    }
    fputs("]}", stdout);
    free(key);
    free(next);
    free(val);
}

/* Every map of `obj` into "maps", and the global-data ones (named after
 * their section, starting with '.') into "internal". */
static void print_object_maps_json(const bpfvm_object *obj)
{
    for (int internal = 0; internal < 2; internal++) {
        printf(", \"%s\": {", internal ? "internal" : "maps");
        int n = 0;
        for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
            bpfvm_map *m = bpfvm_object_map(obj, i);
            if ((bpfvm_map_name(m)[0] == '.') != internal)
                continue;
            printf("%s\"%s\": ", n++ ? ", " : "", bpfvm_map_name(m));
            print_map_json(obj, m);
        }
        putchar('}');
    }
}

/* ---- reading: the same form, to fill a map before a run ---------------- */

typedef struct mjson_in {
    const char *s, *p;
    const char *err;      /* what went wrong (p is where) */
} mjson_in;

static void mjson_ws(mjson_in *j)
{
    while (isspace((unsigned char)*j->p))
        j->p++;
}

static int mjson_fail(mjson_in *j, const char *what)
{
    if (!j->err)
        j->err = what;
    return -1;
}

static int mjson_char(mjson_in *j, char c)
{
    mjson_ws(j);
    if (*j->p != c)
        return mjson_fail(j, c == ':' ? "expected ':'" : c == '{' ? "expected '{'"
                             : c == '[' ? "expected '['" : "unexpected character");
    j->p++;
    return 0;
}

/* A string without escapes into buf (size bytes). */
static int mjson_string(mjson_in *j, char *buf, size_t size)
{
    size_t n = 0;
    if (mjson_char(j, '"'))
        return mjson_fail(j, "expected a string");
    while (*j->p && *j->p != '"') {
        if (*j->p == '\\' || n + 1 >= size)
            return mjson_fail(j, *j->p == '\\' ? "escapes are not supported" : "string too long");
        buf[n++] = *j->p++;
    }
    if (*j->p != '"')
        return mjson_fail(j, "unterminated string");
    j->p++;
    buf[n] = '\0';
    return 0;
}

/* Skip any value (strings, numbers, literals, arrays, objects). */
static int mjson_skip(mjson_in *j, int depth)
{
    char tmp[4096];
    mjson_ws(j);
    if (depth > 32)
        return mjson_fail(j, "nested too deeply");
    if (*j->p == '"')
        return mjson_string(j, tmp, sizeof tmp);
    if (*j->p == '[' || *j->p == '{') {
        char close = *j->p == '[' ? ']' : '}';
        j->p++;
        mjson_ws(j);
        if (*j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (close == '}' && (mjson_string(j, tmp, sizeof tmp) || mjson_char(j, ':')))
                return -1;
            if (mjson_skip(j, depth + 1))
                return -1;
            mjson_ws(j);
            if (*j->p == close) {
                j->p++;
                return 0;
            }
            if (mjson_char(j, ','))
                return mjson_fail(j, "expected ',' or the end of the list");
        }
    }
    const char *start = j->p;
    while (isalnum((unsigned char)*j->p) || *j->p == '-' || *j->p == '+' || *j->p == '.')
        j->p++;
    return j->p == start ? mjson_fail(j, "expected a value") : 0;
}

/* A hex string of exactly `n` bytes into out. */
static int mjson_bytes(mjson_in *j, unsigned char *out, size_t n, const char *what)
{
    char buf[4096];
    size_t len;
    long bad;
    if (mjson_string(j, buf, sizeof buf))
        return -1;
    unsigned char *b = tool_parse_hex(buf, &len, &bad);
    if (!b || len != n) {
        free(b);
        return mjson_fail(j, what);
    }
    memcpy(out, b, n);
    free(b);
    return 0;
}

/* One entry {"key": .., "value": .. | "values": [..]}: set it in m. */
static int mjson_entry(mjson_in *j, bpfvm_map *m, unsigned char *key, unsigned char *val)
{
    const bpfvm_map_def *d = bpfvm_map_get_def(m);
    size_t stride = (d->value_size + 7u) & ~7u;
    int have_key = d->key_size == 0, have_val = 0;
    char name[32];
    memset(val, 0, bpfvm_map_host_value_size(m));
    if (mjson_char(j, '{'))
        return -1;
    mjson_ws(j);
    while (*j->p != '}') {
        if (mjson_string(j, name, sizeof name) || mjson_char(j, ':'))
            return -1;
        if (strcmp(name, "key") == 0 && d->key_size) {
            if (mjson_bytes(j, key, d->key_size, "a key of key_size bytes"))
                return -1;
            have_key = 1;
        } else if (strcmp(name, "value") == 0 && !map_is_percpu(d->type)) {
            if (mjson_bytes(j, val, d->value_size, "a value of value_size bytes"))
                return -1;
            have_val = 1;
        } else if (strcmp(name, "values") == 0 && map_is_percpu(d->type)) {
            if (mjson_char(j, '['))
                return -1;
            for (unsigned c = 0; c < bpfvm_num_possible_cpus(); c++)
                if ((c && mjson_char(j, ',')) ||
                    mjson_bytes(j, val + c * stride, d->value_size, "a value of value_size bytes"))
                    return -1;
            if (mjson_char(j, ']'))
                return mjson_fail(j, "expected one value per possible CPU");
            have_val = 1;
        } else if (mjson_skip(j, 0)) {
            return -1;
        }
        mjson_ws(j);
        if (*j->p == ',')
            j->p++;
        mjson_ws(j);
    }
    j->p++;
    if (!have_key || !have_val)
        return mjson_fail(j, "an entry needs a key and a value (or values)");
    int rc = bpfvm_map_update(m, d->key_size ? key : NULL, val, 0);
    return rc ? mjson_fail(j, "the map refused the entry (full, or a bad index)") : 0;
}

/* Fill map `m` from `text` (one map in the form above; only "entries" is
 * read). Returns 0, or -1 with *err and *at (byte offset) set. */
static int fill_map_json(bpfvm_map *m, const char *text, const char **err, size_t *at)
{
    mjson_in j = { text, text, NULL };
    const bpfvm_map_def *d = bpfvm_map_get_def(m);
    unsigned char *key = calloc(1, d->key_size + 1);
    unsigned char *val = calloc(1, bpfvm_map_host_value_size(m) + 1);
    char name[32];
    int rc = !key || !val ? mjson_fail(&j, "out of memory")
             : d->type == BPFVM_MAP_ARRAY_OF_MAPS || d->type == BPFVM_MAP_HASH_OF_MAPS
                 ? mjson_fail(&j, "maps of maps hold maps: they are not filled from JSON")
                 : mjson_char(&j, '{');
    mjson_ws(&j);
    while (!rc && *j.p != '}') {
        if ((rc = mjson_string(&j, name, sizeof name)) || (rc = mjson_char(&j, ':')))
            break;
        if (strcmp(name, "entries") == 0) {
            if ((rc = mjson_char(&j, '[')))
                break;
            mjson_ws(&j);
            while (!rc && *j.p != ']') {
                rc = mjson_entry(&j, m, key, val);
                mjson_ws(&j);
                if (!rc && *j.p == ',')
                    j.p++;
                mjson_ws(&j);
            }
            if (!rc)
                j.p++;
        } else {
            rc = mjson_skip(&j, 0);
        }
        mjson_ws(&j);
        if (!rc && *j.p == ',')
            j.p++;
        mjson_ws(&j);
        if (!rc && !*j.p)
            rc = mjson_fail(&j, "unexpected end of the text");
    }
    free(key);
    free(val);
    *err = j.err;
    *at = (size_t)(j.p - j.s);
    return rc ? -1 : 0;
}

#endif
