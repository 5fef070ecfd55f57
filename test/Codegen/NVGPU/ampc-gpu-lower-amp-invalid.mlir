// RUN: ampc-opt %s -split-input-file -ampc-gpu-lower-amp="chip=90" -verify-diagnostics
//
// ampc-gpu-lower-amp reports what the amp lowering cannot do, as
// amp-lower-to-arith does, before rewriting anything.

func.func @stochastic(%x: f32) -> bf16 {
  // expected-error @+1 {{'amp.cast' op amp-lower-to-arith: rounding 'stochastic' is not implemented; only nearest_even lowers}}
  %0 = amp.cast %x rounding stochastic : f32 to bf16
  return %0 : bf16
}

// -----

func.func @vector_grads(%g: vector<4xf32>, %s: f32) -> i1 {
  // expected-error @+1 {{'amp.unscale_grads' op amp-lower-to-arith: vector gradients are not supported; use tensors or scalars}}
  %u, %found = amp.unscale_grads (%g) by %s : (vector<4xf32>) -> (vector<4xf32>)
  return %found : i1
}
