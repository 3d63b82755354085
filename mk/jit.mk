# JIT: a longer interpreter-vs-JIT differential run than `make test` does.
#   make diff-long [DIFF_COUNT=200000] [DIFF_SEED=1000000]
DIFF_COUNT ?= 200000
DIFF_SEED  ?= 1000000
.PHONY: diff-long
diff-long: $(BUILD)/tests/test_diff
	$(BUILD)/tests/test_diff $(DIFF_COUNT) $(DIFF_SEED)
