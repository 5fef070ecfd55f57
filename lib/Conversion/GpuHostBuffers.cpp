//===- GpuHostBuffers.cpp - host buffers that kernels can reach -----------===//

#include "ampc/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCGPUHOSTBUFFERS
#include "ampc/Conversion/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AmpcGpuHostBuffersPass
    : ampc::impl::AmpcGpuHostBuffersBase<AmpcGpuHostBuffersPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      SmallVector<memref::AllocOp> allocs;
      SmallVector<memref::DeallocOp> deallocs;
      SmallVector<memref::GetGlobalOp> globals;
      fn.walk([&](Operation *op) {
        if (auto alloc = dyn_cast<memref::AllocOp>(op))
          allocs.push_back(alloc);
        else if (auto dealloc = dyn_cast<memref::DeallocOp>(op))
          deallocs.push_back(dealloc);
        else if (auto global = dyn_cast<memref::GetGlobalOp>(op))
          globals.push_back(global);
      });
      auto sharedAlloc = [](OpBuilder &b, Location loc, MemRefType type,
                            ValueRange dynamicSizes) {
        return gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                                    /*asyncDependencies=*/ValueRange(),
                                    dynamicSizes, /*symbolOperands=*/
                                    ValueRange(), /*hostShared=*/true)
            .getMemref();
      };
      for (memref::AllocOp alloc : allocs) {
        OpBuilder b(alloc);
        Value shared = sharedAlloc(b, alloc.getLoc(), alloc.getType(),
                                   alloc.getDynamicSizes());
        alloc.replaceAllUsesWith(shared);
        alloc.erase();
      }
      // The runtime lowering of gpu.dealloc is the asynchronous form: free
      // on a stream of its own and wait for it.
      auto free = [](OpBuilder &b, Location loc, Value memref) {
        Type token = gpu::AsyncTokenType::get(b.getContext());
        Value start = gpu::WaitOp::create(b, loc, token, ValueRange())
                          .getAsyncToken();
        Value done = gpu::DeallocOp::create(b, loc, token, ValueRange{start},
                                            memref)
                         .getAsyncToken();
        gpu::WaitOp::create(b, loc, Type(), ValueRange{done});
      };
      for (memref::DeallocOp dealloc : deallocs) {
        OpBuilder b(dealloc);
        free(b, dealloc.getLoc(), dealloc.getMemref());
        dealloc.erase();
      }
      SmallVector<Value> copies;
      for (memref::GetGlobalOp global : globals) {
        OpBuilder b(global->getNextNode());
        Value shared = sharedAlloc(b, global.getLoc(), global.getType(), {});
        global.getResult().replaceAllUsesWith(shared);
        memref::CopyOp::create(b, global.getLoc(), global.getResult(), shared);
        copies.push_back(shared);
      }
      if (copies.empty())
        continue;
      fn.walk([&](func::ReturnOp ret) {
        OpBuilder b(ret);
        for (Value copy : copies)
          free(b, ret.getLoc(), copy);
      });
    }
  }
};
} // namespace

namespace ampc {
#define GEN_PASS_DEF_AMPCCHECKGPUTARGET
#include "ampc/Conversion/Passes.h.inc"
} // namespace ampc

namespace {
struct AmpcCheckGpuTargetPass
    : ampc::impl::AmpcCheckGpuTargetBase<AmpcCheckGpuTargetPass> {
  using Base::Base;
  void runOnOperation() override {
    auto bad = [&](const Twine &message) {
      getOperation().emitError() << "ampc-gpu-pipeline: " << message;
      signalPassFailure();
    };
    StringRef chipRef(chip);
    unsigned number = 0;
    if (!chipRef.consume_front("sm_") ||
        chipRef.take_while(llvm::isDigit).getAsInteger(10, number) ||
        number < 80)
      return bad("unsupported chip '" + chip +
                 "'; expected sm_80 or newer (sm_90 for H100/H200)");
    StringRef featuresRef(features);
    unsigned ptx = 0;
    if (!featuresRef.consume_front("+ptx") ||
        featuresRef.getAsInteger(10, ptx))
      return bad("unsupported features '" + features +
                 "'; expected +ptx<version>, e.g. +ptx80");
    if (format != "isa" && format != "bin" && format != "fatbin")
      return bad("unknown format '" + format +
                 "'; expected isa (PTX), bin (cubin) or fatbin");
  }
};
} // namespace

namespace ampc {
#define GEN_PASS_DEF_AMPCGPUEXPANDMATH
#include "ampc/Conversion/Passes.h.inc"
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
