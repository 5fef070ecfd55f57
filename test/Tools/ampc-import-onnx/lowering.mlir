// What each ONNX operator becomes (models from test/lib/onnx_models.py;
// their values are checked against numpy by test/python/onnx_import_test.py).
// RUN: rm -rf %t && %python %ampc_src_root/test/lib/onnx_models.py %t
// RUN: ampc-import-onnx %t/mlp.onnx --batch=4 -o %t/mlp.mlir 2>&1 | FileCheck %s --check-prefix=PARAMS
// RUN: FileCheck %s --check-prefix=MLP < %t/mlp.mlir
// RUN: %python -c "import numpy as np, onnx, onnx.numpy_helper as h; m = {t.name: h.to_array(t) for t in onnx.load('%t/mlp.onnx').graph.initializer}; print(len(m), all(np.array_equal(np.load('%t/mlp.params/' + n + '.npy'), m[n]) for n in m))" | FileCheck %s --check-prefix=VALUES
// RUN: ampc-import-onnx %t/mlp.onnx --batch=4 --loss=cross-entropy | FileCheck %s --check-prefix=LOSS
// RUN: ampc-import-onnx %t/mlp.onnx --batch=4 --loss=mse | FileCheck %s --check-prefix=MSE
// RUN: ampc-import-onnx %t/cnn.onnx --batch=2 | FileCheck %s --check-prefix=CNN
// RUN: ampc-import-onnx %t/conv_groups.onnx | FileCheck %s --check-prefix=GROUPS
// RUN: ampc-import-onnx %t/conv_strided.onnx | FileCheck %s --check-prefix=STRIDED
// RUN: ampc-import-onnx %t/average_pool.onnx | FileCheck %s --check-prefix=AVG
// RUN: ampc-import-onnx %t/max_pool.onnx | FileCheck %s --check-prefix=CEIL
// RUN: ampc-import-onnx %t/softmax.onnx | FileCheck %s --check-prefix=SOFTMAX
// RUN: ampc-import-onnx %t/matmul_batched.onnx | FileCheck %s --check-prefix=BMM
// RUN: ampc-import-onnx %t/matmul_rows.onnx | FileCheck %s --check-prefix=ROWS
// RUN: ampc-import-onnx %t/gather.onnx | FileCheck %s --check-prefix=GATHER
// RUN: ampc-import-onnx %t/shape_folding.onnx | FileCheck %s --check-prefix=FOLD
// RUN: ampc-import-onnx %t/batch_norm.onnx | FileCheck %s --check-prefix=BN
// RUN: ampc-import-onnx %t/layer_norm.onnx | FileCheck %s --check-prefix=LN
// RUN: ampc-import-onnx %t/gemm_transposed.onnx | FileCheck %s --check-prefix=GEMM
// RUN: ampc-import-onnx %t/pow.onnx | FileCheck %s --check-prefix=POW
// RUN: ampc-import-onnx %t/square.onnx | FileCheck %s --check-prefix=SQUARE
// RUN: ampc-import-onnx %t/dropout.onnx | FileCheck %s --check-prefix=DROPOUT
// RUN: ampc-import-onnx %t/bn_train.onnx --batch=4 --loss=cross-entropy | FileCheck %s --check-prefix=BNTRAIN
// RUN: ampc-import-onnx %t/conv1d.onnx | FileCheck %s --check-prefix=CONV1D
// RUN: ampc-import-onnx %t/conv3d.onnx | FileCheck %s --check-prefix=CONV3D
// RUN: ampc-import-onnx %t/conv3d_groups.onnx | FileCheck %s --check-prefix=CONV3DG
// RUN: ampc-import-onnx %t/max_pool3d.onnx | FileCheck %s --check-prefix=POOL3D
// RUN: ampc-import-onnx %t/average_pool1d.onnx | FileCheck %s --check-prefix=POOL1D
// RUN: ampc-import-onnx %t/dropout_train.onnx --batch=4 --loss=cross-entropy | FileCheck %s --check-prefix=DROPTRAIN

// PARAMS: ampc-import-onnx: 4 parameters in {{.*}}mlp.params/
// Each parameter's file holds its initializer's values exactly.
// VALUES: 4 True

