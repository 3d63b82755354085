/* test_map_inline.c - bpf_map_lookup_elem on array maps, which both JIT
 * backends inline (a bounds check and an add): every engine (interpreter and
 * JIT, checked and unchecked, with and without blinding) gives the same r0
 * and r1..r5 after the call, the same memory, and the same fault at the
 * same instruction for a bad key pointer; the budget counts the call as one
 * instruction; replacing helper 1 after compiling drops inlined code. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define MEM_LEN 64

typedef struct outcome {
    int rc;
    int64_t insn;
    char msg[320];
    uint64_t r0;
    uint8_t mem[MEM_LEN];
} outcome;

static outcome run(bpfvm_vm *vm, int jit, const uint8_t *init)
{
    outcome o;
    bpfvm_error err;
    memset(&o, 0, sizeof(o));
    memset(&err, 0, sizeof(err));
    memcpy(o.mem, init, MEM_LEN);
    o.rc = (jit ? bpfvm_run_jit : bpfvm_run)(vm, o.mem, MEM_LEN, NULL, 0, &o.r0, &err);
    o.insn = o.rc ? err.insn : -1;
    if (o.rc)
        memcpy(o.msg, err.message, sizeof(o.msg));
    return o;
}

/* The message without hex numbers (stack addresses differ between engines). */
static void strip_hex(const char *in, char *out)
{
    while (*in) {
        if (in[0] == '0' && in[1] == 'x') {
            *out++ = '#';
            for (in += 2; isxdigit((unsigned char)*in); in++)
                ;
        } else {
            *out++ = *in++;
        }
    }
    *out = 0;
}

static int same(const outcome *a, const outcome *b)
{
    char ma[320], mb[320];
    strip_hex(a->msg, ma);
    strip_hex(b->msg, mb);
    return a->rc == b->rc && a->insn == b->insn && strcmp(ma, mb) == 0 &&
           a->r0 == b->r0 && memcmp(a->mem, b->mem, MEM_LEN) == 0;
}

/* The loaded program in the interpreter and the JIT (plain and blinded),
 * checked or not: all equal; returns the interpreter's outcome. */
static outcome run_all(bpfvm_vm *vm, const uint8_t *init, int checked, const char *what)
{
    bpfvm_set_checked(vm, checked);
    outcome in = run(vm, 0, init);
    for (unsigned flags = 0; flags <= BPFVM_JIT_BLIND; flags++) {
        int rc = bpfvm_compile(vm, flags);
        CHECK(rc == 0, "%s: compile: %s", what, bpfvm_last_error(vm)->message);
        outcome jt = run(vm, 1, init);
        CHECK(same(&in, &jt), "%s (checked %d, flags %u): interpreter rc %d insn %lld r0 %#llx "
              "'%s', jit rc %d insn %lld r0 %#llx '%s'", what, checked, flags, in.rc,
              (long long)in.insn, (unsigned long long)in.r0, in.msg, jt.rc, (long long)jt.insn,
              (unsigned long long)jt.r0, jt.msg);
    }
    return in;
}

enum key_at { KEY_FRAME, KEY_MEM, KEY_NULL, KEY_BAD, KEY_VALUE };

/* r6 = mem; key = mem[0] stored at r10 - 4; r1 = map; r2 = the key (in
 * the frame: r10 + off)
 * pointer (also in r9); r3..r5 = 3..5; call 1 (slot CALL_AT); mem[8..48) =
 * r1, r2 ^ r9, r3, r4, r5; r0 = the lookup's result. `split`: a jump lands between the
 * lddw and the call (the JIT then cannot know r1). */
