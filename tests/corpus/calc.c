/* calc: the ELF loader's test functions (tests/elf/calc.h: a checksum over a
 * .rodata table, gcd, integer square root, Collatz steps, and one calling
 * the others), called from one program. */
#include "corpus.h"
#include "../elf/calc.h"

CORPUS_PROG u64 calc(u8 *mem, u64 len)
{
    const u64 *v = (const u64 *)mem;
    u64 a = v[0] % 100000 + 1, b = v[1] % 100000 + 1;
    return calc_all(a, b) ^ calc_mix(mem, len) ^ calc_isqrt(v[2]) << 8 ^
           calc_gcd(v[3] & 0xffff, v[4] & 0xffff) << 32 ^ calc_collatz(v[5] % 1000);
}

CORPUS_RANDOM_INPUT(calc)
