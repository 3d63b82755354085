/* A ring-buffer logger: each run logs one event, by reserve and submit
 * (or discard, every third), or by bpf_ringbuf_output; the host consumes
 * now and then. The ring fills up: reserve returns NULL and output -EAGAIN. */
#include "common.h"

struct event {
    u64 seq, a;
    u32 kind, pad;
};

struct big {
    u64 words[7];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

u64 seq, dropped;

SEC("xdp") int log_event(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1000;
    seq++;
    if (in->b % 2) {
        struct big b = { { seq, in->a, in->c, in->d, 1, 2, 3 } };
        long rc = bpf_ringbuf_output(&events, &b, sizeof(b), 0);
        if (rc)
            dropped++;
        return (int)rc;
    }
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        dropped++;
        return -1;
    }
    e->seq = seq;
    e->a = in->a;
    e->kind = (u32)(in->c % 7);
    e->pad = 0;
    if (in->a % 3 == 0) {
        bpf_ringbuf_discard(e, 0);
        return 2;
    }
    bpf_ringbuf_submit(e, 0);
    return 1;
}
