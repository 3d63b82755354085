/* test_callbacks.c - bpf_loop (181) and bpf_for_each_map_elem (164):
 * callbacks named by `lddw rX, func` (src 4), run by every engine - the
 * interpreter, the traced interpreter, the JIT checked and unchecked - with
 * the same r0, the same map contents afterwards, and the same faults at the
 * same instruction: early stops, zero iterations, bad flags, too many
 * loops, faults and budget exhaustion inside callbacks, the call-depth
 * limit with nested loops, walks over arrays, hash maps and per-CPU arrays
 * writing values and deleting elements; and the loader's and verifier's
 * errors for bad callback references. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

enum { E_INTERP, E_TRACED, E_JIT, E_JIT_UNCHECKED, NENGINES };
static const char *const engine_name[NENGINES] = { "interpreter", "traced", "jit",
                                                   "jit unchecked" };

/* lddw rX, MAP_MARK + k in a case's text is map k of the case (src 1) */
#define MAP_MARK 0x4d415000u

typedef struct tcase {
    const char *name, *text;
    bpfvm_map_def maps[2];  /* type 0: none */
    uint64_t budget;        /* 0: none */
    unsigned depth;         /* call depth limit; 0: the default */
    int rc;                 /* expected */
    uint64_t r0;            /* expected when rc == 0 */
    int64_t insn;           /* expected fault instruction when rc != 0 */
    const char *msg;        /* expected in the error message (may be NULL) */
} tcase;

typedef struct outcome {
    int rc;
    uint64_t r0;
    bpfvm_error err;
    unsigned max_depth;     /* traced runs: deepest call depth seen */
    uint8_t dump[2][256];   /* each map's values afterwards (lookup of keys 0..7) */
} outcome;

static int trace_hook(void *user, const bpfvm_trace_state *s)
{
    outcome *o = user;
    if (s->insn != BPFVM_TRACE_END && s->depth > o->max_depth)
        o->max_depth = s->depth;
    return 0;
}

/* Fill a hash map with keys 1..5 (value 10 * key); arrays start zeroed. */
static void fill(bpfvm_map *m, const bpfvm_map_def *d)
{
    if (d->type != BPFVM_MAP_HASH)
        return;
    for (uint32_t k = 1; k <= 5; k++) {
        uint64_t v = 10 * k;
        bpfvm_map_update(m, &k, &v, BPFVM_ANY);
    }
}

/* Keys 0..7 of a map: 8 bytes each (the first value slot), 0xee if absent. */
static void dump(bpfvm_map *m, uint8_t *out)
{
    for (uint32_t k = 0; k < 8; k++) {
        uint8_t v[8 * 256];
        memset(out + 8 * k, 0xee, 8);
        if (bpfvm_map_lookup(m, &k, v) == 0)
            memcpy(out + 8 * k, v, 8);
    }
}

static void run_case(const tcase *c, int engine, outcome *o)
{
    bpfvm_insn *insns = NULL;
    size_t count = 0;
    bpfvm_map *maps[2] = { NULL, NULL };
    size_t nmaps = 0;
    bpfvm_vm *vm = bpfvm_create();
    memset(o, 0, sizeof(*o));
    o->rc = vm ? bpfvm_asm(c->text, c->name, &insns, &count, &o->err) : BPFVM_ENOMEM;
    for (size_t i = 0; i < 2 && c->maps[i].type && !o->rc; i++, nmaps++)
        if ((o->rc = bpfvm_map_create(&c->maps[i], "m", &maps[i], &o->err)) == 0)
            fill(maps[i], &c->maps[i]);
    for (size_t i = 0; i + 1 < count; i++)
        if (insns[i].opcode == (BPFVM_LD | BPFVM_IMM | BPFVM_DW) &&
            ((uint32_t)insns[i].imm & ~0xffu) == MAP_MARK) {
            insns[i].src = 1;
            insns[i].imm &= 0xff;
        }
    if (!o->rc)
        o->rc = bpfvm_register_kernel_helpers(vm);
    if (!o->rc && c->budget)
        o->rc = bpfvm_set_budget(vm, c->budget);
    if (!o->rc && c->depth)
        o->rc = bpfvm_set_call_depth(vm, c->depth);
    if (!o->rc && engine == E_JIT_UNCHECKED)
        o->rc = bpfvm_set_checked(vm, 0);
    if (!o->rc)
        o->rc = bpfvm_set_cpu(vm, 0);
    if (!o->rc)
        o->rc = bpfvm_load_maps(vm, insns, count * sizeof(*insns), maps, nmaps);
    for (size_t i = 0; i < nmaps && !o->rc; i++) /* program arrays: the program itself */
        if (c->maps[i].type == BPFVM_MAP_PROG_ARRAY)
            o->rc = bpfvm_prog_array_set(maps[i], 0, vm);
    if (!o->rc && engine >= E_JIT)
        o->rc = bpfvm_compile(vm, 0);
    if (o->rc) {
        if (vm)
            o->err = *bpfvm_last_error(vm);
    } else if (engine == E_INTERP) {
        o->rc = bpfvm_run(vm, NULL, 0, NULL, 0, &o->r0, &o->err);
    } else if (engine == E_TRACED) {
        o->rc = bpfvm_run_traced(vm, NULL, 0, NULL, 0, trace_hook, o, &o->r0, &o->err);
    } else {
        o->rc = bpfvm_run_jit(vm, NULL, 0, NULL, 0, &o->r0, &o->err);
    }
    for (size_t i = 0; i < nmaps; i++) {
        dump(maps[i], o->dump[i]);
        bpfvm_map_unref(maps[i]);
    }
    bpfvm_destroy(vm);
    free(insns);
}

