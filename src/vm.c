/* vm.c - VM lifetime, errors, configuration, memory regions, the helper
 * registry, loading, and the run entry point of the interpreter. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jit.h" /* bpfvm_run_jit inlines its engine */

/* ---- errors ------------------------------------------------------------ */

const char *bpfvm_strerror(int code)
{
    switch (code) {
#define BPFVM__ERR_MSG(name, value, msg) case value: return msg;
        BPFVM_ERRORS(BPFVM__ERR_MSG)
#undef BPFVM__ERR_MSG
    default: return "unknown error";
    }
}

const char *bpfvm_errname(int code)
{
    switch (code) {
#define BPFVM__ERR_NAME(name, value, msg) case value: return #name;
        BPFVM_ERRORS(BPFVM__ERR_NAME)
#undef BPFVM__ERR_NAME
    default: return "EUNKNOWN";
    }
}

void bpfvm__clear_error(bpfvm_error *err)
{
    memset(err, 0, sizeof(*err));
    err->insn = -1;
    err->line = -1;
    err->column = -1;
    err->offset = -1;
}

int bpfvm__vset_error(bpfvm_error *err, int code, int64_t insn, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    bpfvm__clear_error(err);
    err->code = code;
    err->insn = insn;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    return code;
}

int bpfvm__set_error(bpfvm_error *err, int code, int64_t insn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bpfvm__vset_error(err, code, insn, fmt, ap);
    va_end(ap);
    return code;
}

const bpfvm_error *bpfvm_last_error(const bpfvm_vm *vm)
{
    static const bpfvm_error none = { BPFVM_EINVAL, -1, 0, 0, -1, -1, -1, "no VM", "" };
    return vm ? &vm->last_error : &none;
}

/* ---- allocation -------------------------------------------------------- */

static void *libc_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    return realloc(ptr, size);
}

static void libc_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

void *bpfvm__alloc(const bpfvm_vm *vm, size_t size)
{
    return vm->alloc.realloc_fn(vm->alloc.user, NULL, size ? size : 1);
}

void *bpfvm__realloc(const bpfvm_vm *vm, void *ptr, size_t size)
{
    return vm->alloc.realloc_fn(vm->alloc.user, ptr, size ? size : 1);
}

void bpfvm__free(const bpfvm_vm *vm, void *ptr)
{
    if (ptr)
        vm->alloc.free_fn(vm->alloc.user, ptr);
}

/* Grow *array (of elem-sized items, *cap capacity) to hold at least `need`. */
static int grow(bpfvm_vm *vm, void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return BPFVM_ENOMEM;
    void *p = bpfvm__realloc(vm, *array, ncap * elem);
    if (!p)
        return BPFVM_ENOMEM;
    memset((uint8_t *)p + *cap * elem, 0, (ncap - *cap) * elem); /* no junk, ever */
    *array = p;
    *cap = ncap;
    return 0;
}

/* ---- lifetime ---------------------------------------------------------- */

bpfvm_vm *bpfvm_create_ex(const bpfvm_allocator *alloc)
{
    bpfvm_allocator a = { libc_realloc, libc_free, NULL };
    if (alloc && alloc->realloc_fn && alloc->free_fn)
        a = *alloc;
    bpfvm_vm *vm = a.realloc_fn(a.user, NULL, sizeof(*vm));
    if (!vm)
        return NULL;
    memset(vm, 0, sizeof(*vm));
    vm->alloc = a;
    vm->mode = BPFVM_MODE_RAW;
    vm->stack_size = 512;
    vm->call_depth = 8;
    vm->checked = 1;
    bpfvm__clear_error(&vm->last_error);
    return vm;
}

bpfvm_vm *bpfvm_create(void)
{
    return bpfvm_create_ex(NULL);
}

void bpfvm__unload(bpfvm_vm *vm)
{
    bpfvm__jit_free(vm);
    bpfvm__free(vm, vm->insns);
    bpfvm__free(vm, vm->code);
    bpfvm__free(vm, vm->interp_code);
    vm->insns = vm->code = NULL;
    vm->interp_code = NULL;
    vm->count = 0;
    bpfvm__free(vm, vm->callbacks);
    vm->callbacks = NULL;
    vm->ncallbacks = 0;
    bpfvm__lines_free(vm, vm->lines);
    vm->lines = NULL;
    for (size_t i = 0; i < vm->nowned; i++)
        bpfvm__free(vm, vm->owned[i]);
    vm->nowned = 0;
    vm->nregions = vm->nuser_regions;
    bpfvm__release_maps(vm);
    bpfvm_object *obj = vm->elf_obj;
    vm->elf_obj = NULL;
    bpfvm_object_close(obj);
}

