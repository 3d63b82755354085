/* test_jit_thread.c - threaded jumps (docs/select.md "Threaded jumps"):
 * state machines made at random in the shape clang gives a lexer (a loop
 * that loads a byte, computes classes of it, some into a frame slot, and
 * dispatches on the state with a tree of compares; states that set the next
 * state and jump back to the loop's test or straight to the dispatch), and
 * the bench's lexer (fsm, v3 and v1), run by the interpreter and by the JIT
 * checked, unchecked, blinded and with a budget on random inputs: the same
 * r0, or the same error at the same instruction (a load past the input in
 * the loop's head, which the threaded copies contain, faults in checked
 * runs). The x86-64 JIT threads the jumps of most machines and of the lexer,
 * none with a budget, and stops threading a large program once its work
 * bound is spent.
 *   test_jit_thread [MACHINES [SEED]]   default: 400 machines */
#define PROG_MAX 512
#include "jit_test.h"
#include "bench_object.h"
#include "internal.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32) % n;
}

static const uint8_t alphabet[] = "ab0/\"x9 =\n";

/* Jumps to labels, patched once every label is placed. */
enum { L_TAIL, L_HEAD, L_DISPATCH, L_EXIT, L_UPPER, L_STATE };
#define NSTATES_MAX 6

typedef struct machine {
    prog g;
    size_t label[L_STATE + 2 * NSTATES_MAX]; /* then the joins */
    size_t at[96];
    int to[96];
    size_t nfix;
    int nstates;
    bool lookahead; /* the head loads the next byte too (faults at the last) */
    unsigned joined; /* the join blocks jumped to */
} machine;

static void jump(machine *m, bpfvm_insn in, int label)
{
    if (m->nfix < sizeof m->at / sizeof m->at[0]) {
        m->at[m->nfix] = m->g.n;
        m->to[m->nfix++] = label;
    }
    put(&m->g, in);
}

static void place(machine *m, int label) { m->label[label] = m->g.n; }

/* A class of the byte in r9 into r0, r4 or r5: arithmetic, a select, or
 * bits or-ed into the frame slot at -8. */
static void gen_class(machine *m)
{
    int d = (int[]){ 0, 4, 5 }[rnd(3)];
    switch (rnd(5)) {
    case 0:
        put(&m->g, BPFVM_MOV64_REG(d, 9));
        put(&m->g, BPFVM_ALU32_IMM(BPFVM_ADD, d, -(int32_t)alphabet[rnd(10)]));
        put(&m->g, BPFVM_ALU32_IMM(BPFVM_AND, d, 255));
        break;
    case 1:
        put(&m->g, BPFVM_MOV32_REG(d, 9));
        put(&m->g, BPFVM_ALU32_IMM(rnd(2) ? BPFVM_OR : BPFVM_XOR, d, (int32_t)rnd(64)));
        break;
    case 2: /* d = c < K (a select) */
        put(&m->g, BPFVM_MOV64_IMM(d, 1));
        put(&m->g, BPFVM_JMP32_IMM(rnd(2) ? BPFVM_JLT : BPFVM_JNE, 9, alphabet[rnd(10)], 1));
        put(&m->g, BPFVM_MOV64_IMM(d, 0));
        break;
    case 3: /* the flag into the frame */
        put(&m->g, BPFVM_MOV64_IMM(d, 1));
        put(&m->g, BPFVM_JMP32_IMM(BPFVM_JEQ, 9, alphabet[rnd(10)], 1));
        put(&m->g, BPFVM_MOV64_IMM(d, 0));
        put(&m->g, BPFVM_STX_MEM(BPFVM_W, 10, d, -8));
        break;
    default: /* or-ed into it */
        put(&m->g, BPFVM_LDX_MEM(BPFVM_W, d, 10, -8));
        put(&m->g, BPFVM_ALU32_IMM(BPFVM_OR, d, (int32_t)(1u << rnd(8))));
        put(&m->g, BPFVM_STX_MEM(BPFVM_W, 10, d, -8));
        break;
    }
}

