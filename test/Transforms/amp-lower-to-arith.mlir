// RUN: ampc-opt %s -split-input-file -amp-lower-to-arith | FileCheck %s
// RUN: ampc-opt %s -split-input-file -amp-lower-to-arith | FileCheck %s --check-prefix=NOAMP

// NOAMP-NOT: amp.

// A scalar cast to fp8 is integer arithmetic on the f32 bits, ending in a
// bitcast of the 8-bit pattern: normal results round with one carry addition
// (half an ulp less one, 2^19 - 1, plus the lowest kept bit) and rebias (120
// << 3 = 960); below the smallest normal (2^-6: 0x3C800000 = 1015021568),
// adding 2^14 in f32 rounds the subnormal into the low bits; overflow
// compares against 0x7E (448) unsigned.
// CHECK-LABEL: func.func @scalar_to_e4m3
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.constant 524287 : i32
// CHECK: arith.constant 960 : i32
// CHECK: arith.constant 1.638400e+04 : f32
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: arith.constant 1015021568 : i32
// CHECK: arith.cmpi ult, %{{.*}}, %{{.*}} : i32
// CHECK: arith.constant 126 : i32
// CHECK: arith.cmpi ugt, %{{.*}}, %{{.*}} : i32
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
// gradients are multiplied by it; found_inf ORs a non-finite check over all
// elements of every gradient.
// CHECK-LABEL: func.func @unscale
// CHECK-SAME: (%[[G:.*]]: tensor<4xf32>, %[[H:.*]]: f32, %[[S:.*]]: f32)
// CHECK: %[[S64:.*]] = arith.extf %[[S]] : f32 to f64
// CHECK: %[[INV64:.*]] = arith.divf %{{.*}}, %[[S64]] : f64
// CHECK: %[[INV:.*]] = arith.truncf %[[INV64]] : f64 to f32
// CHECK: linalg.generic {{.*}} ins(%[[G]] : tensor<4xf32>)
// CHECK: arith.mulf %{{.*}}, %[[INV]] : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} ins(%[[G]] : tensor<4xf32>) outs(%{{.*}} : tensor<i1>)
// CHECK: arith.cmpf uge
// CHECK: arith.ori
// CHECK: arith.mulf %[[H]], %[[INV]] : f32
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
// magnitudes' bit patterns (sign bit cleared; NaN if above +inf's); the
// history update reads the block the new amax lands in (of 4) from the
// old history, before anything is written, with the overwritten entry
// replaced by -0.0 (the smallest signed pattern), and takes its maximum
// with the amax as the scale reads maxima: a signed and an unsigned
// maximum of the bit patterns (NaN if the first is above +inf's or the
// second above -inf's). The scale's maximum is that of the old block
// maxima, the changed one masked the same way, and the new one. Then the
// amax goes into the history at its position (0 when out of range) and
// the block's maximum into the block maxima; the position wraps after 15.
// CHECK-LABEL: func.func @select_and_fp8
// CHECK-SAME: %[[H:[^:]*]]: tensor<16xf32>, %[[M:[^:]*]]: tensor<4xf32>
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
// CHECK: %[[INRANGE:.*]] = arith.cmpi ult, %[[P:.*]], %c16_i32 : i32
// CHECK: %[[POS:.*]] = arith.select %[[INRANGE]], %[[P]], %[[ZERO32:.*]] : i32
// CHECK: %[[I:.*]] = arith.index_castui %[[POS]] : i32 to index
// CHECK: %[[BLOCK:.*]] = arith.divui %[[I]], %c4 : index
// CHECK: %[[START:.*]] = arith.muli %[[BLOCK]], %c4 : index
// CHECK: %[[ENTRIES:.*]] = tensor.extract_slice %[[H]][%[[START]]] [4] [1] : tensor<16xf32> to tensor<4xf32>
// CHECK: %[[OFFSET:.*]] = arith.subi %[[I]], %[[START]] : index
// CHECK: %[[REST:.*]] = linalg.generic {{.*}} ins(%[[ENTRIES]] : tensor<4xf32>)
// CHECK: %[[AT:.*]] = linalg.index 0 : index
// CHECK: %[[HERE:.*]] = arith.cmpi eq, %[[AT]], %[[OFFSET]] : index
// CHECK: %[[NEGZERO:.*]] = arith.constant -0.000000e+00 : f32
// CHECK: arith.select %[[HERE]], %[[NEGZERO]], %{{.*}} : f32
// CHECK: linalg.generic {{.*}} ins(%[[REST]] : tensor<4xf32>)
// CHECK: arith.maxsi
// CHECK: linalg.generic {{.*}} ins(%[[REST]] : tensor<4xf32>)
// CHECK: arith.maxui
// CHECK: %[[BMAX:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: %[[NEXT:.*]] = arith.addi %[[POS]], %c1_i32 : i32
// CHECK: %[[WRAP:.*]] = arith.cmpi eq, %[[NEXT]], %c16_i32 : i32
// CHECK: %[[NEWPOS:.*]] = arith.select %[[WRAP]], %[[ZERO32]], %[[NEXT]] : i32
// CHECK: %[[OTHERS:.*]] = linalg.generic {{.*}} ins(%[[M]] : tensor<4xf32>)
// CHECK: %[[AT2:.*]] = linalg.index 0 : index
// CHECK: arith.cmpi eq, %[[AT2]], %[[BLOCK]] : index
// CHECK: %[[BMAXBITS:.*]] = arith.bitcast %[[BMAX]] : f32 to i32
// CHECK: %[[SMAX:.*]] = linalg.generic {{.*}} ins(%[[OTHERS]] : tensor<4xf32>)
// CHECK: arith.maxsi
// CHECK: %[[SOLD:.*]] = tensor.extract %[[SMAX]][]
// CHECK: %[[S:.*]] = arith.maxsi %[[BMAXBITS]], %[[SOLD]] : i32
// CHECK: %[[UMAX:.*]] = linalg.generic {{.*}} ins(%[[OTHERS]] : tensor<4xf32>)
// CHECK: arith.maxui
// CHECK: %[[UOLD:.*]] = tensor.extract %[[UMAX]][]
// CHECK: %[[U:.*]] = arith.maxui %[[BMAXBITS]], %[[UOLD]] : i32
// CHECK-DAG: arith.cmpi sgt, %[[S]], %c2139095040_i32
// CHECK-DAG: arith.cmpi ugt, %[[U]], %c-8388608_i32
// CHECK: %[[HIST:.*]] = tensor.insert %[[NEWAMAX]] into %[[H]][%[[I]]] : tensor<16xf32>
// CHECK: %[[BLOCKS:.*]] = tensor.insert %[[BMAX]] into %[[M]][%[[BLOCK]]] : tensor<4xf32>
// CHECK: arith.constant 4.480000e+02 : f32
// CHECK: arith.divf
// CHECK: return %{{.*}}, %[[HIST]], %[[BLOCKS]], %[[NEWPOS]], %{{.*}} : tensor<4xf32>, tensor<16xf32>, tensor<4xf32>, i32, f32
func.func @select_and_fp8(%inf: i1, %a: tensor<4xf32>, %b: tensor<4xf32>, %x: tensor<2x3xbf16>,
                          %h: tensor<16xf32>, %m: tensor<4xf32>, %p: i32, %s: f32)
    -> (tensor<4xf32>, tensor<16xf32>, tensor<4xf32>, i32, f32) {
  %0 = amp.select_update %inf, old(%a : tensor<4xf32>), new(%b : tensor<4xf32>)
  %1 = amp.amax %x : tensor<2x3xbf16>
  %2:4 = amp.update_amax_history %h, %m, %p, %1, %s format f8E4M3FN : tensor<16xf32>, tensor<4xf32>
  return %0, %2#0, %2#1, %2#2, %2#3 : tensor<4xf32>, tensor<16xf32>, tensor<4xf32>, i32, f32
}

