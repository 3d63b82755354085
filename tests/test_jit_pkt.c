/* test_jit_pkt.c - the checked JIT's pointer bounds analysis (jit_bounds.c):
 * loads and stores that the program's own compares of pointers derived from
 * r1 with r1 + r2 prove inside the input memory run without a check. Every
 * program runs in the interpreter and in the JIT (checked, blinded, and
 * unchecked when it does not fault) on input memory of every length from 0
 * to MEM: the same r0, error, instruction, fault address and memory after.
 * Cases: a parser loop (a length field, a frame end compared with the end,
 * then an access inside the frame) for each access width, offset (below the
 * pointer, at it, at the edge, one past), lower bound of the length, load or
 * store, each form of the compare (jgt falling through, jle/jge taken, the
 * operands swapped, signed compares that prove nothing, the length
 * compared with a register holding the constant), and a jump that
 * lands on the access from before the check; two paths joining with
 * different header lengths; compares of r2 with a constant; a local
 * function entered with other r1 and r2; the other run modes, where r2 is
 * 0; loops indexing the input with a counter compared with the length
 * (test_index); frames checked with scalars compared with len - k and (off | 2) (test_rel).
 * On x86-64 the code of the proven cases has no memory check and that of the others has
 * one. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#define PROG_MAX 64
#include "jit_test.h"
#include "test.h"

#define MEM 48
#include "jit_mem_test.h"
#include "bench_object.h"

static int check(const prog *g, bpfvm_mode mode, int proven, const char *what)
{
    return check_in(g, mode, proven, what, 3);
}

/* The compare "a + 0 <= b" in one of its forms, jumping to `out` when it
 * fails (patched later: returns the jump's slot). */
static size_t compare_le(prog *g, int form, int a, int b)
{
    switch (form) {
    case 0: put(g, BPFVM_JMP_REG(BPFVM_JGT, a, b, 0)); break;  /* if a > b goto out */
    case 1: put(g, BPFVM_JMP_REG(BPFVM_JLT, b, a, 0)); break;  /* if b < a goto out */
    case 2:                                                    /* if a <= b goto +1; goto out */
        put(g, BPFVM_JMP_REG(BPFVM_JLE, a, b, 1));
        put(g, BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0));
        break;
    case 3:                                                    /* if b >= a goto +1; goto out */
        put(g, BPFVM_JMP_REG(BPFVM_JGE, b, a, 1));
        put(g, BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0));
        break;
    default: put(g, BPFVM_JMP_REG(BPFVM_JSGT, a, b, 0)); break; /* signed: proves nothing */
    }
    return g->n - 1;
}

static const uint8_t sizes[4] = { BPFVM_B, BPFVM_H, BPFVM_W, BPFVM_DW };

/* Frames [u16 length, low 4 bits][length bytes]: for each frame with a
 * length of at least k, an access of 1 << sz bytes at the frame's start +
 * off (load: summed into r0; store: of r0). bypass: a jump from before the
 * loop lands on the access when r2 == 1. */
static void parser(int sz, int off, int k, bool store, int form, bool bypass, bool regk)
{
    prog g = { .n = 0 };
    unsigned n = 1u << sz;
    put(&g, BPFVM_MOV64_REG(6, 1));                       /* r6 = end */
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 6, 2));
    put(&g, BPFVM_MOV64_IMM(0, 0));
    put(&g, BPFVM_MOV64_IMM(5, 0));
    put(&g, BPFVM_MOV64_IMM(8, 0));
    put(&g, BPFVM_MOV64_REG(7, 1));
    put(&g, BPFVM_MOV64_REG(3, 1));                       /* r3 = p */
    put(&g, BPFVM_MOV64_REG(4, 1));                       /* r4 = p + 2 (for the bypass) */
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 4, 2));
    size_t jbypass = g.n;
    if (bypass)
        put(&g, BPFVM_JMP_IMM(BPFVM_JEQ, 2, 1, 0));
    size_t loop = g.n;
    put(&g, BPFVM_MOV64_REG(4, 3));                       /* r4 = p + 2 */
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 4, 2));
    size_t j1 = compare_le(&g, form, 4, 6);
    put(&g, BPFVM_LDX_MEM(BPFVM_H, 5, 3, 0));             /* r5 = length & 15 */
    put(&g, BPFVM_ALU64_IMM(BPFVM_AND, 5, 15));
    put(&g, BPFVM_MOV64_REG(7, 4));                       /* r7 = frame end */
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 7, 5));
    size_t j2 = compare_le(&g, form, 7, 6);
    if (regk)                                             /* if k > r5 goto next */
        put(&g, BPFVM_MOV64_IMM(9, k));
    size_t jshort = g.n;
    if (regk)
        put(&g, BPFVM_JMP_REG(BPFVM_JGT, 9, 5, 0));
    else
        put(&g, BPFVM_JMP32_IMM(BPFVM_JLT, 5, k, 0));     /* if w5 < k goto next */
    size_t access = g.n;
    if (store)
        put(&g, BPFVM_STX_MEM(sizes[sz], 4, 0, (int16_t)off));
    else
        put(&g, BPFVM_LDX_MEM(sizes[sz], 8, 4, (int16_t)off));
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 0, store ? 5 : 8));
    size_t next = g.n;
    put(&g, BPFVM_MOV64_REG(3, 7));
    put(&g, BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0));
    patch(&g, g.n - 1, loop);
    size_t out = g.n;
    put(&g, BPFVM_EXIT());
    patch(&g, j1, out);
    patch(&g, j2, out);
    patch(&g, jshort, next);
    if (bypass)
        patch(&g, jbypass, access);
    char what[96];
    snprintf(what, sizeof what, "parser: %u bytes at +%d, length >= %d%s, %s, form %d%s", n,
             off, k, regk ? " (register)" : "", store ? "store" : "load", form,
             bypass ? ", bypass" : "");
    bool inside = off >= 0 && off + (int)n <= k;
    int faults = check(&g, BPFVM_MODE_RAW, form == 4 || bypass ? 0 : inside ? 1 : -1, what);
    if (inside && form != 4 && !bypass)
        CHECK(faults == 0, "%s: %d runs faulted", what, faults);
    if (bypass)
        CHECK(faults > 0, "%s: the bypass never faulted", what);
}

