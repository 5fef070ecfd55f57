//===- PackedContractions.cpp - contractions on packed tiles --------------===//
//
// See PackedContractions.h.
//
//===----------------------------------------------------------------------===//

#include "PackedContractions.h"
#include "ampc/Codegen/Common/Fills.h"

#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using ampc::cpu::ContractionLoops;
using ampc::cpu::padToMultiple;
using ampc::cpu::splitDim;
using ampc::cpu::untileAccumulator;

namespace {

/// True for a body `out + a * b` (or `out + b * a`) where a and b are the two
/// inputs, each possibly widened by arith.extf, and nothing else.
bool isMultiplyAddBody(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  if (!body || body->getNumArguments() != 3)
    return false;
  for (Operation &inner : body->without_terminator())
    if (!isa<arith::ExtFOp, arith::MulFOp, arith::AddFOp>(inner))
      return false;
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value out = body->getArgument(2);
  Value product = add.getLhs() == out   ? add.getRhs()
                  : add.getRhs() == out ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  auto inputNumber = [&](Value v) -> int {
    if (auto ext = v.getDefiningOp<arith::ExtFOp>())
      v = ext.getIn();
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner() == body ? int(arg.getArgNumber()) : -1;
  };
  int x = inputNumber(mul.getLhs()), y = inputNumber(mul.getRhs());
  return (x == 0 && y == 1) || (x == 1 && y == 0);
}

/// True if `map` reads exactly the loops in `loops`.
bool readsExactly(AffineMap map, ArrayRef<unsigned> loops) {
  if (map.getNumResults() != loops.size())
    return false;
  return llvm::all_of(loops, [&](unsigned loop) {
    return map.getResultPosition(getAffineDimExpr(loop, map.getContext()))
        .has_value();
  });
}

/// The batch loop (if any) followed by `loops`: the loops an operand is
/// read by, in the order of its packed outer dimensions.
SmallVector<unsigned> withBatch(const ContractionLoops &loops,
                                std::initializer_list<unsigned> rest) {
  SmallVector<unsigned> result;
  if (loops.batch)
    result.push_back(*loops.batch);
  result.append(rest.begin(), rest.end());
  return result;
}

/// Pack attributes of an operand read through `map`: the positions of
/// `outer` loops (outer_dims_perm) and of `tiled` loops (inner_dims_pos).
std::pair<SmallVector<int64_t>, SmallVector<int64_t>>
packPositions(AffineMap map, ArrayRef<unsigned> outer,
              ArrayRef<unsigned> tiled) {
  auto position = [&](unsigned loop) {
    return int64_t(
        *map.getResultPosition(getAffineDimExpr(loop, map.getContext())));
  };
  return {llvm::map_to_vector(outer, position),
          llvm::map_to_vector(tiled, position)};
}

/// linalg.pack of `source` (read through `map`) with the `tiled` loops cut
/// into `tiles`, padded with zeros.
Value packWhole(RewriterBase &b, Location loc, Value source, AffineMap map,
                ArrayRef<unsigned> outer, ArrayRef<unsigned> tiled,
                ArrayRef<int64_t> tiles) {
  auto [outerPerm, innerPos] = packPositions(map, outer, tiled);
  SmallVector<OpFoldResult> tileSizes =
      getAsIndexOpFoldResult(b.getContext(), tiles);
  Value dest = linalg::PackOp::createDestinationTensor(
      b, loc, source, tileSizes, innerPos, outerPerm);
  Type element = getElementTypeOrSelf(source.getType());
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
  return linalg::PackOp::create(b, loc, source, dest, innerPos, tileSizes, zero,
                                outerPerm)
      .getResult();
}

/// The part of the static `source` at `offsets` of `sizes`.
Value slice(RewriterBase &b, Location loc, Value source,
            ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes) {
  SmallVector<OpFoldResult> ones(offsets.size(), b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc, source, getAsIndexOpFoldResult(b.getContext(), offsets),
      getAsIndexOpFoldResult(b.getContext(), sizes), ones);
}

/// The slice of the static `source` from `offset` to `offset + size` along
/// `dim`.
Value sliceAlong(RewriterBase &b, Location loc, Value source, int64_t dim,
                 int64_t offset, int64_t size) {
  auto type = cast<RankedTensorType>(source.getType());
  SmallVector<int64_t> offsets(type.getRank(), 0);
  SmallVector<int64_t> sizes(type.getShape());
  offsets[dim] = offset;
  sizes[dim] = size;
  return slice(b, loc, source, offsets, sizes);
}

/// The static `part` written into `dest` at `offset` along `dim`.
Value insertAlong(RewriterBase &b, Location loc, Value part, Value dest,
                  int64_t dim, int64_t offset) {
  auto type = cast<RankedTensorType>(part.getType());
  SmallVector<int64_t> offsets(type.getRank(), 0);
  offsets[dim] = offset;
  SmallVector<OpFoldResult> ones(offsets.size(), b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(
      b, loc, part, dest, getAsIndexOpFoldResult(b.getContext(), offsets),
      getAsIndexOpFoldResult(b.getContext(), type.getShape()), ones);
}

/// packWhole with the `tiled` loops cut into `tiles`: when the first one's
/// size is not a multiple of its tile, the whole panels and the last,
/// zero-padded one are packed apart into one destination. Packing the whole
/// operand would pad a copy of all of it first (a serial fill and copy of
/// it). The other tiled loops (a k loop cut into bf16 pairs) are padded
/// where they are ragged.
Value packOperand(RewriterBase &b, Location loc, Value source, AffineMap map,
                  ArrayRef<unsigned> outer, ArrayRef<unsigned> tiled,
                  ArrayRef<int64_t> tiles) {
  auto type = cast<RankedTensorType>(source.getType());
  auto [outerPerm, innerPos] = packPositions(map, outer, tiled);
  int64_t dim = innerPos[0], size = type.getDimSize(dim), tile = tiles[0];
  int64_t whole = size / tile;
  if (size % tile == 0 || whole == 0)
    return packWhole(b, loc, source, map, outer, tiled, tiles);
  RankedTensorType packed =
      linalg::PackOp::inferPackedType(type, tiles, innerPos, outerPerm);
  // The packed dimension that counts the panels.
  int64_t panels =
      outerPerm.empty()
          ? dim
          : std::distance(outerPerm.begin(), llvm::find(outerPerm, dim));
  Value dest = tensor::EmptyOp::create(b, loc, packed.getShape(),
                                       packed.getElementType());
  Value head =
      packWhole(b, loc, sliceAlong(b, loc, source, dim, 0, whole * tile), map,
                outer, tiled, tiles);
  Value tail = packWhole(
      b, loc,
      sliceAlong(b, loc, source, dim, whole * tile, size - whole * tile), map,
      outer, tiled, tiles);
  dest = insertAlong(b, loc, head, dest, panels, 0);
  return insertAlong(b, loc, tail, dest, panels, whole);
}

/// `value` with a trailing unit dimension (mmt4d's K0 = 1).
Value appendUnitDim(RewriterBase &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.push_back(1);
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0, e = type.getRank(); i < e; ++i)
    groups.push_back({i});
  groups.back().push_back(type.getRank());
  return tensor::ExpandShapeOp::create(b, loc, type.clone(shape), value,
                                       groups);
}

/// The packed accumulator: a fill of the packed shape when `init` is a fill,
/// its packed copy otherwise.
Value packAccumulator(RewriterBase &b, Location loc, Value init, AffineMap map,
                      ArrayRef<unsigned> outer, ArrayRef<unsigned> tiled,
                      ArrayRef<int64_t> tiles) {
  Value filled = ampc::filledValue(init);
  if (!filled)
    return packWhole(b, loc, init, map, outer, tiled, tiles);
  auto [outerPerm, innerPos] = packPositions(map, outer, tiled);
  RankedTensorType packed = linalg::PackOp::inferPackedType(
      cast<RankedTensorType>(init.getType()), tiles, innerPos, outerPerm);
  Value empty = tensor::EmptyOp::create(b, loc, packed.getShape(),
                                        packed.getElementType());
  return linalg::FillOp::create(b, loc, filled, empty).getResult(0);
}

/// The M x N accumulator `init` seen as register tiles in place: padded to
/// whole tiles (Mp x Np; a fill is made at that size, another init is
/// padded with zeros) and expanded to M1 x mr x N1 x nr.
Value tiledAccumulator(RewriterBase &b, Location loc, Value init, int64_t rows,
                       int64_t cols) {
  auto type = cast<RankedTensorType>(init.getType());
  int64_t m = type.getDimSize(0), n = type.getDimSize(1);
  int64_t tileRows = llvm::divideCeil(m, rows),
          tileCols = llvm::divideCeil(n, cols);
  auto padded = RankedTensorType::get({tileRows * rows, tileCols * cols},
                                      type.getElementType());
  Value c = init;
  if (Value filled = ampc::filledValue(init)) {
    Value empty = tensor::EmptyOp::create(b, loc, padded.getShape(),
                                          padded.getElementType());
    c = linalg::FillOp::create(b, loc, filled, empty).getResult(0);
  } else if (padded != type) {
    Value zero =
        arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
    SmallVector<OpFoldResult> low(2, b.getIndexAttr(0));
    SmallVector<OpFoldResult> high = {b.getIndexAttr(padded.getDimSize(0) - m),
                                      b.getIndexAttr(padded.getDimSize(1) - n)};
    c = tensor::PadOp::create(b, loc, padded, init, low, high, zero);
  }
  auto tiled = RankedTensorType::get({tileRows, rows, tileCols, cols},
                                     type.getElementType());
  return tensor::ExpandShapeOp::create(
      b, loc, tiled, c, SmallVector<ReassociationIndices>{{0, 1}, {2, 3}});
}

/// The contraction of packed A ([M1, K1, mr, K0]) and B ([N1, K1, nr, K0];
/// K0 is 1, or 2 for bf16 pairs) into the tiled accumulator
/// (tiledAccumulator): mmt4d's loops (M1, N1, K1, M0, N0, K0) with C read as
/// (M1, M0, N1, N0), or, `transposed` (C^T computed: C's tiles N1 x nr x M1
/// x mr), as (N1, N0, M1, M0); so that the micro-kernels write C itself and
/// no packed copy of it is made or unpacked.
linalg::LinalgOp contractIntoTiles(RewriterBase &b, Location loc, Value a,
                                   Value bt, Value c, bool transposed) {
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> cExprs = {d(0), d(3), d(1), d(4)};
  if (transposed)
    cExprs = {d(1), d(4), d(0), d(3)};
  SmallVector<AffineMap> maps = {
      AffineMap::get(6, 0, {d(0), d(2), d(3), d(5)}, ctx),
      AffineMap::get(6, 0, {d(1), d(2), d(4), d(5)}, ctx),
      AffineMap::get(6, 0, cExprs, ctx)};
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = {
      IteratorType::parallel, IteratorType::parallel, IteratorType::reduction,
      IteratorType::parallel, IteratorType::parallel, IteratorType::reduction};
  return linalg::GenericOp::create(
      b, loc, c.getType(), ValueRange{a, bt}, ValueRange{c}, maps, iterators,
      [](OpBuilder &nb, Location loc, ValueRange args) {
        // bf16 pairs are widened to the accumulator's type.
        Type acc = args[2].getType();
        auto widen = [&](Value v) -> Value {
          return v.getType() == acc ? v
                                    : arith::ExtFOp::create(nb, loc, acc, v);
        };
        Value product =
            arith::MulFOp::create(nb, loc, widen(args[0]), widen(args[1]));
        linalg::YieldOp::create(
            nb, loc,
            ValueRange{arith::AddFOp::create(nb, loc, args[2], product)});
      });
}

/// The `type` result of the packed accumulator `packed` (tiles of `tiles`
/// along `innerPos`, outer dimensions in `outerPerm`).
Value unpackResult(RewriterBase &b, Location loc, Value packed,
                   RankedTensorType type, ArrayRef<int64_t> innerPos,
                   ArrayRef<int64_t> outerPerm, ArrayRef<int64_t> tiles) {
  Value dest =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return linalg::UnPackOp::create(b, loc, packed, dest, innerPos,
                                  getAsIndexOpFoldResult(b.getContext(), tiles),
                                  outerPerm)
      .getResult();
}

} // namespace