/* The same message, but for host addresses (each engine's run has its
 * stack elsewhere): up to the first "0x". */
static int same_message(const char *a, const char *b)
{
    const char *x = strstr(a, "0x");
    size_t n = x ? (size_t)(x - a) : strlen(a) + 1;
    return strncmp(a, b, n) == 0;
}

static void check_case(const tcase *c)
{
    outcome o[NENGINES];
    for (int e = 0; e < NENGINES; e++) {
        /* unchecked code would do the bad access itself */
        if (e == E_JIT_UNCHECKED && c->rc == BPFVM_EMEMORY) {
            o[e] = o[E_INTERP];
            continue;
        }
        run_case(c, e, &o[e]);
        if (c->rc == 0)
            CHECK(o[e].rc == 0 && o[e].r0 == c->r0, "%s, %s: rc %d (%s), r0 0x%llx, expected "
                  "0x%llx", c->name, engine_name[e], o[e].rc, o[e].err.message,
                  (unsigned long long)o[e].r0, (unsigned long long)c->r0);
        else
            CHECK(o[e].rc == c->rc && o[e].err.insn == c->insn &&
                      (!c->msg || strstr(o[e].err.message, c->msg)),
                  "%s, %s: rc %d at %lld (%s), expected %d at %lld", c->name, engine_name[e],
                  o[e].rc, (long long)o[e].err.insn, o[e].err.message, c->rc,
                  (long long)c->insn);
        CHECK(memcmp(o[e].dump, o[E_INTERP].dump, sizeof(o[e].dump)) == 0 &&
                  same_message(o[e].err.message, o[E_INTERP].err.message),
              "%s, %s: maps or message differ from the interpreter's (%s / %s)", c->name,
              engine_name[e], o[e].err.message, o[E_INTERP].err.message);
    }
}

/* The main function stores a counter at r10-8 and passes its address. */
#define LOOP_MAIN(NR, FLAGS)                                                              \
    "    mov r6, 0\n"                                                                     \
    "    stxdw [r10-8], r6\n"                                                             \
    "    lddw r1, " NR "\n"                                                               \
    "    lddw r2, func cb\n"                                                              \
    "    mov r3, r10\n"                                                                   \
    "    add r3, -8\n"                                                                    \
    "    mov r4, " FLAGS "\n"                                                             \
    "    call 181\n"                                                                      \
    "    ldxdw r1, [r10-8]\n"                                                             \
    "    lsh r0, 32\n"                                                                    \
    "    or r0, r1\n"                                                                     \
    "    exit\n"

/* cb(i, ctx): *ctx += i; stop (return 1) at i == 6 */
#define SUM_CB                                                                            \
    "cb:\n"                                                                               \
    "    ldxdw r3, [r2]\n"                                                                \
    "    add r3, r1\n"                                                                    \
    "    stxdw [r2], r3\n"                                                                \
    "    mov r0, 0\n"                                                                     \
    "    jne r1, 6, +1\n"                                                                 \
    "    mov r0, 1\n"                                                                     \
    "    exit\n"

