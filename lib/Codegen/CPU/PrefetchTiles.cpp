//===- PrefetchTiles.cpp - C's tile in cache before a micro-kernel -------===//
//
// ampc-cpu-prefetch-tiles: on buffers, before the k loop of each packed
// micro-kernel (marked by ampc-vectorize-contractions), one prefetch per
// cache line of the C tile the loop's sums are stored into. The micro-
// kernels of a row block visit a new C tile each time, rows a whole row of
// C apart: no hardware prefetcher follows that, so without it each tile's
// first loads or stores after the k loop wait for memory.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "PackedContractions.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Dominance.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUPREFETCHTILES
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// The stores of the sums `loop` carries: a transfer_write of a result, or
/// of the one op that adds a result to the tile's old value.
SmallVector<vector::TransferWriteOp> tileStores(scf::ForOp loop) {
  SmallVector<vector::TransferWriteOp> stores;
  auto collect = [&](Value value) {
    for (Operation *user : value.getUsers())
      if (auto write = dyn_cast<vector::TransferWriteOp>(user);
          write && write.getValueToStore() == value)
        stores.push_back(write);
  };
  for (Value sum : loop.getResults()) {
    collect(sum);
    for (Operation *user : sum.getUsers())
      if (!isa<vector::TransferWriteOp>(user) && user->getNumResults() == 1)
        collect(user->getResult(0));
  }
  return stores;
}

/// Offsets along the innermost index of the lanes of `write` that start
/// each cache line it covers (and its last lane, for a store that does
/// not start on a line); {0} for a store that is not one contiguous row.
SmallVector<int64_t> lineOffsets(vector::TransferWriteOp write,
                                 int64_t lineBytes) {
  VectorType type = write.getVectorType();
  auto memref = cast<MemRefType>(write.getBase().getType());
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  if (type.getRank() != 1 || !write.getPermutationMap().isMinorIdentity() ||
      !memref.isLastDimUnitStride() || elementBytes == 0)
    return {0};
  int64_t lanes = type.getNumElements();
  int64_t step = std::max<int64_t>(1, lineBytes / elementBytes);
  SmallVector<int64_t> offsets;
  for (int64_t lane = 0; lane < lanes; lane += step)
    offsets.push_back(lane);
  if (offsets.back() != lanes - 1)
    offsets.push_back(lanes - 1);
  return offsets;
}

/// Whether `value` can be used before `loop` (it is defined there, or it is
/// a constant that can be made there).
bool availableBefore(Value value, scf::ForOp loop, DominanceInfo &dominance) {
  return dominance.properlyDominates(value, loop) ||
         getConstantIntValue(value).has_value();
}

/// `index + offset` before `loop` (availableBefore).
Value indexBefore(OpBuilder &b, scf::ForOp loop, Value index, int64_t offset,
                  DominanceInfo &dominance) {
  Location loc = loop.getLoc();
  bool defined = dominance.properlyDominates(index, loop);
  if (offset == 0 && defined)
    return index;
  if (std::optional<int64_t> constant = getConstantIntValue(index))
    return arith::ConstantIndexOp::create(b, loc, *constant + offset);
  return arith::AddIOp::create(b, loc, index,
                               arith::ConstantIndexOp::create(b, loc, offset));
}

/// Prefetches the lines of `write`'s destination before `loop`, where its
/// memref and indices are available there.
void prefetchBefore(OpBuilder &b, scf::ForOp loop,
                    vector::TransferWriteOp write, int64_t lineBytes,
                    DominanceInfo &dominance) {
  Value base = write.getBase();
  ValueRange indices = write.getIndices();
  if (!dominance.properlyDominates(base, loop) ||
      !llvm::all_of(indices, [&](Value index) {
        return availableBefore(index, loop, dominance);
      }))
    return;
  b.setInsertionPoint(loop);
  SmallVector<Value> leading;
  for (Value index : indices.drop_back())
    leading.push_back(indexBefore(b, loop, index, 0, dominance));
  for (int64_t offset : lineOffsets(write, lineBytes)) {
    SmallVector<Value> at = leading;
    at.push_back(indexBefore(b, loop, indices.back(), offset, dominance));
    memref::PrefetchOp::create(b, write.getLoc(), base, at,
                               /*isWrite=*/false, /*localityHint=*/3,
                               /*isDataCache=*/true);
  }
}

struct AmpcCpuPrefetchTilesPass
    : ampc::impl::AmpcCpuPrefetchTilesBase<AmpcCpuPrefetchTilesPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> marked;
    getOperation()->walk([&](Operation *op) {
      if (op->hasAttr(ampc::cpu::kMicroKernelAttr))
        marked.push_back(op);
    });
    DominanceInfo &dominance = getAnalysis<DominanceInfo>();
    OpBuilder b(&getContext());
    for (Operation *op : marked) {
      auto loop = dyn_cast<scf::ForOp>(op);
      if (!loop) {
        op->emitError("'") << ampc::cpu::kMicroKernelAttr
                           << "' marks an op that is not an scf.for";
        return signalPassFailure();
      }
      SmallVector<vector::TransferWriteOp> stores = tileStores(loop);
      for (vector::TransferWriteOp write : stores)
        if (!isa<MemRefType>(write.getBase().getType())) {
          write.emitError("a micro-kernel's tile must be on buffers (run ")
              << getArgument() << " after bufferization)";
          return signalPassFailure();
        }
      for (vector::TransferWriteOp write : stores)
        prefetchBefore(b, loop, write, lineBytes, dominance);
      loop->removeAttr(ampc::cpu::kMicroKernelAttr);
    }
  }
};

} // namespace
