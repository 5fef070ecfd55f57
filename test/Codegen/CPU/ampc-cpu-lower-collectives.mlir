// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-cpu-lower-collectives | FileCheck %s

// One runtime call per buffer, on its first element (the aligned pointer
// plus the offset, in bytes) and its element count; the kind as an i32
// (0 sum, 1 mean, 2 max). The declaration is added once.
// CHECK: func.func private @ampc_rt_all_reduce_f32(!llvm.ptr, i64, i32)
// CHECK-NOT: func.func private @ampc_rt_all_reduce_f32
// CHECK-LABEL: func.func @contiguous
// CHECK-DAG: %[[MEAN:.*]] = arith.constant 1 : i32
// CHECK: %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %arg0 : memref<4x3xf32> -> index
// CHECK: %{{.*}}, %[[OFFSET:.*]], %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata %arg0
// CHECK: %[[BYTES:.*]] = arith.muli %[[OFFSET]], %c4
// CHECK: %[[ADDR:.*]] = arith.addi %[[BASE]], %[[BYTES]]
// CHECK: %[[I64:.*]] = arith.index_cast %[[ADDR]] : index to i64
// CHECK: %[[PTR:.*]] = llvm.inttoptr %[[I64]] : i64 to !llvm.ptr
// CHECK: %[[N:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: call @ampc_rt_all_reduce_f32(%[[PTR]], %[[N]], %[[MEAN]]) : (!llvm.ptr, i64, i32) -> ()
// CHECK: memref.extract_aligned_pointer_as_index %arg1 : memref<f32>
// CHECK: call @ampc_rt_all_reduce_f32(%{{.*}}, %{{.*}}, %[[MEAN]])
// CHECK-NOT: amp.all_reduce
func.func @contiguous(%a: memref<4x3xf32>, %b: memref<f32>) {
  amp.all_reduce mean %a, %b : memref<4x3xf32>, memref<f32>
  return
}

// -----

// A strided buffer (rows of a wider matrix) goes through a contiguous copy.
// CHECK-LABEL: func.func @strided
// CHECK: %[[MAX:.*]] = arith.constant 2 : i32
// CHECK: %[[TMP:.*]] = memref.alloc() : memref<2x2xf32>
// CHECK: memref.copy %arg0, %[[TMP]] : memref<2x2xf32, strided<[4, 1]>> to memref<2x2xf32>
// CHECK: memref.extract_aligned_pointer_as_index %[[TMP]]
// CHECK: call @ampc_rt_all_reduce_f32(%{{.*}}, %{{.*}}, %[[MAX]])
// CHECK: memref.copy %[[TMP]], %arg0
// CHECK: memref.dealloc %[[TMP]]
func.func @strided(%a: memref<2x2xf32, strided<[4, 1]>>) {
  amp.all_reduce max %a : memref<2x2xf32, strided<[4, 1]>>
  return
}

// -----

// A started all-reduce: the start's call returns the handle its wait's call
// takes; the ops between them run while it communicates. The declarations
// are added once.
// CHECK-DAG: func.func private @ampc_rt_all_reduce_start_f32(!llvm.ptr, i64, i32) -> i64
// CHECK-DAG: func.func private @ampc_rt_all_reduce_wait(i64)
// CHECK-LABEL: func.func @start_wait
// CHECK: memref.extract_aligned_pointer_as_index %arg0 : memref<6xf32>
// CHECK: %[[MEAN:.*]] = arith.constant 1 : i32
// CHECK: %[[H1:.*]] = call @ampc_rt_all_reduce_start_f32(%{{.*}}, %{{.*}}, %[[MEAN]]) : (!llvm.ptr, i64, i32) -> i64
// CHECK: memref.extract_aligned_pointer_as_index %arg1 : memref<3xf32>
// CHECK: %[[SUM:.*]] = arith.constant 0 : i32
// CHECK: %[[H2:.*]] = call @ampc_rt_all_reduce_start_f32(%{{.*}}, %{{.*}}, %[[SUM]])
// CHECK: linalg.fill
// CHECK: call @ampc_rt_all_reduce_wait(%[[H1]]) : (i64) -> ()
// CHECK: call @ampc_rt_all_reduce_wait(%[[H2]]) : (i64) -> ()
// CHECK-NOT: amp.all_reduce
func.func @start_wait(%a: memref<6xf32>, %b: memref<3xf32>, %c: memref<4xf32>) {
  %r1 = amp.all_reduce_start mean %a : memref<6xf32>
  %r2 = amp.all_reduce_start sum %b : memref<3xf32>
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4xf32>)
  amp.all_reduce_wait %r1, %a : memref<6xf32>
  amp.all_reduce_wait %r2, %b : memref<3xf32>
  return
}

// -----

// A strided buffer is communicated through a contiguous copy that lives
// until the wait, then is copied back and freed.
// CHECK-LABEL: func.func @start_wait_strided
// CHECK: %[[TMP:.*]] = memref.alloc() : memref<2x2xf32>
// CHECK: memref.copy %arg0, %[[TMP]]
// CHECK: %[[H:.*]] = call @ampc_rt_all_reduce_start_f32
// CHECK: linalg.fill
// CHECK: call @ampc_rt_all_reduce_wait(%[[H]])
// CHECK-NEXT: memref.copy %[[TMP]], %arg0
// CHECK-NEXT: memref.dealloc %[[TMP]]
func.func @start_wait_strided(%a: memref<2x2xf32, strided<[4, 1]>>, %c: memref<4xf32>) {
  %r = amp.all_reduce_start max %a : memref<2x2xf32, strided<[4, 1]>>
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4xf32>)
  amp.all_reduce_wait %r, %a : memref<2x2xf32, strided<[4, 1]>>
  return
}

// -----

// Still on tensors: bufferize first.
func.func @tensor(%t: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'amp.all_reduce' op is still on tensors: bufferize before ampc-cpu-lower-collectives}}
  %r = amp.all_reduce sum %t : tensor<2xf32> -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

func.func @start_tensor(%t: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'amp.all_reduce_start' op is still on tensors: bufferize before ampc-cpu-lower-collectives}}
  %f, %r = amp.all_reduce_start sum %t : tensor<2xf32> -> tensor<2xf32>
  %a = amp.all_reduce_wait %r, %f : tensor<2xf32> -> tensor<2xf32>
  return %a : tensor<2xf32>
}
