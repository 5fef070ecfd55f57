//===- TrainStep.cpp - forward + backward + update in one function --------===//
//
// amp-build-train-step: @train_step runs the forward computation, the reverse
// sweep seeded with the loss scale, unscaling and the finite check, gradient
// clipping, the optimizer update and the loss-scale update, all on tensors in
// f32; @train_state_init returns the initial optimizer and loss-scale state.
//
//===----------------------------------------------------------------------===//

#include "ampc/Autodiff/Autodiff.h"
#include "ampc/Autodiff/Passes.h"
#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace ampc {
#define GEN_PASS_DEF_AMPBUILDTRAINSTEP
#include "ampc/Autodiff/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc::amp;

namespace {

/// One tensor of training state: its role name, type and initial value.
struct StateSlot {
  std::string role;
  RankedTensorType type;
  double init;
};

/// Builds the update arithmetic. Every linalg op it creates is marked f32:
/// the update runs on master weights whatever the policy.
class UpdateBuilder {
public:
  UpdateBuilder(OpBuilder &b, Location loc)
      : b(b), loc(loc), f32(b.getF32Type()),
        fp32(PrecisionAttr::get(f32, f32)) {}

  Value constant(double value) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(value)));
  }
  /// The element of a 0-d tensor.
  Value scalar(Value tensor0d) {
    return tensor::ExtractOp::create(b, loc, tensor0d, ValueRange{});
  }
  /// A 0-d tensor holding `value`.
  Value tensor0d(Value value) {
    return tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({}, value.getType()), value);
  }

  /// An elementwise f32 generic over `type` (0-d inputs broadcast).
  Value elementwise(
      RankedTensorType type, ValueRange inputs,
      llvm::function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    return buildElementwiseF32(b, loc, type, inputs, body);
  }

  /// sum(x * x) over every element of `x`, as a 0-d tensor.
  Value sumOfSquares(Value x) {
    MLIRContext *context = b.getContext();
    auto type = cast<RankedTensorType>(x.getType());
    unsigned rank = type.getRank();
    auto scalarType = RankedTensorType::get({}, f32);
    Value init = linalg::FillOp::create(
                     b, loc, constant(0.0),
                     tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, f32)
                         .getResult())
                     .getResult(0);
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank, context),
        AffineMap::get(rank, 0, context)};
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{scalarType}, ValueRange{x}, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::reduction),
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value square = arith::MulFOp::create(nb, nloc, args[0], args[0]);
          Value sum = arith::AddFOp::create(nb, nloc, square, args[1]);
          linalg::YieldOp::create(nb, nloc, sum);
        });
    mark(op);
    return op.getResult(0);
  }

  void mark(Operation *op) { op->setAttr(PrecisionAttr::getAttrName(), fp32); }

  OpBuilder &b;
  Location loc;
  FloatType f32;
  PrecisionAttr fp32;
};

