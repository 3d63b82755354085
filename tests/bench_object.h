/* bench_object.h - a benchmark program's BPF object (<build>/bench/NAME.bpf.o,
 * found from the test binary's path) loaded into a new VM and compiled
 * (checked). NULL when the object was not built (the test skips it). */
#ifndef BPFVM_BENCH_OBJECT_H
#define BPFVM_BENCH_OBJECT_H

#include <stdio.h>
#include <string.h>

#include "bpfvm.h"
#include "test.h"

static inline bpfvm_vm *bench_object(const char *argv0, const char *name, char *path,
                                     size_t size)
{
    const char *slash = strrchr(argv0, '/');
    int dirlen = slash ? (int)(slash - argv0) : 1;
    snprintf(path, size, "%.*s/../bench/%s.bpf.o", dirlen, slash ? argv0 : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("skipped %s: no BPF object\n", path);
        return NULL;
    }
    static uint8_t data[1 << 16];
    size_t len = fread(data, 1, sizeof(data), f);
    fclose(f);
    bpfvm_vm *vm = bpfvm_create();
    CHECK(bpfvm_load_elf(vm, data, len, NULL, NULL) == 0, "%s: %s", path,
          bpfvm_last_error(vm)->message);
    CHECK(bpfvm_compile(vm, 0) == 0, "%s: compile", path);
    return vm;
}

#endif
