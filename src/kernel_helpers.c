/* kernel_helpers.c - the kernel's helpers under their kernel ids
 * (include/uapi/linux/bpf.h): argument order, return values and errno
 * returns as the kernel's (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c).
 *
 * What the kernel's verifier proves before a program runs (the map argument
 * is a map, the key and value pointers cover key_size / value_size bytes)
 * is checked here at each call; a violation stops the run with
 * BPFVM_EHELPERFAIL naming the helper and the address.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "internal.h"
#include "map.h"

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static uint64_t stop(bpfvm_ctx *ctx, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bpfvm_ctx_fail(ctx, msg);
    return 0;
}

int bpfvm_set_cpu(bpfvm_vm *vm, int cpu)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (cpu < -1 || (cpu >= 0 && (unsigned)cpu >= bpfvm_num_possible_cpus()))
        return bpfvm__set_error(&vm->last_error, BPFVM_EINVAL, -1, "cpu %d: must be -1 or "
                                "below the %u possible CPUs", cpu, bpfvm_num_possible_cpus());
    vm->fixed_cpu = cpu + 1;
    return 0;
}

unsigned bpfvm__run_cpu(const bpfvm_ctx *ctx)
{
    if (ctx->vm->fixed_cpu)
        return (unsigned)ctx->vm->fixed_cpu - 1;
    int c = sched_getcpu();
    unsigned n = bpfvm_num_possible_cpus();
    return c < 0 ? 0 : (unsigned)c < n ? (unsigned)c : n - 1;
}

/* The map a program passed (one of its own), or NULL after stopping the run. */
static bpfvm_map *map_arg(bpfvm_ctx *ctx, uint64_t addr, const char *helper)
{
    const bpfvm_vm *vm = ctx->vm;
    for (size_t i = 0; i < vm->nmaps; i++)
        if ((uint64_t)(uintptr_t)vm->maps[i] == addr)
            return vm->maps[i];
    bpfvm_map *inner = bpfvm__inner_map(vm, addr); /* from a lookup of a map-in-map */
    if (inner)
        return inner;
    stop(ctx, "%s: 0x%" PRIx64 " is not a map of this program", helper, addr);
    return NULL;
}

/* `len` bytes at `addr` the program may read (write: and write), else NULL
 * after stopping the run. */
static void *mem_arg(bpfvm_ctx *ctx, uint64_t addr, uint64_t len, int write, const char *helper,
                     const char *what)
{
    void *p = bpfvm_ctx_access(ctx, addr, len, write);
    if (!p)
        stop(ctx, "%s: %s [0x%" PRIx64 ", +%" PRIu64 ") is not %s", helper, what, addr, len,
             write ? "writable" : "readable");
    return p;
}

/* The map and key of a map helper (`write`: one that changes the map),
 * checked; NULL after stopping the run. */
static const void *map_key_arg(bpfvm_ctx *ctx, uint64_t map, uint64_t key, bool write,
                               const char *helper, bpfvm_map **m)
{
    if (!(*m = map_arg(ctx, map, helper)))
        return NULL;
    if (!(*m)->ops->lookup) { /* the kernel's verifier refuses these calls */
        stop(ctx, "%s: map %s is a %s, which takes other helpers", helper, (*m)->name,
             bpfvm_map_type_name((*m)->def.type));
        return NULL;
    }
    if (write && ((*m)->def.flags & BPFVM_F_RDONLY_PROG || bpfvm__is_outer(*m))) {
        stop(ctx, "%s: map %s is read-only for programs%s", helper, (*m)->name,
             bpfvm__is_outer(*m) ? " (a map of maps: only lookups)" : "");
        return NULL;
    }
    return mem_arg(ctx, key, (*m)->def.key_size, 0, helper, "key");
}

/* 1: (map, key) -> value pointer (this CPU's slot) or NULL */
static uint64_t h_map_lookup_elem(bpfvm_ctx *ctx, uint64_t map, uint64_t key, uint64_t c,
                                  uint64_t d, uint64_t e)
{
    (void)c, (void)d, (void)e;
    bpfvm_map *m;
    const void *k = map_key_arg(ctx, map, key, false, "bpf_map_lookup_elem", &m);
    if (!k)
        return 0;
    uint8_t *v = bpfvm__map_lookup(m, k);
    if (v && bpfvm__is_outer(m)) /* the inner map */
        return (uint64_t)(uintptr_t)bpfvm__inner_at(v);
    if (v && m->ncpus > 1)
        v += (uint64_t)bpfvm__run_cpu(ctx) * m->stride;
    return (uint64_t)(uintptr_t)v;
}

