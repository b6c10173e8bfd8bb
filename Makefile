# Switchyard: the two commands are `make run` and `make test`.
SHELL := /bin/bash
BUILD_DIR      ?= build
ASAN_BUILD_DIR ?= build-asan
CONFIG         ?= config/quickstart.yaml
PORT           ?= 4000
JOBS           ?= $(shell nproc)
# CI builds treat warnings as errors.
WERROR         := $(if $(filter true 1,$(CI)),ON,OFF)

export CCACHE_SLOPPINESS := pch_defines,time_macros
export CCACHE_DIR ?= $(CURDIR)/.ccache

.PHONY: all deps configure build build-asan run test bench bench-micro format clean

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

# Every suite, then the same suites against the sanitizer build.
test: build build-asan
	@scripts/run-tests.sh $(BUILD_DIR) $(ASAN_BUILD_DIR)

# Side-by-side load benchmark (bench/run.py): direct upstream, nginx, switchyard with tracing off and on, Portkey.
# Writes bench/results/<date>.md and .json and bench/results/latest.md. BENCH_QUICK=1: a ~3 minute run.
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
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
