/* packet: parse a capture of Ethernet frames, verify each IPv4 header
 * checksum and UDP checksum (with the pseudo-header), and count the good and
 * bad datagrams. Buffer layout: records [u16 frame length][frame], each
 * record padded to 4 bytes so the IPv4 header is 4-byte aligned.
 * Bounds checks, byte swaps and the ones'-complement sum (RFC 1071, summed in
 * host order and compared with 0xffff, which is order-independent). */
#include "prog.h"

BENCH_INLINE u16 be16(const u8 *p)
{
    return __builtin_bswap16(*(const u16 *)p);
}

BENCH_INLINE u32 sum16(const u8 *p, u64 n, u32 sum)
{
    u64 i;
    for (i = 0; i + 1 < n; i += 2)
        sum += *(const u16 *)(p + i);
    if (n & 1)
        sum += p[n - 1];   /* last byte, padded with a zero (little-endian host) */
    return sum;
}

BENCH_INLINE u32 fold(u32 sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

BENCH_PROG u64 packet(u8 *mem, u64 len)
{
    u64 off = 0, good = 0, bad = 0, other = 0, ports = 0;

    while (off + 2 <= len) {
        u64 flen = *(const u16 *)(mem + off);
        u8 *eth = mem + off + 2, *ip, *udp;
        u64 ihl, tot, ulen;

        if (flen == 0 || flen > len - off - 2)
            break;
        off += (2 + flen + 3) & ~3ull;
        if (flen < 14 + 20 || be16(eth + 12) != 0x0800) {
            other++;
            continue;
        }
        ip = eth + 14;
        ihl = (u64)(ip[0] & 15) * 4;
        tot = be16(ip + 2);
        if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || tot > flen - 14) {
            bad++;
            continue;
        }
        if (fold(sum16(ip, ihl, 0)) != 0xffff) {
            bad++;
            continue;
        }
        if (ip[9] != 17) {
            other++;
            continue;
        }
        udp = ip + ihl;
        ulen = be16(udp + 4);
        if (tot - ihl < 8 || ulen < 8 || ulen > tot - ihl) {
            bad++;
            continue;
        }
        if (*(const u16 *)(udp + 6)) {
            /* pseudo-header: addresses, protocol, UDP length */
            u32 sum = sum16(ip + 12, 8, 0) + __builtin_bswap16(17) + *(const u16 *)(udp + 4);
            if (fold(sum16(udp, ulen, sum)) != 0xffff) {
                bad++;
                continue;
            }
        }
        good++;
        ports += be16(udp + 2);
    }
    return good << 48 | bad << 32 | other << 24 | (ports & 0xffffff);
}

#ifndef __bpf__
static u16 csum(const u8 *p, u64 n, u32 sum)
{
    return (u16)~fold(fold(sum16(p, n, sum)));
}

void packet_input(u8 *mem, u64 len, u64 seed)
{
    u64 off = 0;

    for (u64 i = 0; i < len; i++)
        mem[i] = 0;
    for (;;) {
        u64 r = bench_rand(&seed), kind = r % 20, opts = (r >> 8) & 1;
        u64 payload = (r >> 16) % 160, ihl = 20 + 4 * opts, ulen = 8 + payload;
        u64 flen = 14 + ihl + ulen;
        u8 *eth = mem + off + 2, *ip = eth + 14, *udp = ip + ihl;

        if (off + 2 + flen + 3 + 2 > len)
            break;
        *(u16 *)(mem + off) = (u16)flen;
        for (u64 i = 0; i < 12; i++)
            eth[i] = (u8)bench_rand(&seed);
        eth[12] = kind == 0 ? 0x86 : 0x08;
        eth[13] = kind == 0 ? 0xdd : 0x00;
        ip[0] = (u8)(0x40 | ihl / 4);
        *(u16 *)(ip + 2) = __builtin_bswap16((u16)(ihl + ulen));
        ip[8] = 64;
        ip[9] = kind == 1 ? 6 : 17;
        for (u64 i = 12; i < ihl; i++)   /* addresses and options */
            ip[i] = (u8)bench_rand(&seed);
        for (u64 i = 8; i < ulen; i++)
            udp[i] = (u8)bench_rand(&seed);
        *(u16 *)(udp + 0) = (u16)bench_rand(&seed);
        *(u16 *)(udp + 2) = (u16)bench_rand(&seed);
        *(u16 *)(udp + 4) = __builtin_bswap16((u16)ulen);
        *(u16 *)(udp + 6) = 0;
        if (kind != 2) { /* kind 2: no UDP checksum */
            u32 pseudo = sum16(ip + 12, 8, 0) + __builtin_bswap16(17) + *(u16 *)(udp + 4);
            u16 c = csum(udp, ulen, pseudo);
            *(u16 *)(udp + 6) = c ? c : 0xffff;
        }
        *(u16 *)(ip + 10) = csum(ip, ihl, 0);
        if (kind == 3)
            ip[10] ^= 0x10;          /* bad IPv4 checksum */
        if (kind == 4)
            udp[ulen - 1] ^= 0x01;   /* bad UDP checksum */
        off += (2 + flen + 3) & ~3ull;
    }
}
#endif