/* 2: (map, key, value, flags) -> 0 or a negative errno */
static uint64_t h_map_update_elem(bpfvm_ctx *ctx, uint64_t map, uint64_t key, uint64_t value,
                                  uint64_t flags, uint64_t e)
{
    (void)e;
    bpfvm_map *m;
    const void *k = map_key_arg(ctx, map, key, true, "bpf_map_update_elem", &m);
    const void *v = k ? mem_arg(ctx, value, m->def.value_size, 0, "bpf_map_update_elem",
                                "value") : NULL;
    if (!v)
        return 0;
    if ((flags & BPFVM_F_LOCK) && ctx->spin_held)
        return stop(ctx, "bpf_map_update_elem: BPF_F_LOCK while the program holds a lock");
    return (uint64_t)(int64_t)bpfvm__map_update_cpu(m, k, v, flags, bpfvm__run_cpu(ctx));
}

/* 3: (map, key) -> 0 or a negative errno */
static uint64_t h_map_delete_elem(bpfvm_ctx *ctx, uint64_t map, uint64_t key, uint64_t c,
                                  uint64_t d, uint64_t e)
{
    (void)c, (void)d, (void)e;
    bpfvm_map *m;
    const void *k = map_key_arg(ctx, map, key, true, "bpf_map_delete_elem", &m);
    return k ? (uint64_t)(int64_t)bpfvm_map_delete(m, k) : 0;
}

/* 12: (ctx, prog_array, index) -> on success the run continues in the
 * target program and this one does not resume; else -ENOENT (empty slot or
 * index out of range) or -E2BIG (tail-call limit) and the caller goes on. */
static uint64_t h_tail_call(bpfvm_ctx *ctx, uint64_t arg, uint64_t map, uint64_t index,
                            uint64_t d, uint64_t e)
{
    (void)d, (void)e;
    bpfvm_map *m = map_arg(ctx, map, "bpf_tail_call");
    if (!m)
        return 0;
    if (m->def.type != BPFVM_MAP_PROG_ARRAY)
        return stop(ctx, "bpf_tail_call: map %s is a %s, not a prog_array", m->name,
                    bpfvm_map_type_name(m->def.type));
    if (ctx->spin_held)
        return stop(ctx, "bpf_tail_call while the program holds a bpf_spin_lock");
    const bpfvm_vm *target = bpfvm_prog_array_get(m, (uint32_t)index);
    if (!target || index > UINT32_MAX || !ctx->tail)
        return (uint64_t)(int64_t)-ENOENT;
    if (ctx->tail->count >= BPFVM__MAX_TAIL_CALLS)
        return (uint64_t)(int64_t)-E2BIG;
    ctx->tail->count++;
    ctx->tail->target = target;
    ctx->tail->r1 = arg;
    bpfvm_ctx_fail(ctx, "tail call");
    return 0;
}

/* 25: (ctx, map, flags, data, size) -> 0 after the host's callback got the
 * record; -E2BIG (slot), -EINVAL (flags), -ENOENT (no callback) */
static uint64_t h_perf_event_output(bpfvm_ctx *ctx, uint64_t arg, uint64_t map, uint64_t flags,
                                    uint64_t data, uint64_t size)
{
    static const char name[] = "bpf_perf_event_output";
    const uint64_t index_mask = 0xffffffffu, current_cpu = 0xffffffffu;
    (void)arg;
    bpfvm_map *m = map_arg(ctx, map, name);
    if (m && m->def.type != BPFVM_MAP_PERF_EVENT_ARRAY)
        return stop(ctx, "%s: map %s is a %s, not a perf_event_array", name, m->name,
                    bpfvm_map_type_name(m->def.type));
    const void *src = m ? mem_arg(ctx, data, size, 0, name, "data") : NULL;
    if (!src)
        return 0;
    if (flags & ~index_mask)
        return (uint64_t)(int64_t)-EINVAL; /* BPF_F_CTXLEN_MASK: not supported */
    uint64_t slot = (flags & index_mask) == current_cpu ? bpfvm__run_cpu(ctx) : flags;
    if (slot >= m->def.max_entries)
        return (uint64_t)(int64_t)-E2BIG;
    bpfvm_perf_fn fn = m->perf_fn;
    if (!fn)
        return (uint64_t)(int64_t)-ENOENT;
    fn(m->perf_user, (uint32_t)slot, src, (size_t)size);
    return 0;
}