// torch.nn.Linear's Gemm (transB = 1): a contraction with the weight's
// [out, in] map, then the bias; the symbolic batch is 4; initializers are
// named parameters, in order, before the data input.
// Locations name the nodes (errors and reports say "at Gemm 'h'").
// MLP-DAG: #[[HLOC:loc[0-9]*]] = loc("Gemm 'h'")
// MLP-DAG: #[[RLOC:loc[0-9]*]] = loc("Relu 'r'")
// MLP-DAG: #[[A:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// MLP-DAG: #[[W:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// MLP: func.func @forward(%{{.*}}: tensor<5x6xf32> {amp.param = "fc1.weight"} loc("fc1.weight"), %{{.*}}: tensor<5xf32> {amp.param = "fc1.bias"}
// MLP-SAME: tensor<3x5xf32> {amp.param = "fc2.weight"}
// MLP-SAME: tensor<3xf32> {amp.param = "fc2.bias"}
// MLP-SAME: %[[X:.*]]: tensor<4x6xf32> loc("x")) -> tensor<4x3xf32>
// MLP: linalg.generic {indexing_maps = [#[[A]], #[[W]], {{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %arg0 : tensor<4x6xf32>, tensor<5x6xf32>)
// MLP: } -> tensor<4x5xf32> loc(#[[HLOC]])
// MLP: arith.maximumf
// MLP: } -> tensor<4x5xf32> loc(#[[RLOC]])
// MLP: iterator_types = ["parallel", "parallel", "reduction"]
// MLP-NOT: iterator_types = ["parallel", "parallel", "reduction"]

// Cross-entropy adds one-hot labels and returns (loss, logits).
// LOSS: func.func @forward({{.*}}, %{{.*}}: tensor<4x6xf32> loc("x"), %{{.*}}: tensor<4x3xf32> loc("labels")) -> (tensor<f32>, tensor<4x3xf32>)
// LOSS: math.exp
// LOSS: math.log
// LOSS: arith.constant -2.500000e-01 : f32
// LOSS: return %{{.*}}, %{{.*}} : tensor<f32>, tensor<4x3xf32>
// MSE: loc("labels")) -> (tensor<f32>, tensor<4x3xf32>)
// MSE: arith.constant 0.0833333358 : f32

// Conv with pads: the input inserted into a zero-filled tensor, the
// convolution computed channels-last between transposes (the CPU back end's
// packed layout) with the filters kept outermost ([F, kh, kw, C]: each
// filter's layout change is local), the bias per channel; BatchNormalization (eval) with the
// running statistics as constants, not parameters; the Shape-computed
// flatten is one collapse.
// CNN: func.func @forward(%{{.*}}: tensor<4x1x3x3xf32> {amp.param = "conv.weight"}
// CNN-NOT: running_mean
// CNN-SAME: %{{.*}}: tensor<2x1x28x28xf32> loc("x")) -> tensor<2x10xf32>
// CNN: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 1, 1] [2, 1, 28, 28] [1, 1, 1, 1] : tensor<2x1x28x28xf32> into tensor<2x1x30x30xf32>
// CNN: linalg.transpose ins(%{{.*}} : tensor<2x1x30x30xf32>) outs(%{{.*}} : tensor<2x30x30x1xf32>) permutation = [0, 2, 3, 1]
// CNN: linalg.transpose ins(%arg0 : tensor<4x1x3x3xf32>) outs(%{{.*}} : tensor<4x3x3x1xf32>) permutation = [0, 2, 3, 1]
// CNN: linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins({{.*}} : tensor<2x30x30x1xf32>, tensor<4x3x3x1xf32>) outs({{.*}} : tensor<2x28x28x4xf32>)
// CNN: linalg.transpose ins(%{{.*}} : tensor<2x28x28x4xf32>) outs(%{{.*}} : tensor<2x4x28x28xf32>) permutation = [0, 3, 1, 2]
// CNN: arith.constant dense<[1.000000e-01, -2.000000e-01, 0.000000e+00, 3.000000e-01]> : tensor<4xf32>
// CNN: math.rsqrt
// CNN: arith.constant 0xFF800000 : f32
// CNN: linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
// CNN-NOT: tensor.extract
// CNN: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : tensor<2x4x14x14xf32> into tensor<2x784xf32>

