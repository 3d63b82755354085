/* test_verify_twins.c - every rejection the built-in verifier makes (each
 * problem() of src/verifier.c, and bpfvm__check_fields' reasons), with a
 * minimal program that triggers it, the expected message and instruction
 * index, and a near-identical "almost wrong" twin that must be accepted: an
 * over-strict check fails on its twin as surely as a missing one fails on
 * its program.
 *
 * Where the check is one bpfvm shares with the kernel's verifier, both
 * programs also go to the kernel as socket filters (when the test is built
 * with libbpf and bpf() is allowed): the kernel must reject the program
 * (KREJ), for the same reason (its log says kmsg), and accept the twin
 * (KACC), which shows bpfvm no stricter than the kernel there. Without bpf()
 * that part is skipped, with the reason. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#ifdef BPFVM_TEST_LIBBPF
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum {
    KREJ = 1, /* the kernel rejects the program too */
    KACC = 2, /* the kernel accepts the twin */
    STD = 4,  /* the standard helpers are registered (helper ids are checked) */
    BIG = 8   /* programs of BPFVM_MAX_INSNS + 1 slots (rejected) and BPFVM_MAX_INSNS */
};

typedef struct twin {
    const char *name;
    const char *bad;  /* assembly, or "hex:" and 8-byte slots as 16 hex digits each */
    const char *msg;  /* a problem reported contains this ... */
    int64_t insn;     /* ... and names this instruction (-1: none) */
    const char *good; /* the twin, accepted */
    unsigned flags;
    const char *kmsg; /* KREJ: what the kernel's log says, or NULL for nothing */
} twin;

#define MOV0 "b700000000000000 "
#define EXIT "9500000000000000"

