// RUN: ampc-opt %s -split-input-file -amp-cast-cleanup | FileCheck %s

// Exact round trips fold, inexact ones stay, and the same cast of the same
// value is made once.
// CHECK-LABEL: func.func @fold_and_dedupe
// CHECK-SAME: (%[[B:.*]]: tensor<4xbf16>, %[[F:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[N:.*]] = amp.cast %[[F]] : tensor<4xf32> to tensor<4xbf16>
// CHECK-NEXT: %[[W:.*]] = amp.cast %[[N]] : tensor<4xbf16> to tensor<4xf32>
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[N]], %[[N]] : tensor<4xbf16>
// CHECK-NEXT: return %[[B]], %[[W]], %[[S]]
func.func @fold_and_dedupe(%b: tensor<4xbf16>, %f: tensor<4xf32>)
    -> (tensor<4xbf16>, tensor<4xf32>, tensor<4xbf16>) {
  %0 = amp.cast %b : tensor<4xbf16> to tensor<4xf32>
  %1 = amp.cast %0 : tensor<4xf32> to tensor<4xbf16>
  %2 = amp.cast %f : tensor<4xf32> to tensor<4xbf16>
  %3 = amp.cast %2 : tensor<4xbf16> to tensor<4xf32>
  %4 = amp.cast %f : tensor<4xf32> to tensor<4xbf16>
  %5 = arith.addf %2, %4 : tensor<4xbf16>
  return %1, %3, %5 : tensor<4xbf16>, tensor<4xf32>, tensor<4xbf16>
}

// -----

// Casts differing in overflow mode are different casts.
// CHECK-LABEL: func.func @different_modes
// CHECK-COUNT-2: amp.cast
func.func @different_modes(%f: tensor<4xf32>) -> (tensor<4xf8E4M3FN>, tensor<4xf8E4M3FN>) {
  %0 = amp.cast %f : tensor<4xf32> to tensor<4xf8E4M3FN>
  %1 = amp.cast %f overflow nonfinite : tensor<4xf32> to tensor<4xf8E4M3FN>
  return %0, %1 : tensor<4xf8E4M3FN>, tensor<4xf8E4M3FN>
}

// -----

// The cast of a loop-invariant weight moves out of the loop; the casts of the
// loop-carried value stay in it, with the exact widenings to f32 skipped.
// CHECK-LABEL: func.func @hoist
// CHECK-SAME: (%[[W:.*]]: tensor<4xf32>, %[[X:.*]]: tensor<4xbf16>
// CHECK: %[[WB:.*]] = amp.cast %[[W]] : tensor<4xf32> to tensor<4xbf16>
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[X]])
// CHECK-NEXT: %[[DOWN:.*]] = amp.cast %[[ACC]] : tensor<4xbf16> to tensor<4xf16>
// CHECK-NEXT: %[[NEXT:.*]] = amp.cast %[[DOWN]] : tensor<4xf16> to tensor<4xbf16>
// CHECK-NEXT: arith.mulf %[[NEXT]], %[[WB]]
func.func @hoist(%w: tensor<4xf32>, %x: tensor<4xbf16>, %n: index) -> tensor<4xbf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %x) -> tensor<4xbf16> {
    %wb = amp.cast %w : tensor<4xf32> to tensor<4xbf16>
    %up = amp.cast %acc : tensor<4xbf16> to tensor<4xf32>
    %down = amp.cast %up : tensor<4xf32> to tensor<4xf16>
    %wide = amp.cast %down : tensor<4xf16> to tensor<4xf32>
    %next = amp.cast %wide : tensor<4xf32> to tensor<4xbf16>
    %m = arith.mulf %next, %wb : tensor<4xbf16>
    scf.yield %m : tensor<4xbf16>
  }
  return %r : tensor<4xbf16>
}
