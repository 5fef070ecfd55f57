// ampc-train trains the zoo MLP on Fashion-MNIST and reports per epoch and
// per policy, writes a JSON summary, an SVG plot and checkpoints, resumes,
// trains on .npy arrays; bad input is a clear error.
// RUN: rm -rf %t.ckpt && ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=fp32,fp16 --max-steps=60 --test-limit=2048 --summary-json=%t.json --plot=%t.svg --checkpoint-dir=%t.ckpt | FileCheck %s
// RUN: %python -c "import json,sys; d=json.load(open(sys.argv[1])); print('policies', [(p['policy'], p['loss_scaling'], p['steps'], p['skipped_steps'], p['final_loss_scale'], p['final_test_accuracy_percent'] > 60) for p in d['policies']])" %t.json | FileCheck %s --check-prefix=JSON
// RUN: FileCheck %s --check-prefix=SVG < %t.svg
// Next to each checkpoint, the parameters and state by name for numpy.
// RUN: %python -c "import numpy as np,sys; d=np.load(sys.argv[1]); print('npz', sorted(d.keys()), d['fc1.weight'].shape, int(d['steps']), float(d['loss_scale']))" %t.ckpt/fp16.npz | FileCheck %s --check-prefix=NPZ
// A second epoch resumes from the checkpoint after the first.
// RUN: ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=fp16 --max-steps=60 --test-limit=2048 --epochs=2 --checkpoint-dir=%t.ckpt --resume | FileCheck %s --check-prefix=RESUME
// Resuming a finished run reports where it stands.
// RUN: ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=fp16 --max-steps=60 --test-limit=2048 --epochs=2 --checkpoint-dir=%t.ckpt --resume | FileCheck %s --check-prefix=DONE
// A checkpoint with one flipped bit is refused, naming the tensor it hit.
// RUN: rm -rf %t.bad && mkdir %t.bad && cp %t.ckpt/fp16.ckpt %t.bad/fp16.ckpt
// RUN: %python -c "import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[1000] ^= 4; open(p, 'wb').write(b)" %t.bad/fp16.ckpt
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=fp16 --max-steps=60 --test-limit=2048 --epochs=3 --checkpoint-dir=%t.bad --resume 2>&1 | FileCheck %s --check-prefix=CORRUPT
// --check-numerics names the op whose result overflowed first when a step
// is skipped (here a scale of 1e30 overflows the f16 gradients).
// RUN: ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=fp16 --max-steps=2 --test-limit=256 --check-numerics --init-scale=1e30 --progress=never | FileCheck %s --check-prefix=NUMERICS
// RUN: ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=bf16 --optimizer=adam --lr=0.001 --max-steps=60 --test-limit=2048 --cast-stats=false | FileCheck %s --check-prefix=ADAM
// Trained parameters are written as .npy and can start another run.
// RUN: rm -rf %t.params && ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=bf16 --max-steps=30 --test-limit=1024 --save-params=%t.params > /dev/null
// RUN: %npy_tool dump %t.params/bf16/fc1.bias.npy | FileCheck %s --check-prefix=PARAMS
// RUN: ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=fp32 --max-steps=1 --test-limit=1024 --load-params=%t.params/bf16 | FileCheck %s --check-prefix=LOADED
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --load-params=%t.nothere 2>&1 | FileCheck %s --check-prefix=NOPARAMS
// --pad-images: Fashion-MNIST as 3x32x32 images (what the MLP's 784
// features then do not match).
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --pad-images=32 --max-steps=1 2>&1 | FileCheck %s --check-prefix=PAD32
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --pad-images=20 2>&1 | FileCheck %s --check-prefix=PAD20
// PAD32: @forward takes samples of 784 features, the training set has 3072
// PAD20: ampc-train: cannot pad 28x28 images to 20x20 with 3 channels
// .npy datasets: samples [N, F] (f32 or u8) and integer labels [N].
// RUN: split-file %s %t
// RUN: mkdir -p %t.npy
// RUN: %npy_tool write %t.npy/train-images.npy '<f4' 8,2 -1 -1.2 -0.8 -1 -1.1 -0.9 -0.9 -0.7 1 1.2 0.8 1 1.1 0.9 0.9 0.7
// RUN: %npy_tool write %t.npy/train-labels.npy '<i8' 8 0 0 0 0 1 1 1 1
// RUN: %npy_tool write %t.npy/test-images.npy '<f4' 4,2 -1 -1 -0.6 -0.9 1 1 0.6 0.9
// RUN: %npy_tool write %t.npy/test-labels.npy '|u1' 4 0 0 1 1
// RUN: ampc-train %t/linear.mlir --dataset=%t.npy --policy=fp32,bf16 --epochs=20 --lr=0.5 --momentum=0 | FileCheck %s --check-prefix=NPY
// A cosine schedule with warmup over the whole run (20 epochs of 2 steps):
// the last step's rate is 0.05 + 0.45 * (1 + cos(pi * 37 / 38)) / 2.
// RUN: ampc-train %t/linear.mlir --dataset=%t.npy --policy=fp32 --epochs=20 --lr=0.5 --momentum=0 --lr-schedule=cosine --warmup-steps=2 --lr-min=0.05 --summary-json=%t.lr.json | FileCheck %s --check-prefix=COSINE
// RUN: %python -c "import json,sys; d=json.load(open(sys.argv[1])); print('schedule', d['lr_schedule'], round(d['policies'][0]['final_learning_rate'], 5))" %t.lr.json | FileCheck %s --check-prefix=COSINEJSON
// RUN: not ampc-train %t/linear.mlir --dataset=%t.npy --lr-schedule=exponential 2>&1 | FileCheck %s --check-prefix=BADSCHEDULE
// RUN: not ampc-train %t/linear.mlir --dataset=%t.npy --lr-schedule=step 2>&1 | FileCheck %s --check-prefix=NOSTEPSIZE
// A model written for any batch size trains at the one --batch names (8
// samples: 4 steps of 2 or 1 of 8 per epoch); without one it says so.
// RUN: ampc-train %t/linear-any.mlir --dataset=%t.npy --policy=fp32 --epochs=20 --lr=0.5 --momentum=0 --batch=2 | FileCheck %s --check-prefix=ANY2
// RUN: ampc-train %t/linear-any.mlir --dataset=%t.npy --policy=fp32 --epochs=20 --lr=0.5 --momentum=0 --batch=8 | FileCheck %s --check-prefix=ANY8
// RUN: not ampc-train %t/linear-any.mlir --dataset=%t.npy 2>&1 | FileCheck %s --check-prefix=ANYNONE
// The zoo MLP written for any batch size, at the fixed one's 128, trains
// bit-identically to it (the specialization is the same program).
// RUN: ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=bf16 --max-steps=30 --test-limit=1024 --summary-json=%t.fixed.json > /dev/null
// RUN: ampc-train %ampc_src_root/examples/models/mlp_any_batch.mlir --batch=128 --policy=bf16 --max-steps=30 --test-limit=1024 --summary-json=%t.any.json > /dev/null
// RUN: %python -c "import json,sys; r = [json.load(open(p))['policies'][0] for p in sys.argv[1:]]; print('same' if [x['epochs'][0]['train_loss'] for x in r] == [r[0]['epochs'][0]['train_loss']] * 2 and r[0]['final_test_accuracy_percent'] == r[1]['final_test_accuracy_percent'] else r)" %t.fixed.json %t.any.json | FileCheck %s --check-prefix=SAME
// A model written for a fixed batch trains at another (re-batched: its
// mean's -1/128 becomes -1/64), bit-identically to the one written for any
// batch size; so does the logistic regression written for 4, at 8.
// RUN: ampc-train %ampc_src_root/examples/models/mlp.mlir --batch=64 --policy=bf16 --max-steps=30 --test-limit=1024 --summary-json=%t.fixed64.json > /dev/null
// RUN: ampc-train %ampc_src_root/examples/models/mlp_any_batch.mlir --batch=64 --policy=bf16 --max-steps=30 --test-limit=1024 --summary-json=%t.any64.json > /dev/null
// RUN: %python -c "import json,sys; r = [json.load(open(p))['policies'][0] for p in sys.argv[1:]]; print('same' if [x['epochs'][0]['train_loss'] for x in r] == [r[0]['epochs'][0]['train_loss']] * 2 and r[0]['final_test_accuracy_percent'] == r[1]['final_test_accuracy_percent'] else r)" %t.fixed64.json %t.any64.json | FileCheck %s --check-prefix=SAME
// RUN: ampc-train %t/linear.mlir --dataset=%t.npy --policy=fp32 --epochs=20 --lr=0.5 --momentum=0 --batch=8 --summary-json=%t.lin8.json | FileCheck %s --check-prefix=ANY8
// RUN: ampc-train %t/linear-any.mlir --dataset=%t.npy --policy=fp32 --epochs=20 --lr=0.5 --momentum=0 --batch=8 --summary-json=%t.linany8.json > /dev/null
// RUN: %python -c "import json,sys; r = [json.load(open(p))['policies'][0] for p in sys.argv[1:]]; print('same' if [e['train_loss'] for e in r[0]['epochs']] == [e['train_loss'] for e in r[1]['epochs']] else r)" %t.lin8.json %t.linany8.json | FileCheck %s --check-prefix=SAME
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --dataset=%t.npy 2>&1 | FileCheck %s --check-prefix=FEATURES
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --dataset=%t.nowhere 2>&1 | FileCheck %s --check-prefix=NODATA
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=int4 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --optimizer=lamb 2>&1 | FileCheck %s --check-prefix=OPTIMIZER
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --resume 2>&1 | FileCheck %s --check-prefix=NORESUME
// RUN: not ampc-train %ampc_src_root/examples/models/mlp.mlir --policy=fp16 --optimizer=adam --momentum=0 --checkpoint-dir=%t.ckpt --resume 2>&1 | FileCheck %s --check-prefix=BADRESUME
// RUN: not ampc-train %t/wrong-signature.mlir 2>&1 | FileCheck %s --check-prefix=CONTRACT
// RUN: not ampc-train %t/no-derivative.mlir 2>&1 | FileCheck %s --check-prefix=NODIFF
// RUN: not ampc-train %t.missing.mlir 2>&1 | FileCheck %s --check-prefix=MISSING

