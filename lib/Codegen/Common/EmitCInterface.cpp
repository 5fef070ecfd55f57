//===- EmitCInterface.cpp - C-callable wrappers for public functions ------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCEMITCINTERFACE
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AmpcEmitCInterfacePass
    : ampc::impl::AmpcEmitCInterfaceBase<AmpcEmitCInterfacePass> {
  void runOnOperation() override {
    getOperation().walk([](func::FuncOp func) {
      if (func.isPublic() && !func.isExternal())
        func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                      UnitAttr::get(func.getContext()));
    });
  }
};
} // namespace
