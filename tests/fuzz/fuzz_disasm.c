/* fuzz_disasm.c - arbitrary bytes -> disassembler (every syntax and flag) ->
 * assembler: the text must assemble back to exactly the same bytes. */
#include <stdio.h>

#include "fuzz_common.h"

static void round_trip(const bpfvm_insn *insns, size_t count, unsigned flags)
{
    char *text = NULL;
    bpfvm_insn *back = NULL;
    size_t n = 0;
    bpfvm_error err;

    if (bpfvm_disasm(insns, count, flags, &text) != 0)
        abort();
    if (bpfvm_asm(text, "disasm.s", &back, &n, &err) != 0) {
        fprintf(stderr, "disassembly (flags %u) does not assemble: %s\n%s\n", flags, err.message,
                text);
        abort();
    }
    if (n != count || (count && memcmp(back, insns, count * sizeof(*insns)) != 0)) {
        fprintf(stderr, "round trip (flags %u) changed the bytes:\n%s\n", flags, text);
        abort();
    }
    free(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t count = size / sizeof(bpfvm_insn);
    bpfvm_insn *insns = malloc(count ? count * sizeof(*insns) : 1);
    char *text = NULL;

    if (!insns)
        return 0;
    memcpy(insns, data, count * sizeof(*insns));
    round_trip(insns, count, 0);
    round_trip(insns, count, BPFVM_DISASM_LLVM);
    round_trip(insns, count, BPFVM_DISASM_LABELS);
    round_trip(insns, count, BPFVM_DISASM_LLVM | BPFVM_DISASM_LABELS);
    if (bpfvm_disasm(insns, count, BPFVM_DISASM_JSON, &text) != 0)
        abort();
    free(text);
    if (bpfvm_cfg_dot(insns, count, &text) == 0)
        free(text);
    free(insns);
    return 0;
}
