// amp-build-train-step builds @train_step and @train_state_init: the state
// each optimizer and loss-scaling mode needs, in a fixed order with roles;
// the backward seeded with the loss scale; unscaling, clipping, the update
// (marked f32), the skip on overflow and the GradScaler update.
// RUN: ampc-opt %s -amp-build-train-step="optimizer=sgd lr=0.5 momentum=0.9 loss-scaling=dynamic growth-interval=100 hysteresis=2 min-scale=1" | FileCheck %s --check-prefix=DYN
// RUN: ampc-opt %s -amp-build-train-step="optimizer=sgd lr=0.5" | FileCheck %s --check-prefix=NONE
// RUN: ampc-opt %s -amp-build-train-step="optimizer=adamw lr=0.001 weight-decay=0.01 loss-scaling=static init-scale=1024 clip-norm=2.0" | FileCheck %s --check-prefix=ADAMW
// With lr-input the learning rate is an argument the caller sets each step.
// RUN: ampc-opt %s -amp-build-train-step="optimizer=sgd lr-input=true" | FileCheck %s --check-prefix=LRSGD
// RUN: ampc-opt %s -amp-build-train-step="optimizer=adamw weight-decay=0.5 lr-input=true" | FileCheck %s --check-prefix=LRADAMW
// The fp16 policy then runs the weight-gradient contraction in f16 and keeps
// the update in f32.
// RUN: ampc-opt %s -amp-build-train-step="loss-scaling=dynamic" -ampc-train-pipeline="policy=fp16" | FileCheck %s --check-prefix=FP16

func.func @forward(%w: tensor<4x3xf32> {amp.param}, %b: tensor<3xf32> {amp.param},
                   %x: tensor<2x4xf32> {x.note = "input"}) -> (tensor<f32>, tensor<2x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x3xf32>) outs(%f : tensor<2x3xf32>) -> tensor<2x3xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%y, %b : tensor<2x3xf32>, tensor<3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%z : tensor<2x3xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %t = arith.addf %sq, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l, %z : tensor<f32>, tensor<2x3xf32>
}

