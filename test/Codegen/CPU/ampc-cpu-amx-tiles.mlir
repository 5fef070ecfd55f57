// RUN: ampc-opt %s -split-input-file -ampc-cpu-amx-tiles -verify-diagnostics | FileCheck %s

// One 32 x 32 tile of C (in place in a larger C: rows 128 apart) over 3 k
// steps: the function first asks Linux for the AMX state, once per process
// (a flag in a global; syscall(SYS_arch_prctl = 158, ARCH_REQ_XCOMP_PERM =
// 0x1023, XFEATURE_XTILEDATA = 18); a refusal writes the message to stderr
// and aborts). Then C's four 16 x 16 f32 tiles are loaded, carried through
// the loop over the k steps, where two A tiles (rows 0 and 16, 32 k each)
// and two B tiles (columns 0 and 16: 16 pairs each) are loaded and
// multiplied four times, and stored back to C.
// CHECK-DAG: llvm.func @abort()
// CHECK-DAG: llvm.func @write(i32, !llvm.ptr, i64) -> i64
// CHECK-DAG: llvm.func @syscall(i64, ...) -> i64
// CHECK-DAG: llvm.mlir.global internal @ampc_amx_granted(0 : i8)
// CHECK-DAG: llvm.mlir.global internal constant @ampc_amx_refused("ampc: this code multiplies bf16 with AMX tiles, but the OS refused their state (arch_prctl(ARCH_REQ_XCOMP_PERM), Linux 5.16 or newer); compile it for a CPU without AMX (--features=-amx-bf16)\0A")
// CHECK-LABEL: func.func @tile
// CHECK: %[[FLAG:.*]] = llvm.mlir.addressof @ampc_amx_granted
// CHECK: %[[STATE:.*]] = llvm.load %[[FLAG]] atomic monotonic
// CHECK: %[[ASK:.*]] = arith.cmpi eq, %[[STATE]], %c0_i8
// CHECK: scf.if %[[ASK]] {
// CHECK: %[[STATUS:.*]] = llvm.call @syscall(%c158_i64, %c4131_i64, %c18_i64) vararg
// CHECK: %[[REFUSED:.*]] = arith.cmpi ne, %[[STATUS]], %c0_i64
// CHECK: scf.if %[[REFUSED]] {
// CHECK: llvm.call @write(%c2_i32, %{{.*}}, %c191_i64)
// CHECK: llvm.call @abort()
// CHECK: llvm.store %c1_i8, %[[FLAG]] atomic monotonic
// CHECK: %[[A:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<3x32x16x2xbf16, strided<[1024, 32, 2, 1]>> into memref<3x32x32xbf16, strided<[1024, 32, 1]>>
// CHECK: %[[B:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<3x16x32x2xbf16, strided<[1024, 64, 2, 1]>> into memref<3x16x64xbf16, strided<[1024, 64, 1]>>
// CHECK: %[[C:.*]] = memref.subview %arg2[0, 0, 0, 0] [1, 32, 1, 32] [1, 1, 1, 1] : memref<1x32x1x32xf32, strided<[4096, 128, 32, 1], offset: ?>> to memref<32x32xf32, strided<[128, 1], offset: ?>>
// CHECK-COUNT-4: amx.tile_load %[[C]][%{{.*}}, %{{.*}}] : memref<32x32xf32, strided<[128, 1], offset: ?>> into !amx.tile<16x16xf32>
// CHECK: %[[SUMS:.*]]:4 = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[C00:.*]] = %{{.*}}, %[[C01:.*]] = %{{.*}}, %[[C10:.*]] = %{{.*}}, %[[C11:.*]] = %{{.*}}) -> (!amx.tile<16x16xf32>, !amx.tile<16x16xf32>, !amx.tile<16x16xf32>, !amx.tile<16x16xf32>)
// CHECK: %[[A0:.*]] = amx.tile_load %[[A]][%[[K]], %c0{{.*}}, %c0{{.*}}] : memref<3x32x32xbf16, strided<[1024, 32, 1]>> into !amx.tile<16x32xbf16>
// CHECK: %[[B0:.*]] = amx.tile_load %[[B]][%[[K]], %c0{{.*}}, %c0{{.*}}] : memref<3x16x64xbf16, strided<[1024, 64, 1]>> into !amx.tile<16x32xbf16>
// CHECK: %[[A1:.*]] = amx.tile_load %[[A]][%[[K]], %c16{{.*}}, %c0{{.*}}]
// CHECK: %[[B1:.*]] = amx.tile_load %[[B]][%[[K]], %c0{{.*}}, %c32]
// CHECK: %[[N00:.*]] = amx.tile_mulf %[[A0]], %[[B0]], %[[C00]]
// CHECK: %[[N01:.*]] = amx.tile_mulf %[[A0]], %[[B1]], %[[C01]]
// CHECK: %[[N10:.*]] = amx.tile_mulf %[[A1]], %[[B0]], %[[C10]]
// CHECK: %[[N11:.*]] = amx.tile_mulf %[[A1]], %[[B1]], %[[C11]]
// CHECK: scf.yield %[[N00]], %[[N01]], %[[N10]], %[[N11]]
// CHECK: amx.tile_store %[[C]][%c0{{.*}}, %c0{{.*}}], %[[SUMS]]#0
// CHECK: amx.tile_store %[[C]][%c0{{.*}}, %c16{{.*}}], %[[SUMS]]#1
// CHECK: amx.tile_store %[[C]][%c16{{.*}}, %c0{{.*}}], %[[SUMS]]#2
// CHECK: amx.tile_store %[[C]][%c16{{.*}}, %c16{{.*}}], %[[SUMS]]#3
// CHECK-NOT: linalg.generic
#mA = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d3, d5, d6)>
#mB = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d5, d4, d6)>
#mC = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d3, d1, d4)>
func.func @tile(%a: memref<1x3x32x16x2xbf16>, %b: memref<1x3x16x32x2xbf16>, %c: memref<1x32x1x32xf32, strided<[4096, 128, 32, 1], offset: ?>>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]} ins(%a, %b : memref<1x3x32x16x2xbf16>, memref<1x3x16x32x2xbf16>) outs(%c : memref<1x32x1x32xf32, strided<[4096, 128, 32, 1], offset: ?>>) attrs = {ampc.amx_tile} {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// With ampc.amx_zero_init (C starts at +0.0 and this is the whole k loop),
// the four C tiles start zeroed: C is stored, never loaded.
// CHECK-LABEL: func.func @zero_init
// CHECK: %[[C:.*]] = memref.subview %arg2
// CHECK-COUNT-4: amx.tile_zero : !amx.tile<16x16xf32>
// CHECK-NOT: amx.tile_load %[[C]]
// CHECK: scf.for
// CHECK-COUNT-4: amx.tile_mulf
// CHECK: scf.yield
// CHECK-COUNT-4: amx.tile_store %[[C]]
func.func @zero_init(%a: memref<1x3x32x16x2xbf16>, %b: memref<1x3x16x32x2xbf16>, %c: memref<1x32x1x32xf32, strided<[4096, 128, 32, 1], offset: ?>>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d3, d5, d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d5, d4, d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d3, d1, d4)>], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]} ins(%a, %b : memref<1x3x32x16x2xbf16>, memref<1x3x16x32x2xbf16>) outs(%c : memref<1x32x1x32xf32, strided<[4096, 128, 32, 1], offset: ?>>) attrs = {ampc.amx_tile, ampc.amx_zero_init} {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A packed C tile ([1, 1, 32, 32]) and a single k step (D = 1, kept as the
// loop's bound): the two tiles of one function ask for the AMX state once,
// and a generic that is not marked stays.
// CHECK-LABEL: func.func @packed_c_one_step
// CHECK-COUNT-1: llvm.call @syscall
// CHECK-NOT: llvm.call @syscall
// CHECK: memref.collapse_shape %{{.*}} : memref<1x32x16x2xbf16, strided<[1024, 32, 2, 1]>> into memref<1x32x32xbf16, strided<[1024, 32, 1]>>
// CHECK: memref.subview %{{.*}}[0, 0, 0, 0] [1, 1, 32, 32] [1, 1, 1, 1] : memref<1x1x32x32xf32> to memref<32x32xf32, strided<[32, 1]>>
// CHECK-COUNT-4: amx.tile_mulf
// CHECK-COUNT-4: amx.tile_mulf
// CHECK: linalg.generic
// CHECK-NOT: ampc.amx_tile
#mA = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d3, d5, d6)>
#mB = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d5, d4, d6)>
#mC = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d3, d4)>
#id = affine_map<(d0) -> (d0)>
func.func @packed_c_one_step(%a: memref<1x1x32x16x2xbf16>, %b: memref<1x1x16x32x2xbf16>, %c: memref<1x1x32x32xf32>, %v: memref<8xf32>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]} ins(%a, %b : memref<1x1x32x16x2xbf16>, memref<1x1x16x32x2xbf16>) outs(%c : memref<1x1x32x32xf32>) attrs = {ampc.amx_tile} {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]} ins(%a, %b : memref<1x1x32x16x2xbf16>, memref<1x1x16x32x2xbf16>) outs(%c : memref<1x1x32x32xf32>) attrs = {ampc.amx_tile} {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]} outs(%v : memref<8xf32>) {
  ^bb0(%o: f32):
    %s = arith.addf %o, %o : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A marked tile still on tensors (the pass runs after bufferization).
#mA = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d3, d5, d6)>
#mB = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d5, d4, d6)>
#mC = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d3, d4)>
func.func @on_tensors(%a: tensor<1x1x32x16x2xbf16>, %b: tensor<1x1x16x32x2xbf16>, %c: tensor<1x1x32x32xf32>) -> tensor<1x1x32x32xf32> {
  // expected-error @+1 {{an AMX tile must be on buffers (run ampc-cpu-amx-tiles after bufferization)}}
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]} ins(%a, %b : tensor<1x1x32x16x2xbf16>, tensor<1x1x16x32x2xbf16>) outs(%c : tensor<1x1x32x32xf32>) attrs = {ampc.amx_tile} {
  ^bb0(%x: bf16, %y: bf16, %o: f32):
    %xe = arith.extf %x : bf16 to f32
    %ye = arith.extf %y : bf16 to f32
    %p = arith.mulf %xe, %ye : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x1x32x32xf32>
  return %r : tensor<1x1x32x32xf32>
}
