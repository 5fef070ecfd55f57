// RUN: ampc-opt %s -split-input-file -ampc-fuse-elementwise -canonicalize | FileCheck %s
// RUN: ampc-opt %s -split-input-file -ampc-fuse-elementwise=into-reductions=true -canonicalize | FileCheck %s --check-prefix=INTO

// A bias add feeding a ReLU becomes one generic; the scaling that feeds the
// matmul stays a generic of its own (the matmul reduces over k, so fusing it
// would recompute the scaling once per k), and so does the sum.
// CHECK-LABEL: func.func @chain
// CHECK: %[[SCALED:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.mulf
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[SCALED]], %{{.*}} : tensor<4x8xf32>, tensor<8x6xf32>)
// CHECK: %[[ACT:.*]] = linalg.generic {{.*}} ins(%[[MM]], %{{.*}} : tensor<4x6xf32>, tensor<6xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.addf
// CHECK-NEXT: arith.maximumf
// CHECK-NEXT: linalg.yield
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[ACT]] : tensor<4x6xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return
// With into-reductions, the bias add and the ReLU are computed in the loop
// of the row sum, their only reader (each element read once): one generic,
// nothing written between them. The matmul's scaling still stays.
// INTO-LABEL: func.func @chain
// INTO: %[[SCALED:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// INTO: arith.mulf
// INTO: %[[MM:.*]] = linalg.matmul ins(%[[SCALED]], %{{.*}} : tensor<4x8xf32>, tensor<8x6xf32>)
// INTO: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[MM]], %{{.*}} : tensor<4x6xf32>, tensor<6xf32>) outs(%{{.*}} : tensor<4xf32>)
// INTO-NEXT: ^bb0
// INTO-NEXT: arith.addf
// INTO-NEXT: arith.maximumf
// INTO-NEXT: arith.addf
// INTO-NEXT: linalg.yield
// INTO-NOT: linalg.generic
// INTO: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @chain(%x: tensor<4x8xf32>, %w: tensor<8x6xf32>, %b: tensor<6xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %ex = tensor.empty() : tensor<4x8xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%ex : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %two : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %mm = linalg.matmul ins(%scaled, %w : tensor<4x8xf32>, tensor<8x6xf32>) outs(%f : tensor<4x6xf32>) -> tensor<4x6xf32>
  %biased = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<4x6xf32>, tensor<6xf32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4x6xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%biased : tensor<4x6xf32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x6xf32>
  %er = tensor.empty() : tensor<4xf32>
  %fr = linalg.fill ins(%zero : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%relu : tensor<4x6xf32>) outs(%fr : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %sum : tensor<4xf32>
}

// -----

