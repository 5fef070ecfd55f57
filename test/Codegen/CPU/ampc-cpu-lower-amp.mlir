// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-lower-amp="f16-conversions=true" | FileCheck %s
// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-lower-amp | FileCheck %s --check-prefix=SOFT

// f32 -> f16 with IEEE overflow, on a target that converts in hardware: one
// arith.truncf (vcvtps2ph), and NaN mapped to the integer path's quiet NaN
// (0x7e00 = 32256) with the input's sign (bit 31 moved to bit 15).
// Without the option the integer path rounds (no arith.truncf at all).
// CHECK-LABEL: func.func @to_f16
// CHECK: %[[HW:.*]] = arith.truncf %[[X:.*]] : f32 to f16
// CHECK: %[[BITS:.*]] = arith.bitcast %[[X]] : f32 to i32
// CHECK: %[[SIGN:.*]] = arith.shrui %[[BITS]], %c31_i32
// CHECK: arith.shli %[[SIGN]], %c15_i32
// CHECK: arith.constant 32256 : i32
// CHECK: %[[NAN:.*]] = arith.trunci %{{.*}} : i32 to i16
// CHECK: %[[NANF:.*]] = arith.bitcast %[[NAN]] : i16 to f16
// CHECK: %[[ISNAN:.*]] = arith.cmpf uno, %[[X]], %[[X]] : f32
// CHECK: %[[R:.*]] = arith.select %[[ISNAN]], %[[NANF]], %[[HW]] : f16
// CHECK: return %[[R]]
// SOFT-LABEL: func.func @to_f16
// SOFT-NOT: arith.truncf
// SOFT: arith.trunci %{{.*}} : i32 to i16
// SOFT-NOT: arith.truncf
// SOFT: return
func.func @to_f16(%x: f32) -> f16 {
  %0 = amp.cast %x : f32 to f16
  return %0 : f16
}

// -----

// Saturating f16 casts, bf16 and fp8 keep the integer path. bf16 rounds
// with one carry addition: + 0x7fff (32767) + the lowest kept bit, >> 16.
// CHECK-LABEL: func.func @integer_paths
// CHECK-NOT: arith.truncf
// CHECK: arith.constant 32767 : i32
// CHECK-NOT: arith.truncf
// CHECK: return
func.func @integer_paths(%x: f32) -> (f16, bf16, f8E4M3FN) {
  %0 = amp.cast %x overflow saturate : f32 to f16
  %1 = amp.cast %x : f32 to bf16
  %2 = amp.cast %x : f32 to f8E4M3FN
  return %0, %1, %2 : f16, bf16, f8E4M3FN
}

// -----

// Casts on tensors become a linalg.generic with the same scalar body, which
// ampc-vectorize-generics turns into vcvtps2ph on vectors.
// CHECK-LABEL: func.func @tensor_to_f16
// CHECK: linalg.generic
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.select
// CHECK: -> tensor<64xf16>
// SOFT-LABEL: func.func @tensor_to_f16
// SOFT-NOT: arith.truncf
func.func @tensor_to_f16(%x: tensor<64xf32>) -> tensor<64xf16> {
  %0 = amp.cast %x : tensor<64xf32> to tensor<64xf16>
  return %0 : tensor<64xf16>
}

// -----

func.func @stochastic(%x: f32) -> f16 {
  // expected-error @+1 {{rounding 'stochastic' is not implemented; only nearest_even lowers}}
  %0 = amp.cast %x rounding stochastic : f32 to f16
  return %0 : f16
}
