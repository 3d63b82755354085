/* maps.c - map objects: creation and references, the host API, and one
 * operation table per family (array, hash with its LRU and per-CPU forms),
 * with the kernel's semantics and errno returns (kernel/bpf/arraymap.c,
 * hashtab.c).
 *
 * Memory: every map preallocates its values in one block (`values`, the
 * region programs may access) at creation; hash maps add a key block and
 * an element table. Elements are never freed before the map, so a value
 * pointer a program got stays valid memory after a delete (the slot may be
 * reused by a later insert, as the kernel's preallocated maps do).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "map.h"

#define NIL UINT32_MAX
#define MAX_KEY 512u
#define MAX_VALUE (1u << 20)
#define MAX_VALUES_BYTES (1ull << 30)

struct bpfvm__map_elem {
    uint32_t next;           /* bucket chain (kept after a delete, until reuse) */
    uint32_t hash;
    uint32_t seq;            /* odd while the element is given a new key */
    uint32_t free;           /* the free list */
    uint32_t lru_prev, lru_next;
};

/* ---- possible CPUs --------------------------------------------------- */

/* Highest CPU number + 1 in a list like "0-3,5" (the kernel's cpulist). */
static unsigned parse_cpulist(const char *s)
{
    unsigned max = 0;
    while (*s) {
        char *end;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (end == s)
            break;
        if (*end == '-') {
            s = end + 1;
            b = strtoul(s, &end, 10);
            if (end == s)
                break;
        }
        if (b < 65536 && b + 1 > max)
            max = (unsigned)b + 1;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',')
            break;
    }
    return max;
}

static unsigned possible_cpus;

unsigned bpfvm_num_possible_cpus(void)
{
    unsigned n = __atomic_load_n(&possible_cpus, __ATOMIC_RELAXED);
    if (n)
        return n;
    char buf[256] = "";
    FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
    }
    n = parse_cpulist(buf);
    if (!n) {
        long c = sysconf(_SC_NPROCESSORS_CONF);
        n = c > 0 && c < 65536 ? (unsigned)c : 1;
    }
    __atomic_store_n(&possible_cpus, n, __ATOMIC_RELAXED);
    return n;
}

/* ---- common ---------------------------------------------------------- */

static bool is_percpu(uint32_t type)
{
    return type == BPFVM_MAP_PERCPU_ARRAY || type == BPFVM_MAP_PERCPU_HASH ||
           type == BPFVM_MAP_LRU_PERCPU_HASH;
}

static bool is_lru(uint32_t type)
{
    return type == BPFVM_MAP_LRU_HASH || type == BPFVM_MAP_LRU_PERCPU_HASH;
}

/* Zeroed memory from calloc: pages a map never uses are never touched. */
static void *zalloc(uint64_t size)
{
    return size <= SIZE_MAX ? calloc(1, size ? (size_t)size : 1) : NULL;
}

/* Copy a value except its struct bpf_spin_lock (the kernel's
 * copy_map_value): maps with a lock have one CPU slot. */
static void copy_unlocked(const bpfvm_map *m, uint8_t *to, const uint8_t *from)
{
    uint32_t off = m->lock_off, end = off + 4;
    memcpy(to, from, off);
    memcpy(to + end, from + end, m->def.value_size - end);
}

/* Write a value into element block `v`: one CPU's slot (cpu >= 0), or
 * every slot from the host layout (cpu -1). `fresh`: a new element, whose
 * other CPUs' slots start at zero (the kernel's pcpu_init_value). */
static void write_value(const bpfvm_map *m, uint8_t *v, const void *value, int cpu, bool fresh)
{
    uint32_t vs = m->vbytes;
    if (m->lock_off != BPFVM__NO_LOCK) { /* never the lock word (a new element's: 0) */
        copy_unlocked(m, v, value);
        if (fresh)
            memset(v + m->lock_off, 0, 4);
        return;
    }
    if (m->ncpus == 1) {
        memcpy(v, value, vs);
        return;
    }
    if (cpu < 0) {
        for (uint32_t c = 0; c < m->ncpus; c++)
            memcpy(v + (uint64_t)c * m->stride, (const uint8_t *)value + (uint64_t)c * m->stride,
                   vs);
        return;
    }
    if (fresh)
        memset(v, 0, (size_t)m->elem_bytes);
    memcpy(v + (uint64_t)cpu * m->stride, value, vs);
}

static int check_flags(uint64_t flags)
{
    return flags > BPFVM_EXIST ? -EINVAL : 0;
}

/* ---- arrays ---------------------------------------------------------- */

/* Arrays and perf event arrays need nothing beyond the common fields. */
static int nothing_init(bpfvm_map *m)
{
    (void)m;
    return 0;
}

static void array_fini(bpfvm_map *m)
{
    (void)m;
}

static uint32_t array_index(const void *key)
{
    uint32_t i;
    memcpy(&i, key, 4);
    return i;
}

static uint8_t *array_lookup(bpfvm_map *m, const void *key, bool use)
{
    uint32_t i = array_index(key);
    (void)use;
    return i < m->def.max_entries ? m->values + (uint64_t)i * m->elem_bytes : NULL;
}

static int array_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                        int cpu)
{
    uint32_t i = array_index(key);
    if (check_flags(flags))
        return -EINVAL;
    if (i >= m->def.max_entries)
        return -E2BIG;
    if (flags == BPFVM_NOEXIST)
        return -EEXIST;
    write_value(m, m->values + (uint64_t)i * m->elem_bytes, value, cpu, false);
    return 0;
}

static int array_remove(bpfvm_map *m, const void *key)
{
    (void)m, (void)key;
    return -EINVAL;
}

static int array_next_key(bpfvm_map *m, const void *key, void *next)
{
    uint32_t i = key ? array_index(key) : UINT32_MAX, n;
    if (i >= m->def.max_entries)
        n = 0;
    else if (i == m->def.max_entries - 1)
        return -ENOENT;
    else
        n = i + 1;
    memcpy(next, &n, 4);
    return 0;
}

static const bpfvm__map_ops array_ops = {
    nothing_init, array_fini, array_lookup, array_update, array_remove, array_next_key, NULL, NULL
};

/* ---- hash maps (plain, per-CPU, LRU) --------------------------------- */

/* Concurrency, as the kernel's hashtab.c: lookups take no lock (RCU there,
 * sequence counts here), changes take the lock of their bucket (LRU maps:
 * the map's mutex, which also guards the LRU list, since every lookup of a
 * program moves its element), and the free list has a lock of its own,
 * taken last. Chains are published with release stores and read with
 * acquire loads. A deleted element keeps its key and its `next` until it
 * is reused, so a lookup standing on it goes on along its old chain; reuse
 * makes its sequence count odd while the key is rewritten, and a lookup
 * that saw the count change under it starts again. So a lookup returns an
 * element that held the key while it compared it (it may be deleted or
 * reused right after, as in the kernel); it may miss an element inserted
 * meanwhile. Keys are stored as 8-byte words (zero-padded) read and written
 * atomically, so racing readers see whole words. Without fences (which
 * ThreadSanitizer does not model): the stores after the odd count are
 * releases, so a lookup that reads one of them (an acquire) then sees the
 * count changed; on x86-64 both are plain moves. */

