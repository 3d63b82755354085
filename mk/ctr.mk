# Loop counters in the checked JIT's bounds analysis: tests/test_jit_ctr.c
# (in TEST_ALL already: the Makefile takes every tests/test_*.c) and
# test_jit_pkt.c share the run-and-compare harness tests/jit_mem_test.h.
$(BUILD)/tests/test_jit_ctr $(BUILD)/tests/test_jit_pkt: tests/jit_test.h tests/jit_mem_test.h