// The forward function stays as it is.
// DYN-LABEL: func.func @forward(
// DYN: linalg.matmul
// DYN-LABEL: func.func @train_state_init()
// DYN-SAME: -> (tensor<4x3xf32> {amp.role = "param0.momentum"}, tensor<3xf32> {amp.role = "param1.momentum"}, tensor<f32> {amp.role = "loss_scale"}, tensor<i32> {amp.role = "growth_tracker"}, tensor<i32> {amp.role = "hysteresis_tracker"})
// DYN-DAG: arith.constant dense<0.000000e+00> : tensor<4x3xf32>
// DYN-DAG: arith.constant dense<6.553600e+04> : tensor<f32>
// DYN-DAG: arith.constant dense<0> : tensor<i32>
// DYN-DAG: arith.constant dense<2> : tensor<i32>
// DYN-LABEL: func.func @train_step(
// DYN-SAME: %[[W:.*]]: tensor<4x3xf32> {amp.param, amp.role = "param0"}, %[[B:.*]]: tensor<3xf32> {amp.param, amp.role = "param1"},
// DYN-SAME: %[[VW:.*]]: tensor<4x3xf32> {amp.role = "param0.momentum"}, %[[VB:.*]]: tensor<3xf32> {amp.role = "param1.momentum"},
// DYN-SAME: %[[SCALE:.*]]: tensor<f32> {amp.role = "loss_scale"}, %[[GROWTH:.*]]: tensor<i32> {amp.role = "growth_tracker"}, %[[HYST:.*]]: tensor<i32> {amp.role = "hysteresis_tracker"},
// DYN-SAME: %[[X:.*]]: tensor<2x4xf32> {amp.role = "batch", x.note = "input"})
// DYN-SAME: -> (tensor<4x3xf32> {amp.role = "param0"}, tensor<3xf32> {amp.role = "param1"}, tensor<4x3xf32> {amp.role = "param0.momentum"}, tensor<3xf32> {amp.role = "param1.momentum"}, tensor<f32> {amp.role = "loss_scale"}, tensor<i32> {amp.role = "growth_tracker"}, tensor<i32> {amp.role = "hysteresis_tracker"}, tensor<f32> {amp.role = "loss"}, tensor<i1> {amp.role = "found_inf"}, tensor<f32> {amp.role = "grad_norm"})
// DYN-DAG: %[[FALSE:.*]] = arith.constant false
// DYN-DAG: %[[INFTY:.*]] = arith.constant 0x7F800000 : f32
// DYN-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// The seed of the reverse sweep is the loss scale itself.
// DYN: %[[S:.*]] = tensor.extract %[[SCALE]][] : tensor<f32>
// DYN: linalg.generic {{.*}} ins(%{{.*}}, %[[SCALE]] : tensor<2x3xf32>, tensor<f32>) {{.*}} attrs = {amp.gradient, amp.origin = "{{[a-z_0-9.]*}}"}
// DYN: %[[G:.*]]:2, %{{.*}} = amp.unscale_grads(%[[GW:.*]], %[[GB:.*]]) by %[[S]] : (tensor<4x3xf32>, tensor<3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>)
// The global norm's sum of squares, in f32; found_inf is false where it is
// finite, and only otherwise checked on the scaled gradients.
// DYN-COUNT-2: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// DYN: %[[SUM:.*]] = arith.addf %extracted{{.*}}, %extracted{{.*}} : f32
// DYN: %[[FINITE:.*]] = arith.cmpf olt, %[[SUM]], %[[INFTY]] : f32
// DYN: %[[INF:.*]] = scf.if %[[FINITE]] -> (i1) {
// DYN-NEXT: scf.yield %[[FALSE]] : i1
// DYN-NEXT: } else {
// DYN-NEXT: %{{.*}}:2, %[[CHECKED:.*]] = amp.unscale_grads(%[[GW]], %[[GB]]) by %[[ONE]]
// DYN-NEXT: scf.yield %[[CHECKED]] : i1
// DYN: math.sqrt %[[SUM]]
// Momentum and parameter updates, all in f32.
// DYN-COUNT-4: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// DYN: %[[NEW:.*]]:4 = amp.select_update %[[INF]], old(%[[W]], %[[B]], %[[VW]], %[[VB]] : {{.*}}), new(
// DYN: amp.update_loss_scale %[[S]], %{{.*}}, %{{.*}}, %[[INF]] {growth_interval = 100 : i64, hysteresis = 2 : i64, min_scale = 1.000000e+00 : f64}
// DYN: return %[[NEW]]#0, %[[NEW]]#1, %[[NEW]]#2, %[[NEW]]#3,
// DYN-NOT: amp.unscale_grads

// Without loss scaling: no state but the parameters, no amp ops, the seed is
// 1, found_inf is false.
// NONE-LABEL: func.func @train_state_init() {
// NONE-NEXT: return
// NONE-LABEL: func.func @train_step(
// NONE-SAME: %{{.*}}: tensor<4x3xf32> {amp.param, amp.role = "param0"}, %{{.*}}: tensor<3xf32> {amp.param, amp.role = "param1"}, %{{.*}}: tensor<2x4xf32> {amp.role = "batch", x.note = "input"})
// NONE-DAG: %[[FALSE:.*]] = arith.constant dense<false> : tensor<i1>
// NONE-DAG: %[[ONE:.*]] = arith.constant {amp.gradient} dense<1.000000e+00> : tensor<f32>
// NONE: linalg.generic {{.*}} ins(%{{.*}}, %[[ONE]] : tensor<2x3xf32>, tensor<f32>)
// NONE-NOT: amp.unscale_grads
// NONE-NOT: amp.select_update
// NONE-NOT: amp.update_loss_scale
// NONE: return %{{.*}}, %{{.*}}, %{{.*}}, %[[FALSE]], %{{.*}} : tensor<4x3xf32>, tensor<3xf32>, tensor<f32>, tensor<i1>, tensor<f32>

// AdamW with static scaling and clipping: moments and bias-correction
// powers as state, the scale a constant, no scale update.
// ADAMW-LABEL: func.func @train_state_init()
// ADAMW-SAME: {amp.role = "param0.exp_avg"}, {{.*}} {amp.role = "param0.exp_avg_sq"}, {{.*}} {amp.role = "param1.exp_avg"}, {{.*}} {amp.role = "param1.exp_avg_sq"}, tensor<f32> {amp.role = "beta1_power"}, tensor<f32> {amp.role = "beta2_power"})
// ADAMW-DAG: arith.constant dense<1.000000e+00> : tensor<f32>
// ADAMW-LABEL: func.func @train_step(
// ADAMW-DAG: %[[SCALE:.*]] = arith.constant 1.024000e+03 : f32
// ADAMW-DAG: %[[MAXNORM:.*]] = arith.constant 2.000000e+00 : f32
// ADAMW: amp.unscale_grads({{.*}}) by %[[SCALE]]
// ADAMW: %[[NORM:.*]] = math.sqrt
// ADAMW: %[[PLUS:.*]] = arith.addf %[[NORM]]
// ADAMW: %[[COEF:.*]] = arith.divf %[[MAXNORM]], %[[PLUS]]
// ADAMW: arith.minimumf %[[COEF]]
// ADAMW: amp.select_update
// ADAMW-NOT: amp.update_loss_scale
// ADAMW: return

