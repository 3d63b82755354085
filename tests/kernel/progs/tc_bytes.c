/* bpf_skb_load_bytes / bpf_skb_store_bytes: read the headers by offset
 * (also past the end: -EFAULT, buffer zeroed), rewrite the destination MAC
 * and the IPv4 TTL with its checksum. */
#include "pkt.h"

SEC("tc") int tc_bytes(struct __sk_buff *skb)
{
    struct ethhdr eth;
    struct iphdr ip;
    __u32 code = 0;
    __u8 far[4] = { 1, 2, 3, 4 };
    if (bpf_skb_load_bytes(skb, skb->len - 2, far, 4) == -14 && far[0] == 0 && far[3] == 0)
        code |= 0x100;
    if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
        return code | 2;
    __u8 mac[ETH_ALEN] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
    if (bpf_skb_store_bytes(skb, 0, mac, ETH_ALEN, 0))
        return code | 3;
    if (eth.h_proto != bpf_htons(ETH_P_IP))
        return code | 4;
    if (bpf_skb_load_bytes(skb, sizeof(eth), &ip, sizeof(ip)))
        return code | 5;
    __u16 old = *(__u16 *)&ip.ttl;
    ip.ttl -= 1;
    ip.check = csum_replace16(ip.check, old, *(__u16 *)&ip.ttl);
    if (bpf_skb_store_bytes(skb, sizeof(eth), &ip, sizeof(ip), BPF_F_INVALIDATE_HASH))
        return code | 6;
    if (bpf_skb_store_bytes(skb, skb->len - 1, mac, 2, 0) == -14)
        code |= 0x200;
    if (bpf_skb_store_bytes(skb, 0, mac, 1, 8) == -22)
        code |= 0x400;
    return code | ip.ttl << 16;
}
