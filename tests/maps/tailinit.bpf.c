/* A program array filled by the object (`.values`): entry tail-calls slot
 * mem-independent 1 (target returns 7) or, when slot 1 is emptied, goes on. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp") int target(struct xdp_md *ctx) { return 7; }

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, int (struct xdp_md *));
} slots SEC(".maps") = { .values = { [1] = (void *)&target } };

SEC("xdp") int entry(struct xdp_md *ctx)
{
    bpf_tail_call(ctx, &slots, 1);
    return 1;
}

char LICENSE[] SEC("license") = "GPL";
