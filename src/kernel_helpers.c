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
    if (write && ((*m)->def.flags & BPFVM_F_RDONLY_PROG)) {
        stop(ctx, "%s: map %s is read-only for programs", helper, (*m)->name);
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
        { 45,  "bpf_probe_read_str",       h_probe_read_str },
        { 112, "bpf_probe_read_user",      h_probe_read },
        { 113, "bpf_probe_read_kernel",    h_probe_read },
        { 114, "bpf_probe_read_user_str",  h_probe_read_str },
        { 115, "bpf_probe_read_kernel_str", h_probe_read_str },
    };
    return bpfvm__register_helpers(vm, set, sizeof(set) / sizeof(set[0]));
}