/* The map of a push/pop/peek (a queue or stack), or NULL after stopping. */
static bpfvm_map *queue_arg(bpfvm_ctx *ctx, uint64_t map, const char *helper)
{
    bpfvm_map *m = map_arg(ctx, map, helper);
    if (m && !m->ops->push) {
        stop(ctx, "%s: map %s is a %s, not a queue or stack", helper, m->name,
             bpfvm_map_type_name(m->def.type));
        return NULL;
    }
    return m;
}

/* 87: (map, value, flags) -> 0, -E2BIG (full), -EINVAL (flags) */
static uint64_t h_map_push_elem(bpfvm_ctx *ctx, uint64_t map, uint64_t value, uint64_t flags,
                                uint64_t d, uint64_t e)
{
    (void)d, (void)e;
    bpfvm_map *m = queue_arg(ctx, map, "bpf_map_push_elem");
    const void *v = m ? mem_arg(ctx, value, m->def.value_size, 0, "bpf_map_push_elem", "value")
                      : NULL;
    return v ? (uint64_t)(int64_t)m->ops->push(m, v, flags) : 0;
}

/* 88, 89: (map, value) -> 0 with the element in value, or -ENOENT */
static uint64_t queue_take(bpfvm_ctx *ctx, uint64_t map, uint64_t value, bool remove,
                           const char *helper)
{
    bpfvm_map *m = queue_arg(ctx, map, helper);
    void *v = m ? mem_arg(ctx, value, m->def.value_size, 1, helper, "value") : NULL;
    return v ? (uint64_t)(int64_t)m->ops->pop(m, v, remove) : 0;
}

static uint64_t h_map_pop_elem(bpfvm_ctx *ctx, uint64_t map, uint64_t value, uint64_t c,
                               uint64_t d, uint64_t e)
{
    (void)c, (void)d, (void)e;
    return queue_take(ctx, map, value, true, "bpf_map_pop_elem");
}

static uint64_t h_map_peek_elem(bpfvm_ctx *ctx, uint64_t map, uint64_t value, uint64_t c,
                                uint64_t d, uint64_t e)
{
    (void)c, (void)d, (void)e;
    return queue_take(ctx, map, value, false, "bpf_map_peek_elem");
}

/* The ring buffer argument, or NULL after stopping the run. */
static bpfvm_map *ringbuf_arg(bpfvm_ctx *ctx, uint64_t map, const char *helper)
{
    bpfvm_map *m = map_arg(ctx, map, helper);
    if (m && m->def.type != BPFVM_MAP_RINGBUF) {
        stop(ctx, "%s: map %s is a %s, not a ringbuf", helper, m->name,
             bpfvm_map_type_name(m->def.type));
        return NULL;
    }
    return m;
}

/* wakeup flags (BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP) are the only ones */
#define RB_FLAGS 3u

/* 131: (ringbuf, size, flags) -> a record of `size` bytes, or NULL */
static uint64_t h_ringbuf_reserve(bpfvm_ctx *ctx, uint64_t map, uint64_t size, uint64_t flags,
                                  uint64_t d, uint64_t e)
{
    (void)d, (void)e;
    bpfvm_map *m = ringbuf_arg(ctx, map, "bpf_ringbuf_reserve");
    if (!m || flags)
        return 0;
    return (uint64_t)(uintptr_t)bpfvm__ringbuf_reserve(m, size);
}

