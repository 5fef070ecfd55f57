// The precision pipeline on the zoo MLP under each policy.
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=bf16 | FileCheck %s --check-prefixes=LOW,BF16
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp16 | FileCheck %s --check-prefixes=LOW,FP16
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp8 | FileCheck %s --check-prefix=FP8
// The fp32 policy changes nothing beyond what canonicalize and cse do.
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp32 > %t.fp32
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -canonicalize -cse > %t.ref
// RUN: diff %t.fp32 %t.ref
// Exactly four casts (the input, both weights, the hidden activation): one per
// precision boundary, no ping-pong.
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=bf16 | grep -c "amp.cast" | FileCheck %s --check-prefix=COUNT
// COUNT: {{^}}4{{$}}

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
