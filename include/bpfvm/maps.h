/* bpfvm/maps.h - eBPF maps, objects with maps, and the kernel's helpers.
 *
 * A map is a host object with a reference count: it can be given to any
 * number of programs in any number of VMs at once, and the host reads and
 * writes it with the calls below while programs run. Map types, flags and
 * helper ids are the kernel's (linux/bpf.h), and so are the semantics of
 * every operation and its errors.
 *
 * Element calls (bpfvm_map_lookup/update/delete/next_key) return what
 * libbpf's bpf_map_*_elem return: 0, or a NEGATIVE ERRNO value (-ENOENT,
 * -EEXIST, -E2BIG, -EINVAL, ...) - not BPFVM_E* codes. Every other call
 * returns 0 or a BPFVM_E* code with the detail in `err` (may be NULL).
 *
 * Memory: a map's values live in memory allocated when the map is created
 * (hash maps are preallocated, as the kernel does by default) and freed
 * when the last reference goes. Programs that use a map may access its
 * value memory, each element's value_size bytes (not the padding to 8
 * bytes, no access across two elements; read-only for BPF_F_RDONLY_PROG
 * maps and .rodata); a value pointer a program holds after its element is
 * deleted stays valid memory.
 *
 * Concurrency: element calls and programs using the map may run on any
 * number of threads at once (hash maps take a per-map lock; array values
 * are updated in place, as in the kernel).
 */
#ifndef BPFVM_MAPS_H
#define BPFVM_MAPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bpfvm_vm bpfvm_vm;
typedef struct bpfvm_error bpfvm_error;

/* Map types (enum bpf_map_type). */
#define BPFVM_MAP_HASH            1u
#define BPFVM_MAP_ARRAY           2u
#define BPFVM_MAP_PROG_ARRAY      3u
#define BPFVM_MAP_PERF_EVENT_ARRAY 4u /* bpf_perf_event_output to a host callback */
#define BPFVM_MAP_PERCPU_HASH     5u
#define BPFVM_MAP_PERCPU_ARRAY    6u
#define BPFVM_MAP_LRU_HASH        9u
#define BPFVM_MAP_LRU_PERCPU_HASH 10u
#define BPFVM_MAP_QUEUE           22u /* key_size 0: push, pop, peek */
#define BPFVM_MAP_STACK           23u /* key_size 0 */
#define BPFVM_MAP_ARRAY_OF_MAPS   12u /* values are maps: bpfvm_map_create_outer */
#define BPFVM_MAP_HASH_OF_MAPS    13u
#define BPFVM_MAP_RINGBUF         27u /* max_entries = bytes (power of 2, >= 4096) */

/* Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST), and BPF_F_LOCK: with one
 * of them, copy the value under its struct bpf_spin_lock (maps whose value
 * has one: bpfvm_map_set_spin_lock; -EINVAL for others). */
#define BPFVM_ANY     0u
#define BPFVM_NOEXIST 1u
#define BPFVM_EXIST   2u
#define BPFVM_F_LOCK  4u

/* Map flags accepted at creation. */
#define BPFVM_F_NO_PREALLOC 1u    /* accepted for hash maps; memory is preallocated anyway */
#define BPFVM_F_RDONLY_PROG 0x80u /* programs may read values, not write them */
#define BPFVM_F_INNER_MAP   0x1000u /* arrays as inner-map templates: max_entries may differ */

typedef struct bpfvm_map_def {
    uint32_t type;        /* BPFVM_MAP_* */
    uint32_t key_size;    /* bytes (arrays: 4) */
    uint32_t value_size;  /* bytes */
    uint32_t max_entries;
    uint32_t flags;       /* BPFVM_F_* */
} bpfvm_map_def;

typedef struct bpfvm_map bpfvm_map;

/* Create a map (one reference, owned by the caller). `name` (may be NULL)
 * is copied, up to 63 bytes. Errors: BPFVM_EINVAL (unknown type, sizes or
 * flags the kernel would refuse: zero sizes, array key_size != 4, key_size
 * over 512, value_size over 1 MiB; and a map of more than 1 GiB in all:
 * values, keys, tables), BPFVM_ENOMEM. Memory is allocated zeroed and
 * touched as the map fills. */
