/* test_api.c - the public API of vm.c: lifetime, errors, configuration,
 * regions, the helper registry, loading, run modes and error routing. */
#include <string.h>

#include "bpfvm.h"
#include "test.h"

#define LOAD(vm, prog) bpfvm_load(vm, prog, sizeof(prog))

static void test_errors(void)
{
    CHECK(strcmp(bpfvm_errname(BPFVM_EMEMORY), "EMEMORY") == 0, "%s", bpfvm_errname(BPFVM_EMEMORY));
    CHECK(strcmp(bpfvm_errname(BPFVM_OK), "OK") == 0, "ok name");
    CHECK(strcmp(bpfvm_strerror(BPFVM_EBUDGET), "instruction budget exhausted") == 0, "budget msg");
    CHECK(strcmp(bpfvm_errname(12345), "EUNKNOWN") == 0, "unknown code name");
    CHECK(bpfvm_strerror(-999) != NULL, "unknown code message");
    /* Every code has a distinct name. */
    int codes[] = {
#define X(name, value, msg) value,
        BPFVM_ERRORS(X)
#undef X
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            CHECK(codes[i] != codes[j] && strcmp(bpfvm_errname(codes[i]), bpfvm_errname(codes[j])),
                  "codes %d and %d collide", codes[i], codes[j]);
    CHECK(bpfvm_last_error(NULL)->code == BPFVM_EINVAL, "last_error(NULL)");
}

static void test_config(void)
{
    bpfvm_vm *vm = bpfvm_create();
    CHECK(vm != NULL, "create");
    CHECK(bpfvm_last_error(vm)->code == 0, "fresh VM has no error");
    CHECK(bpfvm_set_stack_size(vm, 100) == BPFVM_EINVAL, "stack not multiple of 8");
    CHECK(strstr(bpfvm_last_error(vm)->message, "multiple of 8") != NULL, "%s",
          bpfvm_last_error(vm)->message);
    CHECK(bpfvm_set_stack_size(vm, 0) == BPFVM_EINVAL, "stack 0");
    CHECK(bpfvm_set_stack_size(vm, 2u << 20) == BPFVM_EINVAL, "stack too big");
    CHECK(bpfvm_set_stack_size(vm, 1024) == 0, "stack 1024");
    CHECK(bpfvm_set_call_depth(vm, 65) == BPFVM_EINVAL, "depth 65");
    CHECK(bpfvm_set_call_depth(vm, 0) == 0, "depth 0");
    CHECK(bpfvm_set_mode(vm, (bpfvm_mode)7) == BPFVM_EINVAL, "bad mode");
    CHECK(bpfvm_set_mode(vm, BPFVM_MODE_FIXED_MBUFF) == BPFVM_EINVAL, "fixed mode without layout");
    CHECK(bpfvm_set_fixed_mbuff(vm, 16, 0, 4) == BPFVM_EINVAL, "overlapping fields");
    CHECK(bpfvm_set_fixed_mbuff(vm, 16, 0, 9) == BPFVM_EINVAL, "field past the end");
    CHECK(bpfvm_set_fixed_mbuff(vm, 16, 0, 8) == 0, "fixed layout");
    CHECK(bpfvm_set_budget(vm, 10) == 0, "budget");
    CHECK(bpfvm_set_checked(vm, 0) == 0, "unchecked");
    CHECK(bpfvm_set_mode(NULL, BPFVM_MODE_RAW) == BPFVM_EINVAL, "NULL vm");
    bpfvm_destroy(vm);
    bpfvm_destroy(NULL);
}

static uint64_t add_helper(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                           uint64_t e)
{
    (void)c, (void)d, (void)e;
    return a + b + *(uint64_t *)bpfvm_helper_user(ctx);
}

static uint64_t mul_helper(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                           uint64_t e)
{
    (void)ctx, (void)c, (void)d, (void)e;
    return a * b;
}

static void test_helpers(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t bias = 100, r0 = 0;
    struct bpfvm_insn prog[] = {
        BPFVM_MOV64_IMM(BPFVM_R1, 6),
        BPFVM_MOV64_IMM(BPFVM_R2, 7),
        BPFVM_CALL_HELPER(77),
        BPFVM_EXIT(),
    };
    CHECK(bpfvm_register_helper(vm, 77, "add", NULL, NULL) == BPFVM_EINVAL, "NULL fn");
    CHECK(LOAD(vm, prog) == 0, "load before registering: %s", bpfvm_last_error(vm)->message);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EHELPER, "unregistered helper");
    CHECK(bpfvm_last_error(vm)->insn == 2, "insn %lld", (long long)bpfvm_last_error(vm)->insn);
    CHECK(bpfvm_register_helper(vm, 77, "add", add_helper, &bias) == 0, "register");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 113, "add helper: %llu",
          (unsigned long long)r0);
    CHECK(bpfvm_register_helper(vm, 77, "mul", mul_helper, NULL) == 0, "replace");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 42, "replaced helper: %llu",
          (unsigned long long)r0);
    /* Many ids, registered out of order, stay findable. */
    for (uint32_t id = 200; id > 0; id--)
        CHECK(bpfvm_register_helper(vm, id * 7919u, NULL, add_helper, &bias) == 0, "reg %u", id);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 42, "still the mul helper");
    bpfvm_destroy(vm);
}

