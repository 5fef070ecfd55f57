// RUN: ampc-opt %s -split-input-file -ampc-vectorize-contractions="register-rows=6 register-cols=16 cache-depth=16 block-row-tiles=2 block-col-tiles=2 parallel-min-flops=0" | FileCheck %s
// RUN: ampc-opt %s -split-input-file -ampc-vectorize-contractions="bf16-dot=true register-rows=8 register-cols=32 parallel-min-flops=0" | FileCheck %s --check-prefix=DOT
// RUN: ampc-opt %s -split-input-file -ampc-vectorize-contractions="bf16-dot=true register-rows=6 register-cols=8 parallel-min-flops=0" | FileCheck %s --check-prefix=NARROW
// RUN: ampc-opt %s -split-input-file -ampc-vectorize-contractions="amx=true bf16-dot=true parallel-min-flops=0" | FileCheck %s --check-prefix=AMX
// RUN: ampc-opt %s -split-input-file -ampc-vectorize-contractions="register-rows=6 register-cols=64 parallel-min-flops=0" | FileCheck %s --check-prefix=ZMM

// An f32 matmul of ragged sizes (20x37 by 37x19) with a zero fill: A is
// packed into 6-row panels (4 x 37 x 6: its 3 whole panels straight from A,
// the last 2 rows padded apart), B into 16-column panels (2 x 37 x 16, the
// same way); the fill is made on C padded to whole tiles (24 x 32), seen as
// 4 x 6 x 2 x 16 register tiles, which the micro-kernels accumulate into in
// place (no packed copy of C); a parallel loop over blocks of 2 row tiles
// by 2 column tiles, k blocks of 16 (the last one 5 deep), the block's
// column tiles, then its row tiles; 6 accumulators of 16 lanes, starting
// from zero, through the k loop, one load of B and 6 broadcasts of A per
// step; the tile of C is read and added after the loop (its loads do not
// hold up the first multiply-adds); the result is C's 20 x 19 corner.
// CHECK-LABEL: func.func @f32
// CHECK: %[[AHEAD:.*]] = linalg.transpose ins(%{{.*}} : tensor<3x6x37xf32>) outs(%{{.*}} : tensor<3x37x6xf32>) permutation = [0, 2, 1]
// CHECK: tensor.pad %{{.*}} low[0, 0] high[4, 0]
// CHECK: %[[ATAIL:.*]] = linalg.transpose ins(%{{.*}} : tensor<1x6x37xf32>) outs(%{{.*}} : tensor<1x37x6xf32>) permutation = [0, 2, 1]
// CHECK: tensor.insert_slice %[[AHEAD]] into %{{.*}}[0, 0, 0] [3, 37, 6]
// CHECK: tensor.insert_slice %[[ATAIL]] into %{{.*}}[3, 0, 0] [1, 37, 6]
// B's panels are its columns in memory order: reshapes, no transpose.
// CHECK-NOT: linalg.transpose
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [1, 37, 16] : tensor<37x16xf32> into tensor<1x37x16xf32>
// CHECK: tensor.pad %{{.*}} low[0, 0] high[0, 13]
// CHECK-NOT: linalg.transpose
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [1, 37, 16] : tensor<37x16xf32> into tensor<1x37x16xf32>
// CHECK: %[[FILL:.*]] = linalg.fill {{.*}} -> tensor<24x32xf32>
// CHECK: %[[C:.*]] = tensor.expand_shape %[[FILL]] {{\[}}[0, 1], [2, 3]] output_shape [4, 6, 2, 16]
// CHECK: %[[R:.*]] = scf.forall (%[[N:.*]], %[[M:.*]]) = (0, 0) to (2, 4) step (2, 2) shared_outs(%{{.*}} = %[[C]])
// CHECK: scf.for {{.*}} to %{{.*}} step %c16
// CHECK: affine.min
// CHECK: scf.for {{.*}} to %c2
// CHECK: scf.for {{.*}} to %c2
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-NOT: vector.transfer_read
// CHECK: scf.for {{.*}} iter_args({{.*}} = %[[ZERO]], {{.*}} = %[[ZERO]], {{.*}} = %[[ZERO]], {{.*}} = %[[ZERO]], {{.*}} = %[[ZERO]], {{.*}} = %[[ZERO]]) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<?x16xf32>, vector<16xf32>
// CHECK-COUNT-6: vector.fma
// CHECK: scf.yield
// CHECK: vector.transfer_read {{.*}} : tensor<6x16xf32>, vector<16xf32>
// CHECK-NEXT: arith.addf {{.*}} : vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<6x16xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<6x16xf32>, vector<16xf32>
// CHECK-NEXT: arith.addf {{.*}} : vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<6x16xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<6x16xf32>, vector<16xf32>
// CHECK-NEXT: arith.addf {{.*}} : vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<6x16xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<6x16xf32>, vector<16xf32>
// CHECK-NEXT: arith.addf {{.*}} : vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<6x16xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<6x16xf32>, vector<16xf32>
// CHECK-NEXT: arith.addf {{.*}} : vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<6x16xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<6x16xf32>, vector<16xf32>
// CHECK-NEXT: arith.addf {{.*}} : vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<6x16xf32>
// CHECK-NOT: vector.transfer_read {{.*}} : tensor<6x16xf32>
// CHECK: scf.yield
// CHECK: scf.forall.in_parallel
// CHECK-NOT: linalg.transpose
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[R]] {{\[}}[0, 1], [2, 3]] : tensor<4x6x2x16xf32> into tensor<24x32xf32>
// CHECK: tensor.extract_slice %[[FLAT]][0, 0] [20, 19] [1, 1] : tensor<24x32xf32> to tensor<20x19xf32>
// CHECK-NOT: linalg.matmul
// DOT-LABEL: func.func @f32
// DOT-NOT: x86vector
func.func @f32(%a: tensor<20x37xf32>, %b: tensor<37x19xf32>) -> tensor<20x19xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<20x19xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<20x19xf32>) -> tensor<20x19xf32>
  %r = linalg.matmul ins(%a, %b : tensor<20x37xf32>, tensor<37x19xf32>) outs(%c : tensor<20x19xf32>) -> tensor<20x19xf32>
  return %r : tensor<20x19xf32>
}

// -----

