# Hardening tests: allocation-failure injection reads the ELF test objects;
# the concurrency test also runs under ThreadSanitizer (`make tsan`, its own
# build in build/tsan).
ifeq ($(HAVE_BPF_CC),yes)
$(BUILD)/tests/test_alloc: $(ELF_TEST_OBJ)
endif

TSAN = -fsanitize=thread -fno-omit-frame-pointer
.PHONY: tsan
tsan:
	$(MAKE) BUILD=build/tsan OPT="-O1 -g" EXTRA_CFLAGS="$(TSAN)" LDFLAGS="$(TSAN)" \
	    build/tsan/tests/test_threads
	@BUILD=build/tsan sh tests/run_tests.sh build/tsan/tests/test_threads
