//===- TrainStep.cpp - forward + backward + update in one function --------===//
//
// amp-build-train-step: @train_step runs the forward computation, the reverse
// sweep seeded with the loss scale, unscaling and the finite check, gradient
// clipping, the optimizer update and the loss-scale update, all on tensors in
// f32; @train_state_init returns the initial optimizer and loss-scale state.
//
//===----------------------------------------------------------------------===//

#include "GradientBuckets.h"

#include "ampc/Autodiff/Autodiff.h"
#include "ampc/Autodiff/Passes.h"
#include "ampc/Dialect/Amp/IR/TrainStepABI.h"
#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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
  ampc::amp::abi::Role role;
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

/// Scalar f32 arithmetic inside a generic body: upstream's ArithBuilder
/// (+, -, *) with the constants, division and square root it lacks.
struct Scalar : ArithBuilder {
  Scalar(OpBuilder &b, Location loc) : ArithBuilder(b, loc), b(b), loc(loc) {}
  Value c(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value sqrt(Value x) { return math::SqrtOp::create(b, loc, x); }

private:
  OpBuilder &b;
  Location loc;
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
      return bad("lr must be positive, got " +
                 llvm::formatv("{0}", double(learningRate)).str());
    if (!finite(momentum) || momentum < 0 || momentum >= 1)
      return bad("momentum must be in [0, 1), got " +
                 llvm::formatv("{0}", double(momentum)).str());
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
    if (bucketMB < 1 || bucketMB > (int64_t(1) << 20))
      return bad("bucket-mb must be in [1, 1048576] MiB, got " +
                 llvm::Twine(bucketMB));
    if (lossScaling == "none")
      return success();
    if (!finite(initScale) || initScale <= 0 || !finite(float(initScale)))
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
    if (failed(verifyOptions(module)))
      return signalPassFailure();
    FailureOr<func::FuncOp> forward = findForward(module);
    if (failed(forward))
      return signalPassFailure();
    FailureOr<ModelArguments> args = classifyArguments(*forward);
    if (failed(args))
      return signalPassFailure();
    SmallVector<StateSlot> state = planState(*forward, *args);

    OpBuilder b(module.getContext());
    b.setInsertionPointAfter(*forward);
    buildStateInit(b, forward->getLoc(), state);
    func::FuncOp step = createStepFunction(b, *forward, *args, state);
    if (failed(buildStepBody(b, *forward, step, *args, state)))
      return signalPassFailure();
    ampc::simplifyAdjoints(step);
  }

private:
  /// @forward's parameters and batch inputs, by argument index.
  struct ModelArguments {
    SmallVector<unsigned> params, batch;
    /// Per parameter: a buffer (amp.buffer), not trained.
    SmallVector<bool> buffer;
  };

  /// The values of @train_step while its body is built.
  struct StepValues {
    ValueRange params;
    /// State arguments, in the order of `state`.
    ValueRange stateArgs;
    ArrayRef<StateSlot> state;
    /// The `learning_rate` argument (tensor<f32>) with lr-input; null when
    /// the learning rate is the `lr` constant.
    Value learningRate;
    /// Per parameter: the new value of a buffer (its forward's result, or
    /// the buffer itself); null for a trained parameter.
    SmallVector<Value> bufferValues;
    Value stateArg(abi::Role role) const {
      for (auto [slot, arg] : llvm::zip(state, stateArgs))
        if (slot.role == role)
          return arg;
      return Value();
    }
  };

  bool isSgd() { return optimizer == "sgd"; }
  bool isScaled() { return lossScaling != "none"; }
  bool isDynamic() { return lossScaling == "dynamic"; }

  FailureOr<func::FuncOp> findForward(ModuleOp module) {
    // A model whose training differs from its evaluation (batch
    // statistics) trains @forward_train.
    std::string name = function;
    if (name == "forward" &&
        module.lookupSymbol<func::FuncOp>(abi::kTrainingForwardName))
      name = abi::kTrainingForwardName.str();
    auto forward = module.lookupSymbol<func::FuncOp>(name);
    if (!forward || forward.isExternal())
      return module.emitError() << "amp-build-train-step: no function @" << name
                                << " with a body to train";
    for (StringRef name : {abi::kTrainStepName, abi::kStateInitName})
      if (module.lookupSymbol(name))
        return module.emitError()
               << "amp-build-train-step: the module already has a symbol @"
               << name;
    if (failed(ampc::verifyLossFunction(forward)))
      return failure();
    Type lossType = forward.getResultTypes()[0];
    if (!getElementTypeOrSelf(lossType).isF32())
      return forward.emitOpError("the loss must be f32 to be trained, not ")
             << lossType;
    return forward;
  }

