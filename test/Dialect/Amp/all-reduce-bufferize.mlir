// One-Shot Bufferize: every form of the all-reduce combines its tensor's
// buffer in place (no copy, no new allocation for the results).
// RUN: ampc-opt %s -one-shot-bufferize="bufferize-function-boundaries" -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @blocking(
// CHECK-SAME: %[[G:.*]]: memref<4xf32{{.*}}>, %[[L:.*]]: memref<f32{{.*}}>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: amp.all_reduce mean %[[G]], %[[L]] : memref<4xf32{{.*}}>, memref<f32{{.*}}>
// CHECK: return %[[G]], %[[L]]
func.func @blocking(%g: tensor<4xf32>, %l: tensor<f32>) -> (tensor<4xf32>, tensor<f32>) {
  %r:2 = amp.all_reduce mean %g, %l : tensor<4xf32>, tensor<f32> -> tensor<4xf32>, tensor<f32>
  return %r#0, %r#1 : tensor<4xf32>, tensor<f32>
}

// -----

// A bucket built in the function: the concatenation's buffer is started,
// left alone while the fill computes, waited for and read.
// CHECK-LABEL: func.func @bucket(
// CHECK: %[[B:.*]] = memref.alloc() {{.*}} : memref<6xf32>
// CHECK: %[[R:.*]] = amp.all_reduce_start mean %[[B]] : memref<6xf32>
// CHECK: linalg.fill
// CHECK: amp.all_reduce_wait %[[R]], %[[B]] : memref<6xf32>
// CHECK-NOT: memref.copy
// CHECK: memref.subview %[[B]][2] [4] [1]
func.func @bucket(%a: tensor<2xf32>, %b: tensor<4xf32>, %c: tensor<8xf32>) -> (tensor<4xf32>, tensor<8xf32>) {
  %bucket = tensor.concat dim(0) %a, %b : (tensor<2xf32>, tensor<4xf32>) -> tensor<6xf32>
  %f, %r = amp.all_reduce_start mean %bucket : tensor<6xf32> -> tensor<6xf32>
  %zero = arith.constant 0.0 : f32
  %z = linalg.fill ins(%zero : f32) outs(%c : tensor<8xf32>) -> tensor<8xf32>
  %avg = amp.all_reduce_wait %r, %f : tensor<6xf32> -> tensor<6xf32>
  %s = tensor.extract_slice %avg[2] [4] [1] : tensor<6xf32> to tensor<4xf32>
  return %s, %z : tensor<4xf32>, tensor<8xf32>
}
