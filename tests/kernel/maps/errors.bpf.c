/* Update flags and full maps: each run does one operation (update with a
 * flag among BPF_ANY, BPF_NOEXIST, BPF_EXIST and an invalid one, lookup,
 * delete) on a small hash or array and returns its result, errno and all. */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 4);
} h SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 4);
} a SEC(".maps");

SEC("xdp") int op(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1000;
    void *m = in->a % 2 ? (void *)&h : (void *)&a;
    u32 key = in->b % 6;
    u64 value = in->d;
    switch (in->c % 6) {
    case 0: case 1: case 2: case 3:
        return (int)bpf_map_update_elem(m, &key, &value, in->c % 4);
    case 4: {
        u64 *v = bpf_map_lookup_elem(m, &key);
        return v ? (int)*v : -1;
    }
    default:
        return (int)bpf_map_delete_elem(m, &key);
    }
}
