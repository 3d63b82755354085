/* IP-in-IP decapsulation: drop the outer IPv4 header with
 * bpf_xdp_adjust_head after moving the Ethernet header forward. */
#include "pkt.h"

SEC("xdp") int xdp_decap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *outer = (void *)(eth + 1);
    if ((void *)(outer + 1) > end)
        return XDP_DROP;
    if (outer->protocol != IPPROTO_IPIP || outer->ihl != 5)
        return XDP_PASS;
    struct ethhdr copy = *eth;
    if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr)))
        return 0x100 | XDP_DROP;
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_ABORTED;
    *eth = copy;
    return XDP_TX;
}
