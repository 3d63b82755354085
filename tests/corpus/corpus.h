/* corpus.h - included by every program of the verifier's corpus.
 *
 * Each tests/corpus/NAME.c is compiled by clang for BPF at every -O level,
 * with and without -g, for -mcpu v1, v2 and v3 (mk/corpus.mk), and natively
 * into test_corpus, which loads every object, verifies it, runs it in the
 * interpreter and the JIT and compares with the native result. A program is
 *
 *     CORPUS_PROG u64 NAME(u8 *mem, u64 len)
 *
 * run in raw mode (r1 = mem, r2 = len) on a buffer of the size the list
 * below gives, filled by NAME_input() (native only); the buffer is 8-byte
 * aligned and may be written (its final bytes are compared too). Functions
 * declared CORPUS_FN stay functions (BPF-to-BPF calls). The programs must be
 * free of undefined behaviour, use no mutable global state across runs, and
 * keep every frame within the 512 bytes clang allows at -O0 and nested calls
 * within bpfvm's default depth of 8.
 */
#ifndef CORPUS_H
#define CORPUS_H

typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT8_TYPE__ s8;
typedef __INT16_TYPE__ s16;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;

#define CORPUS_PROG __attribute__((noinline))
#define CORPUS_FN static __attribute__((noinline))
#define CORPUS_INLINE static inline __attribute__((always_inline))

/* X(name, input bytes) */
#define CORPUS_PROGRAMS(X) \
    X(voidfn,    256)      \
    X(early,     512)      \
    X(loops,     512)      \
    X(switches,  512)      \
    X(memops,    256)      \
    X(structs,   512)      \
    X(recursion, 256)      \
    X(deepcalls, 64)       \
    X(bits,      256)      \
    X(globals,   256)      \
    X(strings,   512)      \
    X(hashtab,   512)      \
    X(calc,      64)       \
    X(ex_calls,  256)      \
    X(ex_filter, 1024)

#define CORPUS_DECLARE(name, size)           \
    CORPUS_PROG u64 name(u8 *mem, u64 len);  \
    void name##_input(u8 *mem, u64 len, u64 seed);
CORPUS_PROGRAMS(CORPUS_DECLARE)

#ifndef __bpf__
/* Deterministic input (native side only): xorshift64*. */
CORPUS_INLINE u64 corpus_rand(u64 *state)
{
    u64 x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

CORPUS_INLINE void corpus_random_bytes(u8 *mem, u64 len, u64 seed)
{
    seed = seed * 0x9e3779b97f4a7c15ull + 1;
    for (u64 i = 0; i < len; i++)
        mem[i] = (u8)(corpus_rand(&seed) >> 56);
}

/* The input of programs that take random bytes. */
#define CORPUS_RANDOM_INPUT(name)                      \
    void name##_input(u8 *mem, u64 len, u64 seed)      \
    {                                                  \
        corpus_random_bytes(mem, len, seed);           \
    }
#else
#define CORPUS_RANDOM_INPUT(name)
#endif

#endif