void bpfvm_destroy(bpfvm_vm *vm)
{
    if (!vm)
        return;
    bpfvm__unload(vm);
    for (size_t i = 0; i < vm->nhelpers; i++)
        bpfvm__free(vm, vm->helpers[i].name);
    bpfvm__free(vm, vm->helpers);
    bpfvm__free(vm, vm->regions);
    bpfvm__free(vm, vm->owned);
    bpfvm__free(vm, vm->fixed_mbuff);
    bpfvm__free(vm, (void *)vm->layout.fields);
    vm->alloc.free_fn(vm->alloc.user, vm);
}

/* ---- configuration ----------------------------------------------------- */

#define FAIL_ARG(vm, ...) bpfvm__set_error(&(vm)->last_error, BPFVM_EINVAL, -1, __VA_ARGS__)

int bpfvm_set_mode(bpfvm_vm *vm, bpfvm_mode mode)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (mode > BPFVM_MODE_NONE)
        return FAIL_ARG(vm, "unknown run mode %d", (int)mode);
    if (mode == BPFVM_MODE_FIXED_MBUFF && !vm->fixed_mbuff)
        return FAIL_ARG(vm, "fixed-mbuff mode needs bpfvm_set_fixed_mbuff first");
    vm->mode = mode;
    return 0;
}

int bpfvm_set_fixed_mbuff(bpfvm_vm *vm, size_t size, size_t data_off, size_t data_end_off)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (size > (1u << 20) || data_off > size || size - data_off < 8 || data_end_off > size ||
        size - data_end_off < 8)
        return FAIL_ARG(vm, "fixed mbuff: offsets %zu and %zu need 8 bytes each inside %zu bytes",
                        data_off, data_end_off, size);
    if ((data_off < data_end_off ? data_end_off - data_off : data_off - data_end_off) < 8)
        return FAIL_ARG(vm, "fixed mbuff: data (%zu) and data_end (%zu) fields overlap", data_off,
                        data_end_off);
    uint8_t *buf = bpfvm__alloc(vm, size);
    if (!buf)
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    memset(buf, 0, size ? size : 1);
    bpfvm__free(vm, vm->fixed_mbuff);
    vm->fixed_mbuff = buf;
    vm->fixed_size = size;
    vm->fixed_data_off = data_off;
    vm->fixed_data_end_off = data_end_off;
    vm->mode = BPFVM_MODE_FIXED_MBUFF;
    return 0;
}

int bpfvm_set_stack_size(bpfvm_vm *vm, size_t bytes)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (bytes < 8 || bytes > (1u << 20) || bytes % 8)
        return FAIL_ARG(vm, "stack size %zu: must be a multiple of 8 from 8 to 1048576", bytes);
    vm->stack_size = bytes;
    bpfvm__jit_refresh(vm);
    return 0;
}

int bpfvm_set_call_depth(bpfvm_vm *vm, unsigned depth)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (depth > BPFVM__MAX_CALL_DEPTH)
        return FAIL_ARG(vm, "call depth %u: must be at most %u", depth, BPFVM__MAX_CALL_DEPTH);
    vm->call_depth = depth;
    return 0;
}

int bpfvm_set_budget(bpfvm_vm *vm, uint64_t n)
{
    if (!vm)
        return BPFVM_EINVAL;
    vm->budget = n;
    bpfvm__jit_refresh(vm);
    return 0;
}

int bpfvm_set_checked(bpfvm_vm *vm, int checked)
{
    if (!vm)
        return BPFVM_EINVAL;
    vm->checked = checked != 0;
    return 0;
}

/* ---- regions ----------------------------------------------------------- */

int bpfvm__add_region(bpfvm_vm *vm, uint64_t start, uint64_t len, unsigned flags)
{
    if (grow(vm, (void **)&vm->regions, &vm->regions_cap, vm->nregions + 1, sizeof(*vm->regions)))
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    vm->regions[vm->nregions++] = (bpfvm__region){ start, len, flags, 0, 0, 0 };
    return 0;
}

int bpfvm_add_region(bpfvm_vm *vm, void *addr, size_t len, unsigned flags)
{
    if (!vm)
        return BPFVM_EINVAL;
    if ((!addr && len) || (flags & ~(BPFVM_READ | BPFVM_WRITE)) || !flags)
        return FAIL_ARG(vm, "region: need an address, and flags BPFVM_READ and/or BPFVM_WRITE");
    if ((uint64_t)(uintptr_t)addr + len < (uint64_t)(uintptr_t)addr)
        return FAIL_ARG(vm, "region wraps around the address space");
    /* User regions come first: insert before the program's own (ELF) regions. */
    int rc = bpfvm__add_region(vm, 0, 0, 0);
    if (rc)
        return rc;
    memmove(&vm->regions[vm->nuser_regions + 1], &vm->regions[vm->nuser_regions],
            (vm->nregions - 1 - vm->nuser_regions) * sizeof(*vm->regions));
    vm->regions[vm->nuser_regions++] =
        (bpfvm__region){ (uint64_t)(uintptr_t)addr, len, flags, 0, 0, 0 };
    return 0;
}

