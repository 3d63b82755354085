/* test_jit_bytes.c - values assembled from loaded bytes (`ldxb a, [B + 1];
 * ldxb b, [B]; lsh a, 8; or a, b`, and the same for 32 and 64 bits from
 * halves), which the x86-64 JIT turns into one load when memory still holds
 * those bytes. Every width, 64- and 32-bit operations, the `mov c, a` form,
 * the halves loaded in either order, and between the loads and the `or`:
 * nothing; a store through the same base to other bytes (still one load); a
 * store to one of the bytes, through the same base or another register
 * pointing there (at other offsets from it), or to the frame; the base
 * register moved; a jump over a load of the right bytes into a changed part;
 * a jump from before the loads onto the lsh; a register operation on a part;
 * a part from bytes that are not adjacent; a shift 8 bits too far; lsh32 by
 * 32 (masked to 0). Each program runs in the interpreter and the JIT (checked,
 * unchecked, blinded); results must agree, and without interference equal
 * the value read here. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define MEM 64

static uint8_t mem[MEM];

typedef struct prog {
    bpfvm_insn p[128];
    size_t n;
} prog;

static void put(prog *g, bpfvm_insn in)
{
    if (g->n < sizeof g->p / sizeof g->p[0])
        g->p[g->n++] = in;
}

/* r(dst) = the `bytes` little-endian bytes at [r1 + off], built from byte
 * loads the way clang does (recursively: high half into dst, or into
 * r(next + 1) then moved, low half into r(next), then lsh dst; or dst). */
static void build(prog *g, int dst, int32_t off, unsigned bytes, bool alu32, bool lo_first,
                  bool with_mov, int next)
{
    if (bytes == 1) {
        put(g, BPFVM_LDX_MEM(BPFVM_B, dst, 1, (int16_t)off));
        return;
    }
    unsigned half = bytes / 2;
    int lo = next, hi = with_mov ? next + 1 : dst, sub = with_mov ? next + 2 : next + 1;
    if (lo_first)
        build(g, lo, off, half, alu32, lo_first, with_mov, sub);
    build(g, hi, off + (int32_t)half, half, alu32, lo_first, with_mov, sub);
    if (!lo_first)
        build(g, lo, off, half, alu32, lo_first, with_mov, sub);
    if (with_mov)
        put(g, alu32 ? BPFVM_MOV32_REG(dst, hi) : BPFVM_MOV64_REG(dst, hi));
    put(g, alu32 ? BPFVM_ALU32_IMM(BPFVM_LSH, dst, (int32_t)(8 * half))
                 : BPFVM_ALU64_IMM(BPFVM_LSH, dst, (int32_t)(8 * half)));
    put(g, alu32 ? BPFVM_ALU32_REG(BPFVM_OR, dst, lo) : BPFVM_ALU64_REG(BPFVM_OR, dst, lo));
}

static uint64_t le(int32_t off, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned k = bytes; k-- > 0;)
        v = v << 8 | mem[off + (int32_t)k];
    return v;
}

static void set_memory(void)
{
    for (size_t i = 0; i < MEM; i++)
        mem[i] = (uint8_t)(i * 29 + 3);
}

