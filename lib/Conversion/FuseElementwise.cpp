//===- FuseElementwise.cpp - elementwise chains into one op ---------------===//

#include "ampc/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCFUSEELEMENTWISE
#include "ampc/Conversion/Passes.h.inc"
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
          return consumer &&
                 consumer.getNumLoops() == consumer.getNumParallelLoops();
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
