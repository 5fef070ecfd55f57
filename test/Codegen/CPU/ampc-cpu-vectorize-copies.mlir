// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-vectorize-copies))" | FileCheck %s
// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-vectorize-copies{vector-bytes=32}))" | FileCheck %s --check-prefix=AVX2
// RUN: not ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-vectorize-copies{vector-bytes=0}))" 2>&1 | FileCheck %s --check-prefix=BAD

// A vector of no bytes is refused, naming the option.
// BAD: error: ampc-cpu-vectorize-copies: vector-bytes must be positive, got 0

// A pooled activation copied out of the padded buffer its gradient reads
// (every other pixel of a row: w at a stride of 16 floats) into a
// contiguous one: a loop per outer dimension and one 8-lane vector read
// and write per pixel.
// CHECK-LABEL: func.func @pooled
// CHECK-NOT: linalg.copy
// CHECK: scf.for %[[N:.*]] = %c0 to %c32 step %c1
// CHECK: scf.for %[[H:.*]] = %c0 to %c13 step %c1
// CHECK: scf.for %[[W:.*]] = %c0 to %c13 step %c1
// CHECK: scf.for %[[C:.*]] = %c0 to %c8 step %c8
// CHECK: %[[V:.*]] = vector.transfer_read %arg0[%[[N]], %[[H]], %[[W]], %[[C]]], %{{.*}} {in_bounds = [true]} : memref<32x13x13x8xf32, strided<[5832, 432, 16, 1], offset: 224>>, vector<8xf32>
// CHECK: vector.transfer_write %[[V]], %arg1[%[[N]], %[[H]], %[[W]], %[[C]]] {in_bounds = [true]} : vector<8xf32>, memref<32x13x13x8xf32>
// CHECK-NOT: linalg.copy
func.func @pooled(%padded: memref<32x13x13x8xf32, strided<[5832, 432, 16, 1], offset: 224>>, %out: memref<32x13x13x8xf32>) {
  linalg.copy ins(%padded : memref<32x13x13x8xf32, strided<[5832, 432, 16, 1], offset: 224>>) outs(%out : memref<32x13x13x8xf32>)
  return
}

// -----

// Rows of 48 floats: three 16-lane vectors per row (64 bytes), six 8-lane
// ones with vector-bytes=32 (AVX2); rows of 20: two vectors of 10 (the
// largest divisor that fits), four of 5 on AVX2; bf16 rows of 64: two
// 32-lane vectors.
// CHECK-LABEL: func.func @rows
// CHECK: scf.for {{.*}} to %c48 step %c16
// CHECK: vector.transfer_read {{.*}} vector<16xf32>
// CHECK: scf.for {{.*}} to %c20 step %c10
// CHECK: vector.transfer_read {{.*}} vector<10xf32>
// CHECK: scf.for {{.*}} to %c64 step %c32
// CHECK: vector.transfer_read {{.*}} vector<32xbf16>
// CHECK-NOT: linalg.copy
// AVX2-LABEL: func.func @rows
// AVX2: scf.for {{.*}} to %c48 step %c8
// AVX2: vector.transfer_read {{.*}} vector<8xf32>
// AVX2: scf.for {{.*}} to %c20 step %c5
// AVX2: vector.transfer_read {{.*}} vector<5xf32>
// AVX2: scf.for {{.*}} to %c64 step %c16
// AVX2: vector.transfer_read {{.*}} vector<16xbf16>
func.func @rows(%a: memref<4x48xf32, strided<[64, 1]>>, %b: memref<4x48xf32>,
                %c: memref<3x20xf32, strided<[32, 1], offset: 4>>, %d: memref<3x20xf32>,
                %e: memref<2x64xbf16, strided<[128, 1]>>, %f: memref<2x64xbf16>) {
  linalg.copy ins(%a : memref<4x48xf32, strided<[64, 1]>>) outs(%b : memref<4x48xf32>)
  linalg.copy ins(%c : memref<3x20xf32, strided<[32, 1], offset: 4>>) outs(%d : memref<3x20xf32>)
  linalg.copy ins(%e : memref<2x64xbf16, strided<[128, 1]>>) outs(%f : memref<2x64xbf16>)
  return
}

// -----

