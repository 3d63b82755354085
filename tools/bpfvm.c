/* bpfvm.c - the `bpfvm` command: run, benchmark, assemble, disassemble,
 * verify and inspect eBPF programs. A thin layer over the public API.
 *
 * Output conventions: stdout carries only the requested result (r0, bytes,
 * text); diagnostics and bpf_trace_printk output go to stderr.
 * Exit status: 0 ok, 1 load/assembly/verification error, 2 usage error or
 * unreadable file, 3 runtime fault.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm.h"
#include "tool_util.h"
#include "map_json.h"

enum { EXIT_LOAD = 1, EXIT_USAGE = 2, EXIT_FAULT = 3 };

static const char *cmd_name = "bpfvm";

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cmd_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* One line describing a library error. */
/* An error's message, naming `source` (the source line of its instruction,
 * "" if unknown) as "instruction 42 (filter.c:31): ...". */
static void put_message(FILE *out, const bpfvm_error *e, const char *source)
{
    const char *msg = e->message[0] ? e->message : bpfvm_strerror(e->code);
    long long at;
    int n = 0;
    if (source[0] && sscanf(msg, "instruction %lld%n", &at, &n) == 1 && msg[n] == ':')
        fprintf(out, "instruction %lld (%s)%s", at, source, msg + n); /* names the line */
    else
        fputs(msg, out);
    if (e->insn >= 0 && !strstr(msg, "insn") && !strstr(msg, "instruction"))
        fprintf(out, " (instruction %" PRId64 "%s%s)", e->insn, source[0] ? ", " : "", source);
}

static void report_error(const char *what, const bpfvm_error *e)
{
    fprintf(stderr, "%s: %s: %s: ", cmd_name, what, bpfvm_errname(e->code));
    put_message(stderr, e, e->source);
    fputc('\n', stderr);
}

/* ---- option parsing ----------------------------------------------------- */

/* A tiny parser for "--name value", "--name=value", "-n value" and flags. */
typedef struct opt_state {
    int argc;
    char **argv;
    int i;
    const char *value; /* value of the option just matched */
    int bad;           /* a usage error was reported */
} opt_state;

/* Does argv[i] name the option (`name` or `alt`)? For options with a value,
 * the value is taken from "=..." or the next argument. */
