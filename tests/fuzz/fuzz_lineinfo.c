/* fuzz_lineinfo.c - arbitrary bytes as the line info of a program linked
 * from two code sections (.text behind xdp): build the line table, then
 * look up every slot. Input: a 16-bit little-endian length L; with its top
 * bit clear, L bytes of .BTF then .BTF.ext; with it set, L & 0x7fff bytes of
 * .debug_line (every offset below 1024 relocated against xdp or .text),
 * then .debug_line_str. */
#include "fuzz_common.h"
#include "internal.h"

#define SLOTS 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const bpfvm__code_map map[] = {
        { "xdp", 0, 16, 0, "main" },
        { ".text", 128, 40, 16, "callee" },
        { ".text", 0, 16, 56, "other" },
    };
    if (size < 2)
        return 0;
    static bpfvm__line_rel rels[1024];
    size_t first = (size_t)(data[0] | data[1] << 8), dwarf = first & 0x8000;
    first &= 0x7fff;
    if (first > size - 2)
        first = size - 2;
    const uint8_t *a = data + 2, *b = a + first;
    size_t b_len = size - 2 - first;
    bpfvm__debug_sections d;
    memset(&d, 0, sizeof d);
    if (dwarf) {
        for (size_t i = 0; i < 1024; i++) /* each offset: set_address anywhere has a section */
            rels[i] = (bpfvm__line_rel){ i, (i / 7) * 8, i % 3 ? ".text" : "xdp" };
        d.line = a, d.line_len = first, d.line_str = b, d.line_str_len = b_len;
        d.line_rels = rels, d.nline_rels = 1024;
    } else {
        d.btf = a, d.btf_len = first, d.btf_ext = b, d.btf_ext_len = b_len;
    }
    bpfvm_vm *vm = fuzz_vm();
    bpfvm__lines *l;
    if (bpfvm__lines_build(vm, &d, map, 3, SLOTS, &l) == 0) {
        char name[96];
        vm->lines = l; /* freed with the VM */
        for (size_t i = 0; i <= SLOTS; i++) {
            bpfvm_source s;
            bpfvm__lines_name(l, (int64_t)i, name, sizeof name);
            if (bpfvm_source_at(vm, i, &s) == 0 && s.file &&
                strlen(s.file) + (s.text ? strlen(s.text) : 0) == (size_t)1 << 31)
                abort();
        }
        bpfvm_source_stats(vm, NULL, NULL);
    }
    bpfvm_destroy(vm);
    return 0;
}
