/* Destination NAT with the checksum helpers: the IPv4 destination becomes
 * 10.1.2.3 (bpf_l3_csum_replace on the IP header, bpf_l4_csum_replace with
 * the pseudo-header flag on TCP/UDP), the destination port 8080 (a 2-byte
 * l4 update; UDP marks a computed 0 as 0xffff), the TOS byte through a
 * bpf_csum_diff value; bad flags and offsets are refused. */
#include "pkt.h"

#define IP_OFF ETH_HLEN
#define CSUM_OFF (IP_OFF + offsetof(struct iphdr, check))

SEC("tc") int tc_nat(struct __sk_buff *skb)
{
    struct iphdr ip;
    __u32 code = 0;
    if (bpf_l3_csum_replace(skb, CSUM_OFF, 0, 0, 0x10) == -22)
        code |= 0x100;
    if (bpf_l3_csum_replace(skb, 0x10001, 0, 0, 2) == -14)
        code |= 0x200;
    if (bpf_l3_csum_replace(skb, CSUM_OFF + 1, 0, 0, 2) == -14)
        code |= 0x400;
    if (bpf_l4_csum_replace(skb, skb->len - 1, 0, 0, 2) == -14)
        code |= 0x800;
    if (bpf_l3_csum_replace(skb, CSUM_OFF, 1, 0, 0) == -22)
        code |= 0x1000;
    if (bpf_skb_load_bytes(skb, IP_OFF, &ip, sizeof(ip)))
        return code | 1;
    if (ip.version != 4 || ip.ihl != 5)
        return code | 2;
    __be32 old_daddr = ip.daddr, new_daddr = bpf_htonl(0x0a010203);
    __u32 l4_off = IP_OFF + sizeof(ip), csum_at;
    __u64 mangled = 0;
    if (ip.protocol == IPPROTO_TCP) {
        csum_at = l4_off + offsetof(struct tcphdr, check);
    } else if (ip.protocol == IPPROTO_UDP) {
        csum_at = l4_off + offsetof(struct udphdr, check);
        mangled = BPF_F_MARK_MANGLED_0;
    } else {
        csum_at = 0;
    }
    if (csum_at) {
        long r = bpf_l4_csum_replace(skb, csum_at, old_daddr, new_daddr,
                                     BPF_F_PSEUDO_HDR | mangled | 4);
        if (r)
            return code | 3 | (__u32)r << 16;
        __be16 old_port, new_port = bpf_htons(8080);
        if (bpf_skb_load_bytes(skb, l4_off + 2, &old_port, 2) == 0) {
            bpf_l4_csum_replace(skb, csum_at, old_port, new_port, mangled | 2);
            bpf_skb_store_bytes(skb, l4_off + 2, &new_port, 2, 0);
        }
    }
    bpf_l3_csum_replace(skb, CSUM_OFF, old_daddr, new_daddr, 4);
    bpf_skb_store_bytes(skb, IP_OFF + offsetof(struct iphdr, daddr), &new_daddr, 4, 0);
    /* the TOS byte (with the version/IHL byte: one 16-bit word) by a diff */
    __be16 old_word = *(__be16 *)&ip, new_word = (__be16)(old_word | bpf_htons(0x00b8));
    __u32 from[1] = { old_word }, to[1] = { new_word };
    long diff = bpf_csum_diff(from, 4, to, 4, 0);
    bpf_l3_csum_replace(skb, CSUM_OFF, 0, diff, 0);
    bpf_skb_store_bytes(skb, IP_OFF, &new_word, 2, 0);
    return code | 0x10;
}
