/* Maps: a legacy `maps` section and a BTF-style `.maps` section. The
 * program that uses a map cannot load; the others can. */
#include "bpf.h"

struct map_def {
    u32 type, key_size, value_size, max_entries, flags;
};
struct map_def SEC("maps") legacy = { 1, 4, 8, 16, 0 };
struct {
    int (*type)[2];
    int (*max_entries)[8];
} btf_map SEC(".maps");
static void *(*lookup)(void *map, const void *key) = (void *)1;

SEC("usemap") u64 usemap_fn(void)
{
    u32 key = 0;
    u64 *v = lookup(&legacy, &key);
    return v ? *v : 0;
}

SEC("usebtfmap") u64 usebtfmap_fn(void)
{
    u32 key = 1;
    return lookup(&btf_map, &key) != 0;
}

SEC("nomap") u64 nomap_fn(const u64 *mem)
{
    return mem[0] + 1;
}