// A scalar computed by a 0-d generic, read by a 2-D elementwise op through a
// broadcast and also returned: not fused (the fused op would have to keep
// the scalar as an output written by every iteration: the loss-scale seed of
// a training step's backward pass looked like this). With no other use it
// is fused (recomputed per element).
// CHECK-LABEL: func.func @broadcast_producer
// CHECK: %[[SEED:.*]] = linalg.generic {{.*}} iterator_types = []
// CHECK: arith.addf
// CHECK: %[[GRAD:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[SEED]] : tensor<4x6xf32>, tensor<f32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[SEED]], %[[GRAD]]
// CHECK-LABEL: func.func @broadcast_single_use
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<4x6xf32>, tensor<f32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.addf
// CHECK-NEXT: arith.mulf
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>
#none = affine_map<() -> ()>
func.func @broadcast_producer(%x: tensor<4x6xf32>, %s: tensor<f32>) -> (tensor<f32>, tensor<4x6xf32>) {
  %one = arith.constant 1.0 : f32
  %es = tensor.empty() : tensor<f32>
  %seed = linalg.generic {indexing_maps = [#none, #none], iterator_types = []}
      ins(%s : tensor<f32>) outs(%es : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %one : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %e = tensor.empty() : tensor<4x6xf32>
  %grad = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %seed : tensor<4x6xf32>, tensor<f32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x6xf32>
  return %seed, %grad : tensor<f32>, tensor<4x6xf32>
}
func.func @broadcast_single_use(%x: tensor<4x6xf32>, %s: tensor<f32>) -> tensor<4x6xf32> {
  %one = arith.constant 1.0 : f32
  %es = tensor.empty() : tensor<f32>
  %seed = linalg.generic {indexing_maps = [#none, #none], iterator_types = []}
      ins(%s : tensor<f32>) outs(%es : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %one : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %e = tensor.empty() : tensor<4x6xf32>
  %grad = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %seed : tensor<4x6xf32>, tensor<f32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x6xf32>
  return %grad : tensor<4x6xf32>
}

// -----

// A producer that reads its output (an adjoint accumulating into an
// earlier partial sum), read by a 2-D op through a broadcast: not fused even
// with a single use. Upstream fusion keeps such a producer as an output of
// the fused op, which every iteration of the broadcast dimension would add
// to again (a max reduction's gradient came out 14 times too large this way;
// found by ir_fuzzer).
// CHECK-LABEL: func.func @broadcast_producer_reads_init
// CHECK: %[[SEED:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]}
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[SEED]] : tensor<4x6xf32>, tensor<6xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.mulf
// CHECK-NOT: linalg.generic
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#vec = affine_map<(d0) -> (d0)>
func.func @broadcast_producer_reads_init(%x: tensor<4x6xf32>, %s: tensor<6xf32>, %partial: tensor<6xf32>) -> tensor<4x6xf32> {
  %seed = linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]}
      ins(%s : tensor<6xf32>) outs(%partial : tensor<6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = arith.addf %a, %a : f32
    %r = arith.addf %o, %d : f32
    linalg.yield %r : f32
  } -> tensor<6xf32>
  %e = tensor.empty() : tensor<4x6xf32>
  %grad = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %seed : tensor<4x6xf32>, tensor<6xf32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x6xf32>
  return %grad : tensor<4x6xf32>
}

// -----

// An adjoint accumulated into zeros (a fill, or the generic form
// linalg-generalize-named-ops leaves) by an all-parallel op reads the
// filled value instead: the init becomes a tensor.empty and the fill goes
// away. The sum keeps its `0 + x` (x = -0.0 gives +0.0, as before). Once
// the init is not read, the producer fuses into its broadcast reader.
// CHECK-LABEL: func.func @adjoint_into_zeros
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>, %[[S:.*]]: tensor<6xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x6xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[S]] : tensor<4x6xf32>, tensor<6xf32>) outs(%[[E]] : tensor<4x6xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32)
// CHECK-NEXT: %[[D:.*]] = arith.addf %[[B]], %[[B]] : f32
// CHECK-NEXT: %[[R:.*]] = arith.addf %[[D]], %[[ZERO]] : f32
// CHECK-NEXT: arith.mulf %[[A]], %[[R]] : f32
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.generic
#id2z = affine_map<(d0, d1) -> (d0, d1)>
#colz = affine_map<(d0, d1) -> (d1)>
#vecz = affine_map<(d0) -> (d0)>
func.func @adjoint_into_zeros(%x: tensor<4x6xf32>, %s: tensor<6xf32>) -> tensor<4x6xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<6xf32>
  %init = linalg.fill ins(%zero : f32) outs(%es : tensor<6xf32>) -> tensor<6xf32>
  %seed = linalg.generic {indexing_maps = [#vecz, #vecz], iterator_types = ["parallel"]}
      ins(%s : tensor<6xf32>) outs(%init : tensor<6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = arith.addf %a, %a : f32
    %r = arith.addf %o, %d : f32
    linalg.yield %r : f32
  } -> tensor<6xf32>
  %e = tensor.empty() : tensor<4x6xf32>
  %grad = linalg.generic {indexing_maps = [#id2z, #colz, #id2z], iterator_types = ["parallel", "parallel"]}
      ins(%x, %seed : tensor<4x6xf32>, tensor<6xf32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x6xf32>
  return %grad : tensor<4x6xf32>
}

// -----

// A fill in its generic form is folded the same way; a reduction that
// accumulates into a fill keeps it (each element is read once per
// reduction step, not once).
// CHECK-LABEL: func.func @generic_fill_and_reduction
// CHECK: %[[FILL:.*]] = linalg.generic {indexing_maps = [#{{.*}}], iterator_types = ["parallel"]} outs(
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<6x4xf32>) outs(%[[FILL]] : tensor<6xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<6xf32>
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : tensor<6xf32>) outs(%[[E]] : tensor<6xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf %{{.*}}, %cst
#id2r = affine_map<(d0, d1) -> (d0, d1)>
#rows2 = affine_map<(d0, d1) -> (d0)>
#vecr = affine_map<(d0) -> (d0)>
func.func @generic_fill_and_reduction(%x: tensor<6x4xf32>) -> tensor<6xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<6xf32>
  %init = linalg.generic {indexing_maps = [#vecr], iterator_types = ["parallel"]} outs(%es : tensor<6xf32>) {
  ^bb0(%o: f32):
    linalg.yield %zero : f32
  } -> tensor<6xf32>
  %sum = linalg.generic {indexing_maps = [#id2r, #rows2], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<6x4xf32>) outs(%init : tensor<6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<6xf32>
  %scaled = linalg.generic {indexing_maps = [#vecr, #vecr], iterator_types = ["parallel"]}
      ins(%sum : tensor<6xf32>) outs(%init : tensor<6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<6xf32>
  return %scaled : tensor<6xf32>
}

// -----

// A tanh read by two elementwise consumers (GELU's forward and its
// derivative, say) is computed once: each consumer reads its result rather
// than recomputing it. A cheap producer with two uses is fused into both.
// CHECK-LABEL: func.func @math_producer_with_two_uses
// CHECK: %[[T:.*]] = linalg.generic
// CHECK-NEXT: ^bb0
// CHECK-NEXT: math.tanh
// CHECK-NEXT: linalg.yield
// CHECK: linalg.generic {{.*}} ins(%[[T]], %{{.*}} : tensor<8xf32>, tensor<8xf32>)
// CHECK-NOT: math.tanh
// CHECK: linalg.generic {{.*}} ins(%[[T]], %{{.*}} : tensor<8xf32>, tensor<8xf32>)
// CHECK-NOT: math.tanh
// CHECK: return
#id1 = affine_map<(d0) -> (d0)>
func.func @math_producer_with_two_uses(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %t = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.tanh %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %p = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]}
      ins(%t, %x : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %q = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]}
      ins(%t, %x : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %p, %q : tensor<8xf32>, tensor<8xf32>
}

// -----

// A negation read by two consumers is computed again in each of them: two
// generics, no third one for the negation.
// CHECK-LABEL: func.func @cheap_producer_with_two_uses
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.negf
// CHECK-NEXT: arith.mulf
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.negf
// CHECK-NEXT: arith.addf
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @cheap_producer_with_two_uses(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%t, %x : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%t, %x : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %p, %q : tensor<8xf32>, tensor<8xf32>
}

// -----

// A producer read through a window map (an im2col gather reads each image
// element once per tap) is not fused into the gather, even with a single
// use: it would be computed again for every read. Read through a
// permutation, it is fused.
// CHECK-LABEL: func.func @window_reader
// CHECK: %[[SCALED:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x5x5x2xf32>)
// CHECK: arith.mulf
// CHECK: linalg.generic {{.*}} ins(%[[SCALED]] : tensor<1x5x5x2xf32>) outs(%{{.*}} : tensor<1x3x3x3x3x2xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: linalg.yield
#img = affine_map<(n, h, w, kh, kw, c) -> (n, h + kh, w + kw, c)>
#patches = affine_map<(n, h, w, kh, kw, c) -> (n, h, w, kh, kw, c)>
#id4 = affine_map<(n, h, w, c) -> (n, h, w, c)>
func.func @window_reader(%x: tensor<1x5x5x2xf32>) -> tensor<1x3x3x3x3x2xf32> {
  %two = arith.constant 2.0 : f32
  %ex = tensor.empty() : tensor<1x5x5x2xf32>
  %scaled = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x5x5x2xf32>) outs(%ex : tensor<1x5x5x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %two : f32
    linalg.yield %m : f32
  } -> tensor<1x5x5x2xf32>
  %ep = tensor.empty() : tensor<1x3x3x3x3x2xf32>
  %p = linalg.generic {indexing_maps = [#img, #patches], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%scaled : tensor<1x5x5x2xf32>) outs(%ep : tensor<1x3x3x3x3x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x3x3x3x3x2xf32>
  return %p : tensor<1x3x3x3x3x2xf32>
}

// -----

// A gradient added to +0.0 twice (accumulated into zeros by two adjoints)
// keeps one addition, whichever side the zero is on; with another value
// added in between, both stay.
// CHECK-LABEL: func.func @repeated_zero_add
// CHECK: ^bb0(%[[A:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[A]], %[[A]] : f32
// CHECK-NEXT: %[[Z:.*]] = arith.addf %[[M]], %cst : f32
// CHECK-NEXT: linalg.yield %[[Z]] : f32
// CHECK: ^bb0(%[[B:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[N:.*]] = arith.mulf %[[B]], %[[B]] : f32
// CHECK-NEXT: %[[P:.*]] = arith.addf %[[N]], %cst : f32
// CHECK-NEXT: %[[Q:.*]] = arith.addf %[[P]], %[[B]] : f32
// CHECK-NEXT: %[[R:.*]] = arith.addf %[[Q]], %cst : f32
// CHECK-NEXT: linalg.yield %[[R]] : f32
func.func @repeated_zero_add(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %m, %zero : f32
    %t = arith.addf %zero, %s : f32
    linalg.yield %t : f32
  } -> tensor<8xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %m, %zero : f32
    %t = arith.addf %s, %a : f32
    %u = arith.addf %t, %zero : f32
    linalg.yield %u : f32
  } -> tensor<8xf32>
  return %p, %q : tensor<8xf32>, tensor<8xf32>
}

// -----

// Reductions that read an elementwise result once per element (sums of
// squares). Without into-reductions, nothing is fused into them. With it,
// the unscaling of a gradient with no other reader is computed in
// the sum's loop; a result that is also returned, and one that accumulates
// into its init (an adjoint added to a gradient argument), are computed by
// their own generic and read.
// INTO-LABEL: func.func @reduction_readers
// INTO: %[[SHIFTED:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<8x16xf32>) outs(%{{.*}} : tensor<8x16xf32>)
// INTO: %[[ACC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<8x16xf32>) outs(%arg1 : tensor<8x16xf32>)
// INTO-NOT: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// INTO: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%arg0 : tensor<8x16xf32>) outs(%{{.*}} : tensor<f32>)
// INTO-NEXT: ^bb0
// INTO-NEXT: arith.mulf
// INTO-NEXT: arith.mulf
// INTO-NEXT: arith.addf
// INTO-NEXT: linalg.yield
// INTO: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%[[SHIFTED]] : tensor<8x16xf32>)
// INTO: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%[[ACC]] : tensor<8x16xf32>)
// INTO: return
// CHECK-LABEL: func.func @reduction_readers
// CHECK-COUNT-3: iterator_types = ["parallel", "parallel"]
// CHECK-COUNT-3: iterator_types = ["reduction", "reduction"]} ins(%{{[0-9]+}} : tensor<8x16xf32>)
#id2s = affine_map<(d0, d1) -> (d0, d1)>
#none2s = affine_map<(d0, d1) -> ()>
func.func @reduction_readers(%g: tensor<8x16xf32>, %acc: tensor<8x16xf32>) -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %inv = arith.constant 0.5 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %es = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%es : tensor<f32>) -> tensor<f32>
  %unscaled = linalg.generic {indexing_maps = [#id2s, #id2s], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %inv : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  %shifted = linalg.generic {indexing_maps = [#id2s, #id2s], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.addf %a, %one : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  %accumulated = linalg.generic {indexing_maps = [#id2s, #id2s], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x16xf32>) outs(%acc : tensor<8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.addf %a, %o : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  %s0 = linalg.generic {indexing_maps = [#id2s, #none2s], iterator_types = ["reduction", "reduction"]}
      ins(%unscaled : tensor<8x16xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %r = arith.addf %q, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %s1 = linalg.generic {indexing_maps = [#id2s, #none2s], iterator_types = ["reduction", "reduction"]}
      ins(%shifted : tensor<8x16xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %r = arith.addf %q, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %s2 = linalg.generic {indexing_maps = [#id2s, #none2s], iterator_types = ["reduction", "reduction"]}
      ins(%accumulated : tensor<8x16xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    %r = arith.addf %q, %o : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %s0, %s1, %s2, %shifted : tensor<f32>, tensor<f32>, tensor<f32>, tensor<8x16xf32>
}

// -----

// A weight cast to f16 and widened back, read only by the reshape into its
// pack's transpose (whole rows of 32 moved): the cast runs on the reshaped
// weight inside the transpose, one generic that reads the argument and
// writes the packed panels. Nothing is written at the weight's own shape.
// CHECK-LABEL: func.func @cast_into_pack
// CHECK-SAME: (%[[W:.*]]: tensor<8x64xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[W]] {{\[}}[0], [1, 2]] output_shape [8, 2, 32] : tensor<8x64xf32> into tensor<8x2x32xf32>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[E]] : tensor<8x2x32xf32>) outs(%{{.*}} : tensor<2x8x32xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.truncf
// CHECK-NEXT: arith.extf
// CHECK-NEXT: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: return %[[P]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#panels_in = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
#panels_out = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @cast_into_pack(%w: tensor<8x64xf32>) -> tensor<2x8x32xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %cast = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %h = arith.truncf %in : f32 to f16
    %f = arith.extf %h : f16 to f32
    linalg.yield %f : f32
  } -> tensor<8x64xf32>
  %x = tensor.expand_shape %cast [[0], [1, 2]] output_shape [8, 2, 32] : tensor<8x64xf32> into tensor<8x2x32xf32>
  %pe = tensor.empty() : tensor<2x8x32xf32>
  %p = linalg.generic {indexing_maps = [#panels_in, #panels_out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<8x2x32xf32>) outs(%pe : tensor<2x8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x8x32xf32>
  return %p : tensor<2x8x32xf32>
}

// -----

// Not taken through the reshape: a transpose of the rows themselves (the
// pack's innermost dimension read across rows), a cast of two inputs (a
// bias added), and a cast of a value some op computed (an activation, whose
// own producers fuse into it first). Each keeps its generic, its reshape
// and its transpose.
// CHECK-LABEL: func.func @rows_transposed
// CHECK: %[[C:.*]] = linalg.generic
// CHECK: arith.truncf
// CHECK: %[[E:.*]] = tensor.expand_shape %[[C]]
// CHECK: linalg.generic {{.*}} ins(%[[E]] : tensor<8x2x32xf32>) outs(%{{.*}} : tensor<8x32x2xf32>)
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows_in = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
#rows_out = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @rows_transposed(%w: tensor<8x64xf32>) -> tensor<8x32x2xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %cast = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %h = arith.truncf %in : f32 to f16
    %f = arith.extf %h : f16 to f32
    linalg.yield %f : f32
  } -> tensor<8x64xf32>
  %x = tensor.expand_shape %cast [[0], [1, 2]] output_shape [8, 2, 32] : tensor<8x64xf32> into tensor<8x2x32xf32>
  %pe = tensor.empty() : tensor<8x32x2xf32>
  %p = linalg.generic {indexing_maps = [#rows_in, #rows_out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<8x2x32xf32>) outs(%pe : tensor<8x32x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x32x2xf32>
  return %p : tensor<8x32x2xf32>
}

// CHECK-LABEL: func.func @two_inputs
// CHECK: %[[C:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x64xf32>, tensor<64xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[C]]
// CHECK: linalg.generic {{.*}} ins(%[[E]] : tensor<8x2x32xf32>)
#cols = affine_map<(d0, d1) -> (d1)>
#panels_in = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
#panels_out = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @two_inputs(%w: tensor<8x64xf32>, %b: tensor<64xf32>) -> tensor<2x8x32xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %cast = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %b : tensor<8x64xf32>, tensor<64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %h = arith.truncf %s : f32 to f16
    %f = arith.extf %h : f16 to f32
    linalg.yield %f : f32
  } -> tensor<8x64xf32>
  %x = tensor.expand_shape %cast [[0], [1, 2]] output_shape [8, 2, 32] : tensor<8x64xf32> into tensor<8x2x32xf32>
  %pe = tensor.empty() : tensor<2x8x32xf32>
  %p = linalg.generic {indexing_maps = [#panels_in, #panels_out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<8x2x32xf32>) outs(%pe : tensor<2x8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x8x32xf32>
  return %p : tensor<2x8x32xf32>
}

// CHECK-LABEL: func.func @computed_input
// CHECK: %[[MM:.*]] = linalg.matmul
// CHECK: %[[C:.*]] = linalg.generic {{.*}} ins(%[[MM]] : tensor<8x64xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[C]]
// CHECK: linalg.generic {{.*}} ins(%[[E]] : tensor<8x2x32xf32>)
func.func @computed_input(%a: tensor<8x4xf32>, %w: tensor<4x64xf32>) -> tensor<2x8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %me = tensor.empty() : tensor<8x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%me : tensor<8x64xf32>) -> tensor<8x64xf32>
  %mm = linalg.matmul ins(%a, %w : tensor<8x4xf32>, tensor<4x64xf32>) outs(%acc : tensor<8x64xf32>) -> tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x64xf32>
  %cast = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %h = arith.truncf %in : f32 to f16
    %f = arith.extf %h : f16 to f32
    linalg.yield %f : f32
  } -> tensor<8x64xf32>
  %x = tensor.expand_shape %cast [[0], [1, 2]] output_shape [8, 2, 32] : tensor<8x64xf32> into tensor<8x2x32xf32>
  %pe = tensor.empty() : tensor<2x8x32xf32>
  %p = linalg.generic {indexing_maps = [#panels_in, #panels_out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<8x2x32xf32>) outs(%pe : tensor<2x8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x8x32xf32>
  return %p : tensor<2x8x32xf32>
}
