/* frame_align.h - a helper that reports how its C frame is aligned, for
 * tests of the JIT's entry and calls: a C call with a misaligned stack can
 * crash the host, so compiled code must keep the ABI's 16-byte alignment. */
#ifndef BPFVM_TEST_FRAME_ALIGN_H
#define BPFVM_TEST_FRAME_ALIGN_H

#include <stdint.h>

#include "bpfvm.h"

/* this C frame's address mod 16: the same from the JIT as from the
 * interpreter (a C caller) when the JIT keeps the ABI's alignment */
__attribute__((noinline)) static uint64_t frame_misalign(void)
{
    return (uint64_t)(uintptr_t)__builtin_frame_address(0) & 15;
}

/* a helper returning 1 + frame_misalign() */
static uint64_t helper_align(bpfvm_ctx *ctx, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                             uint64_t e)
{
    (void)ctx, (void)a, (void)b, (void)c, (void)d, (void)e;
    return 1 + frame_misalign();
}

#endif