// -----

// A history of 1024 in 32 blocks: an update reads 32 values of the history
// and the 32 block maxima, whatever the length, both before it writes;
// nothing copies the history.
// CHECK-LABEL: func.func @long_history
// CHECK-SAME: (%[[H:[^:]*]]: tensor<1024xf32>, %[[M:[^:]*]]: tensor<32xf32>
// CHECK-NOT: tensor.concat
// CHECK: %[[ENTRIES:.*]] = tensor.extract_slice %[[H]][%{{.*}}] [32] [1] : tensor<1024xf32> to tensor<32xf32>
// CHECK: %[[REST:.*]] = linalg.generic {{.*}} ins(%[[ENTRIES]] : tensor<32xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[REST]] : tensor<32xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[REST]] : tensor<32xf32>)
// CHECK: %[[OTHERS:.*]] = linalg.generic {{.*}} ins(%[[M]] : tensor<32xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[OTHERS]] : tensor<32xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[OTHERS]] : tensor<32xf32>)
// CHECK-NOT: linalg.generic
// CHECK: tensor.insert %{{.*}} into %[[H]][%{{.*}}] : tensor<1024xf32>
// CHECK: tensor.insert %{{.*}} into %[[M]][%{{.*}}] : tensor<32xf32>
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK: return
func.func @long_history(%h: tensor<1024xf32>, %m: tensor<32xf32>, %p: i32, %amax: f32, %s: f32)
    -> (tensor<1024xf32>, tensor<32xf32>, i32, f32) {
  %r:4 = amp.update_amax_history %h, %m, %p, %amax, %s format f8E4M3FN : tensor<1024xf32>, tensor<32xf32>
  return %r#0, %r#1, %r#2, %r#3 : tensor<1024xf32>, tensor<32xf32>, i32, f32
}