namespace {

/// True for a linalg.generic on tensors that only copies its one input (a
/// gather such as a convolution's im2col, or a transpose).
bool isCopy(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 ||
      op.getNumLoops() != op.getNumParallelLoops() ||
      !isa<RankedTensorType>(op.getDpsInputs()[0].getType()))
    return false;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  return yield.getOperand(0) == op.getBody()->getArgument(0);
}

/// `value` widened to `target`. A copy (isCopy), possibly reshaped, is
/// widened at its source and copied in the wide type: an im2col reads each
/// element of a 3x3 convolution's image 9 times, so its source is a ninth
/// of the elements to convert.
Value widen(RewriterBase &b, Location loc, Value value, FloatType target) {
  auto type = cast<RankedTensorType>(value.getType());
  RankedTensorType wide = type.clone(target);
  if (auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>())
    return tensor::CollapseShapeOp::create(
        b, loc, wide, widen(b, loc, collapse.getSrc(), target),
        collapse.getReassociationIndices());
  if (auto expand = value.getDefiningOp<tensor::ExpandShapeOp>())
    return tensor::ExpandShapeOp::create(b, loc, wide,
                                         widen(b, loc, expand.getSrc(), target),
                                         expand.getReassociationIndices());
  auto copy = value.getDefiningOp<linalg::GenericOp>();
  if (!copy || !isCopy(copy) || !type.hasStaticShape())
    return arith::ExtFOp::create(b, loc, wide, value);
  Value source = widen(b, loc, copy.getDpsInputs()[0], target);
  Value empty = tensor::EmptyOp::create(b, loc, wide.getShape(), target);
  return linalg::GenericOp::create(
             b, loc, TypeRange{wide}, ValueRange{source}, ValueRange{empty},
             copy.getIndexingMapsArray(), copy.getIteratorTypesArray(),
             [](OpBuilder &nb, Location loc, ValueRange args) {
               linalg::YieldOp::create(nb, loc, args[0]);
             })
      .getResult(0);
}

} // namespace

