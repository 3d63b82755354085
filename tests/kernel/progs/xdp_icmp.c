/* ICMP echo request -> echo reply, the checksum updated incrementally. */
#include "pkt.h"

SEC("xdp") int xdp_icmp(struct xdp_md *ctx)
{
    struct cursor c = { (void *)(long)ctx->data, (void *)(long)ctx->data_end };
    struct ethhdr *eth;
    if (parse_eth(&c, &eth) != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = PULL(&c, struct iphdr);
    if (!ip || ip->ihl != 5 || ip->protocol != IPPROTO_ICMP)
        return XDP_PASS;
    struct icmphdr *ic = PULL(&c, struct icmphdr);
    if (!ic)
        return XDP_DROP;
    if (ic->type != ICMP_ECHO)
        return XDP_PASS;
    __u16 old = *(__u16 *)ic;
    ic->type = ICMP_ECHOREPLY;
    ic->checksum = csum_replace16(ic->checksum, old, *(__u16 *)ic);
    __u32 a = ip->saddr;
    ip->saddr = ip->daddr;
    ip->daddr = a;
    __u8 mac[ETH_ALEN];
    __builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
    return XDP_TX;
}
