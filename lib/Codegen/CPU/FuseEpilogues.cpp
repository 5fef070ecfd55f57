//===- FuseEpilogues.cpp - elementwise consumers on register tiles --------===//
//
// ampc-cpu-fuse-epilogues: an all-parallel linalg.generic (a bias and
// activation, the cast to the next layer's type, an fp8 descale, fused into
// one op by ampc-fuse-elementwise) whose input is a tensor written whole by
// vector stores (a contraction's register tile after its k loop) is computed
// on those vectors: its body, one vector at a time, on the accumulators
// themselves. The tile is not stored and read back, and the op is not a
// loop of its own. Such an op after a tiled contraction first moves into
// the contraction's loops, as an op on each tile after its micro-kernel
// (in the last k block), so that it too runs on the accumulators.
//
//===----------------------------------------------------------------------===//

#include "PackedContractions.h"
#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Iterators.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include <map>
#include <optional>

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

/// True if `op` could run on vectors: all its loops parallel and static, a
/// lanewise body, on tensors.
bool epilogueCandidate(linalg::GenericOp op) {
  unsigned loops = op.getNumLoops();
  return op.hasPureTensorSemantics() && loops != 0 &&
         op.getNumParallelLoops() == loops && !op.hasIndexSemantics() &&
         !ShapedType::isDynamicShape(op.getStaticLoopRanges()) &&
         hasLanewiseBody(op);
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
  if (!epilogueCandidate(op))
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

/// The loops of the tiled contraction (kTiledContractionAttr) whose
/// outermost loop yields `value`, outermost first, down to the one around
/// its micro-kernel; empty if `value` is not such a loop's result.
SmallVector<LoopLikeOpInterface> tiledContractionLoops(Value value) {
  Operation *outer = value.getDefiningOp();
  if (!outer || !outer->hasAttr(ampc::cpu::kTiledContractionAttr) ||
      outer->getParentOp()->hasAttr(ampc::cpu::kTiledContractionAttr))
    return {};
  scf::ForOp kernel;
  WalkResult walk = outer->walk([&](scf::ForOp loop) {
    if (!loop->hasAttr(ampc::cpu::kMicroKernelAttr))
      return WalkResult::advance();
    if (kernel)
      return WalkResult::interrupt();
    kernel = loop;
    return WalkResult::advance();
  });
  if (walk.wasInterrupted() || !kernel)
    return {};
  SmallVector<LoopLikeOpInterface> loops;
  for (Operation *op = kernel->getParentOp(); op != outer->getParentOp();
       op = op->getParentOp())
    if (auto loop = dyn_cast<LoopLikeOpInterface>(op))
      loops.insert(loops.begin(), loop);
  return loops;
}

/// C's tiles (the result of the loops of a tiled contraction: M1 x mr x N1 x
/// nr) that `value` reads in row-major order through reshapes (and the
/// slice untileAccumulator makes of a padded C), and how much of them: all, or
/// the first `rows` rows and `cols` columns of the M1 * mr x N1 * nr result
/// where C was padded to whole tiles.
struct TiledResult {
  Value tiles;
  int64_t rows = 0, cols = 0;
  SmallVector<LoopLikeOpInterface> loops;
};
std::optional<TiledResult> tiledResult(Value value) {
  TiledResult result;
  Value source = throughReshapes(value);
  if (auto slice = source.getDefiningOp<tensor::ExtractSliceOp>()) {
    auto collapse = slice.getSource().getDefiningOp<tensor::CollapseShapeOp>();
    SmallVector<ReassociationIndices> groups = {{0, 1}, {2, 3}};
    if (!collapse || collapse.getReassociationIndices() != groups ||
        !slice.hasZeroOffset() || !slice.hasUnitStride() ||
        !slice.getType().hasStaticShape() || slice.getType().getRank() != 2)
      return std::nullopt;
    result.rows = slice.getType().getDimSize(0);
    result.cols = slice.getType().getDimSize(1);
    source = collapse.getSrc();
  }
  auto type = dyn_cast<RankedTensorType>(source.getType());
  if (!type || type.getRank() != 4 || !type.hasStaticShape())
    return std::nullopt;
  if (!result.rows) {
    result.rows = type.getDimSize(0) * type.getDimSize(1);
    result.cols = type.getDimSize(2) * type.getDimSize(3);
  }
  result.tiles = source;
  result.loops = tiledContractionLoops(source);
  if (result.loops.empty())
    return std::nullopt;
  return result;
}

/// How `op` reads an input once it runs on C's tiles (loops M1 x mr x N1 x
/// nr): the whole result's shape through the identity (C unpadded), a
/// value per column (a bias: its map reads the innermost loop only), a
/// value per row (its map reads the other loops, in order), or a scalar.
enum class TiledRead { whole, columns, rows, scalar };

/// The kind of read of `operand` by `op` on C's tiles `c`, if it is one.
std::optional<TiledRead> tiledRead(linalg::GenericOp op, OpOperand &operand,
                                   const TiledResult &c) {
  AffineMap map = op.getMatchingIndexingMap(&operand);
  ArrayRef<int64_t> tiles =
      cast<RankedTensorType>(c.tiles.getType()).getShape();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned last = op.getNumLoops() - 1;
  if (ranges[last] != c.cols)
    return std::nullopt;
  if (map.isIdentity())
    return c.rows == tiles[0] * tiles[1] && c.cols == tiles[2] * tiles[3]
               ? std::optional(TiledRead::whole)
               : std::nullopt;
  if (llvm::all_of(map.getResults(),
                   [](AffineExpr e) { return isa<AffineConstantExpr>(e); }))
    return TiledRead::scalar;
  if (map ==
      AffineMap::get(last + 1, 0, getAffineDimExpr(last, op.getContext())))
    return TiledRead::columns;
  if (last > 0 &&
      map == AffineMap::getMultiDimIdentityMap(last + 1, op.getContext())
                 .getMajorSubMap(last))
    return TiledRead::rows;
  return std::nullopt;
}

/// The map through which the op on tiles reads an input read as `kind`
/// (`scalars`: the constant results of a scalar's map).
AffineMap tiledMap(MLIRContext *context, TiledRead kind,
                   ArrayRef<AffineExpr> scalars) {
  auto dims = [&](unsigned first) {
    return AffineMap::get(4, 0,
                          {getAffineDimExpr(first, context),
                           getAffineDimExpr(first + 1, context)},
                          context);
  };
  switch (kind) {
  case TiledRead::whole:
    return AffineMap::getMultiDimIdentityMap(4, context);
  case TiledRead::columns:
    return dims(2);
  case TiledRead::rows:
    return dims(0);
  case TiledRead::scalar:
    break;
  }
  return AffineMap::get(4, 0, scalars, context);
}

/// `values` (static, one per row or per column of C, `count` of them) as
/// the tiles read them: zero-padded to whole tiles and split into [outer,
/// inner].
Value splitForTiles(RewriterBase &b, Location loc, Value values, int64_t count,
                    int64_t inner) {
  values = ampc::cpu::padToMultiple(
      b, loc, ampc::cpu::reshapeInOrder(b, loc, values, {count}), 0, inner);
  return ampc::cpu::splitDim(b, loc, values, 0, inner);
}

/// `value`, read as `kind` by the op on C's tiles `c`, shaped as that op
/// reads it.
Value shapedForTiles(RewriterBase &b, Location loc, Value value, TiledRead kind,
                     const TiledResult &c) {
  ArrayRef<int64_t> tiles =
      cast<RankedTensorType>(c.tiles.getType()).getShape();
  switch (kind) {
  case TiledRead::whole:
    return ampc::cpu::reshapeInOrder(b, loc, value, tiles);
  case TiledRead::columns:
    return splitForTiles(b, loc, value, c.cols, tiles[3]);
  case TiledRead::rows:
    return splitForTiles(b, loc, value, c.rows, tiles[1]);
  case TiledRead::scalar:
    break;
  }
  return value;
}

/// True if every value `op` reads from outside (its inputs other than
/// `except`, the values its body captures) is defined before `loop`.
bool readsOnlyValuesBefore(linalg::GenericOp op, OpOperand *except,
                           Operation *loop, DominanceInfo &dominance) {
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(op.getRegion(), captured);
  for (OpOperand *operand : op.getDpsInputOperands())
    if (operand != except)
      captured.insert(operand->get());
  return llvm::all_of(captured, [&](Value value) {
    return dominance.properlyDominates(value, loop);
  });
}

/// True if each value from C's tiles to `value` (through reshapes) has one
/// use: nothing else reads C.
bool onlyReader(Value value, Value tiles) {
  while (value != tiles) {
    Operation *reshape = value.getDefiningOp();
    if (!value.hasOneUse() || !reshape || reshape->getNumOperands() == 0)
      return false;
    value = reshape->getOperand(0);
  }
  return value.hasOneUse();
}

/// Where the loops put the tile `insert` writes: the sum of the offsets of
/// the slices between it and the tensor outside the outermost loop.
SmallVector<OpFoldResult> tileOffsets(RewriterBase &b, Location loc,
                                      tensor::InsertSliceOp insert) {
  SmallVector<OpFoldResult> offsets = insert.getMixedOffsets();
  auto add = [&](ArrayRef<OpFoldResult> more) {
    AffineExpr x, y;
    bindSymbols(b.getContext(), x, y);
    for (auto [offset, other] : llvm::zip(offsets, more))
      offset =
          affine::makeComposedFoldedAffineApply(b, loc, x + y, {offset, other});
  };
  Value dest = insert.getDest();
  while (true) {
    if (auto slice = dest.getDefiningOp<tensor::ExtractSliceOp>()) {
      add(slice.getMixedOffsets());
      dest = slice.getSource();
    } else if (auto arg = dyn_cast<BlockArgument>(dest);
               arg && isa<scf::ForOp>(arg.getOwner()->getParentOp()) &&
               arg.getArgNumber() > 0) {
      auto loop = cast<scf::ForOp>(arg.getOwner()->getParentOp());
      dest = loop.getTiedLoopInit(arg)->get();
    } else if (auto arg = dyn_cast<BlockArgument>(dest);
               arg && isa<scf::ForallOp>(arg.getOwner()->getParentOp())) {
      auto loop = cast<scf::ForallOp>(arg.getOwner()->getParentOp());
      dest = loop.getTiedOpOperand(arg)->get();
    } else {
      return offsets;
    }
  }
}

/// The k-block loop among `loops`, if C's sums take more than one block.
scf::ForOp kBlockLoop(ArrayRef<LoopLikeOpInterface> loops) {
  for (LoopLikeOpInterface loop : loops)
    if (loop->hasAttr(ampc::cpu::kKBlocksAttr))
      return dyn_cast<scf::ForOp>(loop.getOperation());
  return {};
}

/// Whether `kLoop`'s iteration is its last (the k block that ends C's sums).
Value isLastKBlock(OpBuilder &b, Location loc, scf::ForOp kLoop) {
  Value next =
      arith::AddIOp::create(b, loc, kLoop.getInductionVar(), kLoop.getStep());
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, next,
                               kLoop.getUpperBound());
}

