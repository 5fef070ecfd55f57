// RUN: ampc-opt %s -ampc-emit-c-interface | FileCheck %s

// Public functions with a body get the C wrapper; private functions and
// declarations do not.
// CHECK-LABEL: func.func @public
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func private @private
// CHECK-NOT: llvm.emit_c_interface
// CHECK-LABEL: func.func private @declaration
// CHECK-NOT: llvm.emit_c_interface
func.func @public(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func private @private(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func private @declaration(%x: tensor<4xf32>) -> tensor<4xf32>
