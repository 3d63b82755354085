/* oracle.c - the Linux kernel as the oracle for bpfvm's program types.
 *
 * For each object given (each tests/kernel/progs/NAME.c compiled at -mcpu
 * v1, v2, v3) and each packet the harness builds (valid ones of many protocols,
 * each cut at and inside every header, odd sizes, with and without a
 * context), it runs the program in the kernel (libbpf's
 * bpf_prog_test_run_opts, BPF_PROG_TEST_RUN) and in bpfvm's interpreter and
 * JIT (bpfvm_test_run) and compares: success or refusal, return value,
 * data_out and ctx_out. Each engine's comparison counts once.
 *
 * Where the kernel refuses bpf() (no root, no CONFIG_BPF_SYSCALL, a
 * seccomp filter) it prints "skipped: <reason>" and "0 passed, 0 failed".
 * Usage: oracle [-v] OBJ.o...
 *        oracle --bench REPEAT OBJ.o...   time each program on one packet in
 *        the kernel and in bpfvm (REPEAT runs, best of 3), print a table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <math.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfvm.h"

static int passed, failed, verbose;

/* ---- packets ----------------------------------------------------------- */

#define MAX_PKT 9100

typedef struct packet {
    char name[64];
    unsigned char b[MAX_PKT];
    size_t len;
} packet;

static packet *pkts;
static size_t npkts, pkts_cap;

typedef struct builder {
    unsigned char b[MAX_PKT];
    size_t len;
    size_t cuts[8]; /* header ends */
    size_t ncuts;
} builder;

static void put(builder *p, const void *src, size_t n)
{
    memcpy(p->b + p->len, src, n);
    p->len += n;
}

static void put8(builder *p, unsigned v)
{
    p->b[p->len++] = (unsigned char)v;
}

static void put16(builder *p, unsigned v)
{
    put8(p, v >> 8);
    put8(p, v & 0xff);
}

static void put32(builder *p, unsigned long v)
{
    put16(p, (unsigned)(v >> 16));
    put16(p, (unsigned)(v & 0xffff));
}

static void cut(builder *p)
{
    p->cuts[p->ncuts++] = p->len;
}

