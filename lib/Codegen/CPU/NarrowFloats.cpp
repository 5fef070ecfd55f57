//===- NarrowFloats.cpp - bf16/f16 arithmetic in user IR ------------------===//
//
// ampc-cpu-narrow-floats: arithmetic on bf16 (f16 without hardware
// conversions) computed in f32, and the conversions LLVM would lower to
// soft-float calls made amp.casts.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUNARROWFLOATS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

struct CpuNarrowFloatsPass
    : ampc::impl::AmpcCpuNarrowFloatsBase<CpuNarrowFloatsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    // Arithmetic in f32: leaves extf/truncf around each op.
    OpPassManager emulate(func::FuncOp::getOperationName());
    arith::ArithEmulateUnsupportedFloatsOptions options;
    options.sourceTypeStrs.push_back("bf16");
    if (!f16Conversions)
      options.sourceTypeStrs.push_back("f16");
    emulate.addPass(arith::createArithEmulateUnsupportedFloats(options));
    if (failed(runPipeline(emulate, fn)))
      return signalPassFailure();
    // The conversions that would be soft-float calls become amp.casts.
    WalkResult walk = fn.walk([&](Operation *op) {
      if (!isa<arith::TruncFOp, arith::ExtFOp>(op) || !needsCast(op))
        return WalkResult::advance();
      Type from = getElementTypeOrSelf(op->getOperand(0).getType());
      if (!from.isF32() && !getElementTypeOrSelf(op->getResult(0)).isF32()) {
        op->emitOpError("converts ")
            << from << " to " << getElementTypeOrSelf(op->getResult(0))
            << ", which the CPU back end cannot do exactly; go through f32 "
               "where that is what is meant";
        return WalkResult::interrupt();
      }
      OpBuilder b(op);
      Value cast = ampc::amp::CastOp::create(
          b, op->getLoc(), op->getResult(0).getType(), op->getOperand(0));
      op->getResult(0).replaceAllUsesWith(cast);
      op->erase();
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }

  /// True for a conversion LLVM would lower to a soft-float call here.
  bool needsCast(Operation *op) {
    Type from = getElementTypeOrSelf(op->getOperand(0).getType());
    Type to = getElementTypeOrSelf(op->getResult(0).getType());
    bool half = !f16Conversions;
    if (isa<arith::TruncFOp>(op))
      return to.isBF16() || (half && to.isF16());
    return half && from.isF16();
  }
};

} // namespace