/// Scalar arithmetic inside a generic body.
struct Scalar {
  OpBuilder &b;
  Location loc;
  Value c(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value sqrt(Value x) { return math::SqrtOp::create(b, loc, x); }
};

struct AmpBuildTrainStepPass
    : ampc::impl::AmpBuildTrainStepBase<AmpBuildTrainStepPass> {
  using Base::Base;

  LogicalResult verifyOptions(ModuleOp module) {
    auto bad = [&](const Twine &message) {
      return module.emitError() << "amp-build-train-step: " << message;
    };
    auto finite = [](double v) { return std::isfinite(v); };
    if (optimizer != "sgd" && optimizer != "adam" && optimizer != "adamw")
      return bad("unknown optimizer '" + optimizer +
                 "'; expected sgd, adam or adamw");
    if (lossScaling != "none" && lossScaling != "static" &&
        lossScaling != "dynamic")
      return bad("unknown loss-scaling '" + lossScaling +
                 "'; expected none, static or dynamic");
    if (!finite(learningRate) || learningRate <= 0)
      return bad("lr must be positive, got " + llvm::formatv("{0}", double(learningRate)).str());
    if (!finite(momentum) || momentum < 0 || momentum >= 1)
      return bad("momentum must be in [0, 1), got " + llvm::formatv("{0}", double(momentum)).str());
    if (nesterov && (optimizer != "sgd" || momentum == 0))
      return bad("nesterov needs the sgd optimizer with a momentum");
    if (momentum != 0 && optimizer != "sgd")
      return bad("momentum applies to sgd; adam and adamw take beta1");
    if (!finite(beta1) || beta1 < 0 || beta1 >= 1 || !finite(beta2) ||
        beta2 < 0 || beta2 >= 1)
      return bad("beta1 and beta2 must be in [0, 1)");
    if (!finite(epsilon) || epsilon <= 0)
      return bad("eps must be positive");
    if (!finite(weightDecay) || weightDecay < 0)
      return bad("weight-decay must be >= 0");
    if (!finite(clipNorm) || clipNorm < 0)
      return bad("clip-norm must be >= 0 (0: no clipping)");
    if (lossScaling == "none")
      return success();
    if (!finite(initScale) || initScale <= 0 ||
        !finite(float(initScale)))
      return bad("init-scale must be a positive finite f32 value");
    if (lossScaling == "static")
      return success();
    if (!finite(growthFactor) || growthFactor <= 1)
      return bad("growth-factor must be > 1");
    if (!finite(backoffFactor) || backoffFactor <= 0 || backoffFactor >= 1)
      return bad("backoff-factor must be in (0, 1)");
    if (growthInterval < 1 || growthInterval > INT32_MAX)
      return bad("growth-interval must be a positive 32-bit integer");
    if (hysteresis < 1 || hysteresis > INT32_MAX)
      return bad("hysteresis must be a positive 32-bit integer");
    if (minScale < 0 || maxScale < 0 ||
        (minScale > 0 && maxScale > 0 && minScale > maxScale))
      return bad("min-scale and max-scale must be >= 0 (0: unbounded) with "
                 "min-scale <= max-scale");
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = module.getContext();
    if (failed(verifyOptions(module)))
      return signalPassFailure();
    auto forward = module.lookupSymbol<func::FuncOp>(function);
    if (!forward || forward.isExternal()) {
      module.emitError() << "amp-build-train-step: no function @" << function
                         << " with a body to train";
      return signalPassFailure();
    }
    for (StringRef name : {"train_step", "train_state_init"})
      if (module.lookupSymbol(name)) {
        module.emitError() << "amp-build-train-step: the module already has "
                              "a symbol @"
                           << name;
        return signalPassFailure();
      }
    if (failed(ampc::verifyLossFunction(forward)))
      return signalPassFailure();
    Type lossType = forward.getResultTypes()[0];
    auto f32 = Float32Type::get(context);
    if (getElementTypeOrSelf(lossType) != f32) {
      forward.emitOpError("the loss must be f32 to be trained, not ")
          << lossType;
      return signalPassFailure();
    }

    // Parameters and batch inputs.
    SmallVector<unsigned> paramIndices, batchIndices;
    for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
      if (!forward.getArgAttr(i, "amp.param")) {
        batchIndices.push_back(i);
        continue;
      }
      auto type = dyn_cast<RankedTensorType>(forward.getArgumentTypes()[i]);
      if (!type || !type.hasStaticShape() || type.getElementType() != f32) {
        forward.emitOpError("parameter #")
            << i << " must be a static f32 tensor (master weights are f32), "
            << "not " << forward.getArgumentTypes()[i];
        return signalPassFailure();
      }
      paramIndices.push_back(i);
    }
    if (paramIndices.empty()) {
      forward.emitOpError("has no argument marked amp.param: nothing to train");
      return signalPassFailure();
    }

    // The state, in the order of the signature.
    bool sgd = optimizer == "sgd", adam = !sgd;
    bool scaled = lossScaling != "none", dynamic = lossScaling == "dynamic";
    SmallVector<StateSlot> state;
    auto scalarF32 = RankedTensorType::get({}, f32);
    auto scalarI32 = RankedTensorType::get({}, IntegerType::get(context, 32));
    for (auto [p, index] : llvm::enumerate(paramIndices)) {
      auto type = cast<RankedTensorType>(forward.getArgumentTypes()[index]);
      std::string prefix = "param" + std::to_string(p);
      if (sgd && momentum != 0)
        state.push_back({prefix + ".momentum", type, 0.0});
      if (adam) {
        state.push_back({prefix + ".exp_avg", type, 0.0});
        state.push_back({prefix + ".exp_avg_sq", type, 0.0});
      }
    }
    size_t numOptimizerState = state.size();
    if (adam) {
      state.push_back({"beta1_power", scalarF32, 1.0});
      state.push_back({"beta2_power", scalarF32, 1.0});
      numOptimizerState += 2;
    }
    if (dynamic) {
      state.push_back({"loss_scale", scalarF32, initScale});
      state.push_back({"growth_tracker", scalarI32, 0.0});
      state.push_back({"hysteresis_tracker", scalarI32, double(hysteresis)});
    }

    auto role = [&](StringRef name) {
      return NamedAttribute(StringAttr::get(context, kRoleAttrName),
                            StringAttr::get(context, name));
    };
    SmallVector<Type> inputs, results;
    SmallVector<DictionaryAttr> inputAttrs, resultAttrs;
    for (auto [p, index] : llvm::enumerate(paramIndices)) {
      std::string name = "param" + std::to_string(p);
      inputs.push_back(forward.getArgumentTypes()[index]);
      results.push_back(forward.getArgumentTypes()[index]);
      inputAttrs.push_back(DictionaryAttr::get(
          context, {NamedAttribute(StringAttr::get(context, "amp.param"),
                                   UnitAttr::get(context)),
                    role(name)}));
      resultAttrs.push_back(DictionaryAttr::get(context, {role(name)}));
    }
    for (const StateSlot &slot : state) {
      inputs.push_back(slot.type);
      results.push_back(slot.type);
      inputAttrs.push_back(DictionaryAttr::get(context, {role(slot.role)}));
      resultAttrs.push_back(DictionaryAttr::get(context, {role(slot.role)}));
    }
    for (unsigned index : batchIndices) {
      inputs.push_back(forward.getArgumentTypes()[index]);
      NamedAttrList attrs(forward.getArgAttrDict(index));
      attrs.set(kRoleAttrName, StringAttr::get(context, "batch"));
      inputAttrs.push_back(attrs.getDictionary(context));
    }
    auto bool0d = RankedTensorType::get({}, IntegerType::get(context, 1));
    for (auto [type, name] : {std::make_pair(Type(scalarF32), "loss"),
                              std::make_pair(Type(bool0d), "found_inf"),
                              std::make_pair(Type(scalarF32), "grad_norm")}) {
      results.push_back(type);
      resultAttrs.push_back(DictionaryAttr::get(context, {role(name)}));
    }

    // @train_state_init.
    Location loc = forward.getLoc();
    OpBuilder b(context);
    b.setInsertionPointAfter(forward);
    {
      SmallVector<Type> stateTypes;
      for (const StateSlot &slot : state)
        stateTypes.push_back(slot.type);
      auto init = func::FuncOp::create(
          b, loc, "train_state_init", FunctionType::get(context, {}, stateTypes));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(init.addEntryBlock());
      SmallVector<Value> values;
      for (auto [i, slot] : llvm::enumerate(state)) {
        Type element = slot.type.getElementType();
        TypedAttr value =
            isa<FloatType>(element)
                ? TypedAttr(b.getFloatAttr(element, slot.init))
                : TypedAttr(b.getIntegerAttr(element, int64_t(slot.init)));
        values.push_back(arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(slot.type, value)));
        init.setResultAttrs(i, DictionaryAttr::get(context, {role(slot.role)}));
      }
      func::ReturnOp::create(b, loc, values);
    }

