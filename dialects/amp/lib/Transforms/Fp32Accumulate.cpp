//===- Fp32Accumulate.cpp - state the accumulation type in the IR ---------===//
//
// Contractions computing in a low type get destinations (and results) in
// their accumulate type.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/Transforms/OpClassification.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"
#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "mlir/IR/TypeUtilities.h"

namespace ampc::amp {
#define GEN_PASS_DEF_AMPFP32ACCUMULATE
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

struct AmpFp32AccumulatePass
    : ampc::amp::impl::AmpFp32AccumulateBase<AmpFp32AccumulatePass> {
  void runOnOperation() override;
};

} // namespace

void AmpFp32AccumulatePass::runOnOperation() {
  func::FuncOp func = getOperation();
  SmallVector<linalg::LinalgOp> contractions;
  func.walk([&](linalg::LinalgOp op) {
    auto precision =
        op->getAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName());
    bool reduces = isContraction(op) || (isa<linalg::GenericOp>(op) &&
                                         op.getNumReductionLoops() > 0);
    if (precision && reduces)
      contractions.push_back(op);
  });

  ValueCaster caster;
  for (linalg::LinalgOp op : contractions) {
    auto precision =
        op->getAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName());
    FloatType accumulate = precision.getAccumulate();
    if (op->getNumResults() != op.getNumDpsInits()) {
      op->emitOpError("amp-fp32-accumulate expects a contraction on tensors");
      return signalPassFailure();
    }
    for (OpOperand &init : op.getDpsInitsMutable()) {
      OpResult result = op.getTiedOpResult(&init);
      auto lowType =
          dyn_cast<FloatType>(getElementTypeOrSelf(result.getType()));
      if (!lowType || lowType == accumulate)
        continue;
      init.set(caster.convertInit(init.get(), accumulate));
      result.setType(init.get().getType());

      // Users that widened the result to the accumulate type read it as is;
      // the others get one cast to the low type.
      Value narrowed;
      SmallVector<OpOperand *> uses = llvm::map_to_vector(
          result.getUses(), [](OpOperand &use) { return &use; });
      for (OpOperand *usePtr : uses) {
        OpOperand &use = *usePtr;
        auto user = dyn_cast<CastOp>(use.getOwner());
        if (user && !user.getScale() &&
            user.getResultElementType() == accumulate) {
          user.getResult().replaceAllUsesWith(result);
          user.erase();
          continue;
        }
        if (!narrowed) {
          OpBuilder builder(op->getContext());
          builder.setInsertionPointAfter(op);
          narrowed = CastOp::create(builder, op->getLoc(),
                                    withElementType(result.getType(), lowType),
                                    result);
        }
        use.set(narrowed);
      }
    }
    if (failed(updatePayload(op)))
      return signalPassFailure();
  }
}
