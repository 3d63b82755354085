/* Arithmetic, shifts, byte swaps, 64-bit constants and comparisons, compiled
 * by the LLVM-syntax test and compared with llvm-objdump. */
typedef unsigned long long u64;
typedef long long s64;
typedef unsigned int u32;
typedef int s32;
typedef unsigned short u16;

u64 alu(u64 a, u64 b, s64 c, u32 d, s32 e)
{
    u64 r = a * 3 + b / 7 - (a % 5);
    r ^= b << 13;
    r |= a >> 3;
    r &= ~0xff00ull;
    r += (u64)(c >> 17);
    r += 0x123456789abcdefull;
    r -= 0xfffffffe12345678ull;
    r += (u64)(d * 5u + d / 3u + (d ^ 0x5a5a5a5au) + (d >> 4) + (d << 2));
    r += (u64)(e >> 3);
    r += __builtin_bswap64(a) + __builtin_bswap32(d) + __builtin_bswap16((u16)d);
    if (c < -5)
        r += 1;
    if ((s32)d > e)
        r -= 2;
    if (a >= b)
        r *= 3;
    if (d <= 1000u)
        r += 7;
    if (a & 0x40)
        r ^= 0x55;
    if (e != -1)
        r = -r;
    return r + (u64)-c;
}