/* Bytes p[0..n) (n <= 8) as a little-endian word, zero-extended (as a
 * memcpy into a zeroed word on this host; without its byte loop, whose
 * stores the 8-byte load after it would wait for). */
static uint64_t load_tail(const uint8_t *p, uint32_t n)
{
    uint64_t v = 0;
    uint32_t at = 0;
    if (n >= 8) {
        memcpy(&v, p, 8);
        return v;
    }
    if (n & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        v = w;
        at = 4;
    }
    if (n & 2) {
        uint16_t w;
        memcpy(&w, p + at, 2);
        v |= (uint64_t)w << (8 * at);
        at += 2;
    }
    if (n & 1)
        v |= (uint64_t)p[at] << (8 * at);
    return v;
}

/* 64-bit multiply-xorshift over the key, folded to 32 bits. */
static uint32_t hash_key(const void *key, uint32_t len)
{
    const uint8_t *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    while (len >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        h = (h ^ k) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        len -= 8;
    }
    if (len)
        h = (h ^ load_tail(p, len)) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h ^ (h >> 32));
}

static uint64_t *key_words(const bpfvm_map *m, uint32_t e)
{
    return m->keys + (uint64_t)e * (m->key_stride / 8);
}

static uint8_t *value_of(const bpfvm_map *m, uint32_t e)
{
    return m->values + (uint64_t)e * m->elem_bytes;
}

/* Word w of `key`, zero-padded past key_size. */
static uint64_t word_of(const bpfvm_map *m, const void *key, uint32_t w)
{
    return load_tail((const uint8_t *)key + w * 8, m->def.key_size - w * 8);
}

static bool key_equal(const bpfvm_map *m, uint32_t e, const void *key)
{
    const uint64_t *k = key_words(m, e);
    for (uint32_t w = 0; w < m->key_stride / 8; w++)
        if (__atomic_load_n(&k[w], __ATOMIC_ACQUIRE) != word_of(m, key, w))
            return false;
    return true;
}

static void key_copy_out(const bpfvm_map *m, uint32_t e, void *out)
{
    const uint64_t *k = key_words(m, e);
    for (uint32_t w = 0, at = 0; at < m->def.key_size; w++, at += 8) {
        uint64_t v = __atomic_load_n(&k[w], __ATOMIC_RELAXED);
        uint32_t n = m->def.key_size - at;
        memcpy((uint8_t *)out + at, &v, n < 8 ? n : 8);
    }
}

static uint32_t load_u32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_u32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* A short spin lock (bucket locks, the free list): held for a few stores. */
static void spin_lock(uint32_t *l)
{
    for (unsigned n = 0; __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE); n++)
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            if (++n % 64 == 0)
                sched_yield();
}

static void spin_unlock(uint32_t *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static uint32_t bucket_of(const bpfvm_map *m, uint32_t h)
{
    return h & (m->nbuckets - 1);
}

/* Buckets hold the first element's index + 1 (0: empty, so zeroed memory
 * is an empty table); chains link through elems[].next, NIL-terminated. */
static uint32_t bucket_first(const bpfvm_map *m, uint32_t h)
{
    return load_u32(&m->buckets[bucket_of(m, h)]) - 1; /* 0 - 1 is NIL */
}

/* The lock that guards changes to bucket h (and, LRU, the LRU list). */
static void lock_bucket(bpfvm_map *m, uint32_t h)
{
    if (is_lru(m->def.type))
        pthread_mutex_lock(&m->lock);
    else
        spin_lock(&m->locks[bucket_of(m, h)]);
}

static void unlock_bucket(bpfvm_map *m, uint32_t h)
{
    if (is_lru(m->def.type))
        pthread_mutex_unlock(&m->lock);
    else
        spin_unlock(&m->locks[bucket_of(m, h)]);
}

static int hash_init(bpfvm_map *m)
{
    uint32_t n = 1;
    while (n < m->def.max_entries && n < (1u << 31))
        n <<= 1;
    m->nbuckets = n;
    m->key_stride = (m->def.key_size + 7u) & ~7u;
    m->buckets = zalloc((uint64_t)n * sizeof(*m->buckets));
    m->locks = zalloc((uint64_t)n * sizeof(*m->locks));
    m->elems = zalloc((uint64_t)m->def.max_entries * sizeof(*m->elems));
    m->keys = zalloc((uint64_t)m->def.max_entries * m->key_stride);
    if (!m->buckets || !m->locks || !m->elems || !m->keys)
        return BPFVM_ENOMEM;
    /* nothing is written here: a large map costs memory only as it fills */
    m->free_head = NIL;
    m->head = 0; /* elements never used yet: head .. max_entries - 1 */
    m->lru_head = m->lru_tail = NIL;
    if (pthread_mutex_init(&m->lock, NULL) != 0)
        return BPFVM_ENOMEM;
    return 0;
}

static void hash_fini(bpfvm_map *m)
{
    if (m->buckets)
        pthread_mutex_destroy(&m->lock);
    free(m->buckets);
    free(m->locks);
    free(m->elems);
    free(m->keys);
}

/* The element holding `key` (hash h), or NIL; with no lock (see above). */
static uint32_t hash_find(const bpfvm_map *m, const void *key, uint32_t h)
{
again:
    for (uint32_t e = bucket_first(m, h); e != NIL;) {
        const struct bpfvm__map_elem *x = &m->elems[e];
        uint32_t seq = load_u32(&x->seq);
        if (seq & 1)
            goto again; /* being reused: not in this chain any more */
        bool hit = load_u32(&x->hash) == h && key_equal(m, e, key);
        uint32_t next = load_u32(&x->next);
        if (__atomic_load_n(&x->seq, __ATOMIC_RELAXED) != seq)
            goto again;
        if (hit)
            return e;
        e = next;
    }
    return NIL;
}

/* Free list and never-used elements (lock: free_lock, taken last). */
static uint32_t elem_alloc(bpfvm_map *m)
{
    uint32_t e = NIL;
    spin_lock(&m->free_lock);
    if (m->free_head != NIL) {
        e = m->free_head;
        m->free_head = m->elems[e].free;
    } else if (m->head < m->def.max_entries) {
        e = (uint32_t)m->head++;
    }
    spin_unlock(&m->free_lock);
    return e;
}

static void elem_free(bpfvm_map *m, uint32_t e)
{
    spin_lock(&m->free_lock);
    m->elems[e].free = m->free_head;
    m->free_head = e;
    spin_unlock(&m->free_lock);
}

static void lru_unlink(bpfvm_map *m, uint32_t e)
{
    struct bpfvm__map_elem *x = &m->elems[e];
    if (x->lru_prev != NIL)
        m->elems[x->lru_prev].lru_next = x->lru_next;
    else
        m->lru_head = x->lru_next;
    if (x->lru_next != NIL)
        m->elems[x->lru_next].lru_prev = x->lru_prev;
    else
        m->lru_tail = x->lru_prev;
}

static void lru_push(bpfvm_map *m, uint32_t e)
{
    m->elems[e].lru_prev = NIL;
    m->elems[e].lru_next = m->lru_head;
    if (m->lru_head != NIL)
        m->elems[m->lru_head].lru_prev = e;
    else
        m->lru_tail = e;
    m->lru_head = e;
}

/* Take element `e` out of its bucket (and the LRU list), with its bucket's
 * lock held; its key and `next` stay for lookups standing on it. The
 * caller frees it (elem_free) once it no longer holds the bucket lock. */
static void hash_unlink(bpfvm_map *m, uint32_t e)
{
    uint32_t h = m->elems[e].hash, p = bucket_first(m, h);
    if (p == e) {
        store_u32(&m->buckets[bucket_of(m, h)], m->elems[e].next + 1);
    } else {
        while (m->elems[p].next != e)
            p = m->elems[p].next;
        store_u32(&m->elems[p].next, m->elems[e].next);
    }
    if (is_lru(m->def.type))
        lru_unlink(m, e);
}

/* Give the never-linked or freed element `e` key `key` (hash h) and its
 * value, then link it first in its bucket (lock held). */
static void hash_link(bpfvm_map *m, uint32_t e, uint32_t h, const void *key, const void *value,
                      int cpu)
{
    struct bpfvm__map_elem *x = &m->elems[e];
    uint32_t seq = __atomic_load_n(&x->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&x->seq, seq + 1, __ATOMIC_RELAXED); /* odd: being rewritten */
    store_u32(&x->hash, h);
    uint64_t *k = key_words(m, e);
    for (uint32_t w = 0; w < m->key_stride / 8; w++)
        __atomic_store_n(&k[w], word_of(m, key, w), __ATOMIC_RELEASE);
    store_u32(&x->next, bucket_first(m, h));
    write_value(m, value_of(m, e), value, cpu, true);
    store_u32(&x->seq, seq + 2);
    if (is_lru(m->def.type))
        lru_push(m, e);
    store_u32(&m->buckets[bucket_of(m, h)], e + 1);
}

static uint8_t *hash_lookup(bpfvm_map *m, const void *key, bool use)
{
    uint32_t h = hash_key(key, m->def.key_size), e;
    if (use && is_lru(m->def.type)) { /* moves the element: under the LRU lock */
        lock_bucket(m, h);
        if ((e = hash_find(m, key, h)) != NIL) {
            lru_unlink(m, e);
            lru_push(m, e);
        }
        unlock_bucket(m, h);
    } else {
        e = hash_find(m, key, h);
    }
    return e == NIL ? NULL : value_of(m, e);
}

static int hash_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, int cpu)
{
    if (check_flags(flags))
        return -EINVAL;
    uint32_t h = hash_key(key, m->def.key_size), e;
    int rc = 0;
    lock_bucket(m, h);
    if ((e = hash_find(m, key, h)) != NIL) {
        if (flags == BPFVM_NOEXIST) {
            rc = -EEXIST;
        } else {
            write_value(m, value_of(m, e), value, cpu, false);
            if (is_lru(m->def.type)) {
                lru_unlink(m, e);
                lru_push(m, e);
            }
        }
    } else if (flags == BPFVM_EXIST) {
        rc = -ENOENT;
    } else {
        e = elem_alloc(m);
        if (e == NIL && is_lru(m->def.type) && m->lru_tail != NIL) {
            e = m->lru_tail; /* evict the least recently used (same lock) */
            hash_unlink(m, e);
        }
        if (e == NIL)
            rc = -E2BIG;
        else
            hash_link(m, e, h, key, value, cpu);
    }
    unlock_bucket(m, h);
    return rc;
}