/* The state to go to from state k: any at the loop's test, or through the
 * join block of that state (or, seldom, of another: the ways into a join
 * then disagree on the state), a lower one (so the machine always ends)
 * straight to the dispatch (`again`). */
static void gen_transition(machine *m, int k, bool last)
{
    bool again = k > 0 && rnd(2) == 0;
    int next = again ? (int)rnd((uint32_t)k) : (int)rnd((uint32_t)m->nstates);
    put(&m->g, BPFVM_MOV64_IMM(7, next));
    int join = L_STATE + NSTATES_MAX + (rnd(4) ? next : (int)rnd((uint32_t)m->nstates));
    int label = again ? L_DISPATCH : rnd(3) ? L_TAIL : join;
    m->joined |= label == join ? 1u << (join - L_STATE - NSTATES_MAX) : 0;
    if (last)
        jump(m, BPFVM_JA_OFF(0), label);
    else
        jump(m, rnd(2) ? BPFVM_JMP32_IMM(BPFVM_JEQ, 9, alphabet[rnd(10)], 0)
                       : BPFVM_JMP_IMM(BPFVM_JGT, 9, alphabet[rnd(10)], 0),
             label);
}

static void gen_state(machine *m, int k)
{
    place(m, L_STATE + k);
    for (int n = (int)rnd(3); n >= 0; n--) {
        int src = (int[]){ 0, 4, 5, 9 }[rnd(4)];
        switch (rnd(4)) {
        case 0: put(&m->g, BPFVM_ALU64_REG(BPFVM_ADD, 8, src)); break;
        case 1: put(&m->g, BPFVM_ALU64_REG(BPFVM_XOR, 8, src)); break;
        case 2: /* a counter in the frame */
            put(&m->g, BPFVM_LDX_MEM(BPFVM_DW, 3, 10, -16));
            put(&m->g, BPFVM_ALU64_REG(BPFVM_ADD, 3, src));
            put(&m->g, BPFVM_STX_MEM(BPFVM_DW, 10, 3, -16));
            break;
        default: /* the frame slot's flags */
            put(&m->g, BPFVM_LDX_MEM(BPFVM_W, 3, 10, -8));
            put(&m->g, BPFVM_ALU64_IMM(BPFVM_MUL, 8, 3));
            put(&m->g, BPFVM_ALU64_REG(BPFVM_ADD, 8, 3));
            break;
        }
    }
    for (int n = (int)rnd(4); n > 0; n--)
        gen_transition(m, k, false);
    gen_transition(m, k, true);
}

/* The dispatch on r7 (or a copy of it in r3): below mid a chain of
 * compares, above it another after a signed split; state 0 by default. */
static void gen_dispatch(machine *m)
{
    int d = rnd(2) ? 7 : 3, mid = (int)rnd((uint32_t)m->nstates);
    if (d == 3)
        put(&m->g, BPFVM_MOV64_REG(3, 7));
    place(m, L_DISPATCH);
    if (d == 3) /* (again jumps past the copy: copy r7 again) */
        put(&m->g, BPFVM_MOV64_REG(3, 7));
    jump(m, BPFVM_JMP_IMM(BPFVM_JSGT, d, mid, 0), L_UPPER);
    for (int k = 0; k <= mid; k++)
        jump(m, rnd(2) ? BPFVM_JMP_IMM(BPFVM_JEQ, d, k, 0) : BPFVM_JMP32_IMM(BPFVM_JEQ, d, k, 0),
             L_STATE + k);
    jump(m, BPFVM_JA_OFF(0), L_STATE);
    place(m, L_UPPER);
    for (int k = m->nstates - 1; k > mid; k--)
        jump(m, BPFVM_JMP_IMM(BPFVM_JEQ, d, k, 0), L_STATE + k);
    jump(m, BPFVM_JA_OFF(0), L_STATE);
}

