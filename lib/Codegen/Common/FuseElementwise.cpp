//===- FuseElementwise.cpp - elementwise chains into one op ---------------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCFUSEELEMENTWISE
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AmpcFuseElementwisePass
    : ampc::impl::AmpcFuseElementwiseBase<AmpcFuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *fused) {
          auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
          if (!consumer ||
              consumer.getNumLoops() != consumer.getNumParallelLoops())
            return false;
          // A producer whose result is also used elsewhere stays an output
          // of the fused op, indexed through the consumer's map: that map
          // must reach every element once. Through a broadcast (a scalar
          // read by every iteration) the fused op would write the same
          // element in every iteration: in sequence it would apply the
          // producer again and again, in parallel it would race.
          AffineMap map = consumer.getMatchingIndexingMap(fused);
          return fused->get().hasOneUse() || map.isPermutation();
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
