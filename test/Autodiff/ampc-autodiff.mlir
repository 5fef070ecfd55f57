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
// CHECK: %[[DY:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[SEED]] : tensor<4x3xf32>, tensor<f32>) outs(%{{.*}} : tensor<4x3xf32>) attrs = {amp.gradient, amp.origin = "{{[a-z_0-9.]*}}"}
// CHECK: %[[DB:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[DY]] : tensor<4x3xf32>) outs(%{{.*}} : tensor<3xf32>) attrs = {amp.gradient, amp.origin = "{{[a-z_0-9.]*}}"}
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

// -----

// Convolution and pooling inputs are indexed by stride * out + window: their
// adjoints iterate over input positions and read the output's adjoint from
// a copy dilated by the stride and zero-padded by window - 1 (a transposed
// convolution). Here a 2x2 conv with stride 2, then 2x2 max pooling with
// stride 1; the filter's adjoint is an ordinary contraction.
// CHECK-DAG: #[[SHIFT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1 - d4 + 1, d2 - d5 + 1, d3)>
// CHECK-DAG: #[[POOLSHIFT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 - d4 + 1, d2 - d5 + 1, d3)>
// CHECK-LABEL: func.func @forward_grad
// CHECK-SAME: -> (tensor<f32>, tensor<1x4x4x2xf32>, tensor<2x2x2x3xf32>)
// Pooling: the result and its adjoint, padded by 1 (window 2, stride 1).
// CHECK: %[[DP:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 1, 1, 0] [1, 1, 1, 3] [1, 1, 1, 1] : tensor<1x1x1x3xf32> into tensor<1x3x3x3xf32>
// CHECK: %[[P:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 1, 1, 0] [1, 1, 1, 3] [1, 1, 1, 1] : tensor<1x1x1x3xf32> into tensor<1x3x3x3xf32>
// CHECK: %[[DC:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[DP]], %[[P]] : {{.*}}) outs(%{{.*}} : tensor<1x2x2x3xf32>) attrs = {amp.gradient, amp.origin = "{{[a-z_0-9.]*}}"}
// CHECK: arith.cmpf oeq
// Conv: the adjoint dilated by 2 and padded by 1, then correlated with the
// filter.
// CHECK: %[[DD:.*]] = tensor.insert_slice %[[DC]] into %{{.*}}[0, 1, 1, 0] [1, 2, 2, 3] [1, 2, 2, 1] : tensor<1x2x2x3xf32> into tensor<1x5x5x3xf32>
// CHECK: %[[DX:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[SHIFT]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]} ins(%{{.*}}, %[[DD]] : tensor<2x2x2x3xf32>, tensor<1x5x5x3xf32>) outs(%{{.*}} : tensor<1x4x4x2xf32>) attrs = {amp.gradient, amp.origin = "{{[a-z_0-9.]*}}"}
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[DC]] : tensor<1x4x4x2xf32>, tensor<1x2x2x3xf32>) outs(%{{.*}} : tensor<2x2x2x3xf32>) attrs = {amp.gradient, amp.origin = "{{[a-z_0-9.]*}}"}
// CHECK: return %{{.*}}, %[[DX]], %[[DW]]
func.func @forward(%x: tensor<1x4x4x2xf32> {amp.param}, %w: tensor<2x2x2x3xf32> {amp.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %ec = tensor.empty() : tensor<1x2x2x3xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<1x2x2x3xf32>) -> tensor<1x2x2x3xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x4x4x2xf32>, tensor<2x2x2x3xf32>) outs(%zc : tensor<1x2x2x3xf32>) -> tensor<1x2x2x3xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %ep = tensor.empty() : tensor<1x1x1x3xf32>
  %mp = linalg.fill ins(%ninf : f32) outs(%ep : tensor<1x1x1x3xf32>) -> tensor<1x1x1x3xf32>
  %p = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%c, %win : tensor<1x2x2x3xf32>, tensor<2x2xf32>) outs(%mp : tensor<1x1x1x3xf32>) -> tensor<1x1x1x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> ()>], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%p : tensor<1x1x1x3xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Max pooling over disjoint windows (2x2, stride 2) of a 5x5 image: each
