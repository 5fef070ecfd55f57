// RUN: ampc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{compute type must be one of f32, f16, bf16, f8E4M3FN, f8E5M2; got 'f64'}}
func.func @precision_f64() attributes {p = #amp.precision<compute = f64, accumulate = f64>} { return }

// -----

// expected-error @+1 {{accumulate type must be one of f32, f16, bf16; got 'f8E4M3FN'}}
func.func @precision_fp8_accumulate() attributes {p = #amp.precision<compute = f8E4M3FN, accumulate = f8E4M3FN>} { return }

// -----

// expected-error @+1 {{accumulate type 'bf16' is narrower than compute type 'f32'}}
func.func @precision_narrow_accumulate() attributes {p = #amp.precision<compute = f32, accumulate = bf16>} { return }

// -----

// expected-error @+1 {{an fp8 scaling recipe needs an fp8 compute type, got 'bf16'}}
func.func @precision_recipe_on_bf16() attributes {p = #amp.precision<compute = bf16, accumulate = f32, recipe = delayed>} { return }

// -----

// expected-error @+1 {{'compute' must be a float type, got 'i32'}}
func.func @precision_integer() attributes {p = #amp.precision<compute = i32, accumulate = f32>} { return }

// -----

// expected-error @+1 {{unknown fp8 scaling recipe 'sometimes', expected 'delayed' or 'current'}}
func.func @precision_bad_recipe() attributes {p = #amp.precision<compute = f8E5M2, accumulate = f32, recipe = sometimes>} { return }

// -----

// expected-error @+2 {{expected one of [fp32, bf16, fp16, fp8] for mixed-precision policy, got: int8}}
// expected-error @+1 {{failed to parse Amp_PolicyAttr parameter 'value'}}
func.func @policy_unknown() attributes {p = #amp.policy<int8>} { return }

// -----

func.func @cast_to_integer(%x: tensor<4xf32>) {
  // expected-error @+1 {{'amp.cast' op result #0 must be float or ranked tensor/vector of float, but got 'tensor<4xi32>'}}
  %0 = amp.cast %x : tensor<4xf32> to tensor<4xi32>
  return
}

// -----

func.func @cast_shape_mismatch(%x: tensor<4xf32>) {
  // expected-error @+1 {{'amp.cast' op input and result must have the same shape, got 'tensor<4xf32>' and 'tensor<8xbf16>'}}
  %0 = amp.cast %x : tensor<4xf32> to tensor<8xbf16>
  return
}

// -----

func.func @cast_tensor_to_vector(%x: tensor<4xf32>) {
  // expected-error @+1 {{'amp.cast' op input and result must have the same shape, got 'tensor<4xf32>' and 'vector<4xbf16>'}}
  %0 = amp.cast %x : tensor<4xf32> to vector<4xbf16>
  return
}

// -----

func.func @cast_scalar_to_tensor(%x: f32) {
  // expected-error @+1 {{'amp.cast' op input and result must have the same shape, got 'f32' and 'tensor<bf16>'}}
  %0 = amp.cast %x : f32 to tensor<bf16>
  return
}

// -----

func.func @cast_f64(%x: tensor<4xf32>) {
  // expected-error @+1 {{'amp.cast' op supports f32, f16, bf16, f8E4M3FN and f8E5M2; got 'f64'}}
  %0 = amp.cast %x : tensor<4xf32> to tensor<4xf64>
  return
}

// -----

func.func @cast_scale_not_fp8(%x: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{'amp.cast' op a scale is only allowed on a cast between fp8 (f8E4M3FN, f8E5M2) and a wider type; got 'f32' to 'bf16'}}
  %0 = amp.cast %x scale %s : tensor<4xf32> to tensor<4xbf16>
  return
}

// -----

func.func @cast_scale_fp8_to_fp8(%x: tensor<4xf8E4M3FN>, %s: f32) {
  // expected-error @+1 {{'amp.cast' op a scale is only allowed on a cast between fp8 (f8E4M3FN, f8E5M2) and a wider type; got 'f8E4M3FN' to 'f8E5M2'}}
  %0 = amp.cast %x scale %s : tensor<4xf8E4M3FN> to tensor<4xf8E5M2>
  return
}

// -----

func.func @cast_scale_not_f32(%x: tensor<4xf32>, %s: f16) {
  // expected-note @-1 {{prior use here}}
  // expected-error @+1 {{use of value '%s' expects different type than prior uses: 'f32' vs 'f16'}}
  %0 = amp.cast %x scale %s : tensor<4xf32> to tensor<4xf8E4M3FN>
  return
}

// -----

func.func @cast_bad_rounding(%x: tensor<4xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'rounding' [nearest_even, stochastic]}}
  %0 = amp.cast %x rounding toward_zero : tensor<4xf32> to tensor<4xbf16>
  return
}

// -----

func.func @scale_loss_bf16(%loss: tensor<bf16>, %s: f32) {
  // expected-error @+1 {{'amp.scale_loss' op operand #0 must be f32 or ranked tensor/vector of f32, but got 'tensor<bf16>'}}
  %0 = amp.scale_loss %loss by %s : tensor<bf16>
  return
}

// -----

func.func @unscale_nothing(%s: f32) {
  // expected-error @+1 {{'amp.unscale_grads' op expects at least one gradient}}
  %found = "amp.unscale_grads"(%s) : (f32) -> i1
  return
}

// -----

func.func @unscale_count_mismatch(%g0: tensor<4xf32>, %g1: tensor<2xf32>, %s: f32) {
  // expected-error @+1 {{'amp.unscale_grads' op has 2 gradients but 1 unscaled results}}
  %u, %found = amp.unscale_grads (%g0, %g1) by %s : (tensor<4xf32>, tensor<2xf32>) -> (tensor<4xf32>)
  return
}

// -----

func.func @unscale_type_mismatch(%g0: tensor<4xf32>, %g1: tensor<2xf32>, %s: f32) {
  // expected-error @+1 {{'amp.unscale_grads' op result #1 has type 'tensor<3xf32>' but gradient #1 has type 'tensor<2xf32>'}}
  %u:2, %found = amp.unscale_grads (%g0, %g1) by %s : (tensor<4xf32>, tensor<2xf32>) -> (tensor<4xf32>, tensor<3xf32>)
  return
}

// -----

func.func @growth_factor_one(%s: f32, %g: i32, %h: i32, %inf: i1) {
  // expected-error @+1 {{'amp.update_loss_scale' op growth_factor must be finite and greater than 1, got 1.000000e+00}}
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {growth_factor = 1.0}
  return
}

// -----

func.func @backoff_one(%s: f32, %g: i32, %h: i32, %inf: i1) {
  // expected-error @+1 {{'amp.update_loss_scale' op backoff_factor must be in (0, 1), got 1.000000e+00}}
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {backoff_factor = 1.0}
  return
}

// -----

func.func @growth_interval_zero(%s: f32, %g: i32, %h: i32, %inf: i1) {
  // expected-error @+1 {{'amp.update_loss_scale' op growth_interval must be at least 1, got 0}}
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {growth_interval = 0}
  return
}

// -----

func.func @growth_interval_negative(%s: f32, %g: i32, %h: i32, %inf: i1) {
  // expected-error @+1 {{'amp.update_loss_scale' op growth_interval must be at least 1, got -5}}
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {growth_interval = -5}
  return
}

// -----

func.func @hysteresis_zero(%s: f32, %g: i32, %h: i32, %inf: i1) {
  // expected-error @+1 {{'amp.update_loss_scale' op hysteresis must be at least 1, got 0}}
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {hysteresis = 0}
  return
}

// -----

func.func @min_scale_zero(%s: f32, %g: i32, %h: i32, %inf: i1) {
  // expected-error @+1 {{'amp.update_loss_scale' op min_scale must be finite and positive, got 0.000000e+00}}
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {min_scale = 0.0}
  return
}

// -----

func.func @max_scale_negative(%s: f32, %g: i32, %h: i32, %inf: i1) {
  // expected-error @+1 {{'amp.update_loss_scale' op max_scale must be finite and positive, got -1.000000e+00}}
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {max_scale = -1.0}
  return
}

// -----

func.func @min_above_max(%s: f32, %g: i32, %h: i32, %inf: i1) {
  // expected-error @+1 {{'amp.update_loss_scale' op min_scale (1.024000e+03) is greater than max_scale (1.000000e+00)}}
  %0:3 = amp.update_loss_scale %s, %g, %h, %inf {min_scale = 1024.0, max_scale = 1.0}
  return
}

// -----

func.func @select_count_mismatch(%inf: i1, %a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'amp.select_update' op has 2 old values but 1 new values}}
  %0:2 = amp.select_update %inf, old(%a, %b : tensor<4xf32>, tensor<4xf32>), new(%a : tensor<4xf32>)
  return
}

// -----

func.func @select_type_mismatch(%inf: i1, %a: tensor<4xf32>, %b: tensor<4xbf16>) {
  // expected-error @+1 {{'amp.select_update' op old value #0 has type 'tensor<4xf32>' but new value #0 has type 'tensor<4xbf16>'}}
  %0 = amp.select_update %inf, old(%a : tensor<4xf32>), new(%b : tensor<4xbf16>)
  return
}

// -----

func.func @select_nothing(%inf: i1) {
  // expected-error @+1 {{'amp.select_update' op expects at least one value to select}}
  "amp.select_update"(%inf) <{operandSegmentSizes = array<i32: 1, 0, 0>}> : (i1) -> ()
  return
}

// -----

func.func @amax_integer(%x: tensor<4xi32>) {
  // expected-error @+1 {{'amp.amax' op operand #0 must be float or ranked tensor/vector of float, but got 'tensor<4xi32>'}}
  %0 = amp.amax %x : tensor<4xi32>
  return
}

// -----

func.func @history_1d(%h: tensor<4xf32>, %m: tensor<4x1xf32>, %p: i32, %a: tensor<1xf32>) {
  // expected-error @+1 {{'amp.update_amax_history' op amax history must be a static tensor of n >= 1 rows and one column per amax (1); got 'tensor<4xf32>'}}
  %0:4 = amp.update_amax_history %h, %m, %p, %a, %a formats [f8E4M3FN] : tensor<4xf32>, tensor<4x1xf32>, tensor<1xf32>
  return
}

// -----

func.func @history_dynamic(%h: tensor<?x1xf32>, %m: tensor<4x1xf32>, %p: i32, %a: tensor<1xf32>) {
  // expected-error @+1 {{'amp.update_amax_history' op amax history must be a static tensor of n >= 1 rows and one column per amax (1); got 'tensor<?x1xf32>'}}
  %0:4 = amp.update_amax_history %h, %m, %p, %a, %a formats [f8E4M3FN] : tensor<?x1xf32>, tensor<4x1xf32>, tensor<1xf32>
  return
}

// -----

func.func @history_columns(%h: tensor<16x2xf32>, %m: tensor<4x2xf32>, %p: i32, %a: tensor<3xf32>) {
  // expected-error @+1 {{'amp.update_amax_history' op amax history must be a static tensor of n >= 1 rows and one column per amax (3); got 'tensor<16x2xf32>'}}
  %0:4 = amp.update_amax_history %h, %m, %p, %a, %a formats [f8E4M3FN, f8E4M3FN, f8E4M3FN] : tensor<16x2xf32>, tensor<4x2xf32>, tensor<3xf32>
  return
}

// -----

func.func @history_scalar_amax(%h: tensor<16x1xf32>, %m: tensor<4x1xf32>, %p: i32, %a: tensor<f32>) {
  // expected-error @+1 {{'amp.update_amax_history' op amaxes and scales must be 1-D tensors of static, non-zero length; got 'tensor<f32>'}}
  %0:4 = amp.update_amax_history %h, %m, %p, %a, %a formats [f8E4M3FN] : tensor<16x1xf32>, tensor<4x1xf32>, tensor<f32>
  return
}

// -----

func.func @history_negative_margin(%h: tensor<16x1xf32>, %m: tensor<4x1xf32>, %p: i32, %a: tensor<1xf32>) {
  // expected-error @+1 {{'amp.update_amax_history' op margin must be non-negative, got -1}}
  %0:4 = amp.update_amax_history %h, %m, %p, %a, %a formats [f8E4M3FN] {margin = -1} : tensor<16x1xf32>, tensor<4x1xf32>, tensor<1xf32>
  return
}

// -----

func.func @history_format_bf16(%h: tensor<16x2xf32>, %m: tensor<4x2xf32>, %p: i32, %a: tensor<2xf32>) {
  // expected-error @+1 {{'amp.update_amax_history' op formats must be f8E4M3FN or f8E5M2, got 'bf16'}}
  %0:4 = amp.update_amax_history %h, %m, %p, %a, %a formats [f8E4M3FN, bf16] : tensor<16x2xf32>, tensor<4x2xf32>, tensor<2xf32>
  return
}

// -----

func.func @history_formats_count(%h: tensor<16x2xf32>, %m: tensor<4x2xf32>, %p: i32, %a: tensor<2xf32>) {
  // expected-error @+1 {{'amp.update_amax_history' op needs one format per column (2), got 1}}
  %0:4 = amp.update_amax_history %h, %m, %p, %a, %a formats [f8E5M2] : tensor<16x2xf32>, tensor<4x2xf32>, tensor<2xf32>
  return
}

// -----

func.func @history_ragged_blocks(%h: tensor<16x1xf32>, %m: tensor<5x1xf32>, %p: i32, %a: tensor<1xf32>) {
  // expected-error @+1 {{'amp.update_amax_history' op block maxima must be a static tensor of one column per amax (1) and rows dividing the history's 16; got 'tensor<5x1xf32>'}}
  %0:4 = amp.update_amax_history %h, %m, %p, %a, %a formats [f8E4M3FN] : tensor<16x1xf32>, tensor<5x1xf32>, tensor<1xf32>
  return
}
