//===- Rebatch.cpp - give a fixed-batch model another batch size ----------===//
//
// See Rebatch.h. The batch is followed forward from the batch inputs, one op
// at a time in program order: an op either maps the batch dimensions of its
// operands to its results (linalg ops through their indexing maps, reshapes
// through their groups, elementwise ops dimension by dimension) or must not
// see them. A tensor.empty, linalg.fill or splat constant that meets the
// batch (the init of a batch op) is copied for that use and its copy
// re-batched, so other uses of the same value keep their shapes.
//
//===----------------------------------------------------------------------===//

#include "Rebatch.h"

#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/Dialect/Amp/IR/TrainStepABI.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;

namespace {

bool isParameter(func::FuncOp fn, unsigned i) {
  return fn.getArgAttr(i, ampc::amp::abi::kParamAttrName) != nullptr;
}

/// The value of a float constant (a scalar, or a splat without the batch).
std::optional<double> floatConstant(Value v) {
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  Attribute value = constant.getValue();
  if (auto splat = dyn_cast<SplatElementsAttr>(value))
    value = splat.getSplatValue<Attribute>();
  if (auto number = dyn_cast<FloatAttr>(value))
    return number.getValueAsDouble();
  return std::nullopt;
}

std::string affineText(AffineExpr expr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  expr.print(os);
  return text;
}

/// `x` rounded to the float type of `v`'s elements.
double roundedLike(Value v, double x) {
  auto type = cast<FloatType>(getElementTypeOrSelf(v.getType()));
  APFloat value(x);
  bool lost = false;
  value.convert(type.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
  return value.convertToDouble();
}

class Rebatcher {
public:
  Rebatcher(func::FuncOp fn, int64_t from, int64_t to)
      : fn(fn), from(from), to(to) {}

  LogicalResult run();

private:
  func::FuncOp fn;
  int64_t from, to;
  /// Per tensor value that carries the batch: each dimension's multiple of
  /// the batch (0: not the batch).
  DenseMap<Value, SmallVector<int64_t>> factors;
  /// Per value computed from a sum over the batch: the extents (in the
  /// original batch) a mean of it may divide by.
  DenseMap<Value, SmallVector<int64_t>> means;
  /// Uses of a mean's constant and their value for the new batch.
  SmallVector<std::pair<OpOperand *, double>> rewrites;
  SmallVector<tensor::ExpandShapeOp> expands;

  ArrayRef<int64_t> factorsOf(Value v) const {
    auto it = factors.find(v);
    return it == factors.end() ? ArrayRef<int64_t>() : ArrayRef(it->second);
  }
  bool carriesBatch(Value v) const {
    return llvm::any_of(factorsOf(v), [](int64_t f) { return f != 0; });
  }
  LogicalResult setFactor(Value v, unsigned dim, int64_t factor, Operation *at);
  LogicalResult markChain(Value v, unsigned dim, int64_t factor, Operation *at);
  LogicalResult markOperand(OpOperand &use, unsigned dim, int64_t factor);
  LogicalResult visit(Operation *op);
  LogicalResult visitLinalg(linalg::LinalgOp op);
  LogicalResult visitElementwise(Operation *op);
  LogicalResult visitSoftmax(linalg::SoftmaxOp op);
  LogicalResult visitCollapse(tensor::CollapseShapeOp op);
  LogicalResult visitExpand(tensor::ExpandShapeOp op);
  SmallVector<int64_t> reductionExtents(linalg::LinalgOp op,
                                        ArrayRef<int64_t> loops) const;
  LogicalResult propagateMeans(Operation *op, SmallVector<int64_t> extents);
  LogicalResult findMeanConstants(Operation *op, ArrayRef<int64_t> extents);
  std::optional<double> meanReplacement(OpOperand &use,
                                        ArrayRef<int64_t> extents) const;
  void applyRewrites();
  LogicalResult retype();
};

LogicalResult Rebatcher::setFactor(Value v, unsigned dim, int64_t factor,
                                   Operation *at) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> &dims = factors[v];
  if (dims.empty())
    dims.assign(type.getRank(), 0);
  if (dims[dim] == factor)
    return success();
  if (dims[dim] != 0)
    return at->emitError("cannot re-batch: dimension ")
           << dim << " of an operand would hold " << dims[dim] << " and "
           << factor << " times the batch";
  if (type.getDimSize(dim) != factor * from)
    return at->emitError("cannot re-batch: dimension ")
           << dim << " of " << type << " meets the batch of " << from
           << " but has " << type.getDimSize(dim) << " rows";
  dims[dim] = factor;
  return success();
}

/// Marks `v` and, through a fill, the tensor it fills.
LogicalResult Rebatcher::markChain(Value v, unsigned dim, int64_t factor,
                                   Operation *at) {
  if (failed(setFactor(v, dim, factor, at)))
    return failure();
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return markChain(fill.getOutputs()[0], dim, factor, at);
  return success();
}

/// A copy of the empty/fill/splat chain that produces `v`, made before `at`.
Value copyProducer(OpBuilder &b, Value v) {
  Operation *def = v.getDefiningOp();
  IRMapping mapping;
  if (auto fill = dyn_cast<linalg::FillOp>(def))
    mapping.map(fill.getOutputs()[0], copyProducer(b, fill.getOutputs()[0]));
  return b.clone(*def, mapping)->getResult(0);
}

/// Dimension `dim` of `use` meets a batch loop: the operand must carry the
/// batch there, or be a tensor.empty/linalg.fill/splat, copied for this use.
LogicalResult Rebatcher::markOperand(OpOperand &use, unsigned dim,
                                     int64_t factor) {
  Value v = use.get();
  Operation *user = use.getOwner();
  ArrayRef<int64_t> known = factorsOf(v);
  if (!known.empty() && known[dim] == factor)
    return success();
  Operation *def = v.getDefiningOp();
  auto constant = dyn_cast_or_null<arith::ConstantOp>(def);
  bool copyable = isa_and_nonnull<tensor::EmptyOp, linalg::FillOp>(def) ||
                  (constant && isa<SplatElementsAttr>(constant.getValue()));
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(def))
    copyable = isa_and_nonnull<tensor::EmptyOp, linalg::FillOp>(
        fill.getOutputs()[0].getDefiningOp());
  // A copy made for an earlier dimension of this use.
  if (copyable && !known.empty())
    return markChain(v, dim, factor, user);
  if (!copyable) {
    InFlightDiagnostic diag = user->emitError("cannot re-batch: operand #")
                              << use.getOperandNumber() << " has " << from
                              << " rows in dimension " << dim
                              << ", where the batch is, but ";
    auto arg = dyn_cast<BlockArgument>(v);
    if (arg && isParameter(fn, arg.getArgNumber()))
      diag << "is parameter #" << arg.getArgNumber()
           << ": a parameter cannot change with the batch";
    else
      diag << "does not follow from a batch input";
    return diag;
  }
  OpBuilder b(user);
  Value copy = copyProducer(b, v);
  use.set(copy);
  return markChain(copy, dim, factor, user);
}

