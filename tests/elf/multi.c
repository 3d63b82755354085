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
