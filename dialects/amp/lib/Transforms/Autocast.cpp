//===- Autocast.cpp - decide the precision of every op
//----------------------===//
//
// Classifies ops, paints precisions forward through the function, and attaches
// #amp.precision.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/Transforms/OpClassification.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/StringMap.h"

namespace ampc::amp {
#define GEN_PASS_DEF_AMPAUTOCAST
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

struct AmpAutocastPass : ampc::amp::impl::AmpAutocastBase<AmpAutocastPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Adds the op-name overrides of one option; fails on an op listed twice.
  LogicalResult addOverrides(ArrayRef<std::string> names, OpClass opClass,
                             StringRef optionName);

  llvm::StringMap<std::pair<OpClass, std::string>> overrides;
};

} // namespace

LogicalResult AmpAutocastPass::addOverrides(ArrayRef<std::string> names,
                                            OpClass opClass,
                                            StringRef optionName) {
  for (const std::string &name : names) {
    auto [it, inserted] =
        overrides.try_emplace(name, opClass, optionName.str());
    if (!inserted && it->second.first != opClass) {
      getOperation().emitError()
          << "amp-autocast: op '" << name << "' is listed in both "
          << it->second.second << " and " << optionName;
      return failure();
    }
  }
  return success();
}

void AmpAutocastPass::runOnOperation() {
  func::FuncOp func = getOperation();
  MLIRContext *ctx = &getContext();
  std::optional<Policy> parsedPolicy = symbolizePolicy(policy);
  if (!parsedPolicy) {
    func.emitError() << "amp-autocast: unknown policy '" << policy
                     << "'; expected fp32, bf16, fp16 or fp8";
    return signalPassFailure();
  }
  overrides.clear();
  if (failed(addOverrides(lowerOps, OpClass::Lower, "lower-ops")) ||
      failed(addOverrides(fp32Ops, OpClass::Fp32, "fp32-ops")) ||
      failed(addOverrides(promoteOps, OpClass::Promote, "promote-ops")) ||
      failed(addOverrides(followOps, OpClass::Follow, "follow-ops")))
    return signalPassFailure();

  FloatType f32 = Float32Type::get(ctx);
  FloatType low = *parsedPolicy == Policy::fp16
                      ? FloatType(Float16Type::get(ctx))
                      : FloatType(BFloat16Type::get(ctx));
  FloatType lowerCompute = *parsedPolicy == Policy::fp8
                               ? FloatType(Float8E4M3FNType::get(ctx))
                               : low;
  bool annotate = *parsedPolicy != Policy::fp32;

  // The precision each value is available in; values missing from the map
  // (constants, fresh tensors) adapt to their users.
  DenseMap<Value, FloatType> available;
  auto precisionOf = [&](Value value) -> FloatType {
    if (FloatType known = available.lookup(value))
      return known;
    if (value.getDefiningOp<arith::ConstantOp>() ||
        value.getDefiningOp<tensor::EmptyOp>())
      return nullptr;
    return dyn_cast<FloatType>(getElementTypeOrSelf(value.getType()));
  };
  auto inputsOf = [](Operation *op) -> SmallVector<Value> {
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
      return llvm::to_vector(dps.getDpsInputs());
    return llvm::to_vector(op->getOperands());
  };

  WalkResult result = func.getBody().walk<WalkOrder::PreOrder>(
      [&](Operation *op) -> WalkResult {
        Classification classification = classifyOp(op);
        auto override = overrides.find(op->getName().getStringRef());
        bool hasOverride = override != overrides.end();
        if (classification.kind == OpKind::Neutral && !hasOverride)
          return isa<linalg::LinalgOp>(op) ? WalkResult::skip()
                                           : WalkResult::advance();
        if (classification.kind == OpKind::Unsupported && !hasOverride) {
          op->emitOpError()
              << "is not supported by amp-autocast: it computes on floats "
                 "but has no precision class; supported are linalg "
                 "contractions, convolutions, pooling, generic, map, reduce, "
                 "softmax, transpose, broadcast, fill and copy, tensor "
                 "reshapes, slices and concat, and elementwise arith/math "
                 "ops (or name it in lower-ops, fp32-ops, promote-ops or "
                 "follow-ops)";
          return WalkResult::interrupt();
        }
        OpClass opClass =
            hasOverride ? override->second.first : classification.opClass;
        auto isUnranked = [](Type type) {
          return isa<UnrankedTensorType>(type);
        };
        if (llvm::any_of(op->getOperandTypes(), isUnranked) ||
            llvm::any_of(op->getResultTypes(), isUnranked)) {
          op->emitOpError() << "has an unranked tensor, which amp-autocast "
                               "cannot retype; give it a ranked type (static "
                               "or dynamic sizes)";
          return WalkResult::interrupt();
        }

        Attribute existing = op->getAttr(PrecisionAttr::getAttrName());
        if (existing && !isa<PrecisionAttr>(existing)) {
          op->emitOpError() << "has an 'amp.precision' attribute that is not "
                               "an #amp.precision: "
                            << existing;
          return WalkResult::interrupt();
        }
        FloatType painted;
        if (auto handWritten = dyn_cast_or_null<PrecisionAttr>(existing)) {
          // A hand-written decision wins, if it can be honoured.
          if (isFp8Type(handWritten.getCompute()) &&
              opClass != OpClass::Lower) {
            op->emitOpError()
                << "has a hand-written amp.precision with fp8 compute type "
                << handWritten.getCompute()
                << ", but only contractions compute in fp8; this op is in "
                   "class '"
                << stringifyOpClass(opClass) << "'";
            return WalkResult::interrupt();
          }
          painted = opClass == OpClass::Lower ? handWritten.getAccumulate()
                                              : handWritten.getCompute();
        } else {
          FloatType compute;
          switch (opClass) {
          case OpClass::Lower:
            compute = lowerCompute;
            break;
          case OpClass::Fp32:
            compute = f32;
            break;
          case OpClass::Promote:
          case OpClass::Follow:
            for (Value input : inputsOf(op)) {
              FloatType p = precisionOf(input);
              if (!p)
                continue;
              if (!compute || p.getWidth() > compute.getWidth())
                compute = p;
              if (opClass == OpClass::Follow)
                break;
            }
            if (!compute)
              compute = f32;
            break;
          }
          // A contraction's result comes out in its accumulate type (f32):
          // ops that follow it stay there, so that a contraction feeding an
          // f32 op through a reshape or a scale never bounces through the
          // low type, and one feeding another contraction is cast once.
          painted = opClass == OpClass::Lower ? f32 : compute;
          if (annotate) {
            std::optional<ScalingRecipe> recipe;
            if (isFp8Type(compute))
              recipe = ScalingRecipe::delayed;
            op->setAttr(PrecisionAttr::getAttrName(),
                        PrecisionAttr::get(ctx, compute, f32, recipe));
          }
        }
        if (annotate)
          for (Value result : op->getResults())
            if (isa<FloatType>(getElementTypeOrSelf(result.getType())))
              available[result] = painted;
        // Payload ops are the op's own computation: do not visit them.
        return op->getNumRegions() && isa<linalg::LinalgOp>(op)
                   ? WalkResult::skip()
                   : WalkResult::advance();
      });
  if (result.wasInterrupted())
    signalPassFailure();
}
