/* test_data.c - the data-driven test runner.
 *
 * Walks tests/data (or the files and directories given as arguments) for
 * *.data files and drives each one through every engine:
 *
 *   assemble -> disassemble (classic, LLVM, classic with labels) ->
 *   re-assemble (bytes must be equal) -> load (verifier) -> interpret ->
 *   JIT, plain and with constant blinding (when this build has a JIT: same
 *   result or same error code and instruction index, same memory afterwards)
 *   -> for programs that run to completion, both engines again in unchecked
 *   mode (same result, same memory).
 * Run on the whole tree (no arguments), it also checks that the programs
 * that load contain every instruction of the opcode table.
 *
 * File format (one test per file; lines starting with '#' before the first
 * section and inside hex sections are comments):
 *
 *   -- asm        program text (either syntax)
 *   -- raw        program as hex bytes (instead of -- asm)
 *   -- mem        input memory, hex bytes
 *   -- mbuff      metadata buffer, hex bytes (mode mbuff)
 *   -- region     an extra memory region, hex bytes; its host address is
 *                 written (u64, little-endian) over the first 8 bytes of mem
 *   -- options    words: mode raw|mbuff|none|fixed-mbuff SIZE DATA_OFF END_OFF,
 *                 budget N, stack N, depth N, helpers std|test, unchecked,
 *                 checked-only (the result depends on memory checks: no
 *                 unchecked stage), region r|w|rw (access of the -- region
 *                 section, default r), misaligned-atomics (an unchecked run
 *                 makes a misaligned atomic access: only hosts whose atomic
 *                 instructions take any address, x86-64, run it; on arm64
 *                 they trap, so such a file only loads there)
 *   -- result     expected r0 (hex, decimal, or negative decimal)
 *   -- error      expected error name (EMEMORY, EVERIFY, EASM, ...), then
 *                 optional lines: "insn N", "line N", or a message substring
 *
 * Helpers of "helpers test": 100 fails the run (bpfvm_ctx_fail), 101 returns
 * r1+r2+r3+r4+r5, 102 returns 1 if the program may access [r1, r1+r2) (for
 * writing when r3 != 0) else 0.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bpfvm.h"
#include "internal.h" /* the opcode table, for the coverage check */
#include "test.h"
#include "../tools/tool_util.h"

#define MAX_SUBSTR 4
#define NO_INSN INT64_MIN

typedef struct tcase {
    const char *path;
    char *asm_text;
    unsigned char *raw, *mem, *mbuff, *region;
    size_t raw_len, mem_len, mbuff_len, region_len;
    int have_asm, have_raw, have_mbuff, have_region;
    unsigned region_flags;
    /* options */
    bpfvm_mode mode;
    size_t fixed_size, fixed_data, fixed_end;
    uint64_t budget;
    long stack, depth; /* -1: default */
    int std_helpers, test_helpers, unchecked, checked_only, misaligned_atomics;
    /* expectation */
    int have_result;
    uint64_t result;
    int have_error, err_code;
    int64_t err_insn;
    int32_t err_line;
    char *err_substr[MAX_SUBSTR];
    int n_substr;
} tcase;

/* Outcome of one run. */
typedef struct outcome {
    int rc;
    uint64_t r0;
    bpfvm_error err;
    unsigned char *mem, *mbuff, *region; /* memory afterwards (owned) */
    uint64_t steps, ended; /* traced runs: hook calls, and executed count at the end */
} outcome;

static int jit_available;
/* Which rows of the opcode table some loaded test program contains. */
static unsigned char covered[BPFVM__OP_COUNT];

/* ---- parsing ------------------------------------------------------------- */

static void free_case(tcase *t)
{
    free(t->asm_text);
    free(t->raw);
    free(t->mem);
    free(t->mbuff);
    free(t->region);
    for (int i = 0; i < t->n_substr; i++)
        free(t->err_substr[i]);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

/* Remove '#' comments from a hex section. */
static void strip_comments(char *s)
{
    char *line = s;
    while (*line) {
        char *nl = strchr(line, '\n');
        char *hash = strchr(line, '#');
        if (hash && (!nl || hash < nl))
            memset(hash, ' ', (size_t)((nl ? nl : hash + strlen(hash)) - hash));
        if (!nl)
            break;
        line = nl + 1;
    }
}

static int parse_number(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-') {
        long long v = strtoll(s, &end, 0);
        *out = (uint64_t)v;
    } else {
        *out = strtoull(s, &end, 0);
    }
    return (*s && !*end && !errno) ? 0 : -1;
}

