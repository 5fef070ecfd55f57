//===- FlattenTransfers.cpp - contiguous vector transfers as 1-D ----------===//
//
// ampc-cpu-flatten-transfers: upstream vector patterns that drop unit
// dimensions from transfers and collapse transfers of contiguous memory
// into 1-D ones, applied on buffers before the transfers are unrolled.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Dialect/Vector/Utils/VectorUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUFLATTENTRANSFERS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// The number of trailing dimensions of a transfer of `vector` from index
/// `indices` of `memref` that it can read as one: each covers its memref
/// dimension whole (from index 0) and they are contiguous in memory.
/// Upstream's flattening takes a transfer only when all of it is one run.
unsigned contiguousTrailingDims(MemRefType memref, VectorType vector,
                                ValueRange indices) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(memref.getStridesAndOffset(strides, offset)) ||
      vector.getRank() != memref.getRank() || vector.isScalable())
    return 0;
  unsigned rank = memref.getRank(), count = 0;
  int64_t expected = 1;
  for (unsigned d = rank; d-- > 0;) {
    if (memref.isDynamicDim(d) ||
        vector.getDimSize(d) != memref.getDimSize(d) ||
        strides[d] != expected || !matchPattern(indices[d], m_Zero()))
      break;
    expected *= memref.getDimSize(d);
    ++count;
  }
  return count;
}

/// A transfer (read or write) of rows whose trailing dimensions are
/// contiguous (an [8, 4, 2] tile of bf16 pairs from rows of 4096 elements:
/// 8 runs of 8 elements) as a transfer of a memref with those dimensions
/// collapsed into one, with shape casts around it: 8 row loads, not 32 of
/// one pair each.
template <typename TransferOp>
struct CollapseContiguousTrailingDims : OpRewritePattern<TransferOp> {
  CollapseContiguousTrailingDims(MLIRContext *ctx)
      : OpRewritePattern<TransferOp>(ctx, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(TransferOp op,
                                PatternRewriter &b) const override {
    auto memref = dyn_cast<MemRefType>(op.getShapedType());
    VectorType vector = op.getVectorType();
    if (!memref || op.getMask() || !op.getPermutationMap().isIdentity() ||
        llvm::any_of(op.getInBoundsValues(), [](bool in) { return !in; }))
      return failure();
    // Whole runs and unit dimensions are upstream's.
    unsigned count = contiguousTrailingDims(memref, vector, op.getIndices());
    unsigned rank = memref.getRank();
    if (count < 2 || count == rank ||
        vector::isContiguousSlice(memref, vector) ||
        llvm::count_if(vector.getShape().take_back(count),
                       [](int64_t size) { return size > 1; }) < 2)
      return failure();
    SmallVector<ReassociationIndices> groups;
    for (unsigned d = 0; d + count < rank; ++d)
      groups.push_back({int64_t(d)});
    groups.push_back(llvm::to_vector(llvm::seq<int64_t>(rank - count, rank)));
    if (!memref::CollapseShapeOp::isGuaranteedCollapsible(memref, groups))
      return failure();
    Location loc = op.getLoc();
    Value source =
        memref::CollapseShapeOp::create(b, loc, op.getBase(), groups);
    SmallVector<int64_t> shape(vector.getShape().drop_back(count));
    shape.push_back(vector.getNumElements() /
                    llvm::product_of(vector.getShape().drop_back(count)));
    auto flatType = VectorType::get(shape, vector.getElementType());
    SmallVector<Value> indices(op.getIndices().drop_back(count));
    indices.push_back(op.getIndices().back());
    SmallVector<bool> inBounds(shape.size(), true);
    if constexpr (std::is_same_v<TransferOp, vector::TransferReadOp>) {
      Value read = vector::TransferReadOp::create(
          b, loc, flatType, source, indices, op.getPadding(), inBounds);
      b.replaceOpWithNewOp<vector::ShapeCastOp>(op, vector, read);
    } else {
      Value flat =
          vector::ShapeCastOp::create(b, loc, flatType, op.getVector());
      b.replaceOpWithNewOp<vector::TransferWriteOp>(op, flat, source, indices,
                                                    inBounds);
    }
    return success();
  }
};

/// An element-wise op on an n-D vector whose rows are narrower than the
/// target's vectors (a [16, 8] f32 tile of a transposed cast, [8, 8, 2]
/// bf16 pairs widened to i32) as the same op on the vector flattened, with
/// shape casts around it. LLVM computes an n-D vector one row at a time:
/// a [8, 8, 2] x i32 op is 64 operations on two lanes each, where the
/// flattened one is two 512-bit operations. Rows as wide as a target
/// vector stay as they are (nothing to gain).
struct FlattenNarrowElementwise : RewritePattern {
  FlattenNarrowElementwise(MLIRContext *ctx, int64_t vectorBits)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx),
        vectorBits(vectorBits) {}

  /// Rows of `op`'s n-D vectors narrower than a target vector, measured
  /// in its widest element type (a truncation from i32 rows of 8 fills a
  /// 256-bit vector with its operand).
  bool hasNarrowRows(Operation *op) const {
    auto result = dyn_cast<VectorType>(op->getResult(0).getType());
    if (!result || result.getRank() < 2 || result.isScalable())
      return false;
    unsigned bits = 0;
    for (Type type :
         llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes())) {
      Type element = getElementTypeOrSelf(type);
      if (!element.isIntOrFloat())
        return false;
      bits = std::max(bits, element.getIntOrFloatBitWidth());
    }
    return result.getShape().back() * int64_t(bits) < vectorBits;
  }

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &b) const override {
    if (!OpTrait::hasElementwiseMappableTraits(op) || op->getNumRegions() ||
        op->getNumResults() != 1 || !hasNarrowRows(op))
      return failure();
    auto type = cast<VectorType>(op->getResult(0).getType());
    auto flat = [](VectorType vector) {
      return VectorType::get({vector.getNumElements()},
                             vector.getElementType());
    };
    Location loc = op->getLoc();
    SmallVector<Value> operands;
    for (Value operand : op->getOperands()) {
      auto vector = dyn_cast<VectorType>(operand.getType());
      if (!vector || vector.getShape() != type.getShape())
        return failure();
      operands.push_back(
          vector::ShapeCastOp::create(b, loc, flat(vector), operand));
    }
    OperationState state(loc, op->getName(), operands, {flat(type)},
                         op->getAttrs());
    Operation *flatOp = b.create(state);
    b.replaceOpWithNewOp<vector::ShapeCastOp>(op, type, flatOp->getResult(0));
    return success();
  }

  int64_t vectorBits;
};

struct AmpcCpuFlattenTransfersPass
    : ampc::impl::AmpcCpuFlattenTransfersBase<AmpcCpuFlattenTransfersPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<CollapseContiguousTrailingDims<vector::TransferReadOp>,
                 CollapseContiguousTrailingDims<vector::TransferWriteOp>>(ctx);
    if (vectorBytes > 0)
      patterns.add<FlattenNarrowElementwise>(ctx, vectorBytes * 8);
    vector::populateVectorTransferDropUnitDimsPatterns(patterns);
    vector::populateFlattenVectorTransferPatterns(patterns);
    vector::ShapeCastOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    memref::SubViewOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