#define BUDGET_AFTER                                                                      \
    "    mov r6, 0\n"                                                                     \
    "    stxdw [r10-8], r6\n"                                                             \
    "    lddw r1, 5\n"                                                                    \
    "    lddw r2, func cb\n"                                                              \
    "    mov r3, r10\n"                                                                   \
    "    add r3, -8\n"                                                                    \
    "    mov r4, 0\n"                                                                     \
    "    call 181\n"                                                                      \
    "    mov r0, 0\n"                                                                     \
    "loop:\n"                                                                             \
    "    add r0, 1\n"                                                                     \
    "    jlt r0, 10, loop\n"                                                              \
    "    exit\n"

static const tcase loop_cases[] = {
    { "early stop", LOOP_MAIN("10", "0") SUM_CB, { { 0 } }, 0, 0, 0, 7ull << 32 | 21, 0, NULL },
    { "no stop", LOOP_MAIN("5", "0") SUM_CB, { { 0 } }, 0, 0, 0, 5ull << 32 | 10, 0, NULL },
    { "zero loops", LOOP_MAIN("0", "0") SUM_CB, { { 0 } }, 0, 0, 0, 0, 0, NULL },
    { "flags", LOOP_MAIN("10", "1") SUM_CB, { { 0 } }, 0, 0, 0,
      (uint64_t)(uint32_t)-EINVAL << 32, 0, NULL },
    { "too many loops", LOOP_MAIN("0x800001", "0") SUM_CB, { { 0 } }, 0, 0, 0,
      (uint64_t)(uint32_t)-E2BIG << 32, 0, NULL },
    /* nr_loops is a u32: the upper half is not looked at */
    { "u32 count", LOOP_MAIN("0x700000003", "0") SUM_CB, { { 0 } }, 0, 0, 0, 3ull << 32 | 3, 0,
      NULL },
    /* budget: main runs 8 instructions to the call (counted), then each
     * callback 7 (6 when it does not stop); exhausted before a callback ->
     * at the call; inside a callback's loop -> at its back edge */
    { "budget before a callback", LOOP_MAIN("100", "0") SUM_CB, { { 0 } }, 8 + 6 * 3, 0,
      BPFVM_EBUDGET, 0, 9, "budget of 26" },
    { "budget just enough", LOOP_MAIN("5", "0") SUM_CB, { { 0 } }, 8 + 6 * 5 + 4, 0, 0,
      5ull << 32 | 10, 0, NULL },
    /* the callbacks' instructions count in the caller's budget: main's loop
     * after the call checks it (8 + 5 * 6 + 1 + 2 * 9 = 57 at its last
     * back edge) */
    { "budget after callbacks", BUDGET_AFTER SUM_CB, { { 0 } }, 56, 0, BPFVM_EBUDGET, 0, 12,
      "budget of 56" },
    { "budget after callbacks, enough", BUDGET_AFTER SUM_CB, { { 0 } }, 57, 0, 0, 10, 0, NULL },
    { "budget inside a callback",
      LOOP_MAIN("3", "0")
      "cb:\n"
      "    mov r0, 0\n"
      "loop:\n"
      "    add r0, 1\n"
      "    jlt r0, 20, loop\n"
      "    mov r0, 0\n"
      "    exit\n",
      { { 0 } }, 60, 0, BPFVM_EBUDGET, 0, 16, "budget of 60" },
    { "fault inside a callback",
      LOOP_MAIN("3", "0")
      "cb:\n"
      "    mov r0, 0\n"
      "    jne r1, 2, +1\n"
      "    ldxdw r0, [r2+4096]\n"
      "    exit\n",
      { { 0 } }, 0, 0, BPFVM_EMEMORY, 0, 16, "out-of-bounds read" },
    { "helper failure inside a callback",
      LOOP_MAIN("3", "0")
      "cb:\n"
      "    mov r1, 0\n"
      "    call 1\n"
      "    mov r0, 0\n"
      "    exit\n",
      { { 0 } }, 0, 0, BPFVM_EHELPERFAIL, 0, 15, "bpf_map_lookup_elem" },
    /* callbacks see the caller's frame (through ctx) and have their own:
     * r10 differs, and a store to their frame does not reach the caller's */
    { "own frame",
      LOOP_MAIN("2", "0")
      "cb:\n"
      "    stxdw [r10-8], r1\n"
      "    mov r3, r10\n"
      "    sub r3, r2\n"
      "    ldxdw r4, [r2]\n"
      "    add r4, r3\n"
      "    stxdw [r2], r4\n"
      "    mov r0, 0\n"
      "    exit\n",
      { { 0 } }, 0, 0, 0, 2ull << 32 | 2 * 520, 0, NULL },
    /* the kernel's verifier refuses tail calls in callbacks; bpfvm stops the run */
    { "tail call inside a callback",
      LOOP_MAIN("2", "0")
      "cb:\n"
      "    lddw r2, 0x4d415000\n"
      "    mov r3, 0\n"
      "    call 12\n"
      "    mov r0, 0\n"
      "    exit\n",
      { { BPFVM_MAP_PROG_ARRAY, 4, 4, 1, 0 } }, 0, 0, BPFVM_EHELPERFAIL, 0, 17,
      "bpf_tail_call inside a callback" },
    /* r2 that is not a function of the program */
    { "not a function",
      "    mov r1, 1\n"
      "    mov r2, 3\n"
      "    mov r3, 0\n"
      "    mov r4, 0\n"
      "    call 181\n"
      "    exit\n",
      { { 0 } }, 0, 0, BPFVM_EHELPERFAIL, 0, 4, "is not a function of the program" },
    /* a function pointer is no memory */
    { "function as memory",
      "    lddw r2, func cb\n"
      "    ldxdw r0, [r2]\n"
      "    exit\n"
      "cb:\n"
      "    mov r0, 0\n"
      "    exit\n",
      { { 0 } }, 0, 0, BPFVM_EMEMORY, 0, 2, "out-of-bounds read" },
};

