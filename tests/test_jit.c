/* test_jit.c - the JIT (the x86-64 or arm64 backend, whichever this host
 * has): every opcode row against the interpreter with edge values and every
 * register pairing, the semantics people get wrong
 * against fixed expectations, every run mode, faults inside compiled code,
 * W^X, and a program of 1,000,000 instructions. */
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ATOMICS
#define HWCAP_ATOMICS (1ul << 8)
#endif
#endif

#include "internal.h"
#include "jit_test.h"
#include "test.h"

#define R(n) BPFVM_R##n
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct outcome {
    int rc;
    uint64_t r0;
    int64_t insn;
    uint64_t addr, size;
    char message[320];
} outcome;

static outcome run(bpfvm_vm *vm, bool jit, void *mem, size_t mem_len, void *mbuff,
                   size_t mbuff_len)
{
    outcome o;
    bpfvm_error err;
    memset(&o, 0, sizeof(o));
    memset(&err, 0, sizeof(err));
    o.rc = (jit ? bpfvm_run_jit : bpfvm_run)(vm, mem, mem_len, mbuff, mbuff_len, &o.r0, &err);
    if (o.rc) {
        o.r0 = 0;
        o.insn = err.insn;
        o.addr = err.addr;
        o.size = err.size;
        memcpy(o.message, err.message, sizeof(o.message));
    }
    return o;
}

/* Load prog, run it with the interpreter and with code compiled in checked
 * mode, checked with constant blinding, and unchecked (only when the
 * interpreter run succeeded), each on a fresh copy of mem; all must agree,
 * including the memory left behind. Returns the interpreter's outcome. */
static outcome agree(const char *what, bpfvm_vm *vm, const bpfvm_insn *prog, size_t n,
                     const void *mem, size_t mem_len)
{
    uint8_t ref[256], got[256];
    outcome o;
    memset(&o, 0, sizeof(o));
    if (bpfvm_load(vm, prog, n * sizeof(*prog)) != 0) {
        CHECK(0, "%s: load: %s", what, bpfvm_last_error(vm)->message);
        o.rc = 1;
        return o;
    }
    if (mem_len > sizeof(ref))
        mem_len = sizeof(ref);
    if (mem_len)
        memcpy(ref, mem, mem_len);
    o = run(vm, false, mem_len ? ref : NULL, mem_len, NULL, 0);
    for (int mode = 2; mode >= 0; mode--) {
        int checked = mode != 0;
        if (!checked && o.rc != 0)
            break;
        bpfvm_set_checked(vm, checked);
        int rc = bpfvm_compile(vm, mode == 1 ? BPFVM_JIT_BLIND : 0);
        CHECK(rc == 0, "%s: compile: %s", what, bpfvm_last_error(vm)->message);
        if (mem_len)
            memcpy(got, mem, mem_len);
        outcome j = run(vm, true, mem_len ? got : NULL, mem_len, NULL, 0);
        CHECK(j.rc == o.rc && j.r0 == o.r0 && j.insn == o.insn && j.size == o.size,
              "%s (%s): interpreter rc %d r0 %#llx insn %lld size %llu, JIT rc %d r0 %#llx "
              "insn %lld size %llu (%s)", what,
              mode == 2 ? "checked" : mode == 1 ? "blinded" : "unchecked", o.rc,
              (unsigned long long)o.r0, (long long)o.insn, (unsigned long long)o.size, j.rc,
              (unsigned long long)j.r0, (long long)j.insn, (unsigned long long)j.size,
              j.message);
        /* fault addresses: the same offset into mem, or the same small
         * absolute address (stack addresses differ from run to run) */
        if (o.rc == BPFVM_EMEMORY && o.addr - (uintptr_t)ref + 4096 < 8192)
            CHECK(j.addr - (uintptr_t)got == o.addr - (uintptr_t)ref,
                  "%s: fault address differs", what);
        else if (o.rc == BPFVM_EMEMORY && o.addr + 4096 < 8192)
            CHECK(j.addr == o.addr, "%s: fault address differs", what);
        CHECK(!mem_len || memcmp(ref, got, mem_len) == 0, "%s: memory differs", what);
    }
    bpfvm_set_checked(vm, 1);
    return o;
}

/* Expect a result from both engines. */
static void expect(const char *what, const bpfvm_insn *prog, size_t n, uint64_t r0)
{
    bpfvm_vm *vm = bpfvm_create();
    uint8_t mem[64];
    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(i * 7 + 1);
    outcome o = agree(what, vm, prog, n, mem, sizeof(mem));
    CHECK(o.rc == 0 && o.r0 == r0, "%s: rc %d r0 %#llx, expected %#llx (%s)", what, o.rc,
          (unsigned long long)o.r0, (unsigned long long)r0, o.message);
    bpfvm_destroy(vm);
}

#define EXPECT(what, r0, ...)                                                              \
    do {                                                                                   \
        const bpfvm_insn p_[] = { __VA_ARGS__ };                                            \
        expect(what, p_, LEN(p_), r0);                                                     \
    } while (0)

/* ---- every opcode row, every register pairing, edge values ---------------- */

static const uint64_t edges[] = {
    0, 1, 2, 7, 0xffffffffffffffffull, 0x80000000ull, 0x7fffffffull, 0xffffffffull,
    0x8000000000000000ull, 0x7fffffffffffffffull, 0xffffffff80000000ull, 31, 32, 63, 64, 65,
    0x123456789abcdef0ull, 0xfffffffffffffff9ull, 0x100000000ull,
};
static const int32_t imm_edges[] = { 0, 1, -1, 2, 7, -7, 31, 32, 63, 64, INT32_MIN, INT32_MAX,
                                     0x12345678, 16 };

/* r0..r9 = distinct values (dst = a, src = b), then `op`, then fold every
 * register into r0 so a clobbered one shows. */
static size_t build(bpfvm_insn *p, int dst, int src, uint64_t a, uint64_t b, bpfvm_insn op)
{
    uint64_t regs[10];
    for (int r = 0; r <= 9; r++)
        regs[r] = r == dst ? a : r == src ? b : 0x1111111111111111ull * (unsigned)(r + 1);
    size_t n = set_regs(p, regs);
    p[n++] = op;
    fold_regs(p, &n, regs); /* (the value it returns leaves op out: unused) */
    return n;
}

static void test_alu_rows(void)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_insn p[64];
    char what[96];
    for (int row = 0; row < BPFVM__OP_COUNT; row++) {
        const bpfvm__opinfo *info = &bpfvm__ops[row];
        int fmt = info->fmt;
        if (fmt != BPFVM__FMT_ALU_K && fmt != BPFVM__FMT_ALU_X && fmt != BPFVM__FMT_NEG &&
            fmt != BPFVM__FMT_END)
            continue;
        int16_t off = info->disc == BPFVM__DISC_OFF ? (int16_t)info->value : 0;
        for (size_t ai = 0; ai < LEN(edges); ai++) {
            if (fmt == BPFVM__FMT_ALU_K) {
                for (size_t k = 0; k < LEN(imm_edges); k++) {
                    int dst = (int)((ai + k) % 10);
                    bpfvm_insn op = BPFVM_INSN(info->code, dst, 0, off, imm_edges[k]);
                    size_t n = build(p, dst, -1, edges[ai], 0, op);
                    snprintf(what, sizeof(what), "%s r%d=%#llx imm %d", info->name, dst,
                             (unsigned long long)edges[ai], imm_edges[k]);
                    agree(what, vm, p, n, NULL, 0);
                }
            } else if (fmt == BPFVM__FMT_ALU_X) {
                for (size_t bi = 0; bi < LEN(edges); bi++) {
                    /* walk all dst/src pairs (incl. equal) over the value pairs */
                    int dst = (int)((ai * 3 + bi) % 10), src = (int)((ai + bi * 7) % 10);
                    bpfvm_insn op = BPFVM_INSN(info->code, dst, src, off, 0);
                    size_t n = build(p, dst, src, edges[ai], edges[bi], op);
                    snprintf(what, sizeof(what), "%s r%d=%#llx r%d=%#llx", info->name, dst,
                             (unsigned long long)edges[ai], src, (unsigned long long)edges[bi]);
                    agree(what, vm, p, n, NULL, 0);
                }
            } else {
                int dst = (int)(ai % 10);
                int32_t imm = info->disc == BPFVM__DISC_IMM ? info->value : 0;
                bpfvm_insn op = BPFVM_INSN(info->code, dst, 0, 0, imm);
                size_t n = build(p, dst, -1, edges[ai], 0, op);
                snprintf(what, sizeof(what), "%s r%d=%#llx", info->name, dst,
                         (unsigned long long)edges[ai]);
                agree(what, vm, p, n, NULL, 0);
            }
        }
    }
    /* every dst/src pairing of the rows with fixed registers on x86 */
    static const uint8_t pair_rows[] = { 0x3f, 0x9f, 0x3c, 0x9c, 0x6f, 0x7f, 0xcf, 0x6c, 0xcc };
    for (size_t r = 0; r < LEN(pair_rows); r++) {
        for (int sdiv = 0; sdiv <= 1; sdiv++) {
            uint8_t code = pair_rows[r];
            int16_t off = (int16_t)((BPFVM_OP(code) == BPFVM_DIV || BPFVM_OP(code) == BPFVM_MOD)
                                        ? sdiv : 0);
            if (sdiv && !off)
                continue;
            for (int dst = 0; dst <= 9; dst++)
                for (int src = 0; src <= 9; src++) {
                    bpfvm_insn op = BPFVM_INSN(code, dst, src, off, 0);
                    size_t n = build(p, dst, src, 0xfedcba9876543210ull, 0x8765437, op);
                    snprintf(what, sizeof(what), "op %#x/%d r%d r%d", code, off, dst, src);
                    agree(what, vm, p, n, NULL, 0);
                }
        }
    }
    bpfvm_destroy(vm);
}

/* mov d, s; add d, t|imm pairs (compiled as one lea) over every register
 * combination, and a pair starting a block */