static void gen_head(machine *m)
{
    place(m, L_HEAD);
    put(&m->g, BPFVM_MOV64_REG(3, 1));
    put(&m->g, BPFVM_ALU64_REG(BPFVM_ADD, 3, 6));
    put(&m->g, BPFVM_LDX_MEM(BPFVM_B, 9, 3, 0));
    if (m->lookahead) /* the next byte: past the input at the last */
        put(&m->g, BPFVM_LDX_MEM(BPFVM_B, 0, 3, 1));
    for (int n = 1 + (int)rnd(5); n > 0; n--)
        gen_class(m);
    put(&m->g, BPFVM_ALU64_IMM(BPFVM_ADD, 6, 1));
}

/* r0 = r8 + the frame's counter ^ its flags */
static void gen_exit(machine *m)
{
    place(m, L_EXIT);
    put(&m->g, BPFVM_MOV64_REG(0, 8));
    put(&m->g, BPFVM_LDX_MEM(BPFVM_DW, 4, 10, -16));
    put(&m->g, BPFVM_ALU64_REG(BPFVM_ADD, 0, 4));
    put(&m->g, BPFVM_LDX_MEM(BPFVM_W, 4, 10, -8));
    put(&m->g, BPFVM_ALU64_REG(BPFVM_XOR, 0, 4));
    put(&m->g, BPFVM_EXIT());
}

/* A machine: the loop's test at the bottom (a backward jump to the head) or,
 * as clang lays lexers out, between the states and the head. */
static void gen_machine(machine *m)
{
    memset(m, 0, sizeof *m);
    m->nstates = 2 + (int)rnd(NSTATES_MAX - 1);
    m->lookahead = rnd(4) == 0;
    for (int r = 0; r <= 9; r++)
        if (r != 1 && r != 2)
            put(&m->g, BPFVM_MOV64_IMM(r, 0));
    put(&m->g, BPFVM_ST_MEM(BPFVM_DW, 10, -16, 0));
    put(&m->g, BPFVM_ST_MEM(BPFVM_W, 10, -8, 0));
    jump(m, BPFVM_JMP_IMM(BPFVM_JEQ, 2, 0, 0), L_EXIT); /* (clang's test of an empty input) */
    jump(m, BPFVM_JA_OFF(0), L_TAIL);
    bool bottom = rnd(2);
    if (!bottom) {
        place(m, L_TAIL);
        jump(m, BPFVM_JMP_REG(BPFVM_JLT, 6, 2, 0), L_HEAD);
        gen_exit(m);
    }
    gen_head(m);
    gen_dispatch(m);
    for (int k = 0; k < m->nstates; k++)
        gen_state(m, k);
    for (int k = 0; k < m->nstates; k++) { /* the joins: count, then the loop's test */
        if (!(m->joined >> k & 1))
            continue;
        place(m, L_STATE + NSTATES_MAX + k);
        put(&m->g, BPFVM_ALU64_IMM(BPFVM_ADD, 8, 1));
        jump(m, BPFVM_JA_OFF(0), L_TAIL);
    }
    if (bottom) {
        place(m, L_TAIL);
        jump(m, BPFVM_JMP_REG(BPFVM_JLT, 6, 2, 0), L_HEAD);
        gen_exit(m);
    }
    for (size_t f = 0; f < m->nfix; f++)
        m->g.p[m->at[f]].off = (int16_t)((int64_t)m->label[m->to[f]] - (int64_t)m->at[f] - 1);
}

/* Runs vm (engine e) and ref (the interpreter, same budget) on in[0..len):
 * the same return code, r0 or instruction of the error. */