/* A nested callback gets its ctx from its parent's frame: the parent keeps
 * ctx at its own r10-8 before calling. */
#define NESTED_CTX(LEVELS)                                                                \
    LOOP_MAIN("1", "0")                                                                   \
    "cb:\n"                                                                               \
    "    stxdw [r10-8], r2\n"                                                             \
    "    ldxdw r3, [r2]\n"                                                                \
    "    add r3, 1\n"                                                                     \
    "    stxdw [r2], r3\n"                                                                \
    "    mov r0, 0\n"                                                                     \
    "    jge r3, " LEVELS ", done\n"                                                      \
    "    mov r1, 1\n"                                                                     \
    "    lddw r2, func cb\n"                                                              \
    "    ldxdw r3, [r10-8]\n"                                                             \
    "    mov r4, 0\n"                                                                     \
    "    call 181\n"                                                                      \
    "    mov r0, 0\n"                                                                     \
    "done:\n"                                                                             \
    "    exit\n"

static const tcase depth_cases[] = {
    /* 8 levels of callbacks: depth 8, the default limit */
    { "nested to the limit", NESTED_CTX("8"), { { 0 } }, 0, 0, 0, 1ull << 32 | 8, 0, NULL },
    { "nested past the limit", NESTED_CTX("9"), { { 0 } }, 0, 0, BPFVM_ECALLDEPTH, 0, 25,
      "call depth limit of 8" },
    { "nested, limit 3", NESTED_CTX("4"), { { 0 } }, 0, 3, BPFVM_ECALLDEPTH, 0, 25,
      "call depth limit of 3" },
    { "nested twice", NESTED_CTX("2"), { { 0 } }, 0, 0, 0, 1ull << 32 | 2, 0,
      NULL },
};

/* for_each: main walks map 0 with cb, ctx = a counter at r10-8 */
#define EACH_MAIN(FLAGS)                                                                  \
    "    mov r6, 0\n"                                                                     \
    "    stxdw [r10-8], r6\n"                                                             \
    "    lddw r1, 0x4d415000\n"                                                           \
    "    lddw r2, func cb\n"                                                              \
    "    mov r3, r10\n"                                                                   \
    "    add r3, -8\n"                                                                    \
    "    mov r4, " FLAGS "\n"                                                             \
    "    call 164\n"                                                                      \
    "    ldxdw r1, [r10-8]\n"                                                             \
    "    lsh r0, 32\n"                                                                    \
    "    or r0, r1\n"                                                                     \
    "    exit\n"

#define ARRAY4 { BPFVM_MAP_ARRAY, 4, 8, 4, 0 }
#define HASH8 { BPFVM_MAP_HASH, 4, 8, 8, 0 }

