// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-bf16-conversions=avx512 | FileCheck %s
// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-bf16-conversions | FileCheck %s --check-prefix=INT

// A 16-lane truncation on AVX-512 BF16: vfpclassps for NaN, subnormal and
// signaling NaN (0x01 | 0x20 | 0x80 = 161), an or-reduction of the lanes,
// marked unlikely, and one vcvtneps2bf16 when no lane is special. The
// other branch rounds with integers: + 0x7fff (32767) + the lowest kept
// bit, >> 16. Without the option, only the integer path.
// CHECK-LABEL: func.func @sixteen_lanes
// CHECK: %[[CLASSES:.*]] = llvm.mlir.constant(161 : i32) : i32
// CHECK: %[[SPECIAL:.*]] = llvm.call_intrinsic "llvm.x86.avx512.fpclass.ps.512"(%[[X:.*]], %[[CLASSES]]) : (vector<16xf32>, i32) -> vector<16xi1>
// CHECK: %[[ANY:.*]] = vector.reduction <or>, %[[SPECIAL]] : vector<16xi1> into i1
// CHECK: %[[RARE:.*]] = llvm.intr.expect %[[ANY]], %false : i1
// CHECK: %[[R:.*]] = scf.if %[[RARE]] -> (vector<16xbf16>) {
// CHECK:   arith.addi
// CHECK:   %[[SHIFTED:.*]] = arith.shrui
// CHECK:   %[[NARROW:.*]] = arith.trunci %[[SHIFTED]] : vector<16xi32> to vector<16xi16>
// CHECK:   %[[EXACT:.*]] = arith.bitcast %[[NARROW]] : vector<16xi16> to vector<16xbf16>
// CHECK:   scf.yield %[[EXACT]]
// CHECK: } else {
// CHECK:   %[[HW:.*]] = x86vector.avx512.cvt.packed.f32_to_bf16 %[[X]] : vector<16xf32> -> vector<16xbf16>
// CHECK:   scf.yield %[[HW]]
// CHECK: }
// CHECK: return %[[R]]
// INT-LABEL: func.func @sixteen_lanes
// INT-NOT: x86vector
// INT-NOT: scf.if
// INT: arith.constant dense<32767> : vector<16xi32>
// INT: arith.trunci %{{.*}} : vector<16xi32> to vector<16xi16>
// INT-NOT: x86vector
// INT: return
func.func @sixteen_lanes(%x: vector<16xf32>) -> vector<16xbf16> {
  %0 = arith.truncf %x : vector<16xf32> to vector<16xbf16>
  return %0 : vector<16xbf16>
}

// -----

// 8 lanes: the 256-bit forms. A 2-D vector of 32 elements: flattened, two
// classifications or-ed into one branch, two conversions inserted into the
// result, reshaped back.
// CHECK-LABEL: func.func @eight_and_two_by_sixteen
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.fpclass.ps.256"({{.*}}) : (vector<8xf32>, i32) -> vector<8xi1>
// CHECK: x86vector.avx512.cvt.packed.f32_to_bf16 %{{.*}} : vector<8xf32> -> vector<8xbf16>
// CHECK: %[[FLAT:.*]] = vector.shape_cast %{{.*}} : vector<2x16xf32> to vector<32xf32>
// CHECK: %[[LO:.*]] = vector.extract_strided_slice %[[FLAT]] {offsets = [0], sizes = [16], strides = [1]}
// CHECK: %[[HI:.*]] = vector.extract_strided_slice %[[FLAT]] {offsets = [16], sizes = [16], strides = [1]}
// CHECK: %[[C0:.*]] = llvm.call_intrinsic "llvm.x86.avx512.fpclass.ps.512"(%[[LO]]
// CHECK: %[[C1:.*]] = llvm.call_intrinsic "llvm.x86.avx512.fpclass.ps.512"(%[[HI]]
// CHECK: %[[EITHER:.*]] = arith.ori %[[C0]], %[[C1]] : vector<16xi1>
// CHECK: vector.reduction <or>, %[[EITHER]]
// CHECK: scf.if
// CHECK: arith.trunci %{{.*}} : vector<32xi32> to vector<32xi16>
// CHECK: } else {
// CHECK: %[[B0:.*]] = x86vector.avx512.cvt.packed.f32_to_bf16 %[[LO]]
// CHECK: %[[P0:.*]] = vector.insert_strided_slice %[[B0]], %{{.*}} {offsets = [0], strides = [1]} : vector<16xbf16> into vector<32xbf16>
// CHECK: %[[B1:.*]] = x86vector.avx512.cvt.packed.f32_to_bf16 %[[HI]]
// CHECK: vector.insert_strided_slice %[[B1]], %[[P0]] {offsets = [16], strides = [1]} : vector<16xbf16> into vector<32xbf16>
// CHECK: }
// CHECK: vector.shape_cast %{{.*}} : vector<32xbf16> to vector<2x16xbf16>
func.func @eight_and_two_by_sixteen(%x: vector<8xf32>, %y: vector<2x16xf32>)
    -> (vector<8xbf16>, vector<2x16xbf16>) {
  %0 = arith.truncf %x : vector<8xf32> to vector<8xbf16>
  %1 = arith.truncf %y : vector<2x16xf32> to vector<2x16xbf16>
  return %0, %1 : vector<8xbf16>, vector<2x16xbf16>
}

// -----

// Scalars and vectors of other lengths (a loop's 4-lane tail) take the
// integer path even on AVX-512 BF16; f32 -> f16 is not this pass's.
// CHECK-LABEL: func.func @integer_path_elsewhere
// CHECK-NOT: x86vector
// CHECK-NOT: scf.if
// CHECK: arith.trunci %{{.*}} : i32 to i16
// CHECK: arith.trunci %{{.*}} : vector<4xi32> to vector<4xi16>
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xf16>
// CHECK-NOT: x86vector
// CHECK: return
func.func @integer_path_elsewhere(%x: f32, %y: vector<4xf32>, %z: vector<16xf32>)
    -> (bf16, vector<4xbf16>, vector<16xf16>) {
  %0 = arith.truncf %x : f32 to bf16
  %1 = arith.truncf %y : vector<4xf32> to vector<4xbf16>
  %2 = arith.truncf %z : vector<16xf32> to vector<16xf16>
  return %0, %1, %2 : bf16, vector<4xbf16>, vector<16xf16>
}

// -----

// Rounding f64 (or f16) to bf16 has no exact lowering here.
func.func @from_f64(%x: vector<16xf64>) -> vector<16xbf16> {
  // expected-error @below {{'arith.truncf' op rounds 'f64' to bf16, which the CPU back end cannot do exactly; go through f32 where that is what is meant}}
  %0 = arith.truncf %x : vector<16xf64> to vector<16xbf16>
  return %0 : vector<16xbf16>
}
