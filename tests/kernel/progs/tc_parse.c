/* A tc classifier over direct packet access: Ethernet, VLAN, IPv4/IPv6,
 * TCP/UDP; the class goes to mark and priority, drops on truncation. */
#include "pkt.h"

SEC("tc") int tc_parse(struct __sk_buff *skb)
{
    struct cursor c = { (void *)(long)skb->data, (void *)(long)skb->data_end };
    struct ethhdr *eth;
    __be16 proto = parse_eth(&c, &eth);
    __u8 l4 = 0;
    if (!proto)
        return TC_ACT_SHOT;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = PULL(&c, struct iphdr);
        if (!ip)
            return TC_ACT_SHOT;
        l4 = ip->protocol;
        c.pos = (void *)ip + (ip->ihl & 15) * 4;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = PULL(&c, struct ipv6hdr);
        if (!ip6)
            return TC_ACT_SHOT;
        l4 = ip6->nexthdr;
    }
    skb->mark = l4;
    if (l4 == IPPROTO_TCP || l4 == IPPROTO_UDP) {
        __be16 *ports = c.pos;
        if ((void *)(ports + 2) > c.end)
            return TC_ACT_SHOT;
        skb->priority = bpf_ntohs(ports[1]);
        skb->cb[0] = bpf_ntohs(ports[0]);
        return bpf_ntohs(ports[1]) == 80 ? TC_ACT_REDIRECT : TC_ACT_OK;
    }
    return TC_ACT_UNSPEC;
}
