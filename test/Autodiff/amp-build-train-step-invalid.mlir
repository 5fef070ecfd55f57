// Bad options and models amp-build-train-step cannot train are errors that
// name the problem.
// RUN: ampc-opt %s -split-input-file -amp-build-train-step -verify-diagnostics
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="optimizer=lamb" 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="loss-scaling=sometimes" 2>&1 | FileCheck %s --check-prefix=SCALING
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="nesterov=true" 2>&1 | FileCheck %s --check-prefix=NESTEROV
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="optimizer=adam momentum=0.9" 2>&1 | FileCheck %s --check-prefix=ADAMMOM
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="lr=0" 2>&1 | FileCheck %s --check-prefix=LR
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="loss-scaling=dynamic backoff-factor=1.5" 2>&1 | FileCheck %s --check-prefix=BACKOFF
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="loss-scaling=dynamic min-scale=8 max-scale=4" 2>&1 | FileCheck %s --check-prefix=BOUNDS
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="loss-scaling=static init-scale=1e40" 2>&1 | FileCheck %s --check-prefix=INIT
// RUN: not ampc-opt %s -split-input-file -amp-build-train-step="data-parallel=true bucket-mb=0" 2>&1 | FileCheck %s --check-prefix=BUCKET

// OPT: error: amp-build-train-step: unknown optimizer 'lamb'; expected sgd, adam or adamw
// SCALING: error: amp-build-train-step: unknown loss-scaling 'sometimes'; expected none, static or dynamic
// NESTEROV: error: amp-build-train-step: nesterov needs the sgd optimizer with a momentum
// ADAMMOM: error: amp-build-train-step: momentum applies to sgd; adam and adamw take beta1
// LR: error: amp-build-train-step: lr must be positive, got 0
// BACKOFF: error: amp-build-train-step: backoff-factor must be in (0, 1)
// BOUNDS: error: amp-build-train-step: min-scale and max-scale must be >= 0 (0: unbounded) with min-scale <= max-scale
// INIT: error: amp-build-train-step: init-scale must be a positive finite f32 value
// BUCKET: error: amp-build-train-step: bucket-mb must be in [1, 1048576] MiB, got 0

// expected-error @+1 {{amp-build-train-step: no function @forward with a body to train}}
module {
  func.func private @forward(tensor<4xf32>) -> tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op has no argument marked amp.param: nothing to train}}
func.func @forward(%x: tensor<4xf32>) -> tensor<f32> {
  %e = tensor.empty() : tensor<f32>
  return %e : tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op parameter #0 must be a static f32 tensor (master weights are f32), not 'tensor<4xbf16>'}}
func.func @forward(%w: tensor<4xbf16> {amp.param}) -> tensor<f32> {
  %e = tensor.empty() : tensor<f32>
  return %e : tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op the loss must be f32 to be trained, not 'tensor<f64>'}}
func.func @forward(%w: tensor<4xf32> {amp.param}) -> tensor<f64> {
  %e = tensor.empty() : tensor<f64>
  return %e : tensor<f64>
}

// -----

// expected-error @+1 {{'func.func' op the first result must be the scalar loss (f32, f64 or a 0-d tensor of them)}}
func.func @forward(%w: tensor<4xf32> {amp.param}) -> tensor<4xf32> {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{amp-build-train-step: the module already has a symbol @train_step}}
module {
  func.func @forward(%w: tensor<4xf32> {amp.param}) -> tensor<f32> {
    %e = tensor.empty() : tensor<f32>
    return %e : tensor<f32>
  }
  func.func @train_step() {
    return
  }
}

// -----

func.func @forward(%w: tensor<4xf32> {amp.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%w : tensor<4xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    // expected-error @+1 {{'math.sin' op has no derivative rule}}
    %s = math.sin %a : f32
    %t = arith.addf %s, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A model written for any batch size needs one before differentiation.
// expected-error @+1 {{'func.func' op argument #1 has the dynamic type 'tensor<?x4xf32>'; differentiation needs static shapes (a model written for any batch size takes one first: ampc-specialize-batch, JitOptions::batch, --batch)}}
func.func @forward(%w: tensor<4xf32> {amp.param}, %x: tensor<?x4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  return %f0 : tensor<f32>
}

// -----

// A dynamic shape inside the body is named.
func.func @forward(%w: tensor<4xf32> {amp.param}, %k: index) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{'tensor.empty' op has a dynamic shape; differentiation needs static shapes}}
  %e = tensor.empty(%k) : tensor<?xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  return %f0 : tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op 'amp.buffer' of argument #0 must be a unit attribute on a parameter (amp.param)}}
func.func @forward(%x: tensor<4xf32> {amp.buffer}) -> tensor<f32> {
  %e = tensor.empty() : tensor<f32>
  return %e : tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op 'amp.buffer' of result #1 names "w", which is not a buffer argument (amp.param = "w" with amp.buffer)}}
func.func @forward(%w: tensor<4xf32> {amp.param = "w"}) -> (tensor<f32>, tensor<4xf32> {amp.buffer = "w"}) {
  %e = tensor.empty() : tensor<f32>
  return %e, %w : tensor<f32>, tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op has only buffers (amp.buffer) among its parameters: nothing to train}}
func.func @forward(%m: tensor<4xf32> {amp.param = "m", amp.buffer}) -> tensor<f32> {
  %e = tensor.empty() : tensor<f32>
  return %e : tensor<f32>
}
