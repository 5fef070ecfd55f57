#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU (H100/H200): builds AMPC
# (or reuses an existing build), runs the GPU tests (the JIT's CUDA target
# against the CPU back end: exhaustive casts bit for bit, matmuls, batch
# matmul and conv in both tensor-core tilings, reductions, a short training
# run with its test accuracy, one data-parallel rank over NCCL against the
# step without it and the CPU's MPI step; ampc-run on the GPU; ptxas on every zoo
# training step; the kernel emulator) and the GPU benchmarks (bf16 and fp8
# GEMM 4096^3 and 8192^3 in both tilings next to cuBLAS/cuBLASLt measured in
# the same run, the MLP training step per policy), and writes the logs and
# results.md into OUT_DIR. Every stage has a time limit; the whole script
# stays under 8 minutes.
#
#   scripts/gpu-check.sh OUT_DIR [BUILD_DIR]
set -uo pipefail
OUT="${1:?usage: scripts/gpu-check.sh OUT_DIR [BUILD_DIR]}"
BUILD_DIR="${2:-build}"
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
LIT=/usr/lib/llvm-22/bin/lit
START=$(date +%s)
RESULTS="$OUT/results.md"

# Every stage ends by this time: the whole script stays under 8 minutes.
DEADLINE=$(( START + 470 ))

stage() { # stage NAME SECONDS COMMAND...: runs it with a limit, logs it
  local name=$1 limit=$2
  shift 2
  local begin=$(date +%s)
  local left=$(( DEADLINE - begin ))
  if [ $left -le 5 ]; then
    echo "| $name | SKIPPED (the 8-minute budget is spent) | 0s |" >> "$RESULTS"
    echo "gpu-check: $name: skipped, out of time"
    return 1
  fi
  [ $limit -gt $left ] && limit=$left
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local took=$(( $(date +%s) - begin ))
  local what="ok"
  [ $rc -eq 124 ] && what="TIMED OUT after ${limit}s"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && what="FAILED (exit $rc)"
  echo "| $name | $what | ${took}s |" >> "$RESULTS"
  echo "gpu-check: $name: $what (${took}s)"
  return $rc
}

{
  echo "# AMPC GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo '```'
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not available"
  echo '```'
  echo
  echo "| stage | result | time |"
  echo "|---|---|---|"
} > "$RESULTS"

# Build: reuse what is there (incrementally), else configure from scratch.
if [ -f "$BUILD_DIR/build.ninja" ]; then
  stage build 240 cmake --build "$BUILD_DIR" -j "$(nproc)"
else
  stage build 300 make build BUILD_DIR="$BUILD_DIR"
fi || { echo "gpu-check: the build failed, see $OUT/build.log"; exit 1; }

stage unit-tests 90 "$BUILD_DIR/test/unit/AMPCUnitTests" \
  --gtest_filter='Cuda*:Fp8Scaling*' --gtest_color=no
stage lit-gpu-tests 180 "$LIT" -v "$BUILD_DIR/test/Integration/GPU" \
  "$BUILD_DIR/test/Pipelines/ampc-gpu-pipeline.mlir"
stage benchmarks 150 "$BUILD_DIR/bin/ampc-gpu-bench" --sizes=4096,8192 \
  --repeats=3 --steps=30

{
  echo
  echo "## Tests"
  echo '```'
  grep -E '^\[ +(OK|FAILED|SKIPPED) +\]|cuda \]' "$OUT/unit-tests.log" || true
  grep -E '^(PASS|FAIL|UNSUPPORTED|XFAIL):' "$OUT/lit-gpu-tests.log" || true
  echo '```'
  echo
  echo "## Benchmarks (same run)"
  echo
  grep '^|' "$OUT/benchmarks.log" || echo "(no benchmark output; see benchmarks.log)"
  echo
  echo "Total: $(( $(date +%s) - START ))s"
} >> "$RESULTS"
cat "$RESULTS"
