// amp.all_reduce: round trip on tensors and on memrefs, the verifier, and
// what canonicalization keeps (the back ends' lowerings:
// Codegen/CPU/ampc-cpu-lower-collectives.mlir,
// Codegen/NVGPU/ampc-gpu-lower-collectives.mlir).
// RUN: ampc-opt %s -split-input-file | FileCheck %s
// RUN: ampc-opt %s -split-input-file --mlir-print-op-generic | ampc-opt -split-input-file | FileCheck %s
// RUN: ampc-opt %s -split-input-file -canonicalize -cse | FileCheck %s --check-prefix=KEPT

// CHECK-LABEL: func.func @tensors
// CHECK: %[[R:.*]]:2 = amp.all_reduce mean %{{.*}}, %{{.*}} : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>, tensor<f32>
// CHECK: amp.all_reduce max %{{.*}} : tensor<2xf32> -> tensor<2xf32>
// CHECK: amp.all_reduce sum
// Communication stays, in order, even when its results are unused.
// KEPT-LABEL: func.func @tensors
// KEPT-COUNT-3: amp.all_reduce
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

// -----

// The non-blocking pair: the start's in-flight tensor goes to the wait of
// its request, whose result is the combination.
// CHECK-LABEL: func.func @start_wait
// CHECK: %[[F:.*]], %[[R:.*]] = amp.all_reduce_start mean %arg0 : tensor<6xf32> -> tensor<6xf32>
// CHECK: %[[X:.*]] = arith.addf
// CHECK: %[[A:.*]] = amp.all_reduce_wait %[[R]], %[[F]] : tensor<6xf32> -> tensor<6xf32>
// CHECK: return %[[A]], %[[X]]
// KEPT-LABEL: func.func @start_wait
// KEPT: amp.all_reduce_start
// KEPT: amp.all_reduce_wait
func.func @start_wait(%g: tensor<6xf32>, %x: f32) -> (tensor<6xf32>, f32) {
  %f, %r = amp.all_reduce_start mean %g : tensor<6xf32> -> tensor<6xf32>
  %y = arith.addf %x, %x : f32
  %a = amp.all_reduce_wait %r, %f : tensor<6xf32> -> tensor<6xf32>
  return %a, %y : tensor<6xf32>, f32
}

// -----

// CHECK-LABEL: func.func @start_wait_buffers
// CHECK: %[[R:.*]] = amp.all_reduce_start max %arg0 : memref<2x3xf32>
// CHECK: amp.all_reduce_wait %[[R]], %arg0 : memref<2x3xf32>
// An unused pair is communication too: kept.
// KEPT-LABEL: func.func @start_wait_buffers
// KEPT: amp.all_reduce_start
// KEPT: amp.all_reduce_wait
func.func @start_wait_buffers(%b: memref<2x3xf32>) {
  %r = amp.all_reduce_start max %b : memref<2x3xf32>
  amp.all_reduce_wait %r, %b : memref<2x3xf32>
  return
}