// The learning rate sits between the state (none here) and the batch, and
// is the factor of each parameter's update; no lr constant is left.
// LRSGD-LABEL: func.func @train_step(
// LRSGD-SAME: %[[W:[a-z0-9]+]]: tensor<4x3xf32> {amp.param, amp.role = "param0"}, %[[B:[a-z0-9]+]]: tensor<3xf32> {amp.param, amp.role = "param1"}, %[[LR:[a-z0-9]+]]: tensor<f32> {amp.role = "learning_rate"}, %{{.*}}: tensor<2x4xf32> {amp.role = "batch", x.note = "input"})
// LRSGD-SAME: -> (tensor<4x3xf32> {amp.role = "param0"}, tensor<3xf32> {amp.role = "param1"}, tensor<f32> {amp.role = "loss"}
// LRSGD-NOT: 1.000000e-02
// LRSGD: linalg.generic {{.*}} ins(%[[W]], %{{.*}}, %[[LR]] : tensor<4x3xf32>, tensor<4x3xf32>, tensor<f32>)
// LRSGD-NEXT: ^bb0(%[[P:.*]]: f32, %[[G:.*]]: f32, %[[R:.*]]: f32, %{{.*}}: f32):
// LRSGD-NEXT: %[[D:.*]] = arith.mulf %[[R]], %[[G]] : f32
// LRSGD-NEXT: arith.subf %[[P]], %[[D]] : f32
// LRSGD: linalg.generic {{.*}} ins(%[[B]], %{{.*}}, %[[LR]] : tensor<3xf32>, tensor<3xf32>, tensor<f32>)

// AdamW: the step size lr / (1 - beta1^t) and the decoupled decay
// 1 - lr * weight_decay both come from the argument.
// LRADAMW-LABEL: func.func @train_step(
// LRADAMW-SAME: {amp.role = "beta2_power"}, %[[LR:[a-z0-9]+]]: tensor<f32> {amp.role = "learning_rate"}, %{{.*}}: tensor<2x4xf32> {amp.role = "batch"
// LRADAMW-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// LRADAMW-DAG: %[[WD:.*]] = arith.constant 5.000000e-01 : f32
// LRADAMW: %[[RATE:.*]] = tensor.extract %[[LR]][] : tensor<f32>
// LRADAMW: %[[BIAS1:.*]] = arith.subf %[[ONE]], %{{.*}} : f32
// LRADAMW-NEXT: arith.divf %[[RATE]], %[[BIAS1]] : f32
// LRADAMW: %[[DECAY:.*]] = arith.mulf %[[RATE]], %[[WD]] : f32
// LRADAMW-NEXT: %[[FACTOR:.*]] = arith.subf %[[ONE]], %[[DECAY]] : f32
// LRADAMW: %[[FACTOR0D:.*]] = tensor.from_elements %[[FACTOR]] : tensor<f32>
// LRADAMW: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[FACTOR0D]] : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<f32>, tensor<f32>, tensor<f32>)
// LRADAMW-NEXT: ^bb0(%[[P:[a-z0-9_]+]]: f32, {{.*}}, %[[F:[a-z0-9_]+]]: f32, %{{.*}}: f32):
// LRADAMW-NEXT: arith.mulf %[[P]], %[[F]] : f32

// FP16-LABEL: func.func @train_step(
// FP16: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x4xf16>, tensor<2x3xf16>) outs(%{{.*}} : tensor<4x3xf32>) attrs = {amp.gradient, amp.origin = "linalg.matmul", amp.precision = #amp.precision<compute = f16, accumulate = f32>}
// FP16: amp.unscale_grads({{.*}}) by {{.*}} : (tensor<4x3xf32>, tensor<3xf32>)
// FP16-NOT: f16
// FP16: return
