//===- Passes.h - target-independent code generation passes -*- C++ -*-===//

#ifndef AMPC_CODEGEN_COMMON_PASSES_H
#define AMPC_CODEGEN_COMMON_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace ampc {

#define GEN_PASS_DECL
#include "ampc/Codegen/Common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ampc/Codegen/Common/Passes.h.inc"

/// amp.all_reduce's One-Shot Bufferize model (each tensor combined in its
/// own buffer), for every pipeline that bufferizes.
void registerAllReduceBufferization(mlir::DialectRegistry &registry);

/// The runtime functions a back end's collectives call:
/// `allReduce(ptr, i64 count, i32 kind)`, `start(ptr, i64, i32) -> i64`
/// and `wait(i64)` (kind 0 sum, 1 mean, 2 max).
struct CollectiveEntryPoints {
  llvm::StringRef allReduce, start, wait;
};

/// Lowers every bufferized amp.all_reduce, amp.all_reduce_start and
/// amp.all_reduce_wait of `module` to calls of `entries` (declared once).
/// One still on tensors is an error that names `passName`.
mlir::LogicalResult
lowerCollectivesToCalls(mlir::ModuleOp module,
                        const CollectiveEntryPoints &entries,
                        llvm::StringRef passName);

} // namespace ampc

#endif // AMPC_CODEGEN_COMMON_PASSES_H
