//===- DuplicateFills.cpp - one fill per op that writes into it -----------===//

#include "ampc/Codegen/Common/Fills.h"
#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCDUPLICATEFILLS
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// True for a fill on tensors (see filledValue).
bool isTensorFill(linalg::LinalgOp op) {
  return op->getNumResults() == 1 && ampc::filledValue(op->getResult(0));
}

/// The init operands (of destination-passing ops) that `fill`'s result is
/// written through.
SmallVector<OpOperand *> writtenUses(linalg::LinalgOp fill) {
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : fill->getResult(0).getUses()) {
    auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
    if (dps && dps.isDpsInit(&use))
      uses.push_back(&use);
  }
  return uses;
}

/// A clone of `fill` (and of its tensor.empty) just before `user`.
Value cloneFillBefore(OpBuilder &b, linalg::LinalgOp fill, Operation *user) {
  b.setInsertionPoint(user);
  IRMapping mapping;
  Value dest = fill.getDpsInits()[0];
  if (auto empty = dest.getDefiningOp<tensor::EmptyOp>())
    mapping.map(dest, b.clone(*empty)->getResult(0));
  return b.clone(*fill, mapping)->getResult(0);
}

struct AmpcDuplicateFillsPass
    : ampc::impl::AmpcDuplicateFillsBase<AmpcDuplicateFillsPass> {
  using Base::Base;

  /// Whether `type` has a static shape of at most `emptyBytes`.
  bool isSmall(RankedTensorType type) {
    return type.hasStaticShape() &&
           type.getNumElements() *
                   llvm::divideCeil(type.getElementTypeBitWidth(), 8) <=
               emptyBytes;
  }

  /// Every use of a small `tensor.empty` after the first gets a clone just
  /// before its user (an empty tensor has no contents to share); a small
  /// static slice of one is an empty tensor of the slice's shape first.
  void duplicateEmpties(OpBuilder &b) {
    SmallVector<tensor::ExtractSliceOp> slices;
    getOperation().walk([&](tensor::ExtractSliceOp op) {
      if (op.getSource().getDefiningOp<tensor::EmptyOp>() &&
          isSmall(op.getResultType()))
        slices.push_back(op);
    });
    for (tensor::ExtractSliceOp slice : slices) {
      b.setInsertionPoint(slice);
      RankedTensorType type = slice.getResultType();
      slice.replaceAllUsesWith(tensor::EmptyOp::create(b, slice.getLoc(),
                                                       type.getShape(),
                                                       type.getElementType())
                                   .getResult());
      slice.erase();
    }
    SmallVector<tensor::EmptyOp> empties;
    getOperation().walk([&](tensor::EmptyOp op) {
      if (!op->hasOneUse() && !op->use_empty() && isSmall(op.getType()))
        empties.push_back(op);
    });
    for (tensor::EmptyOp empty : empties) {
      SmallVector<OpOperand *> uses = llvm::map_to_vector(
          empty->getUses(), [](OpOperand &use) { return &use; });
      for (OpOperand *use : llvm::drop_begin(uses)) {
        b.setInsertionPoint(use->getOwner());
        use->set(b.clone(*empty)->getResult(0));
      }
    }
  }

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> fills;
    DenseMap<Operation *, unsigned> position;
    getOperation().walk([&](Operation *op) {
      position[op] = position.size();
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
        if (isTensorFill(linalgOp))
          fills.push_back(linalgOp);
    });
    OpBuilder b(&getContext());
    duplicateEmpties(b);
    for (linalg::LinalgOp fill : fills) {
      SmallVector<OpOperand *> uses = writtenUses(fill);
      llvm::sort(uses, [&](OpOperand *a, OpOperand *b) {
        return position.lookup(a->getOwner()) < position.lookup(b->getOwner());
      });
      // With no readers, the first writer keeps the original.
      bool onlyWritten = llvm::range_size(fill->getUses()) == uses.size();
      for (OpOperand *use : llvm::drop_begin(uses, onlyWritten ? 1 : 0))
        use->set(cloneFillBefore(b, fill, use->getOwner()));
    }
  }
};

} // namespace
