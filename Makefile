# AMPC developer entry points. Each target installs what is missing first.
#
#   make test   install, configure, build, run the lit and unit tests
#   make demo   install, configure, build, run the main job
#   make build  configure and build only
#   make bench  GEMM and training-step benchmarks next to PyTorch and
#               libxsmm (installs python3-torch, libxsmm-dev); on an AVX-512
#               machine, AVX2 code's GEMMs and steps too
#   make sanitize  build with ASan + UBSan into build-sanitize and run the lit
#               and unit tests there
#   make fuzz   build the libFuzzer targets (build-sanitize) and run each for
#               FUZZ_SECONDS (default 60); FUZZ_TARGETS picks some,
#               FUZZ_SEED makes a run repeatable

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SANITIZE_DIR ?= build-sanitize
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_SEED ?=

.PHONY: all setup configure build test demo bench clean docs sanitize fuzz

all: build

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@bash scripts/run-tests.sh $(BUILD_DIR)

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)

bench: build
	@bash scripts/setup-bench.sh
	/usr/bin/python3 bench/compare.py --build $(BUILD_DIR) --threads 1
	/usr/bin/python3 bench/compare.py --build $(BUILD_DIR) --threads $$(nproc)
	/usr/bin/python3 bench/micro_kernels.py --build $(BUILD_DIR)
	/usr/bin/python3 bench/steps.py --build $(BUILD_DIR)
	@# On an AVX-512 machine, AVX2 code's speed as well (#12: every ISA level
	@# the host runs is measured), next to PyTorch in the same runs.
	@if grep -qw avx512f /proc/cpuinfo; then \
	  set -e; \
	  /usr/bin/python3 bench/compare.py --build $(BUILD_DIR) --threads 1 --features=-avx512f --filter gemm; \
	  /usr/bin/python3 bench/steps.py --build $(BUILD_DIR) --features=-avx512f --models mlp,cnn,transformer_block,mlp_big; \
	fi
	/usr/bin/python3 bench/data_parallel.py --build $(BUILD_DIR)

sanitize: setup
	@bash scripts/run-sanitized-tests.sh $(SANITIZE_DIR)

fuzz: setup
	@bash scripts/build-sanitized.sh $(SANITIZE_DIR)
	@FUZZ_SEED=$(FUZZ_SEED) bash scripts/fuzz.sh $(SANITIZE_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

docs: configure
	cmake --build $(BUILD_DIR) --target ampc-doc

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR)
