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
    SmallVector<Site *> delayed;
    for (Site &site : sites)
      if (site.delayed)
        delayed.push_back(&site);
    if (!delayed.empty() && (!init || init.isExternal()))
      return fn.emitOpError(
          "amp-fp8-scaling: delayed scaling of the training step needs "
          "@train_state_init (from amp-build-train-step)");
    DelayedState state(fn, init, historyLength, delayed);
    if (!delayed.empty() && failed(state.addArguments()))
      return failure();
    SmallVector<Value> amaxes;
    for (Site &site : sites) {
      OpBuilder b(site.cast);
      Location loc = site.cast.getLoc();
      Value amax = AmaxOp::create(b, loc, site.cast.getInput());
      if (site.delayed) {
        site.scale = state.scaleOf(b, loc, amaxes.size());
        amaxes.push_back(amax);
      } else {
        site.scale =
            currentScale(b, loc, amax, site.cast.getResultElementType());
      }
      auto scaled = CastOp::create(b, loc, site.cast.getType(),
                                   site.cast.getInput(), site.scale,
                                   site.cast.getRoundingAttr(),
                                   site.cast.getOverflowAttr());
      site.cast.replaceAllUsesWith(scaled.getResult());
      site.cast.erase();
      site.cast = scaled;
    }
    if (!delayed.empty() && failed(updateDelayedState(state, amaxes)))
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

  /// The state of delayed scaling in a training step: one column per
  /// delayed site, as Transformer Engine's fp8 meta keeps it. Its arguments
  /// go at the end of the step's state arguments, its new values at the
  /// same place among the results, its initial values (position 0, empty
  /// histories as TE starts, scales 1) to @train_state_init's results.
  struct DelayedState {
    DelayedState(func::FuncOp fn, func::FuncOp init, int64_t historyLength,
                 ArrayRef<Site *> sites)
        : fn(fn), init(init), historyLength(historyLength),
          sites(sites.begin(), sites.end()) {}

    /// Adds the state arguments (`kinds`) and names the sites' columns.
    LogicalResult addArguments() {
      MLIRContext *context = fn.getContext();
      SmallVector<Attribute> names;
      for (Site *site : sites)
        names.push_back(StringAttr::get(context, site->name));
      fn->setAttr(abi::kFp8SitesAttrName, ArrayAttr::get(context, names));
      unsigned index = abi::getStateArgumentEnd(fn);
      for (abi::RoleKind kind : kinds) {
        DenseElementsAttr initial = initialValue(kind);
        auto type = cast<RankedTensorType>(initial.getType());
        DictionaryAttr role = abi::getRoleDict(context, abi::Role::of(kind));
        unsigned n = init.getNumResults();
        if (failed(fn.insertArgument(index, type, role, fn.getLoc())) ||
            failed(init.insertResult(n, type, role)))
          return fn.emitOpError("amp-fp8-scaling: cannot add state '")
                 << abi::Role::of(kind).str() << "'";
        auto ret = cast<func::ReturnOp>(init.getBody().front().getTerminator());
        OpBuilder ib(ret);
        ret->insertOperands(
            n, arith::ConstantOp::create(ib, fn.getLoc(), initial).getResult());
        arguments.push_back(fn.getArgument(index++));
      }
      return success();
    }

    /// The state's arguments, once added.
    Value position() const { return arguments[0]; }
    Value history() const { return arguments[1]; }
    Value blockMax() const { return arguments[2]; }
    Value scales() const { return arguments[3]; }

    /// The scale of the site in `column`, read from the state.
    Value scaleOf(OpBuilder &b, Location loc, size_t column) const {
      Value index = arith::ConstantIndexOp::create(b, loc, column);
      return tensor::ExtractOp::create(b, loc, scales(), index);
    }

    /// The state's arguments (position, history, block maxima, scales) and
    /// their roles, in that order.
    static constexpr abi::RoleKind kinds[] = {
        abi::RoleKind::Fp8AmaxPosition, abi::RoleKind::Fp8AmaxHistory,
        abi::RoleKind::Fp8AmaxBlockMax, abi::RoleKind::Fp8Scale};
    func::FuncOp fn, init;
    int64_t historyLength;
    SmallVector<Site *> sites;
    SmallVector<Value, 4> arguments;

  private:
    DenseElementsAttr initialValue(abi::RoleKind kind) {
      Builder b(fn.getContext());
      int64_t columns = sites.size();
      auto filled = [&](ArrayRef<int64_t> shape, float value) {
        return DenseElementsAttr::get(
            RankedTensorType::get(shape, b.getF32Type()),
            b.getF32FloatAttr(value));
      };
      switch (kind) {
      case abi::RoleKind::Fp8AmaxHistory:
        return filled({historyLength, columns}, 0.0f);
      case abi::RoleKind::Fp8AmaxBlockMax:
        return filled({blockCountFor(historyLength), columns}, 0.0f);
      case abi::RoleKind::Fp8Scale:
        return filled({columns}, 1.0f);
      default:
        return DenseElementsAttr::get(RankedTensorType::get({}, b.getI32Type()),
                                      b.getI32IntegerAttr(0));
      }
    }
  };

  /// The number of blocks whose maxima are kept: the divisor of `length`
  /// nearest its square root from above, so that an update reads about
  /// 2 sqrt(length) rows (32 blocks of 32 for 1024).
  static int64_t blockCountFor(int64_t length) {
    int64_t blockLength = 1;
    for (int64_t d = 1; d * d <= length; ++d)
      if (length % d == 0)
        blockLength = d;
    return length / blockLength;
  }

  /// Records this step's `amaxes` (one per delayed site, in column order)
  /// with one amp.update_amax_history before the step returns, and returns
  /// the new state.
  LogicalResult updateDelayedState(DelayedState &state,
                                   ArrayRef<Value> amaxes) {
    func::FuncOp fn = state.fn;
    MLIRContext *context = fn.getContext();
    Location loc = fn.getLoc();
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    for (auto [site, amax] : llvm::zip_equal(state.sites, amaxes))
      if (Value(amax).getParentBlock() != ret->getBlock())
        return site->cast.emitOpError(
            "amp-fp8-scaling: delayed scaling needs the cast in the training "
            "step's body, not in a nested region");
    OpBuilder b(ret);
    auto vector = RankedTensorType::get({int64_t(amaxes.size())},
                                        Float32Type::get(context));
    Value amax = tensor::FromElementsOp::create(b, loc, vector, amaxes);
    // Data-parallel ranks record the largest amax of any rank, so that
    // their histories and scales stay identical.
    if (fn->hasAttr(abi::kDataParallelAttrName))
      amax = AllReduceOp::create(b, loc, TypeRange{vector}, ReduceKind::max,
                                 ValueRange{amax})
                 .getResult(0);
    SmallVector<Attribute> formats;
    for (Site *site : state.sites)
      formats.push_back(TypeAttr::get(site->cast.getResultElementType()));
    auto algoAttr = AmaxAlgoAttr::get(
        context, algo == "max" ? AmaxAlgo::max : AmaxAlgo::most_recent);
    Value position =
        tensor::ExtractOp::create(b, loc, state.position(), ValueRange{});
    auto update = UpdateAmaxHistoryOp::create(
        b, loc, state.history(), state.blockMax(), position, amax,
        state.scales(), ArrayAttr::get(context, formats), algoAttr,
        b.getI64IntegerAttr(margin));
    Value newPosition = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, b.getI32Type()),
        update.getNewPosition());
    Value values[] = {newPosition, update.getNewHistory(),
                      update.getNewBlockMax(), update.getNewScale()};
    unsigned resultIndex = abi::getStateResultEnd(fn);
    for (auto [i, value] : llvm::enumerate(values))
      if (failed(fn.insertResult(
              resultIndex + i, value.getType(),
              abi::getRoleDict(context,
                               abi::Role::of(DelayedState::kinds[i])))))
        return fn.emitOpError("amp-fp8-scaling: cannot add state results");
    ret->insertOperands(resultIndex, values);
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