/* cb(map, key, value, ctx): *value += *key + 1; *ctx += *key; stop after key STOP */
#define EACH_CB(STOP)                                                                     \
    "cb:\n"                                                                               \
    "    ldxw r5, [r2]\n"                                                                 \
    "    ldxdw r0, [r3]\n"                                                                \
    "    add r0, r5\n"                                                                    \
    "    add r0, 1\n"                                                                     \
    "    stxdw [r3], r0\n"                                                                \
    "    ldxdw r0, [r4]\n"                                                                \
    "    add r0, r5\n"                                                                    \
    "    stxdw [r4], r0\n"                                                                \
    "    mov r0, 0\n"                                                                     \
    "    jne r5, " STOP ", +1\n"                                                          \
    "    mov r0, 1\n"                                                                     \
    "    exit\n"

static const tcase each_cases[] = {
    { "array", EACH_MAIN("0") EACH_CB("99"), { ARRAY4 }, 0, 0, 0, 4ull << 32 | 6, 0, NULL },
    { "array, early stop", EACH_MAIN("0") EACH_CB("1"), { ARRAY4 }, 0, 0, 0, 2ull << 32 | 1, 0,
      NULL },
    { "array, flags", EACH_MAIN("2") EACH_CB("99"), { ARRAY4 }, 0, 0, 0,
      (uint64_t)(uint32_t)-EINVAL << 32, 0, NULL },
    { "percpu array", EACH_MAIN("0") EACH_CB("99"), { { BPFVM_MAP_PERCPU_ARRAY, 4, 8, 4, 0 } },
      0, 0, 0, 4ull << 32 | 6, 0, NULL },
    { "hash", EACH_MAIN("0") EACH_CB("99"), { HASH8 }, 0, 0, 0, 5ull << 32 | 15, 0, NULL },
    /* deleting the element being visited: every element is still visited */
    { "hash, delete",
      EACH_MAIN("0")
      "cb:\n"
      "    ldxdw r0, [r4]\n"
      "    add r0, 1\n"
      "    stxdw [r4], r0\n"
      "    ldxw r5, [r2]\n"
      "    mov r0, 0\n"
      "    jne r5, 3, +2\n"
      "    call 3\n"
      "    mov r0, 0\n"
      "    exit\n",
      { HASH8 }, 0, 0, 0, 5ull << 32 | 5, 0, NULL },
    /* deleting another element: one deleted before its turn is not visited */
    { "hash, delete all",
      EACH_MAIN("0")
      "cb:\n"
      "    stxdw [r10-8], r1\n"
      "    ldxdw r0, [r4]\n"
      "    add r0, 1\n"
      "    stxdw [r4], r0\n"
      "    mov r6, 1\n"
      "loop:\n"
      "    stxw [r10-12], r6\n"
      "    ldxdw r1, [r10-8]\n"
      "    mov r2, r10\n"
      "    add r2, -12\n"
      "    call 3\n"
      "    add r6, 1\n"
      "    jle r6, 5, loop\n"
      "    mov r0, 0\n"
      "    exit\n",
      { HASH8 }, 0, 0, 0, 1ull << 32 | 1, 0, NULL },
    { "key is read-only",
      EACH_MAIN("0")
      "cb:\n"
      "    stw [r2], 1\n"
      "    mov r0, 0\n"
      "    exit\n",
      { ARRAY4 }, 0, 0, BPFVM_EMEMORY, 0, 14, "out-of-bounds write of 4 bytes" },
    { "key is 4 bytes",
      EACH_MAIN("0")
      "cb:\n"
      "    ldxdw r0, [r2]\n"
      "    exit\n",
      { ARRAY4 }, 0, 0, BPFVM_EMEMORY, 0, 14, "out-of-bounds read of 8 bytes" },
    { "queue",
      EACH_MAIN("0") EACH_CB("99"), { { BPFVM_MAP_QUEUE, 0, 8, 4, 0 } }, 0, 0,
      BPFVM_EHELPERFAIL, 0, 9, "does not walk" },
};

/* Maps afterwards: values written through the callbacks' pointers. */
static void check_values(void)
{
    static const tcase c = { "values", EACH_MAIN("0") EACH_CB("99"), { HASH8, ARRAY4 }, 0, 0,
                             0, 5ull << 32 | 15, 0, NULL };
    outcome o[2];
    run_case(&c, E_INTERP, &o[0]);
    run_case(&c, E_JIT, &o[1]);
    for (int e = 0; e < 2; e++) {
        uint64_t v[8];
        memcpy(v, o[e].dump[0], sizeof(v));
        /* hash: keys 1..5 hold 10k + k + 1; 0, 6, 7 absent */
        CHECK(o[e].rc == 0 && v[1] == 12 && v[3] == 34 && v[5] == 56 &&
                  v[0] == 0xeeeeeeeeeeeeeeeeull && v[6] == 0xeeeeeeeeeeeeeeeeull,
              "hash values %d: %llu %llu %llu", e, (unsigned long long)v[1],
              (unsigned long long)v[3], (unsigned long long)v[5]);
    }
    static const tcase d = { "delete", each_cases[5].text, { HASH8 }, 0, 0, 0, 0, 0, NULL };
    run_case(&d, E_JIT, &o[0]);
    uint64_t v[8];
    memcpy(v, o[0].dump[0], sizeof(v));
    CHECK(v[3] == 0xeeeeeeeeeeeeeeeeull && v[2] == 20 && v[4] == 40, "key 3 deleted");
}

