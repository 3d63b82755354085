/* A socket filter: data starts at the network header. It reads the IPv4
 * header with bpf_skb_load_bytes and keeps (returns) the first 64 bytes of
 * UDP packets, everything of TCP, nothing else; fields it may read fold
 * into cb. */
#include "pkt.h"

SEC("socket") int socket_len(struct __sk_buff *skb)
{
    struct iphdr ip;
    skb->cb[0] = skb->len ^ skb->protocol << 8 ^ skb->pkt_type << 4 ^ skb->ifindex;
    skb->cb[1] = skb->mark + skb->priority;
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 0;
    if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
        return 1;
    if (ip.protocol == IPPROTO_UDP)
        return 64;
    return ip.protocol == IPPROTO_TCP ? skb->len : 0;
}
