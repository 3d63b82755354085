/* counter.bpf.c - an XDP packet counter with maps, as a libbpf program
 * would keep it: packets and bytes per IP protocol in a BTF-defined hash
 * map, and the frame count in a global variable (.bss). The host
 * (examples/maps_host.c) runs it over a capture and prints the maps.
 * Self-contained (no kernel headers); built with -g for the BTF that
 * describes the maps. */
typedef __UINT8_TYPE__ u8;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct xdp_md {
    u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
                                   u64 flags) = (void *)2;

struct counts {
    u64 packets, bytes;
};

struct {
    __uint(type, 1); /* BPF_MAP_TYPE_HASH */
    __type(key, u32);
    __type(value, struct counts);
    __uint(max_entries, 256);
} by_proto SEC(".maps");

u64 frames;

#define NOT_IPV4 0xffff

SEC("xdp") int count_proto(struct xdp_md *ctx)
{
    const u8 *data = (const u8 *)(long)ctx->data, *end = (const u8 *)(long)ctx->data_end;
    u32 proto = NOT_IPV4;
    __sync_fetch_and_add(&frames, 1);
    if (data + 14 + 20 <= end && data[12] == 0x08 && data[13] == 0x00)
        proto = data[14 + 9];
    struct counts *c = bpf_map_lookup_elem(&by_proto, &proto);
    if (c) {
        __sync_fetch_and_add(&c->packets, 1);
        __sync_fetch_and_add(&c->bytes, (u64)(end - data));
    } else {
        struct counts first = { 1, (u64)(end - data) };
        bpf_map_update_elem(&by_proto, &proto, &first, 1 /* BPF_NOEXIST */);
    }
    return 2; /* XDP_PASS */
}
