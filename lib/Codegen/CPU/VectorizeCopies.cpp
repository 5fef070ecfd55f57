//===- VectorizeCopies.cpp - strided copies as vector loads and stores ----===//
//
// ampc-cpu-vectorize-copies: see Passes.td.
//
//===----------------------------------------------------------------------===//

#include "Tiles.h"

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUVECTORIZECOPIES
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// True if `type` is a memref of static shape whose innermost dimension is
/// contiguous (unit stride).
bool innermostContiguous(MemRefType type) {
  return type.hasStaticShape() && type.getRank() > 0 &&
         type.isLastDimUnitStride();
}

/// Bits of the elements `source` is copied to `target` with, where both are
/// memrefs of one static shape and element type (integers or floats of
/// whole bytes) whose innermost dimension is contiguous; 0 otherwise.
int64_t copiedElementBits(Value source, Value target) {
  auto from = dyn_cast<MemRefType>(source.getType());
  auto to = dyn_cast<MemRefType>(target.getType());
  if (!from || !to || from.getShape() != to.getShape() ||
      from.getElementType() != to.getElementType() ||
      !innermostContiguous(from) || !innermostContiguous(to) ||
      !from.getElementType().isIntOrFloat())
    return 0;
  int64_t bits = from.getElementTypeBitWidth();
  return bits % 8 ? 0 : bits;
}

/// Lanes of the vectors that copy `copy`: the largest divisor of its
/// innermost size that fits `vectorBytes`; 0 where none of at least two
/// lanes does, or the copy is not one between such memrefs.
int64_t copyLanes(linalg::CopyOp copy, int64_t vectorBytes) {
  if (!copy.hasPureBufferSemantics())
    return 0;
  Value source = copy.getInputs()[0];
  int64_t bits = copiedElementBits(source, copy.getOutputs()[0]);
  if (!bits)
    return 0;
  int64_t lanes =
      ampc::cpu::pickTile(cast<MemRefType>(source.getType()).getShape().back(),
                          vectorBytes * 8 / bits);
  return lanes >= 2 ? lanes : 0;
}

/// Index constants made once each, before the op being replaced.
struct IndexConstants {
  IndexConstants(OpBuilder &b, Location loc) : b(b), loc(loc) {}
  OpBuilder &b;
  Location loc;
  llvm::SmallDenseMap<int64_t, Value> made;
  Value operator()(int64_t value) {
    Value &constant = made[value];
    if (!constant)
      constant = arith::ConstantIndexOp::create(b, loc, value);
    return constant;
  }
};

/// Bounds of loops from 0 to each of `sizes` in steps of 1.
struct LoopBounds {
  LoopBounds(IndexConstants &index, ArrayRef<int64_t> sizes) {
    for (int64_t size : sizes) {
      lower.push_back(index(0));
      upper.push_back(index(size));
      steps.push_back(index(1));
    }
  }
  SmallVector<Value> lower, upper, steps;
};

/// One `width`-lane vector read from `source` at `indices` and written to
/// `target` there.
void moveVector(OpBuilder &b, Location loc, Value source, Value target,
                ValueRange indices, int64_t width) {
  Type element = cast<MemRefType>(source.getType()).getElementType();
  Value padding = ub::PoisonOp::create(b, loc, element);
  auto read = vector::TransferReadOp::create(
      b, loc, VectorType::get({width}, element), source, indices, padding,
      ArrayRef<bool>{true});
  vector::TransferWriteOp::create(b, loc, read, target, indices,
                                  ArrayRef<bool>{true});
}

/// Replaces `copy` by a loop nest over its outer dimensions and its
/// innermost one in steps of `lanes`, each step one vector read and write.
void vectorizeCopy(linalg::CopyOp copy, int64_t lanes) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value source = copy.getInputs()[0], target = copy.getOutputs()[0];
  auto type = cast<MemRefType>(source.getType());
  IndexConstants index(b, loc);
  LoopBounds loops(index, type.getShape());
  loops.steps.back() = index(lanes);
  scf::buildLoopNest(
      b, loc, loops.lower, loops.upper, loops.steps,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange ivs) {
        moveVector(nested, nestedLoc, source, target, ivs, lanes);
      });
  copy.erase();
}

