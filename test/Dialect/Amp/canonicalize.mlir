// RUN: ampc-opt %s -canonicalize -split-input-file | FileCheck %s

// A cast to the same type disappears.
// CHECK-LABEL: func.func @same_type
// CHECK-SAME: (%[[X:.*]]: tensor<4xbf16>)
// CHECK-NOT: amp.cast
// CHECK: return %[[X]]
func.func @same_type(%x: tensor<4xbf16>) -> tensor<4xbf16> {
  %0 = amp.cast %x : tensor<4xbf16> to tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// -----

// An exact widening followed by the narrowing back is the identity.
// CHECK-LABEL: func.func @exact_round_trip
// CHECK-SAME: (%[[X:.*]]: tensor<4xbf16>, %[[Y:.*]]: tensor<4xf8E4M3FN>)
// CHECK-NOT: amp.cast
// CHECK: return %[[X]], %[[Y]]
func.func @exact_round_trip(%x: tensor<4xbf16>, %y: tensor<4xf8E4M3FN>)
    -> (tensor<4xbf16>, tensor<4xf8E4M3FN>) {
  %0 = amp.cast %x : tensor<4xbf16> to tensor<4xf32>
  %1 = amp.cast %0 : tensor<4xf32> to tensor<4xbf16>
  %2 = amp.cast %y : tensor<4xf8E4M3FN> to tensor<4xbf16>
  %3 = amp.cast %2 : tensor<4xbf16> to tensor<4xf8E4M3FN>
  return %1, %3 : tensor<4xbf16>, tensor<4xf8E4M3FN>
}

// -----

// Rounding to bf16 and widening back changes values: both casts stay.
// CHECK-LABEL: func.func @inexact_round_trip
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[N:.*]] = amp.cast %[[X]] : tensor<4xf32> to tensor<4xbf16>
// CHECK: %[[W:.*]] = amp.cast %[[N]] : tensor<4xbf16> to tensor<4xf32>
// CHECK: return %[[W]]
func.func @inexact_round_trip(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = amp.cast %x : tensor<4xf32> to tensor<4xbf16>
  %1 = amp.cast %0 : tensor<4xbf16> to tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// An exact widening in the middle of a chain is skipped: bf16 -> f32 -> f16
// rounds once, like bf16 -> f16. f16 -> bf16 -> f32 keeps both casts (f16 to
// bf16 rounds).
// CHECK-LABEL: func.func @skip_exact_widening
// CHECK-SAME: (%[[X:.*]]: tensor<4xbf16>, %[[Y:.*]]: tensor<4xf16>)
// CHECK: %[[A:.*]] = amp.cast %[[X]] : tensor<4xbf16> to tensor<4xf16>
// CHECK: %[[B:.*]] = amp.cast %[[Y]] : tensor<4xf16> to tensor<4xbf16>
// CHECK: %[[C:.*]] = amp.cast %[[B]] : tensor<4xbf16> to tensor<4xf32>
// CHECK: return %[[A]], %[[C]]
func.func @skip_exact_widening(%x: tensor<4xbf16>, %y: tensor<4xf16>)
    -> (tensor<4xf16>, tensor<4xf32>) {
  %0 = amp.cast %x : tensor<4xbf16> to tensor<4xf32>
  %1 = amp.cast %0 : tensor<4xf32> to tensor<4xf16>
  %2 = amp.cast %y : tensor<4xf16> to tensor<4xbf16>
  %3 = amp.cast %2 : tensor<4xbf16> to tensor<4xf32>
  return %1, %3 : tensor<4xf16>, tensor<4xf32>
}

// -----

// A scaled quantization of a widened fp8 value must not become an fp8-to-fp8
// cast: the pair stays.
// CHECK-LABEL: func.func @scaled_after_widening
// CHECK: amp.cast %{{.*}} : tensor<4xf8E5M2> to tensor<4xf32>
// CHECK: amp.cast %{{.*}} scale %{{.*}} : tensor<4xf32> to tensor<4xf8E4M3FN>
func.func @scaled_after_widening(%x: tensor<4xf8E5M2>, %s: f32) -> tensor<4xf8E4M3FN> {
  %0 = amp.cast %x : tensor<4xf8E5M2> to tensor<4xf32>
  %1 = amp.cast %0 scale %s : tensor<4xf32> to tensor<4xf8E4M3FN>
  return %1 : tensor<4xf8E4M3FN>
}

// -----

// Constants fold with round-to-nearest-even and the cast's overflow rule.
// CHECK-LABEL: func.func @constants
// CHECK-DAG: %[[SAT:.*]] = arith.constant dense<4.480000e+02> : tensor<4xf8E4M3FN>
// CHECK-DAG: %[[NAN:.*]] = arith.constant dense<0x7F> : tensor<4xf8E4M3FN>
// CHECK-DAG: %[[INF:.*]] = arith.constant dense<0x7C00> : tensor<4xf16>
// CHECK-DAG: %[[MAX:.*]] = arith.constant dense<6.550400e+04> : tensor<4xf16>
// CHECK-DAG: %[[BF:.*]] = arith.constant dense<[1.000000e+00, 1.015630e+00, -0.000000e+00, 0x7F80]> : tensor<4xbf16>
// CHECK-DAG: %[[S:.*]] = arith.constant -5.734400e+04 : f8E5M2
// CHECK-NOT: amp.cast
// CHECK: return %[[SAT]], %[[NAN]], %[[INF]], %[[MAX]], %[[BF]], %[[S]]
func.func @constants() -> (tensor<4xf8E4M3FN>, tensor<4xf8E4M3FN>, tensor<4xf16>,
                           tensor<4xf16>, tensor<4xbf16>, f8E5M2) {
  %big = arith.constant dense<1.0e6> : tensor<4xf32>
  %f16big = arith.constant dense<65520.0> : tensor<4xf32>
  // 1 + 2^-8 is a tie (to 1); 1 + 3 * 2^-8 is a tie (to 1 + 2^-6, the even
  // one); the largest finite f32 lies beyond the midpoint between the largest
  // bf16 and 2^128, so it overflows to inf.
  %mixed = arith.constant dense<[1.00390625, 1.01171875, -0.0, 3.40282347e38]> : tensor<4xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %0 = amp.cast %big : tensor<4xf32> to tensor<4xf8E4M3FN>
  %1 = amp.cast %big overflow nonfinite : tensor<4xf32> to tensor<4xf8E4M3FN>
  %2 = amp.cast %f16big : tensor<4xf32> to tensor<4xf16>
  %3 = amp.cast %f16big overflow saturate : tensor<4xf32> to tensor<4xf16>
  %4 = amp.cast %mixed : tensor<4xf32> to tensor<4xbf16>
  %5 = amp.cast %ninf : f32 to f8E5M2
  return %0, %1, %2, %3, %4, %5 : tensor<4xf8E4M3FN>, tensor<4xf8E4M3FN>, tensor<4xf16>, tensor<4xf16>, tensor<4xbf16>, f8E5M2
}

// -----

// Stochastic rounding and scaled casts are not folded at compile time.
// CHECK-LABEL: func.func @not_folded
// CHECK: amp.cast %{{.*}} rounding stochastic
// CHECK: amp.cast %{{.*}} scale
func.func @not_folded(%s: f32) -> (tensor<4xbf16>, tensor<4xf8E4M3FN>) {
  %c = arith.constant dense<1.5> : tensor<4xf32>
  %0 = amp.cast %c rounding stochastic : tensor<4xf32> to tensor<4xbf16>
  %1 = amp.cast %c scale %s : tensor<4xf32> to tensor<4xf8E4M3FN>
  return %0, %1 : tensor<4xbf16>, tensor<4xf8E4M3FN>
}

// -----

// A step known to overflow keeps the old values; one known not to takes the new.
// CHECK-LABEL: func.func @select_constant
// CHECK-SAME: (%[[OLD:.*]]: tensor<4xf32>, %[[NEW:.*]]: tensor<4xf32>)
// CHECK-NOT: amp.select_update
// CHECK: return %[[OLD]], %[[NEW]]
func.func @select_constant(%old: tensor<4xf32>, %new: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %true = arith.constant true
  %false = arith.constant false
  %0 = amp.select_update %true, old(%old : tensor<4xf32>), new(%new : tensor<4xf32>)
  %1 = amp.select_update %false, old(%old : tensor<4xf32>), new(%new : tensor<4xf32>)
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// Unused amp ops are pure and are erased.
// CHECK-LABEL: func.func @dead
// CHECK-NOT: amp.
// CHECK: return
func.func @dead(%x: tensor<4xf32>, %s: f32, %g: i32, %inf: i1) {
  %0 = amp.amax %x : tensor<4xf32>
  %1:3 = amp.update_loss_scale %s, %g, %g, %inf
  return
}
