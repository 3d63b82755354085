# Tests loading the bench's BPF objects share tests/bench_object.h.
$(BUILD)/tests/test_jit_loops $(BUILD)/tests/test_jit_pkt: tests/bench_object.h
