//===- CollectiveCalls.cpp - amp collectives as runtime calls -------------===//
//
// The bufferized collectives of the amp dialect as calls of a back end's
// runtime: each buffer of an amp.all_reduce one blocking call on its data;
// an amp.all_reduce_start a call returning an i64 handle, which its
// amp.all_reduce_wait passes to the wait call. Strided buffers go through a
// contiguous copy (kept until the wait).
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
namespace amp = ampc::amp;

namespace {

/// The runtime function `name` of type `type`, declared once.
func::FuncOp declare(ModuleOp module, StringRef name, FunctionType type) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(name))
    return fn;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto fn = func::FuncOp::create(b, module.getLoc(), name, type);
  fn.setPrivate();
  return fn;
}

/// `(ptr, i64 count, i32 kind)`, returning `results`.
FunctionType bufferCallType(MLIRContext *context, TypeRange results) {
  Builder b(context);
  return FunctionType::get(
      context,
      {LLVM::LLVMPointerType::get(context), b.getI64Type(), b.getI32Type()},
      results);
}

bool isContiguous(MemRefType type) {
  return type.getLayout().isIdentity() ||
         memref::isStaticShapeAndContiguousRowMajor(type);
}

/// The address of `buffer`'s first element and its element count.
std::pair<Value, Value> dataOf(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
  Value bytes = arith::MulIOp::create(
      b, loc, metadata.getOffset(), arith::ConstantIndexOp::create(b, loc, 4));
  Value address = arith::IndexCastOp::create(
      b, loc, b.getI64Type(), arith::AddIOp::create(b, loc, base, bytes));
  Value pointer = LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), address);
  Value count = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d = 0; d < type.getRank(); ++d)
    count = arith::MulIOp::create(b, loc, count,
                                  memref::DimOp::create(b, loc, buffer, d));
  return {pointer, arith::IndexCastOp::create(b, loc, b.getI64Type(), count)};
}

/// `buffer` itself when contiguous, else a contiguous copy of it.
Value contiguous(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (isContiguous(type))
    return buffer;
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(memref::DimOp::create(b, loc, buffer, d));
  Value copy = memref::AllocOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType()), sizes);
  memref::CopyOp::create(b, loc, buffer, copy);
  return copy;
}

/// Copies a contiguous stand-in back into `buffer` and frees it.
void restore(OpBuilder &b, Location loc, Value data, Value buffer) {
  if (data == buffer)
    return;
  memref::CopyOp::create(b, loc, data, buffer);
  memref::DeallocOp::create(b, loc, data);
}

Value kindConstant(OpBuilder &b, Location loc, amp::ReduceKind kind) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(kind)));
}

/// The calls for one bufferized all-reduce.
void lowerAllReduce(amp::AllReduceOp op, func::FuncOp callee) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value kind = kindConstant(b, loc, op.getKind());
  for (Value buffer : op.getBuffers()) {
    Value data = contiguous(b, loc, buffer);
    auto [pointer, count] = dataOf(b, loc, data);
    func::CallOp::create(b, loc, callee, ValueRange{pointer, count, kind});
    restore(b, loc, data, buffer);
  }
  op.erase();
}

/// A start and its wait: the start's call returns the handle the wait's
/// call takes; a strided buffer is communicated through a contiguous copy
/// that lives until the wait.
void lowerStartAndWait(amp::AllReduceStartOp start, func::FuncOp startFn,
                       func::FuncOp waitFn) {
  auto wait =
      cast<amp::AllReduceWaitOp>(*start.getRequest().getUsers().begin());
  OpBuilder b(start);
  Location loc = start.getLoc();
  Value buffer = start.getBuffer();
  Value data = contiguous(b, loc, buffer);
  auto [pointer, count] = dataOf(b, loc, data);
  Value handle =
      func::CallOp::create(
          b, loc, startFn,
          ValueRange{pointer, count, kindConstant(b, loc, start.getKind())})
          .getResult(0);
  b.setInsertionPoint(wait);
  func::CallOp::create(b, wait.getLoc(), waitFn, ValueRange{handle});
  restore(b, wait.getLoc(), data, buffer);
  wait.erase();
  start.erase();
}

} // namespace

LogicalResult ampc::lowerCollectivesToCalls(
    ModuleOp module, const CollectiveEntryPoints &entries, StringRef passName) {
  SmallVector<amp::AllReduceOp> ops;
  SmallVector<amp::AllReduceStartOp> starts;
  WalkResult result = module.walk([&](Operation *op) {
    if (!isa<amp::AllReduceOp, amp::AllReduceStartOp, amp::AllReduceWaitOp>(op))
      return WalkResult::advance();
    if (llvm::any_of(op->getOperandTypes(), llvm::IsaPred<TensorType>)) {
      op->emitOpError("is still on tensors: bufferize before ") << passName;
      return WalkResult::interrupt();
    }
    if (auto reduce = dyn_cast<amp::AllReduceOp>(op))
      ops.push_back(reduce);
    else if (auto start = dyn_cast<amp::AllReduceStartOp>(op))
      starts.push_back(start);
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  MLIRContext *context = module.getContext();
  Builder b(context);
  if (!ops.empty()) {
    func::FuncOp callee =
        declare(module, entries.allReduce, bufferCallType(context, {}));
    for (amp::AllReduceOp op : ops)
      lowerAllReduce(op, callee);
  }
  if (starts.empty())
    return success();
  func::FuncOp startFn =
      declare(module, entries.start, bufferCallType(context, b.getI64Type()));
  func::FuncOp waitFn = declare(module, entries.wait,
                                FunctionType::get(context, b.getI64Type(), {}));
  for (amp::AllReduceStartOp start : starts)
    lowerStartAndWait(start, startFn, waitFn);
  return success();
}