void ampc::cpu::widenInputs(RewriterBase &b, linalg::LinalgOp op,
                            FloatType target) {
  if (!target)
    target = dyn_cast<FloatType>(
        getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType()));
  if (!target)
    return;
  bool changed = false;
  b.setInsertionPoint(op);
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    auto element = type ? dyn_cast<FloatType>(type.getElementType()) : nullptr;
    if (!element || element.getWidth() >= target.getWidth())
      continue;
    b.modifyOpInPlace(
        op, [&] { input->set(widen(b, op.getLoc(), input->get(), target)); });
    changed = true;
  }
  if (changed)
    (void)ampc::amp::updatePayload(op);
}

namespace {

/// The rank-reduced view of a tile whose dimensions other than `dims` are 1,
/// with `sizes` along `dims`.
Value squeezeTile(RewriterBase &b, Location loc, Value tile,
                  ArrayRef<unsigned> dims, ArrayRef<OpFoldResult> sizes) {
  auto type = cast<RankedTensorType>(tile.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> all(type.getRank(), b.getIndexAttr(1));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  SmallVector<int64_t> shape;
  for (auto [dim, size] : llvm::zip_equal(dims, sizes)) {
    all[dim] = size;
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  }
  auto squeezed = RankedTensorType::get(shape, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, squeezed, tile, offsets, all,
                                        strides);
}

/// The operands of one tile's micro-kernel: A as depth x mr (or depth x
/// 2mr: bf16 pairs), B as depth x nr (depth x 2nr), the tile's sums as
/// `rows` x `chunks` vectors of `width` lanes.
struct MicroKernel {
  Value a, b;
  int64_t rows = 0, cols = 0, chunks = 1, width = 0;
  bool pairs = false;
};

/// One step k of the f32 micro-kernel: one vector of B, a broadcast of A per
/// row, a fused multiply-add per accumulator.
SmallVector<Value> f32Step(OpBuilder &b, Location loc,
                           const MicroKernel &kernel, Value k,
                           ValueRange sums) {
  Type f32 = b.getF32Type();
  auto rowType = VectorType::get({kernel.width}, f32);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(f32));
  Value column = vector::TransferReadOp::create(
      b, loc, rowType, kernel.b, ValueRange{k, c0}, zero, ArrayRef<bool>{true});
  SmallVector<Value> next;
  for (int64_t i = 0; i < kernel.rows; ++i) {
    Value row = arith::ConstantIndexOp::create(b, loc, i);
    Value scalar =
        tensor::ExtractOp::create(b, loc, kernel.a, ValueRange{k, row});
    Value splat = vector::BroadcastOp::create(b, loc, rowType, scalar);
    next.push_back(vector::FMAOp::create(b, loc, splat, column, sums[i]));
  }
  return next;
}

/// One step k (a pair of k) of the bf16 micro-kernel: `chunks` vectors of B's
/// column pairs, A's pair of each row broadcast as one 32-bit value, a
/// vdpbf16ps per accumulator.
SmallVector<Value> bf16PairStep(OpBuilder &b, Location loc,
                                const MicroKernel &kernel, Value k,
                                ValueRange sums) {
  Type bf16 = b.getBF16Type(), i32 = b.getI32Type();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto pairsType = VectorType::get({2 * kernel.width}, bf16);
  auto accType = VectorType::get({kernel.width}, b.getF32Type());
  Value pad = arith::ConstantOp::create(b, loc, b.getFloatAttr(bf16, 0));
  SmallVector<Value> columns;
  for (int64_t j = 0; j < kernel.chunks; ++j)
    columns.push_back(vector::TransferReadOp::create(
        b, loc, pairsType, kernel.b, ValueRange{k, index(2 * kernel.width * j)},
        pad, ArrayRef<bool>{true}));
  SmallVector<Value> next;
  for (int64_t i = 0; i < kernel.rows; ++i) {
    Value pair = vector::TransferReadOp::create(
        b, loc, VectorType::get({2}, bf16), kernel.a,
        ValueRange{k, index(2 * i)}, pad, ArrayRef<bool>{true});
    Value word = vector::ExtractOp::create(
        b, loc,
        vector::BitCastOp::create(b, loc, VectorType::get({1}, i32), pair),
        ArrayRef<int64_t>{0});
    Value splat = vector::BitCastOp::create(
        b, loc, pairsType,
        vector::BroadcastOp::create(
            b, loc, VectorType::get({kernel.width}, i32), word));
    for (int64_t j = 0; j < kernel.chunks; ++j)
      next.push_back(x86vector::DotBF16Op::create(
          b, loc, accType, sums[i * kernel.chunks + j], splat, columns[j]));
  }
  return next;
}

/// The A or B tile of a micro-kernel ([b,] 1 x depth x n0 x K0) as depth x
/// n0 (K0 = 1) or depth x 2n0 (K0 = 2: pairs side by side).
Value kernelOperand(RewriterBase &b, Location loc, Value tile,
                    OpFoldResult depth) {
  auto type = cast<RankedTensorType>(tile.getType());
  unsigned r = type.getRank();
  int64_t n0 = type.getDimSize(r - 2), k0 = type.getDimSize(r - 1);
  if (k0 == 1)
    return squeezeTile(b, loc, tile, {r - 3, r - 2},
                       {depth, b.getIndexAttr(n0)});
  Value pairs = squeezeTile(b, loc, tile, {r - 3, r - 2, r - 1},
                            {depth, b.getIndexAttr(n0), b.getIndexAttr(k0)});
  auto pairsType = cast<RankedTensorType>(pairs.getType());
  return tensor::CollapseShapeOp::create(
      b, loc,
      RankedTensorType::get({pairsType.getDimSize(0), n0 * k0},
                            type.getElementType()),
      pairs, SmallVector<ReassociationIndices>{{0}, {1, 2}});
}

/// Whether `tensor` is filled with +0.0.
bool isPositiveZeroFill(Value tensor) {
  Value value = ampc::filledValue(tensor);
  return value && matchPattern(value, m_PosZeroFloat());
}

/// `sum` stored into the rows x cols tile `c` at `at`, added to what `c`
/// holds there unless `overwrite` (read with the padding `zero`, never
/// used: the reads are in bounds).
Value storeSum(OpBuilder &b, Location loc, Value sum, Value c,
               ArrayRef<int64_t> at, Value zero, bool overwrite) {
  SmallVector<Value, 2> indices = llvm::map_to_vector(at, [&](int64_t i) {
    return Value(arith::ConstantIndexOp::create(b, loc, i));
  });
  auto type = cast<VectorType>(sum.getType());
  if (!overwrite) {
    Value prior = vector::TransferReadOp::create(b, loc, type, c, indices, zero,
                                                 ArrayRef<bool>{true});
    sum = arith::AddFOp::create(b, loc, prior, sum);
  }
  return vector::TransferWriteOp::create(b, loc, sum, c, indices,
                                         ArrayRef<bool>{true})
      .getResult();
}

/// The sums (`kernel.rows` x `kernel.chunks` vectors) stored into C's tile
/// `c` (rows x cols), or, `transposed`, into C^T's (cols x rows): in
/// square blocks of transposedStoreBlock's side, each the sums' lanes of
/// those columns (zeros for the rows past the tile's) transposed in
/// registers (transposeRows), a row of C^T's tile per column.
Value storeSums(OpBuilder &b, Location loc, const MicroKernel &kernel,
                ValueRange sums, Value c, bool transposed, bool overwrite) {
  Type element = getElementTypeOrSelf(sums[0]);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
  if (!transposed) {
    for (int64_t i = 0; i < kernel.rows; ++i)
      for (int64_t j = 0; j < kernel.chunks; ++j)
        c = storeSum(b, loc, sums[i * kernel.chunks + j], c,
                     {i, j * kernel.width}, zero, overwrite);
    return c;
  }
  int64_t side = *ampc::cpu::transposedStoreBlock(kernel.rows, kernel.cols);
  // A block's lanes lie in one vector of sums: `side` (a power of two up to
  // 16) divides their width (cols, or kDotLanes for bf16 pairs).
  assert(kernel.width % side == 0 && "a block straddles two vectors");
  auto blockType = VectorType::get({side}, element);
  Value zeros = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(blockType)));
  for (int64_t col = 0; col < kernel.cols; col += side) {
    SmallVector<Value> block(side, zeros);
    for (int64_t i = 0; i < kernel.rows; ++i)
      block[i] = vector::ExtractStridedSliceOp::create(
          b, loc, sums[i * kernel.chunks + col / kernel.width],
          ArrayRef<int64_t>{col % kernel.width}, ArrayRef<int64_t>{side},
          ArrayRef<int64_t>{1});
    for (auto [j, row] :
         llvm::enumerate(ampc::cpu::transposeRows(b, loc, block))) {
      if (kernel.rows < side)
        row = vector::ExtractStridedSliceOp::create(
            b, loc, row, ArrayRef<int64_t>{0}, ArrayRef<int64_t>{kernel.rows},
            ArrayRef<int64_t>{1});
      c = storeSum(b, loc, row, c, {col + int64_t(j), 0}, zero, overwrite);
    }
  }
  return c;
}

