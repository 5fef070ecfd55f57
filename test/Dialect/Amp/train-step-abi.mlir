// RUN: ampc-opt %s -split-input-file -verify-diagnostics -allow-unregistered-dialect | FileCheck %s
//
// The amp dialect verifies the training-step contract (TrainStepABI.h): the
// amp.param and amp.role attributes on arguments and results, and the amp.*
// attributes on ops. Well-formed roles round-trip.

// Every role a training step uses, in the order of the contract.
// Parameters may be named and carry an initialiser.
// CHECK-LABEL: func.func @named_parameters
// CHECK-SAME: {amp.init = "ones", amp.param = "ln.weight"}
// CHECK-SAME: {amp.init = "normal(0.02)", amp.param = "proj.weight"}
// CHECK-SAME: {amp.init = "uniform(0.5)", amp.param}
func.func @named_parameters(%g: tensor<4xf32> {amp.param = "ln.weight", amp.init = "ones"},
                            %w: tensor<4x4xf32> {amp.param = "proj.weight", amp.init = "normal(0.02)"},
                            %u: tensor<4xf32> {amp.param, amp.init = "uniform(0.5)"},
                            %z: tensor<4xf32> {amp.param = "z", amp.init = "zeros"},
                            %f: tensor<4xf32> {amp.param = "f", amp.init = "uniform_fan_in"}) { return }

// -----

// expected-error @+1 {{'amp.param' of argument #0 must be a unit attribute or a parameter name (not empty, no '/', no leading '.', printable ASCII), got "fc/weight"}}
func.func @slash_in_name(%p: tensor<4xf32> {amp.param = "fc/weight"}) { return }

// -----

// expected-error @+1 {{'amp.param' of argument #0 must be a unit attribute or a parameter name (not empty, no '/', no leading '.', printable ASCII), got ""}}
func.func @empty_name(%p: tensor<4xf32> {amp.param = ""}) { return }

// -----

// expected-error @+1 {{'amp.param' of argument #0 must be a unit attribute or a parameter name (not empty, no '/', no leading '.', printable ASCII), got 3 : i32}}
func.func @name_not_a_string(%p: tensor<4xf32> {amp.param = 3 : i32}) { return }

// -----

// expected-error @+1 {{parameter name "w" of argument #2 is already the name of argument #0}}
func.func @duplicate_name(%a: tensor<4xf32> {amp.param = "w"}, %b: tensor<4xf32> {amp.param},
                          %c: tensor<4xf32> {amp.param = "w"}) { return }

// -----

// expected-error @+1 {{'amp.init' of argument #0 must be "uniform_fan_in", "ones", "zeros", "normal(STD)" or "uniform(BOUND)" with a positive STD or BOUND, got "normal(-1)"}}
func.func @negative_std(%p: tensor<4xf32> {amp.param, amp.init = "normal(-1)"}) { return }

// -----

// expected-error @+1 {{'amp.init' of argument #0 must be "uniform_fan_in", "ones", "zeros", "normal(STD)" or "uniform(BOUND)" with a positive STD or BOUND, got "xavier"}}
func.func @unknown_init(%p: tensor<4xf32> {amp.param, amp.init = "xavier"}) { return }

// -----

// expected-error @+1 {{'amp.init' of argument #0 needs 'amp.param': only parameters are initialised}}
func.func @init_without_param(%p: tensor<4xf32> {amp.init = "ones"}) { return }

// -----

// CHECK-LABEL: func.func @every_role
// CHECK-SAME: {amp.param, amp.role = "param0"}
// CHECK-SAME: {amp.role = "param0.exp_avg_sq"}
// CHECK-SAME: {amp.role = "fp8.amax_position"}
// CHECK-SAME: {amp.role = "fp8.amax_history"}
// CHECK-SAME: {amp.role = "fp8.amax_block_max"}
// CHECK-SAME: {amp.role = "fp8.scale"}
// CHECK-SAME: {amp.role = "batch"}
// CHECK-SAME: {amp.role = "cast_stats"}
// CHECK-SAME: attributes {amp.fp8_sites = ["input0", "t0"]}
func.func @every_role(%p: tensor<4xf32> {amp.param, amp.role = "param0"},
                      %m: tensor<4xf32> {amp.role = "param0.momentum"},
                      %a: tensor<4xf32> {amp.role = "param0.exp_avg"},
                      %v: tensor<4xf32> {amp.role = "param0.exp_avg_sq"},
                      %b1: tensor<f32> {amp.role = "beta1_power"},
                      %b2: tensor<f32> {amp.role = "beta2_power"},
                      %s: tensor<f32> {amp.role = "loss_scale"},
                      %g: tensor<i32> {amp.role = "growth_tracker"},
                      %h: tensor<i32> {amp.role = "hysteresis_tracker"},
                      %ap: tensor<i32> {amp.role = "fp8.amax_position"},
                      %ah: tensor<8x2xf32> {amp.role = "fp8.amax_history"},
                      %am: tensor<2x2xf32> {amp.role = "fp8.amax_block_max"},
                      %as: tensor<2xf32> {amp.role = "fp8.scale"},
                      %x: tensor<4xf32> {amp.role = "batch"})
    -> (tensor<4xf32> {amp.role = "param0"}, tensor<f32> {amp.role = "loss"},
        tensor<i1> {amp.role = "found_inf"}, tensor<f32> {amp.role = "grad_norm"},
        tensor<1x2xf32> {amp.role = "cast_stats"})
    attributes {amp.fp8_sites = ["input0", "t0"]} {
  %0 = "test.values"() : () -> tensor<f32>
  %1 = "test.flag"() : () -> tensor<i1>
  %2 = "test.stats"() : () -> tensor<1x2xf32>
  return %p, %0, %1, %0, %2 : tensor<4xf32>, tensor<f32>, tensor<i1>, tensor<f32>, tensor<1x2xf32>
}

