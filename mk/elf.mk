# BPF programs compiled with clang: the ELF loader's test objects
# (tests/elf/*.c, each as NAME.o, NAME-v3.o and NAME-g.o in $(BUILD)/elf)
# and the examples (examples/*.bpf.c -> $(BUILD)/examples/*.bpf.o, plus the
# host program). Without clang the objects are not built and test_elf skips.
BPF_CC     ?= clang
BPF_CFLAGS ?= -O2 -target bpf -Wall -Werror
HAVE_BPF_CC := $(shell command -v $(BPF_CC) >/dev/null 2>&1 && echo yes)

ELF_TEST_NAMES = $(patsubst tests/elf/%.c,%,$(wildcard tests/elf/*.c))
ELF_TEST_OBJ   = $(foreach n,$(ELF_TEST_NAMES),$(BUILD)/elf/$(n).o $(BUILD)/elf/$(n)-v3.o \
                                                $(BUILD)/elf/$(n)-g.o)
EXAMPLE_OBJ    = $(patsubst examples/%.c,$(BUILD)/examples/%.o,$(wildcard examples/*.bpf.c))
EXAMPLE_HOST   = $(BUILD)/examples/host

ifeq ($(HAVE_BPF_CC),yes)
EXTRA_ALL += $(ELF_TEST_OBJ) $(EXAMPLE_OBJ)
$(BUILD)/tests/test_elf: $(ELF_TEST_OBJ)
endif
EXTRA_ALL += $(EXAMPLE_HOST)

$(BUILD)/elf/%.o: tests/elf/%.c $(wildcard tests/elf/*.h)
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/elf/%-v3.o: tests/elf/%.c $(wildcard tests/elf/*.h)
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -mcpu=v3 -c $< -o $@

$(BUILD)/elf/%-g.o: tests/elf/%.c $(wildcard tests/elf/*.h)
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -g -mcpu=v2 -c $< -o $@

$(BUILD)/examples/%.bpf.o: examples/%.bpf.c
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -c $< -o $@

$(EXAMPLE_HOST): examples/host.c $(BUILD)/libbpfvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a $(LDLIBS)

# Every command of docs/examples.md, checked against its documented result.
TEST_ALL += $(BUILD)/tests/test_examples

$(BUILD)/tests/test_examples: tests/examples.sh
	@mkdir -p $(@D)
	sed -e 's|@ROOT@|$(CURDIR)|g' -e 's|@BUILD@|$(BUILD)|g' $< > $@
	chmod +x $@
