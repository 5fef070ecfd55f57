//===- AllReduceBufferization.cpp - amp.all_reduce in One-Shot Bufferize --===//
//
// amp.all_reduce is destination-passing: each tensor is combined in place,
// so its result is its tensor's buffer. Bufferized, the op takes those
// buffers and has no results (the back ends lower that form).
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {

struct AllReduceBufferization
    : DstBufferizableOpInterfaceExternalModel<AllReduceBufferization,
                                              ampc::amp::AllReduceOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto reduce = cast<ampc::amp::AllReduceOp>(op);
    SmallVector<Value> buffers;
    for (Value tensor : reduce.getBuffers()) {
      FailureOr<Value> buffer = getBuffer(rewriter, tensor, options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    ampc::amp::AllReduceOp::create(rewriter, op->getLoc(), TypeRange{},
                                   reduce.getKind(), buffers);
    replaceOpWithBufferizedValues(rewriter, op, buffers);
    return success();
  }
};

} // namespace

void ampc::registerAllReduceBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, amp::AmpDialect *) {
    amp::AllReduceOp::attachInterface<AllReduceBufferization>(*context);
  });
}
