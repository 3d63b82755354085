/* test_progtype.c - program types: the load-time context conversion, its
 * errors, user context layouts, the packet helpers and bpfvm_test_run, in
 * both engines. (The kernel itself checks the same in tests/kernel/.) */
#include <stdlib.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

static bpfvm_vm *load(bpfvm_prog_type type, const char *text, int *rc)
{
    bpfvm_vm *vm = bpfvm_create();
    bpfvm_set_prog_type(vm, type);
    *rc = bpfvm_load_asm(vm, text, "t.s");
    return vm;
}

/* A load that must fail, with a message holding each of the `want` parts. */
static void load_fails(bpfvm_prog_type type, const char *text, const char *want1,
                       const char *want2)
{
    int rc;
    bpfvm_vm *vm = load(type, text, &rc);
    const char *msg = bpfvm_last_error(vm)->message;
    CHECK(rc == BPFVM_EVERIFY, "%s: rc %d (%s)", text, rc, msg);
    CHECK(strstr(msg, want1) && (!want2 || strstr(msg, want2)), "%s: message '%s'", text, msg);
    bpfvm_destroy(vm);
}

typedef struct outcome {
    int rc;
    uint32_t retval;
    unsigned char data[4096], ctx[256];
    size_t data_len, ctx_len;
} outcome;

/* Test-run in both engines; the outcomes must be equal. */
static outcome run2(bpfvm_vm *vm, const void *pkt, size_t len, const void *ctx, size_t ctx_len,
                    int want_ctx)
{
    outcome out[2];
    CHECK(bpfvm_compile(vm, 0) == 0, "compile: %s", bpfvm_last_error(vm)->message);
    for (int jit = 0; jit < 2; jit++) {
        outcome *o = &out[jit];
        memset(o, 0, sizeof(*o));
        bpfvm_test_run_opts opts = { pkt, len, o->data, sizeof(o->data), ctx, ctx_len,
                                     want_ctx ? o->ctx : NULL, sizeof(o->ctx), 1, jit, 0, 0 };
        o->rc = bpfvm_test_run(vm, &opts);
        o->retval = opts.retval;
        o->data_len = o->rc ? 0 : opts.data_size_out;
        o->ctx_len = o->rc || !want_ctx ? 0 : opts.ctx_size_out;
    }
    CHECK(out[0].rc == out[1].rc && out[0].retval == out[1].retval &&
              out[0].data_len == out[1].data_len && out[0].ctx_len == out[1].ctx_len &&
              memcmp(out[0].data, out[1].data, out[0].data_len) == 0 &&
              memcmp(out[0].ctx, out[1].ctx, out[0].ctx_len) == 0,
          "engines differ: rc %d/%d retval %u/%u", out[0].rc, out[1].rc, out[0].retval,
          out[1].retval);
    return out[0];
}

static unsigned char pkt[64] = { 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45 };

