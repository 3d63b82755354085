/* Local calls: a program section calling into .text (global and static
 * functions, calls resolved by relocations and by the compiler). */
#include "calc.h"

__attribute__((noinline)) u64 twice_gcd12(u64 x)
{
    return calc_gcd(x, 12) * 2;
}

SEC("xdp") u64 calls_main(const u64 *mem)
{
    return calc_all(mem[0], mem[1]) ^ calc_mix((const u8 *)mem, 16) ^ (twice_gcd12(mem[0]) << 40);
}
