/* Only .text: the default program is its first function. */
#include "calc.h"

__attribute__((noinline)) u64 first_fn(const u64 *mem)
{
    return calc_collatz(mem[0]) + 1;
}

__attribute__((noinline)) u64 second_fn(const u64 *mem)
{
    return first_fn(mem) * 2;
}
