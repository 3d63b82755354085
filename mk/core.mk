# The interpreter tests also run against the switch-dispatch build.
TEST_ALL += $(BUILD)/tests/test_interp-nocg

$(BUILD)/tests/test_interp-nocg: tests/test_interp.c tests/test.h $(BUILD)/libbpfvm-nocg.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm-nocg.a $(LDLIBS)

# The interpreter's handlers start on 64-byte lines: without it, where the
# linker happens to put run() moved single programs' times by up to 1.5x
# (docs/performance.md). The compiler's -falign-labels would also pad the
# labels inside handlers, padding that runs (5% more instructions); so
# interp.c goes through assembly, and mk/align-handlers.awk aligns exactly
# the labels of the handler table.
$(BUILD)/obj/interp.o: src/interp.c $(HDRS) mk/align-handlers.awk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -falign-functions=64 -S $< -o $(@:.o=.s)
	awk -f mk/align-handlers.awk $(@:.o=.s) $(@:.o=.s) > $(@:.o=.aligned.s)
	$(CC) $(CFLAGS) -c $(@:.o=.aligned.s) -o $@