/* 130: (ringbuf, data, size, flags) -> 0, -EINVAL (flags), -EAGAIN (full) */
static uint64_t h_ringbuf_output(bpfvm_ctx *ctx, uint64_t map, uint64_t data, uint64_t size,
                                 uint64_t flags, uint64_t e)
{
    (void)e;
    static const char name[] = "bpf_ringbuf_output";
    bpfvm_map *m = ringbuf_arg(ctx, map, name);
    const void *src = m ? mem_arg(ctx, data, size, 0, name, "data") : NULL;
    if (!src)
        return 0;
    if (flags & ~(uint64_t)RB_FLAGS)
        return (uint64_t)(int64_t)-EINVAL;
    void *rec = bpfvm__ringbuf_reserve(m, size);
    if (!rec)
        return (uint64_t)(int64_t)-EAGAIN;
    memcpy(rec, src, (size_t)size);
    bpfvm__ringbuf_commit(m, rec, false);
    return 0;
}

/* 132, 133: (data, flags) -> nothing; `data` must be a reserved record of
 * one of the program's ring buffers */
static uint64_t ringbuf_commit(bpfvm_ctx *ctx, uint64_t data, bool discard, const char *helper)
{
    const bpfvm_vm *vm = ctx->vm;
    for (size_t i = 0; i < vm->nmaps; i++) {
        bpfvm_map *m = vm->maps[i];
        if (m->def.type == BPFVM_MAP_RINGBUF && data - (uint64_t)(uintptr_t)m->values <
                                                     m->values_len &&
            bpfvm__ringbuf_commit(m, (void *)(uintptr_t)data, discard) == 0)
            return 0;
    }
    return stop(ctx, "%s: 0x%" PRIx64 " is not a reserved ring buffer record", helper, data);
}

static uint64_t h_ringbuf_submit(bpfvm_ctx *ctx, uint64_t data, uint64_t flags, uint64_t c,
                                 uint64_t d, uint64_t e)
{
    (void)flags, (void)c, (void)d, (void)e;
    return ringbuf_commit(ctx, data, false, "bpf_ringbuf_submit");
}

static uint64_t h_ringbuf_discard(bpfvm_ctx *ctx, uint64_t data, uint64_t flags, uint64_t c,
                                  uint64_t d, uint64_t e)
{
    (void)flags, (void)c, (void)d, (void)e;
    return ringbuf_commit(ctx, data, true, "bpf_ringbuf_discard");
}

/* 93, 94: (lock) -> 0: struct bpf_spin_lock is a 4-byte word the program
 * may write (in a map value); taken by atomic exchange, released by a
 * store. What the kernel's verifier proves is checked here, so that no
 * run waits forever: one lock at a time, released by the run that took it
 * (else at the end of the run, which then fails), no tail call or
 * BPF_F_LOCK update while it is held. */
static uint64_t spin(bpfvm_ctx *ctx, uint64_t lock, bool take, const char *helper)
{
    uint32_t *w = bpfvm__lock_word(ctx->vm, lock); /* else a word the program may write */
    if (!w)
        w = mem_arg(ctx, lock, 4, 1, helper, "lock");
    if (!w)
        return 0;
    if (lock % 4)
        return stop(ctx, "%s: lock at 0x%" PRIx64 " is not 4-byte aligned", helper, lock);
    if (take ? ctx->spin_held != 0 : ctx->spin_held != lock)
        return stop(ctx, "%s: 0x%" PRIx64 ": %s", helper, lock,
                    take ? "the program already holds a lock" : "not the lock the program holds");
    if (take)
        bpfvm__spin_lock(w);
    else
        bpfvm__spin_unlock(w);
    ctx->spin_held = take ? lock : 0;
    return 0;
}

int bpfvm__spin_leftover(bpfvm_ctx *ctx, int rc)
{
    bpfvm__spin_unlock((uint32_t *)(uintptr_t)ctx->spin_held);
    if (rc == 0)
        rc = bpfvm__set_error(ctx->err, BPFVM_EHELPERFAIL, -1, "the program ended holding the "
                              "bpf_spin_lock at 0x%" PRIx64 " (released)", ctx->spin_held);
    ctx->spin_held = 0;
    return rc;
}

static uint64_t h_spin_lock(bpfvm_ctx *ctx, uint64_t lock, uint64_t b, uint64_t c, uint64_t d,
                            uint64_t e)
{
    (void)b, (void)c, (void)d, (void)e;
    return spin(ctx, lock, true, "bpf_spin_lock");
}

