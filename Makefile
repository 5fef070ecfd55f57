# AMPC developer entry points. Each target installs what is missing first.
#
#   make test   install, configure, build, run the lit and unit tests
#   make demo   install, configure, build, run the main job
#   make build  configure and build only
#   make bench  GEMM and training-step benchmarks next to PyTorch (installs
#               python3-torch)

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup configure build test demo bench clean docs

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
	/usr/bin/python3 bench/steps.py --build $(BUILD_DIR)

docs: configure
	cmake --build $(BUILD_DIR) --target ampc-doc

clean:
	rm -rf $(BUILD_DIR)
