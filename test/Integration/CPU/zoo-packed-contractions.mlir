// Every contraction of the zoo models' training steps (the forward
// matmuls and the transposed products of the backward pass, written by
// autodiff as linalg.generic) takes the packed path of
// ampc-vectorize-contractions: one parallel loop over register tiles each,
// and no contraction is left for the scalar loops (a generic with two
// inputs, one output and iterators parallel, parallel, reduction).
// (parallel-min-flops=0: the small ones too get a parallel loop, which
// makes each packed contraction countable.)
// The CNN's convolutions are not contractions of this form (their maps add
// window offsets) and are not covered here.
//
// RUN: ampc-opt %ampc_src_root/examples/models/mlp.mlir --amp-build-train-step --ampc-train-pipeline=policy=bf16 --ampc-vectorize-contractions=parallel-min-flops=0 | FileCheck %s --check-prefix=MLP
// RUN: ampc-opt %ampc_src_root/examples/models/mlp_big.mlir --amp-build-train-step --ampc-train-pipeline=policy=fp8 --ampc-vectorize-contractions=parallel-min-flops=0 | FileCheck %s --check-prefix=BIG
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir --amp-build-train-step --ampc-train-pipeline=policy=fp16 --ampc-vectorize-contractions=parallel-min-flops=0 | FileCheck %s --check-prefix=TRANSFORMER

// MLP-LABEL: func.func @forward
// MLP-COUNT-2: scf.forall (
// MLP-NOT: scf.forall (
// MLP-LABEL: func.func @train_step
// MLP-COUNT-5: scf.forall (
// MLP-NOT: scf.forall (
// MLP-NOT: iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{[^,]*}}, %{{[^,]*}} : tensor<{{[^,]*}}>, tensor<{{[^,]*}}>) outs(

// BIG-LABEL: func.func @forward
// BIG-COUNT-3: scf.forall (
// BIG-LABEL: func.func @train_step
// BIG-COUNT-8: scf.forall (
// BIG-NOT: scf.forall (
// BIG-NOT: iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{[^,]*}}, %{{[^,]*}} : tensor<{{[^,]*}}>, tensor<{{[^,]*}}>) outs(

// TRANSFORMER-LABEL: func.func @forward
// TRANSFORMER-COUNT-8: scf.forall (
// TRANSFORMER-LABEL: func.func @train_step
// TRANSFORMER-COUNT-24: scf.forall (
// TRANSFORMER-NOT: scf.forall (

// With the default threshold (4 MFLOP), the transformer block's tiny
// contractions loop over their tiles without threads.
// RUN: ampc-opt %ampc_src_root/examples/models/transformer_block.mlir --amp-build-train-step --ampc-train-pipeline=policy=fp16 --ampc-vectorize-contractions | FileCheck %s --check-prefix=SMALL
// SMALL-NOT: scf.forall
