/* A struct bpf_spin_lock in a per-CPU value (the kernel refuses it). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct v {
    __u64 x;
    struct bpf_spin_lock l;
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct v);
} m SEC(".maps");
SEC("xdp") int f(void *ctx) { return 0; }
