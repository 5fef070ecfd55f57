// bf16 and fp8 tensors travel through .npy files as their raw bit patterns
// (uint16 / uint8 arrays), in both directions.
// RUN: ampc-run %s --function=quantize --input="4xf32=1 1000 -3.3 1e9" --output=@%t.bf16.npy --output=@%t.e4m3.npy
// RUN: %npy_tool dump %t.bf16.npy | FileCheck %s --check-prefix=BF16
// RUN: %npy_tool dump %t.e4m3.npy | FileCheck %s --check-prefix=E4M3
// 1.0 = 0x3f80, 1000 = 0x447a, -3.3 rounds to 0xc053, 1e9 rounds to 0x4e6e.
// BF16: descr=<u2 shape=(4,)
// BF16-NEXT: values=0x3f80 0x447a 0xc053 0x4e6e
// fp8: 1.0 = 0x38; 1000 and 1e9 saturate to 448 = 0x7e; -3.3 -> -3.25 = 0xc5.
// E4M3: descr=|u1 shape=(4,)
// E4M3-NEXT: values=0x38 0x7e 0xc5 0x7e

// The patterns read back as bf16 / fp8 arguments.
// RUN: %npy_tool write %t.in16.npy '<u2' 3 0x3f80 0xc053 0x7f80
// RUN: %npy_tool write %t.in8.npy '|u1' 3 0x38 0xc5 0x7e
// RUN: ampc-run %s --function=widen --input=@%t.in16.npy --input=@%t.in8.npy | FileCheck %s --check-prefix=WIDEN
// WIDEN: result[0]: tensor<3xf32> min=-3.29688 max=1 mean=-1.14844 non-finite=1
// WIDEN-NEXT: [1 -3.29688 inf]
// WIDEN: result[1]: tensor<3xf32>
// WIDEN-NEXT: [1 -3.25 448]

func.func @quantize(%x: tensor<4xf32>) -> (tensor<4xbf16>, tensor<4xf8E4M3FN>) {
  %0 = amp.cast %x : tensor<4xf32> to tensor<4xbf16>
  %1 = amp.cast %x : tensor<4xf32> to tensor<4xf8E4M3FN>
  return %0, %1 : tensor<4xbf16>, tensor<4xf8E4M3FN>
}

func.func @widen(%a: tensor<3xbf16>, %b: tensor<3xf8E4M3FN>) -> (tensor<3xf32>, tensor<3xf32>) {
  %0 = amp.cast %a : tensor<3xbf16> to tensor<3xf32>
  %1 = amp.cast %b : tensor<3xf8E4M3FN> to tensor<3xf32>
  return %0, %1 : tensor<3xf32>, tensor<3xf32>
}