// Groups: channels split by expand_shape, the weight's groups moved second.
// GROUPS: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2], [3], [4]] output_shape [2, 2, 2, 9, 8]
// GROUPS: linalg.transpose ins(%{{.*}} : tensor<2x3x2x3x2xf32>) outs(%{{.*}} : tensor<3x2x2x3x2xf32>) permutation = [1, 0, 2, 3, 4]
// GROUPS: linalg.conv_2d_ngchw_fgchw
// GROUPS-SAME: outs(%{{.*}} : tensor<2x2x3x7x7xf32>)
// GROUPS: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3], [4]] : tensor<2x2x3x7x7xf32> into tensor<2x6x7x7xf32>
// STRIDED: tensor.insert_slice {{.*}}[0, 0, 1, 0] [2, 4, 7, 6] [1, 1, 1, 1] : tensor<2x4x7x6xf32> into tensor<2x4x8x7xf32>
// STRIDED: linalg.conv_2d_nhwc_fhwc {dilations = dense<[1, 2]> : tensor<2xi64>, strides = dense<[2, 1]> : tensor<2xi64>}
// STRIDED-SAME: outs(%{{.*}} : tensor<2x3x5x6xf32>)

// Average pooling without count_include_pad divides by what each window
// covers; ceil_mode pads the last partial window with -inf.
// AVG: linalg.pooling_nchw_sum
// AVG: arith.constant dense<{{\[\[}}4.000000e+00, 6.000000e+00, 6.000000e+00, 6.000000e+00, 4.000000e+00], [6.000000e+00, 9.000000e+00
// AVG: arith.divf
// CEIL: arith.constant 0xFF800000 : f32
// CEIL: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 2, 5, 5] [1, 1, 1, 1] : tensor<1x2x5x5xf32> into tensor<1x2x6x6xf32>
// CEIL: linalg.pooling_nchw_max {{.*}} -> tensor<1x2x3x3xf32>

// SOFTMAX: arith.maximumf %in, %out
// SOFTMAX: math.exp
// SOFTMAX: arith.addf %in, %out
// SOFTMAX: arith.divf

// BMM: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x3x4xf32>, tensor<2x4x5xf32>)
// ROWS: tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
// ROWS: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<6x4xf32>, tensor<4x5xf32>)
// ROWS: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [2, 3, 5]

// Gather at constant indices [4, 0, -1] along axis 1.
// GATHER: tensor.extract_slice %arg0[0, 4] [3, 1] [1, 1]
// GATHER: tensor.extract_slice %arg0[0, 0] [3, 1] [1, 1]
// GATHER: tensor.extract_slice %arg0[0, 4] [3, 1] [1, 1]
// GATHER: tensor.concat dim(1)

// Shape -> Gather -> Mul -> Cast -> Unsqueeze -> Concat -> Reshape folds to
// one collapse; none of it is emitted.
// FOLD: func.func @forward(%arg0: tensor<4x6x2xf32> loc("x")) -> tensor<4x12xf32> {
// FOLD-NEXT: %collapsed = tensor.collapse_shape %arg0 {{\[}}[0], [1, 2]] : tensor<4x6x2xf32> into tensor<4x12xf32>
// FOLD-NEXT: return %collapsed

// BN: func.func @forward(%arg0: tensor<3xf32> {amp.param = "s"} loc("s"), %arg1: tensor<3xf32> {amp.param = "b"} loc("b"), %arg2: tensor<2x3x4x4xf32> loc("x"))
// BN: arith.constant dense<[5.000000e-01, 1.000000e+00, 2.000000e+00]> : tensor<3xf32>
// BN: arith.constant 1.000000e-03 : f32
// BN: math.rsqrt

// LN: iterator_types = ["parallel", "parallel", "reduction"]
// LN: arith.constant 1.250000e-01 : f32
// LN: iterator_types = ["parallel", "parallel", "reduction"]
// LN: math.rsqrt

// transA, transB, alpha 0.5, beta 2: the maps read A as [k, m] and B as
// [n, k].
// GEMM-DAG: #[[AT:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// GEMM-DAG: #[[BT:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// GEMM: linalg.generic {indexing_maps = [#[[AT]], #[[BT]], {{.*}}]
// GEMM: arith.constant 5.000000e-01 : f32
// GEMM: arith.constant 2.000000e+00 : f32