// A^T B^T as a training step's backward pass writes it (a linalg.generic
// reading A as k x m and B as n x k), with bf16 inputs widened in its body:
// the inputs are widened once, A^T is packed by copying rows (its m is
// contiguous), B^T by a transpose, each as whole panels and a padded last
// one; C, not a fill, is padded to whole tiles (24 x 32) with its values and
// accumulated in place.
// With bf16-dot and 8 x 32 tiles, the bf16 inputs are packed in k pairs,
// the odd k (37) padded to 38 with a zero: n (19) is narrower than a tile
// and m (20) wider, so B^T's 19 rows are the tiles' rows (2 whole panels of
// 8 and a last one padded by 5) and A^T's 20 columns their lanes (padded by
// 12); C is computed transposed, in place: C padded to 32 x 24 (its rows
// across the lanes, its columns in the tiles' rows), seen as C^T's tiles
// 1 x 32 x 3 x 8. Each micro-kernel transposes its 8 x 32 sums in four 8 x 8
// blocks (two from the first 16-lane vector of every row, two from the
// second) and stores them as 32 rows of 8.
// DOT-LABEL: func.func @transposed_bf16
// DOT-NOT: arith.extf
// DOT: tensor.pad %{{.*}} low[0, 0] high[0, 1]
// DOT: tensor.expand_shape %{{.*}} output_shape [2, 8, 19, 2] : tensor<16x38xbf16> into tensor<2x8x19x2xbf16>
// DOT: tensor.pad %{{.*}} low[0, 0] high[5, 1]
// DOT: linalg.transpose ins(%{{.*}} : tensor<1x8x19x2xbf16>) outs(%{{.*}} : tensor<1x19x8x2xbf16>)
// DOT: tensor.pad %{{.*}} low[0, 0] high[1, 12]
// DOT: linalg.transpose ins(%{{.*}} : tensor<19x2x1x32xbf16>) outs(%{{.*}} : tensor<1x19x32x2xbf16>) permutation = [2, 0, 3, 1]
// DOT: %[[PADC:.*]] = tensor.pad %arg2 low[0, 0] high[12, 5]
// DOT: tensor.expand_shape %[[PADC]] {{\[}}[0, 1], [2, 3]] output_shape [1, 32, 3, 8] : tensor<32x24xf32> into tensor<1x32x3x8xf32>
// DOT: scf.forall
// DOT-COUNT-16: x86vector.avx512.dot
// DOT: } {ampc.micro_kernel}
// DOT: vector.extract_strided_slice %[[SUMS:[0-9]+]]#0 {offsets = [0], sizes = [8], strides = [1]} : vector<16xf32> to vector<8xf32>
// DOT: vector.extract_strided_slice %[[SUMS]]#14 {offsets = [0], sizes = [8], strides = [1]}
// DOT-COUNT-8: vector.transfer_write {{.*}} : vector<8xf32>, tensor<32x8xf32>
// DOT: vector.extract_strided_slice %[[SUMS]]#0 {offsets = [8], sizes = [8], strides = [1]}
// DOT-COUNT-8: vector.transfer_write {{.*}} : vector<8xf32>, tensor<32x8xf32>
// DOT: vector.extract_strided_slice %[[SUMS]]#1 {offsets = [0], sizes = [8], strides = [1]}
// DOT-COUNT-8: vector.transfer_write {{.*}} : vector<8xf32>, tensor<32x8xf32>
// DOT: vector.extract_strided_slice %[[SUMS]]#15 {offsets = [8], sizes = [8], strides = [1]}
// DOT-COUNT-8: vector.transfer_write {{.*}} : vector<8xf32>, tensor<32x8xf32>
// DOT-NOT: vector.transfer_write
// DOT-NOT: linalg.transpose
// DOT: tensor.extract_slice %{{.*}}[0, 0] [20, 19] [1, 1] : tensor<32x24xf32> to tensor<20x19xf32>
// With amx, these sizes would be padded to 32 x 32 x 64 blocks, 4.7 times
// the work: the contraction takes the dot products instead.
// AMX-LABEL: func.func @transposed_bf16
// AMX-NOT: ampc.amx_tile
// AMX: x86vector.avx512.dot
// CHECK-LABEL: func.func @transposed_bf16
// CHECK: arith.extf %{{.*}} : tensor<37x20xbf16> to tensor<37x20xf32>
// CHECK: arith.extf %{{.*}} : tensor<19x37xbf16> to tensor<19x37xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<37x3x6xf32>) outs(%{{.*}} : tensor<3x37x6xf32>) permutation = [1, 0, 2]
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [1, 37, 6] : tensor<37x6xf32> into tensor<1x37x6xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x16x37xf32>) outs(%{{.*}} : tensor<1x37x16xf32>) permutation = [0, 2, 1]
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x16x37xf32>) outs(%{{.*}} : tensor<1x37x16xf32>) permutation = [0, 2, 1]
// CHECK: %[[PAD:.*]] = tensor.pad %{{.*}} low[0, 0] high[4, 13]
// CHECK: tensor.expand_shape %[[PAD]] {{\[}}[0, 1], [2, 3]] output_shape [4, 6, 2, 16]
// CHECK: scf.forall
// CHECK-COUNT-6: vector.fma
// CHECK-NOT: linalg.generic
#mA = affine_map<(m, n, k) -> (k, m)>
#mB = affine_map<(m, n, k) -> (n, k)>
#mC = affine_map<(m, n, k) -> (m, n)>
func.func @transposed_bf16(%a: tensor<37x20xbf16>, %b: tensor<19x37xbf16>, %c: tensor<20x19xf32>) -> tensor<20x19xf32> {
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<37x20xbf16>, tensor<19x37xbf16>) outs(%c : tensor<20x19xf32>) {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<20x19xf32>
  return %r : tensor<20x19xf32>
}

// -----

