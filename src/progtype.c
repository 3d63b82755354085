/* progtype.c - program types: the kernel's context layouts (struct xdp_md,
 * struct __sk_buff) with their access rules per type, the load-time context
 * conversion (as the kernel's convert_ctx_accesses: after it the engines see
 * ordinary loads and stores into a run buffer), the packet helpers that live
 * beside the layouts in the kernel (net/core/filter.c), and bpfvm_test_run,
 * the counterpart of the kernel's BPF_PROG_TEST_RUN (net/bpf/test_run.c). */
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- the kernel's numbers ------------------------------------------------ */

#define ETH_HLEN        14u
#define PAGE            4096u
#define XDP_HEADROOM    256u  /* XDP_PACKET_HEADROOM */
#define SHINFO_ROOM     320u  /* SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), x86-64 */
#define XDP_FRAME_SIZE  40u   /* sizeof(struct xdp_frame): kept below data_meta */
#define XDP_MAX_META    32u
#define SKB_HEADROOM    64u   /* NET_SKB_PAD + NET_IP_ALIGN */
#define XDP_MAX_DATA    (PAGE - XDP_HEADROOM - SHINFO_ROOM)
#define XDP_MAX_FRAGS   17u   /* MAX_SKB_FRAGS: pages behind the frame for larger packets */
#define SKB_MAX_DATA    (PAGE - SKB_HEADROOM - SHINFO_ROOM)
#define LOOPBACK        1u    /* the test run's device */
#define GSO_MAX_SEGS    65535u
#define GSO_LEGACY_MAX  65536u

#define KERR_EFAULT   14
#define KERR_EACCES   13
#define KERR_EINVAL   22

enum {
    HELPER_SKB_STORE_BYTES = 9,
    HELPER_L3_CSUM_REPLACE = 10,
    HELPER_L4_CSUM_REPLACE = 11,
    HELPER_SKB_LOAD_BYTES = 26,
    HELPER_CSUM_DIFF = 28,
    HELPER_XDP_ADJUST_HEAD = 44,
    HELPER_XDP_ADJUST_META = 54,
    HELPER_XDP_ADJUST_TAIL = 65
};

/* ---- the run buffer ------------------------------------------------------ */

/* What a packet program's r1 points at. The first RUN_VISIBLE bytes are the
 * run buffer the converted program addresses: the __sk_buff image (value
 * fields at their own offsets), then the packet pointers and XDP's values.
 * The rest is bpfvm's, out of the program's reach. */
#define SKB_SIZE 192u
#define RUN_DATA 192u
#define RUN_DATA_END 200u
#define RUN_DATA_META 208u
#define RUN_IFINDEX 216u
#define RUN_RXQ 220u
#define RUN_VISIBLE 224u
#define RUN_MAGIC 0x627066766d72756eull /* "bpfvmrun" */

typedef struct pkt_run {
    uint8_t view[SKB_SIZE];
    uint64_t data, data_end, data_meta;
    uint32_t ingress_ifindex, rx_queue_index;
    /* bpfvm's part */
    uint64_t magic;
    uint64_t hard_start, hard_end; /* XDP: the frame; skb: the packet buffer */
    /* XDP: the packet's bytes past the frame, in pages behind it */
    uint32_t nr_frags, frag_size[XDP_MAX_FRAGS];
} pkt_run;

_Static_assert(offsetof(pkt_run, data) == RUN_DATA, "run layout");
_Static_assert(offsetof(pkt_run, data_end) == RUN_DATA_END, "run layout");
_Static_assert(offsetof(pkt_run, data_meta) == RUN_DATA_META, "run layout");
_Static_assert(offsetof(pkt_run, ingress_ifindex) == RUN_IFINDEX, "run layout");
_Static_assert(offsetof(pkt_run, rx_queue_index) == RUN_RXQ, "run layout");
_Static_assert(offsetof(pkt_run, magic) == RUN_VISIBLE, "run layout");

/* ---- the layouts --------------------------------------------------------- */

#define R BPFVM_CTX_READ
#define RP (BPFVM_CTX_READ | BPFVM_CTX_READ_PART)
#define RWP (BPFVM_CTX_READ | BPFVM_CTX_READ_PART | BPFVM_CTX_WRITE)
#define CB (BPFVM_CTX_READ | BPFVM_CTX_READ_PART | BPFVM_CTX_WRITE | BPFVM_CTX_WRITE_PART)

/* XDP: 4-byte reads only, no writes (xdp_is_valid_access). egress_ifindex
 * is for devmap programs only. */
static const bpfvm_ctx_field xdp_fields[] = {
    { "data", 0, 4, RUN_DATA, 8, R },
    { "data_end", 4, 4, RUN_DATA_END, 8, R },
    { "data_meta", 8, 4, RUN_DATA_META, 8, R },
    { "ingress_ifindex", 12, 4, RUN_IFINDEX, 4, R },
    { "rx_queue_index", 16, 4, RUN_RXQ, 4, R },
    { "egress_ifindex", 20, 4, 0, 4, 0 },
};

/* struct __sk_buff: X(name, off, size, run_off, run_size, tc, socket,
 * cgroup_skb). Value fields sit at their own offsets in the run buffer,
 * with the width the kernel keeps them in (protocol, vlan_*, tc_index,
 * queue_mapping and tc_classid are 16-bit, pkt_type 8-bit: narrow reads of
 * them give what the kernel's conversion gives). Flags 0: not allowed for
 * that type, or not supported by bpfvm (family..local_port, flow_keys, sk,
 * tstamp_type; writes of queue_mapping and tstamp). */
#define SKB_FIELDS(X)                                                           \
    X(len,             0,  4,   0,  4, RP,  RP,  RP)                            \
    X(pkt_type,        4,  4,   4,  1, RP,  RP,  RP)                            \
    X(mark,            8,  4,   8,  4, RWP, RP,  RWP)                           \
    X(queue_mapping,  12,  4,  12,  2, RP,  RP,  RP)                            \
    X(protocol,       16,  4,  16,  2, RP,  RP,  RP)                            \
    X(vlan_present,   20,  4,  20,  4, RP,  RP,  RP)                            \
    X(vlan_tci,       24,  4,  24,  2, RP,  RP,  RP)                            \
    X(vlan_proto,     28,  4,  28,  2, RP,  RP,  RP)                            \
    X(priority,       32,  4,  32,  4, RWP, RP,  RWP)                           \
    X(ingress_ifindex,36,  4,  36,  4, RP,  RP,  RP)                            \
    X(ifindex,        40,  4,  40,  4, RP,  RP,  RP)                            \
    X(tc_index,       44,  4,  44,  2, RWP, RP,  RP)                            \
    X(cb,             48, 20,  48, 20, CB,  CB,  CB)                            \
    X(hash,           68,  4,  68,  4, RP,  RP,  RP)                            \
    X(tc_classid,     72,  4,  72,  2, RWP, 0,   0)                             \
    X(data,           76,  4, RUN_DATA, 8, R, 0,  R)                            \
    X(data_end,       80,  4, RUN_DATA_END, 8, R, 0, R)                         \
    X(napi_id,        84,  4,  84,  4, RP,  RP,  RP)                            \
    X(family,         88, 52,  88, 52, 0,   0,   0)                             \
    X(data_meta,     140,  4, RUN_DATA_META, 8, R, 0, 0)                        \
    X(flow_keys,     144,  8, 144,  8, 0,   0,   0)                             \
    X(tstamp,        152,  8, 152,  8, R,   0,   R)                             \
    X(wire_len,      160,  4, 160,  4, RP,  0,   0)                             \
    X(gso_segs,      164,  4, 164,  4, RP,  RP,  RP)                            \
    X(sk,            168,  8, 168,  8, 0,   0,   0)                             \
    X(gso_size,      176,  4, 176,  4, RP,  RP,  RP)                            \
    X(tstamp_type,   180,  4, 180,  4, 0,   0,   0)                             \
    X(hwtstamp,      184,  8, 184,  8, R,   0,   R)

