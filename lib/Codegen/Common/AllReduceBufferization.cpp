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
/// Bufferized, the op is rebuilt on the buffer without its tensor result.
template <typename ConcreteOp>
struct InPlaceCommunication
    : BufferizableOpInterface::ExternalModel<InPlaceCommunication<ConcreteOp>,
                                             ConcreteOp> {
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
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto tensorOp = cast<ConcreteOp>(op);
    FailureOr<Value> buffer =
        getBuffer(rewriter, tensorOp.getBuffer(), options, state);
    if (failed(buffer))
      return failure();
    rewriter.setInsertionPoint(op);
    SmallVector<Value> replacements{*buffer};
    rebuild(rewriter, tensorOp, *buffer, replacements);
    replaceOpWithBufferizedValues(rewriter, op, replacements);
    return success();
  }

private:
  static void rebuild(RewriterBase &rewriter, ampc::amp::AllReduceStartOp op,
                      Value buffer, SmallVector<Value> &replacements) {
    auto start = ampc::amp::AllReduceStartOp::create(
        rewriter, op->getLoc(), Type(), op.getRequest().getType(), op.getKind(),
        buffer);
    replacements.push_back(start.getRequest());
  }
  static void rebuild(RewriterBase &rewriter, ampc::amp::AllReduceWaitOp op,
                      Value buffer, SmallVector<Value> &) {
    ampc::amp::AllReduceWaitOp::create(rewriter, op->getLoc(), Type(),
                                       op.getRequest(), buffer);
  }
};

} // namespace

void ampc::registerAllReduceBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, amp::AmpDialect *) {
    amp::AllReduceOp::attachInterface<AllReduceBufferization>(*context);
    amp::AllReduceStartOp::attachInterface<
        InPlaceCommunication<amp::AllReduceStartOp>>(*context);
    amp::AllReduceWaitOp::attachInterface<
        InPlaceCommunication<amp::AllReduceWaitOp>>(*context);
  });
}
