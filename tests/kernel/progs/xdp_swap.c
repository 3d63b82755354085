/* Answer the packet: swap MAC addresses, IPv4/IPv6 addresses and UDP/TCP
 * ports, decrement the TTL (hop limit) with an incremental checksum update,
 * and send it back (XDP_TX). */
#include "pkt.h"

static __always_inline void swap_mac(struct ethhdr *eth)
{
    __u8 tmp[ETH_ALEN];
    __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

SEC("xdp") int xdp_swap(struct xdp_md *ctx)
{
    struct cursor c = { (void *)(long)ctx->data, (void *)(long)ctx->data_end };
    struct ethhdr *eth;
    __be16 proto = parse_eth(&c, &eth);
    __u8 l4;
    if (!proto)
        return XDP_ABORTED;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = PULL(&c, struct iphdr);
        if (!ip || ip->ihl != 5)
            return XDP_PASS;
        if (ip->ttl <= 1)
            return XDP_DROP;
        __u32 a = ip->saddr;
        ip->saddr = ip->daddr;
        ip->daddr = a;
        __u16 old = *(__u16 *)&ip->ttl;
        ip->ttl--;
        ip->check = csum_replace16(ip->check, old, *(__u16 *)&ip->ttl);
        l4 = ip->protocol;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = PULL(&c, struct ipv6hdr);
        if (!ip6)
            return XDP_PASS;
        if (ip6->hop_limit <= 1)
            return XDP_DROP;
        struct in6_addr a = ip6->saddr;
        ip6->saddr = ip6->daddr;
        ip6->daddr = a;
        ip6->hop_limit--;
        l4 = ip6->nexthdr;
    } else {
        return XDP_PASS;
    }
    if (l4 == IPPROTO_UDP || l4 == IPPROTO_TCP) {
        __be16 *ports = c.pos;
        if ((void *)(ports + 2) > c.end)
            return XDP_PASS;
        __be16 p = ports[0];
        ports[0] = ports[1];
        ports[1] = p;
    }
    swap_mac(eth);
    return XDP_TX;
}