static uint64_t h_spin_unlock(bpfvm_ctx *ctx, uint64_t lock, uint64_t b, uint64_t c, uint64_t d,
                              uint64_t e)
{
    (void)b, (void)c, (void)d, (void)e;
    return spin(ctx, lock, false, "bpf_spin_unlock");
}

/* 4, 112, 113: (dst, size, src) -> 0, or -EFAULT with dst zeroed when src
 * is not readable */
static uint64_t h_probe_read(bpfvm_ctx *ctx, uint64_t dst, uint64_t size, uint64_t src,
                             uint64_t d, uint64_t e)
{
    (void)d, (void)e;
    uint8_t *to = mem_arg(ctx, dst, size, 1, "bpf_probe_read", "destination");
    if (!to)
        return 0;
    const void *from = bpfvm_ctx_access(ctx, src, size, 0);
    if (!from) {
        memset(to, 0, (size_t)size);
        return (uint64_t)(int64_t)-EFAULT;
    }
    memmove(to, from, (size_t)size);
    return 0;
}

/* 45, 114, 115: (dst, size, src) -> bytes copied including the NUL (at most
 * size, the string cut and terminated), or -EFAULT with dst's first byte
 * zeroed when the first byte of src is not readable */
static uint64_t h_probe_read_str(bpfvm_ctx *ctx, uint64_t dst, uint64_t size, uint64_t src,
                                 uint64_t d, uint64_t e)
{
    (void)d, (void)e;
    uint8_t *to = mem_arg(ctx, dst, size, 1, "bpf_probe_read_str", "destination");
    if (!to || size == 0)
        return 0;
    uint64_t n = 0;
    for (; n + 1 < size; n++) {
        const uint8_t *b = bpfvm_ctx_access(ctx, src + n, 1, 0);
        if (!b)
            break;
        to[n] = *b;
        if (!*b)
            return n + 1;
    }
    if (n == 0 && n + 1 < size) {
        to[0] = 0;
        return (uint64_t)(int64_t)-EFAULT;
    }
    to[n] = 0;
    return n + 1;
}

/* 7: () -> 32 pseudo-random bits */
static uint64_t h_get_prandom_u32(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c,
                                  uint64_t d, uint64_t e)
{
    (void)a, (void)b, (void)c, (void)d, (void)e;
    return bpfvm__rand(ctx, 0, UINT32_MAX, 0, 0, 0);
}

/* 8: () -> the CPU of the run (bpfvm_set_cpu) */
static uint64_t h_get_smp_processor_id(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c,
                                       uint64_t d, uint64_t e)
{
    (void)a, (void)b, (void)c, (void)d, (void)e;
    return bpfvm__run_cpu(ctx);
}

/* 14: () -> tgid << 32 | tid of the host thread */
static uint64_t h_get_current_pid_tgid(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c,
                                       uint64_t d, uint64_t e)
{
    (void)ctx, (void)a, (void)b, (void)c, (void)d, (void)e;
    return (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)gettid();
}

/* 15: () -> gid << 32 | uid of the host process */
static uint64_t h_get_current_uid_gid(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c,
                                      uint64_t d, uint64_t e)
{
    (void)ctx, (void)a, (void)b, (void)c, (void)d, (void)e;
    return (uint64_t)getgid() << 32 | (uint32_t)getuid();
}

/* 16: (buf, size) -> 0; the thread's name, NUL-terminated and zero-padded
 * to size; -EINVAL for size 0 (which the kernel's verifier refuses) */
static uint64_t h_get_current_comm(bpfvm_ctx *ctx, uint64_t buf, uint64_t size, uint64_t c,
                                   uint64_t d, uint64_t e)
{
    (void)c, (void)d, (void)e;
    char comm[17] = "";
    uint8_t *to = mem_arg(ctx, buf, size, 1, "bpf_get_current_comm", "buffer");
    if (!to || size == 0)
        return to ? (uint64_t)(int64_t)-EINVAL : 0;
    prctl(PR_GET_NAME, comm, 0, 0, 0);
    memset(to, 0, (size_t)size);
    size_t n = strnlen(comm, 16);
    memcpy(to, comm, n < size ? n : (size_t)size - 1);
    return 0;
}

