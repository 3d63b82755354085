/* globals: a constant table (.rodata), initialised data (.data) and zeroed
 * data (.bss), each reset by the program before use so that every run,
 * native or not, starts alike. */
#include "corpus.h"

static const u16 weights[16] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };
static const char alphabet[] = "etaoinshrdlucmfw";
static u64 counter = 5;
static u32 seen[64];

CORPUS_FN void count(u8 c)
{
    seen[c % 64]++;
    counter += weights[c & 15];
}

CORPUS_PROG u64 globals(u8 *mem, u64 len)
{
    counter = 5;
    for (u64 i = 0; i < 64; i++)
        seen[i] = 0;
    for (u64 i = 0; i < len; i++) {
        count(mem[i]);
        mem[i] = (u8)alphabet[mem[i] % 16];
    }
    u64 r = counter;
    for (u64 i = 0; i < 64; i++)
        r = r * 33 + seen[i];
    return r;
}

CORPUS_RANDOM_INPUT(globals)
