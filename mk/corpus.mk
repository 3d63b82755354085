# The verifier's tests of clang output.
# test_verify_deep compiles tests/elf/voidfn.c natively for its expected results.
$(BUILD)/tests/test_verify_deep: tests/elf/voidfn.c

# test_verify_twins also asks the kernel about its programs when libbpf's
# headers are installed (the library itself never uses libbpf).
HAVE_LIBBPF := $(shell test -e /usr/include/bpf/bpf.h && echo yes)
ifeq ($(HAVE_LIBBPF),yes)
$(BUILD)/tests/test_verify_twins: tests/test_verify_twins.c tests/test.h $(BUILD)/libbpfvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DBPFVM_TEST_LIBBPF -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a \
	    -lbpf $(LDLIBS)
endif
