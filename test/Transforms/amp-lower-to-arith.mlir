// RUN: ampc-opt %s -split-input-file -amp-lower-to-arith | FileCheck %s
// RUN: ampc-opt %s -split-input-file -amp-lower-to-arith | FileCheck %s --check-prefix=NOAMP

// NOAMP-NOT: amp.

// A scalar cast to fp8 is integer arithmetic on the f32 bits, ending in a
// bitcast of the 8-bit pattern: normal results round with one carry addition
// (half an ulp less one, 2^19 - 1, plus the lowest kept bit) and rebias (120
// << 3 = 960); below the smallest normal (2^-6, compared as a float: the
// input's magnitude is a non-negative f32), adding 2^14 in f32 rounds the
// subnormal into the low bits. Overflow is read on the input: beyond 464
// (the midpoint above 448, 0x7E, which a tie rounds down to) or NaN, one
// unordered comparison whose result, f8E4M3FN's NaN (0x7F), is also what a
// NaN becomes: no second comparison.
// CHECK-LABEL: func.func @scalar_to_e4m3
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.constant 524287 : i32
// CHECK: arith.constant 960 : i32
// CHECK: arith.constant 1.638400e+04 : f32
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: arith.constant 1.562500e-02 : f32
// CHECK: arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK: arith.constant 4.640000e+02 : f32
// CHECK: arith.cmpf ugt, %{{.*}}, %{{.*}} : f32
// CHECK: arith.constant 127 : i32
// CHECK-NOT: arith.cmp
// CHECK: %[[T:.*]] = arith.trunci %{{.*}} : i32 to i8
// CHECK: %[[R:.*]] = arith.bitcast %[[T]] : i8 to f8E4M3FN
// CHECK: return %[[R]]
func.func @scalar_to_e4m3(%x: f32) -> f8E4M3FN {
  %0 = amp.cast %x : f32 to f8E4M3FN
  return %0 : f8E4M3FN
}

// -----

// A tensor cast is an elementwise linalg.generic into a fresh tensor, with
// dynamic sizes taken from the input.
// CHECK-LABEL: func.func @tensor_to_bf16
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>)
// CHECK: %[[D:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x8xf32>
// CHECK: %[[E:.*]] = tensor.empty(%[[D]]) : tensor<?x8xbf16>
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<?x8xf32>) outs(%[[E]] : tensor<?x8xbf16>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: bf16):
// CHECK: arith.bitcast %[[IN]] : f32 to i32
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
// CHECK: linalg.yield
func.func @tensor_to_bf16(%x: tensor<?x8xf32>) -> tensor<?x8xbf16> {
  %0 = amp.cast %x : tensor<?x8xf32> to tensor<?x8xbf16>
  return %0 : tensor<?x8xbf16>
}

// -----

// Quantizing multiplies by the scale in f32 first; dequantizing decodes to
// f32 and divides.
// CHECK-LABEL: func.func @scaled
// CHECK-SAME: (%[[X:.*]]: f32, %[[Q:.*]]: f8E5M2, %[[S:.*]]: f32)
// CHECK: %[[P:.*]] = arith.mulf %[[X]], %[[S]] : f32
// CHECK: arith.bitcast %[[P]] : f32 to i32
// CHECK: arith.bitcast %[[Q]] : f8E5M2 to i8
// CHECK: arith.divf %{{.*}}, %[[S]] : f32
func.func @scaled(%x: f32, %q: f8E5M2, %s: f32) -> (f8E4M3FN, f32) {
  %0 = amp.cast %x scale %s : f32 to f8E4M3FN
  %1 = amp.cast %q scale %s : f8E5M2 to f32
  return %0, %1 : f8E4M3FN, f32
}

// -----

