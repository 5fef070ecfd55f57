// RUN: ampc-opt %s -split-input-file -ampc-donate-carried-state -verify-diagnostics | FileCheck %s
// RUN: ampc-opt %s -split-input-file -ampc-donate-carried-state -ampc-read-only-arguments -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -ampc-confirm-donated-results -verify-diagnostics | FileCheck %s --check-prefix=BUF

// SGD with momentum on one parameter, fused as the CPU pipeline fuses it:
// the new momentum (m' = 0.9 m + g) and the new weight, which recomputes m'
// from the old momentum. Both updates read their own argument element by
// element: each is computed into it (the argument becomes the init, read
// through the init's block argument; marked writable), the weight's update
// moves before the momentum's (it reads the old momentum), and both
// results are listed as donated. The batch stays read-only.
// CHECK: module attributes {ampc.donated_train_step_results = array<i64: 0, 1>}
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<4xf32> {amp.role = "param0", bufferization.writable = true}
// CHECK-SAME: %[[M:[a-z0-9]+]]: tensor<4xf32> {amp.role = "param0.momentum", bufferization.writable = true}
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4xf32> {amp.role = "batch"})
// CHECK: %[[NEWW:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[X]] : tensor<4xf32>, tensor<4xf32>) outs(%[[W]] : tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[OLDM:.*]]: f32, %[[G:.*]]: f32, %[[OLDW:.*]]: f32):
// CHECK: arith.subf %[[OLDW]]
// CHECK: %[[NEWM:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<4xf32>) outs(%[[M]] : tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[G2:.*]]: f32, %[[OLD:.*]]: f32):
// CHECK-NEXT: arith.mulf %[[OLD]]
// CHECK: return %[[NEWW]], %[[NEWM]], %{{.*}}, %{{.*}}, %{{.*}}
// After bufferization both updates are computed in place: the function
// returns its own arguments, and both stay listed.
// BUF: module attributes {ampc.donated_train_step_results = array<i64: 0, 1>}
// BUF-LABEL: func.func @train_step(
// BUF-SAME: %[[W:[a-z0-9]+]]: memref<4xf32>
// BUF-SAME: %[[M:[a-z0-9]+]]: memref<4xf32>
// BUF-NOT: memref.copy
// BUF: return %[[W]], %[[M]],
#id = affine_map<(d0) -> (d0)>
func.func @train_step(%w: tensor<4xf32> {amp.role = "param0"},
                      %m: tensor<4xf32> {amp.role = "param0.momentum"},
                      %x: tensor<4xf32> {amp.role = "batch"})
    -> (tensor<4xf32> {amp.role = "param0"}, tensor<4xf32> {amp.role = "param0.momentum"},
        tensor<f32> {amp.role = "loss"}, tensor<i1> {amp.role = "found_inf"},
        tensor<f32> {amp.role = "grad_norm"}) {
  %mu = arith.constant 0.9 : f32
  %lr = arith.constant 0.1 : f32
  %e = tensor.empty() : tensor<4xf32>
  %newm = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%m, %x : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %g: f32, %o: f32):
    %s = arith.mulf %a, %mu : f32
    %t = arith.addf %s, %g : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  %neww = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %m, %x : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%p: f32, %a: f32, %g: f32, %o: f32):
    %s = arith.mulf %a, %mu : f32
    %t = arith.addf %s, %g : f32
    %u = arith.mulf %t, %lr : f32
    %v = arith.subf %p, %u : f32
    linalg.yield %v : f32
  } -> tensor<4xf32>
  %loss = arith.constant dense<1.0> : tensor<f32>
  %inf = arith.constant dense<false> : tensor<i1>
  %norm = arith.constant dense<0.0> : tensor<f32>
  return %neww, %newm, %loss, %inf, %norm : tensor<4xf32>, tensor<4xf32>, tensor<f32>, tensor<i1>, tensor<f32>
}

