/* map.h - map objects inside the library (maps.c): the structure, the
 * per-type operation table, and what helpers and the loaders use. */
#ifndef BPFVM_MAP_H
#define BPFVM_MAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpfvm.h"
#include "bpfvm/maps.h"

/* One table per map type, as the kernel's struct bpf_map_ops: the helpers,
 * the host API and the loaders all go through it. `cpu` is the slot of
 * per-CPU maps (ignored by the others); for update, cpu -1 means `value`
 * holds every CPU's value (the host's layout). Element calls return 0 or a
 * negative errno. */
typedef struct bpfvm__map_ops {
    int (*init)(bpfvm_map *m);                    /* 0 or BPFVM_ENOMEM */
    void (*fini)(bpfvm_map *m);
    /* The element's value block (CPU 0's slot), NULL if absent. `use`:
     * a program's lookup (counts for LRU). NULL for types whose values
     * neither programs nor the host read (program arrays). */
    uint8_t *(*lookup)(bpfvm_map *m, const void *key, bool use);
    int (*update)(bpfvm_map *m, const void *key, const void *value, uint64_t flags, int cpu);
    int (*remove)(bpfvm_map *m, const void *key);
    int (*next_key)(bpfvm_map *m, const void *key, void *next);
    /* queues and stacks (NULL for the others): push `value` (flags
     * BPF_EXIST: replace the oldest when full); pop or peek into `value` */
    int (*push)(bpfvm_map *m, const void *value, uint64_t flags);
    int (*pop)(bpfvm_map *m, void *value, bool remove);
} bpfvm__map_ops;

struct bpfvm_map {
    const bpfvm__map_ops *ops;
    bpfvm_map_def def;
    char name[64];
    int refs;                /* atomic */
    uint64_t bytes;          /* memory it allocated (at most 1 GiB) */
    uint32_t ncpus;          /* value slots per element: possible CPUs, or 1 */
    uint32_t stride;         /* bytes per slot: value_size rounded up to 8 */
    uint64_t elem_bytes;     /* ncpus * stride */
    uint32_t vbytes;         /* bytes a value takes in `values`: value_size, or for
                              * map-in-map a bpfvm_map * (the inner map) */
    uint32_t lock_off;       /* offset of the value's struct bpf_spin_lock, or NO_LOCK */
    uint8_t *values;         /* max_entries * elem_bytes: the region programs access */
    uint64_t values_len;
    pthread_mutex_t lock;    /* LRU hash maps, queues, stacks, ring buffers */
    /* hash maps */
    uint32_t nbuckets;       /* a power of two */
    uint32_t *buckets;       /* first element of each bucket + 1, or 0 */
    uint32_t *locks;         /* a spin lock per bucket (not LRU maps: those take `lock`) */
    struct bpfvm__map_elem *elems;
    uint64_t *keys;          /* max_entries * key_stride bytes */
    uint32_t key_stride;     /* key_size rounded up to 8 */
    uint32_t free_lock;      /* spin lock of free_head and head */
    uint32_t free_head;      /* free list through elems[].free */
    uint32_t lru_head, lru_tail; /* most and least recently used */
    /* program arrays: the VMs (read and written atomically; not a region) */
    bpfvm_vm **progs;
    /* queues, stacks (elements in `store`, not a region) and ring buffers
     * (records in `values`, 2 * max_entries bytes: a record that passes the
     * end continues in the second half, so records are contiguous) */
    uint8_t *store;
    uint64_t head, tail;     /* queue/stack: element counters; ringbuf: byte positions;
                              * hash: head = elements never used yet start there */
    /* perf event arrays: where bpf_perf_event_output sends records */
    bpfvm_perf_fn perf_fn;
    void *perf_user;
    /* map-in-map: the inner maps' template, and every map ever stored in a
     * slot (one reference each, dropped with this map), read without a lock */
    bpfvm_map_def inner;
    uint32_t inner_lock;     /* the template's lock_off */
    struct bpfvm__held *held;
    pthread_mutex_t held_lock;
    bool held_ok;            /* held_lock initialised */
};

#define BPFVM__NO_LOCK UINT32_MAX

/* Map-in-map: is `m` one; the inner map (a bpfvm_map *) held in value
 * block `v` of a lookup of one, or NULL. */
bool bpfvm__is_outer(const bpfvm_map *m);
bpfvm_map *bpfvm__inner_at(const uint8_t *v);
/* The inner map at address `addr` that one of the program's outer maps
 * holds (or has held), or NULL: a map a program got from a lookup. */
bpfvm_map *bpfvm__inner_map(const bpfvm_vm *vm, uint64_t addr);
/* The struct bpf_spin_lock at `addr` in a value of one of the program's
 * maps (or their inner maps) that has one, or NULL: programs cannot
 * access it directly, only through helpers 93 and 94. */
uint32_t *bpfvm__lock_word(const bpfvm_vm *vm, uint64_t addr);
/* bpf_spin_lock / unlock on a lock word (helpers 93, 94, and BPF_F_LOCK). */
void bpfvm__spin_lock(uint32_t *w);
void bpfvm__spin_unlock(uint32_t *w);

/* Ring buffers: reserve `size` bytes (NULL if they do not fit), then
 * submit or discard the record at `data`; -EINVAL if `data` is not a
 * reserved record of `m`. */
void *bpfvm__ringbuf_reserve(bpfvm_map *m, uint64_t size);
int bpfvm__ringbuf_commit(bpfvm_map *m, void *data, bool discard);

/* Memory the map allocated: values, keys, tables. */
uint64_t bpfvm__map_bytes(const bpfvm_map *m);
/* The value block of `key` (CPU 0's slot; CPU c's is c * stride further),
 * for a program (counts as a use for LRU maps); NULL if absent. */
uint8_t *bpfvm__map_lookup(bpfvm_map *m, const void *key);
/* A program's update: `value` is one value, written to `cpu`'s slot. */
int bpfvm__map_update_cpu(bpfvm_map *m, const void *key, const void *value, uint64_t flags,
                          unsigned cpu);

#endif