static void eth(builder *p, const unsigned char dst[6], unsigned type)
{
    static const unsigned char src[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    put(p, dst, 6);
    put(p, src, 6);
    put16(p, type);
    cut(p);
}

static void vlan(builder *p, unsigned tci, unsigned type)
{
    put16(p, tci);
    put16(p, type);
    cut(p);
}

/* IPv4 header (20 bytes + `opt` 4-byte option words) with its checksum
 * (broken on request); tot_len covers `payload` bytes behind it. */
static void ipv4(builder *p, unsigned proto, unsigned ttl, size_t payload, unsigned opt, int bad)
{
    size_t start = p->len, hl = 20 + 4 * opt;
    put8(p, 0x40 | (unsigned)(hl / 4));
    put8(p, 0);
    put16(p, (unsigned)(hl + payload));
    put16(p, 0x1234);
    put16(p, 0x4000);
    put8(p, ttl);
    put8(p, proto);
    put16(p, 0);
    put32(p, 0xc0a80001);
    put32(p, 0xc0a80002);
    for (unsigned k = 0; k < opt; k++)
        put32(p, 0x01010101); /* NOPs */
    unsigned long sum = 0;
    for (size_t k = 0; k < hl; k += 2)
        sum += (unsigned long)(p->b[start + k] << 8 | p->b[start + k + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    if (bad)
        sum ^= 0x0101;
    p->b[start + 10] = (unsigned char)(sum >> 8);
    p->b[start + 11] = (unsigned char)sum;
    cut(p);
}

static void ipv6(builder *p, unsigned next, unsigned hop, size_t payload)
{
    put32(p, 0x60000000);
    put16(p, (unsigned)payload);
    put8(p, next);
    put8(p, hop);
    for (unsigned k = 0; k < 32; k++)
        put8(p, k < 16 ? 0x20 + k : 0x30 + k);
    cut(p);
}

static void tcp(builder *p, unsigned sport, unsigned dport, unsigned flags)
{
    put16(p, sport);
    put16(p, dport);
    put32(p, 1000);
    put32(p, 0);
    put8(p, 5 << 4);
    put8(p, flags);
    put16(p, 65535);
    put16(p, 0xabcd);
    put16(p, 0);
    cut(p);
}

static void udp(builder *p, unsigned sport, unsigned dport, size_t payload)
{
    put16(p, sport);
    put16(p, dport);
    put16(p, (unsigned)(8 + payload));
    put16(p, 0x5555);
    cut(p);
}

static void icmp(builder *p, unsigned type)
{
    put8(p, type);
    put8(p, 0);
    put16(p, type == 8 ? 0xf7fe : 0x1111);
    put16(p, 1);
    put16(p, 1);
    cut(p);
}

static void payload(builder *p, size_t n, unsigned seed)
{
    for (size_t k = 0; k < n; k++)
        put8(p, (unsigned)((k * 7 + seed) & 0xff));
}

static void add(const char *name, const unsigned char *b, size_t len)
{
    if (npkts == pkts_cap) {
        pkts_cap = pkts_cap ? pkts_cap * 2 : 64;
        pkts = realloc(pkts, pkts_cap * sizeof(*pkts));
        if (!pkts)
            abort();
    }
    packet *k = &pkts[npkts++];
    snprintf(k->name, sizeof(k->name), "%s/%zu", name, len);
    memcpy(k->b, b, len);
    k->len = len;
}

/* The packet whole, cut at each header end and one byte before it, and cut
 * to an odd size inside its payload. */
static void add_cuts(const char *name, const builder *p)
{
    add(name, p->b, p->len);
    for (size_t k = 0; k < p->ncuts; k++) {
        if (p->cuts[k] < p->len)
            add(name, p->b, p->cuts[k]);
        if (p->cuts[k] - 1 >= 13)
            add(name, p->b, p->cuts[k] - 1);
    }
    size_t last = p->ncuts ? p->cuts[p->ncuts - 1] : 0;
    if (p->len > last + 3)
        add(name, p->b, last + ((p->len - last) | 1) - 2);
}

static void build_packets(void)
{
    static const unsigned char host[6] = { 0 }, other[6] = { 0x02, 0, 0, 0, 0, 9 },
                               bcast[6] = { 255, 255, 255, 255, 255, 255 },
                               mcast[6] = { 0x33, 0x33, 0, 0, 0, 1 };
    builder p;
#define NEW() memset(&p, 0, sizeof(p))
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 6, 64, 30, 0, 0); tcp(&p, 40000, 80, 0x02);
    payload(&p, 10, 1); add_cuts("ipv4-tcp", &p);
    NEW(); eth(&p, host, 0x0800); ipv4(&p, 17, 64, 25, 0, 0); udp(&p, 5353, 53, 17);
    payload(&p, 17, 2); add_cuts("ipv4-udp", &p);
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 1, 64, 16, 0, 0); icmp(&p, 8);
    payload(&p, 8, 3); add_cuts("ipv4-icmp-echo", &p);
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 1, 9, 16, 0, 0); icmp(&p, 3);
    payload(&p, 8, 4); add_cuts("ipv4-icmp-unreach", &p);
    NEW(); eth(&p, other, 0x86dd); ipv6(&p, 6, 64, 20); tcp(&p, 1234, 443, 0x12);
    add_cuts("ipv6-tcp", &p);
    NEW(); eth(&p, mcast, 0x86dd); ipv6(&p, 17, 1, 13); udp(&p, 546, 547, 5);
    payload(&p, 5, 5); add_cuts("ipv6-udp-mcast", &p);
    NEW(); eth(&p, other, 0x8100); vlan(&p, 100, 0x0800); ipv4(&p, 17, 30, 12, 0, 0);
    udp(&p, 7, 8080, 4); payload(&p, 4, 6); add_cuts("vlan-ipv4-udp", &p);
    NEW(); eth(&p, other, 0x88a8); vlan(&p, 5, 0x8100); vlan(&p, 6, 0x86dd);
    ipv6(&p, 58, 255, 8); icmp(&p, 128); add_cuts("qinq-ipv6-icmp", &p);
    NEW(); eth(&p, bcast, 0x0806); payload(&p, 28, 7); add_cuts("arp-bcast", &p);
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 4, 64, 28, 0, 0); ipv4(&p, 17, 64, 8, 0, 0);
    udp(&p, 1, 2, 0); add_cuts("ipip-udp", &p);
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 17, 64, 11, 2, 0); udp(&p, 9, 10, 3);
    payload(&p, 3, 8); add_cuts("ipv4-options-udp", &p);
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 6, 1, 20, 0, 1); tcp(&p, 22, 22, 0x10);
    add_cuts("ipv4-ttl1-badsum", &p);
    NEW(); eth(&p, other, 0x0040); payload(&p, 3, 0); p.b[14] = 0xff; p.b[15] = 0xff;
    add("8023-raw", p.b, p.len);
    NEW(); eth(&p, other, 0x0040); payload(&p, 33, 9); add("8023-llc", p.b, p.len);
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 17, 64, 1408, 0, 0); udp(&p, 4000, 4001, 1400);
    payload(&p, 1400, 10); add("ipv4-udp-large", p.b, p.len);
    add("ipv4-udp-large", p.b, 1201);
    /* the socket-buffer test run's limit: 3712 bytes taken, 3713 refused;
     * XDP keeps 3520 in its frame, the rest in fragments (one, then three) */
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 17, 64, 3699, 0, 0); udp(&p, 4000, 4001, 3671);
    payload(&p, 3671, 12); add("ipv4-udp-max", p.b, 3712);
    add("ipv4-udp-max", p.b, 3713);
    add("ipv4-udp-max", p.b, 3521);
    NEW(); eth(&p, other, 0x0800); ipv4(&p, 17, 64, 9000, 0, 0); udp(&p, 4000, 4001, 8972);
    payload(&p, 8972, 13); add("ipv4-udp-jumbo", p.b, p.len);
    NEW(); payload(&p, 13, 11); add("runt", p.b, p.len);
