# Loop counters in the checked JIT's bounds analysis (tests/test_jit_ctr.c).
TEST_ALL += $(BUILD)/tests/test_jit_ctr
$(BUILD)/tests/test_jit_ctr $(BUILD)/tests/test_jit_pkt: tests/jit_test.h tests/jit_mem_test.h