static void test_xdp_conversion(void)
{
    int rc;
    /* r0 = data_end - data, through a spill of the context and a local call */
    bpfvm_vm *vm = load(BPFVM_PROG_XDP,
                        "stxdw [r10-8], r1\n"
                        "ldxdw r6, [r10-8]\n"
                        "mov64 r1, r6\n"
                        "call local sub\n"
                        "ldxw r3, [r6+12]\n"    /* ingress_ifindex */
                        "lsh64 r3, 16\n"
                        "or64 r0, r3\n"
                        "exit\n"
                        "sub:\n"
                        "ldxw r2, [r1+0]\n"
                        "ldxw r3, [r1+4]\n"
                        "mov64 r0, r3\n"
                        "sub64 r0, r2\n"
                        "exit\n",
                        &rc);
    CHECK(rc == 0, "load: %s", bpfvm_last_error(vm)->message);
    CHECK(bpfvm_get_prog_type(vm) == BPFVM_PROG_XDP, "type");
    size_t n;
    const bpfvm_insn *p = bpfvm_program(vm, &n);
    CHECK(n == 13 && p[8].off == 192 && p[8].opcode == (BPFVM_LDX | BPFVM_MEM | BPFVM_DW) &&
              p[9].off == 200 && p[4].off == 216 && p[4].opcode == (BPFVM_LDX | BPFVM_MEM | BPFVM_W),
          "converted: n %zu off %d op 0x%x", n, p[8].off, p[8].opcode);
    outcome o = run2(vm, pkt, 60, NULL, 0, 0);
    CHECK(o.rc == 0 && o.retval == (1u << 16 | 60), "rc %d retval 0x%x", o.rc, o.retval);
    CHECK(o.data_len == 60 && memcmp(o.data, pkt, 60) == 0, "data_out %zu", o.data_len);
    /* the packet ends at data_end: reading past it is a fault naming the address */
    uint64_t r0;
    bpfvm_destroy(vm);
    vm = load(BPFVM_PROG_XDP, "ldxw r1, [r1+0]\nldxb r0, [r1+20]\nexit\n", &rc);
    o = run2(vm, pkt, 20, NULL, 0, 0);
    CHECK(o.rc == BPFVM_EMEMORY, "past data_end: %d", o.rc);
    o = run2(vm, pkt, 21, NULL, 0, 0);
    CHECK(o.rc == 0 && o.retval == 0, "inside: %d", o.rc);
    /* the run buffer only comes from bpfvm_test_run */
    unsigned char fake[300] = { 0 };
    CHECK(bpfvm_run(vm, pkt, 20, fake, sizeof(fake), &r0, NULL) == BPFVM_EINVAL &&
              strstr(bpfvm_last_error(vm)->message, "bpfvm_test_run"),
          "plain run: %s", bpfvm_last_error(vm)->message);
    bpfvm_destroy(vm);
}

static void test_conversion_errors(void)
{
    load_fails(BPFVM_PROG_XDP, "mov64 r2, 1\nstxw [r1+0], r2\nmov64 r0, 0\nexit\n",
               "instruction 1: write to read-only field xdp_md.data", NULL);
    load_fails(BPFVM_PROG_XDP, "ldxw r0, [r1+24]\nexit\n", "instruction 0", "no field");
    load_fails(BPFVM_PROG_XDP, "ldxw r0, [r1+20]\nexit\n", "xdp_md.egress_ifindex", "xdp");
    load_fails(BPFVM_PROG_XDP, "ldxh r0, [r1+0]\nexit\n", "partial access", "xdp_md.data");
    load_fails(BPFVM_PROG_XDP, "ldxdw r0, [r1+0]\nexit\n", "no field", NULL);
    load_fails(BPFVM_PROG_XDP, "add64 r1, 4\nldxw r0, [r1+0]\nexit\n", "instruction 1",
               "modified context pointer");
    load_fails(BPFVM_PROG_XDP, "mov64 r2, r10\njeq r1, 0, +1\nmov64 r2, r1\nldxw r0, [r2+0]\nexit\n",
               "instruction 3", "some paths");
    load_fails(BPFVM_PROG_XDP, "stw [r1+0], 1\nmov64 r0, 0\nexit\n", "immediate store", NULL);
    load_fails(BPFVM_PROG_SCHED_CLS, "mov64 r2, 1\nlock add32 [r1+8], r2\nmov64 r0, 0\nexit\n",
               "atomic", NULL);
    load_fails(BPFVM_PROG_SOCKET_FILTER, "ldxw r0, [r1+76]\nexit\n", "__sk_buff.data",
               "socket");
    load_fails(BPFVM_PROG_SOCKET_FILTER, "mov64 r2, 1\nstxw [r1+8], r2\nmov64 r0, 0\nexit\n",
               "read-only field __sk_buff.mark", NULL);
    load_fails(BPFVM_PROG_SCHED_CLS, "ldxh r0, [r1+1]\nexit\n", "misaligned", "__sk_buff.len");
    load_fails(BPFVM_PROG_SCHED_CLS, "ldxdw r0, [r1+64]\nexit\n", "no field", NULL);
    load_fails(BPFVM_PROG_XDP, "ldabsb 12\nexit\n", "ld_abs", NULL);
    load_fails(BPFVM_PROG_SCHED_CLS, "r0 = *(s32 *)(r1 + 0)\nexit\n", "sign-extending", NULL);
}