static void test_load_errors(void)
{
    bpfvm_vm *vm = bpfvm_create();
    struct bpfvm_insn ok[] = { BPFVM_MOV64_IMM(BPFVM_R0, 1), BPFVM_EXIT() };
    struct bpfvm_insn bad[] = { BPFVM_INSN(0xff, 0, 0, 0, 0), BPFVM_EXIT() };
    uint64_t r0 = 0;

    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_ENOPROG, "run without program");
    CHECK(bpfvm_load(vm, ok, 12) == BPFVM_EVERIFY, "length not multiple of 8");
    CHECK(strstr(bpfvm_last_error(vm)->message, "multiple of 8") != NULL, "%s",
          bpfvm_last_error(vm)->message);
    CHECK(bpfvm_load(vm, ok, 0) == BPFVM_EVERIFY, "empty");
    CHECK(bpfvm_load(vm, NULL, 8) == BPFVM_EINVAL, "NULL code");
    CHECK(LOAD(vm, bad) == BPFVM_EVERIFY, "unknown opcode");
    CHECK(bpfvm_last_error(vm)->insn == 0, "insn of unknown opcode");
    CHECK(LOAD(vm, ok) == 0, "load ok");
    CHECK(bpfvm_last_error(vm)->code == 0, "error cleared after success");
    size_t count = 0;
    const bpfvm_insn *p = bpfvm_program(vm, &count);
    CHECK(p && count == 2 && memcmp(p, ok, sizeof(ok)) == 0, "program copy");
    /* The VM keeps its own copy: changing the caller's array changes nothing. */
    ok[0].imm = 99;
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 1, "own copy: %llu",
          (unsigned long long)r0);
    /* A failed load keeps the previous program. */
    CHECK(LOAD(vm, bad) == BPFVM_EVERIFY, "bad again");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 1, "old program kept");
    bpfvm_destroy(vm);
}

static int reject_all(void *user, const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
    (void)insns;
    *(size_t *)user = count;
    snprintf(err->message, sizeof(err->message), "no thanks");
    err->insn = (int64_t)count - 1;
    return 1;
}

static int accept_all(void *user, const bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
    (void)user, (void)insns, (void)count, (void)err;
    return 0;
}

static void test_user_verifier(void)
{
    bpfvm_vm *vm = bpfvm_create();
    struct bpfvm_insn ok[] = { BPFVM_MOV64_IMM(BPFVM_R0, 1), BPFVM_EXIT() };
    /* Falls off the end: the built-in verifier rejects it. */
    struct bpfvm_insn no_exit[] = { BPFVM_MOV64_IMM(BPFVM_R0, 1) };
    size_t seen = 0;

    CHECK(bpfvm_set_verifier(vm, reject_all, &seen, BPFVM_VERIFY_AFTER) == 0, "set");
    CHECK(LOAD(vm, ok) == BPFVM_EVERIFY && seen == 2, "user rejects");
    CHECK(strcmp(bpfvm_last_error(vm)->message, "no thanks") == 0, "user message");
    CHECK(bpfvm_last_error(vm)->insn == 1, "user insn");
    seen = 0;
    CHECK(LOAD(vm, no_exit) == BPFVM_EVERIFY && seen == 0, "built-in runs first");
    CHECK(bpfvm_set_verifier(vm, accept_all, NULL, BPFVM_VERIFY_REPLACE) == 0, "replace");
    CHECK(LOAD(vm, ok) == 0, "accepted");
    CHECK(bpfvm_set_verifier(vm, NULL, NULL, (bpfvm_verify_mode)5) == BPFVM_EINVAL, "bad mode");
    bpfvm_destroy(vm);
}

/* r0 = *(u64 *)(r1 + 0): reads the first 8 bytes of whatever r1 points at. */
static const struct bpfvm_insn read_r1[] = {
    BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R1, 0),
    BPFVM_EXIT(),
};