void bpfvm_clear_regions(bpfvm_vm *vm)
{
    if (!vm)
        return;
    memmove(vm->regions, &vm->regions[vm->nuser_regions],
            (vm->nregions - vm->nuser_regions) * sizeof(*vm->regions));
    vm->nregions -= vm->nuser_regions;
    vm->nuser_regions = 0;
}

int bpfvm__own(bpfvm_vm *vm, void *buf)
{
    if (grow(vm, (void **)&vm->owned, &vm->owned_cap, vm->nowned + 1, sizeof(*vm->owned))) {
        bpfvm__free(vm, buf);
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    }
    vm->owned[vm->nowned++] = buf;
    return 0;
}

/* ---- helpers registry -------------------------------------------------- */

static size_t helper_slot(const bpfvm_vm *vm, uint32_t id)
{
    size_t lo = 0, hi = vm->nhelpers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vm->helpers[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const bpfvm__helper *bpfvm__find_helper(const bpfvm_vm *vm, uint32_t id)
{
    size_t i = helper_slot(vm, id);
    return i < vm->nhelpers && vm->helpers[i].id == id ? &vm->helpers[i] : NULL;
}

const bpfvm__helper *bpfvm__find_helper_by_name(const bpfvm_vm *vm, const char *name)
{
    for (size_t i = 0; i < vm->nhelpers; i++)
        if (vm->helpers[i].name && strcmp(vm->helpers[i].name, name) == 0)
            return &vm->helpers[i];
    return NULL;
}

int bpfvm_register_helper(bpfvm_vm *vm, uint32_t id, const char *name, bpfvm_helper_fn fn,
                          void *user)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (!fn)
        return FAIL_ARG(vm, "helper %u: no function", id);
    char *copy = NULL;
    if (name) {
        size_t n = strlen(name) + 1;
        if (!(copy = bpfvm__alloc(vm, n)))
            return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
        memcpy(copy, name, n);
    }
    size_t i = helper_slot(vm, id);
    if (i < vm->nhelpers && vm->helpers[i].id == id) {
        bpfvm__free(vm, vm->helpers[i].name);
    } else {
        if (grow(vm, (void **)&vm->helpers, &vm->helpers_cap, vm->nhelpers + 1,
                 sizeof(*vm->helpers))) {
            bpfvm__free(vm, copy);
            return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
        }
        memmove(&vm->helpers[i + 1], &vm->helpers[i], (vm->nhelpers - i) * sizeof(*vm->helpers));
        vm->nhelpers++;
    }
    vm->helpers[i] = (bpfvm__helper){ id, copy, fn, user };
    if (id == BPFVM__HELPER_MAP_LOOKUP && vm->jit_inline_lookup &&
        !bpfvm__is_kernel_map_lookup(fn))
        bpfvm__jit_free(vm); /* its code inlines the replaced helper */
    return 0;
}

/* ---- verifier hook and loading ----------------------------------------- */

int bpfvm_set_verifier(bpfvm_vm *vm, bpfvm_verifier_fn fn, void *user, bpfvm_verify_mode mode)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (mode != BPFVM_VERIFY_AFTER && mode != BPFVM_VERIFY_REPLACE)
        return FAIL_ARG(vm, "unknown verify mode %d", (int)mode);
    vm->verifier = fn;
    vm->verifier_user = user;
    vm->verify_mode = mode;
    return 0;
}

/* Bytes below r10 the program may read from its frame: the deepest load or
 * atomic through r10 at a constant offset. SIZE_MAX (every byte of every
 * frame) when anything else could read the frame: a load or atomic through
 * another register (programs see host addresses, so any pointer may lead
 * into the frame, not only one derived from r10), a helper call (helpers read
 * through the pointers they are given), r10 itself going anywhere (copied,
 * compared, stored, an operand), or local calls (other frames). With the
 * JIT's marks (else NULL), a load marked BPFVM__MARK_PROVEN reads
 * the input memory in every run (jit_bounds.c), never the frame. */
