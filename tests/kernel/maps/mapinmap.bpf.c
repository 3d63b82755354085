/* Maps of maps: an array of maps and a hash of maps, their slots filled by
 * the object (`.values`, as libbpf fills them at load; some left empty).
 * The program looks an inner map up and counts in it (arrays: indexes past
 * the end give NULL), and inserts into and deletes from inner hash maps
 * (full ones: -E2BIG). The return value encodes what happened. */
#include "common.h"

struct inner_arr {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, u32);
    __type(value, u64);
} arr0 SEC(".maps"), arr1 SEC(".maps"), arr2 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, u32);
    __array(values, struct inner_arr);
} by_index SEC(".maps") = { .values = { [0] = &arr0, [2] = &arr1, [3] = &arr2 } };

struct inner_hash {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, u32);
    __type(value, u64);
} h0 SEC(".maps"), h1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, u32);
    __array(values, struct inner_hash);
} by_key SEC(".maps") = { .values = { [1] = &h0, [3] = &h1 } };

SEC("xdp") int route(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    int ret = 0;
    u32 k = (u32)(in->a % 4);
    void *inner = bpf_map_lookup_elem(&by_index, &k);
    if (inner) {
        u32 i = (u32)(in->b % 5);
        u64 *v = bpf_map_lookup_elem(inner, &i);
        if (v) {
            __sync_fetch_and_add(v, in->c % 100);
            ret += 1;
        } else {
            ret += 2;
        }
    } else {
        ret += 4;
    }
    u32 hk = (u32)(in->b % 4);
    void *ih = bpf_map_lookup_elem(&by_key, &hk);
    if (ih) {
        u32 key = (u32)(in->c % 12);
        u64 val = in->d;
        long r = bpf_map_update_elem(ih, &key, &val, BPF_NOEXIST);
        ret += r == 0 ? 8 : r == -17 ? 16 : r == -7 ? 32 : 64;
        if (in->d % 5 == 0)
            ret += bpf_map_delete_elem(ih, &key) == 0 ? 128 : 256;
    } else {
        ret += 512;
    }
    return ret;
}
