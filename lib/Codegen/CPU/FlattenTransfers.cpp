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
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUFLATTENTRANSFERS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

struct AmpcCpuFlattenTransfersPass
    : ampc::impl::AmpcCpuFlattenTransfersBase<AmpcCpuFlattenTransfersPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
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