static int opt_is(opt_state *o, const char *name, const char *alt, int has_value)
{
    const char *a = o->argv[o->i];
    const char *names[2] = { name, alt };
    for (int k = 0; k < 2; k++) {
        const char *n = names[k];
        if (!n)
            continue;
        size_t len = strlen(n);
        if (strncmp(a, n, len) != 0)
            continue;
        if (a[len] == 0) {
            if (has_value) {
                if (o->i + 1 >= o->argc) {
                    errorf("option %s needs a value", n);
                    o->bad = 1;
                    return 0;
                }
                o->value = o->argv[++o->i];
            }
            return 1;
        }
        if (a[len] == '=' && has_value && n[1] == '-') {
            o->value = a + len + 1;
            return 1;
        }
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *out, const char *what)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-') {
        errorf("invalid %s: '%s'", what, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) {
        errorf("invalid %s: '%s'", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Common options of the commands that load and run a program. */
typedef struct run_opts {
    const char *program;
    const char *mem_file, *mem_hex;
    const char *mbuff_file, *mbuff_hex;
    const char *section, *entry;
    const char *out;
    const char *type, *data_in, *data_out, *ctx_in, *ctx_out; /* test-run */
    const char *map_fill[16]; /* test-run --map NAME=FILE */
    int nmap_fill;
    int cpu;                  /* test-run --cpu: per-CPU slot (-1: the running CPU) */
    bpfvm_mode mode;
    uint64_t budget, stack, depth, runs;
    size_t fixed[3]; /* fixed-mbuff layout: size, data offset, data_end offset */
    int have_stack, have_depth;
    int jit, unchecked, json, cputime;
} run_opts;

enum {
    O_MEM = 1, O_MODE = 2, O_BUDGET = 4, O_JIT = 8, O_UNCHECKED = 16, O_STACK = 32,
    O_DEPTH = 64, O_ELF = 128, O_RUNS = 256, O_JSON = 512, O_OUT = 1024, O_MBUFF = 2048,
    O_CPUTIME = 4096, O_TESTRUN = 8192
};

/* Parse argv[2..] for the options in `allowed`; one positional PROGRAM.
 * Returns 0, or EXIT_USAGE after printing the problem. */
static int parse_run_opts(int argc, char **argv, unsigned allowed, run_opts *r)
{
    opt_state o = { argc, argv, 2, NULL, 0 };
    memset(r, 0, sizeof *r);
    r->mode = BPFVM_MODE_RAW;
    r->cpu = -1;
    for (; o.i < argc; o.i++) {
        const char *a = argv[o.i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (r->program) {
                errorf("unexpected argument '%s'", a);
                return EXIT_USAGE;
            }
            r->program = a;
        } else if ((allowed & O_MEM) && opt_is(&o, "--mem", NULL, 1)) {
            r->mem_file = o.value;
        } else if ((allowed & O_MEM) && opt_is(&o, "--mem-hex", NULL, 1)) {
            r->mem_hex = o.value;
        } else if ((allowed & O_MBUFF) && opt_is(&o, "--mbuff", NULL, 1)) {
            r->mbuff_file = o.value;
        } else if ((allowed & O_MBUFF) && opt_is(&o, "--mbuff-hex", NULL, 1)) {
            r->mbuff_hex = o.value;
        } else if ((allowed & O_MODE) && opt_is(&o, "--fixed-mbuff", NULL, 1)) {
            unsigned long long v[3];
            int used = 0;
            if (sscanf(o.value, "%llu,%llu,%llu%n", &v[0], &v[1], &v[2], &used) != 3 ||
                o.value[used] != 0) {
                errorf("--fixed-mbuff needs SIZE,DATA_OFF,END_OFF, not '%s'", o.value);
                return EXIT_USAGE;
            }
            for (int k = 0; k < 3; k++)
                r->fixed[k] = (size_t)v[k];
            r->mode = BPFVM_MODE_FIXED_MBUFF;
        } else if ((allowed & O_MODE) && opt_is(&o, "--mode", NULL, 1)) {
            if (strcmp(o.value, "raw") == 0)
                r->mode = BPFVM_MODE_RAW;
            else if (strcmp(o.value, "mbuff") == 0)
                r->mode = BPFVM_MODE_MBUFF;
            else if (strcmp(o.value, "none") == 0)
                r->mode = BPFVM_MODE_NONE;
            else {
                errorf("unknown mode '%s' (raw, mbuff or none)", o.value);
                return EXIT_USAGE;
            }
        } else if ((allowed & O_BUDGET) && opt_is(&o, "--budget", NULL, 1)) {
            if (parse_u64(o.value, &r->budget, "budget"))
                return EXIT_USAGE;
        } else if ((allowed & O_STACK) && opt_is(&o, "--stack", NULL, 1)) {
            if (parse_u64(o.value, &r->stack, "stack size"))
                return EXIT_USAGE;
            r->have_stack = 1;
        } else if ((allowed & O_DEPTH) && opt_is(&o, "--depth", NULL, 1)) {
            if (parse_u64(o.value, &r->depth, "call depth"))
                return EXIT_USAGE;
            r->have_depth = 1;
        } else if ((allowed & O_RUNS) && opt_is(&o, "-n", "--runs", 1)) {
            if (parse_u64(o.value, &r->runs, "run count"))
                return EXIT_USAGE;
            if (r->runs == 0 || r->runs > 10000000) {
                errorf("run count must be 1..10000000");
                return EXIT_USAGE;
            }
        } else if ((allowed & O_ELF) && opt_is(&o, "--section", NULL, 1)) {
            r->section = o.value;
        } else if ((allowed & O_ELF) && opt_is(&o, "--entry", NULL, 1)) {
            r->entry = o.value;
        } else if ((allowed & O_OUT) && opt_is(&o, "-o", "--output", 1)) {
            r->out = o.value;
        } else if ((allowed & O_TESTRUN) && opt_is(&o, "--type", NULL, 1)) {
            r->type = o.value;
        } else if ((allowed & O_TESTRUN) && opt_is(&o, "--data-in", NULL, 1)) {
            r->data_in = o.value;
        } else if ((allowed & O_TESTRUN) && opt_is(&o, "--data-out", NULL, 1)) {
            r->data_out = o.value;
        } else if ((allowed & O_TESTRUN) && opt_is(&o, "--ctx-in", NULL, 1)) {
            r->ctx_in = o.value;
        } else if ((allowed & O_TESTRUN) && opt_is(&o, "--ctx-out", NULL, 1)) {
            r->ctx_out = o.value;
        } else if ((allowed & O_TESTRUN) && opt_is(&o, "--cpu", NULL, 1)) {
            uint64_t c;
            if (parse_u64(o.value, &c, "cpu"))
                return EXIT_USAGE;
            r->cpu = c < bpfvm_num_possible_cpus() ? (int)c : -2;
            if (r->cpu < 0) {
                errorf("--cpu must be below the %u possible CPUs", bpfvm_num_possible_cpus());
                return EXIT_USAGE;
            }
        } else if ((allowed & O_TESTRUN) && opt_is(&o, "--map", NULL, 1)) {
            if (r->nmap_fill == 16 || !strchr(o.value, '=')) {
                errorf(r->nmap_fill == 16 ? "at most 16 --map options"
                                          : "--map needs NAME=FILE, not '%s'", o.value);
                return EXIT_USAGE;
            }
            r->map_fill[r->nmap_fill++] = o.value;
        } else if ((allowed & O_TESTRUN) && opt_is(&o, "--repeat", NULL, 1)) {
            if (parse_u64(o.value, &r->runs, "repeat count"))
                return EXIT_USAGE;
            if (r->runs == 0 || r->runs > UINT32_MAX) {
                errorf("repeat count must be 1..%u", UINT32_MAX);
                return EXIT_USAGE;
            }
        } else if ((allowed & O_JIT) && opt_is(&o, "--jit", NULL, 0)) {
            r->jit = 1;
        } else if ((allowed & O_UNCHECKED) && opt_is(&o, "--unchecked", NULL, 0)) {
            r->unchecked = 1;
        } else if ((allowed & O_CPUTIME) && opt_is(&o, "--cputime", NULL, 0)) {
            r->cputime = 1;
        } else if ((allowed & O_JSON) && opt_is(&o, "--json", NULL, 0)) {
            r->json = 1;
        } else {
            if (!o.bad)
                errorf("unknown option '%s' (see --help)", a);
            return EXIT_USAGE;
        }
        if (o.bad)
            return EXIT_USAGE;
    }
    if (!r->program) {
        errorf("missing PROGRAM (see --help)");
        return EXIT_USAGE;
    }
    if ((r->mem_file && r->mem_hex) || (r->mbuff_file && r->mbuff_hex)) {
        errorf("give the memory either as a file or as hex, not both");
        return EXIT_USAGE;
    }
    return 0;
}

/* Memory image from --mem FILE or --mem-hex HEX (NULL/0 if neither). */
static int load_image(const char *file, const char *hex, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (file) {
        *data = tool_read_file(file, len);
        if (!*data) {
            errorf("cannot read %s: %s", file, strerror(errno));
            return EXIT_USAGE;
        }
    } else if (hex) {
        long bad;
        *data = tool_parse_hex(hex, len, &bad);
        if (!*data) {
            if (bad < 0)
                errorf("out of memory");
            else
                errorf("invalid hex at offset %ld: '%.10s'", bad, hex + bad);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* ---- getting a program -------------------------------------------------- */

/* Load PROGRAM into vm according to its kind (ELF by magic, assembly by
 * extension, raw bytecode otherwise). Returns 0, EXIT_USAGE or EXIT_LOAD. */
static int load_program(bpfvm_vm *vm, const char *path, const char *section, const char *entry)
{
    size_t len;
    unsigned char *data = tool_read_file(path, &len);
    if (!data) {
        errorf("cannot read %s: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    int rc;
    if (tool_is_elf(data, len))
        rc = bpfvm_load_elf(vm, data, len, section, entry);
    else if (tool_is_asm_name(path))
        rc = bpfvm_load_asm(vm, (const char *)data, path);
    else
        rc = bpfvm_load(vm, data, len);
    free(data);
    if (rc) {
        report_error(path, bpfvm_last_error(vm));
        return EXIT_LOAD;
    }
    return 0;
}

/* One program of an ELF object loaded, not verified, into a new VM (*out;
 * the caller destroys it), which then knows its source lines. Extern
 * helpers resolve to the standard helpers. With `obj`, the object is opened
 * into *obj (see read_insns). `what` names the object in messages. Returns
 * 0 or EXIT_LOAD. */
static int elf_load_unverified(const char *what, const unsigned char *data, size_t len,
                               const char *section, const char *entry, bpfvm_object **obj,
                               bpfvm_vm **out)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_error oerr;
    *out = NULL;
    if (obj && bpfvm_object_open(data, len, obj, &oerr)) {
        report_error(what, &oerr);
        bpfvm_destroy(vm);
        return EXIT_LOAD;
    }
    if (!vm || bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE) ||
        bpfvm_register_std_helpers(vm) ||
        (obj ? bpfvm_object_load(*obj, vm, section, entry)
             : bpfvm_load_elf(vm, data, len, section, entry))) {
        if (vm)
            report_error(what, bpfvm_last_error(vm));
        else
            errorf("out of memory");
        bpfvm_destroy(vm);
        return EXIT_LOAD;
    }
    *out = vm;
    return 0;
}

/* The linked instructions of one program of an ELF object, not verified
 * (*insns malloc'd), as elf_load_unverified loads them. Returns 0 or
 * EXIT_LOAD. */
static int elf_insns(const char *what, const unsigned char *data, size_t len,
                     const char *section, const char *entry, bpfvm_insn **insns, size_t *count,
                     bpfvm_object **obj)
{
    bpfvm_vm *vm;
    int ret = elf_load_unverified(what, data, len, section, entry, obj, &vm);
    *insns = NULL;
    *count = 0;
    if (ret)
        return ret;
    size_t n;
    const bpfvm_insn *p = bpfvm_program(vm, &n);
    *insns = malloc(n * sizeof *p + 1);
    if (!*insns) {
        errorf("out of memory");
        ret = EXIT_LOAD;
    } else {
        if (n)
            memcpy(*insns, p, n * sizeof *p);
        *count = n;
    }
    bpfvm_destroy(vm);
    return ret;
}

/* The instructions of PROGRAM without verifying them (for disasm, cfg,
 * verify). *insns is malloc'd. With `obj`, an ELF object is opened into
 * *obj (the caller closes it; NULL for other programs), so that the maps
 * the program's lddw instructions point to stay known. Returns 0,
 * EXIT_USAGE or EXIT_LOAD. */
static int read_insns(const char *path, const char *section, const char *entry,
                      bpfvm_insn **insns, size_t *count, bpfvm_object **obj)
{
    size_t len;
    int ret = 0;
    unsigned char *data = tool_read_file(path, &len);
    *insns = NULL;
    *count = 0;
    if (!data) {
        errorf("cannot read %s: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    if (tool_is_elf(data, len)) {
        ret = elf_insns(path, data, len, section, entry, insns, count, obj);
    } else if (tool_is_asm_name(path)) {
        bpfvm_error err;
        if (bpfvm_asm((const char *)data, path, insns, count, &err)) {
            report_error(path, &err);
            ret = EXIT_LOAD;
        }
    } else {
        if (len % sizeof(bpfvm_insn)) {
            errorf("%s: %zu bytes is not a whole number of 8-byte instructions", path, len);
            ret = EXIT_LOAD;
            goto done;
        }
        *insns = (bpfvm_insn *)data;
        *count = len / sizeof(bpfvm_insn);
        data = NULL;
    }
done:
    free(data);
    return ret;
}

/* ---- bpfvm run / bench -------------------------------------------------- */

/* The clock timings use: wall time, or with bench --cputime the CPU time of
 * this thread (steadier on a machine shared with other work). */
static clockid_t timing_clock = CLOCK_MONOTONIC;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(timing_clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Create a VM configured from the options, load PROGRAM, compile with --jit;
 * load_ns/compile_ns (may be NULL) receive the times taken. */
static int setup_vm(const run_opts *r, bpfvm_vm **out, double *load_ns, double *compile_ns)
{
    bpfvm_vm *vm = bpfvm_create();
    int ret;
    *out = NULL;
    if (!vm) {
        errorf("out of memory");
        return EXIT_LOAD;
    }
    int mode_rc = r->mode == BPFVM_MODE_FIXED_MBUFF
                      ? bpfvm_set_fixed_mbuff(vm, r->fixed[0], r->fixed[1], r->fixed[2])
                      : bpfvm_set_mode(vm, r->mode);
    if (mode_rc || bpfvm_set_budget(vm, r->budget) ||
        (r->have_stack && bpfvm_set_stack_size(vm, (size_t)r->stack)) ||
        (r->have_depth && (r->depth > 64 || bpfvm_set_call_depth(vm, (unsigned)r->depth))) ||
        bpfvm_set_checked(vm, !r->unchecked) || bpfvm_register_std_helpers(vm)) {
        if (r->have_depth && r->depth > 64)
            errorf("invalid call depth %" PRIu64 " (0..64)", r->depth);
        else
            report_error("configuration", bpfvm_last_error(vm));
        bpfvm_destroy(vm);
        return EXIT_USAGE;
    }
    bpfvm_set_trace_stream(vm, stderr);
    double t0 = now_ns();
    ret = load_program(vm, r->program, r->section, r->entry);
    if (load_ns)
        *load_ns = now_ns() - t0;
    if (ret)
        goto fail;
    if (r->jit) {
        t0 = now_ns();
        if (bpfvm_compile(vm, 0)) {
            report_error("jit", bpfvm_last_error(vm));
            ret = EXIT_LOAD;
            goto fail;
        }
        if (compile_ns)
            *compile_ns = now_ns() - t0;
    }
    *out = vm;
    return 0;
fail:
    bpfvm_destroy(vm);
    return ret;
}

static int execute(bpfvm_vm *vm, int jit, unsigned char *mem, size_t mem_len,
                   unsigned char *mbuff, size_t mbuff_len, uint64_t *r0, bpfvm_error *err)
{
    return jit ? bpfvm_run_jit(vm, mem, mem_len, mbuff, mbuff_len, r0, err)
               : bpfvm_run(vm, mem, mem_len, mbuff, mbuff_len, r0, err);
}

#include "bpfvm_debug.h"

static const char run_usage[] =
    "usage: bpfvm run [OPTIONS] PROGRAM\n"
    "Run PROGRAM (raw bytecode, .s/.asm assembly, or ELF object) and print r0.\n"
    "  --mem FILE | --mem-hex HEX   input memory (raw mode: r1 = mem, r2 = length)\n"
    "  --mbuff FILE | --mbuff-hex HEX  metadata buffer (mbuff mode: r1 = mbuff)\n"
    "  --mode raw|mbuff|none        how r1/r2 are set up (default raw)\n"
    "  --fixed-mbuff SIZE,DATA,END  fixed-mbuff mode: r1 = a SIZE-byte buffer holding\n"
    "                               mem at offset DATA and mem+len at offset END\n"
    "  --budget N                   stop after N executed instructions (0 = none)\n"
    "  --stack N                    stack bytes per call frame (default 512)\n"
    "  --depth N                    nested local calls allowed (default 8)\n"
    "  --jit                        run the JIT (x86-64, arm64) instead of the interpreter\n"
    "  --unchecked                  no memory checks (trusted programs only)\n"
    "  --section S, --entry F       choose the program of an ELF object\n"
    "  --trace                      print each executed instruction, the registers it\n"
    "                               changed and the memory it accessed\n"
    "  --profile [--json]           executed counts per function, source line and\n"
    "                               instruction (interpreter; the result is unchanged)\n"
    "  --profile-annotate           the disassembly with counts and source lines\n"
    "The standard helpers are registered; bpf_trace_printk writes to stderr.\n"
    "Exit status: 0 ok, 1 load/verify error, 2 usage, 3 runtime fault.\n";

static int cmd_run(int argc, char **argv)
{
    run_opts r;
    bpfvm_vm *vm = NULL;
    unsigned char *mem = NULL, *mbuff = NULL;
    size_t mem_len, mbuff_len;
    view_opts views;
    take_view_opts(&argc, argv, &views);
    int ret = parse_run_opts(argc, argv,
                             O_MEM | O_MBUFF | O_MODE | O_BUDGET | O_JIT | O_UNCHECKED | O_STACK |
                                 O_DEPTH | O_ELF | (views.profile ? O_JSON : 0),
                             &r);
    if (ret)
        return ret;
    if ((ret = load_image(r.mem_file, r.mem_hex, &mem, &mem_len)) ||
        (ret = load_image(r.mbuff_file, r.mbuff_hex, &mbuff, &mbuff_len)) ||
        (ret = setup_vm(&r, &vm, NULL, NULL)))
        goto done;
    uint64_t r0;
    bpfvm_error err;
    int printed = 0;
    views.json = r.json;
    if (views.trace || views.profile || views.annotate
            ? run_with_views(&views, vm, &(run_memory){ (uintptr_t)mem, mem ? mem_len : 0,
                                                        (uintptr_t)mbuff, mbuff ? mbuff_len : 0,
                                                        r.have_stack ? r.stack : 512 },
                             mem, mem_len, mbuff, mbuff_len, &r0, &err, &printed)
            : execute(vm, r.jit, mem, mem_len, mbuff, mbuff_len, &r0, &err)) {
        report_error(r.program, &err);
        ret = EXIT_FAULT;
        goto done;
    }
    if (!printed)
        printf("0x%" PRIx64 "\n", r0);
done:
    bpfvm_destroy(vm);
    free(mem);
    free(mbuff);
    return ret;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The memory images of a benchmark and `batch` working copies of them
 * (each copy: mem then mbuff). */
typedef struct bench_images {
    const unsigned char *mem, *mbuff;
    size_t mem_len, mbuff_len;
    unsigned char *copies;
} bench_images;

/* One timed sample: refresh `batch` copies of the memory images (untimed),
 * then run the program once on each. Returns ns per execution, or -1 with
 * err filled. */
static double bench_sample(bpfvm_vm *vm, int jit, const bench_images *im, size_t batch,
                           uint64_t *r0, bpfvm_error *err)
{
    size_t stride = im->mem_len + im->mbuff_len;
    for (size_t k = 0; k < batch; k++) {
        if (im->mem_len)
            memcpy(im->copies + k * stride, im->mem, im->mem_len);
        if (im->mbuff_len)
            memcpy(im->copies + k * stride + im->mem_len, im->mbuff, im->mbuff_len);
    }
    double t0 = now_ns();
    for (size_t k = 0; k < batch; k++) {
        unsigned char *m = im->copies + k * stride;
        if (execute(vm, jit, im->mem_len ? m : NULL, im->mem_len,
                    im->mbuff_len ? m + im->mem_len : NULL, im->mbuff_len, r0, err))
            return -1;
    }
    return (now_ns() - t0) / (double)batch;
}

static const char bench_usage[] =
    "usage: bpfvm bench [OPTIONS] PROGRAM\n"
    "Time loading, compiling and running PROGRAM. Each timed sample runs a batch\n"
    "of executions (sized so a sample takes at least 10 us), each on a fresh copy\n"
    "of the memory image; figures are nanoseconds per execution.\n"
    "  -n, --runs N                 timed samples (default 200)\n"
    "  --mem FILE | --mem-hex HEX   input memory\n"
    "  --jit                        time the JIT instead of the interpreter\n"
    "  --unchecked                  no memory checks\n"
    "  --cputime                    time with this thread's CPU clock, not wall time\n"
    "  --mode, --fixed-mbuff, --mbuff, --mbuff-hex, --budget, --stack, --depth,\n"
    "  --section, --entry           as for run\n"
    "  --json                       one JSON object: result, runs, batch, median_ns,\n"
    "                               min_ns, max_ns, load_ns, compile_ns\n";

static int cmd_bench(int argc, char **argv)
{
    run_opts r;
    bpfvm_vm *vm = NULL;
    unsigned char *mem = NULL, *mbuff = NULL;
    bench_images im = { NULL, NULL, 0, 0, NULL };
    double *samples = NULL;
    double load_ns = 0, compile_ns = 0;
    int ret = parse_run_opts(argc, argv,
                             O_MEM | O_MBUFF | O_MODE | O_BUDGET | O_JIT | O_UNCHECKED | O_STACK |
                                 O_DEPTH | O_ELF | O_RUNS | O_JSON | O_CPUTIME,
                             &r);
    if (ret)
        return ret;
    if (!r.runs)
        r.runs = 200;
    if (r.cputime)
        timing_clock = CLOCK_THREAD_CPUTIME_ID;
    if ((ret = load_image(r.mem_file, r.mem_hex, &mem, &im.mem_len)) ||
        (ret = load_image(r.mbuff_file, r.mbuff_hex, &mbuff, &im.mbuff_len)) ||
        (ret = setup_vm(&r, &vm, &load_ns, &compile_ns)))
        goto done;
    im.mem = mem;
    im.mbuff = mbuff;

    /* Calibrate the batch size: after a warm-up sample, double it until a
     * sample takes >= 10 us (capped so the copies stay under 64 MiB). */
    uint64_t r0 = 0;
    bpfvm_error err;
    size_t stride = im.mem_len + im.mbuff_len, batch = 1, max_batch = 1u << 20;
    if (stride && max_batch > (64u << 20) / stride)
        max_batch = (64u << 20) / stride ? (64u << 20) / stride : 1;
    for (int warm = 1;; warm = 0) {
        unsigned char *nc = realloc(im.copies, batch * stride + 1);
        if (!nc) {
            errorf("out of memory");
            ret = EXIT_LOAD;
            goto done;
        }
        im.copies = nc;
        double ns = bench_sample(vm, r.jit, &im, batch, &r0, &err);
        if (ns < 0) {
            report_error(r.program, &err);
            ret = EXIT_FAULT;
            goto done;
        }
        if (warm)
            continue;
        if (ns * (double)batch >= 10000.0 || batch * 2 > max_batch)
            break;
        batch *= 2;
    }
    samples = malloc((size_t)r.runs * sizeof *samples);
    if (!samples) {
        errorf("out of memory");
        ret = EXIT_LOAD;
        goto done;
    }
    for (uint64_t i = 0; i < r.runs; i++) {
        samples[i] = bench_sample(vm, r.jit, &im, batch, &r0, &err);
        if (samples[i] < 0) {
            report_error(r.program, &err);
            ret = EXIT_FAULT;
            goto done;
        }
    }
    qsort(samples, (size_t)r.runs, sizeof *samples, cmp_double);
    double median = samples[r.runs / 2], min = samples[0], max = samples[r.runs - 1];
    if (r.runs % 2 == 0)
        median = (samples[r.runs / 2 - 1] + samples[r.runs / 2]) / 2;
    if (r.json) {
        printf("{\"result\": \"0x%" PRIx64 "\", \"engine\": \"%s\", \"checked\": %s, "
               "\"clock\": \"%s\", "
               "\"runs\": %" PRIu64 ", \"batch\": %zu, \"median_ns\": %.2f, \"min_ns\": %.2f, "
               "\"max_ns\": %.2f, \"load_ns\": %.0f, \"compile_ns\": %.0f}\n",
               r0, r.jit ? "jit" : "interpreter", r.unchecked ? "false" : "true",
               r.cputime ? "thread-cputime" : "monotonic", r.runs, batch,
               median, min, max, load_ns, compile_ns);
    } else {
        printf("result      0x%" PRIx64 "\n", r0);
        printf("engine      %s%s\n", r.jit ? "jit" : "interpreter",
               r.unchecked ? " (unchecked)" : "");
        printf("clock       %s\n", r.cputime ? "thread CPU time" : "wall (monotonic)");
        printf("load        %.0f ns\n", load_ns);
        if (r.jit)
            printf("compile     %.0f ns\n", compile_ns);
        printf("samples     %" PRIu64 " x %zu executions\n", r.runs, batch);
        printf("median      %.2f ns/exec\n", median);
        printf("min         %.2f ns/exec\n", min);
        printf("max         %.2f ns/exec\n", max);
    }
done:
    bpfvm_destroy(vm);
    free(mem);
    free(mbuff);
    free(im.copies);
    free(samples);
    return ret;
}

/* ---- bpfvm asm / disasm / cfg / verify / ls / jit-dump ------------------ */

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (!f) {
        errorf("cannot write %s: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    int bad = len && fwrite(data, 1, len, f) != len;
    if (f != stdout)
        bad |= fclose(f) != 0;
    else
        bad |= fflush(f) != 0;
    if (bad) {
        errorf("cannot write %s: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    return 0;
}

static const char asm_usage[] =
    "usage: bpfvm asm IN [-o OUT]\n"
    "Assemble IN (classic or LLVM syntax) into raw bytecode. OUT defaults to IN\n"
    "with its extension replaced by .bin; '-o -' writes to stdout.\n";

static int cmd_asm(int argc, char **argv)
{
    run_opts r;
    int ret = parse_run_opts(argc, argv, O_OUT, &r);
    if (ret)
        return ret;
    size_t len, count;
    unsigned char *text = tool_read_file(r.program, &len);
    if (!text) {
        errorf("cannot read %s: %s", r.program, strerror(errno));
        return EXIT_USAGE;
    }
    bpfvm_insn *insns = NULL;
    bpfvm_error err;
    char *out = NULL;
    if (bpfvm_asm((const char *)text, r.program, &insns, &count, &err)) {
        report_error(r.program, &err);
        ret = EXIT_LOAD;
        goto done;
    }
    const char *dest = r.out;
    if (!dest) {
        const char *base = strcmp(r.program, "-") == 0 ? "out" : r.program;
        const char *slash = strrchr(base, '/');
        const char *dot = strrchr(slash ? slash : base, '.');
        size_t stem = dot ? (size_t)(dot - base) : strlen(base);
        out = malloc(stem + 5);
        if (!out) {
            errorf("out of memory");
            ret = EXIT_LOAD;
            goto done;
        }
        memcpy(out, base, stem);
        memcpy(out + stem, ".bin", 5);
        dest = out;
    }
    ret = write_file(dest, insns, count * sizeof *insns);
done:
    free(text);
    free(insns);
    free(out);
    return ret;
}

/* The map an lddw constant `v` points to: "map NAME" for the map itself,
 * "NAME+OFF" inside its values; 0 if none. */
static int name_constant(const bpfvm_object *obj, unsigned long long v, char *buf, size_t size)
{
    for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
        const bpfvm_map *m = bpfvm_object_map(obj, i);
        const bpfvm_map_def *d = bpfvm_map_get_def(m);
        unsigned long long base = bpfvm_map_values_address(m);
        if (v == (unsigned long long)(uintptr_t)m) {
            snprintf(buf, size, "map %s", bpfvm_map_name(m));
            return 1;
        }
        if (base && v >= base && v - base < d->value_size) {
            snprintf(buf, size, "%s+%llu", bpfvm_map_name(m), v - base);
            return 1;
        }
    }
    return 0;
}

/* Disassembly text with a comment naming the map at each lddw of one
 * ("lddw r1, 0x..." or, in LLVM syntax, "r1 = ... ll"). */
static void print_naming_maps(const char *text, const bpfvm_object *obj)
{
    while (*text) {
        const char *end = strchr(text, '\n');
        size_t n = end ? (size_t)(end - text) : strlen(text);
        char line[256], name[96];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), text);
        const char *num = strstr(line, "lddw") ? strstr(line, ", ")
                        : strstr(line, " ll") ? strstr(line, "= ") : NULL;
        if (num && name_constant(obj, strtoull(num + 2, NULL, 0), name, sizeof name))
            printf("%.*s ; %s\n", (int)n, text, name);
        else
            printf("%.*s\n", (int)n, text);
        text += n + (end != NULL);
    }
}

static const char disasm_usage[] =
    "usage: bpfvm disasm [--syntax classic|llvm] [--json] [--labels] [--index]\n"
    "                    [--source] [--section S] [--entry F] IN\n"
    "Disassemble IN (raw bytecode, assembly text or ELF object).\n"
    "  --source   interleave the source lines of an ELF object built with -g\n";

static int cmd_disasm(int argc, char **argv)
{
    unsigned flags = 0;
    int source = 0;
    const char *path = NULL, *section = NULL, *entry = NULL;
    opt_state o = { argc, argv, 2, NULL, 0 };
    for (; o.i < argc; o.i++) {
        const char *a = argv[o.i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (path) {
                errorf("unexpected argument '%s'", a);
                return EXIT_USAGE;
            }
            path = a;
        } else if (opt_is(&o, "--syntax", NULL, 1)) {
            if (strcmp(o.value, "llvm") == 0)
                flags |= BPFVM_DISASM_LLVM;
            else if (strcmp(o.value, "classic") == 0)
                flags &= ~BPFVM_DISASM_LLVM;
            else {
                errorf("unknown syntax '%s' (classic or llvm)", o.value);
                return EXIT_USAGE;
            }
        } else if (opt_is(&o, "--json", NULL, 0)) {
            flags |= BPFVM_DISASM_JSON;
        } else if (opt_is(&o, "--labels", NULL, 0)) {
            flags |= BPFVM_DISASM_LABELS;
        } else if (opt_is(&o, "--index", NULL, 0)) {
            flags |= BPFVM_DISASM_INDEX;
        } else if (opt_is(&o, "--source", NULL, 0)) {
            source = 1;
        } else if (opt_is(&o, "--section", NULL, 1)) {
            section = o.value;
        } else if (opt_is(&o, "--entry", NULL, 1)) {
            entry = o.value;
        } else {
            if (!o.bad)
                errorf("unknown option '%s' (see --help)", a);
            return EXIT_USAGE;
        }
        if (o.bad)
            return EXIT_USAGE;
    }
    if (!path) {
        errorf("missing IN (see --help)");
        return EXIT_USAGE;
    }
    if (source)
        return disasm_source(path, section, entry, flags);
    bpfvm_insn *insns;
    size_t count;
    char *text = NULL;
    bpfvm_object *obj = NULL;
    int ret = read_insns(path, section, entry, &insns, &count, &obj);
    if (ret) {
        bpfvm_object_close(obj);
        return ret;
    }
    int rc = bpfvm_disasm(insns, count, flags, &text);
    if (rc) {
        errorf("%s: disassembly failed: %s", path, bpfvm_strerror(rc));
        ret = EXIT_LOAD;
    } else if (obj && !(flags & BPFVM_DISASM_JSON)) {
        print_naming_maps(text, obj);
    } else {
        fputs(text, stdout);
    }
    bpfvm_object_close(obj);
    free(text);
    free(insns);
    return ret;
}

static const char cfg_usage[] =
    "usage: bpfvm cfg [--section S] [--entry F] IN\n"
    "Print the control-flow graph of IN as Graphviz DOT (render: dot -Tsvg).\n";

static int cmd_cfg(int argc, char **argv)
{
    run_opts r;
    int ret = parse_run_opts(argc, argv, O_ELF, &r);
    if (ret)
        return ret;
    bpfvm_insn *insns;
    size_t count;
    char *dot = NULL;
    if ((ret = read_insns(r.program, r.section, r.entry, &insns, &count, NULL)))
        return ret;
    int rc = bpfvm_cfg_dot(insns, count, &dot);
    if (rc) {
        errorf("%s: cannot build the control-flow graph: %s", r.program, bpfvm_strerror(rc));
        ret = EXIT_LOAD;
    } else {
        fputs(dot, stdout);
    }
    free(dot);
    free(insns);
    return ret;
}

typedef struct verify_report {
    const bpfvm_insn *insns;
    size_t count;
    const bpfvm_vm *lines; /* the program loaded, for its source lines (or NULL) */
    int problems;
} verify_report;

/* Print one problem, naming its source line when known, and the
 * instructions around it (two before, two after). */
static void print_problem(void *user, const bpfvm_error *p)
{
    verify_report *v = user;
    char buf[256], where[96] = "";
    bpfvm_source s;
    v->problems++;
    if (v->lines && p->insn >= 0 && bpfvm_source_at(v->lines, (size_t)p->insn, &s) == 0 &&
        s.file && s.line) {
        const char *slash = strrchr(s.file, '/');
        snprintf(where, sizeof where, "%s:%u", slash ? slash + 1 : s.file, s.line);
    }
    put_message(stdout, p, where);
    putchar('\n');
    if (p->insn < 0 || v->count == 0)
        return;
    int64_t lo = p->insn - 2, hi = p->insn + 2;
    for (size_t i = 0; i < v->count;) {
        int used = bpfvm_disasm_insn(v->insns, v->count, i, 0, buf, sizeof buf);
        if (used < 1)
            used = 1;
        int64_t idx = (int64_t)i;
        if (idx >= lo && idx <= hi)
            printf("  %s %5zu: %s\n", idx == p->insn || (idx < p->insn && idx + used > p->insn)
                                          ? "=>" : "  ", i, buf);
        i += (size_t)used;
    }
}

static const char verify_usage[] =
    "usage: bpfvm verify [--section S] [--entry F] PROGRAM\n"
    "Run the verifier; print 'ok', or each problem with the code around it\n"
    "(exit status 1). Calls to the standard helpers count as known.\n"
    "An ELF object without --section or --entry: every program it holds (its\n"
    "global functions and the code sections without functions; static helpers\n"
    "are checked with their callers), one verdict line each ('SECTION FUNCTION:\n"
    "ok' or 'SECTION FUNCTION: rejected', followed by the problems); exit\n"
    "status 0 only if all pass. An object of static functions only: the\n"
    "program the loader picks by default. With line info (clang -g), each\n"
    "problem names its source line: 'instruction 1 (bad.c:12): ...'.\n";

/* Verify insns with the standard helpers known; print the problems, with
 * the source lines `lines` (a VM holding these instructions as its program,
 * or NULL) knows. Returns 0 or EXIT_LOAD. `verdict`: a line to print first
 * ("ok" or "rejected" is appended), else just "ok" when accepted. */
static int verify_insns(const bpfvm_insn *insns, size_t count, const char *verdict,
                        const bpfvm_vm *lines)
{
    bpfvm_vm *vm = bpfvm_create();
    if (!vm || bpfvm_register_std_helpers(vm)) {
        bpfvm_destroy(vm);
        errorf("out of memory");
        return EXIT_LOAD;
    }
    verify_report v = { insns, count, lines, 0 };
    int rc = bpfvm_verify(vm, insns, count, NULL, NULL, NULL);
    if (verdict)
        printf("%s: %s\n", verdict, rc ? "rejected" : "ok");
    else if (rc == 0)
        printf("ok\n");
    if (rc) {
        bpfvm_verify(vm, insns, count, print_problem, &v, NULL);
        if (v.problems == 0)
            printf("%s\n", verdict ? bpfvm_strerror(rc) : "rejected");
    }
    bpfvm_destroy(vm);
    return rc ? EXIT_LOAD : 0;
}

/* Verify one program of an ELF object, naming the source line of each
 * problem when the object has line info. `verdict` as for verify_insns;
 * "not loaded" when the program cannot be linked. Returns 0 or EXIT_LOAD. */
static int verify_elf(const char *path, const unsigned char *data, size_t len,
                      const char *section, const char *entry, const char *verdict)
{
    bpfvm_vm *vm;
    if (elf_load_unverified(path, data, len, section, entry, NULL, &vm)) {
        if (verdict)
            printf("%s: not loaded\n", verdict);
        return EXIT_LOAD;
    }
    size_t count;
    const bpfvm_insn *insns = bpfvm_program(vm, &count);
    int ret = verify_insns(insns, count, verdict, vm);
    bpfvm_destroy(vm);
    return ret;
}

/* The programs of an object (bpfvm_elf_programs), as "SECTION\0FUNCTION\0"
 * pairs in one growing buffer. */
typedef struct prog_names {
    char *buf;
    size_t len, cap, n;
    int nomem;
} prog_names;

static void add_prog(void *user, const char *section, const char *function, size_t count)
{
    prog_names *p = user;
    size_t need = strlen(section) + strlen(function) + 2;
    (void)count;
    if (p->len + need > p->cap) {
        size_t cap = (p->cap + need) * 2;
        char *b = realloc(p->buf, cap);
        if (!b) {
            p->nomem = 1;
            return;
        }
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, section, strlen(section) + 1);
    memcpy(p->buf + p->len + strlen(section) + 1, function, strlen(function) + 1);
    p->len += need;
    p->n++;
}

/* bpfvm verify OBJ: each program of the object, one verdict line each.
 * Returns 0, EXIT_LOAD, or -1 if the object lists no program (only static
 * functions): then the loader's default choice is verified alone. */
static int verify_all(const char *path, const unsigned char *data, size_t len)
{
    prog_names p = { NULL, 0, 0, 0, 0 };
    bpfvm_error err;
    int ret = 0;
    if (bpfvm_elf_programs(data, len, add_prog, &p, &err)) {
        report_error(path, &err);
        free(p.buf);
        return EXIT_LOAD;
    }
    if (p.nomem || p.n == 0) {
        if (p.nomem)
            errorf("out of memory");
        free(p.buf);
        return p.nomem ? EXIT_LOAD : -1;
    }
    for (size_t k = 0, at = 0; k < p.n; k++) {
        const char *section = p.buf + at, *function = section + strlen(section) + 1;
        at += strlen(section) + strlen(function) + 2;
        char verdict[600];
        snprintf(verdict, sizeof verdict, "%s %s", section, function[0] ? function : "-");
        if (verify_elf(path, data, len, section, function[0] ? function : NULL, verdict))
            ret = EXIT_LOAD;
    }
    free(p.buf);
    return ret;
}

static int cmd_verify(int argc, char **argv)
{
    run_opts r;
    int ret = parse_run_opts(argc, argv, O_ELF, &r);
    if (ret)
        return ret;
    size_t len;
    unsigned char *data = tool_read_file(r.program, &len);
    if (!data) {
        errorf("cannot read %s: %s", r.program, strerror(errno));
        return EXIT_USAGE;
    }
    if (tool_is_elf(data, len)) { /* all its programs, or the one chosen */
        ret = r.section || r.entry ? -1 : verify_all(r.program, data, len);
        if (ret < 0)
            ret = verify_elf(r.program, data, len, r.section, r.entry, NULL);
        free(data);
        return ret;
    }
    free(data);
    bpfvm_insn *insns;
    size_t count;
    if ((ret = read_insns(r.program, r.section, r.entry, &insns, &count, NULL)))
        return ret;
    ret = verify_insns(insns, count, NULL, NULL);
    free(insns);
    return ret;
}

static void print_prog(void *user, const char *section, const char *function, size_t n)
{
    (void)user;
    printf("%-24s %-24s %zu\n", section ? section : "-", function ? function : "-", n);
}

/* The maps of an object (nothing when it has none). */
static int print_maps(const char *path, const unsigned char *data, size_t len)
{
    bpfvm_object *obj;
    bpfvm_error err;
    if (bpfvm_object_open(data, len, &obj, &err)) {
        report_error(path, &err);
        return EXIT_LOAD;
    }
    if (bpfvm_object_map_count(obj))
        printf("\n%-24s %-16s %5s %6s %11s %s\n", "MAP", "TYPE", "KEY", "VALUE", "MAX_ENTRIES",
               "FLAGS");
    for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
        const bpfvm_map *m = bpfvm_object_map(obj, i);
        const bpfvm_map_def *d = bpfvm_map_get_def(m);
        printf("%-24s %-16s %5u %6u %11u 0x%x\n", bpfvm_map_name(m),
               bpfvm_map_type_name(d->type), d->key_size, d->value_size, d->max_entries,
               d->flags);
    }
    bpfvm_object_close(obj);
    return 0;
}

static const char ls_usage[] =
    "usage: bpfvm ls PROG.o\n"
    "List the programs of an ELF object: section, function, instruction count;\n"
    "then its maps: name, type, key and value sizes, entries, flags.\n";

static int cmd_ls(int argc, char **argv)
{
    run_opts r;
    int ret = parse_run_opts(argc, argv, 0, &r);
    if (ret)
        return ret;
    size_t len;
    unsigned char *data = tool_read_file(r.program, &len);
    if (!data) {
        errorf("cannot read %s: %s", r.program, strerror(errno));
        return EXIT_USAGE;
    }
    bpfvm_error err;
    printf("%-24s %-24s %s\n", "SECTION", "FUNCTION", "INSNS");
    if (bpfvm_elf_list(data, len, print_prog, NULL, &err)) {
        report_error(r.program, &err);
        ret = EXIT_LOAD;
    } else {
        ret = print_maps(r.program, data, len);
    }
    free(data);
    return ret;
}

/* Is `name` an executable in a PATH directory? */
static int on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[4096];
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n && n + strlen(name) + 2 < sizeof buf) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, name);
            if (access(buf, X_OK) == 0)
                return 1;
        }
        path = end ? end + 1 : NULL;
    }
    return 0;
}

/* The objdumps that may know this host's machine code (binutils reads raw
 * code; llvm-objdump 14 does not), with their -m argument, tried in turn.
 * The triplet name is binutils' on a native arm64 system and the cross
 * binutils' under emulation. */
#if defined(__aarch64__)
static const char *const objdump_tools[][2] = { { "aarch64-linux-gnu-objdump", "-maarch64" },
                                                { "objdump", "-maarch64" } };
#else
static const char *const objdump_tools[][2] = { { "objdump", "-mi386:x86-64" } };
#endif

/* Is one of objdump_tools on PATH? */
static int have_objdump(void)
{
    for (size_t k = 0; k < sizeof objdump_tools / sizeof objdump_tools[0]; k++)
        if (on_path(objdump_tools[k][0]))
            return 1;
    return 0;
}

/* Disassemble machine code with the first of objdump_tools that can, through
 * a temporary file. */
static int objdump_code(const void *code, size_t size)
{
    char tmp[] = "/tmp/bpfvm-jit-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) {
        errorf("cannot create a temporary file: %s", strerror(errno));
        return EXIT_LOAD;
    }
    int ok = write(fd, code, size) == (ssize_t)size;
    close(fd);
    int ret = 0;
    if (!ok) {
        errorf("cannot write %s", tmp);
        ret = EXIT_LOAD;
        goto done;
    }
    fflush(stdout);
    ret = EXIT_LOAD;
    for (size_t k = 0; k < sizeof objdump_tools / sizeof objdump_tools[0] && ret; k++) {
        if (!on_path(objdump_tools[k][0]))
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            execlp(objdump_tools[k][0], objdump_tools[k][0], "-D", "-b", "binary",
                   objdump_tools[k][1], tmp, (char *)NULL);
            _exit(127);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            ret = 0;
    }
    if (ret)
        errorf("objdump failed");
done:
    unlink(tmp);
    return ret;
}

static const char jit_dump_usage[] =
    "usage: bpfvm jit-dump [--unchecked] [--section S] [--entry F] PROGRAM [-o OUT]\n"
    "Compile PROGRAM and show the machine code: raw bytes to OUT with -o, else\n"
    "objdump's disassembly when objdump is on PATH, else a hex dump.\n";

static int cmd_jit_dump(int argc, char **argv)
{
    run_opts r;
    bpfvm_vm *vm = NULL;
    int ret = parse_run_opts(argc, argv, O_OUT | O_UNCHECKED | O_ELF, &r);
    if (ret)
        return ret;
    r.jit = 1;
    if ((ret = setup_vm(&r, &vm, NULL, NULL)))
        return ret;
    size_t size = 0;
    const unsigned char *code = bpfvm_jit_code(vm, &size);
    if (!code) {
        errorf("%s: no machine code", r.program);
        ret = EXIT_LOAD;
    } else if (r.out) {
        ret = write_file(r.out, code, size);
    } else if (have_objdump()) {
        ret = objdump_code(code, size);
    } else {
        for (size_t i = 0; i < size; i++)
            printf("%02x%s", code[i], (i % 16 == 15 || i + 1 == size) ? "\n" : " ");
    }
    bpfvm_destroy(vm);
    return ret;
}

/* ---- maps ----------------------------------------------------------------- */

/* Fill the maps `--map NAME=FILE` name from their files (JSON). */
static int fill_maps(const bpfvm_object *obj, const run_opts *t)
{
    for (int i = 0; i < t->nmap_fill; i++) {
        const char *eq = strchr(t->map_fill[i], '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - t->map_fill[i]), t->map_fill[i]);
        bpfvm_map *m = bpfvm_object_find_map(obj, name);
        if (!m) {
            errorf("--map: %s has no map named '%s'", t->program, name);
            return EXIT_USAGE;
        }
        size_t len;
        char *text = (char *)tool_read_file(eq + 1, &len);
        if (!text) {
            errorf("cannot read %s: %s", eq + 1, strerror(errno));
            return EXIT_USAGE;
        }
        const char *err = NULL;
        size_t at = 0;
        int bad = memchr(text, 0, len) != NULL || fill_map_json(m, text, &err, &at);
        free(text);
        if (bad) {
            errorf("%s: offset %zu: %s (map %s)", eq + 1, at, err ? err : "NUL byte in the text",
                   name);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* test-run's program: an ELF object through bpfvm_object_open (its maps in
 * *obj, filled from --map), anything else as load_program. */
static int load_test_program(bpfvm_vm *vm, const run_opts *t, bpfvm_object **obj)
{
    size_t len;
    unsigned char *data = tool_read_file(t->program, &len);
    if (!data) {
        errorf("cannot read %s: %s", t->program, strerror(errno));
        return EXIT_USAGE;
    }
    int elf = tool_is_elf(data, len), ret = 0;
    bpfvm_error err;
    if (elf && bpfvm_object_open(data, len, obj, &err)) {
        report_error(t->program, &err);
        ret = EXIT_LOAD;
    } else if (elf && !(ret = fill_maps(*obj, t)) &&
               bpfvm_object_load(*obj, vm, t->section, t->entry)) {
        report_error(t->program, bpfvm_last_error(vm));
        ret = EXIT_LOAD;
    }
    free(data);
    if (!elf && t->nmap_fill) {
        errorf("--map needs an ELF object");
        return EXIT_USAGE;
    }
    return elf ? ret : load_program(vm, t->program, t->section, t->entry);
}

/* ---- bpfvm test-run ------------------------------------------------------ */

static const char test_run_usage[] =
    "usage: bpfvm test-run [OPTIONS] PROG.o\n"
    "Run a kernel-style program as the kernel's BPF_PROG_TEST_RUN does (bpftool prog run).\n"
    "  --type TYPE          xdp, tc, socket, cgroup_skb, raw or none (default: from the\n"
    "                       section name, as libbpf names them)\n"
    "  --data-in FILE       the packet (xdp, tc, socket, cgroup_skb) or input memory\n"
    "  --data-out FILE      write the packet after the run\n"
    "  --ctx-in FILE        the context (struct xdp_md, struct __sk_buff, raw buffer)\n"
    "  --ctx-out FILE       write the context after the run\n"
    "  --repeat N           run N times over the same buffers; the average time is shown\n"
    "  --jit                run the x86-64 JIT instead of the interpreter\n"
    "  --section S, --entry F  choose the program of an ELF object\n"
    "  --json               one object: {\"retval\", \"duration_ns\", \"data_out\", \"ctx_out\"}\n"
    "                       and for objects \"maps\" and \"internal\" (global data): every\n"
    "                       map after the runs (docs/maps.md)\n"
    "  --map NAME=FILE      fill map NAME before the run from JSON in that form\n"
    "  --cpu N              the CPU per-CPU maps and bpf_get_smp_processor_id see\n"
    "  --trace, --profile [--json], --profile-annotate  as for bpfvm run (the profile\n"
    "                       adds up the --repeat runs; traced runs use the interpreter);\n"
    "                       with --json the profile is the object's \"profile\" member\n"
    "Exit status: 0 ok, 1 load error, 2 usage or bad input, 3 runtime fault.\n";

static int cmd_test_run(int argc, char **argv)
{
    run_opts t;
    bpfvm_vm *vm = NULL;
    unsigned char *data = NULL, *ctx = NULL, *data_out = NULL, *ctx_out = NULL;
    size_t data_len = 0, ctx_len = 0;
    bpfvm_prog_type type = BPFVM_PROG_AUTO;
    bpfvm_object *obj = NULL;
    view_opts views;
    view_run w;
    int embed = 0; /* the profile goes into the JSON object (w to free) */
    take_view_opts(&argc, argv, &views);
    int ret = parse_run_opts(argc, argv, O_TESTRUN | O_JIT | O_JSON | O_ELF, &t);
    if (ret)
        return ret;
    if (t.json && (views.trace || views.annotate)) {
        errorf("--json prints one object: it goes with --profile, not --trace or "
               "--profile-annotate");
        return EXIT_USAGE;
    }
    uint32_t repeat = t.runs ? (uint32_t)t.runs : 1;
    if (t.type && bpfvm_prog_type_by_name(t.type, &type)) {
        errorf("unknown program type '%s' (xdp, tc, socket, cgroup_skb, raw, none)", t.type);
        return EXIT_USAGE;
    }
    if ((ret = load_image(t.data_in, NULL, &data, &data_len)) ||
        (ret = load_image(t.ctx_in, NULL, &ctx, &ctx_len)))
        goto done;
    size_t data_cap = data_len > 4096 ? data_len : 4096, ctx_cap = ctx_len > 4096 ? ctx_len : 4096;
    if (!(vm = bpfvm_create()) || !(data_out = malloc(data_cap)) || !(ctx_out = malloc(ctx_cap))) {
        errorf("out of memory");
        ret = EXIT_USAGE;
        goto done;
    }
    bpfvm_set_trace_stream(vm, stderr);
    if (bpfvm_register_std_helpers(vm) || bpfvm_register_kernel_helpers(vm) ||
        bpfvm_set_prog_type(vm, type) || bpfvm_set_cpu(vm, t.cpu)) {
        report_error(t.program, bpfvm_last_error(vm));
        ret = EXIT_USAGE;
        goto done;
    }
    if ((ret = load_test_program(vm, &t, &obj)))
        goto done;
    if (t.jit && bpfvm_compile(vm, 0)) {
        report_error(t.program, bpfvm_last_error(vm));
        ret = EXIT_LOAD;
        goto done;
    }
    /* As the kernel: an XDP context goes out only when one came in (or
     * was asked for, which then needs one in). */
    int want_ctx = t.ctx_in || t.ctx_out || (t.json && bpfvm_get_prog_type(vm) != BPFVM_PROG_XDP);
    bpfvm_test_run_opts o = { data, data_len, data_out, data_cap, t.ctx_in ? ctx : NULL, ctx_len,
                              want_ctx ? ctx_out : NULL, ctx_cap, repeat, t.jit, 0, 0 };
    int viewed = views.trace || views.profile || views.annotate;
    views.json = t.json;
    if (viewed && view_begin(&w, &views, vm, &(run_memory){ 0, 0, 0, 0, 512 })) {
        ret = EXIT_USAGE;
        goto done;
    }
    int rc = viewed ? bpfvm_test_run_traced(vm, &o, w.hook, w.user, w.counts)
                    : bpfvm_test_run(vm, &o);
    const bpfvm_error *run_err = bpfvm_last_error(vm);
    embed = viewed && t.json;
    if (viewed && !embed)
        view_end(&w, &views, run_err, rc, o.retval);
    if (rc) {
        if (embed) { /* the one object: the error and the profile up to it */
            printf("{\"error\": ");
            json_string(run_err->message[0] ? run_err->message : bpfvm_strerror(rc));
            printf(", \"profile\": ");
            view_end(&w, &views, run_err, rc, o.retval);
            embed = 0;
            printf("}\n");
        }
        report_error(t.program, run_err);
        ret = rc == BPFVM_EINVAL || rc == BPFVM_EUNSUPPORTED || rc == BPFVM_ENOMEM ? EXIT_USAGE
                                                                                 : EXIT_FAULT;
        goto done;
    }
    if ((t.data_out && (ret = write_file(t.data_out, data_out, o.data_size_out))) ||
        (t.ctx_out && (ret = write_file(t.ctx_out, ctx_out, o.ctx_size_out))))
        goto done;
    if (t.json) {
        printf("{\"retval\": %" PRIu32 ", \"duration_ns\": %" PRIu64 ", \"data_out\": ",
               o.retval, o.duration_ns);
        mjson_hex(stdout, data_out, o.data_size_out);
        printf(", \"ctx_out\": ");
        mjson_hex(stdout, ctx_out, want_ctx ? o.ctx_size_out : 0);
        if (obj)
            print_object_maps_json(obj);
        if (embed) {
            printf(", \"profile\": ");
            view_end(&w, &views, run_err, rc, o.retval);
            embed = 0;
        }
        printf("}\n");
    } else {
        printf("Return value: %" PRIu32 ", duration%s: %" PRIu64 "ns\n", o.retval,
               repeat > 1 ? " (average)" : "", o.duration_ns);
    }
done:
    if (embed) /* not printed: a write failed */
        profiler_free(&w.p);
    bpfvm_destroy(vm);
    bpfvm_object_close(obj);
    free(data);
    free(ctx);
    free(data_out);
    free(ctx_out);
    return ret;
}

/* ---- main --------------------------------------------------------------- */

static const char main_usage[] =
    "usage: bpfvm COMMAND [OPTIONS] ...\n"
    "Commands:\n"
    "  run       run a program and print r0\n"
    "  bench     time loading, compiling and running a program\n"
    "  asm       assemble text into bytecode\n"
    "  disasm    disassemble bytecode, assembly or an ELF object\n"
    "  cfg       control-flow graph as Graphviz DOT\n"
    "  verify    check a program and explain each problem\n"
    "  ls        list the programs of an ELF object\n"
    "  jit-dump  show the machine code the JIT generates\n"
    "  test-run  run a kernel-style program as the kernel's test run does\n"
    "  debug     step through a program: breakpoints, registers, memory, source\n"
    "  version   print the version\n"
    "Run 'bpfvm COMMAND --help' for the options of a command.\n";

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} command;

static int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 2) {
        errorf("version takes no arguments");
        return EXIT_USAGE;
    }
    printf("bpfvm %s\n", BPFVM_VERSION);
    return 0;
}

static const command commands[] = {
    { "run", cmd_run, run_usage },
    { "bench", cmd_bench, bench_usage },
    { "asm", cmd_asm, asm_usage },
    { "disasm", cmd_disasm, disasm_usage },
    { "cfg", cmd_cfg, cfg_usage },
    { "verify", cmd_verify, verify_usage },
    { "ls", cmd_ls, ls_usage },
    { "jit-dump", cmd_jit_dump, jit_dump_usage },
    { "test-run", cmd_test_run, test_run_usage },
    { "debug", cmd_debug, debug_usage },
    { "version", cmd_version, "usage: bpfvm version\n" },
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(2, argv);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        static char name[64];
        snprintf(name, sizeof name, "bpfvm %s", commands[i].name);
        cmd_name = name;
        for (int k = 2; k < argc; k++) {
            if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
                fputs(commands[i].usage, stdout);
                return 0;
            }
        }
        return commands[i].fn(argc, argv);
    }
    errorf("unknown command '%s' (see bpfvm --help)", argv[1]);
    return EXIT_USAGE;
}
