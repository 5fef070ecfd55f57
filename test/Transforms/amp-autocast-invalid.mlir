// RUN: ampc-opt %s -split-input-file -amp-autocast=policy=bf16 -verify-diagnostics
// RUN: not ampc-opt %s -split-input-file -amp-autocast=policy=int4 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not ampc-opt %s -split-input-file -amp-autocast="policy=bf16 fp32-ops=linalg.matmul lower-ops=linalg.matmul" 2>&1 | FileCheck %s --check-prefix=CONFLICT

// POLICY: error: amp-autocast: unknown policy 'int4'; expected fp32, bf16, fp16 or fp8
// CONFLICT: error: amp-autocast: op 'linalg.matmul' is listed in both lower-ops and fp32-ops

// An op on floats that autocast does not know is an error naming it.
func.func @unsupported(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'math.sin' op is not supported by amp-autocast: it computes on floats but has no precision class}}
  %0 = math.sin %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// fp8 compute is for contractions only: a hand-written fp8 decision on an
// elementwise op conflicts with its class.
func.func @fp8_on_elementwise(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.addf' op has a hand-written amp.precision with fp8 compute type 'f8E4M3FN', but only contractions compute in fp8; this op is in class 'promote'}}
  %0 = arith.addf %x, %x {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// The dialect verifies the attribute before any pass reads it.
func.func @not_a_precision(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.addf' op 'amp.precision' must be a #amp.precision, got "bf16"}}
  %0 = arith.addf %x, %x {amp.precision = "bf16"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Ranked dynamic shapes are fine (see amp-autocast.mlir); unranked tensors
// cannot be retyped and say so.
func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{'math.exp' op has an unranked tensor, which amp-autocast cannot retype; give it a ranked type (static or dynamic sizes)}}
  %0 = math.exp %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}