static void test_lea_pairs(void)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_insn p[64];
    char what[64];
    for (int d = 0; d <= 9; d++)
        for (int s = 0; s <= 9; s++)
            for (int t = 0; t <= 10; t++) {
                if (s == d)
                    continue;
                /* t == 10: the K form, imm -8 */
                bpfvm_insn pair[2] = { BPFVM_MOV64_REG(d, s),
                                       t == 10 ? BPFVM_ALU64_IMM(BPFVM_ADD, d, -8)
                                               : BPFVM_ALU64_REG(BPFVM_ADD, d, t) };
                size_t n = build(p, d, s, 0x1234567890ull, 0xfedcba98765ull, pair[0]);
                memmove(&p[22], &p[21], (n - 21) * sizeof(p[0])); /* the add after the mov */
                p[21] = pair[1];
                snprintf(what, sizeof(what), "mov r%d, r%d; add r%d, %s%d", d, s, d,
                         t == 10 ? "" : "r", t == 10 ? -8 : t);
                agree(what, vm, p, n + 1, NULL, 0);
            }
    /* through r10, used as an address */
    EXPECT("lea from r10", 0x55, BPFVM_MOV64_IMM(R(1), 0x55), BPFVM_MOV64_REG(R(9), R(10)),
           BPFVM_ALU64_IMM(BPFVM_ADD, R(9), -16), BPFVM_STX_MEM(BPFVM_DW, R(9), R(1), 0),
           BPFVM_LDX_MEM(BPFVM_DW, R(0), R(10), -16), BPFVM_EXIT());
    /* a jump on the flags of the and/or/xor before it */
    for (int w = 0; w < 4; w++) /* bit 0: ALU64, bit 1: JMP (64-bit) */
        for (int opi = 0; opi < 3; opi++)
            for (int32_t v = -1; v < 3; v++) {
                static const uint8_t ops[3] = { BPFVM_AND, BPFVM_OR, BPFVM_XOR };
                bpfvm_insn q[] = {
                    BPFVM_LD_IMM64(R(3), 0x100000000ull), BPFVM_MOV64_IMM(R(0), 5),
                    (w & 1) ? BPFVM_ALU64_IMM(ops[opi], R(3), v)
                            : BPFVM_ALU32_IMM(ops[opi], R(3), v),
                    (w & 2) ? BPFVM_JMP_IMM(v & 1 ? BPFVM_JEQ : BPFVM_JNE, R(3), 0, 1)
                            : BPFVM_JMP32_IMM(v & 1 ? BPFVM_JEQ : BPFVM_JNE, R(3), 0, 1),
                    BPFVM_MOV64_IMM(R(0), 6), BPFVM_EXIT(),
                };
                char name[96];
                snprintf(name, sizeof(name), "flags of op %d/%d imm %d", opi, w, v);
                bpfvm_vm *v2 = bpfvm_create();
                agree(name, v2, q, LEN(q), NULL, 0);
                bpfvm_destroy(v2);
            }
    /* the add is a jump target: not fused */
    EXPECT("add at a jump target", 11, BPFVM_MOV64_IMM(R(0), 1), BPFVM_MOV64_IMM(R(2), 10),
           BPFVM_JMP_IMM(BPFVM_JEQ, R(0), 1, 1), BPFVM_MOV64_REG(R(0), R(2)),
           BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(2)),
           BPFVM_EXIT());
    bpfvm_destroy(vm);
}

#if !defined(__aarch64__)
/* Are the four bytes of v in the machine code? */
static bool code_contains(bpfvm_vm *vm, uint32_t v)
{
    size_t size = 0;
    const uint8_t *code = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; code && i + 4 <= size; i++)
        if (code[i] == (uint8_t)v && code[i + 1] == (uint8_t)(v >> 8) &&
            code[i + 2] == (uint8_t)(v >> 16) && code[i + 3] == (uint8_t)(v >> 24))
            return true;
    return false;
}
#endif

/* Is the 32-bit immediate v in the machine code: as its bytes on x86-64; on
 * arm64 as the fields of a movz (low half) followed by a movk (high half)
 * into the same register. */
static bool code_has_imm(bpfvm_vm *vm, uint32_t v)
{
#if defined(__aarch64__)
    size_t size = 0;
    const uint8_t *code = bpfvm_jit_code(vm, &size);
    for (size_t i = 0; code && i + 8 <= size; i += 4) {
        uint32_t a, b;
        memcpy(&a, code + i, 4);
        memcpy(&b, code + i + 4, 4);
        if ((a & 0x7fe00000u) == 0x52800000u && ((a >> 5) & 0xffff) == (v & 0xffff) &&
            (b & 0x7fe00000u) == 0x72a00000u && ((b >> 5) & 0xffff) == v >> 16 &&
            (a & 31) == (b & 31))
            return true;
    }
    return false;
#else
    return code_contains(vm, v);
#endif
}

/* ---- instructions fused across slots ---------------------------------------- */

/* Address arithmetic (r4 = A, r5 = B, r1 = C, r2 = X) followed by a load:
 * each shape with each load row, the load's destination aliasing each
 * register of the shape, the temporaries read afterwards or not, a jump into
 * each slot of the shape (taken with index 1), and an index outside mem (a fault at the load). */
static void test_fused_address(void)
{
    static const uint8_t sizes[4] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };
    static const int dsts[5] = { 0, 5, 4, 2, 1 }; /* other, B, A, X, C */
    bpfvm_vm *vm = bpfvm_create();
    char what[128];
    int faults = 0;
    for (int shape = 0; shape < 4; shape++)
        for (int row = 0; row < 7; row++)
            for (int d = 0; d < 5; d++)
                for (int after = 0; after < 2; after++)
                    for (int into = 0; into < 5; into++)
                        for (int32_t idx = 1; idx <= 33; idx += 32) {
                            bpfvm_insn p[32];
                            size_t n = 0, start, load;
                            int dst = dsts[d];
                            p[n++] = BPFVM_MOV64_IMM(R(0), 0);
                            p[n++] = BPFVM_MOV64_IMM(R(2), idx);
                            p[n++] = BPFVM_MOV64_IMM(R(4), 3);
                            p[n++] = BPFVM_MOV64_IMM(R(5), 0);
                            p[n++] = BPFVM_MOV64_REG(R(7), R(1));
                            p[n++] = BPFVM_JA_OFF(0); /* becomes the jump into the shape */
                            start = n;
                            if (shape == 3)
                                p[n++] = BPFVM_MOV64_REG(R(4), R(2));
                            if (shape >= 2)
                                p[n++] = BPFVM_ALU64_IMM(BPFVM_LSH, shape == 2 ? 2 : 4,
                                                         1 + row % 3);
                            p[n++] = BPFVM_MOV64_REG(R(5), R(1));
                            p[n++] = shape == 1 ? BPFVM_ALU64_IMM(BPFVM_ADD, R(5), idx - 1)
                                                : BPFVM_ALU64_REG(BPFVM_ADD, R(5),
                                                                  shape == 3 ? 4 : 2);
                            load = n;
                            p[n++] = row < 4 ? BPFVM_LDX_MEM(sizes[row], dst, R(5), -1)
                                             : BPFVM_LDX_MEMSX(sizes[row - 4], dst, R(5), 1);
                            if (into && start + (size_t)into - 1 < n) /* onto slot into - 1 */
                                p[start - 1] = BPFVM_JMP_IMM(BPFVM_JEQ, R(2), 1,
                                                             (int16_t)(into - 1));
                            p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, R(0), dst);
                            if (after) { /* the temporaries are read afterwards */
                                if (dst != 5) /* an address: its offset into mem */
                                    p[n++] = BPFVM_ALU64_REG(BPFVM_SUB, R(5), R(7));
                                p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, R(0), 3);
                                p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(5));
                                p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, R(0), 5);
                                p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(4));
                                p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, R(0), 7);
                                p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(2));
                            } else { /* overwritten */
                                p[n++] = BPFVM_MOV64_IMM(R(4), 0);
                                p[n++] = BPFVM_MOV64_IMM(R(5), 0);
                            }
                            p[n++] = BPFVM_EXIT();
                            snprintf(what, sizeof(what),
                                     "address shape %d, load %d into r%d, after %d, jump to "
                                     "%d, index %d", shape, row, dst, after, into, idx);
                            uint8_t mem[64];
                            for (size_t k = 0; k < sizeof(mem); k++)
                                mem[k] = (uint8_t)(k * 37 + 11);
                            outcome o = agree(what, vm, p, n, mem, sizeof(mem));
                            faults += o.rc != 0;
                            CHECK(o.rc == 0 || (o.rc == BPFVM_EMEMORY && o.insn == (int64_t)load),
                                  "%s: rc %d at %lld (%s)", what, o.rc, (long long)o.insn,
                                  o.message);
                        }
    CHECK(faults > 0, "no index reached past mem");
    /* the caller reads what a callee left in r2 and r3 (only without the
     * built-in verifier): they are not dead at the callee's exit */
    const bpfvm_insn lc[] = {
        BPFVM_MOV64_IMM(R(2), 5), BPFVM_CALL_LOCAL(3), BPFVM_MOV64_REG(R(0), R(2)),
        BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(3)), BPFVM_EXIT(),
        BPFVM_MOV64_IMM(R(2), 3), BPFVM_ALU64_IMM(BPFVM_LSH, R(2), 2),
        BPFVM_MOV64_REG(R(3), R(1)), BPFVM_ALU64_REG(BPFVM_ADD, R(3), R(2)),
        BPFVM_LDX_MEM(BPFVM_B, R(4), R(3), 0), BPFVM_MOV64_IMM(R(3), 1), BPFVM_EXIT(),
    };
    bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
    uint8_t mem[16] = { 0 };
    outcome o = agree("temporaries read after a local call returns", vm, lc, LEN(lc), mem,
                      sizeof(mem));
    CHECK(o.rc == 0 && o.r0 == 13, "local call: rc %d r0 %llu", o.rc, (unsigned long long)o.r0);
    bpfvm_destroy(vm);
}

/* mov d, s; and d, K|r; jeq/jne d, 0 (64 and 32 bits each) with d read
 * afterwards or not, a jump onto the and or the jeq, values whose high half
 * decides; mul d, 3|5|9 then add (either width), a jump onto the add. */
static void test_fused_alu(void)
{
    static const int32_t masks[] = { 1, 0x7f, 0x80, -1, 0x100, INT32_MIN, 6 };
    static const uint64_t values[] = { 0x100000000ull, 0x180000001ull, 0xfffffffeull, 6, 0 };
    bpfvm_vm *vm = bpfvm_create();
    char what[128];
    for (int w = 0; w < 8; w++) /* bit 0: mov64, bit 1: and64, bit 2: 64-bit jump */
        for (size_t m = 0; m <= LEN(masks); m++) /* LEN(masks): and with a register */
            for (size_t v = 0; v < LEN(values); v++)
                for (int variant = 0; variant < 5; variant++) {
                    /* variant 0/1: jeq/jne, d dead; 2: d read afterwards;
                     * 3/4: a jump onto the and / the jump */
                    bool eq = variant != 1, reg = m == LEN(masks);
                    int32_t k = reg ? 0 : masks[m];
                    bpfvm_insn p[] = {
                        BPFVM_LD_IMM64(R(8), values[v]),
                        BPFVM_LD_IMM64(R(3), 0x1122334455667788ull),
                        BPFVM_MOV64_IMM(R(7), 0x181),
                        BPFVM_MOV64_IMM(R(0), 1),
                        BPFVM_JMP_IMM(BPFVM_JEQ, R(0), variant >= 3 ? 1 : 0,
                                      variant == 3 ? 1 : variant == 4 ? 2 : 3),
                        (w & 1) ? BPFVM_MOV64_REG(R(3), R(8)) : BPFVM_MOV32_REG(R(3), R(8)),
                        reg ? ((w & 2) ? BPFVM_ALU64_REG(BPFVM_AND, R(3), R(7))
                                       : BPFVM_ALU32_REG(BPFVM_AND, R(3), R(7)))
                            : ((w & 2) ? BPFVM_ALU64_IMM(BPFVM_AND, R(3), k)
                                       : BPFVM_ALU32_IMM(BPFVM_AND, R(3), k)),
                        (w & 4) ? BPFVM_JMP_IMM(eq ? BPFVM_JEQ : BPFVM_JNE, R(3), 0, 2)
                                : BPFVM_JMP32_IMM(eq ? BPFVM_JEQ : BPFVM_JNE, R(3), 0, 2),
                        BPFVM_MOV64_IMM(R(0), 2),
                        BPFVM_JA_OFF(1),
                        BPFVM_MOV64_IMM(R(0), 3),
                        variant == 2 ? BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(3))
                                     : BPFVM_MOV64_IMM(R(3), 0),
                        BPFVM_EXIT(),
                    };
                    snprintf(what, sizeof(what), "mov/and/jump widths %d, mask %zu, value %zu, "
                             "variant %d", w, m, v, variant);
                    agree(what, vm, p, LEN(p), NULL, 0);
                }
    for (int w = 0; w < 2; w++)
        for (int32_t f = 2; f <= 10; f++)
            for (size_t v = 0; v < LEN(edges); v++)
                for (int variant = 0; variant < 3; variant++) {
                    /* 0: mul, add K; 1: mul alone; 2: a jump onto the add */
                    bpfvm_insn p[] = {
                        BPFVM_LD_IMM64(R(9), edges[v]),
                        BPFVM_MOV64_IMM(R(0), 0),
                        BPFVM_JMP_IMM(BPFVM_JEQ, R(0), variant == 2 ? 0 : 1,
                                      variant == 2 ? 1 : 2),
                        w ? BPFVM_ALU64_IMM(BPFVM_MUL, R(9), f)
                          : BPFVM_ALU32_IMM(BPFVM_MUL, R(9), f),
                        variant == 1 ? BPFVM_ALU64_IMM(BPFVM_XOR, R(0), 1)
                        : w          ? BPFVM_ALU64_IMM(BPFVM_ADD, R(9), -7)
                                     : BPFVM_ALU32_IMM(BPFVM_ADD, R(9), -7),
                        BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(9)),
                        BPFVM_EXIT(),
                    };
                    snprintf(what, sizeof(what), "mul%d r9, %d, value %zu, variant %d",
                             w ? 64 : 32, f, v, variant);
                    agree(what, vm, p, LEN(p), NULL, 0);
                }
