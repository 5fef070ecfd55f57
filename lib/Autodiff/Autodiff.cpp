//===- Autodiff.cpp - reverse-mode automatic differentiation --------------===//
//
// Builds @<f>_grad from @<f>: the forward computation, then a reverse sweep
// that propagates adjoints from the loss back to the parameters.
//
//===----------------------------------------------------------------------===//

#include "ampc/Autodiff/Autodiff.h"
#include "ampc/Autodiff/Passes.h"
#include "ampc/Dialect/Amp/IR/TrainStepABI.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/TypeSwitch.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCAUTODIFF
#include "ampc/Autodiff/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// What ops autodiff creates for a forward op (its generalization,
/// decomposition or adjoint) inherit from it, taken before the op is
/// replaced: `amp.origin` names the forward op as the user wrote it (op-name
/// overrides follow it), and its hand-written `amp.precision` becomes their
/// `amp.origin_precision` (amp-autocast applies it).
struct Origin {
  explicit Origin(Operation *op) {
    using namespace ampc::amp;
    name = op->getAttrOfType<StringAttr>(abi::kOriginAttrName);
    if (!name)
      name = StringAttr::get(op->getContext(), op->getName().getStringRef());
    precision = op->getAttr(PrecisionAttr::getAttrName());
    if (!precision)
      precision = op->getAttr(abi::kOriginPrecisionAttrName);
  }

  void recordOn(Operation *derived) const {
    using namespace ampc::amp;
    if (!derived->hasAttr(abi::kOriginAttrName))
      derived->setAttr(abi::kOriginAttrName, name);
    if (precision && !derived->hasAttr(PrecisionAttr::getAttrName()) &&
        !derived->hasAttr(abi::kOriginPrecisionAttrName))
      derived->setAttr(abi::kOriginPrecisionAttrName, precision);
  }

  StringAttr name;
  Attribute precision;
};

/// Collects the structured ops (not fills) a builder inserts directly into
/// a function body: the ops precision decisions are about.
struct InsertedOps : RewriterBase::Listener {
  void notifyOperationInserted(Operation *op, OpBuilder::InsertPoint) override {
    if (isa<linalg::LinalgOp>(op) && !isa<linalg::FillOp>(op) &&
        isa_and_nonnull<func::FuncOp>(op->getParentOp()))
      ops.insert(op);
  }
  void notifyOperationErased(Operation *op) override { ops.remove(op); }
  llvm::SetVector<Operation *> ops;
};

/// Runs `build` with `b` and records `origin` (see Origin) on every op it
/// inserts into the function body; `origin` may be replaced by `build`.
template <typename Fn>
auto withOrigin(OpBuilder &b, Operation *origin, Fn &&build) {
  Origin recorded(origin);
  InsertedOps inserted;
  OpBuilder::Listener *previous = b.getListener();
  b.setListener(&inserted);
  auto result = build();
  b.setListener(previous);
  for (Operation *op : inserted.ops)
    recorded.recordOn(op);
  return result;
}

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(shaped,
                               b.getFloatAttr(shaped.getElementType(), value)));
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

