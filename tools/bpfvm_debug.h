/* bpfvm_debug.h - the bpfvm command's views inside a run: disassembly with
 * source lines, tracing, profiling and the debugger (docs/debugging.md).
 * Included once by tools/bpfvm.c, after its option and loading helpers. */

/* ---- source lines --------------------------------------------------------- */

/* Has the source line changed between `a` and `b`? */
static int same_line(const bpfvm_source *a, const bpfvm_source *b)
{
    return a->line == b->line && a->file == b->file;
}

/* Before instruction i: its function's name where it begins, and the
 * source line (file:line, then the text) where it changes from *prev,
 * each line prefixed with `lead`. */
static void print_source_change(FILE *out, const bpfvm_vm *vm, size_t i, bpfvm_source *prev,
                                const char *lead)
{
    bpfvm_source s;
    if (bpfvm_source_at(vm, i, &s))
        return;
    if (s.function && s.function_start == i)
        fprintf(out, "%s<%s>:\n", lead, s.function);
    if (s.file && (!same_line(&s, prev) || s.function_start == i)) {
        const char *text = s.text;
        while (*text == ' ' || *text == '\t')
            text++;
        fprintf(out, "%s; %s:%u\n%s; %s\n", lead, s.file, s.line, lead, text);
    }
    *prev = s;
}

