/* Maps of maps from BTF: an array of maps whose template has
 * BPF_F_INNER_MAP (inner arrays of any size), filled by `.values`, and a
 * hash of maps with a spin-locked inner value. lookup_inner returns the
 * inner map's element 0 + 1 of the slot the packet's first word names, or
 * 0 for an empty slot. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __uint(map_flags, BPF_F_INNER_MAP);
    __type(key, __u32);
    __type(value, __u64);
};
struct inner small SEC(".maps");
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 5);
    __uint(map_flags, BPF_F_INNER_MAP);
    __type(key, __u32);
    __type(value, __u64);
} big SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 3);
    __type(key, __u32);
    __array(values, struct inner);
} outer SEC(".maps") = { .values = { [0] = &small, [2] = (void *)&big } };

struct locked {
    struct bpf_spin_lock l;
    __u32 n;
};
struct linner {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct locked);
} li SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct linner);
} houter SEC(".maps") = { .values = { [1] = &li } };

SEC("xdp") int lookup_inner(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 4 > end)
        return -3;
    __u32 k = *(__u32 *)data, zero = 0;
    void *in = bpf_map_lookup_elem(&outer, &k);
    if (!in)
        return 0;
    __u64 *v = bpf_map_lookup_elem(in, &zero);
    return v ? (int)*v + 1 : -1;
}

char LICENSE[] SEC("license") = "GPL";
