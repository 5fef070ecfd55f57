// The zoo MLP's training step (shrunk: batch 8, 24 inputs, 16 hidden) on the
// GPU path, every kernel run in test/lib/gpu_emulator.py, against the CPU
// pipeline's loops on the same random parameters, state and batch: the GPU
// pipeline up to its kernels (fusion, tensor cores with epilogues,
// reductions, parallel loops mapped to blocks and threads) computes what the
// CPU computes. bf16; fp16 with dynamic loss scaling (a tolerance for f16
// intermediates that round the other way after f32 sums in another order);
// fp8 with delayed scaling on fp8 tensor cores and the hardware conversions
// (cvt.rn.satfinite.e4m3x2.f32).
// RUN: sed -e 's/784/24/g; s/256/16/g; s/128/8/g; s/-0.0078125/-0.125/g' %ampc_src_root/examples/models/mlp.mlir > %t.mlir
// RUN: for p in bf16 fp16 fp8; do \
// RUN:   scaling=none; [ $p = fp16 ] && scaling=dynamic; \
// RUN:   ampc-opt %t.mlir -amp-build-train-step=loss-scaling=$scaling -ampc-train-pipeline=policy=$p -o %t.$p.mlir && \
// RUN:   ampc-opt %t.$p.mlir -ampc-cpu-pipeline=vectorize=false -mlir-disable-threading -mlir-print-ir-module-scope -mlir-print-op-generic -mlir-print-ir-after=ampc-expand-strided-copies -o /dev/null 2> %t.$p.cpu && \
// RUN:   ampc-opt %t.$p.mlir -ampc-gpu-pipeline=features=+ptx84 -mlir-disable-threading -mlir-print-ir-module-scope -mlir-print-op-generic -mlir-print-ir-after=convert-parallel-loops-to-gpu -o /dev/null 2> %t.$p.gpu && \
// RUN:   echo "== $p" && %python %S/../../lib/gpu_emulator.py %t.$p.cpu %t.$p.gpu --tolerance 1e-3; \
// RUN: done | FileCheck %s

// CHECK: == bf16
// CHECK: @forward: 8 buffers match ({{.*}} 0 NaN in both
// CHECK: @train_step: 13 buffers match ({{.*}} 0 NaN in both
// CHECK: == fp16
// CHECK: @forward: 8 buffers match ({{.*}} 0 NaN in both
// CHECK: @train_state_init: 3 buffers match
// CHECK: @train_step: 19 buffers match ({{.*}} 0 NaN in both
// CHECK: == fp8
// CHECK: @forward: 8 buffers match ({{.*}} 0 NaN in both
// fp8's state: the position, and the histories, block maxima and scales of
// the 6 cast sites in one column each.
// CHECK: @train_state_init: 4 buffers match
// CHECK: @train_step: 21 buffers match ({{.*}} 0 NaN in both
