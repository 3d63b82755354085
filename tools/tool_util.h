/* tool_util.h - small file and hex helpers shared by the command-line tools
 * and the data-driven test runner (header-only: each program is one .c). */
#ifndef BPFVM_TOOL_UTIL_H
#define BPFVM_TOOL_UTIL_H

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read a whole stream into a malloc'd buffer with a NUL after the data.
 * Returns NULL (errno set) on failure. */
static inline unsigned char *tool_read_stream(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    errno = 0;
    if (!buf)
        return NULL;
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                int saved = errno ? errno : EIO;
                free(buf);
                errno = saved;
                return NULL;
            }
            break;
        }
        unsigned char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            return NULL;
        }
        buf = nb;
        cap *= 2;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Read a whole file ("-" = stdin). NULL (errno set) on failure. */
static inline unsigned char *tool_read_file(const char *path, size_t *len)
{
    if (strcmp(path, "-") == 0)
        return tool_read_stream(stdin, len);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = tool_read_stream(f, len);
    int saved = errno;
    fclose(f);
    errno = saved;
    return buf;
}

static inline int tool_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parse hex bytes: pairs of hex digits, optionally separated by whitespace,
 * commas or a "0x" prefix per byte group ("00 01", "0001", "0x00, 0x01").
 * Returns a malloc'd buffer (at least one byte allocated) or NULL with
 * *bad set to the offset of the first invalid character (or -1 when out of
 * memory). */
static inline unsigned char *tool_parse_hex(const char *s, size_t *len, long *bad)
{
    size_t n = strlen(s), out = 0;
    unsigned char *buf = malloc(n / 2 + 1);
    if (!buf) {
        *bad = -1;
        return NULL;
    }
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c) || c == ',') {
            i++;
            continue;
        }
        if (c == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') && tool_hexval(s[i + 2]) >= 0) {
            i += 2;
            continue;
        }
        int hi = tool_hexval(c), lo = i + 1 < n ? tool_hexval(s[i + 1]) : -1;
        if (hi < 0 || lo < 0) {
            *bad = (long)(hi < 0 ? i : i + 1);
            free(buf);
            return NULL;
        }
        buf[out++] = (unsigned char)(hi << 4 | lo);
        i += 2;
    }
    *len = out;
    return buf;
}

/* Does the name end with this suffix? */
static inline int tool_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ELF objects start with 0x7f 'E' 'L' 'F'. */
static inline int tool_is_elf(const unsigned char *data, size_t len)
{
    return len >= 4 && memcmp(data, "\x7f" "ELF", 4) == 0;
}

/* Assembly text is recognised by its extension. */
static inline int tool_is_asm_name(const char *path)
{
    return tool_ends_with(path, ".s") || tool_ends_with(path, ".asm") ||
           tool_ends_with(path, ".S");
}

#endif