// CHECK: == fp32 (loss scaling none) ==
// CHECK-NEXT: epoch loss test accuracy skipped loss scale underflow ms/step
// 60 steps of SGD already reach far above chance (10 %); f32 casts nothing.
// CHECK-NEXT: {{^}}1 {{[0-9.]+}} {{[6-9][0-9]\.[0-9]+}}% 0 1 0.000% {{[0-9.]+$}}
// CHECK: == fp16 (loss scaling dynamic) ==
// CHECK-NEXT: epoch loss test accuracy skipped loss scale underflow ms/step
// CHECK-NEXT: {{^}}1 {{[0-9.]+}} {{[6-9][0-9]\.[0-9]+}}% {{[0-9]+}} {{[0-9]+}} {{[0-9.]+}}% {{[0-9.]+$}}
// CHECK: == summary: {{.*}}mlp.mlir, 1 epoch(s), sgd lr 0.05 momentum 0.9 ==
// CHECK-NEXT: policy scaling steps skipped test accuracy loss scale underflow ms/step
// CHECK-NEXT: fp32 none 60 0
// CHECK-NEXT: fp16 dynamic 60
// The step times include the cast statistics, and the summary says so.
// CHECK-NEXT: (ms/step includes the cast statistics, which low-precision steps compute and fp32 steps do not; --cast-stats=false times the steps alone)

