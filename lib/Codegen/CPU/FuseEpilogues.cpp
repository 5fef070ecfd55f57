//===- FuseEpilogues.cpp - elementwise consumers on register tiles --------===//
//
// ampc-cpu-fuse-epilogues: an all-parallel linalg.generic (a bias and
// activation, the cast to the next layer's type, an fp8 descale, fused into
// one op by ampc-fuse-elementwise) whose input is a tensor written whole by
// vector stores (a contraction's register tile after its k loop) is computed
// on those vectors: its body, one vector at a time, on the accumulators
// themselves. The tile is not stored and read back, and the op is not a
// loop of its own.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Iterators.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <map>

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUFUSEEPILOGUES
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// The most vectors one fused op computes (each a copy of its body): a
/// register tile has at most 32 accumulators.
constexpr int64_t kMaxVectors = 64;

/// A static tensor every element of which a chain of 1-D vector stores
/// wrote (vector.transfer_write in bounds, unmasked, at constant indices,
/// along the last dimension): the stored vectors by the linear offset of
/// their first element in the tensor's row-major order.
struct WrittenVectors {
  int64_t width = 0;
  DenseMap<int64_t, Value> at;
};

/// The constant indices of `write` if it stores a whole 1-D vector along the
/// last dimension of a static tensor at a multiple of its width.
std::optional<SmallVector<int64_t>> storedAt(vector::TransferWriteOp write) {
  auto type = dyn_cast<RankedTensorType>(write.getBase().getType());
  VectorType vector = write.getVectorType();
  if (!type || !type.hasStaticShape() || vector.getRank() != 1 ||
      vector.isScalable() || write.getMask() ||
      !write.getPermutationMap().isMinorIdentity() ||
      !llvm::all_of(write.getInBoundsValues(), [](bool b) { return b; }))
    return std::nullopt;
  SmallVector<int64_t> indices;
  for (Value index : write.getIndices()) {
    std::optional<int64_t> value = getConstantIntValue(index);
    if (!value)
      return std::nullopt;
    indices.push_back(*value);
  }
  int64_t width = vector.getDimSize(0);
  if (type.getShape().back() % width != 0 || indices.back() % width != 0)
    return std::nullopt;
  return indices;
}

/// `value` through reshapes that keep its elements' row-major order: a
/// collapse or expand of a static shape, and an insert_slice that fills its
/// whole destination (a tile given unit dimensions).
Value throughReshapes(Value value) {
  while (true) {
    Operation *op = value.getDefiningOp();
    if (auto collapse = dyn_cast_or_null<tensor::CollapseShapeOp>(op)) {
      value = collapse.getSrc();
    } else if (auto expand = dyn_cast_or_null<tensor::ExpandShapeOp>(op)) {
      value = expand.getSrc();
    } else if (auto insert = dyn_cast_or_null<tensor::InsertSliceOp>(op)) {
      RankedTensorType dest = insert.getDestType();
      if (!dest.hasStaticShape() || !insert.getSourceType().hasStaticShape() ||
          insert.getSourceType().getNumElements() != dest.getNumElements() ||
          !insert.hasZeroOffset() || !insert.hasUnitStride())
        return value;
      value = insert.getSource();
    } else {
      return value;
    }
  }
}

/// The vectors that wrote all of `tensor` (through reshapes), if a chain of
/// stores did, each element once: later stores hide earlier ones at the
/// same place.
std::optional<WrittenVectors> writtenVectors(Value tensor) {
  Value value = throughReshapes(tensor);
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  SmallVector<int64_t> strides = computeStrides(type.getShape());
  WrittenVectors written;
  while (auto write = value.getDefiningOp<vector::TransferWriteOp>()) {
    std::optional<SmallVector<int64_t>> indices = storedAt(write);
    int64_t width = write.getVectorType().getDimSize(0);
    if (!indices || (written.width && written.width != width))
      return std::nullopt;
    written.width = width;
    written.at.try_emplace(linearize(*indices, strides), write.getVector());
    value = write.getBase();
  }
  if (!written.width ||
      int64_t(written.at.size()) * written.width != type.getNumElements())
    return std::nullopt;
  return written;
}

/// True if `map` reads along the innermost of its `loops` loops only in its
/// last result (a vector of consecutive elements), or not at all (one
/// element per vector, broadcast).
bool readsRowsOrScalars(AffineMap map, unsigned loops) {
  AffineExpr innermost = getAffineDimExpr(loops - 1, map.getContext());
  for (auto [i, result] : llvm::enumerate(map.getResults())) {
    bool isLast = i + 1 == map.getNumResults();
    if (result.isFunctionOfDim(loops - 1) && !(isLast && result == innermost))
      return false;
  }
  return true;
}

