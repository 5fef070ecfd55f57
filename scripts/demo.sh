#!/usr/bin/env bash
# The main job of AMPC as far as it exists: take each model of the zoo through
# ampc-opt (parse, verify, canonicalize, print) and show the amp dialect at work
# on the bundled example. Grows into the training demo.
set -euo pipefail
BUILD_DIR="${1:-build}"
OPT="$BUILD_DIR/bin/ampc-opt"
cd "$(dirname "$0")/.."

shopt -s nullglob
models=(examples/models/*.mlir)
if [ ${#models[@]} -eq 0 ]; then
  echo "no models in examples/models" >&2
  exit 1
fi

for model in "${models[@]}"; do
  echo "== $model =="
  "$OPT" "$model" --canonicalize | sed 's/^/  /'
done