/* Loading: bad callback references are clean verifier errors. */
static void check_loading(void)
{
    static const struct {
        const char *name;
        bpfvm_insn prog[8];
        size_t n;
        int64_t insn;
        const char *msg;
    } bad[] = {
        { "outside", { BPFVM_LD_FUNC(2, 10), BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT() }, 4, 0,
          "outside the program" },
        { "before", { BPFVM_LD_FUNC(2, -3), BPFVM_MOV64_IMM(0, 0), BPFVM_EXIT() }, 4, 0,
          "outside the program" },
        { "second slot", { BPFVM_LD_FUNC(2, 2), BPFVM_LD_IMM64(0, 0), BPFVM_EXIT() }, 5, 0,
          "second slot of the lddw" },
        { "second imm",
          { BPFVM_INSN(BPFVM_LD | BPFVM_IMM | BPFVM_DW, 2, BPFVM_PSEUDO_FUNC, 0, 1),
            BPFVM_INSN(0, 0, 0, 0, 5), BPFVM_EXIT(), BPFVM_EXIT() }, 4, 0,
          "second slot's imm must be 0" },
        { "middle of a function",
          { BPFVM_LD_FUNC(2, 1), BPFVM_MOV64_IMM(0, 0), BPFVM_MOV64_IMM(0, 1), BPFVM_EXIT() },
          5, 0, "is not the start of a function" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bpfvm_vm *vm = bpfvm_create();
        int rc = bpfvm_load(vm, bad[i].prog, bad[i].n * sizeof(bpfvm_insn));
        const bpfvm_error *e = bpfvm_last_error(vm);
        CHECK(rc == BPFVM_EVERIFY && e->insn == bad[i].insn && strstr(e->message, bad[i].msg),
              "%s: %d at %lld: %s", bad[i].name, rc, (long long)e->insn, e->message);
        /* without the built-in verifier, a target outside still fails */
        if (i < 3) {
            bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
            rc = bpfvm_load(vm, bad[i].prog, bad[i].n * sizeof(bpfvm_insn));
            CHECK(rc == BPFVM_EVERIFY, "%s, verifier replaced: %d", bad[i].name, rc);
        }
        bpfvm_destroy(vm);
    }
    /* the callback is reachable only through the lddw, and gets r1..r5 */
    const char *ok = "lddw r2, func cb\nmov r0, r2\nexit\ncb:\nmov r0, r5\nexit\n";
    bpfvm_vm *vm = bpfvm_create();
    uint64_t r0 = 0;
    CHECK(bpfvm_load_asm(vm, ok, "ok") == 0 && bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 &&
              r0 == 4, "callback as a function: %s, r0 %llu", bpfvm_last_error(vm)->message,
          (unsigned long long)r0);
    /* disassembly names the target and assembles back to the same bytes, in
     * both syntaxes, with and without labels; also for targets outside the
     * program or inside an lddw, and a second slot that is not zero (data) */
    size_t n1 = 0;
    const bpfvm_insn *p = bpfvm_program(vm, &n1);
    const bpfvm_insn odd[] = { BPFVM_LD_FUNC(2, -5), BPFVM_LD_FUNC(3, 7), BPFVM_LD_FUNC(4, -3),
                               BPFVM_LD_FUNC(5, 0), BPFVM_EXIT() };
    bpfvm_insn nonzero[] = { BPFVM_LD_FUNC(2, 1), BPFVM_EXIT() };
    nonzero[1].imm = 1;
    const struct {
        const bpfvm_insn *insns;
        size_t n;
        const char *want; /* in the classic text with labels */
    } progs[] = { { p, n1, "lddw r2, func lbl_4" }, { odd, 9, "lddw r3, func +7" },
                  { nonzero, 3, ".8byte" } };
    static const unsigned flags[] = { 0, BPFVM_DISASM_LLVM, BPFVM_DISASM_LABELS,
                                      BPFVM_DISASM_LLVM | BPFVM_DISASM_LABELS };
    for (size_t k = 0; k < 3; k++)
        for (size_t f = 0; f < 4; f++) {
            char *text = NULL;
            bpfvm_insn *again = NULL;
            size_t n2 = 0;
            bpfvm_error e;
            int rc = bpfvm_disasm(progs[k].insns, progs[k].n, flags[f], &text);
            CHECK(rc == 0 && (flags[f] != BPFVM_DISASM_LABELS || strstr(text, progs[k].want)) &&
                      bpfvm_asm(text, "again", &again, &n2, &e) == 0 && n2 == progs[k].n &&
                      memcmp(again, progs[k].insns, n2 * sizeof(*again)) == 0,
                  "round trip %zu, flags %u: %s\n%s", k, flags[f], e.message, text);
            free(text);
            free(again);
        }
    bpfvm_destroy(vm);
}

static char obj_dir[512];

/* An object of tests/callbacks, or NULL (with its length in *len). */
static uint8_t *read_object(const char *name, size_t *len)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.o", obj_dir, name);
    FILE *f = fopen(path, "rb");
    uint8_t *data = f ? malloc(1 << 16) : NULL;
    *len = data ? fread(data, 1, 1 << 16, f) : 0;
    if (f)
        fclose(f);
    return data;
}

