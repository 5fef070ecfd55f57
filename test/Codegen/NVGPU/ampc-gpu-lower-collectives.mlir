// RUN: ampc-opt %s -split-input-file -verify-diagnostics -ampc-gpu-lower-collectives | FileCheck %s
// The whole GPU pipeline: the calls are host code, a strided buffer's
// temporary is managed memory (kernels and NCCL reach it).
// RUN: ampc-opt %s -split-input-file --ampc-gpu-pipeline 2>/dev/null | FileCheck %s --check-prefix=PIPE

// The blocking form: one NCCL call per buffer, on its first element (the
// aligned pointer plus the offset in bytes) and its element count; the kind
// as an i32 (0 sum, 1 mean, 2 max).
// CHECK-DAG: func.func private @ampc_rt_cuda_all_reduce_f32(!llvm.ptr, i64, i32)
// CHECK-LABEL: func.func @blocking
// CHECK: %[[MEAN:.*]] = arith.constant 1 : i32
// CHECK: memref.extract_aligned_pointer_as_index %arg0 : memref<4x3xf32>
// CHECK: call @ampc_rt_cuda_all_reduce_f32(%{{.*}}, %{{.*}}, %[[MEAN]]) : (!llvm.ptr, i64, i32) -> ()
// CHECK: memref.extract_aligned_pointer_as_index %arg1 : memref<f32>
// CHECK: call @ampc_rt_cuda_all_reduce_f32(%{{.*}}, %{{.*}}, %[[MEAN]])
// CHECK-NOT: amp.all_reduce
// PIPE-LABEL: llvm.func @blocking
// PIPE-COUNT-2: llvm.call @ampc_rt_cuda_all_reduce_f32
func.func @blocking(%a: memref<4x3xf32>, %b: memref<f32>) {
  amp.all_reduce mean %a, %b : memref<4x3xf32>, memref<f32>
  return
}

// -----

// Started and waited for: the start's handle goes to its wait; the host
// code between them (here a kernel's launch) runs meanwhile.
// CHECK-DAG: func.func private @ampc_rt_cuda_all_reduce_start_f32(!llvm.ptr, i64, i32) -> i64
// CHECK-DAG: func.func private @ampc_rt_cuda_all_reduce_wait(i64)
// CHECK-LABEL: func.func @start_wait
// CHECK: %[[H:.*]] = call @ampc_rt_cuda_all_reduce_start_f32(%{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, i64, i32) -> i64
// CHECK: linalg.fill
// CHECK: call @ampc_rt_cuda_all_reduce_wait(%[[H]]) : (i64) -> ()
// PIPE-LABEL: llvm.func @start_wait
// PIPE: %[[H:.*]] = llvm.call @ampc_rt_cuda_all_reduce_start_f32
// PIPE: gpu.launch_func @start_wait_kernel
// PIPE: llvm.call @ampc_rt_cuda_all_reduce_wait(%[[H]])
func.func @start_wait(%a: memref<6xf32>, %c: memref<4xf32>) {
  %r = amp.all_reduce_start sum %a : memref<6xf32>
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4xf32>)
  amp.all_reduce_wait %r, %a : memref<6xf32>
  return
}

// -----

// A strided buffer goes through a contiguous copy, managed memory in the
// pipeline, copied back and freed after the wait.
// CHECK-LABEL: func.func @strided
// CHECK: %[[TMP:.*]] = memref.alloc() : memref<2x2xf32>
// CHECK: memref.copy %arg0, %[[TMP]]
// CHECK: %[[H:.*]] = call @ampc_rt_cuda_all_reduce_start_f32
// CHECK: call @ampc_rt_cuda_all_reduce_wait(%[[H]])
// CHECK-NEXT: memref.copy %[[TMP]], %arg0
// CHECK-NEXT: memref.dealloc %[[TMP]]
// PIPE-LABEL: llvm.func @strided
// PIPE: llvm.call @mgpuMemAlloc
// PIPE: llvm.call @ampc_rt_cuda_all_reduce_start_f32
// PIPE: llvm.call @ampc_rt_cuda_all_reduce_wait
// PIPE: llvm.call @mgpuMemFree
func.func @strided(%a: memref<2x2xf32, strided<[4, 1]>>) {
  %r = amp.all_reduce_start max %a : memref<2x2xf32, strided<[4, 1]>>
  amp.all_reduce_wait %r, %a : memref<2x2xf32, strided<[4, 1]>>
  return
}

// -----

func.func @tensor(%t: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'amp.all_reduce' op is still on tensors: bufferize before ampc-gpu-lower-collectives}}
  %r = amp.all_reduce sum %t : tensor<2xf32> -> tensor<2xf32>
  return %r : tensor<2xf32>
}