// A batch matmul: one more outer dimension in every pack and in the
// parallel loop (batch, column tile, block of row tiles).
// AMX tiles are for bf16 inputs only: this f32 batch keeps the f32
// micro-kernel.
// AMX-LABEL: func.func @batched
// AMX-NOT: ampc.amx_tile
// AMX: vector.fma
// CHECK-LABEL: func.func @batched
// CHECK: linalg.transpose ins(%{{.*}} : tensor<3x2x6x8xf32>) outs(%{{.*}} : tensor<3x2x8x6xf32>)
// CHECK: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) = (0, 0, 0) to (3, 1, 2) step (1, 2, 2)
// CHECK-COUNT-6: vector.fma
func.func @batched(%a: tensor<3x12x8xf32>, %b: tensor<3x8x16xf32>, %c: tensor<3x12x16xf32>) -> tensor<3x12x16xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<3x12x8xf32>, tensor<3x8x16xf32>) outs(%c : tensor<3x12x16xf32>) -> tensor<3x12x16xf32>
  return %r : tensor<3x12x16xf32>
}

// -----

// Not a multiply-add (a max-plus product): the packed path does not take
// it, and it stays as written.
// CHECK-LABEL: func.func @not_multiply_add
// CHECK: linalg.generic
// CHECK-NOT: scf.forall
func.func @not_multiply_add(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.addf %x, %y : f32
    %s = arith.maximumf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

// With bf16-dot, the bf16 inputs are not widened: A (16 x 96) is packed
// into 8-row panels of k pairs (2 x 48 x 8 x 2), B (96 x 32) into 32-column
// panels of k pairs (1 x 48 x 32 x 2); the micro-kernel keeps 8 rows x 2
// vectors of 16 f32 sums, and each k pair loads B's two vectors of column
// pairs, broadcasts A's pair of each row as one i32 and takes two dot
// products per row.
// DOT-LABEL: func.func @bf16_dot
// DOT-NOT: arith.extf
// DOT: %[[A:.*]] = linalg.transpose ins(%{{.*}} : tensor<2x8x48x2xbf16>) outs(%{{.*}} : tensor<2x48x8x2xbf16>) permutation = [0, 2, 1, 3]
// DOT: %[[B:.*]] = linalg.transpose ins(%{{.*}} : tensor<48x2x1x32xbf16>) outs(%{{.*}} : tensor<1x48x32x2xbf16>) permutation = [2, 0, 3, 1]
// DOT: scf.forall
// DOT: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<?x8x2xbf16> into tensor<?x16xbf16>
// DOT: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<?x32x2xbf16> into tensor<?x64xbf16>
// DOT: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// DOT: vector.transfer_read %{{.*}}[%{{.*}}, %c0{{.*}}], %{{.*}} : tensor<?x64xbf16>, vector<32xbf16>
// DOT: vector.transfer_read %{{.*}}[%{{.*}}, %c32], %{{.*}} : tensor<?x64xbf16>, vector<32xbf16>
// DOT-COUNT-8: vector.bitcast %{{.*}} : vector<16xi32> to vector<32xbf16>
// DOT-NEXT: x86vector.avx512.dot %{{.*}}, %{{.*}}, %{{.*}} : vector<32xbf16> -> vector<16xf32>
// DOT-NEXT: x86vector.avx512.dot %{{.*}}, %{{.*}}, %{{.*}} : vector<32xbf16> -> vector<16xf32>
// DOT-NOT: x86vector.avx512.dot
// DOT: scf.yield
// DOT-COUNT-16: arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// DOT-NOT: linalg.matmul
// With amx (which takes precedence over bf16-dot), A's 16 rows are padded
// to a 32-row tile of 3 steps of 32 k, B (k = 96: whole steps) is packed in
// k pairs, and C, padded to 32 x 32, is accumulated in place as a 1 x 32 x
// 1 x 32 tile.
// AMX-LABEL: func.func @bf16_dot
// AMX: tensor.pad %arg0 low[0, 0] high[16, 0]
// AMX: tensor.expand_shape %{{.*}} output_shape [1, 3, 32, 16, 2]
// AMX: linalg.transpose ins(%{{.*}} : tensor<48x2x1x32xbf16>) outs(%{{.*}} : tensor<1x48x32x2xbf16>)
// AMX: tensor.expand_shape %{{.*}} output_shape [1, 3, 16, 32, 2]
// AMX: tensor.pad %arg2 low[0, 0] high[16, 0]
// AMX: tensor.expand_shape %{{.*}} output_shape [1, 32, 1, 32] : tensor<32x32xf32> into tensor<1x32x1x32xf32>
// AMX: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x32x1x32xf32>) attrs =  {ampc.amx_tile}
// AMX-NOT: x86vector.avx512.dot
// AMX: tensor.extract_slice %{{.*}}[0, 0] [16, 32] [1, 1] : tensor<32x32xf32> to tensor<16x32xf32>
// Without bf16-dot, the inputs are widened for the f32 path.
// CHECK-LABEL: func.func @bf16_dot
// CHECK: arith.extf %{{.*}} : tensor<16x96xbf16> to tensor<16x96xf32>
// CHECK: scf.forall
// CHECK-NOT: x86vector.avx512.dot
// Columns that are not whole dot products (8 f32 lanes) take it too.
// NARROW-LABEL: func.func @bf16_dot
// NARROW: arith.extf %{{.*}} : tensor<16x96xbf16> to tensor<16x96xf32>
// NARROW-NOT: x86vector.avx512.dot
func.func @bf16_dot(%a: tensor<16x96xbf16>, %b: tensor<96x32xbf16>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x96xbf16>, tensor<96x32xbf16>) outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}

// -----