size_t bpfvm__stack_reads(const bpfvm_insn *p, size_t count, bool local_calls,
                          const uint8_t *marks)
{
    size_t deepest = 0;

    if (local_calls)
        return SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        uint8_t op = p[i].opcode;
        bool src_value = false, dst_value = false; /* register read as a value */
        bool r10_access = false;                   /* loads from [r10 + off] */
        switch (BPFVM_CLASS(op)) {
        case BPFVM_LD:
            if (BPFVM_MODE(op) == BPFVM_IMM) {
                i++; /* lddw: the second slot is data */
                continue;
            }
            src_value = BPFVM_MODE(op) == BPFVM_IND;
            break;
        case BPFVM_LDX:
            if (p[i].src != BPFVM_R10 && !(marks && (marks[i] & BPFVM__MARK_PROVEN)))
                return SIZE_MAX; /* the address may be anywhere in the frame */
            r10_access = true;
            break;
        case BPFVM_ST:
            break;
        case BPFVM_STX:
            src_value = true;
            if (BPFVM_MODE(op) == BPFVM_ATOMIC) {
                if (p[i].dst != BPFVM_R10)
                    return SIZE_MAX;
                r10_access = true;
            }
            break;
        default: /* ALU, ALU64, JMP, JMP32 */
            if (BPFVM_CLASS(op) == BPFVM_JMP && BPFVM_OP(op) == BPFVM_CALL)
                return SIZE_MAX; /* a helper may read through any pointer it is given */
            src_value = BPFVM_SRC(op) == BPFVM_X;
            dst_value = true;
            break;
        }
        if ((src_value && p[i].src == BPFVM_R10) || (dst_value && p[i].dst == BPFVM_R10))
            return SIZE_MAX;
        if (r10_access && p[i].off < 0 && (size_t)-(int)p[i].off > deepest)
            deepest = (size_t)-(int)p[i].off;
    }
    return deepest;
}

int bpfvm__install(bpfvm_vm *vm, const bpfvm_insn *insns, size_t count)
{
    bpfvm_error *err = &vm->last_error;
    bpfvm_insn *copy = NULL, *code = NULL;
    void *interp_code;
    int rc, type = bpfvm__install_type(vm);
    const bpfvm_ctx_layout *layout = bpfvm__layout_for(vm, type);

    vm->auto_type = BPFVM_PROG_NONE;

    if (count == 0)
        return bpfvm__set_error(err, BPFVM_EVERIFY, -1, "empty program");
    if (count > BPFVM_MAX_INSNS)
        return bpfvm__set_error(err, BPFVM_EVERIFY, -1,
                                "program has %zu instructions, more than the limit of %u", count,
                                BPFVM_MAX_INSNS);
    if (vm->verify_mode != BPFVM_VERIFY_REPLACE &&
        (rc = bpfvm__verify(vm, insns, count, NULL, NULL, err)) != 0)
        return rc;
    if (vm->verify_mode == BPFVM_VERIFY_REPLACE &&
        (rc = bpfvm__verify_control(insns, count, err)) != 0)
        return rc;
    if (vm->verifier) {
        bpfvm__clear_error(err);
        if (vm->verifier(vm->verifier_user, insns, count, err) != 0) {
            err->code = BPFVM_EVERIFY;
            if (!err->message[0])
                snprintf(err->message, sizeof(err->message), "rejected by the user verifier");
            return BPFVM_EVERIFY;
        }
    }
    copy = bpfvm__alloc(vm, count * sizeof(*copy));
    code = bpfvm__alloc(vm, count * sizeof(*code));
    if (!copy || !code) {
        rc = bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
        goto fail;
    }
    memcpy(copy, insns, count * sizeof(*copy));
    if (layout && (rc = bpfvm__ctx_convert(vm, layout, type, copy, count, err)) != 0)
        goto fail;
    memcpy(code, copy, count * sizeof(*code));
    bool local_calls = false, helper_calls = false;
    for (size_t i = 0; i < count; i++) {
        int op = bpfvm__decode(&copy[i]);
        local_calls |= op == BPFVM__OP_CALL_LOCAL;
        helper_calls |= op == BPFVM__OP_CALL || op == BPFVM__OP_CALLX;
        if (op < 0) {
            /* Only reachable with a replacing user verifier that let it through. */
            rc = bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)i, "unknown opcode 0x%02x at %zu",
                                  insns[i].opcode, i);
            goto fail;
        }
        code[i].opcode = (uint8_t)op;
        if (op == BPFVM__OP_LDDW) {
            if (i + 1 >= count) {
                rc = bpfvm__set_error(err, BPFVM_EVERIFY, (int64_t)i, "incomplete lddw at %zu", i);
                goto fail;
            }
            code[++i].opcode = 0; /* second slot: row 0, never executed */
        }
    }
    uint32_t *callbacks = NULL;
    size_t ncallbacks = 0;
    if (bpfvm__install_callbacks(vm, code, count, &callbacks, &ncallbacks) ||
        !(interp_code = bpfvm__interp_decode(vm, code, count))) {
        bpfvm__free(vm, callbacks);
        rc = bpfvm__set_error(err, BPFVM_ENOMEM, -1, "out of memory");
        goto fail;
    }
    bpfvm__unload(vm);
    vm->callbacks = callbacks;
    vm->ncallbacks = ncallbacks;
    local_calls |= ncallbacks > 0; /* callbacks run in frames past the first */
    vm->insns = copy;
    vm->code = code;
    vm->interp_code = interp_code;
    vm->count = count;
    vm->local_calls = local_calls;
    vm->helper_calls = helper_calls;
    vm->stack_read = vm->jit_stack_read = bpfvm__stack_reads(copy, count, local_calls, NULL);
    vm->run_type = type;
    bpfvm__clear_error(err);
    return 0;