static void test_parser(void)
{
    static const int offs[] = { -3, -2, 0, 1, 2, 5 };
    static const int ks[] = { 0, 4, 8 };
    for (int sz = 0; sz < 4; sz++)
        for (size_t o = 0; o < sizeof offs / sizeof offs[0]; o++)
            for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++)
                for (int store = 0; store < 2; store++)
                    parser(sz, offs[o], ks[k], store, 0, false, store && sz == 2);
    for (int form = 1; form < 5; form++) {
        parser(2, 0, 4, false, form, false, false);
        parser(0, 3, 4, true, form, false, false);
        parser(2, 1, 4, false, form, false, false);
    }
    parser(2, 0, 4, false, 0, true, false);
    parser(0, 0, 4, true, 0, true, false);
}

/* h = p + 20 or p + 40 (by a byte of the input), joined; if h + need > end
 * goto out; a load of 4 bytes at h + at. */
static void join_case(int need, int at)
{
    prog g = { .n = 0 };
    put(&g, BPFVM_MOV64_REG(6, 1));
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 6, 2));
    put(&g, BPFVM_MOV64_IMM(0, 0));
    put(&g, BPFVM_MOV64_REG(4, 1));
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 4, 1));
    size_t j1 = compare_le(&g, 0, 4, 6);
    put(&g, BPFVM_LDX_MEM(BPFVM_B, 5, 1, 0));
    put(&g, BPFVM_MOV64_REG(7, 1));
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 7, 20));
    put(&g, BPFVM_JMP_IMM(BPFVM_JSET, 5, 1, 1));
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 7, 20));
    put(&g, BPFVM_MOV64_REG(4, 7));                       /* the join */
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 4, need));
    size_t j2 = compare_le(&g, 0, 4, 6);
    put(&g, BPFVM_LDX_MEM(BPFVM_W, 0, 7, (int16_t)at));
    size_t out = g.n;
    put(&g, BPFVM_EXIT());
    patch(&g, j1, out);
    patch(&g, j2, out);
    char what[64];
    snprintf(what, sizeof what, "join: need %d, load at %d", need, at);
    check(&g, BPFVM_MODE_RAW, at >= 0 && at + 4 <= need ? 1 : 0, what);
}

static void test_join(void)
{
    join_case(8, 4);
    join_case(8, 5);
    join_case(4, 0);
    join_case(4, -1);
}

/* if r2 (or a copy) < k goto out (or a signed compare); a load of 1 << sz
 * bytes at r1 + off */
static void len_case(int op, int k, int sz, int off, bool regk)
{
    prog g = { .n = 0 };
    put(&g, BPFVM_MOV64_IMM(0, 0));
    put(&g, BPFVM_MOV64_REG(3, 2));
    put(&g, BPFVM_MOV64_IMM(4, k));
    if (regk) /* if k > r3 goto out, as clang's v1 code compares */
        put(&g, BPFVM_JMP_REG(op == BPFVM_JLT ? BPFVM_JGT : BPFVM_JSGT, 4, 3, 1));
    else
        put(&g, BPFVM_JMP_IMM(op, 3, k, 1));
    put(&g, BPFVM_LDX_MEM(sizes[sz], 0, 1, (int16_t)off));
    put(&g, BPFVM_EXIT());
    char what[64];
    snprintf(what, sizeof what, "len: op %#x k %d%s, %u bytes at %d", op, k,
             regk ? " (register)" : "", 1u << sz, off);
    bool in = off >= 0 && off + (1 << sz) <= k;
    check(&g, BPFVM_MODE_RAW, in ? 1 : 0, what);
}

static void test_len(void)
{
    for (int k = 0; k < 10; k += 3)
        for (int sz = 0; sz < 4; sz++)
            for (int off = -1; off < 3; off++) {
                len_case(BPFVM_JLT, k, sz, off, false);
                len_case(BPFVM_JSLT, k, sz, off, false);
                len_case(BPFVM_JLT, k, sz, off, true);
                len_case(BPFVM_JSLT, k, sz, off, true);
            }
}

/* r0 = 0; r6 = r1 + r2; r4 = r1 + 4; if r4 > r6 goto +skip;
 * r0 = *(u32 *)(r1 + 0) */
static void load_if_four(prog *g, int16_t skip)
{
    put(g, BPFVM_MOV64_IMM(0, 0));
    put(g, BPFVM_MOV64_REG(6, 1));
    put(g, BPFVM_ALU64_REG(BPFVM_ADD, 6, 2));
    put(g, BPFVM_MOV64_REG(4, 1));
    put(g, BPFVM_ALU64_IMM(BPFVM_ADD, 4, 4));
    put(g, BPFVM_JMP_REG(BPFVM_JGT, 4, 6, skip));
    put(g, BPFVM_LDX_MEM(BPFVM_W, 0, 1, 0));
}