/// A zero-filled tensor of `type`.
Value zeros(OpBuilder &b, Location loc, RankedTensorType type) {
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  Value zero = floatConstant(b, loc, type.getElementType(), 0.0);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// Forward-mode differentiation of a scalar payload: the derivative of each
/// value with respect to one block argument. A missing entry is zero.
class Tangents {
public:
  Tangents(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  void seed(Value v) {
    one = floatConstant(b, loc, v.getType(), 1.0);
    tangent[v] = one;
  }
  Value get(Value v) const { return tangent.lookup(v); }

  /// Computes the tangent of `op`'s result from its operands' tangents.
  LogicalResult propagate(Operation *op) {
    if (op->getNumResults() != 1)
      return success();
    bool any = llvm::any_of(op->getOperands(),
                            [&](Value v) { return static_cast<bool>(get(v)); });
    if (!any || isa<arith::CmpFOp, arith::ConstantOp>(op))
      return success();
    current = op;
    std::optional<Value> d = rule(op);
    if (!d)
      return op->emitOpError() << "has no derivative rule";
    if (*d)
      tangent[op->getResult(0)] = *d;
    return success();
  }

private:
  /// The derivative table: the tangent of `op`'s result from its operands
  /// and their tangents (null where zero); nothing for an op without a rule.
  std::optional<Value> rule(Operation *op) {
    using Result = std::optional<Value>;
    Value result = op->getResult(0);
    return llvm::TypeSwitch<Operation *, Result>(op)
        .Case<arith::AddFOp>([&](auto) { return add(t(0), t(1)); })
        .Case<arith::SubFOp>([&](auto) { return add(t(0), neg(t(1))); })
        .Case<arith::MulFOp>([&](auto) {
          return add(t(0) ? mul(t(0), operand(1)) : Value(),
                     t(1) ? mul(operand(0), t(1)) : Value());
        })
        .Case<arith::DivFOp>([&](auto) -> Result {
          // d(a/b) = da/b - a*db/b^2 = (da - r*db)/b with r = a/b.
          Value num = add(t(0), t(1) ? neg(mul(result, t(1))) : Value());
          return arith::DivFOp::create(b, loc, num, operand(1)).getResult();
        })
        .Case<arith::NegFOp>([&](auto) { return neg(t(0)); })
        .Case<arith::MaximumFOp, arith::MaxNumFOp, arith::MinimumFOp,
              arith::MinNumFOp>([&](Operation *op) -> Result {
          // The derivative of the operand that was chosen (the first on
          // ties).
          bool isMax = isa<arith::MaximumFOp, arith::MaxNumFOp>(op);
          Value first = arith::CmpFOp::create(b, loc,
                                              isMax ? arith::CmpFPredicate::OGE
                                                    : arith::CmpFPredicate::OLE,
                                              operand(0), operand(1));
          return select(first, t(0), t(1));
        })
        .Case<arith::SelectOp>(
            [&](auto) { return select(operand(0), t(1), t(2)); })
        .Case<math::ExpOp>([&](auto) { return mul(t(0), result); })
        .Case<math::ErfOp>([&](auto) -> Result {
          // d erf(a) = 2/sqrt(pi) * exp(-a^2).
          Value a = operand(0);
          Value e = math::ExpOp::create(
              b, loc, arith::NegFOp::create(b, loc, mul(a, a)));
          return mul(t(0), mul(c(1.1283791670955126), e));
        })
        .Case<math::Log1pOp>([&](auto) -> Result {
          return arith::DivFOp::create(
                     b, loc, t(0),
                     arith::AddFOp::create(b, loc, c(1.0), operand(0)))
              .getResult();
        })
        .Case<math::ExpM1Op>([&](auto) {
          return mul(t(0), arith::AddFOp::create(b, loc, result, c(1.0)));
        })
        .Case<math::PowFOp>([&](auto) { return powTangent(result); })
        .Case<math::LogOp>([&](auto) -> Result {
          return arith::DivFOp::create(b, loc, t(0), operand(0)).getResult();
        })
        .Case<math::TanhOp>([&](auto) {
          return mul(
              t(0), arith::SubFOp::create(b, loc, c(1.0), mul(result, result)));
        })
        .Case<math::SqrtOp>([&](auto) -> Result {
          return arith::DivFOp::create(b, loc, mul(t(0), c(0.5)), result)
              .getResult();
        })
        .Case<math::RsqrtOp>([&](auto) {
          // d rsqrt(a) = -0.5 * rsqrt(a)^3.
          return mul(t(0), mul(c(-0.5), mul(result, mul(result, result))));
        })
        .Case<math::AbsFOp>([&](auto) -> Result {
          Value positive = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OGE, operand(0), c(0.0));
          return arith::SelectOp::create(b, loc, positive, t(0), neg(t(0)))
              .getResult();
        })
        .Case<arith::ExtFOp, arith::TruncFOp>([&](Operation *op) -> Result {
          OperationState state(loc, op->getName().getStringRef(), {t(0)},
                               {result.getType()});
          return b.create(state)->getResult(0);
        })
        .Default([](Operation *) { return std::nullopt; });
  }

  /// d a^e = e * a^(e-1) da + ln(a) * a^e de.
  Value powTangent(Value result) {
    Value da, de;
    if (t(0)) {
      Value em1 = arith::SubFOp::create(b, loc, operand(1), c(1.0));
      da = mul(t(0),
               mul(operand(1), math::PowFOp::create(b, loc, operand(0), em1)));
    }
    if (t(1))
      de = mul(t(1), mul(math::LogOp::create(b, loc, operand(0)), result));
    return add(da, de);
  }

  Value operand(unsigned i) const { return current->getOperand(i); }
  Value t(unsigned i) const { return get(current->getOperand(i)); }
  Value c(double v) {
    return floatConstant(b, loc, current->getResult(0).getType(), v);
  }
  /// Multiplying by the seed (d x / d x = 1) is the other factor: this
  /// keeps the adjoint of a contraction a plain multiply-add.
  Value mul(Value x, Value y) {
    if (x == one)
      return y;
    if (y == one)
      return x;
    return arith::MulFOp::create(b, loc, x, y);
  }
  Value add(Value x, Value y) {
    if (!x)
      return y;
    if (!y)
      return x;
    return arith::AddFOp::create(b, loc, x, y);
  }
  Value neg(Value x) {
    return x ? Value(arith::NegFOp::create(b, loc, x)) : Value();
  }
  /// `condition ? x : y` of two tangents (null is zero).
  Value select(Value condition, Value x, Value y) {
    Value zero = c(0.0);
    return arith::SelectOp::create(b, loc, condition, x ? x : zero,
                                   y ? y : zero);
  }

  OpBuilder &b;
  Location loc;
  Value one;
  Operation *current = nullptr;
  DenseMap<Value, Value> tangent;
};

/// How a generic's body uses its output: not at all, as a sum, or as a
/// running maximum.
enum class Combiner { None, Add, Max };

/// The body's value before it is combined with the output, and how.
FailureOr<std::pair<Value, Combiner>> analyzeBody(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  Value yielded = body.getTerminator()->getOperand(0);
  BlockArgument out = body.getArguments().back();
  if (out.use_empty())
    return std::make_pair(yielded, Combiner::None);
  Operation *def = yielded.getDefiningOp();
  if (def && def->getNumOperands() == 2 &&
      isa<arith::AddFOp, arith::MaximumFOp, arith::MaxNumFOp>(def) &&
      out.hasOneUse()) {
    Value other =
        def->getOperand(0) == out ? def->getOperand(1) : def->getOperand(0);
    if (def->getOperand(0) == out || def->getOperand(1) == out)
      return std::make_pair(other, isa<arith::AddFOp>(def) ? Combiner::Add
                                                           : Combiner::Max);
  }
  return op.emitOpError("cannot be differentiated: its body combines with its "
                        "output other than by a sum or a maximum");
}

/// `s * d` as (d, s), for a dimension or a dimension times a constant.
std::optional<std::pair<unsigned, int64_t>> asScaledDim(AffineExpr e) {
  if (auto dim = dyn_cast<AffineDimExpr>(e))
    return std::make_pair(dim.getPosition(), int64_t(1));
  auto mul = dyn_cast<AffineBinaryOpExpr>(e);
  if (!mul || mul.getKind() != AffineExprKind::Mul)
    return std::nullopt;
  auto dim = dyn_cast<AffineDimExpr>(mul.getLHS());
  auto factor = dyn_cast<AffineConstantExpr>(mul.getRHS());
  if (!dim || !factor || factor.getValue() <= 0)
    return std::nullopt;
  return std::make_pair(dim.getPosition(), factor.getValue());
}

/// A window dimension of a convolution or pooling input: the input index is
/// `stride * out + dilation * win`, `out` an output loop, `win` a window
/// loop of `size` iterations, over an input dimension of `inputSize`.
struct WindowDim {
  unsigned position; // in the input's indexing map
  unsigned out, win;
  int64_t stride, dilation, size, inputSize;
};

/// The windows of input k's indexing map (each result `stride * out +
/// dilation * win`) and the map with every window replaced by its output
/// loop.
FailureOr<AffineMap> findWindows(linalg::GenericOp op, unsigned k,
                                 AffineMap inMap, RankedTensorType inputType,
                                 SmallVectorImpl<WindowDim> &windows) {
  auto fail = [&](const Twine &why) {
    return op.emitOpError("cannot be differentiated: input #")
           << k << " " << why;
  };
  MLIRContext *context = op.getContext();
  SmallVector<int64_t> loops = op.getStaticLoopRanges();
  if (llvm::any_of(loops, ShapedType::isDynamic))
    return fail("is a window of a dynamically shaped convolution");
  AffineMap outMap = op.getIndexingMapsArray().back();
  auto isOutputDim = [&](unsigned d) {
    return llvm::is_contained(outMap.getResults(),
                              getAffineDimExpr(d, context));
  };
  SmallVector<AffineExpr> newInResults;
  for (auto [position, e] : llvm::enumerate(inMap.getResults())) {
    if (isa<AffineDimExpr>(e)) {
      newInResults.push_back(e);
      continue;
    }
    auto sum = dyn_cast<AffineBinaryOpExpr>(e);
    std::optional<std::pair<unsigned, int64_t>> lhs, rhs;
    if (sum && sum.getKind() == AffineExprKind::Add) {
      lhs = asScaledDim(sum.getLHS());
      rhs = asScaledDim(sum.getRHS());
    }
    if (!lhs || !rhs)
      return fail("is indexed by an expression that is neither a loop nor "
                  "stride * loop + dilation * window loop");
    if (!isOutputDim(lhs->first))
      std::swap(lhs, rhs);
    if (!isOutputDim(lhs->first) || isOutputDim(rhs->first))
      return fail("has a window expression without one output loop and one "
                  "window loop");
    windows.push_back({unsigned(position), lhs->first, rhs->first, lhs->second,
                       rhs->second, loops[rhs->first],
                       inputType.getDimSize(position)});
    newInResults.push_back(getAffineDimExpr(lhs->first, context));
  }
  AffineMap newInMap =
      AffineMap::get(inMap.getNumDims(), 0, newInResults, context);
  if (!newInMap.isProjectedPermutation())
    return fail("uses a loop twice in its indexing map");
  return newInMap;
}

/// Rewrites the adjoint of a convolution-like input (indexed by
/// `stride * out + dilation * win`) so that it iterates over input
/// positions: the loop `out` now runs over the input index `i`, operands
/// indexed by `out` are read at `i - dilation * win + dilation * (size - 1)`
/// from a copy dilated by `stride` and zero-padded by `dilation * (size -
/// 1)` before and up to the input's extent after. Zero padding makes the
/// terms outside the forward window vanish (the result's adjoint is 0
/// there). This is the transposed convolution, for any stride and dilation.
/// `windows` and `newInMap` are findWindows' for input k.
LogicalResult reindexWindowedInput(OpBuilder &b, linalg::GenericOp op,
                                   unsigned k, ArrayRef<WindowDim> windows,
                                   AffineMap newInMap,
                                   SmallVectorImpl<Value> &ins,
                                   SmallVectorImpl<AffineMap> &insMaps,
                                   AffineMap &inMap) {
  auto fail = [&](const Twine &why) {
    return op.emitOpError("cannot be differentiated: input #")
           << k << " " << why;
  };
  MLIRContext *context = op.getContext();

  // Every other operand reads `out` as a plain index (or not at all).
  Location loc = op.getLoc();
  DenseMap<AffineExpr, AffineExpr> shift;
  for (const WindowDim &w : windows)
    shift[getAffineDimExpr(w.out, context)] =
        getAffineDimExpr(w.out, context) -
        getAffineDimExpr(w.win, context) * w.dilation +
        w.dilation * (w.size - 1);
  for (auto [j, map] : llvm::enumerate(insMaps)) {
    if (j == k) {
      map = newInMap;
      continue;
    }
    SmallVector<int64_t> shape(
        cast<RankedTensorType>(ins[j].getType()).getShape());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    bool padded = false;
    for (auto [q, e] : llvm::enumerate(map.getResults())) {
      const WindowDim *window = nullptr;
      for (const WindowDim &w : windows) {
        if (e == getAffineDimExpr(w.out, context))
          window = &w;
        else if (e.isFunctionOfDim(w.out))
          return fail("shares its output loop with a windowed operand");
      }
      offsets.push_back(
          b.getIndexAttr(window ? window->dilation * (window->size - 1) : 0));
      sizes.push_back(b.getIndexAttr(shape[q]));
      strides.push_back(b.getIndexAttr(window ? window->stride : 1));
      if (window) {
        shape[q] = window->inputSize + window->dilation * (window->size - 1);
        padded = true;
      }
    }
    if (!padded)
      continue;
    auto type = RankedTensorType::get(
        shape, cast<RankedTensorType>(ins[j].getType()).getElementType());
    ins[j] = tensor::InsertSliceOp::create(b, loc, ins[j], zeros(b, loc, type),
                                           offsets, sizes, strides);
    map = map.replace(shift, map.getNumDims(), 0);
  }
  inMap = newInMap;
  return success();
}

/// Input k of a generic whose windows do not overlap (each window dimension
/// has stride = window size and dilation 1: a 2x2 max pooling with stride
/// 2), viewed with each window dimension split into [out, win]: every input
/// element lies in one window at most, so its adjoint is computed where it
/// stands, with no sum over windows and no padded, dilated copies of the
/// result and its adjoint.
struct SplitWindows {
  Value input;               // the input, cut to its windows and expanded
  AffineMap map;             // read through (.., out, win, ..)
  RankedTensorType expanded; // the adjoint's type in that view
  SmallVector<ReassociationIndices> groups;
  SmallVector<int64_t> covered; // each input dimension's extent in windows

  /// The adjoint of the input from its split view: folded back, zero past
  /// the last window (a 5-wide input in windows of 2).
  Value restore(OpBuilder &b, Location loc, Value split,
                RankedTensorType type) const {
    Value folded = tensor::CollapseShapeOp::create(b, loc, split, groups);
    if (ArrayRef<int64_t>(covered) == type.getShape())
      return folded;
    SmallVector<OpFoldResult> offsets(covered.size(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(covered.size(), b.getIndexAttr(1));
    return tensor::InsertSliceOp::create(
        b, loc, folded, zeros(b, loc, type), offsets,
        getAsIndexOpFoldResult(b.getContext(), covered), strides);
  }
};

/// The split view of `input` (see SplitWindows), read through `inMap` with
/// findWindows' `windows`, if those do not overlap and its adjoint then
/// reads every loop of `op` (no reduction is left: pooling, not a
/// convolution, whose input adjoint sums over filters and is a contraction
/// the transposed form keeps).
std::optional<SplitWindows> splitDisjointWindows(OpBuilder &b,
                                                 linalg::GenericOp op,
                                                 ArrayRef<WindowDim> windows,
                                                 Value input, AffineMap inMap) {
  auto type = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = op.getContext();
  SmallVector<int64_t> loops = op.getStaticLoopRanges();
  SplitWindows split;
  split.covered.assign(type.getShape().begin(), type.getShape().end());
  SmallVector<AffineExpr> results;
  SmallVector<int64_t> shape;
  llvm::SmallBitVector read(op.getNumLoops());
  for (unsigned position = 0; position < inMap.getNumResults(); ++position) {
    AffineExpr e = inMap.getResult(position);
    split.groups.emplace_back();
    const WindowDim *window = llvm::find_if(
        windows, [&](const WindowDim &w) { return w.position == position; });
    if (window == windows.end()) {
      split.groups.back().push_back(shape.size());
      shape.push_back(type.getDimSize(position));
      results.push_back(e);
      read.set(cast<AffineDimExpr>(e).getPosition());
      continue;
    }
    if (window->dilation != 1 || window->stride != window->size)
      return std::nullopt;
    split.covered[position] = loops[window->out] * window->size;
    for (auto [dim, extent] : {std::pair(window->out, loops[window->out]),
                               std::pair(window->win, window->size)}) {
      if (read.test(dim)) // one window loop for two dimensions
        return std::nullopt;
      split.groups.back().push_back(shape.size());
      shape.push_back(extent);
      results.push_back(getAffineDimExpr(dim, ctx));
      read.set(dim);
    }
  }
  if (!read.all())
    return std::nullopt;
  Location loc = op.getLoc();
  if (ArrayRef<int64_t>(split.covered) != type.getShape())
    input = tensor::ExtractSliceOp::create(
        b, loc, input,
        SmallVector<OpFoldResult>(type.getRank(), b.getIndexAttr(0)),
        getAsIndexOpFoldResult(ctx, split.covered),
        SmallVector<OpFoldResult>(type.getRank(), b.getIndexAttr(1)));
  split.expanded = type.clone(shape);
  split.input = tensor::ExpandShapeOp::create(b, loc, split.expanded, input,
                                              split.groups);
  split.map = AffineMap::get(op.getNumLoops(), 0, results, ctx);
  return split;
}

/// Input k of `op`, read through windows, as its adjoint reads it: split
/// (`split` set) if its windows do not overlap, else transposed.
LogicalResult readWindowsAsLoops(OpBuilder &b, linalg::GenericOp op, unsigned k,
                                 SmallVectorImpl<Value> &ins,
                                 SmallVectorImpl<AffineMap> &insMaps,
                                 AffineMap &inMap,
                                 std::optional<SplitWindows> &split) {
  SmallVector<WindowDim> windows;
  FailureOr<AffineMap> found = findWindows(
      op, k, inMap, cast<RankedTensorType>(ins[k].getType()), windows);
  if (failed(found))
    return failure();
  split = splitDisjointWindows(b, op, windows, ins[k], inMap);
  if (!split)
    return reindexWindowedInput(b, op, k, windows, *found, ins, insMaps, inMap);
  ins[k] = split->input;
  insMaps[k] = inMap = split->map;
  return success();
}

class ReverseSweep {
public:
  /// `active` holds the values that depend on a parameter: adjoints are
  /// computed for them alone.
  ReverseSweep(OpBuilder &b, const DenseSet<Value> &active)
      : b(b), active(active) {}

  /// The role the generated IR names: these values are gradients (the fp8
  /// policy casts them to f8E5M2).
  static void markGradient(Value value) {
    if (Operation *def = value.getDefiningOp())
      def->setAttr(ampc::amp::abi::kGradientAttrName,
                   UnitAttr::get(def->getContext()));
  }

  void accumulate(Value value, Value contribution) {
    Value &slot = adjoints[value];
    slot = slot ? Value(arith::AddFOp::create(b, contribution.getLoc(), slot,
                                              contribution))
                : contribution;
    markGradient(slot);
  }
  Value adjoint(Value value) const { return adjoints.lookup(value); }

  /// The adjoint rule of `op`; the ops it creates record `op` as their
  /// origin.
  LogicalResult visit(Operation *op) {
    return withOrigin(b, op, [&] { return visitUnrecorded(op); });
  }

  LogicalResult visitUnrecorded(Operation *op) {
    if (llvm::none_of(op->getResults(),
                      [&](Value r) { return static_cast<bool>(adjoint(r)); }) ||
        llvm::none_of(op->getOperands(),
                      [&](Value v) { return active.contains(v); }))
      return success();
    if (isa<arith::ConstantOp, tensor::EmptyOp, linalg::FillOp>(op))
      return success();
    if (auto generic = dyn_cast<linalg::GenericOp>(op))
      return visitGeneric(generic);
    if (isScalarFloatOp(op))
      return visitScalar(op);
    // The rules for tensor data movement, one per op.
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case([&](tensor::ExtractOp extract) { return adjointOf(extract); })
        .Case([&](tensor::FromElementsOp fromElements) {
          return adjointOf(fromElements);
        })
        .Case([&](tensor::CollapseShapeOp collapse) {
          return adjointOf(collapse);
        })
        .Case([&](tensor::ExpandShapeOp expand) { return adjointOf(expand); })
        .Case(
            [&](tensor::ExtractSliceOp extract) { return adjointOf(extract); })
        .Case([&](tensor::InsertSliceOp insert) { return adjointOf(insert); })
        .Case([&](tensor::ConcatOp concat) { return adjointOf(concat); })
        .Case([&](tensor::PadOp pad) { return adjointOf(pad); })
        .Case(
            [&](linalg::TransposeOp transpose) { return adjointOf(transpose); })
        .Default([](Operation *op) {
          return op->emitOpError(
              "cannot be differentiated; supported are linalg.generic (and "
              "named linalg ops, generalized; softmax decomposed), "
              "linalg.transpose, tensor reshapes, slices, insert_slice, "
              "concat and pad, fills and constants");
        });
  }

  LogicalResult adjointOf(tensor::ExtractOp extract) {
    Operation *op = extract.getOperation();
    // The element's adjoint, placed at its index in a zero tensor.
    auto type = cast<RankedTensorType>(extract.getTensor().getType());
    accumulate(extract.getTensor(),
               tensor::InsertOp::create(
                   b, op->getLoc(), adjoint(extract.getResult()),
                   zeros(b, op->getLoc(), type), extract.getIndices()));
    return success();
  }

  LogicalResult adjointOf(tensor::FromElementsOp fromElements) {
    Operation *op = fromElements.getOperation();
    auto type = cast<RankedTensorType>(fromElements.getType());
    Value dy = adjoint(fromElements.getResult());
    SmallVector<int64_t> strides = computeStrides(type.getShape());
    for (auto [linear, element] : llvm::enumerate(fromElements.getElements())) {
      if (!active.contains(element))
        continue;
      SmallVector<Value> indices;
      for (int64_t index : delinearize(int64_t(linear), strides))
        indices.push_back(
            arith::ConstantIndexOp::create(b, op->getLoc(), index));
      accumulate(element,
                 tensor::ExtractOp::create(b, op->getLoc(), dy, indices));
    }
    return success();
  }

  LogicalResult adjointOf(tensor::CollapseShapeOp collapse) {
    Operation *op = collapse.getOperation();
    accumulate(collapse.getSrc(), tensor::ExpandShapeOp::create(
                                      b, op->getLoc(), collapse.getSrcType(),
                                      adjoint(collapse.getResult()),
                                      collapse.getReassociationIndices()));
    return success();
  }

  LogicalResult adjointOf(tensor::ExpandShapeOp expand) {
    Operation *op = expand.getOperation();
    accumulate(expand.getSrc(), tensor::CollapseShapeOp::create(
                                    b, op->getLoc(), expand.getSrcType(),
                                    adjoint(expand.getResult()),
                                    expand.getReassociationIndices()));
    return success();
  }

  LogicalResult adjointOf(tensor::ExtractSliceOp extract) {
    Operation *op = extract.getOperation();
    // The slice's adjoint, placed back where it came from.
    accumulate(extract.getSource(),
               tensor::InsertSliceOp::create(
                   b, op->getLoc(), adjoint(extract.getResult()),
                   zeros(b, op->getLoc(), extract.getSourceType()),
                   extract.getMixedOffsets(), extract.getMixedSizes(),
                   extract.getMixedStrides()));
    return success();
  }

  LogicalResult adjointOf(tensor::InsertSliceOp insert) {
    Operation *op = insert.getOperation();
    Value dy = adjoint(insert.getResult());
    Location loc = op->getLoc();
    if (active.contains(insert.getSource()))
      accumulate(insert.getSource(),
                 tensor::ExtractSliceOp::create(b, loc, insert.getSourceType(),
                                                dy, insert.getMixedOffsets(),
                                                insert.getMixedSizes(),
                                                insert.getMixedStrides()));
    if (active.contains(insert.getDest()))
      // The overwritten region does not reach the result.
      accumulate(insert.getDest(),
                 tensor::InsertSliceOp::create(
                     b, loc, zeros(b, loc, insert.getSourceType()), dy,
                     insert.getMixedOffsets(), insert.getMixedSizes(),
                     insert.getMixedStrides()));
    return success();
  }

  LogicalResult adjointOf(tensor::ConcatOp concat) {
    Operation *op = concat.getOperation();
    Value dy = adjoint(concat.getResult());
    auto resultType = cast<RankedTensorType>(concat.getResult().getType());
    int64_t offset = 0, dim = int64_t(concat.getDim());
    for (Value input : concat.getInputs()) {
      auto type = cast<RankedTensorType>(input.getType());
      if (!type.hasStaticShape())
        return op->emitOpError("cannot be differentiated: its inputs must "
                               "have static shapes");
      SmallVector<OpFoldResult> offsets(resultType.getRank(),
                                        b.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes,
          strides(resultType.getRank(), b.getIndexAttr(1));
      offsets[dim] = b.getIndexAttr(offset);
      for (int64_t size : type.getShape())
        sizes.push_back(b.getIndexAttr(size));
      if (active.contains(input))
        accumulate(input,
                   tensor::ExtractSliceOp::create(b, op->getLoc(), type, dy,
                                                  offsets, sizes, strides));
      offset += type.getDimSize(dim);
    }
    return success();
  }

  LogicalResult adjointOf(tensor::PadOp pad) {
    Operation *op = pad.getOperation();
    // The interior of the padded adjoint (the padding value is a constant).
    auto sourceType = pad.getSourceType();
    if (!sourceType.hasStaticShape() || !pad.getStaticLow().size() ||
        llvm::any_of(pad.getStaticLow(), ShapedType::isDynamic))
      return op->emitOpError("cannot be differentiated: only static "
                             "padding of a static shape is supported");
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (auto [low, size] :
         llvm::zip(pad.getStaticLow(), sourceType.getShape())) {
      offsets.push_back(b.getIndexAttr(low));
      sizes.push_back(b.getIndexAttr(size));
      strides.push_back(b.getIndexAttr(1));
    }
    accumulate(pad.getSource(),
               tensor::ExtractSliceOp::create(b, op->getLoc(), sourceType,
                                              adjoint(pad.getResult()), offsets,
                                              sizes, strides));
    return success();
  }

  LogicalResult adjointOf(linalg::TransposeOp transpose) {
    Operation *op = transpose.getOperation();
    ArrayRef<int64_t> perm = transpose.getPermutation();
    SmallVector<int64_t> inverse(perm.size());
    for (auto [i, p] : llvm::enumerate(perm))
      inverse[p] = int64_t(i);
    auto inputType = cast<RankedTensorType>(transpose.getInput().getType());
    Value init = tensor::EmptyOp::create(b, op->getLoc(), inputType.getShape(),
                                         inputType.getElementType());
    accumulate(transpose.getInput(),
               linalg::TransposeOp::create(
                   b, op->getLoc(), adjoint(op->getResult(0)), init, inverse)
                   .getResult()[0]);
    return success();
  }

private:
  /// An arith/math op on float scalars, outside any payload.
  static bool isScalarFloatOp(Operation *op) {
    Dialect *dialect = op->getDialect();
    return op->getNumResults() == 1 && op->getNumRegions() == 0 &&
           isa<FloatType>(op->getResult(0).getType()) && dialect &&
           isa<arith::ArithDialect, math::MathDialect>(dialect);
  }

  /// d operand += d result * (d result / d operand), the partial
  /// derivative from the same table as payload bodies (forward mode with
  /// the operand seeded).
  LogicalResult visitScalar(Operation *op) {
    Value dy = adjoint(op->getResult(0));
    // Each distinct operand once: seeding it covers all its uses (a * a).
    llvm::SetVector<Value> operands(op->operand_begin(), op->operand_end());
    for (Value operand : operands) {
      if (!active.contains(operand) || !isa<FloatType>(operand.getType()))
        continue;
      Tangents tangents(b, op->getLoc());
      tangents.seed(operand);
      if (failed(tangents.propagate(op)))
        return failure();
      if (Value partial = tangents.get(op->getResult(0)))
        accumulate(operand,
                   arith::MulFOp::create(b, op->getLoc(), dy, partial));
    }
    return success();
  }

  /// The body of input k's adjoint generic: the forward body recomputed
  /// (without its combine with the output) with tangents seeded at input
  /// k, then acc + dy * d(body)/d(input k) (for a maximum, only where the
  /// element is the maximum). Returns the value to yield; a scalar op
  /// without a derivative rule sets `result` to failure.
  Value adjointBody(OpBuilder &nb, Location nloc, ValueRange args,
                    linalg::GenericOp op, unsigned k, Value inner,
                    Combiner combiner, LogicalResult &result) {
    Block &fwd = op.getRegion().front();
    IRMapping mapping;
    for (unsigned i = 0; i < op.getNumDpsInputs(); ++i)
      mapping.map(fwd.getArgument(i), args[i]);
    Tangents tangents(nb, nloc);
    tangents.seed(args[k]);
    for (Operation &fop : fwd.without_terminator()) {
      if (llvm::is_contained(fop.getOperands(), fwd.getArguments().back()))
        continue; // the combine with the output
      Operation *clone = nb.clone(fop, mapping);
      if (failed(tangents.propagate(clone)))
        result = failure();
    }
    Value acc = args.back();
    Value dyScalar = args[op.getNumDpsInputs()];
    Value derivative = tangents.get(mapping.lookupOrDefault(inner));
    if (!derivative)
      return acc;
    Value term = arith::MulFOp::create(nb, nloc, dyScalar, derivative);
    if (combiner == Combiner::Max) {
      Value isMax = arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::OEQ,
                                          mapping.lookupOrDefault(inner),
                                          args[op.getNumDpsInputs() + 1]);
      Value zero = floatConstant(nb, nloc, term.getType(), 0.0);
      term = arith::SelectOp::create(nb, nloc, isMax, term, zero);
    }
    return arith::AddFOp::create(nb, nloc, acc, term);
  }

  LogicalResult visitGeneric(linalg::GenericOp op) {
    if (op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics())
      return op.emitOpError(
          "cannot be differentiated: the reverse sweep handles "
          "generics on tensors with one output");
    FailureOr<std::pair<Value, Combiner>> analysis = analyzeBody(op);
    if (failed(analysis))
      return failure();
    Value inner = analysis->first;
    Combiner combiner = analysis->second;
    Location loc = op.getLoc();
    Value dy = adjoint(op.getResult(0));
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    AffineMap outMap = maps.back();
    unsigned numLoops = op.getNumLoops();

    for (OpOperand *input : op.getDpsInputOperands()) {
      auto type = dyn_cast<RankedTensorType>(input->get().getType());
      if (!type || !isa<FloatType>(type.getElementType()) ||
          !active.contains(input->get()))
        continue;
      unsigned k = input->getOperandNumber();
      AffineMap inMap = maps[k];
      // Inputs: the forward inputs (to recompute the body), the result's
      // adjoint and, for a maximum, the result.
      SmallVector<Value> ins(op.getDpsInputs());
      SmallVector<AffineMap> insMaps(maps.begin(), maps.end() - 1);
      ins.push_back(dy);
      insMaps.push_back(outMap);
      if (combiner == Combiner::Max) {
        ins.push_back(op.getResult(0));
        insMaps.push_back(outMap);
      }
      std::optional<SplitWindows> split;
      if (!inMap.isProjectedPermutation() &&
          failed(readWindowsAsLoops(b, op, k, ins, insMaps, inMap, split)))
        return failure();
      RankedTensorType gradType = split ? split->expanded : type;
      SmallVector<AffineMap> allMaps = insMaps;
      allMaps.push_back(inMap);
      SmallVector<utils::IteratorType> iterators(
          numLoops, utils::IteratorType::reduction);
      for (AffineExpr e : inMap.getResults())
        iterators[cast<AffineDimExpr>(e).getPosition()] =
            utils::IteratorType::parallel;

      LogicalResult bodyResult = success();
      auto grad = linalg::GenericOp::create(
          b, loc, gradType, ins, zeros(b, loc, gradType), allMaps, iterators,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value next =
                adjointBody(nb, nloc, args, op, k, inner, combiner, bodyResult);
            linalg::YieldOp::create(nb, nloc, next);
          });
      if (failed(bodyResult))
        return failure();
      accumulate(input->get(),
                 split ? split->restore(b, loc, grad.getResult(0), type)
                       : grad.getResult(0));
    }
    // A sum starts from its init: the init's adjoint is the result's.
    if (combiner == Combiner::Add && active.contains(op.getDpsInits()[0]))
      accumulate(op.getDpsInits()[0], dy);
    return success();
  }

  OpBuilder &b;
  const DenseSet<Value> &active;
  DenseMap<Value, Value> adjoints;
};

} // namespace

LogicalResult ampc::generalizeForAutodiff(func::FuncOp fn) {
  IRRewriter rewriter(fn.getContext());
  // Softmax and friends: into the generics they are made of.
  SmallVector<linalg::AggregatedOpInterface> aggregates;
  fn.walk([&](linalg::AggregatedOpInterface op) { aggregates.push_back(op); });
  for (linalg::AggregatedOpInterface op : aggregates) {
    rewriter.setInsertionPoint(op);
    FailureOr<SmallVector<Value>> replacements = withOrigin(
        rewriter, op, [&] { return op.decomposeOperation(rewriter); });
    if (failed(replacements))
      return op->emitOpError("cannot be decomposed for differentiation");
    rewriter.replaceOp(op, *replacements);
  }
  SmallVector<linalg::LinalgOp> named;
  fn.walk([&](linalg::LinalgOp op) {
    if (!isa<linalg::GenericOp, linalg::FillOp, linalg::TransposeOp>(op))
      named.push_back(op);
  });
  for (linalg::LinalgOp op : named) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::GenericOp> generic = withOrigin(
        rewriter, op, [&] { return linalg::generalizeNamedOp(rewriter, op); });
    if (failed(generic))
      return op->emitOpError("cannot be generalized for differentiation");
  }
  return success();
}

