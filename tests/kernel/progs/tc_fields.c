/* Read the __sk_buff fields a tc program may read, fold them into the
 * return value and write what it may write (mark, priority, tc_index,
 * tc_classid, cb): ctx_out shows the writes the kernel reports. */
#include "pkt.h"

SEC("tc") int tc_fields(struct __sk_buff *skb)
{
    __u32 v = (skb->data_end - skb->data) + (skb->data - skb->data_meta);
    v = v * 31 + skb->len;
    v = v * 31 + skb->pkt_type;
    v = v * 31 + skb->protocol;
    v = v * 31 + skb->queue_mapping;
    v = v * 31 + skb->vlan_present + skb->vlan_tci + skb->vlan_proto;
    v = v * 31 + skb->ingress_ifindex;
    v = v * 31 + skb->ifindex;
    v = v * 31 + skb->tc_index;
    v = v * 31 + skb->hash;
    v = v * 31 + skb->napi_id;
    v = v * 31 + skb->wire_len + skb->gso_segs + skb->gso_size;
    v = v * 31 + (__u32)skb->tstamp + (__u32)skb->hwtstamp;
    v = v * 31 + skb->mark + skb->priority;
    skb->cb[4] = skb->cb[0] + skb->cb[1] + skb->cb[2] + skb->cb[3];
    skb->cb[0] = v;
    skb->mark = skb->mark ^ 0x5a5a;
    skb->priority = skb->len;
    skb->tc_index = 0x12345;
    skb->tc_classid = 0x10002;
    skb->cb[1] = skb->tc_index | skb->tc_classid << 16;
    /* narrow reads of fields the kernel keeps narrower (protocol 16 bits,
     * pkt_type 3): inside, at least as wide, beyond */
    void *base = skb;
    skb->cb[2] = *(volatile __u8 *)(base + offsetof(struct __sk_buff, protocol) + 1) |
                 *(volatile __u16 *)(base + offsetof(struct __sk_buff, protocol) + 2) << 8;
    skb->cb[3] = *(volatile __u8 *)(base + offsetof(struct __sk_buff, pkt_type) + 1) |
                 *(volatile __u8 *)(base + offsetof(struct __sk_buff, vlan_tci) + 3) << 8 |
                 *(volatile __u16 *)(base + offsetof(struct __sk_buff, len) + 2) << 16;
    return v & 0xff ? TC_ACT_OK : TC_ACT_SHOT;
}
