/* prog.h - included by every benchmark program.
 *
 * Each bench/progs/NAME.c is compiled twice from the same source: by
 * `clang -O2 -target bpf` into an object bpfvm loads, and by the native
 * compiler (-O2) into the runner. A program is one function
 *
 *     BENCH_PROG u64 NAME(u8 *mem, u64 len)
 *
 * called in raw mode (r1 = mem, r2 = len) on an input buffer the runner fills
 * with NAME_input() (native only). The buffer is 8-byte aligned. Programs
 * use no globals; everything they need is inlined (BENCH_INLINE), except the
 * functions marked BENCH_CALL, which stay calls (local calls in BPF); loops
 * stay loops.
 */
#ifndef BENCH_PROG_H
#define BENCH_PROG_H

typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;

/* noinline keeps the native kernel a real call the runner cannot specialise
 * on its input; in the BPF object it is the program's entry symbol. */
#define BENCH_PROG __attribute__((noinline))
#define BENCH_INLINE static inline __attribute__((always_inline))
#define BENCH_CALL static __attribute__((noinline))

/* The programs: X(name, input bytes, writes its input). The runner gives each
 * execution a fresh copy of the input when the program writes it. */
#define BENCH_PROGRAMS(X)     \
    X(alu32,     4096,  0)    \
    X(calls,     4096,  0)    \
    X(collatz,   1024,  0)    \
    X(crc32,     4096,  0)    \
    X(divmod,    2048,  0)    \
    X(fnv1a,     4096,  0)    \
    X(fsm,       4096,  0)    \
    X(hashprobe, 11264, 1)    \
    X(histogram, 5120,  1)    \
    X(isort,     2048,  1)    \
    X(matmul,    3072,  1)    \
    X(memops,    7232,  1)    \
    X(packet,    4096,  0)    \
    X(parse16,   4096,  0)    \
    X(popcount,  8192,  0)    \
    X(sieve,     16384, 1)    \
    X(spf,       16384, 1)    \
    X(strscan,   4096,  0)

#define BENCH_DECLARE(name, size, writes)                    \
    BENCH_PROG u64 name(u8 *mem, u64 len);                   \
    void name##_input(u8 *mem, u64 len, u64 seed);
BENCH_PROGRAMS(BENCH_DECLARE)

#ifndef __bpf__
/* Deterministic input generation (native side only): xorshift64*. */
BENCH_INLINE u64 bench_rand(u64 *state)
{
    u64 x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

BENCH_INLINE void bench_random_bytes(u8 *mem, u64 len, u64 seed)
{
    for (u64 i = 0; i < len; i++)
        mem[i] = (u8)bench_rand(&seed);
}
#endif

#endif
