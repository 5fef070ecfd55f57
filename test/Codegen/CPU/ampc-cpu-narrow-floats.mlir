// RUN: ampc-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(ampc-cpu-narrow-floats))" -verify-diagnostics | FileCheck %s
// RUN: ampc-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(ampc-cpu-narrow-floats{f16-conversions=true}))" -verify-diagnostics | FileCheck %s --check-prefix=F16C
//
// bf16 (and, without hardware conversions, f16) arithmetic written in a
// model is computed in f32; the conversions LLVM would turn into soft-float
// calls become amp.casts with the IEEE defaults. Widening bf16 is a shift
// LLVM does itself: left alone.

// CHECK-LABEL: func.func @add_bf16(
// CHECK-SAME: %[[A:.*]]: bf16, %[[B:.*]]: bf16) -> bf16
// CHECK-DAG: %[[XA:.*]] = arith.extf %[[A]] {{.*}}: bf16 to f32
// CHECK-DAG: %[[XB:.*]] = arith.extf %[[B]] {{.*}}: bf16 to f32
// CHECK: %[[S:.*]] = arith.addf %[[XA]], %[[XB]] : f32
// CHECK: %[[R:.*]] = amp.cast %[[S]] : f32 to bf16
// CHECK-NOT: rounding
// CHECK-NOT: overflow
// CHECK: return %[[R]] : bf16
func.func @add_bf16(%a: bf16, %b: bf16) -> bf16 {
  %0 = arith.addf %a, %b : bf16
  return %0 : bf16
}

// CHECK-LABEL: func.func @truncate_vector(
// CHECK-NEXT: %[[R:.*]] = amp.cast %{{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK-NEXT: return %[[R]]
// CHECK-NOT: arith.truncf
func.func @truncate_vector(%a: vector<8xf32>) -> vector<8xbf16> {
  %0 = arith.truncf %a : vector<8xf32> to vector<8xbf16>
  return %0 : vector<8xbf16>
}

// Without F16C both directions of f16 go through amp.cast; with it, LLVM's
// own lowering uses the instructions and nothing changes.
// CHECK-LABEL: func.func @mul_f16(
// CHECK-COUNT-2: amp.cast %{{.*}} : f16 to f32
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: amp.cast %{{.*}} : f32 to f16
// F16C-LABEL: func.func @mul_f16(
// F16C-NEXT: %[[M:.*]] = arith.mulf %{{.*}}, %{{.*}} : f16
// F16C-NEXT: return %[[M]] : f16
func.func @mul_f16(%a: f16, %b: f16) -> f16 {
  %0 = arith.mulf %a, %b : f16
  return %0 : f16
}

// CHECK-LABEL: func.func @widen_bf16(
// CHECK-NEXT: arith.extf %{{.*}} : bf16 to f32
// CHECK-NOT: amp.cast
func.func @widen_bf16(%a: bf16) -> f32 {
  %0 = arith.extf %a : bf16 to f32
  return %0 : f32
}

// -----

// Rounding f64 through f32 would round twice.
func.func @from_f64(%a: f64) -> bf16 {
  // expected-error @+1 {{'arith.truncf' op converts 'f64' to 'bf16', which the CPU back end cannot do exactly; go through f32 where that is what is meant}}
  %0 = arith.truncf %a : f64 to bf16
  return %0 : bf16
}