/// Makes `tile` (the fused op on one tile of C; its input `read` is C's
/// sums) leave the sums as they are except in the last k block: earlier
/// blocks need their partial sums. A select per element, which runs on the
/// vectors as the rest of the body does; not a branch, whose two tiles
/// would be two buffers, and whose blocks would land inside the alloca
/// scope of an OpenMP loop's body once lowered.
void onlyInLastKBlock(RewriterBase &b, linalg::GenericOp tile, unsigned read,
                      scf::ForOp kLoop) {
  Location loc = tile.getLoc();
  b.setInsertionPoint(tile);
  Value last = isLastKBlock(b, loc, kLoop);
  Operation *yield = tile.getBody()->getTerminator();
  b.setInsertionPoint(yield);
  Value kept = arith::SelectOp::create(b, loc, last, yield->getOperand(0),
                                       tile.getBody()->getArgument(read));
  b.modifyOpInPlace(yield, [&] { yield->setOperand(0, kept); });
}

/// Runs `tile` (the fused op on one tile, writing `into`) in the last k
/// block only: earlier ones leave `into` as it is. Returns the tile after.
/// Both branches yield `into`'s buffer, so the branch needs none of its
/// own.
Value inLastKBlock(RewriterBase &b, linalg::GenericOp tile, Value into,
                   scf::ForOp kLoop) {
  Location loc = tile.getLoc();
  b.setInsertionPoint(tile);
  Value last = isLastKBlock(b, loc, kLoop);
  auto branch = scf::IfOp::create(b, loc, tile->getResultTypes(), last,
                                  /*withElseRegion=*/true);
  b.setInsertionPointToStart(branch.elseBlock());
  scf::YieldOp::create(b, loc, into);
  tile->moveBefore(branch.thenBlock(), branch.thenBlock()->end());
  b.setInsertionPointToEnd(branch.thenBlock());
  scf::YieldOp::create(b, loc, tile->getResults());
  b.setInsertionPointAfter(branch);
  return branch.getResult(0);
}

