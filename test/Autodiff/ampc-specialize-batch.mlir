// RUN: ampc-opt %s -split-input-file -ampc-specialize-batch=batch=8 -verify-diagnostics | FileCheck %s
// RUN: not ampc-opt %s -split-input-file -ampc-specialize-batch=batch=0 2>&1 | FileCheck %s --check-prefix=ZERO
//
// A model written for any batch size gets batch 8: the signature, every
// shape in the body and the 1/B of its mean are static; parameters keep
// their types and attributes.

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[W:.*]]: tensor<4x3xf32> {amp.param = "fc.weight"}, %[[X:.*]]: tensor<8x4xf32>, %[[Y:.*]]: tensor<8x3xf32>)
// CHECK-SAME: -> (tensor<f32>, tensor<8x3xf32>)
// CHECK-DAG: %[[INV:.*]] = arith.constant 1.250000e-01 : f32
// CHECK-NOT: tensor.dim
// CHECK-NOT: tensor.cast
// CHECK-NOT: ?x
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8x3xf32>
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<8x4xf32>, tensor<4x3xf32>) outs(%{{.*}} : tensor<8x3xf32>) -> tensor<8x3xf32>
// CHECK: arith.mulf %{{.*}}, %[[INV]] : f32
// CHECK: return %{{.*}}, %[[MM]] : tensor<f32>, tensor<8x3xf32>
func.func @forward(%w: tensor<4x3xf32> {amp.param = "fc.weight"}, %x: tensor<?x4xf32>,
                   %y: tensor<?x3xf32>) -> (tensor<f32>, tensor<?x3xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %ni = arith.index_cast %n : index to i64
  %nf = arith.sitofp %ni : i64 to f32
  %inv = arith.divf %one, %nf : f32
  %e = tensor.empty(%n) : tensor<?x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x3xf32>) -> tensor<?x3xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x3xf32>) outs(%f : tensor<?x3xf32>) -> tensor<?x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%mm, %y : tensor<?x3xf32>, tensor<?x3xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %t: f32, %acc: f32):
    %d = arith.subf %a, %t : f32
    %sq = arith.mulf %d, %d : f32
    %sc = arith.mulf %sq, %inv : f32
    %r = arith.addf %sc, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %l, %mm : tensor<f32>, tensor<?x3xf32>
}

// -----

// A model with static shapes is left as it is.
// CHECK-LABEL: func.func @fixed(
// CHECK-SAME: %{{.*}}: tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: return
func.func @fixed(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  return %x : tensor<4x3xf32>
}

// -----

