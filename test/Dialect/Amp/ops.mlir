// RUN: ampc-opt %s | FileCheck %s
// Round trip through the generic form: printing generically and reading back
// must give the same custom form.
// RUN: ampc-opt %s --mlir-print-op-generic | ampc-opt | FileCheck %s
// Round trip through bytecode.
// RUN: ampc-opt %s --emit-bytecode | ampc-opt | FileCheck %s
// Every op here also lowers through both back ends without a crash (the GPU
// pipeline's tensor-core matcher met scalar i1 operands and segfaulted).
// RUN: ampc-opt %s --ampc-gpu-pipeline | FileCheck %s --check-prefix=GPU
// RUN: ampc-opt %s --ampc-cpu-pipeline | FileCheck %s --check-prefix=CPU
// GPU: gpu.binary
// CPU: llvm.func

// Attributes print in words.
// CHECK-LABEL: func.func @attributes
// CHECK-SAME: amp.policy = #amp.policy<fp8>
// CHECK-SAME: p0 = #amp.precision<compute = bf16, accumulate = f32>
// CHECK-SAME: p1 = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>
// CHECK-SAME: p2 = #amp.precision<compute = f16, accumulate = f16>
// CHECK-SAME: r = #amp.scaling_recipe<current>
func.func @attributes() attributes {
    amp.policy = #amp.policy<fp8>,
    p0 = #amp.precision<compute = bf16, accumulate = f32>,
    p1 = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>,
    p2 = #amp.precision<compute = f16, accumulate = f16>,
    r = #amp.scaling_recipe<current>} {
  return
}

// Every policy name parses.
// CHECK-LABEL: func.func @policies
// CHECK-SAME: a = #amp.policy<fp32>, b = #amp.policy<bf16>, c = #amp.policy<fp16>
func.func @policies() attributes {a = #amp.policy<fp32>, b = #amp.policy<bf16>,
                                  c = #amp.policy<fp16>} {
  return
}

// A precision attribute on an ordinary op survives the round trip.
// CHECK-LABEL: func.func @annotated
// CHECK: arith.addf %{{.*}}, %{{.*}} {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} : tensor<4xf32>
func.func @annotated(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %a {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// Casts: defaults are not printed; explicit rounding, overflow and scale are.
// CHECK-LABEL: func.func @casts
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[S:.*]]: f32, %[[V:.*]]: vector<16xbf16>, %[[F:.*]]: f16)
// CHECK: %[[B:.*]] = amp.cast %[[X]] : tensor<4x8xf32> to tensor<4x8xbf16>
// CHECK: amp.cast %[[X]] scale %[[S]] : tensor<4x8xf32> to tensor<4x8xf8E4M3FN>
// CHECK: amp.cast %[[X]] overflow nonfinite : tensor<4x8xf32> to tensor<4x8xf8E5M2>
// CHECK: amp.cast %[[X]] rounding stochastic overflow saturate : tensor<4x8xf32> to tensor<4x8xf16>
// CHECK: %[[Q:.*]] = amp.cast %[[B]] scale %[[S]] : tensor<4x8xbf16> to tensor<4x8xf8E5M2>
// CHECK: amp.cast %[[Q]] scale %[[S]] : tensor<4x8xf8E5M2> to tensor<4x8xf32>
// CHECK: amp.cast %[[V]] : vector<16xbf16> to vector<16xf32>
// CHECK: amp.cast %[[F]] : f16 to f32
func.func @casts(%x: tensor<4x8xf32>, %s: f32, %v: vector<16xbf16>, %f: f16) {
  %0 = amp.cast %x : tensor<4x8xf32> to tensor<4x8xbf16>
  %1 = amp.cast %x scale %s : tensor<4x8xf32> to tensor<4x8xf8E4M3FN>
  %2 = amp.cast %x overflow nonfinite : tensor<4x8xf32> to tensor<4x8xf8E5M2>
  %3 = amp.cast %x rounding stochastic overflow saturate : tensor<4x8xf32> to tensor<4x8xf16>
  %4 = amp.cast %0 scale %s : tensor<4x8xbf16> to tensor<4x8xf8E5M2>
  %5 = amp.cast %4 scale %s : tensor<4x8xf8E5M2> to tensor<4x8xf32>
  %6 = amp.cast %v : vector<16xbf16> to vector<16xf32>
  %7 = amp.cast %f : f16 to f32
  return
}

