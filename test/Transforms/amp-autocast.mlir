// RUN: ampc-opt %s -split-input-file -amp-autocast=policy=bf16 | FileCheck %s --check-prefix=BF16
// RUN: ampc-opt %s -split-input-file -amp-autocast=policy=fp16 | FileCheck %s --check-prefix=FP16
// RUN: ampc-opt %s -split-input-file -amp-autocast=policy=fp8 | FileCheck %s --check-prefix=FP8
// RUN: ampc-opt %s -split-input-file -amp-autocast=policy=fp32 | FileCheck %s --check-prefix=FP32
// RUN: ampc-opt %s -split-input-file -amp-autocast="policy=bf16 fp32-ops=linalg.matmul" | FileCheck %s --check-prefix=OVERRIDE

#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>

// A matmul computes in the low type and delivers its f32 accumulator; the ReLU
// after it follows it in f32 (no round trip through bf16); the bias add takes
// the widest of its inputs; exp stays f32.
// BF16-LABEL: func.func @classes
// BF16: linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = f32>}
// BF16: linalg.generic
// BF16-SAME: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// BF16: arith.maximumf
// BF16: linalg.generic
// BF16-SAME: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// BF16: arith.addf
// BF16: linalg.generic
// BF16-SAME: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// BF16: math.exp
// FP16-LABEL: func.func @classes
// FP16: linalg.matmul {amp.precision = #amp.precision<compute = f16, accumulate = f32>}
// FP16: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// FP16: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// FP16: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// FP8-LABEL: func.func @classes
// FP8: linalg.matmul {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>}
// FP8: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// FP8: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// FP32-LABEL: func.func @classes
// FP32-NOT: amp.precision
// OVERRIDE-LABEL: func.func @classes
// OVERRIDE: linalg.matmul {amp.precision = #amp.precision<compute = f32, accumulate = f32>}
// OVERRIDE: amp.precision = #amp.precision<compute = f32, accumulate = f32>
func.func @classes(%x: tensor<8x4xf32>, %w: tensor<4x2xf32> {amp.param},
                   %b: tensor<2xf32> {amp.param}) -> tensor<8x2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x2xf32>) -> tensor<8x2xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x2xf32>) outs(%z : tensor<8x2xf32>) -> tensor<8x2xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<8x2xf32>) outs(%e : tensor<8x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<8x2xf32>
  %biased = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%relu, %b : tensor<8x2xf32>, tensor<2xf32>) outs(%e : tensor<8x2xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    linalg.yield %s : f32
  } -> tensor<8x2xf32>
  %exp = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%biased : tensor<8x2xf32>) outs(%e : tensor<8x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %x1 = math.exp %in : f32
    linalg.yield %x1 : f32
  } -> tensor<8x2xf32>
  return %exp : tensor<8x2xf32>
}

// -----

// Chains of follow ops keep their input's precision: no ping-pong between
// bf16 values. A multi-input op of bf16 inputs stays bf16.
// BF16-LABEL: func.func @follow_chain
// BF16: arith.negf {{.*}}amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// BF16: math.absf {{.*}}amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// BF16: tensor.expand_shape {{.*}}amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// BF16: arith.addf {{.*}}amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// BF16: arith.addf {{.*}}amp.precision = #amp.precision<compute = f32, accumulate = f32>
func.func @follow_chain(%x: tensor<4xbf16>, %y: tensor<2x2xbf16>, %f: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = arith.negf %x : tensor<4xbf16>
  %1 = math.absf %0 : tensor<4xbf16>
  %2 = tensor.expand_shape %1 [[0, 1]] output_shape [2, 2] : tensor<4xbf16> into tensor<2x2xbf16>
  %3 = arith.addf %2, %y : tensor<2x2xbf16>
  %4 = arith.extf %3 : tensor<2x2xbf16> to tensor<2x2xf32>
  %5 = arith.addf %4, %f : tensor<2x2xf32>
  return %5 : tensor<2x2xf32>
}

// -----

