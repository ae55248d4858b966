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

gen-check:
	@python3 protocol/gen/gen_messages.py --check

format:
	@clang-format -i $$(git ls-files '*.c' '*.h' | grep -v '^protocol/gen/')

check-format:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h' | grep -v '^protocol/gen/')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
