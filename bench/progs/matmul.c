/* matmul: C = A * B for 16x16 matrices of u32 stored in the buffer (A at 0,
 * B at 1 KiB, C written at 2 KiB), then a hash of C. Multiply-accumulate in
 * a triple loop. */
#include "prog.h"

#define N 16

BENCH_PROG u64 matmul(u8 *mem, u64 len)
{
    u32 *a = (u32 *)mem, *b = a + N * N, *c = b + N * N;
    u64 h = 0;

    if (len < 3 * N * N * 4)
        return 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            u32 s = 0;
            for (int k = 0; k < N; k++)
                s += a[i * N + k] * b[k * N + j];
            c[i * N + j] = s;
        }
    for (int i = 0; i < N * N; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

#ifndef __bpf__
void matmul_input(u8 *mem, u64 len, u64 seed)
{
    u32 *a = (u32 *)mem;
    for (u64 i = 0; i < len / 4; i++)
        a[i] = (u32)(bench_rand(&seed) >> 40);
}
#endif
