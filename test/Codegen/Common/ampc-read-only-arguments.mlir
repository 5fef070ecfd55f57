// RUN: ampc-opt %s -split-input-file -ampc-read-only-arguments | FileCheck %s
// RUN: ampc-opt %s -split-input-file -ampc-read-only-arguments -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=BUF

// Tensor arguments of public functions become read-only for bufferization;
// scalars, private functions and an explicit choice are left alone.
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%{{.*}}: tensor<4xf32> {bufferization.writable = false}, %{{.*}}: f32, %{{.*}}: tensor<4xf32> {bufferization.writable = true})
// CHECK-LABEL: func.func private @helper
// CHECK-SAME: (%{{.*}}: tensor<4xf32>)
// A function that updates its argument in place: with read-only arguments
// the argument is copied into a new buffer, which is updated and returned.
// BUF-LABEL: func.func @step
// BUF-SAME: (%[[P:[a-z0-9]+]]: memref<4xf32>
// BUF: %[[NEW:.*]] = memref.alloc() {{.*}} : memref<4xf32>
// BUF: memref.copy %[[P]], %[[NEW]]
// BUF: linalg.generic {{.*}} outs(%[[NEW]] : memref<4xf32>)
// BUF: return %[[NEW]]
#id = affine_map<(d0) -> (d0)>
func.func @step(%p: tensor<4xf32>, %lr: f32, %q: tensor<4xf32> {bufferization.writable = true}) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]} outs(%p : tensor<4xf32>) {
  ^bb0(%x: f32):
    %y = arith.mulf %x, %lr : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func private @helper(%p: tensor<4xf32>) -> tensor<4xf32> {
  return %p : tensor<4xf32>
}
