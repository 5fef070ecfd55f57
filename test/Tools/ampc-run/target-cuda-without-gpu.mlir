// Asking for the CUDA target on a machine without an NVIDIA GPU (or its
// driver) is a clear error from every tool, before anything runs.
// UNSUPPORTED: gpu
// RUN: not ampc-run %s --target=cuda --input=4xf32=1 2>&1 | FileCheck %s
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --target=cuda --max-steps=1 2>&1 | FileCheck %s --check-prefix=TRAIN
// RUN: not ampc-run %s --target=tpu --input=4xf32=1 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// CHECK: ampc-run: target cuda needs an NVIDIA GPU and its driver: no CUDA driver: cannot load libcuda.so.1
// TRAIN: ampc-train: target cuda needs an NVIDIA GPU and its driver: no CUDA driver: cannot load libcuda.so.1
// UNKNOWN: ampc-run: unknown target 'tpu'; expected cpu or cuda
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
