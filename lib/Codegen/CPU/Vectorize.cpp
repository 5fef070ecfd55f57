//===- Vectorize.cpp - tile and vectorize linalg ops for the CPU ----------===//
//
// ampc-vectorize-contractions (every contraction and convolution on the
// packed path of PackedContractions.h, with AVX-512 BF16 dot products for
// bf16 inputs where the target has them) and ampc-vectorize-generics
// (elementwise ops and reductions, tiled with scf::tileUsingSCF so that every
// tile is full and vectorized with linalg::vectorize).
//
//===----------------------------------------------------------------------===//

#include "PackedContractions.h"
#include "Tiles.h"
#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Codegen/Common/Fills.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Transforms/RegionUtils.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace ampc {
#define GEN_PASS_DEF_AMPCVECTORIZECONTRACTIONS
#define GEN_PASS_DEF_AMPCVECTORIZEGENERICS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using ampc::cpu::reshapeInOrder;

using ampc::cpu::pickTile;

namespace {

/// True if AMX's 32 x 32 x 32 blocks fit `op`'s m, n and k well enough:
/// padding them to whole blocks at most quadruples the work, and the work
/// is at least one whole block's. Whole tiles run at about four times the
/// f32 micro-kernel's rate (gemm2048: 300 against 75-90 GFLOP/s per core on
/// a Sapphire Rapids), so a classifier's 10 outputs (3.2-fold) still gain,
/// while a convolution's 8 output channels and 9 taps (14-fold) would lose.
/// Below one block the packing into pairs and tiles (copies of A, B and C)
/// and the tiles' loads and stores cost more than the multiplications: the
/// transformer block's 16 x 16 x 32 contractions made its bf16 step 1.39x
/// its fp32 step on tiles, against 1.05x widened to f32.
///
/// Padded more than 2-fold, the tiles also need kMinPaddedAmxBlocks blocks
/// of work: below that, zeroing and filling the padded copies costs more
/// than the tiles save. A classifier over 10 classes, one thread of a
/// Sapphire Rapids-class Xeon: 256 x 4096 x 10 (320 blocks) runs at 2.1x
/// its widened rate on tiles, while the zoo CNN's 32 x 1352 x 10 layer (13
/// blocks; forward and both gradients) made its bf16 step 1.11x its fp32
/// step on tiles against 1.08x widened (fp8: 1.20x against 1.16x).
bool fillsAmxTiles(linalg::LinalgOp op,
                   const ampc::cpu::ContractionLoops &loops) {
  constexpr int64_t kMinPaddedAmxBlocks = 64;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  double padded = 1, real = 1;
  for (unsigned loop : {loops.m, loops.n, loops.k}) {
    padded *= double(llvm::alignTo(ranges[loop], ampc::cpu::kAmxBlock));
    real *= double(ranges[loop]);
  }
  constexpr double block = double(ampc::cpu::kAmxBlock) * ampc::cpu::kAmxBlock *
                           ampc::cpu::kAmxBlock;
  if (padded > 2 * real && real < kMinPaddedAmxBlocks * block)
    return false;
  return padded <= 4 * real && real >= block;
}

/// Replaces `op` by reshapes if it moves only unit dimensions (a pack whose
/// one panel spans a whole operand: [M, 1, mr] -> [1, M, mr]), which keeps
/// the elements in memory order: the transpose would copy all of them.
void transposeAsReshape(RewriterBase &rewriter, linalg::TransposeOp op) {
  if (!op)
    return;
  auto source = cast<RankedTensorType>(op.getInput().getType());
  auto result = cast<RankedTensorType>(op.getInit().getType());
  SmallVector<int64_t> kept;
  for (int64_t dim : op.getPermutation())
    if (source.getDimSize(dim) != 1)
      kept.push_back(dim);
  if (!llvm::is_sorted(kept) || !source.hasStaticShape())
    return;
  SmallVector<int64_t> shape;
  for (int64_t dim : kept)
    shape.push_back(source.getDimSize(dim));
  auto flat = RankedTensorType::get(shape, source.getElementType());
  auto collapse = getReassociationIndicesForReshape(source, flat);
  auto expand = getReassociationIndicesForReshape(result, flat);
  if (!collapse || !expand)
    return;
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value collapsed = tensor::CollapseShapeOp::create(rewriter, loc, flat,
                                                    op.getInput(), *collapse);
  rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, result, collapsed,
                                                     *expand);
}

/// The narrowest vector of f32 register tiles are counted in: AVX's.
constexpr int64_t kNarrowestColumns = 8;

/// The register tile for a contraction whose whole M x N output fits the
/// target's register tile (`rows` x `cols` accumulators): exactly M x N. A
/// convolution's weight gradient over few channels (9 taps by 8 filters, k
/// the batch's 21632 positions) would otherwise pad its 9 taps to 32 lanes
/// and pack (copy) both operands; at M x N each operand is one panel in its
/// own layout, which packing leaves in place, and no lane is padding.
/// Columns are counted in 8-lane vectors (AVX's narrowest f32 register), so
/// the accumulators never outnumber those of the target's own tile. Nothing
/// for a larger output.
std::optional<std::pair<int64_t, int64_t>>
wholeOutputTile(linalg::LinalgOp op, const ampc::cpu::ContractionLoops &loops,
                int64_t rows, int64_t cols) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  AffineMap cMap = op.getIndexingMapsArray()[2];
  if (loops.batch || cMap.getNumResults() != 2)
    return std::nullopt;
  int64_t m = ranges[cMap.getDimPosition(0)],
          n = ranges[cMap.getDimPosition(1)];
  if (m <= 2 * rows && n <= cols &&
      m * int64_t(llvm::alignTo(n, kNarrowestColumns)) <= rows * cols)
    return std::make_pair(m, n);
  return std::nullopt;
}

/// True if bf16 dot products pay for packing `op`'s operands in k pairs (a
/// copy of both) into register tiles of `cols` columns (the target's, or a
/// tile that holds the whole output: wholeOutputTile): k is at least
/// kDotMinDepth (or an even k of at least kDotMinWholePairsDepth, no pair
/// padded) and the columns fill whole dot-product vectors, no lane padded.
/// The zoo CNN's 3x3 convolution over a 1-channel image (k = 9
/// taps, padded to 10; pairs that straddle the patches' rows) and its
/// weight gradient over 8 filters (a 9 x 8 output, which the widened path
/// computes straight from the operands, unpacked) lost more in packing than
/// the dot products saved: its bf16 step on a Zen 5 took 0.50 ms with them,
/// 0.35 widened (fp32: 0.30). A classifier's weight gradient (4096 x 10 by
/// k = 256) gains: 109 GFLOP/s against 50 widened. So do the transformer
/// block's 16 x 16 outputs over k = 16 and 32, whole tiles of 16 lanes: its
/// bf16 step went from 1.08x its fp32 step to 0.97x, fp8 from 1.29x to
/// 1.16x (one thread of a Zen 5, medians of six alternating runs). Its
/// attention's products over k = 8 (the 8 positions of a sequence) gain
/// too: with them the bf16 step went from 1.01x to 0.96x, fp8 from 1.23x to
/// 1.15x (medians of eight and five alternating runs); k >= 32 only made
/// the bf16 step 1.10x.
bool pairsPayOff(linalg::LinalgOp op, const ampc::cpu::ContractionLoops &loops,
                 int64_t cols) {
  int64_t k = op.getStaticLoopRanges()[loops.k];
  bool deepEnough = k >= ampc::cpu::kDotMinDepth ||
                    (k >= ampc::cpu::kDotMinWholePairsDepth && k % 2 == 0);
  return deepEnough && cols % ampc::cpu::kDotLanes == 0;
}

/// Vector instructions per output element and k step of a register tile
/// of `rows` x `vectors` vectors: a multiply-add per accumulator, a load of
/// B per vector, a broadcast of A per row. AVX-512's 6 x 64 (4 vectors):
/// 34 / 24; 8 x 32: 26 / 16, which measured 12-26 % slower on large GEMMs.
double tileCost(int64_t rows, int64_t vectors) {
  return double(rows * vectors + vectors + rows) / double(rows * vectors);
}

/// The output elements `op` computes in register tiles of `rows` x `cols`,
/// padding included.
double paddedOutput(linalg::LinalgOp op, int64_t rows, int64_t cols) {
  auto [rowLoop, colLoop] = ampc::cpu::tileAxes(op, cols);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  return double(llvm::alignTo(ranges[rowLoop], rows)) *
         double(llvm::alignTo(ranges[colLoop], cols));
}

/// The register tile of `op` on a target whose tile is `rows` x `cols`,
/// four vectors wide (CpuTarget::registerTile on 32 registers): that tile,
/// or two vectors of columns by up to 8 rows (AVX-512: 8 x 32) where that
/// costs fewer vector instructions, padding included (tileCost): a
/// convolution's 8 filters fill 8 rows but pad 6-row tiles to 12, and 16
/// columns fill a quarter of a 64-lane tile. Tiles narrower than four
/// 8-lane vectors are kept (half of them would leave fewer accumulators
/// than it takes to hide the multiply-adds' latency), and so is a whole
/// output in the target's tile (wholeOutputTile).
std::pair<int64_t, int64_t>
registerTileFor(linalg::LinalgOp op, const ampc::cpu::ContractionLoops &loops,
                int64_t rows, int64_t cols) {
  if (cols % (4 * kNarrowestColumns) != 0 ||
      wholeOutputTile(op, loops, rows, cols))
    return {rows, cols};
  int64_t narrowRows = std::min<int64_t>(8, 2 * rows);
  double wide = paddedOutput(op, rows, cols) * tileCost(rows, 4);
  double narrow =
      paddedOutput(op, narrowRows, cols / 2) * tileCost(narrowRows, 2);
  if (narrow < wide)
    return {narrowRows, cols / 2};
  return {rows, cols};
}

struct AmpcVectorizeContractionsPass
    : ampc::impl::AmpcVectorizeContractionsBase<AmpcVectorizeContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(packContractions(module)))
      return signalPassFailure();
  }

  /// How `op` multiplies bf16 inputs on this target (the pass options) in
  /// register tiles of `cols` columns.
  ampc::cpu::Bf16Kernel bf16Kernel(linalg::LinalgOp op,
                                   const ampc::cpu::ContractionLoops &loops,
                                   int64_t cols) {
    using ampc::cpu::Bf16Kernel;
    if (!ampc::cpu::hasBf16ExactInputs(op))
      return Bf16Kernel::widen;
    if (amx && !loops.batch && fillsAmxTiles(op, loops))
      return Bf16Kernel::amx;
    if (bf16Dot && pairsPayOff(op, loops, cols))
      return Bf16Kernel::dot;
    return Bf16Kernel::widen;
  }

  /// `sizes` with the cache blocking options that are set.
  ampc::cpu::PanelSizes withOptions(ampc::cpu::PanelSizes sizes) {
    if (cacheDepth > 0)
      sizes.depth = cacheDepth;
    if (blockRowTiles > 0)
      sizes.rowTiles = blockRowTiles;
    if (blockColTiles > 0)
      sizes.colTiles = blockColTiles;
    sizes.minParallelFlops = parallelMinFlops;
    return sizes;
  }

  /// Every contraction the packed path takes: pack, mmt4d on register
  /// tiles, unpack (see PackedContractions.h); the packs become pads,
  /// reshapes and transposes.
  LogicalResult packContractions(ModuleOp module) {
    IRRewriter rewriter(module.getContext());
    // Convolutions (named, or generics with window maps) become a gather of
    // patches and a contraction first.
    SmallVector<linalg::LinalgOp> convolutions;
    module.walk([&](linalg::LinalgOp op) {
      if ((isa<linalg::GenericOp>(op) ||
           linalg::isaConvolutionOpInterface(op)) &&
          op.hasPureTensorSemantics())
        convolutions.push_back(op);
    });
    for (linalg::LinalgOp op : convolutions) {
      if (auto named = dyn_cast<linalg::LinalgOp>(op.getOperation());
          named && !isa<linalg::GenericOp>(named)) {
        rewriter.setInsertionPoint(named);
        FailureOr<linalg::GenericOp> generic =
            linalg::generalizeNamedOp(rewriter, named);
        if (failed(generic))
          continue;
        op = *generic;
      }
      (void)ampc::cpu::convolutionToContraction(rewriter, op);
    }
    SmallVector<std::pair<linalg::LinalgOp, ampc::cpu::ContractionLoops>> ops;
    module.walk([&](linalg::LinalgOp op) {
      if (auto loops = ampc::cpu::matchPackableContraction(op))
        ops.push_back({op, *loops});
    });
    auto amxPanels =
        withOptions(ampc::cpu::PanelSizes::forAmx(l1Bytes, l2Bytes));
    for (auto &[op, loops] : ops) {
      auto [rows, cols] =
          registerTileFor(op, loops, registerRows, registerCols);
      auto panels = withOptions(
          ampc::cpu::PanelSizes::forCaches(rows, cols, l1Bytes, l2Bytes));
      if (auto whole = wholeOutputTile(op, loops, rows, cols))
        std::tie(rows, cols) = *whole;
      ampc::cpu::Bf16Kernel kernel = bf16Kernel(op, loops, cols);
      linalg::LinalgOp mmt4d =
          ampc::cpu::packContraction(rewriter, op, loops, rows, cols, kernel);
      bool onAmx = kernel == ampc::cpu::Bf16Kernel::amx;
      if (failed(ampc::cpu::lowerPackedContraction(
              rewriter, mmt4d, onAmx ? amxPanels : panels, onAmx)))
        return failure();
    }
    SmallVector<linalg::PackOp> packs;
    SmallVector<linalg::UnPackOp> unpacks;
    module.walk([&](linalg::PackOp op) { packs.push_back(op); });
    module.walk([&](linalg::UnPackOp op) { unpacks.push_back(op); });
    for (linalg::PackOp op : packs) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::LowerPackResult> lowered =
          linalg::lowerPack(rewriter, op);
      if (failed(lowered))
        return op.emitError("cannot lower the pack of a contraction operand");
      transposeAsReshape(rewriter, lowered->transposeOp);
    }
    for (linalg::UnPackOp op : unpacks) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::LowerUnPackOpResult> lowered =
          linalg::lowerUnPack(rewriter, op);
      if (failed(lowered))
        return op.emitError("cannot lower the unpack of a contraction result");
      transposeAsReshape(rewriter, lowered->transposeOp);
    }
    return success();
  }
};