#undef NEW
}

/* ---- one comparison ----------------------------------------------------- */

typedef struct result {
    int ok;
    char error[400];
    unsigned retval;
    unsigned char data[4 * 4096], ctx[256]; /* room for a grown packet */
    unsigned data_len, ctx_len;
} result;

typedef struct input {
    const unsigned char *data;
    size_t len;
    const void *ctx;
    size_t ctx_len;
    size_t ctx_out;     /* ctx_out capacity asked for (0: none) */
    unsigned repeat;
    const char *what;
} input;

static void kernel_run(int fd, const input *in, result *r)
{
    memset(r, 0, sizeof(*r));
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = (unsigned)in->len,
                .data_out = r->data, .data_size_out = sizeof(r->data), .ctx_in = in->ctx,
                .ctx_size_in = (unsigned)in->ctx_len, .ctx_out = in->ctx_out ? r->ctx : NULL,
                .ctx_size_out = (unsigned)in->ctx_out, .repeat = (int)in->repeat);
    int err = bpf_prog_test_run_opts(fd, &o);
    r->ok = err == 0;
    if (!r->ok)
        snprintf(r->error, sizeof(r->error), "kernel: %s", strerror(-err));
    r->retval = o.retval;
    r->data_len = o.data_size_out;
    r->ctx_len = in->ctx_out ? o.ctx_size_out : 0;
}

