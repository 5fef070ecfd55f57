// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-duplicate-fills))" | FileCheck %s
// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-duplicate-fills),one-shot-bufferize{bufferize-function-boundaries})" | FileCheck %s --check-prefix=BUF
// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-duplicate-fills),eliminate-empty-tensors,one-shot-bufferize{bufferize-function-boundaries},cse,canonicalize)" | FileCheck %s --check-prefix=ELIM

// One zero tensor (CSE made it one) is the accumulator of two reductions:
// each gets a fill of its own, placed just before it, and bufferization
// then fills two buffers instead of filling one and copying it.
// CHECK-LABEL: func.func @two_writers
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[E0:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[F0:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%[[E0]] : tensor<4xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[F0]] : tensor<4xf32>)
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[F1:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%[[E1]] : tensor<4xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[F1]] : tensor<4xf32>)
// CHECK-NOT: linalg.fill
// BUF-LABEL: func.func @two_writers
// BUF-COUNT-2: linalg.fill
// BUF-NOT: memref.copy
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @two_writers(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sa = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.addf %o, %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %sb = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%b : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.maximumf %o, %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %sa, %sb : tensor<4xf32>, tensor<4xf32>
}

// -----

// The generic form of a fill (what linalg-generalize-named-ops makes of it)
// is cloned too; the original stays for the op that also reads it, so that
// the reader sees zeros, not the reduction's result.
// CHECK-LABEL: func.func @generic_fill_read_and_written
// CHECK: %[[F:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[F1:.*]] = linalg.generic {{.*}} outs(%[[E1]] : tensor<4xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<4x8xf32>) outs(%[[F1]] : tensor<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[SUM]], %[[F]] : tensor<4xf32>, tensor<4xf32>)
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>
#vec = affine_map<(d0) -> (d0)>
func.func @generic_fill_read_and_written(%a: tensor<4x8xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.generic {indexing_maps = [#vec], iterator_types = ["parallel"]} outs(%e : tensor<4xf32>) {
  ^bb0(%o: f32):
    linalg.yield %zero : f32
  } -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.addf %o, %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4xf32>
  %d = linalg.generic {indexing_maps = [#vec, #vec, #vec], iterator_types = ["parallel"]}
      ins(%sum, %z : tensor<4xf32>, tensor<4xf32>) outs(%e2 : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.subf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

// Left alone: a fill with a single writer, a fill that is only read, and a
// fill on buffers.
// CHECK-LABEL: func.func @left_alone
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT: %[[Z:.*]] = linalg.fill {{.*}} outs(%[[E]] : tensor<4xf32>)
// CHECK-NEXT: linalg.generic {{.*}} outs(%[[Z]] : tensor<4xf32>)
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-NEXT: %[[O:.*]] = linalg.fill {{.*}} outs(%[[E2]] : tensor<4x8xf32>)
// CHECK-NEXT: tensor.empty() : tensor<4xf32>
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[O]] : tensor<4x8xf32>)
// CHECK: linalg.fill {{.*}} outs(%{{.*}} : memref<4xf32>)
// CHECK-NEXT: return
#id3 = affine_map<(d0, d1) -> (d0, d1)>
#row3 = affine_map<(d0, d1) -> (d0)>
#vec3 = affine_map<(d0) -> (d0)>
func.func @left_alone(%a: tensor<4x8xf32>, %m: memref<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.addf %o, %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %ones = arith.constant 1.0 : f32
  %e2 = tensor.empty() : tensor<4x8xf32>
  %o = linalg.fill ins(%ones : f32) outs(%e2 : tensor<4x8xf32>) -> tensor<4x8xf32>
  %e3 = tensor.empty() : tensor<4xf32>
  %count = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel"]}
      ins(%o : tensor<4x8xf32>) outs(%e3 : tensor<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    linalg.yield %x : f32
  } -> tensor<4xf32>
  linalg.fill ins(%zero : f32) outs(%m : memref<4xf32>)
  return %sum, %count : tensor<4xf32>, tensor<4xf32>
}

// -----

// Two packed contractions' output tiles, each written through a slice of
// one (CSE'd) empty tensor and inserted back: the slice becomes an empty
// tensor of its own shape, and each use gets its own, so that with empty
// tensor elimination each tile is written in place into its own output,
// with no temporary copied into place.
// CHECK-LABEL: func.func @two_tiles
// CHECK-NOT: tensor.extract_slice
// CHECK-DAG: %[[O0:.*]] = tensor.empty() : tensor<1x2x1x16xf32>
// CHECK-DAG: %[[E0:.*]] = tensor.empty() : tensor<2x16xf32>
// CHECK: vector.transfer_write %{{.*}}, %[[E0]]
// CHECK: %[[O1:.*]] = tensor.empty() : tensor<1x2x1x16xf32>
// CHECK: tensor.insert_slice %{{.*}} into %[[O1]]
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<2x16xf32>
// CHECK: vector.transfer_write %{{.*}}, %[[E1]]
// CHECK: tensor.insert_slice %{{.*}} into %[[O0]]
// BUF-LABEL: func.func @two_tiles
// ELIM-LABEL: func.func @two_tiles
// ELIM-COUNT-2: memref.alloc() {{.*}} : memref<1x2x1x16xf32>
// ELIM-NOT: memref.alloc
// ELIM-NOT: memref.copy
// ELIM: return
func.func @two_tiles(%u: vector<16xf32>, %v: vector<16xf32>)
    -> (tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<1x2x1x16xf32>
  %s = tensor.extract_slice %e[0, 0, 0, 0] [1, 2, 1, 16] [1, 1, 1, 1] : tensor<1x2x1x16xf32> to tensor<2x16xf32>
  %a0 = vector.transfer_write %u, %s[%c0, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<2x16xf32>
  %a1 = vector.transfer_write %u, %a0[%c1, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<2x16xf32>
  %a = tensor.insert_slice %a1 into %e[0, 0, 0, 0] [1, 2, 1, 16] [1, 1, 1, 1] : tensor<2x16xf32> into tensor<1x2x1x16xf32>
  %b0 = vector.transfer_write %v, %s[%c0, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<2x16xf32>
  %b1 = vector.transfer_write %v, %b0[%c1, %c0] {in_bounds = [true]} : vector<16xf32>, tensor<2x16xf32>
  %b = tensor.insert_slice %b1 into %e[0, 0, 0, 0] [1, 2, 1, 16] [1, 1, 1, 1] : tensor<2x16xf32> into tensor<1x2x1x16xf32>
  return %a, %b : tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>
}

// -----

// A larger empty tensor (16 KiB, above empty-bytes = 4096) stays shared:
// bufferization reuses its buffer for writers whose values do not overlap,
// where a clone each would raise the peak memory of a large step.
// CHECK-LABEL: func.func @large_empty_stays_shared
// CHECK-COUNT-1: tensor.empty() : tensor<64x64xf32>
// CHECK-NOT: tensor.empty
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @large_empty_stays_shared(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>)
    -> (tensor<64x64xf32>, tensor<64x64xf32>) {
  %e = tensor.empty() : tensor<64x64xf32>
  %x = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%i: f32, %o: f32):
    %r = arith.addf %i, %i : f32
    linalg.yield %r : f32
  } -> tensor<64x64xf32>
  %y = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%i: f32, %o: f32):
    %r = arith.mulf %i, %i : f32
    linalg.yield %r : f32
  } -> tensor<64x64xf32>
  return %x, %y : tensor<64x64xf32>, tensor<64x64xf32>
}