// -----

// A result computed from its argument through another map (a transpose)
// is not donated, nor one that a fill makes; the list is empty.
// CHECK: module attributes {ampc.donated_train_step_results = array<i64>}
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %{{.*}}: tensor<2x2xf32> {amp.role = "param0"}
// CHECK-NOT: bufferization.writable
// BUF: module attributes {ampc.donated_train_step_results = array<i64>}
func.func @train_step(%w: tensor<2x2xf32> {amp.role = "param0"}, %b: tensor<2xf32> {amp.role = "param1"},
                      %x: tensor<2x2xf32> {amp.role = "batch"})
    -> (tensor<2x2xf32> {amp.role = "param0"}, tensor<2xf32> {amp.role = "param1"},
        tensor<f32> {amp.role = "loss"}, tensor<i1> {amp.role = "found_inf"},
        tensor<f32> {amp.role = "grad_norm"}) {
  %e = tensor.empty() : tensor<2x2xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %eb = tensor.empty() : tensor<2xf32>
  %nb = linalg.fill ins(%zero : f32) outs(%eb : tensor<2xf32>) -> tensor<2xf32>
  %loss = arith.constant dense<1.0> : tensor<f32>
  %inf = arith.constant dense<false> : tensor<i1>
  %norm = arith.constant dense<0.0> : tensor<f32>
  return %t, %nb, %loss, %inf, %norm : tensor<2x2xf32>, tensor<2xf32>, tensor<f32>, tensor<i1>, tensor<f32>
}

// -----

// A step whose roles break the contract is named.
// expected-error @+1 {{'func.func' op cannot donate its parameters and state: }}
func.func @train_step(%w: tensor<4xf32> {amp.role = "param0"}) -> tensor<4xf32> {
  return %w : tensor<4xf32>
}

// -----

// Other functions are left alone.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %{{.*}}: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NOT: ampc.donated
func.func @forward(%w: tensor<4xf32>) -> tensor<4xf32> {
  return %w : tensor<4xf32>
}

// -----

// A reduction's init is its accumulator, and an update that reads its init
// already has a use for it: neither can stand for the old value.
// CHECK: module attributes {ampc.donated_train_step_results = array<i64>}
// CHECK-LABEL: func.func @train_step(
// CHECK-NOT: bufferization.writable
// CHECK: ins(%{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2x3xf32>) outs(%{{.*}} : tensor<2xf32>)
// CHECK: ins(%{{.*}} : tensor<2xf32>) outs(%{{.*}} : tensor<2xf32>)
// BUF: module attributes {ampc.donated_train_step_results = array<i64>}
func.func @train_step(%w: tensor<2xf32> {amp.role = "param0"}, %b: tensor<2xf32> {amp.role = "param1"},
                      %x: tensor<2x3xf32> {amp.role = "batch"})
    -> (tensor<2xf32> {amp.role = "param0"}, tensor<2xf32> {amp.role = "param1"},
        tensor<f32> {amp.role = "loss"}, tensor<i1> {amp.role = "found_inf"},
        tensor<f32> {amp.role = "grad_norm"}) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%w, %x : tensor<2xf32>, tensor<2x3xf32>) outs(%f : tensor<2xf32>) {
  ^bb0(%a: f32, %g: f32, %acc: f32):
    %p = arith.mulf %a, %g : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  %nb = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%b : tensor<2xf32>) outs(%f : tensor<2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  %loss = arith.constant dense<1.0> : tensor<f32>
  %inf = arith.constant dense<false> : tensor<i1>
  %norm = arith.constant dense<0.0> : tensor<f32>
  return %sum, %nb, %loss, %inf, %norm : tensor<2xf32>, tensor<2xf32>, tensor<f32>, tensor<i1>, tensor<f32>
}

// -----