#define SKB_TC(n, o, s, ro, rs, tc, so, cg) { #n, o, s, ro, rs, tc },
#define SKB_SOCKET(n, o, s, ro, rs, tc, so, cg) { #n, o, s, ro, rs, so },
#define SKB_CGROUP(n, o, s, ro, rs, tc, so, cg) { #n, o, s, ro, rs, cg },
static const bpfvm_ctx_field skb_tc_fields[] = { SKB_FIELDS(SKB_TC) };
static const bpfvm_ctx_field skb_socket_fields[] = { SKB_FIELDS(SKB_SOCKET) };
static const bpfvm_ctx_field skb_cgroup_fields[] = { SKB_FIELDS(SKB_CGROUP) };

#define LAYOUT(name, size, fields) { name, size, fields, sizeof(fields) / sizeof(fields[0]) }
static const bpfvm_ctx_layout xdp_layout = LAYOUT("xdp_md", 24, xdp_fields);
static const bpfvm_ctx_layout skb_tc_layout = LAYOUT("__sk_buff", SKB_SIZE, skb_tc_fields);
static const bpfvm_ctx_layout skb_socket_layout = LAYOUT("__sk_buff", SKB_SIZE, skb_socket_fields);
static const bpfvm_ctx_layout skb_cgroup_layout = LAYOUT("__sk_buff", SKB_SIZE, skb_cgroup_fields);

/* ---- the types ----------------------------------------------------------- */

typedef struct type_info {
    const char *name;
    const bpfvm_ctx_layout *layout;
    unsigned helpers;      /* HB_* bits */
} type_info;

enum { HB_XDP = 1, HB_LOAD = 2, HB_STORE = 4, HB_CSUM_DIFF = 8, HB_CSUM_REPLACE = 16 };

static const type_info types[] = {
    [BPFVM_PROG_NONE] = { "none", NULL, 0 },
    [BPFVM_PROG_AUTO] = { "auto", NULL, 0 },
    [BPFVM_PROG_XDP] = { "xdp", &xdp_layout, HB_XDP | HB_CSUM_DIFF },
    [BPFVM_PROG_SCHED_CLS] = { "tc", &skb_tc_layout,
                               HB_LOAD | HB_STORE | HB_CSUM_DIFF | HB_CSUM_REPLACE },
    [BPFVM_PROG_SOCKET_FILTER] = { "socket", &skb_socket_layout, HB_LOAD },
    [BPFVM_PROG_CGROUP_SKB] = { "cgroup_skb", &skb_cgroup_layout, HB_LOAD },
    [BPFVM_PROG_RAW_CTX] = { "raw", NULL, 0 },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static bool is_pkt(int type)
{
    return type >= BPFVM_PROG_XDP && type <= BPFVM_PROG_CGROUP_SKB;
}

/* Section names as libbpf reads them: "name" exact, "name+" exact or
 * "name/anything", "name/" followed by anything. */
static const struct {
    const char *sec;
    bpfvm_prog_type type;
} sections[] = {
    { "xdp", BPFVM_PROG_XDP }, { "xdp.frags", BPFVM_PROG_XDP },
    { "tc", BPFVM_PROG_SCHED_CLS }, { "classifier", BPFVM_PROG_SCHED_CLS },
    { "action", BPFVM_PROG_SCHED_CLS },
    { "socket", BPFVM_PROG_SOCKET_FILTER },
    { "cgroup_skb/ingress", BPFVM_PROG_CGROUP_SKB }, { "cgroup_skb/egress", BPFVM_PROG_CGROUP_SKB },
    { "raw_tp+", BPFVM_PROG_RAW_CTX }, { "raw_tracepoint+", BPFVM_PROG_RAW_CTX },
    { "tp+", BPFVM_PROG_RAW_CTX }, { "tracepoint+", BPFVM_PROG_RAW_CTX },
    { "kprobe+", BPFVM_PROG_RAW_CTX }, { "kretprobe+", BPFVM_PROG_RAW_CTX },
    { "uprobe+", BPFVM_PROG_RAW_CTX }, { "uretprobe+", BPFVM_PROG_RAW_CTX },
    { "fentry+", BPFVM_PROG_RAW_CTX }, { "fexit+", BPFVM_PROG_RAW_CTX },
    { "perf_event", BPFVM_PROG_RAW_CTX }, { "syscall", BPFVM_PROG_RAW_CTX },
};

bpfvm_prog_type bpfvm_prog_type_from_section(const char *section)
{
    for (size_t i = 0; section && i < sizeof(sections) / sizeof(sections[0]); i++) {
        const char *s = sections[i].sec;
        size_t len = strlen(s);
        bool plus = s[len - 1] == '+';
        if (plus)
            len--;
        if (strncmp(section, s, len) == 0 &&
            (section[len] == '\0' || (plus && section[len] == '/')))
            return sections[i].type;
    }
    return BPFVM_PROG_NONE;
}

int bpfvm_prog_type_by_name(const char *name, bpfvm_prog_type *type)
{
    for (size_t i = 0; name && i < NTYPES; i++) {
        if (strcmp(types[i].name, name) == 0) {
            if (type)
                *type = (bpfvm_prog_type)i;
            return 0;
        }
    }
    return BPFVM_ENOTFOUND;
}

const char *bpfvm_prog_type_name(bpfvm_prog_type type)
{
    return (unsigned)type < NTYPES ? types[type].name : "unknown";
}

const bpfvm_ctx_layout *bpfvm_prog_type_layout(bpfvm_prog_type type)
{
    return (unsigned)type < NTYPES ? types[type].layout : NULL;
}

bpfvm_prog_type bpfvm_get_prog_type(const bpfvm_vm *vm)
{
    return vm && vm->code ? (bpfvm_prog_type)vm->run_type : BPFVM_PROG_NONE;
}

/* ---- the packet helpers -------------------------------------------------- */

/* The run behind r1: only the run buffer bpfvm__progtype_prepare checked,
 * of a type that has the helper (HB_* `bit`: a VM keeps the helpers of the
 * types it was set to before). */
static pkt_run *run_of(bpfvm_ctx *ctx, uint64_t r1, const char *helper, unsigned bit)
{
    int type = ctx->vm->run_type;
    char msg[120];
    if (!(types[type].helpers & bit))
        snprintf(msg, sizeof(msg), "%s: not available to programs of type %s", helper,
                 types[type].name);
    else if (r1 != ctx->mbuff_start || !r1)
        snprintf(msg, sizeof(msg), "%s: argument 1 is not the program's context", helper);
    else
        return (pkt_run *)(uintptr_t)r1;
    bpfvm_ctx_fail(ctx, msg);
    return NULL;
}

static uint64_t kerr(int e)
{
    return (uint64_t)(int64_t)-e;
}

/* bpf_xdp_adjust_head(xdp, int delta): move data, keeping the metadata in
 * front of it; data stays at least XDP_FRAME_SIZE + metadata bytes into the
 * frame and ETH_HLEN before data_end. */
static uint64_t adjust_head(pkt_run *run, int64_t delta)
{
    uint64_t metalen = run->data - run->data_meta;
    int64_t pos = (int64_t)(run->data - run->hard_start) + delta;
    if (pos < (int64_t)(XDP_FRAME_SIZE + metalen) ||
        pos > (int64_t)(run->data_end - run->hard_start) - (int64_t)ETH_HLEN)
        return kerr(KERR_EINVAL);
    if (metalen)
        memmove((void *)(uintptr_t)(run->data_meta + (uint64_t)delta),
                (void *)(uintptr_t)run->data_meta, metalen);
    run->data_meta += (uint64_t)delta;
    run->data += (uint64_t)delta;
    return 0;
}

/* bpf_xdp_adjust_tail on a packet with fragments: growing extends the last
 * one within its page (zeros), shrinking takes bytes from the last ones
 * (dropping emptied fragments, then from data_end once none is left);
 * at least ETH_HLEN bytes stay. */
static uint64_t adjust_frags_tail(pkt_run *run, int64_t delta)
{
    uint32_t *last = &run->frag_size[run->nr_frags - 1];
    if (delta >= 0) {
        if (delta > (int64_t)(PAGE - *last))
            return kerr(KERR_EINVAL);
        uint64_t page = run->hard_start + (uint64_t)run->nr_frags * PAGE;
        memset((void *)(uintptr_t)(page + *last), 0, (size_t)delta);
        *last += (uint32_t)delta;
        return 0;
    }
    int64_t len = (int64_t)(run->data_end - run->data), shrink = -delta;
    for (uint32_t i = 0; i < run->nr_frags; i++)
        len += run->frag_size[i];
    if (shrink > len - (int64_t)ETH_HLEN)
        return kerr(KERR_EINVAL);
    while (run->nr_frags && shrink > 0) {
        uint32_t *size = &run->frag_size[run->nr_frags - 1];
        uint32_t take = shrink < (int64_t)*size ? (uint32_t)shrink : *size;
        *size -= take;
        shrink -= take;
        if (*size == 0)
            run->nr_frags--;
    }
    run->data_end -= (uint64_t)shrink;
    return 0;
}

/* bpf_xdp_adjust_tail(xdp, int delta): move data_end inside the frame (up to
 * the tailroom the kernel reserves), at least ETH_HLEN past data; grown
 * bytes read as 0. */
static uint64_t adjust_tail(pkt_run *run, int64_t delta)
{
    if (run->nr_frags)
        return adjust_frags_tail(run, delta);
    int64_t end = (int64_t)(run->data_end - run->hard_start) + delta;
    if (end > (int64_t)(run->hard_end - run->hard_start) ||
        end < (int64_t)(run->data - run->hard_start + ETH_HLEN))
        return kerr(KERR_EINVAL);
    if (delta > 0)
        memset((void *)(uintptr_t)run->data_end, 0, (size_t)delta);
    run->data_end += (uint64_t)delta;
    return 0;
}

/* bpf_xdp_adjust_meta(xdp, int delta): move data_meta between the end of
 * the frame's xdp_frame and data; at most 32 bytes, a multiple of 4. */
static uint64_t adjust_meta(pkt_run *run, int64_t delta)
{
    int64_t meta = (int64_t)(run->data_meta - run->hard_start) + delta;
    int64_t data = (int64_t)(run->data - run->hard_start);
    if (meta < (int64_t)XDP_FRAME_SIZE || meta > data)
        return kerr(KERR_EINVAL);
    if (((data - meta) & 3) || data - meta > (int64_t)XDP_MAX_META)
        return kerr(KERR_EACCES);
    run->data_meta = run->hard_start + (uint64_t)meta;
    return 0;
}

typedef struct xdp_adjuster {
    const char *name;
    uint64_t (*fn)(pkt_run *run, int64_t delta);
} xdp_adjuster;

static const xdp_adjuster adjusters[] = {
    { "bpf_xdp_adjust_head", adjust_head },
    { "bpf_xdp_adjust_tail", adjust_tail },
    { "bpf_xdp_adjust_meta", adjust_meta },
};

/* The three XDP helpers (xdp, int delta); which one is the registration's
 * user pointer. */
static uint64_t xdp_adjust(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                           uint64_t r5)
{
    (void)r3, (void)r4, (void)r5;
    const xdp_adjuster *a = bpfvm_helper_user(ctx);
    pkt_run *run = run_of(ctx, r1, a->name, HB_XDP);
    return run ? a->fn(run, (int32_t)r2) : 0;
}

/* The program memory [addr, +len) for a helper, or NULL after failing the
 * run with a message naming it. */
static void *helper_mem(bpfvm_ctx *ctx, const char *helper, uint64_t addr, uint64_t len,
                        int write)
{
    void *p = bpfvm_ctx_access(ctx, addr, len, write);
    if (!p) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s: [0x%llx, +%llu) is not %s memory of the program", helper,
                 (unsigned long long)addr, (unsigned long long)len,
                 write ? "writable" : "readable");
        bpfvm_ctx_fail(ctx, msg);
    }
    return p;
}

