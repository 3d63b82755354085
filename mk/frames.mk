# test_frames: tests/elf/frames.c (local variables passed by address to
# called functions) compiled natively for the expected results, its clang
# objects run by both engines, and, with libbpf's headers installed, by the
# kernel as socket filters (the library itself never uses libbpf).
FRAMES_HAVE_LIBBPF := $(shell test -e /usr/include/bpf/bpf.h && echo yes)
ifeq ($(HAVE_BPF_CC),yes)
$(BUILD)/tests/test_frames: $(BUILD)/elf/frames.o $(BUILD)/elf/frames-v3.o $(BUILD)/elf/frames-g.o
endif
$(BUILD)/tests/test_frames: tests/elf/frames.c tests/elf/bpf.h tools/tool_util.h
ifeq ($(FRAMES_HAVE_LIBBPF),yes)
$(BUILD)/tests/test_frames: tests/test_frames.c tests/test.h $(BUILD)/libbpfvm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DBPFVM_TEST_LIBBPF -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libbpfvm.a \
	    -lbpf $(LDLIBS)
endif