// Unscaling: the inverse scale is 1/scale in f64, rounded to f32 once; the
// gradients are multiplied by it; found_inf ORs a non-finite check of every
// gradient: over a tensor, whether the largest magnitude's bit pattern (a
// signed integer maximum, sign bits cleared) is at least inf's.
// CHECK-LABEL: func.func @unscale
// CHECK-SAME: (%[[G:.*]]: tensor<4xf32>, %[[H:.*]]: f32, %[[S:.*]]: f32)
// CHECK: %[[S64:.*]] = arith.extf %[[S]] : f32 to f64
// CHECK: %[[INV64:.*]] = arith.divf %{{.*}}, %[[S64]] : f64
// CHECK: %[[INV:.*]] = arith.truncf %[[INV64]] : f64 to f32
// CHECK: linalg.generic {{.*}} ins(%[[G]] : tensor<4xf32>)
// CHECK: arith.mulf %{{.*}}, %[[INV]] : f32
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} ins(%[[G]] : tensor<4xf32>) outs(%{{.*}} : tensor<i32>)
// CHECK: %[[BITS:.*]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK: %[[ABS:.*]] = arith.andi %[[BITS]], %c2147483647_i32
// CHECK: arith.maxsi %[[ABS]], %{{.*}} : i32
// CHECK-NOT: arith.cmpf
// CHECK: %[[LARGEST:.*]] = tensor.extract %[[MAX]][] : tensor<i32>
// CHECK: %[[BAD:.*]] = arith.cmpi sge, %[[LARGEST]], %c2139095040_i32
// CHECK: %[[FOUND:.*]] = arith.ori %{{.*}}, %[[BAD]] : i1
// CHECK: arith.mulf %[[H]], %[[INV]] : f32
// CHECK: arith.cmpf uge
// CHECK: arith.ori %[[FOUND]], %{{.*}} : i1
func.func @unscale(%g: tensor<4xf32>, %h: f32, %s: f32) -> (tensor<4xf32>, f32, i1) {
  %u:2, %found = amp.unscale_grads (%g, %h) by %s : (tensor<4xf32>, f32) -> (tensor<4xf32>, f32)
  return %u#0, %u#1, %found : tensor<4xf32>, f32, i1
}

// -----

// The state update selects between the overflow and the no-overflow branch;
// growth and backoff are applied in f64 and rounded to f32.
// CHECK-LABEL: func.func @update
// CHECK-DAG: arith.constant 2.000000e+00 : f64
// CHECK-DAG: arith.constant 5.000000e-01 : f64
// CHECK-DAG: arith.constant 100 : i32
// CHECK-DAG: arith.constant 1.000000e+00 : f32
// CHECK-DAG: arith.maximumf
// CHECK-DAG: arith.minimumf
// CHECK-COUNT-3: arith.select %{{.*}}, %{{.*}}, %{{.*}} : {{f32|i32}}
func.func @update(%s: f32, %g: i32, %h: i32, %inf: i1) -> (f32, i32, i32) {
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {growth_interval = 100, min_scale = 1.0, max_scale = 65536.0}
  return %0#0, %0#1, %0#2 : f32, i32, i32
}

// -----

