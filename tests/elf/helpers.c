/* Helpers: extern functions resolved by name, a numeric id. */
#include "bpf.h"

extern u64 host_mul(u64 a, u64 b);
extern u64 nowhere(u64 x);
static u64 (*host_add)(u64 a, u64 b) = (void *)77;

SEC("ext") u64 ext_fn(const u64 *mem)
{
    return host_mul(mem[0], 3) + host_add(mem[1], 5);
}

SEC("unknown") u64 unknown_fn(void)
{
    return nowhere(1);
}
