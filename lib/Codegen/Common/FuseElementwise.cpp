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
          // A producer whose body reads its output (autodiff's adjoints
          // accumulate into a zero-filled init) is kept as an output too
          // (upstream preserves it), whatever its uses: the same holds.
          AffineMap map = consumer.getMatchingIndexingMap(fused);
          if (map.isPermutation())
            return true;
          auto producer = fused->get().getDefiningOp<linalg::LinalgOp>();
          bool readsInit =
              producer &&
              llvm::any_of(producer.getDpsInitsMutable(), [&](OpOperand &init) {
                return producer.payloadUsesValueFromOperand(&init);
              });
          return fused->get().hasOneUse() && !readsInit;
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
