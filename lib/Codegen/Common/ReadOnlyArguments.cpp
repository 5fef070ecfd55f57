//===- ReadOnlyArguments.cpp - callers keep their inputs ------------------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCREADONLYARGUMENTS
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AmpcReadOnlyArgumentsPass
    : ampc::impl::AmpcReadOnlyArgumentsBase<AmpcReadOnlyArgumentsPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    auto readOnly = BoolAttr::get(context, false);
    getOperation().walk([&](func::FuncOp func) {
      if (!func.isPublic() || func.isExternal())
        return;
      for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
        if (isa<TensorType>(type) &&
            !func.getArgAttr(
                unsigned(i),
                bufferization::BufferizationDialect::kWritableAttrName))
          func.setArgAttr(
              unsigned(i),
              bufferization::BufferizationDialect::kWritableAttrName, readOnly);
    });
  }
};
} // namespace
