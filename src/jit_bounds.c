/* jit_bounds.c - the JIT's pointer bounds analysis: loads and stores the
 * program's own comparisons prove inside the input memory
 * (BPFVM__MARK_PROVEN), which then need no check in checked mode, and in
 * either mode are apart from the frame; divisions and modulos by a register
 * the compares prove neither 0 nor (signed) -1 (BPFVM__MARK_PROVEN too),
 * which then need neither test.
 *
 * At entry r1 = start and r2 = len, the input memory being [start, end =
 * start + len) in raw mode; in the other modes r2 = 0 and [r1, r1) is
 * empty, so whatever is proven below is then proven for paths no run takes.
 * Packet parsers compare pointers derived from r1 with r1 + r2 (or with
 * pointers already compared with it) before reading, as the kernel's
 * verifier wants for data/data_end:
 *
 *     r6 = r1; r6 += r2;              end
 *     r2 = r8; r2 += 20; if r2 > r6 goto out;
 *     r3 = *(u16 *)(r8 + 12)          [r8 + 12, +2) is inside [r8, r8 + 20)
 *
 * Forward data flow over the basic blocks reachable from slot 0 (functions
 * entered by calls and callbacks start knowing nothing). A pointer is
 * base(id) + off with a constant off; every base satisfies
 *     start <= base <= end + 2^32                               (1)
 * (ids: start, end, one per slot that adds a bounded value to a pointer,
 * one per join point and pointer there), and room(id), when known, says
 * base(id) + room(id) <= end. Offsets stay within +-2^31, so, user-space
 * addresses being below 2^63, no value here wraps around and the machine's
 * unsigned compares are compares of the integers. An access [p + o, +n)
 * with p = base(id) + c is proven when 0 <= c + o and c + o + n <= room(id).
 *
 * (1) holds: start and end satisfy it; a new base p + v needs p = base + c
 * with 0 <= c <= room (so p <= end) and a scalar v in [0, 2^32), or p =
 * start + c (0 <= c <= 2^30) and v + b <= len (b >= 1: an unsigned 64-bit
 * compare of v below a register holding len, or v <= hi < room(start)), so
 * p + v <= end + c, and room b - c; a join
 * point's base is some pointer p of each incoming state with the same
 * conditions. A compare x <= y of x = base(X) + cx, y = base(Y) + cy (cx,
 * cy >= 0) gives base(X) + cx + room(Y) - cy <= end.
 *
 * Stack slots: a pointer or r2 (or a loop counter, at its slot) stored by
 * an 8-byte store at r10 + c is known there until something may write
 * those bytes (an r10-relative store or atomic overlapping them, a store or
 * atomic through any other register unless proven inside the input memory,
 * any call), and an 8-byte load of r10 + c gives it back. r10 is read-only, functions start with no slots and
 * calls forget the caller's, so a slot always names its own frame. */
#include "jit.h"

#include <stdint.h>

enum { K_SCALAR, K_LEN, K_PTR, K_DIST };

#define ID_START 0u
#define ID_END 1u
#define ID_ADD(slot) (2u + ID_STRIDE * (uint32_t)(slot))     /* base made at slot */
#define ID_JOIN(slot, k) (3u + ID_STRIDE * (uint32_t)(slot) + 2u * (uint32_t)(k)) /* k-th pair */
#define ID_STRIDE (2u * NV + 2u)                      /* k < NV */

#define ROOM_MIN (-((int64_t)1 << 32))
#define OFF_MAX ((int64_t)1 << 30)
#define ROOM_MAX ((int64_t)1 << 40)
#define SCALAR_MAX ((uint64_t)1 << 32)                 /* v < 2^32 may be added to a pointer */
#define MAX_SLOTS 4096   /* larger programs are not analysed (compile time) */
#define WIDEN 3          /* changes of a block's entry state before scalars are widened */
                         /* (at once at loop heads), */
#define WIDEN_ALL 6      /* and everything, scalars keeping their ranges only, */
#define WIDEN_END 12     /* then scalars too */
#define NSLOTS 4         /* stack slots tracked (values spilled to r10 + constant) */
#define NV (11 + NSLOTS) /* registers, then the slots */

typedef struct val {       /* no padding: compared with memcmp */
    uint64_t lo, hi;         /* K_SCALAR: the value is in [lo, hi]; K_PTR with vsid:
                              * lo bounds the scalar vsid below */
    int64_t room;            /* K_PTR: room(id) (the same in every register with id);
                              * K_SCALAR: 0, or v + room <= len (room >= 1) */
    uint32_t id;             /* K_PTR */
    uint32_t parent;         /* K_PTR with vsid: base(id) = base(parent) + pc + the */
    int32_t off;             /* K_PTR, in [-OFF_MAX, OFF_MAX] */
    int32_t pc;              /* value of scalar vsid (the add that made base(id)) */
    uint16_t sid;            /* K_SCALAR: 1 + the slot that made the value (0: none);
                              * registers with one sid hold the same value */
    uint16_t vsid;           /* 0: no such link */
    uint8_t kind;
    uint8_t al;              /* K_SCALAR: its low al bits are 0 (a constant: from lo) */
    uint16_t odd;            /* K_SCALAR: and it is a multiple of odd (odd; 0: 1) */
} val;
/* Relations with the end (see relations below), in fields the kinds leave
 * unused: K_DIST, a scalar equal to end - base(id) - off (>= 0); K_SCALAR
 * with id != 0: base(id) + off + v <= end (v fits id), with parent != 0: v =
 * the value of scalar parent + pc. */

typedef struct state {
    val r[NV];               /* r[11 + k]: the 8 bytes at r10 + soff[k] of this frame */
    int64_t start_room;      /* room(ID_START) */
    int16_t soff[NSLOTS];    /* slots 11 + k < nv are in use; the others hold `any`, 0 */
    int64_t nv;              /* the registers and the slots in use */
} state;

#define NSCAN 32         /* compares a widening looks at */

/* A compare of a register with a constant C (widen_scalar) */
typedef struct stop {
    uint64_t c;
    uint64_t slot;
} stop;

typedef struct stops {
    stop *v;                 /* register r's compares: v[at[r]..at[r + 1]), in slot order */
    uint32_t at[12];
} stops;

typedef struct bounds {
    bpfvm__jit *j;
    stops st;
    state *in;               /* per slot with block[] >= 0: the state on entry */
    int32_t *block;          /* per slot: its block's number (leaders only), or -1 */
    uint8_t *visits;         /* per block: times its entry state changed */
    uint32_t *todo;          /* worklist of leaders */
    size_t ntodo;
    uint8_t *queued;         /* per block */
    uint8_t *ran;            /* per block: it ran (its slots made values) */
    uint8_t *edges;          /* per block: the edges entering it (2: two or more) */
    bool rel;                /* an instruction may make a relation (relations below) */
    int16_t ctr_off;         /* r10 + ctr_off: a loop counter's slot (find_counter), or 0 */
} bounds;

static const val any = { 0, UINT64_MAX, 0, 0, 0, 0, 0, 0, 0, K_SCALAR, 0, 0 };

static val scalar(uint64_t lo, uint64_t hi)
{
    val v = any;
    v.lo = lo;
    v.hi = hi;
    return v;
}

static val ptr(uint32_t id, int64_t off, int64_t room)
{
    val v = { 0, 0, room, id, 0, (int32_t)off, 0, 0, 0, K_PTR, 0, 0 };
    return v;
}

static void top(state *s)
{
    for (int r = 0; r < NV; r++)
        s->r[r] = any;
    s->start_room = 0;
    memset(s->soff, 0, sizeof(s->soff));
    s->nv = 11;
}

static int64_t room_of(const state *s, const val *v)
{
    return v->id == ID_START ? s->start_room : v->id == ID_END ? 0 : v->room;
}

/* b >= 1 with scalar v + b <= len, or 0: from a compare with len, or from
 * v <= hi < room(start) */