// Skipping a step is a select per value; amax a signed maximum of the
// magnitudes' bit patterns (sign bit cleared; NaN if above +inf's). The
// history update (one column per amax) first writes the amaxes into the
// history's row at the position (0 when out of range), then reduces the
// rows of the block (of 4) that row is in into each column as the scale
// reads maxima: a signed and an unsigned maximum of the bit patterns,
// starting from the amaxes (NaN if the first is above +inf's or the second
// above -inf's). No row is skipped and no row index is read. The block's
// maxima go into the block maxima the same way, whose rows give the
// scales' maxima. The scales divide each column's format maximum (448,
// 57344) by them, keeping the old scale unless positive and finite; the
// position wraps after 15.
// CHECK-LABEL: func.func @select_and_fp8
// CHECK-SAME: %[[H:[^:]*]]: tensor<16x2xf32>, %[[M:[^:]*]]: tensor<4x2xf32>, %[[P:[^:]*]]: i32, %[[OLD:[^:]*]]: tensor<2xf32>
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : tensor<4xf32>
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%c0_i32 : i32)
// CHECK: %[[AMAX:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]{{.*}} outs(%[[ZERO]] : tensor<i32>)
// CHECK: %[[BITS:.*]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK: %[[ABS:.*]] = arith.andi %[[BITS]], %c2147483647_i32
// CHECK: arith.maxsi %[[ABS]], %{{.*}} : i32
// CHECK-NOT: arith.maximumf
// CHECK: %[[AMAXBITS:.*]] = tensor.extract %[[AMAX]][] : tensor<i32>
// CHECK: %[[AMAXNAN:.*]] = arith.cmpi sgt, %[[AMAXBITS]], %c2139095040_i32
// CHECK: %[[QNAN:.*]] = arith.constant 0x7FC00000 : f32
// CHECK: %[[AMAXF:.*]] = arith.bitcast %[[AMAXBITS]] : i32 to f32
// CHECK: %[[NEWAMAX:.*]] = arith.select %[[AMAXNAN]], %[[QNAN]], %[[AMAXF]] : f32
// CHECK: %[[V:.*]] = tensor.from_elements %[[NEWAMAX]], %[[NEWAMAX]] : tensor<2xf32>
// CHECK: %[[INRANGE:.*]] = arith.cmpi ult, %[[P]], %c16_i32 : i32
// CHECK: %[[POS:.*]] = arith.select %[[INRANGE]], %[[P]], %[[ZERO32:.*]] : i32
// CHECK: %[[I:.*]] = arith.index_castui %[[POS]] : i32 to index
// CHECK: %[[HIST:.*]] = tensor.insert_slice %[[V]] into %[[H]][%[[I]], 0] [1, 2] [1, 1] : tensor<2xf32> into tensor<16x2xf32>
// CHECK: %[[BLOCK:.*]] = arith.divui %[[I]], %c4 : index
// CHECK: %[[START:.*]] = arith.muli %[[BLOCK]], %c4 : index
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[HIST]][%[[START]], 0] [4, 2] [1, 1] : tensor<16x2xf32> to tensor<4x2xf32>
// CHECK: %[[VBITS:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<2xf32>) outs(%{{.*}} : tensor<2xi32>)
// CHECK: %[[S1:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[ROWS]] : tensor<4x2xf32>) outs(%[[VBITS]] : tensor<2xi32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.bitcast
// CHECK-NEXT: arith.maxsi
// CHECK-NEXT: linalg.yield
// CHECK: %[[U1:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[ROWS]] : tensor<4x2xf32>) outs(%[[VBITS]] : tensor<2xi32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.bitcast
// CHECK-NEXT: arith.maxui
// CHECK-NEXT: linalg.yield
// CHECK: %[[BMAX:.*]] = linalg.generic {{.*}} ins(%[[S1]], %[[U1]] : tensor<2xi32>, tensor<2xi32>) outs(%{{.*}} : tensor<2xf32>)
// CHECK: arith.cmpi sgt, %{{.*}}, %c2139095040_i32
// CHECK: arith.cmpi ugt, %{{.*}}, %c-8388608_i32
// CHECK: %[[NEXT:.*]] = arith.addi %[[POS]], %c1_i32 : i32
// CHECK: %[[WRAP:.*]] = arith.cmpi eq, %[[NEXT]], %c16_i32 : i32
// CHECK: %[[NEWPOS:.*]] = arith.select %[[WRAP]], %[[ZERO32]], %[[NEXT]] : i32
// CHECK: %[[BLOCKS:.*]] = tensor.insert_slice %[[BMAX]] into %[[M]][%[[BLOCK]], 0] [1, 2] [1, 1] : tensor<2xf32> into tensor<4x2xf32>
// CHECK: %[[BBITS:.*]] = linalg.generic {{.*}} ins(%[[BMAX]] : tensor<2xf32>) outs(%{{.*}} : tensor<2xi32>)
// CHECK: %[[S2:.*]] = linalg.generic {{.*}} ins(%[[BLOCKS]] : tensor<4x2xf32>) outs(%[[BBITS]] : tensor<2xi32>)
// CHECK: arith.maxsi
// CHECK: %[[U2:.*]] = linalg.generic {{.*}} ins(%[[BLOCKS]] : tensor<4x2xf32>) outs(%[[BBITS]] : tensor<2xi32>)
// CHECK: arith.maxui
// CHECK: %[[REDUCED:.*]] = linalg.generic {{.*}} ins(%[[S2]], %[[U2]] : tensor<2xi32>, tensor<2xi32>)
// CHECK: %[[FMAX:.*]] = arith.constant dense<[4.480000e+02, 5.734400e+04]> : tensor<2xf32>
// CHECK: %[[SCALES:.*]] = linalg.generic {{.*}} ins(%[[REDUCED]], %[[FMAX]], %[[OLD]] : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>)
// CHECK: arith.divf
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: return %{{.*}}, %[[HIST]], %[[BLOCKS]], %[[NEWPOS]], %[[SCALES]] : tensor<4xf32>, tensor<16x2xf32>, tensor<4x2xf32>, i32, tensor<2xf32>
func.func @select_and_fp8(%inf: i1, %a: tensor<4xf32>, %b: tensor<4xf32>, %x: tensor<2x3xbf16>,
                          %h: tensor<16x2xf32>, %m: tensor<4x2xf32>, %p: i32, %s: tensor<2xf32>)
    -> (tensor<4xf32>, tensor<16x2xf32>, tensor<4x2xf32>, i32, tensor<2xf32>) {
  %0 = amp.select_update %inf, old(%a : tensor<4xf32>), new(%b : tensor<4xf32>)
  %1 = amp.amax %x : tensor<2x3xbf16>
  %v = tensor.from_elements %1, %1 : tensor<2xf32>
  %2:4 = amp.update_amax_history %h, %m, %p, %v, %s formats [f8E4M3FN, f8E5M2] : tensor<16x2xf32>, tensor<4x2xf32>, tensor<2xf32>
  return %0, %2#0, %2#1, %2#2, %2#3 : tensor<4xf32>, tensor<16x2xf32>, tensor<4x2xf32>, i32, tensor<2xf32>
}