static void test_modes(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t mem[2] = { 0x1122334455667788ull, 5 }, mbuff[2] = { 0xabcdull, 0 }, r0 = 0;
    struct bpfvm_insn r2_prog[] = { BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R2), BPFVM_EXIT() };
    struct bpfvm_insn r1_prog[] = { BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R1), BPFVM_EXIT() };

    CHECK(LOAD(vm, read_r1) == 0, "load");
    /* raw: r1 = mem, r2 = length */
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == 0 && r0 == mem[0], "raw");
    CHECK(LOAD(vm, r2_prog) == 0, "load r2");
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == 0 && r0 == 16, "raw r2");
    /* mbuff: r1 = mbuff */
    CHECK(LOAD(vm, read_r1) == 0, "load");
    CHECK(bpfvm_set_mode(vm, BPFVM_MODE_MBUFF) == 0, "mode mbuff");
    CHECK(bpfvm_run(vm, mem, sizeof(mem), mbuff, sizeof(mbuff), &r0, NULL) == 0 && r0 == 0xabcd,
          "mbuff: %llx", (unsigned long long)r0);
    /* none: r1 = 0, so the load faults */
    CHECK(bpfvm_set_mode(vm, BPFVM_MODE_NONE) == 0, "mode none");
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == BPFVM_EMEMORY, "none faults");
    CHECK(LOAD(vm, r1_prog) == 0, "load r1");
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == 0 && r0 == 0, "none: r1 = 0");
    /* fixed mbuff: data at 8, data_end at 24 in a 32-byte buffer */
    struct bpfvm_insn fixed_prog[] = {
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R2, BPFVM_R1, 8),   /* data */
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R3, BPFVM_R1, 24),  /* data_end */
        BPFVM_MOV64_REG(BPFVM_R0, BPFVM_R3),
        BPFVM_ALU64_REG(BPFVM_SUB, BPFVM_R0, BPFVM_R2),   /* length */
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R4, BPFVM_R2, 8),   /* mem[1] */
        BPFVM_ALU64_REG(BPFVM_ADD, BPFVM_R0, BPFVM_R4),
        BPFVM_EXIT(),
    };
    CHECK(bpfvm_set_fixed_mbuff(vm, 32, 8, 24) == 0, "fixed layout");
    CHECK(LOAD(vm, fixed_prog) == 0, "load fixed");
    CHECK(bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, NULL) == 0 && r0 == 16 + 5,
          "fixed mbuff: %llu", (unsigned long long)r0);
    bpfvm_destroy(vm);
}

static void test_regions_and_errors(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t other[1] = { 777 }, r0 = 0;
    struct bpfvm_insn prog[] = {
        BPFVM_LD_IMM64(BPFVM_R1, (uint64_t)(uintptr_t)other),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R1, 0),
        BPFVM_ST_MEM(BPFVM_DW, BPFVM_R1, 0, 5),
        BPFVM_EXIT(),
    };
    bpfvm_error err;

    CHECK(LOAD(vm, prog) == 0, "load");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EMEMORY, "not registered");
    CHECK(bpfvm_last_error(vm)->insn == 2, "fault insn %lld", (long long)bpfvm_last_error(vm)->insn);
    CHECK(bpfvm_last_error(vm)->addr == (uint64_t)(uintptr_t)other, "fault addr");
    CHECK(bpfvm_last_error(vm)->size == 8, "fault size");
    CHECK(bpfvm_add_region(vm, other, sizeof(other), 0) == BPFVM_EINVAL, "no flags");
    CHECK(bpfvm_add_region(vm, other, sizeof(other), BPFVM_READ) == 0, "read region");
    /* Error detail to `err` leaves the VM's last error alone. */
    memset(&err, 0, sizeof(err));
    bpfvm_error before = *bpfvm_last_error(vm);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == BPFVM_EMEMORY, "read-only write");
    CHECK(err.code == BPFVM_EMEMORY && err.insn == 3, "err insn %lld", (long long)err.insn);
    CHECK(strstr(err.message, "write") != NULL, "%s", err.message);
    CHECK(memcmp(&before, bpfvm_last_error(vm), sizeof(before)) == 0, "VM error untouched");
    CHECK(bpfvm_add_region(vm, other, sizeof(other), BPFVM_READ | BPFVM_WRITE) == 0, "rw region");
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == 0 && r0 == 777 && other[0] == 5,
          "rw: %llu", (unsigned long long)r0);
    bpfvm_clear_regions(vm);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, &err) == BPFVM_EMEMORY, "cleared");
    bpfvm_destroy(vm);
}

