#!/usr/bin/env bash
# Runs every AMPC test: the lit suite, then the GoogleTest suite through ctest.
# Both always run; the script fails if either has a failure.
set -uo pipefail
BUILD_DIR="${1:-build}"
LIT=/usr/lib/llvm-22/bin/lit

echo "== lit tests =="
"$LIT" -sv "$BUILD_DIR/test"
lit_rc=$?

echo "== unit tests (ctest) =="
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
ctest_rc=$?

if [ $lit_rc -ne 0 ] || [ $ctest_rc -ne 0 ]; then
  echo "FAILED: lit exit $lit_rc, ctest exit $ctest_rc"
  exit 1
fi
