// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-prefetch-tiles))" -verify-diagnostics | FileCheck %s

// A micro-kernel whose two rows of sums are added to C's tile: before the k
// loop, each 32-lane row (128 bytes) is prefetched at lanes 0 and 16 (the
// two lines it covers when it starts on one) and at its last lane 31 (the
// third line when it does not); nothing after the loop; the marker is gone.

// CHECK-LABEL: func.func @add_into_tile
// CHECK-SAME: (%[[C:.*]]: memref<2x32xf32, strided<[64, 1], offset: ?>>
// CHECK: %[[R0:.*]] = arith.constant 0 : index
// CHECK: %[[R1:.*]] = arith.constant 1 : index
// CHECK: memref.prefetch %[[C]][%[[R0]], %[[R0]]], read, locality<3>, data
// CHECK-NEXT: %[[L16:.*]] = arith.constant 16 : index
// CHECK-NEXT: memref.prefetch %[[C]][%[[R0]], %[[L16]]], read, locality<3>, data
// CHECK-NEXT: %[[L31:.*]] = arith.constant 31 : index
// CHECK-NEXT: memref.prefetch %[[C]][%[[R0]], %[[L31]]], read, locality<3>, data
// CHECK-NEXT: memref.prefetch %[[C]][%[[R1]], %[[R0]]], read, locality<3>, data
// CHECK-NEXT: %[[L16B:.*]] = arith.constant 16 : index
// CHECK-NEXT: memref.prefetch %[[C]][%[[R1]], %[[L16B]]], read, locality<3>, data
// CHECK-NEXT: %[[L31B:.*]] = arith.constant 31 : index
// CHECK-NEXT: memref.prefetch %[[C]][%[[R1]], %[[L31B]]], read, locality<3>, data
// CHECK-NOT: memref.prefetch
// CHECK: scf.for
// CHECK-NOT: memref.prefetch
// CHECK-NOT: ampc.micro_kernel
// CHECK: return
func.func @add_into_tile(%c: memref<2x32xf32, strided<[64, 1], offset: ?>>,
                         %a: memref<64x2xf32>, %b: memref<64x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %f0 = arith.constant 0.0 : f32
  %zero = arith.constant dense<0.0> : vector<32xf32>
  %s:2 = scf.for %k = %c0 to %c64 step %c1
      iter_args(%s0 = %zero, %s1 = %zero) -> (vector<32xf32>, vector<32xf32>) {
    %col = vector.transfer_read %b[%k, %c0], %f0 {in_bounds = [true]} : memref<64x32xf32>, vector<32xf32>
    %a0 = memref.load %a[%k, %c0] : memref<64x2xf32>
    %a1 = memref.load %a[%k, %c1] : memref<64x2xf32>
    %b0 = vector.broadcast %a0 : f32 to vector<32xf32>
    %b1 = vector.broadcast %a1 : f32 to vector<32xf32>
    %n0 = vector.fma %b0, %col, %s0 : vector<32xf32>
    %n1 = vector.fma %b1, %col, %s1 : vector<32xf32>
    scf.yield %n0, %n1 : vector<32xf32>, vector<32xf32>
  } {ampc.micro_kernel}
  %old0 = vector.transfer_read %c[%c0, %c0], %f0 {in_bounds = [true]} : memref<2x32xf32, strided<[64, 1], offset: ?>>, vector<32xf32>
  %new0 = arith.addf %old0, %s#0 : vector<32xf32>
  vector.transfer_write %new0, %c[%c0, %c0] {in_bounds = [true]} : vector<32xf32>, memref<2x32xf32, strided<[64, 1], offset: ?>>
  %old1 = vector.transfer_read %c[%c1, %c0], %f0 {in_bounds = [true]} : memref<2x32xf32, strided<[64, 1], offset: ?>>, vector<32xf32>
  %new1 = arith.addf %old1, %s#1 : vector<32xf32>
  vector.transfer_write %new1, %c[%c1, %c0] {in_bounds = [true]} : vector<32xf32>, memref<2x32xf32, strided<[64, 1], offset: ?>>
  return
}

