/* filter.bpf.c - a packet filter over a capture buffer.
 *
 * The program gets r1 = a metadata buffer { u64 data; u64 data_end; } that
 * points at a capture: records of a 2-byte little-endian length followed by
 * an Ethernet frame (examples/capture.bin). It returns how many frames are
 * IPv4 TCP packets to port 80.
 *
 * mbuff mode: the host fills the metadata buffer (examples/host.c ... mbuff).
 * fixed-mbuff mode: the VM writes data/data_end at offsets 0 and 8 of its
 * own 16-byte buffer before each run (examples/host.c ... fixed).
 * raw mode: the function count_http_raw (in .text) takes the capture itself.
 */
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT64_TYPE__ u64;

#define SEC(name) __attribute__((section(name), used))

struct md {
    u64 data;
    u64 data_end;
};

/* Is the frame [p, end) an IPv4 TCP packet to port 80? */
static int is_http(const u8 *p, const u8 *end)
{
    if (end - p < 14 + 20 || p[12] != 0x08 || p[13] != 0x00) /* IPv4 */
        return 0;
    const u8 *ip = p + 14;
    u64 ihl = (u64)(ip[0] & 15) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6) /* TCP */
        return 0;
    const u8 *tcp = ip + ihl;
    if (end - tcp < 4)
        return 0;
    return (tcp[2] << 8 | tcp[3]) == 80;
}

/* Count the HTTP frames of the capture [p, end). */
static __attribute__((noinline)) u64 count_frames(const u8 *p, const u8 *end)
{
    u64 n = 0;
    for (int i = 0; i < 256 && end - p >= 2; i++) {
        u16 len = (u16)(p[0] | p[1] << 8);
        const u8 *frame = p + 2;
        if (end - frame < len)
            break;
        n += (u64)is_http(frame, frame + len);
        p = frame + len;
    }
    return n;
}

/* The program: r1 = the metadata buffer (mbuff and fixed-mbuff modes). */
SEC("filter") u64 count_http(const struct md *md)
{
    return count_frames((const u8 *)md->data, (const u8 *)md->data_end);
}

/* The same over raw memory (r1 = capture, r2 = its length), for
 * `bpfvm run --entry count_http_raw ... --mem examples/capture.bin`. */
u64 count_http_raw(const u8 *data, u64 len)
{
    return count_frames(data, data + len);
}
