// Objects for AVX-512 BF16 CPUs of steps that move bf16 vectors of odd
// lengths. LLVM's x86 back end splits a bf16 vector into legal ones and
// cannot promote a leftover lane of a load, store or shuffle: it aborted
// ("Do not know how to soft promote this operator's operand") until
// ampc-cpu-integer-moves moved those lanes as i16.
// RUN: split-file %s %t
//
// A 3 x 3 convolution over RGB images under bf16 and fp8: each patch (3 x 3
// taps x 3 channels = 27 values) is gathered by one shuffle from a
// 177-element run of three image rows. Its contraction (k = 27) takes the
// AVX-512 BF16 dot products on Zen 4, f32 multiply-adds on Haswell.
// RUN: ampc-compile %t/conv.mlir --policy=bf16 --cpu=znver4 --threads=1 -o %t/conv-bf16-zen4.o
// RUN: llvm-objdump -d %t/conv-bf16-zen4.o | FileCheck %s --check-prefix=DOT
// RUN: ampc-compile %t/conv.mlir --policy=fp8 --cpu=znver4 --threads=1 -o %t/conv-fp8-zen4.o
// RUN: llvm-objdump -d %t/conv-fp8-zen4.o | FileCheck %s --check-prefix=DOT
// RUN: ampc-compile %t/conv.mlir --policy=bf16 --cpu=haswell --threads=1 -o %t/conv-bf16-hsw.o
// RUN: llvm-objdump -d %t/conv-bf16-hsw.o | FileCheck %s --check-prefix=FMA
// Its casts to bf16 convert with vcvtneps2bf16 where vfpclassps finds
// every lane exact, on Zen 4; not without AVX-512 DQ (no vfpclassps).
// RUN: llvm-objdump -d %t/conv-bf16-zen4.o | FileCheck %s --check-prefix=CVT
// RUN: ampc-compile %t/conv.mlir --policy=bf16 --cpu=znver4 --features=-avx512dq --threads=1 -o %t/conv-bf16-nodq.o
// RUN: llvm-objdump -d %t/conv-bf16-nodq.o | FileCheck %s --check-prefix=NOCVT
// On Haswell (no mask registers), the NaN quieting before the integer
// rounding runs only where a pair of vectors holds a NaN: one unordered
// comparison of the two, a test and a jump (ampc-cpu-nan-branches); not on
// Zen 4, where it is a masked bit operation.
// RUN: llvm-objdump -d %t/conv-bf16-hsw.o | FileCheck %s --check-prefix=NANBRANCH
// RUN: llvm-objdump -d %t/conv-bf16-nodq.o | FileCheck %s --check-prefix=NONANBRANCH
//
// A 33-row batch through a 17-wide layer: k = 17 (the rows of A copied 17
// bf16 at a time into pairs padded to 18), and the weight gradient of a
// 17 x 10 weight (k = 33).
// RUN: ampc-compile %t/narrow.mlir --policy=bf16 --cpu=znver4 --threads=1 -o %t/narrow-bf16-zen4.o
// RUN: llvm-objdump -d %t/narrow-bf16-zen4.o | FileCheck %s --check-prefix=NARROW
// RUN: ampc-compile %t/narrow.mlir --policy=fp8 --cpu=sapphirerapids --threads=1 -o %t/narrow-fp8-spr.o
// RUN: llvm-nm %t/narrow-fp8-spr.o | FileCheck %s --check-prefix=SYMBOLS

// DOT: <_mlir_ciface_conv>:
// DOT: vdpbf16ps
// CVT: <_mlir_ciface_conv>:
// CVT: vfpclassps $0xa1, %{{[yz]}}mm{{[0-9]+}}, %k{{[0-7]}}
// CVT: vcvtneps2bf16 %{{[yz]}}mm{{[0-9]+}}, %{{[xy]}}mm{{[0-9]+}}
// NANBRANCH: <_mlir_ciface_conv>:
// NANBRANCH: vcmpunordps %ymm{{[0-9]+}}, %ymm{{[0-9]+}}, %ymm[[MASK:[0-9]+]]
// NANBRANCH-NEXT: vtestps %ymm[[MASK]], %ymm[[MASK]]
// NANBRANCH-NEXT: jne
// NONANBRANCH: <_mlir_ciface_conv>:
// NONANBRANCH-NOT: vtestps
// NOCVT: <_mlir_ciface_conv>:
// NOCVT-NOT: vfpclassps
// NOCVT-NOT: vcvtneps2bf16
// NOCVT: vdpbf16ps
// NOCVT-NOT: vcvtneps2bf16
// FMA: <_mlir_ciface_conv>:
// FMA-NOT: vdpbf16ps
// FMA-NOT: vcvtneps2bf16
// FMA: vfmadd{{...}}ps
// NARROW: <_mlir_ciface_k17>:
// NARROW: vdpbf16ps
// NARROW: <_mlir_ciface_weight_gradient>:
// SYMBOLS: T _mlir_ciface_k17
// SYMBOLS: T _mlir_ciface_weight_gradient

//--- conv.mlir
func.func @conv(%x: tensor<4x28x28x3xf32>, %w: tensor<3x3x3x8xf32>) -> tensor<4x26x26x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x26x26x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x26x26x8xf32>) -> tensor<4x26x26x8xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<4x28x28x3xf32>, tensor<3x3x3x8xf32>) outs(%z : tensor<4x26x26x8xf32>) -> tensor<4x26x26x8xf32>
  return %c : tensor<4x26x26x8xf32>
}

//--- narrow.mlir
func.func @k17(%a: tensor<33x17xf32>, %b: tensor<17x10xf32>) -> tensor<33x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<33x10xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<33x10xf32>) -> tensor<33x10xf32>
  %c = linalg.matmul ins(%a, %b : tensor<33x17xf32>, tensor<17x10xf32>) outs(%z : tensor<33x10xf32>) -> tensor<33x10xf32>
  return %c : tensor<33x10xf32>
}
func.func @weight_gradient(%x: tensor<33x17xf32>, %dy: tensor<33x10xf32>) -> tensor<17x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<17x10xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<17x10xf32>) -> tensor<17x10xf32>
  %c = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %dy : tensor<33x17xf32>, tensor<33x10xf32>) outs(%z : tensor<17x10xf32>) -> tensor<17x10xf32>
  return %c : tensor<17x10xf32>
}