// With bf16-dot, a bf16 contraction widens to f32 like without it where
// the pair packing of both operands would cost more than the dot products
// save: an output that fits one register tile whose columns would be
// padded to 16 lanes (a convolution's weight gradient over 9 taps and 8
// filters takes the whole-output 9 x 8 f32 tile, its operands unpacked),
// and a k under 16 (a 3x3 convolution over one channel: k = 9) unless it is
// even and at least 8 (an attention's product over 8 positions: 4 whole
// pairs; k = 6 widens). A 32 x 32
// output with k = 16 takes the dot products, and so does a 16 x 16 output
// with k = 32 in one whole-output tile of 16 rows of one vector: A (16 x 32)
// packed as 16 k pairs of its 16 rows, B (32 x 16) as 16 k pairs of its 16
// columns, 16 dot products per k pair and no padded lane.
// DOT-LABEL: func.func @narrow_bf16_widens
// DOT: arith.extf %{{.*}} : tensor<300x9xbf16> to tensor<300x9xf32>
// DOT: arith.extf %{{.*}} : tensor<300x8xbf16> to tensor<300x8xf32>
// DOT-NOT: x86vector.avx512.dot
// DOT: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// DOT-COUNT-9: vector.fma %{{.*}} : vector<8xf32>
// DOT-LABEL: func.func @bf16_short_k_widens
// DOT: arith.extf %{{.*}} : tensor<64x9xbf16> to tensor<64x9xf32>
// DOT-NOT: x86vector.avx512.dot
// DOT: vector.fma
// DOT-LABEL: func.func @bf16_k8_dot
// DOT-NOT: arith.extf
// DOT: linalg.transpose ins(%{{.*}} : tensor<4x8x4x2xbf16>) outs(%{{.*}} : tensor<4x4x8x2xbf16>) permutation = [0, 2, 1, 3]
// DOT: linalg.transpose ins(%{{.*}} : tensor<4x2x1x32xbf16>) outs(%{{.*}} : tensor<1x4x32x2xbf16>) permutation = [2, 0, 3, 1]
// DOT: scf.forall
// DOT: x86vector.avx512.dot
// DOT-LABEL: func.func @bf16_k6_widens
// DOT: arith.extf %{{.*}} : tensor<32x6xbf16> to tensor<32x6xf32>
// DOT-NOT: x86vector.avx512.dot
// DOT: vector.fma
// DOT-LABEL: func.func @bf16_k16_dot
// DOT-NOT: arith.extf
// DOT: x86vector.avx512.dot
// DOT-LABEL: func.func @bf16_whole_tile_dot
// DOT-NOT: arith.extf
// DOT: linalg.transpose ins(%{{.*}} : tensor<1x16x16x2xbf16>) outs(%{{.*}} : tensor<1x16x16x2xbf16>) permutation = [0, 2, 1, 3]
// DOT: linalg.transpose ins(%{{.*}} : tensor<16x2x1x16xbf16>) outs(%{{.*}} : tensor<1x16x16x2xbf16>) permutation = [2, 0, 3, 1]
// DOT: tensor.expand_shape %arg2 {{\[\[}}0, 1], [2, 3]] output_shape [1, 16, 1, 16] : tensor<16x16xf32> into tensor<1x16x1x16xf32>
// DOT: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// DOT-COUNT-16: x86vector.avx512.dot %{{.*}}, %{{.*}}, %{{.*}} : vector<32xbf16> -> vector<16xf32>
// DOT-NOT: x86vector.avx512.dot
// DOT: scf.yield
// DOT-NOT: vector.fma
// DOT: return
// CHECK-LABEL: func.func @bf16_whole_tile_dot
// CHECK: arith.extf %{{.*}} : tensor<16x32xbf16> to tensor<16x32xf32>
// CHECK-NOT: x86vector.avx512.dot
// NARROW-LABEL: func.func @bf16_whole_tile_dot
// NARROW: arith.extf %{{.*}} : tensor<16x32xbf16> to tensor<16x32xf32>
// NARROW-NOT: x86vector.avx512.dot
#wX = affine_map<(m, n, k) -> (k, m)>
#wDY = affine_map<(m, n, k) -> (k, n)>
#wW = affine_map<(m, n, k) -> (m, n)>
func.func @narrow_bf16_widens(%x: tensor<300x9xbf16>, %dy: tensor<300x8xbf16>, %c: tensor<9x8xf32>) -> tensor<9x8xf32> {
  %r = linalg.generic {indexing_maps = [#wX, #wDY, #wW], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %dy : tensor<300x9xbf16>, tensor<300x8xbf16>) outs(%c : tensor<9x8xf32>) {
  ^bb0(%a: bf16, %b: bf16, %o: f32):
    %ae = arith.extf %a : bf16 to f32
    %be = arith.extf %b : bf16 to f32
    %p = arith.mulf %ae, %be : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<9x8xf32>
  return %r : tensor<9x8xf32>
}
func.func @bf16_short_k_widens(%a: tensor<64x9xbf16>, %b: tensor<9x32xbf16>, %c: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x9xbf16>, tensor<9x32xbf16>) outs(%c : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}
func.func @bf16_k8_dot(%a: tensor<32x8xbf16>, %b: tensor<8x32xbf16>, %c: tensor<32x32xf32>) -> tensor<32x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<32x8xbf16>, tensor<8x32xbf16>) outs(%c : tensor<32x32xf32>) -> tensor<32x32xf32>
  return %r : tensor<32x32xf32>
}
func.func @bf16_k6_widens(%a: tensor<32x6xbf16>, %b: tensor<6x32xbf16>, %c: tensor<32x32xf32>) -> tensor<32x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<32x6xbf16>, tensor<6x32xbf16>) outs(%c : tensor<32x32xf32>) -> tensor<32x32xf32>
  return %r : tensor<32x32xf32>
}
func.func @bf16_k16_dot(%a: tensor<32x16xbf16>, %b: tensor<16x32xbf16>, %c: tensor<32x32xf32>) -> tensor<32x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<32x16xbf16>, tensor<16x32xbf16>) outs(%c : tensor<32x32xf32>) -> tensor<32x32xf32>
  return %r : tensor<32x32xf32>
}
func.func @bf16_whole_tile_dot(%a: tensor<16x32xbf16>, %b: tensor<32x16xbf16>, %c: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x32xbf16>, tensor<32x16xbf16>) outs(%c : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %r : tensor<16x16xf32>
}

// -----

// A 2-D convolution becomes a gather of its 3x3 patches (im2col: one
// dimension per loop the image is read by), the loops folded into a
// 1352 x 9 by 9 x 8 contraction, and the packed path.
// CHECK-LABEL: func.func @conv
// CHECK-NOT: linalg.conv_2d_nhwc_hwcf
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x28x28x1xf32>) outs(%{{.*}} : tensor<2x26x26x3x3x1xf32>)
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<2x26x26x3x3x1xf32> into tensor<1352x9xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2], [3]] : tensor<3x3x1x8xf32> into tensor<9x8xf32>
// CHECK: scf.forall
// CHECK-COUNT-6: vector.fma
// CHECK: tensor.expand_shape %{{.*}} output_shape [2, 26, 26, 8] : tensor<1352x8xf32> into tensor<2x26x26x8xf32>
func.func @conv(%x: tensor<2x28x28x1xf32>, %w: tensor<3x3x1x8xf32>, %z: tensor<2x26x26x8xf32>) -> tensor<2x26x26x8xf32> {
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x28x28x1xf32>, tensor<3x3x1x8xf32>) outs(%z : tensor<2x26x26x8xf32>) -> tensor<2x26x26x8xf32>
  return %c : tensor<2x26x26x8xf32>
}

