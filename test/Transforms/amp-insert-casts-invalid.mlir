// RUN: ampc-opt %s -split-input-file -amp-insert-casts -verify-diagnostics

func.func @gradient_operand_out_of_range(%a: tensor<8x2xf32>, %b: tensor<2x4xf32>, %z: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{'linalg.matmul' op 'amp.gradient_operands' must be an array<i64> of input operand indices, got array<i64: 2>}}
  %0 = linalg.matmul {amp.gradient_operands = array<i64: 2>,
                      amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32>}
      ins(%a, %b : tensor<8x2xf32>, tensor<2x4xf32>) outs(%z : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @gradient_operands_not_an_array(%a: tensor<8x2xf32>, %b: tensor<2x4xf32>, %z: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{'linalg.matmul' op 'amp.gradient_operands' must be an array<i64> of input operand indices, got 0 : i64}}
  %0 = linalg.matmul {amp.gradient_operands = 0,
                      amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32>}
      ins(%a, %b : tensor<8x2xf32>, tensor<2x4xf32>) outs(%z : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}
