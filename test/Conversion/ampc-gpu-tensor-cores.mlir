// RUN: ampc-opt %s -split-input-file -ampc-gpu-tensor-cores -cse | FileCheck %s
// RUN: ampc-opt %s -split-input-file -ampc-gpu-tensor-cores=fp8=true -cse | FileCheck %s --check-prefix=FP8

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
// CHECK: llvm.inline_asm "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};", "=f,=f,=f,=f,r,r,r,r,r,r,f,f,f,f"
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
// CHECK-LABEL: func.func @f16_transposed
// CHECK: memref.load %[[A:.*]][%[[K:.*]], %[[M:.*]]] : memref<16x16xf16>
// CHECK: llvm.inline_asm "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
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
// CHECK: llvm.inline_asm "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
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

// Batch dims (attention's batch x heads): one block per 16x8 tile and batch
// element (blockIdx.z = 2 x 3 batch elements, delinearized with the last
// fastest); B lacks the first batch dim (broadcast).
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
// CHECK: memref.load %{{.*}}[%[[H]], %{{.*}}, %{{.*}}] : memref<3x32x8xf16>
// CHECK: llvm.inline_asm "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[B]], %[[H]], %{{.*}}, %{{.*}}] : memref<2x3x16x8xf32>
#a = affine_map<(b, h, m, n, k) -> (b, h, m, k)>
#b = affine_map<(b, h, m, n, k) -> (h, k, n)>
#c = affine_map<(b, h, m, n, k) -> (b, h, m, n)>
func.func @batched(%a: memref<2x3x16x32xf16>, %b: memref<3x32x8xf16>, %c: memref<2x3x16x8xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
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
