# The arm64 build, cross-compiled on any host and tested under qemu-user.
#   make ARCH=arm64        library, tools, examples and every test in build/arm64
#                          (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
#   make test-arm64        that build's suite under qemu-aarch64 (Debian: qemu-user),
#                          once per CPU model in ARM64_CPUS: `max` has the LSE
#                          atomics, `cortex-a53` (ARMv8.0) has not, so the JIT's
#                          two atomic sequences both run; the interpreter-vs-JIT
#                          differential test runs ARM64_DIFF programs on each
# Shell tests run the cross-built tools through $BPFVM_EXEC (the emulator
# command); the BPF objects from clang are the same as on any host.
# This file sorts first among mk/*.mk, so BUILD is set before any other
# fragment names a target with it.
ARM64_CC    ?= aarch64-linux-gnu-gcc
ARM64_QEMU  ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
ARM64_CPUS  ?= max cortex-a53
ARM64_DIFF  ?= 100000

ifeq ($(ARCH),arm64)
override BUILD := build/arm64
override CC := $(ARM64_CC)
BENCH_NATIVE_CC := $(ARM64_CC)
endif

# Everything but the install test (it installs into the host's layout and
# runs ldd on the result).
ARM64_TESTS = $(filter-out %/test_install,$(TEST_ALL))

.PHONY: test-arm64 arm64-check
test-arm64:
	$(MAKE) ARCH=arm64 arm64-check

# (TEST_ALL is complete only once every fragment is read: the recipe, not the
# prerequisite list, names the tests.) One CPU model after the other: some
# tests write into $(BUILD).
arm64-check:
	$(MAKE) all $(ARM64_TESTS) $(BUILD)/tests/test_diff
	@set -e; for cpu in $(ARM64_CPUS); do \
	    echo "== qemu-aarch64 -cpu $$cpu"; \
	    BUILD=$(BUILD) BPFVM_EXEC="$(ARM64_QEMU) -cpu $$cpu" sh tests/run_tests.sh $(ARM64_TESTS); \
	    echo "== differential test, $(ARM64_DIFF) programs, -cpu $$cpu"; \
	    log=$(BUILD)/tests/diff-$$cpu.log; \
	    $(ARM64_QEMU) -cpu $$cpu $(BUILD)/tests/test_diff $(ARM64_DIFF) 1000000 >$$log 2>&1 \
	        || { tail -n 20 $$log; echo "differential test FAILED (-cpu $$cpu)"; exit 1; }; \
	    tail -n 2 $$log; \
	done

# Machine instructions per BPF instruction of both backends on the benchmark
# programs (tests/jit_ratio.sh; fails above JIT_RATIO_MAX, default 1.3).
.PHONY: jit-ratio
jit-ratio: $(BUILD)/bpfvm $(BENCH_BPF)
	$(MAKE) ARCH=arm64 build/arm64/bpfvm
	BPFVM_EXEC="$(ARM64_QEMU)" sh tests/jit_ratio.sh $(BUILD)/bpfvm build/arm64/bpfvm $(BENCH_BPF)
