/* bpf_xdp_adjust_tail: packets longer than 60 bytes grow by 100 and are cut
 * by their length - 60 (large ones in fragments too); shorter ones grow by 6
 * bytes (zeros) and get a mark after the Ethernet header; the result says
 * what happened. */
#include "pkt.h"

SEC("xdp") int xdp_tail(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;
    if (len > 60) {
        /* grow by 100 (the frame's tailroom, or the last fragment's page),
         * then cut by len - 60: fragments go first */
        __u32 code = bpf_xdp_adjust_tail(ctx, 100) ? 0x800 : 0;
        int rc = bpf_xdp_adjust_tail(ctx, 60 - (int)len);
        return rc ? 0x200 | XDP_ABORTED : code | XDP_TX;
    }
    if (bpf_xdp_adjust_tail(ctx, 6))
        return 0x300 | XDP_ABORTED;
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    __u8 *t = data + 14;
    if ((void *)(t + 6) > end)
        return XDP_ABORTED;
    t[0] = 0xde;
    t[1] = 0xad;
    t[5] = (__u8)len;
    /* shrinking below the Ethernet header is refused */
    long r = bpf_xdp_adjust_tail(ctx, -(int)(len + 6) + 10);
    return (r == -22 ? 0x400 : 0) | XDP_TX;
}
