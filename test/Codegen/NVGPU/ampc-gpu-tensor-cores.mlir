// RUN: ampc-opt %s -split-input-file -ampc-gpu-tensor-cores=block-tiles=false -cse | FileCheck %s
// RUN: ampc-opt %s -split-input-file -ampc-gpu-tensor-cores="fp8=true block-tiles=false" -cse | FileCheck %s --check-prefix=FP8
// RUN: ampc-opt %s -split-input-file -ampc-gpu-tensor-cores -cse | FileCheck %s --check-prefix=BLOCK
// RUN: ampc-opt %s -split-input-file -ampc-gpu-tensor-cores=fp8=true -cse | FileCheck %s --check-prefix=BLOCK8

// The CHECK lines follow the warp tiling (block-tiles=false: one warp per
// 16x8 tile, fragments from global memory); BLOCK the default block tiling
// (4 warps per 64x64 tile, operands staged in shared memory).

// BLOCK-LABEL: func.func @bf16
// One block of 128 threads covers the 32x16 output; A's and B's slices
// (64 rows x 16 words of bf16 pairs, padded to 20 words) in shared memory.
// BLOCK-DAG: %[[C1:.*]] = arith.constant 1 : index
// BLOCK-DAG: %[[C128:.*]] = arith.constant 128 : index
// BLOCK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[TID:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) workgroup(%[[SA:.*]] : memref<64x20xi32, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<64x20xi32, #gpu.address_space<workgroup>>)
// 2 x 4 tiles x 4 registers: 32 accumulators, started from the output
// (rows past 32 and columns past 16 guarded).
// BLOCK-COUNT-32: memref.load %{{.*}} : memref<32x16xf32>
// k in steps of 32 (two mma k tiles).
// BLOCK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C32:.*]] iter_args
// Staging: 8 words per thread and operand, 2 elements each (A row-major
// in k: consecutive threads take consecutive words of a row).
// BLOCK: %[[ROW:.*]] = arith.divui %[[TID]], %[[C16:.*]] : index
// BLOCK: %[[WORD:.*]] = arith.remui %[[TID]], %[[C16]] : index
// BLOCK: memref.load %{{.*}} : memref<32x32xbf16>
// BLOCK: memref.load %{{.*}} : memref<32x32xbf16>
// BLOCK: memref.store %{{.*}}, %[[SA]][%[[ROW]], %[[WORD]]]
// BLOCK-COUNT-7: memref.store %{{.*}}, %[[SA]]
// B is contiguous along n: consecutive threads take consecutive rows (n).
// BLOCK: arith.remui %{{.*}}, %[[C64:c64[_0-9]*]] : index
// BLOCK-NEXT: arith.divui %{{.*}}, %[[C64]] : index
// BLOCK: memref.load %{{.*}} : memref<32x16xbf16>
// BLOCK: memref.load %{{.*}} : memref<32x16xbf16>
// BLOCK-COUNT-8: memref.store %{{.*}}, %[[SB]]
// BLOCK: gpu.barrier
// Per k tile: 8 A words (2 m tiles x 4) and 8 B words (4 n tiles x 2),
// then 8 mma; twice.
// BLOCK-COUNT-8: memref.load %[[SA]]
// BLOCK-COUNT-8: memref.load %[[SB]]
// BLOCK-COUNT-8: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// BLOCK-COUNT-8: memref.load %[[SA]]
// BLOCK-COUNT-8: memref.load %[[SB]]
// BLOCK-COUNT-8: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// BLOCK: gpu.barrier
// BLOCK-NEXT: scf.yield
// BLOCK-COUNT-32: memref.store %{{.*}} : memref<32x16xf32>
// BLOCK: gpu.terminator

