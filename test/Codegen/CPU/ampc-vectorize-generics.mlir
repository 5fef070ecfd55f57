// RUN: ampc-opt %s -split-input-file -amp-lower-to-arith -ampc-vectorize-generics | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>

// A bias add (with a broadcast input) is tiled to 1x16 and vectorized.
// CHECK-LABEL: func.func @bias_add
// CHECK: scf.for {{.*}} to %c8 step %c1
// CHECK: scf.for {{.*}} to %c64 step %c16
// CHECK: vector.transfer_read {{.*}} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<1x16xf32>
// CHECK: vector.transfer_write
// CHECK-NOT: linalg.generic
func.func @bias_add(%x: tensor<8x64xf32>, %b: tensor<64xf32>) -> tensor<8x64xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %r = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<8x64xf32>, tensor<64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// The innermost size picks the largest divisor up to 16 (10 -> 10); a size
// with no divisor in 2..16 (17) stays a loop nest.
// CHECK-LABEL: func.func @sizes
// CHECK: vector<1x10xf32>
// CHECK: linalg.generic {{.*}}ins(%{{.*}} : tensor<3x17xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}}ins(%{{.*}} : tensor<3x17xf32>)
func.func @sizes(%x: tensor<4x10xf32>, %y: tensor<3x17xf32>, %z: tensor<3xf32>)
    -> (tensor<4x10xf32>, tensor<3x17xf32>, tensor<3xf32>) {
  %e = tensor.empty() : tensor<4x10xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x10xf32>) outs(%e : tensor<4x10xf32>) {
  ^bb0(%i: f32, %o: f32):
    %n = arith.negf %i : f32
    linalg.yield %n : f32
  } -> tensor<4x10xf32>
  %e7 = tensor.empty() : tensor<3x17xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<3x17xf32>) outs(%e7 : tensor<3x17xf32>) {
  ^bb0(%i: f32, %o: f32):
    %n = arith.negf %i : f32
    linalg.yield %n : f32
  } -> tensor<3x17xf32>
  %c = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<3x17xf32>) outs(%z : tensor<3xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.addf %i, %o : f32
    linalg.yield %s : f32
  } -> tensor<3xf32>
  return %a, %b, %c : tensor<4x10xf32>, tensor<3x17xf32>, tensor<3xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1) -> (d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// Trailing loops that every operand reads in memory order are folded into
// one where the innermost alone does not fill 16 lanes but the fold does:
// a 1352 x 10 weight's cast is 845 vectors of 16 (not 1352 of 10); a 3-D
// activation folds only as far as needed (26 x 8 -> 208 = 13 x 16). A
// broadcast input (a bias over the rows), a transposed read and a fold that
// still leaves a partial vector (5 x 10 = 50) keep the op's own loops.
// CHECK-LABEL: func.func @fold_contiguous
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<1352x10xf32> into tensor<13520xf32>
// CHECK: scf.for {{.*}} to %c13520 step %c16
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [1352, 10] : tensor<13520xbf16> into tensor<1352x10xbf16>
// CHECK: tensor<4x26x8xf32> into tensor<4x208xf32>
// CHECK: arith.maximumf %{{.*}} : vector<1x16xf32>
// CHECK-NOT: tensor.collapse_shape
// CHECK: arith.addf %{{.*}} : vector<1x10xf32>
// CHECK-NOT: tensor.collapse_shape
// CHECK: vector.shuffle %{{.*}} : vector<100xf32>
// CHECK-NOT: tensor.collapse_shape
// CHECK: arith.negf %{{.*}} : vector<1x10xf32>
// CHECK-NOT: tensor.collapse_shape
// CHECK: return
func.func @fold_contiguous(%w: tensor<1352x10xf32>, %a: tensor<4x26x8xf32>,
                           %x: tensor<26x10xf32>, %b: tensor<10xf32>,
                           %y: tensor<10x10xf32>, %z: tensor<5x10xf32>)
    -> (tensor<1352x10xbf16>, tensor<4x26x8xf32>, tensor<26x10xf32>,
        tensor<10x10xf32>, tensor<5x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1352x10xbf16>
  %0 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<1352x10xf32>) outs(%e0 : tensor<1352x10xbf16>) {
  ^bb0(%i: f32, %o: bf16):
    %c = arith.truncf %i : f32 to bf16
    linalg.yield %c : bf16
  } -> tensor<1352x10xbf16>
  %e1 = tensor.empty() : tensor<4x26x8xf32>
  %1 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a : tensor<4x26x8xf32>) outs(%e1 : tensor<4x26x8xf32>) {
  ^bb0(%i: f32, %o: f32):
    %r = arith.maximumf %i, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x26x8xf32>
  %e2 = tensor.empty() : tensor<26x10xf32>
  %2 = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<26x10xf32>, tensor<10xf32>) outs(%e2 : tensor<26x10xf32>) {
  ^bb0(%i: f32, %c: f32, %o: f32):
    %s = arith.addf %i, %c : f32
    linalg.yield %s : f32
  } -> tensor<26x10xf32>
  %e3 = tensor.empty() : tensor<10x10xf32>
  %3 = linalg.generic {indexing_maps = [#t, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<10x10xf32>) outs(%e3 : tensor<10x10xf32>) {
  ^bb0(%i: f32, %o: f32):
    linalg.yield %i : f32
  } -> tensor<10x10xf32>
  %e4 = tensor.empty() : tensor<5x10xf32>
  %4 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%z : tensor<5x10xf32>) outs(%e4 : tensor<5x10xf32>) {
  ^bb0(%i: f32, %o: f32):
    %n = arith.negf %i : f32
    linalg.yield %n : f32
  } -> tensor<5x10xf32>
  return %0, %1, %2, %3, %4 : tensor<1352x10xbf16>, tensor<4x26x8xf32>,
      tensor<26x10xf32>, tensor<10x10xf32>, tensor<5x10xf32>
}

// -----

// A folded loop split across threads keeps whole vectors in every block:
// 13600 x 20 = 272000 elements in 17 blocks of 16000 (1000 vectors of 16),
// not 16 blocks of 17000 (1062.5 vectors).
// CHECK-LABEL: func.func @fold_threads
// CHECK: scf.forall (%{{.*}}) = (0) to (272000) step (16000)
// CHECK: scf.for {{.*}} to %c16000 step %c16
// CHECK: arith.negf %{{.*}} : vector<16xf32>
func.func @fold_threads(%x: tensor<13600x20xf32>) -> tensor<13600x20xf32> {
  %e = tensor.empty() : tensor<13600x20xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<13600x20xf32>) outs(%e : tensor<13600x20xf32>) {
  ^bb0(%i: f32, %o: f32):
    %n = arith.negf %i : f32
    linalg.yield %n : f32
  } -> tensor<13600x20xf32>
  return %0 : tensor<13600x20xf32>
}

// -----

// The bit-exact casts of amp-lower-to-arith vectorize like any elementwise op.
// CHECK-LABEL: func.func @cast
// CHECK: arith.bitcast %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK: arith.bitcast %{{.*}} : vector<16xi8> to vector<16xf8E4M3FN>
func.func @cast(%x: tensor<64xf32>) -> tensor<64xf8E4M3FN> {
  %0 = amp.cast %x : tensor<64xf32> to tensor<64xf8E4M3FN>
  return %0 : tensor<64xf8E4M3FN>
}

// -----

// A row reduction (softmax's sum of exponentials) becomes a 1-D vector
// reduction over 16-wide chunks of each row.
// CHECK-LABEL: func.func @row_sum
// CHECK: scf.for {{.*}} to %c128 step %c1
// CHECK: scf.for {{.*}} to %c64 step %c16
// CHECK: math.exp %{{.*}} : vector<1x16xf32>
// CHECK: vector.reduction <add>, %{{.*}}, %{{.*}} : vector<16xf32> into f32
func.func @row_sum(%x: tensor<128x64xf32>, %z: tensor<128xf32>) -> tensor<128xf32> {
  %c = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<128x64xf32>) outs(%z : tensor<128xf32>) {
  ^bb0(%i: f32, %o: f32):
    %e = math.exp %i : f32
    %s = arith.addf %e, %o : f32
    linalg.yield %s : f32
  } -> tensor<128xf32>
  return %c : tensor<128xf32>
}

// -----

// A weight gradient X^T dY iterates (m, n, k) but dY and the result are
// contiguous along n: n is moved innermost and vectorized, m stays a
// reduction loop outside.
// CHECK-LABEL: func.func @weight_gradient
// CHECK: scf.for {{.*}} to %c8 step %c1
// CHECK: scf.for {{.*}} to %c4 step %c1
// CHECK: scf.for {{.*}} to %c32 step %c16
// CHECK: %[[DY:.*]] = vector.transfer_read {{.*}} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK: vector.broadcast %[[DY]] : vector<1x16xf32> to vector<1x1x16xf32>
func.func @weight_gradient(%x: tensor<8x4xf32>, %dy: tensor<8x32xf32>, %dw: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (m, n)>, affine_map<(m, n, k) -> (k, n)>],
                       iterator_types = ["reduction", "parallel", "parallel"]}
      ins(%x, %dy : tensor<8x4xf32>, tensor<8x32xf32>) outs(%dw : tensor<4x32xf32>) {
  ^bb0(%a: f32, %g: f32, %acc: f32):
    %p = arith.mulf %a, %g : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x32xf32>
  return %r : tensor<4x32xf32>
}

// -----

// A large elementwise op (512 x 512 iterations, at least the default
// parallel-min-iterations) splits its outer loop into 16 blocks of 32 rows
// on an scf.forall, then vectorizes each block's rows by 16 lanes.
// CHECK-LABEL: func.func @large_elementwise
// CHECK: scf.forall (%{{.*}}) = (0) to (512) step (32)
// CHECK: scf.for {{.*}} to %c32 step %c1
// CHECK: scf.for {{.*}} to %c512 step %c16
// CHECK: arith.addf {{.*}} : vector<1x16xf32>
// CHECK: scf.forall.in_parallel
func.func @large_elementwise(%a: tensor<512x512xf32>, %b: tensor<512x512xf32>) -> tensor<512x512xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %a : tensor<512x512xf32>, tensor<512x512xf32>) outs(%b : tensor<512x512xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<512x512xf32>
  return %r : tensor<512x512xf32>
}

// -----