int bpfvm_map_create(const bpfvm_map_def *def, const char *name, bpfvm_map **out,
                     bpfvm_error *err);
/* Map-in-map (BPFVM_MAP_ARRAY_OF_MAPS, BPFVM_MAP_HASH_OF_MAPS): create
 * one whose values are maps like `inner` (the template, as the kernel's
 * inner_map_fd; only its definition and spin lock offset are read; it is
 * not stored). value_size must be 4 (arrays of maps: key_size too), as in
 * the kernel. The inner maps it may hold: the template's type, key and
 * value sizes, flags and lock offset, and for arrays its max_entries unless
 * the template has BPFVM_F_INNER_MAP (the kernel's map_meta_equal); types
 * hash, array, their per-CPU and LRU forms, queue, stack (not program
 * arrays or map-in-map, as in the kernel; ring buffers and perf event
 * arrays are not supported inside). bpfvm_map_create refuses these types.
 *
 * The host's value for such a map is a `bpfvm_map *` (where libbpf passes
 * the inner map's fd): bpfvm_map_update(outer, &key, &inner, flags) stores
 * it (-EINVAL if it does not fit the template, -EBADF for NULL; arrays of
 * maps take BPFVM_ANY only, -EINVAL otherwise), bpfvm_map_lookup gives it
 * back (a borrowed pointer, valid while `outer` is; -ENOENT for an empty
 * slot), bpfvm_map_delete empties the slot; bpfvm_map_host_value_size is
 * sizeof(bpfvm_map *). Programs: bpf_map_lookup_elem(&outer, &key) gives
 * the inner map (or NULL), a map reference like the address lddw of a map
 * gives, usable only as the map argument of the map helpers (the program
 * may not access its memory); update and delete on the outer map itself
 * are refused, as by the kernel's verifier.
 *
 * Lifetime: an outer map keeps a reference to every map ever stored in it
 * until the outer map itself goes, so an inner map a running program got
 * stays valid however the slots change (the kernel frees a removed inner
 * map after its programs' RCU grace period; bpfvm at the outer map's end).
 * Hosts that replace inner maps many times should recreate the outer map
 * now and then. */
int bpfvm_map_create_outer(const bpfvm_map_def *def, const bpfvm_map *inner, const char *name,
                           bpfvm_map **out, bpfvm_error *err);
/* Values holding a struct bpf_spin_lock (4 bytes at `offset`, a multiple of
 * 4): what the kernel reads from the value's BTF (the object loader does
 * this for BTF-defined maps). Hash and array maps only, at most one lock,
 * set before the map is used. Then updates never write the lock word (as
 * the kernel's copy_map_value), lookups by the host show it as 0, and
 * BPFVM_F_LOCK copies under it. 0 or BPFVM_EINVAL. */
int bpfvm_map_set_spin_lock(bpfvm_map *map, uint32_t offset);
/* Take one more reference; returns `map`. */
bpfvm_map *bpfvm_map_ref(bpfvm_map *map);
/* Drop one reference; the last one frees the map. NULL is ignored. */
void bpfvm_map_unref(bpfvm_map *map);

/* Its definition and name ("" if none); valid while referenced. */
const bpfvm_map_def *bpfvm_map_get_def(const bpfvm_map *map);
const char *bpfvm_map_name(const bpfvm_map *map);
/* Address of the map's value memory as programs see it (lddw with src 2
 * gives element 0's value; arrays hold element i at i * round_up(value_size,
 * 8)); 0 for maps whose values programs cannot address (program arrays,
 * queues, stacks). A program's lddw of the map itself holds the map's
 * address (bpfvm_map *). */
unsigned long long bpfvm_map_values_address(const bpfvm_map *map);
/* Type name as in BPF_MAP_TYPE_*, lower case without the prefix ("hash"). */
const char *bpfvm_map_type_name(uint32_t type);