// -----

// Sums written without reading C (C was +0.0), at a row index that is an
// argument: a 16-lane row is one line, or two: lanes 0 and 15. An index
// computed after the loop, or a memref viewed after it, is not available
// before it: no prefetch for that store.

// CHECK-LABEL: func.func @overwrite
// CHECK-SAME: (%[[C:.*]]: memref<6x16xf32>, %[[ROW:.*]]: index
// CHECK: %[[L0:.*]] = arith.constant 0 : index
// CHECK: memref.prefetch %[[C]][%[[ROW]], %[[L0]]], read, locality<3>, data
// CHECK-NEXT: %[[L15:.*]] = arith.constant 15 : index
// CHECK-NEXT: memref.prefetch %[[C]][%[[ROW]], %[[L15]]], read, locality<3>, data
// CHECK-NOT: memref.prefetch
// CHECK: scf.for
// CHECK-NOT: memref.prefetch
// CHECK: return
func.func @overwrite(%c: memref<6x16xf32>, %row: index, %b: memref<64x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %f0 = arith.constant 0.0 : f32
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %s:3 = scf.for %k = %c0 to %c64 step %c1
      iter_args(%s0 = %zero, %s1 = %zero, %s2 = %zero) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>) {
    %col = vector.transfer_read %b[%k, %c0], %f0 {in_bounds = [true]} : memref<64x16xf32>, vector<16xf32>
    %n0 = arith.addf %col, %s0 : vector<16xf32>
    %n1 = arith.addf %col, %s1 : vector<16xf32>
    %n2 = arith.addf %col, %s2 : vector<16xf32>
    scf.yield %n0, %n1, %n2 : vector<16xf32>, vector<16xf32>, vector<16xf32>
  } {ampc.micro_kernel}
  vector.transfer_write %s#0, %c[%row, %c0] {in_bounds = [true]} : vector<16xf32>, memref<6x16xf32>
  %late = arith.addi %row, %c1 : index
  vector.transfer_write %s#1, %c[%late, %c0] {in_bounds = [true]} : vector<16xf32>, memref<6x16xf32>
  %view = memref.subview %c[2, 0] [1, 16] [1, 1] : memref<6x16xf32> to memref<16xf32, strided<[1], offset: 32>>
  vector.transfer_write %s#2, %view[%c0] {in_bounds = [true]} : vector<16xf32>, memref<16xf32, strided<[1], offset: 32>>
  return
}

// -----

// A loop without the marker is left alone.

// CHECK-LABEL: func.func @unmarked
// CHECK-NOT: memref.prefetch
// CHECK: return
func.func @unmarked(%c: memref<16xf32>, %b: memref<64x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %f0 = arith.constant 0.0 : f32
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %s = scf.for %k = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> (vector<16xf32>) {
    %col = vector.transfer_read %b[%k, %c0], %f0 {in_bounds = [true]} : memref<64x16xf32>, vector<16xf32>
    %n = arith.addf %col, %acc : vector<16xf32>
    scf.yield %n : vector<16xf32>
  }
  vector.transfer_write %s, %c[%c0] {in_bounds = [true]} : vector<16xf32>, memref<16xf32>
  return
}

// -----

func.func @not_a_loop(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ampc.micro_kernel' marks an op that is not an scf.for}}
  %y = arith.addf %x, %x {ampc.micro_kernel} : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @on_tensors(%c: tensor<16xf32>) -> tensor<16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %s = scf.for %k = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> (vector<16xf32>) {
    scf.yield %acc : vector<16xf32>
  } {ampc.micro_kernel}
  // expected-error @+1 {{a micro-kernel's tile must be on buffers (run ampc-cpu-prefetch-tiles after bufferization)}}
  %r = vector.transfer_write %s, %c[%c0] {in_bounds = [true]} : vector<16xf32>, tensor<16xf32>
  return %r : tensor<16xf32>
}
