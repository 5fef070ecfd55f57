//===- CheckNumerics.cpp - which op of the step made the first inf/NaN ----===//
//
// One reduction per float tensor the training step computes: does it hold
// an inf or a NaN? The flags come back as a result of the step, the op
// names as a function attribute.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace ampc::amp {
#define GEN_PASS_DEF_AMPCHECKNUMERICS
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

/// "linalg.generic (from linalg.matmul) at model.mlir:12:8", "amp.cast to
/// f16 at ...".
std::string siteName(Operation *op) {
  std::string name;
  llvm::raw_string_ostream os(name);
  os << op->getName();
  if (auto castOp = dyn_cast<CastOp>(op))
    os << " to " << castOp.getResultElementType();
  if (auto origin = op->getAttrOfType<StringAttr>(abi::kOriginAttrName))
    os << " (from " << origin.getValue() << ")";
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc);
      fused && !fused.getLocations().empty())
    loc = fused.getLocations().front();
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    os << " at " << file.getFilename().getValue() << ":" << file.getLine()
       << ":" << file.getColumn();
  else if (auto named = dyn_cast<NameLoc>(loc)) // An imported ONNX node.
    os << " at " << named.getName().getValue();
  return name;
}

/// True (an i1) when `value` holds an inf or a NaN.
Value anyNonFinite(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  unsigned rank = type.getRank();
  MLIRContext *context = b.getContext();
  Value init =
      linalg::FillOp::create(
          b, loc,
          ValueRange{arith::ConstantOp::create(b, loc, b.getBoolAttr(false))},
          ValueRange{tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{},
                                             b.getI1Type())})
          .getResult(0);
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(rank, context),
      AffineMap::get(rank, 0, context)};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{value}, ValueRange{init},
      maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::reduction),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value x = args[0];
        // Narrow floats are widened exactly; arithmetic stays in f32.
        if (!x.getType().isF32())
          x = CastOp::create(nb, nloc, nb.getF32Type(), x);
        Value inf = arith::ConstantOp::create(
            nb, nloc,
            nb.getF32FloatAttr(std::numeric_limits<float>::infinity()));
        Value bad =
            arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::UEQ,
                                  math::AbsFOp::create(nb, nloc, x), inf);
        linalg::YieldOp::create(
            nb, nloc, ValueRange{arith::OrIOp::create(nb, nloc, args[1], bad)});
      });
  return tensor::ExtractOp::create(b, loc, generic.getResult(0), ValueRange{});
}

struct AmpCheckNumericsPass
    : ampc::amp::impl::AmpCheckNumericsBase<AmpCheckNumericsPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal() && abi::isTrainStep(fn) && failed(instrument(fn)))
        return signalPassFailure();
  }

  /// The float tensors of `fn` worth checking, in program order.
  SmallVector<Value> checkedValues(func::FuncOp fn) {
    SmallVector<Value> values;
    fn.walk([&](Operation *op) {
      if (isa<linalg::FillOp>(op) ||
          (!isa<linalg::LinalgOp>(op) && !isa<CastOp>(op)))
        return;
      for (Value result : op->getResults()) {
        auto type = dyn_cast<RankedTensorType>(result.getType());
        auto element =
            type ? dyn_cast<FloatType>(type.getElementType()) : nullptr;
        if (type && type.hasStaticShape() && element &&
            element.getWidth() <= 32)
          values.push_back(result);
      }
    });
    return values;
  }

  LogicalResult instrument(func::FuncOp fn) {
    SmallVector<Value> values = checkedValues(fn);
    if (values.empty())
      return success();
    MLIRContext *context = fn.getContext();
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    OpBuilder b(ret);
    SmallVector<Attribute> names;
    SmallVector<Value> flags;
    for (Value value : values) {
      names.push_back(
          StringAttr::get(context, siteName(value.getDefiningOp())));
      flags.push_back(anyNonFinite(b, value.getLoc(), value));
    }
    auto type = RankedTensorType::get({int64_t(flags.size())}, b.getI1Type());
    Value result = tensor::FromElementsOp::create(b, fn.getLoc(), type, flags);
    unsigned index = fn.getNumResults();
    if (failed(fn.insertResult(
            index, type,
            abi::getRoleDict(context,
                             abi::Role::of(abi::RoleKind::NonFinite)))))
      return fn.emitOpError("amp-check-numerics: cannot add the result");
    ret->insertOperands(ret->getNumOperands(), result);
    fn->setAttr(abi::kNonFiniteSitesAttrName, ArrayAttr::get(context, names));
    return success();
  }
};

} // namespace
