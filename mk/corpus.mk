# The verifier's tests of clang output.
#
# The corpus (tests/test_corpus.c): every program of tests/corpus/*.c and
# bench/progs/*.c compiled by clang for BPF at each -O level of CORPUS_OPTS,
# for each -mcpu of CORPUS_CPUS, with and without -g, into
# $(BUILD)/corpus/NAME-OPT-CPU[-g].o; and natively into test_corpus, which
# verifies, interprets and JIT-compiles every object and compares with the
# native result. Without clang the objects are not built and the test skips.
CORPUS_CC    ?= clang
CORPUS_OPTS   = O0 O1 O2 O3 Os
CORPUS_CPUS   = v1 v2 v3
CORPUS_FLAGS  = -target bpf -Wall -Wextra -Werror
CORPUS_HAVE_CC := $(shell command -v $(CORPUS_CC) >/dev/null 2>&1 && echo yes)

CORPUS_SRC    = $(sort $(wildcard tests/corpus/*.c))
CORPUS_NAMES  = $(CORPUS_SRC:tests/corpus/%.c=%) \
                $(patsubst bench/progs/%.c,%,$(wildcard bench/progs/*.c))
CORPUS_OBJ    = $(foreach n,$(CORPUS_NAMES),$(foreach o,$(CORPUS_OPTS),$(foreach c,$(CORPUS_CPUS),\
                  $(BUILD)/corpus/$(n)-$(o)-$(c).o $(BUILD)/corpus/$(n)-$(o)-$(c)-g.o)))
CORPUS_NATIVE = $(CORPUS_SRC:tests/corpus/%.c=$(BUILD)/corpus/%.native.o)
CORPUS_BENCH_NATIVE = $(patsubst bench/progs/%.c,$(BUILD)/bench/%.native.o,$(wildcard bench/progs/*.c))
CORPUS_HDRS   = tests/corpus/corpus.h bench/progs/prog.h tests/elf/calc.h tests/elf/bpf.h \
                tests/elf/voidfn.c examples/calls.bpf.c examples/filter.bpf.c

vpath %.c tests/corpus bench/progs

# One pattern rule per -O level and -mcpu, with and without -g.
define corpus_rules
$(BUILD)/corpus/%-$(1)-$(2).o: %.c $(CORPUS_HDRS)
	@mkdir -p $$(@D)
	$(CORPUS_CC) $(CORPUS_FLAGS) -$(1) -mcpu=$(2) -c $$< -o $$@
$(BUILD)/corpus/%-$(1)-$(2)-g.o: %.c $(CORPUS_HDRS)
	@mkdir -p $$(@D)
	$(CORPUS_CC) $(CORPUS_FLAGS) -$(1) -mcpu=$(2) -g -c $$< -o $$@
endef
$(foreach o,$(CORPUS_OPTS),$(foreach c,$(CORPUS_CPUS),$(eval $(call corpus_rules,$(o),$(c)))))

$(BUILD)/corpus/%.native.o: tests/corpus/%.c $(CORPUS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/test_corpus: tests/test_corpus.c tests/test.h tools/tool_util.h $(BUILD)/libbpfvm.a \
    $(CORPUS_NATIVE) $(CORPUS_BENCH_NATIVE) $(if $(CORPUS_HAVE_CC),$(CORPUS_OBJ))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -DCORPUS_OPTS='"$(CORPUS_OPTS)"' -DCORPUS_CPUS='"$(CORPUS_CPUS)"' \
	    $(LDFLAGS) -o $@ $< $(CORPUS_NATIVE) $(CORPUS_BENCH_NATIVE) $(BUILD)/libbpfvm.a $(LDLIBS)

# test_verify_deep compiles tests/elf/voidfn.c natively for its expected results.
$(BUILD)/tests/test_verify_deep: tests/elf/voidfn.c tools/tool_util.h

# test_verify_twins also asks the kernel about its programs when libbpf's
# headers are installed (the library itself never uses libbpf).
HAVE_LIBBPF := $(shell test -e /usr/include/bpf/bpf.h && echo yes)
ifeq ($(HAVE_LIBBPF),yes)
$(BUILD)/tests/test_verify_twins: tests/test_verify_twins.c tests/test.h $(BUILD)/libbpfvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DBPFVM_TEST_LIBBPF -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a \
	    -lbpf $(LDLIBS)
endif
