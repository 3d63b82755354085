/* test_frames.c - C that passes the addresses of local variables to called
 * functions (tests/elf/frames.c, compiled by clang in three variants): every
 * entry loads, and the interpreter and the JIT (checked, blinded and
 * unchecked) return what the same source compiled natively returns. When
 * built with libbpf and bpf() is allowed, the program bpfvm loaded from each
 * object also goes to the kernel as a socket filter, which must accept it
 * and return the same value (BPF_PROG_TEST_RUN); otherwise that part is
 * skipped, with the reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm.h"
#include "test.h"
#include "../tools/tool_util.h"

#ifdef BPFVM_TEST_LIBBPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* tests/elf/frames.c compiled natively: the expected results. */
unsigned long inc_local(void *ctx);
unsigned long fill_struct(void *ctx);
#include "elf/frames.c"

static const struct {
    const char *name;
    unsigned long (*native)(void *);
} entries[] = {
    { "inc_local", inc_local },
    { "fill_struct", fill_struct },
};

#ifdef BPFVM_TEST_LIBBPF
/* Run p as a socket filter in the kernel: 0 and *ret, or -errno (log in
 * log). */
static int kernel_run(const bpfvm_insn *p, size_t n, uint32_t *ret, char *log, size_t logsz)
{
    LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_buf = log, .log_size = (unsigned)logsz,
                .log_level = 1);
    log[0] = 0;
    int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "frames", "GPL",
                           (const struct bpf_insn *)p, n, &lo);
    if (fd < 0)
        return fd;
    unsigned char pkt[64] = { 0 };
    LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = pkt, .data_size_in = sizeof(pkt));
    int err = bpf_prog_test_run_opts(fd, &ro);
    close(fd);
    if (err)
        return err < 0 ? err : -EINVAL;
    *ret = ro.retval;
    return 0;
}

/* Can this process load programs? NULL if so, else why not. */
static const char *kernel_usable(void)
{
    static char why[128];
    static char log[4096];
    bpfvm_insn ok[] = { BPFVM_MOV64_IMM(BPFVM_R0, 0), BPFVM_EXIT() };
    uint32_t ret;
    int rc = kernel_run(ok, COUNT(ok), &ret, log, sizeof(log));
    if (rc == 0)
        return NULL;
    snprintf(why, sizeof(why), "bpf() refused: %s", strerror(-rc));
    return why;
}
#endif

int main(int argc, char **argv)
{
    (void)argc;
    static const char *const objs[] = { "frames.o", "frames-v3.o", "frames-g.o" };
    const char *kernel_skip = "built without libbpf";
#ifdef BPFVM_TEST_LIBBPF
    kernel_skip = kernel_usable();
#endif
    const char *slash = strrchr(argv[0], '/');
    int dirlen = slash ? (int)(slash - argv[0]) : 1;
    size_t runs = 0, kernel_runs = 0;
    for (size_t o = 0; o < COUNT(objs); o++) {
        char path[700];
        size_t len;
        snprintf(path, sizeof(path), "%.*s/../elf/%s", dirlen, slash ? argv[0] : ".", objs[o]);
        unsigned char *data = tool_read_file(path, &len);
        if (!data)
            continue;
        for (size_t e = 0; e < COUNT(entries); e++) {
            unsigned long want = entries[e].native(NULL);
            bpfvm_vm *vm = bpfvm_create();
            int rc = bpfvm_load_elf(vm, data, len, "socket", entries[e].name);
            CHECK(rc == 0, "%s %s loads: %s", path, entries[e].name,
                  bpfvm_last_error(vm)->message);
            /* engine 0: the interpreter; 1-3: the JIT checked, blinded, unchecked */
            for (int engine = 0; rc == 0 && engine < 4; engine++) {
                uint64_t r0 = 0;
                uint8_t mem[64] = { 0 };
                bpfvm_error err;
                memset(&err, 0, sizeof(err));
                bpfvm_set_checked(vm, engine != 3);
                if (engine && bpfvm_compile(vm, engine == 2 ? BPFVM_JIT_BLIND : 0) != 0) {
                    CHECK(0, "%s %s compiles: %s", path, entries[e].name,
                          bpfvm_last_error(vm)->message);
                    break;
                }
                int run = engine ? bpfvm_run_jit(vm, mem, sizeof(mem), NULL, 0, &r0, &err)
                                 : bpfvm_run(vm, mem, sizeof(mem), NULL, 0, &r0, &err);
                CHECK(run == 0 && r0 == want, "%s %s engine %d: rc %d (%s), r0 %#llx, want %#lx",
                      path, entries[e].name, engine, run, err.message, (unsigned long long)r0,
                      want);
                runs++;
            }
#ifdef BPFVM_TEST_LIBBPF
            if (rc == 0 && !kernel_skip) {
                static char log[1 << 16];
                size_t n;
                const bpfvm_insn *p = bpfvm_program(vm, &n);
                uint32_t ret = 0;
                int k = kernel_run(p, n, &ret, log, sizeof(log));
                CHECK(k == 0 && ret == (uint32_t)want,
                      "%s %s in the kernel: %s, retval %#x, want %#x (%s)", path,
                      entries[e].name, k ? strerror(-k) : "ok", ret, (uint32_t)want, log);
                kernel_runs++;
            }
#endif
            bpfvm_destroy(vm);
        }
        free(data);
    }
    if (runs == 0)
        printf("skipped: no frames objects (clang not found at build time)\n");
    if (kernel_skip)
        printf("kernel comparison skipped: %s\n", kernel_skip);
    else
        printf("kernel comparison: %zu programs, same results\n", kernel_runs);
    return TEST_END();
}