fail:
    bpfvm__free(vm, copy);
    bpfvm__free(vm, code);
    return rc;
}

int bpfvm_load(bpfvm_vm *vm, const void *code, size_t len)
{
    if (!vm)
        return BPFVM_EINVAL;
    if (!code && len)
        return FAIL_ARG(vm, "no code");
    if (len % sizeof(bpfvm_insn))
        return bpfvm__set_error(&vm->last_error, BPFVM_EVERIFY, -1,
                                "program length %zu is not a multiple of 8", len);
    /* On success this drops the old program and its ELF data; on failure the
     * old program stays loaded. */
    if ((uintptr_t)code % _Alignof(bpfvm_insn) == 0)
        return bpfvm__install(vm, code, len / sizeof(bpfvm_insn));
    /* Bytes at any address: verify and decode an aligned copy. */
    bpfvm_insn *aligned = bpfvm__alloc(vm, len);
    if (!aligned)
        return bpfvm__set_error(&vm->last_error, BPFVM_ENOMEM, -1, "out of memory");
    memcpy(aligned, code, len);
    int rc = bpfvm__install(vm, aligned, len / sizeof(bpfvm_insn));
    bpfvm__free(vm, aligned);
    return rc;
}

int bpfvm_load_asm(bpfvm_vm *vm, const char *text, const char *filename)
{
    if (!vm || !text)
        return BPFVM_EINVAL;
    bpfvm_insn *insns = NULL;
    size_t count = 0;
    int rc = bpfvm_asm(text, filename, &insns, &count, &vm->last_error);
    if (rc == 0)
        rc = bpfvm_load(vm, insns, count * sizeof(*insns));
    free(insns);
    return rc;
}

const bpfvm_insn *bpfvm_program(const bpfvm_vm *vm, size_t *count)
{
    if (count)
        *count = vm ? vm->count : 0;
    return vm ? vm->insns : NULL;
}

/* ---- memory checks ----------------------------------------------------- */

static bool within(uint64_t addr, uint64_t size, uint64_t start, uint64_t len)
{
    return addr >= start && size <= len && addr - start <= len - size;
}

/* Bytes of the stack area, from its start, that a run may touch now: the
 * current frame and the frames of its callers below it (a function may be
 * given a pointer into a caller's frame, as the kernel allows), never the
 * frames above it (of functions that have returned). None before a run is
 * prepared. frame_start stays within the stack area, so no overflow. */
static uint64_t live_stack(const bpfvm_ctx *ctx)
{
    if (!ctx->stack_len)
        return 0;
    return ctx->frame_start - ctx->stack_start + ctx->vm->stack_size;
}

/* Does region r allow [addr, +size) for this access? *in: the offset of
 * addr in the part of r that does (for map values, in its element). */
static inline bool region_ok(const bpfvm__region *r, uint64_t addr, uint64_t size, bool write,
                             uint64_t *in)
{
    if (!(r->flags & (write ? BPFVM_WRITE : BPFVM_READ)) || !within(addr, size, r->start, r->len))
        return false;
    *in = addr - r->start;
    if (!r->stride)
        return true;
    /* map values: inside one element's value_size bytes, off its lock */
    *in = (r->stride & (r->stride - 1)) ? *in % r->stride : *in & (r->stride - 1);
    return size <= r->size && *in <= r->size - size &&
           (!r->lock || *in + size < r->lock || *in >= r->lock + 3);
}

bool bpfvm__region_allows(const bpfvm__region *r, uint64_t addr, uint64_t size, bool write,
                          uint64_t *start, uint64_t *len)
{
    uint64_t in;
    if (!region_ok(r, addr, size, write, &in))
        return false;
    *start = addr - in;
    *len = r->stride ? r->size : r->len;
    if (r->lock && in < r->lock) /* the part of the value before its lock */
        *len = r->lock - 1;
    else if (r->lock) {          /* or after it */
        *start += r->lock + 3;
        *len -= r->lock + 3;
    }
    return true;
}

bool bpfvm__find_region(const bpfvm_ctx *ctx, uint64_t addr, uint64_t size, bool write,
                        uint64_t *start, uint64_t *len)
{
    const bpfvm_vm *vm = ctx->vm;
    if (within(addr, size, ctx->mbuff_start, ctx->mbuff_len)) {
        *start = ctx->mbuff_start;
        *len = ctx->mbuff_len;
        return true;
    }
    for (size_t i = 0; i < vm->nregions; i++)
        if (bpfvm__region_allows(&vm->regions[i], addr, size, write, start, len))
            return true;
    return vm->nmaps && bpfvm__inner_access(vm, addr, size, write, start, len);
}

