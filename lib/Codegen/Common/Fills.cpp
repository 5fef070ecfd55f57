//===- Fills.cpp - recognizing tensors filled with one value --------------===//

#include "ampc/Codegen/Common/Fills.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

Value ampc::filledValue(Value tensor) {
  while (isa_and_present<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(
      tensor.getDefiningOp()))
    tensor = tensor.getDefiningOp()->getOperand(0);
  if (auto fill = tensor.getDefiningOp<linalg::FillOp>())
    return fill.hasPureTensorSemantics() ? fill.getInputs()[0] : Value();
  auto generic = tensor.getDefiningOp<linalg::GenericOp>();
  if (!generic || !generic.hasPureTensorSemantics() ||
      generic->getNumResults() != 1 ||
      generic.getNumLoops() != generic.getNumParallelLoops() ||
      !generic.getIndexingMapsArray().back().isIdentity())
    return {};
  Block *body = generic.getBody();
  if (body->getOperations().size() != 1)
    return {};
  Value yielded = body->getTerminator()->getOperand(0);
  if (yielded.getParentRegion() != &generic.getRegion())
    return yielded;
  auto arg = dyn_cast<BlockArgument>(yielded);
  if (!arg || arg.getArgNumber() >= unsigned(generic.getNumDpsInputs()))
    return {};
  Value input = generic.getDpsInputs()[arg.getArgNumber()];
  return isa<ShapedType>(input.getType()) ? Value() : input;
}