/* Load an ELF object for inspection (no verifier, as disasm does). */
static int load_for_listing(const char *path, const char *section, const char *entry,
                            bpfvm_vm **out)
{
    size_t len;
    unsigned char *data = tool_read_file(path, &len);
    int ret = 0;
    *out = NULL;
    if (!data) {
        errorf("cannot read %s: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    bpfvm_vm *vm = bpfvm_create();
    if (!tool_is_elf(data, len)) {
        errorf("%s: source lines need an ELF object (built with clang -g)", path);
        ret = EXIT_USAGE;
    } else if (!vm || bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE) ||
               bpfvm_load_elf(vm, data, len, section, entry)) {
        if (vm)
            report_error(path, bpfvm_last_error(vm));
        else
            errorf("out of memory");
        ret = EXIT_LOAD;
    }
    free(data);
    if (ret)
        bpfvm_destroy(vm);
    else
        *out = vm;
    return ret;
}

/* Warn about line info that was dropped as corrupt. */
static void warn_dropped_lines(const bpfvm_vm *vm, const char *path)
{
    size_t ignored;
    const char *problem;
    bpfvm_source_stats(vm, &ignored, &problem);
    if (problem)
        errorf("%s: line info: %s (%zu records ignored)", path, problem, ignored);
}

/* bpfvm disasm --source: each source line, then its instructions. */
static int disasm_source(const char *path, const char *section, const char *entry,
                         unsigned flags)
{
    bpfvm_vm *vm;
    int ret = load_for_listing(path, section, entry, &vm);
    if (ret)
        return ret;
    warn_dropped_lines(vm, path);
    size_t count;
    const bpfvm_insn *insns = bpfvm_program(vm, &count);
    bpfvm_source prev = { 0 };
    char buf[256];
    for (size_t i = 0; i < count;) {
        print_source_change(stdout, vm, i, &prev, "");
        int n = bpfvm_disasm_insn(insns, count, i, flags & BPFVM_DISASM_LLVM, buf, sizeof buf);
        printf("%6zu: %s\n", i, buf);
        i += n > 0 ? (size_t)n : 1;
    }
    bpfvm_destroy(vm);
    return 0;
}

/* ---- run --trace / --profile -------------------------------------------- */

/* Options of the views inside a run, taken out of argv before the common
 * run options are parsed. */
typedef struct view_opts {
    int trace, profile, annotate, json;
} view_opts;

static void take_view_opts(int *argc, char **argv, view_opts *v)
{
    int out = 2;
    memset(v, 0, sizeof *v);
    for (int i = 2; i < *argc; i++) {
        if (strcmp(argv[i], "--trace") == 0)
            v->trace = 1;
        else if (strcmp(argv[i], "--profile") == 0)
            v->profile = 1;
        else if (strcmp(argv[i], "--profile-annotate") == 0)
            v->annotate = 1;
        else
            argv[out++] = argv[i];
    }
    *argc = out;
}

/* What the program's memory is, for naming addresses: "mem+4", "fp-8". */
typedef struct run_memory {
    uint64_t mem, mem_len, mbuff, mbuff_len, stack_size;
} run_memory;

static void name_address(char *buf, size_t size, const run_memory *m, uint64_t fp, uint64_t a)
{
    if (a - m->mem < m->mem_len)
        snprintf(buf, size, "mem+%" PRIu64, a - m->mem);
    else if (a - m->mbuff < m->mbuff_len)
        snprintf(buf, size, "mbuff+%" PRIu64, a - m->mbuff);
    else if (fp - a <= m->stack_size && a != fp)
        snprintf(buf, size, "fp-%" PRIu64, fp - a);
    else
        snprintf(buf, size, "0x%" PRIx64, a);
}

/* bpfvm run --trace: the line of an instruction is printed once the next
 * one is about to run, with the registers it changed. */
typedef struct tracer {
    const bpfvm_vm *vm;
    const bpfvm_insn *insns;
    size_t count;
    run_memory m;
    uint64_t regs[11];
    int pending, access;
    size_t bare;          /* length of line without its padding */
    char line[320];
    bpfvm_source src;
} tracer;

static int trace_hook(void *user, const bpfvm_trace_state *st)
{
    tracer *t = user;
    if (t->pending) {
        int changed = 0;
        for (int r = 0; r <= 10; r++)
            changed |= st->regs[r] != t->regs[r];
        if (!changed && !t->access) /* no padding at the end of the line */
            t->line[t->bare] = 0;
        fputs(t->line, stdout);
        for (int r = 0; r <= 10; r++)
            if (st->regs[r] != t->regs[r])
                printf(" r%d=0x%" PRIx64, r, st->regs[r]);
        putchar('\n');
        t->pending = 0;
    }
    if (st->insn == BPFVM_TRACE_END)
        return 0;
    memcpy(t->regs, st->regs, sizeof t->regs);
    print_source_change(stdout, t->vm, st->insn, &t->src, "        ");
    char text[160], where[48];
    bpfvm_disasm_insn(t->insns, t->count, st->insn, 0, text, sizeof text);
    int n = snprintf(t->line, sizeof t->line, "%6zu: %-30s", st->insn, text);
    t->bare = strlen(text) + 8;
    if (st->size && n > 0 && (size_t)n < sizeof t->line) {
        name_address(where, sizeof where, &t->m, st->regs[10], st->addr);
        snprintf(t->line + n, sizeof t->line - (size_t)n, " [%s %s %u]",
                 st->write ? "store" : "load", where, st->size);
    }
    t->access = st->size != 0;
    t->pending = 1;
    return 0;
}

/* bpfvm run --profile: executed count per instruction; per function the
 * exclusive count (its own instructions) and the inclusive one (with the
 * functions it calls), kept on a shadow stack of the active calls. */
typedef struct profiler {
    const bpfvm_vm *vm;
    const bpfvm_insn *insns;
    size_t count;
    uint64_t *hits;       /* per slot */
    size_t *func_of;      /* per slot: the slot its function begins at */
    uint64_t *inclusive;  /* per function start slot */
    struct {
        size_t func;
        uint64_t entered;
    } stack[65];
    unsigned depth;       /* entries on stack */
    uint64_t total;
} profiler;

/* Functions: slot 0 and every local-call target, each up to the next. */
static int profiler_init(profiler *p, const bpfvm_vm *vm)
{
    memset(p, 0, sizeof *p);
    p->vm = vm;
    p->insns = bpfvm_program(vm, &p->count);
    p->hits = calloc(p->count + 1, sizeof *p->hits);
    p->func_of = calloc(p->count + 1, sizeof *p->func_of);
    p->inclusive = calloc(p->count + 1, sizeof *p->inclusive);
    if (!p->hits || !p->func_of || !p->inclusive)
        return -1;
    for (size_t i = 0; i < p->count; i++) {
        const bpfvm_insn *in = &p->insns[i];
        int64_t to = (int64_t)i + 1 + in->imm;
        if (in->opcode == (BPFVM_JMP | BPFVM_CALL) && in->src == BPFVM_PSEUDO_CALL && to >= 0 &&
            (uint64_t)to < p->count)
            p->func_of[to] = 1; /* mark */
    }
    size_t cur = 0;
    for (size_t i = 0; i < p->count; i++) {
        if (p->func_of[i] == 1 && i)
            cur = i;
        p->func_of[i] = cur;
    }
    return 0;
}

static void profiler_free(profiler *p)
{
    free(p->hits);
    free(p->func_of);
    free(p->inclusive);
}

/* Leave the innermost active call at `executed`: a function active further
 * out keeps counting (recursion is counted once). */
static void profile_pop(profiler *p, uint64_t executed)
{
    unsigned d = --p->depth;
    for (unsigned k = 0; k < d; k++)
        if (p->stack[k].func == p->stack[d].func)
            return;
    p->inclusive[p->stack[d].func] += executed - p->stack[d].entered;
}

static int profile_hook(void *user, const bpfvm_trace_state *st)
{
    profiler *p = user;
    if (st->insn == BPFVM_TRACE_END) {
        p->total = st->executed;
        while (p->depth)
            profile_pop(p, st->executed);
        return 0;
    }
    p->hits[st->insn]++;
    while (p->depth > st->depth + 1)
        profile_pop(p, st->executed);
    if (p->depth < st->depth + 1 && p->depth < 65) { /* entered a function */
        p->stack[p->depth].func = p->func_of[st->insn];
        p->stack[p->depth++].entered = st->executed;
    }
    return 0;
}

static const char *func_name(const bpfvm_vm *vm, size_t start, char *buf, size_t size)
{
    bpfvm_source s;
    if (bpfvm_source_at(vm, start, &s) == 0 && s.function && s.function_start == start)
        return s.function;
    snprintf(buf, size, "fn@%zu", start);
    return buf;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Source lines with their summed counts, hottest first. */
typedef struct line_count {
    const char *file, *text;
    unsigned line;
    uint64_t count;
    size_t first;         /* first slot of the line */
} line_count;

static int line_cmp(const void *a, const void *b)
{
    const line_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->first > y->first) - (x->first < y->first);
}

static size_t profile_lines(const profiler *p, line_count *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++) {
        bpfvm_source s;
        if (bpfvm_source_at(p->vm, i, &s) || !s.file || !p->hits[i])
            continue;
        size_t k = 0;
        while (k < n && !(out[k].line == s.line && out[k].file == s.file))
            k++;
        if (k == n)
            out[n++] = (line_count){ s.file, s.text, s.line, 0, i };
        out[k].count += p->hits[i];
    }
    qsort(out, n, sizeof *out, line_cmp);
    return n;
}

