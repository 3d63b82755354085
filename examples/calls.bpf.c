/* calls.bpf.c - local calls: the least common multiple of the 64-bit
 * numbers in the input memory (raw mode: r1 = mem, r2 = length). gcd and
 * lcm stay functions of their own (noinline): the loader links them behind
 * the program and fixes the call offsets. */
typedef __UINT64_TYPE__ u64;

#define SEC(name) __attribute__((section(name), used))

static __attribute__((noinline)) u64 gcd(u64 a, u64 b)
{
    while (b) {
        u64 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static __attribute__((noinline)) u64 lcm(u64 a, u64 b)
{
    return a && b ? a / gcd(a, b) * b : 0;
}

SEC("calls") u64 lcm_all(const u64 *mem, u64 len)
{
    u64 r = 1;
    for (u64 i = 0; i < len / 8 && i < 64; i++)
        r = lcm(r, mem[i]);
    return r;
}
