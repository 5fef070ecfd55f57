//===- CastCleanup.cpp - fold, deduplicate and hoist amp.cast -------------===//
//
// Removes the casts that cannot change a value or that repeat another cast.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace ampc::amp {
#define GEN_PASS_DEF_AMPCASTCLEANUP
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

/// Replaces a cast by an identical cast of the same value that comes before
/// it in the same block or in an enclosing block.
struct DeduplicateCast : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CastOp op,
                                PatternRewriter &rewriter) const override {
    for (Operation *user : op.getInput().getUsers()) {
      auto other = dyn_cast<CastOp>(user);
      if (!other || other == op || other.getType() != op.getType() ||
          other.getScale() != op.getScale() ||
          other->getAttrDictionary() != op->getAttrDictionary())
        continue;
      Operation *ancestor = other->getBlock()->findAncestorOpInBlock(*op);
      if (!ancestor || !other->isBeforeInBlock(ancestor))
        continue;
      rewriter.replaceOp(op, other.getResult());
      return success();
    }
    return failure();
  }
};

struct AmpCastCleanupPass
    : ampc::amp::impl::AmpCastCleanupBase<AmpCastCleanupPass> {
  void runOnOperation() override {
    // Hoist casts of loop-invariant values (innermost loops first).
    getOperation().walk([](LoopLikeOpInterface loop) {
      moveLoopInvariantCode(
          loop.getLoopRegions(),
          [&](Value value, Region *) {
            return loop.isDefinedOutsideOfLoop(value);
          },
          [](Operation *op, Region *) { return isa<CastOp>(op); },
          [&](Operation *op, Region *) { loop.moveOutOfLoop(op); });
    });

    RewritePatternSet patterns(&getContext());
    populateCastCleanupPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void ampc::amp::populateCastCleanupPatterns(RewritePatternSet &patterns) {
  // amp.cast's folder removes identities and exact round trips; the greedy
  // driver applies it and erases casts left without users.
  patterns.add<DeduplicateCast>(patterns.getContext());
}