static int hash_remove(bpfvm_map *m, const void *key)
{
    uint32_t h = hash_key(key, m->def.key_size);
    lock_bucket(m, h);
    uint32_t e = hash_find(m, key, h);
    if (e != NIL)
        hash_unlink(m, e);
    unlock_bucket(m, h);
    if (e != NIL)
        elem_free(m, e);
    return e == NIL ? -ENOENT : 0;
}

/* Bucket order, then chain order; an absent key restarts from the first.
 * Each bucket is read under its lock (empty ones are passed without). */
static int hash_next_key(bpfvm_map *m, const void *key, void *next)
{
    uint32_t e = NIL, b = 0;
    if (key) {
        uint32_t h = hash_key(key, m->def.key_size);
        lock_bucket(m, h);
        if ((e = hash_find(m, key, h)) != NIL) {
            b = bucket_of(m, h) + 1;
            if ((e = m->elems[e].next) != NIL)
                key_copy_out(m, e, next);
        }
        unlock_bucket(m, h);
        if (e != NIL)
            return 0;
    }
    for (; b < m->nbuckets; b++) {
        if (bucket_first(m, b) == NIL)
            continue;
        lock_bucket(m, b);
        if ((e = bucket_first(m, b)) != NIL)
            key_copy_out(m, e, next);
        unlock_bucket(m, b);
        if (e != NIL)
            return 0;
    }
    return -ENOENT;
}

static const bpfvm__map_ops hash_ops = {
    hash_init, hash_fini, hash_lookup, hash_update, hash_remove, hash_next_key, NULL, NULL
};

/* ---- program arrays -------------------------------------------------- */

static int prog_init(bpfvm_map *m)
{
    m->progs = zalloc((uint64_t)m->def.max_entries * sizeof(*m->progs));
    return m->progs ? 0 : BPFVM_ENOMEM;
}

static void prog_fini(bpfvm_map *m)
{
    free(m->progs);
}

/* Programs are set with bpfvm_prog_array_set, not with values. */
static int prog_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                       int cpu)
{
    (void)m, (void)key, (void)value, (void)flags, (void)cpu;
    return -EINVAL;
}

static int prog_remove(bpfvm_map *m, const void *key)
{
    uint32_t i = array_index(key);
    if (i >= m->def.max_entries)
        return -E2BIG;
    return __atomic_exchange_n(&m->progs[i], NULL, __ATOMIC_ACQ_REL) ? 0 : -ENOENT;
}

static const bpfvm__map_ops prog_ops = {
    prog_init, prog_fini, NULL, prog_update, prog_remove, array_next_key, NULL, NULL
};

int bpfvm_prog_array_set(bpfvm_map *map, uint32_t index, bpfvm_vm *vm)
{
    if (!map || map->def.type != BPFVM_MAP_PROG_ARRAY || (vm && !vm->code))
        return -EINVAL;
    if (index >= map->def.max_entries)
        return -E2BIG;
    __atomic_store_n(&map->progs[index], vm, __ATOMIC_RELEASE);
    return 0;
}

bpfvm_vm *bpfvm_prog_array_get(const bpfvm_map *map, uint32_t index)
{
    if (!map || map->def.type != BPFVM_MAP_PROG_ARRAY || index >= map->def.max_entries)
        return NULL;
    return __atomic_load_n(&map->progs[index], __ATOMIC_ACQUIRE);
}

/* ---- queues and stacks (kernel/bpf/queue_stack_maps.c) ---------------- */

static int qs_init(bpfvm_map *m)
{
    m->store = zalloc((uint64_t)m->def.max_entries * m->def.value_size);
    if (!m->store || pthread_mutex_init(&m->lock, NULL) != 0)
        return BPFVM_ENOMEM;
    return 0;
}

static void qs_fini(bpfvm_map *m)
{
    if (m->store)
        pthread_mutex_destroy(&m->lock);
    free(m->store);
}

