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

// -----

// Rows whose trailing dimensions are contiguous (8 rows of 4 bf16 pairs,
// a tile of an operand packed for dot products, in rows of 4096): those
// dimensions are collapsed into one, so each row is one 8-element transfer
// (not 4 of one pair); the write of the transposed tile (4 rows of 8
// pairs) likewise.
// CHECK-LABEL: func.func @contiguous_row_ends
// CHECK-SAME: (%[[IN:.*]]: memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>>, %[[OUT:.*]]: memref<4x8x2xbf16, strided<[64, 2, 1], offset: ?>>)
// CHECK: %[[ROWS:.*]] = memref.collapse_shape %[[IN]] {{\[}}[0], [1, 2]] : memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>> into memref<8x8xbf16, strided<[4096, 1], offset: ?>>
// CHECK: %[[READ:.*]] = vector.transfer_read %[[ROWS]][%c0, %c0], %{{.*}} {in_bounds = [true, true]} : memref<8x8xbf16, strided<[4096, 1], offset: ?>>, vector<8x8xbf16>
// CHECK: %[[TILE:.*]] = vector.shape_cast %[[READ]] : vector<8x8xbf16> to vector<8x4x2xbf16>
// CHECK: %[[T:.*]] = vector.transpose %[[TILE]], [1, 0, 2]
// CHECK: %[[OUTROWS:.*]] = memref.collapse_shape %[[OUT]] {{\[}}[0], [1, 2]] : memref<4x8x2xbf16, strided<[64, 2, 1], offset: ?>> into memref<4x16xbf16, strided<[64, 1], offset: ?>>
// CHECK: %[[FLAT:.*]] = vector.shape_cast %[[T]] : vector<4x8x2xbf16> to vector<4x16xbf16>
// CHECK: vector.transfer_write %[[FLAT]], %[[OUTROWS]][%c0, %c0] {in_bounds = [true, true]} : vector<4x16xbf16>, memref<4x16xbf16, strided<[64, 1], offset: ?>>
func.func @contiguous_row_ends(%in: memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>>, %out: memref<4x8x2xbf16, strided<[64, 2, 1], offset: ?>>) {
  %p = ub.poison : bf16
  %c0 = arith.constant 0 : index
  %v = vector.transfer_read %in[%c0, %c0, %c0], %p {in_bounds = [true, true, true]} : memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>>, vector<8x4x2xbf16>
  %t = vector.transpose %v, [1, 0, 2] : vector<8x4x2xbf16> to vector<4x8x2xbf16>
  vector.transfer_write %t, %out[%c0, %c0, %c0] {in_bounds = [true, true, true]} : vector<4x8x2xbf16>, memref<4x8x2xbf16, strided<[64, 2, 1], offset: ?>>
  return
}

// -----

// Left as they are: trailing dimensions read in part (2 of 4 pairs per
// row), or from a nonzero index.
// CHECK-LABEL: func.func @partial_row_ends
// CHECK-NOT: memref.collapse_shape
// CHECK: vector.transfer_read %{{.*}} : memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>>, vector<8x2x2xbf16>
// CHECK: vector.transfer_read %{{.*}} : memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>>, vector<8x1x2xbf16>
func.func @partial_row_ends(%in: memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>>, %j: index) -> (vector<8x2x2xbf16>, vector<8x1x2xbf16>) {
  %p = ub.poison : bf16
  %c0 = arith.constant 0 : index
  %v = vector.transfer_read %in[%c0, %c0, %c0], %p {in_bounds = [true, true, true]} : memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>>, vector<8x2x2xbf16>
  %w = vector.transfer_read %in[%c0, %j, %c0], %p {in_bounds = [true, true, true]} : memref<8x4x2xbf16, strided<[4096, 2, 1], offset: ?>>, vector<8x1x2xbf16>
  return %v, %w : vector<8x2x2xbf16>, vector<8x1x2xbf16>
}
