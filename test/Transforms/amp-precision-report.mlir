// RUN: ampc-opt %s -ampc-train-pipeline=policy=bf16 -amp-precision-report -o /dev/null | FileCheck %s
// RUN: ampc-opt %s -ampc-train-pipeline=policy=bf16 -amp-precision-report=output=%t -o /dev/null && FileCheck %s < %t
// RUN: not ampc-opt %s -amp-precision-report=output=/nonexistent/dir/report.txt -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADFILE

// BADFILE: error: amp-precision-report: cannot open output file '/nonexistent/dir/report.txt'

// The report lists each op with its class and precision and each cast, then
// the totals: 1 bf16 matmul, 1 f32 exp, 2 casts (8x4 and 4x2 elements, 4 bytes read
// and 2 written per element: 240 bytes).
// CHECK-LABEL: precision report for @f
// CHECK-NEXT: amp.cast tensor<4x2xf32> -> tensor<4x2xbf16>
// CHECK-NEXT: amp.cast tensor<8x4xf32> -> tensor<8x4xbf16>
// CHECK-NEXT: linalg.matmul class=lower compute=bf16 accumulate=f32 cast-operands=2
// CHECK-NEXT: math.exp class=fp32 compute=f32 accumulate=f32 cast-operands=0
// CHECK-NEXT: totals: bf16=1 f32=1 casts=2 bytes-converted-per-call=240
func.func @f(%x: tensor<8x4xf32>, %w: tensor<4x2xf32> {amp.param}, %z: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %mm = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x2xf32>) outs(%z : tensor<8x2xf32>) -> tensor<8x2xf32>
  %e = math.exp %mm : tensor<8x2xf32>
  return %e : tensor<8x2xf32>
}
