//===- FuseElementwise.cpp - elementwise chains into one op ---------------===//

#include "ampc/Codegen/Common/Fills.h"
#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
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

/// An all-parallel generic that reads its init, and the init is a fill
/// (autodiff accumulates each adjoint into zeros): every element of the init
/// is read once, before it is written, so the body reads the filled scalar
/// instead and the init becomes a tensor.empty. The sum is the same
/// (`0 + x` stays, which keeps -0.0 as +0.0), but no zeros are written and
/// read back, the fill is no longer shared by several writers (which
/// bufferization would copy), and fusion need not keep the op's result as
/// an extra output because its body reads it.
struct FoldFillIntoParallelInit : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &b) const override {
    if (!op.hasPureTensorSemantics() ||
        op.getNumLoops() != op.getNumParallelLoops())
      return failure();
    bool changed = false;
    for (OpOperand &init : op.getDpsInitsMutable()) {
      Value scalar = ampc::filledValue(init.get());
      BlockArgument arg = op.getMatchingBlockArgument(&init);
      if (!scalar || arg.use_empty() || scalar.getType() != arg.getType())
        continue;
      b.modifyOpInPlace(op, [&] {
        arg.replaceAllUsesWith(scalar);
        b.setInsertionPoint(op);
        auto type = cast<RankedTensorType>(init.get().getType());
        init.set(tensor::EmptyOp::create(
            b, op.getLoc(), tensor::getMixedSizes(b, op.getLoc(), init.get()),
            type.getElementType()));
      });
      changed = true;
    }
    return success(changed);
  }
};

/// `(x + 0.0) + 0.0` is `x + 0.0` bit for bit: the first sum turns -0.0
/// into +0.0 and leaves every other value as it is, so the second changes
/// nothing. Autodiff writes such chains (an adjoint accumulated into zeros
/// twice); with them gone, the same gradient fused into two readers is the
/// same op twice, which CSE merges.
struct DropRepeatedZeroAdd : OpRewritePattern<arith::AddFOp> {
  using OpRewritePattern::OpRewritePattern;

  static Value zeroAddend(arith::AddFOp op) {
    if (matchPattern(op.getRhs(), m_PosZeroFloat()))
      return op.getLhs();
    if (matchPattern(op.getLhs(), m_PosZeroFloat()))
      return op.getRhs();
    return {};
  }

  LogicalResult matchAndRewrite(arith::AddFOp op,
                                PatternRewriter &b) const override {
    Value inner = zeroAddend(op);
    auto innerAdd = inner ? inner.getDefiningOp<arith::AddFOp>() : nullptr;
    if (!innerAdd || !zeroAddend(innerAdd))
      return failure();
    b.replaceOp(op, inner);
    return success();
  }
};

struct AmpcFuseElementwisePass
    : ampc::impl::AmpcFuseElementwiseBase<AmpcFuseElementwisePass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [intoReductions = bool(intoReductions)](OpOperand *fused) {
          auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
          if (!consumer)
            return false;
          auto producer = fused->get().getDefiningOp<linalg::LinalgOp>();
          bool readsInit =
              producer &&
              llvm::any_of(producer.getDpsInitsMutable(), [&](OpOperand &init) {
                return producer.payloadUsesValueFromOperand(&init);
              });
          // A reduction that reads each element of its input once (a
          // gradient norm's sum of squares of the unscaled gradient) computes
          // its only reader's producer in the same loop: the producer's
          // result is never written. Not through a broadcast (a
          // contraction's operand, read once per step of k), nor a producer
          // that stays (other uses, or one that reads its init), which would
          // have to be an output indexed by reduction loops.
          if (consumer.getNumLoops() != consumer.getNumParallelLoops())
            return intoReductions &&
                   consumer.getMatchingIndexingMap(fused).isPermutation() &&
                   fused->get().hasOneUse() && !readsInit;
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
          if (producer && !fused->get().hasOneUse() &&
              computesMathFunction(producer))
            return false;
          AffineMap map = consumer.getMatchingIndexingMap(fused);
          if (map.isPermutation())
            return true;
          // Through window maps (an im2col gather reads each element of a
          // 3x3 convolution's image 9 times) the producer would be computed
          // again for every read: an fp8 cast, fused into the gather, was
          // a third of the zoo CNN's fp8 step. It is computed once instead.
          if (!map.isProjectedPermutation())
            return false;
          return fused->get().hasOneUse() && !readsInit;
        });
    patterns.add<FoldFillIntoParallelInit, DropRepeatedZeroAdd>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