/// Replaces one output tile's mmt4d ([b,] 1 x K x mr x K0 by 1 x K x nr x K0
/// into the mr x nr tile of C, or the nr x mr tile of C^T) by the
/// micro-kernel: f32 fused multiply-adds (K0 = 1) or bf16 pair dot products
/// (K0 = 2). With `overwrite`, the sums are the tile (C was +0.0 and this is
/// its only k block: +0.0 + s is s for every sum s of products that starts
/// at +0.0, which is never -0.0).
void emitMicroKernel(RewriterBase &b, linalg::LinalgOp tile, bool overwrite) {
  Location loc = tile.getLoc();
  b.setInsertionPoint(tile);
  Value lhs = tile.getDpsInputOperand(0)->get();
  Value rhs = tile.getDpsInputOperand(1)->get();
  Value acc = tile.getDpsInitOperand(0)->get();
  auto lhsType = cast<RankedTensorType>(lhs.getType());
  auto accType = cast<RankedTensorType>(acc.getType());
  unsigned r = lhsType.getRank(); // [b,] M1, K1, M0, K0
  // The depth of the k block is dynamic where the block is the last,
  // partial one.
  OpFoldResult depth = tensor::getMixedSize(b, loc, lhs, r - 3);
  MicroKernel kernel;
  kernel.rows = lhsType.getDimSize(r - 2);
  kernel.cols = cast<RankedTensorType>(rhs.getType()).getDimSize(r - 2);
  kernel.pairs = lhsType.getDimSize(r - 1) == 2;
  kernel.width = kernel.pairs ? ampc::cpu::kDotLanes : kernel.cols;
  kernel.chunks = kernel.cols / kernel.width;
  kernel.a = kernelOperand(b, loc, lhs, depth);
  kernel.b = kernelOperand(b, loc, rhs, depth);
  // The accumulator's row and column dimensions: those its map reads the
  // M0 and N0 loops into (mmt4d: the last two; contractIntoTiles: 1 and 3,
  // or 3 and 1 for C^T).
  unsigned loops = tile.getNumLoops();
  AffineMap accMap = tile.getMatchingIndexingMap(tile.getDpsInitOperand(0));
  auto position = [&](unsigned loop) {
    return unsigned(
        *accMap.getResultPosition(getAffineDimExpr(loop, b.getContext())));
  };
  unsigned rowDim = position(loops - 3), colDim = position(loops - 2);
  bool transposed = rowDim > colDim;
  OpFoldResult rowSize = b.getIndexAttr(kernel.rows),
               colSize = b.getIndexAttr(kernel.cols);
  Value c =
      transposed
          ? squeezeTile(b, loc, acc, {colDim, rowDim}, {colSize, rowSize})
          : squeezeTile(b, loc, acc, {rowDim, colDim}, {rowSize, colSize});
  Type element = accType.getElementType();
  auto sumType = VectorType::get({kernel.width}, element);
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  // The sums start at zero and the tile of C is added after the k loop (if
  // it is read at all): its loads do not hold up the first multiply-adds.
  Value zeros = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(sumType)));
  SmallVector<Value> init(kernel.rows * kernel.chunks, zeros);
  auto loop = scf::ForOp::create(
      b, loc, index(0), getValueOrCreateConstantIndexOp(b, loc, depth),
      index(1), init,
      [&](OpBuilder &nb, Location loc, Value k, ValueRange sums) {
        scf::YieldOp::create(nb, loc,
                             kernel.pairs
                                 ? bf16PairStep(nb, loc, kernel, k, sums)
                                 : f32Step(nb, loc, kernel, k, sums));
      });
  loop->setAttr(ampc::cpu::kMicroKernelAttr, b.getUnitAttr());
  c = storeSums(b, loc, kernel, loop.getResults(), c, transposed, overwrite);
  auto accSizes = llvm::map_to_vector(accType.getShape(), [&](int64_t s) {
    return OpFoldResult(b.getIndexAttr(s));
  });
  SmallVector<OpFoldResult> offsets(accType.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(accType.getRank(), b.getIndexAttr(1));
  Value result =
      tensor::InsertSliceOp::create(b, loc, c, acc, offsets, accSizes, strides);
  b.replaceOp(tile, result);
}

} // namespace

SmallVector<Value> ampc::cpu::transposeRows(OpBuilder &b, Location loc,
                                            SmallVector<Value> rows) {
  int64_t n = rows.size();
  for (int64_t h = n / 2; h >= 1; h /= 2) {
    SmallVector<int64_t> low, high;
    for (int64_t c = 0; c < n; ++c) {
      bool set = c & h;
      low.push_back(set ? n + c - h : c);
      high.push_back(set ? n + c : c + h);
    }
    for (int64_t i = 0; i < n; ++i) {
      if (i & h)
        continue;
      Value top = rows[i], bottom = rows[i + h];
      rows[i] = vector::ShuffleOp::create(b, loc, top, bottom, low);
      rows[i + h] = vector::ShuffleOp::create(b, loc, top, bottom, high);
    }
  }
  return rows;
}

std::optional<int64_t> ampc::cpu::transposedStoreBlock(int64_t rows,
                                                       int64_t cols) {
  int64_t block = int64_t(llvm::PowerOf2Ceil(rows));
  if (block < 4 || block > 16 || cols % block != 0)
    return std::nullopt;
  return block;
}

Value ampc::cpu::untileAccumulator(RewriterBase &b, Location loc, Value tiles,
                                   RankedTensorType type) {
  Value c = tensor::CollapseShapeOp::create(
      b, loc, tiles, SmallVector<ReassociationIndices>{{0, 1}, {2, 3}});
  if (cast<RankedTensorType>(c.getType()) == type)
    return c;
  return slice(b, loc, c, {0, 0}, type.getShape());
}

