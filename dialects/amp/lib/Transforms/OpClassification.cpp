//===- OpClassification.cpp - autocast op classes -------------------------===//
//
// Decides the class of an op from its name, its payload and its iterators.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/Transforms/OpClassification.h"

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace ampc::amp;

StringRef ampc::amp::stringifyOpClass(OpClass opClass) {
  switch (opClass) {
  case OpClass::Lower:
    return "lower";
  case OpClass::Fp32:
    return "fp32";
  case OpClass::Promote:
    return "promote";
  case OpClass::Follow:
    return "follow";
  }
  return "";
}

bool ampc::amp::isFloatValue(Value value) {
  return isa<FloatType>(getElementTypeOrSelf(value.getType()));
}

bool ampc::amp::hasFloatValues(Operation *op) {
  return llvm::any_of(op->getOperands(), isFloatValue) ||
         llvm::any_of(op->getResults(), isFloatValue);
}

/// Ops whose accuracy suffers in low precision (torch autocast's fp32 list).
static bool isPrecisionSensitive(Operation *op) {
  return isa<math::ExpOp, math::Exp2Op, math::ExpM1Op, math::LogOp,
             math::Log2Op, math::Log10Op, math::Log1pOp, math::PowFOp,
             math::FPowIOp, math::RsqrtOp, math::SqrtOp, arith::DivFOp>(op);
}

bool ampc::amp::isContraction(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp)
    return false;
  if (linalg::isaContractionOpInterface(linalgOp))
    return true;
  // Pooling has the iteration structure of a convolution, but no products.
  if (!linalg::isaConvolutionOpInterface(linalgOp))
    return false;
  bool multiplies = false;
  op->getRegion(0).walk([&](arith::MulFOp) { multiplies = true; });
  return multiplies;
}

/// Classifies an op with a scalar payload (linalg.generic, linalg.map).
static OpClass classifyPayload(Operation *op, Region &payload,
                               unsigned numFloatInputs, bool hasReduction) {
  // A multiply-add that reduces everything to a scalar is a dot product on
  // the way to a loss (sum(onehot * log_softmax)): it stays in f32.
  if (isContraction(op)) {
    auto linalgOp = cast<linalg::LinalgOp>(op);
    bool fullReduction = llvm::all_of(linalgOp.getDpsInits(), [](Value init) {
      auto shaped = dyn_cast<ShapedType>(init.getType());
      return shaped && shaped.getRank() == 0;
    });
    return fullReduction ? OpClass::Fp32 : OpClass::Lower;
  }
  bool sensitive = false;
  payload.walk(
      [&](Operation *inner) { sensitive |= isPrecisionSensitive(inner); });
  if (sensitive || hasReduction)
    return OpClass::Fp32;
  return numFloatInputs >= 2 ? OpClass::Promote : OpClass::Follow;
}

Classification ampc::amp::classifyOp(Operation *op) {
  auto classified = [](OpClass c) {
    return Classification{OpKind::Classified, c};
  };
  if (isa<AmpDialect>(op->getDialect()) ||
      // Hand-written conversions are decisions already made: kept as written.
      isa<arith::ConstantOp, tensor::EmptyOp, linalg::FillOp, func::ReturnOp,
          arith::ExtFOp, arith::TruncFOp, func::CallOp, tensor::DimOp>(op) ||
      !hasFloatValues(op))
    return {OpKind::Neutral};

  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    unsigned floatInputs = llvm::count_if(generic.getDpsInputs(), isFloatValue);
    bool hasReduction = generic.getNumReductionLoops() > 0;
    return classified(
        classifyPayload(op, generic.getRegion(), floatInputs, hasReduction));
  }
  if (auto map = dyn_cast<linalg::MapOp>(op)) {
    unsigned floatInputs = llvm::count_if(map.getInputs(), isFloatValue);
    return classified(classifyPayload(op, map.getMapper(), floatInputs, false));
  }
  if (isContraction(op))
    return classified(OpClass::Lower);

  return llvm::TypeSwitch<Operation *, Classification>(op)
      // Max and min pooling are exact in any precision.
      .Case<linalg::PoolingNhwcMaxOp, linalg::PoolingNchwMaxOp,
            linalg::PoolingNdhwcMaxOp, linalg::PoolingNhwcMinOp,
            linalg::TransposeOp, linalg::BroadcastOp, linalg::CopyOp,
            tensor::ExtractSliceOp, tensor::ExpandShapeOp,
            tensor::CollapseShapeOp, tensor::ReshapeOp, tensor::CastOp,
            tensor::ExtractOp, tensor::FromElementsOp, arith::NegFOp,
            math::AbsFOp, math::TanhOp, math::ErfOp>(
          [&](Operation *) { return classified(OpClass::Follow); })
      .Case<linalg::SoftmaxOp, linalg::ReduceOp, linalg::PoolingNhwcSumOp,
            linalg::PoolingNchwSumOp, linalg::PoolingNdhwcSumOp>(
          [&](Operation *) { return classified(OpClass::Fp32); })
      .Case<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::MaximumFOp,
            arith::MinimumFOp, arith::MaxNumFOp, arith::MinNumFOp,
            arith::SelectOp, arith::CmpFOp, tensor::ConcatOp,
            tensor::InsertSliceOp>(
          [&](Operation *) { return classified(OpClass::Promote); })
      .Default([&](Operation *inner) {
        if (isPrecisionSensitive(inner))
          return classified(OpClass::Fp32);
        return Classification{OpKind::Unsupported};
      });
}