/* The callback argument of bpf_loop / bpf_for_each_map_elem: a function
 * of the program (`lddw rX, func`), else 0 after stopping the run. */
static bool callback_arg(bpfvm_ctx *ctx, uint64_t fn, const char *helper)
{
    if (bpfvm__callback_index(ctx->vm, fn) >= 0)
        return true;
    stop(ctx, "%s: 0x%" PRIx64 " is not a function of the program (lddw rX, func)", helper, fn);
    return false;
}

/* Most iterations of bpf_loop (the kernel's BPF_MAX_LOOPS) */
#define MAX_LOOPS (1u << 23)

/* 181: (nr_loops (u32), callback, ctx, flags) -> iterations made: callback(i,
 * ctx) for i = 0 .. nr_loops - 1, stopping after one that returns non-zero;
 * -EINVAL (flags), -E2BIG (nr_loops > 2^23) */
static uint64_t h_loop(bpfvm_ctx *ctx, uint64_t nr, uint64_t fn, uint64_t arg, uint64_t flags,
                       uint64_t e)
{
    (void)e;
    if (!callback_arg(ctx, fn, "bpf_loop"))
        return 0;
    if (flags)
        return (uint64_t)(int64_t)-EINVAL;
    if ((uint32_t)nr > MAX_LOOPS)
        return (uint64_t)(int64_t)-E2BIG;
    for (uint64_t i = 0; i < (uint32_t)nr; i++) {
        uint64_t args[5] = { i, arg, 0, 0, 0 }, r0;
        if (bpfvm__call_function(ctx, fn, args, &r0))
            return 0;
        if (r0)
            return i + 1;
    }
    return (uint32_t)nr;
}

/* One element for bpf_for_each_map_elem: callback(map, &key, value, ctx),
 * the key lent to the callback read-only. 0 to go on, 1 to stop (the
 * callback returned non-zero), -1 when the run ends. */
static int each_elem(bpfvm_ctx *ctx, bpfvm_map *m, uint64_t fn, const void *key, uint8_t *value,
                     uint64_t arg)
{
    uint64_t lent_start = ctx->lent_start, lent_len = ctx->lent_len, r0;
    uint64_t args[5] = { (uint64_t)(uintptr_t)m, (uint64_t)(uintptr_t)key,
                         (uint64_t)(uintptr_t)value, arg, 0 };
    if (m->ncpus > 1)
        args[2] += (uint64_t)bpfvm__run_cpu(ctx) * m->stride;
    ctx->lent_start = args[1];
    ctx->lent_len = m->def.key_size;
    int rc = bpfvm__call_function(ctx, fn, args, &r0);
    ctx->lent_start = lent_start;
    ctx->lent_len = lent_len;
    return rc ? -1 : r0 != 0;
}

/* 164: (map, callback, ctx, flags) -> elements visited: callback(map, key,
 * value, ctx) for each element (arrays: every index; hash maps: the
 * elements present when the call began that are still there), stopping
 * after one that returns non-zero; -EINVAL (flags). The callback may
 * update and delete elements. Array, hash and their per-CPU and LRU
 * kinds, as the kernel. */
