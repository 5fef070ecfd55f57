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

/// An integer constant of `type` (a scalar or a vector, splat).
Value intConstant(OpBuilder &b, Location loc, Type type, int64_t value) {
  Type element = getElementTypeOrSelf(type);
  TypedAttr attr = b.getIntegerAttr(element, value);
  if (auto vector = dyn_cast<VectorType>(type))
    attr = DenseElementsAttr::get(vector, attr);
  return arith::ConstantOp::create(b, loc, attr);
}

/// f32 -> f16 with IEEE overflow as `arith.truncf` (F16C's vcvtps2ph, or
/// AArch64's fcvt: nearest even, subnormals, overflow to inf), with NaN
/// mapped to the integer path's (0x7e00 with the input's sign). Null for
/// other casts.
Value encodeHalf(OpBuilder &b, Location loc, Value f32, FloatType to,
                 OverflowMode overflow) {
  Type like = f32.getType();
  if (!to.isF16() || overflow != OverflowMode::nonfinite ||
      !getElementTypeOrSelf(like).isF32())
    return Value();
  Value hardware = arith::TruncFOp::create(b, loc, shapedLike(like, to), f32);
  Type i32 = shapedLike(like, b.getI32Type());
  Type i16 = shapedLike(like, b.getI16Type());
  Value bits = arith::BitcastOp::create(b, loc, i32, f32);
  Value upper = arith::TruncIOp::create(
      b, loc, i16,
      arith::ShRUIOp::create(b, loc, bits, intConstant(b, loc, i32, 16)));
  Value sign =
      arith::AndIOp::create(b, loc, upper, intConstant(b, loc, i16, 0x8000));
  Value nanBits =
      arith::OrIOp::create(b, loc, sign, intConstant(b, loc, i16, 0x7e00));
  Value isNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, f32, f32);
  return arith::SelectOp::create(
      b, loc, isNaN,
      arith::BitcastOp::create(b, loc, hardware.getType(), nanBits), hardware);
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