/* bpf_skb_load_bytes(skb, u32 offset, to, u32 len): bytes of the packet
 * from data; out of range: `to` zeroed, -EFAULT. */
static uint64_t skb_load_bytes(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3,
                               uint64_t r4, uint64_t r5)
{
    (void)r5;
    static const char name[] = "bpf_skb_load_bytes";
    pkt_run *run = run_of(ctx, r1, name, HB_LOAD);
    uint8_t *to = run ? helper_mem(ctx, name, r3, (uint32_t)r4, 1) : NULL;
    if (!to)
        return 0;
    uint64_t off = (uint32_t)r2, len = (uint32_t)r4;
    if (off > INT32_MAX || off + len > run->data_end - run->data) {
        memset(to, 0, (size_t)len);
        return kerr(KERR_EFAULT);
    }
    memcpy(to, (const void *)(uintptr_t)(run->data + off), (size_t)len);
    return 0;
}

/* bpf_skb_store_bytes(skb, u32 offset, from, u32 len, flags): flags
 * BPF_F_RECOMPUTE_CSUM (1: nothing to do, the test run's packets carry no
 * checksum state) and BPF_F_INVALIDATE_HASH (2). */
static uint64_t skb_store_bytes(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3,
                                uint64_t r4, uint64_t r5)
{
    static const char name[] = "bpf_skb_store_bytes";
    pkt_run *run = run_of(ctx, r1, name, HB_STORE);
    const uint8_t *from = run ? helper_mem(ctx, name, r3, (uint32_t)r4, 0) : NULL;
    if (!from)
        return 0;
    uint64_t off = (uint32_t)r2, len = (uint32_t)r4;
    if (r5 & ~(uint64_t)3)
        return kerr(KERR_EINVAL);
    if (off > INT32_MAX || off + len > run->data_end - run->data)
        return kerr(KERR_EFAULT);
    memmove((void *)(uintptr_t)(run->data + off), from, (size_t)len);
    if (r5 & 2)
        memset(run->view + 68, 0, 4); /* hash */
    return 0;
}

/* One's complement arithmetic as the kernel's (include/net/checksum.h),
 * on values as they lie in memory. */
static uint32_t csum_add(uint32_t sum, uint32_t addend)
{
    sum += addend;
    return sum + (sum < addend);
}

static uint16_t csum_fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t csum16_add(uint16_t sum, uint16_t addend)
{
    uint16_t r = (uint16_t)(sum + addend);
    return (uint16_t)(r + (r < addend));
}