/// The insert_slice by which the innermost of `loops` writes a micro-kernel's
/// tile (1 x mr x 1 x nr) into C, if it is laid out as lowerPackedContraction
/// makes it.
tensor::InsertSliceOp tileInsert(ArrayRef<LoopLikeOpInterface> loops) {
  auto inner =
      dyn_cast<scf::ForOp>(LoopLikeOpInterface(loops.back()).getOperation());
  if (!inner || inner.getNumRegionIterArgs() != 1)
    return {};
  auto insert =
      inner.getYieldedValues()[0].getDefiningOp<tensor::InsertSliceOp>();
  if (!insert || insert.getSourceType().getRank() != 4 ||
      !insert.getSourceType().hasStaticShape() ||
      !insert.getSource().getDefiningOp<tensor::InsertSliceOp>())
    return {};
  return insert;
}

/// The slice of C that `loop` starts from (its first init, where that is a
/// slice), and the insert that puts its C back (of its first yielded value,
/// or the scf.forall's insert into its first output), where there is one.
std::pair<tensor::ExtractSliceOp, Operation *>
carriedSlices(LoopLikeOpInterface loop) {
  if (loop.getInits().empty())
    return {};
  auto extract = loop.getInits()[0].getDefiningOp<tensor::ExtractSliceOp>();
  Operation *insert = nullptr;
  if (auto forOp = dyn_cast<scf::ForOp>(loop.getOperation()))
    insert = forOp.getYieldedValues()[0].getDefiningOp<tensor::InsertSliceOp>();
  else if (auto forall = dyn_cast<scf::ForallOp>(loop.getOperation()))
    for (Operation &op : forall.getTerminator().getYieldingOps())
      if (op.getOperand(1) == forall.getRegionIterArgs()[0] && !insert)
        insert = &op;
  return {extract, insert};
}