/* A local function with the parser's check: r6 = r1 + r2; if r1 + 4 > r6
 * exit; load 4 bytes at r1. Called with r1 = mem + 6 and r2 = 100: the
 * check passes and the load faults on short inputs. */
static void test_call(void)
{
    prog g = { .n = 0 };
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 1, 6));
    put(&g, BPFVM_MOV64_IMM(2, 100));
    put(&g, BPFVM_CALL_LOCAL(1));
    put(&g, BPFVM_EXIT());
    load_if_four(&g, 1);                                  /* the function */
    put(&g, BPFVM_EXIT());
    CHECK(check(&g, BPFVM_MODE_RAW, 0, "local function") > 0, "local function: no fault");
}

/* r2 is 0 in the other modes: the compares fail, nothing is loaded */
static void test_modes(void)
{
    prog g = { .n = 0 };
    load_if_four(&g, 2);
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 0, 1));
    put(&g, BPFVM_EXIT());
    check(&g, BPFVM_MODE_RAW, 1, "raw mode");
    check(&g, BPFVM_MODE_FIXED_MBUFF, -1, "fixed mbuff mode");
    check(&g, BPFVM_MODE_NONE, -1, "no-data mode");
}

/* A tail call passes any r1 to its target: in raw mode the target's r2 is
 * the input bytes from that r1 on, so the target's compare of r1 + 8 with
 * r1 + r2 proves nothing outside the input. Program 0 moves r1 by `shift`
 * (or sets it to a constant outside the input) and tail-calls program 1,
 * which reads 8 bytes at r1 when r1 + 8 <= r1 + r2, else returns 7. */
static void test_tail_call(void)
{
    bpfvm_map *progs = prog_array();
    bpfvm_error err;
    if (!progs)
        return;
    static const bpfvm_insn target[] = {
        BPFVM_MOV64_REG(6, 1), BPFVM_ALU64_REG(BPFVM_ADD, 6, 2),
        BPFVM_MOV64_REG(3, 1), BPFVM_ALU64_IMM(BPFVM_ADD, 3, 8),
        BPFVM_JMP_REG(BPFVM_JGT, 3, 6, 2),
        BPFVM_LDX_MEM(BPFVM_DW, 0, 1, 0), BPFVM_EXIT(),
        BPFVM_MOV64_IMM(0, 7), BPFVM_EXIT(),
    };
    static const int32_t shifts[] = { 0, 40, 41, 47, 48, 60, -1 };
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
        bpfvm_insn first[] = {
            BPFVM_ALU64_IMM(BPFVM_ADD, 1, shifts[k]), BPFVM_LD_MAP_FD(2, 0),
            BPFVM_MOV64_IMM(3, 0), BPFVM_CALL_HELPER(12), BPFVM_MOV64_IMM(0, 99), BPFVM_EXIT(),
        };
        if (shifts[k] < 0) /* r1 = 4096: not inside the input */
            first[0] = (bpfvm_insn)BPFVM_MOV64_IMM(1, 4096);
        outcome o[2];
        for (int jit = 0; jit < 2; jit++) {
            bpfvm_vm *vm0 = bpfvm_create(), *vm1 = bpfvm_create();
            bool ok = vm0 && vm1 && bpfvm_register_kernel_helpers(vm0) == 0 &&
                      bpfvm_load_maps(vm0, first, sizeof first, &progs, 1) == 0 &&
                      bpfvm_load(vm1, target, sizeof target) == 0 &&
                      (!jit || (bpfvm_compile(vm0, 0) == 0 && bpfvm_compile(vm1, 0) == 0)) &&
                      bpfvm_prog_array_set(progs, 0, vm1) == 0;
            CHECK(ok, "tail call %d: load: %s", shifts[k], vm0 ? bpfvm_last_error(vm0)->message : "");
            memset(&o[jit], 0, sizeof o[jit]);
            for (size_t i = 0; i < MEM; i++)
                mem[i] = (uint8_t)(i * 7 + 1);
            if (ok)
                o[jit].rc = (jit ? bpfvm_run_jit : bpfvm_run)(vm0, mem, MEM, NULL, 0, &o[jit].r0,
                                                             &err);
            uint32_t slot = 0;
            bpfvm_map_delete(progs, &slot);
            bpfvm_destroy(vm0);
            bpfvm_destroy(vm1);
        }
        bool inside = shifts[k] >= 0 && shifts[k] + 8 <= MEM;
        uint64_t want = 7;
        if (inside)
            memcpy(&want, mem + shifts[k], 8);
        CHECK(o[0].rc == 0 && o[1].rc == 0 && o[0].r0 == want && o[1].r0 == want,
              "tail call with r1 + %d: interpreter %d r0 %llu, JIT %d r0 %llu, want %llu",
              shifts[k], o[0].rc, (unsigned long long)o[0].r0, o[1].rc,
              (unsigned long long)o[1].r0, (unsigned long long)want);
    }
    bpfvm_map_unref(progs);
}

/* Values spilled to the stack frame and filled back: the input's end goes
 * to r10 - 8 and p = r1 to r10 - 24 (r8 keeps p too); then `clobber` runs; the
 * end and p are filled back, and 8 bytes are loaded at p when p + 8 <= end.
 * Every clobber but SP_NONE and SP_BESIDE writes the end's slot (or may) with
 * a value past the input's end, so on inputs shorter than 8 bytes the load
 * faults: a JIT that still trusted the slot would read past the input. */
