#!/usr/bin/env bash
# The sanitizer stage: builds AMPC with ASan + UBSan (scripts/build-sanitized.sh)
# and runs the lit and unit suites on that build; any sanitizer report fails
# the test it happens in.
#
#   scripts/run-sanitized-tests.sh [BUILD_DIR]
set -euo pipefail
BUILD_DIR="${1:-build-sanitize}"
cd "$(dirname "$0")/.."
bash scripts/build-sanitized.sh "$BUILD_DIR"
source scripts/sanitizer-env.sh
bash scripts/run-tests.sh "$BUILD_DIR"
