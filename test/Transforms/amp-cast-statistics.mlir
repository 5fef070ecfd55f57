// RUN: ampc-opt %s -split-input-file -amp-cast-statistics | FileCheck %s

// Every narrowing cast of the training step is measured: one reduction per
// cast counts non-zero, underflowed and overflowed elements; the shares come
// back as the last result, row i for cast i, named in amp.cast_sites.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: -> (tensor<4x4xf32> {amp.role = "param0"}, tensor<f32> {amp.role = "loss"}, tensor<2x2xf32> {amp.role = "cast_stats"})
// CHECK-SAME: attributes {amp.cast_sites = ["param0:bf16", "input0:f8E5M2"]}
// CHECK: %[[CW:.*]] = amp.cast %[[W:.*]] : tensor<4x4xf32> to tensor<4x4xbf16>
// CHECK: %[[CY:.*]] = amp.cast %[[Y:.*]] scale %[[S:.*]] : tensor<2x4xf32> to tensor<2x4xf8E5M2>
// The weight's cast: no scale (1), bf16's largest finite value bounds it.
// CHECK: %[[ONE:.*]] = tensor.from_elements %{{.*}} : tensor<f32>
// CHECK: %[[COUNTS:.*]]:3 = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%[[W]], %[[CW]], %[[ONE]] : tensor<4x4xf32>, tensor<4x4xbf16>, tensor<f32>) outs({{.*}}) attrs = {amp.precision = #amp.precision<compute = f32, accumulate = f32>}
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: arith.cmpf one
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpf ogt, %{{.*}}, %{{.*}} : f32
// CHECK: linalg.yield
// The fp8 cast: its scale enters the overflow test.
// CHECK: %[[S0D:.*]] = tensor.from_elements %[[S]] : tensor<f32>
// CHECK: linalg.generic {{.*}} ins(%[[Y]], %[[CY]], %[[S0D]] : tensor<2x4xf32>, tensor<2x4xf8E5M2>, tensor<f32>)
// CHECK: %[[STATS:.*]] = tensor.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x2xf32>
// CHECK: return %{{.*}}, %{{.*}}, %[[STATS]] : tensor<4x4xf32>, tensor<f32>, tensor<2x2xf32>
func.func @train_step(%w: tensor<4x4xf32> {amp.param, amp.role = "param0"}, %y: tensor<2x4xf32> {amp.role = "batch"}, %s: f32 {amp.role = "batch"})
    -> (tensor<4x4xf32> {amp.role = "param0"}, tensor<f32> {amp.role = "loss"}) {
  %cw = amp.cast %w : tensor<4x4xf32> to tensor<4x4xbf16>
  %cy = amp.cast %y scale %s : tensor<2x4xf32> to tensor<2x4xf8E5M2>
  %l = tensor.empty() : tensor<f32>
  return %w, %l : tensor<4x4xf32>, tensor<f32>
}

// -----

// Functions other than the training step, and widening casts, are left
// alone.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: -> tensor<4xbf16> {
// CHECK-NOT: amp.cast_sites
// CHECK-NOT: linalg.generic
func.func @forward(%x: tensor<4xf32>) -> tensor<4xbf16> {
  %c = amp.cast %x : tensor<4xf32> to tensor<4xbf16>
  return %c : tensor<4xbf16>
}

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: -> (tensor<4xf32>, tensor<f32> {amp.role = "loss"}) {
// CHECK-NOT: cast_stats
func.func @train_step(%x: tensor<4xbf16>) -> (tensor<4xf32>, tensor<f32> {amp.role = "loss"}) {
  %c = amp.cast %x : tensor<4xbf16> to tensor<4xf32>
  %l = tensor.empty() : tensor<f32>
  return %c, %l : tensor<4xf32>, tensor<f32>
}