/// The loops an input is contiguous along, innermost first, outside the
/// vector's loops: whole short loops (a 3x3 kernel's taps) and then one
/// more, until they cover at least a quarter of a vector; with each one's
/// tile. A whole innermost loop that the input and the output both read
/// innermost (the pair of a bf16 operand packed for dot products) moves with
/// its elements and is skipped. Empty if the input's innermost loop is
/// otherwise one of the vector's.
SmallVector<std::pair<unsigned, int64_t>>
contiguousLoops(AffineMap map, ArrayRef<int64_t> bounds,
                ArrayRef<unsigned> vectorLoops, ArrayRef<int64_t> vectorTiles,
                int64_t width) {
  SmallVector<std::pair<unsigned, int64_t>> loops;
  int64_t elements = 1;
  ArrayRef<AffineExpr> results = map.getResults();
  unsigned innermost = vectorLoops.empty() ? 0 : vectorLoops.back();
  if (!results.empty() && vectorLoops.size() >= 2 &&
      cast<AffineDimExpr>(results.back()).getPosition() == innermost &&
      vectorTiles.back() == bounds[innermost]) {
    elements = bounds[innermost];
    results = results.drop_back();
  }
  for (AffineExpr result : llvm::reverse(results)) {
    unsigned d = cast<AffineDimExpr>(result).getPosition();
    if (llvm::is_contained(vectorLoops, d))
      break;
    // Half a vector's width at most along a long loop: the tile is the
    // vector's loops times this, unrolled (16 x 8 elements on AVX-512).
    int64_t tile =
        bounds[d] * elements <= width
            ? bounds[d]
            : pickTile(bounds[d], std::max<int64_t>(1, width / 2 / elements));
    loops.emplace_back(d, tile);
    elements *= tile;
    if (tile < bounds[d] || elements * 4 >= width)
      return loops;
  }
  return {};
}

/// For a layout change (an input contiguous along other loops than the
/// vector's, as in a transpose): those loops move in just outside the
/// vector's loops and are tiled to about a vector width too, so that the
/// input is read as whole vectors and transposed in registers, not gathered
/// element by element with the input's stride. The largest such input
/// decides.
void tileTransposedInput(linalg::GenericOp op, ArrayRef<int64_t> bounds,
                         int64_t width, SmallVector<unsigned> &order,
                         SmallVector<int64_t> &tiles) {
  unsigned rank = bounds.size();
  unsigned numVector = 0;
  while (numVector < rank && tiles[rank - 1 - numVector] > 1)
    ++numVector;
  SmallVector<unsigned> vectorLoops(order.end() - numVector, order.end());
  SmallVector<int64_t> vectorTiles(tiles.end() - numVector, tiles.end());
  SmallVector<std::pair<unsigned, int64_t>> best;
  int64_t largest = 0;
  for (OpOperand *input : op.getDpsInputOperands()) {
    // Only an input read once per iteration: broadcast operands (a
    // per-channel scale) are small and stay as they are read.
    AffineMap map = op.getMatchingIndexingMap(input);
    auto type = dyn_cast<ShapedType>(input->get().getType());
    if (!type || !map.isPermutation() || type.getNumElements() <= largest)
      continue;
    auto loops = contiguousLoops(map, bounds, vectorLoops, vectorTiles, width);
    if (loops.empty())
      continue;
    best = std::move(loops);
    largest = type.getNumElements();
  }
  // Outermost first, just outside the vector's loops.
  for (auto [loop, tile] : llvm::reverse(best)) {
    unsigned at = llvm::find(order, loop) - order.begin();
    order.erase(order.begin() + at);
    tiles.erase(tiles.begin() + at);
    order.insert(order.end() - numVector, loop);
    tiles.insert(tiles.end() - numVector, tile);
  }
}

/// True if an input of `op` read once per iteration is contiguous along
/// another loop than `innermost` (a transpose's input).
bool changesLayout(linalg::GenericOp op, unsigned innermost) {
  return llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *input) {
    AffineMap map = op.getMatchingIndexingMap(input);
    return map.isPermutation() && map.getNumResults() > 0 &&
           cast<AffineDimExpr>(map.getResults().back()).getPosition() !=
               innermost;
  });
}

/// The loop order and tile sizes that vectorize `op` along the loop most
/// of its operands are contiguous in (moved innermost if it is not: a
/// weight gradient X^T dY iterates (m, n, k) but dY, W and the result are
/// contiguous along n; ties keep the loop order), or nothing.
std::optional<std::pair<SmallVector<unsigned>, SmallVector<int64_t>>>
planGeneric(linalg::GenericOp op, int64_t width) {
  if (!op.hasPureTensorSemantics() || op.getNumLoops() == 0 ||
      op->hasAttr(ampc::cpu::kAmxTileAttr))
    return std::nullopt;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // Bodies linalg::vectorize cannot take (a reduction whose accumulator is
  // read twice, say) stay loop nests.
  if (llvm::any_of(bounds, ShapedType::isDynamic) ||
      !llvm::all_of(maps,
                    [](AffineMap m) { return m.isProjectedPermutation(); }) ||
      failed(linalg::vectorizeOpPrecondition(op)))
    return std::nullopt;
  SmallVector<unsigned> order =
      llvm::to_vector(llvm::seq<unsigned>(0, bounds.size()));
  auto contiguousAlong = [&](unsigned loop) {
    return llvm::count_if(maps, [&](AffineMap map) {
      return map.getNumResults() > 0 &&
             cast<AffineDimExpr>(map.getResults().back()).getPosition() == loop;
    });
  };
  if (maps.back().getNumResults() > 0) {
    unsigned d =
        cast<AffineDimExpr>(maps.back().getResults().back()).getPosition();
    unsigned last = bounds.size() - 1;
    if (d != last &&
        op.getIteratorTypesArray()[d] == utils::IteratorType::parallel &&
        contiguousAlong(d) > contiguousAlong(last)) {
      order.erase(order.begin() + d);
      order.push_back(d);
    }
  }
  // Loops of one iteration go outermost (the order of the others is
  // kept): behind a 1-channel image's trailing unit dimension, the width is
  // the loop to vectorize.
  // (Two passes, not std::stable_partition: libstdc++'s uses the
  // deprecated std::get_temporary_buffer.)
  SmallVector<unsigned> unitFirst;
  for (bool unit : {true, false})
    llvm::append_range(unitFirst,
                       llvm::make_filter_range(order, [&](unsigned d) {
                         return (bounds[d] == 1) == unit;
                       }));
  order = std::move(unitFirst);
  int64_t inner = pickTile(bounds[order.back()], width);
  if (inner <= 1)
    return std::nullopt;
  // Tile sizes are in the interchanged loop order.
  SmallVector<int64_t> tiles(bounds.size(), 1);
  tiles.back() = inner;
  // A whole, short innermost loop takes the next loop into the vector too,
  // when all loops are parallel: one 2-D vector, not vectors of two (the
  // pairs of a bf16 operand packed for dot products or AMX) or of eight
  // (an 8-channel activation's elementwise ops and casts: 2 x 8 lanes on
  // a 16-lane vector). A loop of up to half a vector does so only where no
  // input changes layout (is contiguous along another loop), whose own
  // tiling below then decides.
  // Then a layout change's input is read as whole vectors too.
  if (op.getNumReductionLoops() == 0) {
    unsigned rank = bounds.size();
    int64_t shortLoop = changesLayout(op, order.back()) ? width / 4 : width / 2;
    if (rank >= 2 && inner == bounds[order.back()] && inner <= shortLoop)
      tiles[rank - 2] = pickTile(bounds[order[rank - 2]], width / inner);
    tileTransposedInput(op, bounds, width, order, tiles);
  }
  return std::make_pair(order, tiles);
}

/// The identity of a combiner whose partial results may be combined in any
/// grouping (an f32 sum, or a maximum or minimum, which are exact; an i32
/// maximum or minimum, such as fp8 scaling's maxima of bit patterns; an i1
/// `or`, such as an overflow check's "any element not finite"), or nothing.
TypedAttr combinerIdentity(Operation *combiner) {
  Builder b(combiner->getContext());
  Type type = combiner->getResult(0).getType();
  if (type.isInteger(32)) {
    auto bits = [&](uint32_t value) {
      return b.getI32IntegerAttr(int32_t(value));
    };
    if (isa<arith::MaxSIOp>(combiner))
      return bits(0x80000000u);
    if (isa<arith::MaxUIOp>(combiner))
      return bits(0);
    if (isa<arith::MinSIOp>(combiner))
      return bits(0x7fffffffu);
    if (isa<arith::MinUIOp>(combiner))
      return bits(0xffffffffu);
  }
  if (type.isF32()) {
    // -0.0 for sums: +0.0 would turn a sum of -0.0 into +0.0.
    if (isa<arith::AddFOp>(combiner))
      return b.getF32FloatAttr(-0.0f);
    if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combiner))
      return b.getF32FloatAttr(-std::numeric_limits<float>::infinity());
    if (isa<arith::MinimumFOp, arith::MinNumFOp>(combiner))
      return b.getF32FloatAttr(std::numeric_limits<float>::infinity());
  }
  // Only `or` of i1: its identity is all-zero bytes, which reads as false
  // whether a byte holds one i1 (a fill) or a vector's packed bits.
  if (type.isInteger(1) && isa<arith::OrIOp>(combiner))
    return b.getBoolAttr(false);
  return {};
}

/// The combiner of `op`'s one result if its body is `yield combine(f(inputs),
/// out)` with `out` used by that combiner only, which combinerIdentity
/// knows; nullptr otherwise.
Operation *accumulatingCombiner(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1)
    return nullptr;
  Value out = op.getRegionOutputArgs()[0];
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  Operation *combiner = yield.getOperand(0).getDefiningOp();
  if (!combiner || combiner->getNumOperands() != 2 || !out.hasOneUse() ||
      !combinerIdentity(combiner) ||
      (combiner->getOperand(0) != out && combiner->getOperand(1) != out))
    return nullptr;
  return combiner;
}

/// The combiner of `op` if it reduces into a 0-d f32, i32 or i1 result
/// (every loop a reduction) by accumulatingCombiner.
Operation *fullReductionCombiner(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumLoops() < 1 ||
      op.getNumReductionLoops() != op.getNumLoops() ||
      op.getDpsInitOperand(0)->get().getType() !=
          RankedTensorType::get({}, op.getRegionOutputArgs()[0].getType()))
    return nullptr;
  return accumulatingCombiner(op);
}