bool bpfvm__access_ok(const bpfvm_ctx *ctx, uint64_t addr, uint64_t size, bool write)
{
    const bpfvm_vm *vm = ctx->vm;
    uint64_t in, len;
    if (within(addr, size, ctx->stack_start, live_stack(ctx)) ||
        within(addr, size, ctx->mem_start, ctx->mem_len) ||
        within(addr, size, ctx->mbuff_start, ctx->mbuff_len))
        return true;
    for (size_t i = 0; i < vm->nregions; i++)
        if (region_ok(&vm->regions[i], addr, size, write, &in))
            return true;
    if (!write && within(addr, size, ctx->lent_start, ctx->lent_len))
        return true;
    return vm->nmaps && bpfvm__inner_access(vm, addr, size, write, &in, &len);
}

int bpfvm__memory_fault(const bpfvm_ctx *ctx, int64_t insn, uint64_t addr, uint64_t size,
                        bool write)
{
    const bpfvm_vm *vm = ctx->vm;
    char allowed[200];
    int n = snprintf(allowed, sizeof(allowed), "stack frame%s [0x%llx, +%llu)",
                     ctx->frame_start != ctx->stack_start ? "s" : "",
                     (unsigned long long)ctx->stack_start,
                     (unsigned long long)live_stack(ctx));
    if (ctx->mem_len && n > 0 && (size_t)n < sizeof(allowed))
        n += snprintf(allowed + n, sizeof(allowed) - (size_t)n, ", mem [0x%llx, +%llu)",
                      (unsigned long long)ctx->mem_start, (unsigned long long)ctx->mem_len);
    if (ctx->mbuff_len && n > 0 && (size_t)n < sizeof(allowed))
        n += snprintf(allowed + n, sizeof(allowed) - (size_t)n, ", mbuff [0x%llx, +%llu)",
                      (unsigned long long)ctx->mbuff_start, (unsigned long long)ctx->mbuff_len);
    if (vm->nregions && n > 0 && (size_t)n < sizeof(allowed))
        snprintf(allowed + n, sizeof(allowed) - (size_t)n, ", %zu registered region%s",
                 vm->nregions, vm->nregions == 1 ? "" : "s");
    bpfvm__set_error(ctx->err, BPFVM_EMEMORY, insn,
                     "instruction %lld: out-of-bounds %s of %llu byte%s at 0x%llx (allowed: %s)",
                     (long long)insn, write ? "write" : "read", (unsigned long long)size,
                     size == 1 ? "" : "s", (unsigned long long)addr, allowed);
    if (ctx->err) {
        ctx->err->addr = addr;
        ctx->err->size = size;
    }
    return BPFVM_EMEMORY;
}

int bpfvm__misaligned_atomic(const bpfvm_ctx *ctx, int64_t insn, uint64_t addr, uint64_t size)
{
    bpfvm__set_error(ctx->err, BPFVM_EMEMORY, insn,
                     "instruction %lld: atomic access of %llu bytes at 0x%llx is not aligned "
                     "to its size", (long long)insn, (unsigned long long)size,
                     (unsigned long long)addr);
    if (ctx->err) {
        ctx->err->addr = addr;
        ctx->err->size = size;
    }
    return BPFVM_EMEMORY;
}

/* ---- running ----------------------------------------------------------- */

/* Inlined into run_engine; other files call it too. */
BPFVM__INLINE size_t bpfvm__stack_area_size(const bpfvm_vm *vm)
{
    return vm->stack_size * (vm->call_depth + 1) + vm->fixed_size;
}

/* Packet program types run with their context as the mbuff, raw-context
 * ones in raw mode; others as configured. */
static bpfvm_mode run_mode(const bpfvm_vm *vm)
{
    if (vm->run_type == BPFVM_PROG_NONE) /* the common case, without a call */
        return vm->mode;
    if (vm->run_type == BPFVM_PROG_RAW_CTX)
        return BPFVM_MODE_RAW;
    return bpfvm_prog_type_layout((bpfvm_prog_type)vm->run_type) ? BPFVM_MODE_MBUFF : vm->mode;
}