enum { SP_NONE, SP_BESIDE, SP_BYTE, SP_LOW32, SP_HIGH32, SP_OVERLAP, SP_ALIAS, SP_ALIAS_SPILLED,
       SP_ATOMIC, SP_ATOMIC_ALIAS, SP_CALL, SP_JOIN, SP_FILL_UNWRITTEN, SP_FILL_W, SP_SPILL_W, SP_COUNT };

static void spill_case(int clobber)
{
    static const char *const names[SP_COUNT] = {
        "none", "8-byte spill beside the slot", "byte store into the slot", "low 32 bits stored",
        "high 32 bits stored", "overlapping 8-byte store", "store through a copy of r10",
        "store through a copy of r10 filled from the frame", "atomic add to the slot",
        "atomic add through a copy of r10", "local call writing the caller's frame",
        "one path of a join spilling an unknown value",
        "fill of a slot never written", "4-byte fill", "4-byte spill",
    };
    prog g = { .n = 0 };
    put(&g, BPFVM_MOV64_IMM(0, 0));
    put(&g, BPFVM_MOV64_REG(8, 1));
    put(&g, BPFVM_MOV64_REG(6, 1));                       /* r6 = end */
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 6, 2));
    put(&g, BPFVM_STX_MEM(clobber == SP_SPILL_W ? BPFVM_W : BPFVM_DW, 10, 6, -8));
    put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 1, -24));
    put(&g, BPFVM_MOV64_REG(7, 1));                       /* r7 = p + 4096 */
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 7, 4096));
    size_t call = 0;
    switch (clobber) {
    case SP_BESIDE: put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 7, -16)); break;
    case SP_BYTE: put(&g, BPFVM_ST_MEM(BPFVM_B, 10, -1, 0x7f)); break;
    case SP_LOW32: put(&g, BPFVM_ST_MEM(BPFVM_W, 10, -8, -1)); break;
    case SP_HIGH32: put(&g, BPFVM_ST_MEM(BPFVM_W, 10, -4, 0x7fff)); break;
    case SP_OVERLAP:
        put(&g, BPFVM_MOV64_IMM(3, -1)); /* the end's low half: all ones */
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 3, -12));
        break;
    case SP_ALIAS_SPILLED:
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 10, -32));
        put(&g, BPFVM_LDX_MEM(BPFVM_DW, 5, 10, -32));
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 5, -8));
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 5, 7, 0));
        break;
    case SP_ALIAS: case SP_ATOMIC_ALIAS:
        put(&g, BPFVM_MOV64_REG(5, 10));
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 5, -16));
        put(&g, clobber == SP_ALIAS ? BPFVM_STX_MEM(BPFVM_DW, 5, 7, 8)
                                    : BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 5, 2, 8));
        break;
    case SP_ATOMIC:
        put(&g, BPFVM_ATOMIC_OP(BPFVM_DW, BPFVM_ADD, 10, 2, -8));
        break;
    case SP_JOIN: /* when len == 5: r7, which the analysis does not know after the or */
        put(&g, BPFVM_JMP_IMM(BPFVM_JNE, 2, 5, 3));
        put(&g, BPFVM_MOV64_REG(3, 7));
        put(&g, BPFVM_ALU64_IMM(BPFVM_OR, 3, 0));
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 3, -8));
        break;
    case SP_CALL: /* the function writes 2^62 through r1 = r10 - 8 */
        put(&g, BPFVM_MOV64_REG(1, 10));
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 1, -8));
        call = g.n;
        put(&g, BPFVM_CALL_LOCAL(0));
        break;
    }
    if (clobber == SP_ATOMIC || clobber == SP_ATOMIC_ALIAS) /* the end + 2^40 */
        put_lddw(&g, 2, 1ll << 40);
    put(&g, BPFVM_LDX_MEM(clobber == SP_FILL_W ? BPFVM_W : BPFVM_DW, 6, 10,
                          clobber == SP_FILL_UNWRITTEN ? -40 : -8));
    put(&g, BPFVM_LDX_MEM(BPFVM_DW, 3, 10, -24));
    put(&g, BPFVM_MOV64_REG(4, 3));
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 4, 8));
    put(&g, BPFVM_JMP_REG(BPFVM_JGT, 4, 6, 1));
    put(&g, BPFVM_LDX_MEM(BPFVM_DW, 0, clobber == SP_CALL ? 8 : 3, 0));
    put(&g, BPFVM_EXIT());
    if (clobber == SP_CALL) {
        g.p[call].imm = (int32_t)(g.n - call - 1);
        put(&g, BPFVM_MOV64_IMM(0, 1));
        put(&g, BPFVM_ALU64_IMM(BPFVM_LSH, 0, 62));
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 1, 0, 0));
        put(&g, BPFVM_EXIT());
    }
    char what[96];
    snprintf(what, sizeof what, "spilled end and pointer, %s", names[clobber]);
    bool kept = clobber == SP_NONE || clobber == SP_BESIDE;
    int faults = check(&g, BPFVM_MODE_RAW, kept ? 1 : 0, what);
    /* the end's slot holds a value past the end: short inputs fault */
    bool past = !kept && clobber != SP_FILL_UNWRITTEN && clobber != SP_FILL_W &&
                clobber != SP_SPILL_W;
    CHECK(past ? faults > 0 : faults == 0, "%s: %d runs faulted", what, faults);
}

/* A local function fills r10 - 8 of its own frame, where its caller
 * spilled the end: the caller's slot says nothing of it. The caller passes
 * r1 = p + 6; the function loads 8 bytes at r1 when r1 + 8 <= what it filled. */