/// The combiner of `op` if it reduces its leading loops into its trailing
/// parallel loops (a bias gradient: 32 x 26 x 26 positions into 8
/// channels) by accumulatingCombiner, with the result indexed by the
/// trailing loops in order and every input read in memory order (identity
/// maps) or, like the result, per lane (a bias that a ReLU's gradient
/// recomputes).
Operation *trailingReductionCombiner(linalg::GenericOp op) {
  unsigned numLoops = op.getNumLoops();
  unsigned numReduced = op.getNumReductionLoops();
  if (op.getNumDpsInits() != 1 || numReduced == 0 || numReduced == numLoops ||
      op.hasIndexSemantics())
    return nullptr;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < numLoops; ++d)
    if ((d < numReduced) != (iterators[d] == utils::IteratorType::reduction))
      return nullptr;
  AffineMap inOrder =
      AffineMap::getMultiDimIdentityMap(numLoops, op.getContext());
  AffineMap perLane = inOrder.getSliceMap(numReduced, numLoops - numReduced);
  for (OpOperand *input : op.getDpsInputOperands())
    if (op.getMatchingIndexingMap(input) != inOrder &&
        op.getMatchingIndexingMap(input) != perLane)
      return nullptr;
  if (op.getMatchingIndexingMap(op.getDpsInitOperand(0)) != perLane)
    return nullptr;
  return accumulatingCombiner(op);
}

/// Marks the fill a window's accumulator starts from (buildWindowNest).
constexpr llvm::StringLiteral kWindowStartAttr = "ampc.window_start";

/// How many trailing loops of a full reduction hold its partial results:
/// the fewest whose iterations fill a vector of `width` lanes (8 channels
/// read through a transposed map take their last two loops, width x
/// channels; a tensor read in memory order is folded into rows first, see
/// foldIntoRows), at least one loop left to reduce; 0 if there are none.
unsigned partialLoops(linalg::GenericOp op, int64_t width) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  int64_t lanes = 1;
  for (unsigned k = 1; k < bounds.size(); ++k) {
    lanes *= bounds[bounds.size() - k];
    if (lanes >= width)
      return k;
  }
  return 0;
}

/// Lanes of the partial results of a full reduction over one loop: four
/// 16-lane vectors, independent chains of the combiner. A constant, so that
/// the grouping of a sum depends on its shape only, not on the target.
constexpr int64_t kRowLanes = 64;

/// A full reduction over n iterations (a multiple of kRowLanes, at least
/// two rows) of inputs that are all read in loop order (identity maps, so
/// its loops are one contiguous run of n elements) as one over n /
/// kRowLanes rows of kRowLanes (its inputs reshaped, the same body), whose
/// partial results splitFullReduction then keeps along the rows: a maximum
/// over an fp8 scaling's 1024-step amax history was one chain of
/// horizontal vector maxima, and the amax of an 8-channel activation (32 x
/// 26 x 26 x 8) kept 26 x 8 partials in memory, updated 8 lanes at a time.
/// Returns the new op, or `op` where it does not apply.
linalg::GenericOp foldIntoRows(RewriterBase &rewriter, linalg::GenericOp op) {
  MLIRContext *ctx = rewriter.getContext();
  unsigned numLoops = op.getNumLoops();
  if (numLoops == 0 || op.hasIndexSemantics())
    return op;
  int64_t n = 1;
  for (int64_t bound : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(bound))
      return op;
    n *= bound;
  }
  if (n % kRowLanes || n < 2 * kRowLanes)
    return op;
  AffineMap inOrder = AffineMap::getMultiDimIdentityMap(numLoops, ctx);
  for (OpOperand *input : op.getDpsInputOperands())
    if (op.getMatchingIndexingMap(input) != inOrder)
      return op;
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Value> inputs;
  for (Value input : op.getDpsInputs())
    inputs.push_back(
        reshapeInOrder(rewriter, loc, input, {n / kRowLanes, kRowLanes}));
  SmallVector<AffineMap> maps(inputs.size(),
                              AffineMap::getMultiDimIdentityMap(2, ctx));
  maps.append(op.getNumDpsInits(), AffineMap::get(2, 0, ctx));
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::reduction);
  auto rows =
      linalg::GenericOp::create(rewriter, loc, op.getResultTypes(), inputs,
                                op.getDpsInits(), maps, iterators);
  rewriter.inlineRegionBefore(op.getRegion(), rows.getRegion(),
                              rows.getRegion().begin());
  rows->setAttrs(op->getDiscardableAttrDictionary());
  rewriter.replaceOp(op, rows.getResults());
  return rows;
}

/// A full reduction whose inputs are all read through the same permutation
/// other than the identity, with its loops interchanged to that permutation:
/// it then reads them in memory order (and foldIntoRows applies). A weight
/// gradient computed in another layout than its parameter's ([O, kh, kw, I]
/// for an [O, I, kh, kw] convolution weight) was read by the gradient norm
/// and the overflow check with a stride of I elements, a few lanes at a
/// time. The grouping of a sum still depends on the shapes only. Returns
/// the new op, or `op` where it does not apply.
linalg::GenericOp readInMemoryOrder(RewriterBase &rewriter,
                                    linalg::GenericOp op) {
  if (op.getNumDpsInputs() == 0 || op.hasIndexSemantics())
    return op;
  AffineMap map = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  if (!map.isPermutation() || map.isIdentity())
    return op;
  for (OpOperand *input : op.getDpsInputOperands())
    if (op.getMatchingIndexingMap(input) != map)
      return op;
  SmallVector<unsigned> order;
  for (AffineExpr result : map.getResults())
    order.push_back(cast<AffineDimExpr>(result).getPosition());
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::GenericOp> interchanged =
      linalg::interchangeGenericOp(rewriter, op, order);
  return succeeded(interchanged) ? *interchanged : op;
}

/// A tensor of `shape` holding the combiner's `identity`, where partial
/// results start. As a vector of the identity written whole: filled element
/// by element (a scalar loop where the identity is not a byte pattern, as
/// i32's minimum), the partials were stored one lane at a time and then read
/// back as vectors, which no store forwards. Not i1 partials: a vector of
/// i1 is stored as bits, a memref of i1 holds bytes.
Value partialStart(RewriterBase &rewriter, Location loc, TypedAttr identity,
                   ArrayRef<int64_t> shape) {
  Type element = identity.getType();
  Value value = arith::ConstantOp::create(rewriter, loc, identity);
  Value empty = tensor::EmptyOp::create(rewriter, loc, shape, element);
  auto fill = linalg::FillOp::create(rewriter, loc, value, empty);
  FailureOr<linalg::VectorizationResult> filled = failure();
  if (element.getIntOrFloatBitWidth() >= 8)
    filled = linalg::vectorize(rewriter, fill);
  if (failed(filled))
    return fill.getResult(0);
  rewriter.eraseOp(fill);
  return filled->replacements.front();
}

/// The op combining `partials` (the result of `partial`, reshaped) onto
/// `init` with `combiner`'s operation, over `iterators` with the input and
/// output `maps`; it carries `partial`'s attributes.
linalg::GenericOp combinePartials(RewriterBase &rewriter,
                                  linalg::GenericOp partial,
                                  Operation *combiner, Value partials,
                                  Value init, ArrayRef<AffineMap> maps,
                                  ArrayRef<utils::IteratorType> iterators) {
  OperationName combine = combiner->getName();
  Type element = getElementTypeOrSelf(init.getType());
  auto total = linalg::GenericOp::create(
      rewriter, partial.getLoc(), init.getType(), partials, init, maps,
      iterators, [&](OpBuilder &b, Location loc, ValueRange args) {
        OperationState state(loc, combine);
        state.addOperands({args[0], args[1]});
        state.addTypes(element);
        Value result = b.create(state)->getResult(0);
        linalg::YieldOp::create(b, loc, result);
      });
  total->setAttrs(partial->getDiscardableAttrDictionary());
  return total;
}

/// The loops of a trailing reduction (trailingReductionCombiner): the
/// reduced positions, then the lanes that the result keeps.
struct TrailingShape {
  SmallVector<int64_t> bounds;
  unsigned numReduced;
  AffineMap inOrder, perLane;
};

TrailingShape trailingShape(linalg::GenericOp op) {
  unsigned numLoops = op.getNumLoops();
  unsigned numReduced = op.getNumReductionLoops();
  AffineMap inOrder =
      AffineMap::getMultiDimIdentityMap(numLoops, op.getContext());
  return {op.getStaticLoopRanges(), numReduced, inOrder,
          inOrder.getSliceMap(numReduced, numLoops - numReduced)};
}

/// The first op of `block` that is or contains `op`, or nullptr.
Operation *ancestorIn(Block *block, Operation *op) {
  return block->findAncestorOpInBlock(*op);
}

/// The most ops one rows' nest computes (splitTrailingReduction).
constexpr size_t kMaxRowsGroup = 8;

/// What one loop nest over rows of kRowLanes computes with a trailing
/// reduction (splitTrailingReduction): all-parallel ops over the same loops
/// (`siblings`, in block order) and full reductions over them (`sums`, with
/// their combiners), found by findRowsGroup. The nest goes before `at`,
/// after moving the side-effect-free ops `hoisted` (which define values
/// the members read) there.
struct RowsGroup {
  linalg::GenericOp reduction;
  SmallVector<linalg::GenericOp> siblings;
  SmallVector<std::pair<linalg::GenericOp, Operation *>> sums;
  Operation *at = nullptr;
  SmallVector<Operation *> hoisted;

