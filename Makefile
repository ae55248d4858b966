# eddy — the two commands: `make run` and `make test`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
DATA       ?= ./data
CMAKE_FLAGS ?=

.PHONY: all build build-test build-asan run test unit compat gen gen-check format check-format bench clean deps deps-test

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# Release build of the broker (tests are built by build-test).
build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DEDDY_TESTS=OFF -DEDDY_COMPAT=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-test: deps-test
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DEDDY_TESTS=ON -DEDDY_COMPAT=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps-test
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEDDY_SANITIZE=ON -DEDDY_TESTS=ON -DEDDY_COMPAT=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@mkdir -p $(DATA)
	exec $(BUILD)/eddy --listeners PLAINTEXT://127.0.0.1:9092 --log.dirs $(DATA)

test: build-test build-asan
	@JOBS=$(JOBS) scripts/test.sh

unit: build-test
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

compat: build-test
	@/usr/bin/python3 compat-tests/run.py --eddy $(BUILD)/eddy --build-dir $(BUILD)

gen:
	@python3 protocol/gen/gen_messages.py
	@python3 broker/gen/gen_configs.py

gen-check:
	@python3 protocol/gen/gen_messages.py --check
	@python3 broker/gen/gen_configs.py --check

format:
	@clang-format -i $$(git ls-files '*.c' '*.h' | grep -v '^protocol/gen/')

check-format:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h' | grep -v '^protocol/gen/')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Performance harness (bench/README.md): a Release build of eddy and the
# bench tools in $(BENCH_BUILD), then bench/perf.sh (eddy next to the peer
# and the ceiling, tables on stdout), then the footprint and durability
# probes when their scripts exist. About ten minutes on two cores.
BENCH_BUILD ?= build-bench
BENCH_TOOLS := eddy bench_rdkafka bench_peer bench_ceiling \
	$(patsubst bench/%.c,%,$(wildcard bench/bench_footprint.c bench/bench_durable.c))
bench: deps-test
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DEDDY_BENCH=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BENCH_BUILD) -j $(JOBS) --target $(BENCH_TOOLS)
	@status=0; bench/perf.sh $(BENCH_BUILD) || status=1; \
	for s in footprint durable; do \
	    if [ -x bench/$$s.sh ]; then bench/$$s.sh $(BENCH_BUILD) || status=1; fi; \
	done; exit $$status

# Fuzzing (fuzz/README.md): a clang build with -DEDDY_FUZZ=ON, then every
# libFuzzer target for FUZZ_SECONDS each, one process at a time, into a
# scratch copy of its corpus under $(FUZZ_BUILD)/fuzz-run/ (the committed
# corpora only grow by hand). Prints the executions per target; fails when a
# target found a crash (its input is left in fuzz-run/<target>/).
FUZZ_BUILD   ?= build-fuzz-clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= record_batch request records decompress log_recovery group_ops internal_records append_validate message_set replica_append etcd_replies
.PHONY: fuzz
fuzz:
	@command -v clang >/dev/null || { echo "make fuzz needs clang: apt-get install -y clang libclang-rt-14-dev"; exit 1; }
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDDY_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@failed=""; for t in $(FUZZ_TARGETS); do \
	    run="$(abspath $(FUZZ_BUILD))/fuzz-run/$$t"; mkdir -p "$$run/corpus"; \
	    cp fuzz/corpus/$$t/* "$$run/corpus/"; rm -f "$$run"/fuzz-*.log; \
	    (cd "$$run" && "$(abspath $(FUZZ_BUILD))/fuzz/fuzz_$$t" -max_total_time=$(FUZZ_SECONDS) -workers=1 -jobs=1 \
	        -print_final_stats=1 -artifact_prefix="$$run/" corpus >run.log 2>&1) || failed="$$failed $$t"; \
	    execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' "$$run"/fuzz-0.log "$$run"/run.log 2>/dev/null | tail -n 1); \
	    printf '%-14s %12s executions in %ss\n' "$$t" "$${execs:-?}" "$(FUZZ_SECONDS)"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in:$$failed (see $(FUZZ_BUILD)/fuzz-run/<target>/)"; exit 1; fi
