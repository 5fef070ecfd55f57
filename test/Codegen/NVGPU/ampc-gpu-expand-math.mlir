// RUN: ampc-opt %s -ampc-gpu-expand-math | FileCheck %s

// Inside gpu.module, transcendental functions become f32 arithmetic and the
// ops PTX has instructions for become LLVM intrinsic calls: nothing is left
// for libdevice. Host code keeps its math ops.
// CHECK-LABEL: gpu.module @kernels
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK-NOT: math.tanh
// CHECK-NOT: math.log
// CHECK: llvm.call_intrinsic "llvm.floor.f32"(%{{.*}}) : (f32) -> f32
// CHECK: llvm.call_intrinsic "llvm.sqrt.f64"(%{{.*}}) : (f64) -> f64
// CHECK-LABEL: func.func @host
// CHECK-NEXT: math.exp
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<4xf32>, %d: memref<4xf64>) kernel {
      %i = gpu.thread_id x
      %x = memref.load %a[%i] : memref<4xf32>
      %e = math.exp %x : f32
      %t = math.tanh %e : f32
      %r = math.erf %t : f32
      %l = math.log %r : f32
      %f = math.floor %l : f32
      memref.store %f, %a[%i] : memref<4xf32>
      %y = memref.load %d[%i] : memref<4xf64>
      %s = math.sqrt %y : f64
      memref.store %s, %d[%i] : memref<4xf64>
      gpu.return
    }
  }
  func.func @host(%x: f32) -> f32 {
    %e = math.exp %x : f32
    return %e : f32
  }
}
