// ampc-compile writes an object file and a C header; a C program includes the
// header, links the object and gets the right numbers (a bf16 matmul and a
// saturating fp8 cast).
// RUN: split-file %s %t
// RUN: ampc-compile %t/model.mlir -o %t/model.o --header=%t/model.h --policy=bf16
// RUN: FileCheck %s --check-prefix=HEADER < %t/model.h
// RUN: %cc -I%t %t/driver.c %t/model.o -o %t/driver -lm
// RUN: %t/driver | FileCheck %s --check-prefix=OUT
// With the runtime's caching allocator the object needs libampc_rt (for
// @square's temporaries; small ones live on the stack), and a C program
// links nothing else for it (the shared runtime brings libstdc++).
// RUN: ampc-compile %t/model.mlir -o %t/rt.o --header=%t/rt.h --policy=bf16 --runtime-allocator --threads=1
// RUN: FileCheck %s --check-prefix=RTHEADER < %t/rt.h
// RUN: %cc -I%t %t/driver.c %t/rt.o -o %t/rt -L%ampc_lib_dir -lampc_rt -Wl,-rpath,%ampc_lib_dir -lm
// RUN: %t/rt | FileCheck %s --check-prefix=OUT
// RUN: FileCheck %s --check-prefix=NORTHEADER < %t/model.h
// The shared precision options reach ampc-compile: with the matmul kept in
// f32 by name, 1.01 is not rounded.
// RUN: ampc-compile %t/model.mlir -o %t/f32mm.o --header=%t/model.h --policy=bf16 --fp32-ops=linalg.matmul
// RUN: %cc -I%t %t/driver.c %t/f32mm.o -o %t/f32mm -lm
// RUN: %t/f32mm | FileCheck %s --check-prefix=OVERRIDE
// RUN: not ampc-compile %t/model.mlir -o %t/x.o --policy=fp8 --fp8-algo=median 2>&1 | FileCheck %s --check-prefix=ALGO
// RUN: not ampc-compile %t/model.mlir -o %t/x.o --policy=bf16,fp16 2>&1 | FileCheck %s --check-prefix=TWO
// RUN: not ampc-compile %t/missing.mlir -o %t/x.o 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not ampc-compile %t/model.mlir -o %t/x.o --policy=int4 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not ampc-compile %t/model.mlir -o %t/no/such/dir/x.o 2>&1 | FileCheck %s --check-prefix=OUTDIR

// RTHEADER: /* The object allocates through AMPC's runtime: link it with
// RTHEADER-NEXT: -L<prefix>/lib -lampc_rt (libampc_rt.so, which brings the C++ library it needs). */
// NORTHEADER-NOT: ampc_rt

// HEADER: #ifndef AMPC_GENERATED_MODEL_H
// HEADER: typedef struct {
// HEADER: int64_t sizes[2];
// HEADER: } AMPC_MemRef2D;
// HEADER: void _mlir_ciface_mm(AMPC_MemRef2D *in0, AMPC_MemRef2D *in1, AMPC_MemRef2D *out0);
// HEADER: void _mlir_ciface_quantize(AMPC_MemRef1D *in0, AMPC_MemRef1D *out0);

// Under bf16, 1.01 is rounded to 1.0078125 before the product.
// OUT: 4.0078125 5 10 11
// OUT-NEXT: 0x38 0x7e 0xc5 0x7e
// OVERRIDE: 4.01000023 5 10 11
// ALGO: ampc-compile: unknown fp8 amax algorithm 'median'; expected max or most_recent
// TWO: ampc-compile: --policy takes one policy here, got 2
// MISSING: ampc-compile: cannot open '{{.*}}missing.mlir': No such file or directory
// POLICY: ampc-compile: unknown policy 'int4'; expected none, fp32, bf16, fp16 or fp8
// OUTDIR: ampc-compile: cannot write '{{.*}}x.o': No such file or directory

//--- model.mlir
func.func @mm(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<2x2xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %m = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x2xf32>) outs(%f : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %m : tensor<2x2xf32>
}
func.func @square(%a: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %m = linalg.matmul ins(%a, %a : tensor<64x64xf32>, tensor<64x64xf32>) outs(%f : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %m : tensor<64x64xf32>
}
func.func @quantize(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  %0 = amp.cast %x : tensor<4xf32> to tensor<4xf8E4M3FN>
  return %0 : tensor<4xf8E4M3FN>
}

//--- driver.c
#include <stdio.h>
#include "model.h"

int main(void) {
  float a[6] = {1.01f, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4];
  AMPC_MemRef2D A = {a, a, 0, {2, 3}, {3, 1}};
  AMPC_MemRef2D B = {b, b, 0, {3, 2}, {2, 1}};
  AMPC_MemRef2D C = {c, c, 0, {2, 2}, {2, 1}};
  _mlir_ciface_mm(&A, &B, &C);
  printf("%.9g %.9g %.9g %.9g\n", c[0], c[1], c[2], c[3]);

  float x[4] = {1, 1000, -3.3f, 1e9f};
  unsigned char q[4];
  AMPC_MemRef1D X = {x, x, 0, {4}, {1}};
  AMPC_MemRef1D Q = {q, q, 0, {4}, {1}};
  _mlir_ciface_quantize(&X, &Q);
  printf("0x%x 0x%x 0x%x 0x%x\n", q[0], q[1], q[2], q[3]);
  return 0;
}