LogicalResult Rebatcher::visit(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return visitLinalg(linalgOp);
  if (auto softmax = dyn_cast<linalg::SoftmaxOp>(op))
    return visitSoftmax(softmax);
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
    return visitCollapse(collapse);
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
    return visitExpand(expand);
  if (op->getNumRegions() == 0 && (op->hasTrait<OpTrait::Elementwise>() ||
                                   isa<ampc::amp::CastOp, tensor::CastOp>(op)))
    return visitElementwise(op);
  if (isa<func::ReturnOp, tensor::EmptyOp, arith::ConstantOp>(op))
    return success();
  for (OpOperand &use : op->getOpOperands())
    if (carriesBatch(use.get()))
      return op->emitError("cannot re-batch: '")
             << op->getName() << "' takes the batch (operand #"
             << use.getOperandNumber()
             << ") and is not known to keep samples apart; write the model "
                "for any batch size (a '?' leading dimension)";
  if (op->getNumRegions() != 0)
    return op->emitError("cannot re-batch a function that holds '")
           << op->getName() << "'";
  return propagateMeans(op, {});
}

LogicalResult Rebatcher::visitLinalg(linalg::LinalgOp op) {
  SmallVector<int64_t> loops(op.getNumLoops(), 0);
  for (OpOperand &use : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&use);
    for (auto [dim, factor] : llvm::enumerate(factorsOf(use.get()))) {
      if (factor == 0)
        continue;
      auto loop = dyn_cast<AffineDimExpr>(map.getResult(dim));
      if (!loop)
        return op->emitError("cannot re-batch: operand #")
               << use.getOperandNumber() << " is read along its batch "
               << "dimension through '" << affineText(map.getResult(dim))
               << "'";
      int64_t &known = loops[loop.getPosition()];
      if (known != 0 && known != factor)
        return op->emitError("cannot re-batch: loop d")
               << loop.getPosition() << " would run over " << known << " and "
               << factor << " times the batch";
      known = factor;
    }
  }
  if (llvm::any_of(loops, [](int64_t f) { return f != 0; })) {
    for (OpOperand &use : op->getOpOperands()) {
      AffineMap map = op.getMatchingIndexingMap(&use);
      for (auto [dim, expr] : llvm::enumerate(map.getResults())) {
        auto loop = dyn_cast<AffineDimExpr>(expr);
        if (loop && loops[loop.getPosition()] != 0) {
          if (failed(markOperand(use, dim, loops[loop.getPosition()])))
            return failure();
          continue;
        }
        for (auto [l, factor] : llvm::enumerate(loops))
          if (factor != 0 && expr.isFunctionOfDim(l))
            return op->emitError("cannot re-batch: operand #")
                   << use.getOperandNumber() << " is read through '"
                   << affineText(expr) << "', which mixes the batch loop d" << l
                   << " with others";
      }
    }
    for (OpResult result : op->getResults()) {
      Value init = op.getDpsInitOperand(result.getResultNumber())->get();
      if (carriesBatch(init))
        factors[result] = SmallVector<int64_t>(factorsOf(init));
    }
  }
  return propagateMeans(op, reductionExtents(op, loops));
}