// -----

// A convolution's weight gradient as autodiff writes it (the image read
// through windows, summed over batch and output positions): patches
// (2 x 4 x 4 x 3 x 3 x 1), then a 9 x 32 by 32 x 8 contraction (m = the
// window, k = batch and positions) on the packed path.
// CHECK-LABEL: func.func @conv_weight_gradient
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x6x6x1xf32>) outs(%{{.*}} : tensor<2x4x4x3x3x1xf32>)
// CHECK: tensor.collapse_shape %{{.*}} : tensor<2x4x4x3x3x1xf32> into tensor<32x9xf32>
// CHECK: scf.forall
// CHECK-COUNT-6: vector.fma
// CHECK: tensor.expand_shape %{{.*}} output_shape [3, 3, 1, 8] : tensor<9x8xf32> into tensor<3x3x1x8xf32>
func.func @conv_weight_gradient(%x: tensor<2x6x6x1xf32>, %dy: tensor<2x4x4x8xf32>, %dw: tensor<3x3x1x8xf32>) -> tensor<3x3x1x8xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(n, oh, ow, kh, kw, ic, oc) -> (n, oh + kh, ow + kw, ic)>,
                                        affine_map<(n, oh, ow, kh, kw, ic, oc) -> (n, oh, ow, oc)>,
                                        affine_map<(n, oh, ow, kh, kw, ic, oc) -> (kh, kw, ic, oc)>],
                       iterator_types = ["reduction", "reduction", "reduction", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %dy : tensor<2x6x6x1xf32>, tensor<2x4x4x8xf32>) outs(%dw : tensor<3x3x1x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x3x1x8xf32>
  return %r : tensor<3x3x1x8xf32>
}

// -----

// A convolution's input gradient as autodiff writes it (a transposed
// convolution: the padded output gradient read at i - kh + 2, reversed
// windows, summed over the output channels and the window). The output
// gradient is contiguous along oc, so oc goes last among the summed loops
// (kh, kw, oc): its patches (2 x 4 x 4 x 3 x 3 x 8) are gathered 8
// channels at a time, not one element at a time with a stride of 8. The
// weight [kh, kw, ic, oc] is transposed into that loop order (kh, kw, oc,
// ic: the summed loops together) so that both fold, a 32 x 72 by 72 x 5
// contraction on the packed path.
// CHECK-LABEL: func.func @conv_input_gradient
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x8x8x8xf32>) outs(%{{.*}} : tensor<2x4x4x3x3x8xf32>)
// CHECK: linalg.transpose ins(%{{.*}} : tensor<3x3x5x8xf32>) outs(%{{.*}} : tensor<3x3x8x5xf32>) permutation = [0, 1, 3, 2]
// CHECK-DAG: tensor.collapse_shape %{{.*}} : tensor<2x4x4x3x3x8xf32> into tensor<32x72xf32>
// CHECK-DAG: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2], [3]] : tensor<3x3x8x5xf32> into tensor<72x5xf32>
// CHECK: scf.forall
// CHECK-COUNT-6: vector.fma
// CHECK: tensor.expand_shape %{{.*}} output_shape [2, 4, 4, 5] : tensor<32x5xf32> into tensor<2x4x4x5xf32>
func.func @conv_input_gradient(%dy: tensor<2x8x8x8xf32>, %w: tensor<3x3x5x8xf32>, %dx: tensor<2x4x4x5xf32>) -> tensor<2x4x4x5xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(n, i, j, oc, kh, kw, ic) -> (n, i - kh + 2, j - kw + 2, oc)>,
                                        affine_map<(n, i, j, oc, kh, kw, ic) -> (kh, kw, ic, oc)>,
                                        affine_map<(n, i, j, oc, kh, kw, ic) -> (n, i, j, ic)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%dy, %w : tensor<2x8x8x8xf32>, tensor<3x3x5x8xf32>) outs(%dx : tensor<2x4x4x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x4x4x5xf32>
  return %r : tensor<2x4x4x5xf32>
}

// -----

// A classifier's last layer (n = 10 outputs, narrower than a 16-lane tile,
// 64 rows): computed as C^T = B^T A^T, B's 10 columns in the tile's rows
// (2 x 6, padded) and A's 64 rows across the lanes (4 x 16). C (padded to
// 64 x 12) accumulates in place, seen as C^T's tiles (4 x 16 x 2 x 6): each
// micro-kernel transposes its 6 x 16 sums in two 8 x 8 blocks (the sums'
// lanes of 8 columns and two rows of zeros, 3 stages of 8 shuffles) and
// stores the first 6 lanes of each as a row of C's tile. No packed copy of
// C is made or transposed back.
// CHECK-LABEL: func.func @narrow_n
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [1, 32, 6] : tensor<32x6xf32> into tensor<1x32x6xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<4x16x32xf32>) outs(%{{.*}} : tensor<4x32x16xf32>)
// CHECK: %[[FILL:.*]] = linalg.fill {{.*}} -> tensor<64x12xf32>
// CHECK: %[[TILES:.*]] = tensor.expand_shape %[[FILL]] {{\[}}[0, 1], [2, 3]] output_shape [4, 16, 2, 6] : tensor<64x12xf32> into tensor<4x16x2x6xf32>
// CHECK: scf.forall {{.*}} shared_outs(%{{.*}} = %[[TILES]]) -> (tensor<4x16x2x6xf32>)
// CHECK-COUNT-6: vector.fma
// CHECK: } {ampc.micro_kernel}
// CHECK-COUNT-6: vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [8], strides = [1]} : vector<16xf32> to vector<8xf32>
// CHECK-COUNT-24: vector.shuffle
// CHECK-COUNT-8: vector.transfer_write %{{.*}} {in_bounds = [true]} : vector<6xf32>, tensor<16x6xf32>
// CHECK-COUNT-6: vector.extract_strided_slice %{{.*}} {offsets = [8], sizes = [8], strides = [1]} : vector<16xf32> to vector<8xf32>
// CHECK-COUNT-24: vector.shuffle
// CHECK-COUNT-8: vector.transfer_write %{{.*}} {in_bounds = [true]} : vector<6xf32>, tensor<16x6xf32>
// CHECK-NOT: vector.transfer_write
// CHECK: scf.forall.in_parallel
// CHECK-NOT: linalg.transpose
// CHECK: %[[C:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2, 3]] : tensor<4x16x2x6xf32> into tensor<64x12xf32>
// CHECK: tensor.extract_slice %[[C]][0, 0] [64, 10] [1, 1] : tensor<64x12xf32> to tensor<64x10xf32>
func.func @narrow_n(%a: tensor<64x32xf32>, %b: tensor<32x10xf32>) -> tensor<64x10xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x10xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<64x10xf32>) -> tensor<64x10xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x10xf32>) outs(%c : tensor<64x10xf32>) -> tensor<64x10xf32>
  return %r : tensor<64x10xf32>
}

