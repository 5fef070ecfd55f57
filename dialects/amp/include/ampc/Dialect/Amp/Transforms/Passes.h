//===- Passes.h - amp precision passes --------------------------*- C++ -*-===//
//
// Declarations of the precision passes and their reusable pieces.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_TRANSFORMS_PASSES_H
#define AMPC_DIALECT_AMP_TRANSFORMS_PASSES_H

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace ampc::amp {

#define GEN_PASS_DECL
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"

/// Adds the cast folding and deduplication patterns of amp-cast-cleanup.
void populateCastCleanupPatterns(mlir::RewritePatternSet &patterns);

} // namespace ampc::amp

#endif // AMPC_DIALECT_AMP_TRANSFORMS_PASSES_H