#if defined(__x86_64__)
    /* the shapes are really fused (byte patterns of the x86 code) */
    bpfvm_insn p[] = {
        BPFVM_MOV64_IMM(R(4), 7),
        BPFVM_ALU64_IMM(BPFVM_MUL, R(4), 3),
        BPFVM_ALU64_IMM(BPFVM_ADD, R(4), 1),            /* lea r8, [r8 + r8*2 + 1] */
        BPFVM_MOV64_REG(R(6), R(4)),
        BPFVM_ALU64_IMM(BPFVM_AND, R(6), 1),
        BPFVM_JMP_IMM(BPFVM_JEQ, R(6), 0, 1),          /* test r8b, 1 */
        BPFVM_MOV64_IMM(R(4), 1),
        BPFVM_MOV64_REG(R(0), R(4)),
        BPFVM_EXIT(),
    };
    CHECK(bpfvm_load(vm, p, sizeof(p)) == 0 && bpfvm_compile(vm, 0) == 0, "compile");
    CHECK(code_contains(vm, 0x40448d4f), "mul 3; add 1 as lea");
    CHECK(code_contains(vm, 0x01c0f641), "mov; and 1; jeq 0 as test");
#endif
    bpfvm_destroy(vm);
}

/* ldx; add/sub/and/or/xor; stx to the same bytes as one read-modify-write:
 * every size, operation, K and X form and ALU width, the loaded register read
 * afterwards or not, a jump onto the ALU or the store, a store elsewhere,
 * and faults: at the load past mem, at the store into a read-only region. */
static void test_fused_rmw(void)
{
    static const uint8_t sizes[4] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };
    static const uint8_t ops[5] = { BPFVM_ADD, BPFVM_SUB, BPFVM_AND, BPFVM_OR, BPFVM_XOR };
    static const int32_t imms[3] = { 0x81, -2, 0x12345678 };
    static const uint8_t ro[16] = { 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 9, 10 };
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_add_region(vm, (void *)(uintptr_t)ro, sizeof(ro), BPFVM_READ);
    char what[128];
    for (int size = 0; size < 4; size++)
        for (int op = 0; op < 5; op++)
            for (int form = 0; form < 5; form++) /* imms[0..2], register, register ALU32 */
                for (int variant = 0; variant < 7; variant++) {
                    /* 0: fused; 1: r3 read afterwards; 2/3: a jump onto the ALU / the
                     * store; 4: the store elsewhere; 5: past mem; 6: read-only */
                    int16_t off = variant == 5 ? 60 : 4, soff = variant == 4 ? 8 : off;
                    bool x = form >= 3;
                    bpfvm_insn alu = form == 4 ? BPFVM_ALU32_REG(ops[op], R(3), R(2))
                                   : x         ? BPFVM_ALU64_REG(ops[op], R(3), R(2))
                                   : op & 1    ? BPFVM_ALU32_IMM(ops[op], R(3), imms[form])
                                               : BPFVM_ALU64_IMM(ops[op], R(3), imms[form]);
                    bpfvm_insn p[] = {
                        variant == 6 ? BPFVM_MOV64_IMM(R(5), 0) : BPFVM_MOV64_REG(R(5), R(1)),
                        BPFVM_LD_IMM64(R(4), (uintptr_t)ro),
                        BPFVM_MOV64_IMM(R(3), 1),
                        BPFVM_LD_IMM64(R(2), 0x8765432187654321ull),
                        /* 6: onto the ALU (10) or the store (11) when r3 is 1 */
                        BPFVM_JMP_IMM(BPFVM_JEQ, R(3), variant == 2 || variant == 3 ? 1 : 0,
                                      variant == 2 ? 3 : variant == 3 ? 4 : 1),
                        BPFVM_JMP_IMM(BPFVM_JNE, R(5), 0, 1),
                        BPFVM_MOV64_REG(R(1), R(4)),             /* read-only target */
                        BPFVM_LDX_MEM(sizes[size], R(3), R(1), off),
                        alu,
                        BPFVM_STX_MEM(sizes[size], R(1), R(3), soff),
                        BPFVM_LDX_MEM(BPFVM_DW, R(0), R(1), 0),
                        BPFVM_LDX_MEM(BPFVM_DW, R(4), R(1), 8),
                        BPFVM_ALU64_REG(BPFVM_XOR, R(0), R(4)),
                        variant == 1 ? BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(3))
                                     : BPFVM_MOV64_IMM(R(3), 0),
                        BPFVM_EXIT(),
                    };
                    snprintf(what, sizeof(what), "rmw size %d op %d form %d variant %d", size,
                             op, form, variant);
                    uint8_t mem[16];
                    for (size_t k = 0; k < sizeof(mem); k++)
                        mem[k] = (uint8_t)(0x5a + 29 * k);
                    outcome o = agree(what, vm, p, LEN(p), mem, sizeof(mem));
                    int64_t fault = variant == 5 ? 9 : variant == 6 ? 11 : -1;
                    CHECK(fault < 0 ? o.rc == 0 : o.rc == BPFVM_EMEMORY && o.insn == fault,
                          "%s: rc %d at %lld (%s)", what, o.rc, (long long)o.insn, o.message);
                }
    bpfvm_destroy(vm);
}

/* jcc +1; ja T as one jcc, and ja to a short block as a copy of the block:
 * loops of both shapes run to the interpreter's result, with and without a
 * budget (then an exhausted budget stops both engines at the same
 * instruction), with a jump landing on the ja or inside the loop, blocks
 * ending in exit, and a block with a jump into its middle. */
static void test_fused_jumps(void)
{
    static const uint64_t budgets[] = { 0, 1000, 37, 38, 39, 40, 80, 85, 90, 95, 100 };
    bpfvm_vm *vm = bpfvm_create();
    char what[128];
    for (size_t b = 0; b < LEN(budgets); b++)
        for (int variant = 0; variant < 5; variant++) {
            bpfvm_set_budget(vm, budgets[b]);
            bpfvm_insn p[] = {
                BPFVM_MOV64_IMM(R(0), 0),
                BPFVM_MOV64_IMM(R(1), 12),
                variant == 2 ? BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 12, 11) /* onto the ja at 14 */
                             : BPFVM_MOV64_IMM(R(2), 0),
                /* loop A, its test at the top (slot 7), entered by the ja at 3 */
                variant == 3 ? BPFVM_JMP_IMM(BPFVM_JEQ, R(2), 0, 3) : BPFVM_JA_OFF(3),
                BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(1)),
                BPFVM_ALU64_IMM(BPFVM_MUL, R(0), 3),
                BPFVM_ALU64_IMM(BPFVM_ADD, R(1), -1),
                BPFVM_MOV64_REG(R(3), R(1)),
                BPFVM_ALU64_IMM(BPFVM_AND, R(3), 0xff),
                BPFVM_JMP_IMM(BPFVM_JNE, R(3), 0, -6),
                /* loop B, its back edge a jcc +1 over a ja */
                BPFVM_MOV64_IMM(R(1), 6),
                BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(1)),
                BPFVM_ALU64_IMM(BPFVM_ADD, R(1), -1),
                variant == 1 ? BPFVM_JMP_IMM(BPFVM_JNE, R(1), 3, 1)
                             : BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 0, 1),
                BPFVM_JA_OFF(variant == 4 ? -3 : -4),
                BPFVM_ALU64_IMM(BPFVM_XOR, R(0), 0x55),
                BPFVM_EXIT(),
            };
            snprintf(what, sizeof(what), "loops, variant %d, budget %llu", variant,
                     (unsigned long long)budgets[b]);
            outcome o = agree(what, vm, p, LEN(p), NULL, 0);
            CHECK(o.rc == 0 || (budgets[b] && o.rc == BPFVM_EBUDGET), "%s: rc %d (%s)", what,
                  o.rc, o.message);
        }
    /* Collatz steps of 27 shaped as clang writes the loop: a jump back to a
     * short block (copied after a jump over the copy), a ja to it (copied) */
    for (size_t b = 0; b < LEN(budgets); b++) {
        bpfvm_set_budget(vm, budgets[b] ? budgets[b] * 10 : 0);
        const bpfvm_insn p[] = {
            BPFVM_MOV64_IMM(R(0), 0), BPFVM_MOV64_IMM(R(5), 27), BPFVM_MOV64_REG(R(4), R(5)),
            BPFVM_JA_OFF(5),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 1),               /* 4: the short block */
            BPFVM_MOV64_REG(R(4), R(5)),
            BPFVM_JMP_IMM(BPFVM_JNE, R(5), 1, 2),
            BPFVM_ALU64_IMM(BPFVM_MUL, R(0), 1),
            BPFVM_EXIT(),
            BPFVM_ALU64_IMM(BPFVM_RSH, R(5), 1),               /* 9 */
            BPFVM_MOV64_REG(R(6), R(4)),
            BPFVM_ALU64_IMM(BPFVM_AND, R(6), 1),
            BPFVM_JMP_IMM(BPFVM_JEQ, R(6), 0, -9),
            BPFVM_ALU64_IMM(BPFVM_MUL, R(4), 3),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(4), 1),
            BPFVM_MOV64_REG(R(5), R(4)),
            BPFVM_JA_OFF(-13),
        };
        snprintf(what, sizeof(what), "collatz, budget %llu",
                 (unsigned long long)(budgets[b] * 10));
        outcome o = agree(what, vm, p, LEN(p), NULL, 0);
        CHECK(o.rc == 0 ? o.r0 == 111 : budgets[b] && o.rc == BPFVM_EBUDGET,
              "%s: rc %d r0 %llu (%s)", what, o.rc, (unsigned long long)o.r0, o.message);
    }
    bpfvm_set_budget(vm, 0);
    /* ja to a block ending in exit; a ja landed on; a block with a jump into it */
    EXPECT("ja to a block ending in exit", 9, BPFVM_MOV64_IMM(R(1), 4),
           BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 5, 2), BPFVM_MOV64_IMM(R(0), 1), BPFVM_JA_OFF(2),
           BPFVM_MOV64_IMM(R(0), 2), BPFVM_EXIT(), BPFVM_MOV64_REG(R(0), R(1)),
           BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 5), BPFVM_EXIT());
    EXPECT("jcc +1 onto a ja that is a jump target", 7, BPFVM_MOV64_IMM(R(0), 0),
           BPFVM_JMP_IMM(BPFVM_JEQ, R(0), 0, 2), BPFVM_JMP_IMM(BPFVM_JEQ, R(0), 1, 1),
           BPFVM_JA_OFF(1), BPFVM_MOV64_IMM(R(0), 5), BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 2),
           BPFVM_EXIT());
    EXPECT("ja to a block entered in its middle", 3, BPFVM_MOV64_IMM(R(0), 0),
           BPFVM_MOV64_IMM(R(1), 1), BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 0, 3), BPFVM_JA_OFF(1),
           BPFVM_EXIT(), BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 1), BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 2),
           BPFVM_JMP_IMM(BPFVM_JEQ, R(0), 100, -4), BPFVM_EXIT());
    bpfvm_destroy(vm);
}

