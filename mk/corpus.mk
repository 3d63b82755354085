# The verifier's tests of clang output.
# test_verify_deep compiles tests/elf/voidfn.c natively for its expected results.
$(BUILD)/tests/test_verify_deep: tests/elf/voidfn.c