static void bpfvm_side(bpfvm_vm *vm, int jit, const input *in, result *r)
{
    memset(r, 0, sizeof(*r));
    bpfvm_test_run_opts o = { in->data, in->len, r->data, sizeof(r->data), in->ctx, in->ctx_len,
                              in->ctx_out ? r->ctx : NULL, in->ctx_out, in->repeat, jit, 0, 0 };
    int rc = bpfvm_test_run(vm, &o);
    r->ok = rc == 0;
    if (!r->ok)
        snprintf(r->error, sizeof(r->error), "bpfvm: %s: %s", bpfvm_errname(rc),
                 bpfvm_last_error(vm)->message);
    r->retval = o.retval;
    r->data_len = (unsigned)o.data_size_out;
    r->ctx_len = in->ctx_out ? (unsigned)o.ctx_size_out : 0;
}

static int first_diff(const unsigned char *a, const unsigned char *b, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        if (a[k] != b[k])
            return (int)k;
    return -1;
}

static void compare(const char *obj, const char *pkt, const input *in, const char *engine,
                    const result *k, const result *v)
{
    char why[1000] = "";
    if (k->ok != v->ok)
        snprintf(why, sizeof(why), "kernel %s, bpfvm %s", k->ok ? "ran" : k->error,
                 v->ok ? "ran" : v->error);
    else if (k->ok && k->retval != v->retval)
        snprintf(why, sizeof(why), "retval kernel %u (0x%x), bpfvm %u (0x%x)", k->retval,
                 k->retval, v->retval, v->retval);
    else if (k->ok && k->data_len != v->data_len)
        snprintf(why, sizeof(why), "data_out size kernel %u, bpfvm %u", k->data_len, v->data_len);
    else if (k->ok && first_diff(k->data, v->data, k->data_len) >= 0) {
        int at = first_diff(k->data, v->data, k->data_len);
        snprintf(why, sizeof(why), "data_out byte %d: kernel %02x, bpfvm %02x", at, k->data[at],
                 v->data[at]);
    } else if (k->ok && k->ctx_len != v->ctx_len)
        snprintf(why, sizeof(why), "ctx_out size kernel %u, bpfvm %u", k->ctx_len, v->ctx_len);
    else if (k->ok && first_diff(k->ctx, v->ctx, k->ctx_len) >= 0) {
        int at = first_diff(k->ctx, v->ctx, k->ctx_len);
        snprintf(why, sizeof(why), "ctx_out byte %d: kernel %02x, bpfvm %02x", at, k->ctx[at],
                 v->ctx[at]);
    }
    if (why[0]) {
        failed++;
        printf("DIFF %s %s [%s] %s: %s\n", obj, pkt, in->what, engine, why);
    } else {
        passed++;
        if (verbose)
            printf("ok %s %s [%s] %s: %s retval %u\n", obj, pkt, in->what, engine,
                   k->ok ? "ran" : "refused", k->retval);
    }
}

/* ---- contexts ----------------------------------------------------------- */

/* The inputs for packet `i` of a program of type `t`: the packet alone
 * (with ctx_out for socket-buffer types, whose ctx_out needs no ctx_in),
 * then with a context: XDP 8 bytes of metadata and the loopback device,
 * socket buffers mark, priority, cb and the rest ctx_in may set. */
static size_t inputs_for(enum bpf_prog_type t, size_t i, unsigned char *buf, unsigned *xdp,
                         struct __sk_buff *skb, input in[3])
{
    const packet *p = &pkts[i];
    bool is_xdp = t == BPF_PROG_TYPE_XDP;
    size_t n = 0;
    in[n++] = (input){ p->b, p->len, NULL, 0, is_xdp ? 0 : sizeof(*skb), 1, "plain" };
    if (is_xdp) {
        for (unsigned k = 0; k < 8; k++)
            buf[k] = (unsigned char)(0xa0 + k + i);
        memcpy(buf + 8, p->b, p->len);
        memset(xdp, 0, 6 * sizeof(*xdp));
        xdp[0] = 8;                          /* data: the metadata's length */
        xdp[1] = (unsigned)(p->len + 8);     /* data_end */
        xdp[3] = i & 1;                      /* ingress_ifindex: none or loopback */
        in[n++] = (input){ buf, p->len + 8, xdp, 6 * sizeof(*xdp), 6 * sizeof(*xdp), 1, "meta" };
        if (i % 5 == 0)
            in[n++] = (input){ p->b, p->len, NULL, 0, 0, 3, "repeat3" };
    } else {
        memset(skb, 0, sizeof(*skb));
        skb->mark = (unsigned)i * 7 + 1;
        skb->priority = (unsigned)i;
        skb->ingress_ifindex = i & 1;
        skb->ifindex = i & 2 ? 1 : 0;
        for (unsigned k = 0; k < 5; k++)
            skb->cb[k] = (unsigned)(i << 8) + k;
        skb->gso_segs = (unsigned)(i % 3);
        skb->gso_size = i % 2 ? 1400 : 0;
        skb->hwtstamp = 1000 + i;
        skb->wire_len = i % 4 == 3 ? (unsigned)p->len + 100 : 0;
        in[n++] = (input){ p->b, p->len, skb, sizeof(*skb), sizeof(*skb), 1, "ctx" };
    }
    return n;
}

