// Every mismatch between the inputs and the function is a clear error and a
// non-zero exit, never a crash.
// RUN: not ampc-run %s --function=add --input="2xf32=1 2" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not ampc-run %s --function=add --input="2xf32=1 2" --input="3xf32=1 2 3" 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not ampc-run %s --function=add --input="2xf32=1 2" --input="2xi32=1 2" 2>&1 | FileCheck %s --check-prefix=DTYPE
// RUN: not ampc-run %s --function=nope 2>&1 | FileCheck %s --check-prefix=NOFUNC
// RUN: not ampc-run %s 2>&1 | FileCheck %s --check-prefix=WHICH
// RUN: not ampc-run %s --function=add --input=@%t.missing.npy 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not ampc-run %s --function=add --input="2xf32=1 2 3" 2>&1 | FileCheck %s --check-prefix=LITERAL
// RUN: not ampc-run %s --function=add --input="2xq7=1 2" 2>&1 | FileCheck %s --check-prefix=BADTYPE
// RUN: not ampc-run %s --function=dynamic --input="2xf32=1 2" 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// RUN: not ampc-run %s --function=add --input="2xf32=1 2" --input="2xf32=1 2" --output=@%t.a.npy --output=@%t.b.npy 2>&1 | FileCheck %s --check-prefix=OUTPUTS
// RUN: not ampc-run %s --policy=int4 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not ampc-run %t.nonexistent.mlir 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: printf 'not mlir' > %t.npy
// RUN: not ampc-run %s --function=add --input=@%t.npy --input="2xf32=1 2" 2>&1 | FileCheck %s --check-prefix=NOTNPY

// COUNT: ampc-run: function 'add' takes 2 arguments, got 1
// SHAPE: ampc-run: argument #1 of 'add' must be tensor<2xf32>, got tensor<3xf32>
// DTYPE: ampc-run: argument #1 of 'add' must be tensor<2xf32>, got tensor<2xi32>
// NOFUNC: ampc-run: no public function 'nope' in '{{.*}}errors.mlir' (see --list)
// WHICH: ampc-run: the module has 2 public functions: name one with --function (see --list)
// MISSING: ampc-run: --input=@{{.*}}.missing.npy: cannot open '{{.*}}.missing.npy': No such file or directory
// LITERAL: ampc-run: --input=2xf32=1 2 3: 3 values for a tensor of 2 elements
// BADTYPE: ampc-run: --input=2xq7=1 2: unknown element type 'q7'
// DYNAMIC: ampc-run: function 'dynamic' cannot be called: 'tensor<?xf32>' has a dynamic shape; the host API needs static shapes
// OUTPUTS: ampc-run: 2 --output given but 'add' has 1 results
// POLICY: ampc-run: unknown policy 'int4'; expected none, fp32, bf16, fp16 or fp8
// NOFILE: ampc-run: cannot open '{{.*}}nonexistent.mlir': No such file or directory
// NOTNPY: ampc-run: --input=@{{.*}}.npy: '{{.*}}.npy' is not a .npy file

func.func @add(%a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2xf32> {
  %0 = arith.addf %a, %b : tensor<2xf32>
  return %0 : tensor<2xf32>
}

func.func @dynamic(%a: tensor<?xf32>) -> tensor<?xf32> {
  return %a : tensor<?xf32>
}
