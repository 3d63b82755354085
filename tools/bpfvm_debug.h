/* bpfvm_debug.h - the bpfvm command's views inside a run: disassembly with
 * source lines, tracing, profiling and the debugger (docs/debugging.md).
 * Included once by tools/bpfvm.c, after its option and loading helpers. */

/* ---- source lines --------------------------------------------------------- */

/* The text after leading blanks (NULL stays NULL). */
static const char *skip_blanks(const char *text)
{
    while (text && (*text == ' ' || *text == '\t'))
        text++;
    return text;
}

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
    if (s.file && s.line && (!same_line(&s, prev) || s.function_start == i)) {
        const char *text = skip_blanks(s.text);
        fprintf(out, "%s; %s:%u\n", lead, s.file, s.line);
        if (text) /* DWARF line info has no text */
            fprintf(out, "%s; %s\n", lead, text);
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
    if (m->mem && a - m->mem <= m->mem_len) /* one past the end too */
        snprintf(buf, size, "mem+%" PRIu64, a - m->mem);
    else if (m->mbuff && a - m->mbuff <= m->mbuff_len)
        snprintf(buf, size, "mbuff+%" PRIu64, a - m->mbuff);
    else if (fp - a <= m->stack_size && a != fp)
        snprintf(buf, size, "fp-%" PRIu64, fp - a);
    else if (a - fp < m->stack_size)
        snprintf(buf, size, "fp+%" PRIu64, a - fp);
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

/* Called where the call depth changes (bpfvm_run_counted counts the rest). */
static int profile_hook(void *user, const bpfvm_trace_state *st)
{
    profiler *p = user;
    if (st->insn == BPFVM_TRACE_END) { /* the next run (test-run --repeat) starts afresh */
        /* counted: the instructions that ran, one that faulted included */
        uint64_t sum = 0;
        for (size_t i = 0; i < p->count; i++)
            sum += p->hits[i];
        uint64_t ran = sum - p->total;
        p->total = sum;
        while (p->depth)
            profile_pop(p, ran);
        p->stack[0].func = 0;
        p->stack[0].entered = 0;
        p->depth = 1;
        return 0;
    }
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
        if (!s.line) /* code the compiler gave no line */
            s.text = "(no source line)";
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
        printf("]}");
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
            const char *text = lines[k].text ? skip_blanks(lines[k].text) : "";
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

/* A run with views: the tracer or the profiler, and the hook to run with
 * (with counts: a counting run). */
typedef struct view_run {
    tracer t;
    profiler p;
    bpfvm_trace_fn hook;
    void *user;
    uint64_t *counts;
} view_run;

static int view_begin(view_run *w, const view_opts *v, bpfvm_vm *vm, const run_memory *m)
{
    memset(w, 0, sizeof *w);
    if (v->trace) {
        w->t.vm = vm;
        w->t.insns = bpfvm_program(vm, &w->t.count);
        w->t.m = *m;
        w->hook = trace_hook;
        w->user = &w->t;
        return 0;
    }
    if (profiler_init(&w->p, vm)) {
        profiler_free(&w->p);
        errorf("out of memory");
        return -1;
    }
    w->p.depth = 1; /* the entry function, from the start */
    w->hook = profile_hook;
    w->user = &w->p;
    w->counts = w->p.hits;
    return 0;
}

/* After the run: the profile asked for. Returns whether the result went
 * out with it (JSON: one object, the line not ended, so that a caller may
 * hold it in its own object). */
static int view_end(view_run *w, const view_opts *v, const bpfvm_error *err, int rc, uint64_t r0)
{
    if (v->trace)
        return 0;
    if (v->annotate)
        profile_annotate(&w->p);
    if (v->profile || !v->annotate)
        profile_report(&w->p, v->json, err, rc, r0);
    profiler_free(&w->p);
    return v->json;
}

/* bpfvm run with views; returns the run's code. *printed is set when the
 * result went out with the view (JSON). */
static int run_with_views(const view_opts *v, bpfvm_vm *vm, const run_memory *m,
                          unsigned char *mem, size_t mem_len, unsigned char *mbuff,
                          size_t mbuff_len, uint64_t *r0, bpfvm_error *err, int *printed)
{
    view_run w;
    int rc;
    *printed = 0;
    if (view_begin(&w, v, vm, m))
        return BPFVM_ENOMEM;
    rc = w.counts ? bpfvm_run_counted(vm, mem, mem_len, mbuff, mbuff_len, w.counts, w.hook,
                                      w.user, r0, err)
                  : bpfvm_run_traced(vm, mem, mem_len, mbuff, mbuff_len, w.hook, w.user, r0, err);
    *printed = view_end(&w, v, err, rc, rc ? 0 : *r0);
    if (*printed)
        putchar('\n');
    return rc;
}

/* ---- bpfvm debug ------------------------------------------------------------ */

typedef struct debug_session {
    bpfvm_vm *vm;
    bpfvm_debugger *dbg;
    const bpfvm_insn *insns;
    size_t count;
    run_memory m;
    FILE *in;
    int echo;             /* commands come from a script: echo them */
    int running, quit;
    const char *program;
} debug_session;

/* A number (decimal, 0x hex, negative allowed for set) or "rN", or "rN+K"/"rN-K"
 * while stopped. Returns 0 or prints why not. */
static int debug_value(const debug_session *s, const char *text, uint64_t *out)
{
    char *end;
    uint64_t base = 0;
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p == 'r' && p[1] >= '0' && p[1] <= '9') {
        unsigned long r = strtoul(p + 1, &end, 10);
        if (r > 10 || (*end && *end != '+' && *end != '-' && *end != ' ')) {
            printf("bad register '%s' (r0..r10)\n", text);
            return -1;
        }
        if (!s->running || bpfvm_debug_get_reg(s->dbg, (unsigned)r, &base)) {
            printf("the program is not stopped: no registers\n");
            return -1;
        }
        p = end;
        while (*p == ' ')
            p++;
        if (!*p) {
            *out = base;
            return 0;
        }
    }
    int neg = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    while (*p == ' ')
        p++;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 0);
    while (*end == ' ')
        end++;
    if (!*p || *end || errno || *p == '-') {
        printf("bad number '%s'\n", text);
        return -1;
    }
    *out = neg ? base - v : base + v;
    return 0;
}