// A bf16 x bf16 -> f32 contraction (32x16 output, k = 32): one warp per
// 16x8 tile, k in steps of 16, the output's initial value loaded first and
// the four accumulators stored back.
// CHECK-LABEL: func.func @bf16
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C2]], %{{.*}} = %[[C2]], %{{.*}} = %[[C1]]) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]])
// CHECK-COUNT-4: memref.load %{{.*}} : memref<32x16xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32)
// CHECK-COUNT-12: memref.load %{{.*}} : memref<{{32x32|32x16}}xbf16>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-SAME: -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: scf.yield
// CHECK-COUNT-4: memref.store %{{.*}} : memref<32x16xf32>
// CHECK: gpu.terminator
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @bf16(%a: memref<32x32xbf16>, %b: memref<32x16xbf16>, %c: memref<32x16xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<32x32xbf16>, memref<32x16xbf16>) outs(%c : memref<32x16xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// f16, with the left operand transposed (A^T, as in a weight gradient):
// the loads follow the indexing map.
// BLOCK-LABEL: func.func @f16_transposed
// CHECK-LABEL: func.func @f16_transposed
// CHECK: memref.load %[[A:.*]][%[[K:.*]], %[[M:.*]]] : memref<16x16xf16>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
#km = affine_map<(m, n, k) -> (k, m)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @f16_transposed(%a: memref<16x16xf16>, %b: memref<16x8xf16>, %c: memref<16x8xf32>) {
  linalg.generic {indexing_maps = [#km, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xf16>, memref<16x8xf16>) outs(%c : memref<16x8xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Sizes that are no multiple of the tile (m = 20, n = 10, k = 24): the grid
// covers them (2 x 2 blocks), k runs in whole tiles (0 to 32), lanes past the
// edge read zeros through a clamped address, and only stores inside the
// output happen.
// CHECK-LABEL: func.func @ragged
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C2]], %{{.*}} = %[[C2]], %{{.*}} = %[[C1]])
// CHECK: %[[C20:.*]] = arith.constant 20 : index
// CHECK: %[[ROW:.*]] = arith.cmpi ult, %{{.*}}, %[[C20]] : index
// CHECK: %[[C10:.*]] = arith.constant 10 : index
// CHECK: %[[COL:.*]] = arith.cmpi ult, %{{.*}}, %[[C10]] : index
// CHECK: %[[OK:.*]] = arith.andi %[[ROW]], %[[COL]] : i1
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[R:.*]] = arith.select %[[OK]], %{{.*}}, %[[C0]] : index
// CHECK: %[[C:.*]] = arith.select %[[OK]], %{{.*}}, %[[C0]] : index
// CHECK: %[[INIT:.*]] = memref.load %{{.*}}[%[[R]], %[[C]]] : memref<20x10xf32>
// CHECK: arith.select %[[OK]], %[[INIT]], %{{.*}} : f32
// CHECK: scf.for %{{.*}} = %[[C0]] to %[[C32]] step %{{.*}} iter_args
// CHECK-DAG: %[[C24:.*]] = arith.constant 24 : index
// CHECK: arith.cmpi ult, %{{.*}}, %[[C24]] : index
// CHECK-COUNT-8: memref.load %{{.*}} : memref<20x24xbf16>
// CHECK-COUNT-4: memref.load %{{.*}} : memref<24x10xbf16>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK: scf.if %[[OK]] {
// CHECK-NEXT: memref.store %{{.*}} : memref<20x10xf32>
// CHECK-NEXT: }
// CHECK-COUNT-3: scf.if
// CHECK-NEXT: memref.store %{{.*}} : memref<20x10xf32>
// CHECK-NEXT: }
// CHECK-NEXT: gpu.terminator
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @ragged(%a: memref<20x24xbf16>, %b: memref<24x10xbf16>, %c: memref<20x10xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<20x24xbf16>, memref<24x10xbf16>) outs(%c : memref<20x10xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Batch dims (attention's batch x heads, read by both operands): one block
// per 16x8 tile and batch element (blockIdx.z = 2 x 3, delinearized with the
// last fastest). Where B lacks the batch dim (broadcast), that dim is just
// part of m: rows 0-31 are (b, m) = (row / 16, row % 16).
// CHECK-LABEL: func.func @batched
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %[[BZ:.*]]) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C6]])
// CHECK: %[[C3:.*]] = arith.constant 3 : index
// CHECK: %[[H:.*]] = arith.remui %[[BZ]], %[[C3]] : index
// CHECK: %[[B:.*]] = arith.divui %[[BZ]], %[[C3]] : index
// CHECK-NOT: arith.cmpi
// CHECK: memref.load %{{.*}}[%[[B]], %[[H]], %{{.*}}, %{{.*}}] : memref<2x3x16x8xf32>
// CHECK: scf.for
// CHECK: memref.load %{{.*}}[%[[B]], %[[H]], %{{.*}}, %{{.*}}] : memref<2x3x16x32xf16>
// CHECK: memref.load %{{.*}}[%[[B]], %[[H]], %{{.*}}, %{{.*}}] : memref<2x3x32x8xf16>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[B]], %[[H]], %{{.*}}, %{{.*}}] : memref<2x3x16x8xf32>
// CHECK-LABEL: func.func @broadcast_batch
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %[[HZ:.*]]) in (%{{.*}} = %[[C2]], %{{.*}} = %[[C1]], %{{.*}} = %[[C3]])
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[ROW:.*]] = arith.addi
// CHECK: %[[M:.*]] = arith.remui %[[ROW]], %[[C16]] : index
// CHECK: %[[BB:.*]] = arith.divui %[[ROW]], %[[C16]] : index
// CHECK: memref.load %{{.*}}[%[[BB]], %[[HZ]], %[[M]], %{{.*}}] : memref<2x3x16x8xf32>
// CHECK: memref.load %{{.*}}[%[[HZ]], %{{.*}}, %{{.*}}] : memref<3x32x8xf16>
#a = affine_map<(b, h, m, n, k) -> (b, h, m, k)>
#b = affine_map<(b, h, m, n, k) -> (b, h, k, n)>
#bh = affine_map<(b, h, m, n, k) -> (h, k, n)>
#c = affine_map<(b, h, m, n, k) -> (b, h, m, n)>
func.func @batched(%a: memref<2x3x16x32xf16>, %b: memref<2x3x32x8xf16>, %c: memref<2x3x16x8xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<2x3x16x32xf16>, memref<2x3x32x8xf16>) outs(%c : memref<2x3x16x8xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @broadcast_batch(%a: memref<2x3x16x32xf16>, %b: memref<3x32x8xf16>, %c: memref<2x3x16x8xf32>) {
  linalg.generic {indexing_maps = [#a, #bh, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<2x3x16x32xf16>, memref<3x32x8xf16>) outs(%c : memref<2x3x16x8xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left to the generic path: f32 inputs, a body that is not a product, and
// an output that is not m x n last (a reduction into a transposed result
// is fine; one that drops a parallel dim is not a contraction).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: gpu.launch
// CHECK-COUNT-3: linalg.generic
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#n = affine_map<(m, n, k) -> (n)>
func.func @left_alone(%a: memref<16x16xbf16>, %b: memref<16x8xbf16>, %cn: memref<8xf32>,
                      %af: memref<16x16xf32>, %bf: memref<16x8xf32>, %cf: memref<16x8xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #n], iterator_types = ["reduction", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xbf16>, memref<16x8xbf16>) outs(%cn : memref<8xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%af, %bf : memref<16x16xf32>, memref<16x8xf32>) outs(%cf : memref<16x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xbf16>, memref<16x8xbf16>) outs(%cf : memref<16x8xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %m = arith.maximumf %xf, %yf : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// fp8 (the HYBRID mix E4M3 x E5M2, k = 64): m16n8k32 with four elements per
// register, only where the target has it (fp8=true: sm_89+, PTX 8.4+).
// CHECK-LABEL: func.func @fp8
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// BLOCK8-LABEL: func.func @fp8
// BLOCK8: workgroup(%[[SA:.*]] : memref<64x20xi32, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<64x20xi32, #gpu.address_space<workgroup>>)
// BLOCK8: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// BLOCK8-COUNT-32: memref.load %{{.*}} : memref<16x64xf8E4M3FN>
// BLOCK8: gpu.barrier
// BLOCK8-COUNT-8: llvm.inline_asm "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e5m2.f32
// BLOCK8-COUNT-8: llvm.inline_asm "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e5m2.f32
// BLOCK8: gpu.barrier
// FP8-LABEL: func.func @fp8
// FP8: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C32:.*]] iter_args
// FP8-COUNT-16: memref.load %{{.*}} : memref<16x64xf8E4M3FN>
// FP8-COUNT-8: memref.load %{{.*}} : memref<64x8xf8E5M2>
// FP8: llvm.inline_asm "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e5m2.f32
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @fp8(%a: memref<16x64xf8E4M3FN>, %b: memref<64x8xf8E5M2>, %c: memref<16x8xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x64xf8E4M3FN>, memref<64x8xf8E5M2>) outs(%c : memref<16x8xf32>) {
  ^bb0(%x: f8E4M3FN, %y: f8E5M2, %acc: f32):
    %xf = arith.extf %x : f8E4M3FN to f32
    %yf = arith.extf %y : f8E5M2 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Epilogue: the zero fill before the contraction becomes the accumulators'
// initial value (no load of the output), and the elementwise op after it
// (bias add, ReLU, cast to bf16 for the next layer; an allocation between
// is skipped) runs on the accumulators in registers. Nothing else reads the
// f32 output, so it is neither stored nor allocated any more: one kernel
// writes the bf16 activations.
// CHECK-LABEL: func.func @epilogue
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref<32x16xf32>
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[ACTS:.*]] = memref.alloc() : memref<32x16xbf16>
// CHECK: gpu.launch
// CHECK: %[[ACC:.*]]:4 = scf.for %{{.*}} iter_args(%{{.*}} = %[[ZERO]], %{{.*}} = %[[ZERO]], %{{.*}} = %[[ZERO]], %{{.*}} = %[[ZERO]])
// CHECK: nvvm.mma.sync
// CHECK: %[[BIAS:.*]] = memref.load %{{.*}}[%[[COL:.*]]] : memref<16xf32>
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]]#0, %[[BIAS]] : f32
// CHECK: %[[RELU:.*]] = arith.maximumf %[[SUM]], %[[ZERO]] : f32
// CHECK: %[[CAST:.*]] = arith.truncf %[[RELU]] : f32 to bf16
// CHECK: memref.store %[[CAST]], %[[ACTS]][%{{.*}}, %[[COL]]] : memref<32x16xbf16>
// CHECK-COUNT-3: memref.store %{{.*}}, %[[ACTS]]
// CHECK: gpu.terminator
// CHECK: return %[[ACTS]]
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
func.func @epilogue(%a: memref<32x32xbf16>, %b: memref<32x16xbf16>, %bias: memref<16xf32>) -> memref<32x16xbf16> {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<32x16xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<32x16xf32>)
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<32x32xbf16>, memref<32x16xbf16>) outs(%c : memref<32x16xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %acts = memref.alloc() : memref<32x16xbf16>
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<32x16xf32>, memref<16xf32>) outs(%acts : memref<32x16xbf16>) {
  ^bb0(%v: f32, %bv: f32, %o: bf16):
    %s = arith.addf %v, %bv : f32
    %r = arith.maximumf %s, %zero : f32
    %t = arith.truncf %r : f32 to bf16
    linalg.yield %t : bf16
  }
  memref.dealloc %c : memref<32x16xf32>
  return %acts : memref<32x16xbf16>
}

// -----

// The output is read again later (softmax after logits): it is stored as
// well as the consumer's result. The fill is a generic yielding a value
// from outside (as generalization leaves it).
// CHECK-LABEL: func.func @output_kept
// CHECK: gpu.launch
// CHECK-NOT: memref.load %{{.*}} : memref<16x8xf32>
// CHECK: nvvm.mma.sync
// CHECK: memref.store %{{.*}}, %[[OUT:.*]][%{{.*}}, %{{.*}}] : memref<16x8xf32>
// CHECK-NEXT: %[[SCALED:.*]] = arith.mulf
// CHECK-NEXT: memref.store %[[SCALED]], %[[LOGITS:.*]][%{{.*}}, %{{.*}}] : memref<16x8xf32>
// CHECK: gpu.terminator
// CHECK: linalg.generic {{.*}} ins(%[[OUT]] : memref<16x8xf32>)
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
func.func @output_kept(%a: memref<16x16xf16>, %b: memref<16x8xf16>, %c: memref<16x8xf32>,
                       %logits: memref<16x8xf32>, %again: memref<16x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.125 : f32
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]} outs(%c : memref<16x8xf32>) {
  ^bb0(%o: f32):
    linalg.yield %zero : f32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xf16>, memref<16x8xf16>) outs(%c : memref<16x8xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<16x8xf32>) outs(%logits : memref<16x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.mulf %v, %scale : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<16x8xf32>) outs(%again : memref<16x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %v : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not fused: a consumer that writes into an operand of the contraction
// (other warps may still read it), one that reads the output transposed,
// and one after an op that writes memory. The output's initial contents are
// loaded where no fill precedes.
// CHECK-LABEL: func.func @not_fused
// CHECK: gpu.launch
// CHECK: memref.load %{{.*}} : memref<16x16xf32>
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: memref.copy
// CHECK: linalg.generic
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#t = affine_map<(i, j) -> (j, i)>
func.func @not_fused(%a: memref<16x16xbf16>, %b: memref<16x16xbf16>, %c: memref<16x16xf32>,
                     %d: memref<16x16xf32>, %e: memref<16x16xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xbf16>, memref<16x16xbf16>) outs(%c : memref<16x16xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<16x16xf32>) outs(%a : memref<16x16xbf16>) {
  ^bb0(%v: f32, %o: bf16):
    %t = arith.truncf %v : f32 to bf16
    linalg.yield %t : bf16
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xbf16>, memref<16x16xbf16>) outs(%d : memref<16x16xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d : memref<16x16xf32>) outs(%e : memref<16x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xbf16>, memref<16x16xbf16>) outs(%e : memref<16x16xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  memref.copy %c, %d : memref<16x16xf32> to memref<16x16xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%e : memref<16x16xf32>) outs(%c : memref<16x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return
}

// -----

// fp8 descaling: the factor is stored into a fresh scalar buffer between
// the contraction and its consumer; the consumer is still fused (the kernel
// goes after the store and reads the factor). A store into an operand of
// the contraction in between stops the fusion.
// CHECK-LABEL: func.func @descale
// CHECK: %[[FACTOR:.*]] = memref.alloc() : memref<f32>
// CHECK: memref.store %{{.*}}, %[[FACTOR]][] : memref<f32>
// CHECK: gpu.launch
// CHECK: nvvm.mma.sync
// CHECK: %[[F:.*]] = memref.load %[[FACTOR]][] : memref<f32>
// CHECK: arith.mulf %{{.*}}, %[[F]] : f32
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK-LABEL: func.func @store_between
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: memref.store
// CHECK: linalg.generic
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#scalar = affine_map<(i, j) -> ()>
func.func @descale(%a: memref<16x16xbf16>, %b: memref<16x8xbf16>, %c: memref<16x8xf32>,
                   %out: memref<16x8xf32>, %sa: f32) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xbf16>, memref<16x8xbf16>) outs(%c : memref<16x8xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %one = arith.constant 1.0 : f32
  %inv = arith.divf %one, %sa : f32
  %factor = memref.alloc() : memref<f32>
  memref.store %inv, %factor[] : memref<f32>
  linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %factor : memref<16x8xf32>, memref<f32>) outs(%out : memref<16x8xf32>) {
  ^bb0(%v: f32, %f: f32, %o: f32):
    %m = arith.mulf %v, %f : f32
    linalg.yield %m : f32
  }
  return
}
func.func @store_between(%a: memref<16x16xbf16>, %b: memref<16x8xbf16>, %c: memref<16x8xf32>,
                         %out: memref<16x8xf32>, %v: bf16) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x16xbf16>, memref<16x8xbf16>) outs(%c : memref<16x8xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %c0 = arith.constant 0 : index
  memref.store %v, %a[%c0, %c0] : memref<16x16xbf16>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<16x8xf32>) outs(%out : memref<16x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.addf %x, %x : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// CHECK-DAG: #[[MAPH:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1 + d4)>
// CHECK-DAG: #[[MAPW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d2 + d5)>
// A convolution (NHWC x HWCF, as linalg generalizes conv_2d_nhwc_hwcf) is
// an implicit GEMM: m = (n, oh, ow) = 2 x 4 x 4, n = f = 8, k = (kh, kw, c)
// = 3 x 3 x 3 = 27 (two k tiles, the second partly zero); the input is read
// at (n, oh + kh, ow + kw, c).
// CHECK-LABEL: func.func @conv
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C2]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]])
// CHECK: memref.load %{{.*}}[%[[N:.*]], %[[OH:.*]], %[[OW:.*]], %{{.*}}] : memref<2x4x4x8xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C32:.*]] step %[[C16:.*]] iter_args
// CHECK: %[[K:.*]] = arith.addi
// CHECK: %[[OK:.*]] = arith.cmpi ult, %[[K]], %{{.*}} : index
// CHECK: %[[C:.*]] = arith.remui %[[K]], %{{.*}} : index
// CHECK: %[[KW:.*]] = arith.remui
// CHECK: %[[KH:.*]] = arith.divui
// CHECK: %[[H:.*]] = affine.apply #[[MAPH]](%[[N]], %[[OH]], %[[OW]], %{{.*}}, %[[KH]], %[[KW]], %[[C]])
// CHECK: %[[W:.*]] = affine.apply #[[MAPW]](%[[N]], %[[OH]], %[[OW]], %{{.*}}, %[[KH]], %[[KW]], %[[C]])
// CHECK: %[[SN:.*]] = arith.select %[[OK]], %[[N]], %{{.*}} : index
// CHECK: %[[SH:.*]] = arith.select %[[OK]], %[[H]], %{{.*}} : index
// CHECK: %[[SW:.*]] = arith.select %[[OK]], %[[W]], %{{.*}} : index
// CHECK: %[[SC:.*]] = arith.select %[[OK]], %[[C]], %{{.*}} : index
// CHECK: memref.load %{{.*}}[%[[SN]], %[[SH]], %[[SW]], %[[SC]]] : memref<2x6x6x3xbf16>
// CHECK: nvvm.mma.sync
// CHECK: memref.store %{{.*}} : memref<2x4x4x8xf32>
#in = affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh + kh, ow + kw, c)>
#filter = affine_map<(n, oh, ow, f, kh, kw, c) -> (kh, kw, c, f)>
#out = affine_map<(n, oh, ow, f, kh, kw, c) -> (n, oh, ow, f)>
func.func @conv(%x: memref<2x6x6x3xbf16>, %w: memref<3x3x3x8xbf16>, %y: memref<2x4x4x8xf32>) {
  linalg.generic {indexing_maps = [#in, #filter, #out],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<2x6x6x3xbf16>, memref<3x3x3x8xbf16>) outs(%y : memref<2x4x4x8xf32>) {
  ^bb0(%a: bf16, %b: bf16, %acc: f32):
    %af = arith.extf %a : bf16 to f32
    %bf = arith.extf %b : bf16 to f32
    %p = arith.mulf %af, %bf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The adjoint of x @ W with W 256x10 stored (k-major): the output's last
// dim (256) is read by the first input only, so the inputs swap roles: the
// second input (128x10) gives the mma's rows, the first its columns, and
// each lane's two results are neighbours along the output's last dim.
// CHECK-LABEL: func.func @swapped
// CHECK: scf.for
// CHECK-COUNT-8: memref.load %{{.*}} : memref<128x10xbf16>
// CHECK-COUNT-4: memref.load %{{.*}} : memref<256x10xbf16>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
#w = affine_map<(i, k, j) -> (j, k)>
#dy = affine_map<(i, k, j) -> (i, k)>
#dx = affine_map<(i, k, j) -> (i, j)>
func.func @swapped(%w: memref<256x10xbf16>, %dy: memref<128x10xbf16>, %dx: memref<128x256xf32>) {
  linalg.generic {indexing_maps = [#w, #dy, #dx], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%w, %dy : memref<256x10xbf16>, memref<128x10xbf16>) outs(%dx : memref<128x256xf32>) {
  ^bb0(%a: bf16, %b: bf16, %acc: f32):
    %af = arith.extf %a : bf16 to f32
    %bf = arith.extf %b : bf16 to f32
    %p = arith.mulf %af, %bf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
