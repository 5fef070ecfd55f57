// The bundled tour of the amp dialect stays valid, and canonicalization folds
// exactly the exact cast round trip (bf16 -> f32 -> bf16) and nothing else.
// RUN: ampc-opt %ampc_src_root/examples/models/amp-tour.mlir --canonicalize | FileCheck %s

// CHECK-LABEL: func.func @tour
// CHECK-COUNT-2: amp.cast %{{.*}} : tensor<2x4x
// CHECK-NOT: amp.cast %{{.*}} : tensor<2x4x
// CHECK: amp.scale_loss
// CHECK: amp.unscale_grads
// CHECK: amp.select_update
// CHECK: amp.update_loss_scale
// CHECK: amp.cast %{{.*}} scale %{{.*}} : tensor<4x8xf32> to tensor<4x8xf8E4M3FN>
// CHECK: amp.amax
// CHECK: amp.update_amax_history {{.*}} formats [f8E4M3FN] : tensor<16x1xf32>, tensor<4x1xf32>, tensor<1xf32>