static int64_t below_of(const state *s, const val *v)
{
    if (v->hi < (uint64_t)s->start_room && (int64_t)(s->start_room - (int64_t)v->hi) > v->room)
        return s->start_room - (int64_t)v->hi;
    return v->room;
}

/* room(id) becomes at least `room` in every register holding id */
static void raise_room(state *s, uint32_t id, int64_t room)
{
    if (room > ROOM_MAX)
        room = ROOM_MAX;
    if (id == ID_START) { /* (room_of: the registers' room stays 0, so joins keep them) */
        s->start_room = room > s->start_room ? room : s->start_room;
        return;
    }
    for (int r = 0; r < s->nv; r++)
        if (s->r[r].kind == K_PTR && s->r[r].id == id && s->r[r].room < room)
            s->r[r].room = room;
}

/* an id the join at `slot` makes (anew at each pass) */
static bool joined_at(uint32_t id, size_t slot)
{
    return id >= ID_JOIN(slot, 0) && id < ID_ADD(slot + 1);
}

/* The rooms the fits give: base(id) + off + v <= end with v >= lo gives
 * room(id) >= off + lo; v + b <= len, room(start) >= b + lo. */
static void fit_rooms(state *s)
{
    for (int r = 0; r < s->nv; r++) {
        const val *x = &s->r[r];
        if (x->kind != K_SCALAR || x->lo > (uint64_t)ROOM_MAX)
            continue;
        if (x->id)
            raise_room(s, x->id, x->off + (int64_t)x->lo);
        if (x->room > 0 && x->room + (int64_t)x->lo > s->start_room)
            raise_room(s, ID_START, x->room + (int64_t)x->lo);
    }
}

/* The rooms the links give: base(id) = base(parent) + pc + v, v >= lo, so
 * room(parent) >= pc + lo + room(id). */
static void propagate(state *s)
{
    fit_rooms(s);
    for (int round = 0; round < 4; round++) {
        bool changed = false;
        for (int r = 0; r < s->nv; r++) {
            val *p = &s->r[r];
            if (p->kind != K_PTR || !p->vsid)
                continue;
            for (int q = 0; q < s->nv; q++)
                if (s->r[q].kind == K_SCALAR && s->r[q].sid == p->vsid && s->r[q].lo > p->lo)
                    p->lo = s->r[q].lo;
            int64_t room = room_of(s, p), have = 0;
            bool held = p->parent == ID_START;
            if (p->parent == ID_END)
                continue;
            if (held)
                have = s->start_room;
            for (int q = 0; q < s->nv; q++)
                if (s->r[q].kind == K_PTR && s->r[q].id == p->parent) {
                    have = room_of(s, &s->r[q]);
                    held = true;
                }
            int64_t want = p->pc + (int64_t)p->lo + room;
            if (held && want > have && have < ROOM_MAX) {
                raise_room(s, p->parent, want);
                changed = true;
            }
        }
        if (!changed)
            return;
    }
}

/* Slot i makes a new value (sid) and perhaps a new base: x's relations
 * naming the old ones are forgotten. */
static void unlink_rel(val *x, uint16_t sid, uint32_t base)
{
    if (x->kind == K_DIST && x->id == base) {
        *x = any;
    } else if (x->kind == K_SCALAR) {
        if (x->parent == sid) {
            x->parent = 0;
            x->pc = 0;
        }
        if (x->id == base) {
            x->id = 0;
            x->off = 0;
        }
    }
}

/* dst = v at slot i: what named slot i's values before is forgotten (none
 * does before slot i first runs) */
static void define(state *s, int dst, val v, size_t i, bool first_run)
{
    uint16_t sid = (uint16_t)(i + 1);
    for (int r = 0; r < s->nv && !first_run; r++) {
        val *x = &s->r[r];
        if (x->kind == K_SCALAR && x->sid == sid)
            x->sid = 0;
        else if (x->kind == K_PTR && x->id == ID_ADD(i))
            *x = any;
        else if (x->kind == K_PTR && (x->vsid == sid || x->parent == ID_ADD(i)))
            x->vsid = 0;
        if (x->kind != K_PTR && (x->parent | x->id))
            unlink_rel(x, sid, ID_ADD(i)); /* (most values have no relation) */
    }
    if (v.kind != K_PTR && (v.parent | v.id))
        unlink_rel(&v, sid, ID_ADD(i));
    if (v.kind == K_SCALAR && !v.sid)
        v.sid = sid;
    if (v.kind == K_PTR && (v.vsid == sid || v.parent == ID_ADD(i)))
        v.vsid = 0;
    s->r[dst] = v;
}

/* Worth a stack slot: a pointer, r2, or a scalar below 2^32 spilled to the
 * counter's slot (see spill) */
static bool informative(const val *v)
{
    return v->kind != K_SCALAR || v->hi <= UINT32_MAX;
}

/* slot k is forgotten (the last one in use takes its place) */
static void forget_slot(state *s, int k)
{
    int last = (int)s->nv - 12;
    s->r[11 + k] = s->r[11 + last];
    s->soff[k] = s->soff[last];
    s->r[11 + last] = any;
    s->soff[last] = 0;
    s->nv--;
}

/* The bytes [r10 + off, + n) of the frame are written (n = 0: perhaps any
 * byte of it): the slots they overlap are forgotten. */
static void frame_write(state *s, int64_t off, unsigned n)
{
    for (int k = (int)s->nv - 12; k >= 0; k--)
        if (n == 0 || (off < s->soff[k] + 8 && s->soff[k] < off + n))
            forget_slot(s, k);
}

/* the slot tracking r10 + off, or -1 */
static int slot_at(const state *s, int16_t off)
{
    for (int k = 0; k < s->nv - 11; k++)
        if (s->soff[k] == off)
            return k;
    return -1;
}

/* *(u64 *)(r10 + off) = v. A scalar is kept only at ctr_off, the slot of a
 * loop counter (find_counter); elsewhere, such as counters of events stepped
 * in the frame, they would cost compile time, joins and widening, for
 * little. */
static void spill(state *s, int16_t off, val v, int16_t ctr_off)
{
    frame_write(s, off, 8);
    if (v.kind == K_SCALAR && off != ctr_off)
        return;
    if (s->nv < NV && off <= -8 && informative(&v)) {
        s->soff[s->nv - 11] = off;
        s->r[s->nv++] = v;
    }
}

/* p + c with p a pointer (c: a constant, |c| < 2^31) */
static val add_const(val p, int64_t c)
{
    int64_t off = p.off + c;
    if (off < -OFF_MAX || off > OFF_MAX)
        return any;
    p.off = (int32_t)off;
    return p;
}

/* v + w with one or both scalars or pointers, at slot i (64-bit add) */
static val add_vals(const state *s, size_t i, val v, val w)
{
    if (v.kind == K_PTR && w.kind == K_PTR)
        return any;
    if (w.kind == K_PTR) {
        val t = v;
        v = w;
        w = t;
    }
    if (v.kind == K_PTR && w.kind == K_LEN)
        return v.id == ID_START ? ptr(ID_END, v.off, 0) : any;
    /* start + c + (len - k): base(id) = end - k, at least start (len - k is
     * made only when len >= k), with room k */
    if (v.kind == K_PTR && w.kind == K_DIST && w.id == ID_START)
        return v.id == ID_START ? ptr(ID_ADD(i), v.off, w.off) : any;
    if (v.kind == K_PTR && w.kind == K_SCALAR) {
        if (w.lo == w.hi && w.lo < (uint64_t)OFF_MAX)
            return add_const(v, (int64_t)w.lo);
        /* base(id) = p + w: room(p) - w.hi, and when p = start + c (c >= 0)
         * and w + b <= len, b - c (then base(id) <= end + c) */
        int64_t room = room_of(s, &v), below = v.id == ID_START && v.off >= 0 ? w.room : 0;
        bool ranged = w.hi < SCALAR_MAX && v.off + (int64_t)w.lo >= 0 &&
                      room - v.off - (int64_t)w.hi >= ROOM_MIN;
        if (!ranged && below < 1)
            return any;
        room = ranged ? room - v.off - (int64_t)w.hi : ROOM_MIN;
        if (below >= 1 && below - v.off > room)
            room = below - v.off;
        val n = ptr(ID_ADD(i), 0, room);
        if (w.sid) {
            n.parent = v.id;
            n.pc = v.off;
            n.vsid = w.sid;
            n.lo = w.lo;
        }
        return n;
    }
    if (v.kind == K_SCALAR && w.kind == K_SCALAR && v.hi < ROOM_MAX && w.hi < ROOM_MAX)
        return scalar(v.lo + w.lo, v.hi + w.hi);
    return any;
}