BPFVM__INLINE int bpfvm__prepare_run(const bpfvm_vm *vm, bpfvm_ctx *ctx, void *mem,
                                     size_t mem_len, void *mbuff, size_t mbuff_len,
                                     void *stack_area, size_t stack_read, uint64_t *r1,
                                     uint64_t *r2, bpfvm_error *err)
{
    *r1 = 0;
    *r2 = 0;
    if (!vm->code)
        return bpfvm__set_error(err, BPFVM_ENOPROG, -1, "no program loaded");
    if ((!mem && mem_len) || (!mbuff && mbuff_len))
        return bpfvm__set_error(err, BPFVM_EINVAL, -1, "memory pointer is NULL but length is not 0");
    size_t frames = vm->stack_size * (vm->call_depth + 1);
    /* Programs never see host data: zero the bytes they may read (the top
     * stack_read bytes of the first frame, or every frame: vm->stack_read,
     * or vm->jit_stack_read for the checked JIT's code). */
    if (stack_read == SIZE_MAX)
        memset(stack_area, 0, vm->local_calls ? frames : vm->stack_size);
    else if (stack_read) {
        size_t n = stack_read < vm->stack_size ? stack_read : vm->stack_size;
        memset((uint8_t *)stack_area + vm->stack_size - n, 0, n);
    }
    /* Every field, each once, but fail_msg (written before it is read),
     * tail and trace (the caller's) and call_insn (the engines' before each
     * helper call). Those only helpers and the code around helper calls
     * read, only for programs that call helpers (a tail call, the only way
     * to another program, is a helper call; its target is prepared here),
     * and for traced runs, whose hooks may read memory (bpfvm_ctx_access). */
    ctx->vm = vm;
    if (vm->helper_calls || ctx->trace) {
        ctx->executed = 0;
        ctx->helper_user = NULL;
        ctx->failed = 0;
        ctx->checked = vm->checked;
        ctx->callback = NULL; /* the interpreter's; the JIT's engine sets its own */
    }
    ctx->spin_held = 0;
    ctx->err = err;
    ctx->lent_start = ctx->lent_len = 0;
    ctx->stack_start = (uint64_t)(uintptr_t)stack_area;
    ctx->stack_len = frames;
    ctx->frame_start = ctx->stack_start;
    ctx->mem_start = (uint64_t)(uintptr_t)mem;
    ctx->mem_len = mem_len; /* 0 without mem (checked above) */
    ctx->mbuff_start = ctx->mbuff_len = 0;
    switch (run_mode(vm)) {
    case BPFVM_MODE_RAW:
        *r1 = ctx->mem_start;
        *r2 = mem_len;
        break;
    case BPFVM_MODE_MBUFF:
        ctx->mbuff_start = (uint64_t)(uintptr_t)mbuff;
        ctx->mbuff_len = mbuff_len;
        *r1 = ctx->mbuff_start;
        break;
    case BPFVM_MODE_FIXED_MBUFF: {
        /* The per-run copy of the VM's buffer sits behind the stack frames. */
        uint8_t *fixed = (uint8_t *)stack_area + frames;
        uint64_t data = ctx->mem_start, data_end = ctx->mem_start + ctx->mem_len;
        memcpy(fixed, vm->fixed_mbuff, vm->fixed_size);
        memcpy(fixed + vm->fixed_data_off, &data, 8);
        memcpy(fixed + vm->fixed_data_end_off, &data_end, 8);
        ctx->mbuff_start = (uint64_t)(uintptr_t)fixed;
        ctx->mbuff_len = vm->fixed_size;
        *r1 = ctx->mbuff_start;
        break;
    }
    case BPFVM_MODE_NONE:
        ctx->mem_start = ctx->mem_len = 0;
        break;
    }
    return vm->run_type == BPFVM_PROG_NONE ? 0 : bpfvm__progtype_prepare(vm, ctx, err);
}

/* Runs the program `run` with a prepared context: `engine`, or the
 * interpreter once a tail call led to a program without compiled code, and
 * for code whose calls check no depth under a lower limit than it was
 * compiled for (bpfvm__jit_call_short).
 * Traced runs (trace: ctx->trace) zero every byte of the frames first: a
 * debugger may show any of them. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int run_prepared(const bpfvm_vm *run, bpfvm__engine_fn engine, bool interpret,
                               const struct bpfvm__trace *trace, bpfvm_ctx *ctx, void *area,
                               uint64_t r1, uint64_t r2, uint64_t *result)
{
    if (trace)
        memset(area, 0, ctx->stack_len);
    return interpret ? bpfvm__interpret(run, ctx, r1, r2, result)
                     : engine(run, ctx, r1, r2, result);
}

/* After a run of the program in ctx ended in a tail call: the target
 * program, on the same input, from its start, and so on until one ends
 * otherwise; returns how the last one did. Out of line: most runs make no
 * tail call. *area: the stack area, `small` or allocated, replaced by a
 * larger allocation when a target needs it (*need bytes); *run: the
 * program that ran last. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int run_tail_calls(bpfvm_vm *vm, bpfvm__engine_fn engine, bpfvm_ctx *ctx, void *mem,
                          size_t mem_len, void *mbuff, size_t mbuff_len, void *small,
                          void **area, size_t *need, const bpfvm_vm **run, uint64_t *result,
                          bpfvm_error *detail)
{
    struct bpfvm__tail *tail = ctx->tail;
    bool interpret = false; /* a target without compiled code: interpret from then on */
    uint64_t r1, r2;
    int rc = BPFVM_EHELPERFAIL;
    while (rc == BPFVM_EHELPERFAIL && tail->target) {
        *run = tail->target;
        tail->target = NULL;
        interpret |= (*run)->jit_entry == NULL || bpfvm__jit_call_short(*run);
        if (bpfvm__stack_area_size(*run) > *need) {
            *need = bpfvm__stack_area_size(*run);
            if (*area != small)
                bpfvm__free(vm, *area);
            if (!(*area = bpfvm__alloc(vm, *need))) {
                *area = small;
                return bpfvm__set_error(detail, BPFVM_ENOMEM, -1, "out of memory for the stack");
            }
        }
        rc = bpfvm__prepare_run(*run, ctx, mem, mem_len, mbuff, mbuff_len, *area,
                                (*run)->stack_read, &r1, &r2, detail);
        /* raw mode: r2 counts the input bytes from the target's r1 on (0 when
         * r1 is not inside the input), so r1 + r2 never passes the input's
         * end: the JIT's bounds analysis (jit_bounds.c) relies on it */
        if (r2)
            r2 = tail->r1 >= r1 && tail->r1 - r1 <= r2 ? r1 + r2 - tail->r1 : 0;
        if (rc == 0)
            rc = run_prepared(*run, engine, interpret, ctx->trace, ctx, *area, tail->r1, r2,
                              result);
    }
    return rc;
}

