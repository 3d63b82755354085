# bpfvm - GNU make build. Everything goes to $(BUILD) (default build/).
#   make            library (static + shared), bpfvm, bpfvm_plugin, examples
#   make test       every test; ends with "N passed, N failed"
#   make asan       the tests under AddressSanitizer + UBSan (build/asan)
#   make fuzz       libFuzzer harnesses for FUZZ_SECONDS each
#   make bench      benchmark suite (interpreter/JIT vs native)
#   make install    PREFIX=/usr/local DESTDIR=

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
WARN     = -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Werror
OPT     ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fPIC -Iinclude -Isrc $(EXTRA_CFLAGS)
LDLIBS  += -lm -lpthread

LIB_SRC  = $(sort $(wildcard src/*.c))
LIB_OBJ  = $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
# The same library with the switch-based dispatch (no computed goto), for tests.
NOCG_OBJ = $(LIB_SRC:src/%.c=$(BUILD)/obj-nocg/%.o)
TEST_SRC = $(sort $(wildcard tests/test_*.c))
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
HDRS     = $(wildcard include/*.h include/bpfvm/*.h src/*.h src/*.def)
# Everything `make test` runs, in order; mk/*.mk fragments may append to it
# (and to EXTRA_ALL, built by `make`).
TEST_ALL = $(TEST_BIN) $(if $(wildcard tests/test_data.c),$(BUILD)/tests/test_data-nocg)
EXTRA_ALL =
# Tests that also compare with the running kernel link libbpf (Debian's
# libbpf-dev), a test-only dependency the library never uses; a cross build
# (ARCH=...) has no libbpf for its target and leaves it out. A fragment adds
# such a test with $(eval $(call LIBBPF_TEST,test_NAME)).
HAVE_LIBBPF := $(if $(ARCH),,$(shell test -e /usr/include/bpf/libbpf.h && echo yes))
define LIBBPF_TEST
ifeq ($(HAVE_LIBBPF),yes)
$$(BUILD)/tests/$(1): tests/$(1).c tests/test.h $$(BUILD)/libbpfvm.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -DBPFVM_TEST_LIBBPF -Itests $$(LDFLAGS) -o $$@ $$< $$(BUILD)/libbpfvm.a \
	    -lbpf $$(LDLIBS)
endif
endef
# The host's multiarch include directory, for <asm/types.h> in BPF programs
# that include the kernel's uapi headers (the same on every target).
HOST_MULTIARCH := $(shell cc -print-multiarch 2>/dev/null)
.DEFAULT_GOAL := all
-include mk/*.mk

.PHONY: all lib test asan clean
TOOLS    = $(patsubst tools/%.c,$(BUILD)/%,$(wildcard tools/*.c))
all: lib $(TOOLS) $(EXTRA_ALL)

lib: $(BUILD)/libbpfvm.a $(BUILD)/libbpfvm.so

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj-nocg/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DBPFVM_NO_COMPUTED_GOTO -c $< -o $@

$(BUILD)/libbpfvm.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libbpfvm-nocg.a: $(NOCG_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libbpfvm.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libbpfvm.so.0 -o $@ $^ $(LDLIBS)

$(BUILD)/%: tools/%.c $(BUILD)/libbpfvm.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/test.h $(BUILD)/libbpfvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a $(LDLIBS)

# The engine comparisons share one run helper.
$(BUILD)/tests/test_diff $(BUILD)/tests/test_jit_loops: tests/engine_run.h
# The JIT entry and call tests share a helper reporting its frame's alignment.
$(BUILD)/tests/test_jit_calls $(BUILD)/tests/test_runcost: tests/frame_align.h
# The JIT tests share program builders and engine runs.
$(BUILD)/tests/test_jit $(BUILD)/tests/test_jit_align $(BUILD)/tests/test_jit_cg \
    $(BUILD)/tests/test_jit_cg_addr $(BUILD)/tests/test_jit_comb $(BUILD)/tests/test_jit_ctr \
    $(BUILD)/tests/test_jit_divconst $(BUILD)/tests/test_jit_flagtest $(BUILD)/tests/test_jit_loadcomb \
    $(BUILD)/tests/test_jit_memops $(BUILD)/tests/test_jit_pkt $(BUILD)/tests/test_jit_select \
    $(BUILD)/tests/test_jit_shapes $(BUILD)/tests/test_jit_thread $(BUILD)/tests/test_runcost: \
    tests/jit_test.h
# The bounds tests share a run-and-compare harness.
$(BUILD)/tests/test_jit_cg_addr $(BUILD)/tests/test_jit_comb $(BUILD)/tests/test_jit_ctr \
    $(BUILD)/tests/test_jit_pkt: tests/jit_mem_test.h
# Tests loading the bench's BPF objects.
$(BUILD)/tests/test_jit_loops $(BUILD)/tests/test_jit_pkt $(BUILD)/tests/test_jit_thread: \
    tests/bench_object.h

# Data-driven tests also run against the switch-dispatch build.
$(BUILD)/tests/test_data-nocg: tests/test_data.c tests/test.h $(BUILD)/libbpfvm-nocg.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm-nocg.a $(LDLIBS)

test: all $(TEST_ALL)
	@BUILD=$(BUILD) sh tests/run_tests.sh $(TEST_ALL)

SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g" EXTRA_CFLAGS="$(SAN)" LDFLAGS="$(SAN)" test

clean:
	rm -rf $(BUILD)

