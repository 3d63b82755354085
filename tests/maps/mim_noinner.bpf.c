/* A map of maps without the definition of its inner maps. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} m SEC(".maps");
SEC("xdp") int f(void *ctx) { return 0; }
