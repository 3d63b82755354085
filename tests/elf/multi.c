/* Several program sections, several functions in one section, a global
 * function in .text: chosen by section or entry name. */
#include "calc.h"

__attribute__((noinline)) u64 text_fn(const u64 *mem)
{
    return calc_isqrt(mem[0]) + 1000;
}

SEC("prog_a") u64 prog_a_fn(const u64 *mem)
{
    return calc_gcd(mem[0], mem[1]);
}

SEC("prog_b") u64 prog_b_fn(const u64 *mem)
{
    return calc_isqrt(mem[0]);
}

SEC("tracepoint/sched/sched_switch") u64 tp(void)
{
    return 7;
}

SEC("pair") u64 pair_one(void)
{
    return 1;
}

SEC("pair") u64 pair_two(void)
{
    return 2;
}

/* Calls inside one program section: one by relocation, one resolved by
 * the compiler. */
SEC("chain") __attribute__((noinline)) static u64 chain_h1(u64 x)
{
    return x * 3;
}

SEC("chain") __attribute__((noinline)) u64 chain_h2(u64 x)
{
    return chain_h1(x) + 1;
}

SEC("chain") u64 chain_main(const u64 *mem)
{
    return chain_h2(mem[0]) + chain_h1(mem[1]);
}
