// RUN: ampc-opt %s -split-input-file -amp-fp8-scaling | FileCheck %s
// RUN: ampc-opt %s -split-input-file -amp-fp8-scaling="recipe=current" | FileCheck %s --check-prefix=CURRENT
// RUN: ampc-opt %s -split-input-file -amp-fp8-scaling="history-len=16 algo=most_recent margin=1" | FileCheck %s --check-prefix=OPTS
// RUN: ampc-opt %s -split-input-file -amp-fp8-scaling="history-len=1000" | FileCheck %s --check-prefix=RAGGED
// RUN: ampc-opt %s -split-input-file -amp-fp8-scaling="history-len=7" | FileCheck %s --check-prefix=PRIME

// Outside a training step: current scaling. Each cast gets
// scale = 448 / amax (1 for a zero or non-finite amax, FLT_MAX on overflow)
// and the matmul's f32 result is multiplied by 1 / (s_x * s_w).
// CHECK-LABEL: func.func @forward
// CHECK: %[[AX:.*]] = amp.amax %[[X:.*]] : tensor<8x16xf32>
// CHECK: %[[MAX:.*]] = arith.constant 4.480000e+02 : f32
// CHECK: %[[Q:.*]] = arith.divf %[[MAX]], %[[AX]] : f32
// CHECK: %[[CX:.*]] = amp.cast %[[X]] scale %[[SX:.*]] : tensor<8x16xf32> to tensor<8x16xf8E4M3FN>
// CHECK: %[[CW:.*]] = amp.cast %{{.*}} scale %[[SW:.*]] : tensor<16x4xf32> to tensor<16x4xf8E4M3FN>
// CHECK: %[[P:.*]] = arith.mulf %[[SX]], %[[SW]] : f32
// CHECK: %[[MM:.*]] = linalg.matmul {{.*}} ins(%[[CX]], %[[CW]] : tensor<8x16xf8E4M3FN>, tensor<16x4xf8E4M3FN>)
// CHECK: %[[INV:.*]] = arith.divf %{{.*}}, %[[P]] : f32
// CHECK: %[[INV0D:.*]] = tensor.from_elements %[[INV]] : tensor<f32>
// CHECK: %[[D:.*]] = linalg.generic {{.*}} ins(%[[MM]], %[[INV0D]] : tensor<8x4xf32>, tensor<f32>) {{.*}} attrs = {amp.precision = #amp.precision<compute = f32, accumulate = f32>}
// CHECK: return %[[D]]
func.func @forward(%x: tensor<8x16xf32>, %w: tensor<16x4xf32>) -> tensor<8x4xf32> {
  %zero = arith.constant 0.0 : f32
  %cx = amp.cast %x : tensor<8x16xf32> to tensor<8x16xf8E4M3FN>
  %cw = amp.cast %w : tensor<16x4xf32> to tensor<16x4xf8E4M3FN>
  %e = tensor.empty() : tensor<8x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x4xf32>) -> tensor<8x4xf32>
  %y = linalg.matmul {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>}
      ins(%cx, %cw : tensor<8x16xf8E4M3FN>, tensor<16x4xf8E4M3FN>) outs(%f : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// In the training step the delayed recipe adds the position of the
// histories' next amax (one for all: they advance together) and state per
// cast site: an amax history (a ring buffer), its block maxima (32 blocks
// of 32 for 1024) and a scale, before the batch arguments and before the
// loss result, with initial values (position 0, zeros, scale 1) in
// @train_state_init. Every update reads the position read at the start of
// the step; the first one's next position is returned. E5M2 casts use
// 57344. An accumulator that does not start at zero is scaled up first.
// CHECK-LABEL: func.func @train_state_init()
// CHECK-SAME: -> (tensor<4xf32> {amp.role = "param0.momentum"}, tensor<i32> {amp.role = "fp8.amax_position"}, tensor<1024xf32> {amp.role = "fp8.param0.amax_history"}, tensor<32xf32> {amp.role = "fp8.param0.amax_block_max"}, tensor<f32> {amp.role = "fp8.param0.scale"}, tensor<1024xf32> {amp.role = "fp8.input0.amax_history"}, tensor<32xf32> {amp.role = "fp8.input0.amax_block_max"}, tensor<f32> {amp.role = "fp8.input0.scale"})
// CHECK-DAG: arith.constant dense<0> : tensor<i32>
// CHECK-DAG: arith.constant dense<0.000000e+00> : tensor<1024xf32>
// CHECK-DAG: arith.constant dense<0.000000e+00> : tensor<32xf32>
// CHECK-DAG: arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[W:.*]]: tensor<4x4xf32> {amp.param, amp.role = "param0"}, %[[M:.*]]: tensor<4xf32> {amp.role = "param0.momentum"},
// CHECK-SAME: %[[P0:.*]]: tensor<i32> {amp.role = "fp8.amax_position"},
// CHECK-SAME: %[[HW:.*]]: tensor<1024xf32> {amp.role = "fp8.param0.amax_history"}, %[[BW:.*]]: tensor<32xf32> {amp.role = "fp8.param0.amax_block_max"}, %[[SW0:.*]]: tensor<f32> {amp.role = "fp8.param0.scale"},
// CHECK-SAME: %[[HX:.*]]: tensor<1024xf32> {amp.role = "fp8.input0.amax_history"}, %[[BX:.*]]: tensor<32xf32> {amp.role = "fp8.input0.amax_block_max"}, %[[SX0:.*]]: tensor<f32> {amp.role = "fp8.input0.scale"},
// CHECK-SAME: %[[X:.*]]: tensor<2x4xf32> {amp.role = "batch"}, %[[ACC:.*]]: tensor<2x4xf32> {amp.role = "batch"})
// CHECK-SAME: -> (tensor<4x4xf32> {amp.role = "param0"}, tensor<4xf32> {amp.role = "param0.momentum"}, tensor<i32> {amp.role = "fp8.amax_position"}, tensor<1024xf32> {amp.role = "fp8.param0.amax_history"}, tensor<32xf32> {amp.role = "fp8.param0.amax_block_max"}, tensor<f32> {amp.role = "fp8.param0.scale"}, tensor<1024xf32> {amp.role = "fp8.input0.amax_history"}, tensor<32xf32> {amp.role = "fp8.input0.amax_block_max"}, tensor<f32> {amp.role = "fp8.input0.scale"}, tensor<f32> {amp.role = "loss"})
// CHECK-NEXT: %[[P:.*]] = tensor.extract %[[P0]][] : tensor<i32>
// CHECK: %[[AW:.*]] = amp.amax %[[W]]
// CHECK: %[[SW:.*]] = tensor.extract %[[SW0]][]
// CHECK: %[[NHW:.*]], %[[NBW:.*]], %[[NP:.*]], %[[NSW:.*]] = amp.update_amax_history %[[HW]], %[[BW]], %[[P]], %[[AW]], %[[SW]] format f8E4M3FN algo max : tensor<1024xf32>, tensor<32xf32>
// CHECK: %[[NP0:.*]] = tensor.from_elements %[[NP]] : tensor<i32>
// CHECK: %[[NSW0:.*]] = tensor.from_elements %[[NSW]] : tensor<f32>
// CHECK: amp.cast %[[W]] scale %[[SW]]
// CHECK: amp.update_amax_history %[[HX]], %[[BX]], %[[P]], %{{.*}}, %{{.*}} format f8E5M2 algo max
// CHECK-NOT: tensor.from_elements %{{.*}} : tensor<i32>
// CHECK: %[[P2:.*]] = arith.mulf
// CHECK: %[[UP:.*]] = linalg.generic {{.*}} ins(%[[ACC]], %{{.*}} : tensor<2x4xf32>, tensor<f32>)
// CHECK: linalg.matmul {{.*}} outs(%[[UP]] : tensor<2x4xf32>)
// CHECK: return %{{.*}}, %{{.*}}, %[[NP0]], %[[NHW]], %[[NBW]], %[[NSW0]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :

// CURRENT-LABEL: func.func @train_state_init()
// CURRENT-SAME: -> (tensor<4xf32> {amp.role = "param0.momentum"})
// CURRENT-LABEL: func.func @train_step
// CURRENT-NOT: amp.update_amax_history
// CURRENT: amp.cast %{{.*}} scale

// OPTS-LABEL: func.func @train_step
// OPTS: amp.update_amax_history %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} format f8E4M3FN algo most_recent {margin = 1 : i64} : tensor<16xf32>, tensor<4xf32>

// Blocks tile the history: a length that is not a square keeps the divisor
// nearest its root from below as the block length (1000: 40 blocks of 25),
// a prime one blocks of 1.
// RAGGED-LABEL: func.func @train_step
// RAGGED: amp.update_amax_history {{.*}} : tensor<1000xf32>, tensor<40xf32>
// PRIME-LABEL: func.func @train_step
// PRIME: amp.update_amax_history {{.*}} : tensor<7xf32>, tensor<7xf32>
func.func @train_state_init() -> (tensor<4xf32> {amp.role = "param0.momentum"}) {
  %m = arith.constant dense<0.0> : tensor<4xf32>
  return %m : tensor<4xf32>
}
func.func @train_step(%w: tensor<4x4xf32> {amp.param, amp.role = "param0"}, %m: tensor<4xf32> {amp.role = "param0.momentum"},
                      %x: tensor<2x4xf32> {amp.role = "batch"}, %acc: tensor<2x4xf32> {amp.role = "batch"})
    -> (tensor<4x4xf32> {amp.role = "param0"}, tensor<4xf32> {amp.role = "param0.momentum"}, tensor<f32> {amp.role = "loss"}) {
  %cw = amp.cast %w : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
  %cx = amp.cast %x : tensor<2x4xf32> to tensor<2x4xf8E5M2>
  %y = linalg.matmul {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>}
      ins(%cx, %cw : tensor<2x4xf8E5M2>, tensor<4x4xf8E4M3FN>) outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e = tensor.empty() : tensor<f32>
  return %w, %m, %e : tensor<4x4xf32>, tensor<4xf32>, tensor<f32>
}

// -----

// A data-parallel step (amp.data_parallel) records the largest amax of any
// rank: each site's amax is max-reduced before its history update, so the
// ranks' histories and scales stay identical.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: amp.data_parallel
// CHECK: %[[A:.*]] = amp.amax %arg0
// CHECK: %[[A0:.*]] = tensor.from_elements %[[A]] : tensor<f32>
// CHECK: %[[R:.*]] = amp.all_reduce max %[[A0]] : tensor<f32> -> tensor<f32>
// CHECK: %[[RA:.*]] = tensor.extract %[[R]][] : tensor<f32>
// CHECK: amp.update_amax_history %{{.*}}, %{{.*}}, %{{.*}}, %[[RA]], %{{.*}} format f8E4M3FN
// CHECK: amp.all_reduce max
// CHECK: amp.update_amax_history {{.*}} format f8E5M2
// CURRENT-LABEL: func.func @train_step
// CURRENT-NOT: amp.all_reduce
// CURRENT: return
func.func @train_state_init() -> (tensor<4xf32> {amp.role = "param0.momentum"}) {
  %m = arith.constant dense<0.0> : tensor<4xf32>
  return %m : tensor<4xf32>
}
func.func @train_step(%w: tensor<4x4xf32> {amp.param, amp.role = "param0"}, %m: tensor<4xf32> {amp.role = "param0.momentum"},
                      %x: tensor<2x4xf32> {amp.role = "batch"}, %acc: tensor<2x4xf32> {amp.role = "batch"})
    -> (tensor<4x4xf32> {amp.role = "param0"}, tensor<4xf32> {amp.role = "param0.momentum"}, tensor<f32> {amp.role = "loss"})
    attributes {amp.data_parallel} {
  %cw = amp.cast %w : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
  %cx = amp.cast %x : tensor<2x4xf32> to tensor<2x4xf8E5M2>
  %y = linalg.matmul {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>}
      ins(%cx, %cw : tensor<2x4xf8E5M2>, tensor<4x4xf8E4M3FN>) outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e = tensor.empty() : tensor<f32>
  return %w, %m, %e : tensor<4x4xf32>, tensor<4xf32>, tensor<f32>
}

// -----

// A cast that does not feed an fp8 contraction is a decision kept as
// written: no scale.
// CHECK-LABEL: func.func @quantize
// CHECK-NEXT: %[[C:.*]] = amp.cast %{{.*}} : tensor<4xf32> to tensor<4xf8E4M3FN>
// CHECK-NEXT: return %[[C]]
func.func @quantize(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  %c = amp.cast %x : tensor<4xf32> to tensor<4xf8E4M3FN>
  return %c : tensor<4xf8E4M3FN>
}