static void debug_show_insn(const debug_session *s, size_t i, const char *mark)
{
    char text[160];
    bpfvm_disasm_insn(s->insns, s->count, i, 0, text, sizeof text);
    printf("%s%zu: %s\n", mark, i, text);
}

/* Slots of the instruction at i (2 for lddw). */
static size_t slots_at(const debug_session *s, size_t i)
{
    return s->insns[i].opcode == (BPFVM_LD | BPFVM_IMM | BPFVM_DW) ? 2 : 1;
}

/* "func at file:line: text" of a slot, when known. */
static void debug_show_source(const debug_session *s, size_t i)
{
    bpfvm_source src;
    if (bpfvm_source_at(s->vm, i, &src))
        return;
    if (src.function)
        printf("%s", src.function);
    if (src.file) {
        const char *text = skip_blanks(src.text), *slash = strrchr(src.file, '/');
        printf(" at %s:%u%s%s", slash ? slash + 1 : src.file, src.line, text ? ": " : "",
               text ? text : "");
    }
    putchar('\n');
}

/* Slots where a breakpoint spec points: an index, a function name, or
 * FILE:LINE (each slot where that line begins). Returns how many. */
static size_t debug_resolve(const debug_session *s, const char *spec, size_t *out, size_t max)
{
    size_t n = 0;
    const char *colon = strrchr(spec, ':');
    char *end;
    if (spec[0] >= '0' && spec[0] <= '9') {
        unsigned long long v = strtoull(spec, &end, 0);
        if (!*end && n < max)
            out[n++] = (size_t)v;
        return n;
    }
    unsigned long line = colon ? strtoul(colon + 1, &end, 10) : 0;
    for (size_t i = 0; i < s->count && n < max; i++) {
        bpfvm_source src, prev;
        if (bpfvm_source_at(s->vm, i, &src))
            continue;
        if (!colon) {
            if (src.function && src.function_start == i && strcmp(src.function, spec) == 0)
                out[n++] = i;
            continue;
        }
        if (!src.file || src.line != line || *end)
            continue;
        size_t flen = strlen(src.file), slen = (size_t)(colon - spec);
        if (flen < slen || strncmp(src.file + flen - slen, spec, slen) != 0 ||
            (flen > slen && src.file[flen - slen - 1] != '/'))
            continue;
        if (i > 0 && bpfvm_source_at(s->vm, i - 1, &prev) == 0 && prev.line == src.line &&
            prev.file == src.file && src.function_start != i)
            continue; /* not where the line begins */
        out[n++] = i;
    }
    return n;
}

