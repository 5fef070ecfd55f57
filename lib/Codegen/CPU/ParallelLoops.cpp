//===- ParallelLoops.cpp - parallel loops on OpenMP threads ---------------===//
//
// ampc-cpu-parallel-loops: scf.forall -> scf.parallel -> OpenMP (upstream
// conversions), then the alloca scopes around allocation-free iterations are
// dissolved.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/PassManager.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUPARALLELLOOPS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// Inlines `scope` into its parent if nothing in it allocates on the stack
/// (then the scope frees nothing).
void dissolveIfAllocationFree(RewriterBase &rewriter,
                              memref::AllocaScopeOp scope) {
  bool allocates = false;
  scope.getBodyRegion().walk([&](Operation *op) {
    if (isa<memref::AllocaOp, memref::AllocaScopeOp>(op))
      allocates = true;
  });
  if (allocates || !scope.getBodyRegion().hasOneBlock())
    return;
  Block &body = scope.getBodyRegion().front();
  auto terminator = cast<memref::AllocaScopeReturnOp>(body.getTerminator());
  SmallVector<Value> results(terminator.getResults());
  rewriter.eraseOp(terminator);
  rewriter.inlineBlockBefore(&body, scope);
  rewriter.replaceOp(scope, results);
}

struct AmpcCpuParallelLoopsPass
    : ampc::impl::AmpcCpuParallelLoopsBase<AmpcCpuParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (threads < 0) {
      getOperation().emitError("threads must be 0 (all cores) or more, not ")
          << static_cast<int64_t>(threads);
      return signalPassFailure();
    }
    OpPassManager pm("builtin.module");
    pm.nest<func::FuncOp>().addPass(createForallToParallelLoopPass());
    if (threads != 1) {
      ConvertSCFToOpenMPPassOptions openmp;
      openmp.numThreads = static_cast<unsigned>(threads);
      pm.addPass(createConvertSCFToOpenMPPass(openmp));
    }
    if (failed(runPipeline(pm, getOperation())))
      return signalPassFailure();
    SmallVector<memref::AllocaScopeOp> scopes;
    getOperation().walk(
        [&](memref::AllocaScopeOp scope) { scopes.push_back(scope); });
    IRRewriter rewriter(&getContext());
    for (memref::AllocaScopeOp scope : llvm::reverse(scopes))
      dissolveIfAllocationFree(rewriter, scope);
  }
};

} // namespace
