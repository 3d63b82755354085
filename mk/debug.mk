# Tracing, the debugger, the profiler and source lines (docs/debugging.md).
# The command's trace, profile and debugger front ends live in their own header.
$(BUILD)/bpfvm: tools/bpfvm_debug.h
$(BUILD)/tests/test_debug: $(ELF_TEST_OBJ)
