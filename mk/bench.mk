# The benchmark suite (bench/): each bench/progs/NAME.c is compiled for BPF
# (build/bench/NAME.bpf.o, loaded by the runner) and natively (linked into
# the runner). `make bench` prints the table; `make test` runs the runner's
# quick correctness mode (every engine's result equals native), never timed.
# The BPF objects are built twice: at -mcpu=v3 (build/bench/NAME.bpf.o) and
# at clang's default, v1 (build/bench/v1/NAME.bpf.o: no 32-bit jumps or ALU
# zero-extension, what users get without -mcpu); `make bench` prints a table
# for each (BENCH_CPUS=v3 or v1 for one).
BENCH_CLANG     ?= clang
BENCH_NATIVE_CC ?= gcc
BENCH_BPF_FLAGS  = -O2 -target bpf -Wall -Wextra -Werror
BENCH_CPUS      ?= v3 v1
# Native programs: -O2, nothing else that changes code generation.
BENCH_NATIVE_FLAGS = -std=c11 -O2 $(WARN)
BENCH_SRC    = $(sort $(wildcard bench/progs/*.c))
BENCH_BPF    = $(BENCH_SRC:bench/progs/%.c=$(BUILD)/bench/%.bpf.o) \
               $(BENCH_SRC:bench/progs/%.c=$(BUILD)/bench/v1/%.bpf.o)
BENCH_NATIVE = $(BENCH_SRC:bench/progs/%.c=$(BUILD)/bench/%.native.o)
BENCH_ARGS  ?=

$(BUILD)/bench/%.bpf.o: bench/progs/%.c bench/progs/prog.h
	@mkdir -p $(@D)
	$(BENCH_CLANG) $(BENCH_BPF_FLAGS) -mcpu=v3 -c $< -o $@

$(BUILD)/bench/v1/%.bpf.o: bench/progs/%.c bench/progs/prog.h
	@mkdir -p $(@D)
	$(BENCH_CLANG) $(BENCH_BPF_FLAGS) -c $< -o $@

$(BUILD)/bench/%.native.o: bench/progs/%.c bench/progs/prog.h
	@mkdir -p $(@D)
	$(BENCH_NATIVE_CC) $(BENCH_NATIVE_FLAGS) -c $< -o $@

$(BUILD)/bench/bench: bench/bench.c bench/progs/prog.h $(BENCH_NATIVE) $(BUILD)/libbpfvm.a $(BENCH_BPF)
	$(CC) $(CFLAGS) -DBENCH_OBJDIR='"$(BUILD)/bench"' $(LDFLAGS) -o $@ bench/bench.c \
	    $(BENCH_NATIVE) $(BUILD)/libbpfvm.a $(LDLIBS)

# The test: a one-line script running the correctness mode.
$(BUILD)/tests/bench_check: $(BUILD)/bench/bench
	@mkdir -p $(@D)
	printf '#!/bin/sh\n$${BPFVM_EXEC:-} %s --check --synthetic 100000 && exec $${BPFVM_EXEC:-} %s --check --synthetic 0 --dir %s\n' \
	    '$(BUILD)/bench/bench' '$(BUILD)/bench/bench' '$(BUILD)/bench/v1' > $@
	chmod +x $@

TEST_ALL += $(BUILD)/tests/bench_check

.PHONY: bench
bench: $(BUILD)/bench/bench
	@set -e; for c in $(BENCH_CPUS); do \
	    d=$(BUILD)/bench; [ $$c = v3 ] || d=$$d/$$c; \
	    echo "== BPF objects built with -mcpu=$$c ($$d)"; \
	    $(BUILD)/bench/bench --dir $$d $(BENCH_ARGS); \
	done