/* csum_replace4 / csum_replace_by_diff: the 16-bit sum `*sum` after a
 * 32-bit word `from` became `to`, or after a change worth `diff`. */
static uint16_t replace4(uint16_t sum, uint32_t from, uint32_t to)
{
    return csum_fold(csum_add(csum_add(~(uint32_t)sum, ~from), to));
}

static uint16_t replace_by_diff(uint16_t sum, uint32_t diff)
{
    return csum_fold(csum_add(diff, ~(uint32_t)sum));
}

/* csum_partial as x86-64 Linux computes it: a 64-bit one's complement sum
 * of the bytes (little-endian 8-byte words, the tail zero-padded) and
 * `seed`, folded to 32 bits. */
static uint32_t csum_partial(const uint8_t *p, size_t len, uint32_t seed)
{
    uint64_t sum = seed;
    for (size_t k = 0; k < len; k += 8) {
        uint64_t chunk = 0;
        memcpy(&chunk, p + k, len - k < 8 ? len - k : 8);
        sum += chunk;
        sum += sum < chunk;
    }
    return csum_add((uint32_t)(sum >> 32), (uint32_t)sum);
}

/* bpf_csum_diff(from, from_size, to, to_size, seed): the checksum of `to`
 * less that of `from`, from `seed`, folded to 16 bits (not inverted), as
 * Linux 6.18 computes it: any sizes, each side read as memory of the
 * program. */
static uint64_t csum_diff(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                          uint64_t r5)
{
    static const char name[] = "bpf_csum_diff";
    uint32_t from_size = (uint32_t)r2, to_size = (uint32_t)r4, sum = (uint32_t)r5;
    const uint8_t *from = from_size ? helper_mem(ctx, name, r1, from_size, 0) : NULL;
    const uint8_t *to = to_size ? helper_mem(ctx, name, r3, to_size, 0) : NULL;
    if ((from_size && !from) || (to_size && !to))
        return 0;
    if (from_size && to_size)
        sum = csum_add(csum_partial(to, to_size, sum), ~csum_partial(from, from_size, 0));
    else if (to_size)
        sum = csum_partial(to, to_size, sum);
    else if (from_size)
        sum = ~csum_partial(from, from_size, ~sum);
    sum += (sum >> 16) | (sum << 16);
    return sum >> 16;
}

/* bpf_l3_csum_replace(skb, offset, from, to, flags) and
 * bpf_l4_csum_replace(...): update the 16-bit checksum at data + offset for
 * a 2- or 4-byte field changed from `from` to `to` (flags & 15), or by a
 * bpf_csum_diff value (size 0). l4 flags: BPF_F_PSEUDO_HDR (the test run's
 * packets carry no checksum state: nothing more to do), BPF_F_MARK_MANGLED_0
 * (a zero checksum stays 0, a computed 0 becomes 0xffff), BPF_F_MARK_ENFORCE,
 * BPF_F_IPV6. */
static uint64_t csum_replace(bpfvm_ctx *ctx, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                             uint64_t r5)
{
    bool l4 = bpfvm_helper_user(ctx) != NULL;
    const char *name = l4 ? "bpf_l4_csum_replace" : "bpf_l3_csum_replace";
    pkt_run *run = run_of(ctx, r1, name, HB_CSUM_REPLACE);
    if (!run)
        return 0;
    uint64_t allowed = l4 ? 0xff : 0xf, off = r2;
    bool mangled0 = l4 && (r5 & 0x20), enforce = l4 && (r5 & 0x40);
    if (r5 & ~allowed)
        return kerr(KERR_EINVAL);
    if (off > 0xffff || (off & 1) || off + 2 > run->data_end - run->data)
        return kerr(KERR_EFAULT);
    uint8_t *at = (uint8_t *)(uintptr_t)(run->data + off);
    uint16_t sum;
    memcpy(&sum, at, 2);
    if (mangled0 && !enforce && !sum)
        return 0;
    switch (r5 & 15) {
    case 0:
        if (r3)
            return kerr(KERR_EINVAL);
        sum = replace_by_diff(sum, (uint32_t)r4);
        break;
    case 2:
        sum = l4 ? replace4(sum, (uint16_t)r3, (uint16_t)r4)
                 : (uint16_t)~csum16_add(csum16_add((uint16_t)~sum, (uint16_t)~r3), (uint16_t)r4);
        break;
    case 4:
        sum = replace4(sum, (uint32_t)r3, (uint32_t)r4);
        break;
    default:
        return kerr(KERR_EINVAL);
    }
    if (mangled0 && !sum)
        sum = 0xffff;
    memcpy(at, &sum, 2);
    return 0;
}

static const struct {
    uint32_t id;
    unsigned bit;
    const char *name;
    bpfvm_helper_fn fn;
    const void *user;
} pkt_helpers[] = {
    { HELPER_XDP_ADJUST_HEAD, HB_XDP, "bpf_xdp_adjust_head", xdp_adjust, &adjusters[0] },
    { HELPER_XDP_ADJUST_TAIL, HB_XDP, "bpf_xdp_adjust_tail", xdp_adjust, &adjusters[1] },
    { HELPER_XDP_ADJUST_META, HB_XDP, "bpf_xdp_adjust_meta", xdp_adjust, &adjusters[2] },
    { HELPER_SKB_LOAD_BYTES, HB_LOAD, "bpf_skb_load_bytes", skb_load_bytes, NULL },
    { HELPER_SKB_STORE_BYTES, HB_STORE, "bpf_skb_store_bytes", skb_store_bytes, NULL },
    { HELPER_CSUM_DIFF, HB_CSUM_DIFF, "bpf_csum_diff", csum_diff, NULL },
    { HELPER_L3_CSUM_REPLACE, HB_CSUM_REPLACE, "bpf_l3_csum_replace", csum_replace, NULL },
    { HELPER_L4_CSUM_REPLACE, HB_CSUM_REPLACE, "bpf_l4_csum_replace", csum_replace, "l4" },
};