static bool same_run(bpfvm_vm *vm, int e, bpfvm_vm *ref, uint8_t *in, size_t len,
                     const char *what)
{
    uint64_t r0 = 0, want = 0;
    int want_rc = bpfvm_run(ref, in, len, NULL, 0, &want, NULL);
    int64_t want_insn = bpfvm_last_error(ref)->insn;
    int rc = jit_test_run(vm, e, in, len, &r0);
    int64_t insn = bpfvm_last_error(vm)->insn;
    bool ok = rc == want_rc && (rc != 0 || r0 == want) && (rc == 0 || insn == want_insn);
    CHECK(ok, "%s engine %d len %zu: rc %d r0 %#llx insn %lld, want rc %d r0 %#llx insn %lld",
          what, e, len, rc, (unsigned long long)r0, (long long)insn, want_rc,
          (unsigned long long)want, (long long)want_insn);
    return ok;
}

static void random_input(uint8_t *in, size_t len)
{
    for (size_t i = 0; i < len; i++)
        in[i] = alphabet[rnd(10)];
}

static int faults;

/* One machine on every engine; returns whether the checked JIT threaded a
 * jump of it. */
static bool run_machine(const machine *m, int id)
{
    static uint8_t in[64];
    char what[32];
    bool threaded = false;
    snprintf(what, sizeof what, "machine %d", id);
    for (int e = ENG_CHECKED; e < NENG; e++) {
        if (e == ENG_UNCHECKED && m->lookahead)
            continue; /* (reads the byte after the input) */
        uint64_t budget = e == ENG_BUDGET ? 50 + rnd(3000) : 0;
        bpfvm_vm *vm = jit_test_vm(m->g.p, m->g.n, e, budget, true);
        bpfvm_vm *ref = jit_test_vm(m->g.p, m->g.n, ENG_INTERP, budget, true);
        if (!vm || !ref) {
            bpfvm_destroy(vm);
            bpfvm_destroy(ref);
            return false;
        }
#if defined(__x86_64__)
        if (e == ENG_CHECKED)
            threaded = vm->jit_threads > 0;
        if (e == ENG_BUDGET)
            CHECK(vm->jit_threads == 0, "%s: %zu threaded jumps with a budget", what,
                  vm->jit_threads);
#endif
        bool ok = true;
        for (int t = 0; t < 24 && ok; t++) {
            size_t len = rnd(sizeof in + 1);
            random_input(in, len);
            ok = same_run(vm, e, ref, in, len, what);
            faults += ok && e == ENG_CHECKED && bpfvm_last_error(ref)->code == BPFVM_EMEMORY;
        }
        bpfvm_destroy(vm);
        bpfvm_destroy(ref);
    }
    return threaded;
}

/* Threading's work per compile is bounded: 200 units of four jumps setting
 * r2 to 0..3 to a block of 80 additions and a dispatch on r2 (each jump a
 * long path to thread): some are threaded, not all, and the result is the
 * interpreter's. */