static void test_spill_frames(void)
{
    prog g = { .n = 0 };
    put(&g, BPFVM_MOV64_REG(6, 1));
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 6, 2));
    put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 6, -8));
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 1, 6));
    put(&g, BPFVM_CALL_LOCAL(1));
    put(&g, BPFVM_EXIT());
    put(&g, BPFVM_MOV64_IMM(0, 0));                       /* the function */
    put(&g, BPFVM_LDX_MEM(BPFVM_DW, 6, 10, -8));
    put(&g, BPFVM_MOV64_REG(4, 1));
    put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 4, 8));
    put(&g, BPFVM_JMP_REG(BPFVM_JGT, 4, 6, 1));
    put(&g, BPFVM_LDX_MEM(BPFVM_DW, 0, 1, 0));
    put(&g, BPFVM_EXIT());
    check(&g, BPFVM_MODE_RAW, 0, "a function's fill of its own frame");
}

/* A parser loop keeping p and the end only in the frame: p is filled,
 * checked against the filled end, 4 bytes are summed, p + 4 spilled back. */
static void test_spill_loop(void)
{
    for (int at = 0; at < 2; at++) {
        prog g = { .n = 0 };
        put(&g, BPFVM_MOV64_IMM(0, 0));
        put(&g, BPFVM_MOV64_REG(6, 1));
        put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 6, 2));
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 6, -8));
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 1, -16));
        size_t loop = g.n;
        put(&g, BPFVM_LDX_MEM(BPFVM_DW, 3, 10, -16));
        put(&g, BPFVM_MOV64_REG(4, 3));
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 4, 4));
        put(&g, BPFVM_LDX_MEM(BPFVM_DW, 6, 10, -8));
        size_t j = g.n;
        put(&g, BPFVM_JMP_REG(BPFVM_JGT, 4, 6, 0));
        put(&g, BPFVM_LDX_MEM(BPFVM_W, 5, 3, (int16_t)at)); /* at 1: one past the check */
        put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 5));
        put(&g, BPFVM_STX_MEM(BPFVM_DW, 10, 4, -16));
        put(&g, BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0));
        patch(&g, g.n - 1, loop);
        patch(&g, j, g.n);
        put(&g, BPFVM_EXIT());
        int faults = check(&g, BPFVM_MODE_RAW, at == 0 ? 1 : 0,
                           at ? "spilled parser loop, one past" : "spilled parser loop");
        CHECK(at ? faults > 0 : faults == 0, "spilled parser loop at %d: %d runs faulted", at,
              faults);
    }
}

static void test_spill(void)
{
    for (int c = 0; c < SP_COUNT; c++)
        spill_case(c);
    test_spill_frames();
    test_spill_loop();
}

/* Loops indexing the input with a counter compared with the length:
 * r0 = 0; r3 = 0; loop: if r3 >= r2 goto out; r4 = r1; r4 += r3;
 * r5 = *(u8 *)(r4 + 0); r0 += r5; r3 += 1; goto loop; out: exit
 * and variants, the first ones proven, the others with an access some run
 * makes outside the input, which must fault as in the interpreter. */
enum {
    IX_TOP, IX_SWAPPED, IX_COPY, IX_BOTTOM, IX_BOTTOM_GT, /* proven */
    IX_DO_WHILE, IX_WRONG_REG, IX_R2_IN_LOOP, IX_JMP32, IX_OFF1, IX_HALF, IX_SIGNED,
    IX_JOIN, IX_INC_FIRST, IX_COUNT, IX_PROVEN = IX_DO_WHILE
};

static const char *const ix_names[IX_COUNT] = {
    "index < len at the top", "len <= index at the top", "a copy of the index compared",
    "index < len at the bottom, len != 0 first", "len > index at the bottom, len != 0 first",
    "do-while loop without len != 0", "index compared with len + 1",
    "len register changed in the loop", "32-bit compare", "byte at index + 1",
    "half word at index", "signed compare", "one path without the compare",
    "index incremented before the access",
};

