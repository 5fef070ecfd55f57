// RUN: ampc-opt %s -split-input-file -ampc-gpu-reductions -canonicalize -cse | FileCheck %s

// A sum of squares over a 2-D gradient (the global gradient norm): one block
// of 256 threads with 256 partials in workgroup memory; thread t starts at
// element t with -0.0 (the identity of addf) and strides by 256 over the
// 784 * 256 elements (indices delinearized, the last loop fastest); the
// partials are combined by a tree of 8 halvings (128 ... 1), each followed by
// a barrier; thread 0 adds the output's initial value and stores.
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[TOTAL:.*]] = arith.constant 200704 : index
// CHECK-DAG: %[[NEGZERO:.*]] = arith.constant -0.000000e+00 : f32
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[TID:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) workgroup(%[[P:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[PARTIAL:.*]] = scf.for %[[I:.*]] = %[[TID]] to %[[TOTAL]] step %[[C256]] iter_args(%[[ACC:.*]] = %[[NEGZERO]]) -> (f32) {
// CHECK: %[[COL:.*]] = arith.remui %[[I]], %[[C256]] : index
// CHECK: %[[ROW:.*]] = arith.divui %[[I]], %[[C256]] : index
// CHECK: %[[X:.*]] = memref.load %{{.*}}[%[[ROW]], %[[COL]]] : memref<784x256xf32>
// CHECK: %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK: %[[SUM:.*]] = arith.addf %[[SQ]], %[[ACC]] : f32
// CHECK: scf.yield %[[SUM]] : f32
// CHECK: memref.store %[[PARTIAL]], %[[P]][%[[TID]]] : memref<256xf32, #gpu.address_space<workgroup>>
// CHECK-NEXT: gpu.barrier
// CHECK: arith.cmpi ult, %[[TID]], %{{.*}} : index
// CHECK-COUNT-8: gpu.barrier
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[TID]], %{{.*}} : index
// CHECK: scf.if %[[FIRST]] {
// CHECK: %[[ALL:.*]] = memref.load %[[P]][%{{.*}}] : memref<256xf32, #gpu.address_space<workgroup>>
// CHECK: %[[INIT:.*]] = memref.load %[[OUT:.*]][] : memref<f32>
// CHECK: %[[R:.*]] = arith.addf %[[ALL]], %[[INIT]] : f32
// CHECK: memref.store %[[R]], %[[OUT]][] : memref<f32>
// CHECK: gpu.terminator
func.func @sum_of_squares(%g: memref<784x256xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%g : memref<784x256xf32>) outs(%out : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %sq = arith.mulf %x, %x : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// An amax (fp8 scaling), accumulator first: the identity of maximumf is
// -inf, and the tree keeps the combiner's operand order.
// CHECK-LABEL: func.func @amax
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: workgroup(%[[P:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[NEGINF]]) -> (f32) {
// CHECK: %[[A:.*]] = math.absf %{{.*}} : f32
// CHECK: arith.maximumf %[[ACC]], %[[A]] : f32
// CHECK: scf.if
// CHECK: %[[MINE:.*]] = memref.load %[[P]][%{{.*}}]
// CHECK: %[[OTHER:.*]] = memref.load %[[P]][%{{.*}}]
// CHECK: arith.maximumf %[[MINE]], %[[OTHER]] : f32
func.func @amax(%x: memref<1000xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<1000xf32>) outs(%out : memref<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %a = math.absf %v : f32
    %m = arith.maximumf %acc, %a : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// Integer and NaN-skipping combiners get their identities: 0 for ori,
// NaN for maxnumf; two inputs read through their maps (a dot product of
// two vectors, one transposed).
// CHECK-LABEL: func.func @identities
// CHECK-DAG: arith.constant false
// CHECK-DAG: arith.constant 0x7FC00000 : f32
// CHECK-DAG: arith.constant -0.000000e+00 : f32
// CHECK: gpu.launch
// CHECK: arith.ori
// CHECK: gpu.launch
// CHECK: arith.maxnumf
// CHECK: gpu.launch
// CHECK: memref.load %{{.*}}[%[[I:.*]], %[[J:.*]]] : memref<8x4xf32>
// CHECK-NEXT: memref.load %{{.*}}[%[[J]], %[[I]]] : memref<4x8xf32>
func.func @identities(%b: memref<64xi1>, %any: memref<i1>, %x: memref<64xf32>, %mx: memref<f32>,
                      %u: memref<8x4xf32>, %v: memref<4x8xf32>, %dot: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%b : memref<64xi1>) outs(%any : memref<i1>) {
  ^bb0(%v0: i1, %acc: i1):
    %o = arith.ori %v0, %acc : i1
    linalg.yield %o : i1
  }
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<64xf32>) outs(%mx : memref<f32>) {
  ^bb0(%v0: f32, %acc: f32):
    %m = arith.maxnumf %v0, %acc : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%u, %v : memref<8x4xf32>, memref<4x8xf32>) outs(%dot : memref<f32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: a partial reduction (it has a parallel dim for threads), a
// body whose accumulator is used twice, a combiner without a known identity
// (subf is not associative), and a reduction with two outputs.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: gpu.launch
// CHECK-COUNT-4: linalg.generic
func.func @left_alone(%x: memref<8x16xf32>, %rows: memref<8xf32>, %out: memref<f32>, %out2: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%rows : memref<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%out : memref<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %p = arith.mulf %v, %acc : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%out : memref<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.subf %acc, %v : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%out, %out2 : memref<f32>, memref<f32>) {
  ^bb0(%v: f32, %acc: f32, %acc2: f32):
    %s = arith.addf %v, %acc : f32
    %m = arith.maximumf %v, %acc2 : f32
    linalg.yield %s, %m : f32, f32
  }
  return
}

// -----

// A bias gradient (column sum over the batch: reduction first) gets its
// loops interchanged, parallel first, so that each thread owns a column and
// runs the reduction; the body and the maps follow the new order.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @column_sum
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: ins(%{{.*}} : memref<128x10xf32>) outs(%{{.*}} : memref<10xf32>)
// CHECK: linalg.index 1 : index
func.func @column_sum(%g: memref<128x10xf32>, %out: memref<10xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%g : memref<128x10xf32>) outs(%out : memref<10xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %row = linalg.index 0 : index
    %i = arith.index_cast %row : index to i32
    %f = arith.sitofp %i : i32 to f32
    %p = arith.mulf %x, %f : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}
