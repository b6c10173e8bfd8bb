# Switchyard: the two commands are `make run` and `make test`.
SHELL := /bin/bash
BUILD_DIR      ?= build
ASAN_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS   ?= 30
TEST_FUZZ_SECONDS ?= 10
CONFIG         ?= config/quickstart.yaml
PORT           ?= 4000
JOBS           ?= $(shell nproc)
# CI builds treat warnings as errors.
WERROR         := $(if $(filter true 1,$(CI)),ON,OFF)

export CCACHE_SLOPPINESS := pch_defines,time_macros
export CCACHE_DIR ?= $(CURDIR)/.ccache

.PHONY: all deps configure build build-asan run test bench bench-micro fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

# Configuring again is cheap and keeps the options (such as CI's -Werror) in step with the environment.
configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWITCHYARD_WERROR=$(WERROR) >/dev/null

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSWITCHYARD_SANITIZE=ON \
	  -DSWITCHYARD_WERROR=$(WERROR) >/dev/null
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)

# Only the gateway itself: the tests are not built for `make run`.
run: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target switchyard
	$(BUILD_DIR)/switchyard serve --config $(CONFIG) --port $(PORT)

# A short run of every fuzz target, then every suite, then the same suites against the sanitizer build.
test: build build-asan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	@scripts/run-tests.sh $(BUILD_DIR) $(ASAN_BUILD_DIR)

# libFuzzer targets (tests/fuzz/*.cpp, built by clang), each run for FUZZ_SECONDS from its seed corpus in
# tests/fuzz/corpus/<target>/; the inputs it finds, and any crash, stay in the fuzz build directory.
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSWITCHYARD_FUZZ=ON -DSWITCHYARD_TESTS=OFF -DSWITCHYARD_WERROR=$(WERROR) >/dev/null
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target fuzz_targets
	@set -e; for src in tests/fuzz/*.cpp; do \
	  t=$$(basename $$src .cpp); \
	  mkdir -p $(FUZZ_BUILD_DIR)/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_BUILD_DIR)/$$t- \
	    $(FUZZ_BUILD_DIR)/corpus/$$t tests/fuzz/corpus/$$t; \
	done

# Side-by-side load benchmark (bench/run.py): direct upstream, nginx, switchyard with tracing off and on, Portkey.
# Writes bench/results/<date>.md and .json and bench/results/latest.md. ~7.5 minutes after the build of the gateway
# (only the gateway: not the tests); BENCH_QUICK=1: ~2 minutes.
bench: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target switchyard
	SWITCHYARD_BIN=$(abspath $(BUILD_DIR))/switchyard bench/run.sh

# Micro-benchmarks of hot paths (Google Benchmark, bench/micro/), built in the release build directory.
bench-micro: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target switchyard_micro_bench
	$(BUILD_DIR)/switchyard_micro_bench --benchmark_min_time=0.2

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
