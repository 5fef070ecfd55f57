//===- LowerAmp.cpp - amp ops to arith with NVIDIA conversions ------------===//
//
// ampc-gpu-lower-amp: the amp dialect's lowering (populateAmpToArithPatterns)
// with NVIDIA's conversion instructions plugged in where they give the
// integer path's bits.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/NVGPU/Passes.h"

#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;
using namespace ampc::amp;

namespace ampc {
#define GEN_PASS_DEF_AMPCGPULOWERAMP
#include "ampc/Codegen/NVGPU/Passes.h.inc"
} // namespace ampc

namespace {

/// NVIDIA's conversion instructions for an f32 scalar, where they compute
/// what the integer path computes: bf16/f16 with IEEE overflow
/// (cvt.rn.bf16.f32, cvt.rn.f16.f32, from sm_80) and saturating E4M3/E5M2
/// (cvt.rn.satfinite.e4m3x2.f32 / e5m2x2, from sm_89). Both round to nearest
/// even with subnormals; only the NaN they produce differs, so NaN takes the
/// integer path's (the format's quiet NaN with the input's sign). Null where
/// no instruction applies.
Value encodeWithPtx(OpBuilder &b, Location loc, Value f32, FloatType to,
                    OverflowMode overflow, int64_t chip) {
  if (!f32.getType().isF32() || chip < 80)
    return Value();
  bool fp8 = isFp8Type(to);
  Value hardware;
  if (!fp8 && (to.isBF16() || to.isF16()) &&
      overflow == OverflowMode::nonfinite) {
    hardware = arith::TruncFOp::create(b, loc, to, f32);
  } else if (fp8 && chip >= 89 && overflow == OverflowMode::saturate) {
    // Two f32 in, two fp8 out: the value goes into the low byte.
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    std::string asmText = std::string("cvt.rn.satfinite.") +
                          (isa<Float8E4M3FNType>(to) ? "e4m3x2" : "e5m2x2") +
                          ".f32 $0, $1, $2;";
    auto pair = LLVM::InlineAsmOp::create(
        b, loc, b.getI16Type(), ValueRange{zero, f32}, asmText, "=h,f,f",
        /*has_side_effects=*/false, /*is_align_stack=*/false,
        LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
        ArrayAttr());
    Value low = arith::TruncIOp::create(b, loc, b.getI8Type(), pair.getRes());
    hardware = arith::BitcastOp::create(b, loc, to, low);
  } else {
    return Value();
  }
  return withQuietNaN(b, loc, f32, hardware);
}

struct AmpcGpuLowerAmpPass
    : ampc::impl::AmpcGpuLowerAmpBase<AmpcGpuLowerAmpPass> {
  using Base::Base;
  void runOnOperation() override {
    int64_t sm = chip;
    HardwareCastEncoder ptx = [sm](OpBuilder &b, Location loc, Value f32,
                                   FloatType to, OverflowMode overflow) {
      return encodeWithPtx(b, loc, f32, to, overflow, sm);
    };
    // From sm_80 a cast to bf16 is one cvt (to fp8 from sm_89), and its
    // widening another: the instructions stay.
    if (failed(lowerAmpToArith(getOperation(), ptx,
                               /*roundWidenedCasts=*/sm < 80)))
      signalPassFailure();
  }
};

} // namespace