/* Runs `engine` with a prepared context and a stack area (on the C stack
 * when small, else allocated), then any programs it tail-calls. The body of
 * the three entries below, inlined into each with its engine (the JIT's
 * inlined too, bpfvm__jit_engine), so that untraced runs pay only the store
 * of a NULL trace and no call through a pointer. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int run_engine(bpfvm_vm *vm, bpfvm__engine_fn engine, bpfvm_ctx *ctx,
                             struct bpfvm__trace *trace, void *mem, size_t mem_len, void *mbuff,
                             size_t mbuff_len, uint64_t *r0, bpfvm_error *err)
{
    uint64_t small[BPFVM__SMALL_STACK / 8];
    void *area = small;
    uint64_t r1, r2, result;

    if (!vm)
        return BPFVM_EINVAL;
    bpfvm_error *detail = err ? err : &vm->last_error;
    size_t need = bpfvm__stack_area_size(vm);
    if (need > sizeof(small) && !(area = bpfvm__alloc(vm, need)))
        return bpfvm__set_error(detail, BPFVM_ENOMEM, -1, "out of memory for the stack");
    struct bpfvm__tail tail;
    tail.target = NULL;
    tail.count = 0; /* tail.r1: written with target */
    ctx->tail = &tail;
    ctx->trace = trace;
    const bpfvm_vm *run = vm;
    bool jit = engine == bpfvm__jit_engine && !trace;
    bool interpret = jit && bpfvm__jit_call_short(vm);
    size_t stack_read = jit && !interpret ? vm->jit_stack_read : vm->stack_read;
    int rc = bpfvm__prepare_run(vm, ctx, mem, mem_len, mbuff, mbuff_len, area, stack_read, &r1,
                                &r2, detail);
    if (rc == 0) { /* engine itself, a constant, is inlined where it can be */
        rc = run_prepared(vm, engine, interpret, trace, ctx, area, r1, r2, &result);
        if (rc == BPFVM_EHELPERFAIL && tail.target)
            rc = run_tail_calls(vm, engine, ctx, mem, mem_len, mbuff, mbuff_len, small, &area,
                                &need, &run, &result, detail);
        if (ctx->spin_held) /* (not set up when the preparation failed) */
            rc = bpfvm__spin_leftover(ctx, rc);
    }
    if (rc)
        bpfvm__lines_name(run->lines, detail->insn, detail->source, sizeof(detail->source));
    if (area != small)
        bpfvm__free(vm, area);
    if (rc == 0 && r0)
        *r0 = result;
    return rc;
}

int bpfvm__run_engine_traced(bpfvm_vm *vm, bpfvm__engine_fn engine, struct bpfvm__trace *trace,
                             void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                             uint64_t *r0, bpfvm_error *err)
{
    bpfvm_ctx ctx;
    return run_engine(vm, engine, &ctx, trace, mem, mem_len, mbuff, mbuff_len, r0, err);
}

int bpfvm_run(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
              uint64_t *r0, bpfvm_error *err)
{
    bpfvm_ctx ctx;
    return run_engine(vm, bpfvm__interpret, &ctx, NULL, mem, mem_len, mbuff, mbuff_len, r0, err);
}

/* The run path with the JIT's engine inlined; the context sits inside the
 * code's per-run state. */
int bpfvm_run_jit(bpfvm_vm *vm, void *mem, size_t mem_len, void *mbuff, size_t mbuff_len,
                  uint64_t *r0, bpfvm_error *err)
{
    bpfvm__jit_state st;
    return run_engine(vm, bpfvm__jit_engine, &st.ctx, NULL, mem, mem_len, mbuff, mbuff_len, r0,
                      err);
}