  /// The members in block order.
  SmallVector<Operation *> members() const {
    SmallVector<Operation *> ops = {reduction};
    for (linalg::GenericOp sibling : siblings)
      ops.push_back(sibling);
    for (auto &[sum, combiner] : sums)
      ops.push_back(sum);
    llvm::sort(
        ops, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    return ops;
  }
  bool contains(Operation *op) const {
    return llvm::is_contained(members(), op);
  }
  /// True if something outside the group reads `sibling`'s result: the
  /// nest writes it.
  bool written(linalg::GenericOp sibling) const {
    return llvm::any_of(sibling->getUsers(),
                        [&](Operation *user) { return !contains(user); });
  }
};

/// The values `ops` read that the nest must have: their inputs and the
/// values their bodies capture, but not their inits (a reduction's init is
/// combined with its partials where the reduction was).
SetVector<Value> valuesRead(ArrayRef<Operation *> ops) {
  SetVector<Value> read;
  for (Operation *op : ops) {
    auto generic = cast<linalg::GenericOp>(op);
    read.insert_range(generic.getDpsInputs());
    getUsedValuesDefinedAbove(generic.getRegion(), read);
  }
  return read;
}

/// Adds to `hoisted` the side-effect-free ops (in `op`'s block; fills but
/// no other op with regions) that compute `value` from values defined
/// before `op`, unless `value` is defined before `op` already; false if
/// some other op computes it. At most `depth` ops deep (a fill of an empty
/// tensor). moveBeforeInOrder moves them.
bool hoistableTo(Value value, Operation *op, DominanceInfo &dominance,
                 SetVector<Operation *> &hoisted, int depth = 3) {
  if (dominance.properlyDominates(value, op))
    return true;
  Operation *def = value.getDefiningOp();
  // Of ops with regions only fills: a reduction (`op` itself, or one that
  // is about to be merged) stays where it is.
  if (!def || depth == 0 || def->getBlock() != op->getBlock() || !isPure(def) ||
      (def->getNumRegions() != 0 && !isa<linalg::FillOp>(def)))
    return false;
  SetVector<Value> read(def->getOperands().begin(), def->getOperands().end());
  getUsedValuesDefinedAbove(def->getRegions(), read);
  for (Value operand : read)
    if (!hoistableTo(operand, op, dominance, hoisted, depth - 1))
      return false;
  hoisted.insert(def);
  return true;
}

/// Moves `ops` (hoistableTo's) before `at`, keeping their order.
void moveBeforeInOrder(RewriterBase &rewriter, ArrayRef<Operation *> ops,
                       Operation *at) {
  SmallVector<Operation *> order(ops);
  llvm::sort(order,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  for (Operation *moved : order)
    rewriter.moveOpBefore(moved, at);
}

/// Places `group`'s nest (sets `at` and `hoisted`): before its first member
/// where every value the members read (other than members' results) is
/// defined before it or by a side-effect-free op of operands defined before
/// it (an fp8 step's scale, read from its tensor after the ReLU gradient);
/// else before its last member where nothing outside the group reads an
/// earlier member's result before that. False if neither.
bool placeGroup(RowsGroup &group) {
  SmallVector<Operation *> members = group.members();
  Operation *first = members.front(), *last = members.back();
  DominanceInfo dominance;
  SetVector<Operation *> hoisted;
  bool early = true;
  for (Value value : valuesRead(members)) {
    Operation *def = value.getDefiningOp();
    if ((def && llvm::is_contained(members, def)) ||
        hoistableTo(value, first, dominance, hoisted, /*depth=*/1))
      continue;
    early = false;
    break;
  }
  if (early) {
    group.at = first;
    group.hoisted = hoisted.takeVector();
    return true;
  }
  Block *block = last->getBlock();
  for (Operation *member : members)
    for (Operation *user : member->getUsers()) {
      Operation *at = ancestorIn(block, user);
      if (!llvm::is_contained(members, user) &&
          (!at || !last->isBeforeInBlock(at)))
        return false;
    }
  group.at = last;
  group.hoisted.clear();
  return true;
}

/// The ops that a trailing reduction `reduction` can compute in its rows'
/// nest, found from the tensors the group reads in loop order (the
/// reduction's, then each member's):
/// - all-parallel generics over the same loops, one result in loop order
///   that their body does not read, their inputs read in loop order, per
///   lane or as scalars, that read such a tensor or produce one (an f16
///   cast of a ReLU's gradient next to the bias gradient that computes that
///   gradient again; the ReLU's gradient itself; an fp8 step's E5M2
///   quantization of it);
/// - full reductions over the same loops of such tensors or results (the
///   fp8 amax of the ReLU gradient).
/// Each is taken only where the group still has a place (placeGroup). Their
/// inputs were read once per op, from memory: 7 % of the zoo CNN's fp16
/// step, and three passes over the gradient's two inputs in its fp8 step.
/// Nothing for ops of `maxIterations` iterations or more (split across
/// threads, which a reduction is not).
std::optional<RowsGroup> findRowsGroup(linalg::GenericOp reduction,
                                       int64_t maxIterations) {
  TrailingShape shape = trailingShape(reduction);
  if (llvm::product_of(shape.bounds) >= maxIterations)
    return std::nullopt;
  RowsGroup group;
  group.reduction = reduction;
  auto sameLoops = [&](linalg::GenericOp op) {
    return op != reduction && op->getBlock() == reduction->getBlock() &&
           op.hasPureTensorSemantics() && !op.hasIndexSemantics() &&
           op.getNumDpsInits() == 1 && op.getStaticLoopRanges() == shape.bounds;
  };
  auto readsAs = [&](linalg::GenericOp op, bool perLane) {
    return llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *input) {
      AffineMap map = op.getMatchingIndexingMap(input);
      return map == shape.inOrder || map.getNumResults() == 0 ||
             (perLane && map == shape.perLane);
    });
  };
  auto readsReduction = [&](linalg::GenericOp op) {
    return llvm::any_of(op.getDpsInputs(), [&](Value input) {
      Operation *def = input.getDefiningOp();
      return def && (def == reduction ||
                     llvm::any_of(group.sums,
                                  [&](auto &sum) { return sum.first == def; }));
    });
  };
  auto isSibling = [&](linalg::GenericOp op) {
    return sameLoops(op) && op.getNumParallelLoops() == op.getNumLoops() &&
           !op.payloadUsesValueFromOperand(op.getDpsInitOperand(0)) &&
           op.getMatchingIndexingMap(op.getDpsInitOperand(0)) ==
               shape.inOrder &&
           readsAs(op, /*perLane=*/true) && !readsReduction(op);
  };
  auto sumCombiner = [&](linalg::GenericOp op) -> Operation * {
    if (!sameLoops(op) || !readsAs(op, /*perLane=*/false) || readsReduction(op))
      return nullptr;
    return fullReductionCombiner(op);
  };
  SetVector<Value> tensors;
  auto addTensors = [&](linalg::GenericOp op) {
    for (OpOperand *input : op.getDpsInputOperands())
      if (op.getMatchingIndexingMap(input) == shape.inOrder)
        tensors.insert(input->get());
  };
  addTensors(reduction);
  for (size_t i = 0; i < tensors.size(); ++i) {
    SmallVector<Operation *> candidates(tensors[i].getUsers());
    if (Operation *producer = tensors[i].getDefiningOp())
      candidates.insert(candidates.begin(), producer);
    for (Operation *candidate : candidates) {
      auto op = dyn_cast<linalg::GenericOp>(candidate);
      if (!op || group.contains(op) || group.members().size() >= kMaxRowsGroup)
        continue;
      RowsGroup trial = group;
      bool sibling = isSibling(op);
      if (sibling)
        trial.siblings.push_back(op);
      else if (Operation *combiner = sumCombiner(op))
        trial.sums.push_back({op, combiner});
      else
        continue;
      if (!placeGroup(trial))
        continue;
      group = std::move(trial);
      addTensors(op);
      if (sibling)
        tensors.insert(op.getResult(0));
    }
  }
  if (group.siblings.empty() && group.sums.empty())
    return std::nullopt;
  llvm::sort(group.siblings, [](linalg::GenericOp a, linalg::GenericOp b) {
    return a->isBeforeInBlock(b);
  });
  return group;
}

/// How a trailing reduction's positions x lanes are read as rows of
/// kRowLanes: each row holds `groups` consecutive positions of all `lanes`.
struct RowsLayout {
  int64_t rows, lanes, groups;
};

/// The rows of `op` (a trailingReductionCombiner op): its lanes must divide
/// kRowLanes and the rows number at least two.
std::optional<RowsLayout> rowsLayout(linalg::GenericOp op) {
  TrailingShape shape = trailingShape(op);
  if (llvm::any_of(shape.bounds, ShapedType::isDynamic))
    return std::nullopt;
  int64_t lanes = 1, positions = 1;
  for (unsigned d = 0; d < shape.bounds.size(); ++d)
    (d < shape.numReduced ? positions : lanes) *= shape.bounds[d];
  if (lanes >= kRowLanes || kRowLanes % lanes)
    return std::nullopt;
  int64_t groups = kRowLanes / lanes;
  if (positions % groups || positions / groups < 2)
    return std::nullopt;
  return RowsLayout{positions / groups, lanes, groups};
}

/// The inputs of the rows' op: each tensor a trailing reduction (or its
/// sibling) reads, once, as rows of kRowLanes (read in loop order), as one
/// row repeated for each group (read per lane), or as it is (a scalar),
/// with its map over (row, lane).
class RowInputs {
public:
  RowInputs(RewriterBase &rewriter, Location loc, const RowsLayout &layout,
            const TrailingShape &shape)
      : all(AffineMap::getMultiDimIdentityMap(2, rewriter.getContext())),
        columns(all.getSliceMap(1, 1)), rewriter(rewriter), loc(loc),
        layout(layout), shape(shape) {}

  /// The input each of `of`'s inputs is, in order; -1 - i for `members[i]`
  /// (a sibling's result, which the nest reads as the sibling's value).
  SmallVector<int> add(linalg::GenericOp of, ArrayRef<Value> members) {
    SmallVector<int> index;
    for (OpOperand *input : of.getDpsInputOperands()) {
      AffineMap map = of.getMatchingIndexingMap(input);
      Read read = map == shape.inOrder       ? InOrder
                  : map.getNumResults() == 0 ? Scalar
                                             : PerLane;
      const Value *member = llvm::find(members, input->get());
      index.push_back(member != members.end()
                          ? -1 - int(member - members.begin())
                          : int(add(input->get(), read)));
    }
    return index;
  }

  SmallVector<Value> values;
  SmallVector<AffineMap> maps;
  AffineMap all, columns;

private:
  enum Read { PerLane, InOrder, Scalar };

  unsigned add(Value value, Read read) {
    auto [it, added] = seen.try_emplace({value, int(read)}, values.size());
    if (!added)
      return it->second;
    if (read == Scalar) {
      values.push_back(value);
      maps.push_back(AffineMap::get(2, 0, rewriter.getContext()));
    } else if (read == InOrder) {
      values.push_back(
          reshapeInOrder(rewriter, loc, value, {layout.rows, kRowLanes}));
      maps.push_back(all);
    } else {
      Type element = cast<RankedTensorType>(value.getType()).getElementType();
      Value empty = tensor::EmptyOp::create(
          rewriter, loc, {layout.groups, layout.lanes}, element);
      Value repeated = linalg::BroadcastOp::create(
                           rewriter, loc,
                           reshapeInOrder(rewriter, loc, value, {layout.lanes}),
                           empty, ArrayRef<int64_t>{0})
                           .getResult()[0];
      values.push_back(reshapeInOrder(rewriter, loc, repeated, {kRowLanes}));
      maps.push_back(columns);
    }
    return it->second;
  }

  RewriterBase &rewriter;
  Location loc;
  const RowsLayout &layout;
  const TrailingShape &shape;
  DenseMap<std::pair<Value, int>, unsigned> seen;
};

/// The body of the rows' op: each sibling's body on its inputs (block
/// order), then each reduction's (the trailing one's first), its
/// accumulator the next output; a sibling's result that a member reads is
/// the sibling's value there (`reads` holds -1 - i for sibling i). Yields
/// the reductions' values, then the values of the siblings in `written`.
void buildRowsBody(OpBuilder &b, Location loc, ValueRange args,
                   const RowsGroup &group, ArrayRef<SmallVector<int>> reads,
                   ArrayRef<bool> written, unsigned numInputs) {
  IRMapping mapping;
  SmallVector<Value> siblingValues;
  auto cloneBody = [&](linalg::GenericOp from, ArrayRef<int> index) {
    for (auto [arg, row] : llvm::zip(from.getRegionInputArgs(), index))
      mapping.map(arg, row < 0 ? siblingValues[-1 - row] : args[row]);
    for (Operation &inner : from.getBody()->without_terminator())
      b.clone(inner, mapping);
    return mapping.lookupOrDefault(
        from.getBody()->getTerminator()->getOperand(0));
  };
  size_t next = 0;
  for (linalg::GenericOp sibling : group.siblings)
    siblingValues.push_back(cloneBody(sibling, reads[next++]));
  SmallVector<Value> yielded;
  unsigned out = numInputs;
  auto reduce = [&](linalg::GenericOp op) {
    mapping.map(op.getRegionOutputArgs()[0], args[out++]);
    yielded.push_back(cloneBody(op, reads[next++]));
  };
  reduce(group.reduction);
  for (auto &[sum, combiner] : group.sums)
    reduce(sum);
  for (auto [value, write] : llvm::zip(siblingValues, written))
    if (write)
      yielded.push_back(value);
  linalg::YieldOp::create(b, loc, yielded);
}

/// Replaces `op` (a reduction whose partials are `partials`, combined by
/// `combiner`) by the combination of `partials` onto its init, reshaped to
/// `groupShape` (with `maps` and `iterators` over it) and back; where `op`
/// was, or after `after` where that comes later.
void combineAt(RewriterBase &rewriter, linalg::GenericOp partial,
               linalg::GenericOp op, Operation *combiner, Value partials,
               ArrayRef<int64_t> groupShape, ArrayRef<int64_t> initShape,
               ArrayRef<AffineMap> maps,
               ArrayRef<utils::IteratorType> iterators) {
  if (partial->isBeforeInBlock(op))
    rewriter.setInsertionPoint(op);
  else
    rewriter.setInsertionPointAfter(partial);
  Location loc = op.getLoc();
  Value init = op.getDpsInitOperand(0)->get();
  Value grouped = reshapeInOrder(rewriter, loc, partials, groupShape);
  linalg::GenericOp total = combinePartials(
      rewriter, partial, combiner, grouped,
      reshapeInOrder(rewriter, loc, init, initShape), maps, iterators);
  rewriter.replaceOp(
      op, reshapeInOrder(rewriter, loc, total.getResult(0),
                         cast<RankedTensorType>(init.getType()).getShape()));
}

