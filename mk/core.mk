# The interpreter tests also run against the switch-dispatch build.
TEST_ALL += $(BUILD)/tests/test_interp-nocg

$(BUILD)/tests/test_interp-nocg: tests/test_interp.c tests/test.h $(BUILD)/libbpfvm-nocg.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm-nocg.a $(LDLIBS)