// Volumes (3-D convolutions and pooling, as ONNX models bring them): the
// convolution computes in the low type; max pooling follows its bf16 input;
// sum pooling (an average's numerator) stays f32.
// BF16-LABEL: func.func @volumes
// BF16: linalg.conv_3d_ndhwc_dhwcf {amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// BF16: linalg.pooling_ndhwc_max {amp.precision = #amp.precision<compute = bf16, accumulate = f32>
// BF16: linalg.pooling_ndhwc_sum {amp.precision = #amp.precision<compute = f32, accumulate = f32>
func.func @volumes(%x: tensor<1x4x4x4x2xf32>, %w: tensor<3x3x3x2x4xf32> {amp.param},
                   %c: tensor<1x2x2x2x4xf32>, %v: tensor<1x4x4x4x2xbf16>,
                   %k: tensor<2x2x2xf32>, %pm: tensor<1x2x2x2x2xbf16>,
                   %ps: tensor<1x2x2x2x2xf32>)
    -> (tensor<1x2x2x2x4xf32>, tensor<1x2x2x2x2xbf16>, tensor<1x2x2x2x2xf32>) {
  %conv = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
      ins(%x, %w : tensor<1x4x4x4x2xf32>, tensor<3x3x3x2x4xf32>) outs(%c : tensor<1x2x2x2x4xf32>) -> tensor<1x2x2x2x4xf32>
  %max = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<2> : tensor<3xi64>}
      ins(%v, %k : tensor<1x4x4x4x2xbf16>, tensor<2x2x2xf32>) outs(%pm : tensor<1x2x2x2x2xbf16>) -> tensor<1x2x2x2x2xbf16>
  %xf = arith.extf %v : tensor<1x4x4x4x2xbf16> to tensor<1x4x4x4x2xf32>
  %sum = linalg.pooling_ndhwc_sum {dilations = dense<1> : tensor<3xi64>, strides = dense<2> : tensor<3xi64>}
      ins(%xf, %k : tensor<1x4x4x4x2xf32>, tensor<2x2x2xf32>) outs(%ps : tensor<1x2x2x2x2xf32>) -> tensor<1x2x2x2x2xf32>
  return %conv, %max, %sum : tensor<1x2x2x2x4xf32>, tensor<1x2x2x2x2xbf16>, tensor<1x2x2x2x2xf32>
}

// -----

// A hand-written precision wins over the policy; the op after it follows it.
// BF16-LABEL: func.func @hand_written_wins
// BF16: linalg.matmul {amp.precision = #amp.precision<compute = f16, accumulate = f16>}
// BF16: linalg.transpose
// BF16-SAME: amp.precision = #amp.precision<compute = f16, accumulate = f32>
// FP32-LABEL: func.func @hand_written_wins
// FP32: linalg.matmul {amp.precision = #amp.precision<compute = f16, accumulate = f16>}
// FP32-NOT: amp.precision
func.func @hand_written_wins(%x: tensor<8x4xf32>, %w: tensor<4x2xf32>, %z: tensor<8x2xf32>,
                             %t: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %mm = linalg.matmul {amp.precision = #amp.precision<compute = f16, accumulate = f16>}
      ins(%x, %w : tensor<8x4xf32>, tensor<4x2xf32>) outs(%z : tensor<8x2xf32>) -> tensor<8x2xf32>
  %tr = linalg.transpose ins(%mm : tensor<8x2xf32>) outs(%t : tensor<2x8xf32>) permutation = [1, 0]
  return %tr : tensor<2x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>

// A full reduction to a scalar with a multiply-add body is a loss term, not a
// contraction: it stays f32. Row reductions and softmax stay f32 too, and
// ops on dynamic shapes are classified like any other.
// BF16-LABEL: func.func @reductions
// BF16: linalg.generic
// BF16-SAME: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// BF16: linalg.generic
// BF16-SAME: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// BF16: linalg.softmax
// BF16-SAME: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// BF16: linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = f32>}
// BF16-SAME: tensor<?x4xf32>
func.func @reductions(%a: tensor<8x2xf32>, %b: tensor<8x2xf32>, %s: tensor<f32>, %r: tensor<8xf32>,
                      %d: tensor<?x4xf32>, %w: tensor<4x2xf32>, %o: tensor<?x2xf32>)
    -> (tensor<f32>, tensor<8xf32>, tensor<8x2xf32>, tensor<?x2xf32>) {
  %dot = linalg.generic {indexing_maps = [#id, #id, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%a, %b : tensor<8x2xf32>, tensor<8x2xf32>) outs(%s : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %q = arith.addf %p, %acc : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<8x2xf32>) outs(%r : tensor<8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %q = arith.addf %x, %acc : f32
    linalg.yield %q : f32
  } -> tensor<8xf32>
  %sm = linalg.softmax dimension(1) ins(%a : tensor<8x2xf32>) outs(%b : tensor<8x2xf32>) -> tensor<8x2xf32>
  %mm = linalg.matmul ins(%d, %w : tensor<?x4xf32>, tensor<4x2xf32>) outs(%o : tensor<?x2xf32>) -> tensor<?x2xf32>
  return %dot, %sum, %sm, %mm : tensor<f32>, tensor<8xf32>, tensor<8x2xf32>, tensor<?x2xf32>
}