static double percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The table of hot spots: functions, source lines, instructions. */
static void profile_report(const profiler *p, int json, const bpfvm_error *err, int rc,
                           uint64_t r0)
{
    char nb[32];
    line_count *lines = calloc(p->count + 1, sizeof *lines);
    size_t nlines = lines ? profile_lines(p, lines) : 0;
    if (json) {
        printf("{\"executed\": %" PRIu64 ", ", p->total);
        if (rc)
            printf("\"error\": "), json_string(err->message), printf(", ");
        else
            printf("\"r0\": \"0x%" PRIx64 "\", ", r0);
        printf("\"functions\": [");
        for (size_t i = 0, first = 1; i < p->count; i++) {
            if (p->func_of[i] != i || (i && !p->inclusive[i] && !p->hits[i]))
                continue;
            uint64_t excl = 0;
            for (size_t j = i; j < p->count && p->func_of[j] == i; j++)
                excl += p->hits[j];
            printf("%s{\"name\": ", first ? "" : ", ");
            json_string(func_name(p->vm, i, nb, sizeof nb));
            printf(", \"start\": %zu, \"exclusive\": %" PRIu64 ", \"inclusive\": %" PRIu64 "}",
                   i, excl, p->inclusive[i]);
            first = 0;
        }
        printf("], \"lines\": [");
        for (size_t k = 0; k < nlines; k++) {
            printf("%s{\"file\": ", k ? ", " : "");
            json_string(lines[k].file);
            printf(", \"line\": %u, \"count\": %" PRIu64 "}", lines[k].line, lines[k].count);
        }
        printf("], \"instructions\": [");
        for (size_t i = 0, first = 1; i < p->count; i++)
            if (p->hits[i]) {
                printf("%s{\"insn\": %zu, \"count\": %" PRIu64 "}", first ? "" : ", ", i,
                       p->hits[i]);
                first = 0;
            }
        printf("]}\n");
        free(lines);
        return;
    }
    printf("profile: %" PRIu64 " instructions executed\n\n", p->total);
    printf("%12s %6s %12s %6s  function\n", "exclusive", "%", "inclusive", "%");
    for (size_t i = 0; i < p->count; i++) {
        if (p->func_of[i] != i || (i && !p->inclusive[i] && !p->hits[i]))
            continue;
        uint64_t excl = 0;
        for (size_t j = i; j < p->count && p->func_of[j] == i; j++)
            excl += p->hits[j];
        printf("%12" PRIu64 " %5.1f%% %12" PRIu64 " %5.1f%%  %s\n", excl,
               percent(excl, p->total), p->inclusive[i], percent(p->inclusive[i], p->total),
               func_name(p->vm, i, nb, sizeof nb));
    }
    if (nlines) {
        printf("\n%12s %6s  source line\n", "count", "%");
        for (size_t k = 0; k < nlines && k < 20; k++) {
            const char *text = lines[k].text;
            while (*text == ' ' || *text == '\t')
                text++;
            const char *slash = strrchr(lines[k].file, '/');
            printf("%12" PRIu64 " %5.1f%%  %s:%u  %s\n", lines[k].count,
                   percent(lines[k].count, p->total), slash ? slash + 1 : lines[k].file,
                   lines[k].line, text);
        }
    }
    printf("\n%12s %6s  instruction\n", "count", "%");
    size_t *order = malloc((p->count + 1) * sizeof *order), n = 0;
    for (size_t i = 0; order && i < p->count; i++)
        if (p->hits[i])
            order[n++] = i;
    for (size_t k = 0; order && k < n && k < 10; k++) { /* the ten hottest, by selection */
        size_t best = k;
        for (size_t j = k + 1; j < n; j++)
            if (p->hits[order[j]] > p->hits[order[best]])
                best = j;
        size_t tmp = order[k];
        order[k] = order[best];
        order[best] = tmp;
        char text[160];
        bpfvm_disasm_insn(p->insns, p->count, order[k], 0, text, sizeof text);
        printf("%12" PRIu64 " %5.1f%%  %zu: %s\n", p->hits[order[k]],
               percent(p->hits[order[k]], p->total), order[k], text);
    }
    free(order);
    free(lines);
    putchar('\n');
}

