/* An inner definition that is a map of maps itself. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct leaf {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
};
struct mid {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct leaf);
};
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct mid);
} m SEC(".maps");
SEC("xdp") int f(void *ctx) { return 0; }