// -----

// fp8 inputs (E4M3 x E5M2) take the bf16 kernels: widened to bf16, which
// holds their values exactly, then packed for AMX tiles (AMX) or in k pairs
// for dot products (DOT); the f32 path widens them to f32.
// AMX-LABEL: func.func @fp8
// AMX: arith.extf %arg0 : tensor<64x64xf8E4M3FN> to tensor<64x64xbf16>
// AMX: arith.extf %arg1 : tensor<64x32xf8E5M2> to tensor<64x32xbf16>
// AMX: attrs =  {ampc.amx_tile}
// DOT-LABEL: func.func @fp8
// DOT: arith.extf %arg0 : tensor<64x64xf8E4M3FN> to tensor<64x64xbf16>
// DOT: arith.extf %arg1 : tensor<64x32xf8E5M2> to tensor<64x32xbf16>
// DOT: x86vector.avx512.dot
// CHECK-LABEL: func.func @fp8
// CHECK: arith.extf %arg0 : tensor<64x64xf8E4M3FN> to tensor<64x64xf32>
// CHECK: arith.extf %arg1 : tensor<64x32xf8E5M2> to tensor<64x32xf32>
// CHECK: vector.fma
func.func @fp8(%a: tensor<64x64xf8E4M3FN>, %b: tensor<64x32xf8E5M2>, %c: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x64xf8E4M3FN>, tensor<64x32xf8E5M2>) outs(%c : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}

// -----

// With amx, 32 x 32 tiles whatever the register tile (the padding, 64 x 32
// x 64 for 64 x 30 x 60, adds 14 % to the work). n (30) is narrower than a
// tile and m (64) wider: B^T's 30 rows are the tiles' rows, padded to 32,
// its k to 64, packed as 1 x 2 x 32 x 16 x 2 (rows of 32 k); A^T (60 x 64)
// is B: k padded to 64, packed in k pairs (2 x 32 x 32 x 2) and seen as 2
// steps of 16 pairs; C is packed transposed in 32 x 32 tiles; the tiles'
// contraction (loops M1, N1, K1, M0, N0, P, T) is marked for
// ampc-cpu-amx-tiles, and no micro-kernel is emitted on tensors.
// AMX-LABEL: func.func @amx_transposed
// AMX-NOT: arith.extf
// AMX: tensor.pad %arg1 low[0, 0] high[2, 4]
// AMX: linalg.transpose ins(%{{.*}} : tensor<1x32x2x32xbf16>) outs(%{{.*}} : tensor<1x2x32x32xbf16>) permutation = [0, 2, 1, 3]
// AMX: tensor.expand_shape %{{.*}} output_shape [1, 2, 32, 16, 2] : tensor<1x2x32x32xbf16> into tensor<1x2x32x16x2xbf16>
// AMX: tensor.pad %arg0 low[0, 0] high[4, 0]
// AMX: linalg.transpose ins(%{{.*}} : tensor<32x2x2x32xbf16>) outs(%{{.*}} : tensor<2x32x32x2xbf16>) permutation = [2, 0, 3, 1]
// AMX: tensor.expand_shape %{{.*}} output_shape [2, 2, 16, 32, 2] : tensor<2x32x32x2xbf16> into tensor<2x2x16x32x2xbf16>
// AMX: tensor.pad %arg2 low[0, 0] high[0, 2]
// AMX: linalg.transpose ins(%{{.*}} : tensor<2x32x1x32xf32>) outs(%{{.*}} : tensor<1x2x32x32xf32>)
// AMX: scf.forall
// AMX: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<1x?x32x16x2xbf16>, tensor<1x?x16x32x2xbf16>) outs(%{{.*}} : tensor<1x1x32x32xf32>) attrs =  {ampc.amx_tile}
// AMX-NOT: x86vector.avx512.dot
// AMX-NOT: vector.fma
// AMX: linalg.transpose ins(%{{.*}} : tensor<1x2x32x32xf32>) outs(%{{.*}} : tensor<2x32x1x32xf32>)
// AMX: tensor.extract_slice %{{.*}}[0, 0] [64, 30] [1, 1] : tensor<64x32xf32> to tensor<64x30xf32>
// DOT-LABEL: func.func @amx_transposed
// DOT: x86vector.avx512.dot
// CHECK-LABEL: func.func @amx_transposed
// CHECK: arith.extf %{{.*}} : tensor<60x64xbf16> to tensor<60x64xf32>
// CHECK: vector.fma
#mA = affine_map<(m, n, k) -> (k, m)>
#mB = affine_map<(m, n, k) -> (n, k)>
#mC = affine_map<(m, n, k) -> (m, n)>
func.func @amx_transposed(%a: tensor<60x64xbf16>, %b: tensor<30x60xbf16>, %c: tensor<64x30xf32>) -> tensor<64x30xf32> {
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<60x64xbf16>, tensor<30x60xbf16>) outs(%c : tensor<64x30xf32>) {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<64x30xf32>
  return %r : tensor<64x30xf32>
}

// -----

