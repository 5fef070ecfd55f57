//===- DecomposeAggregates.cpp - linalg.softmax and friends to linalg -----===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/PatternMatch.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCDECOMPOSEAGGREGATES
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AmpcDecomposeAggregatesPass
    : ampc::impl::AmpcDecomposeAggregatesBase<AmpcDecomposeAggregatesPass> {
  void runOnOperation() override {
    SmallVector<linalg::AggregatedOpInterface> aggregates;
    getOperation().walk(
        [&](linalg::AggregatedOpInterface op) { aggregates.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::AggregatedOpInterface op : aggregates) {
      rewriter.setInsertionPoint(op);
      FailureOr<SmallVector<Value>> replacements =
          op.decomposeOperation(rewriter);
      if (failed(replacements)) {
        op->emitOpError("cannot be decomposed into linalg ops");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, *replacements);
    }
  }
};
} // namespace
