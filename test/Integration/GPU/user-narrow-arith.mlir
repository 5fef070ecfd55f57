// bf16 and f16 arithmetic and conversions written in a model compile for
// sm_90 with the GPU's own instructions (no soft-float calls, no errors).
// RUN: ampc-opt %s -ampc-gpu-pipeline > %t.mlir
// RUN: %extract_ptx %t.mlir %t.ptx > /dev/null
// RUN: cat %t.ptx/*.ptx | FileCheck %s

// CHECK-DAG: add.rn.bf16
// CHECK-DAG: mul.rn.f16
// CHECK-DAG: cvt.rn.bf16.f32
// CHECK-NOT: __trunc
func.func @narrow(%a: tensor<64xbf16>, %b: tensor<64xf16>, %x: tensor<64xf32>)
    -> (tensor<64xbf16>, tensor<64xf16>, tensor<64xbf16>) {
  %0 = arith.addf %a, %a : tensor<64xbf16>
  %1 = arith.mulf %b, %b : tensor<64xf16>
  %2 = arith.truncf %x : tensor<64xf32> to tensor<64xbf16>
  return %0, %1, %2 : tensor<64xbf16>, tensor<64xf16>, tensor<64xbf16>
}
