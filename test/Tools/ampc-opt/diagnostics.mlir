// An error names the op and its location, without the generic IR of the op
// (the whole function here) unless asked for.
// RUN: not ampc-opt %s -amp-build-train-step 2>&1 | FileCheck %s
// RUN: not ampc-opt %s -amp-build-train-step --mlir-print-op-on-diagnostic 2>&1 | FileCheck %s --check-prefix=DUMP

// CHECK: diagnostics.mlir:[[@LINE+4]]:1: error: 'func.func' op has no argument marked amp.param: nothing to train
// CHECK-NOT: see current operation
// DUMP: error: 'func.func' op has no argument marked amp.param
// DUMP: note: see current operation:
func.func @forward(%w: tensor<4xf32>, %x: tensor<4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  return %f : tensor<f32>
}