// A convolution's weight gradient over few channels (9 taps by 8 filters,
// k the batch's positions) fits one register tile: the tile is exactly
// 9 x 8, so both operands are one panel each in their own memory order
// (reshapes, no transposed or padded copy) and each k step is one 8-lane
// vector of B and 9 multiply-adds, no lane padding.
// CHECK-LABEL: func.func @whole_output_in_registers
// CHECK-NOT: linalg.transpose
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [1, 300, 9] : tensor<300x9xf32> into tensor<1x300x9xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [1, 300, 8] : tensor<300x8xf32> into tensor<1x300x8xf32>
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.transfer_read %{{.*}} : tensor<?x8xf32>, vector<8xf32>
// CHECK-COUNT-9: vector.fma %{{.*}} : vector<8xf32>
// CHECK-NOT: vector.fma
// CHECK: scf.yield
// The register tile of the target stays for a wider output.
// CHECK-LABEL: func.func @wider_output
// CHECK: linalg.transpose
// CHECK: vector.fma %{{.*}} : vector<16xf32>
#kM = affine_map<(m, n, k) -> (k, m)>
#kN = affine_map<(m, n, k) -> (k, n)>
#MN = affine_map<(m, n, k) -> (m, n)>
func.func @whole_output_in_registers(%x: tensor<300x9xf32>, %dy: tensor<300x8xf32>, %c: tensor<9x8xf32>) -> tensor<9x8xf32> {
  %r = linalg.generic {indexing_maps = [#kM, #kN, #MN], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %dy : tensor<300x9xf32>, tensor<300x8xf32>) outs(%c : tensor<9x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<9x8xf32>
  return %r : tensor<9x8xf32>
}
func.func @wider_output(%x: tensor<300x13xf32>, %dy: tensor<300x16xf32>, %c: tensor<13x16xf32>) -> tensor<13x16xf32> {
  %r = linalg.generic {indexing_maps = [#kM, #kN, #MN], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %dy : tensor<300x13xf32>, tensor<300x16xf32>) outs(%c : tensor<13x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<13x16xf32>
  return %r : tensor<13x16xf32>
}

// -----

// A bf16 convolution widened to f32 (no dot products or AMX for it): the
// image is widened, then its patches gathered in f32, not the 9 times
// larger gather widened.
// CHECK-LABEL: func.func @widen_before_gather
// CHECK: %[[WIDE:.*]] = arith.extf %{{.*}} : tensor<1x8x8x1xbf16> to tensor<1x8x8x1xf32>
// CHECK: linalg.generic {{.*}} ins(%[[WIDE]] : tensor<1x8x8x1xf32>) outs(%{{.*}} : tensor<1x6x6x3x3x1xf32>)
// CHECK-NOT: arith.extf %{{.*}} : tensor<36x9xbf16>
// CHECK: vector.fma
func.func @widen_before_gather(%x: tensor<1x8x8x1xbf16>, %w: tensor<3x3x1x16xbf16>, %c: tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32> {
  %r = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x8x8x1xbf16>, tensor<3x3x1x16xbf16>) outs(%c : tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32>
  return %r : tensor<1x6x6x16xf32>
}

// -----

// Into zeros with k (9) within one k block (16): the micro-kernels' sums
// are written to C without reading it (+0.0 + s is s for these sums), so C
// is not zeroed first: the loop's shared output is an empty tensor.
// CHECK-LABEL: func.func @into_zeros_one_k_block
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x6x1x16xf32>
// CHECK: scf.forall {{.*}} shared_outs(%{{.*}} = %[[EMPTY]])
// CHECK: %[[SUMS:.*]]:6 = scf.for
// CHECK-COUNT-6: vector.fma
// CHECK: scf.yield
// CHECK-NOT: vector.transfer_read
// CHECK-NOT: arith.addf
// CHECK: %[[W0:.*]] = vector.transfer_write %[[SUMS]]#0, %{{.*}} : vector<16xf32>, tensor<6x16xf32>
// CHECK: %[[W1:.*]] = vector.transfer_write %[[SUMS]]#1, %[[W0]]
// CHECK: %[[W2:.*]] = vector.transfer_write %[[SUMS]]#2, %[[W1]]
// CHECK: %[[W3:.*]] = vector.transfer_write %[[SUMS]]#3, %[[W2]]
// CHECK: %[[W4:.*]] = vector.transfer_write %[[SUMS]]#4, %[[W3]]
// CHECK: %[[W5:.*]] = vector.transfer_write %[[SUMS]]#5, %[[W4]]
// CHECK: tensor.insert_slice %[[W5]]
// CHECK: return
func.func @into_zeros_one_k_block(%a: tensor<12x9xf32>, %b: tensor<9x16xf32>) -> tensor<12x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<12x16xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<12x16xf32>) -> tensor<12x16xf32>
  %r = linalg.matmul ins(%a, %b : tensor<12x9xf32>, tensor<9x16xf32>) outs(%c : tensor<12x16xf32>) -> tensor<12x16xf32>
  return %r : tensor<12x16xf32>
}

// -----

// Into -0.0, the tile is still read and added: -0.0 + +0.0 is +0.0, and a
// sum can be +0.0 where C must keep -0.0.
// CHECK-LABEL: func.func @into_negative_zeros
// CHECK: %[[C:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2, 3]] output_shape [2, 6, 1, 16] : tensor<12x16xf32>
// CHECK: scf.forall {{.*}} shared_outs(%{{.*}} = %[[C]])
// CHECK-COUNT-6: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-6: arith.addf {{.*}} : vector<16xf32>
func.func @into_negative_zeros(%a: tensor<12x9xf32>, %b: tensor<9x16xf32>) -> tensor<12x16xf32> {
  %z = arith.constant -0.0 : f32
  %e = tensor.empty() : tensor<12x16xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<12x16xf32>) -> tensor<12x16xf32>
  %r = linalg.matmul ins(%a, %b : tensor<12x9xf32>, tensor<9x16xf32>) outs(%c : tensor<12x16xf32>) -> tensor<12x16xf32>
  return %r : tensor<12x16xf32>
}

// -----

// AMX tiles need a whole 32 x 32 x 32 block of work: 16 x 32 x 32 (half a
// block, padded only 2-fold) takes the dot products, 32 x 32 x 32 the tiles.
// AMX-LABEL: func.func @amx_half_block
// AMX-NOT: ampc.amx_tile
// AMX: x86vector.avx512.dot
// AMX-LABEL: func.func @amx_whole_block
// AMX: attrs =  {ampc.amx_tile}
// AMX-NOT: x86vector.avx512.dot
func.func @amx_half_block(%a: tensor<16x32xbf16>, %b: tensor<32x32xbf16>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x32xbf16>, tensor<32x32xbf16>) outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}
func.func @amx_whole_block(%a: tensor<32x32xbf16>, %b: tensor<32x32xbf16>, %c: tensor<32x32xf32>) -> tensor<32x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<32x32xbf16>, tensor<32x32xbf16>) outs(%c : tensor<32x32xf32>) -> tensor<32x32xf32>
  return %r : tensor<32x32xf32>
}

