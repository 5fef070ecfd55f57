#!/usr/bin/env bash
# Runs the libFuzzer targets of a sanitizer build (scripts/build-sanitized.sh)
# for SECONDS each, starting from the seed corpora in fuzz/corpus/ and the
# corpus earlier runs grew in BUILD_DIR/fuzz-corpus/; prints executions,
# executions per second and new corpus entries per target. A crash, sanitizer
# report, leak, timeout or failed check leaves its input in
# BUILD_DIR/fuzz-artifacts/ and fails the script.
#
#   scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]   (targets: ir npy idx
#                                                    literal checkpoint)
#
# FUZZ_SEED=N makes the mutations repeatable (CI uses it, so that its short
# run does the same work every time); unset, each run explores anew.
set -uo pipefail
BUILD_DIR="${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]}"
SECONDS_EACH="${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]}"
shift 2
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(npy idx literal checkpoint ir)
cd "$(dirname "$0")/.."
source scripts/sanitizer-env.sh
mkdir -p "$BUILD_DIR/fuzz-artifacts"

failed=0
printf '%-11s %12s %10s %8s  %s\n' target executions "exec/s" corpus result
for t in "${TARGETS[@]}"; do
  bin="$BUILD_DIR/bin/fuzz/${t}_fuzzer"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is missing (build it with scripts/build-sanitized.sh)"
    exit 1
  fi
  corpus="$BUILD_DIR/fuzz-corpus/$t"
  mkdir -p "$corpus"
  # Compiling a model takes a while: longer per-input limits for ir.
  extra=(-max_len=4096 -timeout=10)
  [ "$t" = ir ] && extra=(-max_len=256 -timeout=120 -rss_limit_mb=4096)
  [ -n "${FUZZ_SEED:-}" ] && extra+=(-seed="$FUZZ_SEED")
  log="$BUILD_DIR/fuzz-artifacts/$t.log"
  "$bin" "$corpus" "fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" \
    -print_final_stats=1 -artifact_prefix="$BUILD_DIR/fuzz-artifacts/$t-" \
    "${extra[@]}" > "$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(ls "$corpus" | wc -l)
  if [ $rc -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc; $log)"
    failed=1
  fi
  printf '%-11s %12s %10s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$size" "$result"
  if [ $rc -ne 0 ]; then
    grep -m1 -B2 -A30 "ERROR\|ir_fuzzer:\|deadly signal" "$log" | head -60
  fi
done
exit $failed
