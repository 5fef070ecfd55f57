// An object compiled for this CPU's AMX tiles, linked into a C program
// with no library: its first call asks Linux for the tile state itself,
// and its bf16 products (64 x 96 by 96 x 40: AMX pads them to 64 x 96 x
// 64, 1.6 times the work) are exact (integers, sums below 2^24).
// REQUIRES: amx
// RUN: split-file %s %t
// RUN: ampc-compile %t/mm.mlir --cpu=native --threads=1 -o %t/mm.o --header=%t/mm.h
// RUN: llvm-objdump -d %t/mm.o | FileCheck %s --check-prefix=ASM
// RUN: %cc -I%t %t/driver.c %t/mm.o -o %t/driver
// RUN: %t/driver | FileCheck %s

// ASM: tdpbf16ps
// The reference sum is computed in the driver, in double; c[5][7] is the
// sum over k < 96 of (5 % 7 - 3) (k % 5 - 2) (k % 4 + 7 % 3).
// CHECK: mismatches 0 of 2560
// CHECK: c[5][7] = -20

//--- mm.mlir
func.func @mm(%a: tensor<64x96xbf16>, %b: tensor<96x40xbf16>) -> tensor<64x40xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x40xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x40xf32>) -> tensor<64x40xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x96xbf16>, tensor<96x40xbf16>) outs(%f : tensor<64x40xf32>) -> tensor<64x40xf32>
  return %m : tensor<64x40xf32>
}

//--- driver.c
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "mm.h"

/* The bf16 pattern of a small integer (exact). */
static uint16_t bf16(float v) {
  uint32_t bits;
  memcpy(&bits, &v, 4);
  return (uint16_t)(bits >> 16);
}

int main(void) {
  static uint16_t a[64 * 96], b[96 * 40];
  static float c[64 * 40];
  for (int i = 0; i < 64; ++i)
    for (int k = 0; k < 96; ++k)
      a[i * 96 + k] = bf16((float)((i % 7 - 3) * (k % 5 - 2)));
  for (int k = 0; k < 96; ++k)
    for (int j = 0; j < 40; ++j)
      b[k * 40 + j] = bf16((float)((k % 4) + j % 3));
  AMPC_MemRef2D A = {a, a, 0, {64, 96}, {96, 1}};
  AMPC_MemRef2D B = {b, b, 0, {96, 40}, {40, 1}};
  AMPC_MemRef2D C = {c, c, 0, {64, 40}, {40, 1}};
  _mlir_ciface_mm(&A, &B, &C);
  int mismatches = 0;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 40; ++j) {
      double sum = 0;
      for (int k = 0; k < 96; ++k)
        sum += (double)((i % 7 - 3) * (k % 5 - 2)) * (double)((k % 4) + j % 3);
      if ((double)c[i * 40 + j] != sum)
        ++mismatches;
    }
  printf("mismatches %d of %d\n", mismatches, 64 * 40);
  printf("c[5][7] = %.9g\n", c[5 * 40 + 7]);
  return 0;
}