/// The extents a mean over what `op` sums over the batch may divide by: the
/// batch times any product of the other reduced loops' sizes (a mean over the
/// batch only, or over the batch and the classes, ...). Empty if `op` does
/// not sum over the batch.
SmallVector<int64_t>
Rebatcher::reductionExtents(linalg::LinalgOp op,
                            ArrayRef<int64_t> loops) const {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t batch = 0;
  SmallVector<int64_t> others;
  for (auto [l, factor] : llvm::enumerate(loops)) {
    if (iterators[l] != utils::IteratorType::reduction)
      continue;
    if (factor != 0)
      batch = (batch ? batch : 1) * factor * from;
    else if (!ShapedType::isDynamic(ranges[l]) && ranges[l] > 1)
      others.push_back(ranges[l]);
  }
  if (batch == 0 || others.size() > 8)
    return {};
  SmallVector<int64_t> extents;
  for (unsigned subset = 0; subset < (1u << others.size()); ++subset) {
    int64_t extent = batch;
    for (auto [i, size] : llvm::enumerate(others))
      if (subset & (1u << i))
        extent *= size;
    extents.push_back(extent);
  }
  return extents;
}

LogicalResult Rebatcher::visitElementwise(Operation *op) {
  SmallVector<int64_t> merged;
  for (Value operand : op->getOperands())
    for (auto [dim, factor] : llvm::enumerate(factorsOf(operand))) {
      merged.resize(std::max<size_t>(merged.size(), dim + 1), 0);
      if (factor != 0)
        merged[dim] = factor;
    }
  if (llvm::any_of(merged, [](int64_t f) { return f != 0; })) {
    for (OpOperand &use : op->getOpOperands())
      if (isa<RankedTensorType>(use.get().getType()))
        for (auto [dim, factor] : llvm::enumerate(merged))
          if (factor != 0 && failed(markOperand(use, dim, factor)))
            return failure();
    for (OpResult result : op->getResults())
      factors[result] = merged;
  }
  return propagateMeans(op, {});
}

LogicalResult Rebatcher::visitSoftmax(linalg::SoftmaxOp op) {
  ArrayRef<int64_t> input = factorsOf(op.getInput());
  if (input.empty())
    return propagateMeans(op, {});
  if (input[op.getDimension()] != 0)
    return op.emitError("cannot re-batch: the softmax runs over the batch");
  SmallVector<int64_t> dims(input);
  for (auto [dim, factor] : llvm::enumerate(dims))
    if (factor != 0 && failed(markOperand(op.getOutputMutable(), dim, factor)))
      return failure();
  factors[op.getResult()[0]] = dims;
  return propagateMeans(op, {});
}