// POW: math.powf %in, %{{.*}} : f32
// SQUARE-NOT: math.powf
// SQUARE: arith.mulf %in, %in : f32
// DROPOUT: func.func @forward(%arg0: tensor<3x4xf32> loc("x")) -> tensor<3x4xf32> {
// DROPOUT-NEXT: return %arg0

// BatchNormalization in training mode: the running statistics are buffers
// (parameters the step replaces); @forward evaluates with them, and
// @forward_train (what amp-build-train-step differentiates) normalizes by
// the batch's statistics and returns the buffers' new values.
// BNTRAIN: func.func @forward(%arg0: tensor<3xf32> {amp.param = "bn.weight"} {{.*}}, %arg2: tensor<3xf32> {amp.buffer, amp.init = "zeros", amp.param = "bn.running_mean"} {{.*}}, %arg3: tensor<3xf32> {amp.buffer, amp.init = "ones", amp.param = "bn.running_var"}
// BNTRAIN-SAME: -> (tensor<f32>, tensor<4x2xf32>)
// BNTRAIN-NOT: iterator_types = ["reduction", "parallel", "reduction", "reduction"]
// BNTRAIN: return
// BNTRAIN: func.func @forward_train(
// BNTRAIN-SAME: -> (tensor<f32>, tensor<4x2xf32>, tensor<3xf32> {amp.buffer = "bn.running_mean"}, tensor<3xf32> {amp.buffer = "bn.running_var"})
// Mean and variance over the batch and the pixels: 1/16 each.
// BNTRAIN: iterator_types = ["reduction", "parallel", "reduction", "reduction"]
// BNTRAIN: arith.constant 6.250000e-02 : f32
// BNTRAIN: iterator_types = ["reduction", "parallel", "reduction", "reduction"]
// BNTRAIN: arith.constant 6.250000e-02 : f32
// The running mean and (unbiased: 16/15 x 0.2) variance with momentum 0.8.
// BNTRAIN: arith.constant 8.000000e-01 : f32
// BNTRAIN: arith.constant 0.199999988 : f32
// BNTRAIN: arith.constant 8.000000e-01 : f32
// BNTRAIN: arith.constant 0.213333324 : f32

// Dropout in training mode: @forward (evaluation) passes the values through;
// @forward_train multiplies them by a mask drawn from the step counter (a
// buffer the model did not have, last among the parameters) and each
// element's position, and counts the step.
// DROPTRAIN: func.func @forward(
// DROPTRAIN-SAME: %arg4: tensor<1xf32> {amp.buffer, amp.init = "zeros", amp.param = "dropout_step"}
// DROPTRAIN-SAME: -> (tensor<f32>, tensor<4x3xf32>) {
// DROPTRAIN-NOT: linalg.index
// DROPTRAIN: return
// DROPTRAIN: func.func @forward_train(
// DROPTRAIN-SAME: -> (tensor<f32>, tensor<4x3xf32>, tensor<1xf32> {amp.buffer = "dropout_step"})
// DROPTRAIN: %[[STEP:.*]] = tensor.collapse_shape %arg4 [] : tensor<1xf32> into tensor<f32>
// DROPTRAIN: %[[MASK:.*]] = linalg.generic {{.*}} ins(%[[STEP]] : tensor<f32>) outs(%{{.*}} : tensor<4x16xf32>)
// DROPTRAIN: linalg.index 0
// DROPTRAIN: linalg.index 1
// DROPTRAIN: arith.fptoui %in : f32 to i32
// DROPTRAIN: arith.constant 3.000000e-01 : f32
// DROPTRAIN: arith.cmpf oge
// DROPTRAIN: %[[SCALE:.*]] = arith.constant 1.42857146 : f32
// DROPTRAIN: arith.select %{{.*}}, %[[SCALE]], %{{.*}} : f32
// DROPTRAIN: %[[DROPPED:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[MASK]] : tensor<4x16xf32>, tensor<4x16xf32>)
// DROPTRAIN: arith.mulf
// The counter's next value, wrapping at 2^24.
// DROPTRAIN: %[[NEXT:.*]] = linalg.generic {{.*}} ins(%arg4 : tensor<1xf32>)
// DROPTRAIN: arith.addf %in, %{{.*}} : f32
// DROPTRAIN: arith.constant 0x4B800000 : f32
// DROPTRAIN: linalg.generic {{.*}} ins(%[[DROPPED]], %arg2 :
// DROPTRAIN: return %{{.*}}, %{{.*}}, %[[NEXT]] : tensor<f32>, tensor<4x3xf32>, tensor<1xf32>