int main(void)
{
    static const unsigned widths[] = { 2, 4, 8 };
    int programs = 0;
    for (size_t wi = 0; wi < 3; wi++)
        for (int form = 0; form < 8; form++)
            for (int between = 0; between < 12; between++)
                for (int32_t off = 0; off + (int32_t)widths[wi] <= MEM; off += 13) {
                    unsigned bytes = widths[wi];
                    bool alu32 = form & 1, lo_first = form & 2, with_mov = form & 4;
                    if (alu32 && bytes > 4)
                        continue;
                    prog g;
                    g.n = 0;
                    put(&g, BPFVM_MOV64_IMM(9, 0));
                    size_t jump = g.n;
                    if (between == 11) {                   /* r2, r3 set, then jeq r9, 0, lsh */
                        put(&g, BPFVM_MOV64_IMM(2, 0x77));
                        put(&g, BPFVM_MOV64_IMM(3, 0x11));
                        jump = g.n;
                        put(&g, BPFVM_JMP_IMM(BPFVM_JEQ, 9, 0, 0));
                    }
                    build(&g, 2, off, bytes, alu32, lo_first, with_mov, 3);
                    /* the interference goes before the final lsh; or */
                    bpfvm_insn last[2] = { g.p[g.n - 2], g.p[g.n - 1] };
                    g.n -= 2;
                    int32_t hit = off + (int32_t)bytes / 2; /* a byte of the high half */
                    static const uint8_t sz[9] = { [1] = BPFVM_B, [2] = BPFVM_H, [4] = BPFVM_W };
                    switch (between) {
                    case 1: /* same base, other bytes */
                        put(&g, BPFVM_ST_MEM(BPFVM_B, 1, (int16_t)(off >= 8 ? 0 : MEM - 1), 0x5a));
                        break;
                    case 2: put(&g, BPFVM_ST_MEM(BPFVM_B, 1, (int16_t)hit, 0x5a)); break;
                    case 3: put(&g, BPFVM_ST_MEM(BPFVM_B, 1, (int16_t)off, 0x5a)); break;
                    case 4: /* through another register (its offsets look elsewhere) */
                        put(&g, BPFVM_MOV64_REG(0, 1));
                        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 0, -16));
                        put(&g, BPFVM_ST_MEM(BPFVM_B, 0, (int16_t)(hit + 16), 0x5a));
                        break;
                    case 5: put(&g, BPFVM_ST_MEM(BPFVM_DW, 10, -8, 0x5a)); break;
                    case 6: put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 1, 1)); break;
                    case 7: /* the high half changed, then a jump over a load of the right
                             * bytes into it: the load is not what it holds */
                        put(&g, BPFVM_ALU64_IMM(BPFVM_XOR, 2, 1));
                        put(&g, BPFVM_JMP_IMM(BPFVM_JEQ, 9, 0, 1));
                        put(&g, BPFVM_LDX_MEM(sz[bytes / 2], 2, 1, (int16_t)hit));
                        break;
                    case 8: put(&g, BPFVM_ALU64_IMM(BPFVM_XOR, 2, 0)); break;
                    case 9: /* the high half from the bytes after it: not adjacent */
                        put(&g, BPFVM_LDX_MEM(sz[bytes / 2], 2, 1, (int16_t)(hit + (int32_t)bytes / 2)));
                        break;
                    case 10: /* shifted 8 bits too far */
                        last[0].imm += 8;
                        break;
                    case 11: /* the jump from before the loads lands on the lsh */
                        g.p[jump].off = (int16_t)(g.n - jump - 1);
                        break;
                    default: break;
                    }
                    put(&g, last[0]);
                    put(&g, last[1]);
                    put(&g, BPFVM_MOV64_REG(0, 2));
                    put(&g, BPFVM_ALU64_IMM(BPFVM_LSH, 0, 1));
                    put(&g, BPFVM_ALU64_REG(BPFVM_XOR, 0, 9));
                    put(&g, BPFVM_EXIT());
                    set_memory();
                    uint64_t want = le(off, bytes) << 1;
                    bpfvm_vm *vm = bpfvm_create();
                    if (bpfvm_load(vm, g.p, g.n * sizeof g.p[0]) != 0) {
                        CHECK(0, "load: %s", bpfvm_last_error(vm)->message);
                        bpfvm_destroy(vm);
                        continue;
                    }
                    uint64_t r0 = 0, ri = 0;
                    uint8_t after[MEM];
                    int rc = bpfvm_run(vm, mem, MEM, NULL, 0, &ri, NULL);
                    memcpy(after, mem, MEM);
                    CHECK(rc == 0 && ((between != 0 && between != 1 && between != 5 &&
                                       between != 8) || ri == want),
                          "interpreter: width %u form %d at %d: %#llx, want %#llx", bytes, form,
                          (int)off, (unsigned long long)ri, (unsigned long long)want);
                    for (int e = 0; e < 3; e++) {
                        set_memory();
                        bpfvm_set_checked(vm, e != 2);
                        rc = bpfvm_compile(vm, e == 1 ? BPFVM_JIT_BLIND : 0);
                        if (rc == 0)
                            rc = bpfvm_run_jit(vm, mem, MEM, NULL, 0, &r0, NULL);
                        CHECK(rc == 0 && r0 == ri && memcmp(after, mem, MEM) == 0,
                              "JIT %d: width %u form %d between %d at %d: %#llx, interpreter %#llx",
                              e, bytes, form, between, (int)off, (unsigned long long)r0,
                              (unsigned long long)ri);
                    }
                    bpfvm_destroy(vm);
                    programs++;
                }
    /* lsh32 by 32 shifts by 0 (the count is masked): two words or'd, not joined */
    bpfvm_insn w32[] = { BPFVM_LDX_MEM(BPFVM_W, 2, 1, 4), BPFVM_LDX_MEM(BPFVM_W, 3, 1, 0),
                         BPFVM_ALU32_IMM(BPFVM_LSH, 2, 32), BPFVM_ALU32_REG(BPFVM_OR, 2, 3),
                         BPFVM_MOV64_REG(0, 2), BPFVM_EXIT() };
    set_memory();
    uint64_t want32 = (le(4, 4) | le(0, 4)) & 0xffffffffu;
    for (int e = 0; e < 4; e++) {
        bpfvm_vm *vm = bpfvm_create();
        uint64_t r0 = 0;
        bpfvm_set_checked(vm, e != 3);
        int rc = bpfvm_load(vm, w32, sizeof w32);
        if (rc == 0 && e > 0)
            rc = bpfvm_compile(vm, e == 2 ? BPFVM_JIT_BLIND : 0);
        if (rc == 0)
            rc = (e > 0 ? bpfvm_run_jit : bpfvm_run)(vm, mem, MEM, NULL, 0, &r0, NULL);
        CHECK(rc == 0 && r0 == want32, "engine %d: lsh32 by 32: %#llx, want %#llx", e,
              (unsigned long long)r0, (unsigned long long)want32);
        bpfvm_destroy(vm);
    }
#if defined(__x86_64__)
    /* ldxb r2, [r1+17]; ldxb r3, [r1+16]; lsh r2, 8; or r2, r3: movzx edx, word [rsi+16] */
    bpfvm_insn p[] = { BPFVM_LDX_MEM(BPFVM_B, 2, 1, 17), BPFVM_LDX_MEM(BPFVM_B, 3, 1, 16),
                       BPFVM_ALU64_IMM(BPFVM_LSH, 2, 8), BPFVM_ALU64_REG(BPFVM_OR, 2, 3),
                       BPFVM_MOV64_REG(0, 2), BPFVM_EXIT() };
    bpfvm_vm *vm = bpfvm_create();
    size_t size = 0;
    CHECK(bpfvm_load(vm, p, sizeof p) == 0 && bpfvm_compile(vm, 0) == 0, "compile");
    const uint8_t *code = bpfvm_jit_code(vm, &size);
    static const uint8_t movzx[] = { 0x0f, 0xb7, 0x56, 0x10 };
    bool found = false;
    for (size_t i = 0; code && i + 4 <= size; i++)
        found |= memcmp(code + i, movzx, 4) == 0;
    CHECK(found, "two bytes as one 16-bit load");
    bpfvm_destroy(vm);
#endif
    CHECK(programs > 500, "%d programs", programs);
    return TEST_END();
}