/// True if C is carried through `loops` as tiling makes it: each loop's one
/// init the one block argument of the loop around it or a slice of it, and
/// each loop's result yielded by the loop around it or inserted into its
/// block argument (where the slice came from).
bool carriesOneTensor(ArrayRef<LoopLikeOpInterface> loops) {
  for (auto [outerLoop, innerLoop] :
       llvm::zip(loops.drop_back(), loops.drop_front())) {
    LoopLikeOpInterface outer = outerLoop, inner = innerLoop;
    if (outer.getRegionIterArgs().size() != 1 || inner.getInits().size() != 1)
      return false;
    Value arg = outer.getRegionIterArgs()[0];
    Value init = inner.getInits()[0];
    auto extract = init.getDefiningOp<tensor::ExtractSliceOp>();
    if (init != arg && !(extract && extract.getSource() == arg))
      return false;
    Operation *insert = carriedSlices(outer).second;
    auto forOp = dyn_cast<scf::ForOp>(outer.getOperation());
    bool yielded = forOp && forOp.getYieldedValues()[0] == inner->getResult(0);
    if (!yielded && !(insert && insert->getOperand(0) == inner->getResult(0) &&
                      insert->getOperand(1) == arg))
      return false;
  }
  return LoopLikeOpInterface(loops.front()).getInits().size() == 1;
}

/// `loop` with `init` carried too (an iter_arg yielded unchanged, or a shared
/// output nothing is inserted into yet).
LoopLikeOpInterface withCarried(RewriterBase &b, LoopLikeOpInterface loop,
                                Value init) {
  DictionaryAttr marks = loop->getDiscardableAttrDictionary();
  LoopLikeOpInterface next;
  if (auto forOp = dyn_cast<scf::ForOp>(loop.getOperation())) {
    next = *forOp.replaceWithAdditionalYields(
        b, init, /*replaceInitOperandsUsesInLoop=*/false,
        [](OpBuilder &, Location, ArrayRef<BlockArgument> args) {
          return SmallVector<Value>{args.back()};
        });
  } else {
    auto forall = cast<scf::ForallOp>(loop.getOperation());
    b.setInsertionPoint(forall);
    SmallVector<Value> outputs(forall.getOutputs());
    outputs.push_back(init);
    auto made = scf::ForallOp::create(
        b, forall.getLoc(), forall.getMixedLowerBound(),
        forall.getMixedUpperBound(), forall.getMixedStep(), outputs,
        forall.getMapping(), [](OpBuilder &, Location, ValueRange) {});
    b.mergeBlocks(forall.getBody(), made.getBody(),
                  made.getBody()->getArguments().drop_back());
    b.replaceOp(forall, made.getResults().drop_back());
    next = made;
  }
  next->setDiscardableAttrs(marks);
  return next;
}

