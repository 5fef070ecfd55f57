// The zoo CNN's training step (shrunk: batch 2, 8x8 images) on the GPU path
// under bf16, every kernel run in test/lib/gpu_emulator.py, against the CPU
// pipeline: the convolution and its weight gradient on tensor cores (implicit
// GEMM), max pooling and its adjoint, the dense layer, the loss.
// RUN: sed -e 's/1352/72/g; s/\b32x/2x/g; s/tensor<32xf32>/tensor<2xf32>/g; s/28x28/8x8/g; s/26x26/6x6/g; s/13x13/3x3/g; s/-0.03125/-0.5/g' %ampc_src_root/examples/models/cnn.mlir > %t.mlir
// RUN: ampc-opt %t.mlir -amp-build-train-step -ampc-train-pipeline=policy=bf16 -o %t.step.mlir
// RUN: ampc-opt %t.step.mlir -ampc-cpu-pipeline=vectorize=false -mlir-disable-threading -mlir-print-ir-module-scope -mlir-print-op-generic -mlir-print-ir-after=ampc-expand-strided-copies -o /dev/null 2> %t.cpu
// RUN: ampc-opt %t.step.mlir -ampc-gpu-pipeline -mlir-disable-threading -mlir-print-ir-module-scope -mlir-print-op-generic -mlir-print-ir-after=convert-parallel-loops-to-gpu -o /dev/null 2> %t.gpu
// RUN: grep -c mma.sync %t.gpu | FileCheck %s --check-prefix=MMA
// RUN: %python %S/../../lib/gpu_emulator.py %t.cpu %t.gpu --tolerance 1e-3 | FileCheck %s
// MMA: {{[1-9][0-9]*}}
// CHECK: @forward: 8 buffers match ({{.*}} 0 NaN in both
// CHECK: @train_step: 13 buffers match ({{.*}} 0 NaN in both
