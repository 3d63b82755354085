/* Objects for test_maps: BTF-defined maps (by __type and by __uint sizes),
 * a legacy definition, global data in .data, .bss and .rodata, two
 * programs sharing them. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def_legacy {
    unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 32);
} seen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(key_size, 4);
    __uint(value_size, 16);
    __uint(max_entries, 4);
} slots SEC(".maps");

struct bpf_map_def_legacy SEC("maps") old = { BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0 };

const volatile __u64 step = 1;
__u64 total = 100;
__u64 calls;
static const char *const words[] = { "alpha", "beta" };

SEC("xdp") int add(void *ctx)
{
    __u32 key = 7;
    __u64 *v = bpf_map_lookup_elem(&seen, &key);
    calls++;
    total += step;
    if (v) {
        *v += step;
    } else {
        __u64 one = step;
        bpf_map_update_elem(&seen, &key, &one, BPF_ANY);
    }
    __u32 z = 1;
    __u64 *o = bpf_map_lookup_elem(&old, &z);
    if (o)
        *o += 2;
    return (int)total;
}

SEC("xdp") int read(void *ctx)
{
    __u32 key = 7, idx = (__u32)(calls & 3);
    __u64 *v = bpf_map_lookup_elem(&seen, &key);
    char *s = bpf_map_lookup_elem(&slots, &idx);
    if (s)
        s[0] = words[calls & 1][0];
    return v ? (int)*v : -1;
}

char LICENSE[] SEC("license") = "GPL";