static void index_case(int c)
{
    prog g = { .n = 0 };
    size_t out[2] = { 0, 0 }, nout = 0;
    bool bottom = c == IX_BOTTOM || c == IX_BOTTOM_GT || c == IX_DO_WHILE;
    put(&g, BPFVM_MOV64_IMM(0, 0));
    if (c == IX_JMP32) { /* (and a 64-bit compare of len, so that the analysis runs) */
        put_lddw(&g, 3, (int64_t)1 << 32); /* its low 32 bits are below len */
        out[nout++] = g.n;
        put(&g, BPFVM_JMP_IMM(BPFVM_JGT, 2, 1000, 0));
    }
    else
        put(&g, BPFVM_MOV64_IMM(3, c == IX_SIGNED ? -1 : c == IX_JOIN ? 40 : 0));
    put(&g, BPFVM_MOV64_REG(6, 2));
    if (c == IX_WRONG_REG)
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1));
    if (bottom && c != IX_DO_WHILE) {
        out[nout++] = g.n;
        put(&g, BPFVM_JMP_IMM(BPFVM_JEQ, 2, 0, 0));
    }
    size_t loop = g.n, skip = 0;
    if (c == IX_JOIN) { /* odd lengths compare, even ones do not */
        put(&g, BPFVM_MOV64_REG(7, 2));
        put(&g, BPFVM_ALU64_IMM(BPFVM_AND, 7, 1));
        skip = g.n;
        put(&g, BPFVM_JMP_IMM(BPFVM_JEQ, 7, 0, 0));
    }
    if (!bottom) {
        out[nout++] = g.n;
        if (c == IX_SWAPPED)
            put(&g, BPFVM_JMP_REG(BPFVM_JLE, 2, 3, 0));
        else if (c == IX_COPY) {
            put(&g, BPFVM_MOV64_REG(8, 3));
            out[nout - 1] = g.n;
            put(&g, BPFVM_JMP_REG(BPFVM_JGE, 8, 2, 0));
        } else if (c == IX_JMP32)
            put(&g, BPFVM_JMP32_REG(BPFVM_JGE, 3, 2, 0));
        else if (c == IX_SIGNED)
            put(&g, BPFVM_JMP_REG(BPFVM_JSGE, 3, 2, 0));
        else
            put(&g, BPFVM_JMP_REG(BPFVM_JGE, 3, c == IX_WRONG_REG ? 6 : 2, 0));
    }
    if (c == IX_JOIN)
        patch(&g, skip, g.n);
    if (c == IX_R2_IN_LOOP) { /* the next compares are with len + 1 */
        put(&g, BPFVM_MOV64_REG(2, 6));
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 2, 1));
    }
    if (c == IX_INC_FIRST)
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 3, 1));
    put(&g, BPFVM_MOV64_REG(4, 1));
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 4, 3));
    put(&g, BPFVM_LDX_MEM(c == IX_HALF ? BPFVM_H : BPFVM_B, 5, 4, c == IX_OFF1 ? 1 : 0));
    put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 5));
    if (c != IX_INC_FIRST && c != IX_JOIN)
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 3, 1));
    if (bottom) {
        put(&g, c == IX_BOTTOM_GT ? BPFVM_JMP_REG(BPFVM_JGT, 2, 3, 0)
                                  : BPFVM_JMP_REG(BPFVM_JLT, 3, 2, 0));
        patch(&g, g.n - 1, loop);
    } else if (c != IX_JOIN) { /* (that one reads index 40 once) */
        put(&g, BPFVM_JMP_IMM(BPFVM_JA, 0, 0, 0));
        patch(&g, g.n - 1, loop);
    }
    for (size_t k = 0; k < nout; k++)
        patch(&g, out[k], g.n);
    put(&g, BPFVM_EXIT());
    bool in = c < IX_PROVEN;
    /* (the unchecked interpreter would read 4 GiB past the input) */
    int faults = check_in(&g, BPFVM_MODE_RAW, in ? 1 : 0, ix_names[c], c == IX_JMP32 ? 2 : 3);
    CHECK(in ? faults == 0 : faults > 0, "%s: %d runs faulted", ix_names[c], faults);
}

/* The input's last bytes through start + (len - k), as the bench's
 * histogram keeps its counters in the last 1 KiB:
 *     r0 = 0; if len < need goto out; r2 += -k; [r2 += 1;] r3 = r1 [+ c];
 *     [r3 += mem[0] & 1;] r3 += r2; r0 = *(u32 *)(r3 + off);
 *     *(u32 *)(r3 + off) = r0
 * r3 - c is end - k, which has room k: proven when 0 <= c + off and c + off
 * + 4 <= k. Near misses (checked, faulting where the interpreter does): a
 * word one past the end, below the base, len - 16 after only len >= 15
 * (then r3 is below the input), the distance moved by 1 (len - 15), and a
 * base that is not r1 (r1 + 0 or 1). */
enum { EM_NONE, EM_STEP, EM_ODD };

static void test_end_minus(void)
{
    static const struct {
        const char *name;
        int need, c, off, twist;
        bool proven;
    } cases[] = {
        { "len - 16: its last word", 16, 0, 12, EM_NONE, true },
        { "len - 16: its first word", 16, 0, 0, EM_NONE, true },
        { "len - 16 + 4: the word at +8", 16, 4, 8, EM_NONE, true },
        { "len - 16 + 8: the word at -8", 16, 8, -8, EM_NONE, true },
        { "len - 16: a word one past", 16, 0, 13, EM_NONE, false },
        { "len - 16: the word at -1", 16, 0, -1, EM_NONE, false },
        { "len - 16 + 4: the word at +9", 16, 4, 9, EM_NONE, false },
        { "len - 16 after len >= 15", 15, 0, 0, EM_NONE, false },
        { "len - 15: its last word at 12", 16, 0, 12, EM_STEP, false },
        { "r1 + (mem[0] & 1) + len - 16", 16, 0, 12, EM_ODD, false },
    };
    for (size_t n = 0; n < sizeof cases / sizeof cases[0]; n++) {
        prog g = { .n = 0 };
        put(&g, BPFVM_MOV64_IMM(0, 0));
        size_t out = g.n;
        put(&g, BPFVM_JMP_IMM(BPFVM_JLT, 2, cases[n].need, 0));
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 2, -16));
        if (cases[n].twist == EM_STEP)
            put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 2, 1));
        put(&g, BPFVM_MOV64_REG(3, 1));
        put(&g, BPFVM_ALU64_IMM(BPFVM_ADD, 3, cases[n].c));
        if (cases[n].twist == EM_ODD) {
            put(&g, BPFVM_LDX_MEM(BPFVM_B, 4, 1, 0));
            put(&g, BPFVM_ALU64_IMM(BPFVM_AND, 4, 1));
            put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 3, 4));
        }
        put(&g, BPFVM_ALU64_REG(BPFVM_ADD, 3, 2));
        put(&g, BPFVM_LDX_MEM(BPFVM_W, 0, 3, (int16_t)cases[n].off));
        put(&g, BPFVM_STX_MEM(BPFVM_W, 3, 0, (int16_t)cases[n].off));
        patch(&g, out, g.n);
        put(&g, BPFVM_EXIT());
        int faults = check(&g, BPFVM_MODE_RAW, cases[n].proven, cases[n].name);
        CHECK(cases[n].proven ? faults == 0 : faults > 0, "%s: %d runs faulted", cases[n].name,
              faults);
    }
}

