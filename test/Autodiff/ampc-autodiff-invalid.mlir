// RUN: ampc-opt %s -split-input-file -ampc-autodiff -verify-diagnostics

// expected-error @+1 {{'func.func' op the first result must be the scalar loss (f32, f64 or a 0-d tensor of them)}}
func.func @forward(%w: tensor<4xf32> {amp.param}) -> tensor<4xf32> {
  return %w : tensor<4xf32>
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

func.func @forward(%w: tensor<4xf32> {amp.param}) -> tensor<f32> {
  %one = arith.constant 1.0 : f32
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%one : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  // expected-error @+1 {{'linalg.generic' op cannot be differentiated: its body combines with its output other than by a sum or a maximum}}
  %l = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%w : tensor<4xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.mulf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// expected-error @+1 {{ampc-autodiff: no function @forward with a body to differentiate}}
module {
  func.func @other() {
    return
  }
}

// -----

// An input indexed by a sum of two output loops is not a convolution window.
func.func @forward(%w: tensor<7xf32> {amp.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  // expected-error @+1 {{'linalg.generic' op cannot be differentiated: input #0 has a window expression without one output loop and one window loop}}
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0 + d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<7xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<4x4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%y : tensor<4x4xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %t = arith.addf %v, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// An input indexed by anything else is neither.
func.func @forward(%w: tensor<9xf32> {amp.param}, %c: tensor<4x4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  // expected-error @+1 {{'linalg.generic' op cannot be differentiated: input #0 is indexed by an expression that is neither a loop nor stride * loop + dilation * window loop}}
  %l = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i + j + 1)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%w, %c : tensor<9xf32>, tensor<4x4xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%v: f32, %x: f32, %acc: f32):
    %p = arith.mulf %v, %x : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}
