/* test_llvm_objdump.c - the LLVM syntax against llvm-objdump itself.
 *
 * Compiles the C programs in tests/asm with clang -O2 -target bpf (-mcpu v1, v2, v3),
 * takes the .text bytes (llvm-objcopy), and compares bpfvm's LLVM-syntax
 * disassembly of each instruction with `llvm-objdump -d --no-show-raw-insn`,
 * after normalising whitespace and dropping the address column and the
 * `<symbol+offset>` notes llvm-objdump adds after jump targets. Then the
 * assembler must turn llvm-objdump's own listing back into the same bytes.
 *
 * Known differences, checked rather than skipped:
 *  - a local call: llvm-objdump prints `call N`, the same text as a helper
 *    call; bpfvm prints `call pc+N` (the kernel's spelling) so the text keeps
 *    its meaning. Assembled from llvm-objdump's text it becomes a helper call.
 *  - lines llvm-objdump 14 cannot decode (`<unknown>`) are counted as skipped.
 * Without clang, llvm-objdump or llvm-objcopy the whole test is skipped.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "internal.h"
#include "test.h"

static int skipped;

static int have(const char *tool)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* Collapse whitespace runs to one space, trim, drop a trailing <sym> note. */
static void normalise(char *s)
{
    char *w = s;
    int space = 0;
    for (char *r = s; *r; r++) {
        if (isspace((unsigned char)*r)) {
            space = w != s;
            continue;
        }
        if (space)
            *w++ = ' ';
        space = 0;
        *w++ = *r;
    }
    *w = 0;
    char *lt = strrchr(s, '<');
    if (lt && lt > s && lt[-1] == ' ' && w[-1] == '>' && !strchr(lt, ' ') &&
        strcmp(lt, "<unknown>") != 0)
        lt[-1] = 0;
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static void check_object(const char *dir, const char *name, const char *cpu)
{
    char obj[1024], bin[1024], cmd[4096];
    snprintf(obj, sizeof obj, "%s/%s-%s.o", dir, name, cpu);
    snprintf(bin, sizeof bin, "%s/%s-%s.bin", dir, name, cpu);
    snprintf(cmd, sizeof cmd, "clang -O2 -target bpf -mcpu=%s -c tests/asm/%s.c -o %s", cpu, name,
             obj);
    int rc = system(cmd);
    CHECK(rc == 0, "%s", cmd);
    if (rc)
        return;
    snprintf(cmd, sizeof cmd, "llvm-objcopy -O binary --only-section=.text %s %s", obj, bin);
    rc = system(cmd);
    CHECK(rc == 0, "%s", cmd);
    size_t len = 0;
    bpfvm_insn *insns = rc ? NULL : read_file(bin, &len);
    CHECK(insns && len % 8 == 0 && len > 0, "%s: %zu bytes", bin, len);
    if (!insns || len % 8 || !len) {
        free(insns);
        return;
    }
    size_t n = len / 8;

    /* llvm-objdump's listing, line by line; also gathered as assembly text */
    snprintf(cmd, sizeof cmd, "llvm-objdump -d --no-show-raw-insn %s", obj);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL, "%s", cmd);
    if (!p) {
        free(insns);
        return;
    }
    size_t text_cap = 4096, text_len = 0, lines = 0, expect_index = 0;
    char *text = malloc(text_cap);
    char line[1024];
    text[0] = 0;
    while (fgets(line, sizeof line, p)) {
        char *e;
        char *s = line;
        while (*s == ' ')
            s++;
        if (!isdigit((unsigned char)*s))
            continue;
        unsigned long idx = strtoul(s, &e, 10);
        if (*e != ':')
            continue;
        char *theirs = e + 1;
        normalise(theirs);
        CHECK(idx == expect_index, "%s: listing at %lu, expected %zu", obj, idx, expect_index);
        if (idx >= n)
            break;
        char ours[200];
        int used = bpfvm_disasm_insn(insns, n, idx, BPFVM_DISASM_LLVM, ours, sizeof ours);
        expect_index = idx + (size_t)used;
        int row = bpfvm__decode(&insns[idx]);
        lines++;
        if (strcmp(theirs, "<unknown>") == 0) {
            skipped++;
            printf("skipped (llvm-objdump cannot decode): %s %lu: %s\n", obj, idx, ours);
        } else if (row >= 0 && bpfvm__ops[row].fmt == BPFVM__FMT_CALL_LOCAL) {
            char want_theirs[64], want_ours[64];
            snprintf(want_theirs, sizeof want_theirs, "call %d", insns[idx].imm);
            snprintf(want_ours, sizeof want_ours, "call pc%+d", insns[idx].imm);
            CHECK(strcmp(theirs, want_theirs) == 0 && strcmp(ours, want_ours) == 0,
                  "%s %lu: local call: llvm-objdump '%s', bpfvm '%s'", obj, idx, theirs, ours);
        } else {
            CHECK(strcmp(theirs, ours) == 0, "%s %lu: llvm-objdump '%s', bpfvm '%s'", obj, idx,
                  theirs, ours);
        }
        size_t need = text_len + strlen(theirs) + 2;
        if (need > text_cap) {
            while (need > text_cap)
                text_cap *= 2;
            char *nt = realloc(text, text_cap);
            if (!nt)
                break;
            text = nt;
        }
        text_len += (size_t)sprintf(text + text_len, "%s\n", theirs);
    }
    CHECK(pclose(p) == 0, "%s", cmd);
    CHECK(expect_index == n && lines > 0, "%s: listing covers %zu of %zu slots", obj,
          expect_index, n);

    /* llvm-objdump's text assembles back to the bytes (local calls aside) */
    bpfvm_insn *back = NULL;
    size_t count = 0;
    bpfvm_error err;
    if (!strstr(text, "<unknown>")) {
        rc = bpfvm_asm(text, obj, &back, &count, &err);
        CHECK(rc == 0, "assembling llvm-objdump's listing: %s", rc ? err.message : "");
        CHECK(rc || count == n, "%s: %zu slots back, want %zu", obj, count, n);
        for (size_t i = 0; rc == 0 && i < n && i < count; i++) {
            bpfvm_insn want = insns[i];
            int row = bpfvm__decode(&want);
            if (row >= 0 && bpfvm__ops[row].fmt == BPFVM__FMT_CALL_LOCAL)
                want.src = 0;
            CHECK(memcmp(&want, &back[i], 8) == 0, "%s slot %zu differs after assembly", obj, i);
        }
        free(back);
    }
    free(text);

    /* and bpfvm's own listing in both syntaxes, with and without labels */
    for (unsigned flags = 0; flags < 4; flags++) {
        char *out = NULL;
        CHECK(bpfvm_disasm(insns, n, flags, &out) == 0, "disasm");
        rc = bpfvm_asm(out, obj, &back, &count, &err);
        CHECK(rc == 0 && count == n && memcmp(back, insns, len) == 0,
              "%s: round trip with flags %u: %s", obj, flags, rc ? err.message : "bytes differ");
        free(back);
        free(out);
    }
    free(insns);
}

int main(void)
{
    static const char *const programs[] = { "alu", "mem", "calls", "atomics" };
    static const char *const cpus[] = { "v1", "v2", "v3" };
    if (!have("clang") || !have("llvm-objdump") || !have("llvm-objcopy")) {
        printf("skipped: clang, llvm-objdump or llvm-objcopy not installed\n");
        return TEST_END();
    }
    const char *build = getenv("BUILD");
    char dir[512], cmd[600];
    snprintf(dir, sizeof dir, "%s/tests/llvm", build && *build ? build : "build");
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(system(cmd) == 0, "%s", cmd);
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++)
        for (size_t k = 0; k < sizeof cpus / sizeof cpus[0]; k++)
            check_object(dir, programs[i], cpus[k]);
    if (skipped)
        printf("%d instructions skipped (llvm-objdump printed <unknown>)\n", skipped);
    return TEST_END();
}
