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

/// Lanes of the vectors that copy `copy`: the largest divisor of its
/// innermost size that fits `vectorBytes`; 0 where none of at least two
/// lanes does, or the copy is not one between such memrefs.
int64_t copyLanes(linalg::CopyOp copy, int64_t vectorBytes) {
  if (!copy.hasPureBufferSemantics())
    return 0;
  auto source = dyn_cast<MemRefType>(copy.getInputs()[0].getType());
  auto target = dyn_cast<MemRefType>(copy.getOutputs()[0].getType());
  if (!source || !target || source.getShape() != target.getShape() ||
      source.getElementType() != target.getElementType() ||
      !innermostContiguous(source) || !innermostContiguous(target) ||
      !source.getElementType().isIntOrFloat())
    return 0;
  int64_t bits = source.getElementTypeBitWidth();
  if (bits % 8)
    return 0;
  int64_t lanes =
      ampc::cpu::pickTile(source.getShape().back(), vectorBytes * 8 / bits);
  return lanes >= 2 ? lanes : 0;
}

/// Replaces `copy` by a loop nest over its outer dimensions and its
/// innermost one in steps of `lanes`, each step one vector read and write.
void vectorizeCopy(linalg::CopyOp copy, int64_t lanes) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value source = copy.getInputs()[0], target = copy.getOutputs()[0];
  auto type = cast<MemRefType>(source.getType());
  llvm::SmallDenseMap<int64_t, Value> constants;
  auto index = [&](int64_t value) {
    Value &constant = constants[value];
    if (!constant)
      constant = arith::ConstantIndexOp::create(b, loc, value);
    return constant;
  };
  SmallVector<Value> lower, upper, steps;
  for (int64_t size : type.getShape()) {
    lower.push_back(index(0));
    upper.push_back(index(size));
    steps.push_back(index(1));
  }
  steps.back() = index(lanes);
  auto vectorType = VectorType::get({lanes}, type.getElementType());
  scf::buildLoopNest(
      b, loc, lower, upper, steps,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange ivs) {
        Value padding =
            ub::PoisonOp::create(nested, nestedLoc, type.getElementType());
        auto read = vector::TransferReadOp::create(
            nested, nestedLoc, vectorType, source, ivs, padding,
            ArrayRef<bool>{true});
        vector::TransferWriteOp::create(nested, nestedLoc, read, target, ivs,
                                        ArrayRef<bool>{true});
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
  auto source = dyn_cast<MemRefType>(copy.getSource().getType());
  auto target = dyn_cast<MemRefType>(copy.getTarget().getType());
  if (!source || !target || source.getShape() != target.getShape() ||
      source.getElementType() != target.getElementType() ||
      !innermostContiguous(source) || !innermostContiguous(target) ||
      !source.getElementType().isIntOrFloat())
    return 0;
  int64_t bits = source.getElementTypeBitWidth();
  if (bits % 8 ||
      source.getNumElements() * bits / 8 > kMaxVectorizedMemcpyBytes)
    return 0;
  int64_t lanes = std::min(source.getShape().back(),
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
  Type element = type.getElementType();
  int64_t size = type.getShape().back();
  int64_t rest = size % lanes;
  llvm::SmallDenseMap<int64_t, Value> constants;
  auto index = [&](int64_t value) {
    Value &constant = constants[value];
    if (!constant)
      constant = arith::ConstantIndexOp::create(b, loc, value);
    return constant;
  };
  auto move = [&](OpBuilder &at, SmallVector<Value> indices, Value inner,
                  int64_t width) {
    indices.push_back(inner);
    Value padding = ub::PoisonOp::create(at, loc, element);
    auto read = vector::TransferReadOp::create(
        at, loc, VectorType::get({width}, element), source, indices, padding,
        ArrayRef<bool>{true});
    vector::TransferWriteOp::create(at, loc, read, target, indices,
                                    ArrayRef<bool>{true});
  };
  SmallVector<Value> lower, upper, steps;
  for (int64_t outer : type.getShape().drop_back()) {
    lower.push_back(index(0));
    upper.push_back(index(outer));
    steps.push_back(index(1));
  }
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
    if (looped)
      scf::ForOp::create(nested, loc, zero, full, step, ValueRange{}, vectors);
    else if (size >= lanes)
      move(nested, outer, zero, lanes);
    if (rest)
      move(nested, outer, restAt, rest);
  };
  scf::buildLoopNest(b, loc, lower, upper, steps, row);
  copy.erase();
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
    SmallVector<std::pair<linalg::CopyOp, int64_t>> copies;
    getOperation().walk([&](linalg::CopyOp copy) {
      if (int64_t lanes = copyLanes(copy, vectorBytes))
        copies.push_back({copy, lanes});
    });
    for (auto [copy, lanes] : copies)
      vectorizeCopy(copy, lanes);
    SmallVector<std::pair<memref::CopyOp, int64_t>> memcpys;
    getOperation().walk([&](memref::CopyOp copy) {
      if (int64_t lanes = memcpyLanes(copy, vectorBytes))
        memcpys.push_back({copy, lanes});
    });
    for (auto [copy, lanes] : memcpys)
      vectorizeMemcpy(copy, lanes);
  }
};

} // namespace