/* A conditional jump back to a short block is copied (j!cc over a copy of
 * the block) unless it is likely not taken: one of a switch's case tests (a
 * compare of the same register with another constant nearby), or one of
 * three or more jumps to the block. The block adds 0x77 to r0; on x86-64
 * its code appears twice when copied, once when not; all agree with the
 * interpreter. */
static void test_block_copies(void)
{
    static const char *const names[] = { "a jump back to a short block",
                                         "a case test back to a short block",
                                         "three jumps back to a short block" };
    for (int v = 0; v < 3; v++) {
        bpfvm_vm *vm = bpfvm_create();
        const bpfvm_insn p[] = {
            BPFVM_MOV64_IMM(R(0), 0),
            BPFVM_MOV64_IMM(R(1), 10),
            BPFVM_JA_OFF(2),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 0x77),            /* 3: the short block */
            BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 0, 8),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(1), -1),              /* 5 */
            BPFVM_MOV64_REG(R(6), R(1)),
            BPFVM_ALU64_IMM(BPFVM_AND, R(6), 1),
            v == 1 ? BPFVM_JMP_IMM(BPFVM_JEQ, R(6), 5, 4)
            : v == 2 ? BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 3, -6) : BPFVM_MOV64_IMM(R(7), 0),
            v == 2 ? BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 7, -7) : BPFVM_MOV64_IMM(R(7), 0),
            BPFVM_JMP_IMM(BPFVM_JEQ, R(6), 0, -8),             /* 10 */
            BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 1),
            BPFVM_JA_OFF(-8),
            BPFVM_EXIT(),
        };
        outcome o = agree(names[v], vm, p, LEN(p), NULL, 0);
        CHECK(o.rc == 0, "%s: rc %d (%s)", names[v], o.rc, o.message);
#if defined(__x86_64__)
        static const uint8_t add77[] = { 0x48, 0x83, 0xc0, 0x77 }; /* add rax, 0x77 */
        size_t size = 0, n = 0;
        CHECK(bpfvm_compile(vm, 0) == 0, "%s: compile", names[v]);
        const uint8_t *code = bpfvm_jit_code(vm, &size);
        for (size_t i = 0; code && i + 4 <= size; i++)
            n += memcmp(code + i, add77, 4) == 0;
        CHECK(n == (v == 0 ? 2u : 1u), "%s: the block's code %zu times", names[v], n);
#endif
        bpfvm_destroy(vm);
    }
}

static void test_jump_rows(void)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_insn p[64];
    char what[96];
    for (int row = 0; row < BPFVM__OP_COUNT; row++) {
        const bpfvm__opinfo *info = &bpfvm__ops[row];
        if (info->fmt != BPFVM__FMT_JMP_K && info->fmt != BPFVM__FMT_JMP_X)
            continue;
        for (size_t ai = 0; ai < LEN(edges); ai++)
            for (size_t bi = 0; bi < LEN(imm_edges); bi++) {
                /* r0 = 1; if (dst OP operand) r0 = 2 ... as the op of build() */
                int dst = (int)((ai + bi) % 10), src = (int)((ai * 5 + bi + 1) % 10);
                if (src == dst)
                    src = (src + 1) % 10;
                uint64_t b = (uint64_t)(int64_t)imm_edges[bi];
                if (bi & 1)
                    b ^= 0xffffffff00000000ull; /* X forms: upper halves differ */
                bpfvm_insn op = info->fmt == BPFVM__FMT_JMP_K
                                    ? BPFVM_INSN(info->code, dst, 0, 1, imm_edges[bi])
                                    : BPFVM_INSN(info->code, dst, src, 1, 0);
                size_t n = build(p, dst, info->fmt == BPFVM__FMT_JMP_K ? -1 : src, edges[ai], b,
                                 op);
                /* the jump skips the first fold step when taken */
                snprintf(what, sizeof(what), "%s %#llx %#llx", info->name,
                         (unsigned long long)edges[ai], (unsigned long long)b);
                agree(what, vm, p, n, NULL, 0);
            }
    }
    bpfvm_destroy(vm);
}

static void test_memory_rows(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint8_t mem[64];
    char what[96];
    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(0x80 + i * 13);
    for (int row = 0; row < BPFVM__OP_COUNT; row++) {
        const bpfvm__opinfo *info = &bpfvm__ops[row];
        int fmt = info->fmt;
        if (fmt != BPFVM__FMT_LDX && fmt != BPFVM__FMT_ST && fmt != BPFVM__FMT_STX &&
            fmt != BPFVM__FMT_ATOMIC)
            continue;
        int32_t imm = info->disc == BPFVM__DISC_IMM ? info->value : -5;
        for (int base = 0; base <= 10; base++)
            for (int other = 0; other <= 9; other++) {
                if (other == base)
                    continue;
                /* base = mem + 16 (or r10), other = a value; the access at
                 * [base + off]; then fold r0..r9 and the memory into r0 */
                int16_t off = base == 10 ? -24 : 8;
                bpfvm_insn p[64];
                size_t n = 0;
                p[n++] = BPFVM_MOV64_REG(R(6), R(1));
                p[n++] = BPFVM_STX_MEM(BPFVM_DW, R(10), R(6), -8); /* keep mem */
                p[n++] = BPFVM_LDX_MEM(BPFVM_DW, R(0), R(6), 16);
                p[n++] = BPFVM_STX_MEM(BPFVM_DW, R(10), R(0), -24);
                for (int r = 0; r <= 9; r++) {
                    if (r == base)
                        continue;
                    uint64_t v = (0x0101010101010101ull * (unsigned)(r + 3)) ^ 0x8000000000000000ull;
                    bpfvm_insn two[] = { BPFVM_LD_IMM64(r, v) };
                    p[n++] = two[0];
                    p[n++] = two[1];
                }
                if (base != 10) {
                    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, base, R(10), -8);
                    p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, base, 8);
                }
                int d = fmt == BPFVM__FMT_LDX ? other : base;
                int s = fmt == BPFVM__FMT_LDX ? base : fmt == BPFVM__FMT_ST ? 0 : other;
                p[n++] = BPFVM_INSN(info->code, d, s, off, fmt == BPFVM__FMT_ST ? imm
                                                        : fmt == BPFVM__FMT_ATOMIC ? imm : 0);
                if (base == 0)
                    p[n++] = BPFVM_MOV64_IMM(R(0), 0); /* an address: differs per run */
                for (int r = 1; r <= 9; r++) {
                    if (r == base)
                        continue;
                    p[n++] = BPFVM_ALU64_IMM(BPFVM_MUL, R(0), 31);
                    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, R(0), r);
                }
                p[n++] = BPFVM_LDX_MEM(BPFVM_DW, R(1), R(10), -24);
                p[n++] = BPFVM_ALU64_REG(BPFVM_XOR, R(0), R(1));
                p[n++] = BPFVM_EXIT();
                snprintf(what, sizeof(what), "%s base r%d other r%d", info->name, base, other);
                agree(what, vm, p, n, mem, sizeof(mem));
            }
    }
    bpfvm_destroy(vm);
}

/* ---- the semantics people get wrong, with fixed expectations ------------- */

