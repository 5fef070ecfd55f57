// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-fuse-epilogues | FileCheck %s
// Tiled contractions: 4 x 16 register tiles, k blocks of 16, one tile per
// parallel block.
// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-vectorize-contractions="register-rows=4 register-cols=16 cache-depth=16 block-row-tiles=1 block-col-tiles=1 parallel-min-flops=0" -ampc-cpu-fuse-epilogues | FileCheck %s --check-prefix=TILED
// Serial loops over blocks of 3 column tiles (the last block ragged), k in
// one block: canonicalized first as in the CPU pipeline, which leaves slices
// of whole tiles of a size known at run time.
// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-vectorize-contractions="register-rows=4 register-cols=16 cache-depth=8 block-row-tiles=1 block-col-tiles=3 parallel-min-flops=1000000000" -canonicalize -ampc-cpu-fuse-epilogues | FileCheck %s --check-prefix=SERIAL

// A 4 x 16 register tile (four accumulators stored as rows, as a
// micro-kernel ends), given unit dimensions and reshaped to 2 x 2 x 16, then
// a bias along the columns, a scale per row and a ReLU: the body runs on the
// four accumulators themselves, one copy per vector. The bias is read as a
// row, the scale as one element broadcast, the zero is a vector constant, and
// each result is stored into the op's output in the loops' order.
// CHECK-LABEL: func.func @bias_scale_relu
// CHECK-SAME: (%[[R0:[^:]*]]: vector<16xf32>, %[[R1:[^:]*]]: vector<16xf32>, %[[R2:[^:]*]]: vector<16xf32>, %[[R3:[^:]*]]: vector<16xf32>, %[[BIAS:[^:]*]]: tensor<16xf32>, %[[SCALE:[^:]*]]: tensor<2x2xf32>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: insert_slice
// CHECK: %[[B:.*]] = vector.transfer_read %[[BIAS]][%[[C0:.*]]], %{{.*}} {in_bounds = [true]} : tensor<16xf32>, vector<16xf32>
// CHECK: %[[S0:.*]] = tensor.extract %[[SCALE]][%[[C0]], %[[C0]]] : tensor<2x2xf32>
// CHECK: %[[SV0:.*]] = vector.broadcast %[[S0]] : f32 to vector<16xf32>
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: %[[A0:.*]] = arith.addf %[[R0]], %[[B]] : vector<16xf32>
// CHECK: %[[M0:.*]] = arith.mulf %[[A0]], %[[SV0]] : vector<16xf32>
// CHECK: %[[X0:.*]] = arith.maximumf %[[M0]], %[[ZERO]] : vector<16xf32>
// CHECK: %[[W0:.*]] = vector.transfer_write %[[X0]], %{{.*}}[%[[C0]], %[[C0]], %[[C0]]] {in_bounds = [true]} : vector<16xf32>, tensor<2x2x16xf32>
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: tensor.extract %[[SCALE]][%[[C0]], %[[C1]]]
// CHECK: arith.addf %[[R1]], %[[B]] : vector<16xf32>
// CHECK: %[[W1:.*]] = vector.transfer_write %{{.*}}, %[[W0]][%[[C0]], %[[C1]], %[[C0]]]
// CHECK: tensor.extract %[[SCALE]][%[[C1]], %[[C0]]]
// CHECK: arith.addf %[[R2]], %[[B]] : vector<16xf32>
// CHECK: %[[W2:.*]] = vector.transfer_write %{{.*}}, %[[W1]][%[[C1]], %[[C0]], %[[C0]]]
// CHECK: tensor.extract %[[SCALE]][%[[C1]], %[[C1]]]
// CHECK: arith.addf %[[R3]], %[[B]] : vector<16xf32>
// CHECK: %[[W3:.*]] = vector.transfer_write %{{.*}}, %[[W2]][%[[C1]], %[[C1]], %[[C0]]]
// CHECK-NOT: vector.transfer_write
// CHECK: return %[[W3]] : tensor<2x2x16xf32>
func.func @bias_scale_relu(%r0: vector<16xf32>, %r1: vector<16xf32>, %r2: vector<16xf32>, %r3: vector<16xf32>,
                           %bias: tensor<16xf32>, %scale: tensor<2x2xf32>) -> tensor<2x2x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %e = tensor.empty() : tensor<4x16xf32>
  %w0 = vector.transfer_write %r0, %e[%c0, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<4x16xf32>
  %w1 = vector.transfer_write %r1, %w0[%c1, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<4x16xf32>
  %w2 = vector.transfer_write %r2, %w1[%c2, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<4x16xf32>
  %w3 = vector.transfer_write %r3, %w2[%c3, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<4x16xf32>
  %tiles = tensor.empty() : tensor<1x4x1x16xf32>
  %t = tensor.insert_slice %w3 into %tiles[0, 0, 0, 0] [1, 4, 1, 16] [1, 1, 1, 1] : tensor<4x16xf32> into tensor<1x4x1x16xf32>
  %c = tensor.collapse_shape %t [[0, 1], [2, 3]] : tensor<1x4x1x16xf32> into tensor<4x16xf32>
  %x = tensor.expand_shape %c [[0, 1], [2]] output_shape [2, 2, 16] : tensor<4x16xf32> into tensor<2x2x16xf32>
  %out = tensor.empty() : tensor<2x2x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %bias, %scale : tensor<2x2x16xf32>, tensor<16xf32>, tensor<2x2xf32>) outs(%out : tensor<2x2x16xf32>) {
  ^bb0(%in: f32, %b: f32, %s: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %a = arith.addf %in, %b : f32
    %m = arith.mulf %a, %s : f32
    %relu = arith.maximumf %m, %zero : f32
    linalg.yield %relu : f32
  } -> tensor<2x2x16xf32>
  return %y : tensor<2x2x16xf32>
}

// -----

// A chain: the residual sum is computed on the tile's vectors and stores
// vectors, so the cast after it (bf16 rounding on the bit pattern, with a
// value captured from outside its body and a comparison) is computed on
// those in turn. Two 8-lane vectors per row: four vectors in all. A later
// store to the same place hides the earlier one (%stale is not read).
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[STALE:[^:]*]]: vector<8xf32>, %[[R0:[^:]*]]: vector<8xf32>, %[[R1:[^:]*]]: vector<8xf32>, %[[R2:[^:]*]]: vector<8xf32>, %[[R3:[^:]*]]: vector<8xf32>, %[[RES:[^:]*]]: tensor<2x16xf32>, %[[LIMIT:[^:]*]]: f32)
// CHECK-NOT: linalg.generic
// CHECK-NOT: %[[STALE]]
// CHECK: %[[S0:.*]] = arith.addf %[[R0]], %{{.*}} : vector<8xf32>
// CHECK: %[[S1:.*]] = arith.addf %[[R1]], %{{.*}} : vector<8xf32>
// CHECK: %[[S2:.*]] = arith.addf %[[R2]], %{{.*}} : vector<8xf32>
// CHECK: %[[S3:.*]] = arith.addf %[[R3]], %{{.*}} : vector<8xf32>
// CHECK: %[[MASK:.*]] = arith.constant dense<-65536> : vector<8xi32>
// CHECK: %[[BITS0:.*]] = arith.bitcast %[[S0]] : vector<8xf32> to vector<8xi32>
// CHECK: arith.andi %[[BITS0]], %[[MASK]] : vector<8xi32>
// CHECK: %[[L:.*]] = vector.broadcast %[[LIMIT]] : f32 to vector<8xf32>
// CHECK: arith.cmpf ogt, %{{.*}}, %[[L]] : vector<8xf32>
// CHECK: arith.select %{{.*}}, %[[L]], %{{.*}} : vector<8xi1>, vector<8xf32>
// CHECK: vector.transfer_write
// CHECK: arith.bitcast %[[S1]]
// CHECK: vector.transfer_write
// CHECK: arith.bitcast %[[S2]]
// CHECK: vector.transfer_write
// CHECK: arith.bitcast %[[S3]]
// CHECK: vector.transfer_write
// CHECK-NOT: %[[STALE]]
// CHECK: return
func.func @chain(%stale: vector<8xf32>, %r0: vector<8xf32>, %r1: vector<8xf32>, %r2: vector<8xf32>, %r3: vector<8xf32>,
                 %res: tensor<2x16xf32>, %limit: f32) -> tensor<2x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %e = tensor.empty() : tensor<2x16xf32>
  %w0 = vector.transfer_write %stale, %e[%c0, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<2x16xf32>
  %w1 = vector.transfer_write %r0, %w0[%c0, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<2x16xf32>
  %w2 = vector.transfer_write %r1, %w1[%c0, %c8] {in_bounds = [true]} : vector<8xf32>, tensor<2x16xf32>
  %w3 = vector.transfer_write %r2, %w2[%c1, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<2x16xf32>
  %w4 = vector.transfer_write %r3, %w3[%c1, %c8] {in_bounds = [true]} : vector<8xf32>, tensor<2x16xf32>
  %out = tensor.empty() : tensor<2x16xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                         iterator_types = ["parallel", "parallel"]}
      ins(%w4, %res : tensor<2x16xf32>, tensor<2x16xf32>) outs(%out : tensor<2x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x16xf32>
  %rounded = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                             iterator_types = ["parallel", "parallel"]}
      ins(%sum : tensor<2x16xf32>) outs(%out : tensor<2x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %mask = arith.constant -65536 : i32
    %bits = arith.bitcast %a : f32 to i32
    %high = arith.andi %bits, %mask : i32
    %t = arith.bitcast %high : i32 to f32
    %big = arith.cmpf ogt, %t, %limit : f32
    %r = arith.select %big, %limit, %t : f32
    linalg.yield %r : f32
  } -> tensor<2x16xf32>
  return %rounded : tensor<2x16xf32>
}

// -----

// Two tiles written by vectors of one width (a residual sum of two
// products): both are read from their vectors, neither is stored.
// CHECK-LABEL: func.func @two_tiles
// CHECK-SAME: (%[[A0:[^:]*]]: vector<16xf32>, %[[A1:[^:]*]]: vector<16xf32>, %[[B0:[^:]*]]: vector<16xf32>, %[[B1:[^:]*]]: vector<16xf32>)
// CHECK-NOT: vector.transfer_read
// CHECK: %[[S0:.*]] = arith.addf %[[A0]], %[[B0]] : vector<16xf32>
// CHECK: vector.transfer_write %[[S0]]
// CHECK: %[[S1:.*]] = arith.addf %[[A1]], %[[B1]] : vector<16xf32>
// CHECK: %[[W:.*]] = vector.transfer_write %[[S1]]
// CHECK-NOT: vector.transfer_write
// CHECK: return %[[W]]
func.func @two_tiles(%a0: vector<16xf32>, %a1: vector<16xf32>, %b0: vector<16xf32>, %b1: vector<16xf32>) -> tensor<2x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<2x16xf32>
  %a = vector.transfer_write %a0, %e[%c0, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<2x16xf32>
  %at = vector.transfer_write %a1, %a[%c1, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<2x16xf32>
  %b = vector.transfer_write %b0, %e[%c0, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<2x16xf32>
  %bt = vector.transfer_write %b1, %b[%c1, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<2x16xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                         iterator_types = ["parallel", "parallel"]}
      ins(%at, %bt : tensor<2x16xf32>, tensor<2x16xf32>) outs(%e : tensor<2x16xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<2x16xf32>
  return %sum : tensor<2x16xf32>
}

// -----

// An output written through a permutation that keeps the innermost loop
// last (rows of a [2, 4, 8] result stored as [4, 2, 8]), and a cast to
// bf16: the vectors are stored at the permuted indices, in the output's
// element type.
// CHECK-LABEL: func.func @permuted_output
// CHECK-SAME: (%[[R0:[^:]*]]: vector<8xf32>, %[[R1:[^:]*]]: vector<8xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[T0:.*]] = arith.truncf %[[R0]] : vector<8xf32> to vector<8xbf16>
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[W0:.*]] = vector.transfer_write %[[T0]], %{{.*}}[%[[C0]], %[[C0]], %[[C0]]] {in_bounds = [true]} : vector<8xbf16>, tensor<4x2x8xbf16>
// CHECK: %[[T1:.*]] = arith.truncf %[[R1]] : vector<8xf32> to vector<8xbf16>
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: vector.transfer_write %[[T1]], %[[W0]][%[[C1]], %[[C0]], %[[C0]]] {in_bounds = [true]} : vector<8xbf16>, tensor<4x2x8xbf16>
// CHECK-COUNT-6: vector.transfer_write %{{.*}} : vector<8xbf16>, tensor<4x2x8xbf16>
// CHECK-NOT: vector.transfer_write
func.func @permuted_output(%r0: vector<8xf32>, %r1: vector<8xf32>, %r2: vector<8xf32>, %r3: vector<8xf32>,
                           %r4: vector<8xf32>, %r5: vector<8xf32>, %r6: vector<8xf32>, %r7: vector<8xf32>) -> tensor<4x2x8xbf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  %c7 = arith.constant 7 : index
  %e = tensor.empty() : tensor<8x8xf32>
  %w0 = vector.transfer_write %r0, %e[%c0, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<8x8xf32>
  %w1 = vector.transfer_write %r1, %w0[%c1, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<8x8xf32>
  %w2 = vector.transfer_write %r2, %w1[%c2, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<8x8xf32>
  %w3 = vector.transfer_write %r3, %w2[%c3, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<8x8xf32>
  %w4 = vector.transfer_write %r4, %w3[%c4, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<8x8xf32>
  %w5 = vector.transfer_write %r5, %w4[%c5, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<8x8xf32>
  %w6 = vector.transfer_write %r6, %w5[%c6, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<8x8xf32>
  %w7 = vector.transfer_write %r7, %w6[%c7, %c0] {in_bounds = [true]} : vector<8xf32>, tensor<8x8xf32>
  %x = tensor.expand_shape %w7 [[0, 1], [2]] output_shape [2, 4, 8] : tensor<8x8xf32> into tensor<2x4x8xf32>
  %out = tensor.empty() : tensor<4x2x8xbf16>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d0, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x4x8xf32>) outs(%out : tensor<4x2x8xbf16>) {
  ^bb0(%in: f32, %o: bf16):
    %t = arith.truncf %in : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<4x2x8xbf16>
  return %y : tensor<4x2x8xbf16>
}

// -----

// Left as they are: a tile not written whole (3 of 4 rows), one read
// transposed, a bias read across the vector's lanes (its map reads the
// innermost loop first), a reduction, a body that reads its init, and rows
// of 16 lanes reshaped into rows of 4.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-6: linalg.generic
// CHECK-NOT: linalg.generic
func.func @kept(%r0: vector<16xf32>, %r1: vector<16xf32>, %r2: vector<16xf32>, %r3: vector<16xf32>,
                %m: tensor<16x4xf32>, %acc: tensor<4xf32>)
    -> (tensor<4x16xf32>, tensor<16x4xf32>, tensor<4x16xf32>, tensor<4xf32>, tensor<4x16xf32>, tensor<4x4x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %e = tensor.empty() : tensor<4x16xf32>
  %w0 = vector.transfer_write %r0, %e[%c0, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<4x16xf32>
  %w1 = vector.transfer_write %r1, %w0[%c1, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<4x16xf32>
  %w2 = vector.transfer_write %r2, %w1[%c2, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<4x16xf32>
  %w3 = vector.transfer_write %r3, %w2[%c3, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<4x16xf32>
  %partial = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                             iterator_types = ["parallel", "parallel"]}
      ins(%w2 : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<4x16xf32>
  %et = tensor.empty() : tensor<16x4xf32>
  %transposed = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                                iterator_types = ["parallel", "parallel"]}
      ins(%w3 : tensor<4x16xf32>) outs(%et : tensor<16x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<16x4xf32>
  %across = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                            iterator_types = ["parallel", "parallel"]}
      ins(%w3, %m : tensor<4x16xf32>, tensor<16x4xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %sums = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                          iterator_types = ["parallel", "reduction"]}
      ins(%w3 : tensor<4x16xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %reads_init = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                                iterator_types = ["parallel", "parallel"]}
      ins(%w3 : tensor<4x16xf32>) outs(%w3 : tensor<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %x = tensor.expand_shape %w3 [[0], [1, 2]] output_shape [4, 4, 4] : tensor<4x16xf32> into tensor<4x4x4xf32>
  %e3 = tensor.empty() : tensor<4x4x4xf32>
  %narrow = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                            iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<4x4x4xf32>) outs(%e3 : tensor<4x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<4x4x4xf32>
  return %partial, %transposed, %across, %sums, %reads_init, %narrow
      : tensor<4x16xf32>, tensor<16x4xf32>, tensor<4x16xf32>, tensor<4xf32>, tensor<4x16xf32>, tensor<4x4x4xf32>
}

// -----

// An 8 x 32 product over k = 40 (2 x 2 tiles, 3 k blocks) read only by a
// bias and ReLU: the op runs on each tile's four accumulators, over its
// sums in C itself (no tensor of its own, no op after the loops), where the
// k block is the last (a select per vector: earlier blocks keep the partial
// sums). The bias is read at the tile's column block.
// Alone, the pass leaves a contraction on tensors as it is.
// CHECK-LABEL: func.func @tiled_bias_relu
// CHECK: linalg.matmul
// CHECK: linalg.generic
// TILED-LABEL: func.func @tiled_bias_relu
// TILED-SAME: %[[BIAS:[^:]*]]: tensor<32xf32>
// TILED: %[[ROWS:.*]] = tensor.expand_shape %[[BIAS]] {{\[\[}}0, 1]] output_shape [2, 16]
// TILED: scf.forall (%[[N1:.*]], %[[M1:.*]]) in (2, 2) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<2x4x2x16xf32>)
// TILED: scf.for %[[K:.*]] = %{{.*}} to %[[KEND:.*]] step %[[KSTEP:[^ ]*]]
// TILED: } {ampc.micro_kernel}
// TILED: %[[SUMS:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 4, 1, 16]
// TILED: %[[AT:.*]] = tensor.extract_slice %[[ROWS]][%{{.*}}, 0] [1, 16] [1, 1] : tensor<2x16xf32> to tensor<1x16xf32>
// TILED: %[[NEXT:.*]] = arith.addi %[[K]], %[[KSTEP]] : index
// TILED: %[[LAST:.*]] = arith.cmpi sge, %[[NEXT]], %[[KEND]] : index
// TILED: %[[B:.*]] = vector.transfer_read %[[AT]]
// TILED: %[[A0:.*]] = arith.addf %[[S0:.*]], %[[B]] : vector<16xf32>
// TILED: %[[R0:.*]] = arith.maximumf %[[A0]], %{{.*}} : vector<16xf32>
// TILED: %[[L:.*]] = vector.broadcast %[[LAST]] : i1 to vector<16xi1>
// TILED: %[[K0:.*]] = arith.select %[[L]], %[[R0]], %[[S0]] : vector<16xi1>, vector<16xf32>
// TILED: vector.transfer_write %[[K0]], %[[SUMS]][
// TILED-COUNT-3: arith.select %[[L]]
// TILED-NOT: arith.select
// TILED: } {ampc.k_blocks, ampc.tiled_contraction}
// TILED: } {ampc.tiled_contraction}
// TILED-NEXT: %[[C:.*]] = tensor.collapse_shape
// TILED-NEXT: return %[[C]] : tensor<8x32xf32>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
func.func @tiled_bias_relu(%a: tensor<8x40xf32>, %b: tensor<40x32xf32>, %bias: tensor<32xf32>) -> tensor<8x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %p = linalg.matmul ins(%a, %b : tensor<8x40xf32>, tensor<40x32xf32>) outs(%c : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %bias : tensor<8x32xf32>, tensor<32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %s = arith.addf %x, %v : f32
    %r = arith.maximumf %s, %z : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// The product is returned too: the bias sum is carried through every loop
// beside C (a second shared output, iter_arg and insert), written in the
// last k block only (a branch whose other side leaves the carried tile as
// it is), and both results are reshaped back after the loops.
// Alone, the pass leaves a contraction on tensors as it is.
// CHECK-LABEL: func.func @carried_beside
// CHECK: linalg.matmul
// CHECK: linalg.generic
// TILED-LABEL: func.func @carried_beside
// TILED: %[[OUT:.*]] = tensor.empty() : tensor<2x4x2x16xf32>
// TILED: %[[LOOP:.*]]:2 = scf.forall ({{.*}}) in (2, 2) shared_outs(%[[CARG:.*]] = %{{.*}}, %[[YARG:.*]] = %[[OUT]]) -> (tensor<2x4x2x16xf32>, tensor<2x4x2x16xf32>)
// TILED: scf.for {{.*}} -> (tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>)
// TILED: scf.for {{.*}} -> (tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>)
// TILED: scf.for {{.*}} -> (tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>)
// TILED: } {ampc.micro_kernel}
// TILED: %[[INTO:.*]] = tensor.extract_slice %{{.*}} [1, 4, 1, 16] [1, 1, 1, 1] : tensor<1x4x1x16xf32> to tensor<1x4x1x16xf32>
// TILED: %[[LAST:.*]] = arith.cmpi sge
// TILED: scf.if %[[LAST]] -> (tensor<1x4x1x16xf32>) {
// TILED-COUNT-4: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// TILED: } else {
// TILED-NEXT: scf.yield %[[INTO]]
// TILED-NOT: arith.select
// TILED: tensor.parallel_insert_slice %{{.*}}#1 into %[[YARG]]
// TILED-NEXT: tensor.parallel_insert_slice %{{.*}}#0 into %[[CARG]]
// TILED: %[[Y:.*]] = tensor.collapse_shape %[[LOOP]]#1 {{\[\[}}0, 1], [2, 3]] : tensor<2x4x2x16xf32> into tensor<8x32xf32>
// TILED: %[[P:.*]] = tensor.collapse_shape %[[LOOP]]#0
// TILED-NOT: linalg.generic
// TILED: return %[[Y]], %[[P]]
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
func.func @carried_beside(%a: tensor<8x40xf32>, %b: tensor<40x32xf32>, %bias: tensor<32xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x32xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %p = linalg.matmul ins(%a, %b : tensor<8x40xf32>, tensor<40x32xf32>) outs(%c : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %bias : tensor<8x32xf32>, tensor<32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %s = arith.addf %x, %v : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %y, %p : tensor<8x32xf32>, tensor<8x32xf32>
}

// -----

// 10 rows are padded to 12 (three row tiles): a residual of 10 rows cannot
// be read per tile, so the sum stays an op of its own after the loops.
// Alone, the pass leaves a contraction on tensors as it is.
// CHECK-LABEL: func.func @padded_residual
// CHECK: linalg.matmul
// CHECK: linalg.generic
// TILED-LABEL: func.func @padded_residual
// TILED-NOT: arith.cmpi
// TILED: } {ampc.tiled_contraction}
// TILED: %[[S:.*]] = tensor.extract_slice %{{.*}}[0, 0] [10, 32] [1, 1] : tensor<12x32xf32> to tensor<10x32xf32>
// TILED: linalg.generic {{.*}} ins(%[[S]], %{{.*}} : tensor<10x32xf32>, tensor<10x32xf32>)
#id = affine_map<(i, j) -> (i, j)>
func.func @padded_residual(%a: tensor<10x40xf32>, %b: tensor<40x32xf32>, %res: tensor<10x32xf32>) -> tensor<10x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<10x32xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<10x32xf32>) -> tensor<10x32xf32>
  %p = linalg.matmul ins(%a, %b : tensor<10x40xf32>, tensor<40x32xf32>) outs(%c : tensor<10x32xf32>) -> tensor<10x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %res : tensor<10x32xf32>, tensor<10x32xf32>) outs(%e : tensor<10x32xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %s = arith.addf %x, %v : f32
    linalg.yield %s : f32
  } -> tensor<10x32xf32>
  return %y : tensor<10x32xf32>
}

// -----

// 10 columns fill the 16 lanes poorly: C^T is computed (C's 10 columns in
// 3 row tiles of 4, its 64 rows in 4 column tiles of 16; three k blocks),
// in place: C padded to 64 x 12 is seen as C^T's tiles 4 x 16 x 3 x 4, and
// each micro-kernel transposes its 4 x 16 sums into 16 rows of 4. Only the
// bias, scale and ReLU read C: they run on those 16 vectors in the last k
// block, the bias (along C's columns: the lanes) read as a vector, the
// scale (along C's rows) one element broadcast per vector. C, sliced to
// 64 x 10, is the result: no op and no transposition after the loops.
// CHECK-LABEL: func.func @transposed_bias_scale_relu
// CHECK: linalg.matmul
// CHECK: linalg.generic
// TILED-LABEL: func.func @transposed_bias_scale_relu
// TILED-SAME: %[[BIAS:[^:]*]]: tensor<10xf32>, %[[SCALE:[^:]*]]: tensor<64xf32>
// TILED: %[[PADDED:.*]] = tensor.pad %[[BIAS]] low[0] high[2]
// TILED: %[[BIASES:.*]] = tensor.expand_shape %[[PADDED]] {{\[\[}}0, 1]] output_shape [3, 4] : tensor<12xf32> into tensor<3x4xf32>
// TILED: %[[SCALES:.*]] = tensor.expand_shape %[[SCALE]] {{\[\[}}0, 1]] output_shape [4, 16] : tensor<64xf32> into tensor<4x16xf32>
// TILED: scf.forall (%{{.*}}, %{{.*}}) in (4, 3) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<4x16x3x4xf32>)
// TILED: } {ampc.micro_kernel}
// TILED-COUNT-32: vector.shuffle
// TILED: %[[SUMS:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 16, 1, 4] [1, 1, 1, 1] : tensor<16x4xf32> into tensor<1x16x1x4xf32>
// TILED: %[[B:.*]] = tensor.extract_slice %[[BIASES]][%{{.*}}, 0] [1, 4] [1, 1] : tensor<3x4xf32> to tensor<1x4xf32>
// TILED: %[[S:.*]] = tensor.extract_slice %[[SCALES]][%{{.*}}, 0] [1, 16] [1, 1] : tensor<4x16xf32> to tensor<1x16xf32>
// TILED: %[[LAST:.*]] = arith.cmpi sge
// TILED: %[[BV:.*]] = vector.transfer_read %[[B]][%[[C0:.*]], %[[C0]]], %{{.*}} {in_bounds = [true]} : tensor<1x4xf32>, vector<4xf32>
// TILED: %[[S0:.*]] = tensor.extract %[[S]][%[[C0]], %[[C0]]] : tensor<1x16xf32>
// TILED: %[[SV0:.*]] = vector.broadcast %[[S0]] : f32 to vector<4xf32>
// TILED: %[[A0:.*]] = arith.addf %[[SUM0:.*]], %[[BV]] : vector<4xf32>
// TILED: %[[M0:.*]] = arith.mulf %[[A0]], %[[SV0]] : vector<4xf32>
// TILED: %[[R0:.*]] = arith.maximumf %[[M0]], %{{.*}} : vector<4xf32>
// TILED: %[[K0:.*]] = arith.select %{{.*}}, %[[R0]], %[[SUM0]] : vector<4xi1>, vector<4xf32>
// TILED: vector.transfer_write %[[K0]], %[[SUMS]][%[[C0]], %[[C0]], %[[C0]], %[[C0]]]
// TILED-COUNT-15: arith.maximumf %{{.*}} : vector<4xf32>
// TILED-NOT: arith.maximumf
// TILED: } {ampc.k_blocks, ampc.tiled_contraction}
// TILED: } {ampc.tiled_contraction}
// TILED-NEXT: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2, 3]] : tensor<4x16x3x4xf32> into tensor<64x12xf32>
// TILED-NEXT: %[[Y:.*]] = tensor.extract_slice %[[FLAT]][0, 0] [64, 10] [1, 1] : tensor<64x12xf32> to tensor<64x10xf32>
// TILED-NEXT: return %[[Y]]
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>
func.func @transposed_bias_scale_relu(%a: tensor<64x40xf32>, %b: tensor<40x10xf32>, %bias: tensor<10xf32>, %s: tensor<64xf32>) -> tensor<64x10xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x10xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<64x10xf32>) -> tensor<64x10xf32>
  %p = linalg.matmul ins(%a, %b : tensor<64x40xf32>, tensor<40x10xf32>) outs(%c : tensor<64x10xf32>) -> tensor<64x10xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %bias, %s : tensor<64x10xf32>, tensor<10xf32>, tensor<64xf32>) outs(%e : tensor<64x10xf32>) {
  ^bb0(%x: f32, %v: f32, %w: f32, %o: f32):
    %t = arith.addf %x, %v : f32
    %u = arith.mulf %t, %w : f32
    %r = arith.maximumf %u, %z : f32
    linalg.yield %r : f32
  } -> tensor<64x10xf32>
  return %y : tensor<64x10xf32>
}

// -----

// C^T in place as above, but the product is returned too: the bias sum is
// carried beside C through the loops (C^T's tiles too), written in the
// last k block only, on the 16 transposed vectors of 4. A residual of C's
// unpadded 64 x 8 is read per tile in C^T's tiles' layout (C's own order),
// as vectors of 4; one of a C padded from 10 to 12 columns cannot be, and
// the sum stays after the loops.
// CHECK-LABEL: func.func @transposed_kept
// TILED-LABEL: func.func @transposed_kept
// TILED: tensor.empty() : tensor<4x16x3x4xf32>
// TILED: %[[OUT:.*]] = tensor.empty() : tensor<4x16x3x4xf32>
// TILED: %[[LOOP:.*]]:2 = scf.forall ({{.*}}) in (4, 3) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %[[OUT]]) -> (tensor<4x16x3x4xf32>, tensor<4x16x3x4xf32>)
// TILED: scf.if %{{.*}} -> (tensor<1x16x1x4xf32>) {
// TILED-COUNT-16: arith.addf %{{.*}}, %{{.*}} : vector<4xf32>
// TILED: } else {
// TILED: %[[Y:.*]] = tensor.collapse_shape %[[LOOP]]#1 {{\[\[}}0, 1], [2, 3]] : tensor<4x16x3x4xf32> into tensor<64x12xf32>
// TILED: %[[YS:.*]] = tensor.extract_slice %[[Y]][0, 0] [64, 10] [1, 1]
// TILED: %[[P:.*]] = tensor.collapse_shape %[[LOOP]]#0
// TILED: %[[PS:.*]] = tensor.extract_slice %[[P]][0, 0] [64, 10] [1, 1]
// TILED-NOT: linalg.generic
// TILED: return %[[YS]], %[[PS]]
// TILED-LABEL: func.func @transposed_residual
// TILED-SAME: %{{[^:]*}}: tensor<8x8xf32>, %[[RES:[^:]*]]: tensor<64x8xf32>
// TILED: %[[FLAT_RES:.*]] = tensor.collapse_shape %[[RES]] {{\[\[}}0, 1]] : tensor<64x8xf32> into tensor<512xf32>
// TILED: %[[TILED_RES:.*]] = tensor.expand_shape %[[FLAT_RES]] {{\[\[}}0, 1, 2, 3]] output_shape [4, 16, 2, 4] : tensor<512xf32> into tensor<4x16x2x4xf32>
// TILED: scf.forall
// TILED: } {ampc.micro_kernel}
// TILED: %[[AT:.*]] = tensor.extract_slice %[[TILED_RES]][%{{.*}}, 0, %{{.*}}, 0] [1, 16, 1, 4] [1, 1, 1, 1]
// TILED-COUNT-16: vector.transfer_read %[[AT]]
// TILED: } {ampc.tiled_contraction}
// TILED-NOT: linalg.generic
// TILED: return
// TILED-LABEL: func.func @transposed_padded_residual
// TILED: } {ampc.tiled_contraction}
// TILED: %[[S:.*]] = tensor.extract_slice %{{.*}}[0, 0] [64, 10] [1, 1] : tensor<64x12xf32> to tensor<64x10xf32>
// TILED: linalg.generic {{.*}} ins(%[[S]], %{{.*}} : tensor<64x10xf32>, tensor<64x10xf32>)
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
func.func @transposed_kept(%a: tensor<64x8xf32>, %b: tensor<8x10xf32>, %bias: tensor<10xf32>) -> (tensor<64x10xf32>, tensor<64x10xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x10xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<64x10xf32>) -> tensor<64x10xf32>
  %p = linalg.matmul ins(%a, %b : tensor<64x8xf32>, tensor<8x10xf32>) outs(%c : tensor<64x10xf32>) -> tensor<64x10xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %bias : tensor<64x10xf32>, tensor<10xf32>) outs(%e : tensor<64x10xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %s = arith.addf %x, %v : f32
    %r = arith.maximumf %s, %z : f32
    linalg.yield %r : f32
  } -> tensor<64x10xf32>
  return %y, %p : tensor<64x10xf32>, tensor<64x10xf32>
}
func.func @transposed_residual(%a: tensor<64x8xf32>, %b: tensor<8x8xf32>, %res: tensor<64x8xf32>) -> tensor<64x8xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x8xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<64x8xf32>) -> tensor<64x8xf32>
  %p = linalg.matmul ins(%a, %b : tensor<64x8xf32>, tensor<8x8xf32>) outs(%c : tensor<64x8xf32>) -> tensor<64x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %res : tensor<64x8xf32>, tensor<64x8xf32>) outs(%e : tensor<64x8xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %s = arith.addf %x, %v : f32
    linalg.yield %s : f32
  } -> tensor<64x8xf32>
  return %y : tensor<64x8xf32>
}
func.func @transposed_padded_residual(%a: tensor<64x8xf32>, %b: tensor<8x10xf32>, %res: tensor<64x10xf32>) -> tensor<64x10xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x10xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<64x10xf32>) -> tensor<64x10xf32>
  %p = linalg.matmul ins(%a, %b : tensor<64x8xf32>, tensor<8x10xf32>) outs(%c : tensor<64x10xf32>) -> tensor<64x10xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %res : tensor<64x10xf32>, tensor<64x10xf32>) outs(%e : tensor<64x10xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %s = arith.addf %x, %v : f32
    linalg.yield %s : f32
  } -> tensor<64x10xf32>
  return %y : tensor<64x10xf32>
}

// -----

// C^T in serial loops: blocks of three column tiles of C^T (C's rows), the
// last of one; each block's slice of C is sliced whole again (its size is
// known at run time) where the one-block k loop was canonicalized away.
// Those slices are removed, and the bias and ReLU run on the 16 transposed
// vectors of 4 of each tile.
// SERIAL-LABEL: func.func @serial_ragged_blocks
// SERIAL: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}}) -> (tensor<4x16x3x4xf32>)
// SERIAL: %[[BLOCK:.*]] = tensor.extract_slice %{{.*}} [%{{.*}}, 16, 1, 4] [1, 1, 1, 1] : tensor<4x16x3x4xf32> to tensor<?x16x1x4xf32>
// SERIAL-NOT: tensor.extract_slice %[[BLOCK]][0, 0, 0, 0]
// SERIAL: scf.for {{.*}} iter_args(%{{.*}} = %[[BLOCK]]) -> (tensor<?x16x1x4xf32>)
// SERIAL: } {ampc.micro_kernel}
// SERIAL-COUNT-16: arith.maximumf %{{.*}} : vector<4xf32>
// SERIAL: } {ampc.tiled_contraction}
// SERIAL-NEXT: tensor.insert_slice %{{.*}} into %{{.*}} [%{{.*}}, 16, 1, 4] [1, 1, 1, 1] : tensor<?x16x1x4xf32> into tensor<4x16x3x4xf32>
// SERIAL-NOT: linalg.generic
// SERIAL: return
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
func.func @serial_ragged_blocks(%a: tensor<64x8xf32>, %b: tensor<8x10xf32>, %bias: tensor<10xf32>) -> tensor<64x10xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x10xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<64x10xf32>) -> tensor<64x10xf32>
  %p = linalg.matmul ins(%a, %b : tensor<64x8xf32>, tensor<8x10xf32>) outs(%c : tensor<64x10xf32>) -> tensor<64x10xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %bias : tensor<64x10xf32>, tensor<10xf32>) outs(%e : tensor<64x10xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %s = arith.addf %x, %v : f32
    %r = arith.maximumf %s, %z : f32
    linalg.yield %r : f32
  } -> tensor<64x10xf32>
  return %y : tensor<64x10xf32>
}
