// RUN: ampc-opt %s -split-input-file -ampc-expand-strided-copies | FileCheck %s
// RUN: ampc-opt %s -split-input-file -ampc-expand-strided-copies -ampc-cpu-pipeline | FileCheck %s --check-prefix=LLVM

// A copy into a strided view (a strided insert_slice after bufferization)
// becomes linalg.copy; a contiguous copy stays memref.copy.
// CHECK-LABEL: func.func @strided
// CHECK: %[[VIEW:.*]] = memref.subview
// CHECK-NEXT: linalg.copy ins(%{{.*}} : memref<2x3xf32>) outs(%[[VIEW]] : memref<2x3xf32, strided<[12, 2], offset: 1>>)
// CHECK-NOT: memref.copy
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<4x6xf32> to memref<4x6xf32>
// CHECK-NEXT: return
// The LLVM code needs no runtime helper for either.
// LLVM-NOT: memrefCopy
func.func @strided(%src: memref<2x3xf32>, %dst: memref<4x6xf32>, %other: memref<4x6xf32>) {
  %view = memref.subview %dst[0, 1] [2, 3] [2, 2] : memref<4x6xf32> to memref<2x3xf32, strided<[12, 2], offset: 1>>
  memref.copy %src, %view : memref<2x3xf32> to memref<2x3xf32, strided<[12, 2], offset: 1>>
  memref.copy %dst, %other : memref<4x6xf32> to memref<4x6xf32>
  return
}

// -----

// Reading from a strided view, too.
// CHECK-LABEL: func.func @from_strided
// CHECK: linalg.copy ins(%{{.*}} : memref<2x2xf32, strided<[8, 1], offset: 2>>) outs(%{{.*}} : memref<2x2xf32>)
func.func @from_strided(%src: memref<4x4xf32>, %dst: memref<2x2xf32>) {
  %view = memref.subview %src[0, 2] [2, 2] [2, 1] : memref<4x4xf32> to memref<2x2xf32, strided<[8, 1], offset: 2>>
  memref.copy %view, %dst : memref<2x2xf32, strided<[8, 1], offset: 2>> to memref<2x2xf32>
  return
}
