// Bad input makes ampc-opt exit non-zero with a located diagnostic; `not`
// (without --crash) also fails the test if ampc-opt crashes.
// RUN: split-file %s %t
// RUN: not ampc-opt %t/malformed.mlir 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not ampc-opt %t/unknown-dialect.mlir 2>&1 | FileCheck %s --check-prefix=UNKNOWN-DIALECT
// RUN: not ampc-opt %t/unknown-amp-op.mlir 2>&1 | FileCheck %s --check-prefix=UNKNOWN-AMP-OP
// RUN: not ampc-opt %t/wrong-attribute.mlir 2>&1 | FileCheck %s --check-prefix=WRONG-ATTR
// RUN: not ampc-opt %t/unknown-attribute.mlir 2>&1 | FileCheck %s --check-prefix=UNKNOWN-ATTR
// RUN: not ampc-opt %t/does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING -DFILE=%t/does-not-exist.mlir
// RUN: not ampc-opt %t/malformed.mlir --no-such-flag 2>&1 | FileCheck %s --check-prefix=FLAG

// MALFORMED: malformed.mlir:2:28: error: expected operation name in quotes
// UNKNOWN-DIALECT: unknown-dialect.mlir:2:8: error: Dialect `foo' not found for custom op 'foo.bar'
// UNKNOWN-AMP-OP: unknown-amp-op.mlir:2:8: error: custom op 'amp.frobnicate' is unknown
// WRONG-ATTR: wrong-attribute.mlir:1:79: error: expected '>'
// UNKNOWN-ATTR: unknown-attribute.mlir:1:37: error: unknown attribute `precisoin` in dialect `amp`
// MISSING: cannot open input file '[[FILE]]': No such file or directory
// FLAG: Unknown command line argument '--no-such-flag'

//--- malformed.mlir
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
//--- unknown-dialect.mlir
func.func @f() {
  %0 = foo.bar : f32
  return
}
//--- unknown-amp-op.mlir
func.func @f(%x: tensor<4xf32>) {
  %0 = amp.frobnicate %x : tensor<4xf32>
  return
}
//--- wrong-attribute.mlir
func.func @f() attributes {p = #amp.precision<compute = bf16, accumulate = f32 recipe = delayed>} { return }
//--- unknown-attribute.mlir
func.func @f() attributes {p = #amp.precisoin<compute = bf16>} { return }
