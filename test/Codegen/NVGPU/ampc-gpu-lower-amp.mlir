// ampc-gpu-lower-amp{chip=N}: the amp dialect's lowering, with casts from f32
// on NVIDIA's conversion instructions where they give the integer path's
// bits, NaN mapped to the integer path's encoding (the format's quiet NaN,
// the input's sign). The target-independent amp-lower-to-arith never uses
// them.
// RUN: ampc-opt %s -ampc-gpu-lower-amp="chip=90" | FileCheck %s --check-prefix=SM90
// RUN: ampc-opt %s -ampc-gpu-lower-amp="chip=80" | FileCheck %s --check-prefix=SM80
// RUN: ampc-opt %s -ampc-gpu-lower-amp="chip=75" | FileCheck %s --check-prefix=CPU
// RUN: ampc-opt %s -amp-lower-to-arith | FileCheck %s --check-prefix=CPU

// SM90-LABEL: func.func @casts
// E4M3, saturating: the pair conversion, the value in the low byte.
// SM90: %[[PAIR:.*]] = llvm.inline_asm "cvt.rn.satfinite.e4m3x2.f32 $0, $1, $2;", "=h,f,f" %{{.*}}, %[[X:.*]] : (f32, f32) -> i16
// SM90: %[[LOW:.*]] = arith.trunci %[[PAIR]] : i16 to i8
// SM90: %[[HW:.*]] = arith.bitcast %[[LOW]] : i8 to f8E4M3FN
// SM90: %[[NAN:.*]] = arith.cmpf uno, %[[X]], %[[X]] : f32
// SM90: arith.select %[[NAN]], %{{.*}}, %[[HW]] : f8E4M3FN
// SM90: llvm.inline_asm "cvt.rn.satfinite.e5m2x2.f32 $0, $1, $2;"
// bf16 with IEEE overflow: arith.truncf (cvt.rn.bf16.f32 on sm_80+).
// SM90: %[[B:.*]] = arith.truncf %{{.*}} : f32 to bf16
// SM90: arith.select %{{.*}}, %{{.*}}, %[[B]] : bf16
// SM90: arith.truncf %{{.*}} : f32 to f16
// A non-default overflow rule keeps the integer path.
// SM90-LABEL: func.func @nondefault
// SM90-NOT: inline_asm
// SM90-NOT: arith.truncf
// SM90: arith.shrui

// Before sm_89 there is no fp8 conversion: integer path for fp8, hardware
// for bf16.
// SM80-LABEL: func.func @casts
// SM80-NOT: inline_asm
// SM80: arith.truncf %{{.*}} : f32 to bf16

// CPU-NOT: inline_asm
// CPU-NOT: arith.truncf
// CPU-NOT: amp.
// CPU: arith.shrui
func.func @casts(%x: tensor<8xf32>) -> (tensor<8xf8E4M3FN>, tensor<8xf8E5M2>, tensor<8xbf16>, tensor<8xf16>) {
  %a = amp.cast %x : tensor<8xf32> to tensor<8xf8E4M3FN>
  %b = amp.cast %x : tensor<8xf32> to tensor<8xf8E5M2>
  %c = amp.cast %x : tensor<8xf32> to tensor<8xbf16>
  %d = amp.cast %x : tensor<8xf32> to tensor<8xf16>
  return %a, %b, %c, %d : tensor<8xf8E4M3FN>, tensor<8xf8E5M2>, tensor<8xbf16>, tensor<8xf16>
}
func.func @nondefault(%x: tensor<8xf32>) -> (tensor<8xf8E4M3FN>, tensor<8xbf16>) {
  %a = amp.cast %x overflow nonfinite : tensor<8xf32> to tensor<8xf8E4M3FN>
  %c = amp.cast %x overflow saturate : tensor<8xf32> to tensor<8xbf16>
  return %a, %c : tensor<8xf8E4M3FN>, tensor<8xbf16>
}

// A quantization read back widened: from sm_80 (hardware bf16, and fp8
// from sm_89) the conversions stay instructions, or the integer path;
// without them (and on the CPU) it is rounded in f32, no 8-bit pattern.
// SM90-LABEL: func.func @widened
// SM90: llvm.inline_asm "cvt.rn.satfinite.e5m2x2.f32 $0, $1, $2;"
// SM90: arith.bitcast %{{.*}} : i8 to f8E5M2
// SM90: return
// SM80-LABEL: func.func @widened
// SM80-NOT: inline_asm
// SM80: arith.trunci %{{.*}} : i32 to i8
// SM80: return
// CPU-LABEL: func.func @widened
// CPU-NOT: i8
// CPU: arith.subf
// CPU-NOT: i8
// CPU: return
func.func @widened(%x: tensor<8xf32>) -> tensor<8xf32> {
  %q = amp.cast %x : tensor<8xf32> to tensor<8xf8E5M2>
  %w = arith.extf %q : tensor<8xf8E5M2> to tensor<8xf32>
  return %w : tensor<8xf32>
}
