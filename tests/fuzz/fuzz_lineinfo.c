/* fuzz_lineinfo.c - arbitrary bytes as the .BTF and .BTF.ext sections of a
 * program linked from two code sections (.text behind xdp): build the line
 * table, then look up every slot. Input: a 16-bit little-endian length of
 * the .BTF part, the .BTF bytes, then the .BTF.ext bytes. */
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
    size_t btf_len = (size_t)(data[0] | data[1] << 8);
    if (btf_len > size - 2)
        btf_len = size - 2;
    const uint8_t *btf = data + 2, *ext = btf + btf_len;
    size_t ext_len = size - 2 - btf_len;
    bpfvm_vm *vm = fuzz_vm();
    bpfvm__lines *l;
    if (bpfvm__lines_build(vm, btf, btf_len, ext, ext_len, map, 3, SLOTS, &l) == 0) {
        char name[96];
        vm->lines = l; /* freed with the VM */
        for (size_t i = 0; i <= SLOTS; i++) {
            bpfvm_source s;
            bpfvm__lines_name(l, (int64_t)i, name, sizeof name);
            if (bpfvm_source_at(vm, i, &s) == 0 && s.file && (strlen(s.file) + strlen(s.text)) == 1u << 31)
                abort();
        }
        bpfvm_source_stats(vm, NULL, NULL);
    }
    bpfvm_destroy(vm);
    return 0;
}