// -----

// A target tile four vectors wide (AVX-512's 6 x 64) is kept where it pads
// little: 64 x 128 is 11 x 2 tiles of 6 x 64 (66 rows), 6 accumulators of
// 64 lanes through k blocks of 256 (this k of 96 is one).
// ZMM-LABEL: func.func @wide_tile
// ZMM: tensor.expand_shape %{{.*}} output_shape [11, 6, 2, 64] : tensor<66x128xf32> into tensor<11x6x2x64xf32>
// ZMM: scf.for {{.*}} to %c96 step %c256
// ZMM: scf.for {{.*}} -> (vector<64xf32>, vector<64xf32>, vector<64xf32>, vector<64xf32>, vector<64xf32>, vector<64xf32>)
// ZMM-COUNT-6: vector.fma {{.*}} : vector<64xf32>
// ZMM-NOT: vector.fma
// ZMM: return
func.func @wide_tile(%a: tensor<64x96xf32>, %b: tensor<96x128xf32>, %c: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x96xf32>, tensor<96x128xf32>) outs(%c : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}

// -----

// A convolution's 8 filters would pad 6-row tiles to 12 rows: 8 x 32 tiles
// (two vectors, 8 rows: fewer instructions, padding included) take the 8 x
// 640 output, C in place as 1 x 8 x 20 x 32 (no padding at all).
// ZMM-LABEL: func.func @eight_filters
// ZMM: tensor.expand_shape %{{.*}} output_shape [1, 8, 20, 32] : tensor<8x640xf32> into tensor<1x8x20x32xf32>
// ZMM: scf.for {{.*}} -> (vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>, vector<32xf32>)
// ZMM-COUNT-8: vector.fma {{.*}} : vector<32xf32>
// ZMM-NOT: vector.fma
// ZMM: return
func.func @eight_filters(%a: tensor<8x9xf32>, %b: tensor<9x640xf32>, %c: tensor<8x640xf32>) -> tensor<8x640xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x9xf32>, tensor<9x640xf32>) outs(%c : tensor<8x640xf32>) -> tensor<8x640xf32>
  return %r : tensor<8x640xf32>
}

// -----

// 16 columns would fill a quarter of a 64-lane tile: the 16 x 16 output is
// one 8 x 32 tile's worth and is computed whole (wholeOutputTile of the
// narrower tile): C in place as one 16 x 16 tile, 16 accumulators of 16
// lanes.
// ZMM-LABEL: func.func @sixteen_columns
// ZMM: tensor.expand_shape %{{.*}} output_shape [1, 16, 1, 16] : tensor<16x16xf32> into tensor<1x16x1x16xf32>
// ZMM: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// ZMM-COUNT-16: vector.fma {{.*}} : vector<16xf32>
// ZMM-NOT: vector.fma
// ZMM: return
func.func @sixteen_columns(%a: tensor<16x40xf32>, %b: tensor<40x16xf32>, %c: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x40xf32>, tensor<40x16xf32>) outs(%c : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %r : tensor<16x16xf32>
}

// -----

// Padded more than 2-fold, AMX tiles need 64 blocks of work: a classifier
// layer of 10 outputs over 32 x 1352 inputs (13 blocks, 3.3-fold padded)
// takes the dot products, the same layer over 256 x 4096 (320 blocks) the
// tiles.
// AMX-LABEL: func.func @amx_small_classifier
// AMX-NOT: ampc.amx_tile
// AMX: x86vector.avx512.dot
// AMX-LABEL: func.func @amx_large_classifier
// AMX: attrs =  {ampc.amx_tile}
// AMX-NOT: x86vector.avx512.dot
func.func @amx_small_classifier(%a: tensor<32x1352xbf16>, %b: tensor<1352x10xbf16>, %c: tensor<32x10xf32>) -> tensor<32x10xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<32x1352xbf16>, tensor<1352x10xbf16>) outs(%c : tensor<32x10xf32>) -> tensor<32x10xf32>
  return %r : tensor<32x10xf32>
}
func.func @amx_large_classifier(%a: tensor<256x4096xbf16>, %b: tensor<4096x10xbf16>, %c: tensor<256x10xf32>) -> tensor<256x10xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<256x4096xbf16>, tensor<4096x10xbf16>) outs(%c : tensor<256x10xf32>) -> tensor<256x10xf32>
  return %r : tensor<256x10xf32>
}

// -----

// Into a +0.0 fill, in one k block (k = 64: 2 steps, within the 16-step
// blocks), the AMX tiles start zeroed: the tile is marked
// ampc.amx_zero_init (and reads an empty C, not the fill). Deeper than one
// block (k = 1024: 32 steps) or into another C, the tiles load C.
// AMX-LABEL: func.func @amx_zero_init
// AMX: attrs =  {ampc.amx_tile, ampc.amx_zero_init}
// AMX-LABEL: func.func @amx_deep_k
// AMX-NOT: ampc.amx_zero_init
// AMX: attrs =  {ampc.amx_tile}
// AMX-NOT: ampc.amx_zero_init
// AMX-LABEL: func.func @amx_into_c
// AMX-NOT: ampc.amx_zero_init
// AMX: attrs =  {ampc.amx_tile}
// AMX-NOT: ampc.amx_zero_init
func.func @amx_zero_init(%a: tensor<64x64xbf16>, %b: tensor<64x64xbf16>) -> tensor<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x64xbf16>, tensor<64x64xbf16>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}
func.func @amx_deep_k(%a: tensor<64x1024xbf16>, %b: tensor<1024x64xbf16>) -> tensor<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x1024xbf16>, tensor<1024x64xbf16>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}
func.func @amx_into_c(%a: tensor<64x64xbf16>, %b: tensor<64x64xbf16>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x64xbf16>, tensor<64x64xbf16>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}
