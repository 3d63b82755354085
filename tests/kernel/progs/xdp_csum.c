/* Verify the IPv4 header checksum (headers without options), then rewrite
 * the DSCP field and recompute the checksum from scratch. */
#include "pkt.h"

SEC("xdp") int xdp_csum(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end)
        return XDP_DROP;
    if (ip->ihl != 5)
        return 0x200 | XDP_PASS;
    if (ipv4_csum(ip) != 0)
        return 0x100 | XDP_DROP; /* bad checksum */
    ip->tos = (ip->tos & 3) | (46 << 2);
    ip->check = 0;
    ip->check = ipv4_csum(ip);
    return XDP_PASS;
}
