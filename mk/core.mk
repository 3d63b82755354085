# The interpreter tests also run against the switch-dispatch build.
TEST_ALL += $(BUILD)/tests/test_interp-nocg

$(BUILD)/tests/test_interp-nocg: tests/test_interp.c tests/test.h $(BUILD)/libbpfvm-nocg.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm-nocg.a $(LDLIBS)

# The interpreter's handlers start on 64-byte lines: without it, where the
# linker happens to put run() moved single programs' times by up to 1.5x
# (docs/performance.md). GCC's option; compilers without it go without.
INTERP_ALIGN := $(shell $(CC) -falign-labels=64 -Werror -x c -c /dev/null -o /dev/null \
                  2>/dev/null && echo -falign-labels=64 -falign-functions=64)
$(BUILD)/obj/interp.o $(BUILD)/obj-nocg/interp.o: CFLAGS += $(INTERP_ALIGN)
