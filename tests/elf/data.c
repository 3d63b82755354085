/* Global data: .rodata strings, constant and pointer tables, .data and
 * .bss counters, a helper called by its numeric id. */
#include "calc.h"

const char greeting[] = "hello from bpf";
static const char *const names[] = { "zero", "one", "two" };
int counter = 40;
static u64 total;
static u64 (*emit)(const char *s, u64 n) = (void *)6;

SEC("greet") u64 greet_fn(void)
{
    return emit(greeting, sizeof(greeting) - 1);
}

SEC("name") u64 name_fn(const u64 *mem)
{
    const char *n = names[mem[0] % 3];
    return (u64)(u8)n[0] | (u64)(u8)n[1] << 8 | (u64)(u8)n[2] << 16 | (u64)(u8)n[3] << 24;
}

SEC("count") u64 count_fn(void)
{
    return (u64)++counter;
}

SEC("accumulate") u64 accumulate_fn(const u64 *mem)
{
    total += mem[0];
    return total;
}

SEC("table") u64 table_fn(const u8 *mem, u64 len)
{
    return calc_mix(mem, len);
}

SEC("badwrite") u64 badwrite_fn(void)
{
    *(volatile char *)greeting = 'H';
    return 0;
}