static int register_helpers(bpfvm_vm *vm, int type)
{
    for (size_t i = 0; i < sizeof(pkt_helpers) / sizeof(pkt_helpers[0]); i++) {
        if (!(types[type].helpers & pkt_helpers[i].bit))
            continue;
        int rc = bpfvm_register_helper(vm, pkt_helpers[i].id, pkt_helpers[i].name,
                                       pkt_helpers[i].fn, (void *)pkt_helpers[i].user);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- configuration ------------------------------------------------------- */

int bpfvm_set_prog_type(bpfvm_vm *vm, bpfvm_prog_type type)
{
    if (!vm)
        return BPFVM_EINVAL;
    if ((unsigned)type >= NTYPES)
        return bpfvm__set_error(&vm->last_error, BPFVM_EINVAL, -1, "unknown program type %d",
                                (int)type);
    int rc = register_helpers(vm, type);
    if (rc)
        return rc;
    vm->prog_type = type;
    vm->layout.nfields = 0;
    return 0;
}

void bpfvm__progtype_for_section(bpfvm_vm *vm, const char *section)
{
    if (vm->prog_type == BPFVM_PROG_AUTO) {
        vm->auto_type = bpfvm_prog_type_from_section(section);
        register_helpers(vm, vm->auto_type); /* out of memory: the verifier names the call */
    }
}

int bpfvm__install_type(const bpfvm_vm *vm)
{
    return vm->prog_type == BPFVM_PROG_AUTO ? vm->auto_type : vm->prog_type;
}

const bpfvm_ctx_layout *bpfvm__layout_for(const bpfvm_vm *vm, int type)
{
    if (types[type].layout)
        return types[type].layout;
    return vm->layout.nfields ? &vm->layout : NULL;
}

static bool valid_width(uint32_t w)
{
    return w == 1 || w == 2 || w == 4 || w == 8;
}

int bpfvm_set_ctx_layout(bpfvm_vm *vm, const bpfvm_ctx_layout *layout)
{
    if (!vm)
        return BPFVM_EINVAL;
    bpfvm_error *err = &vm->last_error;
    if (!layout || !layout->nfields) {
        vm->layout.nfields = 0;
        return 0;
    }
    if (!layout->fields || layout->nfields > 4096 || layout->size > 32768)
        return bpfvm__set_error(err, BPFVM_EINVAL, -1, "context layout: %zu fields over %u "
                                "bytes (at most 4096 fields, 32768 bytes)", layout->nfields,
                                layout->size);
    for (size_t i = 0; i < layout->nfields; i++) {
        const bpfvm_ctx_field *f = &layout->fields[i];
        const char *name = f->name ? f->name : "?";
        if (!f->size || f->off > layout->size || layout->size - f->off < f->size ||
            f->run_off >= 32768 || f->run_size > 32768 - f->run_off ||
            (!valid_width(f->run_size) && f->run_size != f->size) ||
            ((f->flags & BPFVM_CTX_WRITE) && f->run_size > f->size) ||
            ((f->flags & BPFVM_CTX_WRITE_PART) && f->run_size != f->size) || f->flags > 15)
            return bpfvm__set_error(err, BPFVM_EINVAL, -1, "context layout: field %zu (%s): "
                                    "bad offsets, sizes or flags", i, name);
        for (size_t k = 0; k < i; k++) {
            const bpfvm_ctx_field *g = &layout->fields[k];
            if ((f->off < g->off + g->size && g->off < f->off + f->size) ||
                (f->flags && g->flags && f->run_off < g->run_off + g->run_size &&
                 g->run_off < f->run_off + f->run_size))
                return bpfvm__set_error(err, BPFVM_EINVAL, -1, "context layout: fields %s "
                                        "and %s overlap", g->name ? g->name : "?", name);
        }
    }
    bpfvm_ctx_field *copy = bpfvm__alloc(vm, layout->nfields * sizeof(*copy));
    if (!copy)
        return bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
    memcpy(copy, layout->fields, layout->nfields * sizeof(*copy));
    bpfvm__free(vm, (void *)vm->layout.fields);
    vm->layout = *layout;
    vm->layout.fields = copy;
    vm->prog_type = BPFVM_PROG_NONE;
    vm->mode = BPFVM_MODE_MBUFF;
    return 0;
}

/* ---- the conversion ------------------------------------------------------ */

/* What a register or stack slot may hold, as bits joined over paths. */
enum { V_OTHER = 1, V_CTX = 2, V_MOD = 4 }; /* anything else, the context, context + x */
#define NSLOTS 64                           /* 8-byte stack slots followed below r10 */
#define NREGS 16                            /* a register field can name r11..r15 */
#define STATE (NREGS + NSLOTS)

typedef struct flow {
    uint8_t *in;         /* count * STATE: state on entry of each instruction */
    uint8_t *seen;       /* reached */
    size_t *work;
    size_t nwork;
} flow;

static void join(flow *f, size_t at, const uint8_t *st)
{
    uint8_t *in = f->in + at * STATE;
    bool changed = !f->seen[at];
    for (unsigned k = 0; k < STATE; k++) {
        uint8_t v = in[k] | st[k];
        changed |= v != in[k];
        in[k] = v;
    }
    if (changed && !(f->seen[at] & 2))
        f->work[f->nwork++] = at;
    f->seen[at] = 3; /* reached, queued */
}

/* Stack slot of r10 + off for an access of `size` bytes, or -1. */
static int slot_of(int16_t off, unsigned size)
{
    if (off >= 0 || off < -(int)(NSLOTS * 8) || size != 8 || (off & 7))
        return -1;
    return (-off / 8) - 1;
}

/* Any store touching the followed slots below r10 (not an 8-byte one). */
static void clobber(uint8_t *st, int16_t off, unsigned size)
{
    for (int s = 0; s < NSLOTS; s++) {
        int lo = -(s + 1) * 8;
        if (off < lo + 8 && lo < off + (int)size)
            st[NREGS + s] = V_OTHER;
    }
}

static bool is_alu64(const bpfvm_insn *in)
{
    return BPFVM_CLASS(in->opcode) == BPFVM_ALU64;
}

/* The state after instruction i (st, in place); successors via join. */
static void step(flow *f, const bpfvm_insn *insns, size_t count, size_t i, uint8_t *st)
{
    const bpfvm_insn *in = &insns[i];
    int op = bpfvm__decode(in);
    if (op < 0) /* only with a replacing user verifier; the run stops there */
        return;
    const bpfvm__opinfo *info = &bpfvm__ops[op];
    unsigned dst = in->dst & 15, src = in->src & 15, size = bpfvm__access_size(op);
    size_t next = i + 1;
    switch (info->fmt) {
    case BPFVM__FMT_ALU_X:
    case BPFVM__FMT_ALU_K:
    case BPFVM__FMT_NEG:
    case BPFVM__FMT_END: {
        uint8_t v = V_OTHER;
        bool mov = BPFVM_OP(in->opcode) == BPFVM_MOV;
        if (mov && info->fmt == BPFVM__FMT_ALU_X && is_alu64(in) && in->off == 0)
            v = st[src];
        else if (!mov && is_alu64(in) &&
                 ((st[dst] | (info->fmt == BPFVM__FMT_ALU_X ? st[src] : 0)) & (V_CTX | V_MOD)))
            v = V_MOD;
        st[dst] = v;
        break;
    }
    case BPFVM__FMT_LDDW:
        st[dst] = V_OTHER;
        next = i + 2;
        break;
    case BPFVM__FMT_JA:
        next = (size_t)((int64_t)i + 1 + in->off);
        break;
    case BPFVM__FMT_JA32:
        next = (size_t)((int64_t)i + 1 + in->imm);
        break;
    case BPFVM__FMT_JMP_K:
    case BPFVM__FMT_JMP_X:
        join(f, (size_t)((int64_t)i + 1 + in->off), st);
        break;
    case BPFVM__FMT_CALL_LOCAL: {
        uint8_t callee[STATE] = { 0 };
        memcpy(callee + 1, st + 1, 5);
        callee[10] = V_OTHER;
        join(f, (size_t)((int64_t)i + 1 + in->imm), callee);
        for (unsigned r = 0; r <= 5; r++)
            st[r] = V_OTHER;
        break;
    }
    case BPFVM__FMT_CALL:
    case BPFVM__FMT_CALLX:
    case BPFVM__FMT_LDABS:
    case BPFVM__FMT_LDIND:
        for (unsigned r = 0; r <= 5; r++)
            st[r] = V_OTHER;
        break;
    case BPFVM__FMT_EXIT:
        return;
    case BPFVM__FMT_LDX: {
        int s = src == 10 ? slot_of(in->off, size) : -1;
        st[dst] = s >= 0 ? st[NREGS + s] : V_OTHER;
        break;
    }
    case BPFVM__FMT_ST:
    case BPFVM__FMT_STX:
    case BPFVM__FMT_ATOMIC:
        if (dst == 10) {
            int s = info->fmt == BPFVM__FMT_STX ? slot_of(in->off, size) : -1;
            if (s >= 0)
                st[NREGS + s] = st[src];
            else
                clobber(st, in->off, size);
        }
        if (info->fmt == BPFVM__FMT_ATOMIC) {
            if (in->imm == BPFVM_CMPXCHG)
                st[0] = V_OTHER;
            else if (in->imm & BPFVM_FETCH)
                st[src] = V_OTHER;
        }
        break;
    }
    if (next < count)
        join(f, next, st);
}

static const bpfvm_ctx_field *field_at(const bpfvm_ctx_layout *l, int64_t off, unsigned size)
{
    for (size_t k = 0; k < l->nfields; k++) {
        const bpfvm_ctx_field *fd = &l->fields[k];
        if (off >= fd->off && off + size <= (int64_t)fd->off + fd->size)
            return fd;
    }
    return NULL;
}

static uint8_t size_code(uint32_t bytes)
{
    return bytes == 1 ? BPFVM_B : bytes == 2 ? BPFVM_H : bytes == 4 ? BPFVM_W : BPFVM_DW;
}

/* Rewrite one access through the context; 0 or the error. */
static int convert_one(const bpfvm_ctx_layout *l, const char *tname, bpfvm_insn *in, size_t i,
                       int fmt, unsigned size, bpfvm_error *err)
{
    bool write = fmt != BPFVM__FMT_LDX;
    const char *what = write ? "write to" : "read of";
    int64_t off = in->off;
    if (fmt == BPFVM__FMT_ATOMIC || fmt == BPFVM__FMT_ST ||
        BPFVM_MODE(in->opcode) == BPFVM_MEMSX)
        return bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)i, "instruction %zu: %s the "
                                "context (%s) is not allowed", i,
                                fmt == BPFVM__FMT_ST       ? "immediate store into"
                                : fmt == BPFVM__FMT_ATOMIC ? "atomic operation on"
                                                           : "sign-extending load from",
                                l->name);
    const bpfvm_ctx_field *fd = off >= 0 ? field_at(l, off, size) : NULL;
    if (!fd)
        return bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)i, "instruction %zu: %s %s+%lld "
                                "(%u bytes): no field of the context there (%u bytes)", i, what,
                                l->name, (long long)off, size, l->size);
    bool whole = off == fd->off && size == fd->size;
    unsigned need = write ? (whole ? BPFVM_CTX_WRITE : BPFVM_CTX_WRITE_PART)
                          : (whole ? BPFVM_CTX_READ : BPFVM_CTX_READ_PART);
    if (off % size || !(fd->flags & need)) {
        const char *why = off % size              ? "misaligned"
                          : whole && write && (fd->flags & BPFVM_CTX_READ) ? "read-only field"
                          : !whole && (fd->flags & (write ? BPFVM_CTX_WRITE : BPFVM_CTX_READ))
                              ? "partial access to field"
                              : "field not accessible:";
        return bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)i, "instruction %zu: %s %s %s.%s "
                                "(%u bytes at offset %lld)%s%s", i, what, why, l->name, fd->name,
                                size, (long long)off, tname ? " in a program of type " : "",
                                tname ? tname : "");
    }
    uint32_t delta = (uint32_t)(off - fd->off), run_off = fd->run_off, run_size = size;
    if (whole) {
        run_size = fd->run_size;
    } else if (fd->run_size != fd->size) { /* a part of a narrower run field (reads only) */
        if (size >= fd->run_size) {
            run_size = fd->run_size;
        } else if (delta + size <= fd->run_size) {
            run_off += delta;
        } else {
            *in = (bpfvm_insn){ .opcode = BPFVM_ALU64 | BPFVM_MOV | BPFVM_K, .dst = in->dst };
            return 0;
        }
    } else {
        run_off += delta;
    }
    in->off = (int16_t)run_off;
    in->opcode = (uint8_t)((in->opcode & ~BPFVM_SIZE(0xff)) | size_code(run_size));
    return 0;
}