// Below parallel-min-iterations (256 x 512 = 131072): one thread's loops.
// CHECK-LABEL: func.func @medium_elementwise
// CHECK-NOT: scf.forall
// CHECK: scf.for {{.*}} to %c256 step %c1
// CHECK: scf.for {{.*}} to %c512 step %c16
// CHECK: arith.addf {{.*}} : vector<1x16xf32>
// CHECK-NOT: scf.forall
// CHECK: return
func.func @medium_elementwise(%a: tensor<256x512xf32>, %b: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %a : tensor<256x512xf32>, tensor<256x512xf32>) outs(%b : tensor<256x512xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<256x512xf32>
  return %r : tensor<256x512xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#none = affine_map<(d0, d1) -> ()>

// A sum of squares into a scalar (a gradient norm) is split into 64
// partial sums along its innermost loop, one vector lane each (starting
// from a vector of -0.0, the identity of addition, written whole), then a sum of the 64 partials onto the
// original initial value; no chain of 48 x 64 scalar additions is left.
// CHECK-LABEL: func.func @full_sum
// CHECK-DAG: %[[NEG0:.*]] = arith.constant dense<-0.000000e+00> : vector<64xf32>
// CHECK: %[[PARTIAL:.*]] = vector.transfer_write %[[NEG0]], %{{.*}} : vector<64xf32>, tensor<64xf32>
// CHECK: scf.for {{.*}} to %c48 step %c1
// CHECK: scf.for {{.*}} to %c64 step %c16 {{.*}} -> (tensor<64xf32>)
// CHECK: arith.mulf %{{.*}}, %{{.*}} : vector<1x16xf32>
// CHECK-NOT: vector.extract
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<16xf32>
// CHECK: scf.for {{.*}} to %c64 step %c16 iter_args(%{{.*}} = %arg1) -> (tensor<f32>)
// CHECK: vector.transfer_read %{{.*}} : tensor<16xf32>, vector<16xf32>
// CHECK: vector.reduction <add>
// CHECK-NOT: vector.reduction
// CHECK: return
func.func @full_sum(%x: tensor<48x64xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#id, #none], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<48x64xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %o: f32):
    %sq = arith.mulf %i, %i : f32
    %s = arith.addf %sq, %o : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#none = affine_map<(d0, d1) -> ()>

// The largest magnitude (an fp8 amax) is split the same way, from -inf; a
// maximum is exact in any grouping.
// CHECK-LABEL: func.func @full_max
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant dense<0xFF800000> : vector<64xf32>
// CHECK: vector.transfer_write %[[NEGINF]], %{{.*}} : vector<64xf32>, tensor<64xf32>
// CHECK: scf.for {{.*}} to %c48 step %c1
// CHECK: math.absf %{{.*}} : vector<1x16xf32>
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: vector.reduction <maximumf>
// CHECK-NOT: vector.reduction
// CHECK: return
func.func @full_max(%x: tensor<48x64xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#id, #none], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<48x64xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %o: f32):
    %a = math.absf %i : f32
    %m = arith.maximumf %a, %o : f32
    linalg.yield %m : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#none4 = affine_map<(d0, d1, d2, d3) -> ()>

// The amax of an 8-channel activation: all its loops are one contiguous
// run (4 x 6 x 6 x 8 = 1152 elements), folded into 18 rows of 64 like a
// one-loop reduction, whose 64 partials (four 16-lane vectors) are updated
// with no horizontal reduction; four vector reductions at the end.
// CHECK-LABEL: func.func @full_max_channels
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant dense<0xFF800000> : vector<64xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2, 3]] : tensor<4x6x6x8xf32> into tensor<1152xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [18, 64] : tensor<1152xf32> into tensor<18x64xf32>
// CHECK: vector.transfer_write %[[NEGINF]], %{{.*}} : vector<64xf32>, tensor<64xf32>
// CHECK: scf.for {{.*}} to %c18 step %c1 {{.*}} -> (tensor<64xf32>)
// CHECK: scf.for {{.*}} to %c64 step %c16 {{.*}} -> (tensor<64xf32>)
// CHECK-NOT: vector.reduction
// CHECK: math.absf %{{.*}} : vector<1x16xf32>
// CHECK-NOT: vector.reduction
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-NOT: vector.reduction
// CHECK: scf.for {{.*}} to %c64 step %c16 {{.*}} -> (tensor<f32>)
// CHECK: vector.reduction <maximumf>
// CHECK-NOT: vector.reduction
// CHECK: return
func.func @full_max_channels(%x: tensor<4x6x6x8xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#id4, #none4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%x : tensor<4x6x6x8xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %o: f32):
    %a = math.absf %i : f32
    %m = arith.maximumf %a, %o : f32
    linalg.yield %m : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

#vec = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>

// Integer maxima and minima of bit patterns (an fp8 amax history's maximum
// as its scale reads it) are exact in any grouping too: 1024 values fold
// into 16 rows of 64 partials starting from each combiner's identity
// (INT32_MIN for maxsi, 0 for maxui, INT32_MAX for minsi, all ones for
// minui), with no horizontal reduction inside the rows. The four read the
// same tensor, so one loop nest carries all four rows of partials (the
// tensor is read once), each combined on its own at the end. An i32 sum
// is not split (one vector reduction per step).
// CHECK-LABEL: func.func @bit_pattern_extrema
// CHECK-DAG: %[[SMIN:.*]] = arith.constant dense<-2147483648> : vector<64xi32>
// CHECK-DAG: %[[UMIN:.*]] = arith.constant dense<0> : vector<64xi32>
// CHECK-DAG: %[[SMAX:.*]] = arith.constant dense<2147483647> : vector<64xi32>
// CHECK-DAG: %[[UMAX:.*]] = arith.constant dense<-1> : vector<64xi32>
// CHECK: vector.transfer_write %[[SMIN]], %{{.*}} : vector<64xi32>, tensor<64xi32>
// CHECK: vector.transfer_write %[[UMIN]], %{{.*}} : vector<64xi32>, tensor<64xi32>
// CHECK: vector.transfer_write %[[SMAX]], %{{.*}} : vector<64xi32>, tensor<64xi32>
// CHECK: vector.transfer_write %[[UMAX]], %{{.*}} : vector<64xi32>, tensor<64xi32>
// CHECK: scf.for {{.*}} to %c16 step %c1 {{.*}} -> (tensor<64xi32>, tensor<64xi32>, tensor<64xi32>, tensor<64xi32>)
// CHECK: %[[X:.*]] = vector.transfer_read %{{.*}} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK-NOT: vector.transfer_read %{{.*}} : tensor<1x16xf32>
// CHECK-NOT: vector.reduction
// CHECK: arith.bitcast %[[X]]
// CHECK: arith.maxsi %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK: arith.bitcast %[[X]]
// CHECK: arith.maxui %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK: arith.bitcast %[[X]]
// CHECK: arith.minsi %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK: arith.bitcast %[[X]]
// CHECK: arith.minui %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK: vector.reduction <maxsi>
// CHECK: vector.reduction <maxui>
// CHECK: vector.reduction <minsi>
// CHECK: vector.reduction <minui>
// CHECK: scf.for {{.*}} to %c1024 step %c16
// CHECK: vector.reduction <add>
// CHECK: return
func.func @bit_pattern_extrema(%x: tensor<1024xf32>, %init: tensor<i32>)
    -> (tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>) {
  %smax = linalg.generic {indexing_maps = [#vec, #scalar], iterator_types = ["reduction"]}
      ins(%x : tensor<1024xf32>) outs(%init : tensor<i32>) {
  ^bb0(%i: f32, %o: i32):
    %b = arith.bitcast %i : f32 to i32
    %m = arith.maxsi %b, %o : i32
    linalg.yield %m : i32
  } -> tensor<i32>
  %umax = linalg.generic {indexing_maps = [#vec, #scalar], iterator_types = ["reduction"]}
      ins(%x : tensor<1024xf32>) outs(%init : tensor<i32>) {
  ^bb0(%i: f32, %o: i32):
    %b = arith.bitcast %i : f32 to i32
    %m = arith.maxui %b, %o : i32
    linalg.yield %m : i32
  } -> tensor<i32>
  %smin = linalg.generic {indexing_maps = [#vec, #scalar], iterator_types = ["reduction"]}
      ins(%x : tensor<1024xf32>) outs(%init : tensor<i32>) {
  ^bb0(%i: f32, %o: i32):
    %b = arith.bitcast %i : f32 to i32
    %m = arith.minsi %b, %o : i32
    linalg.yield %m : i32
  } -> tensor<i32>
  %umin = linalg.generic {indexing_maps = [#vec, #scalar], iterator_types = ["reduction"]}
      ins(%x : tensor<1024xf32>) outs(%init : tensor<i32>) {
  ^bb0(%i: f32, %o: i32):
    %b = arith.bitcast %i : f32 to i32
    %m = arith.minui %b, %o : i32
    linalg.yield %m : i32
  } -> tensor<i32>
  %sum = linalg.generic {indexing_maps = [#vec, #scalar], iterator_types = ["reduction"]}
      ins(%x : tensor<1024xf32>) outs(%init : tensor<i32>) {
  ^bb0(%i: f32, %o: i32):
    %b = arith.bitcast %i : f32 to i32
    %m = arith.addi %b, %o : i32
    linalg.yield %m : i32
  } -> tensor<i32>
  return %smax, %umax, %smin, %umin, %sum : tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>, tensor<i32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#none2 = affine_map<(d0, d1) -> ()>

// A loss-scaled step's overflow check and gradient norm over the same
// 64 x 64 gradient: the norm's init (a fill after the check's result is
// read) moves before the check, and one loop nest over 64 rows carries
// both rows of partials (i1 `or`, f32 sum), reading the gradient once.
// Each is combined on its own, the norm onto its moved init.
// CHECK-LABEL: func.func @overflow_check_and_norm
// CHECK: %[[NORM0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<f32>)
// CHECK: scf.for {{.*}} to %c64 step %c1 {{.*}} -> (tensor<64xi1>, tensor<64xf32>)
// CHECK: %[[G:.*]] = vector.transfer_read %{{.*}} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK-NOT: vector.transfer_read %{{.*}} : tensor<1x16xf32>
// CHECK: math.absf %[[G]]
// CHECK: arith.ori %{{.*}} : vector<16xi1>
// CHECK: arith.mulf %[[G]]
// CHECK: arith.addf %{{.*}} : vector<16xf32>
// CHECK: vector.reduction <or>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[NORM0]]) -> (tensor<f32>)
// CHECK: vector.reduction <add>
// CHECK-NOT: scf.for {{.*}} to %c64 step %c1
// CHECK: return
func.func @overflow_check_and_norm(%g: tensor<64x64xf32>, %inv: tensor<f32>) -> (i1, tensor<f32>) {
  %false = arith.constant false
  %inf = arith.constant 0x7F800000 : f32
  %e = tensor.empty() : tensor<i1>
  %init = linalg.fill ins(%false : i1) outs(%e : tensor<i1>) -> tensor<i1>
  %bad = linalg.generic {indexing_maps = [#id2, #none2], iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<64x64xf32>) outs(%init : tensor<i1>) {
  ^bb0(%x: f32, %o: i1):
    %a = math.absf %x : f32
    %c = arith.cmpf uge, %a, %inf : f32
    %r = arith.ori %c, %o : i1
    linalg.yield %r : i1
  } -> tensor<i1>
  %any = tensor.extract %bad[] : tensor<i1>
  %k = tensor.extract %inv[] : tensor<f32>
  %zero = arith.constant 0.0 : f32
  %ef = tensor.empty() : tensor<f32>
  %finit = linalg.fill ins(%zero : f32) outs(%ef : tensor<f32>) -> tensor<f32>
  %norm = linalg.generic {indexing_maps = [#id2, #none2], iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<64x64xf32>) outs(%finit : tensor<f32>) {
  ^bb0(%x: f32, %o: f32):
    %u = arith.mulf %x, %k : f32
    %s = arith.mulf %u, %u : f32
    %r = arith.addf %s, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %any, %norm : i1, tensor<f32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#none2 = affine_map<(d0, d1) -> ()>

// Left apart: the norm's scale depends on the check's result (it is not
// there before the check), so each reads the gradient in its own loop nest.
// CHECK-LABEL: func.func @norm_after_check_left_apart
// CHECK: scf.for {{.*}} to %c64 step %c1 {{.*}} -> (tensor<64xi1>)
// CHECK: scf.for {{.*}} to %c64 step %c1 {{.*}} -> (tensor<64xf32>)
// CHECK: return
func.func @norm_after_check_left_apart(%g: tensor<64x64xf32>) -> tensor<f32> {
  %false = arith.constant false
  %inf = arith.constant 0x7F800000 : f32
  %e = tensor.empty() : tensor<i1>
  %init = linalg.fill ins(%false : i1) outs(%e : tensor<i1>) -> tensor<i1>
  %bad = linalg.generic {indexing_maps = [#id2, #none2], iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<64x64xf32>) outs(%init : tensor<i1>) {
  ^bb0(%x: f32, %o: i1):
    %a = math.absf %x : f32
    %c = arith.cmpf uge, %a, %inf : f32
    %r = arith.ori %c, %o : i1
    linalg.yield %r : i1
  } -> tensor<i1>
  %any = tensor.extract %bad[] : tensor<i1>
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %k = arith.select %any, %zero, %one : f32
  %ef = tensor.empty() : tensor<f32>
  %finit = linalg.fill ins(%zero : f32) outs(%ef : tensor<f32>) -> tensor<f32>
  %norm = linalg.generic {indexing_maps = [#id2, #none2], iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<64x64xf32>) outs(%finit : tensor<f32>) {
  ^bb0(%x: f32, %o: f32):
    %u = arith.mulf %x, %k : f32
    %s = arith.mulf %u, %u : f32
    %r = arith.addf %s, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %norm : tensor<f32>
}

// -----

#id2o = affine_map<(d0, d1) -> (d0, d1)>
#none2o = affine_map<(d0, d1) -> ()>

// A loss-scaled step's overflow check (any |g| >= inf, an `or` of i1) over
// a 784 x 256 gradient: folded into 3136 rows of 64 like a maximum, its 64
// partials start false (a fill: a vector of i1 is stored as bits, a tensor
// of i1 holds bytes) and are or-ed 16 lanes at a time, with one vector
// `or` reduction per 16 partials at the end. An `and` of i1 is not split:
// one vector reduction per step.
// CHECK-LABEL: func.func @overflow_check
// CHECK-DAG: %[[FALSE:.*]] = arith.constant false
// CHECK: tensor.expand_shape %{{.*}} output_shape [3136, 64] : tensor<200704xf32> into tensor<3136x64xf32>
// CHECK: linalg.fill ins(%[[FALSE]] : i1) outs(%{{.*}} : tensor<64xi1>)
// CHECK: scf.for {{.*}} to %c3136 step %c1 {{.*}} -> (tensor<64xi1>)
// CHECK-NOT: vector.reduction
// CHECK: arith.cmpf uge, %{{.*}}, %{{.*}} : vector<1x16xf32>
// CHECK-NOT: vector.reduction
// CHECK: arith.ori %{{.*}}, %{{.*}} : vector<16xi1>
// CHECK: scf.for {{.*}} to %c64 step %c16 {{.*}} -> (tensor<i1>)
// CHECK: vector.reduction <or>
// CHECK-NOT: tensor<64xi1>
// CHECK: vector.reduction <and>
// CHECK: return
func.func @overflow_check(%g: tensor<784x256xf32>) -> (tensor<i1>, tensor<i1>) {
  %inf = arith.constant 0x7F800000 : f32
  %false = arith.constant false
  %true = arith.constant true
  %e = tensor.empty() : tensor<i1>
  %no = linalg.fill ins(%false : i1) outs(%e : tensor<i1>) -> tensor<i1>
  %any = linalg.generic {indexing_maps = [#id2o, #none2o], iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<784x256xf32>) outs(%no : tensor<i1>) {
  ^bb0(%x: f32, %o: i1):
    %a = math.absf %x : f32
    %c = arith.cmpf uge, %a, %inf : f32
    %y = arith.ori %c, %o : i1
    linalg.yield %y : i1
  } -> tensor<i1>
  %yes = linalg.fill ins(%true : i1) outs(%e : tensor<i1>) -> tensor<i1>
  %all = linalg.generic {indexing_maps = [#id2o, #none2o], iterator_types = ["reduction", "reduction"]}
      ins(%g : tensor<784x256xf32>) outs(%yes : tensor<i1>) {
  ^bb0(%x: f32, %o: i1):
    %a = math.absf %x : f32
    %c = arith.cmpf ult, %a, %inf : f32
    %y = arith.andi %c, %o : i1
    linalg.yield %y : i1
  } -> tensor<i1>
  return %any, %all : tensor<i1>, tensor<i1>
}

// -----

#oihw = affine_map<(o, i, h, w) -> (o, h, w, i)>
#none4p = affine_map<(o, i, h, w) -> ()>

// A gradient norm and an overflow check over a convolution weight's
// gradient that is computed as [O, kh, kw, I] and read as the parameter's
// [O, I, kh, kw] (loops o, i, h, w): the loops are interchanged to the
// input's layout (o, h, w, i), so the 8 x 3 x 3 x 16 = 1152 elements are
// one contiguous run, folded into 18 rows of 64 whose partials are updated
// 16 lanes at a time. They were read with a stride of 16 elements into
// 3 x 3 partials (the two trailing loops), a few lanes at a time. Both read
// the same gradient: one loop nest carries both rows of partials.
// CHECK-LABEL: func.func @permuted_full_reductions
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2, 3]] : tensor<8x3x3x16xf32> into tensor<1152xf32>
// CHECK: tensor.expand_shape %{{.*}} output_shape [18, 64] : tensor<1152xf32> into tensor<18x64xf32>
// CHECK: scf.for {{.*}} to %c18 step %c1 {{.*}} -> (tensor<64xf32>, tensor<64xi1>)
// CHECK: arith.mulf %{{.*}}, %{{.*}} : vector<1x16xf32>
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: arith.ori %{{.*}}, %{{.*}} : vector<16xi1>
// CHECK: vector.reduction <add>
// CHECK: vector.reduction <or>
// CHECK-NOT: vector<3xf32>
// CHECK-NOT: vector<3xi1>
// CHECK: return
func.func @permuted_full_reductions(%g: tensor<8x3x3x16xf32>, %init: tensor<f32>)
    -> (tensor<f32>, tensor<i1>) {
  %inf = arith.constant 0x7F800000 : f32
  %false = arith.constant false
  %sq = linalg.generic {indexing_maps = [#oihw, #none4p], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%g : tensor<8x3x3x16xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %o: f32):
    %p = arith.mulf %x, %x : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %e = tensor.empty() : tensor<i1>
  %no = linalg.fill ins(%false : i1) outs(%e : tensor<i1>) -> tensor<i1>
  %any = linalg.generic {indexing_maps = [#oihw, #none4p], iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%g : tensor<8x3x3x16xf32>) outs(%no : tensor<i1>) {
  ^bb0(%x: f32, %o: i1):
    %a = math.absf %x : f32
    %c = arith.cmpf uge, %a, %inf : f32
    %y = arith.ori %c, %o : i1
    linalg.yield %y : i1
  } -> tensor<i1>
  return %sq, %any : tensor<f32>, tensor<i1>
}

// -----

#along = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>

// The maximum of a 1024-step amax history (one loop): folded into 16 rows
// of 64, whose 64 partials (four 16-lane vectors, independent chains) start
// at -inf and are updated with no horizontal reduction; four vector
// reductions at the end. A sum over 96 (not a multiple of 64) and one over
// 64 (a single row) are not folded.
// CHECK-LABEL: func.func @full_max_history
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant dense<0xFF800000> : vector<64xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [16, 64] : tensor<1024xf32> into tensor<16x64xf32>
// CHECK: vector.transfer_write %[[NEGINF]], %{{.*}} : vector<64xf32>, tensor<64xf32>
// CHECK: scf.for {{.*}} to %c16 step %c1 {{.*}} -> (tensor<64xf32>)
// CHECK: scf.for {{.*}} to %c64 step %c16 {{.*}} -> (tensor<64xf32>)
// CHECK-NOT: vector.reduction
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-NOT: vector.reduction
// CHECK: scf.for {{.*}} to %c64 step %c16 {{.*}} -> (tensor<f32>)
// CHECK: vector.reduction <maximumf>
// CHECK-NOT: vector.reduction <maximumf>
// CHECK-NOT: tensor.expand_shape
// CHECK: vector.reduction <add>
// CHECK-NOT: tensor.expand_shape
// CHECK: vector.reduction <add>
// CHECK-NOT: tensor.expand_shape
// CHECK: return
func.func @full_max_history(%h: tensor<1024xf32>, %s96: tensor<96xf32>,
                            %s64: tensor<64xf32>, %init: tensor<f32>)
    -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %m = linalg.generic {indexing_maps = [#along, #scalar], iterator_types = ["reduction"]}
      ins(%h : tensor<1024xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %o: f32):
    %r = arith.maximumf %i, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %a = linalg.generic {indexing_maps = [#along, #scalar], iterator_types = ["reduction"]}
      ins(%s96 : tensor<96xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %o: f32):
    %r = arith.addf %i, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %b = linalg.generic {indexing_maps = [#along, #scalar], iterator_types = ["reduction"]}
      ins(%s64 : tensor<64xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %o: f32):
    %r = arith.addf %i, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %m, %a, %b : tensor<f32>, tensor<f32>, tensor<f32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#none = affine_map<(d0, d1) -> ()>

// Not split: a product (rounding depends on the grouping), a sum that reads
// its accumulator twice (which linalg::vectorize cannot take either: it
// stays a loop nest), and a sum of two inputs read through different
// permutations (no loop order reads both in memory order: not folded into
// rows) whose loops other than the outermost have fewer iterations than a
// vector has lanes.
// CHECK-LABEL: func.func @not_split
// CHECK-NOT: tensor<64xf32>
// CHECK: vector.reduction <mul>
// CHECK-NOT: tensor<64xf32>
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %[[OUT:.*]]: f32):
// CHECK-NEXT: arith.mulf %[[IN]], %[[OUT]]
// CHECK-NOT: tensor<64xf32>
// CHECK-NOT: -0.000000e+00
// CHECK: return
func.func @not_split(%x: tensor<48x64xf32>, %y: tensor<4x64xf32>, %z: tensor<64x4xf32>, %init: tensor<f32>)
    -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %m = linalg.generic {indexing_maps = [#id, #none], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<48x64xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.mulf %i, %o : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %t = linalg.generic {indexing_maps = [#id, #none], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<48x64xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %o: f32):
    %p = arith.mulf %i, %o : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %n = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, #id, #none], iterator_types = ["reduction", "reduction"]}
      ins(%y, %z : tensor<4x64xf32>, tensor<64x4xf32>) outs(%init : tensor<f32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %m, %t, %n : tensor<f32>, tensor<f32>, tensor<f32>
}

// -----

// A transpose: the input is contiguous along the output's rows, so that
// loop is tiled too (by 8, half a vector) and the tile is read as 16 rows of
// 8, transposed in registers by one shuffle (result element (i, j) is
// source element j * 8 + i) and written as 8 rows of 16. No element is
// gathered with the input's stride.
// CHECK-LABEL: func.func @transpose
// CHECK: scf.for {{.*}} to %c48 step %c8
// CHECK: scf.for {{.*}} to %c64 step %c16
// CHECK: %[[V:.*]] = vector.transfer_read {{.*}} : tensor<16x8xf32>, vector<16x8xf32>
// CHECK: %[[FLAT:.*]] = vector.shape_cast %[[V]] : vector<16x8xf32> to vector<128xf32>
// CHECK: %[[T:.*]] = vector.shuffle %[[FLAT]], %[[FLAT]] [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 1, 9,
// CHECK: %[[R:.*]] = vector.shape_cast %[[T]] : vector<128xf32> to vector<8x16xf32>
// CHECK: vector.transfer_write %[[R]], {{.*}} : vector<8x16xf32>, tensor<8x16xf32>
// CHECK-NOT: permutation_map
func.func @transpose(%x: tensor<64x48xf32>) -> tensor<48x64xf32> {
  %e = tensor.empty() : tensor<48x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x48xf32>) outs(%e : tensor<48x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<48x64xf32>
  return %r : tensor<48x64xf32>
}

// -----

// A filter [F, C, 3, 3] to [F, 3, 3, C]: the input is contiguous along the
// taps, two whole loops of 3; both join the 16 channels of the vector, so
// that 16 channels' 144 contiguous taps are read at once.
// CHECK-LABEL: func.func @filter_layout
// CHECK: scf.for {{.*}} to %c8 step %c1
// CHECK: scf.for {{.*}} to %c32 step %c16
// CHECK: vector.transfer_read {{.*}} : tensor<1x16x3x3xf32>, vector<1x16x3x3xf32>
// CHECK: vector.shuffle {{.*}} [0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99, 108, 117, 126, 135, 1, 10,
// CHECK: vector.transfer_write {{.*}} : vector<1x3x3x16xf32>, tensor<1x3x3x16xf32>
func.func @filter_layout(%w: tensor<8x32x3x3xf32>) -> tensor<8x3x3x32xf32> {
  %e = tensor.empty() : tensor<8x3x3x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(f, h, w, c) -> (f, c, h, w)>, affine_map<(f, h, w, c) -> (f, h, w, c)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%w : tensor<8x32x3x3xf32>) outs(%e : tensor<8x3x3x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<8x3x3x32xf32>
  return %r : tensor<8x3x3x32xf32>
}

// -----

// A per-channel scale of an NCHW tensor written NHWC: the scale is read
// once per channel (a broadcast, not a layout change) and does not decide;
// the image, contiguous along w, does.
// CHECK-LABEL: func.func @scaled_layout
// CHECK: vector.transfer_read {{.*}} : tensor<1x16x1x8xf32>, vector<1x16x1x8xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<16xf32>, vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<1x1x8x16xf32>, tensor<1x1x8x16xf32>
func.func @scaled_layout(%x: tensor<2x32x4x8xf32>, %s: tensor<32xf32>) -> tensor<2x4x8x32xf32> {
  %e = tensor.empty() : tensor<2x4x8x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(n, h, w, c) -> (n, c, h, w)>, affine_map<(n, h, w, c) -> (c)>,
                                        affine_map<(n, h, w, c) -> (n, h, w, c)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %s : tensor<2x32x4x8xf32>, tensor<32xf32>) outs(%e : tensor<2x4x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x4x8x32xf32>
  return %r : tensor<2x4x8x32xf32>
}

// -----

// Max pooling (2x2 windows, stride 2) reads its input through window
// expressions, which upstream tiling and vectorization do not take: it is
// a loop nest over the output's loops (the channels', 16 of 32 per step,
// innermost), and inside, the window's two reduction loops in the op's
// order carry the output's vector in registers: read once, max-reduced
// with the input's vector at the window's position, written once.
// CHECK-LABEL: func.func @max_pool
// CHECK-NOT: linalg.generic
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for %[[OH:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for %[[OW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %c32 step %c16 iter_args
// CHECK: %[[ACC:.*]] = tensor.extract_slice %{{.*}}[%[[N]], %[[OH]], %[[OW]], %[[C]]] [1, 1, 1, 16] [1, 1, 1, 1] : tensor<2x3x3x32xf32> to tensor<16xf32>
// CHECK: %[[VA:.*]] = vector.transfer_read %[[ACC]]{{.*}} : tensor<16xf32>, vector<16xf32>
// CHECK: %[[MAX:.*]] = scf.for %[[KH:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A1:.*]] = %[[VA]]) -> (vector<16xf32>)
// CHECK: %[[H:.*]] = affine.apply #{{.*}}(%[[OH]], %[[KH]])
// CHECK: scf.for %[[KW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A2:.*]] = %[[A1]]) -> (vector<16xf32>)
// CHECK: %[[W:.*]] = affine.apply #{{.*}}(%[[OW]], %[[KW]])
// CHECK: %[[X:.*]] = tensor.extract_slice %{{.*}}[%[[N]], %[[H]], %[[W]], %[[C]]] [1, 1, 1, 16] [1, 1, 1, 1] : tensor<2x6x6x32xf32> to tensor<16xf32>
// CHECK: %[[VX:.*]] = vector.transfer_read %[[X]]{{.*}} : tensor<16xf32>, vector<16xf32>
// CHECK: %[[M:.*]] = arith.maximumf %[[A2]], %[[VX]] : vector<16xf32>
// CHECK: scf.yield %[[M]] : vector<16xf32>
// CHECK: %[[OUT:.*]] = vector.transfer_write %[[MAX]], %[[ACC]]{{.*}} : vector<16xf32>, tensor<16xf32>
// CHECK: tensor.insert_slice %[[OUT]] into %{{.*}}[%[[N]], %[[OH]], %[[OW]], %[[C]]] [1, 1, 1, 16] [1, 1, 1, 1] : tensor<16xf32> into tensor<2x3x3x32xf32>
#win = affine_map<(n, oh, ow, c, kh, kw) -> (n, oh * 2 + kh, ow * 2 + kw, c)>
#shape = affine_map<(n, oh, ow, c, kh, kw) -> (kh, kw)>
#pooled = affine_map<(n, oh, ow, c, kh, kw) -> (n, oh, ow, c)>
func.func @max_pool(%x: tensor<2x6x6x32xf32>, %init: tensor<2x3x3x32xf32>) -> tensor<2x3x3x32xf32> {
  %window = tensor.empty() : tensor<2x2xf32>
  %p = linalg.generic {indexing_maps = [#win, #shape, #pooled], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %window : tensor<2x6x6x32xf32>, tensor<2x2xf32>) outs(%init : tensor<2x3x3x32xf32>) {
  ^bb0(%in: f32, %w: f32, %out: f32):
    %m = arith.maximumf %out, %in : f32
    linalg.yield %m : f32
  } -> tensor<2x3x3x32xf32>
  return %p : tensor<2x3x3x32xf32>
}

// -----

// Its gradient as autodiff writes it: the output gradient and the pooled
// values zero-interleaved into a padded tensor and read at h - kh + 1 (a
// constant offset, which would make tiling's slices wrong). Each window
// step reads those at the offset position and accumulates 8 channels in a
// vector carried by the window's loops; x is read once per window.
// CHECK: #[[OFF:.*]] = affine_map<(d0, d1) -> (d0 - d1 + 1)>
// CHECK-LABEL: func.func @max_pool_gradient
// CHECK-NOT: linalg.generic
// CHECK: scf.for %[[H:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[W:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[X:.*]] = vector.transfer_read {{.*}} : tensor<8xf32>, vector<8xf32>
// CHECK: %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<8xf32>, vector<8xf32>
// CHECK: scf.for %[[KH:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[ACC]]) -> (vector<8xf32>)
// CHECK: %[[PH:.*]] = affine.apply #[[OFF]](%[[H]], %[[KH]])
// CHECK: scf.for %[[KW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %{{.*}}) -> (vector<8xf32>)
// CHECK: %[[PW:.*]] = affine.apply #[[OFF]](%[[W]], %[[KW]])
// CHECK: tensor.extract_slice %{{.*}}[0, %[[PH]], %[[PW]], 0] [1, 1, 1, 8] [1, 1, 1, 1] : tensor<1x7x7x8xf32> to tensor<8xf32>
// CHECK: %[[EQ:.*]] = arith.cmpf oeq, %[[X]], %{{.*}} : vector<8xf32>
// CHECK: %[[S:.*]] = arith.select %[[EQ]], %{{.*}} : vector<8xi1>, vector<8xf32>
// CHECK: arith.addf %[[A]], %[[S]] : vector<8xf32>
// CHECK-NOT: vector.transfer_read
// CHECK: vector.transfer_write
#x4 = affine_map<(n, h, w, c, kh, kw) -> (n, h, w, c)>
#shape4 = affine_map<(n, h, w, c, kh, kw) -> (kh, kw)>
#padded = affine_map<(n, h, w, c, kh, kw) -> (n, h - kh + 1, w - kw + 1, c)>
func.func @max_pool_gradient(%x: tensor<1x6x6x8xf32>, %dy: tensor<1x7x7x8xf32>, %y: tensor<1x7x7x8xf32>, %init: tensor<1x6x6x8xf32>) -> tensor<1x6x6x8xf32> {
  %zero = arith.constant 0.0 : f32
  %window = tensor.empty() : tensor<2x2xf32>
  %dx = linalg.generic {indexing_maps = [#x4, #shape4, #padded, #padded, #x4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %window, %dy, %y : tensor<1x6x6x8xf32>, tensor<2x2xf32>, tensor<1x7x7x8xf32>, tensor<1x7x7x8xf32>) outs(%init : tensor<1x6x6x8xf32>) {
  ^bb0(%in: f32, %w: f32, %g: f32, %m: f32, %out: f32):
    %eq = arith.cmpf oeq, %in, %m : f32
    %s = arith.select %eq, %g, %zero : f32
    %r = arith.addf %out, %s : f32
    linalg.yield %r : f32
  } -> tensor<1x6x6x8xf32>
  return %dx : tensor<1x6x6x8xf32>
}

// -----

// A scatter into overlapping windows (the output indexed by the reduction
// loop k at h + k): no window keeps its output's vector across k; each
// step reads and writes the output at h + k.
// CHECK-LABEL: func.func @scatter_into_windows
// CHECK: scf.for %[[H:.*]] = %{{.*}} to %c6 step %c1 iter_args
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %c3 step %c1 iter_args(%[[OUT:.*]] = %{{.*}}) -> (tensor<2x8x16xf32>)
// CHECK: %[[P:.*]] = affine.apply #{{.*}}(%[[H]], %[[K]])
// CHECK: %[[ACC:.*]] = tensor.extract_slice %[[OUT]][%{{.*}}, %[[P]], 0] [1, 1, 16] [1, 1, 1] : tensor<2x8x16xf32> to tensor<16xf32>
// CHECK: vector.transfer_read %[[ACC]]
// CHECK: arith.addf {{.*}} : vector<16xf32>
// CHECK: tensor.insert_slice %{{.*}} into %[[OUT]][%{{.*}}, %[[P]], 0] [1, 1, 16] [1, 1, 1]
func.func @scatter_into_windows(%x: tensor<2x6x16xf32>, %init: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %w = tensor.empty() : tensor<3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(n, h, c, k) -> (n, h, c)>, affine_map<(n, h, c, k) -> (k)>, affine_map<(n, h, c, k) -> (n, h + k, c)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x6x16xf32>, tensor<3xf32>) outs(%init : tensor<2x8x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  } -> tensor<2x8x16xf32>
  return %r : tensor<2x8x16xf32>
}

// -----

// The same gradient into a zero-filled output (as the train step has it):
// each window starts from the filled value, so the output is neither filled
// nor read; it is written once per window, split across threads along the
// batch (346112 iterations).
// CHECK-LABEL: func.func @max_pool_gradient_into_zeros
// CHECK-DAG: %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK-NOT: linalg.fill
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<16x26x26x8xf32>
// CHECK: scf.forall (%{{.*}}) in (16) shared_outs(%{{.*}} = %[[EMPTY]])
// CHECK-NOT: linalg.fill
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[ZEROS]]) -> (vector<8xf32>)
// CHECK: scf.for
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK-NOT: vector.transfer_read
// CHECK: vector.transfer_write {{.*}} : vector<8xf32>, tensor<8xf32>
// CHECK-NOT: linalg.fill
// CHECK: return
#x4 = affine_map<(n, h, w, c, kh, kw) -> (n, h, w, c)>
#shape4 = affine_map<(n, h, w, c, kh, kw) -> (kh, kw)>
#padded = affine_map<(n, h, w, c, kh, kw) -> (n, h - kh + 1, w - kw + 1, c)>
func.func @max_pool_gradient_into_zeros(%x: tensor<16x26x26x8xf32>, %dy: tensor<16x27x27x8xf32>, %y: tensor<16x27x27x8xf32>) -> tensor<16x26x26x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x26x26x8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<16x26x26x8xf32>) -> tensor<16x26x26x8xf32>
  %window = tensor.empty() : tensor<2x2xf32>
  %dx = linalg.generic {indexing_maps = [#x4, #shape4, #padded, #padded, #x4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %window, %dy, %y : tensor<16x26x26x8xf32>, tensor<2x2xf32>, tensor<16x27x27x8xf32>, tensor<16x27x27x8xf32>) outs(%init : tensor<16x26x26x8xf32>) {
  ^bb0(%in: f32, %w: f32, %g: f32, %m: f32, %out: f32):
    %eq = arith.cmpf oeq, %in, %m : f32
    %s = arith.select %eq, %g, %zero : f32
    %r = arith.addf %out, %s : f32
    linalg.yield %r : f32
  } -> tensor<16x26x26x8xf32>
  return %dx : tensor<16x26x26x8xf32>
}

// -----

// Left as it was: a window over a single channel at a stride of 2 (no
// contiguous vector to read). A window whose channel loop is also part of
// a window expression (x[..., c + kw]) reads 8 consecutive channels from
// c + kw: vectorized along c, the reduction loops carrying the vector.
// CHECK-LABEL: func.func @windows_left_alone
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x6x6x1xf32>, tensor<2x2xf32>)
// CHECK-NOT: linalg.generic
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args(%{{.*}}) -> (vector<8xf32>)
// CHECK: scf.for %[[KW:.*]] = %c0 to %c2 step %c1 iter_args(%{{.*}}) -> (vector<8xf32>)
// CHECK: tensor.extract_slice %{{.*}}[0, %{{.*}}, %{{.*}}, %[[KW]]] [1, 1, 1, 8] [1, 1, 1, 1] : tensor<1x6x6x16xf32> to tensor<8xf32>
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK-NOT: linalg.generic
#win5 = affine_map<(n, oh, ow, c, kh, kw) -> (n, oh * 2 + kh, ow * 2 + kw, c)>
#shape5 = affine_map<(n, oh, ow, c, kh, kw) -> (kh, kw)>
#pooled5 = affine_map<(n, oh, ow, c, kh, kw) -> (n, oh, ow, c)>
#mixed5 = affine_map<(n, oh, ow, c, kh, kw) -> (n, oh * 2 + kh, ow * 2 + kw, c + kw)>
func.func @windows_left_alone(%x: tensor<1x6x6x1xf32>, %init: tensor<1x3x3x1xf32>, %x16: tensor<1x6x6x16xf32>, %init16: tensor<1x3x3x8xf32>) -> (tensor<1x3x3x1xf32>, tensor<1x3x3x8xf32>) {
  %window = tensor.empty() : tensor<2x2xf32>
  %p = linalg.generic {indexing_maps = [#win5, #shape5, #pooled5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %window : tensor<1x6x6x1xf32>, tensor<2x2xf32>) outs(%init : tensor<1x3x3x1xf32>) {
  ^bb0(%in: f32, %w: f32, %out: f32):
    %m = arith.maximumf %out, %in : f32
    linalg.yield %m : f32
  } -> tensor<1x3x3x1xf32>
  %q = linalg.generic {indexing_maps = [#mixed5, #shape5, #pooled5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x16, %window : tensor<1x6x6x16xf32>, tensor<2x2xf32>) outs(%init16 : tensor<1x3x3x8xf32>) {
  ^bb0(%in: f32, %w: f32, %out: f32):
    %m = arith.maximumf %out, %in : f32
    linalg.yield %m : f32
  } -> tensor<1x3x3x8xf32>
  return %p, %q : tensor<1x3x3x1xf32>, tensor<1x3x3x8xf32>
}

// -----

// An im2col gather over a 1-channel image whose patches of one image (5 x 4
// patches of 3 x 3: 180 values) all come from one run of its rows (42
// values from offset 0): per image, one read of the run, one shuffle, one
// write of the block.
// CHECK-LABEL: func.func @im2col_one_channel
// CHECK-SAME: (%[[X:.*]]: tensor<2x7x6x1xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1, 2, 3]] : tensor<2x7x6x1xf32> into tensor<84xf32>
// CHECK: %[[BLOCKS:.*]] = scf.for %[[N:.*]] = %c0 to %c2 step %c1 iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<2x180xf32>)
// CHECK: %[[FROM:.*]] = arith.muli %[[N]], %c42
// CHECK: %[[SPAN:.*]] = vector.transfer_read %[[FLAT]][%[[FROM]]], %{{.*}} {in_bounds = [true]} : tensor<84xf32>, vector<42xf32>
// CHECK: %[[PATCHES:.*]] = vector.shuffle %[[SPAN]], %[[SPAN]] [0, 1, 2, 6, 7, 8, 12, 13, 14, 1, 2, 3, 7, 8, 9, 13, 14, 15,
// CHECK-SAME: : vector<42xf32>, vector<42xf32>
// CHECK: vector.transfer_write %[[PATCHES]], %[[ACC]][%[[N]], %c0] {in_bounds = [true]} : vector<180xf32>, tensor<2x180xf32>
// CHECK: %[[PATCHES_ALL:.*]] = tensor.expand_shape %[[BLOCKS]] {{\[\[}}0], [1, 2, 3, 4, 5]] output_shape [2, 5, 4, 3, 3, 1] : tensor<2x180xf32> into tensor<2x5x4x3x3x1xf32>
// CHECK: return %[[PATCHES_ALL]]
// CHECK-NOT: linalg.generic
#x6 = affine_map<(n, h, w, kh, kw, c) -> (n, h + kh, w + kw, c)>
#y6 = affine_map<(n, h, w, kh, kw, c) -> (n, h, w, kh, kw, c)>
func.func @im2col_one_channel(%x: tensor<2x7x6x1xf32>) -> tensor<2x5x4x3x3x1xf32> {
  %e = tensor.empty() : tensor<2x5x4x3x3x1xf32>
  %g = linalg.generic {indexing_maps = [#x6, #y6], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x7x6x1xf32>) outs(%e : tensor<2x5x4x3x3x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x5x4x3x3x1xf32>
  return %g : tensor<2x5x4x3x3x1xf32>
}

// -----

// A wider 1-channel image (a row of 38 patches of 3 x 3 is 342 values, more
// than one shuffle computes): the output's innermost loop has one
// iteration, so the one before it (kw) is the vector: each of the three
// rows of a patch is one 3-element slice of the image at w + kw, read with
// unit stride, written whole.
// CHECK-LABEL: func.func @im2col_one_channel_wide
// CHECK-NOT: vector.shuffle
// CHECK: scf.for %[[N:.*]] = %c0 to %c2 step %c1
// CHECK: scf.for %[[H:.*]] = %c0 to %c38 step %c1
// CHECK: scf.for %[[W:.*]] = %c0 to %c38 step %c1
// CHECK: scf.for %[[KH:.*]] = %c0 to %c3 step %c1
// CHECK: %[[ROW:.*]] = affine.apply #{{.*}}(%[[H]], %[[KH]])
// CHECK: %[[TAPS:.*]] = tensor.extract_slice %arg0[%[[N]], %[[ROW]], %[[W]], 0] [1, 1, 3, 1] [1, 1, 1, 1] : tensor<2x40x40x1xf32> to tensor<3xf32>
// CHECK: tensor.insert_slice %[[TAPS]] into %{{.*}}[%[[N]], %[[H]], %[[W]], %[[KH]], 0, 0] [1, 1, 1, 1, 3, 1]
// CHECK-NOT: linalg.generic
#x6 = affine_map<(n, h, w, kh, kw, c) -> (n, h + kh, w + kw, c)>
#y6 = affine_map<(n, h, w, kh, kw, c) -> (n, h, w, kh, kw, c)>
func.func @im2col_one_channel_wide(%x: tensor<2x40x40x1xf32>) -> tensor<2x38x38x3x3x1xf32> {
  %e = tensor.empty() : tensor<2x38x38x3x3x1xf32>
  %g = linalg.generic {indexing_maps = [#x6, #y6], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x40x40x1xf32>) outs(%e : tensor<2x38x38x3x3x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x38x38x3x3x1xf32>
  return %g : tensor<2x38x38x3x3x1xf32>
}

// -----

// A 1-channel image's trailing unit dimension: the unit loop goes
// outermost and the width (28, in tiles of 14) is vectorized, not the
// channel loop of one iteration left scalar.
// CHECK-LABEL: func.func @trailing_unit_dim
// CHECK-NOT: linalg.generic
// CHECK: scf.for %{{.*}} = %c0 to %c28 step %c14
// CHECK: vector.transfer_read %{{.*}} : tensor<1x1x14x1xf32>, vector<1x1x14x1xf32>
// CHECK: arith.mulf %{{.*}} : vector<1x1x1x14xf32>
#id4u = affine_map<(n, h, w, c) -> (n, h, w, c)>
func.func @trailing_unit_dim(%x: tensor<2x5x28x1xf32>) -> tensor<2x5x28x1xf32> {
  %two = arith.constant 2.0 : f32
  %e = tensor.empty() : tensor<2x5x28x1xf32>
  %r = linalg.generic {indexing_maps = [#id4u, #id4u], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x5x28x1xf32>) outs(%e : tensor<2x5x28x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %two : f32
    linalg.yield %m : f32
  } -> tensor<2x5x28x1xf32>
  return %r : tensor<2x5x28x1xf32>
}

// -----

// An 8-channel activation's bias, ReLU and cast: the whole channel loop (8,
// half a vector) takes two steps of the width loop into the vector, 2 x 8
// lanes of 16 (the bias is broadcast along them); 13 steps of 2, not 26
// vectors of 8.
// CHECK-LABEL: func.func @eight_channels
// CHECK: scf.for %{{.*}} = %c0 to %c26 step %c2
// CHECK: vector.transfer_read %{{.*}} : tensor<1x1x2x8xf32>, vector<1x1x2x8xf32>
// CHECK: vector.transfer_read %{{.*}} : tensor<8xf32>, vector<8xf32>
// CHECK: arith.maximumf %{{.*}} : vector<1x1x2x8xf32>
// CHECK: arith.truncf %{{.*}} : vector<1x1x2x8xf32> to vector<1x1x2x8xbf16>
// CHECK: vector.transfer_write %{{.*}} : vector<1x1x2x8xbf16>, tensor<1x1x2x8xbf16>
// An input contiguous along another loop (NCHW read into NHWC, w = 8)
// keeps the transposed tiling: 8 channels by the whole width of 8 read at
// once, not 8 x 2.
// CHECK-LABEL: func.func @eight_channels_from_nchw
// CHECK: vector.transfer_read %{{.*}} : tensor<1x8x1x8xf32>, vector<1x8x1x8xf32>
// CHECK: vector.shuffle
// CHECK: vector.transfer_write %{{.*}} : vector<1x1x8x8xf32>, tensor<1x1x8x8xf32>
#id4 = affine_map<(n, h, w, c) -> (n, h, w, c)>
#ch4 = affine_map<(n, h, w, c) -> (c)>
func.func @eight_channels(%x: tensor<2x26x26x8xf32>, %b: tensor<8xf32>) -> tensor<2x26x26x8xbf16> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x26x26x8xbf16>
  %r = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %b : tensor<2x26x26x8xf32>, tensor<8xf32>) outs(%e : tensor<2x26x26x8xbf16>) {
  ^bb0(%a: f32, %c: f32, %o: bf16):
    %s = arith.addf %a, %c : f32
    %m = arith.maximumf %s, %zero : f32
    %t = arith.truncf %m : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<2x26x26x8xbf16>
  return %r : tensor<2x26x26x8xbf16>
}
func.func @eight_channels_from_nchw(%x: tensor<2x8x4x8xf32>) -> tensor<2x4x8x8xf32> {
  %e = tensor.empty() : tensor<2x4x8x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(n, h, w, c) -> (n, c, h, w)>, #id4],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x8x4x8xf32>) outs(%e : tensor<2x4x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x4x8x8xf32>
  return %r : tensor<2x4x8x8xf32>
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c = affine_map<(d0, d1, d2, d3) -> (d3)>

// A bias gradient over 8 channels (ReLU's gradient recomputed from the
// pre-activation and the bias): read as 18 rows of 64 values (8 positions
// of all 8 channels), reduced into 64 partial sums (four 16-lane vectors
// of independent chains, from a vector of -0.0), the bias repeated 8 times
// along the row; then the 8 partials of each channel added onto the
// initial value. No chain of 144 dependent 8-lane additions is left.
// CHECK-LABEL: func.func @bias_gradient
// CHECK-SAME: (%[[DY:.*]]: tensor<4x6x6x8xf32>, %[[PRE:.*]]: tensor<4x6x6x8xf32>, %[[B:.*]]: tensor<8xf32>, %[[INIT:.*]]: tensor<8xf32>)
// CHECK-DAG: %[[NEG0:.*]] = arith.constant dense<-0.000000e+00> : vector<64xf32>
// CHECK-DAG: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [18, 64] : tensor<1152xf32> into tensor<18x64xf32>
// CHECK: %[[REP:.*]] = linalg.broadcast ins(%[[B]] : tensor<8xf32>) outs(%{{.*}} : tensor<8x8xf32>) dimensions = [0]
// CHECK: tensor.collapse_shape %[[REP]] {{\[\[}}0, 1]] : tensor<8x8xf32> into tensor<64xf32>
// CHECK: %[[START:.*]] = vector.transfer_write %[[NEG0]], %{{.*}} : vector<64xf32>, tensor<64xf32>
// CHECK: %[[PARTIAL:.*]] = scf.for {{.*}} to %c18 step %c1 iter_args(%{{.*}} = %[[START]]) -> (tensor<64xf32>)
// CHECK: scf.for {{.*}} to %c64 step %c16
// CHECK: arith.select %{{.*}} : vector<1x16xi1>, vector<1x16xf32>
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: tensor.expand_shape %[[PARTIAL]] {{\[\[}}0, 1]] output_shape [8, 8] : tensor<64xf32> into tensor<8x8xf32>
// CHECK: scf.for {{.*}} to %c8 step %c1 iter_args(%{{.*}} = %[[INIT]]) -> (tensor<8xf32>)
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: return
func.func @bias_gradient(%dy: tensor<4x6x6x8xf32>, %pre: tensor<4x6x6x8xf32>, %b: tensor<8xf32>, %init: tensor<8xf32>) -> tensor<8xf32> {
  %r = linalg.generic {indexing_maps = [#x, #x, #c, #c], iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
      ins(%dy, %pre, %b : tensor<4x6x6x8xf32>, tensor<4x6x6x8xf32>, tensor<8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%g: f32, %p: f32, %bias: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %z = arith.addf %p, %bias : f32
    %on = arith.cmpf ogt, %z, %zero : f32
    %d = arith.select %on, %g, %zero : f32
    %s = arith.addf %o, %d : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d2)>
#t = affine_map<(d0, d1, d2) -> (d1, d0, d2)>

// Not split into rows: 10 lanes (not a divisor of 64), 5 x 5 positions of
// 8 lanes (25 positions, not a multiple of the 8 a row holds), and an input
// read across the positions' order (transposed).
// CHECK-LABEL: func.func @trailing_not_split
// CHECK-NOT: tensor<64xf32>
// CHECK-NOT: x64xf32>
// CHECK: return
func.func @trailing_not_split(%a: tensor<6x6x10xf32>, %b: tensor<5x5x8xf32>, %ia: tensor<10xf32>, %ib: tensor<8xf32>)
    -> (tensor<10xf32>, tensor<8xf32>, tensor<10xf32>) {
  %r1 = linalg.generic {indexing_maps = [#x, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%a : tensor<6x6x10xf32>) outs(%ia : tensor<10xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.addf %o, %i : f32
    linalg.yield %s : f32
  } -> tensor<10xf32>
  %r2 = linalg.generic {indexing_maps = [#x, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%b : tensor<5x5x8xf32>) outs(%ib : tensor<8xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.addf %o, %i : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %r3 = linalg.generic {indexing_maps = [#t, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%a : tensor<6x6x10xf32>) outs(%ia : tensor<10xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.addf %o, %i : f32
    linalg.yield %s : f32
  } -> tensor<10xf32>
  return %r1, %r2, %r3 : tensor<10xf32>, tensor<8xf32>, tensor<10xf32>
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c = affine_map<(d0, d1, d2, d3) -> (d3)>

// A bias gradient and, over the same loops and tensors, the f16 cast of the
// ReLU gradient it sums: one loop nest over the 18 rows of 64 reads the
// gradient and the pre-activation once, carrying the 64 partial sums and
// writing the cast's rows (f16) in the same step; the cast's result is its
// rows reshaped back. The partials are added per channel as before.
// CHECK-LABEL: func.func @bias_gradient_and_cast
// CHECK: %[[START:.*]] = vector.transfer_write %{{.*}} : vector<64xf32>, tensor<64xf32>
// CHECK: %[[ROWS0:.*]] = tensor.empty() : tensor<18x64xf16>
// CHECK: %[[BOTH:.*]]:2 = scf.for {{.*}} to %c18 step %c1 iter_args(%{{.*}} = %[[START]], %{{.*}} = %[[ROWS0]]) -> (tensor<64xf32>, tensor<18x64xf16>)
// CHECK: scf.for {{.*}} to %c64 step %c16
// CHECK: arith.truncf %{{.*}} : vector<1x16xf32> to vector<1x16xf16>
// CHECK: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: vector.transfer_write %{{.*}} : vector<1x16xf16>, tensor<1x16xf16>
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[BOTH]]#1 {{\[\[}}0, 1]] : tensor<18x64xf16> into tensor<1152xf16>
// CHECK: %[[CAST:.*]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1, 2, 3]] output_shape [4, 6, 6, 8]
// CHECK: tensor.expand_shape %[[BOTH]]#0 {{\[\[}}0, 1]] output_shape [8, 8]
// CHECK: %[[SUM:.*]] = scf.for {{.*}} to %c8 step %c1
// CHECK: return %[[SUM]], %[[CAST]]
func.func @bias_gradient_and_cast(%dy: tensor<4x6x6x8xf32>, %pre: tensor<4x6x6x8xf32>, %b: tensor<8xf32>, %init: tensor<8xf32>) -> (tensor<8xf32>, tensor<4x6x6x8xf16>) {
  %r = linalg.generic {indexing_maps = [#x, #x, #c, #c], iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
      ins(%dy, %pre, %b : tensor<4x6x6x8xf32>, tensor<4x6x6x8xf32>, tensor<8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%g: f32, %p: f32, %bias: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %z = arith.addf %p, %bias : f32
    %on = arith.cmpf ogt, %z, %zero : f32
    %d = arith.select %on, %g, %zero : f32
    %s = arith.addf %o, %d : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<4x6x6x8xf16>
  %h = linalg.generic {indexing_maps = [#x, #x, #c, #x], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%dy, %pre, %b : tensor<4x6x6x8xf32>, tensor<4x6x6x8xf32>, tensor<8xf32>) outs(%e : tensor<4x6x6x8xf16>) {
  ^bb0(%g: f32, %p: f32, %bias: f32, %o: f16):
    %zero = arith.constant 0.0 : f32
    %z = arith.addf %p, %bias : f32
    %on = arith.cmpf ogt, %z, %zero : f32
    %d = arith.select %on, %g, %zero : f32
    %t = arith.truncf %d : f32 to f16
    linalg.yield %t : f16
  } -> tensor<4x6x6x8xf16>
  return %r, %h : tensor<8xf32>, tensor<4x6x6x8xf16>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d2)>

// A ReLU gradient that another op reads too (here: the return), and the
// bias gradient that sums it: the sum is taken as the gradient is written,
// in one loop nest where the sum was (its init is defined after the
// gradient), whose body adds the gradient's value, not a read of it.
// CHECK-LABEL: func.func @bias_gradient_of_producer
// CHECK: %[[BOTH:.*]]:2 = scf.for {{.*}} to %c16 step %c1 iter_args({{.*}}) -> (tensor<64xf32>, tensor<16x64xf32>)
// CHECK: %[[D:.*]] = arith.select %{{.*}} : vector<1x16xi1>, vector<1x16xf32>
// CHECK: %[[D1:.*]] = vector.shape_cast %[[D]] : vector<1x16xf32> to vector<16xf32>
// CHECK: arith.addf %{{.*}}, %[[D1]] : vector<16xf32>
// CHECK: vector.transfer_write %[[D]]
// CHECK-NOT: scf.for {{.*}} to %c16 step %c1
// CHECK: return
func.func @bias_gradient_of_producer(%dy: tensor<8x4x32xf32>, %pre: tensor<8x4x32xf32>) -> (tensor<32xf32>, tensor<8x4x32xf32>) {
  %e = tensor.empty() : tensor<8x4x32xf32>
  %d = linalg.generic {indexing_maps = [#x, #x, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dy, %pre : tensor<8x4x32xf32>, tensor<8x4x32xf32>) outs(%e : tensor<8x4x32xf32>) {
  ^bb0(%g: f32, %p: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %on = arith.cmpf ogt, %p, %zero : f32
    %r = arith.select %on, %g, %zero : f32
    linalg.yield %r : f32
  } -> tensor<8x4x32xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<32xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<32xf32>) -> tensor<32xf32>
  %s = linalg.generic {indexing_maps = [#x, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%d : tensor<8x4x32xf32>) outs(%init : tensor<32xf32>) {
  ^bb0(%g: f32, %o: f32):
    %a = arith.addf %o, %g : f32
    linalg.yield %a : f32
  } -> tensor<32xf32>
  return %s, %d : tensor<32xf32>, tensor<8x4x32xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#t = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
#c = affine_map<(d0, d1, d2) -> (d2)>

// Left as separate loop nests: an elementwise op over the sum's input that
// reads another input across the loops' order (transposed).
// CHECK-LABEL: func.func @transposed_sibling_left_apart
// CHECK-NOT: -> (tensor<64xf32>, tensor<16x64xf32>)
// CHECK: scf.for {{.*}} to %c16 step %c1 iter_args(%{{[^,]*}}) -> (tensor<64xf32>)
// CHECK-NOT: -> (tensor<64xf32>, tensor<16x64xf32>)
// CHECK: return
func.func @transposed_sibling_left_apart(%dy: tensor<8x4x32xf32>, %t: tensor<4x8x32xf32>, %init: tensor<32xf32>) -> (tensor<32xf32>, tensor<8x4x32xf32>) {
  %e = tensor.empty() : tensor<8x4x32xf32>
  %a = linalg.generic {indexing_maps = [#x, #t, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dy, %t : tensor<8x4x32xf32>, tensor<4x8x32xf32>) outs(%e : tensor<8x4x32xf32>) {
  ^bb0(%g: f32, %u: f32, %o: f32):
    %r = arith.mulf %g, %u : f32
    linalg.yield %r : f32
  } -> tensor<8x4x32xf32>
  %s = linalg.generic {indexing_maps = [#x, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%dy : tensor<8x4x32xf32>) outs(%init : tensor<32xf32>) {
  ^bb0(%g: f32, %o: f32):
    %r = arith.addf %o, %g : f32
    linalg.yield %r : f32
  } -> tensor<32xf32>
  return %s, %a : tensor<32xf32>, tensor<8x4x32xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d2)>

// A gradient whose result another op reads (a reshape, as an fp8 step's
// amax reads it) between it and its sum, whose init is defined after that
// reader: computed together where the gradient was, with the partials
// combined onto the init where the sum was.
// CHECK-LABEL: func.func @interleaved_user
// CHECK: %[[BOTH:.*]]:2 = scf.for {{.*}} to %c16 step %c1 iter_args({{.*}}) -> (tensor<64xf32>, tensor<16x64xf32>)
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[BOTH]]#1 {{\[\[}}0, 1]] : tensor<16x64xf32> into tensor<1024xf32>
// CHECK: %[[OTHER:.*]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [256, 4]
// CHECK: %[[INIT:.*]] = linalg.fill
// CHECK: tensor.expand_shape %[[BOTH]]#0 {{\[\[}}0, 1]] output_shape [2, 32]
// CHECK: %[[SUM:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (tensor<32xf32>)
// CHECK: return %[[SUM]], %[[OTHER]]
func.func @interleaved_user(%dy: tensor<8x4x32xf32>) -> (tensor<32xf32>, tensor<256x4xf32>) {
  %e = tensor.empty() : tensor<8x4x32xf32>
  %d = linalg.generic {indexing_maps = [#x, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dy : tensor<8x4x32xf32>) outs(%e : tensor<8x4x32xf32>) {
  ^bb0(%g: f32, %o: f32):
    %r = arith.mulf %g, %g : f32
    linalg.yield %r : f32
  } -> tensor<8x4x32xf32>
  %flat = tensor.collapse_shape %d [[0, 1], [2]] : tensor<8x4x32xf32> into tensor<32x32xf32>
  %rows = tensor.expand_shape %flat [[0], [1, 2]] output_shape [32, 8, 4] : tensor<32x32xf32> into tensor<32x8x4xf32>
  %other = tensor.collapse_shape %rows [[0, 1], [2]] : tensor<32x8x4xf32> into tensor<256x4xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<32xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<32xf32>) -> tensor<32xf32>
  %s = linalg.generic {indexing_maps = [#x, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%d : tensor<8x4x32xf32>) outs(%init : tensor<32xf32>) {
  ^bb0(%g: f32, %o: f32):
    %r = arith.addf %o, %g : f32
    linalg.yield %r : f32
  } -> tensor<32xf32>
  return %s, %other : tensor<32xf32>, tensor<256x4xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d2)>

// Left apart: the same, but the sum also reads a tensor computed after the
// reader (neither op's place has both ops' inputs before it and the
// earlier op's other users after it).
// CHECK-LABEL: func.func @interleaved_user_left_apart
// CHECK-NOT: -> (tensor<64xf32>, tensor<16x64xf32>)
// CHECK: scf.for {{.*}} to %c16 step %c1 iter_args(%{{[^,]*}}) -> (tensor<64xf32>)
// CHECK-NOT: -> (tensor<64xf32>, tensor<16x64xf32>)
// CHECK: return
func.func @interleaved_user_left_apart(%dy: tensor<8x4x32xf32>) -> (tensor<32xf32>, tensor<256x4xf32>) {
  %e = tensor.empty() : tensor<8x4x32xf32>
  %d = linalg.generic {indexing_maps = [#x, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dy : tensor<8x4x32xf32>) outs(%e : tensor<8x4x32xf32>) {
  ^bb0(%g: f32, %o: f32):
    %r = arith.mulf %g, %g : f32
    linalg.yield %r : f32
  } -> tensor<8x4x32xf32>
  %flat = tensor.collapse_shape %d [[0, 1], [2]] : tensor<8x4x32xf32> into tensor<32x32xf32>
  %rows = tensor.expand_shape %flat [[0], [1, 2]] output_shape [32, 8, 4] : tensor<32x32xf32> into tensor<32x8x4xf32>
  %other = tensor.collapse_shape %rows [[0, 1], [2]] : tensor<32x8x4xf32> into tensor<256x4xf32>
  %later = tensor.expand_shape %other [[0, 1], [2]] output_shape [8, 32, 4] : tensor<256x4xf32> into tensor<8x32x4xf32>
  %t = tensor.collapse_shape %later [[0], [1, 2]] : tensor<8x32x4xf32> into tensor<8x128xf32>
  %u = tensor.expand_shape %t [[0], [1, 2]] output_shape [8, 4, 32] : tensor<8x128xf32> into tensor<8x4x32xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<32xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<32xf32>) -> tensor<32xf32>
  %s = linalg.generic {indexing_maps = [#x, #x, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%d, %u : tensor<8x4x32xf32>, tensor<8x4x32xf32>) outs(%init : tensor<32xf32>) {
  ^bb0(%g: f32, %v: f32, %o: f32):
    %m = arith.mulf %g, %v : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<32xf32>
  return %s, %other : tensor<32xf32>, tensor<256x4xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d2)>
#s = affine_map<(d0, d1, d2) -> ()>

// An fp8 step's ReLU gradient (an 8-channel activation: 18 rows of 64),
// read by its bias gradient and by its amax, and quantized (scaled by the
// step's stored scale, read from its tensor after the gradient) by an op
// that computes the gradient again: one loop nest reads the gradient's two
// inputs once and carries the bias partials (f32) and the amax partials
// (i32), writing only the quantized rows; the gradient itself is never
// written. The scale's read moves before the nest. The amax's 64 partials
// are combined onto its init (maxsi), the bias partials per channel.
// CHECK-LABEL: func.func @fp8_relu_gradient
// CHECK: tensor.extract %arg2[]
// CHECK: %[[ALL:.*]]:3 = scf.for {{.*}} to %c18 step %c1 iter_args({{.*}}) -> (tensor<64xf32>, tensor<64xi32>, tensor<18x64xf32>)
// CHECK: arith.addf %{{.*}} : vector<16xf32>
// CHECK: arith.maxsi %{{.*}} : vector<16xi32>
// CHECK-NOT: scf.for {{.*}} to %c18 step %c1
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[ALL]]#2 {{\[\[}}0, 1]] : tensor<18x64xf32> into tensor<1152xf32>
// CHECK: %[[Q:.*]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1, 2]] output_shape [4, 36, 8]
// CHECK: %[[AMAX:.*]] = scf.for {{.*}} to %c64 {{.*}} -> (tensor<i32>)
// CHECK: vector.reduction <maxsi>
// CHECK: tensor.expand_shape %[[ALL]]#0 {{\[\[}}0, 1]] output_shape [8, 8]
// CHECK: %[[SUM:.*]] = scf.for {{.*}} to %c8 step %c1
// CHECK-NOT: scf.for {{.*}} to %c18 step %c1
// CHECK: return %[[SUM]], %[[AMAX]], %[[Q]]
func.func @fp8_relu_gradient(%dy: tensor<4x36x8xf32>, %pre: tensor<4x36x8xf32>, %scale: tensor<f32>) -> (tensor<8xf32>, tensor<i32>, tensor<4x36x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x36x8xf32>
  %d = linalg.generic {indexing_maps = [#x, #x, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dy, %pre : tensor<4x36x8xf32>, tensor<4x36x8xf32>) outs(%e : tensor<4x36x8xf32>) {
  ^bb0(%g: f32, %p: f32, %o: f32):
    %on = arith.cmpf ogt, %p, %zero : f32
    %r = arith.select %on, %g, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x36x8xf32>
  %c0 = arith.constant 0 : i32
  %abs = arith.constant 2147483647 : i32
  %ei = tensor.empty() : tensor<i32>
  %i0 = linalg.fill ins(%c0 : i32) outs(%ei : tensor<i32>) -> tensor<i32>
  %amax = linalg.generic {indexing_maps = [#x, #s], iterator_types = ["reduction", "reduction", "reduction"]}
      ins(%d : tensor<4x36x8xf32>) outs(%i0 : tensor<i32>) {
  ^bb0(%g: f32, %o: i32):
    %b = arith.bitcast %g : f32 to i32
    %a = arith.andi %b, %abs : i32
    %m = arith.maxsi %a, %o : i32
    linalg.yield %m : i32
  } -> tensor<i32>
  %e1 = tensor.empty() : tensor<8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#x, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%d : tensor<4x36x8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%g: f32, %o: f32):
    %a = arith.addf %o, %g : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %k = tensor.extract %scale[] : tensor<f32>
  %eq = tensor.empty() : tensor<4x36x8xf32>
  %q = linalg.generic {indexing_maps = [#x, #x, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dy, %pre : tensor<4x36x8xf32>, tensor<4x36x8xf32>) outs(%eq : tensor<4x36x8xf32>) {
  ^bb0(%g: f32, %p: f32, %o: f32):
    %on = arith.cmpf ogt, %p, %zero : f32
    %r = arith.select %on, %g, %zero : f32
    %t = arith.mulf %r, %k : f32
    linalg.yield %t : f32
  } -> tensor<4x36x8xf32>
  return %sum, %amax, %q : tensor<8xf32>, tensor<i32>, tensor<4x36x8xf32>
}

// -----

#x = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d2)>
#s = affine_map<(d0, d1, d2) -> ()>

// The same, but the quantization's scale comes from this step's amax (read
// between the amax and the quantization): the quantization cannot be in the
// nest (before the nest its scale does not exist yet; after it, the amax's
// reader would come first), so it stays a loop nest of its own, after the
// nest of the gradient, its bias gradient and its amax.
// CHECK-LABEL: func.func @scale_from_this_amax
// CHECK: %[[ALL:.*]]:2 = scf.for {{.*}} to %c18 step %c1 iter_args({{.*}}) -> (tensor<64xf32>, tensor<64xi32>)
// CHECK: %[[AMAX:.*]] = scf.for {{.*}} to %c64 {{.*}} -> (tensor<i32>)
// CHECK: tensor.extract %[[AMAX]][]
// CHECK: scf.for {{.*}} to %c4 step %c1
// CHECK: arith.mulf %{{.*}} : vector<1x16xf32>
// CHECK: return
func.func @scale_from_this_amax(%dy: tensor<4x36x8xf32>, %pre: tensor<4x36x8xf32>) -> (tensor<8xf32>, tensor<4x36x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x36x8xf32>
  %d = linalg.generic {indexing_maps = [#x, #x, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dy, %pre : tensor<4x36x8xf32>, tensor<4x36x8xf32>) outs(%e : tensor<4x36x8xf32>) {
  ^bb0(%g: f32, %p: f32, %o: f32):
    %on = arith.cmpf ogt, %p, %zero : f32
    %r = arith.select %on, %g, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x36x8xf32>
  %c0 = arith.constant 0 : i32
  %abs = arith.constant 2147483647 : i32
  %ei = tensor.empty() : tensor<i32>
  %i0 = linalg.fill ins(%c0 : i32) outs(%ei : tensor<i32>) -> tensor<i32>
  %amax = linalg.generic {indexing_maps = [#x, #s], iterator_types = ["reduction", "reduction", "reduction"]}
      ins(%d : tensor<4x36x8xf32>) outs(%i0 : tensor<i32>) {
  ^bb0(%g: f32, %o: i32):
    %b = arith.bitcast %g : f32 to i32
    %a = arith.andi %b, %abs : i32
    %m = arith.maxsi %a, %o : i32
    linalg.yield %m : i32
  } -> tensor<i32>
  %bits = tensor.extract %amax[] : tensor<i32>
  %k = arith.bitcast %bits : i32 to f32
  %e1 = tensor.empty() : tensor<8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#x, #c], iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%d : tensor<4x36x8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%g: f32, %o: f32):
    %a = arith.addf %o, %g : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %eq = tensor.empty() : tensor<4x36x8xf32>
  %q = linalg.generic {indexing_maps = [#x, #x, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dy, %pre : tensor<4x36x8xf32>, tensor<4x36x8xf32>) outs(%eq : tensor<4x36x8xf32>) {
  ^bb0(%g: f32, %p: f32, %o: f32):
    %on = arith.cmpf ogt, %p, %zero : f32
    %r = arith.select %on, %g, %zero : f32
    %t = arith.mulf %r, %k : f32
    linalg.yield %t : f32
  } -> tensor<4x36x8xf32>
  return %sum, %q : tensor<8xf32>, tensor<4x36x8xf32>
}

// -----

#in = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
#out = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// Packing a bf16 operand's k-pairs for dot products ([32 rows, 64 pairs]
// into [64 pairs, 32 rows]): the pair moves whole, so the rows' own
// contiguous loop (the pairs along k) is tiled too: each step reads 8 rows
// of 4 pairs (8 runs of 16 bytes) and transposes them in registers, instead
// of gathering one pair (4 bytes) from each of 8 rows.
// CHECK-LABEL: func.func @pair_panels
// CHECK: scf.for %[[K:.*]] = %c0 to %c64 step %c4
// CHECK: scf.for %[[M:.*]] = %c0 to %c32 step %c8
// CHECK: tensor.extract_slice %arg0[0, %[[M]], %[[K]], 0] [1, 8, 4, 2] [1, 1, 1, 1] : tensor<1x32x64x2xbf16> to tensor<1x8x4x2xbf16>
// CHECK: vector.transfer_read %{{.*}} : tensor<1x8x4x2xbf16>, vector<1x8x4x2xbf16>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 8, 9, 16, 17, 24, 25, 32, 33, 40, 41, 48, 49, 56, 57, 2, 3, 10, 11,
// CHECK: vector.transfer_write %{{.*}} : vector<1x4x8x2xbf16>, tensor<1x4x8x2xbf16>
func.func @pair_panels(%a: tensor<1x32x64x2xbf16>) -> tensor<1x64x32x2xbf16> {
  %e = tensor.empty() : tensor<1x64x32x2xbf16>
  %p = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a : tensor<1x32x64x2xbf16>) outs(%e : tensor<1x64x32x2xbf16>) {
  ^bb0(%x: bf16, %o: bf16):
    linalg.yield %x : bf16
  } -> tensor<1x64x32x2xbf16>
  return %p : tensor<1x64x32x2xbf16>
}

// -----

#rows = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
#panels = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// Packing an operand of 16 columns into 2 panels of 8 (a convolution's
// weight gradient over 16 filters and a batch of 32 26 x 26 images: 21632
// rows), split across threads one panel each: the panel loop's tile of 2
// is cut to the thread's block of 1, so every tile stays static and is
// vectorized (it was a partial tile of dynamic size, and the op an error).
// CHECK-LABEL: func.func @panels_across_threads
// CHECK-NOT: affine.min
// CHECK: scf.forall (%[[P:.*]]) in (2)
// CHECK: scf.for %[[R:.*]] = %c0 to %c21632 step %c2
// CHECK: vector.transfer_read %{{.*}} : tensor<2x1x8xf32>, vector<2x1x8xf32>
// CHECK: vector.transfer_write %{{.*}} : vector<1x2x8xf32>, tensor<1x2x8xf32>
// CHECK: scf.forall.in_parallel
func.func @panels_across_threads(%a: tensor<21632x2x8xf32>) -> tensor<2x21632x8xf32> {
  %e = tensor.empty() : tensor<2x21632x8xf32>
  %p = linalg.generic {indexing_maps = [#rows, #panels], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a : tensor<21632x2x8xf32>) outs(%e : tensor<2x21632x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<2x21632x8xf32>
  return %p : tensor<2x21632x8xf32>
}

// -----

// A 16 x 16 f32 transpose (a packed weight's tile): its register tile is a
// square matrix of 32-bit lanes, transposed by 4 stages of 16 two-row
// shuffles (64 shuffles of 16 lanes) instead of one 256-lane shuffle.
// CHECK-LABEL: func.func @square_tile
// CHECK-NOT: vector<256xf32>
// CHECK-COUNT-64: vector.shuffle %{{.*}}, %{{.*}} [{{.*}}] : vector<16xf32>, vector<16xf32>
// CHECK-NOT: vector.shuffle
// CHECK: return
#swap = affine_map<(d0, d1) -> (d1, d0)>
#same = affine_map<(d0, d1) -> (d0, d1)>
func.func @square_tile(%a: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %e = tensor.empty() : tensor<16x16xf32>
  %t = linalg.generic {indexing_maps = [#swap, #same], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<16x16xf32>) outs(%e : tensor<16x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<16x16xf32>
  return %t : tensor<16x16xf32>
}
