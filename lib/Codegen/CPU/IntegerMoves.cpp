//===- IntegerMoves.cpp - 16-bit float vectors moved as i16 vectors -------===//
//
// ampc-cpu-integer-moves: loads, stores and shuffles of bf16 or f16 vectors
// on the LLVM dialect as the same operations on i16 vectors, between
// bitcasts (which move no data), so that a copy is an integer copy.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUINTEGERMOVES
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// The i16 vector of the shape of `type` if it is a fixed vector of bf16 or
/// f16; null otherwise.
VectorType integerShape(Type type) {
  auto vector = dyn_cast<VectorType>(type);
  if (!vector || vector.isScalable() ||
      !isa<BFloat16Type, Float16Type>(vector.getElementType()))
    return {};
  return vector.clone(IntegerType::get(type.getContext(), 16));
}

/// `value` as `type` (same size), by a bitcast before `user`.
Value bitcastBefore(Operation *user, Value value, Type type) {
  OpBuilder b(user);
  return LLVM::BitcastOp::create(b, user->getLoc(), type, value);
}

/// The load reads i16 lanes; its users get them bitcast back.
void loadIntegers(LLVM::LoadOp load, VectorType bits) {
  Type floats = load.getType();
  load.getResult().setType(bits);
  OpBuilder b(load->getContext());
  b.setInsertionPointAfter(load);
  auto back = LLVM::BitcastOp::create(b, load.getLoc(), floats, load);
  load.getResult().replaceAllUsesExcept(back, back);
}

/// The store writes the value's bits as i16 lanes.
void storeIntegers(LLVM::StoreOp store, VectorType bits) {
  store.getValueMutable().assign(bitcastBefore(store, store.getValue(), bits));
}

/// The shuffle moves i16 lanes.
void shuffleIntegers(LLVM::ShuffleVectorOp shuffle, VectorType bits) {
  Value v1 = bitcastBefore(shuffle, shuffle.getV1(), bits);
  Value v2 = bitcastBefore(shuffle, shuffle.getV2(), bits);
  OpBuilder b(shuffle);
  Location loc = shuffle.getLoc();
  Value moved =
      LLVM::ShuffleVectorOp::create(b, loc, v1, v2, shuffle.getMask());
  shuffle.replaceAllUsesWith(
      LLVM::BitcastOp::create(b, loc, shuffle.getType(), moved).getResult());
  shuffle.erase();
}

struct AmpcCpuIntegerMovesPass
    : ampc::impl::AmpcCpuIntegerMovesBase<AmpcCpuIntegerMovesPass> {
  void runOnOperation() override {
    SmallVector<Operation *> moves;
    getOperation()->walk([&](Operation *op) {
      if (isa<LLVM::LoadOp, LLVM::ShuffleVectorOp>(op) &&
          integerShape(op->getResult(0).getType()))
        moves.push_back(op);
      else if (auto store = dyn_cast<LLVM::StoreOp>(op);
               store && integerShape(store.getValue().getType()))
        moves.push_back(op);
    });
    for (Operation *op : moves) {
      if (auto load = dyn_cast<LLVM::LoadOp>(op))
        loadIntegers(load, integerShape(load.getType()));
      else if (auto store = dyn_cast<LLVM::StoreOp>(op))
        storeIntegers(store, integerShape(store.getValue().getType()));
      else if (auto shuffle = dyn_cast<LLVM::ShuffleVectorOp>(op))
        shuffleIntegers(shuffle, integerShape(shuffle.getV1().getType()));
    }
  }
};

} // namespace
