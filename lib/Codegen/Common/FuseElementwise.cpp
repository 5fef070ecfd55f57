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

/// True if `op`'s body reads one of its inits (an accumulation).
bool readsItsInit(linalg::LinalgOp op) {
  return llvm::any_of(op.getDpsInitsMutable(), [&](OpOperand &init) {
    return op.payloadUsesValueFromOperand(&init);
  });
}

/// True if `reader` is an all-parallel linalg op that reads `value` along
/// its innermost loop: it moves whole rows of it (a pack's transpose of
/// panels), which stays a vector loop with any elementwise body fused in. A
/// transpose of the rows themselves is shuffles, which the vectorizer plans
/// for a plain copy only: an fp32 bias and activation fused into the AMX
/// packing of the next layer's input made the zoo MLP's bf16 step 10 %
/// slower.
bool movesRowsOf(Operation *reader, Value value) {
  auto op = dyn_cast<linalg::LinalgOp>(reader);
  if (!op || op.getNumLoops() != op.getNumParallelLoops() ||
      op.getNumLoops() == 0)
    return false;
  AffineExpr innermost =
      getAffineDimExpr(op.getNumLoops() - 1, reader->getContext());
  return llvm::all_of(op->getOpOperands(), [&](OpOperand &operand) {
    if (operand.get() != value)
      return true;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    return map.getNumResults() > 0 &&
           map.getResult(map.getNumResults() - 1) == innermost;
  });
}

/// True if `reshaped` is the source of a tensor.expand_shape, made by an
/// all-parallel generic of one input that is a function argument (a
/// parameter or batch cast to f16 and widened back) that has no other
/// reader and does not read its init, and every reader of the expanded
/// tensor moves whole rows of it (movesRowsOf): the elementwise fusion then
/// takes the generic into them. Other ops are left as they are: a cast of
/// an activation would move past the reshape before its bias and activation
/// fuse into it, and be split from them (the zoo MLP's bf16 step lost 3 %);
/// ops of several inputs (a bias and activation, a ReLU's gradient) fused
/// into a pack read each of their inputs there (the 1024-4096-4096 MLP's
/// step did not gain).
bool expandsIntoParallelOps(OpOperand *reshaped) {
  auto expand = dyn_cast<tensor::ExpandShapeOp>(reshaped->getOwner());
  auto producer = reshaped->get().getDefiningOp<linalg::GenericOp>();
  if (!expand || !producer || !reshaped->get().hasOneUse() ||
      producer.getNumDpsInputs() != 1 ||
      !isa<BlockArgument>(producer.getDpsInputs()[0]) ||
      producer.getNumLoops() != producer.getNumParallelLoops() ||
      readsItsInit(producer))
    return false;
  return llvm::all_of(expand->getUsers(), [&](Operation *user) {
    return movesRowsOf(user, expand.getResult());
  });
}

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
          bool readsInit = producer && readsItsInit(producer);
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
    // A cast whose one reader is a reshape into a packing transpose (a
    // contraction operand's panels: a weight cast to f16 and widened back)
    // runs on the reshaped shape, so that the fusion above makes it part of
    // the transpose: the operand is read once and written packed and
    // widened, not written whole and copied (the zoo MLP's fp16 step: 7 %).
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns,
                                                      expandsIntoParallelOps);
    patterns.add<FoldFillIntoParallelInit, DropRepeatedZeroAdd>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