static uint8_t *qs_slot(const bpfvm_map *m, uint64_t n)
{
    return m->store + (n % m->def.max_entries) * m->def.value_size;
}

/* head: elements ever pushed; tail: the oldest still held */
static int qs_push(bpfvm_map *m, const void *value, uint64_t flags)
{
    if (flags & ~(uint64_t)BPFVM_EXIST)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    if (m->head - m->tail == m->def.max_entries) {
        if (flags != BPFVM_EXIST) {
            rc = -E2BIG;
            goto out;
        }
        m->tail++; /* drop the oldest */
    }
    memcpy(qs_slot(m, m->head++), value, m->def.value_size);
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int qs_pop(bpfvm_map *m, void *value, bool remove)
{
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    if (m->head == m->tail) {
        rc = -ENOENT;
    } else if (m->def.type == BPFVM_MAP_QUEUE) {
        memcpy(value, qs_slot(m, m->tail), m->def.value_size);
        m->tail += remove;
    } else {
        memcpy(value, qs_slot(m, m->head - 1), m->def.value_size);
        m->head -= remove;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* Elements are pushed and popped, not updated or deleted by key. */
static int no_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags, int cpu)
{
    (void)m, (void)key, (void)value, (void)flags, (void)cpu;
    return -EINVAL;
}

static int no_remove(bpfvm_map *m, const void *key)
{
    (void)m, (void)key;
    return -EINVAL;
}

static int no_next_key(bpfvm_map *m, const void *key, void *next)
{
    (void)m, (void)key, (void)next;
    return -EINVAL;
}

static const bpfvm__map_ops queue_stack_ops = {
    qs_init, qs_fini, NULL, no_update, no_remove, no_next_key, qs_push, qs_pop
};

/* ---- ring buffers (kernel/bpf/ringbuf.c) ------------------------------- */

/* Each record: an 8-byte header {u32 len | BUSY | DISCARD, u32 0}, then
 * the data, the whole rounded up to 8 bytes. `tail` is the consumer
 * position, `head` the producer's; both only grow. */
#define RB_BUSY (1u << 31)
#define RB_DISCARD (1u << 30)
#define RB_HDR 8u

static int rb_init(bpfvm_map *m)
{
    return pthread_mutex_init(&m->lock, NULL) != 0 ? BPFVM_ENOMEM : 0;
}

static void rb_fini(bpfvm_map *m)
{
    pthread_mutex_destroy(&m->lock);
}

static const bpfvm__map_ops ringbuf_ops = {
    rb_init, rb_fini, NULL, no_update, no_remove, no_next_key, NULL, NULL
};

void *bpfvm__ringbuf_reserve(bpfvm_map *m, uint64_t size)
{
    uint32_t cap = m->def.max_entries;
    if (size > cap - RB_HDR) /* also stops the round-up below from overflowing */
        return NULL;
    uint64_t len = (size + RB_HDR + 7) & ~7ull;
    uint8_t *rec = NULL;
    pthread_mutex_lock(&m->lock);
    if (m->head + len - m->tail < cap) { /* at most cap - 1 ahead, as the kernel */
        rec = m->values + m->head % cap;
        uint32_t hdr[2] = { (uint32_t)size | RB_BUSY, 0 };
        memcpy(rec, hdr, RB_HDR);
        m->head += len;
    }
    pthread_mutex_unlock(&m->lock);
    return rec ? rec + RB_HDR : NULL;
}

int bpfvm__ringbuf_commit(bpfvm_map *m, void *data, bool discard)
{
    uint64_t off = (uint64_t)(uintptr_t)data - (uint64_t)(uintptr_t)m->values - RB_HDR;
    uint8_t *rec = m->values + (off < m->def.max_entries ? off : 0);
    int rc = -EINVAL;
    pthread_mutex_lock(&m->lock);
    /* a record starts in the first half, 8-aligned (off wraps when below) */
    if (off < m->def.max_entries && off % 8 == 0) {
        uint32_t hdr;
        memcpy(&hdr, rec, 4);
        if (hdr & RB_BUSY) {
            hdr = (hdr & ~RB_BUSY) | (discard ? RB_DISCARD : 0);
            memcpy(rec, &hdr, 4);
            rc = 0;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int bpfvm_ringbuf_consume(bpfvm_map *map, bpfvm_ringbuf_fn fn, void *user, int peek)
{
    if (!map || map->def.type != BPFVM_MAP_RINGBUF)
        return -EINVAL;
    int n = 0;
    pthread_mutex_lock(&map->lock);
    uint64_t pos = map->tail;
    while (pos < map->head) {
        uint32_t hdr;
        const uint8_t *rec = map->values + pos % map->def.max_entries;
        memcpy(&hdr, rec, 4);
        if (hdr & RB_BUSY)
            break; /* reserved, not yet submitted: records stay in order */
        uint32_t size = hdr & ~(RB_BUSY | RB_DISCARD);
        uint64_t len = (size + RB_HDR + 7) & ~7ull;
        if (size > map->def.max_entries - RB_HDR || len > map->head - pos)
            break; /* a header the program overwrote: stop at it */
        if (!(hdr & RB_DISCARD)) {
            if (fn)
                fn(user, rec + RB_HDR, size);
            n++;
        }
        pos += len;
    }
    if (!peek)
        map->tail = pos;
    pthread_mutex_unlock(&map->lock);
    return n;
}

/* ---- perf event arrays ------------------------------------------------ */

static const bpfvm__map_ops perf_ops = {
    nothing_init, array_fini, NULL, no_update, no_remove, array_next_key, NULL, NULL
};

int bpfvm_perf_event_set_callback(bpfvm_map *map, bpfvm_perf_fn fn, void *user)
{
    if (!map || map->def.type != BPFVM_MAP_PERF_EVENT_ARRAY)
        return BPFVM_EINVAL;
    map->perf_user = user;
    map->perf_fn = fn;
    return 0;
}

/* ---- map-in-map (the kernel's array_of_maps, htab_of_maps) ------------ */

/* An outer map's value block holds the inner map (a bpfvm_map *; NULL: an
 * empty array slot). Every map ever stored is kept in `held` with one
 * reference until the outer map goes, so a map a running program got from
 * a lookup stays valid memory however the host changes the slots (the
 * kernel frees a removed inner map after an RCU grace period instead).
 * `held` is an open-addressed set of pointers, at most half full, grown
 * under held_lock by copying; readers (the helpers, the memory checks) use
 * it without a lock, so a table replaced is kept until the map goes. */
struct bpfvm__held {
    struct bpfvm__held *older;   /* the table this one replaced */
    uint32_t cap, n;             /* cap: a power of 2 */
    bpfvm_map *slot[];
};

bool bpfvm__is_outer(const bpfvm_map *m)
{
    return m->def.type == BPFVM_MAP_ARRAY_OF_MAPS || m->def.type == BPFVM_MAP_HASH_OF_MAPS;
}

bpfvm_map *bpfvm__inner_at(const uint8_t *v)
{
    return __atomic_load_n((bpfvm_map *const *)(const void *)v, __ATOMIC_ACQUIRE);
}

static uint32_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(x >> 32);
}

/* Is `p` (any address: never dereferenced) in the set? */
static bool held_has(const struct bpfvm__held *t, const void *p)
{
    for (uint32_t i = ptr_hash(p); p; i++) {
        const bpfvm_map *q = __atomic_load_n(&t->slot[i & (t->cap - 1)], __ATOMIC_ACQUIRE);
        if (q == p || !q)
            return q == p;
    }
    return false;
}

static void held_put(struct bpfvm__held *t, bpfvm_map *p)
{
    uint32_t i = ptr_hash(p);
    while (t->slot[i & (t->cap - 1)])
        i++;
    __atomic_store_n(&t->slot[i & (t->cap - 1)], p, __ATOMIC_RELEASE);
    t->n++;
}

/* Keep `inner` as long as outer map `m`: 0 or -ENOMEM. */
static int hold(bpfvm_map *m, bpfvm_map *inner)
{
    int rc = 0;
    pthread_mutex_lock(&m->held_lock);
    struct bpfvm__held *t = m->held;
    if (t && held_has(t, inner))
        goto out;
    if (!t || (t->n + 1) * 2 > t->cap) {
        uint32_t cap = t ? t->cap * 2 : 8;
        struct bpfvm__held *nt = cap <= (1u << 28)
                                     ? zalloc(sizeof(*nt) + (uint64_t)cap * sizeof(nt->slot[0]))
                                     : NULL;
        if (!nt) {
            rc = -ENOMEM;
            goto out;
        }
        nt->cap = cap;
        nt->older = t;
        for (uint32_t i = 0; t && i < t->cap; i++)
            if (t->slot[i])
                held_put(nt, t->slot[i]);
        __atomic_store_n(&m->held, nt, __ATOMIC_RELEASE);
        t = nt;
    }
    held_put(t, bpfvm_map_ref(inner));
out:
    pthread_mutex_unlock(&m->held_lock);
    return rc;
}

/* The kernel's map_meta_equal: type, key and value sizes, flags and the
 * lock's place as the template's; arrays also max_entries, unless the
 * template has BPF_F_INNER_MAP. -EBADF for no map, else -EINVAL. */
static int inner_fits(const bpfvm_map *m, const bpfvm_map *in)
{
    const bpfvm_map_def *t = &m->inner;
    if (!in)
        return -EBADF;
    const bpfvm_map_def *d = &in->def;
    bool array = t->type == BPFVM_MAP_ARRAY || t->type == BPFVM_MAP_PERCPU_ARRAY;
    if (d->type != t->type || d->key_size != t->key_size || d->value_size != t->value_size ||
        d->flags != t->flags || in->lock_off != m->inner_lock ||
        (array && !(t->flags & BPFVM_F_INNER_MAP) && d->max_entries != t->max_entries))
        return -EINVAL;
    return 0;
}

static int outer_init(bpfvm_map *m)
{
    if (pthread_mutex_init(&m->held_lock, NULL) != 0)
        return BPFVM_ENOMEM;
    m->held_ok = true;
    return m->def.type == BPFVM_MAP_HASH_OF_MAPS ? hash_init(m) : 0;
}

static void outer_fini(bpfvm_map *m)
{
    struct bpfvm__held *t = m->held;
    for (uint32_t i = 0; t && i < t->cap; i++)
        bpfvm_map_unref(t->slot[i]);
    while (t) {
        struct bpfvm__held *older = t->older;
        free(t);
        t = older;
    }
    if (m->held_ok)
        pthread_mutex_destroy(&m->held_lock);
    if (m->def.type == BPFVM_MAP_HASH_OF_MAPS)
        hash_fini(m);
}

/* Arrays of maps: empty slots are absent (lookups -ENOENT / NULL). */
static uint8_t *outer_lookup(bpfvm_map *m, const void *key, bool use)
{
    if (m->def.type == BPFVM_MAP_HASH_OF_MAPS)
        return hash_lookup(m, key, use);
    uint8_t *v = array_lookup(m, key, use);
    return v && bpfvm__inner_at(v) ? v : NULL;
}

/* The host's update: `value` holds a bpfvm_map *. Arrays of maps take
 * BPF_ANY only, as the kernel's fd arrays. */
static int outer_update(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                        int cpu)
{
    bpfvm_map *in;
    memcpy(&in, value, sizeof(in));
    bool array = m->def.type == BPFVM_MAP_ARRAY_OF_MAPS;
    int rc = !array ? 0 : flags != BPFVM_ANY ? -EINVAL
                        : array_index(key) >= m->def.max_entries ? -E2BIG : 0;
    if (rc || (rc = inner_fits(m, in)) || (rc = hold(m, in)))
        return rc;
    if (!array)
        return hash_update(m, key, &in, flags, cpu);
    __atomic_store_n((bpfvm_map **)(void *)value_of(m, array_index(key)), in, __ATOMIC_RELEASE);
    return 0;
}

static int outer_remove(bpfvm_map *m, const void *key)
{
    if (m->def.type == BPFVM_MAP_HASH_OF_MAPS)
        return hash_remove(m, key);
    uint32_t i = array_index(key);
    if (i >= m->def.max_entries)
        return -E2BIG;
    return __atomic_exchange_n((bpfvm_map **)(void *)value_of(m, i), NULL, __ATOMIC_ACQ_REL)
               ? 0 : -ENOENT;
}

static int outer_next_key(bpfvm_map *m, const void *key, void *next)
{
    return m->def.type == BPFVM_MAP_HASH_OF_MAPS ? hash_next_key(m, key, next)
                                                 : array_next_key(m, key, next);
}

static const bpfvm__map_ops outer_ops = {
    outer_init, outer_fini, outer_lookup, outer_update, outer_remove, outer_next_key, NULL, NULL
};

bpfvm_map *bpfvm__inner_map(const bpfvm_vm *vm, uint64_t addr)
{
    for (size_t i = 0; i < vm->nmaps; i++) {
        const bpfvm_map *o = vm->maps[i];
        const struct bpfvm__held *t = o->ops == &outer_ops
                                          ? __atomic_load_n(&o->held, __ATOMIC_ACQUIRE) : NULL;
        if (t && held_has(t, (const void *)(uintptr_t)addr))
            return (bpfvm_map *)(uintptr_t)addr;
    }
    return NULL;
}

/* The region programs may access in a map's values: each element's
 * value_size bytes (ring buffers: the whole buffer). */
static bpfvm__region map_region(const bpfvm_map *m)
{
    bool elements = m->ops->lookup != NULL;
    return (bpfvm__region){ (uint64_t)(uintptr_t)m->values, m->values_len,
                            (m->def.flags & BPFVM_F_RDONLY_PROG) ? BPFVM_READ
                                                                 : BPFVM_READ | BPFVM_WRITE,
                            elements ? m->stride : 0, elements ? m->def.value_size : 0,
                            m->lock_off == BPFVM__NO_LOCK ? 0 : m->lock_off + 1 };
}

/* The lock word at `addr` of one of map m's elements, or NULL. */
static uint32_t *lock_in(const bpfvm_map *m, uint64_t addr)
{
    if (!m || m->lock_off == BPFVM__NO_LOCK)
        return NULL;
    uint64_t off = addr - (uint64_t)(uintptr_t)m->values;
    return off < m->values_len && off % m->stride == m->lock_off
               ? (uint32_t *)(void *)(m->values + off) : NULL;
}

uint32_t *bpfvm__lock_word(const bpfvm_vm *vm, uint64_t addr)
{
    uint32_t *w = NULL;
    for (size_t i = 0; i < vm->nmaps && !w; i++) {
        const bpfvm_map *o = vm->maps[i];
        const struct bpfvm__held *t = o->ops == &outer_ops
                                          ? __atomic_load_n(&o->held, __ATOMIC_ACQUIRE) : NULL;
        w = lock_in(o, addr);
        for (uint32_t k = 0; t && k < t->cap && !w; k++)
            w = lock_in(__atomic_load_n(&t->slot[k], __ATOMIC_ACQUIRE), addr);
    }
    return w;
}

bool bpfvm__inner_access(const bpfvm_vm *vm, uint64_t addr, uint64_t size, bool write,
                         uint64_t *start, uint64_t *len)
{
    for (size_t i = 0; i < vm->nmaps; i++) {
        const bpfvm_map *o = vm->maps[i];
        const struct bpfvm__held *t = o->ops == &outer_ops
                                          ? __atomic_load_n(&o->held, __ATOMIC_ACQUIRE) : NULL;
        for (uint32_t k = 0; t && k < t->cap; k++) {
            const bpfvm_map *in = __atomic_load_n(&t->slot[k], __ATOMIC_ACQUIRE);
            bpfvm__region r;
            if (in && in->values_len && (r = map_region(in), true) &&
                bpfvm__region_allows(&r, addr, size, write, start, len))
                return true;
        }
    }
    return false;
}

/* ---- struct bpf_spin_lock and BPF_F_LOCK ------------------------------ */

void bpfvm__spin_lock(uint32_t *w)
{
    while (__atomic_exchange_n(w, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

void bpfvm__spin_unlock(uint32_t *w)
{
    __atomic_store_n(w, 0, __ATOMIC_RELEASE);
}

int bpfvm_map_set_spin_lock(bpfvm_map *map, uint32_t offset)
{
    if (!map || (map->def.type != BPFVM_MAP_HASH && map->def.type != BPFVM_MAP_ARRAY) ||
        offset % 4 || map->def.value_size < 4 || offset > map->def.value_size - 4 ||
        map->lock_off != BPFVM__NO_LOCK)
        return BPFVM_EINVAL;
    map->lock_off = offset;
    return 0;
}

/* Copy element value `v` into `out` (into_map: `out` into `v`) under its
 * lock, the lock word excepted (the kernel's copy_map_value_locked). */
static void copy_locked(const bpfvm_map *m, uint8_t *v, void *out, bool into_map)
{
    uint32_t *w = (uint32_t *)(void *)(v + m->lock_off);
    bpfvm__spin_lock(w);
    if (into_map)
        copy_unlocked(m, v, out);
    else
        copy_unlocked(m, out, v);
    bpfvm__spin_unlock(w);
}

/* An update with BPF_F_LOCK (host or program): an existing element's value
 * is written under its lock; an absent hash element is inserted as without
 * the flag. Errors in the kernel's order (array_map_update_elem,
 * htab_map_update_elem): other flags, arrays' index and BPF_NOEXIST, no
 * lock in the value. */
static int update_locked(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                         int cpu)
{
    flags &= ~(uint64_t)BPFVM_F_LOCK;
    if (flags > BPFVM_EXIST)
        return -EINVAL;
    if (m->ops == &array_ops && m->ncpus == 1) {
        if (array_index(key) >= m->def.max_entries)
            return -E2BIG;
        if (flags == BPFVM_NOEXIST)
            return -EEXIST;
    }
    if (m->lock_off == BPFVM__NO_LOCK)
        return -EINVAL;
    uint8_t *v = m->ops->lookup(m, key, false);
    if (!v)
        return m->ops->update(m, key, value, flags, cpu);
    if (flags == BPFVM_NOEXIST)
        return -EEXIST;
    copy_locked(m, v, (void *)(uintptr_t)value, true);
    return 0;
}

/* ---- the table of types ---------------------------------------------- */

static const struct map_type {
    uint32_t type;
    const char *name;
    const bpfvm__map_ops *ops;
} map_types[] = {
    { BPFVM_MAP_HASH,            "hash",            &hash_ops },
    { BPFVM_MAP_ARRAY,           "array",           &array_ops },
    { BPFVM_MAP_PROG_ARRAY,      "prog_array",      &prog_ops },
    { BPFVM_MAP_PERF_EVENT_ARRAY, "perf_event_array", &perf_ops },
    { BPFVM_MAP_PERCPU_HASH,     "percpu_hash",     &hash_ops },
    { BPFVM_MAP_PERCPU_ARRAY,    "percpu_array",    &array_ops },
    { BPFVM_MAP_LRU_HASH,        "lru_hash",        &hash_ops },
    { BPFVM_MAP_LRU_PERCPU_HASH, "lru_percpu_hash", &hash_ops },
    { BPFVM_MAP_QUEUE,           "queue",           &queue_stack_ops },
    { BPFVM_MAP_STACK,           "stack",           &queue_stack_ops },
    { BPFVM_MAP_RINGBUF,         "ringbuf",         &ringbuf_ops },
    { BPFVM_MAP_ARRAY_OF_MAPS,   "array_of_maps",   &outer_ops },
    { BPFVM_MAP_HASH_OF_MAPS,    "hash_of_maps",    &outer_ops },
};

static const struct map_type *find_type(uint32_t type)
{
    for (size_t i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++)
        if (map_types[i].type == type)
            return &map_types[i];
    return NULL;
}

const char *bpfvm_map_type_name(uint32_t type)
{
    const struct map_type *t = find_type(type);
    return t ? t->name : "unknown";
}

/* ---- creation and references ----------------------------------------- */

#define BAD(...) bpfvm__set_error(err, BPFVM_EINVAL, -1, __VA_ARGS__)

/* Types a map-in-map may hold (the kernel's, less program arrays, which it
 * refuses too, and ring buffers and perf event arrays, which bpfvm does not
 * support inside). */
static bool inner_type(uint32_t type)
{
    return type == BPFVM_MAP_HASH || type == BPFVM_MAP_ARRAY || type == BPFVM_MAP_PERCPU_HASH ||
           type == BPFVM_MAP_PERCPU_ARRAY || type == BPFVM_MAP_LRU_HASH ||
           type == BPFVM_MAP_LRU_PERCPU_HASH || type == BPFVM_MAP_QUEUE ||
           type == BPFVM_MAP_STACK;
}

static int check_def(const bpfvm_map_def *d, const bpfvm_map *inner, const char *name,
                     bpfvm_error *err)
{
    const struct map_type *t = find_type(d->type);
    bool array = d->type == BPFVM_MAP_ARRAY || d->type == BPFVM_MAP_PERCPU_ARRAY;
    uint32_t allowed = BPFVM_F_RDONLY_PROG | (array ? BPFVM_F_INNER_MAP : 0) |
                       (array || is_lru(d->type) || d->type == BPFVM_MAP_ARRAY_OF_MAPS
                            ? 0 : BPFVM_F_NO_PREALLOC);
    if (!t)
        return BAD("map %s: unsupported map type %u", name, d->type);
    if (t->ops == &outer_ops) {
        if (!inner || !inner_type(inner->def.type))
            return BAD("map %s (%s): needs an inner map of a type it may hold (hash, array, "
                       "their per-CPU and LRU forms, queue, stack), not %s", name, t->name,
                       inner ? bpfvm_map_type_name(inner->def.type) : "none");
        if (d->value_size != 4 || (d->type == BPFVM_MAP_ARRAY_OF_MAPS && d->key_size != 4))
            return BAD("map %s (%s): key_size %u and value_size %u: value_size must be 4 "
                       "(arrays of maps: both)", name, t->name, d->key_size, d->value_size);
    }
    if (d->type == BPFVM_MAP_RINGBUF) {
        if (d->key_size || d->value_size || d->max_entries < 4096 ||
            (d->max_entries & (d->max_entries - 1)) || d->max_entries > (1u << 28))
            return BAD("map %s (ringbuf): key_size %u and value_size %u must be 0, and "
                       "max_entries %u a power of 2 from 4096 to 2^28 (bytes)", name,
                       d->key_size, d->value_size, d->max_entries);
        return d->flags ? BAD("map %s (ringbuf): flags 0x%x are not supported", name, d->flags)
                        : 0;
    }
    if (d->type == BPFVM_MAP_QUEUE || d->type == BPFVM_MAP_STACK) {
        if (d->key_size || !d->value_size || !d->max_entries)
            return BAD("map %s (%s): key_size %u must be 0, value_size %u and max_entries %u "
                       "not", name, t->name, d->key_size, d->value_size, d->max_entries);
        if ((uint64_t)d->value_size * d->max_entries > MAX_VALUES_BYTES)
            return BAD("map %s (%s): %u entries of %u bytes are over the limit of %llu bytes",
                       name, t->name, d->max_entries, d->value_size, MAX_VALUES_BYTES);
    } else if (!d->key_size || !d->value_size || !d->max_entries)
        return BAD("map %s (%s): key_size %u, value_size %u and max_entries %u must not be 0",
                   name, t->name, d->key_size, d->value_size, d->max_entries);
    if ((d->type == BPFVM_MAP_PROG_ARRAY || d->type == BPFVM_MAP_PERF_EVENT_ARRAY) &&
        (d->key_size != 4 || d->value_size != 4))
        return BAD("map %s (%s): key_size %u and value_size %u, fd arrays take 4 and 4",
                   name, t->name, d->key_size, d->value_size);
    if (array && d->key_size != 4)
        return BAD("map %s (%s): key_size %u, arrays take 4-byte keys", name, t->name,
                   d->key_size);
    if (d->key_size > MAX_KEY)
        return BAD("map %s (%s): key_size %u is over %u", name, t->name, d->key_size, MAX_KEY);
    if (d->value_size > MAX_VALUE)
        return BAD("map %s (%s): value_size %u is over %u", name, t->name, d->value_size,
                   MAX_VALUE);
    if (d->flags & ~allowed)
        return BAD("map %s (%s): flags 0x%x are not supported for this type", name, t->name,
                   d->flags & ~allowed);
    return 0;
}

static int create(const bpfvm_map_def *def, const bpfvm_map *inner, const char *name,
                  bpfvm_map **out, bpfvm_error *err)
{
    if (!def || !out)
        return bpfvm__set_error(err, BPFVM_EINVAL, -1, "map: no definition or output");
    *out = NULL;
    int rc = check_def(def, inner, name ? name : "(unnamed)", err);
    if (rc)
        return rc;
    const struct map_type *t = find_type(def->type);
    bpfvm_map *m = calloc(1, sizeof(*m));
    if (!m)
        return bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
    m->ops = t->ops;
    m->def = *def;
    snprintf(m->name, sizeof(m->name), "%s", name ? name : "");
    m->refs = 1;
    m->ncpus = is_percpu(def->type) ? bpfvm_num_possible_cpus() : 1;
    m->stride = (def->value_size + 7u) & ~7u;
    m->elem_bytes = (uint64_t)m->ncpus * m->stride;
    m->vbytes = t->ops == &outer_ops ? (uint32_t)sizeof(bpfvm_map *) : def->value_size;
    m->lock_off = BPFVM__NO_LOCK;
    if (inner) {
        m->inner = inner->def;
        m->inner_lock = inner->lock_off;
    }
    m->values_len = def->type == BPFVM_MAP_RINGBUF ? 2ull * def->max_entries
                   : t->ops->lookup ? m->elem_bytes * def->max_entries : 0;
    /* everything the map allocates: values, a hash map's keys, element
     * table (24 bytes each) and buckets with their locks (8 bytes, a power of two), a
     * queue's elements, a program array's slots */
    uint64_t bytes = m->values_len;
    if (t->ops == &hash_ops || def->type == BPFVM_MAP_HASH_OF_MAPS)
        bytes += (uint64_t)def->max_entries * (((def->key_size + 7u) & ~7u) + 24u + 16u);
    if (def->type == BPFVM_MAP_QUEUE || def->type == BPFVM_MAP_STACK)
        bytes += (uint64_t)def->max_entries * def->value_size;
    if (def->type == BPFVM_MAP_PROG_ARRAY)
        bytes += (uint64_t)def->max_entries * sizeof(*m->progs);
    m->bytes = bytes;
    if (bytes > MAX_VALUES_BYTES) {
        rc = BAD("map %s (%s): %u entries of %llu bytes are over the limit of %llu bytes",
                 m->name, t->name, def->max_entries, (unsigned long long)m->elem_bytes,
                 MAX_VALUES_BYTES);
        free(m);
        return rc;
    }
    if (!(m->values = zalloc(m->values_len)) || (rc = m->ops->init(m)) != 0) {
        m->ops->fini(m);
        free(m->values);
        free(m);
        return bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory for map %s",
                                name ? name : "");
    }
    *out = m;
    return 0;
}

int bpfvm_map_create(const bpfvm_map_def *def, const char *name, bpfvm_map **out,
                     bpfvm_error *err)
{
    return create(def, NULL, name, out, err);
}

int bpfvm_map_create_outer(const bpfvm_map_def *def, const bpfvm_map *inner, const char *name,
                           bpfvm_map **out, bpfvm_error *err)
{
    return create(def, inner, name, out, err);
}

bpfvm_map *bpfvm_map_ref(bpfvm_map *map)
{
    if (map)
        __atomic_add_fetch(&map->refs, 1, __ATOMIC_RELAXED);
    return map;
}

void bpfvm_map_unref(bpfvm_map *map)
{
    if (!map || __atomic_sub_fetch(&map->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    map->ops->fini(map);
    free(map->values);
    free(map);
}

const bpfvm_map_def *bpfvm_map_get_def(const bpfvm_map *map)
{
    return map ? &map->def : NULL;
}

const char *bpfvm_map_name(const bpfvm_map *map)
{
    return map ? map->name : "";
}

uint64_t bpfvm__map_bytes(const bpfvm_map *m)
{
    return m->bytes;
}

unsigned long long bpfvm_map_values_address(const bpfvm_map *map)
{
    return map && map->values_len && map->ops != &outer_ops
               ? (unsigned long long)(uintptr_t)map->values : 0;
}

size_t bpfvm_map_host_value_size(const bpfvm_map *map)
{
    if (!map)
        return 0;
    return map->ncpus == 1 ? map->vbytes : (size_t)map->elem_bytes;
}

/* ---- element calls --------------------------------------------------- */

int bpfvm_map_lookup_flags(bpfvm_map *map, const void *key, void *value, uint64_t flags)
{
    if (map && (flags & ~(uint64_t)BPFVM_F_LOCK ||
                ((flags & BPFVM_F_LOCK) && map->lock_off == BPFVM__NO_LOCK)))
        return -EINVAL;
    if (map && map->ops->pop && value)
        return map->ops->pop(map, value, false);
    if (!map || !key || !value)
        return -EINVAL;
    if (!map->ops->lookup)
        return -EOPNOTSUPP; /* use bpfvm_prog_array_get */
    uint8_t *v = map->ops->lookup(map, key, false);
    if (!v)
        return -ENOENT;
    if (flags & BPFVM_F_LOCK)
        copy_locked(map, v, value, false);
    else
        memcpy(value, v, bpfvm_map_host_value_size(map));
    if (map->lock_off != BPFVM__NO_LOCK) /* the kernel shows it as 0 */
        memset((uint8_t *)value + map->lock_off, 0, 4);
    return 0;
}

int bpfvm_map_lookup(bpfvm_map *map, const void *key, void *value)
{
    return bpfvm_map_lookup_flags(map, key, value, 0);
}

int bpfvm_map_update(bpfvm_map *map, const void *key, const void *value, uint64_t flags)
{
    if (map && (flags & BPFVM_F_LOCK) && map->lock_off == BPFVM__NO_LOCK)
        return -EINVAL; /* the kernel's syscall checks this first */
    if (map && map->ops->push && value)
        return map->ops->push(map, value, flags);
    if (!map || !key || !value)
        return -EINVAL;
    if (flags & BPFVM_F_LOCK)
        return update_locked(map, key, value, flags, -1);
    return map->ops->update(map, key, value, flags, -1);
}

int bpfvm_map_lookup_and_delete(bpfvm_map *map, const void *key, void *value)
{
    (void)key;
    if (!map || !value)
        return -EINVAL;
    return map->ops->pop ? map->ops->pop(map, value, true) : -EOPNOTSUPP;
}

int bpfvm_map_delete(bpfvm_map *map, const void *key)
{
    if (!map || !key)
        return -EINVAL;
    return map->ops->remove(map, key);
}

int bpfvm_map_next_key(bpfvm_map *map, const void *key, void *next)
{
    if (!map || !next)
        return -EINVAL;
    return map->ops->next_key(map, key, next);
}

uint8_t *bpfvm__map_lookup(bpfvm_map *m, const void *key)
{
    return m->ops->lookup ? m->ops->lookup(m, key, true) : NULL;
}

int bpfvm__map_update_cpu(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                          unsigned cpu)
{
    int c = m->ncpus == 1 ? 0 : (int)cpu;
    if (flags & BPFVM_F_LOCK)
        return update_locked(m, key, value, flags, c);
    return m->ops->update(m, key, value, flags, c);
}

/* ---- programs that use maps ------------------------------------------ */

void bpfvm__release_maps(bpfvm_vm *vm)
{
    for (size_t i = 0; i < vm->nmaps; i++)
        bpfvm_map_unref(vm->maps[i]);
    bpfvm__free(vm, vm->maps);
    vm->maps = NULL;
    vm->nmaps = 0;
}

int bpfvm__attach_maps(bpfvm_vm *vm, bpfvm_map *const *maps, size_t n)
{
    if (!n)
        return 0;
    if (n > SIZE_MAX / sizeof(*maps) || !(vm->maps = bpfvm__alloc(vm, n * sizeof(*maps))))
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    for (size_t i = 0; i < n; i++) {
        bpfvm_map *m = maps[i];
        vm->maps[vm->nmaps++] = bpfvm_map_ref(m);
        if (!m->values_len || m->ops == &outer_ops) /* outer maps: inner map pointers */
            continue;
        bpfvm__region r = map_region(m);
        int rc = bpfvm__add_region(vm, r.start, r.len, r.flags);
        if (rc)
            return rc;
        vm->regions[vm->nregions - 1] = r;
    }
    return 0;
}

/* The constant an lddw with a map pseudo source (src 1: the map, src 2:
 * byte `off` of element 0's value) becomes. */
static int map_constant(bpfvm_map *const *maps, size_t nmaps, const bpfvm_insn *ld, size_t at,
                        uint64_t *value, bpfvm_error *err)
{
    uint32_t idx = (uint32_t)ld[0].imm, off = (uint32_t)ld[1].imm;
    if (idx >= nmaps || !maps[idx])
        return bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)at, "lddw at %zu refers to map %u, "
                                "but %zu maps were given", at, idx, nmaps);
    const bpfvm_map *m = maps[idx];
    if (ld[0].src == BPFVM_PSEUDO_MAP_FD) {
        if (off)
            return bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)at, "lddw at %zu: a map "
                                    "reference has a second immediate of 0, not %u", at, off);
        *value = (uint64_t)(uintptr_t)m;
        return 0;
    }
    if (m->def.type != BPFVM_MAP_ARRAY || off >= m->def.value_size)
        return bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)at, "lddw at %zu: value offset %u "
                                "of map %s (%s, value_size %u): needs an array and an offset "
                                "inside the value", at, off, m->name,
                                bpfvm_map_type_name(m->def.type), m->def.value_size);
    *value = (uint64_t)(uintptr_t)m->values + off;
    return 0;
}

int bpfvm_load_maps(bpfvm_vm *vm, const void *code, size_t len, bpfvm_map *const *maps,
                    size_t nmaps)
{
    if (!vm)
        return BPFVM_EINVAL;
    if ((!code && len) || (!maps && nmaps))
        return bpfvm__set_error(&vm->last_error, BPFVM_EINVAL, -1, "no code or no maps");
    if (len % sizeof(bpfvm_insn))
        return bpfvm__set_error(&vm->last_error, BPFVM_EVERIFY, -1,
                                "program length %zu is not a multiple of 8", len);
    size_t count = len / sizeof(bpfvm_insn);
    bpfvm_insn *insns = bpfvm__alloc(vm, len);
    if (!insns)
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    memcpy(insns, code, len);
    int rc = 0;
    for (size_t i = 0; i + 1 < count && !rc; i++) {
        if (insns[i].opcode != (BPFVM_LD | BPFVM_DW | BPFVM_IMM))
            continue;
        if (insns[i].src == BPFVM_PSEUDO_MAP_FD || insns[i].src == BPFVM_PSEUDO_MAP_VALUE) {
            uint64_t v = 0;
            if ((rc = map_constant(maps, nmaps, &insns[i], i, &v, &vm->last_error)))
                break;
            insns[i].src = 0;
            insns[i].imm = (int32_t)(uint32_t)v;
            insns[i + 1].imm = (int32_t)(uint32_t)(v >> 32);
        }
        i++;
    }
    if (!rc && (rc = bpfvm__install(vm, insns, count)) == 0 &&
        (rc = bpfvm__attach_maps(vm, maps, nmaps)) != 0)
        bpfvm__unload(vm);
    bpfvm__free(vm, insns);
    return rc;
}