/// Replaces `group`'s members by what `partial` (its rows' nest, with
/// `written` siblings' rows after the reductions' partials) computes.
void replaceGroup(RewriterBase &rewriter, linalg::GenericOp partial,
                  const RowsGroup &group, Operation *combiner,
                  const RowsLayout &layout, const RowInputs &inputs,
                  ArrayRef<bool> written) {
  MLIRContext *ctx = rewriter.getContext();
  SmallVector<utils::IteratorType> iterators = {utils::IteratorType::reduction,
                                                utils::IteratorType::parallel};
  unsigned result = 0;
  combineAt(rewriter, partial, group.reduction, combiner,
            partial.getResult(result++), {layout.groups, layout.lanes},
            {layout.lanes}, {inputs.all, inputs.columns}, iterators);
  AffineMap lanes = AffineMap::getMultiDimIdentityMap(1, ctx);
  for (auto &[sum, sumCombiner] : group.sums)
    combineAt(rewriter, partial, sum, sumCombiner, partial.getResult(result++),
              {kRowLanes}, {}, {lanes, AffineMap::get(1, 0, ctx)},
              {utils::IteratorType::reduction});
  // Siblings last, the later first: an earlier one may be read by a later.
  rewriter.setInsertionPointAfter(partial);
  SmallVector<Value> rows;
  for (bool write : written)
    rows.push_back(write ? partial.getResult(result++) : Value());
  for (size_t i = group.siblings.size(); i-- > 0;) {
    linalg::GenericOp sibling = group.siblings[i];
    Value row = rows[i];
    if (!row) {
      rewriter.eraseOp(sibling);
      continue;
    }
    auto type = cast<RankedTensorType>(sibling.getResult(0).getType());
    rewriter.replaceOp(sibling, reshapeInOrder(rewriter, sibling.getLoc(), row,
                                               type.getShape()));
  }
}

/// Rewrites a reduction into its trailing loops (trailingReductionCombiner)
/// of c < kRowLanes lanes, c dividing kRowLanes, as kRowLanes / c partial
/// results per lane: its inputs as rows of kRowLanes (g = kRowLanes / c
/// consecutive positions of all c lanes), reduced into one row of partials
/// (four independent vectors of 16), then the g partials of each lane
/// combined into the result. An 8-channel bias gradient was one chain of
/// 8-lane additions over all 21632 positions, each waiting for the last.
/// The grouping depends on the shapes only. The same nest computes the
/// rest of `group` (findRowsGroup): each full reduction as another row of
/// partials, combined as splitFullReduction would (the same grouping), and
/// each sibling's result as rows, written where something outside the
/// group reads it. Returns false where it does not apply (the rows must
/// number at least two).
bool splitTrailingReduction(RewriterBase &rewriter, Operation *combiner,
                            const RowsGroup &group) {
  linalg::GenericOp op = group.reduction;
  std::optional<RowsLayout> layout = rowsLayout(op);
  if (!layout)
    return false;
  TrailingShape shape = trailingShape(op);
  Location loc = op.getLoc();
  Operation *at = group.at ? group.at : op.getOperation();
  moveBeforeInOrder(rewriter, group.hoisted, at);
  rewriter.setInsertionPoint(at);
  RowInputs inputs(rewriter, loc, *layout, shape);
  SmallVector<Value> siblingResults;
  for (linalg::GenericOp sibling : group.siblings)
    siblingResults.push_back(sibling.getResult(0));
  SmallVector<SmallVector<int>> reads;
  for (linalg::GenericOp sibling : group.siblings)
    reads.push_back(inputs.add(sibling, siblingResults));
  reads.push_back(inputs.add(op, siblingResults));
  for (auto &[sum, sumCombiner] : group.sums)
    reads.push_back(inputs.add(sum, siblingResults));
  SmallVector<Value> inits = {
      partialStart(rewriter, loc, combinerIdentity(combiner), {kRowLanes})};
  SmallVector<AffineMap> maps = inputs.maps;
  maps.push_back(inputs.columns);
  for (auto &[sum, sumCombiner] : group.sums) {
    inits.push_back(partialStart(rewriter, loc, combinerIdentity(sumCombiner),
                                 {kRowLanes}));
    maps.push_back(inputs.columns);
  }
  SmallVector<bool> written;
  for (linalg::GenericOp sibling : group.siblings) {
    written.push_back(group.written(sibling));
    if (!written.back())
      continue;
    // The sibling writes every element and reads none of its init.
    inits.push_back(tensor::EmptyOp::create(
        rewriter, loc, {layout->rows, kRowLanes},
        getElementTypeOrSelf(sibling.getResult(0).getType())));
    maps.push_back(inputs.all);
  }
  SmallVector<utils::IteratorType> iterators = {utils::IteratorType::reduction,
                                                utils::IteratorType::parallel};
  auto partial = linalg::GenericOp::create(
      rewriter, loc, ValueRange(inits).getTypes(), inputs.values, inits, maps,
      iterators, [&](OpBuilder &b, Location bodyLoc, ValueRange args) {
        buildRowsBody(b, bodyLoc, args, group, reads, written,
                      inputs.values.size());
      });
  partial->setAttrs(op->getDiscardableAttrDictionary());
  replaceGroup(rewriter, partial, group, combiner, *layout, inputs, written);
  return true;
}

/// Rewrites a full reduction (fullReductionCombiner; or several merged by
/// mergeFullReductions, one combiner per result) as partial results along
/// its `numPartial` innermost loops (parallel loops: one vector lane each),
/// then a reduction of the partials with the same combiner. The grouping is
/// fixed by the shapes, not by the vector width or the threads: results
/// are reproducible, and a long sum or maximum is not a chain of dependent
/// scalar operations.
void splitFullReduction(RewriterBase &rewriter, linalg::GenericOp op,
                        ArrayRef<Operation *> combiners, unsigned numPartial) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  unsigned numLoops = op.getNumLoops();
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  ArrayRef<int64_t> lanes = ArrayRef<int64_t>(bounds).take_back(numPartial);
  MLIRContext *ctx = rewriter.getContext();
  AffineMap perLane = AffineMap::getMultiDimIdentityMap(numLoops, ctx)
                          .getSliceMap(numLoops - numPartial, numPartial);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<Value> starts;
  SmallVector<Type> types;
  for (auto [i, combiner] : llvm::enumerate(combiners)) {
    TypedAttr identity = combinerIdentity(combiner);
    starts.push_back(partialStart(rewriter, loc, identity, lanes));
    types.push_back(RankedTensorType::get(lanes, identity.getType()));
    maps[op.getNumDpsInputs() + i] = perLane;
  }
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = numLoops - numPartial; d < numLoops; ++d)
    iterators[d] = utils::IteratorType::parallel;
  auto partial = linalg::GenericOp::create(
      rewriter, loc, types, op.getDpsInputs(), starts, maps, iterators);
  rewriter.inlineRegionBefore(op.getRegion(), partial.getRegion(),
                              partial.getRegion().begin());
  partial->setAttrs(op->getDiscardableAttrDictionary());
  AffineMap all = AffineMap::getMultiDimIdentityMap(numPartial, ctx);
  AffineMap none = AffineMap::get(numPartial, 0, ctx);
  SmallVector<utils::IteratorType> reduce(numPartial,
                                          utils::IteratorType::reduction);
  SmallVector<Value> totals;
  for (auto [i, combiner] : llvm::enumerate(combiners))
    totals.push_back(
        combinePartials(rewriter, partial, combiner, partial.getResult(i),
                        op.getDpsInitOperand(i)->get(), {all, none}, reduce)
            .getResult(0));
  rewriter.replaceOp(op, totals);
}

/// The later full reductions of `ops` (not in `done`) that read exactly
/// what `op` reads, through the same maps over the same loops, and whose
/// inits and captured values can be computed before `op` (hoistableTo;
/// those ops are added to `hoisted`): a loss-scaled step's overflow check
/// and gradient norm over each gradient, an fp8 history's signed and
/// unsigned maxima. At most 3.
SmallVector<linalg::GenericOp>
fullReductionPartners(linalg::GenericOp op, ArrayRef<linalg::GenericOp> ops,
                      const DenseSet<Operation *> &done,
                      SetVector<Operation *> &hoisted) {
  SmallVector<linalg::GenericOp> partners;
  DominanceInfo dominance;
  for (linalg::GenericOp other : ops) {
    if (partners.size() == 3)
      break;
    if (other == op || done.contains(other) ||
        other->getBlock() != op->getBlock() || !op->isBeforeInBlock(other) ||
        other.getDpsInputs() != op.getDpsInputs() ||
        other.hasIndexSemantics() ||
        other.getStaticLoopRanges() != op.getStaticLoopRanges() ||
        ArrayRef(other.getIndexingMapsArray()).drop_back() !=
            ArrayRef(op.getIndexingMapsArray()).drop_back())
      continue;
    if (!fullReductionCombiner(other))
      continue;
    SetVector<Value> needed;
    needed.insert(other.getDpsInitOperand(0)->get());
    getUsedValuesDefinedAbove(other.getRegion(), needed);
    SetVector<Operation *> more = hoisted;
    if (!llvm::all_of(needed, [&](Value value) {
          return hoistableTo(value, op, dominance, more);
        }))
      continue;
    hoisted = std::move(more);
    partners.push_back(other);
  }
  return partners;
}

/// One full reduction computing `op` and its `partners` (one result each,
/// their bodies in turn on the same inputs) where `op` was, after moving
/// `hoisted` there: the inputs are read once.
linalg::GenericOp mergeFullReductions(RewriterBase &rewriter,
                                      linalg::GenericOp op,
                                      ArrayRef<linalg::GenericOp> partners,
                                      ArrayRef<Operation *> hoisted) {
  moveBeforeInOrder(rewriter, hoisted, op);
  SmallVector<linalg::GenericOp> all = {op};
  llvm::append_range(all, partners);
  SmallVector<Value> inits;
  SmallVector<AffineMap> maps =
      llvm::to_vector(ArrayRef(op.getIndexingMapsArray()).drop_back());
  for (linalg::GenericOp member : all) {
    inits.push_back(member.getDpsInitOperand(0)->get());
    maps.push_back(member.getIndexingMapsArray().back());
  }
  rewriter.setInsertionPoint(op);
  auto merged = linalg::GenericOp::create(
      rewriter, op.getLoc(), ValueRange(inits).getTypes(), op.getDpsInputs(),
      inits, maps, op.getIteratorTypesArray(),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        SmallVector<Value> yielded;
        unsigned numInputs = op.getNumDpsInputs();
        for (auto [i, member] : llvm::enumerate(all)) {
          IRMapping mapping;
          mapping.map(member.getRegionInputArgs(), args.take_front(numInputs));
          mapping.map(member.getRegionOutputArgs()[0], args[numInputs + i]);
          for (Operation &inner : member.getBody()->without_terminator())
            b.clone(inner, mapping);
          yielded.push_back(mapping.lookupOrDefault(
              member.getBody()->getTerminator()->getOperand(0)));
        }
        linalg::YieldOp::create(b, loc, yielded);
      });
  merged->setAttrs(op->getDiscardableAttrDictionary());
  for (auto [i, member] : llvm::enumerate(all))
    rewriter.replaceOp(member, merged.getResult(i));
  return merged;
}

/// The smallest divisor of `size` that is at least min(size, `want`).
int64_t pickBlocks(int64_t size, int64_t want) {
  for (int64_t blocks = std::min(size, want); blocks < size; ++blocks)
    if (size % blocks == 0)
      return blocks;
  return size;
}

/// Splits the outermost loop of `op` (parallel) into blocks of an
/// scf.forall, each a multiple of `unit` iterations; returns the block's op.
FailureOr<Operation *> tileOuterParallel(RewriterBase &rewriter,
                                         TilingInterface op, int64_t size,
                                         int64_t unit = 1) {
  SmallVector<int64_t> sizes(op.getLoopIteratorTypes().size(), 0);
  sizes[0] = size / pickBlocks(size / unit, 16);
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(rewriter, op, options);
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  return tiled->tiledOps.back();
}

/// Replaces `tile` by its vectorized form.
LogicalResult vectorizeTile(RewriterBase &rewriter, Operation *tile) {
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rewriter, tile);
  if (failed(vectorized))
    return failure();
  rewriter.replaceOp(tile, vectorized->replacements);
  return success();
}