  FailureOr<ModelArguments> classifyArguments(func::FuncOp forward) {
    ModelArguments args;
    for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
      if (!forward.getArgAttr(i, abi::kParamAttrName)) {
        args.batch.push_back(i);
        continue;
      }
      auto type = dyn_cast<RankedTensorType>(forward.getArgumentTypes()[i]);
      if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
        return forward.emitOpError("parameter #")
               << i << " must be a static f32 tensor (master weights are f32), "
               << "not " << forward.getArgumentTypes()[i];
      args.params.push_back(i);
      args.buffer.push_back(bool(forward.getArgAttr(i, abi::kBufferAttrName)));
    }
    if (args.params.empty())
      return forward.emitOpError(
          "has no argument marked amp.param: nothing to train");
    if (llvm::all_of(args.buffer, [](bool b) { return b; }))
      return forward.emitOpError("has only buffers (amp.buffer) among its "
                                 "parameters: nothing to train");
    return args;
  }

  /// The state, in the order of the signature: per-parameter optimizer
  /// state, optimizer scalars, loss-scale state.
  SmallVector<StateSlot> planState(func::FuncOp forward,
                                   const ModelArguments &args) {
    using abi::Role;
    using abi::RoleKind;
    MLIRContext *context = forward.getContext();
    auto scalarF32 = RankedTensorType::get({}, Float32Type::get(context));
    auto scalarI32 = RankedTensorType::get({}, IntegerType::get(context, 32));
    SmallVector<StateSlot> state;
    for (auto [p, index] : llvm::enumerate(args.params)) {
      if (args.buffer[p]) // Not trained: no optimizer state.
        continue;
      auto type = cast<RankedTensorType>(forward.getArgumentTypes()[index]);
      if (isSgd() && momentum != 0)
        state.push_back({Role::ofParam(p, RoleKind::Momentum), type, 0.0});
      if (!isSgd()) {
        state.push_back({Role::ofParam(p, RoleKind::ExpAvg), type, 0.0});
        state.push_back({Role::ofParam(p, RoleKind::ExpAvgSq), type, 0.0});
      }
    }
    if (!isSgd()) {
      state.push_back({Role::of(RoleKind::Beta1Power), scalarF32, 1.0});
      state.push_back({Role::of(RoleKind::Beta2Power), scalarF32, 1.0});
    }
    if (isDynamic()) {
      state.push_back({Role::of(RoleKind::LossScale), scalarF32, initScale});
      state.push_back({Role::of(RoleKind::GrowthTracker), scalarI32, 0.0});
      state.push_back({Role::of(RoleKind::HysteresisTracker), scalarI32,
                       double(hysteresis)});
    }
    return state;
  }

  /// @train_state_init() -> (state...), the initial values.
  void buildStateInit(OpBuilder &b, Location loc, ArrayRef<StateSlot> state) {
    MLIRContext *context = b.getContext();
    SmallVector<Type> stateTypes;
    for (const StateSlot &slot : state)
      stateTypes.push_back(slot.type);
    auto init =
        func::FuncOp::create(b, loc, abi::kStateInitName,
                             FunctionType::get(context, {}, stateTypes));
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
      init.setResultAttrs(i, abi::getRoleDict(context, slot.role));
    }
    func::ReturnOp::create(b, loc, values);
  }

  /// An empty @train_step with the signature and roles of the contract
  /// (TrainStepABI.h).
  func::FuncOp createStepFunction(OpBuilder &b, func::FuncOp forward,
                                  const ModelArguments &args,
                                  ArrayRef<StateSlot> state) {
    using abi::Role;
    using abi::RoleKind;
    MLIRContext *context = b.getContext();
    SmallVector<Type> inputs, results;
    SmallVector<DictionaryAttr> inputAttrs, resultAttrs;
    for (auto [p, index] : llvm::enumerate(args.params)) {
      Type type = forward.getArgumentTypes()[index];
      NamedAttribute role = abi::getRoleAttr(context, Role::ofParam(p));
      inputs.push_back(type);
      results.push_back(type);
      // The parameter keeps its name (resolved: also one from a location)
      // and its initialiser.
      std::string name = abi::getParamName(forward, index);
      NamedAttrList attrs;
      attrs.set(abi::kParamAttrName,
                name.empty() ? Attribute(UnitAttr::get(context))
                             : Attribute(StringAttr::get(context, name)));
      if (Attribute init = forward.getArgAttr(index, abi::kInitAttrName))
        attrs.set(abi::kInitAttrName, init);
      attrs.set(role.getName(), role.getValue());
      inputAttrs.push_back(attrs.getDictionary(context));
      resultAttrs.push_back(DictionaryAttr::get(context, {role}));
    }
    for (const StateSlot &slot : state) {
      inputs.push_back(slot.type);
      results.push_back(slot.type);
      inputAttrs.push_back(abi::getRoleDict(context, slot.role));
      resultAttrs.push_back(abi::getRoleDict(context, slot.role));
    }
    auto scalarF32 = RankedTensorType::get({}, Float32Type::get(context));
    if (learningRateInput) {
      inputs.push_back(scalarF32);
      inputAttrs.push_back(
          abi::getRoleDict(context, Role::of(RoleKind::LearningRate)));
    }
    for (unsigned index : args.batch) {
      inputs.push_back(forward.getArgumentTypes()[index]);
      NamedAttrList attrs(forward.getArgAttrDict(index));
      attrs.set(abi::kRoleAttrName,
                StringAttr::get(context, Role::of(RoleKind::Batch).str()));
      inputAttrs.push_back(attrs.getDictionary(context));
    }
    auto bool0d = RankedTensorType::get({}, IntegerType::get(context, 1));
    for (auto [type, kind] :
         {std::make_pair(Type(scalarF32), RoleKind::Loss),
          std::make_pair(Type(bool0d), RoleKind::FoundInf),
          std::make_pair(Type(scalarF32), RoleKind::GradNorm)}) {
      results.push_back(type);
      resultAttrs.push_back(abi::getRoleDict(context, Role::of(kind)));
    }
    auto step =
        func::FuncOp::create(b, forward.getLoc(), abi::kTrainStepName,
                             FunctionType::get(context, inputs, results));
    step.setAllArgAttrs(inputAttrs);
    step.setAllResultAttrs(resultAttrs);
    step.addEntryBlock();
    return step;
  }

  /// The forward computation, the reverse sweep, unscaling, clipping, the
  /// optimizer and the loss-scale update, then the return.
  LogicalResult buildStepBody(OpBuilder &b, func::FuncOp forward,
                              func::FuncOp step, const ModelArguments &args,
                              ArrayRef<StateSlot> state) {
    Block *body = &step.getBody().front();
    size_t numParams = args.params.size();
    StepValues values{body->getArguments().take_front(numParams),
                      body->getArguments().slice(numParams, state.size()),
                      state, Value(), {}};
    size_t firstBatch = numParams + state.size();
    if (learningRateInput)
      values.learningRate = body->getArgument(firstBatch++);
    IRMapping mapping;
    for (auto [p, index] : llvm::enumerate(args.params))
      mapping.map(forward.getArgument(index), values.params[p]);
    for (auto [i, index] : llvm::enumerate(args.batch))
      mapping.map(forward.getArgument(index),
                  body->getArgument(firstBatch + i));
    b.setInsertionPointToStart(body);
    for (Operation &op : forward.getBody().front().without_terminator())
      b.clone(op, mapping);
    Operation *terminator = forward.getBody().front().getTerminator();
    Value loss = mapping.lookup(terminator->getOperand(0));
    values.bufferValues.assign(numParams, Value());
    SmallVector<BlockArgument> trained;
    for (auto [p, isBuffer] : llvm::enumerate(args.buffer)) {
      if (isBuffer)
        values.bufferValues[p] = values.params[p];
      else
        trained.push_back(body->getArgument(p));
    }
    for (unsigned r = 0; r < forward.getNumResults(); ++r)
      if (auto name =
              forward.getResultAttrOfType<StringAttr>(r, abi::kBufferAttrName))
        for (auto [p, index] : llvm::enumerate(args.params))
          if (args.buffer[p] &&
              abi::getParamName(forward, index) == name.getValue())
            values.bufferValues[p] = mapping.lookup(terminator->getOperand(r));
    if (failed(ampc::generalizeForAutodiff(step)))
      return failure();

    b.setInsertionPointToEnd(body);
    UpdateBuilder u(b, forward.getLoc());
    Value scale = lossScale(u, values);
    FailureOr<SmallVector<Value>> adjoints = ampc::buildAdjoints(
        b, *body, loss, lossSeed(u, values, loss.getType(), scale), trained);
    if (failed(adjoints))
      return failure();
    SmallVector<Value> grads = *adjoints;
    if (dataParallel) {
      step->setAttr(abi::kDataParallelAttrName, b.getUnitAttr());
      ampc::GradientBucketOptions buckets;
      buckets.maxElements = bucketMB * (1 << 20) / 4;
      buckets.overlap = overlap;
      ampc::averageGradientsOverRanks(b, u.loc, *body, grads, buckets);
      for (Value &buffer : values.bufferValues)
        if (buffer && !llvm::is_contained(values.params, buffer))
          buffer = averaged(u, buffer);
    }
    SmallVector<Value> scaledGrads(grads);
    Value foundInf = unscale(u, grads, scale);
    Value sumSquares = globalSumOfSquares(u, grads);
    if (isScaled())
      foundInf = foundInfBeyondFiniteNorm(u, sumSquares, scaledGrads);
    Value norm = math::SqrtOp::create(b, u.loc, sumSquares);
    if (clipNorm > 0)
      clip(u, grads, norm);
    SmallVector<Value> results = optimizerUpdate(u, values, grads);
    finishStep(u, values, results, scale, foundInf);
    Value loss0d =
        isa<RankedTensorType>(loss.getType()) ? loss : u.tensor0d(loss);
    if (dataParallel)
      loss0d = averaged(u, loss0d);
    results.append({loss0d, u.tensor0d(foundInf), u.tensor0d(norm)});
    func::ReturnOp::create(b, u.loc, results);
    return success();
  }

  /// `value` (an f32 tensor) averaged over the ranks.
  Value averaged(UpdateBuilder &u, Value value) {
    return AllReduceOp::create(u.b, u.loc, TypeRange{value.getType()},
                               ReduceKind::mean, ValueRange{value})
        .getResult(0);
  }

  /// The f32 loss scale of this step (null without loss scaling).
  Value lossScale(UpdateBuilder &u, const StepValues &values) {
    if (isDynamic())
      return u.scalar(values.stateArg(abi::Role::of(abi::RoleKind::LossScale)));
    return isScaled() ? u.constant(initScale) : Value();
  }

  /// The adjoint of the loss: the loss scale, as the loss's type.
  Value lossSeed(UpdateBuilder &u, const StepValues &values, Type lossType,
                 Value scale) {
    if (!isa<RankedTensorType>(lossType))
      return scale ? scale : u.constant(1.0);
    if (isDynamic())
      return values.stateArg(abi::Role::of(abi::RoleKind::LossScale));
    auto scalarF32 = RankedTensorType::get({}, u.f32);
    return arith::ConstantOp::create(
        u.b, u.loc,
        DenseElementsAttr::get(scalarF32, float(isScaled() ? initScale : 1.0)));
  }

  /// Divides the loss scale out of `grads`; returns found_inf (i1).
  Value unscale(UpdateBuilder &u, SmallVector<Value> &grads, Value scale) {
    if (!isScaled())
      return arith::ConstantOp::create(u.b, u.loc, u.b.getBoolAttr(false));
    SmallVector<Type> types(ValueRange(grads).getTypes());
    types.push_back(u.b.getI1Type());
    SmallVector<Value> operands(grads);
    operands.push_back(scale);
    auto op = UnscaleGradsOp::create(u.b, u.loc, types, operands);
    grads.assign(op.getUnscaled().begin(), op.getUnscaled().end());
    return op.getFoundInf();
  }

  /// The sum of the squares of every element of `grads` (f32 scalar), the
  /// square of their global L2 norm.
  Value globalSumOfSquares(UpdateBuilder &u, ArrayRef<Value> grads) {
    Value sumSquares;
    for (Value g : grads) {
      Value s = u.scalar(u.sumOfSquares(g));
      sumSquares = sumSquares
                       ? Value(arith::AddFOp::create(u.b, u.loc, sumSquares, s))
                       : s;
    }
    return sumSquares;
  }

  /// found_inf, checked element by element only where the sum of squares of
  /// the unscaled gradients is not finite. A non-finite scaled gradient
  /// makes its unscaled value inf or NaN (the inverse scale is positive, or
  /// inf times a zero), its square inf or NaN, and the sum of squares, whose
  /// other terms are never negative, inf or NaN; so a finite sum means no
  /// non-finite gradient, and the check (a reduction over every gradient)
  /// runs only on steps that overflow, or whose finite gradients square
  /// beyond f32's range. There the found_inf of `amp.unscale_grads` of the
  /// scaled gradients decides as before, by 1 (its unscaled results are
  /// unused; another scale than the one before keeps CSE from replacing it
  /// by the unscaling outside the branch, whose found_inf is now unused:
  /// neither computes what nothing reads once lowered).
  Value foundInfBeyondFiniteNorm(UpdateBuilder &u, Value sumSquares,
                                 ArrayRef<Value> scaledGrads) {
    Value inf = u.constant(INFINITY);
    Value finite = arith::CmpFOp::create(u.b, u.loc, arith::CmpFPredicate::OLT,
                                         sumSquares, inf);
    auto check = scf::IfOp::create(u.b, u.loc, TypeRange{u.b.getI1Type()},
                                   finite, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(u.b);
    u.b.setInsertionPointToStart(check.thenBlock());
    scf::YieldOp::create(u.b, u.loc,
                         ValueRange{arith::ConstantOp::create(
                             u.b, u.loc, u.b.getBoolAttr(false))});
    u.b.setInsertionPointToStart(check.elseBlock());
    SmallVector<Value> grads(scaledGrads);
    Value foundInf = unscale(u, grads, u.constant(1.0));
    scf::YieldOp::create(u.b, u.loc, ValueRange{foundInf});
    return check.getResult(0);
  }

  /// torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6),
  /// clamped to 1; a NaN norm makes every gradient NaN.
  void clip(UpdateBuilder &u, SmallVector<Value> &grads, Value norm) {
    Value coef = arith::DivFOp::create(
        u.b, u.loc, u.constant(clipNorm),
        arith::AddFOp::create(u.b, u.loc, norm, u.constant(1e-6)));
    coef = arith::MinimumFOp::create(u.b, u.loc, coef, u.constant(1.0));
    Value coef0d = u.tensor0d(coef);
    for (Value &g : grads)
      g = u.elementwise(cast<RankedTensorType>(g.getType()), {g, coef0d},
                        [](OpBuilder &nb, Location nloc, ValueRange a) {
                          return Scalar(nb, nloc).mul(a[0], a[1]);
                        });
  }

  /// The new parameters then the new optimizer state, in the order of the
  /// signature.
  SmallVector<Value> optimizerUpdate(UpdateBuilder &u, const StepValues &values,
                                     ArrayRef<Value> grads) {
    SmallVector<Value> newParams, newState;
    std::optional<AdamScalars> scalars;
    if (!isSgd())
      scalars = adamScalars(u, values);
    // `grads` holds the trained parameters' gradients, in order.
    size_t g = 0;
    for (auto [p, param] : llvm::enumerate(values.params)) {
      if (Value buffer = values.bufferValues[p])
        newParams.push_back(buffer);
      else if (isSgd())
        sgdUpdate(u, values, p, param, grads[g++], newParams, newState);
      else
        adamUpdate(u, values, *scalars, p, param, grads[g++], newParams,
                   newState);
    }
    if (scalars)
      newState.append({scalars->newBeta1Power, scalars->newBeta2Power});
    llvm::append_range(newParams, newState);
    return newParams;
  }

  /// The gradient with L2 weight decay (sgd, adam; not adamw).
  Value decayed(Scalar &s, Value param, Value grad) {
    double wd = weightDecay;
    return (wd != 0 && optimizer != "adamw")
               ? s.add(grad, s.mul(s.c(wd), param))
               : grad;
  }

  /// torch.optim.SGD with momentum, dampening 0, optional Nesterov.
  void sgdUpdate(UpdateBuilder &u, const StepValues &values, int64_t p,
                 Value param, Value g, SmallVector<Value> &newParams,
                 SmallVector<Value> &newState) {
    auto type = cast<RankedTensorType>(param.getType());
    double mu = momentum;
    Value velocity;
    if (mu != 0) {
      Value old =
          values.stateArg(abi::Role::ofParam(p, abi::RoleKind::Momentum));
      velocity = u.elementwise(type, {old, param, g},
                               [&](OpBuilder &nb, Location nloc, ValueRange a) {
                                 Scalar s(nb, nloc);
                                 return s.add(s.mul(s.c(mu), a[0]),
                                              decayed(s, a[1], a[2]));
                               });
      newState.push_back(velocity);
    }
    SmallVector<Value> ins = {param, g};
    if (velocity)
      ins.push_back(velocity);
    if (values.learningRate)
      ins.push_back(values.learningRate);
    bool nest = nesterov;
    newParams.push_back(u.elementwise(
        type, ins, [&](OpBuilder &nb, Location nloc, ValueRange a) {
          Scalar s(nb, nloc);
          Value d = decayed(s, a[0], a[1]);
          if (velocity)
            d = nest ? s.add(d, s.mul(s.c(mu), a[2])) : a[2];
          return s.sub(a[0], s.mul(learningRateIn(s, values, a), d));
        }));
  }

  /// The learning rate inside an update's body: its last input with
  /// lr-input, the `lr` constant otherwise.
  Value learningRateIn(Scalar &s, const StepValues &values, ValueRange args) {
    return values.learningRate ? args.back() : s.c(learningRate);
  }
  /// The learning rate as an f32 scalar.
  Value learningRateScalar(UpdateBuilder &u, const StepValues &values) {
    return values.learningRate ? u.scalar(values.learningRate)
                               : u.constant(learningRate);
  }

  /// The bias corrections shared by every parameter's Adam update, and
  /// AdamW's decoupled decay factor 1 - lr * weight_decay when the learning
  /// rate is an input (null otherwise).
  struct AdamScalars {
    Value stepSize0d, bias2Sqrt0d, newBeta1Power, newBeta2Power, decay0d;
  };

  /// torch.optim.Adam: step_size = lr / (1 - beta1^t),
  /// denom = sqrt(v) / sqrt(1 - beta2^t) + eps.
  AdamScalars adamScalars(UpdateBuilder &u, const StepValues &values) {
    using abi::Role;
    using abi::RoleKind;
    OpBuilder &b = u.b;
    Location loc = u.loc;
    Value p1 = arith::MulFOp::create(
        b, loc, u.scalar(values.stateArg(Role::of(RoleKind::Beta1Power))),
        u.constant(beta1));
    Value p2 = arith::MulFOp::create(
        b, loc, u.scalar(values.stateArg(Role::of(RoleKind::Beta2Power))),
        u.constant(beta2));
    AdamScalars scalars;
    scalars.newBeta1Power = u.tensor0d(p1);
    scalars.newBeta2Power = u.tensor0d(p2);
    Value lr = learningRateScalar(u, values);
    scalars.stepSize0d = u.tensor0d(arith::DivFOp::create(
        b, loc, lr, arith::SubFOp::create(b, loc, u.constant(1.0), p1)));
    if (values.learningRate && optimizer == "adamw" && weightDecay != 0)
      scalars.decay0d = u.tensor0d(arith::SubFOp::create(
          b, loc, u.constant(1.0),
          arith::MulFOp::create(b, loc, lr, u.constant(weightDecay))));
    scalars.bias2Sqrt0d = u.tensor0d(math::SqrtOp::create(
        b, loc, arith::SubFOp::create(b, loc, u.constant(1.0), p2)));
    return scalars;
  }

  /// torch.optim.Adam / AdamW for one parameter.
  void adamUpdate(UpdateBuilder &u, const StepValues &values,
                  const AdamScalars &scalars, int64_t p, Value param, Value g,
                  SmallVector<Value> &newParams, SmallVector<Value> &newState) {
    using abi::Role;
    using abi::RoleKind;
    auto type = cast<RankedTensorType>(param.getType());
    double b1 = beta1, b2 = beta2, eps = epsilon;
    double decoupledFactor =
        optimizer == "adamw" ? 1.0 - learningRate * weightDecay : 1.0;
    Value m = u.elementwise(
        type, {values.stateArg(Role::ofParam(p, RoleKind::ExpAvg)), param, g},
        [&](OpBuilder &nb, Location nloc, ValueRange a) {
          Scalar s(nb, nloc);
          return s.add(s.mul(s.c(b1), a[0]),
                       s.mul(s.c(1.0 - b1), decayed(s, a[1], a[2])));
        });
    Value v = u.elementwise(
        type, {values.stateArg(Role::ofParam(p, RoleKind::ExpAvgSq)), param, g},
        [&](OpBuilder &nb, Location nloc, ValueRange a) {
          Scalar s(nb, nloc);
          Value d = decayed(s, a[1], a[2]);
          return s.add(s.mul(s.c(b2), a[0]), s.mul(s.c(1.0 - b2), s.mul(d, d)));
        });
    newState.append({m, v});
    SmallVector<Value> ins = {param, m, v, scalars.stepSize0d,
                              scalars.bias2Sqrt0d};
    if (scalars.decay0d)
      ins.push_back(scalars.decay0d);
    newParams.push_back(u.elementwise(
        type, ins, [&](OpBuilder &nb, Location nloc, ValueRange a) {
          Scalar s(nb, nloc);
          Value pv = a[0];
          if (scalars.decay0d)
            pv = s.mul(pv, a[5]);
          else if (decoupledFactor != 1.0)
            pv = s.mul(pv, s.c(decoupledFactor));
          Value denom = s.add(s.div(s.sqrt(a[2]), a[4]), s.c(eps));
          return s.sub(pv, s.mul(a[3], s.div(a[1], denom)));
        }));
  }

  /// A step with inf/NaN gradients changes nothing; dynamic scaling then
  /// advances the scale (its state joins `results`).
  void finishStep(UpdateBuilder &u, const StepValues &values,
                  SmallVector<Value> &results, Value scale, Value foundInf) {
    using abi::Role;
    using abi::RoleKind;
    if (!isScaled())
      return;
    // `results` holds the parameters and the optimizer state so far.
    SmallVector<Value> oldValues(values.params);
    llvm::append_range(oldValues, values.stateArgs.take_front(
                                      results.size() - values.params.size()));
    auto select =
        SelectUpdateOp::create(u.b, u.loc, ValueRange(results).getTypes(),
                               foundInf, oldValues, results);
    results.assign(select.getResults().begin(), select.getResults().end());
    if (!isDynamic())
      return;
    auto update = UpdateLossScaleOp::create(
        u.b, u.loc, scale,
        u.scalar(values.stateArg(Role::of(RoleKind::GrowthTracker))),
        u.scalar(values.stateArg(Role::of(RoleKind::HysteresisTracker))),
        foundInf);
    update.setGrowthFactorAttr(u.b.getF64FloatAttr(growthFactor));
    update.setBackoffFactorAttr(u.b.getF64FloatAttr(backoffFactor));
    update.setGrowthIntervalAttr(u.b.getI64IntegerAttr(growthInterval));
    update.setHysteresisAttr(u.b.getI64IntegerAttr(hysteresis));
    if (minScale > 0)
      update.setMinScaleAttr(u.b.getF64FloatAttr(minScale));
    if (maxScale > 0)
      update.setMaxScaleAttr(u.b.getF64FloatAttr(maxScale));
    for (Value v : update.getResults())
      results.push_back(u.tensor0d(v));
  }
};

} // namespace
