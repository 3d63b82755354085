/* bpf.h - what the ELF test programs need. The same sources also compile
 * natively (test_elf.c includes calc.h) to compute the expected results. */
#ifndef TEST_BPF_H
#define TEST_BPF_H

typedef __UINT8_TYPE__ u8;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;

#define SEC(name) __attribute__((section(name), used))
/* A function that stays a function (a local call), unused natively is fine. */
#define FUNC static __attribute__((noinline, unused))

#endif
