// RUN: ampc-opt %s -split-input-file -amp-insert-casts | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

// A parameter used by two bf16 ops is cast once, right at the function entry;
// the fresh destination is recreated in bf16 instead of being cast; the
// generic's payload keeps its f32 arithmetic and converts at its boundary; the
// function result is cast back to f32.
// CHECK-LABEL: func.func @casts_at_boundaries
// CHECK-SAME: (%[[W:.*]]: tensor<4x4xf32> {amp.param}, %[[X:.*]]: tensor<4x4xf32>)
// CHECK-NEXT: %[[WB:.*]] = amp.cast %[[W]] : tensor<4x4xf32> to tensor<4x4xbf16>
// CHECK-NEXT: %[[XB:.*]] = amp.cast %[[X]] : tensor<4x4xf32> to tensor<4x4xbf16>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x4xf32>
// CHECK-NEXT: %[[EB:.*]] = tensor.empty() : tensor<4x4xbf16>
// CHECK: %[[ADD:.*]] = linalg.generic
// CHECK-SAME: ins(%[[XB]], %[[WB]] : tensor<4x4xbf16>, tensor<4x4xbf16>) outs(%[[EB]] : tensor<4x4xbf16>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: bf16, %[[B:.*]]: bf16, %{{.*}}: bf16):
// CHECK-DAG: %[[AF:.*]] = arith.extf %[[A]] : bf16 to f32
// CHECK-DAG: %[[BF:.*]] = arith.extf %[[B]] : bf16 to f32
// CHECK: %[[S:.*]] = arith.addf %[[AF]], %[[BF]] : f32
// CHECK: %[[T:.*]] = arith.truncf %[[S]] : f32 to bf16
// CHECK: linalg.yield %[[T]] : bf16
// CHECK: -> tensor<4x4xbf16>
// CHECK: %[[MUL:.*]] = arith.mulf %[[ADD]], %[[WB]] {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} : tensor<4x4xbf16>
// CHECK-NEXT: %[[BACK:.*]] = amp.cast %[[MUL]] : tensor<4x4xbf16> to tensor<4x4xf32>
// CHECK-NEXT: return %[[BACK]] : tensor<4x4xf32>
func.func @casts_at_boundaries(%w: tensor<4x4xf32> {amp.param}, %x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<4x4xf32>
  %add = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>)
      attrs = {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %mul = arith.mulf %add, %w {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} : tensor<4x4xf32>
  return %mul : tensor<4x4xf32>
}

// -----

// A bf16 producer feeding an f32 consumer gets one cast up; a named op gets
// the body its region builder makes for the new types; a fill of a constant is
// recreated in the new type; dynamic shapes keep their sizes.
// CHECK-LABEL: func.func @named_and_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %[[W:.*]]: tensor<4x2xf32>, %[[N:.*]]: index)
// CHECK-DAG: %[[WB:.*]] = amp.cast %[[W]] : tensor<4x2xf32> to tensor<4x2xbf16>
// CHECK-DAG: %[[XB:.*]] = amp.cast %[[X]] : tensor<?x4xf32> to tensor<?x4xbf16>
// CHECK-DAG: %[[ZB:.*]] = arith.constant 0.000000e+00 : bf16
// CHECK-DAG: %[[EB:.*]] = tensor.empty(%[[N]]) : tensor<?x2xbf16>
// CHECK: %[[FB:.*]] = linalg.fill ins(%[[ZB]] : bf16) outs(%[[EB]] : tensor<?x2xbf16>)
// CHECK: %[[MM:.*]] = linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = bf16>} ins(%[[XB]], %[[WB]] : tensor<?x4xbf16>, tensor<4x2xbf16>) outs(%[[FB]] : tensor<?x2xbf16>) -> tensor<?x2xbf16>
// CHECK: %[[UP:.*]] = amp.cast %[[MM]] : tensor<?x2xbf16> to tensor<?x2xf32>
// CHECK: math.exp %[[UP]] {amp.precision = #amp.precision<compute = f32, accumulate = f32>} : tensor<?x2xf32>
func.func @named_and_dynamic(%x: tensor<?x4xf32>, %w: tensor<4x2xf32>, %n: index) -> tensor<?x2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x2xf32>) -> tensor<?x2xf32>
  %mm = linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = bf16>}
      ins(%x, %w : tensor<?x4xf32>, tensor<4x2xf32>) outs(%z : tensor<?x2xf32>) -> tensor<?x2xf32>
  %exp = math.exp %mm {amp.precision = #amp.precision<compute = f32, accumulate = f32>} : tensor<?x2xf32>
  return %exp : tensor<?x2xf32>
}

// -----

// Under fp8, a contraction's gradient operand (marked by the training graph)
// is cast to f8E5M2 and the other to f8E4M3FN: dgrad = dY(E5M2) x W(E4M3).
// CHECK-LABEL: func.func @fp8_gradient_operand
// CHECK-SAME: (%[[DY:.*]]: tensor<8x2xf32>, %[[WT:.*]]: tensor<2x4xf32>
// CHECK-DAG: %[[DYQ:.*]] = amp.cast %[[DY]] : tensor<8x2xf32> to tensor<8x2xf8E5M2>
// CHECK-DAG: %[[WQ:.*]] = amp.cast %[[WT]] : tensor<2x4xf32> to tensor<2x4xf8E4M3FN>
// CHECK: linalg.matmul {{.*}}ins(%[[DYQ]], %[[WQ]] : tensor<8x2xf8E5M2>, tensor<2x4xf8E4M3FN>)
func.func @fp8_gradient_operand(%dy: tensor<8x2xf32>, %wt: tensor<2x4xf32>, %z: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %dx = linalg.matmul {amp.gradient_operands = array<i64: 0>,
                       amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>}
      ins(%dy, %wt : tensor<8x2xf32>, tensor<2x4xf32>) outs(%z : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %dx : tensor<8x4xf32>
}

// -----

// A value whose producer the training step marked amp.gradient is a gradient
// too: an fp8 contraction takes it in f8E5M2.
// CHECK-LABEL: func.func @fp8_marked_gradient_value
// CHECK: %[[DY:.*]] = arith.negf {{.*}} {amp.gradient}
// CHECK: amp.cast %[[DY]] : tensor<8x2xf32> to tensor<8x2xf8E5M2>
func.func @fp8_marked_gradient_value(%g: tensor<8x2xf32>, %wt: tensor<2x4xf32>, %z: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %dy = arith.negf %g {amp.gradient} : tensor<8x2xf32>
  %dx = linalg.matmul {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>}
      ins(%dy, %wt : tensor<8x2xf32>, tensor<2x4xf32>) outs(%z : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %dx : tensor<8x4xf32>
}
