// The zoo transformer block's training step on the GPU path under bf16,
// every kernel run in test/lib/gpu_emulator.py, against the CPU pipeline:
// batched attention on tensor cores, softmax, layernorm, GELU, and the
// optimizer update (SGD with momentum, the default), all on the same random
// inputs.
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir -amp-build-train-step -ampc-train-pipeline=policy=bf16 -o %t.step.mlir
// RUN: ampc-opt %t.step.mlir -ampc-cpu-pipeline=vectorize=false -mlir-disable-threading -mlir-print-ir-module-scope -mlir-print-op-generic -mlir-print-ir-after=ampc-expand-strided-copies -o /dev/null 2> %t.cpu
// RUN: ampc-opt %t.step.mlir -ampc-gpu-pipeline -mlir-disable-threading -mlir-print-ir-module-scope -mlir-print-op-generic -mlir-print-ir-after=convert-parallel-loops-to-gpu -o /dev/null 2> %t.gpu
// RUN: %python %S/../../lib/gpu_emulator.py %t.cpu %t.gpu --tolerance 1e-3 | FileCheck %s
// CHECK: @forward: 16 buffers match ({{.*}} 0 NaN in both
// CHECK: @train_step: 29 buffers match ({{.*}} 0 NaN in both