int bpfvm__ctx_convert(const bpfvm_vm *vm, const bpfvm_ctx_layout *layout, int type,
                       bpfvm_insn *insns, size_t count, bpfvm_error *err)
{
    const char *tname = types[type].layout ? types[type].name : NULL;
    flow f = { 0 };
    int rc = 0;
    f.in = bpfvm__alloc(vm, count * STATE);
    f.seen = bpfvm__alloc(vm, count);
    f.work = bpfvm__alloc(vm, count * sizeof(*f.work));
    if (!f.in || !f.seen || !f.work) {
        rc = bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
        goto out;
    }
    memset(f.in, 0, count * STATE);
    memset(f.seen, 0, count);
    uint8_t entry[STATE] = { 0 };
    entry[1] = V_CTX;
    entry[2] = entry[10] = V_OTHER;
    join(&f, 0, entry);
    while (f.nwork) {
        size_t i = f.work[--f.nwork];
        uint8_t st[STATE];
        f.seen[i] = 1;
        memcpy(st, f.in + i * STATE, STATE);
        step(&f, insns, count, i, st);
    }
    for (size_t i = 0; i < count && !rc; i++) {
        if (!f.seen[i])
            continue;
        int op = bpfvm__decode(&insns[i]);
        if (op < 0)
            continue;
        int fmt = bpfvm__ops[op].fmt;
        if ((fmt == BPFVM__FMT_LDABS || fmt == BPFVM__FMT_LDIND) && type == BPFVM_PROG_XDP) {
            rc = bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)i, "instruction %zu: legacy "
                                  "packet loads (ld_abs, ld_ind) are not allowed in xdp "
                                  "programs", i);
            break;
        }
        if (fmt != BPFVM__FMT_LDX && fmt != BPFVM__FMT_ST && fmt != BPFVM__FMT_STX &&
            fmt != BPFVM__FMT_ATOMIC)
            continue;
        unsigned base = fmt == BPFVM__FMT_LDX ? insns[i].src : insns[i].dst;
        uint8_t v = f.in[i * STATE + (base & 15)];
        if (!(v & (V_CTX | V_MOD)))
            continue;
        if (v != V_CTX)
            rc = bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)i, "instruction %zu: access "
                                  "through r%u, which %s", i, base,
                                  (v & V_MOD) ? "holds a modified context pointer (only "
                                                "ctx + constant offset in the instruction)"
                                              : "is the context pointer on some paths only");
        else
            rc = convert_one(layout, tname, &insns[i], i, fmt, bpfvm__access_size(op), err);
    }
out:
    bpfvm__free(vm, f.in);
    bpfvm__free(vm, f.seen);
    bpfvm__free(vm, f.work);
    return rc;
}

/* ---- running ------------------------------------------------------------- */

