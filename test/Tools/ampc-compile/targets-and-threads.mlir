// Objects for other CPUs and architectures, and the thread count of their
// parallel loops.
// RUN: split-file %s %t
//
// AArch64 (NEON): an object of that architecture whose products are
// vector multiply-adds by lane.
// RUN: ampc-compile %t/mm.mlir --triple=aarch64-linux-gnu --cpu=generic --threads=1 -o %t/a64.o
// RUN: llvm-objdump -d %t/a64.o | FileCheck %s --check-prefix=A64
// RUN: not ampc-compile %t/mm.mlir --triple=aarch64-linux-gnu -o %t/x.o 2>&1 | FileCheck %s --check-prefix=NATIVE
// RUN: not ampc-compile %t/mm.mlir --triple=foo-bar -o %t/x.o 2>&1 | FileCheck %s --check-prefix=TRIPLE
//
// x86-64 with AVX-512 (32 zmm, 8 x 32 register tiles) and with AVX2 (16
// ymm, 6 x 16), whatever this machine has.
// RUN: ampc-compile %t/mm.mlir --cpu=skylake-avx512 --threads=1 -o %t/avx512.o
// RUN: llvm-objdump -d %t/avx512.o | FileCheck %s --check-prefix=AVX512
// RUN: ampc-compile %t/mm.mlir --cpu=haswell --threads=1 -o %t/avx2.o
// RUN: llvm-objdump -d %t/avx2.o | FileCheck %s --check-prefix=AVX2
//
// bf16 contractions by what the CPU has: AMX tiles on Sapphire Rapids (the
// object asks Linux for the tile state itself: a syscall, no library), AVX-512
// BF16 dot products on Zen 4 and on Sapphire Rapids without AMX, f32 FMAs on
// Skylake-AVX512 (no bf16 arithmetic).
// RUN: ampc-compile %t/bf16mm.mlir --cpu=sapphirerapids --threads=1 -o %t/spr.o
// RUN: llvm-objdump -d %t/spr.o | FileCheck %s --check-prefix=SPR
// RUN: llvm-nm %t/spr.o | FileCheck %s --check-prefix=SPRNM
// RUN: ampc-compile %t/bf16mm.mlir --cpu=znver4 --threads=1 -o %t/zen4.o
// RUN: llvm-objdump -d %t/zen4.o | FileCheck %s --check-prefix=DOT
// RUN: ampc-compile %t/bf16mm.mlir --cpu=sapphirerapids --features=-amx-bf16 --threads=1 -o %t/spr-noamx.o
// RUN: llvm-objdump -d %t/spr-noamx.o | FileCheck %s --check-prefix=DOT
// RUN: ampc-compile %t/bf16mm.mlir --cpu=skylake-avx512 --threads=1 -o %t/skx.o
// RUN: llvm-objdump -d %t/skx.o | FileCheck %s --check-prefix=SKX
// Features turned off take with them those that need them: Zen 4 without
// AVX-512 has no AVX-512 BF16 either, and gets AVX2's f32 FMAs on ymm (the
// dot products were chosen, and LLVM aborted on them).
// RUN: ampc-compile %t/bf16mm.mlir --cpu=znver4 --features=-avx512f --threads=1 -o %t/zen4-avx2.o
// RUN: llvm-objdump -d %t/zen4-avx2.o | FileCheck %s --check-prefix=ZEN4AVX2
//
// Threads: with the default (all cores) the tiles of a contraction of at
// least 4 MFLOP (this one: 5) run on the OpenMP runtime;
// with one thread the object needs no runtime. Both give the same bits.
// RUN: ampc-compile %t/mm.mlir --cpu=x86-64-v3 -o %t/omp.o --header=%t/mm.h
// RUN: llvm-nm %t/omp.o | FileCheck %s --check-prefix=OMP
// RUN: FileCheck %s --check-prefix=OMPHEADER < %t/mm.h
// RUN: ampc-compile %t/mm.mlir --cpu=x86-64-v3 --threads=1 -o %t/seq.o --header=%t/seq.h
// RUN: FileCheck %s --check-prefix=SEQHEADER < %t/seq.h
// RUN: llvm-nm %t/seq.o | FileCheck %s --check-prefix=SEQ
// RUN: %cc -I%t %t/driver.c %t/omp.o -o %t/omp -L%llvm_lib_dir -lomp -Wl,-rpath,%llvm_lib_dir -lm
// RUN: %cc -I%t %t/driver.c %t/seq.o -o %t/seq -lm
// RUN: env OMP_NUM_THREADS=2 %t/omp > %t/omp.txt
// RUN: %t/seq > %t/seq.txt
// RUN: FileCheck %s --check-prefix=OUT < %t/omp.txt
// RUN: diff %t/omp.txt %t/seq.txt
// RUN: not ampc-compile %t/mm.mlir --threads=-2 -o %t/x.o 2>&1 | FileCheck %s --check-prefix=BADTHREADS
//
// A CPU or feature LLVM does not know, or a feature without its sign, is an
// error before anything is compiled (LLVM would warn and compile for
// another CPU than the one asked for); no object is written.
// RUN: not ampc-compile %t/mm.mlir --features=+avx513f -o %t/bad.o 2>&1 | FileCheck %s --check-prefix=BADFEATURE
// RUN: not ampc-compile %t/mm.mlir --features=avx2 -o %t/bad.o 2>&1 | FileCheck %s --check-prefix=UNSIGNED
// RUN: not ampc-compile %t/mm.mlir --cpu=znver9 -o %t/bad.o 2>&1 | FileCheck %s --check-prefix=BADCPU
// RUN: not ampc-compile %t/mm.mlir --triple=aarch64-linux-gnu --cpu=generic --features=+avx2 -o %t/bad.o 2>&1 | FileCheck %s --check-prefix=A64FEATURE
// RUN: not test -e %t/bad.o
//
// Casts to f16 use the target's conversion instruction where it has one
// (haswell has F16C, AArch64 fcvtn), and integer arithmetic where it has not
// (baseline x86-64).
// RUN: ampc-compile %t/half.mlir --cpu=haswell --threads=1 -o %t/half-f16c.o
// RUN: llvm-objdump -d %t/half-f16c.o | FileCheck %s --check-prefix=F16C
// RUN: ampc-compile %t/half.mlir --cpu=x86-64 --threads=1 -o %t/half-soft.o
// RUN: llvm-objdump -d %t/half-soft.o | FileCheck %s --check-prefix=SOFT
// RUN: llvm-nm %t/half-soft.o | FileCheck %s --check-prefix=SOFTNM
// RUN: ampc-compile %t/half.mlir --triple=aarch64-linux-gnu --cpu=generic --threads=1 -o %t/half-a64.o
// RUN: llvm-objdump -d %t/half-a64.o | FileCheck %s --check-prefix=A64HALF
// bf16 and f16 arithmetic written in the model: no soft-float calls
// (__truncsfbf2, __truncsfhf2, __extendhfsf2) left for the linker.
// RUN: ampc-compile %t/narrow.mlir --cpu=x86-64 --threads=1 -o %t/narrow.o
// RUN: llvm-nm %t/narrow.o | FileCheck %s --check-prefix=NARROWNM