/// True if every op of `op`'s body computes lane by lane on scalars (arith
/// and math ops without regions, on integers and floats) and the body reads
/// no init.
bool hasLanewiseBody(linalg::GenericOp op) {
  for (OpOperand &init : op.getDpsInitsMutable())
    if (op.payloadUsesValueFromOperand(&init))
      return false;
  if (!llvm::all_of(op.getBody()->getArgumentTypes(),
                    [](Type type) { return type.isIntOrFloat(); }))
    return false;
  for (Operation &inner : op.getBody()->without_terminator()) {
    Dialect *dialect = inner.getDialect();
    if (!dialect || !isa<arith::ArithDialect, math::MathDialect>(dialect) ||
        inner.getNumRegions() != 0 ||
        !(isa<arith::ConstantOp>(inner) ||
          OpTrait::hasElementwiseMappableTraits(&inner)))
      return false;
    for (Type type :
         llvm::concat<Type>(inner.getOperandTypes(), inner.getResultTypes()))
      if (!type.isIntOrFloat())
        return false;
  }
  return true;
}

/// The inputs of `op` (by operand number, read through the identity) whose
/// elements stores of vectors of one width wrote, if there are any and `op`
/// can be computed on them: all loops parallel and static, a lanewise body,
/// the other inputs read as rows or scalars (readsRowsOrScalars), every
/// output written along the innermost loop, its length a multiple of the
/// vectors' width, at most kMaxVectors of them.
using ForwardedInputs = DenseMap<unsigned, WrittenVectors>;
std::optional<ForwardedInputs> epilogueInputs(linalg::GenericOp op) {
  unsigned loops = op.getNumLoops();
  if (!op.hasPureTensorSemantics() || loops == 0 ||
      op.getNumParallelLoops() != loops || op.hasIndexSemantics() ||
      ShapedType::isDynamicShape(op.getStaticLoopRanges()) ||
      !hasLanewiseBody(op))
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  ForwardedInputs forwarded;
  int64_t width = 0;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (op.isDpsInit(&operand)) {
      if (!map.isPermutation() ||
          map.getResults().back() !=
              getAffineDimExpr(loops - 1, op.getContext()))
        return std::nullopt;
      continue;
    }
    if (!readsRowsOrScalars(map, loops))
      return std::nullopt;
    if (!map.isIdentity())
      continue;
    std::optional<WrittenVectors> written = writtenVectors(operand.get());
    if (!written || (width && written->width != width) ||
        ranges.back() % written->width != 0 ||
        computeProduct(ranges) / written->width > kMaxVectors)
      continue;
    width = written->width;
    forwarded.try_emplace(operand.getOperandNumber(), std::move(*written));
  }
  if (forwarded.empty())
    return std::nullopt;
  return forwarded;
}

/// Builds one fused op's vectors before it: index constants, broadcasts of
/// values from outside its body, the body's constants and reads that do
/// not change from one vector to the next are made once.
struct VectorBody {
  RewriterBase &b;
  linalg::GenericOp op;
  int64_t width;
  DenseMap<int64_t, Value> indexConstants;
  /// The padding of reads, by element type (never read: reads are in
  /// bounds).
  DenseMap<Type, Value> paddings;
  /// Values from outside the body and the body's constants, as vectors.
  IRMapping invariant;
  /// Reads by operand and indices.
  std::map<std::pair<unsigned, SmallVector<int64_t>>, Value> reads;

  VectorBody(RewriterBase &b, linalg::GenericOp op, int64_t width)
      : b(b), op(op), width(width) {}

  Location loc() { return op.getLoc(); }

  Value index(int64_t value) {
    Value &constant = indexConstants[value];
    if (!constant)
      constant = arith::ConstantIndexOp::create(b, loc(), value);
    return constant;
  }

  /// The indices `map` gives for the loop indices `point`.
  SmallVector<Value> indicesAt(AffineMap map, ArrayRef<int64_t> point) {
    return llvm::map_to_vector(map.compose(point),
                               [&](int64_t i) { return index(i); });
  }

  /// `value` (a scalar) as a vector.
  Value splat(Value value) {
    return vector::BroadcastOp::create(
        b, loc(), VectorType::get({width}, value.getType()), value);
  }

