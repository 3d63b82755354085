/* common.h - what every map oracle program shares: the input the host
 * writes before each run (the same in the kernel and in bpfvm), read from
 * the one-element array `input`. The programs ignore their context. */
#ifndef MAPS_ORACLE_COMMON_H
#define MAPS_ORACLE_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

struct input {
    u64 a, b, c, d;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, struct input);
    __uint(max_entries, 1);
} input SEC(".maps");

static __always_inline struct input *get_input(void)
{
    u32 zero = 0;
    return bpf_map_lookup_elem(&input, &zero);
}

char LICENSE[] SEC("license") = "GPL";

#endif
