#!/usr/bin/env bash
# Configures and builds AMPC with AddressSanitizer + UndefinedBehaviorSanitizer
# and libFuzzer coverage (clang-22) into BUILD_DIR (default build-sanitize):
# the libraries, tools and tests of the sanitizer stage and the fuzz targets.
#
#   scripts/build-sanitized.sh [BUILD_DIR]
set -euo pipefail
BUILD_DIR="${1:-build-sanitize}"
cd "$(dirname "$0")/.."
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja \
    -DAMPC_SANITIZE=address,undefined -DAMPC_BUILD_FUZZERS=ON \
    -DAMPC_BUILD_PYTHON=OFF -DAMPC_BUILD_BENCH=OFF
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
