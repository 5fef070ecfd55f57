//===- InsertCasts.cpp - apply #amp.precision to op types -----------------===//
//
// Retypes annotated ops to their compute type and casts at the boundaries.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/Transforms/OpClassification.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"
#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "mlir/IR/TypeUtilities.h"

namespace ampc::amp {
#define GEN_PASS_DEF_AMPINSERTCASTS
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

struct AmpInsertCastsPass
    : ampc::amp::impl::AmpInsertCastsBase<AmpInsertCastsPass> {
  void runOnOperation() override;
};

/// The input operands that the graph marks as gradients (under the name
/// `amp.gradient_operands`), which fp8 contractions take in f8E5M2.
FailureOr<SmallVector<int64_t>> getGradientOperands(Operation *op) {
  Attribute attr = op->getAttr(abi::kGradientOperandsAttrName);
  if (!attr)
    return SmallVector<int64_t>();
  auto indices = dyn_cast<DenseI64ArrayAttr>(attr);
  auto dps = dyn_cast<DestinationStyleOpInterface>(op);
  if (!indices || !dps ||
      llvm::any_of(indices.asArrayRef(), [&](int64_t index) {
        return index < 0 || index >= dps.getNumDpsInputs();
      })) {
    op->emitOpError()
        << "'" << abi::kGradientOperandsAttrName
        << "' must be an array<i64> of input operand indices, got " << attr;
    return failure();
  }
  return llvm::to_vector(indices.asArrayRef());
}

} // namespace

void AmpInsertCastsPass::runOnOperation() {
  func::FuncOp func = getOperation();
  ValueCaster caster;
  SmallVector<Operation *> annotated;
  func.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op->hasAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName()))
      annotated.push_back(op);
    return isa<linalg::LinalgOp>(op) ? WalkResult::skip()
                                     : WalkResult::advance();
  });

  for (Operation *op : annotated) {
    auto precision =
        op->getAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName());
    FloatType compute = precision.getCompute();
    auto dps = dyn_cast<DestinationStyleOpInterface>(op);
    FailureOr<SmallVector<int64_t>> gradientOperands = getGradientOperands(op);
    if (failed(gradientOperands))
      return signalPassFailure();

    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      if (!isFloatValue(value))
        continue;
      // Comparisons, selects' conditions and the like keep their non-float
      // operands; float operands all take the compute type.
      bool isInit = dps && dps.isDpsInit(&operand);
      // HYBRID fp8: gradients (operands listed in amp.gradient_operands, or
      // values whose producer is marked amp.gradient by the training step)
      // take the wider-range f8E5M2. No hardware
      // accumulates in fp8: fp8 contractions get their accumulate-type
      // destination right away.
      FloatType type = compute;
      Operation *def = value.getDefiningOp();
      bool isGradient =
          llvm::is_contained(*gradientOperands, operand.getOperandNumber()) ||
          (def && def->hasAttr(abi::kGradientAttrName));
      if (isFp8Type(compute) && isInit)
        type = precision.getAccumulate();
      else if (isFp8Type(compute) && isGradient)
        type = Float8E5M2Type::get(op->getContext());
      operand.set(isInit ? caster.convertInit(value, type)
                         : caster.cast(value, type));
    }

    SmallVector<Type> oldTypes = llvm::to_vector(op->getResultTypes());
    for (OpResult result : op->getResults()) {
      if (dps) {
        result.setType(
            dps.getDpsInitOperand(result.getResultNumber())->get().getType());
      } else if (isFloatValue(result)) {
        // Without destinations, results take the operands' element type.
        result.setType(withElementType(result.getType(), compute));
      }
    }
    if (failed(updatePayload(op)))
      return signalPassFailure();

    // Users that make no precision decision of their own (returns, calls,
    // amp ops) see the original type.
    for (auto [result, oldType] : llvm::zip(op->getResults(), oldTypes)) {
      if (result.getType() == oldType)
        continue;
      for (OpOperand &use : llvm::make_early_inc_range(result.getUses())) {
        Operation *user = use.getOwner();
        if (user->hasAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName()))
          continue;
        use.set(caster.cast(result,
                            cast<FloatType>(getElementTypeOrSelf(oldType))));
      }
    }
  }
}