    // @train_step: the forward computation first.
    auto step = func::FuncOp::create(
        b, loc, "train_step", FunctionType::get(context, inputs, results));
    step.setAllArgAttrs(inputAttrs);
    step.setAllResultAttrs(resultAttrs);
    Block *body = step.addEntryBlock();
    size_t numParams = paramIndices.size();
    ValueRange params = body->getArguments().take_front(numParams);
    ValueRange stateArgs =
        body->getArguments().slice(numParams, state.size());
    IRMapping mapping;
    for (auto [p, index] : llvm::enumerate(paramIndices))
      mapping.map(forward.getArgument(index), params[p]);
    for (auto [i, index] : llvm::enumerate(batchIndices))
      mapping.map(forward.getArgument(index),
                  body->getArgument(numParams + state.size() + i));
    b.setInsertionPointToStart(body);
    for (Operation &op : forward.getBody().front().without_terminator())
      b.clone(op, mapping);
    Value loss = mapping.lookup(
        forward.getBody().front().getTerminator()->getOperand(0));
    if (failed(ampc::generalizeForAutodiff(step)))
      return signalPassFailure();

    // The backward pass, seeded with the loss scale.
    UpdateBuilder u(b, loc);
    b.setInsertionPointToEnd(body);
    auto stateArg = [&](StringRef name) -> Value {
      for (auto [slot, arg] : llvm::zip(state, stateArgs))
        if (slot.role == name)
          return arg;
      return Value();
    };
    Value scale; // f32 scalar, with loss scaling
    if (dynamic)
      scale = u.scalar(stateArg("loss_scale"));
    else if (scaled)
      scale = u.constant(initScale);
    Value seed;
    if (isa<RankedTensorType>(lossType))
      seed = dynamic ? stateArg("loss_scale")
                     : arith::ConstantOp::create(
                           b, loc, DenseElementsAttr::get(
                                       scalarF32, float(scaled ? initScale
                                                               : 1.0)))
                           .getResult();
    else
      seed = scaled ? scale : u.constant(1.0);
    SmallVector<BlockArgument> wrt(body->getArguments().take_front(numParams));
    FailureOr<SmallVector<Value>> adjoints =
        ampc::buildAdjoints(b, *body, loss, seed, wrt);
    if (failed(adjoints))
      return signalPassFailure();
    SmallVector<Value> grads = *adjoints;

