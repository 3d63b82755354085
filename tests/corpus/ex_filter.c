/* ex_filter: examples/filter.bpf.c's packet filter over a capture (records
 * of a 2-byte length and an Ethernet frame), counting the IPv4 TCP packets
 * to port 80; the input is a capture of random frames, some of them HTTP. */
#include "corpus.h"

struct md;
u64 count_http(const struct md *md);
u64 count_http_raw(const u8 *data, u64 len);
#include "../../examples/filter.bpf.c"

CORPUS_PROG u64 ex_filter(u8 *mem, u64 len)
{
    return count_http_raw(mem, len);
}

#ifndef __bpf__
void ex_filter_input(u8 *mem, u64 len, u64 seed)
{
    bench_random_bytes(mem, len, seed);
    u64 at = 0;
    for (u64 k = 0; at + 2 + 64 <= len; k++) {
        u8 *f = mem + at + 2;
        u64 flen = 40 + (f[0] & 31);
        mem[at] = (u8)flen;
        mem[at + 1] = 0;
        if (k % 3 != 2) { /* IPv4 TCP, port 80 every other frame */
            f[12] = 0x08;
            f[13] = 0x00;
            f[14] = 0x45;
            f[23] = 6;
            f[36] = 0;
            f[37] = k % 2 ? 80 : 81;
        }
        at += 2 + flen;
    }
}
#endif
