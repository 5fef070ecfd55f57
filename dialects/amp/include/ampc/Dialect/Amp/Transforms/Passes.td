//===- Passes.td - amp precision passes --------------------*- tablegen -*-===//
//
// The passes that decide and apply the precision of every op.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_TRANSFORMS_PASSES_TD
#define AMPC_DIALECT_AMP_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmpAutocast : Pass<"amp-autocast", "::mlir::func::FuncOp"> {
  let summary = "decide the precision of every op under a policy";
  let description = [{
    Classifies every op that computes on floats and attaches
    `amp.precision = #amp.precision<...>`:

    - **lower** (contractions: matmul, batch_matmul, convolutions, generics
      with a multiply-add body and reduction iterators): the policy's
      low type (`bf16`, `f16`, or `f8E4M3FN` under `fp8`), accumulating in f32;
    - **fp32** (exp/log/pow/rsqrt and friends, other reductions, softmax):
      f32;
    - **promote** (elementwise ops of several float inputs): the widest
      precision of their inputs;
    - **follow** (elementwise ops of one input, data movement, max pooling):
      the precision of their input, so that chains of them never bounce
      between types.

    Precisions flow forward through the function as in TensorFlow's graph
    rewrite. A hand-written `amp.precision` always wins; `lower-ops`,
    `fp32-ops`, `promote-ops` and `follow-ops` move ops (by name) to a class.
    The `fp32` policy attaches nothing. An op on floats that the pass does not
    know is an error naming it.

    Before (`policy=bf16`):
    ```mlir
    %0 = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x2xf32>) outs(%z : tensor<8x2xf32>) -> tensor<8x2xf32>
    ```
    After:
    ```mlir
    %0 = linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} ins(...) ...
    ```
  }];
  let options = [
    Option<"policy", "policy", "std::string", /*default=*/"\"bf16\"",
           "mixed-precision policy: fp32, bf16, fp16 or fp8">,
    ListOption<"lowerOps", "lower-ops", "std::string",
               "op names that compute in the low type">,
    ListOption<"fp32Ops", "fp32-ops", "std::string",
               "op names that stay in f32">,
    ListOption<"promoteOps", "promote-ops", "std::string",
               "op names that take the widest input precision">,
    ListOption<"followOps", "follow-ops", "std::string",
               "op names that take their input's precision">
  ];
  let dependentDialects = ["::ampc::amp::AmpDialect"];
}

