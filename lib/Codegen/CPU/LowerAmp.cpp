//===- LowerAmp.cpp - amp ops to arith with the CPU's conversions ---------===//
//
// ampc-cpu-lower-amp: the amp dialect's lowering (populateAmpToArithPatterns)
// with the CPU's f32 -> f16 conversion plugged in where the target has it.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "ampc/Dialect/Amp/Transforms/Passes.h"

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

struct AmpcCpuLowerAmpPass
    : ampc::impl::AmpcCpuLowerAmpBase<AmpcCpuLowerAmpPass> {
  using Base::Base;
  void runOnOperation() override {
    HardwareCastEncoder encoder;
    if (f16Conversions)
      encoder = encodeHalf;
    if (failed(lowerAmpToArith(getOperation(), encoder)))
      signalPassFailure();
  }
};

} // namespace