int bpfvm__progtype_prepare(const bpfvm_vm *vm, bpfvm_ctx *ctx, bpfvm_error *err)
{
    uint64_t magic = 0;
    if (!is_pkt(vm->run_type))
        return 0;
    if (ctx->mbuff_len == sizeof(pkt_run))
        memcpy(&magic, (const uint8_t *)(uintptr_t)ctx->mbuff_start + RUN_VISIBLE, 8);
    if (magic != RUN_MAGIC)
        return bpfvm__set_error(err, BPFVM_EINVAL, -1, "a program of type %s runs with the "
                                "context bpfvm_test_run makes", types[vm->run_type].name);
    ctx->mbuff_len = RUN_VISIBLE;
    return 0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Does the program call a helper that moves the packet's bounds? Then its
 * checked memory is the whole frame rather than [data_meta, data_end). */
static bool moves_packet(const bpfvm_vm *vm)
{
    for (size_t i = 0; i < vm->count; i++) {
        int32_t id = vm->insns[i].imm;
        if (vm->code[i].opcode == BPFVM__OP_CALL &&
            (id == HELPER_XDP_ADJUST_HEAD || id == HELPER_XDP_ADJUST_TAIL ||
             id == HELPER_XDP_ADJUST_META))
            return true;
    }
    return false;
}

/* The runs: `run` non-NULL for packet types (mem follows its bounds). */
static int run_all(bpfvm_vm *vm, bpfvm_test_run_opts *o, pkt_run *run, void *mem,
                   size_t mem_len, void *mbuff, size_t mbuff_len)
{
    uint32_t repeat = o->repeat ? o->repeat : 1;
    bool whole = run && moves_packet(vm);
    uint64_t r0 = 0;
    int rc = 0;
    double t0 = now_ns();
    for (uint32_t k = 0; k < repeat && !rc; k++) {
        if (run) {
            uint64_t lo = whole ? run->hard_start : run->data_meta;
            uint64_t hi = whole ? run->hard_end : run->data_end;
            mem = (void *)(uintptr_t)lo;
            mem_len = (size_t)(hi - lo);
        }
        const struct bpfvm__test_trace *t = vm->test_trace; /* bpfvm_test_run_traced */
        if (t)
            rc = t->counts ? bpfvm_run_counted(vm, mem, mem_len, mbuff, mbuff_len, t->counts,
                                               t->fn, t->user, &r0, NULL)
                           : bpfvm_run_traced(vm, mem, mem_len, mbuff, mbuff_len, t->fn, t->user,
                                              &r0, NULL);
        else
            rc = o->jit ? bpfvm_run_jit(vm, mem, mem_len, mbuff, mbuff_len, &r0, NULL)
                        : bpfvm_run(vm, mem, mem_len, mbuff, mbuff_len, &r0, NULL);
    }
    o->duration_ns = (uint64_t)((now_ns() - t0) / repeat);
    o->retval = (uint32_t)r0;
    return rc;
}

/* Copy an output: what fits, the full size in *size. */
static int put(bpfvm_vm *vm, void *out, size_t *size, const void *src, size_t n,
               const char *what)
{
    size_t cap = *size;
    *size = n;
    if (!out)
        return 0;
    if (n)
        memcpy(out, src, n < cap ? n : cap);
    if (n > cap)
        return bpfvm__set_error(&vm->last_error, BPFVM_EINVAL, -1, "%s: the output has %zu "
                                "bytes, the buffer holds %zu", what, n, cap);
    return 0;
}

/* ctx_in into a zeroed image of `size` bytes: a longer ctx_in must have
 * only zeros past it (as the kernel's bpf_ctx_init). */
static int ctx_image(bpfvm_vm *vm, const bpfvm_test_run_opts *o, uint8_t *img, size_t size,
                     const char *type)
{
    const uint8_t *in = o->ctx_in;
    memset(img, 0, size);
    if (!in)
        return 0;
    for (size_t k = size; k < o->ctx_size_in; k++)
        if (in[k])
            return bpfvm__set_error(&vm->last_error, BPFVM_EINVAL, -1, "ctx_in: %zu bytes, "
                                    "and byte %zu past the %zu of the %s context is not 0",
                                    o->ctx_size_in, k, size, type);
    memcpy(img, in, o->ctx_size_in < size ? o->ctx_size_in : size);
    return 0;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

#define BAD_INPUT(vm, ...) bpfvm__set_error(&(vm)->last_error, BPFVM_EINVAL, -1, __VA_ARGS__)

static int size_ok(bpfvm_vm *vm, size_t size, size_t min, size_t max)
{
    if (size < min || size > max)
        return BAD_INPUT(vm, "data_in: %zu bytes; the test run takes %zu to %zu", size, min,
                         max);
    return 0;
}

static pkt_run new_run(uint8_t *start, size_t len)
{
    pkt_run run;
    memset(&run, 0, sizeof(run));
    run.magic = RUN_MAGIC;
    run.hard_start = (uint64_t)(uintptr_t)start;
    run.hard_end = run.hard_start + len;
    return run;
}

/* XDP as bpf_prog_test_run_xdp: xdp_md in and out, the frame's layout. */
static int test_xdp(bpfvm_vm *vm, bpfvm_test_run_opts *o)
{
    uint8_t md[24];
    size_t size = o->data_size_in;
    bool have_ctx = o->ctx_in || o->ctx_out;
    int rc = ctx_image(vm, o, md, sizeof(md), "xdp_md");
    uint32_t meta = rd32(md), ingress = rd32(md + 12), rxq = rd32(md + 16);
    if (rc || (rc = size_ok(vm, size, meta <= size ? meta + ETH_HLEN : ETH_HLEN,
                            XDP_MAX_DATA + meta + XDP_MAX_FRAGS * PAGE)))
        return rc;
    if (have_ctx && (rd32(md + 8) || rd32(md + 4) != size || meta > size || (meta & 3) ||
                     meta > XDP_MAX_META || rd32(md + 20) || (!ingress && rxq)))
        return BAD_INPUT(vm, "ctx_in: xdp_md needs data_meta 0, data_end = data_size_in (%zu), "
                         "data = metadata length (a multiple of 4, at most 32), "
                         "egress_ifindex 0, no rx_queue_index without ingress_ifindex", size);
    if (have_ctx && (ingress > LOOPBACK || rxq))
        return bpfvm__set_error(&vm->last_error, BPFVM_EUNSUPPORTED, -1, "ctx_in: the test run "
                                "has only the loopback device (ingress_ifindex 1, queue 0)");
    /* The frame, then a page per fragment (the bytes past the frame's
     * room), then room for the output. */
    size_t linear = size < XDP_MAX_DATA + meta ? size : XDP_MAX_DATA + meta;
    size_t nfrags = (size - linear + PAGE - 1) / PAGE, out_max = PAGE * (1 + nfrags);
    uint8_t *frame = bpfvm__alloc(vm, PAGE * (1 + nfrags) + out_max);
    if (!frame)
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    memset(frame, 0, PAGE * (1 + nfrags));
    pkt_run run = new_run(frame, PAGE - SHINFO_ROOM);
    run.data_meta = run.hard_start + XDP_HEADROOM - meta;
    run.data = run.hard_start + XDP_HEADROOM;
    run.data_end = run.data_meta + linear;
    run.ingress_ifindex = LOOPBACK;
    memcpy(frame + XDP_HEADROOM - meta, o->data_in, linear);
    for (size_t i = 0, at = linear; at < size; i++, at += PAGE) {
        run.frag_size[i] = (uint32_t)(size - at < PAGE ? size - at : PAGE);
        memcpy(frame + (i + 1) * PAGE, (const uint8_t *)o->data_in + at, run.frag_size[i]);
        run.nr_frags++;
    }
    rc = run_all(vm, o, &run, NULL, 0, &run, sizeof(run));
    if (rc == 0) { /* the frame's part, then the fragments' */
        uint8_t *out = frame + PAGE * (1 + nfrags);
        size_t n = (size_t)(run.data_end - run.data_meta);
        memcpy(out, (void *)(uintptr_t)run.data_meta, n);
        for (uint32_t i = 0; i < run.nr_frags; n += run.frag_size[i++])
            memcpy(out + n, frame + (i + 1) * PAGE, run.frag_size[i]);
        rc = put(vm, o->data_out, &o->data_size_out, out, n, "data_out");
    }
    if (rc == 0 && have_ctx) { /* xdp_convert_buff_to_md: both from data_meta */
        wr32(md, (uint32_t)(run.data - run.data_meta));
        wr32(md + 4, (uint32_t)(run.data_end - run.data_meta));
        rc = put(vm, o->ctx_out, &o->ctx_size_out, md, sizeof(md), "ctx_out");
    }
    bpfvm__free(vm, frame);
    return rc;
}

/* The __sk_buff fields ctx_in may set and ctx_out reports (mark, priority,
 * ingress_ifindex + ifindex, cb, tstamp + wire_len + gso_segs, gso_size,
 * hwtstamp): convert___skb_to_skb / convert_skb_to___skb. */
static const struct {
    uint8_t off, len;
} skb_io[] = { { 8, 4 }, { 32, 12 }, { 48, 20 }, { 152, 16 }, { 176, 4 }, { 184, 8 } };

/* The Ethernet header as eth_type_trans reads it on the loopback device,
 * whose address and broadcast address are both 0: protocol bytes,
 * pkt_type (host, multicast or otherhost). */
static void eth_type(const uint8_t *pkt, size_t size, uint8_t proto[2], uint8_t *pkt_type)
{
    static const uint8_t zero[6];
    *pkt_type = 0; /* PACKET_HOST */
    if (memcmp(pkt, zero, 6) != 0)
        *pkt_type = (pkt[0] & 1) ? 2 : 3;
    if (pkt[12] >= 6) { /* >= ETH_P_802_3_MIN */
        memcpy(proto, pkt + 12, 2);
        return;
    }
    proto[0] = 0;
    proto[1] = size >= ETH_HLEN + 2 && pkt[14] == 0xff && pkt[15] == 0xff ? 1 : 4;
}

/* Socket-buffer types as bpf_prog_test_run_skb. */
static int test_skb(bpfvm_vm *vm, bpfvm_test_run_opts *o, bool l2)
{
    uint8_t img[SKB_SIZE];
    size_t size = o->data_size_in;
    int rc = ctx_image(vm, o, img, sizeof(img), "__sk_buff");
    if (rc || (rc = size_ok(vm, size, ETH_HLEN, SKB_MAX_DATA)))
        return rc;
    uint8_t allowed[SKB_SIZE] = { 0 };
    for (size_t k = 0; k < sizeof(skb_io) / sizeof(skb_io[0]); k++)
        memset(allowed + skb_io[k].off, 1, skb_io[k].len);
    for (size_t k = 0; k < SKB_SIZE; k++)
        if (img[k] && !allowed[k])
            return BAD_INPUT(vm, "ctx_in: byte %zu of __sk_buff is not 0; only mark, priority, "
                             "ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, "
                             "gso_size and hwtstamp may be set", k);
    uint32_t len = (uint32_t)(l2 ? size : size - ETH_HLEN), wire = rd32(img + 160);
    if ((wire && (wire < len || wire > GSO_LEGACY_MAX)) || rd32(img + 164) > GSO_MAX_SEGS)
        return BAD_INPUT(vm, "ctx_in: wire_len %u (0 or %u to %u) or gso_segs %u (at most %u) "
                         "out of range", wire, len, GSO_LEGACY_MAX, rd32(img + 164),
                         GSO_MAX_SEGS);
    if (rd32(img + 40) > LOOPBACK)
        return bpfvm__set_error(&vm->last_error, BPFVM_EUNSUPPORTED, -1, "ctx_in: the test run "
                                "has only the loopback device (ifindex 1)");
    uint8_t *buf = bpfvm__alloc(vm, size);
    if (!buf)
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    memcpy(buf, o->data_in, size);
    pkt_run run = new_run(buf, size);
    memcpy(run.view, img, SKB_SIZE);
    wr32(run.view, len);
    eth_type(buf, size, run.view + 16, run.view + 4);
    /* an IPv4 or IPv6 packet must hold its network header */
    uint16_t proto = (uint16_t)(run.view[16] << 8 | run.view[17]);
    if ((proto == 0x0800 && size < ETH_HLEN + 20) || (proto == 0x86dd && size < ETH_HLEN + 40)) {
        bpfvm__free(vm, buf);
        return BAD_INPUT(vm, "data_in: %zu bytes cut inside the IPv%d header", size,
                         proto == 0x0800 ? 4 : 6);
    }
    wr32(run.view + 40, LOOPBACK);
    wr32(run.view + 160, wire ? wire : len);
    run.data = run.data_meta = run.hard_start + (l2 ? 0 : ETH_HLEN);
    run.data_end = run.hard_end;
    rc = run_all(vm, o, &run, NULL, 0, &run, sizeof(run));
    if (!l2)
        memset(buf, 0, ETH_HLEN);
    if (rc == 0)
        rc = put(vm, o->data_out, &o->data_size_out, buf, size, "data_out");
    if (rc == 0 && (o->ctx_in || o->ctx_out)) {
        for (size_t k = 0; k < sizeof(skb_io) / sizeof(skb_io[0]); k++)
            memcpy(img + skb_io[k].off, run.view + skb_io[k].off, skb_io[k].len);
        rc = put(vm, o->ctx_out, &o->ctx_size_out, img, SKB_SIZE, "ctx_out");
    }
    bpfvm__free(vm, buf);
    return rc;
}

/* No built-in context: r1 = a copy of data_in (RAW_CTX: of ctx_in), or the
 * VM's mode with a user layout's run buffer from ctx_in. */
static int test_plain(bpfvm_vm *vm, bpfvm_test_run_opts *o, bool raw_ctx)
{
    if (raw_ctx && o->data_size_in)
        return BAD_INPUT(vm, "data_in: programs of type raw take only ctx_in");
    size_t dlen = o->data_size_in, clen = o->ctx_size_in;
    uint8_t *data = bpfvm__alloc(vm, dlen ? dlen : 1), *ctx = bpfvm__alloc(vm, clen ? clen : 1);
    int rc = 0;
    if (!data || !ctx) {
        rc = bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
        goto out;
    }
    if (dlen)
        memcpy(data, o->data_in, dlen);
    if (clen)
        memcpy(ctx, o->ctx_in, clen);
    rc = raw_ctx ? run_all(vm, o, NULL, ctx, clen, NULL, 0)
                 : run_all(vm, o, NULL, data, dlen, o->ctx_in ? ctx : NULL, clen);
    if (rc == 0 && !raw_ctx)
        rc = put(vm, o->data_out, &o->data_size_out, data, dlen, "data_out");
    if (rc == 0 && o->ctx_in)
        rc = put(vm, o->ctx_out, &o->ctx_size_out, ctx, clen, "ctx_out");
out:
    bpfvm__free(vm, data);
    bpfvm__free(vm, ctx);
    return rc;
}

int bpfvm_test_run(bpfvm_vm *vm, bpfvm_test_run_opts *o)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (!o || (!o->data_in && o->data_size_in) || (!o->ctx_in && o->ctx_size_in))
        return BAD_INPUT(vm, "test run: no options, or an input pointer NULL with a size");
    if (!vm->code)
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOPROG, -1, "no program loaded");
    switch (vm->run_type) {
    case BPFVM_PROG_XDP:
        return test_xdp(vm, o);
    case BPFVM_PROG_SCHED_CLS:
        return test_skb(vm, o, true);
    case BPFVM_PROG_SOCKET_FILTER:
    case BPFVM_PROG_CGROUP_SKB:
        return test_skb(vm, o, false);
    default:
        return test_plain(vm, o, vm->run_type == BPFVM_PROG_RAW_CTX);
    }
}
