/* A value with two struct bpf_spin_lock. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct two {
    struct bpf_spin_lock a;
    struct bpf_spin_lock b;
};
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct two);
} m SEC(".maps");
SEC("xdp") int f(void *ctx) { return 0; }
