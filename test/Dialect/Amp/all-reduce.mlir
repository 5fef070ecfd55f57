// amp.all_reduce: round trip on tensors and on memrefs, the verifier, and
// what each back end makes of it.
// RUN: ampc-opt %s -split-input-file | FileCheck %s
// RUN: ampc-opt %s -split-input-file --mlir-print-op-generic | ampc-opt -split-input-file | FileCheck %s
// RUN: not ampc-opt %s -split-input-file --ampc-gpu-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPU
// RUN: ampc-opt %s -split-input-file -canonicalize -cse | FileCheck %s --check-prefix=KEPT

// CHECK-LABEL: func.func @tensors
// CHECK: %[[R:.*]]:2 = amp.all_reduce mean %{{.*}}, %{{.*}} : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>, tensor<f32>
// CHECK: amp.all_reduce max %{{.*}} : tensor<2xf32> -> tensor<2xf32>
// CHECK: amp.all_reduce sum
// Communication stays, in order, even when its results are unused.
// KEPT-LABEL: func.func @tensors
// KEPT-COUNT-3: amp.all_reduce
// GPU: all-reduce.mlir:17:10: error: 'amp.all_reduce' op ampc-gpu-pipeline: data-parallel steps (amp.all_reduce) run on the cpu target over MPI; the cuda target has no collectives yet (NCCL)
func.func @tensors(%g: tensor<4x3xf32>, %l: tensor<f32>, %a: tensor<2xf32>) -> (tensor<4x3xf32>, tensor<f32>) {
  %r:2 = amp.all_reduce mean %g, %l : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>, tensor<f32>
  %m = amp.all_reduce max %a : tensor<2xf32> -> tensor<2xf32>
  %s = amp.all_reduce sum %a : tensor<2xf32> -> tensor<2xf32>
  return %r#0, %r#1 : tensor<4x3xf32>, tensor<f32>
}

// -----

// CHECK-LABEL: func.func @buffers
// CHECK: amp.all_reduce sum %{{.*}}, %{{.*}} : memref<8xf32>, memref<2x2xf32, strided<[4, 1]>>
func.func @buffers(%a: memref<8xf32>, %b: memref<2x2xf32, strided<[4, 1]>>) {
  amp.all_reduce sum %a, %b : memref<8xf32>, memref<2x2xf32, strided<[4, 1]>>
  return
}
