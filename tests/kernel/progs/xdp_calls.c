/* Local calls: the parser's steps are functions of their own (static,
 * noinline), given the context and packet pointers as arguments. */
#include "pkt.h"

static __noinline int l4_code(void *l4, void *end, __u8 proto)
{
    if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
        __be16 *ports = l4;
        if ((void *)(ports + 2) > end)
            return -1;
        return bpf_ntohs(ports[0]) ^ bpf_ntohs(ports[1]);
    }
    return proto;
}

static __noinline int ip_code(struct xdp_md *ctx, __u32 off)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct iphdr *ip = data + (off & 63);
    if ((void *)(ip + 1) > end)
        return -1;
    int r = l4_code(ip + 1, end, ip->protocol);
    return r < 0 ? -1 : r + ip->ttl;
}

static __noinline __u32 ifaces(struct xdp_md *ctx)
{
    return ctx->ingress_ifindex << 4 | ctx->rx_queue_index;
}

SEC("xdp") int xdp_calls(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_DROP;
    int r = eth->h_proto == bpf_htons(ETH_P_IP) ? ip_code(ctx, sizeof(*eth)) : 7;
    if (r < 0)
        return XDP_DROP;
    return (__u32)r << 16 | ifaces(ctx) << 4 | XDP_PASS;
}