// An fp8 amax history and its block maxima are their arguments with a row
// or a value written (tensor.insert_slice, tensor.insert): donated as they
// are, and computed in place after bufferization. Scales read again after
// the insert (the old value) are not: bufferization copies them and the
// confirmation drops them.
// CHECK: module attributes {ampc.donated_train_step_results = array<i64: 1, 2, 3>}
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %{{.*}}: tensor<4xf32> {amp.role = "param0"},
// CHECK-SAME: %[[H:[a-z0-9]+]]: tensor<8x2xf32> {amp.role = "fp8.amax_history", bufferization.writable = true}
// CHECK-SAME: %[[M:[a-z0-9]+]]: tensor<2x2xf32> {amp.role = "fp8.amax_block_max", bufferization.writable = true}
// CHECK-SAME: %[[S:[a-z0-9]+]]: tensor<2xf32> {amp.role = "fp8.scale", bufferization.writable = true}
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<2xf32> {amp.role = "batch"})
// CHECK: %[[NH:.*]] = tensor.insert_slice %[[X]] into %[[H]][%{{.*}}, 0] [1, 2] [1, 1] : tensor<2xf32> into tensor<8x2xf32>
// CHECK: %[[NM:.*]] = tensor.insert %{{.*}} into %[[M]][%{{.*}}, %{{.*}}] : tensor<2x2xf32>
// CHECK: return %{{.*}}, %[[NH]], %[[NM]],
// BUF: module attributes {ampc.donated_train_step_results = array<i64: 1, 2>}
// BUF-NEXT: memref.global
// BUF-NEXT: memref.global
// BUF-NEXT: func.func @train_step(%[[W:[a-z0-9]+]]: memref<4xf32>
// BUF-SAME: %[[H:[a-z0-9]+]]: memref<8x2xf32>
// BUF-SAME: %[[M:[a-z0-9]+]]: memref<2x2xf32>
// BUF: %[[ROW:.*]] = memref.subview %[[H]][%{{.*}}, 0] [1, 2] [1, 1]
// BUF: memref.copy %{{.*}}, %[[ROW]]
// BUF: memref.store %{{.*}}, %[[M]][%{{.*}}, %{{.*}}] : memref<2x2xf32>
// BUF: return %[[W]], %[[H]], %[[M]],
func.func @train_step(%w: tensor<4xf32> {amp.role = "param0"},
                      %h: tensor<8x2xf32> {amp.role = "fp8.amax_history"},
                      %m: tensor<2x2xf32> {amp.role = "fp8.amax_block_max"},
                      %s: tensor<2xf32> {amp.role = "fp8.scale"},
                      %x: tensor<2xf32> {amp.role = "batch"})
    -> (tensor<4xf32> {amp.role = "param0"},
        tensor<8x2xf32> {amp.role = "fp8.amax_history"},
        tensor<2x2xf32> {amp.role = "fp8.amax_block_max"},
        tensor<2xf32> {amp.role = "fp8.scale"},
        tensor<f32> {amp.role = "loss"}, tensor<i1> {amp.role = "found_inf"},
        tensor<f32> {amp.role = "grad_norm"}) {
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %v = tensor.extract %x[%c1] : tensor<2xf32>
  %nh = tensor.insert_slice %x into %h[%c3, 0] [1, 2] [1, 1] : tensor<2xf32> into tensor<8x2xf32>
  %nm = tensor.insert %v into %m[%c1, %c1] : tensor<2x2xf32>
  %ns = tensor.insert %v into %s[%c1] : tensor<2xf32>
  %old = tensor.extract %s[%c1] : tensor<2xf32>
  %loss = tensor.from_elements %old : tensor<f32>
  %inf = arith.constant dense<false> : tensor<i1>
  %norm = arith.constant dense<0.0> : tensor<f32>
  return %w, %nh, %nm, %ns, %loss, %inf, %norm : tensor<4xf32>, tensor<8x2xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<f32>, tensor<i1>, tensor<f32>
}
