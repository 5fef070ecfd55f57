// RUN: ampc-opt %s -split-input-file -verify-diagnostics

func.func @mixed(%t: tensor<2xf32>, %m: memref<2xf32>) {
  // expected-error @+1 {{'amp.all_reduce' op takes tensors or memrefs, not both}}
  %r = "amp.all_reduce"(%t, %m) {kind = 0 : i32} : (tensor<2xf32>, memref<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @memref_results(%m: memref<2xf32>) {
  // expected-error @+1 {{'amp.all_reduce' op on memrefs combines in place: it has no results}}
  %r = "amp.all_reduce"(%m) {kind = 0 : i32} : (memref<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @count(%t: tensor<2xf32>, %u: tensor<3xf32>) {
  // expected-error @+1 {{'amp.all_reduce' op has 1 results for 2 tensors}}
  %r = "amp.all_reduce"(%t, %u) {kind = 1 : i32} : (tensor<2xf32>, tensor<3xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @types(%t: tensor<2xf32>) {
  // expected-error @+1 {{'amp.all_reduce' op result type 'tensor<3xf32>' differs from its tensor's 'tensor<2xf32>'}}
  %r = "amp.all_reduce"(%t) {kind = 1 : i32} : (tensor<2xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @f16(%t: tensor<2xf16>) {
  // expected-error @+1 {{operand #0 must be variadic of ranked tensor of 32-bit float values or memref of 32-bit float values}}
  %r = amp.all_reduce sum %t : tensor<2xf16> -> tensor<2xf16>
  return
}

// -----

func.func @empty() {
  // expected-error @+1 {{'amp.all_reduce' op needs at least one buffer}}
  "amp.all_reduce"() {kind = 0 : i32} : () -> ()
  return
}

// -----

func.func @kind(%t: tensor<2xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'kind' [sum, mean, max]}}
  %r = amp.all_reduce min %t : tensor<2xf32> -> tensor<2xf32>
  return
}
