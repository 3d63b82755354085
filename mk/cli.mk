# The command-line test: a shell script run by `make test` after the C tests.
# It runs the tools built into $(BUILD) (the script reads $BUILD).
TEST_ALL += tests/test_cli.sh
# The tools and the data-driven runner share tools/tool_util.h.
$(BUILD)/bpfvm $(BUILD)/bpfvm_plugin $(BUILD)/tests/test_data $(BUILD)/tests/test_data-nocg: \
    tools/tool_util.h
