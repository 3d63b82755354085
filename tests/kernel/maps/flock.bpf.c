/* BPF_F_LOCK updates from a program: values holding a bpf_spin_lock in a
 * hash and an array, updated with BPF_F_LOCK and each update flag (3: not a
 * flag, -EINVAL), and a map without a lock given the flag (-EINVAL, or
 * -E2BIG first for an index past the end of an array, as the kernel's
 * order of checks). The return value encodes the three results. */
#include "common.h"

struct val {
    u64 a;
    struct bpf_spin_lock lock;
    u32 pad;
    u64 b;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, u32);
    __type(value, struct val);
} locked SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, u32);
    __type(value, struct val);
} locked_arr SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, u32);
    __type(value, u64);
} plain SEC(".maps");

static __always_inline int code(long r)
{
    return r == 0 ? 0 : r == -2 ? 1 : r == -7 ? 2 : r == -17 ? 3 : r == -22 ? 4 : 5;
}

SEC("xdp") int lockup(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    u32 k = (u32)(in->a % 10), ka = (u32)(in->a % 5);
    struct val v = {};
    v.a = in->b;
    v.b = in->c;
    u64 flags = BPF_F_LOCK | (in->d % 4), x = in->b;
    long r1 = bpf_map_update_elem(&locked, &k, &v, flags);
    long r2 = bpf_map_update_elem(&locked_arr, &ka, &v, flags);
    long r3 = bpf_map_update_elem(&plain, &ka, &x, BPF_F_LOCK);
    return code(r1) + 8 * code(r2) + 64 * code(r3);
}