static uint64_t min_u(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* the value a 32-bit operation leaves, from its exact result range when
 * that fits 32 bits */
static val low32(val v)
{
    return v.kind == K_SCALAR && v.hi <= UINT32_MAX ? v : scalar(0, UINT32_MAX);
}

/* the low bits known 0 in v (64: v = 0) */
static unsigned align_of(const val *v)
{
    if (v->kind != K_SCALAR)
        return 0;
    if (v->lo == v->hi)
        return v->lo ? (unsigned)__builtin_ctzll(v->lo) : 64u;
    return v->al;
}

static uint64_t gcd_u(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static uint64_t odd_part(uint64_t c) { return c ? c >> __builtin_ctzll(c) : 0; }

/* the odd factor v is known to be a multiple of (0: v = 0) */
static uint64_t odd_of(const val *v)
{
    if (v->kind != K_SCALAR)
        return 1;
    if (v->lo == v->hi)
        return odd_part(v->lo);
    return v->odd ? v->odd : 1;
}

/* The odd field of a result that is a multiple of gcd(a, b) (0 for 1, and
 * if it does not fit: one spelling for each state, which joins compare). */
static uint16_t odd_gcd(uint64_t a, uint64_t b)
{
    uint64_t g = gcd_u(a, b);
    return (uint16_t)(g > 1 && g <= UINT16_MAX ? g : 0);
}

/* [lo, hi] without the values that are not multiples of odd * 2^al (the
 * scalar's are): its ends move inwards to such multiples (a counter stepping
 * by 4 from 0 below 1023 is at most 1020, one stepping by 56 from 0 below
 * 3584 at most 3528), unless none is left */
static void align_range(uint64_t *lo, uint64_t *hi, unsigned al, uint64_t odd)
{
    if (al >= 64 || odd == 0 || (al == 0 && odd == 1) || odd > (UINT64_MAX >> al))
        return;
    uint64_t m = odd << al, l = *lo % m ? *lo + (m - *lo % m) : *lo, h = *hi - *hi % m;
    if (*lo <= UINT64_MAX - m && l <= h) {
        *lo = l;
        *hi = h;
    }
}

/* the effect of ALU slot i on dst */
static val alu(const state *s, size_t i, const bpfvm_insn *in)
{
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    bool x = info->fmt == BPFVM__FMT_ALU_X, is64 = BPFVM_CLASS(info->code) == BPFVM_ALU64;
    val d = s->r[in->dst];
    val w = x ? s->r[in->src] : scalar((uint64_t)(int64_t)in->imm, (uint64_t)(int64_t)in->imm);
    if (!x && !is64)
        w = scalar((uint32_t)in->imm, (uint32_t)in->imm);
    unsigned op = BPFVM_OP(info->code);
    if (d.kind != K_SCALAR && !(is64 && (op == BPFVM_ADD || op == BPFVM_SUB)))
        d = any; /* pointers and len only move, add or subtract */
    val r;
    switch (op) {
    case BPFVM_MOV:
        if (x && info->value != 0)
            return is64 ? any : scalar(0, UINT32_MAX); /* movsx */
        return is64 ? w : low32(w);
    case BPFVM_ADD:
        if (is64 && d.kind == K_PTR && !x)
            return add_const(d, in->imm);
        if (is64 && !x && in->imm < 0 && d.kind == K_SCALAR) /* a counter going down */
            return d.lo >= (uint64_t)-(int64_t)in->imm
                   ? scalar(d.lo + (uint64_t)(int64_t)in->imm, d.hi + (uint64_t)(int64_t)in->imm)
                   : any;
        if (is64)
            return add_vals(s, i, d, w);
        return low32(add_vals(s, i, d, w.kind == K_SCALAR ? w : any));
    case BPFVM_SUB:
        if (is64 && d.kind == K_PTR && !x && in->imm != INT32_MIN)
            return add_const(d, -(int64_t)in->imm);
        if (d.kind == K_SCALAR && w.kind == K_SCALAR && w.hi <= d.lo)
            r = scalar(d.lo - w.hi, d.hi - w.lo);
        else
            r = any;
        return is64 ? r : low32(r);
    case BPFVM_AND:
        if (w.kind == K_SCALAR && (w.lo == w.hi ? (int64_t)w.lo >= 0 || !is64 : true))
            r = scalar(0, min_u(d.kind == K_SCALAR ? d.hi : UINT64_MAX,
                                w.lo == w.hi ? (is64 ? w.lo : (uint32_t)w.lo) : w.hi));
        else
            r = any;
        return is64 ? r : low32(r);
    case BPFVM_MUL: /* scaled indexes: products of values below 2^32 do not wrap */
        if (w.kind == K_SCALAR && d.kind == K_SCALAR && d.hi <= UINT32_MAX && w.hi <= UINT32_MAX)
            r = scalar(d.lo * w.lo, d.hi * w.hi);
        else
            r = any;
        return is64 ? r : low32(r);
    case BPFVM_OR: /* max(a, b) <= a | b <= a + b */
        if (w.kind == K_SCALAR && d.kind == K_SCALAR && d.hi < ROOM_MAX && w.hi < ROOM_MAX)
            r = scalar(d.lo > w.lo ? d.lo : w.lo, d.hi + w.hi);
        else
            r = any;
        return is64 ? r : low32(r);
    case BPFVM_LSH: {
        unsigned k = (unsigned)in->imm & (is64 ? 63u : 31u);
        if (!x && d.kind == K_SCALAR && d.hi < ROOM_MAX && k < 24)
            r = scalar(d.lo << k, d.hi << k);
        else
            r = any;
        return is64 ? r : low32(r);
    }
    case BPFVM_RSH: {
        unsigned k = (unsigned)in->imm & (is64 ? 63u : 31u);
        if (x)
            r = d.kind == K_SCALAR ? scalar(0, d.hi) : any;
        else if (is64 || d.hi <= UINT32_MAX)
            r = scalar(d.lo >> k, d.hi >> k);
        else
            r = scalar(0, UINT32_MAX >> k);
        return is64 ? r : low32(r);
    }
    default:
        return is64 ? any : scalar(0, UINT32_MAX);
    }
}

/* rd OP k (jump class `code`) is known to hold (taken) or not: narrow the
 * range of scalar rd and of its copies (32-bit compares: when rd < 2^32;
 * signed ones: when rd and k are non-negative). */
static void refine_scalar(state *s, int rd, uint8_t code, int32_t imm, bool taken)
{
    val *a = &s->r[rd];
    bool is32 = BPFVM_CLASS(code) != BPFVM_JMP;
    uint64_t max = is32 ? UINT32_MAX : UINT64_MAX, k = is32 ? (uint32_t)imm : (uint64_t)(int64_t)imm;
    unsigned op = BPFVM_OP(code);
    bool sgn = op == BPFVM_JSGT || op == BPFVM_JSGE || op == BPFVM_JSLT || op == BPFVM_JSLE;
    if (a->hi > max || (sgn && (imm < 0 || a->hi > max >> 1)))
        return;
    uint64_t lo = a->lo, hi = a->hi;
    switch (op) {
    case BPFVM_JGT: case BPFVM_JSGT:
        if (taken && k < max) lo = k + 1 > lo ? k + 1 : lo;
        else if (!taken) hi = min_u(hi, k);
        break;
    case BPFVM_JGE: case BPFVM_JSGE:
        if (taken) lo = k > lo ? k : lo;
        else if (k > 0) hi = min_u(hi, k - 1);
        break;
    case BPFVM_JLT: case BPFVM_JSLT:
        if (taken && k > 0) hi = min_u(hi, k - 1);
        else if (!taken) lo = k > lo ? k : lo;
        break;
    case BPFVM_JLE: case BPFVM_JSLE:
        if (taken) hi = min_u(hi, k);
        else if (k < max) lo = k + 1 > lo ? k + 1 : lo;
        break;
    case BPFVM_JEQ: case BPFVM_JNE:
        if (taken == (op == BPFVM_JEQ) && k >= lo && k <= hi)
            lo = hi = k;
        else if (taken != (op == BPFVM_JEQ) && lo < hi) {
            lo += k == lo; /* not k: k leaves an end of the range */
            hi -= k == hi;
        }
        break;
    default:
        return;
    }
    align_range(&lo, &hi, align_of(a), odd_of(a));
    if (lo > hi)
        return; /* no run takes this way */
    for (int r = 0; r < s->nv; r++) {
        val *x = &s->r[r];
        if (r == rd || (a->sid && x->kind == K_SCALAR && x->sid == a->sid)) {
            x->lo = lo;
            x->hi = hi;
        }
    }
    propagate(s);
}

/* rd OP imm (jump class and op `code`) holds (taken) or not */
static void refine_imm(state *s, int rd, uint8_t code, int32_t imm, bool taken)
{
    unsigned op = BPFVM_OP(code);
    if (s->r[rd].kind == K_SCALAR) {
        refine_scalar(s, rd, code, imm, taken);
    } else if (s->r[rd].kind == K_LEN && BPFVM_CLASS(code) == BPFVM_JMP && imm >= 0) {
        /* len >= k (len < 2^63: the signed compares agree when k >= 0) */
        int64_t k = imm, at_least;
        if ((op == BPFVM_JGT || op == BPFVM_JSGT) && taken)
            at_least = k + 1;
        else if ((op == BPFVM_JGE || op == BPFVM_JSGE || op == BPFVM_JEQ) && taken)
            at_least = k;
        else if ((op == BPFVM_JLT || op == BPFVM_JSLT) && !taken)
            at_least = k;
        else if ((op == BPFVM_JLE || op == BPFVM_JSLE) && !taken)
            at_least = k + 1;
        else if (k == 0 && (op == BPFVM_JEQ || op == BPFVM_JNE) && taken == (op == BPFVM_JNE))
            at_least = 1; /* len != 0 */
        else
            return;
        raise_room(s, ID_START, at_least);
    }
}

/* ---- Relations of scalars with the end (the bench's packet parser):
 *
 *     r2 = len - 2 - off              K_DIST: end - base(id) - 2 exactly,
 *                                     base(id) = start + off (r1 + off)
 *     if r2 < r5 goto out             r5 fits id: base(id) + 2 + r5 <= end
 *     if r5 < 34 goto out             room(id) >= 36
 *
 * K_DIST comes from len (K_LEN) plus or minus constants, len - k being >= 0
 * when room(start) >= k, then minus a scalar x known below it (x + k <=
 * len: x's b) that was added to start to make base(id) = start + pc + x:
 * len - k - x = end - base(id) - (k - pc). A scalar compared below or
 * equal to end - base(id) - k (unsigned 64-bit compares) fits id at k (k +
 * 1 when below), one compared with len - k gets b = k (k + 1). v = x | c,
 * where the low bits of x that c has are 0 (al), is x + c: v <= len - k
 * gives x + c + k <= len, x's b. All are facts about the values (named by
 * a sid, or a base id) and forgotten with them. */

/* end - base(id) - k (>= 0), or len when that is it */
static val dist(uint32_t id, int64_t k)
{
    val v = any;
    v.kind = id == ID_START && k == 0 ? K_LEN : K_DIST;
    if (v.kind == K_DIST) {
        v.id = id;
        v.off = (int32_t)k;
    }
    return v;
}

/* Is d len - k (k >= 0)? */
static bool len_minus(const val *d, int64_t *k)
{
    *k = d->kind == K_DIST ? d->off : 0;
    return d->kind == K_LEN || (d->kind == K_DIST && d->id == ID_START);
}

/* d + c (a 64-bit add of a constant), alu()'s result being r */
static val add_rel(const state *s, const val *d, int64_t c, val r)
{
    int64_t k;
    if (!len_minus(d, &k))
        return r;
    k -= c; /* len - k + c, which is >= 0 when len >= k */
    return k >= 0 && k <= s->start_room && k <= OFF_MAX ? dist(ID_START, k) : r;
}

/* d - w (64-bit, registers), alu()'s result being r */
static val sub_rel(const state *s, const val *d, const val *w, val r)
{
    int64_t k;
    if (!len_minus(d, &k) || w->kind != K_SCALAR || !w->sid)
        return r;
    int64_t b = below_of(s, w);
    if (b < 1 || b < k)
        return r; /* w + k <= len not known: it may wrap */
    for (int q = 0; q < s->nv; q++) {
        const val *p = &s->r[q];
        if (p->kind == K_PTR && p->parent == ID_START && p->vsid == w->sid &&
            k - p->pc >= -OFF_MAX && k - p->pc <= OFF_MAX)
            return dist(p->id, k - p->pc);
    }
    /* a constant c (a loop's first trip: off = 0): len - (k + c) */
    return w->lo == w->hi && w->lo <= (uint64_t)OFF_MAX ? add_rel(s, d, -(int64_t)w->lo, r) : r;
}

/* What alu() leaves out of ALU slot in (*r: its result): the alignment of
 * a scalar (the power of two and the odd factor it is a multiple of: sums,
 * differences and left shifts that do not wrap keep the odd factor) and,
 * when `rel` (the program may make one), the relations the operation
 * keeps. */
static void alu_rel(const state *s, const bpfvm_insn *in, val *r, bool rel)
{
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    unsigned op = BPFVM_OP(info->code);
    if (op != BPFVM_ADD && op != BPFVM_SUB && op != BPFVM_OR && op != BPFVM_AND &&
        op != BPFVM_LSH)
        return;
    bool x = info->fmt == BPFVM__FMT_ALU_X, is64 = BPFVM_CLASS(info->code) == BPFVM_ALU64;
    const val *d = &s->r[in->dst];
    unsigned ad = align_of(d), aw = x ? align_of(&s->r[in->src])
                                      : in->imm ? (unsigned)__builtin_ctz((uint32_t)in->imm) : 64u;
    if (rel && is64 && !x && (op == BPFVM_ADD || op == BPFVM_SUB) && d->kind != K_SCALAR)
        *r = add_rel(s, d, op == BPFVM_SUB ? -(int64_t)in->imm : in->imm, *r);
    else if (rel && is64 && x && op == BPFVM_SUB && d->kind != K_SCALAR)
        *r = sub_rel(s, d, &s->r[in->src], *r);
    else if (rel && is64 && !x && op == BPFVM_OR && d->kind == K_SCALAR && d->sid &&
             in->imm >= 0 && (ad >= 32 || ((uint64_t)in->imm >> ad) == 0)) {
        r->parent = d->sid; /* no bit of imm is set in d: d | imm = d + imm */
        r->pc = in->imm;
    }
    if (r->kind != K_SCALAR || r->lo == r->hi)
        return;
    bool wraps = r->hi == (is64 ? UINT64_MAX : UINT32_MAX);
    if (!wraps && (op == BPFVM_ADD || op == BPFVM_SUB))
        r->odd = odd_gcd(odd_of(d), x ? odd_of(&s->r[in->src])
                                      : odd_part((uint64_t)(in->imm < 0 ? -(int64_t)in->imm
                                                                        : in->imm)));
    else if (!wraps && op == BPFVM_LSH && !x)
        r->odd = odd_gcd(odd_of(d), 0);
    if (op != BPFVM_AND && op != BPFVM_LSH)
        r->al = (uint8_t)(ad < aw ? ad : aw);
    else if (op == BPFVM_AND)
        r->al = (uint8_t)(ad > aw ? ad : aw);
    else if (!x)
        r->al = (uint8_t)min_u(64, ad + ((unsigned)in->imm & (is64 ? 63u : 31u)));
}

/* Scalar x (register rx) <= y, or < y (strict: 1). True if a fit or a b is new. */
static bool relate(state *s, int rx, const val *y, int strict)
{
    val x = s->r[rx];
    int64_t k;
    bool from_len = len_minus(y, &k), fit = false;
    if (x.kind != K_SCALAR || (!from_len && y->kind != K_DIST))
        return false;
    k = (y->kind == K_DIST ? y->off : 0) + strict;
    for (int r = 0; r < s->nv; r++) {
        val *z = &s->r[r];
        bool same = r == rx || (x.sid && z->sid == x.sid);
        if (z->kind != K_SCALAR) {
            continue;
        } else if (from_len) { /* x + k <= len; x = v + pc: v + pc + k <= len */
            int64_t b = same ? k : x.parent && z->sid == x.parent ? k + x.pc : 0;
            fit |= b > z->room; /* (a new b gives room(start) b + lo) */
            z->room = b > z->room ? b : z->room;
        } else if (same && !z->id) {
            z->id = y->id;
            z->off = (int32_t)k;
            fit = true;
        }
    }
    return fit;
}

/* An unsigned 64-bit compare of slot in, a and b its operands before, holds
 * (taken) or not: the relations it gives. */
static void relations(state *s, const bpfvm_insn *in, const val *a, const val *b, unsigned op,
                      bool taken)
{
    int a_le = -1, b_le = -1; /* a <= b (0) or a < b (1) holds; -1: not known */
    if (a->kind < K_PTR && b->kind < K_PTR && a->kind == b->kind)
        return; /* two scalars, or len twice */
    switch (op) {
    case BPFVM_JLE: if (taken) a_le = 0; else b_le = 1; break;
    case BPFVM_JLT: if (taken) a_le = 1; else b_le = 0; break;
    case BPFVM_JGE: if (taken) b_le = 0; else a_le = 1; break;
    case BPFVM_JGT: if (taken) b_le = 1; else a_le = 0; break;
    default: return;
    }
    if (a_le >= 0 ? relate(s, in->dst, b, a_le) : relate(s, in->src, a, b_le))
        propagate(s);
}

/* A join keeps of scalar v (from x and y) the relations both have. */
static void join_rel(val *v, const val *x, const val *y, size_t slot)
{
    unsigned ax = align_of(x), ay = align_of(y);
    v->al = (uint8_t)(ax < ay ? ax : ay);
    v->odd = odd_gcd(odd_of(x), odd_of(y));
    if (x->parent == y->parent && x->pc == y->pc) {
        v->parent = x->parent;
        v->pc = x->pc;
    }
    if (x->id && x->id == y->id && !joined_at(x->id, slot)) {
        v->id = x->id;
        v->off = x->off < y->off ? x->off : y->off;
    }
}

/* Does x name a base the join at `slot` makes? */
static bool names_join(const val *x, size_t slot)
{
    if (x->kind == K_PTR)
        return joined_at(x->id, slot) || joined_at(x->parent, slot);
    return x->kind != K_LEN && x->id && joined_at(x->id, slot);
}

/* A compare of slot i is known to hold (taken: it jumps) or not: refine. */
static void refine(state *s, const bpfvm_insn *in, bool taken)
{
    const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
    unsigned op = BPFVM_OP(info->code);
    uint8_t code = (uint8_t)(BPFVM_CLASS(info->code) | op);
    bool is32 = BPFVM_CLASS(info->code) != BPFVM_JMP;
    if (info->fmt == BPFVM__FMT_JMP_K) {
        refine_imm(s, in->dst, code, in->imm, taken);
        return;
    }
    val a = s->r[in->dst], b = s->r[in->src];
    /* against a register holding a constant (v1 code compares so): as an
     * immediate (one that means the same value) */
    for (int n = 0; n < 2; n++) {
        const val *c = n ? &a : &b;
        if (c->kind == K_SCALAR && c->lo == c->hi &&
            (is32 ? c->lo <= UINT32_MAX : (uint64_t)(int64_t)(int32_t)c->lo == c->lo))
            refine_imm(s, n ? in->src : in->dst, n ? bpfvm__jit_mirror(code) : code, (int32_t)c->lo,
                       taken);
    }
    if (is32)
        return;
    relations(s, in, &a, &b, op, taken);
    if (a.kind != K_PTR || b.kind != K_PTR)
        return;
    /* which of a <= b, b <= a holds */
    bool a_le_b = false, b_le_a = false;
    switch (op) {
    case BPFVM_JGT: case BPFVM_JGE: b_le_a = taken; a_le_b = !taken; break;
    case BPFVM_JLT: case BPFVM_JLE: a_le_b = taken; b_le_a = !taken; break;
    case BPFVM_JEQ: a_le_b = b_le_a = taken; break;
    case BPFVM_JNE: a_le_b = b_le_a = !taken; break;
    default: return;
    }
    for (int n = 0; n < 2; n++) {
        const val *x = n ? &b : &a, *y = n ? &a : &b;
        if (!(n ? b_le_a : a_le_b) || x->id == y->id || x->off < 0 || y->off < 0)
            continue;
        int64_t ry = room_of(s, y);
        raise_room(s, x->id, x->off + ry - y->off);
    }
    propagate(s);
}

/* (field by field: a call of memcmp costs more; pad is always 0) */
static bool same_val(const val *a, const val *b)
{
    return a->lo == b->lo && a->hi == b->hi && a->room == b->room && a->id == b->id &&
           a->parent == b->parent && a->off == b->off && a->pc == b->pc && a->sid == b->sid &&
           a->vsid == b->vsid && a->kind == b->kind && a->al == b->al &&
           a->odd == b->odd;
}

static bool same_state(const state *a, const state *b) { return !memcmp(a, b, sizeof(*a)); }

/* Widening of scalar v (register r), the join at `slot` of x and the value
 * of a path from slot `from`. On a path from before the join, the union (a
 * loop's counter entering an inner loop; every cycle of the flow has an
 * edge back, where its values are widened). On a path coming back to the
 * join (a loop's), a bound past x's goes on to the nearest stop beyond it:
 * C - 1, C or C + 1 for a compare of r with a constant C from the join
 * point to the jump. Bounds that did not move stay, unless a moved one found
 * no stop: then the range is all values, as without stops. Any bounds would
 * be sound (the blocks run again until no entry state changes, so the
 * ranges hold for every run); these let a loop counter's range survive its
 * loop head: r = 0 ... r += 1; if r != 384 goto head gives [0, 1] there,
 * widened to [0, 383], which the body keeps ([1, 384] after the add, 384
 * taken out by the compare). */
static void widen_scalar(val *v, const val *x, const stops *st, int r, size_t slot,
                         size_t from)
{
    if (slot > from)
        return;
    uint64_t lo = 0, hi = UINT64_MAX;
    size_t a = r < 11 ? st->at[r] : 0, z = r < 11 ? st->at[r + 1] : 0, end = z;
    while (a < z) { /* the first compare at the join or after */
        size_t m = a + (z - a) / 2;
        if (st->v[m].slot < slot)
            a = m + 1;
        else
            z = m;
    }
    for (size_t k = a; k < end && k < a + NSCAN && st->v[k].slot <= from; k++) {
        uint64_t c = st->v[k].c;
        for (int d = -1; d <= 1; d++) {
            uint64_t t = c + (uint64_t)(int64_t)d;
            if (t <= v->lo && t > lo && (d >= 0 || c > 0))
                lo = t;
            if (t >= v->hi && t < hi && (d <= 0 || c < UINT64_MAX))
                hi = t;
        }
    }
    /* bounds that did not move stay, unless one that moved found no stop */
    bool keep = x->kind == K_SCALAR && !(v->lo < x->lo && lo == 0) &&
                !(v->hi > x->hi && hi == UINT64_MAX);
    if (!keep || v->lo < x->lo)
        v->lo = lo;
    if (!keep || v->hi > x->hi)
        v->hi = hi;
    align_range(&v->lo, &v->hi, v->al, odd_of(v));
}

/* The stops of widen_scalar: the conditional jumps comparing a register
 * with a constant (as a 64-bit or 32-bit value). 0 or BPFVM_ENOMEM. */
static int find_stops(bounds *b)
{
    const bpfvm__jit *j = b->j;
    uint32_t fill[11] = { 0 };
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < j->count; i++) {
            const bpfvm_insn *in = &j->code[i];
            const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
            if (info->fmt == BPFVM__FMT_LDDW)
                i++;
            if (info->fmt != BPFVM__FMT_JMP_K || in->dst > 10)
                continue;
            if (pass == 0) {
                b->st.at[in->dst + 1]++;
                continue;
            }
            stop *t = &b->st.v[b->st.at[in->dst] + fill[in->dst]++];
            t->c = BPFVM_CLASS(info->code) != BPFVM_JMP ? (uint32_t)in->imm
                                                        : (uint64_t)(int64_t)in->imm;
            t->slot = i;
        }
        if (pass == 1)
            return 0;
        for (int r = 0; r < 11; r++)
            b->st.at[r + 1] += b->st.at[r];
        if (b->st.at[11] == 0)
            return 0;
        b->st.v = bpfvm__alloc(j->vm, b->st.at[11] * sizeof(*b->st.v));
        if (!b->st.v)
            return BPFVM_ENOMEM;
    }
    return 0;
}

