// RUN: ampc-opt %s -split-input-file -amp-fp32-accumulate | FileCheck %s

// A bf16 matmul gets an f32 destination and result. The consumer that widened
// the result reads it directly (no bf16 rounding in between); the consumer
// that wants bf16 gets a single cast.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.*]]: tensor<8x4xbf16>, %[[W:.*]]: tensor<4x2xbf16>)
// CHECK-DAG: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[E:.*]] = tensor.empty() : tensor<8x2xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%[[E]] : tensor<8x2xf32>)
// CHECK: %[[MM:.*]] = linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} ins(%[[X]], %[[W]] : tensor<8x4xbf16>, tensor<4x2xbf16>) outs(%[[F]] : tensor<8x2xf32>) -> tensor<8x2xf32>
// CHECK-NEXT: %[[LOW:.*]] = amp.cast %[[MM]] : tensor<8x2xf32> to tensor<8x2xbf16>
// CHECK-NOT: amp.cast
// CHECK: %[[EXP:.*]] = math.exp %[[MM]]
// CHECK: %[[NEG:.*]] = arith.negf %[[LOW]]
// CHECK: return %[[EXP]], %[[NEG]]
func.func @matmul(%x: tensor<8x4xbf16>, %w: tensor<4x2xbf16>) -> (tensor<8x2xf32>, tensor<8x2xbf16>) {
  %zero = arith.constant 0.0 : bf16
  %e = tensor.empty() : tensor<8x2xbf16>
  %z = linalg.fill ins(%zero : bf16) outs(%e : tensor<8x2xbf16>) -> tensor<8x2xbf16>
  %mm = linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = f32>}
      ins(%x, %w : tensor<8x4xbf16>, tensor<4x2xbf16>) outs(%z : tensor<8x2xbf16>) -> tensor<8x2xbf16>
  %up = amp.cast %mm : tensor<8x2xbf16> to tensor<8x2xf32>
  %exp = math.exp %up : tensor<8x2xf32>
  %neg = arith.negf %mm : tensor<8x2xbf16>
  return %exp, %neg : tensor<8x2xf32>, tensor<8x2xbf16>
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// A matmul written as a generic accumulates in f32 too: the payload widens
// the fp8 inputs, and the accumulator is f32 end to end.
// CHECK-LABEL: func.func @generic_contraction
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<8x2xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f8E4M3FN, %[[B:.*]]: f8E4M3FN, %[[ACC:.*]]: f32):
// CHECK-DAG: %[[AF:.*]] = arith.extf %[[A]] : f8E4M3FN to f32
// CHECK-DAG: %[[BF:.*]] = arith.extf %[[B]] : f8E4M3FN to f32
// CHECK: %[[P:.*]] = arith.mulf %[[AF]], %[[BF]] : f32
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
// CHECK: -> tensor<8x2xf32>
func.func @generic_contraction(%x: tensor<8x4xf8E4M3FN>, %w: tensor<4x2xf8E4M3FN>,
                               %init: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %low = amp.cast %init : tensor<8x2xf32> to tensor<8x2xf8E4M3FN>
  %mm = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<8x4xf8E4M3FN>, tensor<4x2xf8E4M3FN>) outs(%low : tensor<8x2xf8E4M3FN>)
      attrs = {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>} {
  ^bb0(%a: f8E4M3FN, %b: f8E4M3FN, %acc: f8E4M3FN):
    %af = arith.extf %a : f8E4M3FN to f32
    %bf = arith.extf %b : f8E4M3FN to f32
    %accf = arith.extf %acc : f8E4M3FN to f32
    %p = arith.mulf %af, %bf : f32
    %s = arith.addf %accf, %p : f32
    %t = arith.truncf %s : f32 to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  } -> tensor<8x2xf8E4M3FN>
  %up = amp.cast %mm : tensor<8x2xf8E4M3FN> to tensor<8x2xf32>
  return %up : tensor<8x2xf32>
}

// -----

// A contraction that accumulates in its compute type is left alone.
// CHECK-LABEL: func.func @f16_accumulate
// CHECK: linalg.matmul {{.*}} outs(%{{.*}} : tensor<8x2xf16>) -> tensor<8x2xf16>
func.func @f16_accumulate(%x: tensor<8x4xf16>, %w: tensor<4x2xf16>, %z: tensor<8x2xf16>) -> tensor<8x2xf16> {
  %mm = linalg.matmul {amp.precision = #amp.precision<compute = f16, accumulate = f16>}
      ins(%x, %w : tensor<8x4xf16>, tensor<4x2xf16>) outs(%z : tensor<8x2xf16>) -> tensor<8x2xf16>
  return %mm : tensor<8x2xf16>
}

// -----

// A reduction computing in bf16 (say, by a hand-written precision) also gets
// an f32 accumulator: the sum runs in f32 over the bf16 inputs.
// CHECK-LABEL: func.func @row_sum
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}} : tensor<4x8xbf16>) outs(%{{.*}} : tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: bf16, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[W:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[W]], %[[ACC]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
// CHECK: -> tensor<4xf32>
// CHECK-NOT: amp.cast %{{.*}} : tensor<4xbf16> to tensor<4xf32>
func.func @row_sum(%x: tensor<4x8xbf16>, %init: tensor<4xf32>) -> tensor<4xf32> {
  %low = amp.cast %init : tensor<4xf32> to tensor<4xbf16>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xbf16>) outs(%low : tensor<4xbf16>)
      attrs = {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} {
  ^bb0(%in: bf16, %acc: bf16):
    %a = arith.extf %in : bf16 to f32
    %b = arith.extf %acc : bf16 to f32
    %c = arith.addf %a, %b : f32
    %d = arith.truncf %c : f32 to bf16
    linalg.yield %d : bf16
  } -> tensor<4xbf16>
  %up = amp.cast %s : tensor<4xbf16> to tensor<4xf32>
  return %up : tensor<4xf32>
}
