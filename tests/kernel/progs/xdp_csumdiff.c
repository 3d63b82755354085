/* bpf_csum_diff as it is: the sums (folded to 16 bits, as the kernel
 * returns them) of the IPv4 header with a seed, of an address change, of
 * odd and large sizes; the values go into the return value and over the
 * Ethernet source address. */
#include "pkt.h"

SEC("xdp") int xdp_csumdiff(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_ABORTED;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end)
        return 0x100;
    __u32 code = 0;
    __u32 a[66] = { 1, 2, 3 };
    a[65] = 0x12345678;
    code |= (__u32)bpf_csum_diff(a, 264, a + 3, 250, 7) << 16; /* over 512 bytes */
    code ^= (__u32)bpf_csum_diff(a, 6, 0, 0, 0) << 8;           /* not whole words */
    code ^= (__u32)bpf_csum_diff(0, 0, (__be32 *)((__u8 *)a + 1), 9, 0);
    long whole = bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0xabcd);
    __be32 from = ip->saddr, to = bpf_htonl(0xc0000201);
    long change = bpf_csum_diff(&from, 4, &to, 4, ~0u);
    __builtin_memcpy(eth->h_source, &change, 4);
    return (__u32)whole ^ code;
}