/* ---- objects ------------------------------------------------------------ */

static int print_nothing(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (verbose && level <= LIBBPF_INFO)
        vfprintf(stderr, fmt, ap);
    return 0;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

/* Compare one program in every input. */
static void check_object(const char *path)
{
    const char *obj_name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    struct bpf_object *obj = bpf_object__open_file(path, NULL);
    if (!obj) {
        printf("FAIL %s: libbpf cannot open it: %s\n", obj_name, strerror(errno));
        failed++;
        return;
    }
    int err = bpf_object__load(obj);
    if (err) {
        bpf_object__close(obj);
        printf("FAIL %s: the kernel rejects it: %s (-v shows the verifier's log)\n", obj_name,
               strerror(-err));
        failed++;
        return;
    }
    size_t len;
    unsigned char *elf = read_file(path, &len);
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, obj) {
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_set_prog_type(vm, BPFVM_PROG_AUTO);
        if (!elf || bpfvm_load_elf(vm, elf, len, bpf_program__section_name(prog),
                                   bpf_program__name(prog)) ||
            bpfvm_compile(vm, 0)) {
            printf("FAIL %s: bpfvm cannot load it: %s\n", obj_name,
                   bpfvm_last_error(vm)->message);
            failed++;
            bpfvm_destroy(vm);
            continue;
        }
        static unsigned char buf[MAX_PKT + 8];
        unsigned xdp[6];
        struct __sk_buff skb;
        input in[3];
        for (size_t i = 0; i < npkts; i++) {
            size_t n = inputs_for(bpf_program__type(prog), i, buf, xdp, &skb, in);
            for (size_t k = 0; k < n; k++) {
                static result kr, vr;
                kernel_run(bpf_program__fd(prog), &in[k], &kr);
                for (int jit = 0; jit < 2; jit++) {
                    bpfvm_side(vm, jit, &in[k], &vr);
                    compare(obj_name, pkts[i].name, &in[k], jit ? "jit" : "interpreter", &kr,
                            &vr);
                }
            }
        }
        bpfvm_destroy(vm);
    }
    free(elf);
    bpf_object__close(obj);
}

/* ---- the benchmark ------------------------------------------------------ */

/* The packet a program is timed on: one it does its whole work for. */
static const packet *bench_packet(const char *obj)
{
    const char *want = strstr(obj, "decap") ? "ipip-udp/" : strstr(obj, "icmp") ? "ipv4-icmp-echo/"
                                                                                 : "ipv4-tcp/";
    const packet *best = NULL;
    for (size_t i = 0; i < npkts; i++)
        if (strncmp(pkts[i].name, want, strlen(want)) == 0 &&
            (!best || pkts[i].len > best->len))
            best = &pkts[i];
    return best;
}