/// Carries `init` (shaped like C's tiles) through `loops` beside C, sliced
/// and inserted back as C is; `innermost` gives what the innermost loop
/// yields for it from its block argument. Returns its value after the
/// loops. `loops` are updated to the new loops.
Value carryBesideC(RewriterBase &b, MutableArrayRef<LoopLikeOpInterface> loops,
                   Value init, function_ref<Value(Value)> innermost) {
  SmallVector<Value> args;
  for (LoopLikeOpInterface &loop : loops) {
    Value levelInit = args.empty() ? init : args.back();
    if (auto extract = carriedSlices(loop).first; extract && !args.empty()) {
      b.setInsertionPoint(loop);
      levelInit = tensor::ExtractSliceOp::create(
          b, loop.getLoc(), args.back(), extract.getMixedOffsets(),
          extract.getMixedSizes(), extract.getMixedStrides());
    }
    loop = withCarried(b, loop, levelInit);
    args.push_back(loop.getRegionIterArgs().back());
  }
  auto yieldFrom = [&](LoopLikeOpInterface loop, Value value) {
    auto forOp = cast<scf::ForOp>(loop.getOperation());
    Operation *yield = forOp.getBody()->getTerminator();
    b.modifyOpInPlace(
        yield, [&] { yield->setOperand(yield->getNumOperands() - 1, value); });
  };
  b.setInsertionPoint(loops.back()->getRegion(0).front().getTerminator());
  yieldFrom(loops.back(), innermost(args.back()));
  for (int64_t i = int64_t(loops.size()) - 2; i >= 0; --i) {
    Operation *insert = carriedSlices(loops[i]).second;
    Value inner = loops[i + 1]->getResults().back();
    if (!insert || insert->getOperand(0) != loops[i + 1]->getResult(0)) {
      yieldFrom(loops[i], inner);
      continue;
    }
    auto slices = cast<OffsetSizeAndStrideOpInterface>(insert);
    b.setInsertionPoint(insert);
    if (isa<tensor::ParallelInsertSliceOp>(insert)) {
      tensor::ParallelInsertSliceOp::create(
          b, insert->getLoc(), inner, args[i], slices.getMixedOffsets(),
          slices.getMixedSizes(), slices.getMixedStrides());
      continue;
    }
    yieldFrom(loops[i],
              tensor::InsertSliceOp::create(
                  b, insert->getLoc(), inner, args[i], slices.getMixedOffsets(),
                  slices.getMixedSizes(), slices.getMixedStrides()));
  }
  return loops.front()->getResults().back();
}

/// `result` (shaped like C's tiles) as `type`: C's M x N part of it
/// (untileAccumulator, as the contraction's result was), reshaped.
Value untiled(RewriterBase &b, Location loc, Value result, const TiledResult &c,
              RankedTensorType type) {
  auto mn = RankedTensorType::get({c.rows, c.cols}, type.getElementType());
  return ampc::cpu::reshapeInOrder(
      b, loc, ampc::cpu::untileAccumulator(b, loc, result, mn),
      type.getShape());
}

