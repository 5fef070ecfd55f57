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

// -----

func.func @start_no_wait(%t: tensor<2xf32>) {
  // expected-error @+1 {{'amp.all_reduce_start' op request must have exactly one use, an amp.all_reduce_wait}}
  %f, %r = amp.all_reduce_start sum %t : tensor<2xf32> -> tensor<2xf32>
  return
}

// -----

func.func @start_memref_in_flight(%m: memref<2xf32>) {
  // expected-error @+1 {{'amp.all_reduce_start' op on a memref communicates in place: it has no in-flight result}}
  %f, %r = "amp.all_reduce_start"(%m) {kind = 0 : i32} : (memref<2xf32>) -> (tensor<2xf32>, !amp.request)
  return
}

// -----

func.func @start_tensor_without_in_flight(%t: tensor<2xf32>) {
  // expected-error @+1 {{'amp.all_reduce_start' op on a tensor returns it in flight}}
  %r = "amp.all_reduce_start"(%t) {kind = 0 : i32} : (tensor<2xf32>) -> !amp.request
  return
}

// -----

func.func @in_flight_read(%t: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'amp.all_reduce_start' op in-flight tensor's only use must be the wait of its request}}
  %f, %r = amp.all_reduce_start sum %t : tensor<2xf32> -> tensor<2xf32>
  %a = amp.all_reduce_wait %r, %f : tensor<2xf32> -> tensor<2xf32>
  return %f : tensor<2xf32>
}

// -----

func.func @wait_other_tensor(%t: tensor<2xf32>, %u: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'amp.all_reduce_start' op in-flight tensor's only use must be the wait of its request}}
  %f, %r = amp.all_reduce_start sum %t : tensor<2xf32> -> tensor<2xf32>
  %a = amp.all_reduce_wait %r, %u : tensor<2xf32> -> tensor<2xf32>
  return %a : tensor<2xf32>
}

// -----

func.func @wait_elsewhere(%t: tensor<2xf32>, %c: i1) {
  // expected-error @+1 {{'amp.all_reduce_start' op request must be waited for by an amp.all_reduce_wait in the same block}}
  %f, %r = amp.all_reduce_start sum %t : tensor<2xf32> -> tensor<2xf32>
  scf.if %c {
    %a = amp.all_reduce_wait %r, %f : tensor<2xf32> -> tensor<2xf32>
  }
  return
}

// -----

func.func @wait_without_start(%r: !amp.request, %m: memref<2xf32>) {
  // expected-error @+1 {{'amp.all_reduce_wait' op request must come from an amp.all_reduce_start}}
  amp.all_reduce_wait %r, %m : memref<2xf32>
  return
}

// -----

func.func @wait_kind_mismatch(%m: memref<2xf32>, %t: tensor<2xf32>) {
  %r = amp.all_reduce_start sum %m : memref<2xf32>
  // expected-error @+1 {{'amp.all_reduce_wait' op waits on a tensor for a start on a memref}}
  %a = amp.all_reduce_wait %r, %t : tensor<2xf32> -> tensor<2xf32>
  return
}

// -----

func.func @wait_result_type(%t: tensor<2xf32>) {
  %f, %r = amp.all_reduce_start sum %t : tensor<2xf32> -> tensor<2xf32>
  // expected-error @+1 {{'amp.all_reduce_wait' op result type 'tensor<3xf32>' differs from its tensor's 'tensor<2xf32>'}}
  %a = "amp.all_reduce_wait"(%r, %f) : (!amp.request, tensor<2xf32>) -> tensor<3xf32>
  return
}

// -----

// expected-error @+1 {{unknown  type `requests` in dialect `amp`}}
func.func @request_type(%r: !amp.requests) {
  return
}
