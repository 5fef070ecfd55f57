//===- AllReduceBufferization.cpp - amp.all_reduce in One-Shot Bufferize --===//
//
// amp.all_reduce is destination-passing: each tensor is combined in place,
// so its result is its tensor's buffer. Bufferized, the op takes those
// buffers and has no results (the back ends lower that form). The two
// halves of a non-blocking all-reduce work the same way: the start's
// in-flight tensor and the wait's result are the bucket's buffer.
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

/// The start and the wait each read and write their tensor's buffer in
/// place; their tensor result (in flight, combined) is that buffer.
template <typename ConcreteModel, typename ConcreteOp>
struct InPlaceCommunication
    : BufferizableOpInterface::ExternalModel<ConcreteModel, ConcreteOp> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const AnalysisState &) const {
    return isa<TensorType>(operand.get().getType());
  }
  bool bufferizesToMemoryWrite(Operation *op, OpOperand &operand,
                               const AnalysisState &) const {
    return isa<TensorType>(operand.get().getType());
  }
  AliasingValueList getAliasingValues(Operation *op, OpOperand &operand,
                                      const AnalysisState &) const {
    if (!isa<TensorType>(operand.get().getType()))
      return {};
    return {{op->getResult(0), BufferRelation::Equivalent}};
  }
};

struct AllReduceStartBufferization
    : InPlaceCommunication<AllReduceStartBufferization,
                           ampc::amp::AllReduceStartOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto start = cast<ampc::amp::AllReduceStartOp>(op);
    FailureOr<Value> buffer =
        getBuffer(rewriter, start.getBuffer(), options, state);
    if (failed(buffer))
      return failure();
    rewriter.setInsertionPoint(op);
    auto bufferized = ampc::amp::AllReduceStartOp::create(
        rewriter, op->getLoc(), Type(), start.getRequest().getType(),
        start.getKind(), *buffer);
    replaceOpWithBufferizedValues(rewriter, op,
                                  {*buffer, bufferized.getRequest()});
    return success();
  }
};

struct AllReduceWaitBufferization
    : InPlaceCommunication<AllReduceWaitBufferization,
                           ampc::amp::AllReduceWaitOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto wait = cast<ampc::amp::AllReduceWaitOp>(op);
    FailureOr<Value> buffer =
        getBuffer(rewriter, wait.getBuffer(), options, state);
    if (failed(buffer))
      return failure();
    rewriter.setInsertionPoint(op);
    ampc::amp::AllReduceWaitOp::create(rewriter, op->getLoc(), Type(),
                                       wait.getRequest(), *buffer);
    replaceOpWithBufferizedValues(rewriter, op, *buffer);
    return success();
  }
};

} // namespace

void ampc::registerAllReduceBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, amp::AmpDialect *) {
    amp::AllReduceOp::attachInterface<AllReduceBufferization>(*context);
    amp::AllReduceStartOp::attachInterface<AllReduceStartBufferization>(
        *context);
    amp::AllReduceWaitOp::attachInterface<AllReduceWaitBufferization>(*context);
  });
}