static void test_semantics(void)
{
    EXPECT("div64 by zero", 0, BPFVM_MOV64_IMM(R(0), 9), BPFVM_MOV64_IMM(R(1), 0),
           BPFVM_ALU64_REG(BPFVM_DIV, R(0), R(1)), BPFVM_EXIT());
    EXPECT("mod64 by zero", 9, BPFVM_MOV64_IMM(R(0), 9), BPFVM_MOV64_IMM(R(1), 0),
           BPFVM_ALU64_REG(BPFVM_MOD, R(0), R(1)), BPFVM_EXIT());
    EXPECT("mod32 by zero zero-extends", 0xffffffff, BPFVM_MOV64_IMM(R(0), -1),
           BPFVM_ALU32_IMM(BPFVM_MOD, R(0), 0), BPFVM_EXIT());
    EXPECT("div32 imm by zero", 0, BPFVM_MOV64_IMM(R(0), -1), BPFVM_ALU32_IMM(BPFVM_DIV, R(0), 0),
           BPFVM_EXIT());
    EXPECT("sdiv64 INT64_MIN / -1", 0x8000000000000000ull,
           BPFVM_LD_IMM64(R(2), 0x8000000000000000ull), BPFVM_MOV64_IMM(R(3), -1),
           BPFVM_SDIV64_REG(R(2), R(3)), BPFVM_MOV64_REG(R(0), R(2)), BPFVM_EXIT());
    EXPECT("smod64 INT64_MIN % -1", 0, BPFVM_LD_IMM64(R(0), 0x8000000000000000ull),
           BPFVM_MOV64_IMM(R(2), -1), BPFVM_SMOD64_REG(R(0), R(2)), BPFVM_EXIT());
    EXPECT("sdiv32 INT_MIN / -1", 0x80000000, BPFVM_MOV32_IMM(R(0), INT32_MIN),
           BPFVM_INSN(BPFVM_ALU | BPFVM_K | BPFVM_DIV, R(0), 0, 1, -1), BPFVM_EXIT());
    EXPECT("smod32 -7 % 2", 0xffffffff, BPFVM_MOV32_IMM(R(0), -7),
           BPFVM_INSN(BPFVM_ALU | BPFVM_K | BPFVM_MOD, R(0), 0, 1, 2), BPFVM_EXIT());
    EXPECT("sdiv64 -7 / 2", (uint64_t)-3, BPFVM_MOV64_IMM(R(0), -7),
           BPFVM_INSN(BPFVM_ALU64 | BPFVM_K | BPFVM_DIV, R(0), 0, 1, 2), BPFVM_EXIT());
    EXPECT("lsh64 masks the count", 2, BPFVM_MOV64_IMM(R(0), 1), BPFVM_MOV64_IMM(R(3), 65),
           BPFVM_ALU64_REG(BPFVM_LSH, R(0), R(3)), BPFVM_EXIT());
    EXPECT("rsh32 masks the count", 0x40000000, BPFVM_MOV32_IMM(R(0), INT32_MIN),
           BPFVM_MOV64_IMM(R(1), 33), BPFVM_ALU32_REG(BPFVM_RSH, R(0), R(1)), BPFVM_EXIT());
    EXPECT("arsh64 by r3 into r3", (uint64_t)-1, BPFVM_MOV64_IMM(R(3), -8),
           BPFVM_ALU64_REG(BPFVM_ARSH, R(3), R(3)), BPFVM_MOV64_REG(R(0), R(3)),
           BPFVM_EXIT()); /* -8 & 63 = 56: -8 >> 56 = -1 */
    EXPECT("mov32 zero-extends", 0xffffffff, BPFVM_MOV64_IMM(R(0), -1),
           BPFVM_MOV32_REG(R(0), R(0)), BPFVM_EXIT());
    EXPECT("alu64 imm sign-extends", 0, BPFVM_MOV64_IMM(R(0), 1),
           BPFVM_ALU64_IMM(BPFVM_ADD, R(0), -1), BPFVM_EXIT());
    EXPECT("alu32 imm does not", 0, BPFVM_MOV64_IMM(R(0), 1), BPFVM_ALU32_IMM(BPFVM_ADD, R(0), -1),
           BPFVM_EXIT());
    EXPECT("le16 truncates", 0x3412, BPFVM_LD_IMM64(R(0), 0x1234567887653412ull),
           BPFVM_ENDIAN_LE(R(0), 16), BPFVM_EXIT());
    EXPECT("be16", 0x1234, BPFVM_LD_IMM64(R(0), 0x1234567887653412ull),
           BPFVM_ENDIAN_BE(R(0), 16), BPFVM_EXIT());
    EXPECT("be32", 0x12346587, BPFVM_LD_IMM64(R(0), 0x1234567887653412ull),
           BPFVM_ENDIAN_BE(R(0), 32), BPFVM_EXIT());
    EXPECT("bswap64", 0x1234658778563412ull, BPFVM_LD_IMM64(R(0), 0x1234567887653412ull),
           BPFVM_BSWAP(R(0), 64), BPFVM_EXIT());
    EXPECT("movsx8 to 64", (uint64_t)-128, BPFVM_MOV64_IMM(R(1), 0x180),
           BPFVM_MOVSX64_REG(R(0), R(1), 8), BPFVM_EXIT());
    EXPECT("movsx16 to 32", 0xffff8000, BPFVM_MOV64_IMM(R(1), 0x8000),
           BPFVM_MOVSX32_REG(R(0), R(1), 16), BPFVM_EXIT());
    EXPECT("jeq imm sign-extends", 1, BPFVM_MOV64_IMM(R(0), 0), BPFVM_MOV64_IMM(R(1), -1),
           BPFVM_JMP_IMM(BPFVM_JEQ, R(1), -1, 1), BPFVM_EXIT(), BPFVM_MOV64_IMM(R(0), 1),
           BPFVM_EXIT());
    EXPECT("jeq32 compares low halves", 1, BPFVM_MOV64_IMM(R(0), 0),
           BPFVM_LD_IMM64(R(1), 0x500000005ull), BPFVM_JMP32_IMM(BPFVM_JEQ, R(1), 5, 1),
           BPFVM_EXIT(), BPFVM_MOV64_IMM(R(0), 1), BPFVM_EXIT());
    /* (the jeq, never taken, keeps the skipped mov reachable for the verifier) */
    EXPECT("ja32 takes imm", 7, BPFVM_MOV64_IMM(R(0), 7), BPFVM_JMP_IMM(BPFVM_JEQ, R(0), -1, 1),
           BPFVM_JA32(1), BPFVM_MOV64_IMM(R(0), 0), BPFVM_EXIT());
    EXPECT("lddw", 0x123456789abcdef0ull, BPFVM_LD_IMM64(R(0), 0x123456789abcdef0ull),
           BPFVM_EXIT());
    EXPECT("atomic fetch add returns the old value", 30, BPFVM_MOV64_IMM(R(1), 5),
           BPFVM_STX_MEM(BPFVM_DW, R(10), R(1), -8), BPFVM_MOV64_IMM(R(2), 10),
           BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD | BPFVM_FETCH, R(10), R(2), -8),
           BPFVM_LDX_MEM(BPFVM_DW, R(0), R(10), -8), BPFVM_ALU64_REG(BPFVM_SUB, R(0), R(2)),
           BPFVM_ALU64_IMM(BPFVM_MUL, R(0), 3), BPFVM_EXIT()); /* (15 - 5) * 3 */
    EXPECT("atomic fetch or32 in r0", 0x3, BPFVM_MOV64_IMM(R(1), 1),
           BPFVM_STX_MEM(BPFVM_W, R(10), R(1), -4), BPFVM_MOV64_IMM(R(0), 2),
           BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_OR | BPFVM_FETCH, R(10), R(0), -4),
           BPFVM_LDX_MEM(BPFVM_W, R(0), R(10), -4), BPFVM_EXIT());
    EXPECT("cmpxchg loads r0 always", 0x77, BPFVM_MOV64_IMM(R(1), 0x77),
           BPFVM_STX_MEM(BPFVM_DW, R(10), R(1), -8), BPFVM_MOV64_IMM(R(0), 1),
           BPFVM_MOV64_IMM(R(2), 2), BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_CMPXCHG, R(10), R(2), -8),
           BPFVM_EXIT());
    EXPECT("cmpxchg32 zero-extends r0", 0x77, BPFVM_MOV64_IMM(R(1), 0x77),
           BPFVM_STX_MEM(BPFVM_W, R(10), R(1), -8), BPFVM_LD_IMM64(R(0), 0x500000077ull),
           BPFVM_MOV64_IMM(R(2), 2), BPFVM_ATOMIC_OP(BPFVM_W, BPFVM_CMPXCHG, R(10), R(2), -8),
           BPFVM_EXIT());
    EXPECT("local call keeps r6-r9 and has its own frame", 0x1234 + 5,
           BPFVM_MOV64_IMM(R(6), 0x1234), BPFVM_MOV64_IMM(R(1), 5),
           BPFVM_STX_MEM(BPFVM_DW, R(10), R(6), -8), BPFVM_CALL_LOCAL(3),
           BPFVM_LDX_MEM(BPFVM_DW, R(1), R(10), -8), BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(1)),
           BPFVM_EXIT(),
           /* callee */
           BPFVM_MOV64_IMM(R(6), 99), BPFVM_ST_MEM(BPFVM_DW, R(10), -8, 77),
           BPFVM_MOV64_REG(R(0), R(1)), BPFVM_EXIT());
    /* ldabs/ldind: big-endian from mem; out of bounds ends the run with r0 = 0 */
    EXPECT("ldabsh", 0x0108, BPFVM_LD_ABS(BPFVM_H, 0), BPFVM_EXIT()); /* mem[i] = 7i + 1 */
    EXPECT("ldindw", 0x1d242b32, BPFVM_MOV64_IMM(R(6), 2), BPFVM_LD_IND(BPFVM_W, R(6), 2),
           BPFVM_EXIT());
    EXPECT("ldabsdw out of bounds", 0, BPFVM_MOV64_IMM(R(0), 5), BPFVM_LD_ABS(BPFVM_DW, 57),
           BPFVM_MOV64_IMM(R(0), 9), BPFVM_EXIT());
    EXPECT("ldind wraps and stays out", 0, BPFVM_MOV64_IMM(R(6), -1), BPFVM_LD_IND(BPFVM_B, R(6), 1),
           BPFVM_LD_IND(BPFVM_B, R(6), 0), BPFVM_EXIT());
    EXPECT("ldabs keeps r1-r5", 0x2a, BPFVM_MOV64_IMM(R(5), 0x29), BPFVM_LD_ABS(BPFVM_B, 0),
           BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(5)), BPFVM_EXIT());
}

/* ---- run modes ------------------------------------------------------------- */

static void test_modes(void)
{
    uint8_t mem[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    uint64_t mbuff[4] = { 0, 0, 0, 0 };
    /* r0 = first byte of mem + length of mem, reached the mode's way */
    const bpfvm_insn raw[] = { BPFVM_LDX_MEM(BPFVM_B, R(0), R(1), 0),
                               BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(2)), BPFVM_EXIT() };
    const bpfvm_insn mb[] = { BPFVM_LDX_MEM(BPFVM_DW, R(2), R(1), 8),
                              BPFVM_LDX_MEM(BPFVM_DW, R(3), R(1), 16),
                              BPFVM_LDX_MEM(BPFVM_B, R(0), R(2), 0),
                              BPFVM_ALU64_REG(BPFVM_SUB, R(3), R(2)),
                              BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(3)), BPFVM_EXIT() };
    const bpfvm_insn none[] = { BPFVM_MOV64_REG(R(0), R(1)), BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 17),
                                BPFVM_EXIT() };
    bpfvm_vm *vm = bpfvm_create();
    outcome o;

    bpfvm_set_mode(vm, BPFVM_MODE_RAW);
    bpfvm_load(vm, raw, sizeof(raw));
    bpfvm_compile(vm, 0);
    o = run(vm, true, mem, sizeof(mem), NULL, 0);
    CHECK(o.rc == 0 && o.r0 == 17, "raw: rc %d r0 %llu", o.rc, (unsigned long long)o.r0);

    bpfvm_set_mode(vm, BPFVM_MODE_MBUFF);
    bpfvm_load(vm, mb, sizeof(mb));
    bpfvm_compile(vm, 0);
    mbuff[1] = (uintptr_t)mem;
    mbuff[2] = (uintptr_t)(mem + sizeof(mem));
    o = run(vm, true, mem, sizeof(mem), mbuff, sizeof(mbuff));
    CHECK(o.rc == 0 && o.r0 == 17, "mbuff: rc %d r0 %llu %s", o.rc, (unsigned long long)o.r0,
          o.message);
    outcome oi = run(vm, false, mem, sizeof(mem), mbuff, sizeof(mbuff));
    CHECK(oi.rc == 0 && oi.r0 == 17, "mbuff interpreter: rc %d", oi.rc);

    CHECK(bpfvm_set_fixed_mbuff(vm, 32, 8, 16) == 0, "fixed mbuff");
    bpfvm_load(vm, mb, sizeof(mb));
    bpfvm_compile(vm, 0);
    o = run(vm, true, mem, sizeof(mem), NULL, 0);
    CHECK(o.rc == 0 && o.r0 == 17, "fixed mbuff: rc %d r0 %llu %s", o.rc,
          (unsigned long long)o.r0, o.message);

    bpfvm_set_mode(vm, BPFVM_MODE_NONE);
    bpfvm_load(vm, none, sizeof(none));
    bpfvm_compile(vm, 0);
    o = run(vm, true, mem, sizeof(mem), NULL, 0);
    CHECK(o.rc == 0 && o.r0 == 17, "none: rc %d r0 %llu", o.rc, (unsigned long long)o.r0);
    /* no input memory in NONE mode: a load through the RAW-mode pointer faults */
    bpfvm_load(vm, raw, sizeof(raw));
    bpfvm_compile(vm, 0);
    o = run(vm, true, mem, sizeof(mem), NULL, 0);
    CHECK(o.rc == BPFVM_EMEMORY && o.insn == 0, "none: load from r1 = 0: rc %d", o.rc);
    bpfvm_destroy(vm);
}

