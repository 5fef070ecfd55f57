// RUN: ampc-opt %s -split-input-file -ampc-confirm-donated-results | FileCheck %s

// After bufferization, result 0 is the buffer of argument 0 (updated in
// place) but result 1 is a new buffer (bufferization copied the momentum
// first): only 0 stays donated.
// CHECK: module attributes {ampc.donated_train_step_results = array<i64: 0>}
module attributes {ampc.donated_train_step_results = array<i64: 0, 1>} {
  func.func @train_step(%w: memref<4xf32>, %m: memref<4xf32>) -> (memref<4xf32>, memref<4xf32>) {
    %new = memref.alloc() : memref<4xf32>
    memref.copy %m, %new : memref<4xf32> to memref<4xf32>
    return %w, %new : memref<4xf32>, memref<4xf32>
  }
}

// -----

// A serial tiled update is a loop nest that starts from the argument's
// buffer and yields its iteration argument: result 0 is argument 0's
// buffer. Result 1's loop yields another buffer, result 2's loop starts
// from another one: neither stays donated.
// CHECK: module attributes {ampc.donated_train_step_results = array<i64: 0>}
module attributes {ampc.donated_train_step_results = array<i64: 0, 1, 2>} {
  func.func @train_step(%w: memref<4x4xf32>, %m: memref<4x4xf32>, %v: memref<4x4xf32>) -> (memref<4x4xf32>, memref<4x4xf32>, memref<4x4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %cst = arith.constant 1.0 : f32
    %0 = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %w) -> (memref<4x4xf32>) {
      %1 = scf.for %j = %c0 to %c4 step %c1 iter_args(%b = %a) -> (memref<4x4xf32>) {
        memref.store %cst, %b[%i, %j] : memref<4x4xf32>
        scf.yield %b : memref<4x4xf32>
      }
      scf.yield %1 : memref<4x4xf32>
    }
    %new = memref.alloc() : memref<4x4xf32>
    %2 = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %m) -> (memref<4x4xf32>) {
      scf.yield %new : memref<4x4xf32>
    }
    %copy = memref.alloc() : memref<4x4xf32>
    %3 = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %copy) -> (memref<4x4xf32>) {
      scf.yield %a : memref<4x4xf32>
    }
    return %0, %2, %3 : memref<4x4xf32>, memref<4x4xf32>, memref<4x4xf32>
  }
}

// -----

// An update whose loops were folded into one computes into the argument's
// buffer collapsed and returns it expanded: result 0 is argument 0's
// buffer. Result 1 expands a collapsed copy: not donated.
// CHECK: module attributes {ampc.donated_train_step_results = array<i64: 0>}
module attributes {ampc.donated_train_step_results = array<i64: 0, 1>} {
  func.func @train_step(%w: memref<4x10xf32>, %m: memref<4x10xf32>) -> (memref<4x10xf32>, memref<4x10xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c40 = arith.constant 40 : index
    %cst = arith.constant 1.0 : f32
    %flat = memref.collapse_shape %w [[0, 1]] : memref<4x10xf32> into memref<40xf32>
    %0 = scf.for %i = %c0 to %c40 step %c1 iter_args(%a = %flat) -> (memref<40xf32>) {
      memref.store %cst, %a[%i] : memref<40xf32>
      scf.yield %a : memref<40xf32>
    }
    %r0 = memref.expand_shape %0 [[0, 1]] output_shape [4, 10] : memref<40xf32> into memref<4x10xf32>
    %new = memref.alloc() : memref<40xf32>
    %r1 = memref.expand_shape %new [[0, 1]] output_shape [4, 10] : memref<40xf32> into memref<4x10xf32>
    return %r0, %r1 : memref<4x10xf32>, memref<4x10xf32>
  }
}

// -----

// A module without the list is left alone.
// CHECK: module {
// CHECK-NEXT: func.func @train_step
module {
  func.func @train_step(%w: memref<4xf32>) -> memref<4xf32> {
    return %w : memref<4xf32>
  }
}