/* Possible CPUs, as /sys/devices/system/cpu/possible says (libbpf's
 * libbpf_num_possible_cpus); at least 1. Per-CPU maps have one value slot
 * per possible CPU. */
unsigned bpfvm_num_possible_cpus(void);
/* Bytes of a value as the host passes and receives it: value_size, or for
 * per-CPU maps round_up(value_size, 8) times the possible CPUs (CPU 0's
 * value first), as with libbpf. */
size_t bpfvm_map_host_value_size(const bpfvm_map *map);

/* Copy the value of `key` into `value` (bpfvm_map_host_value_size bytes).
 * -ENOENT if absent. Hash lookups by the host do not count as uses for LRU. */
int bpfvm_map_lookup(bpfvm_map *map, const void *key, void *value);
/* As bpfvm_map_lookup; flags 0 or BPFVM_F_LOCK: the value is copied under
 * its lock (-EINVAL for a map without one, and for other flags). */
int bpfvm_map_lookup_flags(bpfvm_map *map, const void *key, void *value, uint64_t flags);
/* Set `key` to `value`. flags BPFVM_ANY / NOEXIST (-EEXIST if present) /
 * EXIST (-ENOENT if absent), optionally | BPFVM_F_LOCK (an existing
 * element's value written under its lock; -EINVAL without a lock); other
 * flags -EINVAL. Arrays: -E2BIG for an
 * index past max_entries, and NOEXIST always gives -EEXIST. Hash: -E2BIG
 * when full (LRU maps evict their least recently used element instead). */
int bpfvm_map_update(bpfvm_map *map, const void *key, const void *value, uint64_t flags);
/* Queues and stacks take no key (pass NULL): bpfvm_map_update pushes
 * (-E2BIG when full; flags BPFVM_EXIST: drop the oldest instead),
 * bpfvm_map_lookup peeks and bpfvm_map_lookup_and_delete pops (-ENOENT
 * when empty); delete and next_key are -EINVAL, as in the kernel. Ring
 * buffers have no elements: use bpfvm_ringbuf_consume. */
int bpfvm_map_lookup_and_delete(bpfvm_map *map, const void *key, void *value);
/* Remove `key`: -ENOENT if absent; arrays -EINVAL (their elements always
 * exist). */
int bpfvm_map_delete(bpfvm_map *map, const void *key);
/* The key after `key` (NULL or absent: the first key) into `next`;
 * -ENOENT after the last. Arrays go in index order; hash maps in an order of
 * their own (every element exactly once when the map is not modified). */
int bpfvm_map_next_key(bpfvm_map *map, const void *key, void *next);

/* Program arrays (bpf_tail_call): slot `index` runs the program loaded in
 * `vm` (NULL empties it). The VM must stay alive and keep its program
 * while it is in the array; a tail call runs it with its own settings
 * (stack, helpers, budget counted afresh), with the JIT when the calling
 * run is compiled and so is the target, else the interpreter. Returns 0,
 * -E2BIG (index past max_entries) or -EINVAL (not a program array, or a VM
 * without a program). bpfvm_map_update on a program array is -EINVAL and
 * bpfvm_map_lookup -EOPNOTSUPP; bpfvm_map_delete empties a slot (-ENOENT
 * if empty). */
int bpfvm_prog_array_set(bpfvm_map *map, uint32_t index, bpfvm_vm *vm);
/* The VM in slot `index`, or NULL. */
bpfvm_vm *bpfvm_prog_array_get(const bpfvm_map *map, uint32_t index);

/* Ring buffers: call `fn` for each record programs submitted (bpf_ringbuf_
 * output, or reserve then submit), oldest first, up to the first record
 * still reserved; discarded records are skipped. The record is valid
 * during the call only. peek 0: the records are consumed (their space is
 * free again); 1: they stay. Returns the number of records, or -EINVAL
 * for a map that is not a ring buffer. */
typedef void (*bpfvm_ringbuf_fn)(void *user, const void *data, size_t size);
int bpfvm_ringbuf_consume(bpfvm_map *map, bpfvm_ringbuf_fn fn, void *user, int peek);