#define CALL_AT 12
static int load(bpfvm_vm *vm, bpfvm_map *m, enum key_at at, int32_t off, int split)
{
    bpfvm_insn key[2] = { BPFVM_MOV64_REG(2, 10), BPFVM_ALU64_IMM(BPFVM_ADD, 2, off) };
    switch (at) {
    case KEY_FRAME: break;
    case KEY_MEM: key[0] = BPFVM_MOV64_REG(2, 6); key[1] = BPFVM_MOV64_REG(2, 2); break;
    case KEY_NULL: key[0] = BPFVM_MOV64_IMM(2, 0); key[1] = BPFVM_MOV64_REG(2, 2); break;
    case KEY_BAD: key[0] = BPFVM_MOV64_IMM(2, 64); key[1] = BPFVM_MOV64_REG(2, 2); break;
    case KEY_VALUE: { /* the key is the first 4 bytes of element 0's value */
        bpfvm_insn v[2] = { BPFVM_LD_MAP_VALUE(2, 0, 0) };
        memcpy(key, v, sizeof(key));
        break;
    }
    }
    const bpfvm_insn prog[] = {
        BPFVM_MOV64_REG(6, 1),
        BPFVM_LDX_MEM(BPFVM_W, 7, 6, 0),
        BPFVM_STX_MEM(BPFVM_W, 10, 7, -4),
        BPFVM_LD_MAP_FD(1, 0),
        split ? BPFVM_JA_OFF(0) : BPFVM_MOV64_REG(3, 3),
        key[0],
        key[1],
        BPFVM_MOV64_REG(9, 2),
        BPFVM_MOV64_IMM(3, 3),
        BPFVM_MOV64_IMM(4, 4),
        BPFVM_MOV64_IMM(5, 5),
        BPFVM_CALL_HELPER(1),                      /* slot 12 */
        BPFVM_STX_MEM(BPFVM_DW, 6, 1, 8),
        BPFVM_MOV64_REG(8, 2),
        BPFVM_ALU64_REG(BPFVM_XOR, 8, 9),
        BPFVM_STX_MEM(BPFVM_DW, 6, 8, 16),
        BPFVM_STX_MEM(BPFVM_DW, 6, 3, 24),
        BPFVM_STX_MEM(BPFVM_DW, 6, 4, 32),
        BPFVM_STX_MEM(BPFVM_DW, 6, 5, 40),
        BPFVM_EXIT(),
    };
    return bpfvm_load_maps(vm, prog, sizeof(prog), &m, 1);
}

/* The built-in verifier refuses reads of r1..r5 after a call (as the
 * kernel's): these VMs replace it, and the engines must agree anyway. */
static bpfvm_vm *new_vm(void)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_register_kernel_helpers(vm);
    bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
    return vm;
}

static bpfvm_map *make(uint32_t type, uint32_t value_size, uint32_t max, uint32_t flags)
{
    bpfvm_map_def d = { type, 4, value_size, max, flags };
    bpfvm_map *m = NULL;
    CHECK(bpfvm_map_create(&d, "a", &m, NULL) == 0, "create");
    return m;
}

/* Hits at 0 and max - 1, misses at max, max + 1, 2^31 and 2^32 - 1, for
 * strides that are powers of two and not, through a key in the frame, in
 * the input memory and in a map value, with r1 known or not. */
static void test_results(void)
{
    static const uint32_t shapes[][2] = { { 8, 1 }, { 4, 3 }, { 12, 200 }, { 24, 5 },
                                          { 1, 130 }, { 100, 1000 } };
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        uint32_t vs = shapes[s][0], max = shapes[s][1], stride = (vs + 7) & ~7u;
        bpfvm_map *m = make(BPFVM_MAP_ARRAY, vs, max, 0);
        uint64_t values = bpfvm_map_values_address(m);
        const uint32_t keys[] = { 0, max - 1, max, max + 1, 0x80000000u, 0xffffffffu };
        bpfvm_vm *vm = new_vm();
        static const enum key_at ats[] = { KEY_FRAME, KEY_MEM, KEY_VALUE };
        for (size_t a = 0; a < sizeof(ats) / sizeof(ats[0]); a++) {
            enum key_at at = ats[a];
            for (int split = 0; split < 2; split++) {
                CHECK(load(vm, m, at, -4, split) == 0, "load: %s",
                      bpfvm_last_error(vm)->message);
                for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                    uint8_t mem[MEM_LEN] = { 0 };
                    uint32_t key = keys[k];
                    memcpy(mem, &key, 4);
                    /* element 0 holds the key; a value shorter than the key
                     * cannot: the helper refuses the pointer (checked) */
                    int short_key = at == KEY_VALUE && vs < 4;
                    if (at == KEY_VALUE) {
                        uint8_t value[128] = { 0 };
                        memcpy(value, &key, 4);
                        CHECK(bpfvm_map_update(m, &(uint32_t){ 0 }, value, 0) == 0, "set key");
                    }
                    uint64_t want = key < max ? values + (uint64_t)key * stride : 0;
                    for (int checked = 0; checked < 2; checked++) {
                        outcome o = run_all(vm, mem, checked, "lookup");
                        if (short_key && checked) {
                            CHECK(o.rc == BPFVM_EHELPERFAIL && o.insn == CALL_AT,
                                  "key in a %u-byte value: rc %d at %lld", vs, o.rc,
                                  (long long)o.insn);
                            continue;
                        }
                        if (short_key) /* unchecked: the key's 4 bytes, past the value */
                            continue;
                        uint64_t r1, r2, r3;
                        memcpy(&r1, o.mem + 8, 8);
                        memcpy(&r2, o.mem + 16, 8);
                        memcpy(&r3, o.mem + 24, 8);
                        CHECK(o.rc == 0 && o.r0 == want && r1 == (uintptr_t)m && r2 == 0 &&
                                  r3 == 3,
                              "value %u max %u key %#x at %d: rc %d r0 %#llx, want %#llx", vs,
                              max, key, at, o.rc, (unsigned long long)o.r0,
                              (unsigned long long)want);
                    }
                }
            }
        }
        bpfvm_destroy(vm);
        bpfvm_map_unref(m);
    }
}