// JSON: policies [('fp32', 'none', 60, 0, 1, True), ('fp16', 'dynamic', 60, {{[0-9]+}}, {{[0-9.]+}}, True)]

// SVG: <svg xmlns="http://www.w3.org/2000/svg"
// SVG: training loss (mean of 20 steps) per policy
// SVG: <polyline {{.*}} points="70.0,{{.*}}"/>
// SVG: fp32</text>
// SVG: <polyline
// SVG: fp16</text>
// SVG: loss scale per step (log2)
// SVG: </svg>

// RESUME: resumed fp16 from {{.*}}fp16.ckpt at step 60
// RESUME: == fp16 (loss scaling dynamic) ==
// RESUME-NEXT: epoch
// RESUME-NEXT: {{^}}2 {{[0-9.]+}} {{[6-9][0-9]\.[0-9]+}}%
// RESUME: fp16 dynamic 60

// DONE: resumed fp16 from {{.*}}fp16.ckpt at step 120
// DONE: (all 2 epoch(s) were done; test accuracy {{[6-9][0-9]\.[0-9]+}}%)
// DONE: fp16 dynamic 0 0 {{[6-9][0-9]\.[0-9]+}}%

// ADAM: == summary: {{.*}}, 1 epoch(s), adam lr 0.001 ==
// ADAM-NEXT: policy
// Without the statistics the underflow column says so.
// ADAM-NEXT: bf16 none 60 0 {{[6-9][0-9]\.[0-9]+}}% 1 - {{[0-9.]+$}}
// ADAM-NOT: cast statistics

