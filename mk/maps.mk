# Maps: the kernel oracle for map programs (tests/kernel/maps/*.bpf.c, built
# with BTF and the kernel's headers into $(BUILD)/kernel/maps/, and
# tests/kernel/maps/oracle.c, linked with libbpf).
# (HAVE_LIBBPF and HOST_MULTIARCH come from the Makefile.)
MAPS_BPF_FLAGS  = -O2 -g -target bpf -Wall -Werror \
                  $(if $(HOST_MULTIARCH),-I/usr/include/$(HOST_MULTIARCH))
MAPS_BPF_OBJ    = $(patsubst tests/kernel/maps/%.bpf.c,$(BUILD)/kernel/maps/%.bpf.o,\
                    $(wildcard tests/kernel/maps/*.bpf.c))

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

# Programs on several threads sharing maps (and reaching inner maps the host
# swaps: test_mapinmap), also under ThreadSanitizer.
TSAN_MAPS = $(TSAN_BUILD)/tests/test_map_threads $(TSAN_BUILD)/tests/test_mapinmap
.PHONY: tsan-maps
tsan: tsan-maps
tsan-maps:
	$(MAKE) BUILD=$(TSAN_BUILD) OPT="-O1 -g" EXTRA_CFLAGS="$(TSAN)" LDFLAGS="$(TSAN)" $(TSAN_MAPS)
	@BUILD=$(TSAN_BUILD) sh tests/run_tests.sh $(TSAN_MAPS)

# Objects for test_maps (tests/maps/*.bpf.c, with BTF).
MAPS_TEST_OBJ = $(patsubst tests/maps/%.bpf.c,$(BUILD)/maps/%.bpf.o,$(wildcard tests/maps/*.bpf.c))
ifeq ($(HAVE_BPF_CC),yes)
EXTRA_ALL += $(MAPS_TEST_OBJ)
$(BUILD)/tests/test_maps: $(MAPS_TEST_OBJ)
endif

$(BUILD)/maps/%.bpf.o: tests/maps/%.bpf.c
	@mkdir -p $(@D)
	$(BPF_CC) $(MAPS_BPF_FLAGS) -c $< -o $@

# The command line with maps (ls, disasm, test-run --json and --map).
TEST_ALL += $(BUILD)/tests/test_maps_cli

$(BUILD)/tests/test_maps_cli: tests/maps_cli.sh
	@mkdir -p $(@D)
	sed -e 's|@ROOT@|$(CURDIR)|g' -e 's|@BUILD@|$(BUILD)|g' $< > $@
	chmod +x $@

# The example host with maps, and its program (BTF for its maps: -g).
EXTRA_ALL += $(BUILD)/examples/maps_host

$(BUILD)/examples/counter.bpf.o: examples/counter.bpf.c
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -g -c $< -o $@

$(BUILD)/examples/maps_host: examples/maps_host.c $(BUILD)/libbpfvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a $(LDLIBS)

# Map operation costs (bench/maps.c): make bench-maps.
.PHONY: bench-maps
bench-maps: $(BUILD)/bench/maps
	$(BUILD)/bench/maps

# With libbpf (a benchmark-only dependency) it also times the kernel.
$(BUILD)/bench/maps: bench/maps.c $(BUILD)/libbpfvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(if $(HAVE_LIBBPF),-DHAVE_LIBBPF) $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a \
	    $(if $(HAVE_LIBBPF),-lbpf) $(LDLIBS)
