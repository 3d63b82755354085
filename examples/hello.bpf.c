/* hello.bpf.c - strings and a constant table in .rodata, printed with
 * bpf_trace_printk (helper 6; `bpfvm run` sends its output to stderr). */
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;

#define SEC(name) __attribute__((section(name), used))

static long (*bpf_trace_printk)(const char *fmt, u32 fmt_size, ...) = (void *)6;

static const u32 primes[] = { 2, 3, 5, 7, 11, 13, 17, 19 };

SEC("hello") u64 say_hello(void)
{
    static const char greeting[] = "hello from bpfvm\n";
    static const char line[] = "prime %u is %u\n";
    u64 sum = 0;
    bpf_trace_printk(greeting, sizeof(greeting));
    for (u32 i = 0; i < sizeof(primes) / sizeof(primes[0]); i++) {
        bpf_trace_printk(line, sizeof(line), i, primes[i]);
        sum += primes[i];
    }
    return sum;
}