/* Bad key pointers fault at the call, as the helper does, in every engine:
 * NULL also unchecked; checked also an unreadable address and a key that
 * runs past the top of the frame. */
static void test_bad_keys(void)
{
    bpfvm_map *m = make(BPFVM_MAP_ARRAY, 8, 4, 0);
    bpfvm_vm *vm = new_vm();
    uint8_t mem[MEM_LEN] = { 0 };
    static const struct { enum key_at at; int32_t off; int checked; const char *msg; } cases[] = {
        { KEY_NULL, 0, 1, "key [0x0, +4) is not readable" },
        { KEY_NULL, 0, 0, "key [0x0, +4) is not readable" },
        { KEY_BAD, 0, 1, "key [0x40, +4) is not readable" },
        { KEY_FRAME, -2, 1, "is not readable" },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        CHECK(load(vm, m, cases[c].at, cases[c].off, 0) == 0, "load");
        outcome o = run_all(vm, mem, cases[c].checked, "bad key");
        CHECK(o.rc == BPFVM_EHELPERFAIL && o.insn == CALL_AT && strstr(o.msg, cases[c].msg),
              "case %zu: rc %d insn %lld %s", c, o.rc, (long long)o.insn, o.msg);
    }
    bpfvm_destroy(vm);
    bpfvm_map_unref(m);
}

/* Keys at the edges of the frame (512 bytes), checked: inside it the JIT
 * reads the key itself, past either end it makes the helper call; the
 * engines agree on every one. */
static void test_frame_edges(void)
{
    bpfvm_map *m = make(BPFVM_MAP_ARRAY, 8, 4, 0);
    bpfvm_vm *vm = new_vm();
    uint8_t mem[MEM_LEN] = { 1 };
    static const int32_t offs[] = { -512, -511, -508, -8, -5, -4, -3, -1, 0, -513, -514, -516 };
    for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
        int32_t off = offs[k];
        CHECK(load(vm, m, KEY_FRAME, off, 0) == 0, "load");
        outcome o = run_all(vm, mem, 1, "frame edge");
        if (off >= -512 && off <= -4)
            CHECK(o.rc == 0, "key at r10%+d: rc %d %s", off, o.rc, o.msg);
        else if (off > -4)
            CHECK(o.rc == BPFVM_EHELPERFAIL && o.insn == CALL_AT, "key at r10%+d: rc %d", off,
                  o.rc);
    }
    bpfvm_destroy(vm);
    bpfvm_map_unref(m);
}

/* Every budget from 1 to past the end: the same error at the same
 * instruction (or the same result) in both engines. */
static void test_budget(void)
{
    bpfvm_map *m = make(BPFVM_MAP_ARRAY, 8, 4, 0);
    bpfvm_vm *vm = new_vm();
    uint8_t mem[MEM_LEN] = { 2 };
    CHECK(load(vm, m, KEY_FRAME, -4, 0) == 0, "load");
    int ended = 0, at_call = 0;
    for (uint64_t b = 1; b <= 20; b++) {
        bpfvm_set_budget(vm, b);
        outcome o = run_all(vm, mem, 1, "budget");
        ended += o.rc == 0;
        at_call += o.rc == BPFVM_EBUDGET && o.insn == CALL_AT;
    }
    /* slots 0..12 are one block (12 instructions), checked at the call */
    CHECK(ended == 9 && at_call == 11, "budgets: %d ended, %d stopped at the call", ended, at_call);
    bpfvm_destroy(vm);
    bpfvm_map_unref(m);
}

/* Values of a read-only array are read through the inlined pointer and
 * not written; per-CPU arrays (never inlined) give this CPU's slot. */
