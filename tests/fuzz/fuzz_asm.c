/* fuzz_asm.c - arbitrary text -> assembler; what assembles must disassemble
 * (both syntaxes) without error. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    bpfvm_insn *insns = NULL;
    size_t count = 0;
    bpfvm_error err;
    char *out = NULL;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (bpfvm_asm(text, "fuzz.s", &insns, &count, &err) == 0) {
        if (bpfvm_disasm(insns, count, 0, &out) != 0)
            abort();
        free(out);
        if (bpfvm_disasm(insns, count, BPFVM_DISASM_LLVM | BPFVM_DISASM_LABELS, &out) != 0)
            abort();
        free(out);
    } else if (err.line < 1 || err.column < 1 || !err.message[0]) {
        abort(); /* every assembly error says where and what */
    }
    free(insns);
    free(text);
    return 0;
}