/// `op` with its trailing loops folded into one where every operand reads
/// them as its own trailing dimensions, in order (one contiguous run), all
/// loops are parallel, and the innermost loop alone does not fill whole
/// vectors of `width` lanes but the folded loop does: a cast of a 1352 x 10
/// weight is 845 vectors of 16 lanes, not 1352 vectors of 10 (a load of 8
/// and one of 2, and the same stores). `op` itself otherwise.
linalg::GenericOp foldContiguousLoops(RewriterBase &rewriter,
                                      linalg::GenericOp op, int64_t width) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  unsigned rank = bounds.size();
  if (rank < 2 || op.hasIndexSemantics() || op.getNumParallelLoops() != rank ||
      llvm::any_of(bounds, ShapedType::isDynamic) || bounds.back() % width == 0)
    return op;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // Loops first..rank-1 are every map's trailing results, in order (or none
  // of its results).
  auto trailingEverywhere = [&](unsigned first) {
    return llvm::all_of(maps, [&](AffineMap map) {
      if (!map.isProjectedPermutation())
        return false;
      unsigned count = rank - first, results = map.getNumResults();
      if (llvm::none_of(llvm::seq(first, rank),
                        [&](unsigned d) { return map.isFunctionOfDim(d); }))
        return true;
      if (results < count)
        return false;
      for (unsigned i = 0; i < count; ++i)
        if (map.getDimPosition(results - count + i) != first + i)
          return false;
      return true;
    });
  };
  unsigned first = rank - 1;
  int64_t folded = bounds.back();
  while (first > 0 && folded % width != 0 && trailingEverywhere(first - 1))
    folded *= bounds[--first];
  if (first == rank - 1 || folded % width != 0)
    return op;
  SmallVector<ReassociationIndices> groups;
  for (unsigned d = 0; d < first; ++d)
    groups.push_back({int64_t(d)});
  groups.push_back(llvm::to_vector(llvm::seq<int64_t>(first, rank)));
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(op, groups, rewriter);
  if (failed(collapsed))
    return op;
  rewriter.replaceOp(op, collapsed->results);
  return cast<linalg::GenericOp>(collapsed->collapsedOp.getOperation());
}

/// Interchanges `op` to `order`, splits its outer loop across threads when
/// it is parallel and the op has at least `minParallel` iterations, tiles it
/// by `tiles` and vectorizes the tile.
LogicalResult vectorizeGeneric(RewriterBase &rewriter, linalg::GenericOp op,
                               ArrayRef<unsigned> order,
                               ArrayRef<int64_t> tiles, int64_t minParallel) {
  rewriter.setInsertionPoint(op);
  if (!llvm::equal(order, llvm::seq<unsigned>(0, order.size()))) {
    FailureOr<linalg::GenericOp> interchanged =
        linalg::interchangeGenericOp(rewriter, op, order);
    if (failed(interchanged))
      return failure();
    op = *interchanged;
  }
  Operation *target = op;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  SmallVector<int64_t> sizes(tiles);
  if (llvm::product_of(bounds) >= minParallel && bounds[0] > 1 &&
      op.getIteratorTypesArray()[0] == utils::IteratorType::parallel) {
    // A single loop is also the vector's: its blocks hold whole vectors.
    FailureOr<Operation *> block =
        tileOuterParallel(rewriter, cast<TilingInterface>(target), bounds[0],
                          bounds.size() == 1 ? sizes.front() : 1);
    if (failed(block))
      return failure();
    target = *block;
    // The outer loop's tile divides a thread's block: a tile of 2 over
    // blocks of 1 (a packed operand's 2 column panels, one per thread)
    // would be a partial, dynamic tile, which is not vectorized.
    int64_t blockSize =
        cast<linalg::LinalgOp>(target).getStaticLoopRanges().front();
    if (!ShapedType::isDynamic(blockSize))
      sizes.front() = std::gcd(sizes.front(), blockSize);
  }
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  rewriter.setInsertionPoint(target);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(target), options);
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(target, tiled->replacements);
  return vectorizeTile(rewriter, tiled->tiledOps.back());
}

/// True if `expr` reads `loop` with unit stride: `d` or `d + e` where `e`
/// does not depend on `loop` (an im2col gather's `w + kw`).
bool unitStrideIn(AffineExpr expr, unsigned loop, unsigned numDims) {
  AffineExpr rest = expr - getAffineDimExpr(loop, expr.getContext());
  return !simplifyAffineExpr(rest, numDims, 0).isFunctionOfDim(loop);
}

/// True if `operand` (read through `map`) reads `loop` at most in one
/// result, with unit stride, after which every dimension has one element
/// (a single channel): consecutive iterations of `loop` are consecutive
/// elements.
bool readsAlongInnermost(linalg::GenericOp op, OpOperand &operand,
                         unsigned loop) {
  AffineMap map = op.getMatchingIndexingMap(&operand);
  auto type = dyn_cast<ShapedType>(operand.get().getType());
  ArrayRef<AffineExpr> results = map.getResults();
  std::optional<size_t> at;
  for (auto [i, expr] : llvm::enumerate(results)) {
    if (!expr.isFunctionOfDim(loop))
      continue;
    if (at || !unitStrideIn(expr, loop, map.getNumDims()))
      return false;
    at = i;
  }
  if (!at)
    return true;
  for (size_t i = *at + 1; i < results.size(); ++i)
    if (!type || type.getDimSize(i) != 1)
      return false;
  return true;
}

/// For a generic with window maps (max pooling reads x[n, 2oh + kh, ...],
/// its gradient a padded dY[n, h - kh + 1, ...], an im2col gather the
/// image): the loop to vectorize along and its tile. It is the output's
/// innermost loop of more than one iteration (the channels; over a
/// single channel, the one before: an im2col gather's kw); every operand
/// reads it with unit stride, followed only by single-element dimensions,
/// and nowhere else (or not at all: the window's shape tensor); it is
/// parallel and a tile of at least two lanes divides it. Such ops have maps
/// that are not projected permutations, which upstream tiling and
/// vectorization do not take (a constant offset in a map makes tiling's
/// slices wrong).
std::optional<std::pair<unsigned, int64_t>> planWindowed(linalg::GenericOp op,
                                                         int64_t width) {
  if (!op.hasPureTensorSemantics() || op.getNumLoops() < 2 ||
      op.hasIndexSemantics() ||
      llvm::all_of(op.getIndexingMapsArray(),
                   [](AffineMap m) { return m.isProjectedPermutation(); }))
    return std::nullopt;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  AffineMap outMap = op.getIndexingMapsArray().back();
  if (llvm::any_of(bounds, ShapedType::isDynamic))
    return std::nullopt;
  ArrayRef<AffineExpr> outResults = outMap.getResults();
  while (outResults.size() > 1 && isa<AffineDimExpr>(outResults.back()) &&
         bounds[cast<AffineDimExpr>(outResults.back()).getPosition()] == 1)
    outResults = outResults.drop_back();
  if (outResults.empty() || !isa<AffineDimExpr>(outResults.back()))
    return std::nullopt;
  unsigned loop = cast<AffineDimExpr>(outResults.back()).getPosition();
  if (op.getIteratorTypesArray()[loop] != utils::IteratorType::parallel)
    return std::nullopt;
  for (OpOperand &operand : op->getOpOperands()) {
    // Every output has one element per lane (none reduces the lanes).
    if (op.isDpsInit(&operand) &&
        !op.getMatchingIndexingMap(&operand).isFunctionOfDim(loop))
      return std::nullopt;
    if (!readsAlongInnermost(op, operand, loop))
      return std::nullopt;
  }
  int64_t tile = pickTile(bounds[loop], width);
  if (tile < 2)
    return std::nullopt;
  return std::make_pair(loop, tile);
}

/// Where one iteration of the windowed loop nest reads or writes an operand
/// of type `type` (read through `map`): one element along every dimension
/// but the vector loop's (dropped from `type`), `tile` elements along it.
struct WindowSlice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  RankedTensorType type;
};

WindowSlice windowSlice(OpBuilder &b, Location loc, RankedTensorType type,
                        AffineMap map, ValueRange ivs, unsigned loop,
                        int64_t tile) {
  WindowSlice slice;
  slice.strides.assign(type.getRank(), b.getIndexAttr(1));
  SmallVector<int64_t> shape;
  for (AffineExpr expr : map.getResults()) {
    bool vector = expr.isFunctionOfDim(loop);
    slice.offsets.push_back(affine::makeComposedFoldedAffineApply(
        b, loc, AffineMap::get(map.getNumDims(), 0, expr),
        getAsOpFoldResult(ivs)));
    slice.sizes.push_back(b.getIndexAttr(vector ? tile : 1));
    if (vector)
      shape.push_back(tile);
  }
  slice.type = RankedTensorType::get(shape, type.getElementType());
  return slice;
}

/// `operand`'s windowSlice, extracted (a scalar operand as it is).
Value extractWindow(OpBuilder &b, Location loc, Value operand, AffineMap map,
                    ValueRange ivs, unsigned loop, int64_t tile) {
  auto type = dyn_cast<RankedTensorType>(operand.getType());
  if (!type)
    return operand;
  WindowSlice slice = windowSlice(b, loc, type, map, ivs, loop, tile);
  return tensor::ExtractSliceOp::create(
      b, loc, slice.type, operand, slice.offsets, slice.sizes, slice.strides);
}

/// One iteration's op of the windowed loop nest: `op`'s body on the slices
/// (1-D along the vector loop, or 0-D) of its inputs and on `accumulators`,
/// its outputs' slices.
linalg::GenericOp windowTile(OpBuilder &b, Location loc, linalg::GenericOp op,
                             ValueRange ivs, ValueRange accumulators,
                             unsigned loop, int64_t tile) {
  MLIRContext *ctx = op.getContext();
  auto tileMap = [&](AffineMap map) {
    bool vector = llvm::any_of(map.getResults(), [&](AffineExpr e) {
      return e.isFunctionOfDim(loop);
    });
    return vector ? AffineMap::getMultiDimIdentityMap(1, ctx)
                  : AffineMap::get(1, 0, ctx);
  };
  SmallVector<Value> ins;
  SmallVector<AffineMap> tileMaps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    ins.push_back(extractWindow(b, loc, input->get(), map, ivs, loop, tile));
    tileMaps.push_back(tileMap(map));
  }
  for (OpOperand &init : op.getDpsInitsMutable())
    tileMaps.push_back(tileMap(op.getMatchingIndexingMap(&init)));
  auto tileOp = linalg::GenericOp::create(b, loc, accumulators.getTypes(), ins,
                                          accumulators, tileMaps,
                                          {utils::IteratorType::parallel});
  IRMapping mapping;
  op.getRegion().cloneInto(&tileOp.getRegion(), mapping);
  return tileOp;
}

/// The loops of a windowed loop nest (the vector loop `loop` excluded) in
/// the op's order, as the parallel loops around the window and the
/// reduction loops that follow them all (a pooling gradient's kh, kw),
/// which then carry the outputs' slices; all in `outer` if a parallel loop
/// follows a reduction or an output is indexed by a reduction loop (a
/// scatter into `h + kh`: its windows overlap).
void windowLoops(linalg::GenericOp op, unsigned loop,
                 SmallVector<unsigned> &outer, SmallVector<unsigned> &inner) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < iterators.size(); ++d) {
    if (d == loop)
      continue;
    if (inner.empty() && iterators[d] == utils::IteratorType::parallel)
      outer.push_back(d);
    else
      inner.push_back(d);
  }
  auto indexesOutput = [&](unsigned d) {
    return llvm::any_of(op.getDpsInitsMutable(), [&](OpOperand &init) {
      return op.getMatchingIndexingMap(&init).isFunctionOfDim(d);
    });
  };
  if (llvm::any_of(inner, [&](unsigned d) {
        return iterators[d] == utils::IteratorType::parallel ||
               indexesOutput(d);
      })) {
    outer.append(inner);
    inner.clear();
  }
}

