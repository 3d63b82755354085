/* A flow table keyed by a 5-tuple struct: packets and bytes per flow; when
 * the table is full the update fails (-E2BIG) and the failure is counted.
 * Returns the update's result. */
#include "common.h"

struct flow {
    u32 saddr, daddr;
    u16 sport, dport;
    u8 proto;
    u8 pad[3];
};

struct stats {
    u64 packets, bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct flow);
    __type(value, struct stats);
    __uint(max_entries, 12);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 1);
} full SEC(".maps");

SEC("xdp") int track(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    struct flow f = {
        .saddr = 0x0a000001 + (u32)(in->a % 4), .daddr = 0x0a000100,
        .sport = (u16)(1000 + in->b % 3), .dport = 80, .proto = in->c % 2 ? 6 : 17,
    };
    struct stats *s = bpf_map_lookup_elem(&flows, &f);
    if (s) {
        __sync_fetch_and_add(&s->packets, 1);
        __sync_fetch_and_add(&s->bytes, in->d % 1500);
        return 0;
    }
    struct stats init = { 1, in->d % 1500 };
    long rc = bpf_map_update_elem(&flows, &f, &init, BPF_NOEXIST);
    if (rc) {
        u32 zero = 0;
        u64 *n = bpf_map_lookup_elem(&full, &zero);
        if (n)
            *n += 1;
    }
    /* an old flow ends now and then */
    if (in->a % 7 == 0) {
        f.saddr = 0x0a000001 + (u32)(in->b % 4);
        bpf_map_delete_elem(&flows, &f);
    }
    return (int)rc;
}
