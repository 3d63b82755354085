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