static uint64_t h_for_each_map_elem(bpfvm_ctx *ctx, uint64_t map, uint64_t fn, uint64_t arg,
                                    uint64_t flags, uint64_t e)
{
    static const char name[] = "bpf_for_each_map_elem";
    (void)e;
    bpfvm_map *m = map_arg(ctx, map, name);
    if (!m || !callback_arg(ctx, fn, name))
        return 0;
    uint32_t t = m->def.type;
    bool array = t == BPFVM_MAP_ARRAY || t == BPFVM_MAP_PERCPU_ARRAY;
    if (!array && t != BPFVM_MAP_HASH && t != BPFVM_MAP_PERCPU_HASH &&
        t != BPFVM_MAP_LRU_HASH && t != BPFVM_MAP_LRU_PERCPU_HASH)
        return stop(ctx, "%s: map %s is a %s, which it does not walk", name, m->name,
                    bpfvm_map_type_name(t));
    if (flags)
        return (uint64_t)(int64_t)-EINVAL;
    uint64_t n = 0;
    if (array) {
        for (uint32_t i = 0; i < m->def.max_entries; i++) {
            int rc = each_elem(ctx, m, fn, &i, m->values + (uint64_t)i * m->elem_bytes, arg);
            n++;
            if (rc)
                return rc < 0 ? 0 : n;
        }
        return n;
    }
    /* hash maps: the keys first (the callback may change the map) */
    uint32_t ks = m->def.key_size, count = 0, cap = 0;
    uint8_t *keys = NULL;
    for (;;) {
        if (count == cap) { /* room for twice as many (at most max_entries) */
            cap = cap ? (cap > m->def.max_entries / 2 ? m->def.max_entries : 2 * cap) : 16;
            uint8_t *more = bpfvm__realloc(ctx->vm, keys, (size_t)ks * cap);
            if (!more) {
                bpfvm__free(ctx->vm, keys);
                return stop(ctx, "%s: out of memory for the keys of map %s", name, m->name);
            }
            keys = more;
        }
        if (count == m->def.max_entries ||
            m->ops->next_key(m, count ? keys + (size_t)(count - 1) * ks : NULL,
                             keys + (size_t)count * ks) != 0)
            break;
        count++;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *v = m->ops->lookup(m, keys + (size_t)i * ks, false);
        if (!v)
            continue; /* deleted by an earlier callback */
        int rc = each_elem(ctx, m, fn, keys + (size_t)i * ks, v, arg);
        n++;
        if (rc) {
            n = rc < 0 ? 0 : n;
            break;
        }
    }
    bpfvm__free(ctx->vm, keys);
    return n;
}

int bpfvm_register_kernel_helpers(bpfvm_vm *vm)
{
    static const bpfvm__helper_def set[] = {
        { 1,   "bpf_map_lookup_elem",      h_map_lookup_elem },
        { 2,   "bpf_map_update_elem",      h_map_update_elem },
        { 3,   "bpf_map_delete_elem",      h_map_delete_elem },
        { 4,   "bpf_probe_read",           h_probe_read },
        { 5,   "bpf_ktime_get_ns",         bpfvm__ktime_get_ns },
        { 6,   "bpf_trace_printk",         bpfvm__trace_printk },
        { 7,   "bpf_get_prandom_u32",      h_get_prandom_u32 },
        { 8,   "bpf_get_smp_processor_id", h_get_smp_processor_id },
        { 12,  "bpf_tail_call",            h_tail_call },
        { 14,  "bpf_get_current_pid_tgid", h_get_current_pid_tgid },
        { 15,  "bpf_get_current_uid_gid",  h_get_current_uid_gid },
        { 16,  "bpf_get_current_comm",     h_get_current_comm },
        { 25,  "bpf_perf_event_output",    h_perf_event_output },
        { 45,  "bpf_probe_read_str",       h_probe_read_str },
        { 87,  "bpf_map_push_elem",        h_map_push_elem },
        { 88,  "bpf_map_pop_elem",         h_map_pop_elem },
        { 89,  "bpf_map_peek_elem",        h_map_peek_elem },
        { 93,  "bpf_spin_lock",            h_spin_lock },
        { 94,  "bpf_spin_unlock",          h_spin_unlock },
        { 112, "bpf_probe_read_user",      h_probe_read },
        { 113, "bpf_probe_read_kernel",    h_probe_read },
        { 114, "bpf_probe_read_user_str",  h_probe_read_str },
        { 115, "bpf_probe_read_kernel_str", h_probe_read_str },
        { 130, "bpf_ringbuf_output",       h_ringbuf_output },
        { 131, "bpf_ringbuf_reserve",      h_ringbuf_reserve },
        { 132, "bpf_ringbuf_submit",       h_ringbuf_submit },
        { 133, "bpf_ringbuf_discard",      h_ringbuf_discard },
        { 164, "bpf_for_each_map_elem",    h_for_each_map_elem },
        { 181, "bpf_loop",                 h_loop },
    };
    return bpfvm__register_helpers(vm, set, sizeof(set) / sizeof(set[0]));
}

bool bpfvm__is_kernel_map_lookup(bpfvm_helper_fn fn)
{
    return fn == h_map_lookup_elem;
}
