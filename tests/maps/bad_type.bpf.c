/* A map type bpfvm does not support. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
    __uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
    __type(key, struct bpf_cgroup_storage_key);
    __type(value, __u64);
} m SEC(".maps");
SEC("xdp") int f(void *ctx) { return 0; }