/* The lddw of the callback in midfunc.o (r2 = .text + 0, then r2 += 16). */
static uint8_t *find_lddw(uint8_t *data, size_t len)
{
    static const uint8_t pat[16] = { 0x18, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    for (size_t off = 0; off + 24 <= len; off += 8)
        if (memcmp(data + off, pat, 16) == 0 && data[off + 16] == 0x07)
            return data + off;
    return NULL;
}

/* Objects from clang: callbacks in .text and in the program's section. */
static void check_elf(void)
{
    size_t len = 0;
    uint8_t *data = read_object("loops", &len);
    if (!data) {
        printf("SKIP objects: %s/loops.o not built (no clang)\n", obj_dir);
        return;
    }
    for (int jit = 0; jit < 2; jit++) {
        bpfvm_vm *vm = bpfvm_create();
        uint64_t r0 = 0;
        int rc = bpfvm_register_kernel_helpers(vm);
        if (!rc)
            rc = bpfvm_load_elf(vm, data, len, "prog", "run");
        if (!rc && jit)
            rc = bpfvm_compile(vm, 0);
        if (!rc)
            rc = (jit ? bpfvm_run_jit : bpfvm_run)(vm, NULL, 0, NULL, 0, &r0, NULL);
        /* 20 loops summing 0..19, 10 (stopped at 9) summing squares 0..81 */
        CHECK(rc == 0 && r0 == 20 * 1000000 + 10 * 10000 + 190 * 100 + 285,
              "loops.o (%s): rc %d (%s), r0 %llu", jit ? "jit" : "interpreter", rc,
              bpfvm_last_error(vm)->message, (unsigned long long)r0);
        bpfvm_destroy(vm);
    }
    free(data);

    data = read_object("midfunc", &len);
    uint8_t *ld = data ? find_lddw(data, len) : NULL;
    CHECK(ld != NULL, "midfunc.o and its lddw");
    if (!ld) {
        free(data);
        return;
    }
    /* as compiled: the pointer is moved at run time and names no function */
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_error err;
    uint64_t r0;
    int rc = bpfvm_register_kernel_helpers(vm);
    if (!rc)
        rc = bpfvm_load_elf(vm, data, len, "prog", "run");
    CHECK(rc == 0 && bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == BPFVM_EHELPERFAIL &&
              strstr(err.message, "not a function of the program"),
          "midfunc.o: %d %s / %s", rc, bpfvm_last_error(vm)->message, err.message);
    /* the relocation's addend into the middle of the function, off the
     * instruction grid, past the section */
    static const struct {
        uint8_t addend;
        const char *msg;
    } bad[] = {
        { 16, "not the start of a function" },
        { 4, "which is not an instruction of section .text" },
        { 200, "which is not an instruction of section .text" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ld[4] = bad[i].addend;
        rc = bpfvm_load_elf(vm, data, len, "prog", "run");
        CHECK(rc != 0 && strstr(bpfvm_last_error(vm)->message, bad[i].msg),
              "addend %u: %d %s", bad[i].addend, rc, bpfvm_last_error(vm)->message);
    }
    bpfvm_destroy(vm);
    free(data);
}

/* loops.o with bytes changed at random: every load fails cleanly or gives
 * a program both engines run alike (under a budget). */
static void check_hostile(void)
{
    size_t len = 0;
    uint8_t *orig = read_object("loops", &len), *data = malloc(len ? len : 1);
    uint64_t seed = 0x1234567;
    unsigned loaded = 0;
    for (int round = 0; orig && data && round < 3000; round++) {
        memcpy(data, orig, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            data[(seed >> 33) % len] = (uint8_t)(seed >> 20);
        }
        int rc[2];
        uint64_t r0[2] = { 0, 0 };
        for (int jit = 0; jit < 2; jit++) {
            bpfvm_vm *vm = bpfvm_create();
            rc[jit] = bpfvm_register_kernel_helpers(vm);
            if (!rc[jit])
                rc[jit] = bpfvm_set_budget(vm, 100000);
            if (!rc[jit])
                rc[jit] = bpfvm_load_elf(vm, data, len, "prog", "run");
            loaded += !rc[jit] && !jit;
            if (!rc[jit] && jit)
                rc[jit] = bpfvm_compile(vm, 0);
            if (!rc[jit])
                rc[jit] = (jit ? bpfvm_run_jit : bpfvm_run)(vm, NULL, 0, NULL, 0, &r0[jit], NULL);
            bpfvm_destroy(vm);
        }
        CHECK(rc[0] == rc[1] && r0[0] == r0[1], "corrupted loops.o, round %d: %d/%d %llu/%llu",
              round, rc[0], rc[1], (unsigned long long)r0[0], (unsigned long long)r0[1]);
    }
    if (orig)
        printf("hostile: 3000 corrupted objects, %u loaded\n", loaded);
    free(orig);
    free(data);
}

/* A counting run (profilers) calls its hook where the depth changes: at
 * each callback's first instruction and back in the caller after them. */
typedef struct depth_log {
    size_t insn[16];
    unsigned depth[16], n;
} depth_log;

static int log_depth(void *user, const bpfvm_trace_state *s)
{
    depth_log *l = user;
    if (s->insn != BPFVM_TRACE_END && l->n < 16) {
        l->insn[l->n] = s->insn;
        l->depth[l->n++] = s->depth;
    }
    return 0;
}

static void check_counted(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t counts[32] = { 0 }, r0 = 0;
    depth_log l = { { 0 }, { 0 }, 0 };
    int rc = bpfvm_register_kernel_helpers(vm);
    if (!rc)
        rc = bpfvm_load_asm(vm, LOOP_MAIN("3", "0") SUM_CB, "counted");
    if (!rc)
        rc = bpfvm_run_counted(vm, NULL, 0, NULL, 0, counts, log_depth, &l, &r0, NULL);
    /* entering each of the three callbacks (slot 14, depth 1), then back in
     * main after the call (slot 10, depth 0) */
    CHECK(rc == 0 && r0 == (3ull << 32 | 3) && counts[14] == 3 && counts[10] == 1 &&
              l.n == 4 && l.insn[0] == 14 && l.insn[2] == 14 && l.depth[2] == 1 &&
              l.insn[3] == 10 && l.depth[3] == 0,
          "counted: rc %d, %u hook calls (%zu/%u %zu/%u)", rc, l.n, l.insn[2], l.depth[2],
          l.insn[3], l.depth[3]);
    bpfvm_destroy(vm);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    snprintf(obj_dir, sizeof(obj_dir), "%.*s/../callbacks", slash ? (int)(slash - argv[0]) : 1,
             slash ? argv[0] : ".");
    check_elf();
    for (size_t i = 0; i < sizeof(loop_cases) / sizeof(loop_cases[0]); i++)
        check_case(&loop_cases[i]);
    for (size_t i = 0; i < sizeof(depth_cases) / sizeof(depth_cases[0]); i++)
        check_case(&depth_cases[i]);
    for (size_t i = 0; i < sizeof(each_cases) / sizeof(each_cases[0]); i++)
        check_case(&each_cases[i]);
    check_values();
    check_loading();
    check_counted();
    check_hostile();
    /* the traced interpreter saw the callbacks' depth */
    outcome o;
    run_case(&depth_cases[0], E_TRACED, &o);
    CHECK(o.rc == 0 && o.max_depth == 8, "traced depth %u", o.max_depth);
    return TEST_END();
}
