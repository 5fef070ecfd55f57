// RUN: ampc-opt %s -split-input-file -ampc-autodiff | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#all = affine_map<(d0, d1) -> ()>

// A bias broadcast over rows: the bias's adjoint sums over the rows it was
// broadcast along (the dropped dimension becomes a reduction). The loss is
// returned first, then one gradient per amp.param argument, in order.
// CHECK-LABEL: func.func @forward_grad
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32> {amp.param})
// CHECK-SAME: -> (tensor<f32>, tensor<3xf32>)
// Gradient-producing ops carry amp.gradient (the fp8 policy's E5M2 role).
// CHECK: %[[SEED:.*]] = arith.constant {amp.gradient} dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DY:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[SEED]] : tensor<4x3xf32>, tensor<f32>) outs(%{{.*}} : tensor<4x3xf32>) attrs = {amp.gradient}
// CHECK: %[[DB:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[DY]] : tensor<4x3xf32>) outs(%{{.*}} : tensor<3xf32>) attrs = {amp.gradient}
// CHECK: return %{{.*}}, %[[DB]] : tensor<f32>, tensor<3xf32>
func.func @forward(%x: tensor<4x3xf32>, %b: tensor<3xf32> {amp.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %y = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<4x3xf32>, tensor<3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y : tensor<4x3xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %p = arith.mulf %a, %a : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>

// A matmul is generalized; the weight's adjoint is X^T dY: after
// canonicalization a plain multiply-add over (m, n, k) writing through
// (k, n) with m a reduction, i.e. a contraction again. X is not a parameter
// and depends on none: no adjoint is computed for it.
// CHECK-LABEL: func.func @forward_grad
// CHECK-SAME: -> (tensor<f32>, tensor<3x2xf32>)
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-NOT: outs(%{{.*}} : tensor<4x3xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<4x3xf32>, tensor<4x2xf32>) outs(%{{.*}} : tensor<3x2xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[G:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[G]], %[[A]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
// CHECK-NOT: outs(%{{.*}} : tensor<4x3xf32>)
// CHECK: return
func.func @forward(%x: tensor<4x3xf32>, %w: tensor<3x2xf32> {amp.param}, %z: tensor<4x2xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %m = linalg.matmul ins(%x, %w : tensor<4x3xf32>, tensor<3x2xf32>) outs(%z : tensor<4x2xf32>) -> tensor<4x2xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%m : tensor<4x2xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}
