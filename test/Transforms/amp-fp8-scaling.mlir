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

// In the training step the delayed recipe adds state with one column per
// cast site, as Transformer Engine's fp8 meta keeps it: the position of the
// histories' next amaxes (one for all: they advance together), the amax
// histories (a ring buffer of rows), their block maxima (32 blocks of 32
// rows for 1024) and the scales, before the batch arguments and before the
// loss result, with initial values (position 0, zeros, scales 1) in
// @train_state_init; `amp.fp8_sites` names the columns. Each cast reads its
// scale from its column; one update records every amax before the step
// returns. E5M2 casts use 57344. An accumulator that does not start at zero
// is scaled up first.
// CHECK-LABEL: func.func @train_state_init()
// CHECK-SAME: -> (tensor<4xf32> {amp.role = "param0.momentum"}, tensor<i32> {amp.role = "fp8.amax_position"}, tensor<1024x2xf32> {amp.role = "fp8.amax_history"}, tensor<32x2xf32> {amp.role = "fp8.amax_block_max"}, tensor<2xf32> {amp.role = "fp8.scale"})
// CHECK-DAG: arith.constant dense<0> : tensor<i32>
// CHECK-DAG: arith.constant dense<0.000000e+00> : tensor<1024x2xf32>
// CHECK-DAG: arith.constant dense<0.000000e+00> : tensor<32x2xf32>
// CHECK-DAG: arith.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[W:.*]]: tensor<4x4xf32> {amp.param, amp.role = "param0"}, %[[M:.*]]: tensor<4xf32> {amp.role = "param0.momentum"},
// CHECK-SAME: %[[P0:.*]]: tensor<i32> {amp.role = "fp8.amax_position"}, %[[H:.*]]: tensor<1024x2xf32> {amp.role = "fp8.amax_history"}, %[[B:.*]]: tensor<32x2xf32> {amp.role = "fp8.amax_block_max"}, %[[S:.*]]: tensor<2xf32> {amp.role = "fp8.scale"},
// CHECK-SAME: %[[X:.*]]: tensor<2x4xf32> {amp.role = "batch"}, %[[ACC:.*]]: tensor<2x4xf32> {amp.role = "batch"})
// CHECK-SAME: -> (tensor<4x4xf32> {amp.role = "param0"}, tensor<4xf32> {amp.role = "param0.momentum"}, tensor<i32> {amp.role = "fp8.amax_position"}, tensor<1024x2xf32> {amp.role = "fp8.amax_history"}, tensor<32x2xf32> {amp.role = "fp8.amax_block_max"}, tensor<2xf32> {amp.role = "fp8.scale"}, tensor<f32> {amp.role = "loss"})
// CHECK-SAME: attributes {amp.fp8_sites = ["param0", "input0"]}
// CHECK: %[[AW:.*]] = amp.amax %[[W]]
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[SW:.*]] = tensor.extract %[[S]][%[[C0]]] : tensor<2xf32>
// CHECK: amp.cast %[[W]] scale %[[SW]] : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
// CHECK: %[[AX:.*]] = amp.amax %[[X]]
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[SX:.*]] = tensor.extract %[[S]][%[[C1]]] : tensor<2xf32>
// CHECK: amp.cast %[[X]] scale %[[SX]] : tensor<2x4xf32> to tensor<2x4xf8E5M2>
// CHECK: %[[P2:.*]] = arith.mulf %[[SX]], %[[SW]]
// CHECK: %[[UP:.*]] = linalg.generic {{.*}} ins(%[[ACC]], %{{.*}} : tensor<2x4xf32>, tensor<f32>)
// CHECK: linalg.matmul {{.*}} outs(%[[UP]] : tensor<2x4xf32>)
// CHECK-NOT: amp.update_amax_history
// CHECK: %[[A:.*]] = tensor.from_elements %[[AW]], %[[AX]] : tensor<2xf32>
// CHECK-NEXT: %[[P:.*]] = tensor.extract %[[P0]][] : tensor<i32>
// CHECK-NEXT: %[[NH:.*]], %[[NB:.*]], %[[NP:.*]], %[[NS:.*]] = amp.update_amax_history %[[H]], %[[B]], %[[P]], %[[A]], %[[S]] formats [f8E4M3FN, f8E5M2] algo max : tensor<1024x2xf32>, tensor<32x2xf32>, tensor<2xf32>
// CHECK-NEXT: %[[NP0:.*]] = tensor.from_elements %[[NP]] : tensor<i32>
// CHECK-NEXT: return %{{.*}}, %{{.*}}, %[[NP0]], %[[NH]], %[[NB]], %[[NS]], %{{.*}} :

// CURRENT-LABEL: func.func @train_state_init()
// CURRENT-SAME: -> (tensor<4xf32> {amp.role = "param0.momentum"})
// CURRENT-LABEL: func.func @train_step
// CURRENT-NOT: amp.update_amax_history
// CURRENT: amp.cast %{{.*}} scale

// OPTS-LABEL: func.func @train_step
// OPTS: amp.update_amax_history %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} formats [f8E4M3FN, f8E5M2] algo most_recent {margin = 1 : i64} : tensor<16x2xf32>, tensor<4x2xf32>, tensor<2xf32>

// Blocks tile the history: a length that is not a square keeps the divisor
// nearest its root from below as the block length (1000: 40 blocks of 25),
// a prime one blocks of 1.
// RAGGED-LABEL: func.func @train_step
// RAGGED: amp.update_amax_history {{.*}} : tensor<1000x2xf32>, tensor<40x2xf32>, tensor<2xf32>
// PRIME-LABEL: func.func @train_step
// PRIME: amp.update_amax_history {{.*}} : tensor<7x2xf32>, tensor<7x2xf32>, tensor<2xf32>
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
// rank: the amaxes are max-reduced, all in one vector, before the history
// update, so the ranks' histories and scales stay identical.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: amp.data_parallel
// CHECK: %[[AW:.*]] = amp.amax %arg0
// CHECK: %[[AX:.*]] = amp.amax %arg6
// CHECK-NOT: amp.all_reduce
// CHECK: %[[A:.*]] = tensor.from_elements %[[AW]], %[[AX]] : tensor<2xf32>
// CHECK-NEXT: %[[R:.*]] = amp.all_reduce max %[[A]] : tensor<2xf32> -> tensor<2xf32>
// CHECK-NOT: amp.all_reduce
// CHECK: amp.update_amax_history %{{.*}}, %{{.*}}, %{{.*}}, %[[R]], %{{.*}} formats [f8E4M3FN, f8E5M2]
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
