# Maps of maps under ThreadSanitizer: programs on two threads reach inner
# maps while the host swaps them (tests/test_mapinmap.c, test_swap_threads).
.PHONY: tsan-mapinmap
tsan: tsan-mapinmap
tsan-mapinmap:
	$(MAKE) BUILD=$(TSAN_BUILD) OPT="-O1 -g" EXTRA_CFLAGS="$(TSAN)" LDFLAGS="$(TSAN)" \
	    $(TSAN_BUILD)/tests/test_mapinmap
	@BUILD=$(TSAN_BUILD) sh tests/run_tests.sh $(TSAN_BUILD)/tests/test_mapinmap
