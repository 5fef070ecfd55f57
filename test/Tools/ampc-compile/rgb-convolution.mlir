// A 3 x 3 convolution over RGB images under bf16 and fp8: each patch (3
// taps x 3 taps x 3 channels = 27 values) is gathered by one shuffle from a
// 177-element run of three image rows. On 16-bit floats that shuffle moves
// their bit patterns as i16: LLVM's x86 back end cannot legalize a shuffle
// of odd-length bf16 vectors and aborted on Zen 4 ("Do not know how to soft
// promote this operator's operand"). The contraction (k = 27) then takes
// the AVX-512 BF16 dot products on Zen 4 and f32 multiply-adds on Haswell.
// RUN: ampc-compile %s --policy=bf16 --cpu=znver4 --threads=1 -o %t.bf16-zen4.o
// RUN: llvm-objdump -d %t.bf16-zen4.o | FileCheck %s --check-prefix=DOT
// RUN: ampc-compile %s --policy=fp8 --cpu=znver4 --threads=1 -o %t.fp8-zen4.o
// RUN: llvm-objdump -d %t.fp8-zen4.o | FileCheck %s --check-prefix=DOT
// RUN: ampc-compile %s --policy=bf16 --cpu=haswell --threads=1 -o %t.bf16-hsw.o
// RUN: llvm-objdump -d %t.bf16-hsw.o | FileCheck %s --check-prefix=FMA

// DOT: <_mlir_ciface_conv>:
// DOT: vdpbf16ps
// FMA: <_mlir_ciface_conv>:
// FMA-NOT: vdpbf16ps
// FMA: vfmadd{{...}}ps

func.func @conv(%x: tensor<4x28x28x3xf32>, %w: tensor<3x3x3x8xf32>) -> tensor<4x26x26x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x26x26x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x26x26x8xf32>) -> tensor<4x26x26x8xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<4x28x28x3xf32>, tensor<3x3x3x8xf32>) outs(%z : tensor<4x26x26x8xf32>) -> tensor<4x26x26x8xf32>
  return %c : tensor<4x26x26x8xf32>
}
