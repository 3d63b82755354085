/* myhelper.bpf.c - calls a helper the host program registers itself:
 * `host_checksum` is an extern function, resolved by name when the host
 * (examples/host.c) loads this object. Same input as filter.bpf.c: it
 * returns the Internet checksum of the whole capture buffer. */
typedef __UINT64_TYPE__ u64;

#define SEC(name) __attribute__((section(name), used))

struct md {
    u64 data;
    u64 data_end;
};

extern u64 host_checksum(const void *data, u64 len);

SEC("prog") u64 checksum(const struct md *md)
{
    return host_checksum((const void *)md->data, md->data_end - md->data);
}
