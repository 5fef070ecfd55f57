//===- Autocast.cpp - decide the precision of every op --------------------===//
//
// Classifies ops, paints precisions forward through the function, and attaches
// #amp.precision.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/TrainStepABI.h"
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

namespace {

/// Paints precisions forward through one function under one policy: each
/// op gets the precision of its class (a hand-written one wins), and each
/// result is recorded as available in the type the op leaves it in.
class PrecisionPainter {
public:
  using Overrides = llvm::StringMap<std::pair<OpClass, std::string>>;

  PrecisionPainter(MLIRContext *ctx, Policy policy, const Overrides &overrides)
      : ctx(ctx), overrides(overrides), f32(Float32Type::get(ctx)),
        annotate(policy != Policy::fp32) {
    FloatType low = policy == Policy::fp16 ? FloatType(Float16Type::get(ctx))
                                           : FloatType(BFloat16Type::get(ctx));
    lowerCompute =
        policy == Policy::fp8 ? FloatType(Float8E4M3FNType::get(ctx)) : low;
  }

  WalkResult visit(Operation *op) {
    FailureOr<std::optional<OpClass>> opClass = classOf(op);
    if (failed(opClass))
      return WalkResult::interrupt();
    if (!*opClass)
      return isa<linalg::LinalgOp>(op) ? WalkResult::skip()
                                       : WalkResult::advance();
    FailureOr<FloatType> painted = paint(op, **opClass);
    if (failed(painted))
      return WalkResult::interrupt();
    if (annotate)
      for (Value result : op->getResults())
        if (isa<FloatType>(getElementTypeOrSelf(result.getType())))
          available[result] = *painted;
    // Payload ops are the op's own computation: do not visit them.
    return op->getNumRegions() && isa<linalg::LinalgOp>(op)
               ? WalkResult::skip()
               : WalkResult::advance();
  }

private:
  /// The op's class (an override by name wins); nothing for ops that do
  /// not compute on floats. Fails on unsupported and unranked ops.
  FailureOr<std::optional<OpClass>> classOf(Operation *op) {
    Classification classification = classifyOp(op);
    // Ops of a training step that compute on floats follow the forward op
    // they came from (a matmul's generalization and adjoints are
    // linalg.generic; its fills and empty tensors stay neutral).
    auto override = overrides.end();
    auto origin = op->getAttrOfType<StringAttr>(abi::kOriginAttrName);
    if (origin && classification.kind != OpKind::Neutral)
      override = overrides.find(origin.getValue());
    if (override == overrides.end())
      override = overrides.find(op->getName().getStringRef());
    bool hasOverride = override != overrides.end();
    if (classification.kind == OpKind::Neutral && !hasOverride)
      return std::optional<OpClass>();
    if (classification.kind == OpKind::Unsupported && !hasOverride)
      return op->emitOpError()
             << "is not supported by amp-autocast: it computes on floats "
                "but has no precision class; supported are linalg "
                "contractions, convolutions, pooling, generic, map, reduce, "
                "softmax, transpose, broadcast, fill and copy, tensor "
                "reshapes, slices and concat, and elementwise arith/math "
                "ops (or name it in lower-ops, fp32-ops, promote-ops or "
                "follow-ops)";
    auto isUnranked = [](Type type) { return isa<UnrankedTensorType>(type); };
    if (llvm::any_of(op->getOperandTypes(), isUnranked) ||
        llvm::any_of(op->getResultTypes(), isUnranked))
      return op->emitOpError() << "has an unranked tensor, which amp-autocast "
                                  "cannot retype; give it a ranked type "
                                  "(static or dynamic sizes)";
    return std::optional<OpClass>(hasOverride ? override->second.first
                                              : classification.opClass);
  }

  /// Decides the op's precision, attaches it, and returns the type its
  /// results are available in.
  FailureOr<FloatType> paint(Operation *op, OpClass opClass) {
    // (The dialect's verifier has rejected an amp.precision of another kind.)
    auto handWritten =
        op->getAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName());
    // An op of a training step inherits the hand-written decision of the
    // forward op it came from (an fp8 one only where it is a contraction).
    if (auto inherited =
            op->getAttrOfType<PrecisionAttr>(abi::kOriginPrecisionAttrName)) {
      op->removeAttr(abi::kOriginPrecisionAttrName);
      if (!handWritten &&
          (!isFp8Type(inherited.getCompute()) || opClass == OpClass::Lower)) {
        handWritten = inherited;
        op->setAttr(PrecisionAttr::getAttrName(), inherited);
      }
    }
    if (handWritten) {
      // A hand-written decision wins, if it can be honoured.
      if (isFp8Type(handWritten.getCompute()) && opClass != OpClass::Lower)
        return op->emitOpError()
               << "has a hand-written amp.precision with fp8 compute type "
               << handWritten.getCompute()
               << ", but only contractions compute in fp8; this op is in "
                  "class '"
               << stringifyOpClass(opClass) << "'";
      return opClass == OpClass::Lower ? handWritten.getAccumulate()
                                       : handWritten.getCompute();
    }
    FloatType compute = computeType(op, opClass);
    if (annotate) {
      std::optional<ScalingRecipe> recipe;
      if (isFp8Type(compute))
        recipe = ScalingRecipe::delayed;
      op->setAttr(PrecisionAttr::getAttrName(),
                  PrecisionAttr::get(ctx, compute, f32, recipe));
    }
    // A contraction's result comes out in its accumulate type (f32): ops
    // that follow it stay there, so that a contraction feeding an f32 op
    // through a reshape or a scale never bounces through the low type, and
    // one feeding another contraction is cast once.
    return opClass == OpClass::Lower ? f32 : compute;
  }

  /// The policy's compute type for `opClass`: promote takes the widest
  /// input, follow the first input with a known precision.
  FloatType computeType(Operation *op, OpClass opClass) {
    if (opClass == OpClass::Lower)
      return lowerCompute;
    if (opClass == OpClass::Fp32)
      return f32;
    FloatType compute;
    for (Value input : inputsOf(op)) {
      FloatType p = precisionOf(input);
      if (!p)
        continue;
      if (!compute || p.getWidth() > compute.getWidth())
        compute = p;
      if (opClass == OpClass::Follow)
        break;
    }
    return compute ? compute : f32;
  }

  /// The precision `value` is available in; constants and fresh tensors
  /// adapt to their users (null).
  FloatType precisionOf(Value value) {
    if (FloatType known = available.lookup(value))
      return known;
    if (value.getDefiningOp<arith::ConstantOp>() ||
        value.getDefiningOp<tensor::EmptyOp>())
      return nullptr;
    return dyn_cast<FloatType>(getElementTypeOrSelf(value.getType()));
  }

  static SmallVector<Value> inputsOf(Operation *op) {
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
      return llvm::to_vector(dps.getDpsInputs());
    return llvm::to_vector(op->getOperands());
  }

  MLIRContext *ctx;
  const Overrides &overrides;
  FloatType f32, lowerCompute;
  bool annotate;
  DenseMap<Value, FloatType> available;
};

} // namespace

void AmpAutocastPass::runOnOperation() {
  func::FuncOp func = getOperation();
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
  PrecisionPainter painter(&getContext(), *parsedPolicy, overrides);
  WalkResult result = func.getBody().walk<WalkOrder::PreOrder>(
      [&](Operation *op) { return painter.visit(op); });
  if (result.wasInterrupted())
    signalPassFailure();
}
