// RUN: ampc-opt %s -amp-build-train-step -ampc-train-pipeline=policy=bf16 -amp-check-numerics | FileCheck %s
// RUN: ampc-opt %s -amp-check-numerics | FileCheck %s --check-prefix=NOSTEP
//
// amp-check-numerics gives the training step one flag per float tensor a
// linalg op (not a fill) or an amp.cast computes: whether it holds an inf or
// a NaN (bf16 values widened exactly first), returned as tensor<N x i1>
// (role nonfinite) with the ops named in program order. Functions that are
// not a training step are left alone.

func.func @forward(%w: tensor<4x3xf32> {amp.param = "fc.weight"},
                   %x: tensor<2x4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x3xf32>) outs(%f : tensor<2x3xf32>) -> tensor<2x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%y : tensor<2x3xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: tensor<f32> {amp.role = "grad_norm"}, tensor<9xi1> {amp.role = "nonfinite"})
// The forward's casts, its matmul and loss, then the backward, in order.
// CHECK-SAME: amp.nonfinite_sites = ["amp.cast to bf16 at {{[^"]*}}amp-check-numerics.mlir:10:1", "amp.cast to bf16 at {{[^"]*}}amp-check-numerics.mlir:10:1", "linalg.generic (from linalg.matmul) at {{[^"]*}}amp-check-numerics.mlir:15:8", "linalg.generic at {{[^"]*}}amp-check-numerics.mlir:18:8", "linalg.generic (from linalg.generic) at {{[^"]*}}amp-check-numerics.mlir:18:8", "amp.cast to bf16 at {{[^"]*}}amp-check-numerics.mlir:18:8", "linalg.generic (from linalg.matmul) at {{[^"]*}}amp-check-numerics.mlir:15:8", "linalg.generic at {{[^"]*}}amp-check-numerics.mlir:10:1", "linalg.generic at {{[^"]*}}amp-check-numerics.mlir:10:1"]
// A bf16 tensor: widened, then |x| == inf or unordered.
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%{{.*}} : tensor<2x4xbf16>) outs(%{{.*}} : tensor<i1>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: bf16, %[[ACC:.*]]: i1):
// CHECK-NEXT: %[[W:.*]] = amp.cast %[[IN]] : bf16 to f32
// CHECK-DAG: %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK-DAG: %[[ABS:.*]] = math.absf %[[W]] : f32
// CHECK: %[[BAD:.*]] = arith.cmpf ueq, %[[ABS]], %[[INF]] : f32
// CHECK: arith.ori %[[ACC]], %[[BAD]] : i1
// CHECK: %[[FLAGS:.*]] = tensor.from_elements {{.*}} : tensor<9xi1>
// CHECK: return {{.*}}, %[[FLAGS]] :

// NOSTEP-LABEL: func.func @forward(
// NOSTEP-SAME: -> tensor<f32> {
// NOSTEP-NOT: nonfinite
