// The precision pipeline on every zoo model under every policy.
//
// For bf16, fp16 and fp8: every contraction (matmul, batch_matmul, conv)
// computes on low-precision inputs into an f32 destination; no math op
// (exp, log, rsqrt, tanh) runs below f32; the number of casts equals the
// number of precision boundaries (each weight once, each activation that
// enters a contraction once: no ping-pong). The fp32 policy changes nothing
// beyond what canonicalize and cse do.
//
// MLP: 2 weights + input + hidden activation = 4 casts, 2 contractions.
// CNN: 2 weights + input + flattened activation = 4 casts, 2 contractions.
// Transformer block: 6 weights + 8 activations (LN1 output shared by Q, K, V;
// Q, K^T, V, probabilities, attention output, LN2 output, GELU output) = 14
// casts, 8 contractions.

// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=bf16 > %t.mlp.bf16
// RUN: grep -c 'amp.cast' %t.mlp.bf16 | FileCheck %s --check-prefix=CASTS-4
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = bf16, accumulate = f32>.* ins\([^:]*: tensor<[0-9x]*xbf16>, tensor<[0-9x]*xbf16>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.mlp.bf16 | FileCheck %s --check-prefix=CONTRACTIONS-2
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.mlp.bf16
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp16 > %t.mlp.fp16
// RUN: grep -c 'amp.cast' %t.mlp.fp16 | FileCheck %s --check-prefix=CASTS-4
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = f16, accumulate = f32>.* ins\([^:]*: tensor<[0-9x]*xf16>, tensor<[0-9x]*xf16>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.mlp.fp16 | FileCheck %s --check-prefix=CONTRACTIONS-2
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.mlp.fp16
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp8 > %t.mlp.fp8
// RUN: grep -c 'amp.cast' %t.mlp.fp8 | FileCheck %s --check-prefix=CASTS-4
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>.* ins\([^:]*: tensor<[0-9x]*xf8E4M3FN>, tensor<[0-9x]*xf8E4M3FN>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.mlp.fp8 | FileCheck %s --check-prefix=CONTRACTIONS-2
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.mlp.fp8
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp32 > %t.mlp.fp32
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -canonicalize -cse | diff %t.mlp.fp32 -

// RUN: ampc-opt %ampc_src_root/examples/models/cnn.mlir -ampc-train-pipeline=policy=bf16 > %t.cnn.bf16
// RUN: grep -c 'amp.cast' %t.cnn.bf16 | FileCheck %s --check-prefix=CASTS-4
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = bf16, accumulate = f32>.* ins\([^:]*: tensor<[0-9x]*xbf16>, tensor<[0-9x]*xbf16>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.cnn.bf16 | FileCheck %s --check-prefix=CONTRACTIONS-2
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.cnn.bf16
// RUN: ampc-opt %ampc_src_root/examples/models/cnn.mlir -ampc-train-pipeline=policy=fp16 > %t.cnn.fp16
// RUN: grep -c 'amp.cast' %t.cnn.fp16 | FileCheck %s --check-prefix=CASTS-4
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = f16, accumulate = f32>.* ins\([^:]*: tensor<[0-9x]*xf16>, tensor<[0-9x]*xf16>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.cnn.fp16 | FileCheck %s --check-prefix=CONTRACTIONS-2
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.cnn.fp16
// RUN: ampc-opt %ampc_src_root/examples/models/cnn.mlir -ampc-train-pipeline=policy=fp8 > %t.cnn.fp8
// RUN: grep -c 'amp.cast' %t.cnn.fp8 | FileCheck %s --check-prefix=CASTS-4
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>.* ins\([^:]*: tensor<[0-9x]*xf8E4M3FN>, tensor<[0-9x]*xf8E4M3FN>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.cnn.fp8 | FileCheck %s --check-prefix=CONTRACTIONS-2
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.cnn.fp8
// RUN: ampc-opt %ampc_src_root/examples/models/cnn.mlir -ampc-train-pipeline=policy=fp32 > %t.cnn.fp32
// RUN: ampc-opt %ampc_src_root/examples/models/cnn.mlir -canonicalize -cse | diff %t.cnn.fp32 -

// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir -ampc-train-pipeline=policy=bf16 > %t.transformer_block.bf16
// RUN: grep -c 'amp.cast' %t.transformer_block.bf16 | FileCheck %s --check-prefix=CASTS-14
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = bf16, accumulate = f32>.* ins\([^:]*: tensor<[0-9x]*xbf16>, tensor<[0-9x]*xbf16>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.transformer_block.bf16 | FileCheck %s --check-prefix=CONTRACTIONS-8
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.transformer_block.bf16
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir -ampc-train-pipeline=policy=fp16 > %t.transformer_block.fp16
// RUN: grep -c 'amp.cast' %t.transformer_block.fp16 | FileCheck %s --check-prefix=CASTS-14
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = f16, accumulate = f32>.* ins\([^:]*: tensor<[0-9x]*xf16>, tensor<[0-9x]*xf16>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.transformer_block.fp16 | FileCheck %s --check-prefix=CONTRACTIONS-8
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.transformer_block.fp16
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir -ampc-train-pipeline=policy=fp8 > %t.transformer_block.fp8
// RUN: grep -c 'amp.cast' %t.transformer_block.fp8 | FileCheck %s --check-prefix=CASTS-14
// RUN: grep -cE 'linalg\.(matmul|batch_matmul|conv_2d_nhwc_hwcf) \{.*amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>.* ins\([^:]*: tensor<[0-9x]*xf8E4M3FN>, tensor<[0-9x]*xf8E4M3FN>\) outs\([^:]*: tensor<[0-9x]*xf32>\)' %t.transformer_block.fp8 | FileCheck %s --check-prefix=CONTRACTIONS-8
// RUN: not grep -E 'math\.[a-z]+ .*: (bf16|f16|f8E4M3FN|f8E5M2)$' %t.transformer_block.fp8
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir -ampc-train-pipeline=policy=fp32 > %t.transformer_block.fp32
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir -canonicalize -cse | diff %t.transformer_block.fp32 -

// CASTS-4: {{^}}4{{$}}
// CASTS-14: {{^}}14{{$}}
// CONTRACTIONS-2: {{^}}2{{$}}
// CONTRACTIONS-8: {{^}}8{{$}}

// Details on the MLP: the layers' types and the f32 loss.
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=bf16 | FileCheck %s --check-prefixes=LOW,BF16
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp16 | FileCheck %s --check-prefixes=LOW,FP16
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp8 | FileCheck %s --check-prefix=FP8

// LOW-LABEL: func.func @forward
// LOW-SAME: -> (tensor<f32>, tensor<128x10xf32>)
// BF16: linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} ins(%{{.*}}, %{{.*}} : tensor<128x784xbf16>, tensor<784x256xbf16>) outs(%{{.*}} : tensor<128x256xf32>)
// FP16: linalg.matmul {amp.precision = #amp.precision<compute = f16, accumulate = f32>} ins(%{{.*}}, %{{.*}} : tensor<128x784xf16>, tensor<784x256xf16>) outs(%{{.*}} : tensor<128x256xf32>)
// BF16: amp.cast %{{.*}} : tensor<128x256xf32> to tensor<128x256xbf16>
// BF16: linalg.matmul {amp.precision = #amp.precision<compute = bf16, accumulate = f32>} ins(%{{.*}}, %{{.*}} : tensor<128x256xbf16>, tensor<256x10xbf16>) outs(%{{.*}} : tensor<128x10xf32>)
// The softmax cross-entropy stays f32: exp and log in f32 generics.
// LOW: amp.precision = #amp.precision<compute = f32, accumulate = f32>
// LOW: math.exp %{{.*}} : f32
// LOW: math.log %{{.*}} : f32
// LOW: return %{{.*}}, %{{.*}} : tensor<f32>, tensor<128x10xf32>

// FP8-LABEL: func.func @forward
// FP8: linalg.matmul {amp.precision = #amp.precision<compute = f8E4M3FN, accumulate = f32, recipe = delayed>} ins(%{{.*}}, %{{.*}} : tensor<128x784xf8E4M3FN>, tensor<784x256xf8E4M3FN>) outs(%{{.*}} : tensor<128x256xf32>)
// FP8: math.exp %{{.*}} : f32
