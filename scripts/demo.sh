#!/usr/bin/env bash
# The main job of AMPC: compile the zoo MLP (784-256-10,
# softmax cross-entropy) under each policy with the precision pipeline and show
# what was decided (the precision report of each policy), a side-by-side
# summary for every zoo model, then run the MLP on real Fashion-MNIST images
# under each policy on the CPU, and train it for 3 epochs under each policy.
set -euo pipefail
BUILD_DIR="${1:-build}"
cd "$(dirname "$0")/.."
OPT="$BUILD_DIR/bin/ampc-opt"
MODEL=examples/models/mlp.mlir
OUT_DIR="$BUILD_DIR/demo"
mkdir -p "$OUT_DIR"

"$OPT" examples/models/amp-tour.mlir --canonicalize > "$OUT_DIR/amp-tour.mlir"
echo "amp dialect tour: examples/models/amp-tour.mlir parses, verifies and canonicalizes"

for policy in fp32 bf16 fp16 fp8; do
  echo
  echo "== $MODEL under policy=$policy =="
  "$OPT" "$MODEL" --ampc-train-pipeline="policy=$policy" \
      -o "$OUT_DIR/mlp-$policy.mlir" \
      --amp-precision-report="output=$OUT_DIR/mlp-$policy.report"
  cat "$OUT_DIR/mlp-$policy.report"
done

for model in examples/models/cnn.mlir examples/models/transformer_block.mlir; do
  name=$(basename "$model" .mlir)
  for policy in fp32 bf16 fp16 fp8; do
    "$OPT" "$model" --ampc-train-pipeline="policy=$policy" \
        -o "$OUT_DIR/$name-$policy.mlir" \
        --amp-precision-report="output=$OUT_DIR/$name-$policy.report"
  done
done

echo
echo "== summary: ops per compute type, casts, bytes converted per forward call =="
for name in mlp cnn transformer_block; do
  echo "$name:"
  for policy in fp32 bf16 fp16 fp8; do
    printf '  %-6s %s\n' "$policy" \
        "$(grep 'totals:' "$OUT_DIR/$name-$policy.report" | sed 's/^ *totals: //')"
  done
done
echo "(compiled IR and reports of every model and policy in $OUT_DIR)"

# Run it: the MLP's forward pass and loss, compiled for this CPU under each
# policy, on 128 real Fashion-MNIST test images, with seeded (untrained)
# weights; then how far each policy's logits are from fp32's.
echo
echo "== the MLP on 128 Fashion-MNIST test images, compiled for this CPU =="
RUN="$BUILD_DIR/bin/ampc-run"
DATA="$OUT_DIR/fashion-mnist"
/usr/bin/python3 scripts/fmnist_batch.py "$DATA"
for policy in fp32 bf16 fp16 fp8; do
  "$RUN" "$MODEL" --function=forward --policy="$policy" \
      --input=@"$DATA/w1.npy" --input=@"$DATA/b1.npy" \
      --input=@"$DATA/w2.npy" --input=@"$DATA/b2.npy" \
      --input=@"$DATA/x.npy" --input=@"$DATA/onehot.npy" \
      --output=@"$DATA/loss-$policy.npy" --output=@"$DATA/logits-$policy.npy"
done
/usr/bin/python3 scripts/compare_logits.py "$DATA"
echo "(weights are untrained here; training follows)"

# The main job: train the MLP on Fashion-MNIST under each policy (3 epochs,
# SGD with momentum 0.9, lr 0.05, batch 128) and compare.
echo
echo "== training the MLP on Fashion-MNIST under each policy =="
"$BUILD_DIR/bin/ampc-train" "$MODEL" --policy=fp32,bf16,fp16,fp8 --epochs=3 \
    --summary-json="$OUT_DIR/train-summary.json" --plot="$OUT_DIR/train.svg"
echo "(JSON summary: $OUT_DIR/train-summary.json; loss curves and loss scale: $OUT_DIR/train.svg)"
