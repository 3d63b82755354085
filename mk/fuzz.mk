# libFuzzer harnesses (tests/fuzz/fuzz_*.c), built with clang's
# -fsanitize=fuzzer,address,undefined. `make fuzz` runs each harness for
# FUZZ_SECONDS, seeded from the test suite; any finding fails the target and
# leaves the reproducer in $(BUILD)/fuzz/artifacts/ (tests/fuzz/report.sh prints
# it, compressed, with the sanitizer's report). One process per harness; the
# corpora grow in $(BUILD)/fuzz/corpus/ across runs.
# $(BUILD)/fuzz/summary.txt gets one line per harness: seconds, executions.
FUZZ_SECONDS ?= 30
FUZZ_CC      ?= clang
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 \
                -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -Itests/fuzz
FUZZERS      = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    = $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)
# The library is compiled once (with coverage for the fuzzer) and linked into
# every harness.
FUZZ_OBJ     = $(LIB_SRC:src/%.c=$(BUILD)/fuzz/obj/%.o)
.SECONDARY: $(FUZZ_OBJ)

.PHONY: fuzz fuzz-build fuzz-seeds $(FUZZERS:%=fuzz-run-%)
fuzz-build: $(FUZZ_BINS)

$(BUILD)/fuzz/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(FUZZ_OPT) -c $< -o $@
# The interpreter's one large instrumented function takes clang 100 s at -O1
# (CodeGenPrepare, superlinear in its size) and 3 s at -O0.
$(BUILD)/fuzz/obj/interp.o: FUZZ_OPT = -O0

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJ) -lm -lpthread

fuzz-seeds: all
	@sh tests/fuzz/seeds.sh $(BUILD)

# One harness per CPU at a time (FUZZ_JOBS), each with its own corpus, log
# and artifacts; make prints each harness's lines together.
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
fuzz: fuzz-build fuzz-seeds
	@mkdir -p $(BUILD)/fuzz/artifacts; : > $(BUILD)/fuzz/summary.txt
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) --output-sync=target $(FUZZERS:%=fuzz-run-%)
	@echo "fuzz: no findings"

$(FUZZERS:%=fuzz-run-%): fuzz-run-%:
	@mkdir -p $(BUILD)/fuzz/corpus/$*; echo "fuzz: $* for $(FUZZ_SECONDS)s"; \
	$(BUILD)/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=4096 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/artifacts/$*- \
	    $(BUILD)/fuzz/corpus/$* $(BUILD)/fuzz/seeds/$* 2>$(BUILD)/fuzz/$*.log \
	    || { sh tests/fuzz/report.sh $(BUILD)/fuzz/$*.log $(BUILD)/fuzz/artifacts/$*-; \
	         echo "fuzz: $* FOUND A PROBLEM"; exit 1; }; \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(BUILD)/fuzz/$*.log); \
	echo "$* $(FUZZ_SECONDS)s $$execs executions" | tee -a $(BUILD)/fuzz/summary.txt