/* Perf event arrays: bpf_perf_event_output(ctx, map, flags, data, size)
 * calls `fn` during the helper with the slot (flags' low 32 bits, or the
 * run's CPU for BPF_F_CURRENT_CPU) and the program's data, valid during the
 * call only. Without a callback every slot is closed: the helper returns
 * -ENOENT, as the kernel's with no perf event open. NULL removes it.
 * BPFVM_EINVAL for a map that is not a perf event array. */
typedef void (*bpfvm_perf_fn)(void *user, uint32_t slot, const void *data, size_t size);
int bpfvm_perf_event_set_callback(bpfvm_map *map, bpfvm_perf_fn fn, void *user);

/* ---- programs that use maps -------------------------------------------- */

/* Load bytecode that refers to maps the way the kernel's fd_array does:
 * `lddw rX, i` with src 1 (BPF_PSEUDO_MAP_FD) gives the program map i of
 * `maps`, and src 2 (BPF_PSEUDO_MAP_VALUE) with the second slot's imm = off
 * gives the address of byte `off` of element 0's value (arrays only). The
 * VM takes a reference to each map for as long as this program stays
 * loaded, and lets the program access their values. Otherwise as
 * bpfvm_load. Errors: BPFVM_EVERIFY (bad map index or offset, with the
 * instruction index), and those of bpfvm_load. */
int bpfvm_load_maps(bpfvm_vm *vm, const void *code, size_t len, bpfvm_map *const *maps,
                    size_t nmaps);
/* lddw sources and builders for them (two slots: use in an array initialiser). */
#define BPFVM_PSEUDO_MAP_FD    1 /* rX = map i */
#define BPFVM_PSEUDO_MAP_VALUE 2 /* rX = &value of element 0 of map i + off */
#define BPFVM_LD_MAP_FD(d, i) \
    BPFVM_INSN(BPFVM_LD | BPFVM_IMM | BPFVM_DW, d, BPFVM_PSEUDO_MAP_FD, 0, i), BPFVM_INSN(0, 0, 0, 0, 0)
#define BPFVM_LD_MAP_VALUE(d, i, off) \
    BPFVM_INSN(BPFVM_LD | BPFVM_IMM | BPFVM_DW, d, BPFVM_PSEUDO_MAP_VALUE, 0, i), \
    BPFVM_INSN(0, 0, 0, 0, off)

/* ---- objects ------------------------------------------------------------ */

/* An ELF object (clang -target bpf) opened once: its maps are created at
 * open and shared by every program loaded from it, into any number of VMs:
 *  - BTF-defined maps of section .maps (needs the object's .BTF: compile
 *    with -g): members type, max_entries, map_flags, key_size, value_size
 *    (__uint) and key, value (__type); pinning and numa_node are ignored;
 *    a struct bpf_spin_lock member of the value type gives the lock offset
 *    (bpfvm_map_set_spin_lock); maps of maps take their inner definition
 *    from `__array(values, struct inner_def)`, and `.values = { [i] =
 *    &inner }` (maps of maps) or `{ [i] = (void *)&prog }` (program arrays)
 *    fill slots, as libbpf does;
 *  - legacy definitions in section `maps` (struct bpf_map_def);
 *  - global data: each non-empty .data*, .bss*, .rodata* section becomes a
 *    one-element ARRAY map named after the section (".bss", ...) holding
 *    the section's contents (read-only for programs when the section is),
 *    as libbpf does; pointers between global data are relocated into it.
 * An object's maps may take 256 MiB in all (BPFVM_EELF beyond).
 * Maps are named after their symbol (definitions) or section (global data,
 * the only names starting with '.'). bpfvm_load_elf on an object with maps
 * does the same with maps private to that VM; the object stays open, owned
 * by the VM (with the programs of its `.values` initialisers, see below),
 * until the VM's program is replaced or the VM destroyed. */
typedef struct bpfvm_object bpfvm_object;

/* Open `len` bytes of an ELF object (copied). Errors: BPFVM_EELF (malformed
 * object, BTF or map definition; err->offset is the file offset),
 * BPFVM_EUNSUPPORTED (a map type or field not supported), BPFVM_ENOMEM. */
