// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-nan-branches | FileCheck %s
// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-nan-branches=lanes=16 | FileCheck %s --check-prefix=WIDE
// RUN: not ampc-opt %s -split-input-file -ampc-cpu-nan-branches=lanes=0 2>&1 | FileCheck %s --check-prefix=ZERO

// ZERO: error: ampc-cpu-nan-branches: lanes must be positive, not 0

// The quieting of a 16-lane vector before a bf16 rounding (how
// ampc-cpu-lower-amp writes it): on 8-lane registers, one unordered
// comparison of the two halves (a NaN in either sets the lane), an
// or-reduction marked unlikely, and a branch. The mask, the sign and the
// quiet NaN (0x7FC00000 = 2143289344) are computed in the branch only; the
// rounding after it reads the branch's result, and the input when no lane
// is a NaN. With 16-lane registers the vector is compared whole.
// CHECK-LABEL: func.func @quiet_then_round
// CHECK-SAME: (%[[X:.*]]: vector<16xf32>)
// CHECK-DAG: %[[LO:.*]] = vector.extract_strided_slice %[[X]] {offsets = [0], sizes = [8], strides = [1]}
// CHECK-DAG: %[[HI:.*]] = vector.extract_strided_slice %[[X]] {offsets = [8], sizes = [8], strides = [1]}
// CHECK: %[[M:.*]] = arith.cmpf uno, %[[LO]], %[[HI]] : vector<8xf32>
// CHECK: %[[ANY:.*]] = vector.reduction <or>, %[[M]] : vector<8xi1> into i1
// CHECK: %[[RARE:.*]] = llvm.intr.expect %[[ANY]], %false : i1
// CHECK: %[[Q:.*]] = scf.if %[[RARE]] -> (vector<16xf32>) {
// CHECK:   arith.constant dense<2143289344> : vector<16xi32>
// CHECK:   arith.andi
// CHECK:   arith.ori
// CHECK:   %[[NAN:.*]] = arith.cmpf uno, %[[X]], %[[X]] : vector<16xf32>
// CHECK:   %[[SEL:.*]] = arith.select %[[NAN]], %{{.*}}, %[[X]]
// CHECK:   scf.yield %[[SEL]] : vector<16xf32>
// CHECK: } else {
// CHECK:   scf.yield %[[X]] : vector<16xf32>
// CHECK: }
// CHECK: %[[BITS:.*]] = arith.bitcast %[[Q]] : vector<16xf32> to vector<16xi32>
// CHECK: arith.addi %[[BITS]]
// CHECK-NOT: arith.select
// CHECK: return
// WIDE-LABEL: func.func @quiet_then_round
// WIDE-NOT: vector.extract_strided_slice
// WIDE: arith.cmpf uno, %[[X:.*]], %[[X]] : vector<16xf32>
// WIDE: vector.reduction <or>, %{{.*}} : vector<16xi1> into i1
// WIDE: scf.if
func.func @quiet_then_round(%x: vector<16xf32>) -> vector<16xi32> {
  %sign = arith.constant dense<-2147483648> : vector<16xi32>
  %quiet = arith.constant dense<2143289344> : vector<16xi32>
  %bias = arith.constant dense<32767> : vector<16xi32>
  %bits = arith.bitcast %x : vector<16xf32> to vector<16xi32>
  %s = arith.andi %bits, %sign : vector<16xi32>
  %q = arith.ori %s, %quiet : vector<16xi32>
  %isnan = arith.cmpf uno, %x, %x : vector<16xf32>
  %qf = arith.bitcast %q : vector<16xi32> to vector<16xf32>
  %sel = arith.select %isnan, %qf, %x : vector<16xi1>, vector<16xf32>
  %sb = arith.bitcast %sel : vector<16xf32> to vector<16xi32>
  %r = arith.addi %sb, %bias : vector<16xi32>
  return %r : vector<16xi32>
}

// -----

// A 2-D vector is checked row by row: four rows of 8 lanes, two
// comparisons (rows 0 and 1, rows 2 and 3), their masks or-ed, one
// reduction. The false value's producer (%y, read by the select's false
// side) stays before the branch.
// CHECK-LABEL: func.func @rows
// CHECK-SAME: (%[[X:[^:]*]]: vector<4x8xf32>
// CHECK: %[[Y:.*]] = arith.mulf %[[X]], %[[X]]
// CHECK-COUNT-4: vector.extract %[[X]][{{[0-3]}}] : vector<8xf32> from vector<4x8xf32>
// CHECK: %[[M0:.*]] = arith.cmpf uno, %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: %[[M1:.*]] = arith.cmpf uno, %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: %[[M:.*]] = arith.ori %[[M0]], %[[M1]] : vector<8xi1>
// CHECK: vector.reduction <or>, %[[M]] : vector<8xi1> into i1
// CHECK: scf.if
// CHECK: } else {
// CHECK:   scf.yield %[[Y]] : vector<4x8xf32>
func.func @rows(%x: vector<4x8xf32>, %c: vector<4x8xf32>) -> vector<4x8xf32> {
  %y = arith.mulf %x, %x : vector<4x8xf32>
  %isnan = arith.cmpf uno, %x, %x : vector<4x8xf32>
  %sel = arith.select %isnan, %c, %y : vector<4x8xi1>, vector<4x8xf32>
  return %sel : vector<4x8xf32>
}

// -----

// Left alone: a scalar select, a comparison of two different values, an
// ordered comparison, and a whole-vector select on a scalar condition.
// CHECK-LABEL: func.func @not_nan_quieting
// CHECK-NOT: scf.if
// CHECK-COUNT-4: arith.select
// CHECK-NOT: scf.if
// CHECK: return
func.func @not_nan_quieting(%a: f32, %v: vector<8xf32>, %w: vector<8xf32>,
                            %c: i1) -> (f32, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %s0 = arith.cmpf uno, %a, %a : f32
  %r0 = arith.select %s0, %zero, %a : f32
  %m1 = arith.cmpf uno, %v, %w : vector<8xf32>
  %r1 = arith.select %m1, %w, %v : vector<8xi1>, vector<8xf32>
  %m2 = arith.cmpf olt, %v, %v : vector<8xf32>
  %r2 = arith.select %m2, %w, %v : vector<8xi1>, vector<8xf32>
  %r3 = arith.select %c, %w, %v : vector<8xf32>
  return %r0, %r1, %r2, %r3 : f32, vector<8xf32>, vector<8xf32>, vector<8xf32>
}
