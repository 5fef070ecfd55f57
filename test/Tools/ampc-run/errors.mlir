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
// With a batch size, a function written for any runs at that size.
// RUN: ampc-run %s --function=dynamic --batch=3 --input="3xf32=1 2 3" | FileCheck %s --check-prefix=BATCH3
// RUN: not ampc-run %s --function=dynamic --batch=-1 --input="3xf32=1 2 3" 2>&1 | FileCheck %s --check-prefix=BADBATCH
// RUN: not ampc-run %s --function=add --input="2xf32=1 2" --input="2xf32=1 2" --output=@%t.a.npy --output=@%t.b.npy 2>&1 | FileCheck %s --check-prefix=OUTPUTS
// RUN: not ampc-run %s --policy=int4 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not ampc-run %t.nonexistent.mlir 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: printf 'not mlir' > %t.npy
// RUN: not ampc-run %s --function=add --input=@%t.npy --input="2xf32=1 2" 2>&1 | FileCheck %s --check-prefix=NOTNPY
// Malformed and overflowing shapes, in literals and in .npy headers, are
// errors naming the input (they aborted with uncaught exceptions or ran out
// of memory).
// RUN: not ampc-run %s --function=add --input="xf32=1" 2>&1 | FileCheck %s --check-prefix=EMPTYDIM
// RUN: not ampc-run %s --function=add --input="2xx3xf32=1" 2>&1 | FileCheck %s --check-prefix=DOUBLEX
// RUN: not ampc-run %s --function=add --input="18446744073709551617xf32=1" 2>&1 | FileCheck %s --check-prefix=LONGDIM
// RUN: not ampc-run %s --function=add --input="99999999999x99999999999xf32=1" 2>&1 | FileCheck %s --check-prefix=TOOMANY
// RUN: %python -c "import struct,sys; h=\"{'descr': '<f4', 'fortran_order': False, 'shape': (12345678901234567890123,), }\".ljust(117)+'\n'; open(sys.argv[1],'wb').write(b'\x93NUMPY\x01\x00'+struct.pack('<H',len(h))+h.encode()+b'\0'*16)" %t.big.npy
// RUN: not ampc-run %s --function=add --input=@%t.big.npy --input="2xf32=1 2" 2>&1 | FileCheck %s --check-prefix=NPYDIM
// RUN: %python -c "import struct,sys; h=\"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\".ljust(117)+'\n'; open(sys.argv[1],'wb').write(b'\x93NUMPY\x01\x00'+struct.pack('<H',len(h))+h.encode())" %t.huge.npy
// RUN: not ampc-run %s --function=add --input=@%t.huge.npy --input="2xf32=1 2" 2>&1 | FileCheck %s --check-prefix=NPYHUGE
// RUN: %python -c "import struct,sys; h=\"{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }\".ljust(117)+'\n'; open(sys.argv[1],'wb').write(b'\x93NUMPY\x01\x00'+struct.pack('<H',len(h))+h.encode()+b'\0'*16)" %t.short.npy
// RUN: not ampc-run %s --function=add --input=@%t.short.npy --input="2xf32=1 2" 2>&1 | FileCheck %s --check-prefix=NPYSHORT
// A failed write is an error, and a device at the output path is written,
// never replaced by a file (as root, renaming a temporary over /dev/full
// replaced the device).
// RUN: not ampc-run %s --function=add --input="2xf32=1 2" --input="2xf32=1 2" --output=@/dev/full 2>&1 | FileCheck %s --check-prefix=FULL
// RUN: test -c /dev/full

// FULL: ampc-run: cannot write '/dev/full': No space left on device
// EMPTYDIM: ampc-run: --input=xf32=1: bad shape in 'xf32=1': dimensions are decimal numbers below 2^40 separated by 'x' (2x3xf32)
// DOUBLEX: ampc-run: --input=2xx3xf32=1: bad shape in '2xx3xf32=1'
// LONGDIM: ampc-run: --input=18446744073709551617xf32=1: bad shape in
// TOOMANY: ampc-run: --input=99999999999x99999999999xf32=1: a tensor literal of more than 1 GiB
// NPYDIM: ampc-run: --input=@{{.*}}.big.npy: '{{.*}}.big.npy': bad shape '(12345678901234567890123,)'
// NPYHUGE: ampc-run: --input=@{{.*}}.huge.npy: '{{.*}}.huge.npy': the shape in the header overflows 64-bit sizes
// NPYSHORT: ampc-run: --input=@{{.*}}.short.npy: '{{.*}}.short.npy': expected 4000 bytes of data, the file has 16

// COUNT: ampc-run: function 'add' takes 2 arguments, got 1
// SHAPE: ampc-run: argument #1 of 'add' must be tensor<2xf32>, got tensor<3xf32>
// DTYPE: ampc-run: argument #1 of 'add' must be tensor<2xf32>, got tensor<2xi32>
// NOFUNC: ampc-run: no public function 'nope' in '{{.*}}errors.mlir' (see --list)
// WHICH: ampc-run: the module has 2 public functions: name one with --function (see --list)
// MISSING: ampc-run: --input=@{{.*}}.missing.npy: cannot open '{{.*}}.missing.npy': No such file or directory
// LITERAL: ampc-run: --input=2xf32=1 2 3: 3 values for a tensor of 2 elements
// BADTYPE: ampc-run: --input=2xq7=1 2: unknown element type 'q7'
// DYNAMIC: ampc-run: function 'dynamic' cannot be called: 'tensor<?xf32>' has a dynamic shape; the host API needs static shapes (a dynamic batch dimension takes a batch size: JitOptions::batch, --batch)
// BATCH3: result[0]: tensor<3xf32> min=1 max=3 mean=2
// BADBATCH: ampc-run: the batch size must be positive, got -1
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