static int errcode_by_name(const char *name)
{
    for (int c = 0; c >= -64; c--)
        if (strcmp(bpfvm_errname(c), name) == 0)
            return c;
    return 1;
}

static int parse_hex_section(tcase *t, char *body, unsigned char **out, size_t *len)
{
    long bad;
    strip_comments(body);
    *out = tool_parse_hex(body, len, &bad);
    if (!*out)
        fprintf(stderr, "%s: invalid hex at '%.12s'\n", t->path, bad >= 0 ? body + bad : "");
    return *out ? 0 : -1;
}

static int parse_options(tcase *t, char *body)
{
    char *save = NULL;
    strip_comments(body);
    for (char *w = strtok_r(body, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
        char *v = NULL;
        uint64_t n = 0;
        int needs_value = strcmp(w, "mode") == 0 || strcmp(w, "budget") == 0 ||
                          strcmp(w, "stack") == 0 || strcmp(w, "depth") == 0 ||
                          strcmp(w, "helpers") == 0 || strcmp(w, "region") == 0;
        if (needs_value && !(v = strtok_r(NULL, " \t\r\n", &save)))
            goto bad;
        if (strcmp(w, "mode") == 0) {
            if (strcmp(v, "raw") == 0)
                t->mode = BPFVM_MODE_RAW;
            else if (strcmp(v, "mbuff") == 0)
                t->mode = BPFVM_MODE_MBUFF;
            else if (strcmp(v, "none") == 0)
                t->mode = BPFVM_MODE_NONE;
            else if (strcmp(v, "fixed-mbuff") == 0) {
                uint64_t a, b, c;
                char *x = strtok_r(NULL, " \t\r\n", &save), *y = strtok_r(NULL, " \t\r\n", &save),
                     *z = strtok_r(NULL, " \t\r\n", &save);
                if (!x || !y || !z || parse_number(x, &a) || parse_number(y, &b) ||
                    parse_number(z, &c))
                    goto bad;
                t->mode = BPFVM_MODE_FIXED_MBUFF;
                t->fixed_size = (size_t)a, t->fixed_data = (size_t)b, t->fixed_end = (size_t)c;
            } else
                goto bad;
        } else if (strcmp(w, "budget") == 0 || strcmp(w, "stack") == 0 ||
                   strcmp(w, "depth") == 0) {
            if (parse_number(v, &n))
                goto bad;
            if (w[0] == 'b')
                t->budget = n;
            else if (w[0] == 's')
                t->stack = (long)n;
            else
                t->depth = (long)n;
        } else if (strcmp(w, "helpers") == 0) {
            if (strcmp(v, "std") == 0)
                t->std_helpers = 1;
            else if (strcmp(v, "test") == 0)
                t->test_helpers = 1;
            else
                goto bad;
        } else if (strcmp(w, "region") == 0) {
            t->region_flags = (strchr(v, 'r') ? BPFVM_READ : 0u) |
                              (strchr(v, 'w') ? BPFVM_WRITE : 0u);
        } else if (strcmp(w, "unchecked") == 0) {
            t->unchecked = 1;
        } else if (strcmp(w, "checked-only") == 0) {
            t->checked_only = 1;
        } else if (strcmp(w, "misaligned-atomics") == 0) {
            t->misaligned_atomics = 1;
        } else {
            goto bad;
        }
        continue;
    bad:
        fprintf(stderr, "%s: bad option near '%s'\n", t->path, w);
        return -1;
    }
    return 0;
}

static int parse_error_section(tcase *t, char *body)
{
    char *save = NULL;
    int first = 1;
    for (char *line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line = trim(line);
        if (!*line || *line == '#')
            continue;
        uint64_t n;
        if (first) {
            t->err_code = errcode_by_name(line);
            if (t->err_code > 0) {
                fprintf(stderr, "%s: unknown error name '%s'\n", t->path, line);
                return -1;
            }
            first = 0;
        } else if (strncmp(line, "insn ", 5) == 0 && parse_number(line + 5, &n) == 0) {
            t->err_insn = (int64_t)n;
        } else if (strncmp(line, "line ", 5) == 0 && parse_number(line + 5, &n) == 0) {
            t->err_line = (int32_t)n;
        } else if (t->n_substr < MAX_SUBSTR) {
            t->err_substr[t->n_substr] = strdup(line);
            if (!t->err_substr[t->n_substr])
                return -1;
            t->n_substr++;
        } else {
            fprintf(stderr, "%s: too many message substrings\n", t->path);
            return -1;
        }
    }
    t->have_error = !first;
    return first ? -1 : 0;
}

static int parse_section(tcase *t, const char *sec, char *body)
{
    if (strcmp(sec, "asm") == 0) {
        t->have_asm = 1;
        t->asm_text = strdup(body);
        return t->asm_text ? 0 : -1;
    }
    if (strcmp(sec, "raw") == 0) {
        t->have_raw = 1;
        return parse_hex_section(t, body, &t->raw, &t->raw_len);
    }
    if (strcmp(sec, "mem") == 0)
        return parse_hex_section(t, body, &t->mem, &t->mem_len);
    if (strcmp(sec, "mbuff") == 0) {
        t->have_mbuff = 1;
        return parse_hex_section(t, body, &t->mbuff, &t->mbuff_len);
    }
    if (strcmp(sec, "region") == 0) {
        t->have_region = 1;
        return parse_hex_section(t, body, &t->region, &t->region_len);
    }
    if (strcmp(sec, "options") == 0)
        return parse_options(t, body);
    if (strcmp(sec, "error") == 0)
        return parse_error_section(t, body);
    if (strcmp(sec, "result") == 0) {
        strip_comments(body);
        t->have_result = 1;
        if (parse_number(trim(body), &t->result) == 0)
            return 0;
        fprintf(stderr, "%s: bad result '%s'\n", t->path, trim(body));
        return -1;
    }
    fprintf(stderr, "%s: unknown section '%s'\n", t->path, sec);
    return -1;
}

/* Split the file into "-- name" sections and parse each. Returns 0 or -1. */
static int parse_case(tcase *t, char *text)
{
    char *sec = NULL, *body = NULL, *line = text;
    for (;;) {
        int at_end = *line == 0, header = !at_end && strncmp(line, "-- ", 3) == 0;
        if ((header || at_end) && sec) {
            if (line > text)
                line[-1] = 0; /* end the previous body */
            if (parse_section(t, sec, body))
                return -1;
            sec = NULL;
        }
        if (at_end)
            break;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (header) {
            body = nl ? nl + 1 : line + strlen(line);
            sec = trim(line + 3);
        } else if (sec) {
            if (nl)
                *nl = '\n'; /* body text stays whole */
        } else if (*trim(line) && *trim(line) != '#') {
            fprintf(stderr, "%s: text before the first section: '%s'\n", t->path, trim(line));
            return -1;
        }
        line = nl ? nl + 1 : line + strlen(line);
    }
    if (t->have_asm == t->have_raw) {
        fprintf(stderr, "%s: needs exactly one of -- asm and -- raw\n", t->path);
        return -1;
    }
    if (t->have_result == t->have_error) {
        fprintf(stderr, "%s: needs exactly one of -- result and -- error\n", t->path);
        return -1;
    }
    if (t->have_region && t->mem_len < 8) {
        fprintf(stderr, "%s: -- region needs at least 8 bytes of -- mem\n", t->path);
        return -1;
    }
    return 0;
}

/* ---- helpers for "helpers test" ------------------------------------------ */

static uint64_t helper_fail(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                            uint64_t e)
{
    (void)a, (void)b, (void)c, (void)d, (void)e;
    bpfvm_ctx_fail(ctx, "test helper failure requested");
    return 0;
}

static uint64_t helper_sum(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                           uint64_t e)
{
    (void)ctx;
    return a + b + c + d + e;
}

static uint64_t helper_can_access(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c,
                                  uint64_t d, uint64_t e)
{
    (void)d, (void)e;
    return bpfvm_ctx_access(ctx, a, b, c != 0) != NULL;
}

/* ---- running -------------------------------------------------------------- */

static bpfvm_vm *make_vm(const tcase *t, unsigned char *region)
{
    bpfvm_vm *vm = bpfvm_create();
    if (!vm)
        return NULL;
    /* bpfvm_set_fixed_mbuff also selects the fixed-mbuff mode */
    int rc = t->mode == BPFVM_MODE_FIXED_MBUFF
                 ? bpfvm_set_fixed_mbuff(vm, t->fixed_size, t->fixed_data, t->fixed_end)
                 : bpfvm_set_mode(vm, t->mode);
    if (!rc)
        rc = bpfvm_set_budget(vm, t->budget);
    if (!rc && t->stack >= 0)
        rc = bpfvm_set_stack_size(vm, (size_t)t->stack);
    if (!rc && t->depth >= 0)
        rc = bpfvm_set_call_depth(vm, (unsigned)t->depth);
    if (!rc && t->unchecked)
        rc = bpfvm_set_checked(vm, 0);
    if (!rc && t->std_helpers)
        rc = bpfvm_register_std_helpers(vm);
    if (!rc && t->test_helpers) {
        rc = bpfvm_register_helper(vm, 100, "test_fail", helper_fail, NULL);
        if (!rc)
            rc = bpfvm_register_helper(vm, 101, "test_sum", helper_sum, NULL);
        if (!rc)
            rc = bpfvm_register_helper(vm, 102, "test_can_access", helper_can_access, NULL);
    }
    if (!rc && region)
        rc = bpfvm_add_region(vm, region, t->region_len, t->region_flags);
    if (rc) {
        fprintf(stderr, "%s: configuration failed: %s\n", t->path,
                bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);
        return NULL;
    }
    return vm;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

static void free_outcome(outcome *o)
{
    free(o->mem);
    free(o->mbuff);
    free(o->region);
}

/* A traced run's hook: counts the instructions it is called for. */
static int count_steps(void *user, const bpfvm_trace_state *st)
{
    outcome *o = user;
    if (st->insn == BPFVM_TRACE_END)
        o->ended = st->executed;
    else
        o->steps++;
    return 0;
}

enum { ENGINE_INTERP, ENGINE_JIT, ENGINE_TRACED };

/* Run once (an ENGINE_*) on fresh copies of the memory images. */
static int run_once(const tcase *t, bpfvm_vm *vm, int jit, unsigned char *region, outcome *o)
{
    memset(o, 0, sizeof *o);
    o->mem = dup_bytes(t->mem, t->mem_len);
    o->mbuff = dup_bytes(t->mbuff, t->mbuff_len);
    if (!o->mem || !o->mbuff)
        return -1;
    if (region) {
        memcpy(region, t->region, t->region_len);
        uint64_t addr = (uint64_t)(uintptr_t)region;
        memcpy(o->mem, &addr, sizeof addr);
    }
    void *mem = t->mem_len ? o->mem : NULL, *mbuff = t->have_mbuff ? o->mbuff : NULL;
    o->rc = jit == ENGINE_TRACED ? bpfvm_run_traced(vm, mem, t->mem_len, mbuff, t->mbuff_len,
                                                    count_steps, o, &o->r0, &o->err)
            : jit ? bpfvm_run_jit(vm, mem, t->mem_len, mbuff, t->mbuff_len, &o->r0, &o->err)
                  : bpfvm_run(vm, mem, t->mem_len, mbuff, t->mbuff_len, &o->r0, &o->err);
    if (region && !(o->region = dup_bytes(region, t->region_len)))
        return -1;
    return 0;
}

/* Does an error match the expectation? On mismatch, describe it in why. */
static int error_matches(const tcase *t, int rc, const bpfvm_error *e, char *why, size_t n)
{
    if (rc != t->err_code) {
        snprintf(why, n, "expected %s, got %s: %s", bpfvm_errname(t->err_code), bpfvm_errname(rc),
                 rc ? e->message : "success");
        return 0;
    }
    if (t->err_insn != NO_INSN && e->insn != t->err_insn) {
        snprintf(why, n, "expected %s at insn %" PRId64 ", got insn %" PRId64 ": %s",
                 bpfvm_errname(rc), t->err_insn, e->insn, e->message);
        return 0;
    }
    if (t->err_line >= 0 && e->line != t->err_line) {
        snprintf(why, n, "expected %s at line %d, got line %d: %s", bpfvm_errname(rc),
                 (int)t->err_line, (int)e->line, e->message);
        return 0;
    }
    for (int i = 0; i < t->n_substr; i++) {
        if (!strstr(e->message, t->err_substr[i])) {
            snprintf(why, n, "message '%s' lacks '%s'", e->message, t->err_substr[i]);
            return 0;
        }
    }
    return 1;
}

/* Does a run outcome match the expectation? */
static int outcome_matches(const tcase *t, const outcome *o, char *why, size_t n)
{
    if (t->have_error)
        return error_matches(t, o->rc, &o->err, why, n);
    if (o->rc) {
        snprintf(why, n, "expected 0x%" PRIx64 ", got %s: %s", t->result, bpfvm_errname(o->rc),
                 o->err.message);
        return 0;
    }
    if (o->r0 != t->result) {
        snprintf(why, n, "expected 0x%" PRIx64 ", got 0x%" PRIx64, t->result, o->r0);
        return 0;
    }
    return 1;
}

/* disassemble -> re-assemble must give the same bytes. */
static void check_roundtrip(const tcase *t, const bpfvm_insn *insns, size_t count,
                            unsigned flags, const char *stage)
{
    char *text = NULL;
    bpfvm_insn *again = NULL;
    size_t n = 0;
    bpfvm_error err;
    int rc = bpfvm_disasm(insns, count, flags, &text);
    CHECK(rc == 0, "%s [%s]: disassembly failed: %s", t->path, stage, bpfvm_errname(rc));
    if (rc)
        goto done;
    rc = bpfvm_asm(text, stage, &again, &n, &err);
    CHECK(rc == 0 && n == count && memcmp(again, insns, count * sizeof *insns) == 0,
          "%s [%s]: re-assembly differs (%s %s)\n%s", t->path, stage, bpfvm_errname(rc),
          rc ? err.message : "bytes differ", text);
done:
    free(text);
    free(again);
}

static int same_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
    return n == 0 || (a && b && memcmp(a, b, n) == 0);
}

static void compare_runs(const tcase *t, const outcome *in, const outcome *jt, const char *stage,
                         const char *engine);

/* Compile with `flags`, run, and compare with the interpreter's outcome.
 * Returns nonzero if the stage could not run. */
static int check_jit(const tcase *t, bpfvm_vm *vm, unsigned char *region, const outcome *in,
                     unsigned flags, const char *stage)
{
    outcome jt;
    int rc = bpfvm_compile(vm, flags);
    CHECK(rc == 0, "%s [%s]: compile failed: %s: %s", t->path, stage, bpfvm_errname(rc),
          bpfvm_last_error(vm)->message);
    if (rc)
        return -1;
    if (run_once(t, vm, ENGINE_JIT, region, &jt)) {
        CHECK(0, "%s [%s]: out of memory", t->path, stage);
        free_outcome(&jt);
        return -1;
    }
    compare_runs(t, in, &jt, stage, "JIT");
    free_outcome(&jt);
    return 0;
}

/* Does the outcome of another engine equal the interpreter's? */
static void compare_runs(const tcase *t, const outcome *in, const outcome *jt, const char *stage,
                         const char *engine)
{
    char why[600];
    int same = jt->rc == in->rc && (in->rc ? jt->err.insn == in->err.insn : jt->r0 == in->r0);
    int same_mem = same_bytes(in->mem, jt->mem, t->mem_len) &&
                   same_bytes(in->mbuff, jt->mbuff, t->mbuff_len) &&
                   same_bytes(in->region, jt->region, t->region_len);
    CHECK(same && same_mem && outcome_matches(t, jt, why, sizeof why),
          "%s [%s]: interpreter gave %s 0x%" PRIx64 " insn %" PRId64 ", %s gave %s 0x%" PRIx64
          " insn %" PRId64 " (%s)%s",
          t->path, stage, bpfvm_errname(in->rc), in->r0, in->err.insn, engine,
          bpfvm_errname(jt->rc), jt->r0, jt->err.insn, jt->rc ? jt->err.message : "",
          same_mem ? "" : "; memory differs afterwards");
}

/* A traced run (one hook call per instruction, no fused forms) gives the
 * interpreter's outcome, and the hook ran once per instruction the run
 * counts as executed. */
static void check_traced(const tcase *t, bpfvm_vm *vm, unsigned char *region, const outcome *in)
{
    outcome tr;
    if (run_once(t, vm, ENGINE_TRACED, region, &tr)) {
        CHECK(0, "%s [traced]: out of memory", t->path);
    } else {
        compare_runs(t, in, &tr, "traced", "the traced run");
        /* a fault or the budget stops the run before its instruction completes */
        CHECK(tr.steps == tr.ended + (tr.rc != 0) && tr.steps > 0,
              "%s [traced]: %" PRIu64 " hook calls, %" PRIu64 " executed (%s)", t->path,
              tr.steps, tr.ended, bpfvm_errname(tr.rc));
    }
    free_outcome(&tr);
}

static void run_case(tcase *t)
{
    bpfvm_insn *insns = NULL;
    size_t count = 0;
    const unsigned char *bytes;
    size_t len;
    bpfvm_vm *vm = NULL;
    unsigned char *region = NULL;
    outcome in = { 0 }, un = { 0 };
    char why[600];

    /* assemble */
    if (t->have_asm) {
        bpfvm_error err;
        int rc = bpfvm_asm(t->asm_text, t->path, &insns, &count, &err);
        if (t->have_error && t->err_code == BPFVM_EASM) {
            CHECK(error_matches(t, rc, &err, why, sizeof why), "%s [asm]: %s", t->path, why);
            goto done;
        }
        CHECK(rc == 0, "%s [asm]: %s", t->path, err.message);
        if (rc)
            goto done;
        bytes = (const unsigned char *)insns;
        len = count * sizeof *insns;
    } else {
        bytes = t->raw;
        len = t->raw_len;
        if (len % sizeof(bpfvm_insn) == 0) {
            count = len / sizeof(bpfvm_insn);
            insns = malloc(len + 1);
            if (!insns)
                goto done;
            memcpy(insns, bytes, len);
        }
    }

    /* disassemble -> re-assemble, for text programs and verifiable bytecode */
    if (insns && count) {
        int valid = bpfvm_verify(NULL, insns, count, NULL, NULL, NULL) == 0;
        if (t->have_asm || valid) {
            check_roundtrip(t, insns, count, 0, "roundtrip-classic");
            check_roundtrip(t, insns, count, BPFVM_DISASM_LLVM, "roundtrip-llvm");
        }
        if (valid)
            check_roundtrip(t, insns, count, BPFVM_DISASM_LABELS, "roundtrip-labels");
    }

    /* load */
    if (t->have_region && !(region = dup_bytes(t->region, t->region_len)))
        goto done;
    vm = make_vm(t, region);
    CHECK(vm != NULL, "%s [setup]: cannot create the VM", t->path);
    if (!vm)
        goto done;
    int rc = bpfvm_load(vm, len ? bytes : (const void *)"", len);
    if (rc) {
        const bpfvm_error *e = bpfvm_last_error(vm);
        if (t->have_error)
            CHECK(error_matches(t, rc, e, why, sizeof why), "%s [load]: %s", t->path, why);
        else
            CHECK(0, "%s [load]: %s: %s", t->path, bpfvm_errname(rc), e->message);
        goto done;
    }
    size_t loaded_count;
    const bpfvm_insn *loaded = bpfvm_program(vm, &loaded_count);
    for (size_t i = 0; i < count; i++) {
        int op = bpfvm__decode(&insns[i]);
        if (op >= 0)
            covered[op] = 1;
        if (op == BPFVM__OP_LDDW)
            i++;
    }
    CHECK(loaded && loaded_count * sizeof *loaded == len && memcmp(loaded, bytes, len) == 0,
          "%s [load]: loaded program differs from the input", t->path);

#if !defined(__x86_64__)
    if (t->misaligned_atomics) {
        printf("%s: not run: misaligned atomics trap on this host\n", t->path);
        goto done;
    }
#endif
    /* interpret */
    if (run_once(t, vm, ENGINE_INTERP, region, &in)) {
        CHECK(0, "%s [interp]: out of memory", t->path);
        goto done;
    }
    CHECK(outcome_matches(t, &in, why, sizeof why), "%s [interp]: %s", t->path, why);
    check_traced(t, vm, region, &in);

    /* JIT, plain and with constant blinding: same outcome and same memory
     * afterwards as the interpreter */
    if (jit_available)
        for (int blind = 0; blind < 2; blind++)
            if (check_jit(t, vm, region, &in, blind ? BPFVM_JIT_BLIND : 0,
                          blind ? "jit-blind" : "jit"))
                break;

    /* A program that runs to completion gives the same result and memory
     * without memory checks, in both engines. */
    if (t->have_result && !t->unchecked && !t->checked_only && in.rc == 0 &&
        bpfvm_set_checked(vm, 0) == 0) {
        if (run_once(t, vm, ENGINE_INTERP, region, &un)) {
            CHECK(0, "%s [interp-unchecked]: out of memory", t->path);
            goto done;
        }
        CHECK(outcome_matches(t, &un, why, sizeof why) && same_bytes(in.mem, un.mem, t->mem_len) &&
                  same_bytes(in.mbuff, un.mbuff, t->mbuff_len) &&
                  same_bytes(in.region, un.region, t->region_len),
              "%s [interp-unchecked]: %s", t->path,
              outcome_matches(t, &un, why, sizeof why) ? "memory differs afterwards" : why);
        if (jit_available)
            check_jit(t, vm, region, &in, 0, "jit-unchecked");
    }
done:
    free_outcome(&in);
    free_outcome(&un);
    bpfvm_destroy(vm);
    free(region);
    free(insns);
}

static void run_file(const char *path)
{
    size_t len;
    char *text = (char *)tool_read_file(path, &len);
    CHECK(text != NULL, "%s [parse]: cannot read: %s", path, strerror(errno));
    if (!text)
        return;
    tcase t;
    memset(&t, 0, sizeof t);
    t.path = path;
    t.stack = t.depth = -1;
    t.err_insn = NO_INSN;
    t.err_line = -1;
    t.region_flags = BPFVM_READ;
    int ok = strlen(text) == len && parse_case(&t, text) == 0;
    CHECK(ok, "%s [parse]: malformed test file", path);
    if (ok)
        run_case(&t);
    free_case(&t);
    free(text);
}

/* ---- walking the tree ----------------------------------------------------- */

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect(const char *path, path_list *out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        CHECK(0, "%s: %s", path, strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 256;
            char **v = realloc(out->v, cap * sizeof *v);
            if (!v)
                return;
            out->v = v;
            out->cap = cap;
        }
        char *copy = strdup(path);
        if (copy)
            out->v[out->n++] = copy;
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        CHECK(0, "%s: %s", path, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(n);
        if (!child)
            break;
        snprintf(child, n, "%s/%s", path, e->d_name);
        if (stat(child, &st) == 0 && (S_ISDIR(st.st_mode) || tool_ends_with(child, ".data")))
            collect(child, out);
        free(child);
    }
    closedir(d);
}

/* Does this build have a working JIT? (Compiling "mov r0, 0; exit".) */
static int probe_jit(void)
{
    const bpfvm_insn prog[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_EXIT() };
    bpfvm_vm *vm = bpfvm_create();
    int ok = vm && bpfvm_load(vm, prog, sizeof prog) == 0 && bpfvm_compile(vm, 0) == 0;
    bpfvm_destroy(vm);
    return ok;
}

int main(int argc, char **argv)
{
    path_list files = { NULL, 0, 0 };
    if (argc < 2)
        collect("tests/data", &files);
    for (int i = 1; i < argc; i++)
        collect(argv[i], &files);
    qsort(files.v, files.n, sizeof *files.v, cmp_str);
    jit_available = probe_jit();
    if (!jit_available)
        printf("note: no JIT in this build; the JIT stage is skipped\n");
    CHECK(files.n > 0, "no test files found");
    for (size_t i = 0; i < files.n; i++) {
        run_file(files.v[i]);
        free(files.v[i]);
    }
    free(files.v);
    printf("%zu files\n", files.n);
    /* The whole suite must contain every instruction of the table. */
    if (argc < 2)
        for (int op = 0; op < BPFVM__OP_COUNT; op++)
            CHECK(covered[op], "no test program contains %s (opcode 0x%02x)", bpfvm__ops[op].name,
                  bpfvm__ops[op].code);
    return TEST_END();
}
