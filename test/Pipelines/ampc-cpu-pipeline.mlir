// RUN: ampc-opt %s -ampc-cpu-pipeline | FileCheck %s
// RUN: ampc-opt %s -ampc-cpu-pipeline="register-rows=8 register-cols=32" -mlir-print-ir-after=promote-buffers-to-stack -o /dev/null 2>&1 | FileCheck %s --check-prefix=STACK
// Every zoo model, under every policy, lowers to the LLVM dialect alone.
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir -ampc-train-pipeline=policy=fp8 -ampc-cpu-pipeline | FileCheck %s --check-prefix=MODEL
// RUN: ampc-opt %ampc_src_root/examples/models/cnn.mlir -ampc-train-pipeline=policy=bf16 -ampc-cpu-pipeline | FileCheck %s --check-prefix=MODEL
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir -ampc-train-pipeline=policy=fp16 -ampc-cpu-pipeline | FileCheck %s --check-prefix=MODEL
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir -ampc-cpu-pipeline | FileCheck %s --check-prefix=MODEL
// RUN: ampc-opt %ampc_src_root/examples/models/cnn.mlir -amp-build-train-step -ampc-train-pipeline=policy=bf16 -ampc-cpu-pipeline -mlir-print-ir-before=ampc-vectorize-generics -o /dev/null 2>&1 | FileCheck %s --check-prefix=GATHER
// The training step's convolution and its weight gradient gather the same
// patches of the same (bf16, widened once) image: one gather per function.
// GATHER-LABEL: func.func @forward
// GATHER: linalg.generic {{.*}} outs(%{{.*}} : tensor<32x26x26x3x3x1xf32>)
// GATHER-NOT: outs(%{{.*}} : tensor<32x26x26x3x3x1x
// GATHER-LABEL: func.func @train_step
// GATHER: linalg.generic {{.*}} outs(%{{.*}} : tensor<32x26x26x3x3x1xf32>)
// GATHER-NOT: outs(%{{.*}} : tensor<32x26x26x3x3x1x
// RUN: ampc-opt %ampc_src_root/examples/models/cnn.mlir -amp-build-train-step -ampc-train-pipeline=policy=fp32 -ampc-cpu-pipeline -mlir-print-ir-before=ampc-vectorize-generics -o /dev/null 2>&1 | FileCheck %s --check-prefix=RELU
// The ReLU's gradient, read by the bias gradient and by the weight
// gradient (where autodiff added +0.0 once more), is computed once.
// RELU-LABEL: func.func @train_step
// RELU: arith.cmpf oge
// RELU-NOT: arith.cmpf oge
// MODEL-NOT: {{(amp|linalg|tensor|memref|arith|func|scf|cf|math)\.}}
// MODEL: llvm.func @_mlir_ciface_forward

// The result becomes an out parameter: the C wrapper takes three descriptors
// (two inputs, one result) and returns nothing; the entry is a plain LLVM
// function with fp8 as i8 in memory.
// CHECK-NOT: amp.
// CHECK-LABEL: llvm.func @step
// CHECK: llvm.func @_mlir_ciface_step(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-NOT: -> !llvm
// CHECK-SAME: {
func.func @step(%x: tensor<4x8xf32>, %w: tensor<8x2xf8E4M3FN>) -> tensor<4x2xf32> {
  %s = arith.constant 2.0 : f32
  %xq = amp.cast %x : tensor<4x8xf32> to tensor<4x8xf8E4M3FN>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x2xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %m = linalg.matmul ins(%xq, %w : tensor<4x8xf8E4M3FN>, tensor<8x2xf8E4M3FN>) outs(%f : tensor<4x2xf32>) -> tensor<4x2xf32>
  %t = math.tanh %m : tensor<4x2xf32>
  return %t : tensor<4x2xf32>
}

// Temporaries of at most 4 KiB (a page) live on the stack (allocated once,
// outside the loops that fill them); larger ones on the heap.
// STACK-LABEL: func.func @temporaries
// (The 32 x 32 product's packed operands are 4 panels of 32 x 8 and its
// tiled accumulator 4 x 8 x 32, 4 KiB each; the 64 x 64 one's are 16 KiB.
// Each tanh runs on its product's tiles, in place: no buffer of its own.)
// STACK: memref.alloca() {alignment = 64 : i64} : memref<4x32x8xf32>
// STACK: memref.alloca() {alignment = 64 : i64} : memref<4x8x1x32xf32>
// STACK: memref.alloc() {alignment = 64 : i64} : memref<8x64x8xf32>
// STACK: memref.alloc() {alignment = 64 : i64} : memref<2x64x32xf32>
// STACK: memref.alloc() {alignment = 64 : i64} : memref<8x8x2x32xf32>
// STACK-NOT: memref.alloca()
// STACK-NOT: memref.alloc()
// STACK: return
func.func @temporaries(%x: tensor<32x32xf32>, %y: tensor<64x64xf32>) -> (tensor<32x32xf32>, tensor<64x64xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32x32xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<32x32xf32>) -> tensor<32x32xf32>
  %m = linalg.matmul ins(%x, %x : tensor<32x32xf32>, tensor<32x32xf32>) outs(%f : tensor<32x32xf32>) -> tensor<32x32xf32>
  %t = math.tanh %m : tensor<32x32xf32>
  %e2 = tensor.empty() : tensor<64x64xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<64x64xf32>) -> tensor<64x64xf32>
  %m2 = linalg.matmul ins(%y, %y : tensor<64x64xf32>, tensor<64x64xf32>) outs(%f2 : tensor<64x64xf32>) -> tensor<64x64xf32>
  %t2 = math.tanh %m2 : tensor<64x64xf32>
  return %t, %t2 : tensor<32x32xf32>, tensor<64x64xf32>
}

// RUN: ampc-opt %s -ampc-cpu-pipeline="register-rows=8 register-cols=32" -mlir-print-ir-before=ampc-vectorize-generics -o /dev/null 2>&1 | FileCheck %s --check-prefix=EPILOGUE
// A 16 x 16 product fits AVX-512's 8 x 32 register tile whole: its bias and
// ReLU run on the 16 accumulators after the k loop (one vector each, the
// bias read once), not in a loop of their own, and the product is not
// stored.
// EPILOGUE-LABEL: func.func @epilogue
// EPILOGUE: } {ampc.micro_kernel}
// EPILOGUE-NOT: linalg.generic
// EPILOGUE: vector.transfer_read %{{.*}} : tensor<16xf32>, vector<16xf32>
// EPILOGUE-NOT: linalg.generic
// EPILOGUE-COUNT-16: arith.maximumf %{{.*}} : vector<16xf32>
// EPILOGUE-NOT: linalg.generic
// EPILOGUE: return
func.func @epilogue(%x: tensor<16x16xf32>, %w: tensor<16x16xf32>, %b: tensor<16xf32>) -> tensor<16x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %m = linalg.matmul ins(%x, %w : tensor<16x16xf32>, tensor<16x16xf32>) outs(%f : tensor<16x16xf32>) -> tensor<16x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%m, %b : tensor<16x16xf32>, tensor<16xf32>) outs(%e : tensor<16x16xf32>) {
  ^bb0(%v: f32, %bias: f32, %o: f32):
    %s = arith.addf %v, %bias : f32
    %r = arith.maximumf %s, %z : f32
    linalg.yield %r : f32
  } -> tensor<16x16xf32>
  return %y : tensor<16x16xf32>
}
