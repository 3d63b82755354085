/* bpfvm_plugin.c - runs one program for the bpf_conformance test suite.
 *
 * Protocol: `bpfvm_plugin [MEMHEX] [OPTIONS]`. MEMHEX, when present, is the
 * first argument: the input memory as hex byte pairs separated by spaces
 * (it may be empty). The program arrives on stdin as one line of hex byte
 * pairs (or with --program HEX); with --elf those bytes are an ELF object.
 * The program runs in raw mode (r1 = memory, r2 = its length) with 512-byte
 * stack frames; helper 5 returns its first argument. On success r0 is
 * printed in hex (no prefix) and the exit status is 0; otherwise one line
 * naming the error is printed and the status is 1 (2 for usage errors).
 *
 * Options may also arrive together in one argument ("--jit --elf"), or as
 * an empty argument, as older versions of the suite pass them.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "tool_util.h"

static const char usage[] =
    "usage: bpfvm_plugin [MEMHEX] [--jit] [--elf] [--budget N] [--program HEX]\n"
    "Run the program given as hex bytes on stdin (or --program) in raw mode and\n"
    "print r0 in hex. MEMHEX is the input memory as hex byte pairs.\n"
    "  --jit          use the JIT (x86-64, arm64)\n"
    "  --elf          the program bytes are an ELF object\n"
    "  --budget N     stop after N executed instructions\n"
    "  --program HEX  the program, instead of reading stdin\n";

static uint64_t helper_identity(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3,
                                uint64_t r4, uint64_t r5)
{
    (void)ctx, (void)r2, (void)r3, (void)r4, (void)r5;
    return r1;
}

typedef struct plugin_opts {
    const char *mem_hex, *prog_hex;
    int jit, elf;
    uint64_t budget;
} plugin_opts;

/* Handle one option word; *i advances past a value. 0 ok, 2 usage error. */
static int take_option(plugin_opts *p, char **words, int n, int *i)
{
    const char *w = words[*i];
    if (strcmp(w, "--jit") == 0) {
        p->jit = 1;
    } else if (strcmp(w, "--elf") == 0) {
        p->elf = 1;
    } else if (strcmp(w, "--program") == 0 || strcmp(w, "--budget") == 0) {
        if (*i + 1 >= n) {
            fprintf(stderr, "bpfvm_plugin: %s needs a value\n", w);
            return 2;
        }
        const char *v = words[++*i];
        if (w[2] == 'p') {
            p->prog_hex = v;
        } else {
            char *end;
            p->budget = strtoull(v, &end, 0);
            if (!*v || *end) {
                fprintf(stderr, "bpfvm_plugin: invalid budget '%s'\n", v);
                return 2;
            }
        }
    } else {
        fprintf(stderr, "bpfvm_plugin: unknown option '%s' (see --help)\n", w);
        return 2;
    }
    return 0;
}

/* An argument holding several space-separated options. */
static int take_option_group(plugin_opts *p, char *arg)
{
    char *words[32];
    int n = 0;
    for (char *tok = strtok(arg, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (n == 32) {
            fprintf(stderr, "bpfvm_plugin: too many options\n");
            return 2;
        }
        words[n++] = tok;
    }
    for (int i = 0; i < n; i++) {
        int rc = take_option(p, words, n, &i);
        if (rc)
            return rc;
    }
    return 0;
}

static unsigned char *hex_or_die(const char *what, const char *hex, size_t *len)
{
    long bad;
    unsigned char *b = tool_parse_hex(hex, len, &bad);
    if (!b) {
        if (bad < 0)
            printf("out of memory\n");
        else
            printf("invalid hex in %s at offset %ld\n", what, bad);
    }
    return b;
}

int main(int argc, char **argv)
{
    plugin_opts p = { NULL, NULL, 0, 0, 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        int rc;
        if (i > 1 && argv[i][0] == 0)
            continue; /* an empty option string */
        if (strncmp(argv[i], "--", 2) != 0) {
            if (i != 1) {
                fprintf(stderr, "bpfvm_plugin: unexpected argument '%.20s'\n", argv[i]);
                return 2;
            }
            p.mem_hex = argv[i];
            continue;
        }
        rc = strchr(argv[i], ' ') ? take_option_group(&p, argv[i])
                                  : take_option(&p, argv, argc, &i);
        if (rc)
            return rc;
    }

    int ret = 1;
    unsigned char *mem = NULL, *prog = NULL, *input = NULL;
    size_t mem_len = 0, prog_len = 0;
    bpfvm_vm *vm = NULL;
    if (p.mem_hex && !(mem = hex_or_die("memory", p.mem_hex, &mem_len)))
        goto done;
    if (!p.prog_hex) {
        size_t n;
        input = tool_read_stream(stdin, &n);
        if (!input) {
            printf("cannot read the program from stdin\n");
            goto done;
        }
        p.prog_hex = (const char *)input;
    }
    if (!(prog = hex_or_die("program", p.prog_hex, &prog_len)))
        goto done;

    vm = bpfvm_create();
    if (!vm) {
        printf("out of memory\n");
        goto done;
    }
    int rc = bpfvm_set_mode(vm, BPFVM_MODE_RAW);
    if (!rc)
        rc = bpfvm_set_stack_size(vm, 512);
    if (!rc)
        rc = bpfvm_set_budget(vm, p.budget);
    if (!rc)
        rc = bpfvm_register_helper(vm, 5, "identity", helper_identity, NULL);
    if (!rc)
        rc = p.elf ? bpfvm_load_elf(vm, prog, prog_len, NULL, NULL)
                   : bpfvm_load(vm, prog, prog_len);
    if (!rc && p.jit)
        rc = bpfvm_compile(vm, 0);
    if (rc) {
        const bpfvm_error *e = bpfvm_last_error(vm);
        printf("%s\n", e->message[0] ? e->message : bpfvm_strerror(rc));
        goto done;
    }
    uint64_t r0;
    bpfvm_error err;
    rc = p.jit ? bpfvm_run_jit(vm, mem, mem_len, NULL, 0, &r0, &err)
               : bpfvm_run(vm, mem, mem_len, NULL, 0, &r0, &err);
    if (rc) {
        printf("%s\n", err.message[0] ? err.message : bpfvm_strerror(rc));
        goto done;
    }
    printf("%" PRIx64 "\n", r0);
    ret = 0;
done:
    bpfvm_destroy(vm);
    free(mem);
    free(prog);
    free(input);
    return ret;
}
