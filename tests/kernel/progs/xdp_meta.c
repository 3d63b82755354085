/* Metadata in front of the packet (given with ctx_in): read it, and move
 * the packet's head back and forth with bpf_xdp_adjust_head, which moves
 * the metadata with it. */
#include "pkt.h"

SEC("xdp") int xdp_meta(struct xdp_md *ctx)
{
    __u32 code = 0;
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    __u8 *meta = (void *)(long)ctx->data_meta;
    code = (data - (void *)meta) << 8;
    if ((void *)(meta + 8) <= data)
        code |= meta[0] ^ meta[7];
    if (bpf_xdp_adjust_head(ctx, -6))
        return code | 0x10000;
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    meta = (void *)(long)ctx->data_meta;
    __u8 *p = data;
    if ((void *)(p + 6) > end)
        return XDP_ABORTED;
    p[0] = 0xee;
    p[5] = 0xef;
    if ((void *)(meta + 4) <= data)
        meta[3] = 0x77;
    /* too far in either direction */
    if (bpf_xdp_adjust_head(ctx, -4000) == -22)
        code |= 0x20000;
    if (bpf_xdp_adjust_head(ctx, 4000) == -22)
        code |= 0x40000;
    /* to the lowest place the kernel allows, then one further */
    long room = (long)data - (long)meta; /* metadata length */
    if (bpf_xdp_adjust_head(ctx, -(256 - 6 - 40) + (int)room) == 0)
        code |= 0x80000;
    if (bpf_xdp_adjust_head(ctx, -1) == -22)
        code |= 0x100000;
    return code;
}