    // Unscale and check; the global norm; clipping.
    Value foundInf;
    if (scaled) {
      SmallVector<Type> types(ValueRange(grads).getTypes());
      types.push_back(b.getI1Type());
      SmallVector<Value> operands(grads);
      operands.push_back(scale);
      auto unscale = UnscaleGradsOp::create(b, loc, types, operands);
      grads.assign(unscale.getUnscaled().begin(), unscale.getUnscaled().end());
      foundInf = unscale.getFoundInf();
    } else {
      foundInf = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
    }
    Value sumSquares;
    for (Value g : grads) {
      Value s = u.scalar(u.sumOfSquares(g));
      sumSquares = sumSquares ? Value(arith::AddFOp::create(b, loc, sumSquares, s))
                              : s;
    }
    Value norm = math::SqrtOp::create(b, loc, sumSquares);
    if (clipNorm > 0) {
      // torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6),
      // clamped to 1; a NaN norm makes every gradient NaN.
      Value coef = arith::DivFOp::create(
          b, loc, u.constant(clipNorm),
          arith::AddFOp::create(b, loc, norm, u.constant(1e-6)));
      coef = arith::MinimumFOp::create(b, loc, coef, u.constant(1.0));
      Value coef0d = u.tensor0d(coef);
      for (Value &g : grads)
        g = u.elementwise(cast<RankedTensorType>(g.getType()), {g, coef0d},
                          [](OpBuilder &nb, Location nloc, ValueRange a) {
                            return Scalar{nb, nloc}.mul(a[0], a[1]);
                          });
    }

