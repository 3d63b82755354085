/* switches: a dense switch (a state machine over the input), a sparse one,
 * cases that fall through, a switch in a loop with continue and break. */
#include "corpus.h"

CORPUS_FN u64 dense(u64 op, u64 a, u64 b)
{
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return b ? a / b : 0;
    case 4: return b ? a % b : a;
    case 5: return a & b;
    case 6: return a | b;
    case 7: return a ^ b;
    case 8: return a << (b & 63);
    case 9: return a >> (b & 63);
    default: return ~a;
    }
}

CORPUS_FN u64 sparse(u8 c)
{
    switch (c) {
    case 0x01: return 10;
    case 0x10: return 20;
    case 0x42: return 30;
    case 0x80: return 40;
    case 0xc3: return 50;
    case 0xff: return 60;
    default: return c & 3;
    }
}

CORPUS_FN u64 falls(u8 c)
{
    u64 r = 0;
    switch (c & 7) {
    case 0: r += 1; /* fall through */
    case 1: r += 2; /* fall through */
    case 2: r += 4; break;
    case 3:
    case 4: r += 8; /* fall through */
    case 5: r += 16; break;
    default: r = 100;
    }
    return r;
}

/* A tokenizer: states 0 (space), 1 (word), 2 (number), 3 (symbol run). */
CORPUS_FN u64 machine(const u8 *p, u64 n)
{
    u64 state = 0, words = 0, numbers = 0, symbols = 0;
    for (u64 i = 0; i < n; i++) {
        u8 c = p[i] & 0x7f;
        int kind = c == ' ' || c < 32 ? 0 : (c >= '0' && c <= '9') ? 2
                 : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? 1 : 3;
        switch (state) {
        case 0:
            if (kind == 0)
                continue;
            state = (u64)kind;
            words += kind == 1;
            numbers += kind == 2;
            symbols += kind == 3;
            break;
        case 1:
        case 2:
            if (kind == (int)state)
                break;
            state = 0;
            i--; /* look at it again from state 0 */
            break;
        default:
            if (kind != 3)
                state = 0;
            break;
        }
    }
    return words << 32 | numbers << 16 | symbols;
}

CORPUS_PROG u64 switches(u8 *mem, u64 len)
{
    u64 r = 7;
    for (u64 i = 0; i + 2 < len; i += 3)
        r = dense(mem[i] % 12, r, (u64)mem[i + 1] << 8 | mem[i + 2]);
    for (u64 i = 0; i < len; i++)
        r += sparse(mem[i]) + falls(mem[i]);
    return r ^ machine(mem, len);
}

CORPUS_RANDOM_INPUT(switches)
