//===- CastStatistics.cpp - what each cast of the training step loses -----===//
//
// One reduction per narrowing cast counts the non-zero source elements, the
// ones that became zero and the ones beyond the result type's range; the
// shares come back as a result of the training step.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"
#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace ampc::amp {
#define GEN_PASS_DEF_AMPCASTSTATISTICS
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

struct AmpCastStatisticsPass
    : ampc::amp::impl::AmpCastStatisticsBase<AmpCastStatisticsPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal() && abi::isTrainStep(fn))
        instrument(fn);
  }

  /// Counts (non-zero, underflowed, overflowed) elements of one cast, as
  /// three f32 scalars.
  std::array<Value, 3> count(OpBuilder &b, CastOp castOp) {
    Location loc = castOp.getLoc();
    auto f32 = b.getF32Type();
    auto source = castOp.getInput();
    auto type = cast<RankedTensorType>(source.getType());
    unsigned rank = type.getRank();
    MLIRContext *context = b.getContext();
    auto scalar0d = RankedTensorType::get({}, f32);
    Value scale = castOp.getScale();
    if (!scale)
      scale = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f));
    Value scale0d = tensor::FromElementsOp::create(b, loc, scalar0d, scale);
    double limit = getLargestFinite(castOp.getResultElementType());
    Value zeroInit = linalg::FillOp::create(
                         b, loc,
                         ValueRange{arith::ConstantOp::create(
                             b, loc, b.getF32FloatAttr(0.0f))},
                         ValueRange{tensor::EmptyOp::create(
                             b, loc, ArrayRef<int64_t>{}, f32)})
                         .getResult(0);
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, context);
    AffineMap all = AffineMap::get(rank, 0, context);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{scalar0d, scalar0d, scalar0d},
        ValueRange{source, castOp.getResult(), scale0d},
        ValueRange{zeroInit, zeroInit, zeroInit},
        SmallVector<AffineMap>{id, id, all, all, all, all},
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::reduction),
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          auto c = [&](double v) {
            return arith::ConstantOp::create(nb, nloc,
                                             nb.getF32FloatAttr(float(v)));
          };
          Value x = args[0];
          Value y = arith::ExtFOp::create(nb, nloc, f32, args[1]);
          auto flag = [&](Value condition) {
            return arith::SelectOp::create(nb, nloc, condition, c(1.0),
                                           c(0.0));
          };
          Value nonzero = arith::CmpFOp::create(
              nb, nloc, arith::CmpFPredicate::ONE, x, c(0.0));
          Value zeroAfter = arith::CmpFOp::create(
              nb, nloc, arith::CmpFPredicate::OEQ, y, c(0.0));
          Value underflow = arith::AndIOp::create(nb, nloc, nonzero, zeroAfter);
          Value magnitude = math::AbsFOp::create(
              nb, nloc, arith::MulFOp::create(nb, nloc, x, args[2]));
          Value overflow = arith::CmpFOp::create(
              nb, nloc, arith::CmpFPredicate::OGT, magnitude, c(limit));
          Value a = arith::AddFOp::create(nb, nloc, args[3], flag(nonzero));
          Value u = arith::AddFOp::create(nb, nloc, args[4], flag(underflow));
          Value o = arith::AddFOp::create(nb, nloc, args[5], flag(overflow));
          linalg::YieldOp::create(nb, nloc, ValueRange{a, u, o});
        });
    auto f32Precision = PrecisionAttr::get(f32, f32);
    generic->setAttr(PrecisionAttr::getAttrName(), f32Precision);
    std::array<Value, 3> counts;
    for (unsigned i = 0; i < 3; ++i)
      counts[i] = tensor::ExtractOp::create(b, loc, generic.getResult(i),
                                            ValueRange{});
    return counts;
  }

  void instrument(func::FuncOp fn) {
    SmallVector<CastOp> casts;
    fn.walk([&](CastOp castOp) {
      FloatType from = castOp.getSourceElementType(),
                to = castOp.getResultElementType();
      auto type = dyn_cast<RankedTensorType>(castOp.getType());
      if (type && type.hasStaticShape() && from.isF32() &&
          to.getWidth() < from.getWidth())
        casts.push_back(castOp);
    });
    if (casts.empty())
      return;
    MLIRContext *context = fn.getContext();
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    OpBuilder b(ret);
    Location loc = fn.getLoc();
    CastSiteNamer namer(fn);
    SmallVector<Attribute> names;
    SmallVector<Value> shares;
    auto f32 = b.getF32Type();
    for (CastOp castOp : casts) {
      std::string name;
      llvm::raw_string_ostream os(name);
      os << namer.name(castOp.getInput()) << ":"
         << castOp.getResultElementType();
      names.push_back(StringAttr::get(context, name));
      std::array<Value, 3> counts = count(b, castOp);
      Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f));
      Value nonzero = arith::MaximumFOp::create(b, loc, counts[0], one);
      int64_t n = cast<RankedTensorType>(castOp.getType()).getNumElements();
      Value numel = arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(float(std::max<int64_t>(n, 1))));
      shares.push_back(arith::DivFOp::create(b, loc, counts[1], nonzero));
      shares.push_back(arith::DivFOp::create(b, loc, counts[2], numel));
    }
    auto type = RankedTensorType::get({int64_t(casts.size()), 2}, f32);
    Value stats = tensor::FromElementsOp::create(b, loc, type, shares);
    unsigned index = fn.getNumResults();
    if (failed(fn.insertResult(index, type, abi::getRoleDict(context,
                                                     abi::Role::of(abi::RoleKind::CastStats))))) {
      fn.emitOpError("amp-cast-statistics: cannot add the statistics result");
      return signalPassFailure();
    }
    ret->insertOperands(ret->getNumOperands(), stats);
    fn->setAttr(abi::kCastSitesAttrName, ArrayAttr::get(context, names));
  }
};

} // namespace