FailureOr<SmallVector<Value>> ampc::buildAdjoints(OpBuilder &b, Block &body,
                                                  Value loss, Value seed,
                                                  ArrayRef<BlockArgument> wrt) {
  // Activity: what depends on a differentiated argument.
  DenseSet<Value> active(wrt.begin(), wrt.end());
  SmallVector<Operation *> ops;
  for (auto it = body.begin(); it != b.getInsertionPoint(); ++it) {
    Operation &op = *it;
    ops.push_back(&op);
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return active.contains(v); }))
      for (Value r : op.getResults())
        active.insert(r);
  }
  ReverseSweep sweep(b, active);
  sweep.accumulate(loss, seed);
  for (Operation *op : llvm::reverse(ops))
    if (failed(sweep.visit(op)))
      return failure();

  SmallVector<Value> gradients;
  for (BlockArgument arg : wrt) {
    Value g = sweep.adjoint(arg);
    if (!g) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type)
        return emitError(arg.getLoc())
               << "argument #" << arg.getArgNumber()
               << " is differentiated, so it must be a ranked tensor";
      g = zeros(b, seed.getLoc(), type);
    }
    gradients.push_back(g);
  }
  return gradients;
}

void ampc::simplifyAdjoints(func::FuncOp fn) {
  // Drop what the adjoints do not use (recomputed forward values, unused
  // inputs), so that the adjoint of a contraction is a contraction again
  // and autocast runs it in the low type.
  MLIRContext *context = fn.getContext();
  RewritePatternSet patterns(context);
  for (Dialect *dialect : context->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : context->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, context);
  linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
  if (failed(applyPatternsGreedily(fn, std::move(patterns))))
    fn.emitWarning("canonicalizing the gradient did not converge");
}