static void debug_break(debug_session *s, const char *arg)
{
    size_t at[64];
    size_t n = *arg ? debug_resolve(s, arg, at, 64) : 0;
    if (!*arg) {
        printf("break: give an instruction index, a function or FILE:LINE\n");
        return;
    }
    if (n == 0) {
        printf("break: no instruction, function or source line '%s'\n", arg);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        if (bpfvm_debug_break(s->dbg, at[k])) {
            printf("break: %s\n", bpfvm_last_error(s->vm)->message);
            continue;
        }
        printf("breakpoint at %zu", at[k]);
        bpfvm_source src;
        if (bpfvm_source_at(s->vm, at[k], &src) == 0 && src.file)
            printf(" (%s:%u)", strrchr(src.file, '/') ? strrchr(src.file, '/') + 1 : src.file,
                   src.line);
        putchar('\n');
    }
}

static void debug_examine(const debug_session *s, const char *fmt, const char *arg)
{
    /* x/NFU: count, format x or d, unit b h w g */
    char *end;
    unsigned long n = strtoul(fmt, &end, 10);
    if (end == fmt)
        n = 1;
    char f = 'x', u = 'b';
    for (; *end; end++) {
        if (strchr("xd", *end))
            f = *end;
        else if (strchr("bhwg", *end))
            u = *end;
        else {
            printf("x: bad format '/%s' (x/NFU: F x or d, U b h w g)\n", fmt);
            return;
        }
    }
    unsigned size = u == 'b' ? 1 : u == 'h' ? 2 : u == 'w' ? 4 : 8;
    uint64_t addr;
    if (n == 0 || n > 256) {
        printf("x: count must be 1..256\n");
        return;
    }
    if (!*arg) {
        printf("x: give an address\n");
        return;
    }
    if (debug_value(s, arg, &addr))
        return;
    if (!s->running) {
        printf("the program is not stopped: no memory\n");
        return;
    }
    uint64_t fp;
    bpfvm_debug_get_reg(s->dbg, 10, &fp);
    for (unsigned long k = 0; k < n; k++) {
        uint64_t a = addr + k * size, v = 0;
        uint8_t b[8];
        if (k % (16 / size) == 0) {
            char where[48];
            name_address(where, sizeof where, &s->m, fp, a);
            printf("%s%s:", k ? "\n" : "", where);
        }
        if (bpfvm_debug_read(s->dbg, a, b, size)) {
            char where[48];
            name_address(where, sizeof where, &s->m, fp, a);
            printf("%sx: cannot access %u bytes at %s\n", k % (16 / size) ? "\n" : " <none>\n",
                   size, where);
            return;
        }
        for (unsigned j = size; j-- > 0;)
            v = v << 8 | b[j];
        if (f == 'd')
            printf(" %" PRId64, size == 8 ? (int64_t)v : size == 4 ? (int32_t)v
                                : size == 2 ? (int16_t)v : (int8_t)v);
        else
            printf(" 0x%0*" PRIx64, (int)size * 2, v);
    }
    putchar('\n');
}

static void debug_backtrace(const debug_session *s)
{
    bpfvm_frame f[65];
    size_t n = bpfvm_debug_frames(s->dbg, f, 65);
    char nb[32];
    for (size_t k = 0; k < n && k < 65; k++) {
        /* each frame's stack, below its r10, named from the innermost r10 */
        printf("#%zu  %zu in %s (stack fp-%" PRIu64 "..fp-%" PRIu64 ")", k, f[k].pc,
               func_name(s->vm, f[k].function, nb, sizeof nb),
               f[0].fp - f[k].fp + s->m.stack_size, f[0].fp - f[k].fp);
        bpfvm_source src;
        if (bpfvm_source_at(s->vm, f[k].pc, &src) == 0 && src.file)
            printf(" at %s:%u", strrchr(src.file, '/') ? strrchr(src.file, '/') + 1 : src.file,
                   src.line);
        putchar('\n');
    }
}

