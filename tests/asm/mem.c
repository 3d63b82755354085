/* Loads and stores of every width, the stack, loops and a local array. */
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef signed char s8;
typedef short s16;

u64 mem(u8 *p, u16 *h, u32 *w, u64 *q, u64 n)
{
    volatile u64 stack[8];
    u64 sum = 0;
    for (u64 i = 0; i < n && i < 64; i++) {
        sum += p[i] + h[i & 7] + w[i & 3];
        stack[i & 7] = sum;
    }
    p[1] = (u8)sum;
    h[2] = (u16)sum;
    w[3] = (u32)sum;
    q[4] = sum;
    q[5] = 0;
    w[6] = 0x12345;
    sum += (u64)(s8)p[9] + (u64)(s16)h[9];
    return sum + stack[3];
}