LogicalResult Rebatcher::visitCollapse(tensor::CollapseShapeOp op) {
  ArrayRef<int64_t> source = factorsOf(op.getSrc());
  if (source.empty())
    return propagateMeans(op, {});
  ArrayRef<int64_t> shape = op.getSrcType().getShape();
  SmallVector<int64_t> result(op.getResultType().getRank(), 0);
  for (auto [g, group] : llvm::enumerate(op.getReassociationIndices())) {
    int64_t factor = 0, others = 1;
    for (int64_t dim : group) {
      if (source[dim] == 0) {
        others *= shape[dim];
      } else if (factor != 0) {
        return op.emitError("cannot re-batch: two batch dimensions fold "
                            "into one");
      } else {
        factor = source[dim];
      }
    }
    result[g] = factor * others;
  }
  factors[op.getResult()] = result;
  return propagateMeans(op, {});
}

LogicalResult Rebatcher::visitExpand(tensor::ExpandShapeOp op) {
  ArrayRef<int64_t> source = factorsOf(op.getSrc());
  if (source.empty())
    return propagateMeans(op, {});
  ArrayRef<int64_t> shape = op.getResultType().getShape();
  SmallVector<int64_t> result(shape.size(), 0);
  for (auto [d, group] : llvm::enumerate(op.getReassociationIndices())) {
    if (source[d] == 0)
      continue;
    // The batch is the outermost dimension of the group that it divides.
    auto outer = llvm::find_if(
        group, [&](int64_t dim) { return shape[dim] % from == 0; });
    if (outer == group.end())
      return op.emitError("cannot re-batch: no dimension of group #")
             << d << " holds the batch of " << from;
    result[*outer] = shape[*outer] / from;
  }
  factors[op.getResult()] = result;
  expands.push_back(op);
  return propagateMeans(op, {});
}

LogicalResult Rebatcher::propagateMeans(Operation *op,
                                        SmallVector<int64_t> extents) {
  for (Value operand : op->getOperands())
    if (auto it = means.find(operand); it != means.end())
      extents.append(it->second);
  if (extents.empty())
    return success();
  llvm::sort(extents);
  extents.erase(llvm::unique(extents), extents.end());
  // A value per sample again (normalized by a batch statistic) is not a
  // mean: constants after it are the model's own.
  for (Value result : op->getResults())
    if (!carriesBatch(result))
      means[result] = extents;
  return findMeanConstants(op, extents);
}

/// The value for the new batch of a constant used as a mean's 1/extent (by
/// a multiplication) or extent (as a divisor), if it is one.
std::optional<double>
Rebatcher::meanReplacement(OpOperand &use, ArrayRef<int64_t> extents) const {
  std::optional<double> value = floatConstant(use.get());
  if (!value || *value == 0.0)
    return std::nullopt;
  double sign = *value < 0 ? -1.0 : 1.0, magnitude = std::fabs(*value);
  bool divisor =
      isa<arith::DivFOp>(use.getOwner()) && use.getOperandNumber() == 1;
  if (!divisor && !isa<arith::MulFOp>(use.getOwner()))
    return std::nullopt;
  for (int64_t extent : extents) {
    double rebatched = double(extent / from * to);
    if (divisor && magnitude == double(extent))
      return sign * rebatched;
    if (!divisor && magnitude == roundedLike(use.get(), 1.0 / double(extent)))
      return sign / rebatched;
  }
  return std::nullopt;
}

/// Records the constant of `op`'s mean (in its operands, or in its body),
/// if there is one; two candidates are an error.
LogicalResult Rebatcher::findMeanConstants(Operation *op,
                                           ArrayRef<int64_t> extents) {
  SmallVector<std::pair<OpOperand *, double>> found;
  auto consider = [&](OpOperand &use) {
    if (auto value = meanReplacement(use, extents))
      found.push_back({&use, *value});
  };
  for (OpOperand &use : op->getOpOperands())
    consider(use);
  op->walk([&](Operation *inner) {
    if (inner != op)
      for (OpOperand &use : inner->getOpOperands())
        consider(use);
  });
  for (auto &[use, value] : found)
    if (use->get() != found.front().first->get())
      return op->emitError("cannot re-batch: ")
             << *floatConstant(found.front().first->get()) << " and "
             << *floatConstant(use->get())
             << " could both be the mean's 1/batch; write the model for "
                "any batch size (a '?' leading dimension)";
  rewrites.append(found.begin(), found.end());
  return success();
}

