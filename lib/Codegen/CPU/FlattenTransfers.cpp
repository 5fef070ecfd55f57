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

struct AmpcCpuFlattenTransfersPass
    : ampc::impl::AmpcCpuFlattenTransfersBase<AmpcCpuFlattenTransfersPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<CollapseContiguousTrailingDims<vector::TransferReadOp>,
                 CollapseContiguousTrailingDims<vector::TransferWriteOp>>(ctx);
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
