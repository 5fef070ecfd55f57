// The PTX of every zoo model's training step, under bf16 and under fp8
// (E4M3/E5M2 casts, scaling, descaling; tensor cores with PTX 8.4 where the
// sizes fit), assembles with NVIDIA's ptxas for
// sm_90 (H100/H200), and calls nothing external (no libdevice). Needs ptxas
// (the CUDA toolkit, not a Debian package): UNSUPPORTED without it.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: for m in mlp cnn transformer_block; do for p in bf16 fp8; do \
// RUN:   ampc-opt %ampc_src_root/examples/models/$m.mlir -amp-build-train-step -ampc-train-pipeline=policy=$p -ampc-gpu-pipeline="features=+ptx84" > %t/$m-$p.mlir && \
// RUN:   %extract_ptx %t/$m-$p.mlir %t/$m-$p > /dev/null && \
// RUN:   ls %t/$m-$p/*.ptx | xargs -P 4 -I{} %ptxas -arch=sm_90 {} -o {}.cubin && \
// RUN:   echo "$m $p $(ls %t/$m-$p/*.cubin | wc -l) kernels assembled, $(cat %t/$m-$p/*.ptx | grep -c '.extern .func') external functions"; \
// RUN: done; done | FileCheck %s

// CHECK: mlp bf16 {{[1-9][0-9]+}} kernels assembled, 0 external functions
// CHECK: mlp fp8 {{[1-9][0-9]+}} kernels assembled, 0 external functions
// CHECK: cnn bf16 {{[1-9][0-9]+}} kernels assembled, 0 external functions
// CHECK: cnn fp8 {{[1-9][0-9]+}} kernels assembled, 0 external functions
// CHECK: transformer_block bf16 {{[1-9][0-9]+}} kernels assembled, 0 external functions
// CHECK: transformer_block fp8 {{[1-9][0-9]+}} kernels assembled, 0 external functions
