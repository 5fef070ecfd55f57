// RUN: ampc-opt %s -split-input-file -ampc-vectorize-contractions | FileCheck %s
// RUN: ampc-opt %s -split-input-file -ampc-vectorize-contractions=bf16-dot=true | FileCheck %s --check-prefix=DOT

// An f32 matmul: cache tiles 64x256x256 (divisors of the sizes; the loop of
// one trip over n folds away), a register tile of 8x32 with a reduction step
// of 1, the accumulator carried in a vector through the k loop, and
// contractible multiply-adds.
// CHECK-LABEL: func.func @f32
// CHECK: scf.for {{.*}} to %c128 step %c64
// CHECK: scf.for {{.*}} to %c512 step %c256
// CHECK: scf.for {{.*}} to %c64 step %c8
// CHECK: scf.for {{.*}} to %c256 step %c32
// CHECK: %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[ACC]]) -> (vector<8x32xf32>)
// CHECK: arith.mulf {{.*}} fastmath<contract> : vector<8x32x1xf32>
// CHECK: arith.addf {{.*}} fastmath<contract> : vector<8x32xf32>
// CHECK-NOT: linalg.matmul
// DOT-LABEL: func.func @f32
// DOT-NOT: x86vector
func.func @f32(%a: tensor<128x512xf32>, %b: tensor<512x256xf32>, %c: tensor<128x256xf32>) -> tensor<128x256xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<128x512xf32>, tensor<512x256xf32>) outs(%c : tensor<128x256xf32>) -> tensor<128x256xf32>
  return %r : tensor<128x256xf32>
}

// -----

// bf16 inputs are widened to f32 once, before tiling; sizes that 64/256/8/32
// do not divide take their largest divisors (10 columns: one 8x10 tile).
// CHECK-LABEL: func.func @bf16_odd_sizes
// CHECK: arith.extf %{{.*}} : tensor<24x96xbf16> to tensor<24x96xf32>
// CHECK: arith.extf %{{.*}} : tensor<96x10xbf16> to tensor<96x10xf32>
// CHECK: vector<8x10xf32>
// With bf16-dot, 10 columns do not fit the 16-lane kernel: the same path.
// DOT-LABEL: func.func @bf16_odd_sizes
// DOT-NOT: x86vector
// DOT: vector<8x10xf32>
func.func @bf16_odd_sizes(%a: tensor<24x96xbf16>, %b: tensor<96x10xbf16>, %c: tensor<24x10xf32>) -> tensor<24x10xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<24x96xbf16>, tensor<96x10xbf16>) outs(%c : tensor<24x10xf32>) -> tensor<24x10xf32>
  return %r : tensor<24x10xf32>
}

// -----

// With bf16-dot, a bf16 matmul whose sizes fit becomes the AVX-512 BF16
// kernel: B is packed into (n/16, k/2, 32) row pairs; each k pair takes one
// dot product per row of the 8x16 accumulator tile.
// DOT-LABEL: func.func @bf16_dot
// DOT: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2, 3]] output_shape [48, 2, 2, 16] : tensor<96x32xbf16> into tensor<48x2x2x16xbf16>
// DOT: linalg.transpose {{.*}} permutation = [2, 0, 3, 1]
// DOT: tensor.collapse_shape {{.*}} into tensor<2x48x32xbf16>
// DOT: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// DOT-COUNT-8: x86vector.avx512.dot %{{.*}}, %{{.*}}, %{{.*}} : vector<32xbf16> -> vector<16xf32>
// DOT-NOT: linalg.matmul
func.func @bf16_dot(%a: tensor<16x96xbf16>, %b: tensor<96x32xbf16>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x96xbf16>, tensor<96x32xbf16>) outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}

// -----

// A 2-D convolution is computed one output row at a time as a 1-D
// convolution, vectorized over 13 output columns and 8 channels.
// CHECK-LABEL: func.func @conv
// CHECK-NOT: linalg.conv_2d_nhwc_hwcf
// CHECK: vector.contract {{.*}} : vector<1x13x1xf32>, vector<1x8xf32> into vector<1x13x8xf32>
func.func @conv(%x: tensor<2x28x28x1xf32>, %w: tensor<3x3x1x8xf32>, %z: tensor<2x26x26x8xf32>) -> tensor<2x26x26x8xf32> {
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x28x28x1xf32>, tensor<3x3x1x8xf32>) outs(%z : tensor<2x26x26x8xf32>) -> tensor<2x26x26x8xf32>
  return %c : tensor<2x26x26x8xf32>
}
