# test_jit_align: where the x86-64 JIT places loop heads.
TEST_ALL += $(BUILD)/tests/test_jit_align
$(BUILD)/tests/test_jit_align: tests/jit_test.h