/* ---- faults in compiled code ----------------------------------------------- */

static uint64_t helper_add(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                           uint64_t e)
{
    (void)ctx;
    return a + b + c + d + e;
}

static uint64_t helper_fail(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                            uint64_t e)
{
    (void)a, (void)b, (void)c, (void)d, (void)e;
    bpfvm_ctx_fail(ctx, "refused");
    return 0;
}

/* Expect the same error from both engines (and the JIT's own expectation). */
static void expect_fault(const char *what, bpfvm_vm *vm, const bpfvm_insn *prog, size_t n,
                         int rc, int64_t insn)
{
    uint8_t mem[32] = { 0 };
    outcome o = agree(what, vm, prog, n, mem, sizeof(mem));
    CHECK(o.rc == rc && o.insn == insn, "%s: rc %d insn %lld, expected %d at %lld (%s)", what,
          o.rc, (long long)o.insn, rc, (long long)insn, o.message);
}

#define FAULT(what, vm, rc, insn, ...)                                                    \
    do {                                                                                   \
        const bpfvm_insn p_[] = { __VA_ARGS__ };                                            \
        expect_fault(what, vm, p_, LEN(p_), rc, insn);                                     \
    } while (0)

static void test_faults(void)
{
    bpfvm_vm *vm = bpfvm_create();
    FAULT("load past mem", vm, BPFVM_EMEMORY, 1, BPFVM_MOV64_IMM(R(0), 0),
          BPFVM_LDX_MEM(BPFVM_W, R(0), R(1), 30), BPFVM_EXIT());
    FAULT("store before mem", vm, BPFVM_EMEMORY, 0, BPFVM_ST_MEM(BPFVM_B, R(1), -1, 1),
          BPFVM_MOV64_IMM(R(0), 0), BPFVM_EXIT());
    /* (through copies of r10: the verifier rejects r10 + constant outside the frame) */
    FAULT("store above the frame", vm, BPFVM_EMEMORY, 1, BPFVM_MOV64_REG(R(3), R(10)),
          BPFVM_ST_MEM(BPFVM_DW, R(3), 0, 1), BPFVM_MOV64_IMM(R(0), 0), BPFVM_EXIT());
    FAULT("load below the frame via a copy of r10", vm, BPFVM_EMEMORY, 2,
          BPFVM_MOV64_REG(R(3), R(10)), BPFVM_ALU64_IMM(BPFVM_ADD, R(3), -516),
          BPFVM_LDX_MEM(BPFVM_W, R(0), R(3), 0), BPFVM_EXIT());
    FAULT("atomic past mem", vm, BPFVM_EMEMORY, 1, BPFVM_MOV64_IMM(R(2), 1),
          BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_XOR | BPFVM_FETCH, R(1), R(2), 28),
          BPFVM_MOV64_IMM(R(0), 0), BPFVM_EXIT());
    FAULT("load from address 0", vm, BPFVM_EMEMORY, 1, BPFVM_MOV64_IMM(R(1), 0),
          BPFVM_LDX_MEM(BPFVM_DW, R(0), R(1), 0), BPFVM_EXIT());
    FAULT("wrap-around address", vm, BPFVM_EMEMORY, 1, BPFVM_MOV64_IMM(R(1), -1),
          BPFVM_LDX_MEM(BPFVM_H, R(0), R(1), 0), BPFVM_EXIT());
    {
        /* a callee reaches its caller's frame: n = 41; inc(&n); return n */
        const bpfvm_insn p[] = {
            BPFVM_ST_MEM(BPFVM_DW, R(10), -8, 41), BPFVM_MOV64_REG(R(1), R(10)),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(1), -8), BPFVM_CALL_LOCAL(2),
            BPFVM_LDX_MEM(BPFVM_DW, R(0), R(10), -8), BPFVM_EXIT(),
            BPFVM_LDX_MEM(BPFVM_DW, R(2), R(1), 0), BPFVM_ALU64_IMM(BPFVM_ADD, R(2), 1),
            BPFVM_STX_MEM(BPFVM_DW, R(1), R(2), 0), BPFVM_EXIT(),
        };
        outcome o = agree("the caller's frame from a callee", vm, p, LEN(p), NULL, 0);
        CHECK(o.rc == 0 && o.r0 == 42, "the caller's frame from a callee: rc %d r0 %llu (%s)",
              o.rc, (unsigned long long)o.r0, o.message);
    }
    FAULT("above a callee's frame, from the caller's r10", vm, BPFVM_EMEMORY, 3,
          BPFVM_MOV64_REG(R(1), R(10)), BPFVM_CALL_LOCAL(1), BPFVM_EXIT(),
          BPFVM_LDX_MEM(BPFVM_DW, R(0), R(1), 512), BPFVM_EXIT());
    FAULT("a returned callee's frame", vm, BPFVM_EMEMORY, 2,
          BPFVM_CALL_LOCAL(3), BPFVM_MOV64_IMM(R(1), 0),
          BPFVM_LDX_MEM(BPFVM_DW, R(1), R(0), -8), BPFVM_EXIT(),
          BPFVM_ST_MEM(BPFVM_DW, R(10), -8, 1), BPFVM_MOV64_REG(R(0), R(10)), BPFVM_EXIT());
    FAULT("unknown helper", vm, BPFVM_EHELPER, 1, BPFVM_MOV64_IMM(R(0), 0),
          BPFVM_CALL_HELPER(777), BPFVM_EXIT());
    FAULT("callx with a 64-bit id", vm, BPFVM_EHELPER, 2, BPFVM_LD_IMM64(R(4), 0x100000007ull),
          BPFVM_CALLX(R(4)), BPFVM_EXIT());
    /* recursion without end: the depth limit */
    FAULT("deep calls", vm, BPFVM_ECALLDEPTH, 2, BPFVM_CALL_LOCAL(1), BPFVM_EXIT(),
          BPFVM_CALL_LOCAL(-1), BPFVM_EXIT());
    bpfvm_set_call_depth(vm, 3);
    FAULT("deep calls, depth 3", vm, BPFVM_ECALLDEPTH, 0, BPFVM_CALL_LOCAL(-1), BPFVM_EXIT());
    bpfvm_set_call_depth(vm, 0);
    FAULT("no calls at depth 0", vm, BPFVM_ECALLDEPTH, 0, BPFVM_CALL_LOCAL(1), BPFVM_EXIT(),
          BPFVM_MOV64_IMM(R(0), 0), BPFVM_EXIT());
    bpfvm_set_call_depth(vm, 8);

    /* the budget: an infinite loop stops at the same instruction with the
     * same count in both engines, for several budgets */
    for (uint64_t b = 1; b < 40; b++) {
        char what[64];
        snprintf(what, sizeof(what), "infinite loop, budget %llu", (unsigned long long)b);
        bpfvm_set_budget(vm, b);
        const bpfvm_insn loop[] = { BPFVM_MOV64_IMM(R(6), 0),
                                    BPFVM_ALU64_IMM(BPFVM_ADD, R(6), 1),
                                    BPFVM_JMP_IMM(BPFVM_JGT, R(6), 5, 2),
                                    BPFVM_CALL_LOCAL(2),
                                    BPFVM_JA_OFF(-4),
                                    BPFVM_JA_OFF(-5),
                                    BPFVM_MOV64_IMM(R(0), 2),
                                    BPFVM_EXIT() };
        outcome o = agree(what, vm, loop, LEN(loop), NULL, 0);
        CHECK(o.rc == BPFVM_EBUDGET, "%s: rc %d", what, o.rc);
    }
    bpfvm_set_budget(vm, 2);
    FAULT("budget, helper call", vm, BPFVM_EBUDGET, 2, BPFVM_MOV64_IMM(R(0), 0),
          BPFVM_JA_OFF(0), BPFVM_CALL_HELPER(777), BPFVM_JA_OFF(-4));
    bpfvm_set_budget(vm, 0);

    /* helpers: failing, registered after compiling, replaced */
    const bpfvm_insn call[] = { BPFVM_MOV64_IMM(R(1), 1), BPFVM_MOV64_IMM(R(2), 2),
                                BPFVM_MOV64_IMM(R(3), 3), BPFVM_MOV64_IMM(R(4), 4),
                                BPFVM_MOV64_IMM(R(5), 5), BPFVM_CALL_HELPER(50),
                                BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 1),
                                BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 5), BPFVM_EXIT() };
    bpfvm_load(vm, call, sizeof(call));
    CHECK(bpfvm_compile(vm, 0) == 0, "compile");
    outcome o = run(vm, true, NULL, 0, NULL, 0);
    CHECK(o.rc == BPFVM_EHELPER && o.insn == 5, "helper not yet registered: %d", o.rc);
    bpfvm_register_helper(vm, 50, "add", helper_add, NULL);
    o = run(vm, true, NULL, 0, NULL, 0);
    CHECK(o.rc == 0 && o.r0 == 21, "helper registered after compiling: rc %d r0 %llu", o.rc,
          (unsigned long long)o.r0);
    bpfvm_register_helper(vm, 50, "fail", helper_fail, NULL);
    o = run(vm, true, NULL, 0, NULL, 0);
    CHECK(o.rc == BPFVM_EHELPERFAIL && o.insn == 5 && strstr(o.message, "refused"),
          "failing helper: rc %d %s", o.rc, o.message);
    bpfvm_destroy(vm);
}