int bpfvm_object_open(const void *data, size_t len, bpfvm_object **out, bpfvm_error *err);
/* Close: drops the object's references to its maps (VMs keep theirs). */
void bpfvm_object_close(bpfvm_object *obj);
/* Load one of its programs into `vm` (`section`/`entry` as bpfvm_load_elf),
 * its map references resolved to the object's maps, which the VM then
 * references and lets the program access. */
int bpfvm_object_load(bpfvm_object *obj, bpfvm_vm *vm, const char *section, const char *entry);
/* Its maps, in section order (definitions in file order); NULL past the end. */
size_t bpfvm_object_map_count(const bpfvm_object *obj);
bpfvm_map *bpfvm_object_map(const bpfvm_object *obj, size_t i);
/* Program arrays defined with `.values` (libbpf's `__array(values, ...)`
 * initialisers) get their slots filled when the object first loads a
 * program into a VM: each program named there is loaded into a VM the
 * object owns, set up as that VM (helpers, program type, CPU, stack, call
 * depth, budget, checking; interpreted), and those VMs go, their slots
 * emptied, when the object closes (so close it after the runs). The
 * function name of the program in `slot` of `map` that way; else of the
 * function the program in the slot starts with (one the host put there,
 * loaded from an ELF object); else NULL. */
const char *bpfvm_object_slot_program(const bpfvm_object *obj, const bpfvm_map *map,
                                      uint32_t slot);
/* The map named `name`, or NULL. The object's reference: valid while it is
 * open (take one with bpfvm_map_ref to keep it longer). */
bpfvm_map *bpfvm_object_find_map(const bpfvm_object *obj, const char *name);

/* Which CPU's slot of per-CPU maps runs on this VM use, and what
 * bpf_get_smp_processor_id returns: `cpu` (below bpfvm_num_possible_cpus),
 * or -1 (the default) for the CPU the run is on. */
int bpfvm_set_cpu(bpfvm_vm *vm, int cpu);

/* The kernel's helpers, registered under their kernel ids and names
 * (replace any of them afterwards with bpfvm_register_helper):
 *   1 bpf_map_lookup_elem, 2 bpf_map_update_elem, 3 bpf_map_delete_elem,
 *   4/112/113 bpf_probe_read(_user/_kernel) and 45/114/115 their _str forms
 *   (copies checked like the program's own reads: -EFAULT on an unreadable
 *   source), 5 bpf_ktime_get_ns, 6 bpf_trace_printk, 7 bpf_get_prandom_u32,
 *   8 bpf_get_smp_processor_id, 12 bpf_tail_call (a program array's
 *   program runs in place of the caller, which does not resume; a missing
 *   program or more than 33 tail calls in one run: the caller continues
 *   with r0 = -ENOENT or -E2BIG), 14 bpf_get_current_pid_tgid,
 *   15 bpf_get_current_uid_gid, 16 bpf_get_current_comm (of the host
 *   process and thread), 25 bpf_perf_event_output (bpfvm_perf_event_set_
 *   callback; -E2BIG for a slot past the end, -EINVAL for flags other than
 *   the index, -ENOENT without a callback), 87/88/89 bpf_map_push/pop/peek_elem,
 *   130 bpf_ringbuf_output, 131 bpf_ringbuf_reserve (a record the program
 *   may write, of exactly the size asked), 132/133 bpf_ringbuf_submit and
 *   _discard (a pointer that is not a reserved record stops the run),
 *   93/94 bpf_spin_lock/unlock (a real spin lock on the 4-byte word; one
 *   at a time, released by the run that took it - a run ending with it
 *   held fails and releases it - and no tail call or BPF_F_LOCK update
 *   while it is held, as the kernel's verifier requires).
 * Map helpers check their map argument (one of the program's maps) and the
 * key and value memory (key_size / value_size bytes the program may read);
 * a bad one stops the run with BPFVM_EHELPERFAIL. */
int bpfvm_register_kernel_helpers(bpfvm_vm *vm);

#ifdef __cplusplus
}
#endif
#endif /* BPFVM_MAPS_H */