Value ampc::cpu::padToMultiple(RewriterBase &b, Location loc, Value source,
                               int64_t dim, int64_t multiple) {
  auto type = cast<RankedTensorType>(source.getType());
  int64_t size = type.getDimSize(dim);
  int64_t padded = llvm::alignTo(size, multiple);
  if (padded == size)
    return source;
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = padded;
  SmallVector<OpFoldResult> low(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> high(type.getRank(), b.getIndexAttr(0));
  high[dim] = b.getIndexAttr(padded - size);
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return tensor::PadOp::create(b, loc, type.clone(shape), source, low, high,
                               zero);
}

Value ampc::cpu::splitDim(RewriterBase &b, Location loc, Value value,
                          int64_t dim, int64_t inner) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape;
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0, e = type.getRank(); i < e; ++i) {
    int64_t first = shape.size();
    if (i == dim) {
      shape.append({type.getDimSize(i) / inner, inner});
      groups.push_back({first, first + 1});
    } else {
      shape.push_back(type.getDimSize(i));
      groups.push_back({first});
    }
  }
  return tensor::ExpandShapeOp::create(b, loc, type.clone(shape), value,
                                       groups);
}

std::optional<ContractionLoops>
ampc::cpu::matchPackableContraction(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op->getNumResults() != 1)
    return std::nullopt;
  for (Type type : op->getOperandTypes()) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    auto element =
        tensor ? dyn_cast<FloatType>(tensor.getElementType()) : nullptr;
    if (!tensor || !tensor.hasStaticShape() || !element ||
        element.getWidth() > 32)
      return std::nullopt;
  }
  if (!getElementTypeOrSelf(op->getResult(0).getType()).isF32() ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 ||
      dims->k.size() != 1 || dims->batch.size() > 1 ||
      op.getNumLoops() != 3 + dims->batch.size())
    return std::nullopt;
  ContractionLoops loops;
  if (!dims->batch.empty())
    loops.batch = dims->batch.front();
  loops.m = dims->m.front();
  loops.n = dims->n.front();
  loops.k = dims->k.front();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!readsExactly(maps[0], withBatch(loops, {loops.m, loops.k})) ||
      !readsExactly(maps[1], withBatch(loops, {loops.n, loops.k})) ||
      !readsExactly(maps[2], withBatch(loops, {loops.m, loops.n})))
    return std::nullopt;
  if (!isMultiplyAddBody(op))
    return std::nullopt;
  return loops;
}

bool ampc::cpu::hasBf16ExactInputs(linalg::LinalgOp op) {
  // bf16 itself, and fp8 (E4M3, E5M2: 2 or 3 mantissa bits, exponents
  // within bf16's normal range), whose values bf16 holds exactly.
  return llvm::all_of(op.getDpsInputs(), [](Value input) {
    Type element = getElementTypeOrSelf(input.getType());
    return element.isBF16() || (isa<FloatType>(element) &&
                                cast<FloatType>(element).getWidth() == 8);
  });
}

/// The loops along C's rows and columns that the register tiles' rows and
/// columns follow, so that C accumulates in place: the input that reads
/// the row loop is packed as A (a backward pass's dX = dY W^T may be
/// written with W first and C read transposed). A narrow column count (a
/// classifier's 10 outputs) fills `cols` lanes poorly: then C^T = B^T A^T
/// is computed instead, which is the same sum, with C packed and unpacked.
std::pair<unsigned, unsigned> ampc::cpu::tileAxes(linalg::LinalgOp op,
                                                  int64_t cols) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  AffineMap cMap = op.getIndexingMapsArray()[2];
  unsigned rowLoop = cMap.getDimPosition(cMap.getNumResults() - 2),
           colLoop = cMap.getDimPosition(cMap.getNumResults() - 1);
  if (ranges[colLoop] < cols && ranges[rowLoop] > ranges[colLoop])
    std::swap(rowLoop, colLoop);
  return {rowLoop, colLoop};
}

namespace {

/// The contraction on AMX-packed operands (see packContraction): loops (M1,
/// N1, K1, M0, N0, P, T) over A [M1, K1, 32, 16, 2] (M0, P, T), B [N1, K1,
/// 16, 32, 2] (P, N0, T) and C read through `cMap` (the tiled accumulator's
/// (M1, M0, N1, N0), or packed C's (M1, N1, M0, N0)).
linalg::GenericOp contractAmxTiles(RewriterBase &b, Location loc, Value a,
                                   Value bt, Value c, bool cInTiles) {
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> cExprs = {d(0), d(3), d(1), d(4)};
  if (!cInTiles)
    cExprs = {d(0), d(1), d(3), d(4)};
  SmallVector<AffineMap> maps = {
      AffineMap::get(7, 0, {d(0), d(2), d(3), d(5), d(6)}, ctx),
      AffineMap::get(7, 0, {d(1), d(2), d(5), d(4), d(6)}, ctx),
      AffineMap::get(7, 0, cExprs, ctx)};
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = {
      IteratorType::parallel, IteratorType::parallel, IteratorType::reduction,
      IteratorType::parallel, IteratorType::parallel, IteratorType::reduction,
      IteratorType::reduction};
  return linalg::GenericOp::create(
      b, loc, c.getType(), ValueRange{a, bt}, ValueRange{c}, maps, iterators,
      [](OpBuilder &nb, Location loc, ValueRange args) {
        Type acc = args[2].getType();
        Value product = arith::MulFOp::create(
            nb, loc, arith::ExtFOp::create(nb, loc, acc, args[0]),
            arith::ExtFOp::create(nb, loc, acc, args[1]));
        linalg::YieldOp::create(
            nb, loc,
            ValueRange{arith::AddFOp::create(nb, loc, args[2], product)});
      });
}

/// packContraction for AMX tiles: A in panels of 32 rows by 32 k (an A
/// tile's 16 rows of 32 bf16, twice), B in panels of 32 columns by k pairs
/// with k padded to a multiple of 32 (16 pairs of 32 columns: two B tiles
/// side by side), C in 32 x 32 tiles (four 16 x 16 f32 tiles).
linalg::LinalgOp packForAmx(RewriterBase &b, linalg::LinalgOp op,
                            const ContractionLoops &loops) {
  constexpr int64_t kTile = ampc::cpu::kAmxBlock;
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto [rowLoop, colLoop] = ampc::cpu::tileAxes(op, kTile);
  unsigned lhs = rowLoop == loops.m ? 0 : 1;
  Value a = packOperand(b, loc, op.getDpsInputOperand(lhs)->get(), maps[lhs],
                        {rowLoop, loops.k}, {rowLoop, loops.k}, {kTile, kTile});
  a = splitDim(b, loc, a, 3, 2);
  Value bSource = op.getDpsInputOperand(1 - lhs)->get();
  AffineMap bMap = maps[1 - lhs];
  bSource = padToMultiple(
      b, loc, bSource,
      *bMap.getResultPosition(getAffineDimExpr(loops.k, b.getContext())),
      kTile);
  Value bt = packOperand(b, loc, bSource, bMap, {colLoop, loops.k},
                         {colLoop, loops.k}, {kTile, 2});
  bt = splitDim(b, loc, bt, 1, kTile / 2);
  Value init = op.getDpsInitOperand(0)->get();
  auto resultType = cast<RankedTensorType>(init.getType());
  auto [outerPerm, innerPos] = packPositions(
      maps[2], {rowLoop, colLoop}, ArrayRef<unsigned>{rowLoop, colLoop});
  linalg::LinalgOp packed;
  Value result;
  if (llvm::equal(innerPos, ArrayRef<int64_t>{0, 1})) {
    Value c = tiledAccumulator(b, loc, init, kTile, kTile);
    packed = contractAmxTiles(b, loc, a, bt, c, /*cInTiles=*/true);
    result = untileAccumulator(b, loc, packed->getResult(0), resultType);
  } else {
    Value c = packAccumulator(b, loc, init, maps[2], {rowLoop, colLoop},
                              {rowLoop, colLoop}, {kTile, kTile});
    packed = contractAmxTiles(b, loc, a, bt, c, /*cInTiles=*/false);
    result = unpackResult(b, loc, packed->getResult(0), resultType, innerPos,
                          outerPerm, {kTile, kTile});
  }
  b.replaceOp(op, result);
  return packed;
}

} // namespace

