// Buffers (amp.buffer: BatchNorm's running statistics) are parameters the
// training step replaces instead of training. A module with @forward_train
// (the model in training mode) trains it; @forward stays for evaluation.
// RUN: ampc-opt %s -amp-build-train-step="optimizer=sgd lr=0.5 momentum=0.9 loss-scaling=dynamic" | FileCheck %s
// RUN: ampc-opt %s -amp-build-train-step="optimizer=adam" | FileCheck %s --check-prefix=ADAM

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>

// Evaluation: y = sum((x - running_mean) * w).
func.func @forward(%w: tensor<4xf32> {amp.param = "w"},
                   %rm: tensor<4xf32> {amp.param = "running_mean", amp.buffer, amp.init = "zeros"},
                   %x: tensor<4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id, #all], iterator_types = ["reduction"]}
      ins(%x, %rm, %w : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %m: f32, %b: f32, %acc: f32):
    %d = arith.subf %a, %m : f32
    %p = arith.mulf %d, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %y : tensor<f32>
}

// Training: y = sum(x * w); the running mean moves to 0.9 rm + 0.1 x.
func.func @forward_train(%w: tensor<4xf32> {amp.param = "w"},
                         %rm: tensor<4xf32> {amp.param = "running_mean", amp.buffer, amp.init = "zeros"},
                         %x: tensor<4xf32>)
    -> (tensor<f32>, tensor<4xf32> {amp.buffer = "running_mean"}) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %y = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction"]}
      ins(%x, %w : tensor<4xf32>, tensor<4xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %e4 = tensor.empty() : tensor<4xf32>
  %new = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%rm, %x : tensor<4xf32>, tensor<4xf32>) outs(%e4 : tensor<4xf32>) {
  ^bb0(%m: f32, %a: f32, %o: f32):
    %c9 = arith.constant 0.9 : f32
    %c1 = arith.constant 0.1 : f32
    %k = arith.mulf %m, %c9 : f32
    %n = arith.mulf %a, %c1 : f32
    %s = arith.addf %k, %n : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %y, %new : tensor<f32>, tensor<4xf32>
}

// The buffer is param1 (named, carried), with no optimizer state: only w has
// a momentum.
// CHECK-LABEL: func.func @train_state_init()
// CHECK-SAME: -> (tensor<4xf32> {amp.role = "param0.momentum"}, tensor<f32> {amp.role = "loss_scale"}
// CHECK-NOT: param1.momentum
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[W:.*]]: tensor<4xf32> {amp.param = "w", amp.role = "param0"}
// CHECK-SAME: %[[RM:.*]]: tensor<4xf32> {amp.init = "zeros", amp.param = "running_mean", amp.role = "param1"}
// CHECK-SAME: %[[MOM:.*]]: tensor<4xf32> {amp.role = "param0.momentum"}
// CHECK-NOT: param1.momentum
// CHECK-SAME: %[[X:[^:]*]]: tensor<4xf32> {amp.role = "batch"}
// The training forward, not @forward's evaluation: x * w summed, and the
// running mean's update.
// CHECK-NOT: arith.subf
// CHECK: %[[NEWRM:.*]] = linalg.generic {{.*}} ins(%[[RM]], %[[X]] :
// The gradient of w only, unscaled; the update; the buffer's new value
// kept only if the step is not skipped.
// CHECK: amp.unscale_grads(%{{[^)]*}}) by %{{.*}} : (tensor<4xf32>) -> (tensor<4xf32>)
// CHECK: %[[INF:.*]] = scf.if
// CHECK: %[[SEL:.*]]:3 = amp.select_update %[[INF]], old(%[[W]], %[[RM]], %[[MOM]] : {{.*}}), new(%{{.*}}, %[[NEWRM]], %{{.*}} :
// CHECK: return %[[SEL]]#0, %[[SEL]]#1, %[[SEL]]#2,

// ADAM: func.func @train_state_init() -> (tensor<4xf32> {amp.role = "param0.exp_avg"}, tensor<4xf32> {amp.role = "param0.exp_avg_sq"}, tensor<f32> {amp.role = "beta1_power"}, tensor<f32> {amp.role = "beta2_power"})
