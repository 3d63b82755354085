/* A callback pointer into the middle of a function (clang relocates the
 * lddw against .text with an addend): the loader refuses it. */
typedef unsigned int u32;
typedef unsigned long long u64;

static long (*bpf_loop)(u32 nr, void *fn, void *ctx, u64 flags) = (void *)181;

static __attribute__((noinline)) int cb(u32 i, void *data)
{
    *(u64 *)data += i;
    return 0;
}

__attribute__((section("prog"))) int run(void *ctx)
{
    u64 sum = 0;
    bpf_loop(4, (char *)cb + 16, &sum, 0);
    return (int)sum;
}
