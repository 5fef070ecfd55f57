//===- Passes.td - reverse-mode automatic differentiation --*- tablegen -*-===//

#ifndef AMPC_AUTODIFF_PASSES_TD
#define AMPC_AUTODIFF_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmpcAutodiff : Pass<"ampc-autodiff", "::mlir::ModuleOp"> {
  let summary = "add a function computing a loss and its gradients";
  let description = [{
    For the function named `function`, whose first result is a scalar loss
    (`f32`/`f64` or a 0-d tensor of them), adds `@<function>_grad` with the
    same arguments, returning the loss and then the gradient of the loss with
    respect to each argument marked `amp.param`, in order.

    Reverse mode over linalg on tensors. `linalg.generic` follows one rule:
    the adjoint of input k is a generic over the same iteration space whose
    body is the derivative of the scalar body (forward mode over arith/math
    ops) times the output's adjoint, written through input k's indexing map,
    with every dimension that map drops turned into a reduction. Bodies that
    combine with the output by addition (sums, contractions) or by maximum
    (the adjoint goes to every element equal to the maximum) are reductions;
    bodies that do not read the output are elementwise. Named linalg ops are
    generalized first; reshapes and transposes take their inverse. An op or a
    scalar op without a rule is an error naming it.

    Adjoints are computed only for values that depend on a parameter; the
    ops producing them carry `amp.gradient` (so the fp8 policy casts
    gradients to f8E5M2), and the gradient function is canonicalized so that
    the adjoint of a contraction is again a contraction (which autocast then
    runs in the low type).
  }];
  let options = [
    Option<"function", "function", "std::string", "\"forward\"",
           "the function to differentiate">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AmpcSpecializeBatch : Pass<"ampc-specialize-batch", "::mlir::ModuleOp"> {
  let summary = "give a model a batch size: fix an open one, or re-batch "
                "a fixed one";
  let description = [{
    A model may leave the batch size open: the leading dimension of its batch
    inputs (the arguments not marked `amp.param`) is `?`, and whatever
    depends on it is computed from `tensor.dim` (a mean's 1/B, the shapes of
    `tensor.empty`). This pass makes that dimension `batch` in the signature
    of every public function with a body and propagates the static shape
    through the body (upstream canonicalization: `tensor.dim` folds to the
    constant, `tensor.cast`s fold into their consumers), then gives the
    results their static types. Every later pass then sees static shapes, so
    a specialization compiles to the same code as a model written for that
    batch. The JIT and the Trainer run it once per batch size they meet and
    keep each compiled specialization.

    A model written for a fixed batch B (every batch input static with B
    rows) is re-batched to `batch`: the dimensions that carry the batch are
    followed from the batch inputs through linalg ops (by their indexing
    maps), reshapes (a batch folded with f rows becomes f x batch),
    elementwise ops, casts and softmax, and become `batch`; the
    `tensor.empty`/`linalg.fill`/splat inits that meet them are copied for
    that use and re-batched. The constant of a mean over the batch, used by
    an `arith.mulf` (1/E) or as the divisor of an `arith.divf` (E) in the op
    that sums over the batch or after it, where E is the batch times any
    product of the other dimensions that op sums over (-1/128 for a mean
    over 128 samples, 1/1280 for a mean over 128 samples of 10 classes), is
    rewritten for the new batch, with a remark naming it.

    Errors: a dynamic dimension other than the leading one of a batch input,
    a dynamic parameter, or a shape still dynamic after propagation (the op
    is named). Re-batching: batch inputs of different sizes, an op that is
    not known to keep samples apart (named), a parameter or an unrelated
    value meeting the batch, two constants that could both be the mean's, a
    model written for batches of 1.
  }];
  let options = [
    Option<"batch", "batch", "int64_t", "0", "the batch size (> 0)">
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def AmpBuildTrainStep : Pass<"amp-build-train-step", "::mlir::ModuleOp"> {
  let summary = "build the training step: forward, backward, loss scaling, "
                "clipping and the optimizer update";
  let description = [{
    From `@<function>` (the loss first; parameters marked `amp.param`, f32
    ranked tensors) adds, in f32 and before any precision pass:

    `@train_step(params..., state..., batch...) ->
        (params..., state..., loss, found_inf, grad_norm)`

    - the forward computation, then the reverse sweep (as `ampc-autodiff`)
      seeded with the loss scale (1 without loss scaling);
    - with loss scaling, `amp.unscale_grads` (inverse scale in f64, inf/NaN
      check); the global L2 norm of the unscaled gradients, and clipping to
      `clip-norm` as `torch.nn.utils.clip_grad_norm_` does. found_inf is
      false where the norm's sum of squares is finite (a non-finite
      gradient makes it inf or NaN), and only otherwise checked element by
      element (`scf.if`), so a step that does not overflow reads its
      gradients once, not twice;
    - the optimizer update with torch semantics: `sgd` (momentum, Nesterov,
      weight decay), `adam` (L2 weight decay) or `adamw` (decoupled weight
      decay); master weights and optimizer state in f32;
    - with loss scaling, `amp.select_update` keeps parameters and optimizer
      state bit-identical on a step with inf/NaN gradients, and (dynamic)
      `amp.update_loss_scale` advances the scale with GradScaler semantics.

    And `@train_state_init() -> (state...)`, the initial state. Every
    argument and result of both functions carries `amp.role`: `param<i>`,
    `param<i>.momentum`, `param<i>.exp_avg`, `param<i>.exp_avg_sq`,
    `beta1_power`, `beta2_power`, `loss_scale`, `growth_tracker`,
    `hysteresis_tracker`, `learning_rate` (with `lr-input`), `batch`, `loss`,
    `found_inf`, `grad_norm`. The
    update ops carry `amp.precision` f32, so no policy lowers them.

    With `data-parallel`, the step is built for ranks that each hold a
    shard of the global batch (`amp.data_parallel` on `@train_step`): the
    gradients, concatenated in reverse order (the order the reverse sweep
    finishes them) into flat f32 buckets of at most `bucket-mb` MiB, are
    averaged over the ranks, each bucket by one non-blocking all-reduce
    (`amp.all_reduce_start mean`) started right after its last gradient is
    computed (with `overlap=false`: after the reverse sweep) and waited for
    (`amp.all_reduce_wait`) after the sweep, so that unscaling, the
    found-inf check, the norm, clipping and the optimizer read only
    averaged values and every rank takes the same decisions; the reported
    loss and the buffers' new values (running statistics) are averaged too
    (`amp.all_reduce mean`).
  }];
  let options = [
    Option<"function", "function", "std::string", "\"forward\"",
           "the function computing the loss">,
    Option<"optimizer", "optimizer", "std::string", "\"sgd\"",
           "sgd, adam or adamw">,
    Option<"learningRate", "lr", "double", "0.01",
           "learning rate (without lr-input)">,
    Option<"learningRateInput", "lr-input", "bool", "false",
           "take the learning rate as an input of @train_step (role "
           "learning_rate, a tensor<f32> after the state) that the caller "
           "sets every step: a schedule">,
    Option<"momentum", "momentum", "double", "0.0", "SGD momentum">,
    Option<"nesterov", "nesterov", "bool", "false",
           "Nesterov momentum (SGD with momentum)">,
    Option<"beta1", "beta1", "double", "0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", "0.999", "Adam beta2">,
    Option<"epsilon", "eps", "double", "1e-8", "Adam epsilon">,
    Option<"weightDecay", "weight-decay", "double", "0.0",
           "weight decay (L2 for sgd and adam, decoupled for adamw)">,
    Option<"clipNorm", "clip-norm", "double", "0.0",
           "clip the unscaled gradients to this global L2 norm (0: off)">,
    Option<"lossScaling", "loss-scaling", "std::string", "\"none\"",
           "none, static or dynamic">,
    Option<"initScale", "init-scale", "double", "65536.0",
           "the static scale, or the initial dynamic scale">,
    Option<"growthFactor", "growth-factor", "double", "2.0",
           "dynamic: scale growth factor">,
    Option<"backoffFactor", "backoff-factor", "double", "0.5",
           "dynamic: scale backoff factor">,
    Option<"growthInterval", "growth-interval", "int64_t", "2000",
           "dynamic: clean steps before the scale grows">,
    Option<"hysteresis", "hysteresis", "int64_t", "1",
           "dynamic: overflows before the scale backs off">,
    Option<"minScale", "min-scale", "double", "0.0",
           "dynamic: lower bound of the scale (0: none)">,
    Option<"maxScale", "max-scale", "double", "0.0",
           "dynamic: upper bound of the scale (0: none)">,
    Option<"dataParallel", "data-parallel", "bool", "false",
           "build the step for data-parallel ranks: gradients (in flat "
           "buckets), the loss and the buffers' new values averaged over "
           "the ranks (amp.all_reduce mean) before unscaling, the "
           "found-inf check, clipping and the optimizer">,
    Option<"bucketMB", "bucket-mb", "int64_t", "25",
           "data-parallel: the largest gradient bucket, in MiB of f32">,
    Option<"overlap", "overlap", "bool", "true",
           "data-parallel: start each bucket's all-reduce as soon as the "
           "reverse sweep has computed its gradients (amp.all_reduce_start), "
           "so that it runs while the rest of the sweep computes; otherwise "
           "after the sweep">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::ampc::amp::AmpDialect"];
}

#endif // AMPC_AUTODIFF_PASSES_TD
