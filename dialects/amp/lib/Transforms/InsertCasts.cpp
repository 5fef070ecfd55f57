//===- InsertCasts.cpp - apply #amp.precision to op types -----------------===//
//
// Retypes annotated ops to their compute type and casts at the boundaries.
//
//===----------------------------------------------------------------------===//

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

struct AmpInsertCastsPass : ampc::amp::impl::AmpInsertCastsBase<AmpInsertCastsPass> {
  void runOnOperation() override;
};

bool isFloatValue(Value value) {
  return isa<FloatType>(getElementTypeOrSelf(value.getType()));
}

/// Ops whose results have the type of their (float) inputs, so that changing
/// the input element type changes the result element type.
bool resultsFollowOperands(Operation *op) {
  return !isa<DestinationStyleOpInterface>(op);
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
    auto precision = op->getAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName());
    FloatType compute = precision.getCompute();
    auto dps = dyn_cast<DestinationStyleOpInterface>(op);

    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      if (!isFloatValue(value))
        continue;
      // Comparisons, selects' conditions and the like keep their non-float
      // operands; float operands all take the compute type.
      bool isInit = dps && dps.isDpsInit(&operand);
      operand.set(isInit ? caster.convertInit(value, compute)
                         : caster.cast(value, compute));
    }

    SmallVector<Type> oldTypes = llvm::to_vector(op->getResultTypes());
    for (OpResult result : op->getResults()) {
      if (dps) {
        result.setType(dps.getDpsInitOperand(result.getResultNumber())
                           ->get()
                           .getType());
      } else if (resultsFollowOperands(op) && isFloatValue(result)) {
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
