// ampc-opt lists the amp dialect, the precision passes and the pipeline.
// RUN: ampc-opt --show-dialects | FileCheck %s --check-prefix=DIALECTS
// RUN: ampc-opt --help | FileCheck %s --check-prefix=PASSES

// DIALECTS: amp
// DIALECTS: arith
// DIALECTS: bufferization
// DIALECTS: func
// DIALECTS: gpu
// DIALECTS: linalg
// DIALECTS: llvm
// DIALECTS: math
// DIALECTS: memref
// DIALECTS: nvvm
// DIALECTS: scf
// DIALECTS: tensor
// DIALECTS: tosa
// DIALECTS: vector

// PASSES-DAG: --amp-autocast
// PASSES-DAG: --amp-cast-cleanup
// PASSES-DAG: --amp-fp32-accumulate
// PASSES-DAG: --amp-insert-casts
// PASSES-DAG: --amp-precision-report
// PASSES-DAG: --ampc-train-pipeline
