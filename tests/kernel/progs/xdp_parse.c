/* Parse Ethernet / VLAN / IPv4 / IPv6 / TCP / UDP / ICMP and answer with a
 * code naming what was found (XDP_DROP for packets cut inside a header):
 * the return value carries the protocol numbers and ports. */
#include "pkt.h"

SEC("xdp") int xdp_parse(struct xdp_md *ctx)
{
    struct cursor c = { (void *)(long)ctx->data, (void *)(long)ctx->data_end };
    struct ethhdr *eth;
    __be16 proto = parse_eth(&c, &eth);
    __u8 l4;
    if (!proto)
        return XDP_DROP;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = PULL(&c, struct iphdr);
        if (!ip || ip->ihl < 5)
            return XDP_DROP;
        c.pos = (void *)ip + ip->ihl * 4;
        if (c.pos > c.end)
            return XDP_DROP;
        l4 = ip->protocol;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = PULL(&c, struct ipv6hdr);
        if (!ip6)
            return XDP_DROP;
        l4 = ip6->nexthdr;
    } else {
        return 0x10000 | bpf_ntohs(proto);
    }
    __u32 code = (__u32)l4 << 24;
    if (l4 == IPPROTO_TCP) {
        struct tcphdr *t = PULL(&c, struct tcphdr);
        if (!t)
            return XDP_DROP;
        code |= (bpf_ntohs(t->dest) & 0xfff) << 8 | (t->syn << 1) | t->ack;
    } else if (l4 == IPPROTO_UDP) {
        struct udphdr *u = PULL(&c, struct udphdr);
        if (!u)
            return XDP_DROP;
        code |= (bpf_ntohs(u->dest) & 0xfff) << 8 | (bpf_ntohs(u->len) & 0xff);
    } else if (l4 == IPPROTO_ICMP || l4 == IPPROTO_ICMPV6) {
        struct icmphdr *ic = PULL(&c, struct icmphdr);
        if (!ic)
            return XDP_DROP;
        code |= ic->type << 8 | ic->code;
    }
    return code | XDP_PASS;
}
