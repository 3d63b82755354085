/* 64-bit atomic operations (clang 14 needs -mcpu=v3 for the fetch forms). */
typedef unsigned long long u64;

u64 atomics(u64 *p, u64 a, u64 b)
{
    u64 r = 0;
    __sync_fetch_and_add(p, a);
    r += __sync_fetch_and_add(p + 1, b);
    __sync_fetch_and_or(p, a);
    r += __sync_fetch_and_or(p + 2, b);
    __sync_fetch_and_and(p, a);
    r += __sync_fetch_and_and(p + 3, b);
    __sync_fetch_and_xor(p, a);
    r += __sync_fetch_and_xor(p + 4, b);
    r += __sync_lock_test_and_set(p + 5, a);
    r += __sync_val_compare_and_swap(p + 6, a, b);
    return r;
}
