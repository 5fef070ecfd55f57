// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-flatten-transfers))" | FileCheck %s
// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-flatten-transfers{vector-bytes=64}))" | FileCheck %s --check-prefix=ZMM
// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-flatten-transfers{vector-bytes=32}))" | FileCheck %s --check-prefix=YMM

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

// -----

// A cast of a transposed [8, 16] block: read as 128 floats, shuffled into
// a [16, 8] tile, scaled and rounded to bf16 bits in integer arithmetic.
// Rows of 8 f32 are half an AVX-512 vector: with 64-byte vectors every
// element-wise op runs on the 128 values flattened (LLVM would compute 16
// rows of 8), and the shape casts between them fold away. With 32-byte
// vectors (AVX2) a row of 8 f32 is a whole vector and stays; without the
// option nothing changes.
// CHECK-LABEL: func.func @narrow_rows
// CHECK: arith.mulf %{{.*}}, %{{.*}} : vector<16x8xf32>
// CHECK: arith.shrui %{{.*}}, %{{.*}} : vector<16x8xi32>
// ZMM-LABEL: func.func @narrow_rows
// ZMM: %[[FLAT:.*]] = vector.shuffle
// ZMM-NOT: vector<16x8xf32>
// ZMM: %[[B:.*]] = vector.broadcast %{{.*}} : f32 to vector<128xf32>
// ZMM: %[[M:.*]] = arith.mulf %[[FLAT]], %[[B]] : vector<128xf32>
// ZMM: %[[I:.*]] = arith.bitcast %[[M]] : vector<128xf32> to vector<128xi32>
// ZMM: %[[A:.*]] = arith.andi %[[I]], %{{.*}} : vector<128xi32>
// ZMM: %[[S:.*]] = arith.shrui %[[A]], %{{.*}} : vector<128xi32>
// ZMM: %[[T:.*]] = arith.trunci %[[S]] : vector<128xi32> to vector<128xi16>
// ZMM: vector.transfer_write %[[T]], %{{.*}}[%{{.*}}] {in_bounds = [true]} : vector<128xi16>, memref<128xi16>
// ZMM-NOT: vector<16x8xi32>
// YMM-LABEL: func.func @narrow_rows
// YMM: arith.mulf %{{.*}}, %{{.*}} : vector<16x8xf32>
// YMM: arith.trunci %{{.*}} : vector<16x8xi32> to vector<16x8xi16>
func.func @narrow_rows(%m: memref<128xf32>, %scale: f32, %out: memref<16x8xi16>) {
  %p = ub.poison : f32
  %c0 = arith.constant 0 : index
  %mask = arith.constant dense<2147483647> : vector<16x8xi32>
  %sh = arith.constant dense<16> : vector<16x8xi32>
  %v = vector.transfer_read %m[%c0], %p {in_bounds = [true]} : memref<128xf32>, vector<128xf32>
  %t = vector.shuffle %v, %v [0, 16, 32, 48, 64, 80, 96, 112, 1, 17, 33, 49, 65, 81, 97, 113, 2, 18, 34, 50, 66, 82, 98, 114, 3, 19, 35, 51, 67, 83, 99, 115, 4, 20, 36, 52, 68, 84, 100, 116, 5, 21, 37, 53, 69, 85, 101, 117, 6, 22, 38, 54, 70, 86, 102, 118, 7, 23, 39, 55, 71, 87, 103, 119, 8, 24, 40, 56, 72, 88, 104, 120, 9, 25, 41, 57, 73, 89, 105, 121, 10, 26, 42, 58, 74, 90, 106, 122, 11, 27, 43, 59, 75, 91, 107, 123, 12, 28, 44, 60, 76, 92, 108, 124, 13, 29, 45, 61, 77, 93, 109, 125, 14, 30, 46, 62, 78, 94, 110, 126, 15, 31, 47, 63, 79, 95, 111, 127] : vector<128xf32>, vector<128xf32>
  %tile = vector.shape_cast %t : vector<128xf32> to vector<16x8xf32>
  %b = vector.broadcast %scale : f32 to vector<16x8xf32>
  %s = arith.mulf %tile, %b : vector<16x8xf32>
  %i = arith.bitcast %s : vector<16x8xf32> to vector<16x8xi32>
  %a = arith.andi %i, %mask : vector<16x8xi32>
  %r = arith.shrui %a, %sh : vector<16x8xi32>
  %n = arith.trunci %r : vector<16x8xi32> to vector<16x8xi16>
  vector.transfer_write %n, %out[%c0, %c0] {in_bounds = [true, true]} : vector<16x8xi16>, memref<16x8xi16>
  return
}

// -----

// bf16 pairs widened to i32: rows of 2 lanes are flattened for AVX2 too.
// Rows as wide as a vector (16 f32 on AVX-512) stay rows; an op with a
// scalar operand (select on one i1) is left alone.
// CHECK-LABEL: func.func @pairs_and_rows
// CHECK: arith.shli %{{.*}}, %{{.*}} : vector<8x8x2xi32>
// ZMM-LABEL: func.func @pairs_and_rows
// ZMM: arith.extui %{{.*}} : vector<128xi16> to vector<128xi32>
// ZMM: arith.shli %{{.*}}, %{{.*}} : vector<128xi32>
// ZMM: arith.addf %{{.*}}, %{{.*}} : vector<4x16xf32>
// ZMM: arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<4x16xf32>
// YMM-LABEL: func.func @pairs_and_rows
// YMM: arith.shli %{{.*}}, %{{.*}} : vector<128xi32>
// YMM: arith.addf %{{.*}}, %{{.*}} : vector<4x16xf32>
func.func @pairs_and_rows(%pairs: vector<8x8x2xi16>, %x: vector<4x16xf32>, %y: vector<4x16xf32>, %c: i1) -> (vector<8x8x2xi32>, vector<4x16xf32>) {
  %sh = arith.constant dense<16> : vector<8x8x2xi32>
  %w = arith.extui %pairs : vector<8x8x2xi16> to vector<8x8x2xi32>
  %s = arith.shli %w, %sh : vector<8x8x2xi32>
  %sum = arith.addf %x, %y : vector<4x16xf32>
  %sel = arith.select %c, %sum, %x : vector<4x16xf32>
  return %s, %sel : vector<8x8x2xi32>, vector<4x16xf32>
}
