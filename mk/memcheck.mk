# Memcheck: valgrind's memcheck runs a set of the tests, for what the
# sanitizers miss: reads of memory never written (a run's per-run state is
# set up only as far as its program needs, so a field read without being set
# shows up here) in the library and in the code the JIT made, which
# MemorySanitizer cannot follow. Tests that ask the kernel (libbpf's
# syscalls confuse memcheck) or take minutes under it are left out; test_diff
# runs its default 10,000 programs. `make memcheck`; any error fails it. The
# tests share no files, so they run one per CPU (MEMCHECK_JOBS).
MEMCHECK_TESTS = test_api test_asm test_btf test_callbacks test_debug test_diff test_disasm \
                 test_elf test_escape test_helpers test_jit_calls test_map_inline test_mapinmap \
                 test_jit_thread test_progtype test_regress test_runcost test_stack_zero \
                 test_verifier
MEMCHECK = valgrind -q --error-exitcode=99 --leak-check=no
MEMCHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)

.PHONY: memcheck
memcheck: all $(TEST_ALL)
	@command -v valgrind >/dev/null || { echo "memcheck: valgrind is not installed"; exit 1; }
	@BUILD=$(BUILD) BPFVM_EXEC="$(MEMCHECK)" RUN_JOBS=$(MEMCHECK_JOBS) sh tests/run_tests.sh \
	    $(MEMCHECK_TESTS:%=$(BUILD)/tests/%)