static void run_bounded(void)
{
    enum { UNITS = 200, ADDS = 80 };
    static bpfvm_insn p[UNITS * (ADDS + 32) + 8];
    size_t n = 0;
    p[n++] = BPFVM_LDX_MEM(BPFVM_DW, 6, 1, 0);
    p[n++] = BPFVM_MOV64_IMM(0, 0);
    p[n++] = BPFVM_MOV64_IMM(3, 0);
    p[n++] = BPFVM_MOV64_IMM(2, 0);
    for (int u = 0; u < UNITS; u++) {
        size_t s[4], hub, h[4], next, fix[16];
        int nfix = 0;
        p[n++] = BPFVM_MOV64_REG(1, 6);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 1, u);
        p[n++] = BPFVM_ALU64_IMM(BPFVM_AND, 1, 3);
        for (int k = 0; k < 3; k++) {
            fix[nfix++] = n;
            p[n++] = BPFVM_JMP_IMM(BPFVM_JEQ, 1, k, (int16_t)k); /* to s[k], patched */
        }
        for (int k = 3; k >= 0; k--) { /* s[3] first: the fall-through */
            s[k] = n;
            p[n++] = BPFVM_MOV64_IMM(2, k);
            fix[nfix++] = n;
            p[n++] = BPFVM_JA_OFF(0);                  /* to hub */
        }
        hub = n;
        for (int a = 0; a < ADDS; a++)
            p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 3, 1);
        size_t cases = n;
        for (int k = 0; k < 3; k++)
            p[n++] = BPFVM_JMP_IMM(BPFVM_JEQ, 2, k, 0); /* to h[k] */
        for (int k = 3; k >= 0; k--) {
            h[k] = n;
            p[n++] = BPFVM_ALU64_IMM(BPFVM_ADD, 0, k + 1);
            p[n++] = BPFVM_JA_OFF(0);                  /* to next */
        }
        next = n;
        for (int k = 0; k < 3; k++) {
            p[fix[k]].off = (int16_t)(s[k] - fix[k] - 1);
            p[cases + (size_t)k].off = (int16_t)(h[k] - cases - (size_t)k - 1);
        }
        for (int k = 3; k < nfix; k++)
            p[fix[k]].off = (int16_t)(hub - fix[k] - 1);
        for (int k = 0; k < 4; k++)
            p[h[k] + 1].off = (int16_t)(next - h[k] - 2);
    }
    p[n++] = BPFVM_ALU64_REG(BPFVM_ADD, 0, 3);
    p[n++] = BPFVM_EXIT();
    bpfvm_vm *vm = jit_test_vm(p, n, ENG_CHECKED, 0, true);
    bpfvm_vm *ref = jit_test_vm(p, n, ENG_INTERP, 0, true);
    if (vm && ref) {
#if defined(__x86_64__)
        printf("bounded: %zu of %d jumps threaded\n", vm->jit_threads, 4 * UNITS);
        CHECK(vm->jit_threads > 0 && vm->jit_threads < 4 * UNITS, "%zu of %d jumps threaded",
              vm->jit_threads, 4 * UNITS);
#endif
        for (uint64_t v = 0; v < 8; v++) {
            uint64_t in[1] = { v };
            same_run(vm, ENG_CHECKED, ref, (uint8_t *)in, sizeof in, "bounded");
        }
    }
    bpfvm_destroy(vm);
    bpfvm_destroy(ref);
}

/* Where a threaded copy goes: a jcc's out of line (after the program) unless
 * the jcc's other way runs straight into an exit; a ja's in place. The run
 * that faults at slot 0 goes through the memory stub emitted before the
 * copy, whose jump back to the program is short. */
static void run_out_of_line(void)
{
    static const bpfvm_insn p[] = {
        BPFVM_LDX_MEM(BPFVM_DW, 1, 1, 0),  /* 0: faults on input shorter than 8 */
        BPFVM_JMP_IMM(BPFVM_JEQ, 1, 0, 6), /* 1: to 8 */
        BPFVM_MOV64_IMM(2, 0),
        BPFVM_JMP_IMM(BPFVM_JEQ, 1, 2, 6), /* 3: to 10, threaded, copy out of line */
        BPFVM_MOV64_IMM(2, 1),
        BPFVM_JMP_IMM(BPFVM_JEQ, 1, 3, 4), /* 5: to 10, threaded, copy in place */
        BPFVM_MOV64_IMM(0, 5),
        BPFVM_EXIT(),
        BPFVM_MOV64_IMM(2, 1),             /* 8 */
        BPFVM_JA_OFF(0),                   /* 9: to 10, threaded, copy in place */
        BPFVM_MOV64_IMM(0, 10),            /* 10 */
        BPFVM_JMP_IMM(BPFVM_JEQ, 2, 0, 2), /* to 14 */
        BPFVM_JMP_IMM(BPFVM_JEQ, 2, 1, 3), /* to 16 */
        BPFVM_EXIT(),
        BPFVM_MOV64_IMM(0, 20),            /* 14 */
        BPFVM_EXIT(),
        BPFVM_MOV64_IMM(0, 30),            /* 16 */
        BPFVM_EXIT(),
    };
    size_t n = sizeof p / sizeof p[0];
    for (int e = ENG_CHECKED; e < ENG_BUDGET; e++) {
        bpfvm_vm *vm = jit_test_vm(p, n, e, 0, true);
        bpfvm_vm *ref = jit_test_vm(p, n, ENG_INTERP, 0, true);
        if (vm && ref) {
#if defined(__x86_64__)
            CHECK(vm->jit_threads == 3 && vm->jit_threads_out == 1,
                  "engine %d: %zu threaded jumps, %zu out of line, want 3 and 1", e,
                  vm->jit_threads, vm->jit_threads_out);
#endif
            for (uint64_t v = 0; v < 5; v++) {
                uint64_t in[1] = { v };
                same_run(vm, e, ref, (uint8_t *)in, sizeof in, "out of line");
                if (e != ENG_UNCHECKED)
                    same_run(vm, e, ref, (uint8_t *)in, 4, "out of line, short input");
            }
        }
        bpfvm_destroy(vm);
        bpfvm_destroy(ref);
    }
}

