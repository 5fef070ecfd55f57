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

// A module without the list is left alone.
// CHECK-NOT: ampc.donated_train_step_results
// CHECK-LABEL: func.func @train_step
module {
  func.func @train_step(%w: memref<4xf32>) -> memref<4xf32> {
    return %w : memref<4xf32>
  }
}
