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

// -----

// Softmax's exp in a loop body (f32): no exp left; the input clamped to
// [-104, 89] (selects that also send NaN to -104 before the integer
// arithmetic), k = roundeven(x * log2(e)), r = x - k ln2 in two steps
// (ln2's high part with trailing zero bits, then the low part), a Taylor
// polynomial of degree 8 in Horner form, and two scalings by powers of two
// built in the exponent field (k / 2 and k - k / 2); NaN selected back.
// Products and sums may fuse into FMAs (contract).
// CHECK-LABEL: func.func @exp_in_loop_body
// CHECK: linalg.generic
// CHECK-NOT: math.exp
// CHECK-DAG: %[[LO:.*]] = arith.constant -1.040000e+02 : f32
// CHECK-DAG: %[[HI:.*]] = arith.constant 8.900000e+01 : f32
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[IN:.*]], %[[LO]] : f32
// CHECK: %[[L:.*]] = arith.select %[[GT]], %[[IN]], %[[LO]] : f32
// CHECK: %[[LT:.*]] = arith.cmpf olt, %[[L]], %[[HI]] : f32
// CHECK: %[[X:.*]] = arith.select %[[LT]], %[[L]], %[[HI]] : f32
// CHECK: %[[T:.*]] = arith.mulf %[[X]], %{{.*}} fastmath<contract> : f32
// CHECK: %[[K:.*]] = math.roundeven %[[T]] : f32
// CHECK: %[[NK:.*]] = arith.negf %[[K]] : f32
// CHECK: arith.constant 0.693145751 : f32
// CHECK: arith.mulf %[[NK]], {{.*}} fastmath<contract>
// CHECK: arith.constant 1.42860677E-6 : f32
// CHECK: arith.mulf %[[NK]], {{.*}} fastmath<contract>
// CHECK: %[[R:.*]] = arith.addf {{.*}} fastmath<contract> : f32
// CHECK: arith.constant 2.48015876E-5 : f32
// CHECK-COUNT-8: arith.mulf {{.*}}, %[[R]] fastmath<contract> : f32
// CHECK: %[[KI:.*]] = arith.fptosi %[[K]] : f32 to i32
// CHECK: %[[HALF:.*]] = arith.shrsi %[[KI]], %{{.*}} : i32
// CHECK: %[[REST:.*]] = arith.subi %[[KI]], %[[HALF]] : i32
// CHECK: arith.addi %[[HALF]], %{{.*}} : i32
// CHECK: arith.shli
// CHECK: arith.bitcast %{{.*}} : i32 to f32
// CHECK: arith.mulf
// CHECK: arith.addi %[[REST]], %{{.*}} : i32
// CHECK: arith.shli
// CHECK: arith.bitcast %{{.*}} : i32 to f32
// CHECK: %[[Y:.*]] = arith.mulf
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[IN]], %[[IN]] : f32
// CHECK: %[[E:.*]] = arith.select %[[NAN]], %[[IN]], %[[Y]] : f32
// CHECK: linalg.yield %[[E]] : f32
// CHECK-NOT: math.exp
// CHECK: return
func.func @exp_in_loop_body(%x: tensor<64xf32>) -> tensor<64xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<64xf32>) outs(%x : tensor<64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  } -> tensor<64xf32>
  return %r : tensor<64xf32>
}

// -----

// On a vector: the same arithmetic on vector<16xf32>, its integer part on
// vector<16xi32>.
// CHECK-LABEL: func.func @exp_on_vector
// CHECK-NOT: math.exp
// CHECK: math.roundeven %{{.*}} : vector<16xf32>
// CHECK: arith.fptosi %{{.*}} : vector<16xf32> to vector<16xi32>
// CHECK-COUNT-2: arith.bitcast %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: arith.select %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK-NOT: math.exp
// CHECK: return
func.func @exp_on_vector(%v: vector<16xf32>) -> vector<16xf32> {
  %e = math.exp %v : vector<16xf32>
  return %e : vector<16xf32>
}

// -----

// Left alone: exp on f16, bf16, f64 and tensors.
// CHECK-LABEL: func.func @exp_left_alone
// CHECK: math.exp %{{.*}} : f16
// CHECK: math.exp %{{.*}} : bf16
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.exp %{{.*}} : tensor<4xf32>
// CHECK-NOT: math.roundeven
// CHECK: return
func.func @exp_left_alone(%h: f16, %b: bf16, %d: f64, %t: tensor<4xf32>) -> (f16, bf16, f64, tensor<4xf32>) {
  %a = math.exp %h : f16
  %c = math.exp %b : bf16
  %e = math.exp %d : f64
  %f = math.exp %t : tensor<4xf32>
  return %a, %c, %e, %f : f16, bf16, f64, tensor<4xf32>
}