linalg::LinalgOp ampc::cpu::packContraction(RewriterBase &b,
                                            linalg::LinalgOp op,
                                            const ContractionLoops &loops,
                                            int64_t rows, int64_t cols,
                                            Bf16Kernel kernel) {
  // fp8 inputs of the bf16 kernels are widened to bf16 (exactly).
  if (kernel != Bf16Kernel::widen)
    widenInputs(b, op, b.getBF16Type());
  if (kernel == Bf16Kernel::amx) {
    assert(!loops.batch && "AMX tiles take no batch");
    return packForAmx(b, op, loops);
  }
  bool bf16Pairs = kernel == Bf16Kernel::dot;
  if (!bf16Pairs)
    widenInputs(b, op);
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto [rowLoop, colLoop] = tileAxes(op, cols);
  unsigned lhs = rowLoop == loops.m ? 0 : 1;
  // bf16 pairs: k is cut into pairs too (K0 = 2), the layout of a dot
  // product's operands.
  SmallVector<unsigned> aTiled = {rowLoop}, bTiled = {colLoop};
  SmallVector<int64_t> aTiles = {rows}, bTiles = {cols};
  if (bf16Pairs) {
    aTiled.push_back(loops.k);
    bTiled.push_back(loops.k);
    aTiles.push_back(2);
    bTiles.push_back(2);
  }
  Value a = packOperand(b, loc, op.getDpsInputOperand(lhs)->get(), maps[lhs],
                        withBatch(loops, {rowLoop, loops.k}), aTiled, aTiles);
  Value bt =
      packOperand(b, loc, op.getDpsInputOperand(1 - lhs)->get(), maps[1 - lhs],
                  withBatch(loops, {colLoop, loops.k}), bTiled, bTiles);
  Value init = op.getDpsInitOperand(0)->get();
  SmallVector<unsigned> cOuter = withBatch(loops, {rowLoop, colLoop});
  auto [outerPerm, innerPos] =
      packPositions(maps[2], cOuter, ArrayRef<unsigned>{rowLoop, colLoop});
  SmallVector<Value> packedInputs = {a, bt};
  if (!bf16Pairs)
    packedInputs = {appendUnitDim(b, loc, a), appendUnitDim(b, loc, bt)};
  auto resultType = cast<RankedTensorType>(init.getType());
  linalg::LinalgOp packed;
  Value result;
  // C in rows-then-columns order (no batch) is accumulated in place; so is
  // C^T (C in columns-then-rows order) where the micro-kernel can transpose
  // its sums (transposedStoreBlock); otherwise C is packed like the
  // operands and unpacked.
  bool inOrder = llvm::equal(innerPos, ArrayRef<int64_t>{0, 1});
  bool transposed = llvm::equal(innerPos, ArrayRef<int64_t>{1, 0}) &&
                    transposedStoreBlock(rows, cols);
  if (!loops.batch && (inOrder || transposed)) {
    Value c = inOrder ? tiledAccumulator(b, loc, init, rows, cols)
                      : tiledAccumulator(b, loc, init, cols, rows);
    packed = contractIntoTiles(b, loc, packedInputs[0], packedInputs[1], c,
                               /*transposed=*/!inOrder);
    result = untileAccumulator(b, loc, packed->getResult(0), resultType);
  } else {
    Value c = packAccumulator(b, loc, init, maps[2], cOuter, {rowLoop, colLoop},
                              {rows, cols});
    if (loops.batch)
      packed = linalg::BatchMmt4DOp::create(b, loc, TypeRange{c.getType()},
                                            packedInputs, ValueRange{c});
    else
      packed = linalg::Mmt4DOp::create(b, loc, TypeRange{c.getType()},
                                       packedInputs, ValueRange{c});
    result = unpackResult(b, loc, packed->getResult(0), resultType, innerPos,
                          outerPerm, {rows, cols});
  }
  b.replaceOp(op, result);
  return packed;
}

namespace {

/// Tiles `op` by `sizes` (0: untiled) in loops of `type`, `interchange`d;
/// returns the tile's op. The loops made are marked with `marks`.
FailureOr<linalg::LinalgOp> tileLoops(RewriterBase &b, linalg::LinalgOp op,
                                      ArrayRef<int64_t> sizes,
                                      scf::SCFTilingOptions::LoopType type,
                                      ArrayRef<int64_t> interchange,
                                      ArrayRef<StringRef> marks) {
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(b.getContext(), sizes));
  options.setLoopType(type);
  if (!interchange.empty())
    options.setInterchange(interchange);
  b.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(b, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled))
    return op.emitError("cannot tile the packed contraction");
  for (LoopLikeOpInterface loop : tiled->loops)
    for (StringRef mark : marks)
      loop->setAttr(mark, b.getUnitAttr());
  b.replaceOp(op, tiled->replacements);
  return cast<linalg::LinalgOp>(tiled->tiledOps.back());
}

} // namespace