static void test_stack_zeroed(void)
{
    /* Whatever ran before on the host stack, a program reads zeros. */
    bpfvm_vm *vm = bpfvm_create();
    struct bpfvm_insn prog[] = {
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -8),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R1, BPFVM_R10, -512),
        BPFVM_ALU64_REG(BPFVM_OR, BPFVM_R0, BPFVM_R1),
        BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, -1),
        BPFVM_EXIT(),
    };
    uint64_t r0 = 1;
    CHECK(LOAD(vm, prog) == 0, "load");
    for (int i = 0; i < 3; i++)
        CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 0, "run %d: %llx", i,
              (unsigned long long)r0);
    /* Beyond one frame: fault, in both directions (through a copy of r10: the
     * verifier rejects r10 + constant outside the frame). */
    struct bpfvm_insn below[] = { BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10),
                                  BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R2, -520), BPFVM_EXIT() };
    struct bpfvm_insn above[] = { BPFVM_MOV64_REG(BPFVM_R2, BPFVM_R10),
                                  BPFVM_LDX_MEM(BPFVM_B, BPFVM_R0, BPFVM_R2, 0), BPFVM_EXIT() };
    CHECK(LOAD(vm, below) == 0 && bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EMEMORY,
          "below frame");
    CHECK(LOAD(vm, above) == 0 && bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EMEMORY,
          "above frame");
    /* A large stack is allocated rather than put on the C stack. */
    CHECK(bpfvm_set_stack_size(vm, 65536) == 0, "big stack");
    /* -65536 does not fit the 16-bit offset: reach it through a register. */
    struct bpfvm_insn deep[] = {
        BPFVM_MOV64_REG(BPFVM_R1, BPFVM_R10),
        BPFVM_ALU64_IMM(BPFVM_SUB, BPFVM_R1, 65536),
        BPFVM_ST_MEM(BPFVM_DW, BPFVM_R1, 0, 9),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R1, 0),
        BPFVM_EXIT(),
    };
    CHECK(LOAD(vm, deep) == 0 && bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == 0 && r0 == 9,
          "big stack run: %s", bpfvm_last_error(vm)->message);
    bpfvm_destroy(vm);
}

/* Helpers check pointers the way the running engine checks memory: JIT code
 * compiled checked keeps checking helper pointers after bpfvm_set_checked(0). */
static void test_helper_checks_follow_engine(void)
{
    bpfvm_vm *vm = bpfvm_create();
    uint64_t r0 = 0;
    struct bpfvm_insn prog[] = {
        BPFVM_MOV64_IMM(BPFVM_R1, 8),  /* not an address the program may touch */
        BPFVM_MOV64_IMM(BPFVM_R2, 4),
        BPFVM_CALL_HELPER(BPFVM_HELPER_MEMFROB),
        BPFVM_EXIT(),
    };
    CHECK(bpfvm_register_std_helpers(vm) == 0, "std helpers");
    CHECK(LOAD(vm, prog) == 0, "load: %s", bpfvm_last_error(vm)->message);
    CHECK(bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EHELPERFAIL, "interpreter checks");
    if (bpfvm_compile(vm, 0) == 0) {
        CHECK(bpfvm_set_checked(vm, 0) == 0, "unchecked from now on");
        CHECK(bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL) == BPFVM_EHELPERFAIL,
              "code compiled checked still checks helper pointers");
    }
    bpfvm_destroy(vm);
}

/* A callee's frame reads zeros too, though the last run left -1 there. */
static void test_callee_frame_zeroed(void)
{
    bpfvm_vm *vm = bpfvm_create();
    struct bpfvm_insn prog[] = {
        BPFVM_CALL_LOCAL(1),
        BPFVM_EXIT(),
        BPFVM_LDX_MEM(BPFVM_DW, BPFVM_R0, BPFVM_R10, -8),
        BPFVM_ST_MEM(BPFVM_DW, BPFVM_R10, -8, -1),
        BPFVM_EXIT(),
    };
    uint64_t r0 = 1;
    CHECK(LOAD(vm, prog) == 0, "load: %s", bpfvm_last_error(vm)->message);
    int jit = bpfvm_compile(vm, 0) == 0;
    for (int i = 0; i < 4; i++) {
        r0 = 1;
        int rc = i % 2 && jit ? bpfvm_run_jit(vm, NULL, 0, NULL, 0, &r0, NULL)
                              : bpfvm_run(vm, NULL, 0, NULL, 0, &r0, NULL);
        CHECK(rc == 0 && r0 == 0, "run %d: %s r0=%llx", i, bpfvm_errname(rc),
              (unsigned long long)r0);
    }
    bpfvm_destroy(vm);
}

int main(void)
{
    test_errors();
    test_config();
    test_helpers();
    test_load_errors();
    test_user_verifier();
    test_modes();
    test_regions_and_errors();
    test_stack_zeroed();
    test_callee_frame_zeroed();
    test_helper_checks_follow_engine();
    return TEST_END();
}