/// The op on one tile: `op`'s body over `tile`'s shape, reading `sums` (C's
/// tile) for `read` and the other inputs (`shaped`, read through `maps`)
/// at the tile's place `at`, writing `into`.
linalg::GenericOp tileOpAt(RewriterBase &b, linalg::GenericOp op,
                           ArrayRef<Value> shaped, ArrayRef<AffineMap> maps,
                           ArrayRef<OpFoldResult> at, Value sums, Value into) {
  Location loc = op.getLoc();
  ArrayRef<int64_t> tile = cast<RankedTensorType>(sums.getType()).getShape();
  SmallVector<Value> inputs;
  for (auto [value, map] : llvm::zip(shaped, maps)) {
    if (!value || map.getNumResults() == 0 ||
        isa<AffineConstantExpr>(map.getResult(0))) {
      inputs.push_back(value ? value : sums);
      continue;
    }
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (AffineExpr result : map.getResults()) {
      unsigned dim = cast<AffineDimExpr>(result).getPosition();
      offsets.push_back(at[dim]);
      sizes.push_back(b.getIndexAttr(tile[dim]));
      strides.push_back(b.getIndexAttr(1));
    }
    inputs.push_back(
        tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes, strides));
  }
  auto tileOp = linalg::GenericOp::create(
      b, loc, TypeRange{into.getType()}, inputs, ValueRange{into}, maps,
      SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel));
  b.cloneRegionBefore(op.getRegion(), tileOp.getRegion(),
                      tileOp.getRegion().end());
  return tileOp;
}

/// Moves the elementwise `op` into the loops of the tiled contraction whose
/// C it reads (`read`: through the identity and reshapes that keep the
/// row-major order), after each tile's micro-kernel (computeOnVectors then
/// puts its body on the accumulators). Where only `op` reads C, C's tile
/// holds its result from the last k block on (onlyInLastKBlock) and C,
/// reshaped as before, replaces it; otherwise its result is carried through
/// the loops beside C and written in the last k block (inLastKBlock). Its
/// other inputs are read per tile (tiledRead).
bool fuseIntoTiles(RewriterBase &b, linalg::GenericOp op, OpOperand *read,
                   TiledResult &c) {
  tensor::InsertSliceOp insert = tileInsert(c.loops);
  if (!insert || op->getNumResults() != 1 || !carriesOneTensor(c.loops))
    return false;
  bool inPlace = op->getResult(0).getType() == read->get().getType() &&
                 onlyReader(read->get(), c.tiles);
  Location loc = op.getLoc();
  auto tilesType = cast<RankedTensorType>(c.tiles.getType());
  SmallVector<TiledRead> kinds;
  SmallVector<AffineMap> maps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    std::optional<TiledRead> kind =
        input == read ? TiledRead::whole : tiledRead(op, *input, c);
    if (!kind)
      return false;
    kinds.push_back(*kind);
    maps.push_back(tiledMap(op.getContext(), *kind,
                            op.getMatchingIndexingMap(input).getResults()));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(4, op.getContext()));
  // The other inputs shaped for the tiles before the loops.
  SmallVector<Value> shaped;
  b.setInsertionPoint(c.loops.front());
  for (auto [input, kind] : llvm::zip(op.getDpsInputOperands(), kinds))
    shaped.push_back(input == read
                         ? Value()
                         : shapedForTiles(b, loc, input->get(), kind, c));
  Value sums = insert.getSource();
  if (inPlace) {
    scf::ForOp kLoop = kBlockLoop(c.loops);
    b.setInsertionPoint(insert);
    // Over the sums where earlier k blocks need them, else over the tile
    // before the sums (whose stores are then dead).
    Value into =
        kLoop ? sums : sums.getDefiningOp<tensor::InsertSliceOp>().getDest();
    linalg::GenericOp tileOp =
        tileOpAt(b, op, shaped, maps, tileOffsets(b, loc, insert), sums, into);
    b.modifyOpInPlace(
        insert, [&] { insert.getSourceMutable().set(tileOp.getResult(0)); });
    if (kLoop)
      onlyInLastKBlock(b, tileOp, read->getOperandNumber(), kLoop);
    b.replaceOp(op, read->get());
    return true;
  }
  Value init = tensor::EmptyOp::create(b, loc, tilesType.getShape(),
                                       getElementTypeOrSelf(op->getResult(0)));
  Value result = carryBesideC(b, c.loops, init, [&](Value arg) -> Value {
    SmallVector<OpFoldResult> at = tileOffsets(b, loc, insert);
    Value into = tensor::ExtractSliceOp::create(
        b, loc, arg, insert.getMixedOffsets(), insert.getMixedSizes(),
        insert.getMixedStrides());
    linalg::GenericOp tileOp = tileOpAt(b, op, shaped, maps, at, sums, into);
    // Of the new loops.
    scf::ForOp kLoop = kBlockLoop(c.loops);
    Value tile =
        kLoop ? inLastKBlock(b, tileOp, into, kLoop) : tileOp->getResult(0);
    return tensor::InsertSliceOp::create(
        b, loc, tile, arg, insert.getMixedOffsets(), insert.getMixedSizes(),
        insert.getMixedStrides());
  });
  b.setInsertionPointAfter(c.loops.front());
  b.replaceOp(op, untiled(b, loc, result, c,
                          cast<RankedTensorType>(op->getResult(0).getType())));
  return true;
}