LogicalResult ampc::cpu::lowerPackedContraction(RewriterBase &b,
                                                linalg::LinalgOp mmt4d,
                                                const PanelSizes &panels,
                                                bool amxTiles) {
  // Loops: [b,] M1, N1, K1, M0, N0, K0. In parallel: blocks of row tiles by
  // blocks of column tiles (rows fastest). In each, as in BLIS: the k
  // blocks, the block's column tiles, then its row tiles, so that B's k
  // block of one column tile (depth x nr) stays in L1 across the row tiles
  // and A's k block of the row block (rowTiles x depth x mr) in L2 across
  // the column tiles.
  using LoopType = scf::SCFTilingOptions::LoopType;
  unsigned batch = isa<linalg::BatchMmt4DOp>(mmt4d) ? 1 : 0;
  unsigned loops = mmt4d.getNumLoops();
  SmallVector<int64_t> ranges = mmt4d.getStaticLoopRanges();
  // Row blocks of even sizes: 43 row tiles in blocks of at most 42 are two
  // blocks of 22 and 21, not 42 and 1.
  int64_t rowTiles = ranges[batch];
  int64_t rowBlocks = llvm::divideCeil(rowTiles, panels.rowTiles);
  SmallVector<int64_t> blocks(loops, 0), depth(loops, 0), cols(loops, 0),
      rows(loops, 0);
  if (batch)
    blocks[0] = 1;
  blocks[batch] = llvm::divideCeil(rowTiles, rowBlocks);
  blocks[batch + 1] = panels.colTiles;
  depth[batch + 2] = panels.depth;
  cols[batch + 1] = 1;
  rows[batch] = 1;
  SmallVector<int64_t> interchange =
      llvm::to_vector(llvm::seq<int64_t>(0, loops));
  std::swap(interchange[batch], interchange[batch + 1]);
  int64_t flops = 2;
  for (int64_t size : ranges)
    flops *= size;
  LoopType outer =
      flops >= panels.minParallelFlops ? LoopType::ForallOp : LoopType::ForOp;
  // Into zeros in one k block, the micro-kernels (or AMX tiles, zeroed in
  // registers) write C without reading it: C need not be zeroed first.
  bool overwrite = ranges[batch + 2] <= panels.depth &&
                   isPositiveZeroFill(mmt4d.getDpsInits()[0]);
  if (overwrite) {
    b.setInsertionPoint(mmt4d);
    Value init = mmt4d.getDpsInits()[0];
    Value empty = tensor::EmptyOp::create(
        b, mmt4d.getLoc(), cast<RankedTensorType>(init.getType()).getShape(),
        getElementTypeOrSelf(init));
    b.modifyOpInPlace(mmt4d, [&] { mmt4d.getDpsInitsMutable()[0].set(empty); });
  }
  // The loops of a C that accumulates in place (read as (M1, M0, N1, N0),
  // or C^T's (N1, N0, M1, M0); not packed) are marked for
  // ampc-cpu-fuse-epilogues, the k blocks too.
  SmallVector<StringRef, 2> marks;
  if (!amxTiles &&
      !isa<linalg::Mmt4DOp, linalg::BatchMmt4DOp>(mmt4d.getOperation()))
    marks.push_back(kTiledContractionAttr);
  SmallVector<StringRef, 2> kMarks(marks);
  if (!marks.empty())
    kMarks.push_back(kKBlocksAttr);
  FailureOr<linalg::LinalgOp> tile =
      tileLoops(b, mmt4d, blocks, outer, interchange, marks);
  if (succeeded(tile))
    tile = tileLoops(b, *tile, depth, LoopType::ForOp, {}, kMarks);
  for (ArrayRef<int64_t> sizes : {ArrayRef<int64_t>(cols), ArrayRef(rows)})
    if (succeeded(tile))
      tile = tileLoops(b, *tile, sizes, LoopType::ForOp, {}, marks);
  if (failed(tile))
    return failure();
  // AMX tiles are emitted on buffers: amx ops load and store memory.
  if (amxTiles) {
    (*tile)->setAttr(kAmxTileAttr, b.getUnitAttr());
    if (overwrite)
      (*tile)->setAttr(kAmxZeroInitAttr, b.getUnitAttr());
    return success();
  }
  emitMicroKernel(b, *tile, overwrite);
  return success();
}

ampc::cpu::PanelSizes ampc::cpu::PanelSizes::forAmx(int64_t l1Bytes,
                                                    int64_t l2Bytes) {
  // One k step: 32 k of a 32-column panel of B (2 KiB) and of a 32-row
  // panel of A (2 KiB). B's k block fills L1 (A's tiles stream from L2):
  // C's tiles are loaded and stored once per k block.
  constexpr int64_t kStepBytes = kAmxBlock * kAmxBlock * 2;
  PanelSizes sizes;
  sizes.depth = std::max<int64_t>(1, l1Bytes / kStepBytes);
  sizes.rowTiles =
      std::max<int64_t>(1, l2Bytes / 2 / (sizes.depth * kStepBytes));
  return sizes;
}

ampc::cpu::PanelSizes ampc::cpu::PanelSizes::forCaches(int64_t rows,
                                                       int64_t cols,
                                                       int64_t l1Bytes,
                                                       int64_t l2Bytes) {
  // B's k block of one column tile fills half of L1, and is at least
  // kMinDepth deep: each k block loads and stores the tiles of C once, and
  // deeper blocks measured faster even where B's block outgrows L1 and
  // streams from L2 (6 x 64 tiles, gemm 2048^3, one thread of a Sapphire
  // Rapids-class Xeon: 64 deep (half of L1) 74, 128 deep 75, 256 deep 79
  // GFLOP/s; 384 and 512 no faster than 256).
  constexpr int64_t kMinDepth = 256;
  PanelSizes sizes;
  sizes.depth = std::max<int64_t>(kMinDepth, l1Bytes / 2 / (cols * 4));
  sizes.rowTiles = std::max<int64_t>(1, l2Bytes / 2 / (sizes.depth * rows * 4));
  return sizes;
}

namespace {

/// True for a linear expression of loop dims with constant factors and
/// offsets: d0, d1 + d4, d1 * 2 + d4 (a window's position), d1 - d4 + 2 (a
/// transposed convolution's: the input gradient reads the padded output
/// gradient so).
bool isWindowExpr(AffineExpr expr) {
  if (isa<AffineDimExpr>(expr))
    return true;
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return false;
  if (binary.getKind() == AffineExprKind::Add)
    return (isWindowExpr(binary.getLHS()) ||
            isa<AffineConstantExpr>(binary.getLHS())) &&
           (isWindowExpr(binary.getRHS()) ||
            isa<AffineConstantExpr>(binary.getRHS()));
  if (binary.getKind() == AffineExprKind::Mul)
    return isa<AffineDimExpr>(binary.getLHS()) &&
           isa<AffineConstantExpr>(binary.getRHS());
  return false;
}

/// `map` (a projected permutation) with its results in loop order, and the
/// permutation that takes an operand read through `map` there.
std::pair<AffineMap, SmallVector<int64_t>> sortedByLoop(AffineMap map) {
  SmallVector<int64_t> perm =
      llvm::to_vector(llvm::seq<int64_t>(0, map.getNumResults()));
  llvm::sort(perm, [&](int64_t a, int64_t b) {
    return map.getDimPosition(a) < map.getDimPosition(b);
  });
  SmallVector<AffineExpr> results;
  for (int64_t p : perm)
    results.push_back(map.getResult(p));
  return {AffineMap::get(map.getNumDims(), 0, results, map.getContext()), perm};
}

/// The input of `op` read through window expressions (the image of a
/// convolution or of its weight gradient), if exactly one is and the other
/// operands are read through projected permutations.
std::optional<unsigned> windowedInput(linalg::GenericOp op) {
  std::optional<unsigned> windowed;
  for (auto [i, map] : llvm::enumerate(op.getIndexingMapsArray())) {
    if (map.isProjectedPermutation())
      continue;
    if (windowed || i >= 2 || !llvm::all_of(map.getResults(), isWindowExpr))
      return std::nullopt;
    windowed = i;
  }
  return windowed;
}

/// Groups of contiguous loops that fold `maps` into a contraction with one
/// m, n and k loop (and at most one batch loop), if there are such.
std::optional<SmallVector<ReassociationIndices>>
contractionGroups(ArrayRef<AffineMap> maps, unsigned numLoops) {
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(maps);
  if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty() ||
      dims->batch.size() > 1 ||
      dims->batch.size() + dims->m.size() + dims->n.size() + dims->k.size() !=
          numLoops)
    return std::nullopt;
  SmallVector<ReassociationIndices> groups;
  for (const auto &set : {dims->batch, dims->m, dims->n, dims->k}) {
    ReassociationIndices group(set.begin(), set.end());
    llvm::sort(group);
    for (size_t i = 1; i < group.size(); ++i)
      if (group[i] != group[i - 1] + 1)
        return std::nullopt;
    if (group.size() > 1)
      groups.push_back(group);
  }
  if (!linalg::areDimSequencesPreserved(maps, groups))
    return std::nullopt;
  return groups;
}