// -----

// A history of 1024 rows in 32 blocks: an update writes one row of the
// history, then reads the 32 rows of its block, whatever the length: as 2
// rows of 48 (16 rows of 3 columns fill 3 vectors of 16 lanes), reduced
// into 48 maxima from each maximum's identity, and those as 16 rows of 3
// into the columns. The 32 rows of block maxima the same way, after the
// block's row is written; nothing copies the history.
// CHECK-LABEL: func.func @long_history
// CHECK-SAME: (%[[H:[^:]*]]: tensor<1024x3xf32>, %[[M:[^:]*]]: tensor<32x3xf32>
// CHECK-NOT: tensor.concat
// CHECK: %[[HIST:.*]] = tensor.insert_slice %{{.*}} into %[[H]][%{{.*}}, 0] [1, 3] [1, 1] : tensor<3xf32> into tensor<1024x3xf32>
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[HIST]][%{{.*}}, 0] [32, 3] [1, 1] : tensor<1024x3xf32> to tensor<32x3xf32>
// CHECK: %[[SFILL:.*]] = linalg.fill ins(%c-2147483648_i32{{.*}} : i32) outs(%{{.*}} : tensor<48xi32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[ROWS]] {{\[\[}}0, 1], [2]] output_shape [2, 16, 3] : tensor<32x3xf32> into tensor<2x16x3xf32>
// CHECK: %[[G:.*]] = tensor.collapse_shape %[[E]] {{\[\[}}0], [1, 2]] : tensor<2x16x3xf32> into tensor<2x48xf32>
// CHECK: %[[P:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[G]] : tensor<2x48xf32>) outs(%[[SFILL]] : tensor<48xi32>)
// CHECK: arith.maxsi
// CHECK: %[[PR:.*]] = tensor.expand_shape %[[P]] {{\[\[}}0, 1]] output_shape [16, 3] : tensor<48xi32> into tensor<16x3xi32>
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[PR]] : tensor<16x3xi32>) outs(%{{.*}} : tensor<3xi32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.maxsi
// CHECK: linalg.fill ins(%c0_i32{{.*}} : i32) outs(%{{.*}} : tensor<48xi32>)
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x48xf32>) outs(%{{.*}} : tensor<48xi32>)
// CHECK: arith.maxui
// CHECK-NOT: ins(%[[H]]
// CHECK: %[[BLOCKS:.*]] = tensor.insert_slice %{{.*}} into %[[M]][%{{.*}}, 0] [1, 3] [1, 1] : tensor<3xf32> into tensor<32x3xf32>
// CHECK: tensor.expand_shape %[[BLOCKS]] {{\[\[}}0, 1], [2]] output_shape [2, 16, 3]
// CHECK-NOT: ins(%[[H]]
// CHECK-NOT: ins(%[[M]]
// CHECK-NOT: tensor.concat
// CHECK: return %[[HIST]], %[[BLOCKS]]
func.func @long_history(%h: tensor<1024x3xf32>, %m: tensor<32x3xf32>, %p: i32, %amax: tensor<3xf32>, %s: tensor<3xf32>)
    -> (tensor<1024x3xf32>, tensor<32x3xf32>, i32, tensor<3xf32>) {
  %r:4 = amp.update_amax_history %h, %m, %p, %amax, %s formats [f8E4M3FN, f8E4M3FN, f8E5M2] : tensor<1024x3xf32>, tensor<32x3xf32>, tensor<3xf32>
  return %r#0, %r#1, %r#2, %r#3 : tensor<1024x3xf32>, tensor<32x3xf32>, i32, tensor<3xf32>
}

