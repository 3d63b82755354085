/* `.values` of a map of maps naming a function. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
};
SEC("xdp") int f(void *ctx) { return 0; }
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner);
} m SEC(".maps") = { .values = { [0] = (void *)&f } };
