// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-flatten-transfers))" | FileCheck %s

// A 1x1 filter's layout change reads 16 channels as vector<1x16x1x1>
// (unrolled, 16 scalar loads) and writes them as vector<1x1x1x16>: both
// become one vector<16> transfer.
// CHECK-LABEL: func.func @unit_dims
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : memref<128x64x1x1xf32> into memref<128x64xf32>
// CHECK: %[[V:.*]] = vector.transfer_read %[[FLAT]][%{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : memref<128x64xf32>, vector<16xf32>
// CHECK-NOT: vector.shape_cast
// CHECK: vector.transfer_write %[[V]], %{{.*}} {in_bounds = [true]} : vector<16xf32>, memref<128x1x1x64xf32>
func.func @unit_dims(%m: memref<128x64x1x1xf32>, %out: memref<128x1x1x64xf32>, %i: index, %j: index) {
  %p = ub.poison : f32
  %c0 = arith.constant 0 : index
  %v = vector.transfer_read %m[%i, %j, %c0, %c0], %p {in_bounds = [true, true, true, true]} : memref<128x64x1x1xf32>, vector<1x16x1x1xf32>
  %c = vector.shape_cast %v : vector<1x16x1x1xf32> to vector<1x1x1x16xf32>
  vector.transfer_write %c, %out[%i, %c0, %c0, %j] {in_bounds = [true, true, true, true]} : vector<1x1x1x16xf32>, memref<128x1x1x64xf32>
  return
}

// -----

// 16 filters' 3x3 taps are 144 contiguous floats: one 1-D read at
// 9 * the channel index of the collapsed memref, shape-cast back.
// CHECK-LABEL: func.func @taps
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : memref<8x32x3x3xf32> into memref<8x288xf32>
// CHECK: %[[AT:.*]] = affine.apply #{{.*}}()[%{{.*}}]
// CHECK: %[[V:.*]] = vector.transfer_read %[[FLAT]][%{{.*}}, %[[AT]]], %{{.*}} {in_bounds = [true]} : memref<8x288xf32>, vector<144xf32>
// CHECK: vector.shape_cast %[[V]] : vector<144xf32> to vector<1x16x3x3xf32>
func.func @taps(%m: memref<8x32x3x3xf32>, %i: index, %j: index) -> vector<1x16x3x3xf32> {
  %p = ub.poison : f32
  %c0 = arith.constant 0 : index
  %v = vector.transfer_read %m[%i, %j, %c0, %c0], %p {in_bounds = [true, true, true, true]} : memref<8x32x3x3xf32>, vector<1x16x3x3xf32>
  return %v : vector<1x16x3x3xf32>
}

// -----

// Rows of a wider memref are not contiguous: the transfer keeps them (and
// is unrolled row by row later).
// CHECK-LABEL: func.func @rows
// CHECK-NOT: memref.collapse_shape
// CHECK: vector.transfer_read %{{.*}} {in_bounds = [true, true]} : memref<8x32xf32>, vector<4x8xf32>
func.func @rows(%m: memref<8x32xf32>, %i: index, %j: index) -> vector<4x8xf32> {
  %p = ub.poison : f32
  %v = vector.transfer_read %m[%i, %j], %p {in_bounds = [true, true]} : memref<8x32xf32>, vector<4x8xf32>
  return %v : vector<4x8xf32>
}

// -----

// Transfers of tensors (before bufferization) are left as they are.
// CHECK-LABEL: func.func @tensor
// CHECK: vector.transfer_read %{{.*}} {in_bounds = [true, true, true]} : tensor<8x1x16xf32>, vector<1x1x16xf32>
func.func @tensor(%t: tensor<8x1x16xf32>, %i: index) -> vector<1x1x16xf32> {
  %p = ub.poison : f32
  %c0 = arith.constant 0 : index
  %v = vector.transfer_read %t[%i, %c0, %c0], %p {in_bounds = [true, true, true]} : tensor<8x1x16xf32>, vector<1x1x16xf32>
  return %v : vector<1x1x16xf32>
}