// -----

// Blocks of one row hold the amaxes themselves: no block is reduced; the
// history, with the amaxes written into it, is the block maxima. One block
// is the maximum: nothing is reduced over the block maxima.
// CHECK-LABEL: func.func @degenerate_blocks
// CHECK-SAME: (%[[H4:[^:]*]]: tensor<4x1xf32>, %[[H8:[^:]*]]: tensor<8x1xf32>, %[[M1:[^:]*]]: tensor<1x1xf32>, %{{[^:]*}}: i32, %[[A:[^:]*]]: tensor<1xf32>
// CHECK-NOT: tensor.extract_slice
// CHECK: tensor.insert_slice %[[A]] into %[[H4]][%{{.*}}, 0] [1, 1] [1, 1] : tensor<1xf32> into tensor<4x1xf32>
// CHECK: %[[B4:.*]] = tensor.insert_slice %[[A]] into %[[H4]][%{{.*}}, 0] [1, 1] [1, 1] : tensor<1xf32> into tensor<4x1xf32>
// CHECK: linalg.generic {{.*}} ins(%[[B4]] : tensor<4x1xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[B4]] : tensor<4x1xf32>)
// CHECK: %[[HIST8:.*]] = tensor.insert_slice %[[A]] into %[[H8]][%{{.*}}, 0] [1, 1] [1, 1] : tensor<1xf32> into tensor<8x1xf32>
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[HIST8]][%{{.*}}, 0] [8, 1] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[ROWS]] : tensor<8x1xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[ROWS]] : tensor<8x1xf32>)
// CHECK-NOT: ins(%[[M1]]
// CHECK: tensor.insert_slice %{{.*}} into %[[M1]][%{{.*}}, 0] [1, 1] [1, 1] : tensor<1xf32> into tensor<1x1xf32>
// CHECK-NOT: "reduction"
// CHECK: return
func.func @degenerate_blocks(%h4: tensor<4x1xf32>, %h8: tensor<8x1xf32>, %m1: tensor<1x1xf32>,
                             %p: i32, %amax: tensor<1xf32>, %s: tensor<1xf32>) -> (tensor<1xf32>, tensor<1xf32>) {
  %r:4 = amp.update_amax_history %h4, %h4, %p, %amax, %s formats [f8E4M3FN] : tensor<4x1xf32>, tensor<4x1xf32>, tensor<1xf32>
  %q:4 = amp.update_amax_history %h8, %m1, %p, %amax, %s formats [f8E5M2] : tensor<8x1xf32>, tensor<1x1xf32>, tensor<1xf32>
  return %r#3, %q#3 : tensor<1xf32>, tensor<1xf32>
}

// arith.extf / arith.truncf with an fp8 side (the bodies of fp8 contractions)
// are lowered on bit patterns too; bf16 -> f32 becomes a 16-bit shift; other
// conversions (f16) are left to LLVM.
// CHECK-LABEL: func.func @small_float_conversions
// CHECK-SAME: (%[[A:.*]]: f8E4M3FN, %[[B:.*]]: bf16, %[[H:.*]]: f16, %[[C:.*]]: f32)
// CHECK-NOT: arith.extf %[[A]]
// CHECK: arith.bitcast %[[A]] : f8E4M3FN to i8
// CHECK: %[[BI:.*]] = arith.bitcast %[[B]] : bf16 to i16
// CHECK: %[[BW:.*]] = arith.extui %[[BI]] : i16 to i32
// CHECK: %[[BS:.*]] = arith.shli %[[BW]], %{{.*}} : i32
// CHECK: arith.bitcast %[[BS]] : i32 to f32
// CHECK: arith.extf %[[H]] : f16 to f32
// CHECK-NOT: arith.truncf
// CHECK: arith.bitcast %{{.*}} : i8 to f8E5M2
func.func @small_float_conversions(%a: f8E4M3FN, %b: bf16, %h: f16, %c: f32) -> (f32, f32, f32, f8E5M2) {
  %0 = arith.extf %a : f8E4M3FN to f32
  %1 = arith.extf %b : bf16 to f32
  %2 = arith.extf %h : f16 to f32
  %3 = arith.truncf %c : f32 to f8E5M2
  return %0, %1, %2, %3 : f32, f32, f32, f8E5M2
}

// -----