// expected-error @+1 {{'func.func' op argument #0 has type 'tensor<?x3xf32>'; only the leading (batch) dimension of a batch input may be dynamic}}
func.func @dynamic_param(%w: tensor<?x3xf32> {amp.param}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument #0 has type 'tensor<8x?xf32>'; only the leading (batch) dimension of a batch input may be dynamic}}
func.func @inner_dynamic(%x: tensor<8x?xf32>) {
  return
}

// -----

// A shape that does not follow from the batch stays dynamic: named.
func.func @unrelated(%x: tensor<?x4xf32>, %k: index) -> tensor<?xf32> {
  // expected-error @+1 {{'tensor.empty' op still has the dynamic type 'tensor<?xf32>' after specializing the batch to 8; compute shapes from the batch input (tensor.dim)}}
  %e = tensor.empty(%k) : tensor<?xf32>
  return %e : tensor<?xf32>
}

// ZERO: error: ampc-specialize-batch: batch must be positive, got 0

// -----

// A model written for batches of 4 is re-batched to 8: the batch inputs, the
// inits that meet them and the results have 8 rows; the mean's -1/4 (in the
// op after the sum over the batch) is -1/8, in its own constant; the empty
// tensor shared with a 3x2 transpose of the parameter keeps its shape there.
// CHECK-LABEL: func.func @fixed_mlp(
// CHECK-SAME: %[[W:.*]]: tensor<2x3xf32> {amp.param = "fc.weight"}, %[[X:.*]]: tensor<8x3xf32>, %[[Y:.*]]: tensor<8x2xf32>)
// CHECK-SAME: -> (tensor<f32>, tensor<8x2xf32>, tensor<3x2xf32>)
// CHECK-DAG: %[[OLD:.*]] = arith.constant -2.500000e-01 : f32
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>)
// CHECK: %[[E8:.*]] = tensor.empty() : tensor<8x2xf32>
// CHECK: %[[F8:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E8]] : tensor<8x2xf32>) -> tensor<8x2xf32>
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[X]], %[[WT]] : tensor<8x3xf32>, tensor<3x2xf32>) outs(%[[F8]] : tensor<8x2xf32>) -> tensor<8x2xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[MM]], %[[Y]] : tensor<8x2xf32>, tensor<8x2xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : tensor<f32>)
// CHECK: %[[NEW:.*]] = arith.constant -1.250000e-01 : f32
// CHECK-NEXT: arith.mulf %{{.*}}, %[[NEW]] : f32
// CHECK: return %{{.*}}, %[[MM]], %[[WT]] : tensor<f32>, tensor<8x2xf32>, tensor<3x2xf32>
func.func @fixed_mlp(%w: tensor<2x3xf32> {amp.param = "fc.weight"}, %x: tensor<4x3xf32>,
                     %y: tensor<4x2xf32>) -> (tensor<f32>, tensor<4x2xf32>, tensor<3x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %neg_inv_batch = arith.constant -0.25 : f32
  %e = tensor.empty() : tensor<4x2xf32>
  %et = tensor.empty() : tensor<3x2xf32>
  %wt = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%et : tensor<3x2xf32>) permutation = [1, 0]
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %mm = linalg.matmul ins(%x, %wt : tensor<4x3xf32>, tensor<3x2xf32>) outs(%f : tensor<4x2xf32>) -> tensor<4x2xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%mm, %y : tensor<4x2xf32>, tensor<4x2xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %t: f32, %acc: f32):
    %p = arith.mulf %a, %t : f32
    %r = arith.addf %p, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%s : tensor<f32>) outs(%e0 : tensor<f32>) {
  ^bb0(%in: f32, %o: f32):
    // expected-remark @+1 {{re-batched from 4 to 8: the mean's -2.500000e-01 is -1.250000e-01 here}}
    %m = arith.mulf %in, %neg_inv_batch : f32
    linalg.yield %m : f32
  } -> tensor<f32>
  return %l, %mm, %wt : tensor<f32>, tensor<4x2xf32>, tensor<3x2xf32>
}

// -----

// Sequences of 4 tokens: the batch of 2 folded with them is 4 x the batch
// (2x4x3 -> 8x3 -> 32x3 at batch 8), and expanded back it is the outer
// dimension again. The mean over every element (1/(2*4*3) = 1/24) becomes
// 1/(8*4*3) = 1/96; a divisor of the batch times the tokens (8) becomes 32.
// CHECK-LABEL: func.func @tokens(
// CHECK-SAME: %{{.*}}: tensor<3xf32> {amp.param}, %[[X:.*]]: tensor<8x4x3xf32>) -> (tensor<f32>, tensor<f32>, tensor<8x4x3xf32>)
// CHECK: tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<8x4x3xf32> into tensor<32x3xf32>
// CHECK: arith.constant 0.010416{{[0-9]*}} : f32
// CHECK: arith.constant 3.200000e+01 : f32
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [8, 4, 3] : tensor<32x3xf32> into tensor<8x4x3xf32>
func.func @tokens(%g: tensor<3xf32> {amp.param}, %x: tensor<2x4x3xf32>) -> (tensor<f32>, tensor<f32>, tensor<2x4x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %inv = arith.constant 0.0416666679 : f32
  %n = arith.constant 8.0 : f32
  %flat = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x4x3xf32> into tensor<8x3xf32>
  %e = tensor.empty() : tensor<8x3xf32>
  %scaled = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%flat, %g : tensor<8x3xf32>, tensor<3xf32>) outs(%e : tensor<8x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<8x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %mean = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%scaled : tensor<8x3xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    // expected-remark @+1 {{re-batched from 2 to 8: the mean's 4.166667e-02 is 1.041667e-02 here}}
    %p = arith.mulf %a, %inv : f32
    %r = arith.addf %p, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %e1 = tensor.empty() : tensor<8xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %rows = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%scaled : tensor<8x3xf32>) outs(%f1 : tensor<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %total = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%rows : tensor<8xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %v = tensor.extract %total[] : tensor<f32>
  // expected-remark @+1 {{re-batched from 2 to 8: the mean's 8.000000e+00 is 3.200000e+01 here}}
  %per_token = arith.divf %v, %n : f32
  %t = tensor.from_elements %per_token : tensor<f32>
  %out = tensor.expand_shape %scaled [[0, 1], [2]] output_shape [2, 4, 3] : tensor<8x3xf32> into tensor<2x4x3xf32>
  return %mean, %t, %out : tensor<f32>, tensor<f32>, tensor<2x4x3xf32>
}

