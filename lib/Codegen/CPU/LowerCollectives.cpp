//===- LowerCollectives.cpp - amp.all_reduce as runtime calls -------------===//
//
// ampc-cpu-lower-collectives: each buffer of a bufferized amp.all_reduce
// becomes a call of the runtime's ampc_rt_all_reduce_f32 on its data.
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

/// `void ampc_rt_all_reduce_f32(ptr, i64, i32)`, declared once.
func::FuncOp declareAllReduce(ModuleOp module) {
  if (auto fn = module.lookupSymbol<func::FuncOp>(kAllReduceFn))
    return fn;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  MLIRContext *context = module.getContext();
  auto type = FunctionType::get(
      context,
      {LLVM::LLVMPointerType::get(context), b.getI64Type(), b.getI32Type()},
      {});
  auto fn = func::FuncOp::create(b, module.getLoc(), kAllReduceFn, type);
  fn.setPrivate();
  return fn;
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

/// The calls for one bufferized all-reduce; strided buffers go through a
/// contiguous copy.
void lowerAllReduce(ampc::amp::AllReduceOp op, func::FuncOp callee) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value kind = arith::ConstantOp::create(
      b, loc, b.getI32IntegerAttr(int32_t(op.getKind())));
  for (Value buffer : op.getBuffers()) {
    auto type = cast<MemRefType>(buffer.getType());
    Value data = buffer;
    if (!isContiguous(type)) {
      SmallVector<Value> sizes;
      for (int64_t d = 0; d < type.getRank(); ++d)
        if (type.isDynamicDim(d))
          sizes.push_back(memref::DimOp::create(b, loc, buffer, d));
      data = memref::AllocOp::create(
          b, loc, MemRefType::get(type.getShape(), type.getElementType()),
          sizes);
      memref::CopyOp::create(b, loc, buffer, data);
    }
    auto [pointer, count] = dataOf(b, loc, data);
    func::CallOp::create(b, loc, callee, ValueRange{pointer, count, kind});
    if (data != buffer) {
      memref::CopyOp::create(b, loc, data, buffer);
      memref::DeallocOp::create(b, loc, data);
    }
  }
  op.erase();
}

struct AmpcCpuLowerCollectivesPass
    : ampc::impl::AmpcCpuLowerCollectivesBase<AmpcCpuLowerCollectivesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ampc::amp::AllReduceOp> ops;
    WalkResult result = module.walk([&](ampc::amp::AllReduceOp op) {
      if (op.getNumResults() > 0) {
        op.emitOpError("is still on tensors: bufferize before "
                       "ampc-cpu-lower-collectives");
        return WalkResult::interrupt();
      }
      ops.push_back(op);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    if (ops.empty())
      return;
    func::FuncOp callee = declareAllReduce(module);
    for (ampc::amp::AllReduceOp op : ops)
      lowerAllReduce(op, callee);
  }
};

} // namespace
