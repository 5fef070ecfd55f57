//===- LoopUtils.h - indices and bodies for hand-built kernels --*- C++ -*-===//
//
// What the GPU passes that write kernels by hand (ampc-gpu-tensor-cores,
// ampc-gpu-reductions) share: a linear index split into loop indices, and a
// linalg op's body cloned at those indices.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_CODEGEN_NVGPU_LOOPUTILS_H
#define AMPC_CODEGEN_NVGPU_LOOPUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace ampc {

/// The indices of `linear` over loops of `sizes`, the last fastest:
/// remainders and quotients by the sizes (the first index is the last
/// quotient, unchecked against its size).
inline llvm::SmallVector<mlir::Value>
delinearize(mlir::OpBuilder &b, mlir::Location loc, mlir::Value linear,
            llvm::ArrayRef<int64_t> sizes) {
  llvm::SmallVector<mlir::Value> indices(sizes.size());
  mlir::Value rest = linear;
  for (int64_t d = int64_t(sizes.size()) - 1; d > 0; --d) {
    mlir::Value size = mlir::arith::ConstantIndexOp::create(b, loc, sizes[d]);
    indices[d] = mlir::arith::RemUIOp::create(b, loc, rest, size);
    rest = mlir::arith::DivUIOp::create(b, loc, rest, size);
  }
  if (!sizes.empty())
    indices[0] = rest;
  return indices;
}

/// Clones the body of a linalg op at the builder's insertion point, its
/// block arguments as `mapping` binds them and its linalg.index ops replaced
/// by `loopIndices`; returns the values it yields.
inline llvm::SmallVector<mlir::Value>
cloneLinalgBody(mlir::OpBuilder &b, mlir::Block &body, mlir::IRMapping &mapping,
                llvm::ArrayRef<mlir::Value> loopIndices) {
  for (mlir::Operation &inner : body.without_terminator()) {
    if (auto index = llvm::dyn_cast<mlir::linalg::IndexOp>(inner))
      mapping.map(index.getResult(), loopIndices[index.getDim()]);
    else
      b.clone(inner, mapping);
  }
  llvm::SmallVector<mlir::Value> yielded;
  for (mlir::Value v : body.getTerminator()->getOperands())
    yielded.push_back(mapping.lookupOrDefault(v));
  return yielded;
}

} // namespace ampc

#endif // AMPC_CODEGEN_NVGPU_LOOPUTILS_H
