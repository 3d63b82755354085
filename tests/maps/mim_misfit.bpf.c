/* `.values` naming a map unlike the inner definition (8 entries, not 4). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
};
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} eight SEC(".maps");
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner);
} m SEC(".maps") = { .values = { [1] = (void *)&eight } };
SEC("xdp") int f(void *ctx) { return 0; }
