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
    SmallVector<Site> sites = collectSites(fn);
    if (sites.empty())
      return success();
    auto init = module.lookupSymbol<func::FuncOp>(abi::kStateInitName);
    bool anyDelayed =
        llvm::any_of(sites, [](const Site &s) { return s.delayed; });
    if (anyDelayed && (!init || init.isExternal()))
      return fn.emitOpError(
          "amp-fp8-scaling: delayed scaling of the training step needs "
          "@train_state_init (from amp-build-train-step)");
    DelayedState state(fn, historyLength);
    if (anyDelayed && failed(addPositionState(fn, state, init)))
      return failure();
    for (Site &site : sites) {
      OpBuilder b(site.cast);
      Location loc = site.cast.getLoc();
      Value amax = AmaxOp::create(b, loc, site.cast.getInput());
      if (!site.delayed)
        site.scale = currentScale(b, loc, amax, site.cast.getResultElementType());
      else if (failed(addDelayedScale(b, site, amax, state, init)))
        return failure();
      auto scaled = CastOp::create(b, loc, site.cast.getType(),
                                   site.cast.getInput(), site.scale,
                                   site.cast.getRoundingAttr(),
                                   site.cast.getOverflowAttr());
      site.cast.replaceAllUsesWith(scaled.getResult());
      site.cast.erase();
      site.cast = scaled;
    }
    if (failed(state.returnNewState(fn)))
      return failure();
    descaleConsumers(sites);
    return success();
  }

  /// The fp8 casts of `fn` that feed fp8 contractions, named by what they
  /// cast; delayed where the recipe says so and `fn` is a training step.
  SmallVector<Site> collectSites(func::FuncOp fn) {
    SmallVector<Site> sites;
    bool trainStep = abi::isTrainStep(fn);
    fn.walk([&](CastOp cast) {
      if (!isFp8Type(cast.getResultElementType()) ||
          isFp8Type(cast.getSourceElementType()) || cast.getScale())
        return WalkResult::advance();
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
      sites.push_back({cast, "", delayed && trainStep, Value()});
      return WalkResult::advance();
    });
    CastSiteNamer namer(fn);
    for (Site &site : sites)
      site.name = namer.name(site.cast.getInput());
    return sites;
  }

  /// The training step's new state (one position for all histories, then
  /// per delayed site: amax history, its block maxima, scale), added to its
  /// arguments at the end of the state and returned at the same place.
  struct DelayedState {
    DelayedState(func::FuncOp fn, int64_t historyLength)
        : argIndex(abi::getStateArgumentEnd(fn)),
          resultIndex(abi::getStateResultEnd(fn)) {
      Type f32 = Float32Type::get(fn.getContext());
      auto vector = [&](int64_t n) { return RankedTensorType::get({n}, f32); };
      // Their order within a site, and their initial values: an empty
      // history, as TE starts, and scale 1.
      slots = {{abi::RoleKind::Fp8AmaxHistory, vector(historyLength), 0.0},
               {abi::RoleKind::Fp8AmaxBlockMax,
                vector(blockCountFor(historyLength)), 0.0},
               {abi::RoleKind::Fp8Scale, RankedTensorType::get({}, f32), 1.0}};
    }

    /// The number of blocks whose maxima are kept: the divisor of `length`
    /// nearest its square root from above, so that an update reads about
    /// 2 sqrt(length) values (32 blocks of 32 for 1024).
    static int64_t blockCountFor(int64_t length) {
      int64_t blockLength = 1;
      for (int64_t d = 1; d * d <= length; ++d)
        if (length % d == 0)
          blockLength = d;
      return length / blockLength;
    }

    LogicalResult returnNewState(func::FuncOp fn) {
      if (values.empty())
        return success();
      MLIRContext *context = fn.getContext();
      auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
      for (auto [i, value] : llvm::enumerate(values))
        if (failed(fn.insertResult(resultIndex + i, value.getType(),
                                   abi::getRoleDict(context, roles[i]))))
          return fn.emitOpError("amp-fp8-scaling: cannot add state results");
      ret->insertOperands(resultIndex, values);
      return success();
    }

    struct Slot {
      abi::RoleKind kind;
      RankedTensorType type;
      double initialValue;
    };
    SmallVector<Slot, 3> slots;
    /// Where every history's next amax goes (i32), read at the start of the
    /// step; all histories advance together.
    Value position;
    unsigned argIndex, resultIndex;
    SmallVector<Value> values;
    SmallVector<abi::Role> roles;
  };

  /// Adds a state tensor with `role`, starting at `initial`, at the end of
  /// the training step's state arguments (its new value goes to
  /// `state.values` later) and to @train_state_init's results; returns the
  /// argument.
  FailureOr<Value> addStateValue(func::FuncOp fn, func::FuncOp init,
                                 DelayedState &state, const abi::Role &role,
                                 DenseElementsAttr initial) {
    MLIRContext *context = fn.getContext();
    Location loc = fn.getLoc();
    auto type = cast<RankedTensorType>(initial.getType());
    DictionaryAttr roleDict = abi::getRoleDict(context, role);
    unsigned index = state.argIndex++;
    unsigned n = init.getNumResults();
    if (failed(fn.insertArgument(index, type, roleDict, loc)) ||
        failed(init.insertResult(n, type, roleDict)))
      return fn.emitOpError("amp-fp8-scaling: cannot add state '")
             << role.str() << "'";
    auto ret = cast<func::ReturnOp>(init.getBody().front().getTerminator());
    OpBuilder ib(ret);
    ret->insertOperands(
        n, arith::ConstantOp::create(ib, loc, initial).getResult());
    state.roles.push_back(role);
    return fn.getArgument(index);
  }

  /// Adds the position of the histories (`fp8.amax_position`, initially 0);
  /// its new value is the first of `state.values`, set by the first
  /// history update.
  LogicalResult addPositionState(func::FuncOp fn, DelayedState &state,
                                 func::FuncOp init) {
    auto type =
        RankedTensorType::get({}, IntegerType::get(fn.getContext(), 32));
    FailureOr<Value> arg = addStateValue(
        fn, init, state, abi::Role::of(abi::RoleKind::Fp8AmaxPosition),
        DenseElementsAttr::get(type,
                               IntegerAttr::get(type.getElementType(), 0)));
    if (failed(arg))
      return failure();
    auto b = OpBuilder::atBlockBegin(&fn.getBody().front());
    state.position =
        tensor::ExtractOp::create(b, fn.getLoc(), *arg, ValueRange{});
    state.values.push_back(Value());
    return success();
  }

  /// Adds the state of `site` (`state.slots`); returns its arguments, in
  /// that order.
  FailureOr<SmallVector<Value, 3>> addSiteState(Site &site, DelayedState &state,
                                                func::FuncOp init) {
    auto fn = site.cast->getParentOfType<func::FuncOp>();
    SmallVector<Value, 3> arguments;
    for (const DelayedState::Slot &slot : state.slots) {
      FailureOr<Value> arg = addStateValue(
          fn, init, state, abi::Role::ofFp8(slot.kind, site.name),
          DenseElementsAttr::get(
              slot.type,
              FloatAttr::get(slot.type.getElementType(), slot.initialValue)));
      if (failed(arg))
        return failure();
      arguments.push_back(*arg);
    }
    return arguments;
  }

  /// The scale of a delayed site: from state arguments of the training step,
  /// updated with this step's amax.
  LogicalResult addDelayedScale(OpBuilder &b, Site &site, Value amax,
                                DelayedState &state, func::FuncOp init) {
    auto fn = site.cast->getParentOfType<func::FuncOp>();
    MLIRContext *context = fn.getContext();
    Location loc = site.cast.getLoc();
    FailureOr<SmallVector<Value, 3>> args = addSiteState(site, state, init);
    if (failed(args))
      return failure();
    Value history = (*args)[0], blockMax = (*args)[1];
    site.scale = tensor::ExtractOp::create(b, loc, (*args)[2], ValueRange{});
    auto algoAttr = AmaxAlgoAttr::get(
        context, algo == "max" ? AmaxAlgo::max : AmaxAlgo::most_recent);
    // Data-parallel ranks record the largest amax of any rank, so that
    // their histories and scales stay identical.
    if (fn->hasAttr(abi::kDataParallelAttrName)) {
      auto scalar0d = RankedTensorType::get({}, b.getF32Type());
      Value amax0d = tensor::FromElementsOp::create(b, loc, scalar0d, amax);
      Value reduced = AllReduceOp::create(b, loc, TypeRange{scalar0d},
                                          ReduceKind::max, ValueRange{amax0d})
                          .getResult(0);
      amax = tensor::ExtractOp::create(b, loc, reduced, ValueRange{});
    }
    auto update = UpdateAmaxHistoryOp::create(
        b, loc, history, blockMax, state.position, amax, site.scale,
        TypeAttr::get(site.cast.getResultElementType()), algoAttr,
        b.getI64IntegerAttr(margin));
    auto scalar = [&](Value v) -> Value {
      return tensor::FromElementsOp::create(
          b, loc, RankedTensorType::get({}, v.getType()), v);
    };
    // Every update computes the same next position.
    if (!state.values.front())
      state.values.front() = scalar(update.getNewPosition());
    state.values.append({update.getNewHistory(), update.getNewBlockMax(),
                         scalar(update.getNewScale())});
    return success();
  }

  /// Divides the scales out of every consumer of the scaled casts.
  void descaleConsumers(ArrayRef<Site> sites) {
    DenseMap<Value, Value> scaleOf;
    for (Site site : sites)
      scaleOf[site.cast.getResult()] = site.scale;
    llvm::SetVector<Operation *> consumers;
    for (Site site : sites)
      for (Operation *user : site.cast->getUsers())
        consumers.insert(user);
    for (Operation *op : consumers)
      descale(cast<linalg::LinalgOp>(op), scaleOf);
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
