// A step built for data-parallel ranks averages the gradients (in flat
// buckets, in reverse order), the loss and the buffers' new values over the
// ranks before anything reads them: unscaling, the found-inf check, the
// norm, clipping and the optimizer see only averaged values. A bucket's
// all-reduce starts as soon as its gradients are computed and is waited for
// after the reverse sweep (overlap=false: started there too).
// RUN: ampc-opt %s -amp-build-train-step="data-parallel=true bucket-mb=1 loss-scaling=dynamic clip-norm=1.0 momentum=0.9" | FileCheck %s
// RUN: ampc-opt %s -amp-build-train-step="data-parallel=true loss-scaling=dynamic" | FileCheck %s --check-prefix=ONE
// RUN: ampc-opt %s -amp-build-train-step="data-parallel=true bucket-mb=1 overlap=false loss-scaling=dynamic" | FileCheck %s --check-prefix=AFTER
// RUN: ampc-opt %s -amp-build-train-step="loss-scaling=dynamic" | FileCheck %s --check-prefix=SOLO

#wx = affine_map<(d0, d1) -> (d0, d1)>
#x = affine_map<(d0, d1) -> (d1)>
#all2 = affine_map<(d0, d1) -> ()>
#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>

// loss = sum(w x) + sum(v); the buffer rm counts steps.
func.func @forward(%w: tensor<512x512xf32> {amp.param = "w"}, %v: tensor<8xf32> {amp.param = "v"},
                   %rm: tensor<8xf32> {amp.param = "rm", amp.buffer, amp.init = "zeros"},
                   %x: tensor<512xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [#wx, #x, #all2], iterator_types = ["reduction", "reduction"]}
      ins(%w, %x : tensor<512x512xf32>, tensor<512xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  %t = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction"]}
      ins(%v : tensor<8xf32>) outs(%s : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %q = arith.addf %acc, %a : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  return %t : tensor<f32>
}

func.func @forward_train(%w: tensor<512x512xf32> {amp.param = "w"}, %v: tensor<8xf32> {amp.param = "v"},
                         %rm: tensor<8xf32> {amp.param = "rm", amp.buffer, amp.init = "zeros"},
                         %x: tensor<512xf32>) -> (tensor<f32>, tensor<8xf32> {amp.buffer = "rm"}) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [#wx, #x, #all2], iterator_types = ["reduction", "reduction"]}
      ins(%w, %x : tensor<512x512xf32>, tensor<512xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  %t = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction"]}
      ins(%v : tensor<8xf32>) outs(%s : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %q = arith.addf %acc, %a : f32
    linalg.yield %q : f32
  } -> tensor<f32>
  %e8 = tensor.empty() : tensor<8xf32>
  %new = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%rm : tensor<8xf32>) outs(%e8 : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.addf %a, %one : f32
    linalg.yield %n : f32
  } -> tensor<8xf32>
  return %t, %new : tensor<f32>, tensor<8xf32>
}

// In reverse order, bucket 1 is v's 8 floats, bucket 2 w's 262144 (1 MiB:
// the two do not fit in one). A lone gradient is reduced as it is.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: amp.data_parallel
// v's gradient (the first one the reverse sweep computes) starts at once,
// before w's gradient is computed.
// CHECK: %[[GV:.*]] = linalg.generic {{.*}} ins(%arg5 : tensor<f32>) outs(%{{.*}} : tensor<8xf32>) attrs = {amp.gradient
// CHECK: %[[FV:.*]], %[[RV:.*]] = amp.all_reduce_start mean %[[GV]] : tensor<8xf32> -> tensor<8xf32>
// CHECK-NEXT: tensor.empty() : tensor<512x512xf32>
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: %[[GW:.*]] = linalg.generic {{.*}} ins(%arg8, %arg5 : tensor<512xf32>, tensor<f32>) {{.*}} attrs = {amp.gradient
// CHECK: %[[FW:.*]], %[[RW:.*]] = amp.all_reduce_start mean %[[GW]] : tensor<512x512xf32> -> tensor<512x512xf32>
// The waits, in the same order, after the sweep.
// CHECK-NEXT: %[[V:.*]] = amp.all_reduce_wait %[[RV]], %[[FV]] : tensor<8xf32> -> tensor<8xf32>
// CHECK-NEXT: %[[W:.*]] = amp.all_reduce_wait %[[RW]], %[[FW]] : tensor<512x512xf32> -> tensor<512x512xf32>
// The buffer's new value, averaged.
// CHECK: %[[RM:.*]] = amp.all_reduce mean %{{.*}} : tensor<8xf32> -> tensor<8xf32>
// Unscaling (and its inf/NaN check) reads the averaged gradients only.
// CHECK: %[[UN:.*]]:2, %{{.*}} = amp.unscale_grads(%[[W]], %[[V]]) by
// The norm and clipping read the unscaled averages; a skipped step keeps
// the old values by the averaged found-inf (checked on the averaged
// gradients where the norm is not finite).
// CHECK: ins(%[[UN]]#0 : tensor<512x512xf32>)
// CHECK: %[[INF:.*]] = scf.if
// CHECK: amp.unscale_grads(%[[W]], %[[V]]) by
// CHECK: math.sqrt
// CHECK: %[[SEL:.*]]:5 = amp.select_update %[[INF]], old({{.*}}), new(%{{.*}}, %{{.*}}, %[[RM]],
// CHECK: %[[LOSS:.*]] = amp.all_reduce mean %{{.*}} : tensor<f32> -> tensor<f32>
// CHECK-NOT: amp.all_reduce
// CHECK: return %[[SEL]]#0, %[[SEL]]#1, %[[SEL]]#2, {{.*}}, %[[LOSS]],

// With the default bucket (25 MiB) one bucket holds both gradients, v's
// first, flattened; it starts after the last of them.
// ONE-LABEL: func.func @train_step(
// ONE: %[[FLATW:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<512x512xf32> into tensor<262144xf32>
// ONE: %[[BUCKET:.*]] = tensor.concat dim(0) %{{.*}}, %[[FLATW]] : (tensor<8xf32>, tensor<262144xf32>) -> tensor<262152xf32>
// ONE: %[[F:.*]], %[[R:.*]] = amp.all_reduce_start mean %[[BUCKET]] : tensor<262152xf32> -> tensor<262152xf32>
// ONE-NEXT: %[[AVG:.*]] = amp.all_reduce_wait %[[R]], %[[F]] : tensor<262152xf32> -> tensor<262152xf32>
// ONE: %[[V:.*]] = tensor.extract_slice %[[AVG]][0] [8] [1]
// ONE: %[[SW:.*]] = tensor.extract_slice %[[AVG]][8] [262144] [1]
// ONE: %[[W:.*]] = tensor.expand_shape %[[SW]] {{\[}}[0, 1]] output_shape [512, 512] : tensor<262144xf32> into tensor<512x512xf32>
// ONE: amp.unscale_grads(%[[W]], %[[V]])
// ONE-NOT: amp.all_reduce_start

// Without overlap both buckets start after the whole sweep.
// AFTER-LABEL: func.func @train_step(
// AFTER: ins(%{{.*}}, %{{.*}} : tensor<512xf32>, tensor<f32>) {{.*}} attrs = {amp.gradient
// AFTER: %[[FV:.*]], %[[RV:.*]] = amp.all_reduce_start mean %{{.*}} : tensor<8xf32>
// AFTER-NEXT: %[[FW:.*]], %[[RW:.*]] = amp.all_reduce_start mean %{{.*}} : tensor<512x512xf32>
// AFTER-NEXT: amp.all_reduce_wait %[[RV]], %[[FV]]
// AFTER-NEXT: amp.all_reduce_wait %[[RW]], %[[FW]]

// SOLO-LABEL: func.func @train_step(
// SOLO-NOT: amp.data_parallel
// SOLO-NOT: amp.all_reduce