static void test_index(void)
{
    for (int c = 0; c < IX_COUNT; c++)
        index_case(c);
}

/* ---- Relations of scalars with the length (test_rel): the bench's packet
 * parser's checks. Frames [u16 length: 4 | low 3 bits][length bytes] padded to
 * 4 bytes; the frame's start is mem + off with off a multiple of 4, the
 * loop goes on while (off | 2) <= len (which is off + 2 <= len, off being
 * aligned: its 2-byte load is then proven), the frame's length is compared
 * with len - 2 - off, and a frame of at least 4 bytes has a word read at
 * its start + 2 (proven: the length fits mem + off at 2). Each variant
 * changes one thing the proofs need and must keep a check. */
enum {
    RL_JLT, RL_JGT, RL_JLE, RL_STRICT, RL_PROVEN,
    RL_OFF1 = RL_PROVEN, RL_SIGNED, RL_JMP32, RL_R2, RL_SKIP, RL_REWRITE, RL_BASE, RL_ALIGN2,
    RL_LEN3, RL_LEN4, RL_OR4, RL_COUNT
};

static const char *const rl_names[RL_COUNT] = {
    "len - 2 - off < flen", "flen > len - 2 - off", "flen <= len - 2 - off taken",
    "flen >= len - 2 - off (strict)", "len - 1 - off", "signed compare", "32-bit compare",
    "r2 changed first", "one path skips the compare", "flen rewritten after the compare",
    "pointer moved after the compare", "off a multiple of 2 only", "len - 3 when len >= 2",
    "len - 3 when len >= 4, off + 2 <= len", "(off | 4) <= len",
};