/* Join b, from slot `from`, into the entry state a of the block at slot
 * `slot` (true if a changed); widening (termination): 1, scalars that
 * change are widened (widen_scalar, with the stops st); 2, they keep only
 * their ranges (widened) and whatever else changes is forgotten; 3, whatever
 * changes is forgotten. */
static bool join(state *a, const state *b, size_t slot, size_t from, int widen, const stops *st)
{
    state o = *a;
    struct { uint32_t ia, ib; int64_t ca, cb; } pair[NV];
    int npairs = 0;
    const val *ys[NV]; /* b's value for a's register or slot (at the same offset) */
    for (int r = 0; r < NV; r++)
        ys[r] = r < 11 ? &b->r[r] : &any;
    for (int k = 0; k < a->nv - 11; k++)
        for (int m = 0; m < b->nv - 11; m++)
            if (b->soff[m] == a->soff[k])
                ys[11 + k] = &b->r[11 + m];
    o.start_room = a->start_room < b->start_room ? a->start_room : b->start_room;
    for (int r = 0; r < a->nv; r++) {
        const val *x = &a->r[r], *y = ys[r];
        if (same_val(x, y) && !names_join(x, slot))
            continue; /* what the rest gives (o.r[r] is *x) */
        val v = any;
        if (x->kind == K_LEN && y->kind == K_LEN) {
            v = *x;
        } else if (x->kind == K_SCALAR && y->kind == K_SCALAR) {
            v = scalar(min_u(x->lo, y->lo), x->hi > y->hi ? x->hi : y->hi);
            v.sid = x->sid == y->sid ? x->sid : 0;
            int64_t bx = below_of(a, x), by = below_of(b, y);
            v.room = bx < by ? bx : by;
            join_rel(&v, x, y, slot);
        } else if (x->kind == K_PTR && y->kind == K_PTR) {
            if (x->id == y->id && x->off == y->off && !joined_at(x->id, slot)) {
                /* the same base on both paths (made last by the same slot) */
                v = *x;
                v.room = x->room < y->room ? x->room : y->room;
                v.lo = min_u(x->lo, y->lo);
                if (x->vsid != y->vsid || x->parent != y->parent || x->pc != y->pc ||
                    joined_at(x->parent, slot))
                    v.vsid = 0; /* perhaps a link to a pair's base: see below */
            } else {
                int64_t rx = room_of(a, x), ry = room_of(b, y);
                int p = 0;
                while (p < npairs && !(pair[p].ia == x->id && pair[p].ib == y->id &&
                                       x->off - pair[p].ca == y->off - pair[p].cb))
                    p++;
                if (p < npairs) {
                    v = ptr(ID_JOIN(slot, p), 0, 0);
                    int64_t off = x->off - pair[p].ca;
                    v.off = (int32_t)(off < -OFF_MAX || off > OFF_MAX ? OFF_MAX + 1 : off);
                    /* the room of the pair's first register */
                    for (int q = 0; q < r; q++)
                        if (o.r[q].kind == K_PTR && o.r[q].id == v.id)
                            v.room = o.r[q].room;
                } else if (x->off >= 0 && y->off >= 0 && rx - x->off >= ROOM_MIN &&
                           ry - y->off >= ROOM_MIN) {
                    pair[npairs].ia = x->id;
                    pair[npairs].ib = y->id;
                    pair[npairs].ca = x->off;
                    pair[npairs].cb = y->off;
                    int64_t room = rx - x->off < ry - y->off ? rx - x->off : ry - y->off;
                    v = ptr(ID_JOIN(slot, npairs), 0, room);
                    npairs++;
                }
            }
            if (v.kind == K_PTR && (v.off < -OFF_MAX || v.off > OFF_MAX))
                v = any;
        }
        o.r[r] = v;
    }
    /* a kept pointer linked on both paths to bases the join pairs up */
    for (int r = 0; r < a->nv; r++) {
        const val *x = &a->r[r], *y = ys[r];
        val *v = &o.r[r];
        if (v->kind == K_PTR && !v->vsid && !joined_at(v->id, slot) && x->kind == K_PTR &&
            y->kind == K_PTR && x->vsid && x->vsid == y->vsid)
            for (int p = 0; p < npairs; p++)
                if (pair[p].ia == x->parent && pair[p].ib == y->parent &&
                    x->pc - pair[p].ca == y->pc - pair[p].cb &&
                    x->pc - pair[p].ca >= -OFF_MAX && x->pc - pair[p].ca <= OFF_MAX) {
                    v->parent = ID_JOIN(slot, p);
                    v->pc = (int32_t)(x->pc - pair[p].ca);
                    v->vsid = x->vsid;
                    break;
                }
        if (!widen || same_val(v, x)) {
            continue;
        } else if (widen > 2 || (widen > 1 && v->kind != K_SCALAR)) {
            *v = any;
        } else if (v->kind == K_SCALAR) {
            if (widen > 1) { /* its range only */
                val w = scalar(v->lo, v->hi);
                w.al = v->al;
                w.odd = v->odd;
                *v = w;
            }
            widen_scalar(v, x, st, r, slot, from);
        }
    }
    for (int k = (int)o.nv - 12; k >= 0; k--)
        if (!informative(&o.r[11 + k]))
            forget_slot(&o, k);
    if (widen > 1 && o.start_room != a->start_room)
        o.start_room = 0;
    if (same_state(&o, a))
        return false;
    *a = o;
    return true;
}