// -----

// The batch of a re-batched model must not meet a parameter.
func.func @parameter_meets_batch(%w: tensor<4xf32> {amp.param}, %x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  // expected-error @+1 {{cannot re-batch: operand #0 has 4 rows in dimension 0, where the batch is, but is parameter #0: a parameter cannot change with the batch}}
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%w, %x : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.addf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<4xf32>
  return %s : tensor<4xf32>
}

// -----

// An op that may mix samples is not guessed through.
func.func @slice(%w: tensor<3xf32> {amp.param}, %x: tensor<4x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{cannot re-batch: 'tensor.extract_slice' takes the batch (operand #0) and is not known to keep samples apart; write the model for any batch size (a '?' leading dimension)}}
  %s = tensor.extract_slice %x[0, 0] [2, 3] [1, 1] : tensor<4x3xf32> to tensor<2x3xf32>
  return %s : tensor<2x3xf32>
}

// -----

func.func @softmax_over_batch(%w: tensor<3xf32> {amp.param}, %x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %e = tensor.empty() : tensor<4x3xf32>
  // expected-error @+1 {{cannot re-batch: the softmax runs over the batch}}
  %s = linalg.softmax dimension(0) ins(%x : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %s : tensor<4x3xf32>
}

// -----

// Two constants that could be the mean's 1/4 (1/4, and 1/16 over the batch
// and the 4 columns): neither is guessed.
func.func @ambiguous(%w: tensor<4xf32> {amp.param}, %x: tensor<4x4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %quarter = arith.constant 0.25 : f32
  %sixteenth = arith.constant 0.0625 : f32
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  // expected-error @+1 {{cannot re-batch: 2.500000e-01 and 6.250000e-02 could both be the mean's 1/batch; write the model for any batch size (a '?' leading dimension)}}
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<4x4xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %p = arith.mulf %a, %quarter : f32
    %q = arith.mulf %p, %sixteenth : f32
    %r = arith.addf %q, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op is written for batches of 1, where a mean over the batch cannot be told from other constants; write it for any batch size (a '?' leading dimension) to re-batch it}}
func.func @batch_of_one(%w: tensor<3xf32> {amp.param}, %x: tensor<1x3xf32>) -> tensor<1x3xf32> {
  return %x : tensor<1x3xf32>
}

// -----

// expected-error @+1 {{'func.func' op has batch inputs of different sizes: argument #1 has 4 rows, argument #2 has 5}}
func.func @disagree(%w: tensor<3xf32> {amp.param}, %x: tensor<4x3xf32>, %y: tensor<5x3xf32>) {
  return
}

// -----

// A model written for the batch asked for is left as it is.
// CHECK-LABEL: func.func @already(
// CHECK-SAME: tensor<8x3xf32>) -> tensor<8x3xf32>
func.func @already(%w: tensor<3xf32> {amp.param}, %x: tensor<8x3xf32>) -> tensor<8x3xf32> {
  return %x : tensor<8x3xf32>
}