LogicalResult ampc::verifyLossFunction(func::FuncOp fn) {
  Type loss = fn.getNumResults() ? fn.getResultTypes()[0] : Type();
  auto shaped = dyn_cast_or_null<ShapedType>(loss);
  if (!loss || !isa<FloatType>(getElementTypeOrSelf(loss)) ||
      (shaped && (!isa<RankedTensorType>(shaped) || shaped.getRank() != 0)))
    return fn.emitOpError("the first result must be the scalar loss (f32, "
                          "f64 or a 0-d tensor of them)");
  // The rules build tensors of static shapes.
  auto dynamic = [](Type type) {
    auto shaped = dyn_cast<ShapedType>(type);
    return shaped && !shaped.hasStaticShape();
  };
  for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes()))
    if (dynamic(type))
      return fn.emitOpError("argument #")
             << i << " has the dynamic type " << type
             << "; differentiation needs static shapes (a model written for "
                "any batch size takes one first: ampc-specialize-batch, "
                "JitOptions::batch, --batch)";
  WalkResult walk = fn.walk([&](Operation *op) {
    if (llvm::none_of(op->getResultTypes(), dynamic))
      return WalkResult::advance();
    op->emitOpError("has a dynamic shape; differentiation needs static "
                    "shapes");
    return WalkResult::interrupt();
  });
  return failure(walk.wasInterrupted());
}

