// RUN: ampc-opt %s -split-input-file -ampc-cpu-lower-amx -verify-diagnostics | FileCheck %s

// AMX ops become LLVM's AMX intrinsics (16 rows x 64 bytes, the row stride
// in bytes), and the tile the loop carries LLVM's x86_amx (the loop's
// bounds become i64 with it); memrefs stay memrefs behind casts.
// CHECK-LABEL: func.func @carried
// CHECK: %[[C:.*]] = builtin.unrealized_conversion_cast %arg2 : memref<16x16xf32> to !llvm.struct
// CHECK: %[[INIT:.*]] = llvm.call_intrinsic "llvm.x86.tileloadd64.internal"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i16, i16, !llvm.ptr, i64) -> !llvm.x86_amx
// CHECK: %[[SUM:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (!llvm.x86_amx) : i64 {
// CHECK: %[[X:.*]] = llvm.call_intrinsic "llvm.x86.tileloadd64.internal"
// CHECK: %[[Y:.*]] = llvm.call_intrinsic "llvm.x86.tileloadd64.internal"
// CHECK: %[[N:.*]] = llvm.call_intrinsic "llvm.x86.tdpbf16ps.internal"(%{{.*}}, %{{.*}}, %{{.*}}, %[[ACC]], %[[X]], %[[Y]])
// CHECK: scf.yield %[[N]] : !llvm.x86_amx
// CHECK: llvm.call_intrinsic "llvm.x86.tilestored64.internal"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[SUM]])
// CHECK-NOT: amx.
func.func @carried(%a: memref<4x16x32xbf16>, %b: memref<4x16x32xbf16>, %c: memref<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %init = amx.tile_load %c[%c0, %c0] : memref<16x16xf32> into !amx.tile<16x16xf32>
  %r = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %init) -> (!amx.tile<16x16xf32>) {
    %x = amx.tile_load %a[%k, %c0, %c0] : memref<4x16x32xbf16> into !amx.tile<16x32xbf16>
    %y = amx.tile_load %b[%k, %c0, %c0] : memref<4x16x32xbf16> into !amx.tile<16x32xbf16>
    %n = amx.tile_mulf %x, %y, %acc : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    scf.yield %n : !amx.tile<16x16xf32>
  }
  amx.tile_store %c[%c0, %c0], %r : memref<16x16xf32>, !amx.tile<16x16xf32>
  return
}

// -----

// Without AMX ops, nothing changes (no casts).
// CHECK-LABEL: func.func @no_amx
// CHECK-NEXT: %[[S:.*]] = arith.addf %arg0, %arg0 : f32
// CHECK-NEXT: return %[[S]] : f32
func.func @no_amx(%x: f32) -> f32 {
  %s = arith.addf %x, %x : f32
  return %s : f32
}

// -----

// A tile loaded from a buffer in a memory space LLVM does not know cannot
// be lowered.
func.func @unknown_memory_space(%a: memref<16x32xbf16, "scratch">) -> !amx.tile<16x32xbf16> {
  %c0 = arith.constant 0 : index
  // expected-error@unknown {{conversion of memref memory space "scratch" to integer address space failed}}
  // expected-error @+1 {{failed to legalize operation 'amx.tile_load'}}
  %t = amx.tile_load %a[%c0, %c0] : memref<16x32xbf16, "scratch"> into !amx.tile<16x32xbf16>
  return %t : !amx.tile<16x32xbf16>
}