static void test_skb(void)
{
    int rc;
    /* tc: len + protocol (network order) + narrow reads; writes of mark,
     * tc_index (16-bit in the kernel) and cb, an 8-byte cb write */
    bpfvm_vm *vm = load(BPFVM_PROG_SCHED_CLS,
                        "ldxw r0, [r1+0]\n"
                        "ldxw r2, [r1+16]\n"
                        "lsh64 r2, 16\n"
                        "or64 r0, r2\n"
                        "ldxb r2, [r1+17]\n"   /* second byte of protocol: 0x00 */
                        "ldxh r3, [r1+18]\n"   /* beyond the 16-bit field: 0 */
                        "or64 r2, r3\n"
                        "lsh64 r2, 48\n"
                        "or64 r0, r2\n"
                        "mov64 r2, 0x10005\n"
                        "stxw [r1+44], r2\n"
                        "ldxw r2, [r1+44]\n"
                        "stxw [r1+8], r2\n"    /* mark = 5 */
                        "lddw r2, 0x1122334455667788\n"
                        "stxdw [r1+48], r2\n"
                        "exit\n",
                        &rc);
    CHECK(rc == 0, "load: %s", bpfvm_last_error(vm)->message);
    unsigned char ctx[192] = { 0 };
    ctx[32] = 7; /* priority */
    outcome o = run2(vm, pkt, 64, ctx, sizeof(ctx), 1);
    CHECK(o.rc == 0 && o.retval == (64u | 0x0008u << 16), "rc %d retval 0x%x", o.rc, o.retval);
    CHECK(o.ctx_len == 192 && o.ctx[8] == 5 && o.ctx[32] == 7 && o.ctx[40] == 1 &&
              o.ctx[48] == 0x88 && o.ctx[55] == 0x11 && o.ctx[44] == 0 && o.ctx[160] == 64,
          "ctx_out: mark %d prio %d ifindex %d cb %02x wire_len %d", o.ctx[8], o.ctx[32],
          o.ctx[40], o.ctx[48], o.ctx[160]);
    /* bad inputs */
    ctx[0] = 1; /* len may not be given */
    o = run2(vm, pkt, 64, ctx, sizeof(ctx), 1);
    CHECK(o.rc == BPFVM_EINVAL, "ctx_in len: %d", o.rc);
    o = run2(vm, pkt, 13, NULL, 0, 1);
    CHECK(o.rc == BPFVM_EINVAL, "short packet: %d", o.rc);
    bpfvm_destroy(vm);
    /* socket: data starts at the network header; data_out has the
     * Ethernet header zeroed, as the kernel's test run leaves it */
    vm = load(BPFVM_PROG_SOCKET_FILTER, "ldxw r0, [r1+0]\nexit\n", &rc);
    o = run2(vm, pkt, 64, NULL, 0, 0);
    CHECK(o.rc == 0 && o.retval == 50 && o.data_len == 64 && o.data[6] == 0 && o.data[14] == 0x45,
          "socket: rc %d len %u", o.rc, o.retval);
    bpfvm_destroy(vm);
}

