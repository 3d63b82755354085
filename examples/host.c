/* host.c - a minimal program embedding bpfvm.
 *
 *   host PROG.o CAPTURE [mbuff|fixed]
 *
 * Loads the ELF object PROG.o, registers the standard helpers and one of its
 * own (host_checksum), and runs the program over the file CAPTURE, which the
 * program sees through a metadata buffer { u64 data; u64 data_end; }:
 *   mbuff  the host fills that buffer and passes it (default);
 *   fixed  the VM owns it and writes data/data_end before each run.
 * Prints r0 in decimal.
 *
 * Build: cc host.c $(pkg-config --cflags --libs bpfvm)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfvm.h>

/* host_checksum(data, len): the Internet checksum (RFC 1071) of the bytes. */
static uint64_t host_checksum(bpfvm_ctx *ctx, uint64_t data, uint64_t len, uint64_t r3,
                              uint64_t r4, uint64_t r5)
{
    (void)r3, (void)r4, (void)r5;
    const uint8_t *p = bpfvm_ctx_access(ctx, data, len, 0); /* may the program read it? */
    if (!p) {
        bpfvm_ctx_fail(ctx, "host_checksum: buffer not readable by the program");
        return 0;
    }
    uint64_t sum = 0;
    for (uint64_t i = 0; i < len; i += 2)
        sum += (uint64_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    void *buf = NULL;
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
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "mbuff") != 0 &&
                                 strcmp(argv[3], "fixed") != 0)) {
        fprintf(stderr, "usage: %s PROG.o CAPTURE [mbuff|fixed]\n", argv[0]);
        return 2;
    }
    size_t obj_len = 0, cap_len = 0;
    void *obj = read_file(argv[1], &obj_len), *cap = read_file(argv[2], &cap_len);
    if (!obj || !cap) {
        fprintf(stderr, "%s: cannot read %s\n", argv[0], obj ? argv[2] : argv[1]);
        return 2;
    }

    bpfvm_vm *vm = bpfvm_create();
    int ret = 1, fixed = argc == 4 && strcmp(argv[3], "fixed") == 0;
    uint64_t r0 = 0;
    /* Helpers first: extern helpers are resolved by name when loading. */
    if (!vm || bpfvm_register_std_helpers(vm) ||
        bpfvm_register_helper(vm, 0x10000, "host_checksum", host_checksum, NULL) ||
        bpfvm_load_elf(vm, obj, obj_len, NULL, NULL))
        goto done;
    bpfvm_set_trace_stream(vm, stdout);
    if (fixed) {
        /* 16-byte buffer: data at 0, data_end at 8. */
        if (bpfvm_set_fixed_mbuff(vm, 16, 0, 8) || bpfvm_run(vm, cap, cap_len, NULL, 0, &r0, NULL))
            goto done;
    } else {
        uint64_t md[2] = { (uint64_t)(uintptr_t)cap, (uint64_t)(uintptr_t)cap + cap_len };
        if (bpfvm_set_mode(vm, BPFVM_MODE_MBUFF) ||
            bpfvm_run(vm, cap, cap_len, md, sizeof(md), &r0, NULL))
            goto done;
    }
    printf("%llu\n", (unsigned long long)r0);
    ret = 0;
done:
    if (ret)
        fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1],
                vm ? bpfvm_last_error(vm)->message : "out of memory");
    bpfvm_destroy(vm);
    free(obj);
    free(cap);
    return ret;
}