/* bpfvm run --profile-annotate: the disassembly with counts and source. */
static void profile_annotate(const profiler *p)
{
    bpfvm_source prev = { 0 };
    char text[160];
    for (size_t i = 0; i < p->count;) {
        print_source_change(stdout, p->vm, i, &prev, "                      ");
        int n = bpfvm_disasm_insn(p->insns, p->count, i, 0, text, sizeof text);
        if (p->hits[i])
            printf("%12" PRIu64 " %6.2f%%  %6zu: %s\n", p->hits[i], percent(p->hits[i], p->total),
                   i, text);
        else
            printf("%12s %7s  %6zu: %s\n", "", "", i, text);
        i += n > 0 ? (size_t)n : 1;
    }
    putchar('\n');
}

/* Run with the views asked for; returns the run's code. *printed is set
 * when the result went out with the view (JSON). */
static int run_with_views(const view_opts *v, bpfvm_vm *vm, const run_memory *m,
                          unsigned char *mem, size_t mem_len, unsigned char *mbuff,
                          size_t mbuff_len, uint64_t *r0, bpfvm_error *err, int *printed)
{
    int rc;
    *printed = 0;
    if (v->trace) {
        tracer t;
        memset(&t, 0, sizeof t);
        t.vm = vm;
        t.insns = bpfvm_program(vm, &t.count);
        t.m = *m;
        return bpfvm_run_traced(vm, mem, mem_len, mbuff, mbuff_len, trace_hook, &t, r0, err);
    }
    profiler p;
    if (profiler_init(&p, vm)) {
        profiler_free(&p);
        errorf("out of memory");
        return BPFVM_ENOMEM;
    }
    rc = bpfvm_run_traced(vm, mem, mem_len, mbuff, mbuff_len, profile_hook, &p, r0, err);
    if (v->annotate)
        profile_annotate(&p);
    if (v->profile || !v->annotate)
        profile_report(&p, v->json, err, rc, rc ? 0 : *r0);
    *printed = v->json;
    profiler_free(&p);
    return rc;
}
