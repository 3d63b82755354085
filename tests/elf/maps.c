/* Maps: a legacy `maps` section and a BTF-defined `.maps` section. With
 * BTF (-g) every program loads and uses its map; without it the object is
 * refused, as libbpf refuses it (.maps needs BTF). */
#include "bpf.h"

struct map_def {
    u32 type, key_size, value_size, max_entries, flags;
};
struct map_def SEC("maps") legacy = { 1, 4, 8, 16, 0 };
struct {
    int (*type)[2];
    int (*max_entries)[8];
    u32 *key;
    u64 *value;
} btf_map SEC(".maps");
static void *(*lookup)(void *map, const void *key) = (void *)1;

SEC("usemap") u64 usemap_fn(void)
{
    u32 key = 0;
    u64 *v = lookup(&legacy, &key);
    return v ? *v : 7;
}

SEC("usebtfmap") u64 usebtfmap_fn(void)
{
    u32 key = 1;
    u64 *v = lookup(&btf_map, &key);
    if (!v)
        return 0;
    *v += 5;
    return *v;
}

SEC("nomap") u64 nomap_fn(const u64 *mem)
{
    return mem[0] + 1;
}
