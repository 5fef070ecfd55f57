//===- LowerAmp.cpp - amp ops to arith with the CPU's conversions ---------===//
//
// ampc-cpu-lower-amp: the amp dialect's lowering (populateAmpToArithPatterns)
// with the CPU's f32 -> f16 conversion plugged in where the target has it,
// without the NaN mapping where only arithmetic reads the result, and
// f32 -> bf16 casts left as arith.truncf for ampc-cpu-bf16-conversions.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace ampc::amp;

namespace ampc {
#define GEN_PASS_DEF_AMPCCPULOWERAMP
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

namespace {

/// `element` in the shape of `like` (a scalar or a vector).
Type shapedLike(Type like, Type element) {
  if (auto vector = dyn_cast<VectorType>(like))
    return vector.clone(element);
  return element;
}

/// f32 -> f16 with IEEE overflow as `arith.truncf` (F16C's vcvtps2ph, or
/// AArch64's fcvt: nearest even, subnormals, overflow to inf), with NaN
/// mapped to the integer path's (0x7e00 with the input's sign) by quieting
/// it before the conversion: an unordered comparison and a masked bit
/// operation on AVX-512, where mending the f16 result took five
/// instructions. Null for other casts.
Value encodeHalf(OpBuilder &b, Location loc, Value f32, FloatType to,
                 OverflowMode overflow) {
  Type like = f32.getType();
  if (!to.isF16() || overflow != OverflowMode::nonfinite ||
      !getElementTypeOrSelf(like).isF32())
    return Value();
  return arith::TruncFOp::create(b, loc, shapedLike(like, to),
                                 quietNaNs(b, loc, f32));
}

/// f32 -> bf16 with IEEE overflow as `arith.truncf`, whose semantics are
/// the integer path's but for a NaN's payload; ampc-cpu-bf16-conversions
/// lowers it after vectorization, with vcvtneps2bf16 where that gives the
/// same bits. Null for other casts.
Value truncateToBFloat(OpBuilder &b, Location loc, Value f32, FloatType to,
                       OverflowMode overflow) {
  Type like = f32.getType();
  if (!to.isBF16() || overflow != OverflowMode::nonfinite ||
      !getElementTypeOrSelf(like).isF32())
    return Value();
  return arith::TruncFOp::create(b, loc, shapedLike(like, to), f32);
}

/// Ops whose results carry their operands' elements unchanged (moved,
/// reshaped, widened, broadcast): a NaN among them reaches the results.
/// (Linalg copies and transposes are followed through their bodies.)
bool forwardsElements(Operation *op) {
  return isa<arith::ExtFOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp,
             tensor::ExtractSliceOp, tensor::InsertSliceOp, tensor::CastOp,
             tensor::ExtractOp, tensor::PadOp, linalg::PackOp,
             vector::TransferReadOp, vector::TransferWriteOp,
             vector::BroadcastOp, vector::ShapeCastOp, vector::ExtractOp,
             vector::TransposeOp>(op);
}

/// Arithmetic whose NaN result has no specified payload (IEEE 754 and
/// LLVM leave it open): what a NaN operand's payload was cannot be read
/// from it.
bool hidesNaNPayload(Operation *op) {
  return isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
             math::FmaOp, vector::FMAOp, vector::ContractionOp>(op);
}

/// The values a use of a tracked value makes carry its elements, appended
/// to `next`; false where the use could show them otherwise (returned,
/// stored, compared, selected, passed to an op this does not know).
bool followUse(OpOperand &use, SmallVectorImpl<Value> &next) {
  Operation *user = use.getOwner();
  if (hidesNaNPayload(user))
    return true;
  if (forwardsElements(user)) {
    // Into a buffer (no result): where it goes is not followed.
    llvm::append_range(next, user->getResults());
    return user->getNumResults() != 0;
  }
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(user)) {
    if (!linalgOp.hasPureTensorSemantics())
      return false;
    // An init's elements reach the result only through its block argument
    // (every output element is yielded).
    next.push_back(linalgOp.getMatchingBlockArgument(&use));
    return true;
  }
  if (auto forOp = dyn_cast<scf::ForOp>(user)) {
    BlockArgument iterArg = forOp.getTiedLoopRegionIterArg(&use);
    if (!iterArg)
      return false;
    next.push_back(iterArg);
    next.push_back(forOp.getTiedLoopResult(&use));
    return true;
  }
  unsigned index = use.getOperandNumber();
  if (isa<linalg::YieldOp>(user)) {
    next.push_back(user->getParentOp()->getResult(index));
    return true;
  }
  if (isa<scf::YieldOp>(user)) {
    Operation *parent = user->getParentOp();
    next.push_back(parent->getResult(index));
    if (auto forOp = dyn_cast<scf::ForOp>(parent))
      next.push_back(forOp.getRegionIterArgs()[index]);
    return isa<scf::ForOp, scf::IfOp>(parent);
  }
  return false;
}

/// Whether every element of `value` reaches only arithmetic that hides a
/// NaN's payload, through ops that move or widen it: then which NaN a cast
/// makes cannot be told from the program's results.
bool onlyArithmeticReads(Value value) {
  SmallVector<Value> worklist = {value};
  llvm::DenseSet<Value> seen;
  while (!worklist.empty()) {
    Value current = worklist.pop_back_val();
    if (!seen.insert(current).second)
      continue;
    for (OpOperand &use : current.getUses())
      if (!followUse(use, worklist))
        return false;
  }
  return true;
}

/// f32 -> f16 casts (IEEE overflow, no scale) read only by arithmetic: one
/// `arith.truncf` each, without the NaN quieting of `encodeHalf`. Which
/// quiet NaN the conversion makes is not observable there, and the
/// quieting took three instructions per vector.
void truncateUnobservedNaNs(func::FuncOp func) {
  SmallVector<CastOp> casts;
  func.walk([&](CastOp cast) {
    if (cast.getResultElementType().isF16() && !cast.getScale() &&
        cast.getSourceElementType().isF32() &&
        cast.getOverflowMode() == OverflowMode::nonfinite &&
        cast.getRoundingMode() == RoundingMode::nearest_even &&
        onlyArithmeticReads(cast.getResult()))
      casts.push_back(cast);
  });
  for (CastOp cast : casts) {
    OpBuilder b(cast);
    Value truncated = arith::TruncFOp::create(b, cast.getLoc(), cast.getType(),
                                              cast.getInput());
    cast.getResult().replaceAllUsesWith(truncated);
    cast.erase();
  }
}

struct AmpcCpuLowerAmpPass
    : ampc::impl::AmpcCpuLowerAmpBase<AmpcCpuLowerAmpPass> {
  using Base::Base;
  void runOnOperation() override {
    if (f16Conversions)
      truncateUnobservedNaNs(getOperation());
    HardwareCastEncoder encoder;
    if (f16Conversions || bf16Conversions)
      encoder = [&](OpBuilder &b, Location loc, Value f32, FloatType to,
                    OverflowMode overflow) -> Value {
        if (to.isF16() && f16Conversions)
          return encodeHalf(b, loc, f32, to, overflow);
        if (to.isBF16() && bf16Conversions)
          return truncateToBFloat(b, loc, f32, to, overflow);
        return Value();
      };
    if (failed(lowerAmpToArith(getOperation(), encoder)))
      signalPassFailure();
  }
};

} // namespace