/* The bench's lexer on random text, every engine but the budget's. */
static void run_lexer(const char *argv0, const char *name)
{
    char path[512];
    bpfvm_vm *ref = bench_object(argv0, name, path, sizeof path);
    if (!ref)
        return;
    static uint8_t text[4096];
    static const char *const pieces[] = { "x1 = 42 + y_2;\n", "s = \"a\\\"b\" ", "0x1f3a * 17 ",
                                          "// note 99\n", "q<=r-3 ", "/ 7 ", "0 ", "\t" };
    for (int e = ENG_CHECKED; e < ENG_BUDGET; e++) {
        bpfvm_set_checked(ref, e != ENG_UNCHECKED);
        CHECK(bpfvm_compile(ref, e == ENG_BLIND ? BPFVM_JIT_BLIND : 0) == 0, "%s: compile", path);
#if defined(__x86_64__)
        CHECK(ref->jit_threads >= 10 && ref->jit_threads_out >= 5, "%s engine %d: %zu threaded jumps, %zu out of line",
              path, e, ref->jit_threads, ref->jit_threads_out);
#endif
        for (int t = 0; t < 200; t++) {
            size_t len = 0, want = rnd(sizeof text + 1);
            while (len < want) {
                const char *s = rnd(4) ? pieces[rnd(8)] : (const char[]){ (char)rnd(256), 0 };
                while (*s && len < want)
                    text[len++] = (uint8_t)*s++;
            }
            uint64_t r0 = 0, expect = 0;
            int rc = bpfvm_run_jit(ref, text, len, NULL, 0, &r0, NULL);
            int want_rc = bpfvm_run(ref, text, len, NULL, 0, &expect, NULL);
            CHECK(rc == want_rc && r0 == expect, "%s engine %d len %zu: rc %d r0 %#llx, want %d %#llx",
                  path, e, len, rc, (unsigned long long)r0, want_rc, (unsigned long long)expect);
        }
    }
    bpfvm_destroy(ref);
}

/* A wrong threaded jump may loop forever: fail instead of hanging. */
static void timed_out(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL test_jit_thread: a run did not end in 300 s\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(3);
    _exit(2);
}

int main(int argc, char **argv)
{
    signal(SIGALRM, timed_out);
    alarm(300);
    int machines = argc > 1 ? atoi(argv[1]) : 400, threaded = 0;
    if (argc > 2)
        rng = strtoull(argv[2], NULL, 0) | 1;
    static machine m;
    for (int id = 0; id < machines; id++) {
        gen_machine(&m);
        threaded += run_machine(&m, id);
    }
#if defined(__x86_64__)
    CHECK(threaded > machines / 2, "%d of %d machines threaded", threaded, machines);
#endif
    CHECK(faults > 20, "%d runs faulted", faults);
    run_bounded();
    run_out_of_line();
    run_lexer(argv[0], "fsm");
    run_lexer(argv[0], "v1/fsm");
    return TEST_END();
}
