// RUN: ampc-opt %s -split-input-file -amp-fp8-scaling -verify-diagnostics
// RUN: not ampc-opt %s -split-input-file -amp-fp8-scaling="recipe=later" 2>&1 | FileCheck %s --check-prefix=RECIPE
// RUN: not ampc-opt %s -split-input-file -amp-fp8-scaling="algo=median" 2>&1 | FileCheck %s --check-prefix=ALGO
// RUN: not ampc-opt %s -split-input-file -amp-fp8-scaling="history-len=0" 2>&1 | FileCheck %s --check-prefix=LENGTH

// RECIPE: error: amp-fp8-scaling: unknown recipe 'later'; expected delayed or current
// ALGO: error: amp-fp8-scaling: unknown algo 'median'; expected max or most_recent
// LENGTH: error: amp-fp8-scaling: history-len must be >= 1 and margin >= 0

// Delayed scaling of a training step needs the state initialiser.
// expected-error @+1 {{'func.func' op amp-fp8-scaling: delayed scaling of the training step needs @train_state_init (from amp-build-train-step)}}
func.func @train_step(%w: tensor<4x4xf32> {amp.param, amp.role = "param0"}, %x: tensor<2x4xf32> {amp.role = "batch"})
    -> (tensor<2x4xf32>, tensor<f32> {amp.role = "loss"}) {
  %zero = arith.constant 0.0 : f32
  %cw = amp.cast %w : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
  %cx = amp.cast %x : tensor<2x4xf32> to tensor<2x4xf8E4M3FN>
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>}
      ins(%cx, %cw : tensor<2x4xf8E4M3FN>, tensor<4x4xf8E4M3FN>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  %l = tensor.empty() : tensor<f32>
  return %y, %l : tensor<2x4xf32>, tensor<f32>
}

// -----

// Delayed scaling records every amax at the end of the step's body: a cast
// in a nested region is refused, naming the cast.
func.func @train_state_init() -> (tensor<4xf32> {amp.role = "param0.momentum"}) {
  %m = arith.constant dense<0.0> : tensor<4xf32>
  return %m : tensor<4xf32>
}
func.func @train_step(%w: tensor<4x4xf32> {amp.param, amp.role = "param0"}, %m: tensor<4xf32> {amp.role = "param0.momentum"},
                      %x: tensor<2x4xf32> {amp.role = "batch"}, %acc: tensor<2x4xf32> {amp.role = "batch"})
    -> (tensor<4x4xf32> {amp.role = "param0"}, tensor<4xf32> {amp.role = "param0.momentum"}, tensor<f32> {amp.role = "loss"}) {
  %cw = amp.cast %w : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
  %y = scf.execute_region -> tensor<2x4xf32> {
    // expected-error @+1 {{'amp.cast' op amp-fp8-scaling: delayed scaling needs the cast in the training step's body, not in a nested region}}
    %cx = amp.cast %x : tensor<2x4xf32> to tensor<2x4xf8E5M2>
    %r = linalg.matmul {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>}
        ins(%cx, %cw : tensor<2x4xf8E5M2>, tensor<4x4xf8E4M3FN>) outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
    scf.yield %r : tensor<2x4xf32>
  }
  %e = tensor.empty() : tensor<f32>
  return %w, %m, %e : tensor<4x4xf32>, tensor<4xf32>, tensor<f32>
}