  /// The vector `operand` gives at the loop indices `point` (the first of
  /// the vector's): the lanes of a row, or one element broadcast.
  Value readAt(OpOperand &operand, ArrayRef<int64_t> point) {
    Value source = operand.get();
    if (!isa<RankedTensorType>(source.getType()))
      return lanesOf(source, invariant);
    AffineMap map = op.getMatchingIndexingMap(&operand);
    SmallVector<int64_t> at = map.compose(point);
    Value &read = reads[{operand.getOperandNumber(), at}];
    if (read)
      return read;
    SmallVector<Value> indices = indicesAt(map, point);
    Type element = getElementTypeOrSelf(source);
    if (map.getNumResults() == 0 ||
        !map.getResults().back().isFunctionOfDim(op.getNumLoops() - 1)) {
      read = splat(tensor::ExtractOp::create(b, loc(), source, indices));
      return read;
    }
    Value &padding = paddings[element];
    if (!padding)
      padding = arith::ConstantOp::create(b, loc(), b.getZeroAttr(element));
    read = vector::TransferReadOp::create(
        b, loc(), VectorType::get({width}, element), source, indices, padding,
        ArrayRef<bool>{true});
    return read;
  }

  /// The vector of `value` in `lanes`, or, for a scalar from outside the
  /// body, its broadcast (made once).
  Value lanesOf(Value value, IRMapping &lanes) {
    if (Value lane = lanes.lookupOrNull(value))
      return lane;
    if (Value lane = invariant.lookupOrNull(value))
      return lane;
    Value lane = splat(value);
    invariant.map(value, lane);
    return lane;
  }

  /// `inner` (an op of a lanewise body) on vectors, its operands looked up
  /// by lanesOf.
  void clone(Operation &inner, IRMapping &lanes) {
    if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
      if (!invariant.contains(constant.getResult())) {
        auto type = VectorType::get({width}, constant.getType());
        invariant.map(
            constant.getResult(),
            arith::ConstantOp::create(
                b, loc(), SplatElementsAttr::get(type, constant.getValue())));
      }
      return;
    }
    OperationState state(inner.getLoc(), inner.getName());
    for (Value operand : inner.getOperands())
      state.operands.push_back(lanesOf(operand, lanes));
    for (Type type : inner.getResultTypes())
      state.types.push_back(VectorType::get({width}, type));
    state.attributes = inner.getAttrs();
    lanes.map(inner.getResults(), b.create(state)->getResults());
  }
};

/// Replaces `op` by its body on the vectors stored into its `forwarded`
/// inputs, one vector at a time in the order of its loops, each result
/// stored into the op's outputs.
void computeOnVectors(RewriterBase &b, linalg::GenericOp op,
                      const ForwardedInputs &forwarded) {
  b.setInsertionPoint(op);
  int64_t width = forwarded.begin()->second.width;
  VectorBody body(b, op, width);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<int64_t> strides = computeStrides(ranges);
  SmallVector<Value> outputs = op.getDpsInits();
  Block *block = op.getBody();
  for (int64_t offset = 0, e = computeProduct(ranges); offset < e;
       offset += width) {
    SmallVector<int64_t> point = delinearize(offset, strides);
    IRMapping lanes;
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto it = forwarded.find(input->getOperandNumber());
      lanes.map(op.getMatchingBlockArgument(input),
                it != forwarded.end() ? it->second.at.lookup(offset)
                                      : body.readAt(*input, point));
    }
    for (Operation &inner : block->without_terminator())
      body.clone(inner, lanes);
    for (auto [i, yielded] :
         llvm::enumerate(block->getTerminator()->getOperands())) {
      AffineMap map = op.getIndexingMapMatchingResult(op->getResult(i));
      outputs[i] = vector::TransferWriteOp::create(
                       b, op.getLoc(), body.lanesOf(yielded, lanes), outputs[i],
                       body.indicesAt(map, point), ArrayRef<bool>{true})
                       .getResult();
    }
  }
  b.replaceOp(op, outputs);
}

struct AmpcCpuFuseEpiloguesPass
    : ampc::impl::AmpcCpuFuseEpiloguesBase<AmpcCpuFuseEpiloguesPass> {
  void runOnOperation() override {
    // In order: an op computed on vectors stores its results as vectors, so
    // the next op of the chain can be computed on them in turn.
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops)
      if (std::optional<ForwardedInputs> inputs = epilogueInputs(op))
        computeOnVectors(rewriter, op, *inputs);
    // The stores (and reshapes) nothing reads any more, last first.
    getOperation().walk<WalkOrder::PostOrder, mlir::ReverseIterator>(
        [&](Operation *op) {
          if (isa<vector::TransferWriteOp, tensor::CollapseShapeOp,
                  tensor::ExpandShapeOp, tensor::InsertSliceOp>(op) &&
              isOpTriviallyDead(op))
            rewriter.eraseOp(op);
        });
  }
};

} // namespace
