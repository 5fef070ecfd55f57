//===- GpuExpandMath.cpp - self-contained math in kernels -----------------===//

#include "ampc/Codegen/NVGPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace ampc {
#define GEN_PASS_DEF_AMPCGPUEXPANDMATH
#include "ampc/Codegen/NVGPU/Passes.h.inc"
} // namespace ampc

namespace {
/// math.X on a scalar f32/f64 -> a call of the generic LLVM intrinsic by
/// name, which the NVPTX back end turns into the PTX instruction (the NVVM
/// conversion would otherwise call libdevice: __nv_floorf, __nv_sqrtf).
template <typename MathOp>
struct ToIntrinsic : OpRewritePattern<MathOp> {
  ToIntrinsic(MLIRContext *context, StringRef name)
      : OpRewritePattern<MathOp>(context), name(name) {}
  LogicalResult matchAndRewrite(MathOp op,
                                PatternRewriter &rewriter) const override {
    Type type = op->getResult(0).getType();
    if (!type.isF32() && !type.isF64())
      return failure();
    std::string intrinsic =
        "llvm." + name + (type.isF32() ? ".f32" : ".f64");
    rewriter.replaceOpWithNewOp<LLVM::CallIntrinsicOp>(
        op, type, rewriter.getStringAttr(intrinsic), op->getOperands());
    return success();
  }
  std::string name;
};

struct AmpcGpuExpandMathPass
    : ampc::impl::AmpcGpuExpandMathBase<AmpcGpuExpandMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns, {});
    populateMathF32ExpansionPatterns(patterns,
                                           [](StringRef) { return true; });
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef) { return true; });
    patterns.add<ToIntrinsic<math::FloorOp>>(&getContext(), "floor");
    patterns.add<ToIntrinsic<math::CeilOp>>(&getContext(), "ceil");
    patterns.add<ToIntrinsic<math::SqrtOp>>(&getContext(), "sqrt");
    patterns.add<ToIntrinsic<math::AbsFOp>>(&getContext(), "fabs");
    patterns.add<ToIntrinsic<math::FmaOp>>(&getContext(), "fma");
    patterns.add<ToIntrinsic<math::CopySignOp>>(&getContext(), "copysign");
    patterns.add<ToIntrinsic<math::TruncOp>>(&getContext(), "trunc");
    patterns.add<ToIntrinsic<math::RoundEvenOp>>(&getContext(), "roundeven");
    FrozenRewritePatternSet frozen(std::move(patterns));
    for (auto gpuModule : getOperation().getOps<gpu::GPUModuleOp>())
      if (failed(applyPatternsGreedily(gpuModule, frozen)))
        return signalPassFailure();
  }
};
} // namespace
