# Tracing, the debugger, the profiler and source lines (docs/debugging.md).
# The command's trace, profile and debugger front ends live in their own header.
$(BUILD)/bpfvm: tools/bpfvm_debug.h
# interp_trace.c compiles interp.c again for traced runs.
$(BUILD)/obj/interp_trace.o $(BUILD)/obj-nocg/interp_trace.o $(BUILD)/fuzz/obj/interp_trace.o: src/interp.c
# (as for interp.o: clang's -O1 on the instrumented interpreter is too slow)
$(BUILD)/fuzz/obj/interp_trace.o: FUZZ_OPT = -O0
TEST_ALL += tests/test_debug.sh
# The examples again with -g (source lines), for docs/debugging.md.
EXAMPLE_G_OBJ = $(patsubst examples/%.bpf.c,$(BUILD)/examples/%-g.bpf.o,$(wildcard examples/*.bpf.c))
EXTRA_ALL += $(if $(HAVE_BPF_CC),$(EXAMPLE_G_OBJ))
$(BUILD)/examples/%-g.bpf.o: examples/%.bpf.c
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -g -c $< -o $@
$(BUILD)/tests/test_debug: tools/tool_util.h