/// Contiguous copies up to this size are moved with vectors too.
constexpr int64_t kMaxVectorizedMemcpyBytes = 64 * 1024;

/// Lanes of the full vectors that move `copy` (a memref.copy, which
/// ampc-expand-strided-copies leaves only where both sides are contiguous):
/// as many as fit `vectorBytes`, at most its innermost size; 0 where the
/// copy is not between memrefs of one static shape whose innermost
/// dimension is contiguous, or is larger than kMaxVectorizedMemcpyBytes.
int64_t memcpyLanes(memref::CopyOp copy, int64_t vectorBytes) {
  int64_t bits = copiedElementBits(copy.getSource(), copy.getTarget());
  if (!bits)
    return 0;
  auto type = cast<MemRefType>(copy.getSource().getType());
  if (type.getNumElements() * bits / 8 > kMaxVectorizedMemcpyBytes)
    return 0;
  int64_t lanes = std::min(type.getShape().back(),
                           std::max<int64_t>(1, vectorBytes * 8 / bits));
  return lanes >= 2 ? lanes : 0;
}

/// Replaces `copy` by a loop nest over its outer dimensions; in it, a loop
/// over the innermost one moving `lanes`-lane vectors (one vector without a
/// loop where that is all), then one shorter vector for the rest.
void vectorizeMemcpy(memref::CopyOp copy, int64_t lanes) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value source = copy.getSource(), target = copy.getTarget();
  auto type = cast<MemRefType>(source.getType());
  int64_t size = type.getShape().back();
  int64_t rest = size % lanes;
  IndexConstants index(b, loc);
  auto move = [&](OpBuilder &at, SmallVector<Value> indices, Value inner,
                  int64_t width) {
    indices.push_back(inner);
    moveVector(at, loc, source, target, indices, width);
  };
  LoopBounds outerLoops(index, type.getShape().drop_back());
  bool looped = size - rest > lanes;
  Value zero = index(0);
  Value full = looped ? index(size - rest) : Value();
  Value step = looped ? index(lanes) : Value();
  Value restAt = rest ? index(size - rest) : Value();
  auto row = [&](OpBuilder &nested, Location, ValueRange ivs) {
    SmallVector<Value> outer(ivs);
    auto vectors = [&](OpBuilder &inner, Location, Value iv, ValueRange) {
      move(inner, outer, iv, lanes);
      scf::YieldOp::create(inner, loc);
    };
    // lanes <= size (memcpyLanes): at least one full vector.
    if (looped)
      scf::ForOp::create(nested, loc, zero, full, step, ValueRange{}, vectors);
    else
      move(nested, outer, zero, lanes);
    if (rest)
      move(nested, outer, restAt, rest);
  };
  scf::buildLoopNest(b, loc, outerLoops.lower, outerLoops.upper,
                     outerLoops.steps, row);
  copy.erase();
}

/// Rewrites each `CopyOpT` under `root` that `lanesOf` gives lanes with
/// `rewrite`.
template <typename CopyOpT>
void vectorizeAll(Operation *root, int64_t (*lanesOf)(CopyOpT, int64_t),
                  void (*rewrite)(CopyOpT, int64_t), int64_t vectorBytes) {
  SmallVector<std::pair<CopyOpT, int64_t>> found;
  root->walk([&](CopyOpT copy) {
    if (int64_t lanes = lanesOf(copy, vectorBytes))
      found.push_back({copy, lanes});
  });
  for (auto [copy, lanes] : found)
    rewrite(copy, lanes);
}

struct AmpcCpuVectorizeCopiesPass
    : ampc::impl::AmpcCpuVectorizeCopiesBase<AmpcCpuVectorizeCopiesPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorBytes < 1) {
      getOperation().emitError("ampc-cpu-vectorize-copies: vector-bytes must "
                               "be positive, got ")
          << int64_t(vectorBytes);
      return signalPassFailure();
    }
    vectorizeAll<linalg::CopyOp>(getOperation(), copyLanes, vectorizeCopy,
                                 vectorBytes);
    vectorizeAll<memref::CopyOp>(getOperation(), memcpyLanes, vectorizeMemcpy,
                                 vectorBytes);
  }
};

} // namespace
