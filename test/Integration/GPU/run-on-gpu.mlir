// On a machine with an NVIDIA GPU: ampc-run --target=cuda runs the kernels
// and gets the CPU's numbers (a bf16 matmul and an fp8 cast).
// REQUIRES: gpu
// RUN: ampc-run %s --function=mm --target=cuda --policy=bf16 --input=64x32xf32=1.01 --input=32x16xf32=2 | FileCheck %s
// RUN: ampc-run %s --function=mm --target=cpu --policy=bf16 --input=64x32xf32=1.01 --input=32x16xf32=2 | FileCheck %s
// RUN: ampc-run %s --function=quantize --target=cuda --input=4xf32=1000 --output=@%t.npy
// RUN: %npy_tool dump %t.npy | FileCheck %s --check-prefix=FP8

// Under bf16, 1.01 rounds to 1.0078125: 32 * 1.0078125 * 2 = 64.5.
// CHECK: result[0]: tensor<64x16xf32> min=64.5 max=64.5 mean=64.5
// Saturating E4M3: 1000 -> 448 (0x7e).
// FP8: values=0x7e 0x7e 0x7e 0x7e
func.func @mm(%a: tensor<64x32xf32>, %b: tensor<32x16xf32>) -> tensor<64x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x16xf32>) -> tensor<64x16xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x32xf32>, tensor<32x16xf32>) outs(%f : tensor<64x16xf32>) -> tensor<64x16xf32>
  return %m : tensor<64x16xf32>
}
func.func @quantize(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  %0 = amp.cast %x : tensor<4xf32> to tensor<4xf8E4M3FN>
  return %0 : tensor<4xf8E4M3FN>
}