// element is in one window at most, so its adjoint is elementwise over the
// image viewed as [n, oh, kh, ow, kw, c] (no padded, dilated copies of the
// result and its adjoint, no sum over windows); the row and column in no
// window get zeros.
// CHECK-DAG: #[[SPLIT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d2, d5, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @forward_grad
// CHECK-SAME: -> (tensor<f32>, tensor<1x5x5x2xf32>)
// CHECK-NOT: tensor.insert_slice
// CHECK: %[[CUT:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 4, 4, 2] [1, 1, 1, 1] : tensor<1x5x5x2xf32> to tensor<1x4x4x2xf32>
// CHECK: %[[X:.*]] = tensor.expand_shape %[[CUT]] {{\[}}[0], [1, 2], [3, 4], [5]] output_shape [1, 2, 2, 2, 2, 2] : tensor<1x4x4x2xf32> into tensor<1x2x2x2x2x2xf32>
// CHECK: %[[DX:.*]] = linalg.generic {indexing_maps = [#[[SPLIT]], #[[OUT]], #[[OUT]], #[[SPLIT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[X]], %{{.*}}, %{{.*}} : tensor<1x2x2x2x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) outs(%{{.*}} : tensor<1x2x2x2x2x2xf32>)
// CHECK: arith.cmpf oeq
// CHECK: %[[FOLDED:.*]] = tensor.collapse_shape %[[DX]] {{\[}}[0], [1, 2], [3, 4], [5]] : tensor<1x2x2x2x2x2xf32> into tensor<1x4x4x2xf32>
// CHECK: %[[GRAD:.*]] = tensor.insert_slice %[[FOLDED]] into %{{.*}}[0, 0, 0, 0] [1, 4, 4, 2] [1, 1, 1, 1] {amp.gradient} : tensor<1x4x4x2xf32> into tensor<1x5x5x2xf32>
// CHECK: return %{{.*}}, %[[GRAD]]
func.func @forward(%x: tensor<1x5x5x2xf32> {amp.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %win = tensor.empty() : tensor<2x2xf32>
  %ep = tensor.empty() : tensor<1x2x2x2xf32>
  %mp = linalg.fill ins(%ninf : f32) outs(%ep : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %p = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %win : tensor<1x5x5x2xf32>, tensor<2x2xf32>) outs(%mp : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> ()>], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%p : tensor<1x2x2x2xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// linalg.softmax is decomposed into the generics it stands for, which are
// then differentiated (the max reduction routes to the maximum).
// CHECK-LABEL: func.func @forward_grad
// CHECK-NOT: = linalg.softmax
// CHECK: amp.origin = "linalg.softmax"
// CHECK: arith.maxnumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: return
func.func @forward(%x: tensor<2x4xf32> {amp.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%s : tensor<2x4xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %sq = arith.mulf %v, %v : f32
    %t = arith.addf %sq, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Scalar code outside payloads: the adjoint of a scalar op from the same
// derivative table; tensor.extract's adjoint is a zero tensor with the
// element's adjoint inserted at its index.
// CHECK-LABEL: func.func @forward_grad
// CHECK-SAME: -> (f32, tensor<4xf32>)
// d(e*e) = 2e, after canonicalization e + e.
// CHECK: %[[E:.*]] = tensor.extract %{{.*}}[%[[C1:.*]]] : tensor<4xf32>
// CHECK: %[[D:.*]] = arith.addf %[[E]], %[[E]] : f32
// CHECK: %[[G:.*]] = tensor.insert %[[D]] into %{{.*}}[%[[C1]]] {amp.gradient} : tensor<4xf32>
// CHECK: return %{{.*}}, %[[G]] : f32, tensor<4xf32>
func.func @forward(%w: tensor<4xf32> {amp.param}) -> f32 {
  %c1 = arith.constant 1 : index
  %e = tensor.extract %w[%c1] : tensor<4xf32>
  %sq = arith.mulf %e, %e : f32
  return %sq : f32
}
