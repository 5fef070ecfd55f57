// Precision overrides reach the training step: the ops amp-build-train-step
// creates for a forward op (its generalization into linalg.generic and its
// adjoints) record it in `amp.origin`, op-name overrides follow that name,
// and a hand-written amp.precision carries over to the derived ops of the
// same class (the adjoints of a contraction are contractions).
//
// An MLP x -> matmul W1 -> linalg.map (exp) -> matmul W2 -> sum: in @train_step, the
// first matmul gives 2 contractions (forward, dW1; x needs no gradient), the
// second 3 (forward, dW2, dH).
// RUN: ampc-opt %s -amp-build-train-step="optimizer=sgd" -amp-autocast="policy=bf16" | FileCheck %s --check-prefix=ATTR
// RUN: ampc-opt %s -amp-build-train-step="optimizer=sgd" -amp-autocast="policy=bf16 fp32-ops=linalg.matmul" | FileCheck %s --check-prefix=FP32OPS
// RUN: ampc-opt %s -amp-build-train-step="optimizer=sgd" -amp-autocast="policy=bf16 lower-ops=linalg.map" | FileCheck %s --check-prefix=LOWER
// RUN: ampc-opt %s -amp-build-train-step="optimizer=sgd" -amp-autocast="policy=bf16 lower-ops=linalg.matmul fp32-ops=linalg.generic" | FileCheck %s --check-prefix=MIXED

#id = affine_map<(d0, d1) -> (d0, d1)>
#none = affine_map<(d0, d1) -> ()>
func.func @forward(%w1: tensor<8x16xf32> {amp.param}, %w2: tensor<16x4xf32> {amp.param},
                   %x: tensor<2x8xf32>) -> (tensor<f32>, tensor<2x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<2x16xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %h = linalg.matmul {amp.precision = #amp.precision<compute = f32, accumulate = f32>}
      ins(%x, %w1 : tensor<2x8xf32>, tensor<8x16xf32>) outs(%f1 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %a = linalg.map { math.exp } ins(%h : tensor<2x16xf32>) outs(%e1 : tensor<2x16xf32>)
  %e2 = tensor.empty() : tensor<2x4xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%a, %w2 : tensor<2x16xf32>, tensor<16x4xf32>) outs(%f2 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id, #none], iterator_types = ["reduction", "reduction"]}
      ins(%y : tensor<2x4xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %l, %y : tensor<f32>, tensor<2x4xf32>
}

// The hand-written f32 on the first matmul holds for its forward copy and
// its weight gradient in @train_step; the second matmul's three
// contractions take the policy's bf16 (in IR order: forward 1, forward 2,
// dH, dW2, dW1).
// ATTR-LABEL: func.func @train_step
// ATTR: iterator_types = ["parallel", "parallel", "reduction"]{{.*}}amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = f32, accumulate = f32>
// ATTR: iterator_types = ["parallel", "parallel", "reduction"]{{.*}}amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// ATTR: iterator_types = ["parallel", "reduction", "parallel"]{{.*}}amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// ATTR: iterator_types = ["reduction", "parallel", "parallel"]{{.*}}amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// ATTR: iterator_types = ["reduction", "parallel", "parallel"]{{.*}}amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = f32, accumulate = f32>
// ATTR-NOT: amp.origin = "linalg.matmul", amp.precision
// ATTR-NOT: amp.origin_precision
// ATTR: return

// fp32-ops=linalg.matmul: all five contractions (generics now) in f32.
// FP32OPS-LABEL: func.func @train_step
// FP32OPS-NOT: compute = bf16
// FP32OPS-COUNT-5: amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = f32, accumulate = f32>
// FP32OPS-NOT: compute = bf16
// FP32OPS: return

// lower-ops=linalg.map: the exponential (an elementwise generic in the step)
// and its adjoint compute in bf16.
// LOWER-LABEL: func.func @train_step
// LOWER: linalg.generic {{.*}}amp.origin = "linalg.map", amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// LOWER-NEXT: ^bb0
// LOWER-NEXT: math.exp
// LOWER: linalg.generic {{.*}}amp.gradient, amp.origin = "linalg.map", amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// LOWER-NOT: amp.origin = "linalg.map"
// LOWER: return

// Overrides on generalized ops name the forward op, not linalg.generic: the
// loss (a generic in the model) and its adjoint are f32, while the matmuls,
// generics in the step too, follow lower-ops (the first keeps its
// hand-written f32).
// MIXED-LABEL: func.func @train_step
// MIXED: amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = f32, accumulate = f32>
// MIXED-COUNT-3: amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// MIXED: amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = f32, accumulate = f32>
// MIXED-NOT: amp.origin = "linalg.matmul", amp.precision
// MIXED: return