/* Assemble text and run it as check() does: the runs that faulted, or -1 */
static int check_text(const char *text, const char *what, int proven)
{
    bpfvm_insn *code = NULL;
    size_t count = 0;
    bpfvm_error err;
    prog g = { .n = 0 };
    if (bpfvm_asm(text, what, &code, &count, &err) != 0) {
        CHECK(0, "%s: %s", what, err.message);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        put(&g, code[i]);
    free(code);
    return check(&g, BPFVM_MODE_RAW, proven, what);
}

static void rel_case(int c)
{
    static const char *const cmp[RL_COUNT] = {
        [RL_JGT] = "jgt r5, r7, out", [RL_JLE] = "jle r5, r7, ok\nja out\nok:",
        [RL_STRICT] = "jge r5, r7, out", [RL_SIGNED] = "jsgt r5, r7, out",
        [RL_JMP32] = "jlt32 r7, r5, out",
    };
    char text[1024];
    snprintf(text, sizeof text,
             "mov64 r0, 0\nmov64 r6, 0\n%s\njlt r2, %d, out\n"
             "loop:\nmov64 r8, r6\nmov64 r9, r1\nadd64 r9, r8\nldxh r5, [r9+0]\nand64 r5, 7\n%s\n"
             "mov64 r7, r2\nadd64 r7, %d\nsub64 r7, r8\n%s\n%s\nskip:\n%s\n"
             "jlt r5, 4, next\n%s\nldxw r3, [r9+2]\nadd64 r0, r3\n"
             "next:\nadd64 r5, 5\nand64 r5, %s\nadd64 r6, r5\nmov64 r4, r6\nor64 r4, %d\n"
             "jle r4, r2, loop\nout:\nexit\n",
             c == RL_R2 ? "add64 r2, 1" : "", c == RL_LEN4 ? 4 : 2,
             c == RL_REWRITE ? "" : "or64 r5, 4",
             c == RL_OFF1 ? -1 : c == RL_LEN3 || c == RL_LEN4 ? -3 : -2,
             c == RL_SKIP ? "jeq r5, 5, skip" : "", cmp[c] ? cmp[c] : "jlt r7, r5, out",
             c == RL_REWRITE ? "or64 r5, 4" : "", c == RL_BASE ? "add64 r9, 1" : "",
             c == RL_ALIGN2 ? "0x1e" : "0x1c", c == RL_OR4 ? 4 : 2);
    bool in = c < RL_PROVEN;
    int faults = check_text(text, rl_names[c], in ? 1 : 0);
    if (faults < 0)
        return;
    /* (the signed and the 32-bit compare agree with the unsigned one on these
     * small values: only the code check pins them) */
    CHECK(in ? faults == 0 : faults > 0 || c == RL_SIGNED || c == RL_JMP32,
          "%s: %d runs faulted", rl_names[c], faults);
}

/* A byte index compared with len - 3 directly: proven when len >= 3 is
 * known first, not when only len >= 2 is (len - 3 then wraps at len 2). */
static void rel_direct(int known)
{
    char text[256], what[64];
    snprintf(text, sizeof text,
             "mov64 r0, 0\njlt r2, %d, out\nldxb r5, [r1+0]\nand64 r5, 1\n"
             "mov64 r7, r2\nadd64 r7, -3\njgt r5, r7, out\nmov64 r4, r1\nadd64 r4, r5\n"
             "ldxb r0, [r4+2]\nout:\nexit\n", known);
    snprintf(what, sizeof what, "x <= len - 3 after len >= %d", known);
    int faults = check_text(text, what, known >= 3 ? 1 : 0);
    CHECK(faults < 0 || (known >= 3 ? faults == 0 : faults > 0), "%s: %d runs faulted", what,
          faults);
}

/* The first trip of a frame loop, where the offset is still the constant c
 * (0 in packet's loop): len - 2 - c (made when len >= 2 + c is known) compared
 * with the frame's length flen (>= 4) gives flen + 2 + c <= len, so len >= 6
 * + c: a word at mem + 2 + c is proven, one byte further is not, nor is the
 * word when only len >= 2 is known and c = 1 (len - 3 wraps at len 2). */
static void rel_first(int known, int c, int off)
{
    char text[256], what[80];
    snprintf(text, sizeof text,
             "mov64 r0, 0\nmov64 r6, %d\njlt r2, %d, out\nldxh r5, [r1+0]\nand64 r5, 7\n"
             "or64 r5, 4\nmov64 r7, r2\nadd64 r7, -2\nsub64 r7, r6\njlt r7, r5, out\n"
             "ldxw r0, [r1+%d]\nout:\nexit\n", c, known, off);
    snprintf(what, sizeof what, "word at %d, flen <= len - 2 - %d, len >= %d", off, c, known);
    bool in = off == 2 + c && known >= 2 + c;
    int faults = check_text(text, what, in ? 1 : 0);
    CHECK(faults < 0 || (in ? faults == 0 : faults > 0), "%s: %d runs faulted", what, faults);
}

/* test_rel's frame loop with an inner loop between the compare and the
 * word: the inner loop's head joins the outer loop's first trip (off = 0,
 * the frame's start is r1 itself) with the later ones (r1 + off), as the
 * checksum loop of the bench's packet program does. The word at the
 * frame's start + 2 is proven, one byte further is not. */
static void rel_inner(int off)
{
    char text[512], what[64];
    snprintf(text, sizeof text,
             "mov64 r0, 0\nmov64 r6, 0\njlt r2, 2, out\n"
             "loop:\nmov64 r8, r6\nmov64 r9, r1\nadd64 r9, r8\nldxh r5, [r9+0]\nand64 r5, 7\n"
             "or64 r5, 4\nmov64 r7, r2\nadd64 r7, -2\nsub64 r7, r8\njlt r7, r5, out\n"
             "mov64 r3, 0\ninner:\nadd64 r3, 1\njlt r3, 3, inner\n"
             "ldxw r3, [r9+%d]\nadd64 r0, r3\n"
             "add64 r5, 5\nand64 r5, 0x1c\nadd64 r6, r5\nmov64 r4, r6\nor64 r4, 2\n"
             "jle r4, r2, loop\nout:\nexit\n", off);
    snprintf(what, sizeof what, "word at frame + %d after an inner loop", off);
    int faults = check_text(text, what, off == 2 ? 1 : 0);
    CHECK(faults < 0 || (off == 2 ? faults == 0 : faults > 0), "%s: %d runs faulted", what,
          faults);
}

static void test_rel(void)
{
    for (int c = 0; c < RL_COUNT; c++)
        rel_case(c);
    rel_direct(2);
    rel_direct(3);
    rel_first(2, 0, 2);
    rel_first(2, 0, 3);
    rel_first(3, 1, 3);
    rel_first(3, 1, 4);
    rel_first(2, 1, 3);
    rel_inner(2);
    rel_inner(3);
}

/* Bench programs (<build>/bench/NAME.bpf.o and v1/) whose checks the
 * analysis removes: packet, 9 of its 15 input accesses proven, so 6 keep
 * their check (two compares each on x86-64); matmul, 2 of 4 (the store to
 * c[i * 16 + j], its counter i kept in the frame across the inner loop, and
 * the hash loop's load, its counter stepping by 4), the inner loop's loads
 * through pointers stepped by 64 keep theirs; histogram, 259 of 261 (its
 * counters at mem + (len - 1024)), the summary loop's two loads keep theirs.
 * The interpreter and the checked JIT agree on every length. */
static void test_bench_objects(const char *argv0)
{
    static const struct {
        const char *name;
        size_t checks;
    } want[] = { { "packet", 12 }, { "matmul", 4 }, { "histogram", 4 } };
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
        for (int v1 = 0; v1 < 2; v1++) {
            char path[600], name[32];
            snprintf(name, sizeof(name), "%s%s", v1 ? "v1/" : "", want[k].name);
            bpfvm_vm *vm = bench_object(argv0, name, path, sizeof(path));
            if (!vm)
                continue;
#if defined(__x86_64__)
            CHECK(mem_checks(vm) == want[k].checks, "%s: %zu memory checks, expected %zu", path,
                  mem_checks(vm), want[k].checks);
#endif
            outcome want_o, got;
            for (size_t n = 0; n <= MEM; n++)
                for (unsigned seed = 0; seed < 3; seed++) {
                    run(vm, false, n, seed, &want_o);
                    run(vm, true, n, seed, &got);
                    CHECK(same(&want_o, &got), "%s, len %zu: the interpreter and the JIT differ",
                          path, n);
                }
            bpfvm_destroy(vm);
        }
}

int main(int argc, char **argv)
{
    (void)argc;
    test_parser();
    test_join();
    test_len();
    test_call();
    test_modes();
    test_tail_call();
    test_spill();
    test_index();
    test_end_minus();
    test_rel();
    test_bench_objects(argv[0]);
    return TEST_END();
}
