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

/* The types and the input generator of the benchmark programs, which are
 * part of the corpus too. */
#include "../../bench/progs/prog.h"

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
    X(ex_filter, 1024)     \
    X(elf_voidfn, 256)

#define CORPUS_DECLARE(name, size)           \
    CORPUS_PROG u64 name(u8 *mem, u64 len);  \
    void name##_input(u8 *mem, u64 len, u64 seed);
CORPUS_PROGRAMS(CORPUS_DECLARE)

#ifndef __bpf__
/* The input of programs that take random bytes (native side only). */
#define CORPUS_RANDOM_INPUT(name)                      \
    void name##_input(u8 *mem, u64 len, u64 seed)      \
    {                                                  \
        bench_random_bytes(mem, len, seed);            \
    }
#else
#define CORPUS_RANDOM_INPUT(name)
#endif

#endif
