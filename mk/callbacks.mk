# Callbacks (bpf_loop, bpf_for_each_map_elem): tests/test_callbacks.c runs
# bytecode and, when clang is there, the objects of tests/callbacks/*.c
# (built into $(BUILD)/callbacks/; helpers by number, no kernel headers).
CALLBACK_OBJ = $(patsubst tests/callbacks/%.c,$(BUILD)/callbacks/%.o,$(wildcard tests/callbacks/*.c))

# (this fragment is read before elf.mk, which sets BPF_CC and HAVE_BPF_CC)
ifneq ($(shell command -v $(or $(BPF_CC),clang) 2>/dev/null),)
EXTRA_ALL += $(CALLBACK_OBJ)
$(BUILD)/tests/test_callbacks: $(CALLBACK_OBJ)
endif

$(BUILD)/callbacks/%.o: tests/callbacks/%.c
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -c $< -o $@
