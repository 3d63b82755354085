/* A bounded loop over the payload: a byte sum and the count of 0xff bytes
 * over at most 512 bytes. */
#include "pkt.h"

SEC("xdp") int xdp_loop(struct xdp_md *ctx)
{
    __u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    __u32 sum = 0, ff = 0;
    for (int i = 0; i < 512; i++) {
        if (p + i + 1 > end)
            break;
        sum += p[i] * (i + 1);
        ff += p[i] == 0xff;
    }
    return (sum & 0xffffff) << 8 | ff;
}
