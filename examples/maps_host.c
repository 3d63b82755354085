/* maps_host.c - a host that loads a packet counter with maps, runs it over
 * a capture and prints the counters the program kept.
 *
 *   maps_host PROG.o CAPTURE
 *
 * Opens PROG.o as an object (its maps are created), loads its XDP program
 * with the kernel's helpers, runs it once per frame of CAPTURE (records of
 * a 2-byte little-endian length and an Ethernet frame) as the kernel's
 * test run would, then reads the hash map `by_proto` and the global
 * `frames` (.bss) through the map API. Prints one line:
 *   frames N; proto P: K packets, B bytes; ...
 *
 * Build: cc maps_host.c $(pkg-config --cflags --libs bpfvm)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfvm.h>

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    size_t olen, clen;
    unsigned char *elf, *cap;
    bpfvm_object *obj = NULL;
    bpfvm_vm *vm = NULL;
    bpfvm_error err;
    int ret = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: maps_host PROG.o CAPTURE\n");
        return 2;
    }
    if (!(elf = read_file(argv[1], &olen)) || !(cap = read_file(argv[2], &clen))) {
        fprintf(stderr, "cannot read %s\n", elf ? argv[2] : argv[1]);
        return 2;
    }
    /* one object, its maps created once; any number of VMs could share them */
    if (bpfvm_object_open(elf, olen, &obj, &err)) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        goto out;
    }
    vm = bpfvm_create();
    if (!vm || bpfvm_register_kernel_helpers(vm) || bpfvm_set_prog_type(vm, BPFVM_PROG_AUTO) ||
        bpfvm_object_load(obj, vm, NULL, NULL)) {
        fprintf(stderr, "%s: %s\n", argv[1], bpfvm_last_error(vm)->message);
        goto out;
    }
    for (size_t at = 0; at + 2 <= clen;) {
        size_t n = (size_t)(cap[at] | cap[at + 1] << 8);
        if (n > clen - at - 2)
            break;
        bpfvm_test_run_opts run = { .data_in = cap + at + 2, .data_size_in = n };
        if (bpfvm_test_run(vm, &run)) {
            fprintf(stderr, "frame at %zu: %s\n", at, bpfvm_last_error(vm)->message);
            goto out;
        }
        at += 2 + n;
    }
    /* the counters, as a libbpf host would read them */
    bpfvm_map *frames = bpfvm_object_find_map(obj, ".bss");
    bpfvm_map *by_proto = bpfvm_object_find_map(obj, "by_proto");
    uint32_t zero = 0, key, next;
    uint64_t nframes = 0, counts[2];
    if (!frames || !by_proto || bpfvm_map_lookup(frames, &zero, &nframes)) {
        fprintf(stderr, "%s: the maps are not there\n", argv[1]);
        goto out;
    }
    printf("frames %llu", (unsigned long long)nframes);
    /* keys in increasing order: find the smallest above the last printed */
    for (int64_t last = -1;; last = key) {
        int found = 0;
        const uint32_t *prev = NULL;
        uint32_t cur;
        while (bpfvm_map_next_key(by_proto, prev, &next) == 0) {
            cur = next;
            prev = &cur;
            if ((int64_t)cur > last && (!found || cur < key)) {
                key = cur;
                found = 1;
            }
        }
        if (!found || bpfvm_map_lookup(by_proto, &key, counts))
            break;
        printf("; proto %u: %llu packets, %llu bytes", key, (unsigned long long)counts[0],
               (unsigned long long)counts[1]);
    }
    printf("\n");
    ret = 0;
out:
    bpfvm_destroy(vm);
    bpfvm_object_close(obj);
    free(elf);
    free(cap);
    return ret;
}
