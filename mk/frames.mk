# test_frames: tests/elf/frames.c (local variables passed by address to
# called functions) compiled natively for the expected results, its clang
# objects run by both engines, and, with libbpf's headers installed, by the
# kernel as socket filters (the library itself never uses libbpf).
ifeq ($(HAVE_BPF_CC),yes)
$(BUILD)/tests/test_frames: $(BUILD)/elf/frames.o $(BUILD)/elf/frames-v3.o $(BUILD)/elf/frames-g.o
endif
$(BUILD)/tests/test_frames: tests/elf/frames.c tests/elf/bpf.h tools/tool_util.h
$(eval $(call LIBBPF_TEST,test_frames))
