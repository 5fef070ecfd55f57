//===- GpuReductions.cpp - full reductions as one-block GPU kernels -------===//
//
// A linalg.generic without parallel loops (a sum of squares for the
// gradient norm, an amax for fp8 scaling, a loss) has no dimension to map
// onto threads, so the generic GPU path would leave it on the host, which
// then reads the whole operand through managed memory (pulling its pages
// off the GPU every step). Here it becomes one block of 256 threads: thread
// t combines elements t, t + 256, ... starting from the combiner's identity,
// then a tree over shared memory combines the 256 partials, and thread 0
// combines the total with the output's initial value. The order is fixed,
// so results repeat bit for bit from run to run.
//
// A partial reduction whose reduction loop comes first (a bias gradient's
// column sum: reduction over the batch, parallel over the features) would
// become a host loop that launches one kernel per reduction step; its loops
// are interchanged so that the parallel ones map onto threads and each
// thread runs the reduction.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/NVGPU/LoopUtils.h"
#include "ampc/Codegen/NVGPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>

namespace ampc {
#define GEN_PASS_DEF_AMPCGPUREDUCTIONS
#include "ampc/Codegen/NVGPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

constexpr int64_t kThreads = 256;

/// The identity of a combiner `op` on `type`: combine(x, identity) == x for
/// every x, so that a thread with no elements contributes nothing.
std::optional<TypedAttr> identityOf(Operation *op, Type type) {
  if (auto f = dyn_cast<FloatType>(type)) {
    const llvm::fltSemantics &sem = f.getFloatSemantics();
    auto value = [&](APFloat v) -> TypedAttr { return FloatAttr::get(f, v); };
    if (isa<arith::AddFOp>(op))
      return value(APFloat::getZero(sem, /*Negative=*/true));
    if (isa<arith::MulFOp>(op))
      return value(APFloat::getOne(sem));
    if (isa<arith::MaximumFOp>(op))
      return value(APFloat::getInf(sem, /*Negative=*/true));
    if (isa<arith::MinimumFOp>(op))
      return value(APFloat::getInf(sem));
    // maxnum/minnum return the other operand for a NaN.
    if (isa<arith::MaxNumFOp, arith::MinNumFOp>(op))
      return value(APFloat::getNaN(sem));
    return std::nullopt;
  }
  auto i = dyn_cast<IntegerType>(type);
  if (!i)
    return std::nullopt;
  unsigned w = i.getWidth();
  auto value = [&](APInt v) -> TypedAttr { return IntegerAttr::get(i, v); };
  if (isa<arith::AddIOp, arith::OrIOp, arith::XOrIOp, arith::MaxUIOp>(op))
    return value(APInt::getZero(w));
  if (isa<arith::MulIOp>(op))
    return value(APInt(w, 1));
  if (isa<arith::AndIOp, arith::MinUIOp>(op))
    return value(APInt::getAllOnes(w));
  if (isa<arith::MaxSIOp>(op))
    return value(APInt::getSignedMinValue(w));
  if (isa<arith::MinSIOp>(op))
    return value(APInt::getSignedMaxValue(w));
  return std::nullopt;
}

/// The combiner of a full reduction: the yielded op, one of whose operands
/// is the accumulator (used nowhere else), the other computed from the
/// inputs alone.
struct Reduction {
  Operation *combiner;
  unsigned accOperand;
  TypedAttr identity;
};

std::optional<Reduction> matchReduction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumLoops() == 0 ||
      op.getNumParallelLoops() != 0 || op.getNumDpsInits() != 1)
    return std::nullopt;
  auto out = cast<MemRefType>(op.getDpsInits()[0].getType());
  if (out.getRank() != 0)
    return std::nullopt;
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  if (llvm::any_of(sizes, ShapedType::isDynamic))
    return std::nullopt;
  Block &body = op.getRegion().front();
  BlockArgument acc = body.getArguments().back();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Operation *combiner = yield.getOperand(0).getDefiningOp();
  if (!combiner || combiner->getBlock() != &body ||
      combiner->getNumOperands() != 2 || combiner->getNumResults() != 1 ||
      !acc.hasOneUse() || acc.getUses().begin()->getOwner() != combiner)
    return std::nullopt;
  unsigned accOperand = combiner->getOperand(0) == acc ? 0 : 1;
  if (combiner->getOperand(1 - accOperand) == acc)
    return std::nullopt;
  std::optional<TypedAttr> identity = identityOf(combiner, acc.getType());
  if (!identity)
    return std::nullopt;
  return Reduction{combiner, accOperand, *identity};
}

/// combine(x, y) with the combiner's operand order (x in the element's
/// place, y in the accumulator's).
Value combineWith(OpBuilder &b, const Reduction &r, Value element,
                  Value accumulated) {
  IRMapping map;
  map.map(r.combiner->getOperand(r.accOperand), accumulated);
  map.map(r.combiner->getOperand(1 - r.accOperand), element);
  return b.clone(*r.combiner, map)->getResult(0);
}