namespace {

struct AmpcAutodiffPass : ampc::impl::AmpcAutodiffBase<AmpcAutodiffPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>(function);
    if (!forward || forward.isExternal()) {
      module.emitError() << "ampc-autodiff: no function @" << function
                         << " with a body to differentiate";
      return signalPassFailure();
    }
    if (failed(ampc::verifyLossFunction(forward)))
      return signalPassFailure();

    // @<f>_grad: a copy of the forward function, named ops generalized.
    OpBuilder b(module.getContext());
    b.setInsertionPointAfter(forward);
    auto grad = cast<func::FuncOp>(b.clone(*forward));
    grad.setSymName(function + "_grad");
    if (failed(ampc::generalizeForAutodiff(grad)))
      return signalPassFailure();

    Block &body = grad.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value loss = ret.getOperand(0);
    SmallVector<BlockArgument> params;
    for (BlockArgument arg : body.getArguments())
      if (grad.getArgAttr(arg.getArgNumber(), ampc::amp::abi::kParamAttrName))
        params.push_back(arg);
    b.setInsertionPoint(ret);
    FailureOr<SmallVector<Value>> gradients = ampc::buildAdjoints(
        b, body, loss, floatConstant(b, ret.getLoc(), loss.getType(), 1.0),
        params);
    if (failed(gradients))
      return signalPassFailure();

    SmallVector<Value> results = {loss};
    llvm::append_range(results, *gradients);
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    grad.setFunctionType(FunctionType::get(module.getContext(),
                                           grad.getArgumentTypes(),
                                           ValueRange(results).getTypes()));
    grad.removeResAttrsAttr();
    ampc::simplifyAdjoints(grad);
  }
};

} // namespace
