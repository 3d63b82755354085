/* Local calls between functions, helper calls and a switch. */
typedef unsigned long long u64;

static u64 (*const helper6)(u64, u64) = (void *)6;

static __attribute__((noinline)) u64 twice(u64 x)
{
    return x * 2 + helper6(x, 1);
}

static __attribute__((noinline)) u64 pick(u64 x)
{
    switch (x & 7) {
    case 0: return twice(x);
    case 1: return 11;
    case 2: return x + 5;
    case 3: return x ^ 0x77;
    default: return 0;
    }
}

u64 calls(u64 a, u64 b)
{
    u64 r = 0;
    for (u64 i = 0; i < (b & 15); i++)
        r += pick(a + i);
    return r + twice(b);
}
