//===- FuseElementwise.cpp - elementwise chains into one op ---------------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCFUSEELEMENTWISE
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// True if `op`'s body computes a function of the math dialect (tanh, exp,
/// erf, ...).
bool computesMathFunction(linalg::LinalgOp op) {
  return op
      ->walk([](Operation *inner) {
        return isa<math::MathDialect>(inner->getDialect())
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

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
          // A producer with other uses is fused into each consumer and
          // computed again there: cheap arithmetic may be, but a math
          // function (GELU's tanh, softmax's exp, read by the forward, the
          // fp8 amax and the backward) is computed once and read.
          auto producer = fused->get().getDefiningOp<linalg::LinalgOp>();
          if (producer && !fused->get().hasOneUse() &&
              computesMathFunction(producer))
            return false;
          AffineMap map = consumer.getMatchingIndexingMap(fused);
          if (map.isPermutation())
            return true;
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