// -----

// expected-error @+1 {{'amp.role' of argument #0 must name a training-step role (param<i>, param<i>.momentum, param<i>.exp_avg, param<i>.exp_avg_sq, beta1_power, beta2_power, loss_scale, growth_tracker, hysteresis_tracker, fp8.amax_position, fp8.amax_history, fp8.amax_block_max, fp8.scale, learning_rate, batch, loss, found_inf, grad_norm, cast_stats, nonfinite), got "param0.velocity"}}
func.func @unknown_role(%p: tensor<4xf32> {amp.role = "param0.velocity"}) { return }

// -----

// A parameter index is canonical decimal, so that it round-trips.
// expected-error @+1 {{'amp.role' of argument #0 must name a training-step role}}
func.func @padded_index(%p: tensor<4xf32> {amp.role = "param01"}) { return }

// -----

// expected-error @+1 {{'amp.role' of result #0 must name a training-step role}}
func.func @role_not_a_string() -> (tensor<f32> {amp.role = 3 : i32}) {
  %0 = "test.value"() : () -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// expected-error @+1 {{role 'loss' of argument #0 belongs to a result, not an argument}}
func.func @loss_as_argument(%l: tensor<f32> {amp.role = "loss"}) { return }

// -----

// expected-error @+1 {{role 'batch' of result #0 belongs to an argument, not a result}}
func.func @batch_as_result() -> (tensor<f32> {amp.role = "batch"}) {
  %0 = "test.value"() : () -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// expected-error @+1 {{role 'learning_rate' of result #0 belongs to an argument, not a result}}
func.func @learning_rate_as_result() -> (tensor<f32> {amp.role = "learning_rate"}) {
  %0 = "test.value"() : () -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// A training step returns its state where it took it (callers swap them).
// expected-error @+1 {{state result #0 ('param1') must be returned at the position of the argument with the same role}}
func.func @state_out_of_place(%p0: tensor<4xf32> {amp.role = "param0"},
                              %p1: tensor<4xf32> {amp.role = "param1"})
    -> (tensor<4xf32> {amp.role = "param1"}, tensor<4xf32> {amp.role = "param0"},
        tensor<f32> {amp.role = "loss"}) {
  %0 = "test.value"() : () -> tensor<f32>
  return %p1, %p0, %0 : tensor<4xf32>, tensor<4xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{'amp.param' of argument #0 must be a unit attribute}}
func.func @param_with_value(%p: tensor<4xf32> {amp.param = true}) { return }

// -----

// A misspelt attribute is an error, not an annotation nothing reads.
// expected-error @+1 {{has unknown attribute 'amp.parm' on argument #0; the amp dialect defines amp.precision, amp.gradient, amp.gradient_operands, amp.origin, amp.origin_precision, amp.cast_sites, amp.nonfinite_sites, amp.fp8_sites, amp.policy and amp.data_parallel on ops, amp.param, amp.init and amp.role on arguments and amp.role on results}}
func.func @misspelt_param(%p: tensor<4xf32> {amp.parm}) { return }

// -----

// expected-error @+1 {{has unknown attribute 'amp.role' on an op}}
func.func @role_on_function() attributes {amp.role = "loss"} { return }

// -----

func.func @gradient_with_value(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.addf' op 'amp.gradient' must be a unit attribute, got 1 : i64}}
  %0 = arith.addf %x, %x {amp.gradient = 1} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @gradient_operands_negative(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.addf' op 'amp.gradient_operands' must be an array<i64> of input operand indices, got array<i64: -1>}}
  %0 = arith.addf %x, %x {amp.gradient_operands = array<i64: -1>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// expected-error @+1 {{'amp.cast_sites' must be an array of strings on a function, got [1]}}
func.func @cast_sites_not_strings() attributes {amp.cast_sites = [1]} { return }

// -----

// expected-error @+1 {{'amp.fp8_sites' must be an array of strings on a function, got "t0"}}
func.func @fp8_sites_not_an_array() attributes {amp.fp8_sites = "t0"} { return }

// -----

// expected-error @+1 {{'amp.policy' must be a #amp.policy, got "bf16"}}
func.func @policy_as_string() attributes {amp.policy = "bf16"} { return }

// -----

// The origin of a training step's op names an op; what it inherits is a
// precision.
// CHECK-LABEL: func.func @origin
// CHECK: amp.origin = "linalg.matmul", amp.origin_precision = #amp.precision<compute = f32, accumulate = f32>
func.func @origin(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %x, %x {amp.origin = "linalg.matmul", amp.origin_precision = #amp.precision<compute = f32, accumulate = f32>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @origin_not_an_op(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.addf' op 'amp.origin' must be the name of an op ("dialect.op"), got "matmul"}}
  %0 = arith.addf %x, %x {amp.origin = "matmul"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @origin_precision_not_a_precision(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.addf' op 'amp.origin_precision' must be a #amp.precision, got "f32"}}
  %0 = arith.addf %x, %x {amp.origin_precision = "f32"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}
