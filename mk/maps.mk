# Maps: the kernel oracle for map programs (tests/kernel/maps/*.bpf.c, built
# with BTF and the kernel's headers into $(BUILD)/kernel/maps/, and
# tests/kernel/maps/oracle.c, the only test linked with libbpf).
MULTIARCH      := $(shell $(CC) -print-multiarch 2>/dev/null)
MAPS_BPF_FLAGS  = -O2 -g -target bpf -Wall -Werror $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH))
MAPS_BPF_OBJ    = $(patsubst tests/kernel/maps/%.bpf.c,$(BUILD)/kernel/maps/%.bpf.o,\
                    $(wildcard tests/kernel/maps/*.bpf.c))
HAVE_LIBBPF    := $(shell test -f /usr/include/bpf/libbpf.h && echo yes)

ifeq ($(HAVE_BPF_CC)$(HAVE_LIBBPF),yesyes)
EXTRA_ALL += $(MAPS_BPF_OBJ)
TEST_ALL  += $(BUILD)/tests/maps_oracle
endif

$(BUILD)/kernel/maps/%.bpf.o: tests/kernel/maps/%.bpf.c tests/kernel/maps/common.h
	@mkdir -p $(@D)
	$(BPF_CC) $(MAPS_BPF_FLAGS) -c $< -o $@

$(BUILD)/tests/maps_oracle: tests/kernel/maps/oracle.c tests/test.h $(BUILD)/libbpfvm.a $(MAPS_BPF_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a -lbpf $(LDLIBS)
