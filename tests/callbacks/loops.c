/* Callbacks as clang emits them (`lddw rX, func` relocated against the
 * code section): bpf_loop with a callback in .text and one in the
 * program's own section, the loop count and the callbacks' sums in r0.
 * Built without kernel headers: helpers by number. */
typedef unsigned int u32;
typedef unsigned long long u64;

static long (*bpf_loop)(u32 nr, void *fn, void *ctx, u64 flags) = (void *)181;

struct acc {
    u64 sum, squares;
};

static __attribute__((noinline)) int add(u32 i, void *data)
{
    struct acc *a = data;
    a->sum += i;
    return 0;
}

__attribute__((section("prog"))) static int square(u32 i, void *data)
{
    struct acc *a = data;
    a->squares += (u64)i * i;
    return i == 9;
}

__attribute__((section("prog"))) int run(void *ctx)
{
    struct acc a = { 0, 0 };
    long n = bpf_loop(20, add, &a, 0);
    long m = bpf_loop(100, square, &a, 0);
    return (int)(n * 1000000 + m * 10000 + a.sum * 100 + a.squares);
}
