/* fsm: a byte-at-a-time lexer for a small expression language (numbers,
 * identifiers, strings with escapes, comments, operators): a state machine
 * switching on the state and on the byte; counts the tokens of each kind. */
#include "prog.h"

enum { START, NUM, HEX, IDENT, STR, ESC, SLASH, COMMENT, OP };

BENCH_PROG u64 fsm(u8 *mem, u64 len)
{
    u64 state = START, nums = 0, idents = 0, strs = 0, comments = 0, ops = 0, value = 0;

    for (u64 i = 0; i < len; i++) {
        u8 c = mem[i];
again:
        switch (state) {
        case START:
            if (c >= '1' && c <= '9') {
                state = NUM;
                value = c - '0';
            } else if (c == '0') {
                state = HEX;
                value = 0;
            } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
                state = IDENT;
            } else if (c == '"') {
                state = STR;
            } else if (c == '/') {
                state = SLASH;
            } else if (c == '+' || c == '-' || c == '*' || c == '=' || c == '<') {
                state = OP;
            }
            break;
        case NUM:
            if (c >= '0' && c <= '9') {
                value = value * 10 + (c - '0');
                break;
            }
            nums += value & 0xff;
            state = START;
            goto again;
        case HEX:
            if (c == 'x' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')) {
                value = value << 4 | (c & 15);
                break;
            }
            nums += 1 + (value & 0xf);
            state = START;
            goto again;
        case IDENT:
            if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
                break;
            if ((c >= '0' && c <= '9') || c == '_')
                break;
            idents++;
            state = START;
            goto again;
        case STR:
            if (c == '\\')
                state = ESC;
            else if (c == '"') {
                strs++;
                state = START;
            }
            break;
        case ESC:
            state = STR;
            break;
        case SLASH:
            if (c == '/') {
                state = COMMENT;
                break;
            }
            ops++;
            state = START;
            goto again;
        case COMMENT:
            if (c == '\n') {
                comments++;
                state = START;
            }
            break;
        default: /* OP */
            if (c == '=')
                break;
            ops++;
            state = START;
            goto again;
        }
    }
    return nums << 40 | idents << 30 | strs << 20 | comments << 10 | ops;
}

#ifndef __bpf__
void fsm_input(u8 *mem, u64 len, u64 seed)
{
    static const char *const pieces[] = {
        "x1 = 42 + y_2;\n", "s = \"a\\\"b\" ", "0x1f3a * 17 ", "// note 99\n", "q<=r-3 ",
        "name ", "\"text with words\" ", "/ 7 ", "1234567 ", "0 ", "a=b*c+d\n", "\t"};
    u64 i = 0;

    while (i < len) {
        const char *s = pieces[bench_rand(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
        while (*s && i < len)
            mem[i++] = (u8)*s++;
    }
}
#endif