// NPZ: npz ['fc1.bias', 'fc1.bias.momentum', 'fc1.weight', 'fc1.weight.momentum', 'fc2.bias', 'fc2.bias.momentum', 'fc2.weight', 'fc2.weight.momentum', 'growth_tracker', 'hysteresis_tracker', 'loss_scale', 'steps'] (784, 256) 60 65536.0
// PARAMS: descr=<f4 shape=(256,)
// One step from the loaded parameters is already far above chance.
// LOADED: fp32 none 1 0 {{[6-9][0-9]\.[0-9]+}}%
// NOPARAMS: ampc-train: cannot load parameters: cannot open '{{.*}}.nothere/fc1.weight.npy': No such file or directory

// The two clusters are separated after a few epochs.
// NPY: == fp32 (loss scaling none) ==
// NPY: {{^}}20 {{[0-9.]+}} 100.00% 0
// NPY: == bf16 (loss scaling none) ==
// NPY: {{^}}20 {{[0-9.]+}} 100.00% 0

// COSINE: == fp32 (loss scaling none) ==
// COSINE: {{^}}20 {{[0-9.]+}} 100.00% 0
// COSINE: == summary: {{.*}}linear.mlir, 20 epoch(s), sgd lr 0.5 (cosine, warmup 2, to 0.05 at the end) momentum 0 ==
// COSINEJSON: schedule cosine, warmup 2, to 0.05 at the end 0.05077
// BADSCHEDULE: ampc-train: learning-rate schedule: unknown kind 'exponential'; expected constant, step, cosine or linear
// NOSTEPSIZE: ampc-train: learning-rate schedule: the step schedule needs a step size > 0
// ANY2: {{^}}20 {{[0-9.]+}} 100.00% 0
// ANY2: {{^}}fp32 none 80 0 100.00%
// ANY8: {{^}}20 {{[0-9.]+}} 100.00% 0
// ANY8: {{^}}fp32 none 20 0 100.00%
// ANYNONE: error: 'func.func' op argument #2 has the dynamic type 'tensor<?x2xf32>'; differentiation needs static shapes (a model written for any batch size takes one first: ampc-specialize-batch, JitOptions::batch, --batch)
// SAME: same
// FEATURES: ampc-train: fp32: @forward takes samples of 784 features, the training set has 2
// NODATA: ampc-train: '{{.*}}.nowhere' has neither Fashion-MNIST's IDX files (train-images-idx3-ubyte.gz, ...; Debian's dataset-fashion-mnist installs them), CIFAR-10's binary batches (test_batch.bin, ...) nor train-images.npy
// POLICY: ampc-train: unknown policy 'int4'; expected none, fp32, bf16, fp16 or fp8
// OPTIMIZER: ampc-train: cannot compile '{{.*}}mlp.mlir':
// OPTIMIZER-NEXT: {{.*}}error: amp-build-train-step: unknown optimizer 'lamb'; expected sgd, adam or adamw
// OPTIMIZER-NOT: see current operation
// NORESUME: ampc-train: --resume needs --checkpoint-dir
// NUMERICS: fp16 step 1: an inf or NaN first came from amp.cast to f16 at {{.*}}mlp.mlir:{{[0-9]+}}:{{[0-9]+}}; the step was skipped
// NUMERICS: fp16 step 2: an inf or NaN first came from amp.cast to f16
// CORRUPT: ampc-train: fp16: cannot resume: '{{.*}}fp16.ckpt': entry 0 ('fc1.weight') is corrupt: its checksum does not match its contents
// BADRESUME: ampc-train: fp16: cannot resume: '{{.*}}fp16.ckpt': holds
// CONTRACT: ampc-train: @forward must take its parameters, samples [B, ...] and one-hot labels [B, C], and return the loss and the logits [B, C]
// NODIFF: error: 'math.sin' op has no derivative rule
// MISSING: ampc-train: cannot open '{{.*}}.missing.mlir': No such file or directory

//--- wrong-signature.mlir
func.func @forward(%w: tensor<4xf32> {amp.param}, %x: tensor<4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%w, %x : tensor<4xf32>, tensor<4xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}