static void push(bounds *b, size_t slot)
{
    int32_t k = b->block[slot];
    if (!b->queued[k]) {
        b->queued[k] = 1;
        b->todo[b->ntodo++] = (uint32_t)slot;
    }
}

/* State s reaches slot t from slot `from`: join it into t's entry state. */
static void flow(bounds *b, const state *s, size_t t, size_t from)
{
    int32_t k = b->block[t];
    if (k < 0)
        return; /* not a leader: cannot happen (analyse marks every target) */
    if (b->visits[k] == 0) {
        b->in[k] = *s;
    } else if (same_state(&b->in[k], s)) {
        return;
    } else if (b->edges[k] == 1) {
        b->in[k] = *s; /* the last state of its one edge (see count_edges) */
    } else if (!join(&b->in[k], s, t, from,
                     (b->visits[k] >= ((b->j->marks[t] & BPFVM__MARK_LOOP) ? 1 : WIDEN)) +
                     (b->visits[k] >= WIDEN_ALL) + (b->visits[k] >= WIDEN_END), &b->st)) {
        return;
    }
    if (b->visits[k] < UINT8_MAX)
        b->visits[k]++;
    push(b, t);
}

/* Is the access of slot i, with state s, proven? */
static bool proven(const state *s, const bpfvm_insn *in, int fmt)
{
    int base = fmt == BPFVM__FMT_LDX ? in->src : in->dst;
    const val *p = &s->r[base];
    if (p->kind != K_PTR)
        return false;
    int64_t room = room_of(s, p), o = p->off + in->off;
    unsigned n = bpfvm__jit_access_size(bpfvm__ops[in->opcode].code);
    return o >= 0 && o + (int64_t)n <= room;
}

