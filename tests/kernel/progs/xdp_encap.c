/* IP-in-IP encapsulation with bpf_xdp_adjust_head: a new outer IPv4 header
 * between the Ethernet header and the packet's own IPv4 header. */
#include "pkt.h"

SEC("xdp") int xdp_encap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *inner = (void *)(eth + 1);
    if ((void *)(inner + 1) > end)
        return XDP_DROP;
    __u16 inner_len = bpf_ntohs(inner->tot_len);
    __u32 inner_daddr = inner->daddr;
    struct ethhdr copy = *eth;
    if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
        return XDP_ABORTED;
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    eth = data;
    struct iphdr *outer = (void *)(eth + 1);
    if ((void *)(outer + 1) > end)
        return XDP_ABORTED;
    *eth = copy;
    outer->version = 4;
    outer->ihl = 5;
    outer->tos = 0;
    outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
    outer->id = 0;
    outer->frag_off = bpf_htons(0x4000);
    outer->ttl = 64;
    outer->protocol = IPPROTO_IPIP;
    outer->saddr = bpf_htonl(0x0a000001);
    outer->daddr = inner_daddr ^ bpf_htonl(0xff);
    outer->check = 0;
    outer->check = ipv4_csum(outer);
    return XDP_TX;
}
