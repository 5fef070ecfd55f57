// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-lower-amp="f16-conversions=true" | FileCheck %s
// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-lower-amp | FileCheck %s --check-prefix=SOFT
// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-lower-amp="bf16-conversions=true" | FileCheck %s --check-prefix=BF16

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
// With bf16-conversions, a bf16 cast with IEEE overflow is an arith.truncf
// for ampc-cpu-bf16-conversions (vcvtneps2bf16 where exact); saturating
// bf16, f16 without f16-conversions and fp8 keep the integer path.
// BF16-LABEL: func.func @integer_paths
// BF16-NOT: arith.truncf
// BF16: %[[B:.*]] = arith.truncf %{{.*}} : f32 to bf16
// BF16-NOT: arith.truncf
// BF16: return %{{.*}}, %[[B]], %{{.*}}
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

// A cast whose elements reach only arithmetic (through widening, reshapes,
// slices, a loop's iter_args, a generic's body and vector reads) converts
// without the quieting: the payload of a NaN that arithmetic consumes is
// not observable. The integer path is unchanged without the option.
// CHECK-LABEL: func.func @arithmetic_reads
// CHECK-NOT: arith.cmpf uno
// CHECK: %[[H:.*]] = arith.truncf %arg0 : tensor<4x16xf32> to tensor<4x16xf16>
// CHECK-NOT: arith.cmpf uno
// CHECK: %[[S:.*]] = arith.truncf %arg2 : f32 to f16
// CHECK-NOT: arith.cmpf uno
// CHECK: return
// SOFT-LABEL: func.func @arithmetic_reads
// SOFT-NOT: arith.truncf
// SOFT: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @arithmetic_reads(%x: tensor<4x16xf32>, %acc: vector<16xf32>,
                            %s: f32) -> (vector<16xf32>, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %pad = arith.constant 0.0 : f32
  %h = amp.cast %x : tensor<4x16xf32> to tensor<4x16xf16>
  %e = tensor.empty() : tensor<4x16xf32>
  %w = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<4x16xf16>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  %flat = tensor.collapse_shape %w [[0, 1]] : tensor<4x16xf32> into tensor<64xf32>
  %panel = tensor.expand_shape %flat [[0, 1]] output_shape [4, 16] : tensor<64xf32> into tensor<4x16xf32>
  %sum:2 = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %acc, %p = %panel) -> (vector<16xf32>, tensor<4x16xf32>) {
    %row = tensor.extract_slice %p[%i, 0] [1, 16] [1, 1] : tensor<4x16xf32> to tensor<16xf32>
    %b = vector.transfer_read %row[%c0], %pad {in_bounds = [true]} : tensor<16xf32>, vector<16xf32>
    %lane = tensor.extract %row[%c0] : tensor<16xf32>
    %bc = vector.broadcast %lane : f32 to vector<16xf32>
    %f = vector.fma %bc, %b, %a : vector<16xf32>
    scf.yield %f, %p : vector<16xf32>, tensor<4x16xf32>
  }
  %sh = amp.cast %s : f32 to f16
  %sw = arith.extf %sh : f16 to f32
  %sp = arith.mulf %sw, %s : f32
  return %sum#0, %sp : vector<16xf32>, f32
}

// -----

// A generic whose init is the widened cast but whose body never reads it
// (as convert-elementwise-to-linalg writes a product in place): the result
// holds only the products.
// CHECK-LABEL: func.func @init_overwritten
// CHECK-NOT: arith.cmpf uno
// CHECK: arith.truncf %arg0 : tensor<16xf32> to tensor<16xf16>
// CHECK-NOT: arith.cmpf uno
// CHECK: return
#v = affine_map<(d0) -> (d0)>
func.func @init_overwritten(%x: tensor<16xf32>, %y: tensor<16xf32>) -> tensor<16xf32> {
  %h = amp.cast %x : tensor<16xf32> to tensor<16xf16>
  %w = arith.extf %h : tensor<16xf16> to tensor<16xf32>
  %p = linalg.generic {indexing_maps = [#v, #v, #v], iterator_types = ["parallel"]}
      ins(%w, %y : tensor<16xf32>, tensor<16xf32>) outs(%w : tensor<16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<16xf32>
  return %p : tensor<16xf32>
}

// -----

// Where a cast's elements can be seen (returned widened, compared, taken
// by a maximum, written to a buffer), each keeps the quieting.
// CHECK-LABEL: func.func @observed_reads
// CHECK-COUNT-4: arith.cmpf uno
// CHECK-NOT: arith.cmpf uno
// CHECK: return
func.func @observed_reads(%x: tensor<16xf32>, %m: memref<16xf32>)
    -> (tensor<16xf32>, tensor<16xi1>, tensor<16xf32>) {
  %c0 = arith.constant 0 : index
  %h0 = amp.cast %x : tensor<16xf32> to tensor<16xf16>
  %w0 = arith.extf %h0 : tensor<16xf16> to tensor<16xf32>
  %h1 = amp.cast %x : tensor<16xf32> to tensor<16xf16>
  %w1 = arith.extf %h1 : tensor<16xf16> to tensor<16xf32>
  %c = arith.cmpf olt, %w1, %x : tensor<16xf32>
  %h2 = amp.cast %x : tensor<16xf32> to tensor<16xf16>
  %w2 = arith.extf %h2 : tensor<16xf16> to tensor<16xf32>
  %mx = arith.maximumf %w2, %x : tensor<16xf32>
  %h3 = amp.cast %x : tensor<16xf32> to tensor<16xf16>
  %w3 = arith.extf %h3 : tensor<16xf16> to tensor<16xf32>
  %pad = arith.constant 0.0 : f32
  %v = vector.transfer_read %w3[%c0], %pad {in_bounds = [true]} : tensor<16xf32>, vector<16xf32>
  vector.transfer_write %v, %m[%c0] {in_bounds = [true]} : vector<16xf32>, memref<16xf32>
  return %w0, %c, %mx : tensor<16xf32>, tensor<16xi1>, tensor<16xf32>
}

// -----

func.func @stochastic(%x: f32) -> f16 {
  // expected-error @+1 {{rounding 'stochastic' is not implemented; only nearest_even lowers}}
  %0 = amp.cast %x rounding stochastic : f32 to f16
  return %0 : f16
}
