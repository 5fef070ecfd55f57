// ampc-train trains the zoo MLP on Fashion-MNIST and reports per epoch and
// per policy; bad input is a clear error.
// RUN: ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=fp32,bf16 --max-steps=60 | FileCheck %s
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --dataset=%t.nowhere 2>&1 | FileCheck %s --check-prefix=NODATA
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=int4 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: split-file %s %t
// RUN: not ampc-train %t/wrong-signature.mlir 2>&1 | FileCheck %s --check-prefix=CONTRACT
// RUN: not ampc-train %ampc_src_root/examples/models/transformer_block.mlir 2>&1 | FileCheck %s --check-prefix=NODIFF
// RUN: not ampc-train %t.missing.mlir 2>&1 | FileCheck %s --check-prefix=MISSING

// CHECK: == fp32 ==
// CHECK-NEXT: epoch loss test accuracy ms/step
// 60 steps of SGD already reach far above chance (10 %).
// CHECK-NEXT: {{^}}1 {{[0-9.]+}} {{[6-9][0-9]\.[0-9]+}}%
// CHECK: == bf16 ==
// CHECK: == summary: {{.*}}mlp.mlir, 1 epoch(s), SGD lr 0.05 momentum 0.9 ==
// CHECK-NEXT: policy steps loss test accuracy ms/step
// CHECK-NEXT: fp32 60
// CHECK-NEXT: bf16 60

// NODATA: ampc-train: cannot open '{{.*}}.nowhere/train-images-idx3-ubyte.gz': No such file or directory (Debian's dataset-fashion-mnist installs the dataset)
// POLICY: ampc-train: unknown policy 'int4'; expected none, fp32, bf16, fp16 or fp8
// CONTRACT: ampc-train: @forward must take its parameters, images [B, 784] and one-hot labels [B, 10], and return the loss and the logits [B, 10]
// NODIFF: error: 'linalg.softmax' op cannot be differentiated by ampc-autodiff
// MISSING: ampc-train: cannot open '{{.*}}.missing.mlir': No such file or directory

//--- wrong-signature.mlir
func.func @forward(%w: tensor<4xf32> {amp.param}, %x: tensor<4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%w, %x : tensor<4xf32>, tensor<4xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}
