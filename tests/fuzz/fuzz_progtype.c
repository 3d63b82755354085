/* fuzz_progtype.c - program types: arbitrary bytecode loaded as an XDP,
 * tc, socket, cgroup_skb or raw-context program (the load-time context
 * conversion sees every kind of access through every kind of register
 * flow), then test-run on an arbitrary packet and context (malformed
 * ctx_in, packets shorter than their headers) in both engines. A crash,
 * sanitizer report or hang is a finding. (The engines' agreement is
 * fuzz_diff's: here programs see heap and stack addresses that differ
 * between the two runs.) Input: a type/option byte, the packet length, the
 * context length, the packet, the context, then the bytecode. Option bits:
 * 0-2 the type, 3 no verifier, 4-5 repeat count, 6 the packet repeated up
 * to 5000 bytes (XDP fragments). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const bpfvm_prog_type types[8] = {
        BPFVM_PROG_XDP, BPFVM_PROG_SCHED_CLS, BPFVM_PROG_SOCKET_FILTER, BPFVM_PROG_CGROUP_SKB,
        BPFVM_PROG_RAW_CTX, BPFVM_PROG_XDP, BPFVM_PROG_SCHED_CLS, BPFVM_PROG_NONE
    };
    if (size < 3)
        return 0;
    bpfvm_vm *vm = fuzz_vm();
    unsigned opt = data[0];
    size_t pkt_len = data[1], ctx_len = data[2];
    data += 3, size -= 3;
    if (pkt_len > size)
        pkt_len = size;
    const uint8_t *pkt = data;
    data += pkt_len, size -= pkt_len;
    if (ctx_len > size)
        ctx_len = size;
    const uint8_t *ctx = data;
    data += ctx_len, size -= ctx_len;
    bpfvm_set_prog_type(vm, types[opt & 7]);
    if (opt & 8)
        bpfvm_set_verifier(vm, NULL, NULL, BPFVM_VERIFY_REPLACE);
    static uint8_t big[5000];
    if ((opt & 0x40) && pkt_len) {
        for (size_t k = 0; k < sizeof(big); k++)
            big[k] = pkt[k % pkt_len];
        pkt = big;
        pkt_len = sizeof(big);
    }
    if (bpfvm_load(vm, data, size - size % 8) == 0 && bpfvm_compile(vm, 0) == 0) {
        static uint8_t out[4096], ctx_out[256];
        for (int jit = 0; jit < 2; jit++) {
            bpfvm_test_run_opts o = { pkt_len ? pkt : NULL, pkt_len, out, sizeof(out),
                                      ctx_len ? ctx : NULL, ctx_len, ctx_out, sizeof(ctx_out),
                                      (opt >> 4) & 3, jit, 0, 0 };
            bpfvm_test_run(vm, &o);
        }
    }
    bpfvm_destroy(vm);
    return 0;
}