void Rebatcher::applyRewrites() {
  for (auto &[use, value] : rewrites) {
    Operation *user = use->getOwner();
    Value old = use->get();
    OpBuilder b(user);
    Type type = old.getType();
    auto element = cast<FloatType>(getElementTypeOrSelf(type));
    TypedAttr attr = FloatAttr::get(element, value);
    if (auto shaped = dyn_cast<ShapedType>(type))
      attr = SplatElementsAttr::get(shaped, attr);
    use->set(arith::ConstantOp::create(b, user->getLoc(), attr));
    user->emitRemark("re-batched from ")
        << from << " to " << to << ": the mean's " << *floatConstant(old)
        << " is " << roundedLike(old, value) << " here";
  }
}

LogicalResult Rebatcher::retype() {
  for (auto &[value, dims] : factors) {
    if (llvm::none_of(dims, [](int64_t f) { return f != 0; }))
      continue;
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<int64_t> shape(type.getShape());
    for (auto [dim, factor] : llvm::enumerate(dims))
      if (factor != 0)
        shape[dim] = factor * to;
    RankedTensorType retyped = type.clone(shape);
    if (auto constant = value.getDefiningOp<arith::ConstantOp>())
      constant.setValueAttr(SplatElementsAttr::get(
          retyped, cast<SplatElementsAttr>(constant.getValue())
                       .getSplatValue<Attribute>()));
    value.setType(retyped);
  }
  for (tensor::ExpandShapeOp op : expands) {
    OpBuilder b(op);
    auto rebuilt = tensor::ExpandShapeOp::create(
        b, op.getLoc(), op.getResultType(), op.getSrc(),
        op.getReassociationIndices());
    op.getResult().replaceAllUsesWith(rebuilt.getResult());
    op.erase();
  }
  Block &entry = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  fn.setFunctionType(FunctionType::get(
      fn.getContext(), entry.getArgumentTypes(), ret.getOperandTypes()));
  return verify(fn);
}

LogicalResult Rebatcher::run() {
  if (from == 1)
    return fn.emitOpError("is written for batches of 1, where a mean over "
                          "the batch cannot be told from other constants; "
                          "write it for any batch size (a '?' leading "
                          "dimension) to re-batch it");
  if (!fn.getBody().hasOneBlock())
    return fn.emitOpError("cannot be re-batched: it has more than one block");
  Block &entry = fn.getBody().front();
  for (BlockArgument arg : entry.getArguments())
    if (!isParameter(fn, arg.getArgNumber()) &&
        cast<RankedTensorType>(arg.getType()).getRank() > 0 &&
        failed(setFactor(arg, 0, 1, fn)))
      return failure();
  for (Operation &op : llvm::make_early_inc_range(entry))
    if (failed(visit(&op)))
      return failure();
  applyRewrites();
  return retype();
}

} // namespace

FailureOr<int64_t> ampc::fixedBatchOf(func::FuncOp fn) {
  if (fn.isExternal() ||
      llvm::none_of(llvm::seq<unsigned>(0, fn.getNumArguments()),
                    [&](unsigned i) { return isParameter(fn, i); }))
    return 0;
  int64_t batch = 0;
  unsigned first = 0;
  for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (isParameter(fn, i) || !tensor || tensor.getRank() == 0)
      continue;
    if (tensor.isDynamicDim(0))
      return 0;
    if (batch == 0) {
      batch = tensor.getDimSize(0);
      first = i;
    } else if (tensor.getDimSize(0) != batch) {
      return fn.emitOpError("has batch inputs of different sizes: argument #")
             << first << " has " << batch << " rows, argument #" << i << " has "
             << tensor.getDimSize(0);
    }
  }
  return batch;
}

LogicalResult ampc::rebatchFunction(func::FuncOp fn, int64_t from, int64_t to) {
  return Rebatcher(fn, from, to).run();
}