// A quantization read back widened (an fp8 operand of a contraction the CPU
// computes in f32 or bf16) is rounded in f32: one addition and one
// subtraction of 1.5 * 2^(e + 21), e the input's exponent field (& 0x7F800000
// = 2139095040) plus 21 << 23 | 0x400000 (= 180355072), but at least 192.0
// (0x43400000 = 1128267776, from E5M2's smallest normal 2^-14: its quantum
// 2^-16 is 192's ulp); overflow beyond 61440 (the midpoint above
// 57344, which a tie rounds up from: 0x476FFFFF, 61439.9961, is the last
// value in range) saturating to 57344 (0x47600000 = 1197473792); no 8-bit pattern. The bf16 result is the
// upper half. A cast with another reader keeps its own lowering for it.
// CHECK-LABEL: func.func @quantize_then_widen
// CHECK-SAME: (%[[X:.*]]: f32, %[[S:.*]]: f32, %[[T:.*]]: tensor<4x8xf32>)
// CHECK: %[[P:.*]] = arith.mulf %[[X]], %[[S]] : f32
// CHECK: %[[PB:.*]] = arith.bitcast %[[P]] : f32 to i32
// CHECK: %[[EXP:.*]] = arith.andi %[[PB]], %c2139095040_i32 : i32
// CHECK: %[[AT:.*]] = arith.addi %[[EXP]], %c180355072_i32 : i32
// CHECK: %[[MAGIC:.*]] = arith.maxsi %[[AT]], %c1128267776_i32 : i32
// CHECK: %[[MAGICF:.*]] = arith.bitcast %[[MAGIC]] : i32 to f32
// CHECK: %[[SUM:.*]] = arith.addf %[[P]], %[[MAGICF]] : f32
// CHECK: arith.subf %[[SUM]], %[[MAGICF]] : f32
// CHECK: arith.constant 61439.9961 : f32
// CHECK: arith.constant 1197473792 : i32
// CHECK-NOT: i8
// CHECK: %[[SIGNED:.*]] = arith.ori
// CHECK-NEXT: %[[W:.*]] = arith.bitcast %[[SIGNED]] : i32 to f32
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[T]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<4x8xbf16>)
// CHECK: arith.subf %{{.*}}, %{{.*}} : f32
// CHECK: arith.trunci %{{.*}} : i32 to i16
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
// CHECK-NOT: i8
// CHECK: %[[E:.*]] = linalg.generic {{.*}} ins(%[[T]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<4x8xf8E4M3FN>)
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[T]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK-NOT: i8
// CHECK: linalg.yield
// CHECK: return %[[W]], %[[G]], %[[E]], %[[R]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @quantize_then_widen(%x: f32, %s: f32, %t: tensor<4x8xf32>)
    -> (f32, tensor<4x8xbf16>, tensor<4x8xf8E4M3FN>, tensor<4x8xf32>) {
  %q = amp.cast %x scale %s : f32 to f8E5M2
  %w = arith.extf %q : f8E5M2 to f32
  %qt = amp.cast %t : tensor<4x8xf32> to tensor<4x8xf8E5M2>
  %wt = arith.extf %qt : tensor<4x8xf8E5M2> to tensor<4x8xbf16>
  %q4 = amp.cast %t : tensor<4x8xf32> to tensor<4x8xf8E4M3FN>
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%q4 : tensor<4x8xf8E4M3FN>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f8E4M3FN, %out: f32):
    %v = arith.extf %in : f8E4M3FN to f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  return %w, %wt, %q4, %r : f32, tensor<4x8xbf16>, tensor<4x8xf8E4M3FN>, tensor<4x8xf32>
}

// -----

// f32 -> bf16 read back as f32: the rounded pattern's upper half kept in
// place (& 0xffff0000 = -65536), no shift and no 16-bit value in between.
// CHECK-LABEL: func.func @bf16_then_widen
// CHECK-NOT: i16
// CHECK: arith.constant 32767 : i32
// CHECK-NOT: arith.shli
// CHECK: %[[R:.*]] = arith.andi %{{.*}}, %c-65536_i32 : i32
// CHECK: %[[W:.*]] = arith.bitcast %[[R]] : i32 to f32
// CHECK-NOT: i16
// CHECK: return %[[W]]
func.func @bf16_then_widen(%x: f32) -> f32 {
  %q = amp.cast %x : f32 to bf16
  %w = arith.extf %q : bf16 to f32
  return %w : f32
}