static const twin twins[] = {
    /* ---- the encoding of each instruction ------------------------------ */
    { "unknown opcode", "hex: ff00000000000000 " EXIT, "unknown opcode 0xff", 0,
      "hex: " MOV0 EXIT, KREJ | KACC, "unknown opcode ff" },
    { "nonzero field an immediate form does not use",
      "hex: b710000001000000 " EXIT, "invalid mov64: nonzero src field", 0,
      "hex: b700000001000000 " EXIT, KREJ | KACC, "BPF_MOV uses reserved fields" },
    { "register number out of range",
      "hex: b70b000001000000 " MOV0 EXIT, "invalid mov64: destination register out of range",
      0, "hex: b709000001000000 " MOV0 EXIT, KREJ | KACC, "R11 is invalid" },
    { "nonzero offset in an ALU instruction",
      "hex: " MOV0 "0700030001000000 " EXIT, "invalid add64: nonzero off field", 1,
      "hex: " MOV0 "0700000001000000 " EXIT, KREJ | KACC, "BPF_ALU uses reserved fields" },
    { "nonzero immediate in a register form",
      "hex: " MOV0 "b701000002000000 0f10000001000000 " EXIT, "invalid add64: nonzero imm", 2,
      "hex: " MOV0 "b701000002000000 0f10000000000000 " EXIT, KREJ | KACC,
      "BPF_ALU uses reserved fields" },
    { "byte-swap width", "hex: b700000001000000 dc00000008000000 " EXIT,
      "invalid byte-swap width 8 (must be 16, 32 or 64)", 1,
      "hex: b700000001000000 dc00000010000000 " EXIT, KREJ | KACC,
      "BPF_END uses reserved fields" },
    { "atomic operation", "hex: 7a0af8ff00000000 b701000001000000 db1af8ff10000000 " MOV0 EXIT,
      "invalid atomic operation 0x10", 2,
      "hex: 7a0af8ff00000000 b701000001000000 db1af8ff00000000 " MOV0 EXIT, KREJ | KACC,
      "invalid atomic opcode" },
    { "offset of a signed division",
      "hex: b700000008000000 b701000002000000 3f10020000000000 " EXIT,
      "invalid offset 2 for opcode 0x3f (div64)", 2,
      "hex: b700000008000000 b701000002000000 3f10010000000000 " EXIT, KREJ | KACC,
      "BPF_ALU uses reserved fields" },
    /* bpfvm's own limits: the kernel accepts these forms with maps and BTF */
    { "lddw of a BTF object (pseudo form)",
      "hex: 1831000001000000 0000000000000000 " MOV0 EXIT,
      "lddw with src 3: map and pseudo lddw forms are not supported yet", 0,
      "hex: 1801000001000000 0000000000000000 " MOV0 EXIT, KACC, NULL },
    /* callbacks: lddw src 4 names a function start (the twin: one after an exit) */
    { "callback into the middle of a function",
      "hex: 1841000001000000 0000000000000000 " MOV0 EXIT " " MOV0 EXIT,
      "callback target 2 is not the start of a function", 0,
      "hex: 1841000003000000 0000000000000000 " MOV0 EXIT " " MOV0 EXIT, 0, NULL },
    { "call of a kernel function (src 2)", "hex: 8520000005000000 " EXIT,
      "unsupported call kind (src 2; 0 = helper, 1 = local call)", 0,
      "hex: 8500000005000000 " EXIT, KACC, NULL },
    { "incomplete lddw", "hex: " MOV0 EXIT " 1800000001000000",
      "incomplete lddw: the program ends before its second slot", 2, "hex: " MOV0 EXIT,
      KREJ | KACC, "last insn is not an exit or jmp" },
    { "lddw's second slot", "hex: 1800000001000000 0001000002000000 " EXIT,
      "malformed lddw: its second slot (instruction 1) must be zero except imm", 0,
      "hex: 1800000001000000 0000000002000000 " EXIT, KREJ | KACC, "invalid bpf_ld_imm64 insn" },
    { "a write of r10", "mov r0, 0\nmov r10, r0\nexit\n",
      "mov64 writes r10, the read-only frame pointer", 1, "mov r0, 0\nmov r9, r0\nexit\n",
      KREJ | KACC, "frame pointer is read only" },
    { "a fetching atomic into r10",
      "stdw [r10-8], 0\nmov r1, 1\nlock fetch add [r10-8], r10\nmov r0, 0\nexit\n",
      "writes r10, the read-only frame pointer", 2,
      "stdw [r10-8], 0\nmov r1, 1\nlock fetch add [r10-8], r1\nmov r0, 0\nexit\n",
      KREJ | KACC, "frame pointer is read only" },

    /* ---- targets and the end of the program (structural pass) ---------- */
    { "jump target outside the program", "mov r0, 0\njeq r0, 0, +2\nexit\n",
      "jump target 4 is outside the program (0..2)", 1, "mov r0, 0\njeq r0, 0, +0\nexit\n",
      KREJ | KACC, "jump out of range" },
    { "call target outside the program", "mov r0, 0\ncall pc+3\nexit\nmov r0, 1\nexit\n",
      "call target 5 is outside the program (0..4)", 1,
      "mov r0, 0\ncall pc+1\nexit\nmov r0, 1\nexit\n", KREJ | KACC,
      "call to invalid destination" },
    { "jump into the second slot of lddw",
      "mov r0, 0\nldxw r2, [r1+0]\njeq r2, 0, +1\nlddw r0, 1\nexit\n",
      "jump target 4 is the second slot of the lddw at 3", 2,
      "mov r0, 0\nldxw r2, [r1+0]\njeq r2, 0, +2\nlddw r0, 1\nexit\n", KREJ | KACC,
      "jump into the middle of ldimm64" },
    { "ja to itself", "mov r0, 0\nldxw r2, [r1+0]\njeq r2, 0, +1\nja -1\nexit\n",
      "ja jumps to itself: infinite loop", 3,
      "mov r0, 0\nldxw r2, [r1+0]\njeq r2, 0, +1\nja +0\nexit\n", KREJ | KACC,
      "infinite loop detected" },
    { "falling off the end of the program", "mov r0, 0\n",
      "execution can fall off the end of the program", 0, "mov r0, 0\nexit\n", KREJ | KACC,
      "last insn is not an exit or jmp" },
    { "empty program", "", "empty program", -1, "mov r0, 0\nexit\n", KREJ | KACC, NULL },
    { "too long", NULL, "more than the limit of 1000000", -1, NULL, BIG, NULL },

    /* ---- registers (data flow) ----------------------------------------- */
    { "r0 after a call of a function that returns nothing",
      "call local f\nadd r0, 1\nexit\nf:\nexit\n",
      "reads r0, which the call at 0 may have left unset (the function at 3 does not write "
      "r0 on every path to its exit)", 1,
      "call local f\nmov r0, 1\nexit\nf:\nexit\n", KREJ | KACC, "R0 !read_ok" },
    { "exit after a call of a function that returns nothing",
      "mov r0, 1\ncall local f\nexit\nf:\nexit\n",
      "exit with r0, which the call at 1 may have left unset", 2,
      "call local f\nmov r0, 1\nexit\nf:\nexit\n", KREJ | KACC, "R0 !read_ok" },
    { "r1 after a call", "mov r1, 1\ncall 5\nadd r0, r1\nexit\n",
      "reads r1 after a call clobbered it (calls leave r1-r5 unset)", 2,
      "mov r6, 1\ncall 5\nadd r0, r6\nexit\n", KREJ | KACC, "R1 !read_ok" },
    { "r0 at exit on one path only", "ldxw r2, [r1+0]\njeq r2, 0, +1\nmov r0, 1\nexit\n",
      "exit with r0 not written on every path to it", 3,
      "ldxw r2, [r1+0]\nmov r0, 0\njeq r2, 0, +1\nmov r0, 1\nexit\n", KREJ | KACC, "R0 !read_ok" },
    { "a register written on one path only",
      "ldxw r2, [r1+0]\njeq r2, 0, +1\nmov r3, 1\nmov r0, 1\nadd r0, r3\nexit\n",
      "reads r3, which is not written on every path to it", 4,
      "ldxw r2, [r1+0]\nmov r3, 0\njeq r2, 0, +1\nmov r3, 1\nmov r0, 1\nadd r0, r3\nexit\n",
      KREJ | KACC, "R3 !read_ok" },
    /* bpfvm accepts copies of unset registers (clang makes them around loops,
     * for values it never uses): only a use is an error. The kernel rejects
     * the copy itself, so the twin has no KACC. */
    { "a copy of a register written on one path only, used",
      "ldxw r2, [r1+0]\njeq r2, 0, +1\nmov r3, 1\nmov r4, r3\nmov r0, 0\nadd r0, r4\nexit\n",
      "reads r4, a copy of a register that is not written on every path to it", 5,
      "ldxw r2, [r1+0]\njeq r2, 0, +1\nmov r3, 1\nmov r4, r3\nmov r0, 0\nadd r0, r2\nexit\n",
      KREJ, "R3 !read_ok" },
    /* A flag set from a constant where paths meet decides the jump that
     * tests it, as the kernel's path walk does: the path that sets the flag
     * to 1 without r0 never reaches the exit that needs r0. */
    { "a flag that does not decide the jump",
      "ldxw r2, [r1+0]\njeq r2, 0, +3\nmov r0, 7\nmov r6, 0\nja +1\nldxw r6, [r1+4]\n"
      "jne r6, 0, +1\nexit\nmov r0, 2\nexit\n",
      "exit with r0 not written on every path to it", 7,
      "ldxw r2, [r1+0]\njeq r2, 0, +3\nmov r0, 7\nmov r6, 0\nja +1\nmov r6, 1\n"
      "jne r6, 0, +1\nexit\nmov r0, 2\nexit\n", KREJ | KACC, "R0 !read_ok" },
    { "a read on a path the constants do not rule out",
      "mov r0, 0\nldxw r6, [r1+0]\njne r6, 0, +1\nadd r0, r9\nexit\n",
      "reads r9, which is not written on every path to it", 3,
      "mov r0, 0\nmov r6, 1\njne r6, 0, +1\nadd r0, r9\nexit\n", KREJ | KACC, "R9 !read_ok" },
    { "an argument a call does not pass",
      "mov r1, 1\nmov r2, 2\ncall local f\nmov r1, 3\ncall local f\nexit\n"
      "f:\nmov r0, r1\nadd r0, r2\nexit\n",
      "reads r2 after a call clobbered it", 7,
      "mov r1, 1\nmov r2, 2\ncall local f\nmov r1, 3\nmov r2, 4\ncall local f\nexit\n"
      "f:\nmov r0, r1\nadd r0, r2\nexit\n", KREJ | KACC, "R2 !read_ok" },

    /* ---- the stack frame ------------------------------------------------ */
    { "below the frame", "mov r0, 0\nstdw [r10-520], 1\nexit\n",
      "stack access at r10-520 (8 bytes) is outside the frame [r10-512, r10)", 1,
      "mov r0, 0\nstdw [r10-512], 1\nexit\n", KREJ | KACC, "invalid write to stack R10 off=-520" },
    { "at the frame pointer", "mov r0, 0\nstb [r10+0], 1\nexit\n",
      "stack access at r10+0 (1 bytes) is outside the frame", 1,
      "mov r0, 0\nstb [r10-1], 1\nexit\n", KREJ | KACC, "invalid write to stack R10 off=0" },

    /* ---- functions ------------------------------------------------------ */
    { "a jump into another function",
      "mov r0, 0\ncall local f\njeq r0, 1, g\nexit\nf:\nmov r0, 1\ng:\nexit\n",
      "jump target 5 is in another function (the one at 4)", 2,
      "mov r0, 0\ncall local f\njeq r0, 1, h\nh:\nexit\nf:\nmov r0, 1\nexit\n", KREJ | KACC,
      "jump out of range" },
    { "a call into the middle of code", "call local f\nmov r0, 2\nf:\nmov r0, 3\nexit\n",
      "call target 2 is not the start of a function: instruction 1 runs into it", 0,
      "call local f\nexit\nf:\nmov r0, 3\nexit\n", KREJ | KACC,
      "last insn is not an exit or jmp" },
    { "a function running into the next",
      "call local f\ncall local g\nexit\nf:\nmov r0, 1\nadd r0, 1\ng:\nmov r0, 2\nexit\n",
      "execution falls off the end of the function into the function at 5", 4,
      "call local f\ncall local g\nexit\nf:\nmov r0, 1\nexit\ng:\nmov r0, 2\nexit\n",
      KREJ | KACC, "last insn is not an exit or jmp" },
    { "an unknown helper", "call 77\nexit\n", "unknown helper 77", 0, "call 5\nexit\n",
      STD | KREJ | KACC, "cannot use helper" },

    /* ---- reachability --------------------------------------------------- */
    { "an instruction nothing reaches", "mov r0, 0\nja +1\nmov r0, 1\nexit\n",
      "unreachable instruction", 2, "mov r0, 0\njeq r0, 0, +1\nmov r0, 1\nexit\n",
      KREJ | KACC, "unreachable insn 2" },
    { "several instructions nothing reaches", "mov r0, 0\nexit\nmov r0, 1\nexit\n",
      "unreachable instructions (2 to 3)", 2, "mov r0, 0\njeq r0, 1, +1\nexit\nmov r0, 1\nexit\n",
      KREJ | KACC, "unreachable insn 2" },
};

