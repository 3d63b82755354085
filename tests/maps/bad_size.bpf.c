/* An array map without entries. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
} m SEC(".maps");
SEC("xdp") int f(void *ctx) { return bpf_map_lookup_elem(&m, &(__u32){ 0 }) != 0; }