/* Is `info` a division or modulo by a register? */
static bool div_by_reg(const bpfvm__opinfo *info)
{
    return info->fmt == BPFVM__FMT_ALU_X &&
           (BPFVM_OP(info->code) == BPFVM_DIV || BPFVM_OP(info->code) == BPFVM_MOD);
}

/* Is divisor v of division or modulo `info` (register form) neither 0 nor,
 * signed, -1 in every run (in its width: a 32-bit one's value below 2^32)?
 * Then the division needs neither test. */
static bool divisor_safe(const val *v, const bpfvm__opinfo *info)
{
    uint64_t max = BPFVM_CLASS(info->code) == BPFVM_ALU64 ? UINT64_MAX : UINT32_MAX;
    return v->kind == K_SCALAR && v->lo >= 1 && v->hi <= max &&
           (info->value != 1 || v->hi < max);
}

/* Run the block at leader slot `first` from state *s (its entry state):
 * pass the states on, and mark BPFVM__MARK_PROVEN what is proven. The last
 * run of a block is from its final entry state (a change queues it again),
 * so the marks of that run stay. */
static void run_block(bounds *b, size_t first, state *s)
{
    bpfvm__jit *j = b->j;
    bool fresh = !b->ran[b->block[first]];
    b->ran[b->block[first]] = 1;
    for (size_t i = first; i < j->count; i++) {
        if (i > first && (j->marks[i] & BPFVM__MARK_LEADER)) {
            flow(b, s, i, i - 1);
            return;
        }
        const bpfvm_insn *in = &j->code[i];
        const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
        switch (info->fmt) {
        case BPFVM__FMT_ALU_K: case BPFVM__FMT_ALU_X: {
            if (div_by_reg(info))
                j->marks[i] = (uint8_t)((j->marks[i] & ~BPFVM__MARK_PROVEN) |
                                        (divisor_safe(&s->r[in->src], info) ? BPFVM__MARK_PROVEN
                                                                            : 0));
            val v = alu(s, i, in);
            alu_rel(s, in, &v, b->rel);
            if (in->opcode != BPFVM__OP_MOV64_X && in->opcode != BPFVM__OP_MOV32_X &&
                v.kind == K_SCALAR)
                v.sid = 0;
            define(s, in->dst, v, i, fresh);
            if (v.kind == K_PTR && v.vsid)
                fit_rooms(s); /* a base some fit gives room */
            if (in->opcode == BPFVM__OP_MOV64_X && v.kind == K_SCALAR && in->src != in->dst &&
                !s->r[in->src].sid)
                s->r[in->src].sid = s->r[in->dst].sid; /* a compare of one is of both */
            break;
        }
        case BPFVM__FMT_NEG:
            s->r[in->dst] = BPFVM_CLASS(info->code) == BPFVM_ALU64 ? any : scalar(0, UINT32_MAX);
            break;
        case BPFVM__FMT_END:
            define(s, in->dst, in->imm == 16 ? scalar(0, 0xffff)
                               : in->imm == 32 ? scalar(0, UINT32_MAX) : any, i, fresh);
            break;
        case BPFVM__FMT_LDX:
        case BPFVM__FMT_ST: case BPFVM__FMT_STX: {
            bool ok = proven(s, in, info->fmt);
            if (info->fmt == BPFVM__FMT_STX) {         /* (the last run's: every run's) */
                const val *v = &s->r[in->src];
                j->stored[i].known = v->kind == K_SCALAR && v->lo == v->hi;
                j->stored[i].value = v->lo;
            }
            j->marks[i] = (uint8_t)((j->marks[i] & ~BPFVM__MARK_PROVEN) |
                                    (ok ? BPFVM__MARK_PROVEN : 0));
            unsigned n = bpfvm__jit_access_size(info->code);
            if (info->fmt == BPFVM__FMT_LDX) {
                int k = in->opcode == BPFVM__OP_LDXDW && in->src == 10 ? slot_at(s, in->off) : -1;
                define(s, in->dst, k >= 0 ? s->r[11 + k]
                                   : BPFVM_MODE(info->code) == BPFVM_MEM && n < 8
                                   ? scalar(0, ((uint64_t)1 << (8 * n)) - 1) : any, i, fresh);
            } else if (in->dst == 10 && n == 8) {
                spill(s, in->off, info->fmt == BPFVM__FMT_STX ? s->r[in->src]
                                  : scalar((uint64_t)(int64_t)in->imm, (uint64_t)(int64_t)in->imm),
                      b->ctr_off);
            } else if (in->dst == 10 || !ok) {
                /* a store elsewhere may write the frame (through a copy of
                 * r10 or a pointer the analysis does not know); one proven
                 * inside the input memory does not */
                frame_write(s, in->dst == 10 ? in->off : 0, in->dst == 10 ? n : 0);
            }
            break;
        }
        case BPFVM__FMT_ATOMIC:
            frame_write(s, in->dst == 10 ? in->off : 0,
                        in->dst == 10 ? bpfvm__jit_access_size(info->code) : 0);
            s->r[in->src] = any;
            s->r[0] = any;
            break;
        case BPFVM__FMT_LDDW: { /* a constant (src 0), or an address */
            uint64_t c = bpfvm__lddw_value(in);
            define(s, in->dst, in->src == 0 ? scalar(c, c) : any, i, fresh);
            i++;
            break;
        }
        case BPFVM__FMT_CALL: case BPFVM__FMT_CALLX: case BPFVM__FMT_CALL_LOCAL:
        case BPFVM__FMT_LDABS: case BPFVM__FMT_LDIND:
            for (int r = 0; r <= 5; r++)
                s->r[r] = any;
            frame_write(s, 0, 0); /* helpers and functions may write the frame */
            break;
        case BPFVM__FMT_EXIT:
            return;
        case BPFVM__FMT_JA: case BPFVM__FMT_JA32:
            flow(b, s, bpfvm__jit_dest(j, i), i);
            return;
        default: { /* conditional jumps */
            state t = *s;
            refine(&t, in, true);
            flow(b, &t, bpfvm__jit_dest(j, i), i);
            refine(s, in, false);
            break;
        }
        }
    }
}