/* The slots of a program text (NULL text: n slots of `mov r0, 1` and exit). */
static bpfvm_insn *program(const char *text, size_t n, size_t *count)
{
    bpfvm_insn *p = NULL;
    bpfvm_error err;
    *count = 0;
    if (!text) {
        p = malloc(n * sizeof(*p));
        for (size_t i = 0; p && i < n; i++)
            p[i] = i + 1 < n ? (bpfvm_insn)BPFVM_MOV64_IMM(BPFVM_R0, 1) : (bpfvm_insn)BPFVM_EXIT();
        *count = p ? n : 0;
        return p;
    }
    if (strncmp(text, "hex:", 4) == 0) {
        size_t len = 0;
        unsigned char *b = malloc(strlen(text) / 2 + 8);
        for (const char *s = text + 4; b && *s;) {
            unsigned v;
            int used;
            if (sscanf(s, " %2x%n", &v, &used) != 1)
                break;
            b[len++] = (unsigned char)v;
            s += used;
        }
        *count = len / 8;
        return (bpfvm_insn *)b;
    }
    if (bpfvm_asm(text, "twin", &p, count, &err) != 0) {
        CHECK(0, "assembly: %s", err.message);
        return NULL;
    }
    return p;
}

typedef struct found {
    const twin *t;
    int match;
    char first[sizeof(((bpfvm_error *)0)->message)];
} found;

