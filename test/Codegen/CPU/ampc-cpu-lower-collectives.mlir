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

// Still on tensors: bufferize first.
func.func @tensor(%t: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'amp.all_reduce' op is still on tensors: bufferize before ampc-cpu-lower-collectives}}
  %r = amp.all_reduce sum %t : tensor<2xf32> -> tensor<2xf32>
  return %r : tensor<2xf32>
}