// Left as they are: rows of one element, rows of a prime larger than a
// vector (17), a source strided in its innermost dimension, a dynamic
// shape, and a copy on tensors.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-5: linalg.copy
// CHECK-NOT: vector.transfer_read
func.func @left_alone(%a: memref<8x1xf32, strided<[4, 1]>>, %b: memref<8x1xf32>,
                      %c: memref<2x17xf32, strided<[32, 1]>>, %d: memref<2x17xf32>,
                      %e: memref<4x8xf32, strided<[1, 4]>>, %f: memref<4x8xf32>,
                      %g: memref<?x16xf32, strided<[32, 1]>>, %h: memref<?x16xf32>,
                      %t: tensor<4x16xf32>, %u: tensor<4x16xf32>) -> tensor<4x16xf32> {
  linalg.copy ins(%a : memref<8x1xf32, strided<[4, 1]>>) outs(%b : memref<8x1xf32>)
  linalg.copy ins(%c : memref<2x17xf32, strided<[32, 1]>>) outs(%d : memref<2x17xf32>)
  linalg.copy ins(%e : memref<4x8xf32, strided<[1, 4]>>) outs(%f : memref<4x8xf32>)
  linalg.copy ins(%g : memref<?x16xf32, strided<[32, 1]>>) outs(%h : memref<?x16xf32>)
  %r = linalg.copy ins(%t : tensor<4x16xf32>) outs(%u : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// Contiguous memref.copy (a memcpy otherwise) of up to 64 KiB: an fp8 amax
// history moved one place on (1023 floats into an offset of 1): 63 16-lane
// vectors and one of 15 (127 8-lane and one of 7 on AVX2); 16 x 16: a loop
// over the rows, one 16-lane vector each (a loop of two 8-lane ones on
// AVX2); a row of 5 bf16: one vector, no loop.
// CHECK-LABEL: func.func @memcpys
// CHECK-NOT: memref.copy
// CHECK: scf.for %[[I:.*]] = %c0 to %c1008 step %c16
// CHECK: %[[V:.*]] = vector.transfer_read %arg0[%[[I]]], %{{.*}} {in_bounds = [true]} : memref<1023xf32, strided<[1]>>, vector<16xf32>
// CHECK: vector.transfer_write %[[V]], %arg1[%[[I]]] {in_bounds = [true]} : vector<16xf32>, memref<1023xf32, strided<[1], offset: 1>>
// CHECK: %[[R:.*]] = vector.transfer_read %arg0[%c1008], %{{.*}} {in_bounds = [true]} : memref<1023xf32, strided<[1]>>, vector<15xf32>
// CHECK: vector.transfer_write %[[R]], %arg1[%c1008] {in_bounds = [true]} : vector<15xf32>, memref<1023xf32, strided<[1], offset: 1>>
// CHECK: scf.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NOT: scf.for
// CHECK: vector.transfer_read %arg2[%[[ROW]], %{{.*}}]{{.*}} vector<16xf32>
// CHECK-NOT: scf.for
// CHECK: vector.transfer_read %arg4[%{{.*}}]{{.*}} vector<5xbf16>
// CHECK-NOT: memref.copy
// AVX2-LABEL: func.func @memcpys
// AVX2: scf.for {{.*}} to %c1016 step %c8
// AVX2: vector.transfer_read {{.*}} vector<8xf32>
// AVX2: vector.transfer_read %arg0[%c1016]{{.*}} vector<7xf32>
// AVX2: scf.for
// AVX2: scf.for {{.*}} step %c8
// AVX2: vector.transfer_read {{.*}} vector<8xf32>
// AVX2: vector.transfer_read {{.*}} vector<5xbf16>
func.func @memcpys(%a: memref<1023xf32, strided<[1]>>, %b: memref<1023xf32, strided<[1], offset: 1>>,
                   %c: memref<16x16xf32>, %d: memref<16x16xf32>,
                   %e: memref<5xbf16>, %f: memref<5xbf16>) {
  memref.copy %a, %b : memref<1023xf32, strided<[1]>> to memref<1023xf32, strided<[1], offset: 1>>
  memref.copy %c, %d : memref<16x16xf32> to memref<16x16xf32>
  memref.copy %e, %f : memref<5xbf16> to memref<5xbf16>
  return
}

// -----

// Left to memcpy: more than 64 KiB (128 x 129 floats), one element, a
// scalar, a dynamic size.
// CHECK-LABEL: func.func @memcpys_left_alone
// CHECK-COUNT-4: memref.copy
// CHECK-NOT: vector.transfer_read
func.func @memcpys_left_alone(%a: memref<128x129xf32>, %b: memref<128x129xf32>,
                              %c: memref<1xf32>, %d: memref<1xf32>,
                              %e: memref<f32>, %f: memref<f32>,
                              %g: memref<?xf32>, %h: memref<?xf32>) {
  memref.copy %a, %b : memref<128x129xf32> to memref<128x129xf32>
  memref.copy %c, %d : memref<1xf32> to memref<1xf32>
  memref.copy %e, %f : memref<f32> to memref<f32>
  memref.copy %g, %h : memref<?xf32> to memref<?xf32>
  return
}