/* disas: the current function, "=>" at the stop. */
static void debug_disas(const debug_session *s, size_t pc)
{
    bpfvm_frame f;
    bpfvm_debug_frames(s->dbg, &f, 1);
    size_t i = f.function;
    size_t callee = SIZE_MAX;
    for (size_t j = i + 1; j < s->count && callee == SIZE_MAX; j++) { /* the next function */
        bpfvm_source src;
        if (bpfvm_source_at(s->vm, j, &src) == 0 && src.function && src.function_start == j)
            callee = j;
    }
    for (; i < s->count && i < callee;) {
        debug_show_insn(s, i, i == pc ? "=> " : "   ");
        i += slots_at(s, i);
        if (callee == SIZE_MAX && s->insns[i - 1].opcode == (BPFVM_JMP | BPFVM_EXIT_OP) && i > pc)
            break; /* without function names: up to the exit after the stop */
    }
}

/* list: the source around the stop, from the file if it can be read, else
 * the lines the line info holds. */
static void debug_list(const debug_session *s, size_t pc)
{
    bpfvm_source src;
    if (bpfvm_source_at(s->vm, pc, &src) || !src.file) {
        printf("list: no source line for instruction %zu\n", pc);
        return;
    }
    FILE *f = fopen(src.file, "r");
    char line[512];
    if (f) {
        unsigned n = 0, from = src.line > 5 ? src.line - 5 : 1;
        while (fgets(line, sizeof line, f) && ++n < from + 10)
            if (n >= from)
                printf("%s%u\t%s", n == src.line ? "=>" : "  ", n, line);
        fclose(f);
        return;
    }
    printf("=>%u\t%s\n", src.line, src.text ? src.text : "(source file not readable)");
}

static void debug_info_registers(const debug_session *s)
{
    for (unsigned r = 0; r <= 10; r++) {
        uint64_t v;
        bpfvm_debug_get_reg(s->dbg, r, &v);
        printf("r%-2u %#18" PRIx64 "  %" PRId64 "\n", r, v, (int64_t)v);
    }
}

/* One command while stopped (running) or not. Returns a resume mode when
 * the command resumes the run, -1 otherwise. */
