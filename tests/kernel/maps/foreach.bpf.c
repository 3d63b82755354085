/* bpf_for_each_map_elem over a hash (values doubled and summed, elements
 * past a run-dependent threshold deleted while they are visited), an
 * array (stopping early) and a per-CPU array (written through the
 * pointer), with the counts returned and the flag error, recorded in the
 * `results` array. Returns the hash walk's count. */
#include "common.h"

struct bpf_map;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 64);
} table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 16);
} arr SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 4);
} pc SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 8);
} results SEC(".maps");

struct acc {
    u64 sum, limit, keys;
};

static long visit_table(struct bpf_map *map, u32 *key, u64 *value, struct acc *a)
{
    a->keys += *key;
    if (*value > a->limit) {
        bpf_map_delete_elem(map, key);
        return 0;
    }
    *value *= 2;
    a->sum += *value;
    return 0;
}

static long visit_arr(struct bpf_map *map, u32 *key, u64 *value, struct acc *a)
{
    *value += *key + a->limit % 3;
    a->sum += *value;
    return *key == a->limit % 20;
}

static long visit_pc(struct bpf_map *map, u32 *key, u64 *value, struct acc *a)
{
    *value += a->keys + *key;
    return 0;
}

static void put(u32 k, u64 v)
{
    bpf_map_update_elem(&results, &k, &v, BPF_ANY);
}

SEC("xdp") int walk(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    u32 key = in->a % 48;
    u64 one = 1 + in->b % 5;
    bpf_map_update_elem(&table, &key, &one, BPF_ANY);
    struct acc a = { 0, 30 + in->c % 200, 0 };
    long n = bpf_for_each_map_elem(&table, visit_table, &a, 0);
    put(0, (u64)n);
    put(1, a.sum);
    put(2, a.keys);
    a.sum = 0;
    put(3, (u64)bpf_for_each_map_elem(&arr, visit_arr, &a, 0));
    put(4, a.sum);
    put(5, (u64)bpf_for_each_map_elem(&pc, visit_pc, &a, 0));
    put(6, (u64)bpf_for_each_map_elem(&arr, visit_arr, &a, in->d & 1));
    return (int)n;
}