// -----

// Blocks of one value hold the amaxes themselves: no block is reduced (the
// old amaxes, the overwritten one masked, are the block maxima). One block
// is the maximum: nothing is reduced over the block maxima.
// CHECK-LABEL: func.func @degenerate_blocks
// CHECK-SAME: (%[[H4:[^:]*]]: tensor<4xf32>, %[[H8:[^:]*]]: tensor<8xf32>
// CHECK-NOT: tensor.extract_slice
// CHECK: %[[REST4:.*]] = linalg.generic {{.*}} ins(%[[H4]] : tensor<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[REST4]] : tensor<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[REST4]] : tensor<4xf32>)
// CHECK: tensor.insert %[[A:.*]] into %[[H4]][%{{.*}}] : tensor<4xf32>
// CHECK: tensor.insert %[[A]] into %[[H4]][%{{.*}}] : tensor<4xf32>
// CHECK: tensor.extract_slice %[[H8]][%{{.*}}] [8] [1]
// CHECK: %[[REST8:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[REST8]] : tensor<8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[REST8]] : tensor<8xf32>)
// CHECK-NOT: linalg.generic
// CHECK: tensor.insert %[[A]] into %[[H8]][%{{.*}}] : tensor<8xf32>
// CHECK: tensor.insert %{{.*}} into %{{.*}}[%{{.*}}] : tensor<1xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @degenerate_blocks(%h4: tensor<4xf32>, %h8: tensor<8xf32>, %m1: tensor<1xf32>,
                             %p: i32, %amax: f32, %s: f32) -> (f32, f32) {
  %r:4 = amp.update_amax_history %h4, %h4, %p, %amax, %s format f8E4M3FN : tensor<4xf32>, tensor<4xf32>
  %q:4 = amp.update_amax_history %h8, %m1, %p, %amax, %s format f8E5M2 : tensor<8xf32>, tensor<1xf32>
  return %r#3, %q#3 : f32, f32
}

// -----

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
// computes in f32 or bf16) is rounded in f32: the carry addition masked
// (0xFFE00000 = -2097152 keeps E5M2's 2 mantissa bits), the subnormal magic
// (2^7) added and subtracted as floats, overflow against 57344 (0x47600000 =
// 1197473792) saturating to it; no 8-bit pattern. The bf16 result is the
// upper half. A cast with another reader keeps its own lowering for it.
// CHECK-LABEL: func.func @quantize_then_widen
// CHECK-SAME: (%[[X:.*]]: f32, %[[S:.*]]: f32, %[[T:.*]]: tensor<4x8xf32>)
// CHECK: %[[P:.*]] = arith.mulf %[[X]], %[[S]] : f32
// CHECK: arith.constant -2097152 : i32
// CHECK: arith.constant 1.280000e+02 : f32
// CHECK: arith.subf %{{.*}}, %{{.*}} : f32
// CHECK: arith.constant 1197473792 : i32
// CHECK-NOT: i8
// CHECK: %[[W:.*]] = arith.bitcast %{{.*}} : i32 to f32
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

// f32 -> bf16 read back as f32: the rounded pattern shifted into the upper
// half, no 16-bit value in between.
// CHECK-LABEL: func.func @bf16_then_widen
// CHECK-NOT: i16
// CHECK: arith.constant 32767 : i32
// CHECK: %[[R:.*]] = arith.shli %{{.*}}, %{{.*}} : i32
// CHECK: %[[W:.*]] = arith.bitcast %[[R]] : i32 to f32
// CHECK-NOT: i16
// CHECK: return %[[W]]
func.func @bf16_then_widen(%x: f32) -> f32 {
  %q = amp.cast %x : f32 to bf16
  %w = arith.extf %q : bf16 to f32
  return %w : f32
}
