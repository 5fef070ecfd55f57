// RUN: ampc-opt %s -split-input-file -ampc-gpu-host-buffers | FileCheck %s

// Host temporaries become managed memory that kernels and the host code
// between launches both reach; constants are copied into such a buffer and
// freed before returning.
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[IN:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<f32>)
// CHECK: %[[G:.*]] = memref.get_global @weights : memref<4xf32>
// CHECK-NEXT: %[[C:.*]] = gpu.alloc  host_shared () : memref<4xf32>
// CHECK-NEXT: memref.copy %[[G]], %[[C]] : memref<4xf32> to memref<4xf32>
// CHECK: %[[T:.*]] = gpu.alloc  host_shared () : memref<4xf32>
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch_func  @kernels::@scale {{.*}} args(%[[IN]] : memref<4xf32>, %[[C]] : memref<4xf32>, %[[T]] : memref<4xf32>)
// CHECK: memref.load %[[T]]
// Frees go through a stream of their own (the form the runtime lowering
// takes) and are waited for.
// CHECK: %[[S1:.*]] = gpu.wait async
// CHECK-NEXT: %[[D1:.*]] = gpu.dealloc async [%[[S1]]] %[[T]] : memref<4xf32>
// CHECK-NEXT: gpu.wait [%[[D1]]]
// CHECK-NOT: memref.dealloc
// CHECK: %[[S2:.*]] = gpu.wait async
// CHECK-NEXT: %[[D2:.*]] = gpu.dealloc async [%[[S2]]] %[[C]] : memref<4xf32>
// CHECK-NEXT: gpu.wait [%[[D2]]]
// CHECK-NEXT: return
module attributes {gpu.container_module} {
  memref.global "private" constant @weights : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
  gpu.module @kernels {
    gpu.func @scale(%a: memref<4xf32>, %w: memref<4xf32>, %o: memref<4xf32>) kernel {
      %i = gpu.thread_id x
      %x = memref.load %a[%i] : memref<4xf32>
      %y = memref.load %w[%i] : memref<4xf32>
      %z = arith.mulf %x, %y : f32
      memref.store %z, %o[%i] : memref<4xf32>
      gpu.return
    }
  }
  func.func @step(%in: memref<4xf32>, %out: memref<f32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %w = memref.get_global @weights : memref<4xf32>
    %t = memref.alloc() : memref<4xf32>
    gpu.launch_func @kernels::@scale blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%in : memref<4xf32>, %w : memref<4xf32>, %t : memref<4xf32>)
    %v = memref.load %t[%c0] : memref<4xf32>
    memref.store %v, %out[] : memref<f32>
    memref.dealloc %t : memref<4xf32>
    return
  }
}
