/* fuzz_btf.c - arbitrary bytes as a .BTF section: parse it, then walk every
 * type (size, modifiers skipped, members, names) as the map loader does. */
#include "fuzz_common.h"

#include "btf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bpfvm__btf btf;
    bpfvm_error err;
    if (bpfvm__btf_parse(&btf, data, size, 0, NULL, &err) != 0)
        return 0;
    for (uint32_t id = 1; id < btf.ntypes; id++) {
        bpfvm__btf_type t;
        uint64_t sz;
        uint32_t to;
        if (bpfvm__btf_get(&btf, id, &t, &err))
            abort(); /* every id below ntypes is valid */
        bpfvm__btf_size(&btf, id, &sz, &err);
        bpfvm__btf_skip(&btf, id, &to, &err);
        (void)strlen(bpfvm__btf_str(&btf, t.name_off));
        for (unsigned i = 0; i < t.vlen; i++) {
            bpfvm__btf_member m = bpfvm__btf_member_at(&btf, &t, i);
            (void)strlen(m.name);
            if (m.type >= btf.ntypes)
                abort();
            bpfvm__btf_size(&btf, m.type, &sz, &err);
        }
    }
    bpfvm__btf_find(&btf, BPFVM__BTF_DATASEC, ".maps");
    bpfvm__btf_free(&btf);
    return 0;
}
