/* bpf_loop: a counted sum over a window of a histogram array (the
 * callback stops early at a run-dependent index), a loop whose callback
 * itself loops (nested callbacks), the flag and size errors, and the
 * iteration counts returned, recorded in the `results` array. Returns the
 * first loop's count. */
#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 32);
} slots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, u32);
    __type(value, u64);
    __uint(max_entries, 8);
} results SEC(".maps");

struct walk {
    u64 sum, stop_at, step, inner;
};

static int add_slot(u32 i, void *data)
{
    struct walk *w = data;
    u32 k = (u32)((i * w->step) % 32);
    u64 *v = bpf_map_lookup_elem(&slots, &k);
    if (!v)
        return 1;
    *v += i + 1;
    w->sum += *v;
    return i == w->stop_at;
}

static int inner(u32 i, void *data)
{
    struct walk *w = data;
    w->inner += i;
    return 0;
}

static int outer(u32 i, void *data)
{
    struct walk *w = data;
    long n = bpf_loop(i % 4, inner, w, 0);
    w->inner += (u64)n << 16;
    return 0;
}

static void put(u32 k, u64 v)
{
    bpf_map_update_elem(&results, &k, &v, BPF_ANY);
}

SEC("xdp") int loops(struct xdp_md *ctx)
{
    struct input *in = get_input();
    if (!in)
        return -1;
    struct walk w = { 0, in->b % 40, 1 + in->c % 7, 0 };
    long n = bpf_loop(in->a % 48, add_slot, &w, 0);
    put(0, (u64)n);
    put(1, w.sum);
    put(2, (u64)bpf_loop(in->d % 6, outer, &w, 0));
    put(3, w.inner);
    put(4, (u64)bpf_loop(3, inner, &w, in->a & 1));
    /* flags the verifier cannot see are 0 (the input's top bits are): the
     * kernel does not inline this call, whose -E2BIG is then 64 bits wide
     * (its inlined loop gives a 32-bit -E2BIG, see docs/maps.md) */
    put(5, (u64)bpf_loop((1 << 23) + (in->b & 1), inner, &w, in->a >> 60));
    put(6, (u64)bpf_loop(0, inner, &w, 0));
    return (int)n;
}
