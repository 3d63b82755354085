/* xdp_ttl.bpf.c - a kernel-style XDP program, as written for the kernel:
 * it takes a struct xdp_md and reads ctx->data / ctx->data_end, which the
 * loader rewrites into the packet's pointers (bpfvm does it the same way).
 *
 * IPv4 packets have their TTL decremented, the header checksum updated
 * incrementally (RFC 1624), and are passed on (XDP_PASS); those whose TTL
 * runs out are dropped (XDP_DROP); packets cut inside a header are aborted.
 *
 *   bpfvm test-run build/examples/xdp_ttl.bpf.o --data-in examples/ipv4.pkt
 *
 * The same object loads into the kernel unchanged:
 *   bpftool prog load build/examples/xdp_ttl.bpf.o /sys/fs/bpf/xdp_ttl
 *   bpftool prog run pinned /sys/fs/bpf/xdp_ttl data_in examples/ipv4.pkt
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>

#define SEC(name) __attribute__((section(name), used))
#define htons(x) ((__be16)__builtin_bswap16(x))

SEC("xdp") int xdp_ttl(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_ABORTED;
    if (eth->h_proto != htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end)
        return XDP_ABORTED;
    if (ip->ttl <= 1)
        return XDP_DROP;
    /* the TTL is the high byte of its 16-bit word (with the protocol) */
    __u32 sum = (__u16)~ip->check + (__u16)~htons(0x0100) ;
    ip->ttl--;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    ip->check = (__u16)~sum;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