static void test_helpers(void)
{
    int rc;
    /* adjust_head(-14): 14 new bytes in front; adjust_meta(-8); adjust_tail(+6) */
    bpfvm_vm *vm = load(BPFVM_PROG_XDP,
                        "mov64 r6, r1\n"
                        "mov64 r2, -14\n"
                        "call 44\n"
                        "mov64 r7, r0\n"
                        "mov64 r1, r6\n"
                        "mov64 r2, -8\n"
                        "call 54\n"
                        "or64 r7, r0\n"
                        "mov64 r1, r6\n"
                        "mov64 r2, 6\n"
                        "call 65\n"
                        "or64 r7, r0\n"
                        "ldxw r2, [r6+8]\n"    /* data_meta */
                        "stb [r2+0], 0x33\n"
                        "ldxw r2, [r6+0]\n"
                        "stb [r2+0], 0x44\n"
                        "mov64 r1, r6\n"
                        "mov64 r2, -300\n"     /* too far: -EINVAL */
                        "call 44\n"
                        "lsh64 r0, 32\n"
                        "or64 r0, r7\n"
                        "exit\n",
                        &rc);
    CHECK(rc == 0, "load: %s", bpfvm_last_error(vm)->message);
    outcome o = run2(vm, pkt, 20, NULL, 0, 0);
    CHECK(o.rc == 0 && o.retval == 0, "helpers: rc %d retval 0x%x", o.rc, o.retval);
    CHECK(o.data_len == 8 + 14 + 20 + 6 && o.data[0] == 0x33 && o.data[8] == 0x44 &&
              o.data[22 + 12] == 0x08 && o.data[47] == 0,
          "data_out %zu: %02x %02x", o.data_len, o.data[0], o.data[8]);
    bpfvm_destroy(vm);
    /* a packet larger than the frame's room: the program sees 3520 bytes,
     * the rest is in fragments that adjust_tail grows and shrinks */
    vm = load(BPFVM_PROG_XDP,
              "mov64 r6, r1\n"
              "mov64 r2, 10\n"
              "call 65\n"
              "mov64 r7, r0\n"
              "mov64 r1, r6\n"
              "mov64 r2, -1500\n"     /* 1490 bytes of fragment, then 10 from data_end */
              "call 65\n"
              "or64 r7, r0\n"
              "ldxw r2, [r6+0]\n"
              "ldxw r0, [r6+4]\n"
              "sub64 r0, r2\n"
              "lsh64 r7, 32\n"
              "or64 r0, r7\n"
              "exit\n",
              &rc);
    static unsigned char big[5000];
    memset(big, 0x5a, sizeof(big));
    o = run2(vm, big, sizeof(big), NULL, 0, 0);
    CHECK(o.rc == 0 && o.retval == 3510 && o.data_len == 3510 && o.data[3509] == 0x5a,
          "fragments: rc %d retval %u data_out %zu", o.rc, o.retval, o.data_len);
    o = run2(vm, big, 3600, NULL, 0, 0); /* 80 + 10 - 1500: only data_end moves back 1410 */
    CHECK(o.rc == 0 && o.retval == 2110 && o.data_len == 2110, "fragment dropped: %u %zu",
          o.retval, o.data_len);
    bpfvm_destroy(vm);
    /* skb_load_bytes in and out of range; store_bytes */
    vm = load(BPFVM_PROG_SCHED_CLS,
              "mov64 r6, r1\n"
              "mov64 r2, 12\n"
              "mov64 r3, r10\n"
              "add64 r3, -8\n"
              "mov64 r4, 2\n"
              "call 26\n"
              "mov64 r7, r0\n"
              "ldxh r8, [r10-8]\n"
              "mov64 r1, r6\n"
              "mov64 r2, 63\n"
              "mov64 r3, r10\n"
              "add64 r3, -8\n"
              "mov64 r4, 2\n"
              "call 26\n"       /* -EFAULT, buffer zeroed */
              "ldxh r2, [r10-8]\n"
              "or64 r8, r2\n"
              "stxw [r10-16], r0\n"
              "mov64 r1, r6\n"
              "mov64 r2, 0\n"
              "mov64 r3, r10\n"
              "add64 r3, -16\n"
              "mov64 r4, 4\n"
              "mov64 r5, 0\n"
              "call 9\n"
              "or64 r7, r0\n"
              "mov64 r0, r8\n"
              "lsh64 r7, 16\n"
              "or64 r0, r7\n"
              "exit\n",
              &rc);
    CHECK(rc == 0, "load: %s", bpfvm_last_error(vm)->message);
    o = run2(vm, pkt, 64, NULL, 0, 0);
    CHECK(o.rc == 0 && o.retval == 0x0008 && o.data[0] == 0xf2 && o.data[3] == 0xff,
          "skb helpers: rc %d retval 0x%x data %02x", o.rc, o.retval, o.data[0]);
    bpfvm_destroy(vm);
    /* checksum helpers, with values the kernel gives: csum_diff of
     * {0xdeadbeef, 0xdeadbeef} is 0x3b3b; an IPv4 TTL 64 -> 63 turns the
     * header checksum 0x26c4 into 0x27c4 */
    vm = load(BPFVM_PROG_XDP,
              "lddw r1, 0xdeadbeefdeadbeef\n"
              "stxdw [r10-8], r1\n"
              "mov64 r1, 0\nmov64 r2, 0\nmov64 r3, r10\nadd64 r3, -8\n"
              "mov64 r4, 8\nmov64 r5, 0\ncall 28\nexit\n",
              &rc);
    o = run2(vm, pkt, 20, NULL, 0, 0);
    CHECK(o.rc == 0 && o.retval == 0x3b3b, "csum_diff: rc %d 0x%x", o.rc, o.retval);
    bpfvm_destroy(vm);
    vm = load(BPFVM_PROG_SCHED_CLS,
              "mov64 r2, 24\nmov64 r3, 0x1140\nmov64 r4, 0x113f\nmov64 r5, 2\ncall 10\nexit\n",
              &rc);
    unsigned char ip[34] = { [12] = 0x08, [14] = 0x45, [22] = 0x40, [23] = 0x11, [24] = 0x26,
                             [25] = 0xc4 };
    o = run2(vm, ip, sizeof(ip), NULL, 0, 0);
    CHECK(o.rc == 0 && o.retval == 0 && o.data[24] == 0x27 && o.data[25] == 0xc4,
          "l3_csum_replace: rc %d %u %02x%02x", o.rc, o.retval, o.data[24], o.data[25]);
    bpfvm_destroy(vm);
    /* a helper of another type (registered when the VM had that type)
     * fails the run */
    vm = load(BPFVM_PROG_XDP, "mov64 r0, 0\nexit\n", &rc);
    bpfvm_set_prog_type(vm, BPFVM_PROG_SCHED_CLS);
    CHECK(bpfvm_load_asm(vm, "mov64 r2, -4\ncall 44\nexit\n", "t.s") == 0, "load");
    o = run2(vm, pkt, 64, NULL, 0, 0);
    CHECK(o.rc == BPFVM_EHELPERFAIL &&
              strstr(bpfvm_last_error(vm)->message, "not available to programs of type tc"),
          "xdp helper in tc: %d %s", o.rc, bpfvm_last_error(vm)->message);
    bpfvm_destroy(vm);
    /* a helper given something else than the context fails the run */
    vm = load(BPFVM_PROG_XDP, "mov64 r1, r10\nmov64 r2, 0\ncall 44\nexit\n", &rc);
    o = run2(vm, pkt, 20, NULL, 0, 0);
    CHECK(o.rc == BPFVM_EHELPERFAIL, "bad context argument: %d", o.rc);
    bpfvm_destroy(vm);
}

