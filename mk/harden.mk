# Hardening tests: allocation-failure injection reads the ELF test objects;
# the concurrency test also runs under ThreadSanitizer (`make tsan`, its own
# build in build/tsan; TSAN_BUILD=... for another compiler).
ifeq ($(HAVE_BPF_CC),yes)
$(BUILD)/tests/test_alloc: $(ELF_TEST_OBJ)
endif

TSAN = -fsanitize=thread -fno-omit-frame-pointer
TSAN_BUILD ?= build/tsan
.PHONY: tsan
tsan:
	$(MAKE) BUILD=$(TSAN_BUILD) OPT="-O1 -g" EXTRA_CFLAGS="$(TSAN)" LDFLAGS="$(TSAN)" \
	    $(TSAN_BUILD)/tests/test_threads
	@BUILD=$(TSAN_BUILD) sh tests/run_tests.sh $(TSAN_BUILD)/tests/test_threads