    // The optimizer.
    SmallVector<Value> oldValues(params), newValues;
    for (const StateSlot &slot : ArrayRef(state).take_front(numOptimizerState))
      oldValues.push_back(stateArg(slot.role));
    SmallVector<Value> newParams, newState;
    double lr = learningRate, wd = weightDecay, mu = momentum;
    Value stepSize0d, bias2Sqrt0d, newBeta1Power, newBeta2Power;
    if (adam) {
      // torch.optim.Adam: step_size = lr / (1 - beta1^t),
      // denom = sqrt(v) / sqrt(1 - beta2^t) + eps.
      Value p1 = arith::MulFOp::create(b, loc, u.scalar(stateArg("beta1_power")),
                                       u.constant(beta1));
      Value p2 = arith::MulFOp::create(b, loc, u.scalar(stateArg("beta2_power")),
                                       u.constant(beta2));
      newBeta1Power = u.tensor0d(p1);
      newBeta2Power = u.tensor0d(p2);
      stepSize0d = u.tensor0d(arith::DivFOp::create(
          b, loc, u.constant(lr),
          arith::SubFOp::create(b, loc, u.constant(1.0), p1)));
      bias2Sqrt0d = u.tensor0d(math::SqrtOp::create(
          b, loc, arith::SubFOp::create(b, loc, u.constant(1.0), p2)));
    }
    bool decoupled = optimizer == "adamw";
    for (auto [p, param] : llvm::enumerate(params)) {
      auto type = cast<RankedTensorType>(param.getType());
      Value g = grads[p];
      std::string prefix = "param" + std::to_string(p);
      // The gradient with L2 weight decay (sgd, adam).
      auto decayed = [&, wd](Scalar s, Value pv, Value gv) {
        return (wd != 0 && !decoupled) ? s.add(gv, s.mul(s.c(wd), pv)) : gv;
      };
      if (sgd) {
        Value velocity;
        if (mu != 0) {
          velocity = u.elementwise(
              type, {stateArg(prefix + ".momentum"), param, g},
              [&](OpBuilder &nb, Location nloc, ValueRange a) {
                Scalar s{nb, nloc};
                return s.add(s.mul(s.c(mu), a[0]), decayed(s, a[1], a[2]));
              });
          newState.push_back(velocity);
        }
        SmallVector<Value> ins = {param, g};
        if (velocity)
          ins.push_back(velocity);
        bool nest = nesterov;
        newParams.push_back(u.elementwise(
            type, ins, [&](OpBuilder &nb, Location nloc, ValueRange a) {
              Scalar s{nb, nloc};
              Value d = decayed(s, a[0], a[1]);
              if (a.size() == 3)
                d = nest ? s.add(d, s.mul(s.c(mu), a[2])) : a[2];
              return s.sub(a[0], s.mul(s.c(lr), d));
            }));
        continue;
      }
      Value m = u.elementwise(
          type, {stateArg(prefix + ".exp_avg"), param, g},
          [&](OpBuilder &nb, Location nloc, ValueRange a) {
            Scalar s{nb, nloc};
            return s.add(s.mul(s.c(beta1), a[0]),
                         s.mul(s.c(1.0 - beta1), decayed(s, a[1], a[2])));
          });
      Value v = u.elementwise(
          type, {stateArg(prefix + ".exp_avg_sq"), param, g},
          [&](OpBuilder &nb, Location nloc, ValueRange a) {
            Scalar s{nb, nloc};
            Value d = decayed(s, a[1], a[2]);
            return s.add(s.mul(s.c(beta2), a[0]),
                         s.mul(s.c(1.0 - beta2), s.mul(d, d)));
          });
      newState.push_back(m);
      newState.push_back(v);
      double eps = epsilon;
      newParams.push_back(u.elementwise(
          type, {param, m, v, stepSize0d, bias2Sqrt0d},
          [&](OpBuilder &nb, Location nloc, ValueRange a) {
            Scalar s{nb, nloc};
            Value pv = a[0];
            if (decoupled && wd != 0)
              pv = s.mul(pv, s.c(1.0 - lr * wd));
            Value denom = s.add(s.div(s.sqrt(a[2]), a[4]), s.c(eps));
            return s.sub(pv, s.mul(a[3], s.div(a[1], denom)));
          }));
    }
    if (adam) {
      newState.push_back(newBeta1Power);
      newState.push_back(newBeta2Power);
    }
    llvm::append_range(newValues, newParams);
    llvm::append_range(newValues, newState);

    // A step with inf/NaN gradients changes nothing.
    if (scaled) {
      auto select = SelectUpdateOp::create(b, loc, ValueRange(newValues).getTypes(),
                                           foundInf, oldValues, newValues);
      newValues.assign(select.getResults().begin(), select.getResults().end());
    }
    if (dynamic) {
      auto update = UpdateLossScaleOp::create(
          b, loc, scale, u.scalar(stateArg("growth_tracker")),
          u.scalar(stateArg("hysteresis_tracker")), foundInf);
      update.setGrowthFactorAttr(b.getF64FloatAttr(growthFactor));
      update.setBackoffFactorAttr(b.getF64FloatAttr(backoffFactor));
      update.setGrowthIntervalAttr(b.getI64IntegerAttr(growthInterval));
      update.setHysteresisAttr(b.getI64IntegerAttr(hysteresis));
      if (minScale > 0)
        update.setMinScaleAttr(b.getF64FloatAttr(minScale));
      if (maxScale > 0)
        update.setMaxScaleAttr(b.getF64FloatAttr(maxScale));
      for (Value v : update.getResults())
        newValues.push_back(u.tensor0d(v));
    }

    Value loss0d = isa<RankedTensorType>(lossType) ? loss : u.tensor0d(loss);
    newValues.push_back(loss0d);
    newValues.push_back(u.tensor0d(foundInf));
    newValues.push_back(u.tensor0d(norm));
    func::ReturnOp::create(b, loc, newValues);
    ampc::simplifyAdjoints(step);
  }
};

} // namespace
