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
