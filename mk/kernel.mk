# The kernel oracle (tests/kernel/): each tests/kernel/progs/NAME.c compiled
# with clang against the kernel's and libbpf's headers at -mcpu v1, v2 and v3
# ($(BUILD)/kernel/NAME-vN.o), and tests/kernel/oracle.c, which links libbpf
# (a test-only dependency, Debian's libbpf-dev) and compares the kernel's
# BPF_PROG_TEST_RUN with bpfvm_test_run on every object and packet. Without
# libbpf or clang the test prints "skipped" with the reason; where the
# kernel refuses bpf() the oracle itself skips.
KERNEL_CLANG   ?= clang
KERNEL_BPF_FLAGS = -O2 -g -target bpf -Wall -Werror $(if $(HOST_MULTIARCH),-I/usr/include/$(HOST_MULTIARCH))
HAVE_KERNEL_CC := $(shell command -v $(KERNEL_CLANG) >/dev/null 2>&1 && echo yes)
KERNEL_NAMES    = $(patsubst tests/kernel/progs/%.c,%,$(wildcard tests/kernel/progs/*.c))
KERNEL_OBJ      = $(foreach n,$(KERNEL_NAMES),$(foreach v,v1 v2 v3,$(BUILD)/kernel/$(n)-$(v).o))

$(BUILD)/kernel/%-v1.o $(BUILD)/kernel/%-v2.o $(BUILD)/kernel/%-v3.o: \
    tests/kernel/progs/%.c tests/kernel/progs/pkt.h
	@mkdir -p $(@D)
	$(KERNEL_CLANG) $(KERNEL_BPF_FLAGS) -mcpu=v1 -c $< -o $(BUILD)/kernel/$*-v1.o
	$(KERNEL_CLANG) $(KERNEL_BPF_FLAGS) -mcpu=v2 -c $< -o $(BUILD)/kernel/$*-v2.o
	$(KERNEL_CLANG) $(KERNEL_BPF_FLAGS) -mcpu=v3 -c $< -o $(BUILD)/kernel/$*-v3.o

ifeq ($(HAVE_LIBBPF)$(HAVE_KERNEL_CC),yesyes)
$(BUILD)/tests/kernel_oracle: tests/kernel/oracle.c $(BUILD)/libbpfvm.a $(KERNEL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a -lbpf $(LDLIBS)

$(BUILD)/tests/test_kernel: $(BUILD)/tests/kernel_oracle
	printf '#!/bin/sh\nexec %s %s\n' '$(BUILD)/tests/kernel_oracle' '$(KERNEL_OBJ)' > $@
	chmod +x $@
else
$(BUILD)/tests/test_kernel:
	@mkdir -p $(@D)
	printf '#!/bin/sh\necho "skipped: %s"\necho "0 passed, 0 failed"\n' \
	    '$(if $(HAVE_LIBBPF),,no libbpf (libbpf-dev) for this build )$(if $(HAVE_KERNEL_CC),,clang not found)' > $@
	chmod +x $@
endif

TEST_ALL += $(BUILD)/tests/test_kernel

# `make bench-xdp`: each program compiled at -mcpu=v3, timed on one packet by
# the kernel's test run and by bpfvm_test_run (interpreter, checked JIT).
BENCH_XDP_REPEAT ?= 100000
.PHONY: bench-xdp
bench-xdp: $(BUILD)/tests/kernel_oracle
	$(BUILD)/tests/kernel_oracle --bench $(BENCH_XDP_REPEAT) $(filter %-v3.o,$(KERNEL_OBJ))

# Kernel-style examples (examples/xdp_*.bpf.c) include the kernel's uapi
# headers, which need the multiarch include directory for <asm/types.h>.
$(BUILD)/examples/xdp_%.bpf.o: BPF_CFLAGS += $(if $(HOST_MULTIARCH),-I/usr/include/$(HOST_MULTIARCH))

# fuzz_progtype's seeds are these objects' code (tests/fuzz/seeds.sh).
ifeq ($(HAVE_LIBBPF)$(HAVE_KERNEL_CC),yesyes)
fuzz-seeds: $(KERNEL_OBJ)
endif
