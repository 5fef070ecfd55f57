// An .onnx input is imported first (as ampc-import-onnx would) and the
// passes run on the imported module.
// RUN: rm -rf %t && %python %ampc_src_root/test/lib/onnx_models.py %t mlp bn_train
// RUN: ampc-opt %t/mlp.onnx --onnx-batch=4 | FileCheck %s --check-prefix=IMPORT
// RUN: ampc-opt %t/bn_train.onnx --onnx-batch=4 --onnx-loss=cross-entropy --amp-build-train-step | FileCheck %s --check-prefix=STEP
// RUN: ampc-opt %t/mlp.onnx --onnx-batch=4 --onnx-loss=mse --amp-build-train-step -o %t/step.mlir
// RUN: FileCheck %s --check-prefix=FILE < %t/step.mlir
// RUN: not ampc-opt %t/mlp.onnx 2>&1 | FileCheck %s --check-prefix=NOBATCH
// RUN: not ampc-opt %t/mlp.onnx --onnx-batch=4 --onnx-loss=hinge 2>&1 | FileCheck %s --check-prefix=LOSS
// RUN: not ampc-opt %t/missing.onnx 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: head -c 50 %t/mlp.onnx > %t/truncated.onnx
// RUN: not ampc-opt %t/truncated.onnx 2>&1 | FileCheck %s --check-prefix=TRUNCATED

// IMPORT: func.func @forward(%{{.*}}: tensor<5x6xf32> {amp.param = "fc1.weight"}
// IMPORT-SAME: %{{.*}}: tensor<4x6xf32>) -> tensor<4x3xf32>
// IMPORT: linalg.generic
// IMPORT-NOT: func.func @train_step

// The step differentiates @forward_train (batch statistics); the running
// statistics are parameters of the step, with the import's initialisers.
// STEP: func.func @forward(
// STEP: func.func @forward_train(
// STEP: func.func @train_step(
// STEP-SAME: {amp.init = "zeros", amp.param = "bn.running_mean", amp.role = "param2"}
// STEP-SAME: %{{.*}}: tensor<4x3x2x2xf32> {amp.role = "batch"}, %{{.*}}: tensor<4x2xf32> {amp.role = "batch"})

// FILE: func.func @train_step(
// FILE-SAME: amp.param = "fc2.bias"
// FILE-SAME: tensor<4x3xf32>

// NOBATCH: ampc-opt: error: cannot import '{{.*}}mlp.onnx': graph input 'x' has the symbolic dimension 'batch' (dimension 0): import with a batch size (--onnx-batch=N)
// LOSS: ampc-opt: error: unknown loss 'hinge' (expected none, cross-entropy or mse)
// MISSING: ampc-opt: error: cannot read '{{.*}}missing.onnx': No such file or directory
// TRUNCATED: ampc-opt: error: '{{.*}}truncated.onnx' is not an ONNX model (empty, truncated or not a ModelProto)
