// RUN: ampc-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(ampc-skip-self-copies))' | FileCheck %s

// A copy from one argument into another (a donated result into its out
// parameter) runs only when the two buffers differ; a copy from a buffer
// the function made stays as it is.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[W:.*]]: memref<4xf32>, %[[H:.*]]: memref<1024xf32>, %[[OUTW:.*]]: memref<4xf32>, %[[OUTH:.*]]: memref<1024xf32>, %[[LOSS:.*]]: memref<f32>)
// CHECK: %[[FROM:.*]] = memref.extract_aligned_pointer_as_index %[[W]] : memref<4xf32> -> index
// CHECK: %[[TO:.*]] = memref.extract_aligned_pointer_as_index %[[OUTW]] : memref<4xf32> -> index
// CHECK: %[[DIFFER:.*]] = arith.cmpi ne, %[[FROM]], %[[TO]] : index
// CHECK: scf.if %[[DIFFER]] {
// CHECK-NEXT: memref.copy %[[W]], %[[OUTW]] : memref<4xf32> to memref<4xf32>
// CHECK-NEXT: }
// CHECK: %[[FROMH:.*]] = memref.extract_aligned_pointer_as_index %[[H]]
// CHECK: %[[TOH:.*]] = memref.extract_aligned_pointer_as_index %[[OUTH]]
// CHECK: %[[DIFFERH:.*]] = arith.cmpi ne, %[[FROMH]], %[[TOH]] : index
// CHECK: scf.if %[[DIFFERH]] {
// CHECK-NEXT: memref.copy %[[H]], %[[OUTH]]
// CHECK-NEXT: }
// CHECK-NOT: scf.if
// CHECK: memref.copy %{{.*}}, %[[LOSS]] : memref<f32> to memref<f32>
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: return
func.func @train_step(%w: memref<4xf32>, %h: memref<1024xf32>, %out_w: memref<4xf32>,
                      %out_h: memref<1024xf32>, %loss: memref<f32>) {
  memref.copy %w, %out_w : memref<4xf32> to memref<4xf32>
  memref.copy %h, %out_h : memref<1024xf32> to memref<1024xf32>
  %a = memref.alloc() : memref<f32>
  memref.copy %a, %loss : memref<f32> to memref<f32>
  memref.dealloc %a : memref<f32>
  return
}

// -----

// Copies between buffers the function made, or from one into an argument,
// are left alone, as are external functions.
// CHECK-LABEL: func.func @inner(
// CHECK-NOT: scf.if
// CHECK: memref.copy
// CHECK-LABEL: func.func private @external(
func.func @inner(%a: memref<4xf32>) {
  %b = memref.alloc() : memref<4xf32>
  %c = memref.alloc() : memref<4xf32>
  memref.copy %b, %c : memref<4xf32> to memref<4xf32>
  memref.copy %c, %a : memref<4xf32> to memref<4xf32>
  memref.dealloc %b : memref<4xf32>
  memref.dealloc %c : memref<4xf32>
  return
}
func.func private @external(memref<4xf32>, memref<4xf32>)