static int debug_command(debug_session *s, char *line, size_t pc)
{
    char *cmd = line, *arg;
    while (*cmd == ' ' || *cmd == '\t')
        cmd++;
    cmd[strcspn(cmd, "\r\n")] = 0;
    if (!*cmd || *cmd == '#')
        return -1;
    arg = cmd + strcspn(cmd, " \t/");
    char slash = *arg;
    if (*arg)
        *arg++ = 0;
    char *fmt = "";
    if (slash == '/') { /* x/FMT ADDR */
        fmt = arg;
        arg += strcspn(arg, " \t");
        if (*arg)
            *arg++ = 0;
    }
    while (*arg == ' ' || *arg == '\t')
        arg++;
    static const struct {
        const char *name, *alias;
        int resume;
    } resumers[] = {
        { "continue", "c", BPFVM_RESUME_CONTINUE }, { "step", "s", BPFVM_RESUME_STEP },
        { "next", "n", BPFVM_RESUME_NEXT },         { "stepi", "si", BPFVM_RESUME_STEPI },
        { "nexti", "ni", BPFVM_RESUME_NEXTI },      { "finish", "fin", BPFVM_RESUME_FINISH },
    };
    for (size_t k = 0; k < sizeof resumers / sizeof resumers[0]; k++)
        if (strcmp(cmd, resumers[k].name) == 0 || strcmp(cmd, resumers[k].alias) == 0) {
            if (!s->running) {
                printf("the program is not being run (use run)\n");
                return -1;
            }
            return resumers[k].resume;
        }
    int stopped = s->running;
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "q") == 0) {
        s->quit = 1;
        return stopped ? BPFVM_RESUME_KILL : -1;
    } else if (strcmp(cmd, "run") == 0 || strcmp(cmd, "r") == 0) {
        if (stopped)
            printf("the program is already running\n");
        return stopped ? -1 : BPFVM_RESUME_CONTINUE;
    } else if (strcmp(cmd, "break") == 0 || strcmp(cmd, "b") == 0) {
        debug_break(s, arg);
    } else if (strcmp(cmd, "delete") == 0 || strcmp(cmd, "d") == 0) {
        uint64_t at;
        if (!*arg) {
            const size_t *b;
            while (bpfvm_debug_breakpoints(s->dbg, &b))
                bpfvm_debug_delete(s->dbg, b[0]);
            printf("all breakpoints deleted\n");
        } else if (debug_value(s, arg, &at) == 0) {
            if (bpfvm_debug_delete(s->dbg, (size_t)at))
                printf("delete: no breakpoint at %s\n", arg);
        }
    } else if (strcmp(cmd, "watch") == 0) {
        uint64_t addr, len = 8;
        char *comma = strchr(arg, ',');
        if (comma)
            *comma = 0;
        if (!*arg)
            printf("watch: give an address (and ,LENGTH)\n");
        else if (debug_value(s, arg, &addr) == 0 && (!comma || debug_value(s, comma + 1, &len) == 0)) {
            if (bpfvm_debug_watch(s->dbg, addr, len))
                printf("%s\n", bpfvm_last_error(s->vm)->message);
            else
                printf("watching %" PRIu64 " bytes at %s\n", len, arg);
        }
    } else if (strcmp(cmd, "info") == 0 || strcmp(cmd, "i") == 0) {
        if (strcmp(arg, "breakpoints") == 0 || strcmp(arg, "b") == 0) {
            const size_t *b;
            size_t n = bpfvm_debug_breakpoints(s->dbg, &b);
            if (!n)
                printf("no breakpoints\n");
            for (size_t k = 0; k < n; k++)
                printf("breakpoint at %zu\n", b[k]);
        } else if (strcmp(arg, "registers") != 0 && strcmp(arg, "r") != 0) {
            printf("info: registers or breakpoints\n");
        } else if (!stopped) {
            printf("the program is not being run\n");
        } else {
            debug_info_registers(s);
        }
    } else if (strcmp(cmd, "print") == 0 || strcmp(cmd, "p") == 0) {
        uint64_t v;
        if (!*arg)
            printf("print: give a register or a number\n");
        else if (debug_value(s, arg, &v) == 0)
            printf("%s = %#" PRIx64 " (%" PRId64 ")\n", arg, v, (int64_t)v);
    } else if (strcmp(cmd, "set") == 0) {
        char *eq = strchr(arg, '=');
        char *end;
        uint64_t v;
        unsigned long r = arg[0] == 'r' ? strtoul(arg + 1, &end, 10) : 99;
        if (!eq || arg[0] != 'r' || end == arg + 1 || (*end != ' ' && *end != '='))
            printf("set: rN = VALUE\n");
        else if (!stopped)
            printf("the program is not being run\n");
        else if (debug_value(s, eq + 1, &v) == 0) {
            if (r > 9 || bpfvm_debug_set_reg(s->dbg, (unsigned)r, v))
                printf("set: r0..r9 can be set\n");
            else
                printf("r%lu = %#" PRIx64 "\n", r, v);
        }
    } else if (strcmp(cmd, "x") == 0) {
        debug_examine(s, fmt, arg);
    } else if (strcmp(cmd, "bt") == 0 || strcmp(cmd, "backtrace") == 0 || strcmp(cmd, "where") == 0) {
        if (stopped)
            debug_backtrace(s);
        else
            printf("no stack: the program is not being run\n");
    } else if (strcmp(cmd, "disas") == 0 || strcmp(cmd, "disassemble") == 0) {
        if (stopped)
            debug_disas(s, pc);
        else
            for (size_t i = 0; i < s->count; i += slots_at(s, i))
                debug_show_insn(s, i, "   ");
    } else if (strcmp(cmd, "list") == 0 || strcmp(cmd, "l") == 0) {
        debug_list(s, stopped ? pc : 0);
    } else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "h") == 0) {
        printf("run, break N|FUNC|FILE:LINE, delete [N], watch ADDR[,LEN], continue, step,\n"
               "next, stepi, nexti, finish, info registers|breakpoints, print rN|VALUE,\n"
               "x/NFU ADDR (F: x d; U: b h w g; ADDR: N, rN, rN+K), set rN = V, bt, disas,\n"
               "list, quit\n");
    } else {
        printf("unknown command '%s' (try help)\n", cmd);
    }
    return -1;
}