/* Can a compare give room at all? Cheap and flow-insensitive (the analysis
 * costs several times the rest of a compile): registers that may hold
 * pointers (r1, moves and 64-bit adds of them) or r2 (r2 and its moves); a
 * 64-bit compare of two of the first, or of one of the second with a
 * positive immediate or with any register (a constant, or a scalar below
 * len); or a division or modulo by a register. */
static bool may_prove(const bpfvm__jit *j)
{
    unsigned ptrs = 1u << 1, len = 1u << 2, before; /* bit 10: one was spilled */
    do {
        before = ptrs | len << 16;
        for (size_t i = 0; i < j->count; i++) {
            const bpfvm_insn *in = &j->code[i];
            unsigned s = 1u << in->src, d = 1u << in->dst;
            bool fill = in->opcode == BPFVM__OP_LDXDW && in->src == 10;
            if (in->opcode == BPFVM__OP_MOV64_X || in->opcode == BPFVM__OP_ADD64_X || fill)
                ptrs |= (ptrs & s) ? d : 0;
            if (in->opcode == BPFVM__OP_MOV64_X || fill)
                len |= (len & s) ? d : 0;
            if (in->opcode == BPFVM__OP_STXDW && in->dst == 10) {
                ptrs |= (ptrs & s) ? d : 0;
                len |= (len & s) ? d : 0;
            }
        }
    } while ((ptrs | len << 16) != before);
    for (size_t i = 0; i < j->count; i++) {
        const bpfvm_insn *in = &j->code[i];
        const bpfvm__opinfo *info = &bpfvm__ops[in->opcode];
        unsigned s = 1u << in->src, d = 1u << in->dst;
        if (div_by_reg(info))
            return true; /* (its divisor may be proven) */
        if (BPFVM_CLASS(info->code) != BPFVM_JMP)
            continue;
        if (info->fmt == BPFVM__FMT_JMP_K && (len & d) && in->imm > 0)
            return true;
        if (info->fmt != BPFVM__FMT_JMP_X)
            continue;
        if ((ptrs & s) && (ptrs & d))
            return true;
        if ((len & s) || (len & d))
            return true; /* with a constant or a scalar below len */
    }
    return false;
}