/* regions: user regions go through the slow path; read-only ones refuse stores */
static void test_regions(void)
{
    static uint64_t rw[4] = { 10, 20, 30, 40 };
    static const uint64_t ro[2] = { 5, 6 };
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_add_region(vm, rw, sizeof(rw), BPFVM_READ | BPFVM_WRITE);
    bpfvm_add_region(vm, (void *)(uintptr_t)ro, sizeof(ro), BPFVM_READ);
    const bpfvm_insn p[] = { BPFVM_LD_IMM64(R(1), (uintptr_t)rw),
                             BPFVM_LD_IMM64(R(2), (uintptr_t)ro),
                             BPFVM_LDX_MEM(BPFVM_DW, R(0), R(1), 24),
                             BPFVM_LDX_MEM(BPFVM_DW, R(3), R(2), 8),
                             BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(3)),
                             BPFVM_STX_MEM(BPFVM_DW, R(1), R(0), 0),
                             BPFVM_STX_MEM(BPFVM_DW, R(2), R(0), 0), BPFVM_EXIT() };
    bpfvm_load(vm, p, sizeof(p));
    bpfvm_compile(vm, 0);
    outcome o = run(vm, true, NULL, 0, NULL, 0);
    CHECK(o.rc == BPFVM_EMEMORY && o.insn == 8 && o.addr == (uintptr_t)ro && o.size == 8,
          "store to a read-only region: rc %d insn %lld", o.rc, (long long)o.insn);
    CHECK(rw[0] == 46, "store to a writable region: %llu", (unsigned long long)rw[0]);

    /* loops over two regions (the stubs remember the last region allowed
     * per kind of access): results and faults as in the interpreter, also
     * right at a region's end and for a store into the read-only one */
    for (int16_t last = 0; last <= 16; last += 4) {
        const bpfvm_insn q[] = {
            BPFVM_LD_IMM64(R(1), (uintptr_t)rw), BPFVM_LD_IMM64(R(2), (uintptr_t)ro),
            BPFVM_MOV64_IMM(R(0), 0), BPFVM_MOV64_IMM(R(3), 0),
            /* loop: */
            BPFVM_MOV64_REG(R(4), R(1)), BPFVM_ALU64_REG(BPFVM_ADD, R(4), R(3)),
            BPFVM_LDX_MEM(BPFVM_DW, R(5), R(4), 0), BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(5)),
            BPFVM_LDX_MEM(BPFVM_W, R(5), R(2), 4), BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(5)),
            BPFVM_STX_MEM(BPFVM_DW, R(4), R(0), 0),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(3), 8),
            BPFVM_JMP_IMM(BPFVM_JLT, R(3), 32, -9),
            BPFVM_LDX_MEM(BPFVM_DW, R(5), R(2), last), /* 8 and 16: past the end */
            BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(5)),
            BPFVM_JMP_IMM(BPFVM_JNE, R(0), 0, 1),
            BPFVM_STX_MEM(BPFVM_DW, R(2), R(0), 0), /* never reached */
            BPFVM_EXIT(),
        };
        uint64_t before[4];
        memcpy(before, rw, sizeof(rw));
        bpfvm_load(vm, q, sizeof(q));
        outcome oi = run(vm, false, NULL, 0, NULL, 0);
        uint64_t after_interp[4];
        memcpy(after_interp, rw, sizeof(rw));
        memcpy(rw, before, sizeof(rw));
        bpfvm_compile(vm, 0);
        outcome oj = run(vm, true, NULL, 0, NULL, 0);
        CHECK(oi.rc == oj.rc && oi.r0 == oj.r0 && oi.insn == oj.insn && oi.addr == oj.addr &&
                  memcmp(after_interp, rw, sizeof(rw)) == 0,
              "regions, last read at %d: interpreter %d %llu insn %lld, JIT %d %llu insn %lld",
              last, oi.rc, (unsigned long long)oi.r0, (long long)oi.insn, oj.rc,
              (unsigned long long)oj.r0, (long long)oj.insn);
        CHECK((last <= 8) == (oi.rc == 0), "read at %d: rc %d", last, oi.rc);
    }

    /* read-modify-write: the load's check also covers the store to the same
     * bytes; into a read-only region the store still faults, at the store */
    uint64_t *targets[3] = { rw, (uint64_t *)(uintptr_t)ro, NULL };
    for (int t = 0; t < 3; t++) {
        uint8_t mem[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        const bpfvm_insn q[] = {
            BPFVM_LD_IMM64(R(1), (uintptr_t)targets[t]),
            BPFVM_LDX_MEM(BPFVM_W, R(2), R(1), 4),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(2), 1),
            BPFVM_LD_IMM64(R(3), 5),
            BPFVM_ALU32_REG(BPFVM_MUL, R(2), R(3)),
            BPFVM_STX_MEM(BPFVM_W, R(1), R(2), 4),
            BPFVM_LDX_MEM(BPFVM_H, R(0), R(1), 6), /* not a pair: another access between */
            BPFVM_LDX_MEM(BPFVM_B, R(4), R(1), 8),
            BPFVM_ST_MEM(BPFVM_H, R(1), 6, 77),
            BPFVM_LDX_MEM(BPFVM_DW, R(4), R(1), 8),
            BPFVM_ALU64_IMM(BPFVM_ADD, R(1), 0), /* the base changes: not a pair */
            BPFVM_STX_MEM(BPFVM_DW, R(1), R(4), 8),
            BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(2)),
            BPFVM_EXIT(),
        };
        /* the two lddw slots hold either the region's address or two movs */
        bpfvm_insn prog[LEN(q)];
        memcpy(prog, q, sizeof(q));
        if (t == 2) {
            prog[0] = BPFVM_MOV64_REG(R(1), R(1));
            prog[1] = BPFVM_MOV64_REG(R(1), R(1));
        }
        uint64_t before[4];
        memcpy(before, rw, sizeof(rw));
        bpfvm_load(vm, prog, sizeof(prog));
        outcome oi = run(vm, false, mem, sizeof(mem), NULL, 0);
        uint64_t after_interp[4];
        uint8_t mem_interp[16];
        memcpy(after_interp, rw, sizeof(rw));
        memcpy(mem_interp, mem, sizeof(mem));
        memcpy(rw, before, sizeof(rw));
        for (int i = 0; i < 16; i++)
            mem[i] = (uint8_t)(i + 1);
        CHECK(bpfvm_compile(vm, 0) == 0, "compile");
        outcome oj = run(vm, true, mem, sizeof(mem), NULL, 0);
        CHECK(oi.rc == oj.rc && oi.r0 == oj.r0 && oi.insn == oj.insn && oi.addr == oj.addr &&
                  oi.size == oj.size && memcmp(after_interp, rw, sizeof(rw)) == 0 &&
                  memcmp(mem_interp, mem, sizeof(mem)) == 0,
              "read-modify-write %d: interpreter %d %llu insn %lld, JIT %d %llu insn %lld", t,
              oi.rc, (unsigned long long)oi.r0, (long long)oi.insn, oj.rc,
              (unsigned long long)oj.r0, (long long)oj.insn);
        CHECK(t == 1 ? oi.rc == BPFVM_EMEMORY && oi.insn == 7 : oi.rc == 0,
              "read-modify-write %d: rc %d insn %lld", t, oi.rc, (long long)oi.insn);
    }
    bpfvm_destroy(vm);
}

/* ---- W^X, API errors, big programs ----------------------------------------- */

/* After compiling (twice: the second reuses the pages), no mapping of the
 * process is writable and executable, and the code is mapped r-x. */
static void test_wx(void)
{
    bpfvm_vm *vm = bpfvm_create();
    const bpfvm_insn p[] = { BPFVM_MOV64_IMM(R(0), 1), BPFVM_EXIT() };
    const bpfvm_insn p2[] = { BPFVM_MOV64_IMM(R(0), 2), BPFVM_EXIT() };
    uint64_t r0 = 0;
    bpfvm_load(vm, p, sizeof(p));
    CHECK(bpfvm_compile(vm, 0) == 0, "compile");
    const void *first = bpfvm_jit_code(vm, NULL);
    CHECK(bpfvm_compile(vm, BPFVM_JIT_BLIND) == 0, "compile again");
    CHECK(bpfvm_jit_code(vm, NULL) == first, "recompiling reuses the pages");
    CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 1, "run");
    bpfvm_load(vm, p2, sizeof(p2));
    CHECK(bpfvm_compile(vm, 0) == 0, "compile a new program");
    CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 2, "run the new program");
    size_t size = 0;
    const void *code = bpfvm_jit_code(vm, &size);
    CHECK(code && size > 0, "code");
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL, "open /proc/self/maps");
    char line[512];
    int wx = 0, found = 0;
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perm[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3)
            continue;
        if (perm[1] == 'w' && perm[2] == 'x')
            wx++;
        if ((uintptr_t)code >= lo && (uintptr_t)code < hi)
            found = perm[0] == 'r' && perm[1] == '-' && perm[2] == 'x';
    }
    if (f)
        fclose(f);
    CHECK(wx == 0, "%d mappings are writable and executable", wx);
    CHECK(found, "the code is mapped r-x");
    bpfvm_destroy(vm);
}

/* constant blinding: the program's immediates do not appear in the code */
static void test_blinding(void)
{
    const uint32_t magic = 0x3c90e1f4u; /* an attacker's "mov; nop; ..." bytes */
    const int32_t m = (int32_t)magic;
    const bpfvm_insn p[] = {
        BPFVM_MOV64_IMM(R(0), m),
        BPFVM_ALU32_IMM(BPFVM_ADD, R(0), m),
        BPFVM_ALU64_IMM(BPFVM_XOR, R(0), m),
        BPFVM_ALU64_IMM(BPFVM_MUL, R(0), m),
        BPFVM_INSN(BPFVM_ALU64 | BPFVM_K | BPFVM_DIV, R(0), 0, 1, m),
        BPFVM_ALU32_IMM(BPFVM_MOD, R(0), m),
        BPFVM_JMP_IMM(BPFVM_JEQ, R(0), m, 1),
        BPFVM_JMP32_IMM(BPFVM_JSET, R(0), m, 0),
        BPFVM_ST_MEM(BPFVM_W, R(10), -8, m),
        BPFVM_ST_MEM(BPFVM_DW, R(10), -16, m),
        BPFVM_LD_IMM64(R(3), (uint64_t)magic << 32 | magic),
        BPFVM_LD_ABS(BPFVM_B, m),
        BPFVM_LD_IND(BPFVM_B, R(3), m),
        BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(3)),
        BPFVM_EXIT(),
    };
    bpfvm_vm *vm = bpfvm_create();
    uint64_t r0 = 0, r0b = 1;
    uint8_t mem[16] = { 0 };
    CHECK(bpfvm_load(vm, p, sizeof(p)) == 0, "load: %s", bpfvm_last_error(vm)->message);
    CHECK(bpfvm_compile(vm, 0) == 0, "compile");
    CHECK(code_has_imm(vm, magic), "without blinding the immediate is in the code");
    bpfvm_run_jit(vm, mem, sizeof(mem), NULL, 0, &r0, NULL);
    CHECK(bpfvm_compile(vm, BPFVM_JIT_BLIND) == 0, "compile blinded");
    CHECK(!code_has_imm(vm, magic), "with blinding the immediate is not in the code");
    CHECK(bpfvm_run_jit(vm, mem, sizeof(mem), NULL, 0, &r0b, NULL) == 0 && r0 == r0b,
          "same result blinded");
    bpfvm_destroy(vm);
}

#if defined(__aarch64__)
/* arm64: the atomics are the LSE instructions exactly when the CPU has them,
 * else ldaxr/stlxr loops (the suite runs under qemu with both CPU kinds;
 * the results are checked by the memory rows above). */