static void collect(void *user, const bpfvm_error *e)
{
    found *f = user;
    if (!f->first[0])
        snprintf(f->first, sizeof(f->first), "%s", e->message);
    if (e->insn == f->t->insn && strstr(e->message, f->t->msg))
        f->match = 1;
}

#ifdef BPFVM_TEST_LIBBPF
static char kernel_log[1 << 16];

/* Load into the kernel as a socket filter: fd >= 0, or -errno with the
 * log's last message in kernel_log. */
static int kernel_load(const bpfvm_insn *p, size_t n)
{
    LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = kernel_log, .log_size = sizeof(kernel_log),
                .log_level = 1);
    kernel_log[0] = 0;
    int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "twin", "GPL",
                           (const struct bpf_insn *)p, n, &o);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

/* Can this process load programs? NULL if so, else why not. */
static const char *kernel_usable(void)
{
    static char why[128];
    bpfvm_insn ok[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_EXIT() };
    int rc = kernel_load(ok, COUNT(ok));
    if (rc == 0)
        return NULL;
    snprintf(why, sizeof(why), "bpf(BPF_PROG_LOAD) refused: %s", strerror(-rc));
    return why;
}
#endif

static void test_twins(void)
{
    const char *kernel_skip = "built without libbpf";
#ifdef BPFVM_TEST_LIBBPF
    kernel_skip = kernel_usable();
#endif
    size_t kernel_checks = 0;
    for (size_t i = 0; i < COUNT(twins); i++) {
        const twin *t = &twins[i];
        size_t nbad, ngood, big = (t->flags & BIG) ? BPFVM_MAX_INSNS : 0;
        bpfvm_insn *bad = program(t->bad, big + 1, &nbad);
        bpfvm_insn *good = program(t->good, big, &ngood);
        bpfvm_vm *vm = bpfvm_create();
        if (t->flags & STD)
            bpfvm_register_std_helpers(vm);
        const bpfvm_vm *cfg = (t->flags & STD) ? vm : NULL;

        found f = { t, 0, "" };
        int rc = bpfvm_verify(cfg, bad, nbad, collect, &f, NULL);
        CHECK(rc == BPFVM_EVERIFY && f.match, "%s: want '%s' at %lld, got rc %d: %s", t->name,
              t->msg, (long long)t->insn, rc, f.first);
        bpfvm_error first;
        rc = bpfvm_verify(cfg, good, ngood, NULL, NULL, &first);
        CHECK(rc == 0, "%s: the twin is rejected: %s", t->name, rc ? first.message : "");
        /* loading agrees */
        CHECK(bpfvm_load(vm, bad, nbad * sizeof(*bad)) == BPFVM_EVERIFY, "%s: load", t->name);
        CHECK(bpfvm_load(vm, good, ngood * sizeof(*good)) == 0, "%s: twin load: %s", t->name,
              bpfvm_last_error(vm)->message);
        bpfvm_destroy(vm);

#ifdef BPFVM_TEST_LIBBPF
        if (!kernel_skip && (t->flags & KREJ)) {
            CHECK(kernel_load(bad, nbad) < 0, "%s: the kernel accepts the program", t->name);
            CHECK(!t->kmsg || strstr(kernel_log, t->kmsg), "%s: the kernel's reason is not "
                  "'%s': %s", t->name, t->kmsg, kernel_log);
            kernel_checks++;
        }
        if (!kernel_skip && (t->flags & KACC)) {
            int k = kernel_load(good, ngood);
            CHECK(k == 0, "%s: the kernel rejects the twin (%s): %s", t->name, strerror(-k),
                  kernel_log);
            kernel_checks++;
        }
#endif
        free(bad);
        free(good);
    }
    if (kernel_skip)
        printf("kernel comparison skipped: %s\n", kernel_skip);
    else
        printf("kernel comparison: %zu verdicts as expected\n", kernel_checks);
}

int main(void)
{
    test_twins();
    return TEST_END();
}