static void test_user_layout(void)
{
    /* the program sees {u32 a; u32 ptr;}; the run buffer holds a 16-bit a
     * at 8 and the pointer at 0 */
    static const bpfvm_ctx_field fields[] = {
        { "ptr", 4, 4, 0, 8, BPFVM_CTX_READ },
        { "a", 0, 4, 8, 2, BPFVM_CTX_READ | BPFVM_CTX_WRITE },
    };
    bpfvm_ctx_layout l = { "md", 8, fields, 2 };
    bpfvm_vm *vm = bpfvm_create();
    CHECK(bpfvm_set_ctx_layout(vm, &l) == 0, "layout: %s", bpfvm_last_error(vm)->message);
    int rc = bpfvm_load_asm(vm, "ldxw r2, [r1+4]\nldxb r0, [r2+1]\nldxw r3, [r1+0]\n"
                                "add64 r0, r3\nmov64 r3, 0x10009\nstxw [r1+0], r3\nexit\n", "t.s");
    CHECK(rc == 0, "load: %s", bpfvm_last_error(vm)->message);
    unsigned char mem[4] = { 0, 40 }, buf[16] = { 0 };
    uint64_t ptr = (uint64_t)(uintptr_t)mem, r0 = 0;
    memcpy(buf, &ptr, 8);
    buf[8] = 2;
    CHECK(bpfvm_run(vm, mem, sizeof(mem), buf, sizeof(buf), &r0, NULL) == 0 && r0 == 42 &&
              buf[8] == 9 && buf[9] == 0 && buf[10] == 0,
          "user layout run: r0 %llu buf %d %d", (unsigned long long)r0, buf[8], buf[10]);
    bpfvm_ctx_field bad[2] = { fields[0], fields[1] };
    bad[1].off = 2;
    l.fields = bad;
    CHECK(bpfvm_set_ctx_layout(vm, &l) == BPFVM_EINVAL, "overlapping fields accepted");
    bad[1] = fields[1];
    bad[1].flags |= BPFVM_CTX_WRITE_PART; /* parts of a narrower run field are never written */
    CHECK(bpfvm_set_ctx_layout(vm, &l) == BPFVM_EINVAL, "partial writes of a narrower field");
    bpfvm_destroy(vm);
}