/// Builds the windowed loop nest of `op` (see vectorizeWindowed) over
/// `outer` loops (windowLoops' parallel ones, then the vector loop) around
/// the `inner` ones, and returns its outermost loop, its tiles and its
/// reduction loops (innermost first). The window's accumulator of an
/// output with a `filled` value starts as that fill on the output's slice,
/// marked with kWindowStartAttr.
Operation *buildWindowNest(RewriterBase &rewriter, linalg::GenericOp op,
                           unsigned loop, int64_t tile,
                           ArrayRef<unsigned> outer, ArrayRef<unsigned> inner,
                           ArrayRef<Value> filled,
                           SmallVector<linalg::GenericOp> &tiles,
                           SmallVector<scf::ForOp> &reductionLoops) {
  Location loc = op.getLoc();
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  auto range = [&](OpBuilder &b, ArrayRef<unsigned> loops,
                   SmallVector<Value> &lbs, SmallVector<Value> &ubs,
                   SmallVector<Value> &steps) {
    for (unsigned d : loops) {
      lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
      ubs.push_back(arith::ConstantIndexOp::create(b, loc, bounds[d]));
      steps.push_back(
          arith::ConstantIndexOp::create(b, loc, d == loop ? tile : 1));
    }
  };
  SmallVector<Value> inits = op.getDpsInits();
  SmallVector<Value> lbs, ubs, steps;
  range(rewriter, outer, lbs, ubs, steps);
  scf::LoopNest nest = scf::buildLoopNest(
      rewriter, loc, lbs, ubs, steps, inits,
      [&](OpBuilder &b, Location loc, ValueRange outerIvs, ValueRange outs) {
        Value zero = arith::ConstantIndexOp::create(b, loc, 0);
        SmallVector<Value> ivs(bounds.size(), zero);
        for (auto [d, iv] : llvm::zip(outer, outerIvs))
          ivs[d] = iv;
        SmallVector<WindowSlice> slices;
        SmallVector<Value> accumulators;
        for (auto [i, out] : llvm::enumerate(outs)) {
          slices.push_back(
              windowSlice(b, loc, cast<RankedTensorType>(out.getType()),
                          op.getIndexingMapsArray()[op.getNumDpsInputs() + i],
                          ivs, loop, tile));
          const WindowSlice &slice = slices.back();
          accumulators.push_back(tensor::ExtractSliceOp::create(
              b, loc, slice.type, out, slice.offsets, slice.sizes,
              slice.strides));
          if (filled[i]) {
            auto fill =
                linalg::FillOp::create(b, loc, filled[i], accumulators.back());
            fill->setAttr(kWindowStartAttr, b.getUnitAttr());
            accumulators.back() = fill.getResult(0);
          }
        }
        SmallVector<Value> innerLbs, innerUbs, innerSteps;
        range(b, inner, innerLbs, innerUbs, innerSteps);
        scf::LoopNest window = scf::buildLoopNest(
            b, loc, innerLbs, innerUbs, innerSteps, accumulators,
            [&](OpBuilder &b, Location loc, ValueRange innerIvs,
                ValueRange accumulators) -> scf::ValueVector {
              for (auto [d, iv] : llvm::zip(inner, innerIvs))
                ivs[d] = iv;
              tiles.push_back(
                  windowTile(b, loc, op, ivs, accumulators, loop, tile));
              return scf::ValueVector(tiles.back()->result_begin(),
                                      tiles.back()->result_end());
            });
        reductionLoops.append(window.loops.rbegin(), window.loops.rend());
        SmallVector<Value> results;
        for (auto [i, out] : llvm::enumerate(outs))
          results.push_back(tensor::InsertSliceOp::create(
              b, loc, window.results[i], out, slices[i].offsets,
              slices[i].sizes, slices[i].strides));
        return results;
      });
  rewriter.replaceOp(op, nest.results);
  return nest.loops.front();
}

/// Replaces the vector reads of a window's accumulator `fill` (hoisted out
/// of its reduction loops, and the loops canonicalized) by the filled
/// value; the fill goes away when the accumulator is then only
/// overwritten, so the output is never written twice.
void readFillAsBroadcast(RewriterBase &rewriter, linalg::FillOp fill) {
  Value scalar = fill.getInputs()[0];
  auto type = cast<RankedTensorType>(fill.getResult(0).getType());
  for (Operation *user : llvm::make_early_inc_range(fill->getUsers())) {
    auto read = dyn_cast<vector::TransferReadOp>(user);
    if (!read || read.getMask() ||
        read.getVectorType().getShape() != type.getShape())
      continue;
    rewriter.setInsertionPoint(read);
    rewriter.replaceOpWithNewOp<vector::BroadcastOp>(read, read.getVectorType(),
                                                     scalar);
  }
  bool overwritten = llvm::all_of(fill->getUses(), [&](OpOperand &use) {
    auto write = dyn_cast<vector::TransferWriteOp>(use.getOwner());
    return write && &use == &write.getBaseMutable() && !write.getMask() &&
           write.getVectorType().getShape() == type.getShape();
  });
  if (overwritten)
    rewriter.replaceOp(fill, fill.getOutputs()[0]);
}

/// True if every map of `op` reads its outermost loop as a plain dimension
/// (never in a sum, as a window's offset): tiling it gives right slices.
bool readsOuterLoopPlainly(linalg::GenericOp op) {
  return llvm::all_of(op.getIndexingMapsArray(), [](AffineMap m) {
    return llvm::all_of(m.getResults(), [](AffineExpr e) {
      return !e.isFunctionOfDim(0) || isa<AffineDimExpr>(e);
    });
  });
}

/// The most elements a gather computes as one shuffle (shufflePlan), read
/// and written.
constexpr int64_t kMaxShuffle = 256;

/// A copy through a window map (an im2col gather over a single channel:
/// patches[n, oh, ow, kh, kw, 0] = x[n, oh + kh, ow + kw, 0]) as a loop
/// nest over its `outer` leading loops whose every iteration writes one
/// contiguous block of its output, all of whose elements come from one
/// contiguous run of its input (at element `mask[i]` of the run for output
/// element i), both at most kMaxShuffle elements: the zoo CNN's rows of 26
/// patches of 3 x 3 (234 elements) from 3 image rows (84). The input's
/// element for loop values iv is at offset + sum(coefficients[d] * iv[d]) of
/// its flat form.
struct ShufflePlan {
  unsigned outer;
  int64_t offset, span;
  SmallVector<int64_t> coefficients, mask;
};

/// The gather's plan, or nothing: the op must copy (its body yields its one
/// input), write its output in loop order, and read its input through a map
/// that is not a projected permutation (a window) whose flat offset grows
/// with every loop; the block must hold a vector of 16 at least.
std::optional<ShufflePlan> shufflePlan(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.hasIndexSemantics() ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      op.payloadUsesValueFromOperand(op.getDpsInitOperand(0)))
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  OpOperand *input = op.getDpsInputOperand(0);
  AffineMap read = op.getMatchingIndexingMap(input);
  auto inType = dyn_cast<RankedTensorType>(input->get().getType());
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (yield.getOperand(0) != op.getMatchingBlockArgument(input) || !inType ||
      !inType.hasStaticShape() || read.isProjectedPermutation() ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity() ||
      llvm::any_of(bounds, ShapedType::isDynamic))
    return std::nullopt;
  // The flat input offset as a function of the loops.
  SmallVector<int64_t> strides = computeStrides(inType.getShape());
  unsigned numLoops = bounds.size();
  auto flatOffset = [&](ArrayRef<int64_t> ivs) {
    int64_t at = 0;
    for (auto [index, stride] : llvm::zip(read.compose(ivs), strides))
      at += index * stride;
    return at;
  };
  ShufflePlan plan;
  SmallVector<int64_t> ivs(numLoops, 0);
  plan.offset = flatOffset(ivs);
  for (unsigned d = 0; d < numLoops; ++d) {
    ivs[d] = 1;
    plan.coefficients.push_back(flatOffset(ivs) - plan.offset);
    ivs[d] = 0;
    if (plan.coefficients.back() < 0)
      return std::nullopt;
  }
  for (plan.outer = 0; plan.outer < numLoops; ++plan.outer) {
    int64_t block = 1, span = 1;
    for (unsigned d = plan.outer; d < numLoops; ++d) {
      block *= bounds[d];
      span += plan.coefficients[d] * (bounds[d] - 1);
    }
    if (block > kMaxShuffle || span > kMaxShuffle)
      continue;
    if (block < 16)
      return std::nullopt;
    plan.span = span;
    SmallVector<int64_t> innerStrides =
        computeStrides(ArrayRef<int64_t>(bounds).drop_front(plan.outer));
    for (int64_t i = 0; i < block; ++i) {
      SmallVector<int64_t> at = delinearize(i, innerStrides);
      int64_t element = 0;
      for (auto [d, value] : llvm::enumerate(at))
        element += plan.coefficients[plan.outer + d] * value;
      plan.mask.push_back(element);
    }
    return plan;
  }
  return std::nullopt;
}

/// Rewrites the gather (shufflePlan) as that loop nest: one contiguous
/// read of the input's run, one vector.shuffle, one contiguous write of the
/// block, per iteration. Its one-element vectors of 3 floats were a tenth of
/// the zoo CNN's step.
void gatherAsShuffles(RewriterBase &rewriter, linalg::GenericOp op,
                      const ShufflePlan &plan) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  Value input = op.getDpsInputs()[0];
  auto inType = cast<RankedTensorType>(input.getType());
  Type element = inType.getElementType();
  int64_t outerCount = 1, block = plan.mask.size();
  for (unsigned d = 0; d < plan.outer; ++d)
    outerCount *= bounds[d];
  Value flat = reshapeInOrder(rewriter, loc, input, {inType.getNumElements()});
  Value blocks =
      reshapeInOrder(rewriter, loc, op.getDpsInits()[0], {outerCount, block});
  auto index = [&](OpBuilder &b, Location at, int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, at, value);
  };
  SmallVector<Value> zeros, ubs, ones;
  for (unsigned d = 0; d < plan.outer; ++d) {
    zeros.push_back(index(rewriter, loc, 0));
    ubs.push_back(index(rewriter, loc, bounds[d]));
    ones.push_back(index(rewriter, loc, 1));
  }
  SmallVector<int64_t> blockStrides =
      computeStrides(ArrayRef<int64_t>(bounds).take_front(plan.outer));
  Value padding = ub::PoisonOp::create(rewriter, loc, element);
  scf::LoopNest nest = scf::buildLoopNest(
      rewriter, loc, zeros, ubs, ones, ValueRange{blocks},
      [&](OpBuilder &b, Location at, ValueRange ivs,
          ValueRange args) -> scf::ValueVector {
        Value from = index(b, at, plan.offset), row = index(b, at, 0);
        for (auto [d, iv] : llvm::enumerate(ivs)) {
          from = arith::AddIOp::create(
              b, at, from,
              arith::MulIOp::create(b, at, iv,
                                    index(b, at, plan.coefficients[d])));
          row = arith::AddIOp::create(
              b, at, row,
              arith::MulIOp::create(b, at, iv, index(b, at, blockStrides[d])));
        }
        auto runType = VectorType::get({plan.span}, element);
        Value run = vector::TransferReadOp::create(b, at, runType, flat,
                                                   ValueRange{from}, padding,
                                                   ArrayRef<bool>{true});
        Value shuffled = vector::ShuffleOp::create(b, at, run, run, plan.mask);
        Value written =
            vector::TransferWriteOp::create(b, at, shuffled, args[0],
                                            ValueRange{row, index(b, at, 0)},
                                            ArrayRef<bool>{true})
                .getResult();
        return {written};
      });
  Value result = nest.results.empty() ? blocks : nest.results[0];
  rewriter.replaceOp(
      op, reshapeInOrder(
              rewriter, loc, result,
              cast<RankedTensorType>(op.getResult(0).getType()).getShape()));
}

/// `op` split into blocks of an scf.forall (threads) along its outermost
/// loop where it has at least `minParallel` iterations, that loop is
/// parallel and read as a plain dimension (tiling a window's offset would
/// give wrong slices); returns the block's op, or `op` itself.
FailureOr<linalg::GenericOp> splitAcrossThreads(RewriterBase &rewriter,
                                                linalg::GenericOp op,
                                                int64_t minParallel) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (llvm::product_of(bounds) < minParallel || bounds[0] <= 1 ||
      op.getIteratorTypesArray()[0] != utils::IteratorType::parallel ||
      !readsOuterLoopPlainly(op))
    return op;
  rewriter.setInsertionPoint(op);
  FailureOr<Operation *> block = tileOuterParallel(
      rewriter, cast<TilingInterface>(op.getOperation()), bounds[0]);
  if (failed(block))
    return failure();
  return cast<linalg::GenericOp>(*block);
}

/// The gather (shufflePlan) as shuffles, first split across threads along
/// its outermost loop (the batch) into blocks of an scf.forall where it has
/// at least `minParallel` iterations and reads that loop plainly.
LogicalResult gatherAsShuffles(RewriterBase &rewriter, linalg::GenericOp op,
                               int64_t minParallel) {
  FailureOr<linalg::GenericOp> block =
      splitAcrossThreads(rewriter, op, minParallel);
  if (failed(block))
    return failure();
  op = *block;
  // The block's plan: the same maps over fewer images.
  std::optional<ShufflePlan> plan = shufflePlan(op);
  if (!plan)
    return failure();
  gatherAsShuffles(rewriter, op, *plan);
  return success();
}

