/* crc32: bitwise (table-less) CRC-32/ISO-HDLC over the buffer; eight
 * shift/mask/xor steps per byte. */
#include "prog.h"

BENCH_PROG u64 crc32(u8 *mem, u64 len)
{
    u32 crc = 0xffffffffu;

    for (u64 i = 0; i < len; i++) {
        crc ^= mem[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

#ifndef __bpf__
void crc32_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
}
#endif
