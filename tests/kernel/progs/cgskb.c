/* cgroup_skb: direct packet access from the network header; allow (1) or
 * deny (0), marking the packet. */
#include "pkt.h"

SEC("cgroup_skb/egress") int cgskb(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct iphdr *ip = data;
    skb->mark = skb->len;
    if ((void *)(ip + 1) > end)
        return 1;
    skb->cb[0] = ip->daddr;
    skb->priority = ip->ttl;
    return ip->ttl > 10;
}