// A64: file format elf64-littleaarch64
// A64: fmla v{{[0-9]+}}.4s, v{{[0-9]+}}.4s, v{{[0-9]+}}.s[
// NATIVE: ampc-compile: --cpu=native describes this machine, not 'aarch64-unknown-linux-gnu': name a CPU of that target
// TRIPLE: ampc-compile: no LLVM target for 'foo-bar'
// AVX512: vfmadd231ps {{.*}}%zmm
// AVX2-NOT: zmm
// AVX2: vfmadd231ps {{.*}}%ymm
// SPR-NOT: vdpbf16ps
// SPR: tileloadd
// SPR: tdpbf16ps
// SPR: tilestored
// SPR-NOT: vdpbf16ps
// SPRNM: U syscall
// DOT-NOT: tdpbf16ps
// DOT: vdpbf16ps {{.*}}%zmm
// DOT-NOT: tdpbf16ps
// ZEN4AVX2-NOT: vdpbf16ps
// ZEN4AVX2-NOT: %zmm
// ZEN4AVX2: vfmadd231ps {{.*}}%ymm
// ZEN4AVX2-NOT: vdpbf16ps
// ZEN4AVX2-NOT: %zmm
// SKX-NOT: vdpbf16ps
// SKX-NOT: tdpbf16ps
// SKX: vfmadd231ps {{.*}}%zmm
// SKX-NOT: vdpbf16ps
// SKX-NOT: tdpbf16ps
// OMP: U __kmpc_fork_call
// SEQ-NOT: __kmpc
// OMPHEADER: link it with
// OMPHEADER-NEXT: -L/usr/lib/llvm-22/lib -lomp (libomp-22-dev), or compile with --threads=1.
// SEQHEADER-NOT: lomp
// The sum over k of (i + 1) * (j + 1) / 64 = 130 (i + 1)(j + 1) / 64.
// OUT: c[0][0] = 2.03125 c[13][6] = 199.0625 c[199][95] = 39000
// BADTHREADS: ampc-compile: --threads must be 0 (all cores) or a positive count, not -2
// BADFEATURE: ampc-compile: 'avx513f' is not a CPU feature of x86_64-{{.*}} that LLVM knows (`llc -mtriple=x86_64-{{.*}} -mattr=help` lists them)
// UNSIGNED: ampc-compile: target feature 'avx2' needs a sign: '+avx2' turns it on, '-avx2' off
// BADCPU: ampc-compile: 'znver9' is not a CPU of x86_64-{{.*}} that LLVM knows (`llc -mtriple=x86_64-{{.*}} -mcpu=help` lists them)
// A64FEATURE: ampc-compile: 'avx2' is not a CPU feature of aarch64-unknown-linux-gnu that LLVM knows
// F16C: vcvtps2ph
// The body is folded into its C interface, the object's one entry point.
// SOFT-NOT: vcvtps2ph
// SOFT: <_mlir_ciface_half>:
// SOFT-NOT: vcvtps2ph
// SOFTNM-NOT: __truncsfhf2
// SOFTNM: T _mlir_ciface_half
// SOFTNM-NOT: {{ half$}}
// SOFTNM-NOT: __truncsfhf2
// A64HALF: fcvtn v{{[0-9]+}}.4h
// NARROWNM-NOT: __trunc
// NARROWNM-NOT: __extend
// NARROWNM: T _mlir_ciface_narrow
// NARROWNM-NOT: __trunc
// NARROWNM-NOT: __extend

