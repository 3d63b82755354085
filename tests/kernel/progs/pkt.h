/* pkt.h - header parsing shared by the kernel-oracle programs: each helper
 * checks its header against data_end before reading it, as the kernel's
 * verifier demands. No maps: the programs run in the kernel and in bpfvm
 * with nothing but the packet and the context. */
#ifndef ORACLE_PKT_H
#define ORACLE_PKT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* ICMP (linux/icmp.h pulls in the C library's headers) */
struct icmphdr {
    __u8 type;
    __u8 code;
    __sum16 checksum;
    __be16 id;
    __be16 sequence;
};
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

struct vlan_hdr {
    __be16 tci;
    __be16 proto;
};

struct cursor {
    void *pos;
    void *end;
};

#define PULL(c, type)                                                          \
    ({                                                                         \
        type *h_ = (c)->pos;                                                   \
        if ((void *)(h_ + 1) > (c)->end)                                       \
            h_ = 0;                                                            \
        else                                                                   \
            (c)->pos = h_ + 1;                                                 \
        h_;                                                                    \
    })

/* Ethernet and up to two VLAN tags: the inner protocol (network order), or
 * 0 when the packet ends inside them. */
static __always_inline __be16 parse_eth(struct cursor *c, struct ethhdr **eth_out)
{
    struct ethhdr *eth = PULL(c, struct ethhdr);
    if (!eth)
        return 0;
    *eth_out = eth;
    __be16 proto = eth->h_proto;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
            break;
        struct vlan_hdr *v = PULL(c, struct vlan_hdr);
        if (!v)
            return 0;
        proto = v->proto;
    }
    return proto;
}

/* RFC 1624 incremental update of a 16-bit one's complement checksum when a
 * 16-bit word changes from `from` to `to` (all in network order). */
static __always_inline __u16 csum_replace16(__u16 check, __u16 from, __u16 to)
{
    __u32 sum = (__u16)~check + (__u16)~from + to;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

/* Checksum of a 20-byte IPv4 header (network-order words). */
static __always_inline __u16 ipv4_csum(const struct iphdr *ip)
{
    const __u16 *w = (const __u16 *)ip;
    __u32 sum = 0;
#pragma unroll
    for (int i = 0; i < 10; i++)
        sum += w[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

char LICENSE[] SEC("license") = "GPL";

#endif
