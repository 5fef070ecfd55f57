// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-lower-amp="f16-conversions=true" | FileCheck %s
// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-lower-amp | FileCheck %s --check-prefix=SOFT

// f32 -> f16 with IEEE overflow, on a target that converts in hardware: one
// arith.truncf (vcvtps2ph) of the input with NaN replaced first by the
// quiet NaN of its sign (bit 31 kept, | 0x7fc00000 = 2143289344), which the
// conversion turns into the integer path's quiet NaN (0x7e00 with the sign).
// Without the option the integer path rounds (no arith.truncf at all).
// CHECK-LABEL: func.func @to_f16
// CHECK: %[[BITS:.*]] = arith.bitcast %[[X:.*]] : f32 to i32
// CHECK: %[[SIGN:.*]] = arith.andi %[[BITS]], %c-2147483648_i32
// CHECK: %[[QUIET:.*]] = arith.ori %[[SIGN]], %c2143289344_i32
// CHECK: %[[ISNAN:.*]] = arith.cmpf uno, %[[X]], %[[X]] : f32
// CHECK: %[[QUIETF:.*]] = arith.bitcast %[[QUIET]] : i32 to f32
// CHECK: %[[IN:.*]] = arith.select %[[ISNAN]], %[[QUIETF]], %[[X]] : f32
// CHECK: %[[R:.*]] = arith.truncf %[[IN]] : f32 to f16
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
// CHECK: arith.cmpf uno
// CHECK: arith.select
// CHECK: arith.truncf %{{.*}} : f32 to f16
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
