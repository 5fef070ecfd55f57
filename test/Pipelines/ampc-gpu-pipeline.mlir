// ampc-gpu-pipeline lowers precision-lowered IR on tensors to PTX for sm_90
// (format=isa needs neither a GPU nor the CUDA toolkit) and host code that
// calls the runtime's mgpu* functions.
// RUN: ampc-opt %s -ampc-train-pipeline=policy=fp8 -ampc-gpu-pipeline > %t.mlir
// RUN: FileCheck %s < %t.mlir
// RUN: mlir-translate --mlir-to-llvmir %t.mlir | FileCheck %s --check-prefix=HOST
// RUN: %extract_ptx %t.mlir %t.ptx | FileCheck %s --check-prefix=FILES
// RUN: cat %t.ptx/*.ptx | FileCheck %s --check-prefix=PTX
// RUN: ampc-opt %s -ampc-train-pipeline=policy=bf16 -ampc-gpu-pipeline="chip=sm_80 features=+ptx70" | FileCheck %s --check-prefix=SM80
// RUN: ampc-opt %s -ampc-train-pipeline=policy=bf16 -ampc-gpu-pipeline > %t.bf16.mlir
// RUN: %extract_ptx %t.bf16.mlir %t.bf16.ptx > /dev/null
// RUN: cat %t.bf16.ptx/*.ptx | FileCheck %s --check-prefix=BF16
// RUN: ampc-opt %s -ampc-train-pipeline=policy=fp8 -ampc-gpu-pipeline="features=+ptx84" > %t.fp8.mlir
// RUN: %extract_ptx %t.fp8.mlir %t.fp8.ptx > /dev/null
// RUN: cat %t.fp8.ptx/*.ptx | FileCheck %s --check-prefix=FP8MMA
// RUN: not ampc-opt %s -ampc-gpu-pipeline="format=elf" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not ampc-opt %s -ampc-gpu-pipeline="chip=sm_70" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not ampc-opt %s -ampc-gpu-pipeline="features=ptx80" 2>&1 | FileCheck %s --check-prefix=FEATURES

// Kernels: the fp8 casts of both operands (the hardware conversion, with the
// CPU's bits), the matmul, the descale and the copy out;
// the full amax reductions run in host loops over managed memory.
// CHECK: llvm.func @forward(
// Blocks of 8 x 32 threads.
// CHECK-DAG: %[[T8:.*]] = llvm.mlir.constant(8 : index) : i64
// CHECK-DAG: %[[T32:.*]] = llvm.mlir.constant(32 : index) : i64
// Temporaries: managed memory (the i8 is host_shared), freed on a stream.
// CHECK: llvm.call @mgpuMemAlloc(%{{.*}}, %{{.*}}, %{{.*}}) : (i64, !llvm.ptr, i8) -> !llvm.ptr
// CHECK: gpu.launch_func @forward_kernel{{(_[0-9]+)?}}::@forward_kernel blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%[[T8]], %[[T32]], %{{.*}})
// CHECK: llvm.call @mgpuMemFree
// CHECK: llvm.func @_mlir_ciface_forward
// CHECK: gpu.binary @forward_kernel [#gpu.object<#nvvm.target<chip = "sm_90", features = "+ptx80">

// The host module is plain LLVM IR over the runtime: kernels launched and
// waited for, temporaries freed, and the five modules loaded once by a
// global constructor (the driver compiles their PTX).
// HOST: call void @mgpuLaunchKernel
// HOST: call void @mgpuStreamSynchronize
// HOST: call void @mgpuMemFree
// HOST-COUNT-5: call ptr @mgpuModuleLoadJIT

// FILES-COUNT-5: {{.*}}.ptx{{$}}

// PTX: .version 8.0
// PTX: .target sm_90
// PTX: .visible .entry forward_kernel
// The fp8 encode is the hardware's saturating conversion (the NaN case
// takes the CPU's encoding); the decode is shifts and masks, exact; the
// matmul multiplies in f32.
// PTX: cvt.rn.satfinite.e4m3x2.f32
// PTX: shr.u32
// PTX: mul.rn.f32
// PTX-NOT: mma.sync

// Under bf16 the matmul (16x8 output, k = 32) runs on tensor cores.
// BF16: cvt.rn.bf16.f32
// BF16: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// With PTX 8.4 on sm_90 the fp8 matmul runs on tensor cores too; with the
// default +ptx80 it does not (the PTX-NOT check above).
// FP8MMA: .version 8.4
// FP8MMA: mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32
// SM80: #nvvm.target<chip = "sm_80", features = "+ptx70">
// SM80-NOT: f8E4M3FN

// FORMAT: error: ampc-gpu-pipeline: unknown format 'elf'; expected isa (PTX), bin (cubin) or fatbin
// CHIP: error: ampc-gpu-pipeline: unsupported chip 'sm_70'; expected sm_80 or newer (sm_90 for H100/H200)
// FEATURES: error: ampc-gpu-pipeline: unsupported features 'ptx80'; expected +ptx<version>, e.g. +ptx80

func.func @forward(%x: tensor<16x32xf32>, %w: tensor<32x8xf32>) -> tensor<16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<16x8xf32>) -> tensor<16x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x8xf32>) outs(%f : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}
