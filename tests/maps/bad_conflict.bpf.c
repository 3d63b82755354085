/* A BTF map whose key_size contradicts its key type. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(key_size, 8);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} m SEC(".maps");
SEC("xdp") int f(void *ctx) { return bpf_map_lookup_elem(&m, &(__u32){ 0 }) != 0; }