/// The sizes of `tensor`: its static shape, or the sizes of the slice that
/// made it (not rank-reducing).
std::optional<SmallVector<OpFoldResult>> sizesOf(OpBuilder &b, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.hasStaticShape())
    return getAsIndexOpFoldResult(b.getContext(), type.getShape());
  auto slice = tensor.getDefiningOp<tensor::ExtractSliceOp>();
  if (!slice || slice.getSourceType().getRank() != type.getRank())
    return std::nullopt;
  return slice.getMixedSizes();
}

/// True if `slice` (an extract_slice or insert_slice between `whole` and a
/// tensor of the same type) covers all of `whole`.
bool coversAll(OpBuilder &b, OffsetSizeAndStrideOpInterface slice, Value whole,
               Value part) {
  if (whole.getType() != part.getType() ||
      !llvm::all_of(slice.getMixedOffsets(),
                    [](OpFoldResult o) { return isConstantIntValue(o, 0); }) ||
      !llvm::all_of(slice.getMixedStrides(),
                    [](OpFoldResult o) { return isConstantIntValue(o, 1); }))
    return false;
  std::optional<SmallVector<OpFoldResult>> sizes = sizesOf(b, whole);
  return sizes && isEqualConstantIntOrValueArray(*sizes, slice.getMixedSizes());
}

/// Removes the slices that tiling leaves in the loops of tiled contractions
/// where a level has one tile of a size only known at run time (a ragged
/// last block): an extract_slice of all of a slice, and the insert_slice of
/// a whole tensor into it. The loops then carry C as carriesOneTensor
/// expects.
void foldWholeSlices(RewriterBase &b, Operation *root) {
  SmallVector<Operation *> slices;
  root->walk([&](Operation *op) {
    if (isa<tensor::ExtractSliceOp, tensor::InsertSliceOp>(op) &&
        op->getParentOp()->hasAttr(ampc::cpu::kTiledContractionAttr))
      slices.push_back(op);
  });
  for (Operation *op : slices) {
    if (auto extract = dyn_cast<tensor::ExtractSliceOp>(op)) {
      if (coversAll(b, extract, extract.getSource(), extract.getResult()))
        b.replaceOp(extract, extract.getSource());
    } else if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      if (coversAll(b, insert, insert.getDest(), insert.getSource()))
        b.replaceOp(insert, insert.getSource());
    }
  }
}

/// fuseIntoTiles through the first input of `op` that reads a tiled
/// contraction's C and can.
bool fuseIntoTiledContraction(RewriterBase &b, linalg::GenericOp op,
                              DominanceInfo &dominance) {
  for (auto [read, map] :
       llvm::zip(op.getDpsInputOperands(), op.getIndexingMapsArray())) {
    std::optional<TiledResult> c = tiledResult(read->get());
    if (map.isIdentity() && c &&
        readsOnlyValuesBefore(op, read, c->loops.front(), dominance) &&
        fuseIntoTiles(b, op, read, *c))
      return true;
  }
  return false;
}

struct AmpcCpuFuseEpiloguesPass
    : ampc::impl::AmpcCpuFuseEpiloguesBase<AmpcCpuFuseEpiloguesPass> {
  void runOnOperation() override {
    // In order: an op computed on vectors stores its results as vectors, so
    // the next op of the chain can be computed on them in turn.
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    foldWholeSlices(rewriter, getOperation());
    // First the consumers of tiled contractions move into their loops
    // (which replaces the loops: dominance is computed again after each).
    std::optional<DominanceInfo> dominance;
    for (linalg::GenericOp op : ops) {
      if (!epilogueCandidate(op))
        continue;
      if (!dominance)
        dominance.emplace(getOperation());
      if (fuseIntoTiledContraction(rewriter, op, *dominance))
        dominance.reset();
    }
    ops.clear();
    getOperation().walk([&](linalg::GenericOp op) { ops.push_back(op); });
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