static void test_sections(void)
{
    static const struct {
        const char *sec;
        bpfvm_prog_type type;
    } t[] = {
        { "xdp", BPFVM_PROG_XDP }, { "xdp.frags", BPFVM_PROG_XDP }, { "xdp/foo", BPFVM_PROG_NONE },
        { "tc", BPFVM_PROG_SCHED_CLS }, { "classifier", BPFVM_PROG_SCHED_CLS },
        { "socket", BPFVM_PROG_SOCKET_FILTER }, { "socket1", BPFVM_PROG_NONE },
        { "cgroup_skb/ingress", BPFVM_PROG_CGROUP_SKB },
        { "cgroup_skb/egress", BPFVM_PROG_CGROUP_SKB }, { "cgroup_skb", BPFVM_PROG_NONE },
        { "raw_tp/sys_enter", BPFVM_PROG_RAW_CTX }, { "raw_tp", BPFVM_PROG_RAW_CTX },
        { "raw_tpx", BPFVM_PROG_NONE }, { "syscall", BPFVM_PROG_RAW_CTX },
        { "tracepoint/sched/sched_switch", BPFVM_PROG_RAW_CTX }, { "prog", BPFVM_PROG_NONE },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        CHECK(bpfvm_prog_type_from_section(t[i].sec) == t[i].type, "section %s", t[i].sec);
    bpfvm_prog_type ty;
    CHECK(bpfvm_prog_type_by_name("cgroup_skb", &ty) == 0 && ty == BPFVM_PROG_CGROUP_SKB &&
              strcmp(bpfvm_prog_type_name(ty), "cgroup_skb") == 0 &&
              bpfvm_prog_type_by_name("nope", &ty) == BPFVM_ENOTFOUND,
          "names");
}

static void test_raw_ctx(void)
{
    int rc;
    bpfvm_vm *vm = load(BPFVM_PROG_RAW_CTX, "ldxdw r0, [r1+8]\nstdw [r1+0], 9\nadd64 r0, r2\nexit\n",
                        &rc);
    uint64_t args[2] = { 1, 30 };
    outcome o = run2(vm, NULL, 0, args, sizeof(args), 1);
    uint64_t first;
    memcpy(&first, o.ctx, 8);
    CHECK(o.rc == 0 && o.retval == 46 && o.ctx_len == 16 && first == 9, "raw ctx: rc %d r0 %u",
          o.rc, o.retval);
    o = run2(vm, pkt, 4, args, sizeof(args), 1);
    CHECK(o.rc == BPFVM_EINVAL, "raw with data_in: %d", o.rc);
    bpfvm_destroy(vm);
}

int main(void)
{
    test_xdp_conversion();
    test_conversion_errors();
    test_skb();
    test_helpers();
    test_user_layout();
    test_sections();
    test_raw_ctx();
    return TEST_END();
}
