//===- Fp8Scaling.cpp - per-tensor scales for fp8 casts --------------------===//
//
// Current scaling computes each cast's scale from the tensor it casts;
// delayed scaling (the training step) reads it from state that
// amp.update_amax_history advances. The scales are divided out of the f32
// results of the contractions that consume the scaled casts.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"
#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cfloat>
#include <cmath>

namespace ampc::amp {
#define GEN_PASS_DEF_AMPFP8SCALING
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

/// One fp8 cast to scale.
struct Site {
  CastOp cast;
  std::string name;
  bool delayed = false;
  Value scale; // f32
};

struct AmpFp8ScalingPass
    : ampc::amp::impl::AmpFp8ScalingBase<AmpFp8ScalingPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!recipe.empty() && recipe != "delayed" && recipe != "current") {
      module.emitError() << "amp-fp8-scaling: unknown recipe '" << recipe
                         << "'; expected delayed or current";
      return signalPassFailure();
    }
    if (algo != "max" && algo != "most_recent") {
      module.emitError() << "amp-fp8-scaling: unknown algo '" << algo
                         << "'; expected max or most_recent";
      return signalPassFailure();
    }
    if (historyLength < 1 || margin < 0) {
      module.emitError() << "amp-fp8-scaling: history-len must be >= 1 and "
                            "margin >= 0";
      return signalPassFailure();
    }
    for (auto fn : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (!fn.isExternal() && failed(scaleFunction(module, fn)))
        return signalPassFailure();
  }

  /// (fp8_max / amax) / 2^margin, 1 when amax is 0 or not finite, the
  /// largest f32 when the quotient overflows.
  Value currentScale(OpBuilder &b, Location loc, Value amax, Type format) {
    auto f32 = [&](double v) {
      return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
    };
    Value q = arith::DivFOp::create(b, loc, f32(getLargestFinite(cast<FloatType>(format))), amax);
    if (margin > 0)
      q = arith::MulFOp::create(b, loc, q, f32(std::ldexp(1.0, -margin)));
    Value overflowed = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                             q, f32(INFINITY));
    q = arith::SelectOp::create(b, loc, overflowed, f32(FLT_MAX), q);
    Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                           amax, f32(0.0));
    Value finite = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                         amax, f32(INFINITY));
    Value valid = arith::AndIOp::create(b, loc, positive, finite);
    return arith::SelectOp::create(b, loc, valid, q, f32(1.0));
  }

  LogicalResult scaleFunction(ModuleOp module, func::FuncOp fn) {
    SmallVector<Site> sites;
    bool trainStep = abi::isTrainStep(fn);
    fn.walk([&](CastOp cast) {
      if (!isFp8Type(cast.getResultElementType()) ||
          isFp8Type(cast.getSourceElementType()) || cast.getScale())
        return WalkResult::advance();
      Site site;
      site.cast = cast;
      bool delayed = false;
      // Only casts feeding fp8 contractions are scaled; any other fp8 cast
      // (a hand-written quantization, say) is a decision kept as written.
      for (Operation *user : cast->getUsers()) {
        auto linalgOp = dyn_cast<linalg::LinalgOp>(user);
        auto precision =
            user->getAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName());
        if (!linalgOp || linalgOp->getNumResults() != 1 || !precision ||
            !isFp8Type(precision.getCompute()) ||
            llvm::is_contained(linalgOp.getDpsInits(), cast.getResult()))
          return WalkResult::advance();
        delayed |= precision.getRecipe() == ScalingRecipe::delayed;
      }
      if (!recipe.empty())
        delayed = recipe == "delayed";
      site.delayed = delayed && trainStep;
      sites.push_back(site);
      return WalkResult::advance();
    });
    if (sites.empty())
      return success();

    // Names of the sites: what they cast.
    CastSiteNamer namer(fn);
    for (Site &site : sites)
      site.name = namer.name(site.cast.getInput());

    // Delayed sites: state arguments and results of the training step and
    // their initial values in @train_state_init.
    MLIRContext *context = fn.getContext();
    Location loc = fn.getLoc();
    auto historyType =
        RankedTensorType::get({historyLength}, Float32Type::get(context));
    auto scaleType = RankedTensorType::get({}, Float32Type::get(context));
    unsigned argIndex = abi::getStateArgumentEnd(fn);
    unsigned resultIndex = abi::getStateResultEnd(fn);
    auto init = module.lookupSymbol<func::FuncOp>(abi::kStateInitName);
    bool anyDelayed = llvm::any_of(sites, [](const Site &s) { return s.delayed; });
    if (anyDelayed && (!init || init.isExternal())) {
      fn.emitOpError("amp-fp8-scaling: delayed scaling of the training step "
                     "needs @train_state_init (from amp-build-train-step)");
      return failure();
    }
    SmallVector<Value> newState;
    SmallVector<abi::Role> newStateRoles;
    OpBuilder b(context);
    auto role = [&](const abi::Role &r) { return abi::getRoleDict(context, r); };
    auto algoAttr = AmaxAlgoAttr::get(
        context, algo == "max" ? AmaxAlgo::max : AmaxAlgo::most_recent);
    for (Site &site : sites) {
      b.setInsertionPoint(site.cast);
      Location castLoc = site.cast.getLoc();
      Type format = site.cast.getResultElementType();
      Value amax = AmaxOp::create(b, castLoc, site.cast.getInput());
      if (!site.delayed) {
        site.scale = currentScale(b, castLoc, amax, format);
      } else {
        auto historyRole = abi::Role::ofFp8(abi::RoleKind::Fp8AmaxHistory, site.name);
        auto scaleRole = abi::Role::ofFp8(abi::RoleKind::Fp8Scale, site.name);
        if (failed(fn.insertArgument(argIndex, historyType, role(historyRole),
                                     loc)) ||
            failed(fn.insertArgument(argIndex + 1, scaleType, role(scaleRole),
                                     loc)))
          return fn.emitOpError("amp-fp8-scaling: cannot add state arguments");
        Value history = fn.getArgument(argIndex);
        Value scale0d = fn.getArgument(argIndex + 1);
        argIndex += 2;
        site.scale = tensor::ExtractOp::create(b, castLoc, scale0d, ValueRange{});
        auto update = UpdateAmaxHistoryOp::create(
            b, castLoc, history, amax, site.scale, TypeAttr::get(format),
            algoAttr, b.getI64IntegerAttr(margin));
        newState.push_back(update.getNewHistory());
        newStateRoles.push_back(historyRole);
        newStateRoles.push_back(scaleRole);
        newState.push_back(tensor::FromElementsOp::create(
            b, castLoc, scaleType, update.getNewScale()));
        // Initial values: an empty history and scale 1, as TE starts.
        OpBuilder ib(init.getBody().front().getTerminator());
        auto ret = cast<func::ReturnOp>(init.getBody().front().getTerminator());
        Value zeros = arith::ConstantOp::create(
            ib, loc, DenseElementsAttr::get(historyType, 0.0f));
        Value one =
            arith::ConstantOp::create(ib, loc, DenseElementsAttr::get(scaleType, 1.0f));
        unsigned n = init.getNumResults();
        if (failed(init.insertResult(n, historyType, role(historyRole))) ||
            failed(init.insertResult(n + 1, scaleType, role(scaleRole))))
          return init.emitOpError("amp-fp8-scaling: cannot add results");
        ret->insertOperands(n, {zeros, one});
      }
      auto scaled = CastOp::create(b, castLoc, site.cast.getType(),
                                   site.cast.getInput(), site.scale,
                                   site.cast.getRoundingAttr(),
                                   site.cast.getOverflowAttr());
      site.cast.replaceAllUsesWith(scaled.getResult());
      site.cast.erase();
      site.cast = scaled;
    }
    if (!newState.empty()) {
      auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
      for (auto [i, value] : llvm::enumerate(newState))
        if (failed(fn.insertResult(resultIndex + i, value.getType(),
                                   role(newStateRoles[i]))))
          return fn.emitOpError("amp-fp8-scaling: cannot add state results");
      ret->insertOperands(resultIndex, newState);
    }

    // Divide the scales out of every consumer's result.
    DenseMap<Value, Value> scaleOf;
    for (Site &site : sites)
      scaleOf[site.cast.getResult()] = site.scale;
    llvm::SetVector<Operation *> consumers;
    for (Site &site : sites)
      for (Operation *user : site.cast->getUsers())
        consumers.insert(user);
    for (Operation *op : consumers)
      descale(cast<linalg::LinalgOp>(op), scaleOf);
    return success();
  }

  /// result := result / (product of the input scales); an initial value other
  /// than zero is multiplied by the product first.
  void descale(linalg::LinalgOp op, const DenseMap<Value, Value> &scaleOf) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value product;
    for (Value input : op.getDpsInputs())
      if (Value s = scaleOf.lookup(input))
        product = product ? Value(arith::MulFOp::create(b, loc, product, s)) : s;
    auto scalar0d = RankedTensorType::get({}, b.getF32Type());
    auto multiply = [&](Value tensor, Value factor) -> Value {
      Value factor0d = tensor::FromElementsOp::create(b, loc, scalar0d, factor);
      return buildElementwiseF32(
          b, loc, cast<RankedTensorType>(tensor.getType()), {tensor, factor0d},
          [](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
            return arith::MulFOp::create(nb, nloc, args[0], args[1]);
          });
    };
    OpOperand &init = op.getDpsInitsMutable()[0];
    auto fill = init.get().getDefiningOp<linalg::FillOp>();
    bool zeroInit = fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
    if (!zeroInit)
      init.set(multiply(init.get(), product));
    b.setInsertionPointAfter(op);
    Value inverse = arith::DivFOp::create(
        b, loc, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f)),
        product);
    Value result = op->getResult(0);
    Value descaled = multiply(result, inverse);
    result.replaceAllUsesExcept(descaled, descaled.getDefiningOp());
  }
};

} // namespace
