// RUN: ampc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(ampc-cpu-expand-math))" -verify-diagnostics | FileCheck %s

// GELU's tanh in a loop body (f32): no tanh left; the input clamped to
// +-7.9988 (where the ratio reaches +-1), a numerator of six and a
// denominator of three fused multiply-adds, one division, and x itself
// where |x| < 0.0004.
// CHECK-LABEL: func.func @in_loop_body
// CHECK: linalg.generic
// CHECK-NOT: math.tanh
// CHECK-DAG: arith.constant -7.99881172 : f32
// CHECK-DAG: arith.constant 7.99881172 : f32
// CHECK-DAG: %[[TINY:.*]] = arith.constant 4.000000e-04 : f32
// CHECK: %[[ABS:.*]] = math.absf %[[IN:.*]] : f32
// CHECK: %[[SMALL:.*]] = arith.cmpf olt, %[[ABS]], %[[TINY]] : f32
// CHECK-COUNT-6: math.fma {{.*}} : f32
// CHECK: %[[P:.*]] = arith.mulf
// CHECK-COUNT-3: math.fma {{.*}} : f32
// CHECK: %[[RATIO:.*]] = arith.divf %[[P]], %{{.*}} : f32
// CHECK: %[[R:.*]] = arith.select %[[SMALL]], %{{.*}}, %[[RATIO]] : f32
// CHECK: linalg.yield %[[R]] : f32
// CHECK-NOT: math.tanh
// CHECK: return
func.func @in_loop_body(%x: tensor<64xf32>) -> tensor<64xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<64xf32>) outs(%x : tensor<64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = math.tanh %in : f32
    linalg.yield %t : f32
  } -> tensor<64xf32>
  return %r : tensor<64xf32>
}

// -----

// On a vector: the same arithmetic on vector<16xf32>.
// CHECK-LABEL: func.func @on_vector
// CHECK-NOT: math.tanh
// CHECK-COUNT-9: math.fma {{.*}} : vector<16xf32>
// CHECK: arith.divf {{.*}} : vector<16xf32>
// CHECK-NOT: math.tanh
// CHECK: return
func.func @on_vector(%v: vector<16xf32>) -> vector<16xf32> {
  %t = math.tanh %v : vector<16xf32>
  return %t : vector<16xf32>
}

// -----

// Left alone: f16 and f64 (the approximation is for f32), and tanh on a
// tensor (the pipeline makes it a loop body first).
// CHECK-LABEL: func.func @left_alone
// CHECK: math.tanh %{{.*}} : f16
// CHECK: math.tanh %{{.*}} : f64
// CHECK: math.tanh %{{.*}} : tensor<4xf32>
// CHECK-NOT: math.fma
// CHECK: return
func.func @left_alone(%h: f16, %d: f64, %t: tensor<4xf32>) -> (f16, f64, tensor<4xf32>) {
  %a = math.tanh %h : f16
  %b = math.tanh %d : f64
  %c = math.tanh %t : tensor<4xf32>
  return %a, %b, %c : f16, f64, tensor<4xf32>
}