// Loss scaling: scale the loss, unscale two gradients, update the state and
// select the new or old parameters.
// CHECK-LABEL: func.func @loss_scaling
// CHECK: %[[L:.*]] = amp.scale_loss %{{.*}} by %[[S:.*]] : tensor<f32>
// CHECK: %[[G:.*]]:2, %[[INF:.*]] = amp.unscale_grads(%{{.*}}, %{{.*}}) by %[[S]] : (tensor<4x2xf32>, tensor<2xbf16>) -> (tensor<4x2xf32>, tensor<2xbf16>)
// CHECK: amp.update_loss_scale %[[S]], %{{.*}}, %{{.*}}, %[[INF]]{{$}}
// CHECK: amp.update_loss_scale %[[S]], %{{.*}}, %{{.*}}, %[[INF]] {backoff_factor = 2.500000e-01 : f64, growth_factor = 4.000000e+00 : f64, growth_interval = 100 : i64, hysteresis = 2 : i64, max_scale = 6.553600e+04 : f64, min_scale = 1.000000e+00 : f64}
// CHECK: %[[SEL:.*]]:2 = amp.select_update %[[INF]], old(%{{.*}}, %{{.*}} : tensor<4x2xf32>, tensor<2xbf16>), new(%[[G]]#0, %[[G]]#1 : tensor<4x2xf32>, tensor<2xbf16>)
// CHECK: return %[[SEL]]#0, %[[SEL]]#1, %[[L]]
func.func @loss_scaling(%loss: tensor<f32>, %scale: f32, %g0: tensor<4x2xf32>,
                        %g1: tensor<2xbf16>, %growth: i32, %hyst: i32)
    -> (tensor<4x2xf32>, tensor<2xbf16>, tensor<f32>, f32, i32, i32) {
  %l = amp.scale_loss %loss by %scale : tensor<f32>
  %u:3 = amp.unscale_grads (%g0, %g1) by %scale
      : (tensor<4x2xf32>, tensor<2xbf16>) -> (tensor<4x2xf32>, tensor<2xbf16>)
  %s0, %t0, %h0 = amp.update_loss_scale %scale, %growth, %hyst, %u#2
  %s1, %t1, %h1 = amp.update_loss_scale %scale, %growth, %hyst, %u#2
      {growth_factor = 4.0, backoff_factor = 0.25, growth_interval = 100,
       hysteresis = 2, min_scale = 1.0, max_scale = 65536.0}
  %sel:2 = amp.select_update %u#2, old(%g0, %g1 : tensor<4x2xf32>, tensor<2xbf16>),
                             new(%u#0, %u#1 : tensor<4x2xf32>, tensor<2xbf16>)
  return %sel#0, %sel#1, %l, %s1, %t1, %h1 : tensor<4x2xf32>, tensor<2xbf16>, tensor<f32>, f32, i32, i32
}

// fp8 scaling: amax of a tensor, then the history update (one column per
// amax).
// CHECK-LABEL: func.func @fp8_scaling
// CHECK: %[[A:.*]] = amp.amax %{{.*}} : tensor<16x32xbf16>
// CHECK: %[[V:.*]] = tensor.from_elements %[[A]], %[[A]] : tensor<2xf32>
// CHECK: = amp.update_amax_history %{{.*}}, %{{.*}}, %{{.*}}, %[[V]], %{{.*}} formats [f8E4M3FN, f8E5M2] : tensor<1024x2xf32>, tensor<32x2xf32>, tensor<2xf32>
// CHECK: = amp.update_amax_history %{{.*}}, %{{.*}}, %{{.*}}, %[[V]], %{{.*}} formats [f8E5M2, f8E5M2] algo most_recent {margin = 2 : i64} : tensor<16x2xf32>, tensor<16x2xf32>, tensor<2xf32>
func.func @fp8_scaling(%x: tensor<16x32xbf16>, %h: tensor<1024x2xf32>,
                       %m: tensor<32x2xf32>, %h16: tensor<16x2xf32>, %p: i32,
                       %scale: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %a = amp.amax %x : tensor<16x32xbf16>
  %v = tensor.from_elements %a, %a : tensor<2xf32>
  %nh, %nm, %np, %ns = amp.update_amax_history %h, %m, %p, %v, %scale formats [f8E4M3FN, f8E5M2] : tensor<1024x2xf32>, tensor<32x2xf32>, tensor<2xf32>
  %nh2, %nm2, %np2, %ns2 = amp.update_amax_history %h16, %h16, %p, %v, %scale formats [f8E5M2, f8E5M2] algo most_recent {margin = 2} : tensor<16x2xf32>, tensor<16x2xf32>, tensor<2xf32>
  return %ns, %ns2 : tensor<2xf32>, tensor<2xf32>
}
