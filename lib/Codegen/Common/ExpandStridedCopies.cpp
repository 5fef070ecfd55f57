//===- ExpandStridedCopies.cpp - strided memref.copy to linalg.copy -------===//

#include "ampc/Codegen/Common/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCEXPANDSTRIDEDCOPIES
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {
struct AmpcExpandStridedCopiesPass
    : ampc::impl::AmpcExpandStridedCopiesBase<AmpcExpandStridedCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> strided;
    getOperation().walk([&](memref::CopyOp copy) {
      auto contiguous = [](Value v) {
        auto type = dyn_cast<MemRefType>(v.getType());
        return type && memref::isStaticShapeAndContiguousRowMajor(type);
      };
      if (!contiguous(copy.getSource()) || !contiguous(copy.getTarget()))
        strided.push_back(copy);
    });
    for (memref::CopyOp copy : strided) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
  }
};
} // namespace