static void test_flags_and_percpu(void)
{
    bpfvm_map *ro = make(BPFVM_MAP_ARRAY, 8, 4, BPFVM_F_RDONLY_PROG);
    bpfvm_map *pc = make(BPFVM_MAP_PERCPU_ARRAY, 8, 4, 0);
    const bpfvm_insn prog[] = {
        BPFVM_ST_MEM(BPFVM_W, 10, -4, 1),
        BPFVM_LD_MAP_FD(1, 0),
        BPFVM_MOV64_REG(2, 10),
        BPFVM_ALU64_IMM(BPFVM_ADD, 2, -4),
        BPFVM_CALL_HELPER(1),
        BPFVM_JMP_IMM(BPFVM_JEQ, 0, 0, 2),
        BPFVM_LDX_MEM(BPFVM_DW, 6, 0, 0),
        BPFVM_STX_MEM(BPFVM_DW, 0, 6, 0),          /* slot 8 */
        BPFVM_MOV64_REG(0, 6),
        BPFVM_EXIT(),
    };
    uint64_t v = 41, all[1024] = { 0 };
    CHECK(bpfvm_map_update(ro, &(uint32_t){ 1 }, &v, 0) == 0, "update ro");
    bpfvm_vm *vm = new_vm();
    CHECK(bpfvm_load_maps(vm, prog, sizeof(prog), &ro, 1) == 0, "load ro");
    uint8_t mem[MEM_LEN] = { 0 };
    outcome o = run_all(vm, mem, 1, "read-only");
    CHECK(o.rc == BPFVM_EMEMORY && o.insn == 8, "read-only store: rc %d insn %lld", o.rc,
          (long long)o.insn);
    unsigned n = bpfvm_num_possible_cpus();
    CHECK(n <= 1024, "cpus");
    for (unsigned c = 0; c < n && c < 1024; c++)
        all[c] = 100 + c;
    CHECK(bpfvm_map_update(pc, &(uint32_t){ 1 }, all, 0) == 0, "update percpu");
    CHECK(bpfvm_load_maps(vm, prog, sizeof(prog), &pc, 1) == 0, "load percpu");
    bpfvm_set_cpu(vm, (int)n - 1);
    o = run_all(vm, mem, 1, "percpu");
    CHECK(o.rc == 0 && o.r0 == 100 + n - 1, "percpu: rc %d r0 %llu", o.rc,
          (unsigned long long)o.r0);
    bpfvm_destroy(vm);
    bpfvm_map_unref(ro);
    bpfvm_map_unref(pc);
}

static uint64_t other_lookup(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                             uint64_t e)
{
    (void)ctx, (void)a, (void)b, (void)c, (void)d, (void)e;
    return 7;
}

/* Helper 1 replaced after compiling: code that inlined the kernel's lookup
 * is dropped (the run asks to compile again); compiled again, the new
 * helper runs. Re-registering the kernel's own keeps the code. */
static void test_replaced_helper(void)
{
    bpfvm_map *m = make(BPFVM_MAP_ARRAY, 8, 4, 0);
    bpfvm_vm *vm = new_vm();
    uint8_t mem[MEM_LEN] = { 0 };
    uint64_t r0;
    CHECK(load(vm, m, KEY_FRAME, -4, 0) == 0 && bpfvm_compile(vm, 0) == 0, "load");
    bpfvm_register_kernel_helpers(vm);
    CHECK(bpfvm_run_jit(vm, mem, MEM_LEN, NULL, 0, &r0, NULL) == 0 &&
              r0 == bpfvm_map_values_address(m), "kernel helpers again: code kept");
    bpfvm_register_helper(vm, 1, "other", other_lookup, NULL);
    int rc = bpfvm_run_jit(vm, mem, MEM_LEN, NULL, 0, &r0, NULL);
    CHECK(rc == BPFVM_ENOJIT, "replaced helper: inlined code dropped (%d)", rc);
    CHECK(bpfvm_compile(vm, 0) == 0 && bpfvm_run_jit(vm, mem, MEM_LEN, NULL, 0, &r0, NULL) == 0 &&
              r0 == 7, "compiled again: the new helper runs (r0 %llu)", (unsigned long long)r0);
    bpfvm_destroy(vm);
    bpfvm_map_unref(m);
}

int main(void)
{
    test_results();
    test_bad_keys();
    test_frame_edges();
    test_budget();
    test_flags_and_percpu();
    test_replaced_helper();
    return TEST_END();
}
