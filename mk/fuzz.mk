# libFuzzer harnesses (tests/fuzz/fuzz_*.c), built with clang's
# -fsanitize=fuzzer,address,undefined. `make fuzz` runs each harness for
# FUZZ_SECONDS, seeded from the test suite; any finding fails the target and
# leaves the reproducer in $(BUILD)/fuzz/artifacts/ (tests/fuzz/report.sh prints
# it, compressed, with the sanitizer's report). One harness at a time,
# one process each; the corpora grow in $(BUILD)/fuzz/corpus/ across runs.
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

.PHONY: fuzz fuzz-build fuzz-seeds
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

fuzz: fuzz-build fuzz-seeds
	@set -e; mkdir -p $(BUILD)/fuzz/artifacts; : > $(BUILD)/fuzz/summary.txt; \
	for f in $(FUZZERS); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$f; \
	    echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
	    $(BUILD)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        -max_len=4096 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/artifacts/$$f- \
	        $(BUILD)/fuzz/corpus/$$f $(BUILD)/fuzz/seeds/$$f 2>$(BUILD)/fuzz/$$f.log \
	        || { sh tests/fuzz/report.sh $(BUILD)/fuzz/$$f.log $(BUILD)/fuzz/artifacts/$$f-; \
	             echo "fuzz: $$f FOUND A PROBLEM"; exit 1; }; \
	    execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(BUILD)/fuzz/$$f.log); \
	    echo "$$f $(FUZZ_SECONDS)s $$execs executions" | tee -a $(BUILD)/fuzz/summary.txt; \
	done; echo "fuzz: no findings"