/* Read commands until one resumes the run (or input ends: quit). */
static int debug_prompt(debug_session *s, size_t pc)
{
    char line[512];
    for (;;) {
        if (!s->echo) {
            printf("(bpfvm) ");
            fflush(stdout);
        }
        if (!fgets(line, sizeof line, s->in)) {
            s->quit = 1;
            return BPFVM_RESUME_KILL;
        }
        if (s->echo)
            printf("(bpfvm) %s%s", line, strchr(line, '\n') ? "" : "\n");
        int r = debug_command(s, line, pc);
        if (r >= 0 || s->quit)
            return r >= 0 ? r : BPFVM_RESUME_CONTINUE;
    }
}

static bpfvm_resume debug_stopped(void *user, bpfvm_debugger *dbg, const bpfvm_stop_info *w)
{
    debug_session *s = user;
    (void)dbg;
    if (w->why == BPFVM_STOP_BREAK)
        printf("breakpoint at %zu\n", w->insn);
    if (w->why == BPFVM_STOP_WATCH) {
        uint64_t fp;
        char where[48];
        bpfvm_debug_get_reg(s->dbg, 10, &fp);
        name_address(where, sizeof where, &s->m, fp, w->store_addr);
        printf("watchpoint: instruction %zu stored %u bytes at %s\n", w->store_insn,
               w->store_size, where);
    }
    debug_show_source(s, w->insn);
    debug_show_insn(s, w->insn, "=> ");
    return (bpfvm_resume)debug_prompt(s, w->insn);
}

static const char debug_usage[] =
    "usage: bpfvm debug [-x FILE] PROGRAM [run options]\n"
    "Debug PROGRAM with gdb-like commands read from the terminal, from stdin,\n"
    "or from FILE (-x). Type help at the prompt. The run options are those of\n"
    "bpfvm run; the program runs in the interpreter.\n";

static int cmd_debug(int argc, char **argv)
{
    const char *script = NULL;
    int out = 2;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-x") == 0 && i + 1 < argc)
            script = argv[++i];
        else
            argv[out++] = argv[i];
    }
    argc = out;
    run_opts r;
    bpfvm_vm *vm = NULL;
    unsigned char *mem = NULL, *mbuff = NULL;
    size_t mem_len, mbuff_len;
    debug_session s;
    memset(&s, 0, sizeof s);
    int ret = parse_run_opts(argc, argv,
                             O_MEM | O_MBUFF | O_MODE | O_BUDGET | O_UNCHECKED | O_STACK |
                                 O_DEPTH | O_ELF,
                             &r);
    if (ret)
        return ret;
    s.in = script ? fopen(script, "r") : stdin;
    if (!s.in) {
        errorf("cannot read %s: %s", script, strerror(errno));
        return EXIT_USAGE;
    }
    s.echo = script || !isatty(fileno(s.in));
    if ((ret = load_image(r.mem_file, r.mem_hex, &mem, &mem_len)) ||
        (ret = load_image(r.mbuff_file, r.mbuff_hex, &mbuff, &mbuff_len)) ||
        (ret = setup_vm(&r, &vm, NULL, NULL)))
        goto done;
    if (!(s.dbg = bpfvm_debugger_create(vm))) {
        errorf("out of memory");
        ret = EXIT_LOAD;
        goto done;
    }
    s.vm = vm;
    s.insns = bpfvm_program(vm, &s.count);
    s.m = (run_memory){ (uintptr_t)mem, mem ? mem_len : 0, (uintptr_t)mbuff,
                        mbuff ? mbuff_len : 0, r.have_stack ? r.stack : 512 };
    s.program = r.program;
    warn_dropped_lines(vm, r.program);
    while (!s.quit) {
        int first = debug_prompt(&s, 0);
        if (s.quit)
            break;
        uint64_t r0;
        bpfvm_error err;
        s.running = 1;
        int rc = bpfvm_debug_run(s.dbg, mem, mem_len, mbuff, mbuff_len, (bpfvm_resume)first,
                                 debug_stopped, &s, &r0, &err);
        s.running = 0;
        if (rc == 0)
            printf("program exited: r0 = 0x%" PRIx64 "\n", r0);
        else if (rc == BPFVM_ESTOPPED)
            printf("program killed\n");
        else
            printf("program stopped: %s: %s%s%s%s\n", bpfvm_errname(rc), err.message,
                   err.source[0] ? " (" : "", err.source, err.source[0] ? ")" : "");
    }
done:
    if (s.in && s.in != stdin)
        fclose(s.in);
    bpfvm_debugger_destroy(s.dbg);
    bpfvm_destroy(vm);
    free(mem);
    free(mbuff);
    return ret;
}