def AmpInsertCasts : Pass<"amp-insert-casts", "::mlir::func::FuncOp"> {
  let summary = "rewrite op types from their amp.precision, casting at boundaries";
  let description = [{
    Gives every annotated op the element type of its `amp.precision` compute
    type and inserts `amp.cast` only where a value crosses a precision
    boundary. Each value is cast at most once per target type, right after
    its definition: a parameter used by several ops is cast once per
    function. Function arguments and results keep their types (f32 master
    weights); fresh `tensor.empty` destinations are recreated in the new type
    rather than cast. Under an fp8 compute type, gradients are cast to
    `f8E5M2` (Transformer Engine's HYBRID format) and everything else to
    `f8E4M3FN`: the input operands listed in
    `amp.gradient_operands = array<i64: ...>`, and values whose producer
    carries the unit attribute `amp.gradient` (which ampc-autodiff sets). The payload of a `linalg.generic` keeps its scalar
    computation and converts at its boundary.
  }];
  let dependentDialects = ["::ampc::amp::AmpDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def AmpFp32Accumulate : Pass<"amp-fp32-accumulate", "::mlir::func::FuncOp"> {
  let summary = "make contractions and reductions accumulate in their accumulate type";
  let description = [{
    Rewrites every contraction (and every `linalg.generic` reduction) whose
    `amp.precision` accumulates in a wider type than it computes in so that
    the accumulation is stated in the IR:
    low-precision `ins`, f32 `outs` and result. Consumers that converted the
    result back to f32 read it directly; a single cast to the low type is
    added only for consumers that want the low type.
  }];
  let dependentDialects = ["::ampc::amp::AmpDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def AmpFp8Scaling : Pass<"amp-fp8-scaling", "::mlir::ModuleOp"> {
  let summary = "per-tensor scales for fp8 casts, and the matching descale";
  let description = [{
    Gives every unscaled `amp.cast` to an fp8 type whose users are all
    linalg ops computing in fp8 (the casts `amp-insert-casts` makes for
    contractions) a per-tensor scale, as Transformer Engine does, and
    divides the scales out of the f32 result of each of those ops
    (`out = (A_q . B_q) / (scale_a * scale_b)`; a contraction that does not
    start from zero has its initial value scaled up first).

    - `current` scaling: `scale = (fp8_max / amax(x)) / 2^margin` from the
      tensor being cast (1 when the amax is 0 or not finite; the largest f32
      when the quotient overflows).
    - `delayed` scaling (TE's `DelayedScaling`): the scale comes from state
      carried across steps and is updated by `amp.update_amax_history` with
      this step's amaxes (`history-len`, `algo`, `margin`). Only the training
      step built by `amp-build-train-step` carries state, one column per
      delayed site as TE's fp8 meta keeps it: the pass adds
      `fp8.amax_position` (tensor<i32>, the row where the next amaxes go),
      `fp8.amax_history` (tensor<history-len x sites x f32>, a ring buffer
      of rows), `fp8.amax_block_max` (the maxima of its blocks of rows: as
      many as the divisor of history-len nearest its square root from
      above, 32 for 1024) and `fp8.scale` (tensor<sites x f32>) at the end
      of its state arguments and results, their initial values (0, zeros,
      ones) to `@train_state_init`, and `amp.fp8_sites` (the sites' names in
      column order) to the step. Each cast reads its scale from its column;
      one update, before the step returns, records every amax (max-reduced
      over the ranks of a data-parallel step, all in one vector).
      Other functions (the forward pass used for evaluation) use current
      scaling. `<site>` names what is cast: `param<i>`, `input<j>` (the j-th
      batch input) or `t<k>` (an intermediate value, in program order).

    The recipe is the one recorded in the contraction's `amp.precision`
    (`amp-autocast` records `delayed` under the fp8 policy) unless `recipe`
    overrides it. `fp8_max` is 448 for `f8E4M3FN` and 57344 for `f8E5M2`.
    Other fp8 casts (a hand-written quantization returned to the caller, for
    example) are kept as written.
  }];
  let options = [
    Option<"recipe", "recipe", "std::string", /*default=*/"\"\"",
           "delayed or current (default: each contraction's amp.precision)">,
    Option<"historyLength", "history-len", "int64_t", /*default=*/"1024",
           "amax history length of delayed scaling">,
    Option<"algo", "algo", "std::string", /*default=*/"\"max\"",
           "max or most_recent: how the history becomes one amax">,
    Option<"margin", "margin", "int64_t", /*default=*/"0",
           "the scale is divided by 2^margin">
  ];
  let dependentDialects = ["::ampc::amp::AmpDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AmpCastStatistics : Pass<"amp-cast-statistics", "::mlir::ModuleOp"> {
  let summary = "report how much each cast of the training step loses";
  let description = [{
    For every `amp.cast` in the training step (the function with an
    `amp.role = "loss"` result) that narrows a float, counts per step:

    - underflow: the share of the source's non-zero elements that became 0
      (Transformer Engine's `underflows%`);
    - overflow: the share of elements whose (scaled) magnitude exceeds the
      largest finite value of the result type (saturated, or inf).

    Adds the result `tensor<N x 2 x f32>` with `amp.role = "cast_stats"`
    (row i: underflow, overflow of cast i) at the end, and the function
    attribute `amp.cast_sites`, the name of each cast: what it casts
    (`param<i>`, `input<j>`, `t<k>` as `amp-fp8-scaling` names them) and the
    target type, e.g. `t3:f16`.
  }];
  let dependentDialects = ["::ampc::amp::AmpDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AmpCheckNumerics : Pass<"amp-check-numerics", "::mlir::ModuleOp"> {
  let summary = "find the first op of the training step that makes an inf or NaN";
  let description = [{
    PyTorch's anomaly detection and TensorFlow's check_numerics, in the
    compiler: every linalg op (but fills) and every `amp.cast` of the
    training step that produces a float tensor gets a reduction telling
    whether any element is inf or NaN (low-precision values are widened
    exactly first). The flags come back as a result `tensor<N x i1>` with
    `amp.role = "nonfinite"`, in program order (the forward, then the
    backward), and the function attribute `amp.nonfinite_sites` names each
    op: its name, what it came from (`amp.origin`) and its location. The
    host reports the first flagged one. Nothing is added unless the pass
    runs (`--check-numerics`, `PrecisionOptions::checkNumerics`), so the
    check costs nothing when off.
  }];
  let dependentDialects = ["::ampc::amp::AmpDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AmpCastCleanup : Pass<"amp-cast-cleanup", "::mlir::func::FuncOp"> {
  let summary = "fold, deduplicate and hoist amp.cast";
  let description = [{
    Folds exact round trips (bf16 -> f32 -> bf16) and never inexact ones
    (f32 -> bf16 -> f32 stays), removes duplicate casts of the same value to
    the same type, and hoists casts of loop-invariant values out of loops.
  }];
  let dependentDialects = ["::ampc::amp::AmpDialect"];
}

def AmpPrecisionReport : Pass<"amp-precision-report", "::mlir::ModuleOp"> {
  let summary = "print each op's class, precision and casts, with totals";
  let description = [{
    Prints, for every function, one line per op that computes on floats (its
    class, compute and accumulate types, and how many of its operands are
    `amp.cast` results), then totals: ops per precision, casts, and bytes
    converted per call. The IR is left unchanged.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "file to write the report to ('-' for stdout)">
  ];
}

def AmpLowerToArith : Pass<"amp-lower-to-arith", "::mlir::func::FuncOp"> {
  let summary = "lower amp ops to arith, math, linalg and tensor";
  let description = [{
    Replaces every amp op by standard ops, bit-exactly:

    - `amp.cast` becomes integer arithmetic on the bit patterns: exact
      decoding to f32, then round to nearest even with the cast's overflow
      rule (saturation to max finite, or IEEE/OCP inf/NaN), so that the
      result does not depend on how a back end converts floats (LLVM has no
      fp8 types). Scaled casts multiply (quantize) or divide (dequantize) in
      f32 first. Tensors are converted by an elementwise `linalg.generic`.
    - `amp.scale_loss` multiplies; `amp.unscale_grads` multiplies by the
      inverse scale computed in f64 and rounded to f32 once, and reduces
      "any element is inf or NaN" over the gradients;
      `amp.update_loss_scale` is scalar arithmetic with GradScaler's
      semantics (factors applied in f64, rounded to f32);
      `amp.select_update` is `arith.select`.
    - `amp.amax` is a max-of-abs reduction (NaN propagates);
      `amp.update_amax_history` writes one row of the ring buffer,
      recomputes that block's row of maxima, and derives the scales from the
      block maxima as Transformer Engine does from its whole history, every
      column at once.

    Scalar and vector `arith.extf` / `arith.truncf` with an fp8 side (as
    found in the bodies of fp8 contractions) are lowered the same way, since
    LLVM has no fp8 types; `arith.truncf` keeps its IEEE/OCP overflow.

    An `amp.cast` into fp8 (or from f32 into bf16) whose result is widened
    to f32 or bf16 (`arith.extf` of it, or an elementwise `linalg.generic`
    doing only that: a CPU kernel's operand) is first rounded in f32 by the
    same carry and subnormal additions, with the same results, and no
    narrow pattern; the cast goes where nothing else reads it.

    `rounding stochastic` is reported as not implemented.

    Every rewrite is a pattern (`populateAmpToArithPatterns`), applied as a
    dialect conversion in which the amp dialect is illegal. A target with
    conversion instructions that give the same bits plugs them in as a
    `HardwareCastEncoder` (the NVIDIA one is `ampc-gpu-lower-amp`, in
    lib/Codegen/NVGPU); this pass uses the integer path everywhere.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // AMPC_DIALECT_AMP_TRANSFORMS_PASSES_TD