/// One thread's partial result: elements tid, tid + 256, ... of the
/// iteration space, combined from `identity`.
Value threadPartial(OpBuilder &b, Location loc, linalg::GenericOp op, Value tid,
                    Value identity) {
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  int64_t total = 1;
  for (int64_t s : sizes)
    total *= s;
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto loop = scf::ForOp::create(b, loc, tid, index(total), index(kThreads),
                                 ValueRange{identity});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  // Loop indices of the linear element (the last loop fastest).
  SmallVector<Value> ivs =
      ampc::delinearize(b, loc, loop.getInductionVar(), sizes);
  Block &body = op.getRegion().front();
  IRMapping map;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap indexing = op.getMatchingIndexingMap(input);
    SmallVector<Value> indices;
    for (AffineExpr e : indexing.getResults()) {
      AffineMap single = AffineMap::get(indexing.getNumDims(), 0, e);
      indices.push_back(affine::AffineApplyOp::create(b, loc, single, ivs));
    }
    Value v = input->get();
    map.map(op.getMatchingBlockArgument(input),
            isa<MemRefType>(v.getType())
                ? Value(memref::LoadOp::create(b, loc, v, indices))
                : v);
  }
  map.map(body.getArguments().back(), loop.getRegionIterArgs()[0]);
  scf::YieldOp::create(b, loc, ampc::cloneLinalgBody(b, body, map, ivs));
  return loop.getResult(0);
}

/// A tree over the block's partials: 128, 64, ..., 1 threads combine pairs;
/// thread 0 then combines the total into the output.
void treeReduce(OpBuilder &b, Location loc, linalg::GenericOp op,
                const Reduction &r, Value partials, Value tid) {
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  for (int64_t half = kThreads / 2; half >= 1; half /= 2) {
    Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid,
                                         index(half));
    auto inside = scf::IfOp::create(b, loc, active, /*withElse=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(inside.thenBlock());
      Value mine = memref::LoadOp::create(b, loc, partials, tid);
      Value other = memref::LoadOp::create(
          b, loc, partials,
          ValueRange{arith::AddIOp::create(b, loc, tid, index(half))});
      memref::StoreOp::create(b, loc, combineWith(b, r, other, mine), partials,
                              tid);
    }
    gpu::BarrierOp::create(b, loc);
  }
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, index(0));
  auto last = scf::IfOp::create(b, loc, first, /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(last.thenBlock());
  Value out = op.getDpsInits()[0];
  Value sum = memref::LoadOp::create(b, loc, partials, index(0));
  Value init = memref::LoadOp::create(b, loc, out, ValueRange{});
  memref::StoreOp::create(b, loc, combineWith(b, r, sum, init), out,
                          ValueRange{});
}

void rewrite(linalg::GenericOp op, const Reduction &r) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value threads = arith::ConstantIndexOp::create(b, loc, kThreads);
  auto launch = gpu::LaunchOp::create(b, loc, one, one, one, threads, one, one);
  Type elementType = r.identity.getType();
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  BlockArgument partials = launch.addWorkgroupAttribution(
      MemRefType::get({kThreads}, elementType, MemRefLayoutAttrInterface(),
                      workgroup),
      loc);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value tid = launch.getThreadIds().x;
  Value identity = arith::ConstantOp::create(b, loc, r.identity);
  Value partial = threadPartial(b, loc, op, tid, identity);
  memref::StoreOp::create(b, loc, partial, partials, tid);
  gpu::BarrierOp::create(b, loc);
  treeReduce(b, loc, op, r, partials, tid);
  gpu::TerminatorOp::create(b, loc);
  op.erase();
}

/// The loop order with the parallel loops first, if a reduction loop comes
/// before a parallel one (a column sum, a weight gradient's k first).
std::optional<SmallVector<unsigned>> parallelFirst(linalg::GenericOp op) {
  SmallVector<unsigned> parallel, reduction;
  for (auto [i, iterator] : llvm::enumerate(op.getIteratorTypesArray()))
    (iterator == utils::IteratorType::parallel ? parallel : reduction)
        .push_back(unsigned(i));
  if (parallel.empty() || reduction.empty() ||
      reduction.front() > parallel.back())
    return std::nullopt;
  parallel.append(reduction);
  return parallel;
}

struct AmpcGpuReductionsPass
    : ampc::impl::AmpcGpuReductionsBase<AmpcGpuReductionsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, Reduction>> full;
    SmallVector<std::pair<linalg::GenericOp, SmallVector<unsigned>>> partial;
    getOperation().walk([&](linalg::GenericOp op) {
      if (!op.hasPureBufferSemantics())
        return;
      if (std::optional<Reduction> r = matchReduction(op))
        full.push_back({op, *r});
      else if (auto order = parallelFirst(op))
        partial.push_back({op, std::move(*order)});
    });
    for (auto &[op, r] : full)
      rewrite(op, r);
    IRRewriter rewriter(&getContext());
    for (auto &[op, order] : partial) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order)))
        return signalPassFailure();
    }
  }
};

} // namespace