//--- mm.mlir
func.func @mm(%a: tensor<200x130xf32>, %b: tensor<130x96xf32>) -> tensor<200x96xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<200x96xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<200x96xf32>) -> tensor<200x96xf32>
  %m = linalg.matmul ins(%a, %b : tensor<200x130xf32>, tensor<130x96xf32>) outs(%f : tensor<200x96xf32>) -> tensor<200x96xf32>
  return %m : tensor<200x96xf32>
}

//--- bf16mm.mlir
func.func @bf16mm(%a: tensor<64x96xbf16>, %b: tensor<96x64xbf16>) -> tensor<64x64xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x96xbf16>, tensor<96x64xbf16>) outs(%f : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %m : tensor<64x64xf32>
}

//--- half.mlir
func.func @half(%x: tensor<64xf32>) -> tensor<64xf16> {
  %0 = amp.cast %x : tensor<64xf32> to tensor<64xf16>
  return %0 : tensor<64xf16>
}

//--- narrow.mlir
func.func @narrow(%a: tensor<64xbf16>, %b: tensor<64xf16>, %x: tensor<64xf32>)
    -> (tensor<64xbf16>, tensor<64xf16>, tensor<64xbf16>) {
  %0 = arith.mulf %a, %a : tensor<64xbf16>
  %1 = arith.addf %b, %b : tensor<64xf16>
  %2 = arith.truncf %x : tensor<64xf32> to tensor<64xbf16>
  return %0, %1, %2 : tensor<64xbf16>, tensor<64xf16>, tensor<64xbf16>
}

//--- driver.c
#include <stdio.h>
#include "mm.h"

int main(void) {
  static float a[200 * 130], b[130 * 96], c[200 * 96];
  for (int i = 0; i < 200; ++i)
    for (int k = 0; k < 130; ++k)
      a[i * 130 + k] = (float)(i + 1) / 8;
  for (int k = 0; k < 130; ++k)
    for (int j = 0; j < 96; ++j)
      b[k * 96 + j] = (float)(j + 1) / 8;
  AMPC_MemRef2D A = {a, a, 0, {200, 130}, {130, 1}};
  AMPC_MemRef2D B = {b, b, 0, {130, 96}, {96, 1}};
  AMPC_MemRef2D C = {c, c, 0, {200, 96}, {96, 1}};
  _mlir_ciface_mm(&A, &B, &C);
  printf("c[0][0] = %.9g c[13][6] = %.9g c[199][95] = %.9g\n", c[0], c[13 * 96 + 6],
         c[199 * 96 + 95]);
  return 0;
}
