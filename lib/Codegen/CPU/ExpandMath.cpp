//===- ExpandMath.cpp - math functions as vectorizable arithmetic ---------===//
//
// ampc-cpu-expand-math: f32 math.tanh (GELU's, on the CPU) becomes a
// rational approximation in plain arithmetic (upstream's polynomial
// approximation pattern), so that it is vectorized with the loop around it
// instead of becoming one scalar libm call per lane.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUEXPANDMATH
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// A scalar or vector of f32.
bool isF32ScalarOrVector(Type type) {
  return isa<FloatType, VectorType>(type) && getElementTypeOrSelf(type).isF32();
}

struct AmpcCpuExpandMathPass
    : ampc::impl::AmpcCpuExpandMathBase<AmpcCpuExpandMathPass> {
  void runOnOperation() override {
    SmallVector<math::TanhOp> tanhs;
    getOperation()->walk([&](math::TanhOp op) {
      if (isF32ScalarOrVector(op.getType()))
        tanhs.push_back(op);
    });
    if (tanhs.empty())
      return;
    RewritePatternSet patterns(&getContext());
    populatePolynomialApproximateTanhPattern(patterns);
    SmallVector<Operation *> ops(tanhs.begin(), tanhs.end());
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyOpPatternsGreedily(ops, std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