static double best_of_3(int fd, bpfvm_vm *vm, int jit, const input *in)
{
    double best = INFINITY;
    for (int k = 0; k < 3; k++) {
        static result r;
        if (fd >= 0) {
            LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data,
                        .data_size_in = (unsigned)in->len, .repeat = (int)in->repeat);
            if (bpf_prog_test_run_opts(fd, &o))
                return NAN;
            r.retval = o.duration;
        } else {
            bpfvm_test_run_opts o = { in->data, in->len, NULL, 0, NULL, 0, NULL, 0, in->repeat,
                                      jit, 0, 0 };
            if (bpfvm_test_run(vm, &o))
                return NAN;
            r.retval = (unsigned)o.duration_ns;
        }
        best = r.retval < best ? r.retval : best;
    }
    return best;
}

static int bench(unsigned repeat, int nobj, char **objs)
{
    double logsum[2] = { 0, 0 };
    int n = 0;
    printf("%-22s %10s %12s %10s %12s %12s\n", "program (ns per run)", "kernel", "interpreter",
           "jit", "interp/kern", "jit/kernel");
    for (int a = 0; a < nobj; a++) {
        const char *name = strrchr(objs[a], '/') ? strrchr(objs[a], '/') + 1 : objs[a];
        size_t len;
        unsigned char *elf = read_file(objs[a], &len);
        struct bpf_object *obj = bpf_object__open_file(objs[a], NULL);
        if (!elf || !obj || bpf_object__load(obj)) {
            printf("%-22s cannot load\n", name);
            free(elf);
            bpf_object__close(obj);
            continue;
        }
        struct bpf_program *prog = bpf_object__next_program(obj, NULL);
        bpfvm_vm *vm = bpfvm_create();
        bpfvm_set_prog_type(vm, BPFVM_PROG_AUTO);
        const packet *p = bench_packet(name);
        input in = { p->b, p->len, NULL, 0, 0, repeat, "bench" };
        if (bpfvm_load_elf(vm, elf, len, bpf_program__section_name(prog),
                           bpf_program__name(prog)) == 0 &&
            bpfvm_compile(vm, 0) == 0) {
            double k = best_of_3(bpf_program__fd(prog), NULL, 0, &in);
            double i = best_of_3(-1, vm, 0, &in), j = best_of_3(-1, vm, 1, &in);
            printf("%-22s %10.0f %12.0f %10.0f %12.2f %12.2f\n", name, k, i, j, i / k, j / k);
            if (k > 0 && i > 0 && j > 0) {
                logsum[0] += log(i / k);
                logsum[1] += log(j / k);
                n++;
            }
        }
        bpfvm_destroy(vm);
        bpf_object__close(obj);
        free(elf);
    }
    if (n)
        printf("%-22s %10s %12s %10s %12.2f %12.2f\n", "geometric mean", "", "", "",
               exp(logsum[0] / n), exp(logsum[1] / n));
    return 0;
}

/* Does the kernel let us load a program? NULL, or why not. */
static const char *bpf_refused(void)
{
    static const struct bpf_insn ret0[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
        { .code = BPF_JMP | BPF_EXIT },
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "probe", "GPL", ret0, 2, NULL);
    if (fd < 0)
        return strerror(errno);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        verbose = 1;
        first = 2;
    }
    libbpf_set_print(print_nothing);
    if (first >= argc) {
        printf("skipped: no test objects (clang was not found at build time)\n");
        printf("0 passed, 0 failed\n");
        return 0;
    }
    const char *why = bpf_refused();
    if (why) {
        printf("skipped: the kernel refuses to load BPF programs here (%s; the oracle needs "
               "root or CAP_BPF and CONFIG_BPF_SYSCALL)\n", why);
        printf("0 passed, 0 failed\n");
        return 0;
    }
    build_packets();
    if (strcmp(argv[first], "--bench") == 0 && first + 1 < argc)
        return bench((unsigned)strtoul(argv[first + 1], NULL, 0), argc - first - 2,
                     argv + first + 2);
    for (int a = first; a < argc; a++)
        check_object(argv[a]);
    printf("%d objects, %zu packets: %d comparisons\n", argc - first, npkts, passed + failed);
    printf("%d passed, %d failed\n", passed, failed);
    free(pkts);
    return failed != 0;
}
