//===- LowerCollectives.cpp - amp.all_reduce as runtime calls -------------===//
//
// ampc-cpu-lower-collectives: each buffer of a bufferized amp.all_reduce
// becomes a call of the runtime's ampc_rt_all_reduce_f32 on its data; an
// amp.all_reduce_start a call of ampc_rt_all_reduce_start_f32, whose i64
// handle its amp.all_reduce_wait passes to ampc_rt_all_reduce_wait.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace ampc {
#define GEN_PASS_DEF_AMPCCPULOWERCOLLECTIVES
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

namespace {

constexpr llvm::StringLiteral kAllReduceFn = "ampc_rt_all_reduce_f32";
constexpr llvm::StringLiteral kStartFn = "ampc_rt_all_reduce_start_f32";
constexpr llvm::StringLiteral kWaitFn = "ampc_rt_all_reduce_wait";

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

Value kindConstant(OpBuilder &b, Location loc, ampc::amp::ReduceKind kind) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(kind)));
}

/// The calls for one bufferized all-reduce.
void lowerAllReduce(ampc::amp::AllReduceOp op, func::FuncOp callee) {
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
void lowerStartAndWait(ampc::amp::AllReduceStartOp start, func::FuncOp startFn,
                       func::FuncOp waitFn) {
  auto wait =
      cast<ampc::amp::AllReduceWaitOp>(*start.getRequest().getUsers().begin());
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

struct AmpcCpuLowerCollectivesPass
    : ampc::impl::AmpcCpuLowerCollectivesBase<AmpcCpuLowerCollectivesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ampc::amp::AllReduceOp> ops;
    SmallVector<ampc::amp::AllReduceStartOp> starts;
    WalkResult result = module.walk([&](Operation *op) {
      if (!isa<ampc::amp::AllReduceOp, ampc::amp::AllReduceStartOp,
               ampc::amp::AllReduceWaitOp>(op))
        return WalkResult::advance();
      if (llvm::any_of(op->getOperandTypes(), llvm::IsaPred<TensorType>)) {
        op->emitOpError("is still on tensors: bufferize before "
                        "ampc-cpu-lower-collectives");
        return WalkResult::interrupt();
      }
      if (auto reduce = dyn_cast<ampc::amp::AllReduceOp>(op))
        ops.push_back(reduce);
      else if (auto start = dyn_cast<ampc::amp::AllReduceStartOp>(op))
        starts.push_back(start);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    MLIRContext *context = module.getContext();
    Builder b(context);
    if (!ops.empty()) {
      func::FuncOp callee =
          declare(module, kAllReduceFn, bufferCallType(context, {}));
      for (ampc::amp::AllReduceOp op : ops)
        lowerAllReduce(op, callee);
    }
    if (starts.empty())
      return;
    func::FuncOp startFn =
        declare(module, kStartFn, bufferCallType(context, b.getI64Type()));
    func::FuncOp waitFn = declare(
        module, kWaitFn, FunctionType::get(context, b.getI64Type(), {}));
    for (ampc::amp::AllReduceStartOp start : starts)
      lowerStartAndWait(start, startFn, waitFn);
  }
};

} // namespace