/// Vectorizes a windowed generic (planWindowed): a loop nest over every loop
/// but the vector loop's (in the op's order, so each element's window is
/// reduced in the same order as before), split across threads along its
/// outer loop when that is parallel and read as a plain dimension, and one
/// vectorized 1-D tile per iteration. Reduction loops after all parallel
/// ones carry the outputs' vectors in registers.
LogicalResult vectorizeWindowed(RewriterBase &rewriter, linalg::GenericOp op,
                                unsigned loop, int64_t tile,
                                int64_t minParallel) {
  // An output that is a fill and only accumulated into by windows is never
  // read: each window starts from the filled value.
  SmallVector<unsigned> outer, inner;
  windowLoops(op, loop, outer, inner);
  SmallVector<Value> inits = op.getDpsInits(), filled;
  for (Value init : inits)
    filled.push_back(inner.empty() ? Value() : ampc::filledValue(init));
  Operation *root = nullptr;
  if (loop != 0) {
    FailureOr<linalg::GenericOp> block =
        splitAcrossThreads(rewriter, op, minParallel);
    if (failed(block))
      return failure();
    op = *block;
    root = op->getParentOfType<scf::ForallOp>();
  }
  rewriter.setInsertionPoint(op);
  SmallVector<linalg::GenericOp> tiles;
  SmallVector<scf::ForOp> reductionLoops;
  // The tiled op (split across threads or not) has the same loops.
  outer.push_back(loop);
  Operation *nest = buildWindowNest(rewriter, op, loop, tile, outer, inner,
                                    filled, tiles, reductionLoops);
  root = root ? root : nest;
  for (auto [init, value] : llvm::zip(inits, filled)) {
    if (!value)
      continue;
    rewriter.setInsertionPoint(root);
    Value empty = tensor::EmptyOp::create(
        rewriter, root->getLoc(),
        cast<RankedTensorType>(init.getType()).getShape(),
        getElementTypeOrSelf(init));
    Value filledInit = init;
    rewriter.modifyOpInPlace(root, [&] {
      for (OpOperand &operand : root->getOpOperands())
        if (operand.get() == filledInit)
          operand.set(empty);
    });
  }
  for (linalg::GenericOp tileOp : tiles) {
    // A body vectorization does not take stays a scalar loop, as before.
    if (succeeded(linalg::vectorizeOpPrecondition(tileOp)) &&
        failed(vectorizeTile(rewriter, tileOp)))
      return failure();
  }
  // The accumulators' reads and writes move out of the reduction loops,
  // innermost first: the loops carry vectors.
  for (scf::ForOp forOp : reductionLoops) {
    auto loopLike = cast<LoopLikeOpInterface>(forOp.getOperation());
    moveLoopInvariantCode(loopLike);
    hoistLoopInvariantSubsets(rewriter, loopLike);
  }
  return success();
}

/// The side of the square matrix `op` transposes, if it is one: two
/// dimensions of n elements each of 32 bits, n a power of two from 4 to 16,
/// swapped, any others of one element (a [1, 16, 16] tile transposed by
/// [0, 2, 1]).
std::optional<int64_t> squareTransposeSide(vector::TransposeOp op) {
  VectorType source = op.getSourceVectorType();
  if (source.getElementTypeBitWidth() != 32)
    return std::nullopt;
  SmallVector<int64_t> kept;
  for (auto [d, size] : llvm::enumerate(source.getShape()))
    if (size != 1)
      kept.push_back(d);
  if (kept.size() != 2)
    return std::nullopt;
  int64_t n = source.getDimSize(kept[0]);
  if (n != source.getDimSize(kept[1]) || n < 4 || n > 16 ||
      !llvm::isPowerOf2_64(n))
    return std::nullopt;
  SmallVector<int64_t> order;
  for (int64_t from : op.getPermutation())
    if (source.getDimSize(from) != 1)
      order.push_back(from);
  if (order != SmallVector<int64_t>{kept[1], kept[0]})
    return std::nullopt;
  return n;
}

/// A square transpose (squareTransposeSide) as transposeRows between shape
/// casts.
void transposeSquare(PatternRewriter &b, vector::TransposeOp op, int64_t n) {
  Location loc = op.getLoc();
  Type element = op.getSourceVectorType().getElementType();
  auto square = VectorType::get({n, n}, element);
  Value matrix = vector::ShapeCastOp::create(b, loc, square, op.getVector());
  SmallVector<Value> rows;
  for (int64_t i = 0; i < n; ++i)
    rows.push_back(vector::ExtractOp::create(b, loc, matrix, i));
  Value result = ub::PoisonOp::create(b, loc, square);
  for (auto [i, row] : llvm::enumerate(ampc::cpu::transposeRows(b, loc, rows)))
    result = vector::InsertOp::create(b, loc, row, result, int64_t(i));
  b.replaceOpWithNewOp<vector::ShapeCastOp>(op, op.getResultVectorType(),
                                            result);
}

/// A vector.transpose as one shuffle of the flattened vector between shape
/// casts. The element-wise lowering (an extract and an insert per element)
/// makes a transposed 16 x 16 tile 512 operations for LLVM to take apart;
/// one shuffle lowers to the target's permutes. Square matrices of 32-bit
/// elements take the shuffle network of transposeSquare instead.
struct TransposeAsShuffle : OpRewritePattern<vector::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(vector::TransposeOp op,
                                PatternRewriter &b) const override {
    VectorType source = op.getSourceVectorType();
    VectorType result = op.getResultVectorType();
    if (source.isScalable() || source.getRank() < 2)
      return failure();
    if (std::optional<int64_t> n = squareTransposeSide(op)) {
      transposeSquare(b, op, *n);
      return success();
    }
    // Result element i is the source element at its position permuted
    // back: result dimension d is source dimension perm[d].
    ArrayRef<int64_t> perm = op.getPermutation();
    SmallVector<int64_t> sourceStrides = computeStrides(source.getShape());
    SmallVector<int64_t> strides = computeStrides(result.getShape());
    int64_t elements = source.getNumElements();
    SmallVector<int64_t> mask;
    mask.reserve(elements);
    for (int64_t i = 0; i < elements; ++i) {
      SmallVector<int64_t> position = delinearize(i, strides);
      int64_t at = 0;
      for (auto [dim, index] : llvm::enumerate(position))
        at += index * sourceStrides[perm[dim]];
      mask.push_back(at);
    }
    Location loc = op.getLoc();
    auto flatType = VectorType::get({elements}, source.getElementType());
    Value flat = vector::ShapeCastOp::create(b, loc, flatType, op.getVector());
    Value shuffled = vector::ShuffleOp::create(b, loc, flat, flat, mask);
    b.replaceOpWithNewOp<vector::ShapeCastOp>(op, result, shuffled);
    return success();
  }
};

struct AmpcVectorizeGenericsPass
    : ampc::impl::AmpcVectorizeGenericsBase<AmpcVectorizeGenericsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    splitReductions(rewriter, module);
    FailureOr<bool> changed = vectorizeOps(rewriter, module);
    if (failed(changed))
      return signalPassFailure();
    if (*changed && failed(lowerVectorReductions(rewriter, module)))
      return signalPassFailure();
  }

  /// Reductions as partial results: trailing reductions first, with the
  /// ops computed in their nests (findRowsGroup), which are gone afterwards,
  /// as are the reductions; then full reductions, those that read the same
  /// tensors in one (fullReductionPartners).
  void splitReductions(IRRewriter &rewriter, ModuleOp module) {
    SmallVector<linalg::GenericOp> ops;
    module.walk([&](linalg::GenericOp op) { ops.push_back(op); });
    DenseSet<Operation *> done;
    for (linalg::GenericOp op : ops) {
      // Members of an earlier group are gone: nothing of them is read.
      Operation *combiner =
          done.contains(op) ? nullptr : trailingReductionCombiner(op);
      if (!combiner)
        continue;
      RowsGroup group;
      group.reduction = op;
      if (auto found = findRowsGroup(op, parallelMinIterations))
        group = std::move(*found);
      SmallVector<Operation *> members = group.members();
      if (splitTrailingReduction(rewriter, combiner, group))
        done.insert(members.begin(), members.end());
    }
    for (linalg::GenericOp op : ops) {
      Operation *combiner =
          done.contains(op) ? nullptr : fullReductionCombiner(op);
      if (!combiner)
        continue;
      // Rewritten below: later searches skip it.
      done.insert(op);
      SetVector<Operation *> hoisted;
      auto partners = fullReductionPartners(op, ops, done, hoisted);
      SmallVector<Operation *> combiners = {combiner};
      if (!partners.empty()) {
        done.insert(partners.begin(), partners.end());
        op = mergeFullReductions(rewriter, op, partners, hoisted.getArrayRef());
        // One combiner per result: the merged body's own.
        combiners = llvm::map_to_vector(
            op.getBody()->getTerminator()->getOperands(),
            [](Value yielded) { return yielded.getDefiningOp(); });
      }
      op = foldIntoRows(rewriter, readInMemoryOrder(rewriter, op));
      if (unsigned numPartial = partialLoops(op, width))
        splitFullReduction(rewriter, op, combiners, numPartial);
    }
  }

  /// Tiles and vectorizes every generic: windowed ops first (an output
  /// filled by an op that is still a generic, not yet a loop nest, is
  /// recognized as a fill), then the others. Returns whether anything
  /// changed; failure (with an error on the op) where an op that should be
  /// vectorized cannot be.
  FailureOr<bool> vectorizeOps(IRRewriter &rewriter, ModuleOp module) {
    SmallVector<linalg::GenericOp> ops;
    module.walk([&](linalg::GenericOp op) { ops.push_back(op); });
    bool changed = false;
    SmallVector<linalg::GenericOp> others;
    for (linalg::GenericOp op : ops) {
      if (shufflePlan(op)) {
        if (failed(gatherAsShuffles(rewriter, op, parallelMinIterations)))
          return op.emitError("cannot split this gather across threads");
        changed = true;
        continue;
      }
      auto windowed = planWindowed(op, width);
      if (!windowed) {
        others.push_back(op);
        continue;
      }
      if (failed(vectorizeWindowed(rewriter, op, windowed->first,
                                   windowed->second, parallelMinIterations)))
        return op.emitError("cannot vectorize this windowed op");
      changed = true;
    }
    for (linalg::GenericOp op : others) {
      op = foldContiguousLoops(rewriter, op, width);
      auto plan = planGeneric(op, width);
      if (!plan)
        continue;
      if (failed(vectorizeGeneric(rewriter, op, plan->first, plan->second,
                                  parallelMinIterations)))
        return op.emitError("cannot tile and vectorize this op");
      changed = true;
    }
    return changed;
  }

  /// Lowers what the vectorized ops left for the LLVM lowering.
  LogicalResult lowerVectorReductions(IRRewriter &rewriter, ModuleOp module) {
    MLIRContext *ctx = &getContext();
    // Reductions become vector.multi_reduction, which the LLVM lowering does
    // not take. Canonicalization first: a reduction over unit dimensions
    // (an outer reduction loop tiled by 1, as in the partial sums above)
    // is an elementwise operation. Then the rest become 1-D reductions, and
    // the tiles' slices and transfers fold.
    auto canonicalizations = [&](RewritePatternSet &patterns) {
      for (Dialect *dialect : ctx->getLoadedDialects())
        dialect->getCanonicalizationPatterns(patterns);
      for (RegisteredOperationName name : ctx->getRegisteredOperations())
        name.getCanonicalizationPatterns(patterns, ctx);
    };
    RewritePatternSet canonical(ctx);
    canonicalizations(canonical);
    if (failed(applyPatternsGreedily(module, std::move(canonical))))
      return failure();
    SmallVector<linalg::FillOp> windowStarts;
    module.walk([&](linalg::FillOp fill) {
      if (fill->removeAttr(kWindowStartAttr))
        windowStarts.push_back(fill);
    });
    for (linalg::FillOp fill : windowStarts)
      readFillAsBroadcast(rewriter, fill);
    RewritePatternSet patterns(ctx);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    // A transposed read becomes a read along memory and a vector.transpose.
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    patterns.add<TransposeAsShuffle>(ctx);
    canonicalizations(patterns);
    return applyPatternsGreedily(module, std::move(patterns));
  }
};

} // namespace

Value ampc::cpu::reshapeInOrder(RewriterBase &rewriter, Location loc,
                                Value value, ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == shape)
    return value;
  Type element = type.getElementType();
  if (type.getRank() != 1) {
    ReassociationIndices all =
        llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
    value = tensor::CollapseShapeOp::create(
        rewriter, loc, RankedTensorType::get({type.getNumElements()}, element),
        value, SmallVector<ReassociationIndices>{all});
  }
  if (shape.size() == 1)
    return value;
  ReassociationIndices all =
      llvm::to_vector(llvm::seq<int64_t>(0, shape.size()));
  return tensor::ExpandShapeOp::create(
      rewriter, loc, RankedTensorType::get(shape, element), value,
      SmallVector<ReassociationIndices>{all});
}