//--- linear.mlir
// Logistic regression on 2 features, 2 classes, batch 4.
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @forward(%w: tensor<2x2xf32> {amp.param}, %b: tensor<2xf32> {amp.param},
                   %x: tensor<4x2xf32>, %onehot: tensor<4x2xf32>) -> (tensor<f32>, tensor<4x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %neg_inv_batch = arith.constant -0.25 : f32
  %e = tensor.empty() : tensor<4x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<4x2xf32>, tensor<2x2xf32>) outs(%z : tensor<4x2xf32>) -> tensor<4x2xf32>
  %logits = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<4x2xf32>, tensor<2xf32>) outs(%e : tensor<4x2xf32>) {
  ^bb0(%in: f32, %bb: f32, %out: f32):
    %s = arith.addf %in, %bb : f32
    linalg.yield %s : f32
  } -> tensor<4x2xf32>
  %er = tensor.empty() : tensor<4xf32>
  %mfill = linalg.fill ins(%ninf : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<4x2xf32>) outs(%mfill : tensor<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %zfill = linalg.fill ins(%zero : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %sumexp = linalg.generic {indexing_maps = [#id, #rows, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits, %max : tensor<4x2xf32>, tensor<4xf32>) outs(%zfill : tensor<4xf32>) {
  ^bb0(%in: f32, %m: f32, %acc: f32):
    %d = arith.subf %in, %m : f32
    %ex = math.exp %d : f32
    %s = arith.addf %ex, %acc : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %tfill = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %total = linalg.generic {indexing_maps = [#id, #id, #rows, #rows, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%onehot, %logits, %max, %sumexp : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4xf32>, tensor<4xf32>) outs(%tfill : tensor<f32>) {
  ^bb0(%t: f32, %l: f32, %m: f32, %s: f32, %acc: f32):
    %d = arith.subf %l, %m : f32
    %ls = math.log %s : f32
    %lp = arith.subf %d, %ls : f32
    %p = arith.mulf %t, %lp : f32
    %r = arith.addf %p, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%total : tensor<f32>) outs(%e0 : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %l = arith.mulf %in, %neg_inv_batch : f32
    linalg.yield %l : f32
  } -> tensor<f32>
  return %loss, %logits : tensor<f32>, tensor<4x2xf32>
}

//--- linear-any.mlir
// The same, written for any batch size: the batch is `?`, 1/B comes from
// tensor.dim.
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @forward(%w: tensor<2x2xf32> {amp.param}, %b: tensor<2xf32> {amp.param},
                   %x: tensor<?x2xf32>, %onehot: tensor<?x2xf32>) -> (tensor<f32>, tensor<?x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x2xf32>
  %ni = arith.index_cast %n : index to i64
  %nf = arith.sitofp %ni : i64 to f32
  %minus_one = arith.constant -1.0 : f32
  %neg_inv_batch = arith.divf %minus_one, %nf : f32
  %e = tensor.empty(%n) : tensor<?x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x2xf32>) -> tensor<?x2xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x2xf32>, tensor<2x2xf32>) outs(%z : tensor<?x2xf32>) -> tensor<?x2xf32>
  %logits = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<?x2xf32>, tensor<2xf32>) outs(%e : tensor<?x2xf32>) {
  ^bb0(%in: f32, %bb: f32, %out: f32):
    %s = arith.addf %in, %bb : f32
    linalg.yield %s : f32
  } -> tensor<?x2xf32>
  %er = tensor.empty(%n) : tensor<?xf32>
  %mfill = linalg.fill ins(%ninf : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<?x2xf32>) outs(%mfill : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  %zfill = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %sumexp = linalg.generic {indexing_maps = [#id, #rows, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits, %max : tensor<?x2xf32>, tensor<?xf32>) outs(%zfill : tensor<?xf32>) {
  ^bb0(%in: f32, %m: f32, %acc: f32):
    %d = arith.subf %in, %m : f32
    %ex = math.exp %d : f32
    %s = arith.addf %ex, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %e0 = tensor.empty() : tensor<f32>
  %tfill = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %total = linalg.generic {indexing_maps = [#id, #id, #rows, #rows, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%onehot, %logits, %max, %sumexp : tensor<?x2xf32>, tensor<?x2xf32>, tensor<?xf32>, tensor<?xf32>) outs(%tfill : tensor<f32>) {
  ^bb0(%t: f32, %l: f32, %m: f32, %s: f32, %acc: f32):
    %d = arith.subf %l, %m : f32
    %ls = math.log %s : f32
    %lp = arith.subf %d, %ls : f32
    %p = arith.mulf %t, %lp : f32
    %r = arith.addf %p, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%total : tensor<f32>) outs(%e0 : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %l = arith.mulf %in, %neg_inv_batch : f32
    linalg.yield %l : f32
  } -> tensor<f32>
  return %loss, %logits : tensor<f32>, tensor<?x2xf32>
}

//--- no-derivative.mlir
func.func @forward(%w: tensor<4x2xf32> {amp.param}, %x: tensor<4x784xf32>, %y: tensor<4x2xf32>) -> (tensor<f32>, tensor<4x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%w : tensor<4x2xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %p = math.sin %a : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s, %w : tensor<f32>, tensor<4x2xf32>
}