// A 1-D convolution is a 2-D one over a unit height: input and weight gain
// the dimension, the window its identity entries, the result loses it.
// CONV1D: func.func @forward(%arg0: tensor<6x2x3xf32> {amp.param = "w"} {{.*}}, %arg2: tensor<2x4x9xf32> loc("x")) -> tensor<2x6x4xf32>
// CONV1D: tensor.expand_shape %arg2 {{\[}}[0], [1], [2, 3]] output_shape [2, 4, 1, 9]
// CONV1D: tensor.expand_shape %arg0 {{\[}}[0], [1], [2, 3]] output_shape [6, 2, 1, 3]
// CONV1D: tensor.insert_slice {{.*}}[0, 0, 0, 1] [2, 4, 1, 9] [1, 1, 1, 1] : tensor<2x4x1x9xf32> into tensor<2x4x1x12xf32>
// CONV1D: linalg.conv_2d_ngchw_fgchw {dilations = dense<[1, 2]> : tensor<2xi64>, strides = dense<[1, 2]> : tensor<2xi64>} {{.*}} -> tensor<2x2x3x1x4xf32>
// CONV1D: tensor.collapse_shape {{.*}} into tensor<2x6x4xf32>

// A 3-D convolution: padded (one plane before, one row after, a column each
// side), channels-last, linalg's 3-D convolution, back to channels-first.
// CONV3D: tensor.insert_slice %arg2 {{.*}}[0, 0, 1, 0, 1] [2, 3, 5, 4, 6] {{.*}} into tensor<2x3x6x5x8xf32>
// CONV3D: linalg.transpose {{.*}} permutation = [0, 2, 3, 4, 1]
// CONV3D: linalg.transpose ins(%arg0 : tensor<4x3x3x2x3xf32>) {{.*}} permutation = [2, 3, 4, 1, 0]
// CONV3D: linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<[1, 2, 1]> : tensor<3xi64>} {{.*}} -> tensor<2x4x2x6x4xf32>
// CONV3D: linalg.transpose {{.*}} permutation = [0, 4, 1, 2, 3]

// Grouped 3-D: a convolution per group on its channels and filters, then
// concatenated along the channels.
// CONV3DG: tensor.extract_slice {{.*}}[0, 0, 0, 0, 0] [1, 2, 4, 4, 4]
// CONV3DG: tensor.extract_slice %arg0[0, 0, 0, 0, 0] [3, 2, 2, 2, 2]
// CONV3DG: linalg.conv_3d_ndhwc_dhwcf {dilations = dense<[1, 2, 1]> : tensor<3xi64>
// CONV3DG: tensor.extract_slice {{.*}}[0, 2, 0, 0, 0] [1, 2, 4, 4, 4]
// CONV3DG: tensor.extract_slice %arg0[3, 0, 0, 0, 0] [3, 2, 2, 2, 2]
// CONV3DG: linalg.conv_3d_ndhwc_dhwcf
// CONV3DG: tensor.concat dim(1) {{.*}} : (tensor<1x3x3x2x3xf32>, tensor<1x3x3x2x3xf32>) -> tensor<1x6x3x2x3xf32>

// 3-D max pooling is channels-last in linalg: transposed there and back.
// POOL3D: linalg.transpose {{.*}} permutation = [0, 2, 3, 4, 1]
// POOL3D: linalg.fill ins(%cst{{.*}}) outs(%{{.*}} : tensor<1x2x2x2x2xf32>)
// POOL3D: linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<2> : tensor<3xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x5x4x6x2xf32>, tensor<2x2x3xf32>)
// POOL3D: linalg.transpose {{.*}} permutation = [0, 4, 1, 2, 3]

// 1-D average pooling without count_include_pad: the edges divide by 2.
// POOL1D: linalg.pooling_nchw_sum {{.*}} -> tensor<2x3x1x9xf32>
// POOL1D: arith.constant dense<{{\[}}[2.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00, 3.000000e+00, 2.000000e+00]]> : tensor<1x9xf32>
// POOL1D: arith.divf
// POOL1D: tensor.collapse_shape {{.*}} into tensor<2x3x9xf32>