/// The loops the image (input `x` of `op`, read through `xMap`) is read by,
/// in loop order.
SmallVector<unsigned> imageLoops(linalg::GenericOp op, AffineMap xMap) {
  SmallVector<unsigned> loops;
  for (unsigned d = 0; d < op.getNumLoops(); ++d)
    if (xMap.isFunctionOfDim(d))
      loops.push_back(d);
  return loops;
}

/// The map through which `op` reads the patches of its image: one
/// dimension per loop of `loops`, in that order.
AffineMap patchesMap(linalg::GenericOp op, ArrayRef<unsigned> loops) {
  MLIRContext *ctx = op.getContext();
  return AffineMap::get(
      op.getNumLoops(), 0,
      llvm::map_to_vector(loops,
                          [&](unsigned d) { return getAffineDimExpr(d, ctx); }),
      ctx);
}

/// Interchanges the loops of `op` (in place) so that the loop its image
/// (input `x`) is contiguous along is the last of its contraction group (m,
/// n or k): the patches, one dimension per loop in loop order, then gather
/// whole runs of the image.
/// A convolution's input gradient sums over (oc, kh, kw) and reads the
/// output gradient [n, h, w, oc]: its patches were [n, h, w, oc, kh, kw],
/// gathered one element at a time with a stride of oc; as (kh, kw, oc) they
/// are copied 16 channels at a time. The longest loop of the image's
/// innermost dimension is the one it is contiguous along (none for a
/// one-channel image). Returns the interchange (new loop i is old loop
/// order[i]), empty where nothing moves.
SmallVector<unsigned> innermostLoopLast(RewriterBase &b, linalg::GenericOp op,
                                        unsigned x) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<unsigned> loops = imageLoops(op, maps[x]);
  std::optional<unsigned> along;
  for (unsigned d : loops)
    if (maps[x].getResults().back().isFunctionOfDim(d) && ranges[d] > 1 &&
        (!along || ranges[d] >= ranges[*along]))
      along = d;
  if (!along)
    return {};
  maps[x] = patchesMap(op, loops);
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(maps);
  if (failed(dims))
    return {};
  for (const auto &set : {dims->batch, dims->m, dims->n, dims->k}) {
    if (!llvm::is_contained(set, *along))
      continue;
    unsigned last = *llvm::max_element(set);
    if (last == *along || last - *llvm::min_element(set) + 1 != set.size())
      return {};
    SmallVector<unsigned> order =
        llvm::to_vector(llvm::seq<unsigned>(0, op.getNumLoops()));
    order.erase(order.begin() + *along);
    order.insert(order.begin() + last, *along);
    if (failed(linalg::interchangeGenericOp(b, op, order)))
      return {};
    return order;
  }
  return {};
}

} // namespace

FailureOr<linalg::LinalgOp>
ampc::cpu::convolutionToContraction(RewriterBase &b, linalg::LinalgOp op) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || !op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 ||
      llvm::any_of(op.getStaticLoopRanges(), ShapedType::isDynamic) ||
      !isMultiplyAddBody(op))
    return failure();
  std::optional<unsigned> x = windowedInput(generic);
  if (!x)
    return failure();
  b.setInsertionPoint(op);
  SmallVector<unsigned> interchange = innermostLoopLast(b, generic, *x);
  // On failure the loops go back to their order: nothing changed.
  auto fail = [&]() -> FailureOr<linalg::LinalgOp> {
    if (!interchange.empty()) {
      SmallVector<unsigned> back(interchange.size());
      for (auto [i, d] : llvm::enumerate(interchange))
        back[d] = i;
      (void)linalg::interchangeGenericOp(b, generic, back);
    }
    return failure();
  };
  // The patches tensor P: one dimension per loop the image is read by, in
  // loop order; P(those loops) = X(window expressions).
  MLIRContext *ctx = b.getContext();
  AffineMap xMap = op.getIndexingMapsArray()[*x];
  SmallVector<unsigned> loops = imageLoops(generic, xMap);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  maps[*x] = patchesMap(generic, loops);
  auto groups = contractionGroups(maps, op.getNumLoops());
  // The other input in loop order, if its layout splits a group (the
  // weight [kh, kw, c, f] of an input gradient, which sums over f, kh, kw):
  // a transposed copy, as small as the weight.
  unsigned other = 1 - *x;
  std::optional<SmallVector<int64_t>> transpose;
  if (!groups) {
    auto [sorted, perm] = sortedByLoop(maps[other]);
    SmallVector<AffineMap> sortedMaps = maps;
    sortedMaps[other] = sorted;
    groups = contractionGroups(sortedMaps, op.getNumLoops());
    if (!groups)
      return fail();
    maps = sortedMaps;
    transpose = perm;
  }

  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<int64_t> patchShape =
      llvm::map_to_vector(loops, [&](unsigned d) { return ranges[d]; });
  SmallVector<AffineExpr> renumber(op.getNumLoops(),
                                   getAffineConstantExpr(0, ctx));
  for (auto [i, d] : llvm::enumerate(loops))
    renumber[d] = getAffineDimExpr(i, ctx);
  AffineMap gather = xMap.replaceDimsAndSymbols(renumber, {}, loops.size(), 0);
  Value image = op.getDpsInputOperand(*x)->get();
  Type element = getElementTypeOrSelf(image.getType());
  Value empty = tensor::EmptyOp::create(b, loc, patchShape, element);
  auto patches = linalg::GenericOp::create(
      b, loc, TypeRange{empty.getType()}, ValueRange{image}, ValueRange{empty},
      ArrayRef<AffineMap>{gather,
                          AffineMap::getMultiDimIdentityMap(loops.size(), ctx)},
      SmallVector<utils::IteratorType>(loops.size(),
                                       utils::IteratorType::parallel),
      [](OpBuilder &nb, Location loc, ValueRange args) {
        linalg::YieldOp::create(nb, loc, args[0]);
      });
  SmallVector<Value> inputs = op.getDpsInputs();
  inputs[*x] = patches.getResult(0);
  if (transpose) {
    auto type = cast<RankedTensorType>(inputs[other].getType());
    SmallVector<int64_t> shape;
    for (int64_t p : *transpose)
      shape.push_back(type.getDimSize(p));
    Value init = tensor::EmptyOp::create(b, loc, shape, type.getElementType());
    inputs[other] =
        linalg::TransposeOp::create(b, loc, inputs[other], init, *transpose)
            .getResult()[0];
  }
  auto contraction = linalg::GenericOp::create(b, loc, op->getResultTypes(),
                                               inputs, op.getDpsInits(), maps,
                                               generic.getIteratorTypesArray());
  b.inlineRegionBefore(generic.getRegion(), contraction.getRegion(),
                       contraction.getRegion().begin());
  b.replaceOp(op, contraction->getResults());
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(contraction, *groups, b);
  if (failed(collapsed))
    return contraction.emitError("cannot fold the convolution's loops");
  b.replaceOp(contraction, collapsed->results);
  return collapsed->collapsedOp;
}