static void test_arm64_atomics(void)
{
    bool lse = (getauxval(AT_HWCAP) & HWCAP_ATOMICS) != 0;
    printf("arm64: LSE atomics %s\n", lse ? "present" : "absent");
    static const int32_t aops[] = { BPFVM_ADD, BPFVM_OR | BPFVM_FETCH, BPFVM_XCHG, BPFVM_CMPXCHG };
    for (size_t k = 0; k < LEN(aops); k++) {
        const bpfvm_insn p[] = {
            BPFVM_ST_MEM(BPFVM_DW, R(10), -8, 5),
            BPFVM_MOV64_IMM(R(0), 5),
            BPFVM_MOV64_IMM(R(1), 12),
            BPFVM_ATOMIC_OP(BPFVM_DW, aops[k], R(10), R(1), -8),
            BPFVM_LDX_MEM(BPFVM_DW, R(0), R(10), -8),
            BPFVM_EXIT(),
        };
        bpfvm_vm *vm = bpfvm_create();
        CHECK(bpfvm_load(vm, p, sizeof(p)) == 0 && bpfvm_compile(vm, 0) == 0, "compile");
        size_t size = 0, lse_insns = 0, exclusive = 0;
        const uint8_t *code = bpfvm_jit_code(vm, &size);
        for (size_t i = 0; code && i + 4 <= size; i += 4) {
            uint32_t w;
            memcpy(&w, code + i, 4);
            lse_insns += (w & 0xffe08000u) == 0xf8e00000u ||  /* ldaddal..ldsetal */
                         (w & 0xffe0fc00u) == 0xf8e08000u ||  /* swpal */
                         (w & 0xffe0fc00u) == 0xc8e0fc00u;    /* casal */
            exclusive += (w & 0xfffffc00u) == 0xc85ffc00u;    /* ldaxr */
        }
        CHECK(lse ? lse_insns == 1 && exclusive == 0 : lse_insns == 0 && exclusive == 1,
              "atomic %d: %zu LSE instructions, %zu ldaxr, CPU %s LSE", aops[k], lse_insns,
              exclusive, lse ? "with" : "without");
        uint64_t r0 = 0;
        static const uint64_t want[] = { 17, 13, 12, 12 };
        CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == want[k],
              "atomic %d: r0 %llu", aops[k], (unsigned long long)r0);
        bpfvm_destroy(vm);
    }
}
#endif

static void test_api(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t r0;
    CHECK(bpfvm_compile(vm, 0) == BPFVM_ENOPROG, "compile without a program");
    const bpfvm_insn p[] = { BPFVM_MOV64_IMM(R(0), 3), BPFVM_EXIT() };
    bpfvm_load(vm, p, sizeof(p));
    CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_ENOJIT, "run before compile");
    CHECK(bpfvm_compile(vm, 0x80) == BPFVM_EINVAL, "unknown flags");
    CHECK(bpfvm_compile(vm, 0) == 0, "compile");
    CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 3, "run");
    bpfvm_set_stack_size(vm, 1024);
    CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EINVAL,
          "stack size changed after compiling");
    bpfvm_set_stack_size(vm, 512);
    bpfvm_set_budget(vm, 10);
    CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EINVAL,
          "budget set after compiling unmetered code");
    CHECK(bpfvm_compile(vm, 0) == 0, "compile metered");
    CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 3, "metered run");
    bpfvm_load(vm, p, sizeof(p));
    CHECK(bpfvm_jit_code(vm, NULL) == NULL, "loading drops the code");
    CHECK(bpfvm_run_jit(NULL, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EINVAL, "NULL vm");
    bpfvm_destroy(vm);
}

/* allocation failures during compilation: the Nth allocation fails, for
 * every N until compiling succeeds; each failure is a clean ENOMEM, the VM
 * keeps working, nothing leaks (checked under ASan) */
static long alloc_left = -1;

static void *failing_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (alloc_left == 0)
        return NULL;
    if (alloc_left > 0)
        alloc_left--;
    return realloc(ptr, size);
}

static void failing_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static void test_alloc_failures(void)
{
    const bpfvm_allocator a = { failing_realloc, failing_free, NULL };
    bpfvm_insn p[2100];
    size_t n = 0;
    /* unmetered, mov + and + jeq asks whether r3 is dead after the jump,
     * which lists the jump targets */
    p[n++] = BPFVM_MOV64_REG(R(3), R(1));
    p[n++] = BPFVM_ALU64_IMM(BPFVM_AND, R(3), 1);
    p[n++] = BPFVM_JMP_IMM(BPFVM_JEQ, R(3), 0, 0);
    /* big enough that the code buffer, stubs and fixups all grow */
    for (int k = 0; k < 1000; k++) {
        p[n++] = BPFVM_LDX_MEM(BPFVM_B, R(2), R(1), (int16_t)(k % 8));
        p[n++] = BPFVM_JMP_IMM(BPFVM_JEQ, R(2), 1000, 0);
        p[n - 1].off = (int16_t)(2 * (1000 - k) - 2); /* to the exit */
    }
    p[n++] = BPFVM_MOV64_IMM(R(0), 7);
    p[n++] = BPFVM_EXIT();
    int ok = 0;
    for (long fail = 0, metered = 1; fail < 64 && !(ok && !metered); fail++) {
        if (ok) { /* again without a budget */
            ok = 0;
            metered = 0;
            fail = 0;
        }
        alloc_left = -1;
        bpfvm_vm *vm = bpfvm_create_ex(&a);
        CHECK(vm && bpfvm_load(vm, p, n * sizeof(*p)) == 0, "load");
        if (!vm)
            return;
        bpfvm_set_budget(vm, metered ? 100000 : 0);
        alloc_left = fail;
        int rc = bpfvm_compile(vm, 0);
        alloc_left = -1;
        uint8_t mem[8] = { 0 };
        uint64_t r0 = 0;
        if (rc == 0) {
            ok = 1;
            CHECK(bpfvm_run_jit(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == 0 && r0 == 7,
                  "run after compiling with %ld allocations", fail);
        } else {
            CHECK(rc == BPFVM_ENOMEM, "allocation %ld failing: %s", fail,
                  bpfvm_last_error(vm)->message);
            CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == 0 && r0 == 7,
                  "interpreter after a failed compile");
        }
        bpfvm_destroy(vm);
    }
    CHECK(ok, "compiling never succeeded");
}

/* Programs from 3,000 to 300,000 slots: checked accesses (with their stubs
 * after the whole body), far forward jumps, a budget checkpoint at the start
 * (its stub is after the body too), a backward jump over the whole body
 * under a budget (ample, and running out on the second round), a fault
 * at the end. Backends whose branches reach only so far (arm64: tbnz 32 KiB,
 * b.cond 1 MiB) use longer forms as the code grows. */
static void test_sizes(void)
{
    static const size_t sizes[] = { 3000, 20000, 300000 };
    bpfvm_vm *vm = bpfvm_create();
    uint8_t mem[64] = { 5 };
    char what[96];
    for (size_t s = 0; s < LEN(sizes); s++) {
        size_t n = sizes[s];
        bpfvm_insn *p = calloc(n, sizeof(*p));
        CHECK(p != NULL, "calloc");
        if (!p)
            break;
        const size_t top = 4;
        p[0] = BPFVM_MOV64_IMM(R(0), 0);
        p[1] = BPFVM_MOV64_REG(R(6), R(1));
        p[2] = BPFVM_MOV64_IMM(R(2), 3);
        p[3] = BPFVM_MOV64_IMM(R(3), 0);
        for (size_t k = top; k < n - 5; k++) {
            size_t far = n - 5 - k - 1 < 20000 ? n - 5 - k - 1 : 20000;
            p[k] = k == top       ? BPFVM_JMP_IMM(BPFVM_JEQ, R(2), 99, -1) /* a checkpoint */
                 : k % 500 == 0   ? BPFVM_JMP_IMM(BPFVM_JEQ, R(2), 99, (int16_t)far)
                 : k % 500 == 250 ? BPFVM_LDX_MEM(BPFVM_B, R(3), R(6), (int16_t)(k % 64))
                 : k % 2         ? BPFVM_ALU64_REG(BPFVM_ADD, R(0), R(3))
                                 : BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 3);
        }
        p[n - 5] = BPFVM_ALU64_IMM(BPFVM_SUB, R(2), 1);
        p[n - 4] = BPFVM_JMP_IMM(BPFVM_JEQ, R(2), 0, 1);   /* done: to the fault */
        p[n - 3] = BPFVM_JA32((int32_t)top - (int32_t)(n - 2));
        p[n - 2] = BPFVM_LDX_MEM(BPFVM_B, R(3), R(6), 64); /* just past mem: faults */
        p[n - 1] = BPFVM_EXIT();
        for (int b = 0; b < 2; b++) {
            bpfvm_set_budget(vm, b ? n + n / 2 : 0);
            snprintf(what, sizeof(what), "%zu slots, %s budget", n, b ? "short" : "no");
            outcome o = agree(what, vm, p, n, mem, sizeof(mem));
            CHECK(o.rc == (b ? BPFVM_EBUDGET : BPFVM_EMEMORY) &&
                      o.insn == (int64_t)(b ? n - 3 : n - 2),
                  "%s: rc %d insn %lld", what, o.rc, (long long)o.insn);
        }
        free(p);
    }
    bpfvm_set_budget(vm, 0);
    bpfvm_destroy(vm);
}

static void test_big(void)
{
    size_t n = BPFVM_MAX_INSNS;
    bpfvm_insn *p = calloc(n, sizeof(*p));
    bpfvm_vm *vm = bpfvm_create();
    CHECK(p != NULL, "calloc");
    if (!p)
        return;
    /* two rounds over a million-slot body with far forward jumps (never
     * taken), then a far backward ja32: every jump size */
    const size_t top = 2;
    p[0] = BPFVM_MOV64_IMM(R(0), 0);
    p[1] = BPFVM_MOV64_IMM(R(1), 2);
    for (size_t k = top; k <= n - 5; k++) {
        size_t far = n - 2 - k < 30000 ? n - 2 - k : 30000;
        p[k] = k % 1000 == 0 ? BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 99, (int16_t)far)
                             : BPFVM_ALU64_IMM(BPFVM_ADD, R(0), 3);
    }
    p[n - 4] = BPFVM_ALU64_IMM(BPFVM_SUB, R(1), 1);
    p[n - 3] = BPFVM_JMP_IMM(BPFVM_JEQ, R(1), 0, 1);
    p[n - 2] = BPFVM_JA32((int32_t)top - (int32_t)(n - 1));
    p[n - 1] = BPFVM_EXIT();
    int rc = bpfvm_load(vm, p, n * sizeof(*p));
    CHECK(rc == 0, "load 1M: %s", bpfvm_last_error(vm)->message);
    rc = bpfvm_compile(vm, 0);
    CHECK(rc == 0, "compile 1M: %s", bpfvm_last_error(vm)->message);
    uint64_t a = 1, b = 2;
    rc = bpfvm_run(vm, NULL, 0, NULL, 0, &a, NULL);
    CHECK(rc == 0, "interpret 1M");
    rc = bpfvm_run_jit(vm, NULL, 0, NULL, 0, &b, NULL);
    CHECK(rc == 0 && a == b && a > 5000000, "JIT 1M: rc %d r0 %llu, interpreter %llu", rc,
          (unsigned long long)b, (unsigned long long)a);
    bpfvm_destroy(vm);
    free(p);
}

int main(void)
{
    test_semantics();
    test_alu_rows();
    test_lea_pairs();
    test_fused_address();
    test_fused_alu();
    test_fused_jumps();
    test_block_copies();
    test_fused_rmw();
    test_jump_rows();
    test_memory_rows();
    test_modes();
    test_faults();
    test_regions();
    test_wx();
    test_api();
#if defined(__aarch64__)
    test_arm64_atomics();
#endif
    test_blinding();
    test_alloc_failures();
    test_sizes();
    test_big();
    return TEST_END();
}