/* The edges entering each block, up to 2: jumps, falls into it, the entry
 * (slot 0) and the entries of functions. A block entered by one edge takes
 * the state of that edge's last run instead of joining it into the states of
 * earlier runs (a loop's first trip, with its counters still constant): that
 * last run is from its block's final entry state, so it holds for every run
 * when the analysis ends, and every cycle of the flow passes a block of two
 * edges, whose joins and widening end it. Also: can an instruction make a
 * relation (len - k, len - x, x | c)? If not, alu_rel makes none. */
static void edge(bounds *b, size_t t)
{
    int32_t k = b->block[t];
    if (k >= 0 && b->edges[k] < 2)
        b->edges[k]++;
}

/* Is the 8-byte fill at slot i a loop counter's (in its block, the value
 * is stepped by constants and compared with one: a counter kept in the frame
 * across inner loops)? */
static bool find_counter(const bpfvm__jit *j, size_t i)
{
    const bpfvm_insn *f = &j->code[i];
    for (size_t k = i + 1; k < j->count && k < i + 16 && !(j->marks[k] & BPFVM__MARK_LEADER); k++) {
        const bpfvm_insn *in = &j->code[k];
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (fmt == BPFVM__FMT_JMP_K && in->dst == f->dst)
            return true;
        if (in->dst == f->dst && in->opcode != BPFVM__OP_ADD64_K)
            return false;
    }
    return false;
}

static void count_edges(bounds *b)
{
    const bpfvm__jit *j = b->j;
    edge(b, 0);
    for (size_t i = 0; i < j->count; i++) {
        const bpfvm_insn *in = &j->code[i];
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (in->opcode == BPFVM__OP_LDXDW && in->src == 10 && in->off <= -8 && !b->ctr_off &&
            find_counter(j, i))
            b->ctr_off = in->off;
        bool falls = fmt != BPFVM__FMT_EXIT && fmt != BPFVM__FMT_JA && fmt != BPFVM__FMT_JA32;
        b->rel |= in->opcode == BPFVM__OP_OR64_K || in->opcode == BPFVM__OP_SUB64_X ||
                  (in->opcode == BPFVM__OP_ADD64_K && in->imm < 0) ||
                  (in->opcode == BPFVM__OP_SUB64_K && in->imm > 0);
        if (fmt == BPFVM__FMT_CALL_LOCAL)
            edge(b, bpfvm__jit_dest(j, i));
        else if (fmt == BPFVM__FMT_LDDW && in->src == BPFVM_PSEUDO_FUNC &&
                 (uint32_t)in->imm < j->count && b->block[(uint32_t)in->imm] >= 0)
            edge(b, (uint32_t)in->imm);
        else if (fmt == BPFVM__FMT_JA || fmt == BPFVM__FMT_JA32 || fmt == BPFVM__FMT_JMP_K ||
                 fmt == BPFVM__FMT_JMP_X)
            edge(b, bpfvm__jit_dest(j, i));
        if (fmt == BPFVM__FMT_LDDW)
            i++;
        if (falls && i + 1 < j->count && b->block[i + 1] >= 0)
            edge(b, i + 1);
    }
}

int bpfvm__jit_bounds(bpfvm__jit *j)
{
    size_t n = j->count, nblocks = 0;
    if (n == 0 || n > MAX_SLOTS || !may_prove(j))
        return 0;
    bounds b = { j, { NULL, { 0 } }, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, false, 0 };
    j->stored = bpfvm__alloc(j->vm, n * sizeof(*j->stored)); /* (freed with j) */
    if (!j->stored)
        return BPFVM_ENOMEM;
    memset(j->stored, 0, n * sizeof(*j->stored));
    b.block = bpfvm__alloc(j->vm, n * sizeof(*b.block));
    if (!b.block)
        return BPFVM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        b.block[i] = (j->marks[i] & BPFVM__MARK_LEADER) ? (int32_t)nblocks++ : -1;
    b.in = bpfvm__alloc(j->vm, nblocks * sizeof(*b.in));
    b.visits = bpfvm__alloc(j->vm, nblocks);
    b.queued = bpfvm__alloc(j->vm, nblocks);
    b.todo = bpfvm__alloc(j->vm, nblocks * sizeof(*b.todo));
    b.ran = bpfvm__alloc(j->vm, nblocks);
    b.edges = bpfvm__alloc(j->vm, nblocks);
    int rc = BPFVM_ENOMEM;
    if (!b.in || !b.visits || !b.queued || !b.todo || !b.ran || !b.edges || find_stops(&b) != 0)
        goto done;
    memset(b.visits, 0, nblocks);
    memset(b.queued, 0, nblocks);
    memset(b.ran, 0, nblocks);
    memset(b.edges, 0, nblocks);
    count_edges(&b);
    /* functions entered by calls or as callbacks: nothing known */
    state s;
    top(&s);
    for (size_t i = 0; i < n; i++) {
        const bpfvm_insn *in = &j->code[i];
        int fmt = bpfvm__ops[in->opcode].fmt;
        if (fmt == BPFVM__FMT_CALL_LOCAL)
            flow(&b, &s, bpfvm__jit_dest(j, i), i);
        else if (fmt == BPFVM__FMT_LDDW && in->src == BPFVM_PSEUDO_FUNC &&
                 (uint32_t)in->imm < n && b.block[(uint32_t)in->imm] >= 0)
            flow(&b, &s, (uint32_t)in->imm, i);
        if (fmt == BPFVM__FMT_LDDW)
            i++;
    }
    s.r[1] = ptr(ID_START, 0, 0);
    s.r[2] = any;
    s.r[2].kind = K_LEN;
    flow(&b, &s, 0, 0);
    while (b.ntodo > 0) {
        size_t t = b.todo[--b.ntodo];
        b.queued[b.block[t]] = 0;
        s = b.in[b.block[t]];
        run_block(&b, t, &s);
    }
    for (size_t i = 0; i < n; i++)
        j->nproven += (j->marks[i] & BPFVM__MARK_PROVEN) &&
                      bpfvm__ops[j->code[i].opcode].fmt != BPFVM__FMT_ALU_X; /* (accesses) */
    rc = 0;
done:
    bpfvm__free(j->vm, b.block);
    bpfvm__free(j->vm, b.in);
    bpfvm__free(j->vm, b.visits);
    bpfvm__free(j->vm, b.queued);
    bpfvm__free(j->vm, b.todo);
    bpfvm__free(j->vm, b.ran);
    bpfvm__free(j->vm, b.edges);
    bpfvm__free(j->vm, b.st.v);
    return rc;
}
