# The command-line test: a shell script run by `make test` after the C tests.
# It runs the tools built into $(BUILD) (the script reads $BUILD).
TEST_ALL += tests/test_cli.sh
