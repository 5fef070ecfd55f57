//===- SpecializeBatch.cpp - fix the batch size of a model ----------------===//
//
// ampc-specialize-batch: a model whose batch inputs have a dynamic leading
// dimension gets a static one; upstream canonicalization carries it through
// the body (tensor.dim folds, tensor.casts fold into their consumers). A
// model written for another fixed batch is re-batched (Rebatch.h).
//
//===----------------------------------------------------------------------===//

#include "Rebatch.h"

#include "ampc/Autodiff/Passes.h"
#include "ampc/Dialect/Amp/IR/TrainStepABI.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCSPECIALIZEBATCH
#include "ampc/Autodiff/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

bool hasDynamicShape(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  return shaped && !shaped.hasStaticShape();
}

struct SpecializeBatchPass
    : ampc::impl::AmpcSpecializeBatchBase<SpecializeBatchPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (batch <= 0) {
      module.emitError() << "ampc-specialize-batch: batch must be positive, "
                            "got "
                         << int64_t(batch);
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> specialized;
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal() || !fn.isPublic())
        continue;
      // A model written for a fixed batch: re-batched.
      FailureOr<int64_t> fixed = ampc::fixedBatchOf(fn);
      if (failed(fixed) || (*fixed > 0 && *fixed != batch &&
                            failed(ampc::rebatchFunction(fn, *fixed, batch))))
        return signalPassFailure();
      if (*fixed > 0)
        continue;
      FailureOr<bool> changed = specializeSignature(fn);
      if (failed(changed))
        return signalPassFailure();
      if (*changed)
        specialized.push_back(fn);
    }
    if (specialized.empty())
      return;
    if (failed(propagate(module)))
      return signalPassFailure();
    for (func::FuncOp fn : specialized)
      if (failed(staticResults(fn)) || failed(checkStatic(fn)))
        return signalPassFailure();
  }

  /// Gives the batch inputs of `fn` their static type; the body sees them
  /// through a tensor.cast back to the dynamic type. Returns whether any
  /// input changed.
  FailureOr<bool> specializeSignature(func::FuncOp fn) {
    Block &entry = fn.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    SmallVector<Type> inputs(fn.getArgumentTypes());
    bool changed = false;
    for (auto [i, type] : llvm::enumerate(inputs)) {
      if (!hasDynamicShape(type))
        continue;
      auto tensor = dyn_cast<RankedTensorType>(type);
      bool param = fn.getArgAttr(i, ampc::amp::abi::kParamAttrName) != nullptr;
      if (param || !tensor || tensor.getRank() == 0 ||
          llvm::any_of(tensor.getShape().drop_front(), ShapedType::isDynamic))
        return fn.emitOpError("argument #")
               << i << " has type " << type
               << "; only the leading (batch) dimension of a batch input may "
                  "be dynamic";
      SmallVector<int64_t> shape(tensor.getShape());
      shape[0] = batch;
      BlockArgument arg = entry.getArgument(i);
      arg.setType(tensor.clone(shape));
      auto cast = tensor::CastOp::create(b, arg.getLoc(), tensor, arg);
      arg.replaceAllUsesExcept(cast, cast);
      inputs[i] = arg.getType();
      changed = true;
    }
    fn.setFunctionType(
        FunctionType::get(fn.getContext(), inputs, fn.getResultTypes()));
    return changed;
  }

  /// Canonicalizes the module, which carries the static shapes through.
  LogicalResult propagate(ModuleOp module) {
    MLIRContext *context = module.getContext();
    RewritePatternSet patterns(context);
    for (Dialect *dialect : context->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName op : context->getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, context);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return module.emitError()
             << "ampc-specialize-batch: shape propagation did not converge";
    return success();
  }

  /// Returns the static value a result was cast from, and sets the result
  /// types to match.
  LogicalResult staticResults(func::FuncOp fn) {
    SmallVector<Type> results;
    for (Block &block : fn.getBody()) {
      auto ret = dyn_cast<func::ReturnOp>(block.getTerminator());
      if (!ret)
        continue;
      for (OpOperand &operand : ret->getOpOperands())
        if (auto cast = operand.get().getDefiningOp<tensor::CastOp>();
            cast && !hasDynamicShape(cast.getSource().getType())) {
          operand.set(cast.getSource());
          if (cast->use_empty())
            cast->erase();
        }
      SmallVector<Type> types(ret.getOperandTypes());
      if (!results.empty() && types != results)
        return fn.emitOpError("returns different shapes from different "
                              "blocks after specializing the batch");
      results = types;
    }
    fn.setFunctionType(
        FunctionType::get(fn.getContext(), fn.getArgumentTypes(), results));
    return success();
  }

  /// Every shape in `fn` is static now, or the op that is not is named.
  LogicalResult checkStatic(func::FuncOp fn) {
    WalkResult walk = fn.walk([&](Operation *op) {
      for (Type type : op->getResultTypes())
        if (hasDynamicShape(type)) {
          op->emitOpError("still has the dynamic type ")
              << type << " after specializing the batch to " << int64_t(batch)
              << "; compute shapes from the batch input (tensor.dim)";
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    return failure(walk.wasInterrupted());
  }
};

} // namespace
