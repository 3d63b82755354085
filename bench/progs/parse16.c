/* parse16: parse a capture of frames, XDP-style: a data pointer and an end
 * pointer, a bounds check before every header, 16-bit big-endian fields
 * (lengths, EtherType, VLAN tags, ports) read as bytes and swapped. Frames:
 * [be16 length][Ethernet, 0-2 VLAN tags, IPv4 or IPv6, TCP or UDP]. */
#include "prog.h"

BENCH_INLINE u64 be16(const u8 *p)
{
    return __builtin_bswap16(*(const u16 *)p);
}

BENCH_PROG u64 parse16(u8 *mem, u64 len)
{
    const u8 *p = mem, *end = mem + len;
    u64 tcp = 0, udp = 0, other = 0, ports = 0, bytes = 0;

    while (p + 2 <= end) {
        u64 flen = be16(p);
        const u8 *f = p + 2, *fend = f + flen, *h;
        u64 proto, type;

        if (flen == 0 || fend > end)
            break;
        p = fend;
        if (f + 14 > fend) {
            other++;
            continue;
        }
        type = be16(f + 12);
        h = f + 14;
        for (int v = 0; v < 2 && (type == 0x8100 || type == 0x88a8); v++) {
            if (h + 4 > fend)
                break;
            type = be16(h + 2);
            h += 4;
        }
        if (type == 0x0800) {
            if (h + 20 > fend || (h[0] >> 4) != 4)
                goto skip;
            u64 ihl = (u64)(h[0] & 15) * 4, tot = be16(h + 2);
            if (ihl < 20 || h + tot > fend || tot < ihl)
                goto skip;
            bytes += tot;
            proto = h[9];
            h += ihl;
        } else if (type == 0x86dd) {
            if (h + 40 > fend)
                goto skip;
            bytes += be16(h + 4) + 40;
            proto = h[6];
            h += 40;
        } else {
            goto skip;
        }
        if (proto == 6) {
            if (h + 20 > fend)
                goto skip;
            tcp++;
            ports += be16(h) ^ be16(h + 2);
            ports += (h[13] & 0x12) == 0x12;   /* SYN+ACK */
        } else if (proto == 17) {
            if (h + 8 > fend || be16(h + 4) < 8)
                goto skip;
            udp++;
            ports += be16(h) + be16(h + 2) + be16(h + 4);
        } else {
            goto skip;
        }
        continue;
skip:
        other++;
    }
    return tcp << 48 | udp << 32 | other << 24 | ((ports + bytes) & 0xffffff);
}

#ifndef __bpf__
static void put16(u8 *p, u64 v)
{
    p[0] = (u8)(v >> 8);
    p[1] = (u8)v;
}

void parse16_input(u8 *mem, u64 len, u64 seed)
{
    u64 off = 0;

    for (u64 i = 0; i < len; i++)
        mem[i] = 0;
    for (;;) {
        u64 r = bench_rand(&seed), vlans = r % 3, v6 = (r >> 2) % 4 == 0;
        u64 l4 = (r >> 4) % 8, payload = (r >> 8) % 64;
        u64 l4len = l4 < 4 ? 20 : l4 < 7 ? 8 : 12;   /* TCP, UDP, other */
        u64 l3len = v6 ? 40 : 20, flen = 14 + 4 * vlans + l3len + l4len + payload;
        u8 *f = mem + off + 2, *h;

        if (off + 2 + flen > len)
            break;
        put16(mem + off, flen);
        for (u64 i = 0; i < flen; i++)
            f[i] = (u8)bench_rand(&seed);
        h = f + 12;
        for (u64 v = 0; v < vlans; v++, h += 4)
            put16(h, v ? 0x8100 : 0x88a8);
        put16(h, (r >> 12) % 16 == 0 ? 0x0806 : v6 ? 0x86dd : 0x0800);
        h += 2;
        if (v6) {
            put16(h + 4, l4len + payload);
            h[6] = l4 < 4 ? 6 : l4 < 7 ? 17 : 47;
        } else {
            h[0] = 0x45;
            put16(h + 2, 20 + l4len + payload);
            h[9] = l4 < 4 ? 6 : l4 < 7 ? 17 : 47;
        }
        h += l3len;
        if (l4 >= 4 && l4 < 7)
            put16(h + 4, (r >> 20) % 8 ? 8 + payload : 4);  /* some bad lengths */
        off += 2 + flen;
    }
}
#endif
