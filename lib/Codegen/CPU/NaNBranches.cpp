//===- NaNBranches.cpp - NaN quieting only where there is a NaN ----------===//
//
// ampc-cpu-nan-branches: a vector `arith.select` that replaces the NaN lanes
// of a value (its condition `arith.cmpf uno, %x, %x`: the cast lowering's
// quieting of NaNs before an integer rounding) runs in a branch that is
// taken only when some lane of %x is a NaN.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUNANBRANCHES
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

namespace {

/// The 1-D vectors `value` is made of (its rows, for n-D vectors), each cut
/// into chunks of `lanes` elements where it is a multiple of that longer.
SmallVector<Value> chunksOf(OpBuilder &b, Location loc, Value value,
                            int64_t lanes) {
  auto type = cast<VectorType>(value.getType());
  SmallVector<Value> rows;
  if (type.getRank() == 1) {
    rows.push_back(value);
  } else {
    ArrayRef<int64_t> leading = type.getShape().drop_back();
    SmallVector<int64_t> strides = computeStrides(leading);
    for (int64_t index = 0, count = computeProduct(leading); index < count;
         ++index)
      rows.push_back(vector::ExtractOp::create(b, loc, value,
                                               delinearize(index, strides)));
  }
  SmallVector<Value> chunks;
  for (Value row : rows) {
    int64_t elements = cast<VectorType>(row.getType()).getNumElements();
    if (elements <= lanes || elements % lanes != 0) {
      chunks.push_back(row);
      continue;
    }
    for (int64_t offset = 0; offset < elements; offset += lanes)
      chunks.push_back(vector::ExtractStridedSliceOp::create(
          b, loc, row, ArrayRef<int64_t>{offset}, ArrayRef<int64_t>{lanes},
          ArrayRef<int64_t>{1}));
  }
  return chunks;
}

/// Whether any lane of `value` is a NaN: one unordered comparison per two
/// chunks of the target's width (a NaN in either operand sets the lane), the
/// masks or-ed, then reduced.
Value anyNaN(OpBuilder &b, Location loc, Value value, int64_t lanes) {
  SmallVector<Value> chunks = chunksOf(b, loc, value, lanes);
  llvm::MapVector<Type, Value> masks;
  for (size_t i = 0; i < chunks.size();) {
    Value first = chunks[i++], second = first;
    if (i < chunks.size() && chunks[i].getType() == first.getType())
      second = chunks[i++];
    Value mask =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, first, second);
    Value &merged = masks[mask.getType()];
    merged =
        merged ? arith::OrIOp::create(b, loc, merged, mask).getResult() : mask;
  }
  Value any;
  for (auto &entry : masks) {
    Value lane = vector::ReductionOp::create(b, loc, vector::CombiningKind::OR,
                                             entry.second);
    any = any ? arith::OrIOp::create(b, loc, any, lane).getResult() : lane;
  }
  return any;
}

/// The pure ops of `select`'s block before it whose results reach nothing
/// but its condition and its true value (the NaN mask and the quiet NaN),
/// in block order: the branch computes them.
SmallVector<Operation *> onlyForNaNs(arith::SelectOp select) {
  llvm::SmallPtrSet<Operation *, 8> moving;
  auto feedsOnlyTheBranch = [&](Operation *op) {
    if (op->use_empty())
      return false;
    for (OpOperand &use : op->getUses()) {
      Operation *user = use.getOwner();
      if (user == select.getOperation() ? use.getOperandNumber() == 2
                                        : !moving.contains(user))
        return false;
    }
    return true;
  };
  SmallVector<Operation *> slice;
  for (Operation *op = select->getPrevNode(); op; op = op->getPrevNode()) {
    if (op->getNumRegions() != 0 || !isPure(op) || !feedsOnlyTheBranch(op))
      continue;
    moving.insert(op);
    slice.push_back(op);
  }
  std::reverse(slice.begin(), slice.end());
  return slice;
}

/// select(uno(x, x), quiet, x') becomes
///   scf.if (expect(any lane of x is NaN, false)) { select(...) } else { x' }
/// with the mask and the quiet NaN computed in the branch.
void branchOnNaNs(arith::SelectOp select, int64_t lanes) {
  auto uno = select.getCondition().getDefiningOp<arith::CmpFOp>();
  Location loc = select.getLoc();
  OpBuilder b(select);
  Value any = anyNaN(b, loc, uno.getLhs(), lanes);
  Value no = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
  Value rare = LLVM::ExpectOp::create(b, loc, any, no);
  auto branch = scf::IfOp::create(b, loc, TypeRange{select.getType()}, rare,
                                  /*withElseRegion=*/true);
  Block *then = branch.thenBlock();
  for (Operation *op : onlyForNaNs(select))
    op->moveBefore(then, then->end());
  b.setInsertionPointToEnd(then);
  Value quieted =
      arith::SelectOp::create(b, loc, select.getCondition(),
                              select.getTrueValue(), select.getFalseValue());
  scf::YieldOp::create(b, loc, quieted);
  b.setInsertionPointToEnd(branch.elseBlock());
  scf::YieldOp::create(b, loc, select.getFalseValue());
  select.replaceAllUsesWith(branch.getResult(0));
  select.erase();
}

/// A vector select on the NaN lanes of a value: its condition compares
/// the value with itself, unordered.
bool selectsNaNs(arith::SelectOp select) {
  auto type = dyn_cast<VectorType>(select.getType());
  if (!type || type.isScalable() ||
      !isa<VectorType>(select.getCondition().getType()))
    return false;
  auto uno = select.getCondition().getDefiningOp<arith::CmpFOp>();
  return uno && uno.getPredicate() == arith::CmpFPredicate::UNO &&
         uno.getLhs() == uno.getRhs();
}

struct AmpcCpuNaNBranchesPass
    : ampc::impl::AmpcCpuNaNBranchesBase<AmpcCpuNaNBranchesPass> {
  using Base::Base;
  void runOnOperation() override {
    if (lanes <= 0) {
      getOperation().emitError("ampc-cpu-nan-branches: lanes must be "
                               "positive, not ")
          << static_cast<int64_t>(lanes);
      return signalPassFailure();
    }
    SmallVector<arith::SelectOp> selects;
    getOperation().walk([&](arith::SelectOp select) {
      if (selectsNaNs(select))
        selects.push_back(select);
    });
    for (arith::SelectOp select : selects)
      branchOnNaNs(select, lanes);
  }
};

} // namespace
