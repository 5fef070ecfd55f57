// A model the importer cannot take is an error naming the problem (the
// node, its operator, what is supported), never a crash or a partial model.
// RUN: rm -rf %t && %python %ampc_src_root/test/lib/onnx_models.py %t
// RUN: not ampc-import-onnx %t/opset11.onnx 2>&1 | FileCheck %s --check-prefix=OPSET
// RUN: not ampc-import-onnx %t/unsupported_op.onnx 2>&1 | FileCheck %s --check-prefix=UNKNOWNOP
// RUN: not ampc-import-onnx %t/conv4d.onnx 2>&1 | FileCheck %s --check-prefix=CONV4D
// RUN: not ampc-import-onnx %t/bn_training.onnx 2>&1 | FileCheck %s --check-prefix=BNTRAIN
// RUN: not ampc-import-onnx %t/dropout_mask_used.onnx 2>&1 | FileCheck %s --check-prefix=DROPMASK
// RUN: not ampc-import-onnx %t/dropout_ratio_one.onnx 2>&1 | FileCheck %s --check-prefix=DROPRATIO
// RUN: not ampc-import-onnx %t/int_input.onnx 2>&1 | FileCheck %s --check-prefix=INT
// RUN: not ampc-import-onnx %t/mlp.onnx 2>&1 | FileCheck %s --check-prefix=NOBATCH
// RUN: not ampc-import-onnx %t/symbolic_feature.onnx --batch=2 2>&1 | FileCheck %s --check-prefix=FEATURE
// RUN: head -c 100 %t/mlp.onnx > %t/truncated.onnx
// RUN: not ampc-import-onnx %t/truncated.onnx 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// RUN: not ampc-import-onnx %s 2>&1 | FileCheck %s --check-prefix=NOTONNX
// RUN: not ampc-import-onnx %t/missing.onnx 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not ampc-import-onnx %t/mlp.onnx --batch=2 --loss=hinge 2>&1 | FileCheck %s --check-prefix=LOSS
// RUN: not ampc-import-onnx %t/mlp.onnx --batch=-3 2>&1 | FileCheck %s --check-prefix=BATCH
// RUN: not ampc-import-onnx %t/transpose.onnx --loss=cross-entropy -o %t/none.mlir 2>&1 | FileCheck %s --check-prefix=RANK
// Nothing is written on failure.
// RUN: not test -e %t/none.mlir
// RUN: not test -e %t/none.params

// OPSET: ampc-import-onnx: '{{.*}}opset11.onnx': the model uses operator set 11; the importer reads opsets 13-17 (export with torch.onnx.export(..., opset_version=13..17))
// UNKNOWNOP: ampc-import-onnx: cannot import '{{.*}}unsupported_op.onnx': Hardmax node 'out': the operator is not supported (supported: Abs, Add, {{.*}}, Conv, {{.*}}, Unsqueeze)
// CONV4D: Conv node 'out': only 1-D, 2-D and 3-D convolutions (3-D to 5-D input and weight of the same rank) are supported
// BNTRAIN: bn_training.onnx' is not a valid ONNX model: [ShapeInferenceError] {{.*}}Training_mode
// DROPMASK: ampc-import-onnx: cannot import '{{.*}}dropout_mask_used.onnx': Dropout node 'd': the mask output is used; it is not supported
// DROPRATIO: ampc-import-onnx: cannot import '{{.*}}dropout_ratio_one.onnx': Dropout node 'd': the ratio must be in [0, 1), got 1.000000
// INT: graph input 'x' is int64; the importer takes float inputs
// NOBATCH: graph input 'x' has the symbolic dimension 'batch' (dimension 0): import with a batch size (--batch=N)
// FEATURE: graph input 'x' has the symbolic dimension 'features' (dimension 1): import with a batch size (--batch=N), which fixes only the leading dimension
// TRUNCATED: ampc-import-onnx: '{{.*}}truncated.onnx' is not an ONNX model (empty, truncated or not a ModelProto)
// NOTONNX: ampc-import-onnx: '{{.*}}errors.mlir' is not an ONNX model
// MISSING: ampc-import-onnx: cannot read '{{.*}}missing.onnx': No such file or directory
// LOSS: ampc-import-onnx: unknown loss 'hinge' (expected none, cross-entropy or mse)
// BATCH: ampc-import-onnx: the batch size must be positive, got -3
// RANK: --loss=cross-entropy needs logits [batch, classes] as the first output; it is 3-D
