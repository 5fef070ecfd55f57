//===- DonateCarriedState.cpp - update parameters in place ----------------===//
//
// ampc-donate-carried-state: see Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Dialect/Amp/IR/TrainStepABI.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCONFIRMDONATEDRESULTS
#define GEN_PASS_DEF_AMPCDONATECARRIEDSTATE
#define GEN_PASS_DEF_AMPCSKIPSELFCOPIES
#include "ampc/Codegen/Common/Passes.h.inc"
} // namespace ampc

using namespace mlir;
namespace abi = ampc::amp::abi;

namespace {

/// The input of `op` that reads `old` element by element into result
/// `result` (the same indexing map as that result's init), if any. Only in
/// an op without reductions whose body does not read that result's init:
/// there the init's block argument can stand for the input.
OpOperand *sameElementInput(linalg::GenericOp op, unsigned result, Value old) {
  OpOperand *init = op.getDpsInitOperand(result);
  if (op.getNumReductionLoops() != 0 ||
      !op.getMatchingBlockArgument(init).use_empty())
    return nullptr;
  AffineMap resultMap = op.getMatchingIndexingMap(init);
  for (OpOperand *input : op.getDpsInputOperands())
    if (input->get() == old && op.getMatchingIndexingMap(input) == resultMap)
      return input;
  return nullptr;
}

/// Whether `result` is `old` with elements replaced (`tensor.insert` or
/// `tensor.insert_slice` into it, as an fp8 amax history records a row of
/// amaxes): bufferized in place once the argument is writable, with no
/// rewrite.
bool insertsInto(OpResult result, Value old) {
  Operation *owner = result.getOwner();
  if (auto insert = dyn_cast<tensor::InsertOp>(owner))
    return insert.getDest() == old;
  auto insertSlice = dyn_cast<tensor::InsertSliceOp>(owner);
  return insertSlice && insertSlice.getDest() == old;
}

/// Rewrites `op` so that result `result` is computed into `old` (its
/// init), which the body reads through the init's block argument in place
/// of `input`; `input` is dropped. Returns the new op.
linalg::GenericOp computeInto(RewriterBase &rewriter, linalg::GenericOp op,
                              unsigned result, OpOperand *input) {
  Value old = input->get();
  BlockArgument read = op.getMatchingBlockArgument(input);
  BlockArgument out = op.getMatchingBlockArgument(op.getDpsInitOperand(result));
  rewriter.replaceAllUsesWith(read, out);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (OpOperand *other : op.getDpsInputOperands())
    if (other != input) {
      inputs.push_back(other->get());
      maps.push_back(op.getMatchingIndexingMap(other));
    }
  SmallVector<Value> inits = op.getDpsInits();
  inits[result] = old;
  for (OpOperand &init : op.getDpsInitsMutable())
    maps.push_back(op.getMatchingIndexingMap(&init));
  rewriter.setInsertionPoint(op);
  auto donated = linalg::GenericOp::create(rewriter, op.getLoc(),
                                           op->getResultTypes(), inputs, inits,
                                           maps, op.getIteratorTypesArray());
  donated->setDiscardableAttrs(op->getDiscardableAttrDictionary());
  rewriter.inlineRegionBefore(op.getRegion(), donated.getRegion(),
                              donated.getRegion().begin());
  donated.getBlock()->eraseArgument(read.getArgNumber());
  rewriter.replaceOp(op, donated->getResults());
  return donated;
}

/// Moves the ops in `writers` (each computes into its arguments in
/// `writes`) to the end of the function, each after every other writer
/// that reads the old value of its argument: once an argument is
/// overwritten, nothing reads its old value, and bufferization needs no
/// copy of it. A writer whose results have uses other than the return
/// stays where it is; so do writers that read each other's arguments in a
/// cycle (bufferization copies there).
void sinkWriters(func::ReturnOp ret, SmallVector<Operation *> writers,
                 DenseMap<Operation *, SmallVector<Value>> writes) {
  llvm::erase_if(writers, [&](Operation *op) {
    return llvm::any_of(op->getUsers(),
                        [&](Operation *user) { return user != ret; });
  });
  auto reads = [](Operation *op, ArrayRef<Value> args) {
    return llvm::any_of(args, [&](Value arg) {
      return llvm::is_contained(op->getOperands(), arg);
    });
  };
  while (!writers.empty()) {
    // A writer whose argument no other remaining writer still reads.
    auto next = llvm::find_if(writers, [&](Operation *w) {
      return llvm::none_of(writers, [&](Operation *other) {
        return other != w && reads(other, writes[w]);
      });
    });
    if (next == writers.end())
      return;
    (*next)->moveBefore(ret);
    writers.erase(next);
  }
}

struct AmpcDonateCarriedStatePass
    : ampc::impl::AmpcDonateCarriedStateBase<AmpcDonateCarriedStatePass> {
  void runOnOperation() override {
    auto step = getOperation().lookupSymbol<func::FuncOp>(abi::kTrainStepName);
    if (!step || step.isExternal() || !step.getBody().hasOneBlock())
      return;
    std::string why;
    std::optional<abi::StepLayout> layout = abi::StepLayout::get(
        abi::getArgumentRoles(step), abi::getResultRoles(step), why);
    if (!layout) {
      step.emitOpError("cannot donate its parameters and state: ") << why;
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    auto ret = cast<func::ReturnOp>(step.getBody().front().getTerminator());
    SmallVector<int64_t> donated;
    SmallVector<Operation *> writers;
    DenseMap<Operation *, SmallVector<Value>> writes;
    for (unsigned i = 0; i < layout->numCarried(); ++i) {
      Value old = step.getArgument(i);
      auto result = dyn_cast<OpResult>(ret.getOperand(i));
      if (result && insertsInto(result, old)) {
        step.setArgAttr(i,
                        bufferization::BufferizationDialect::kWritableAttrName,
                        rewriter.getBoolAttr(true));
        donated.push_back(i);
        continue;
      }
      auto op = result ? dyn_cast<linalg::GenericOp>(result.getOwner())
                       : linalg::GenericOp();
      OpOperand *input =
          op ? sameElementInput(op, result.getResultNumber(), old) : nullptr;
      if (!input)
        continue;
      SmallVector<Value> written = writes.lookup(op);
      writes.erase(op);
      llvm::erase(writers, op.getOperation());
      Operation *writer =
          computeInto(rewriter, op, result.getResultNumber(), input);
      written.push_back(old);
      writes[writer] = written;
      writers.push_back(writer);
      step.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                      rewriter.getBoolAttr(true));
      donated.push_back(i);
    }
    sinkWriters(ret, writers, writes);
    getOperation()->setAttr(abi::kDonatedResultsAttrName,
                            rewriter.getDenseI64ArrayAttr(donated));
  }
};

/// The buffer `value` is: a result of an `scf.for` that yields its own
/// iteration argument (a loop that updated the buffer in place, as a serial
/// tiled elementwise op is after bufferization) is the buffer the loop
/// started from, through nested loops; a reshape (an elementwise op whose
/// loops were folded into one computes into its buffer collapsed and
/// returns it expanded) is its source, the same elements in the same order,
/// which is the buffer itself wherever the types agree.
Value underlyingBuffer(Value value) {
  while (auto result = dyn_cast<OpResult>(value)) {
    if (auto expand = dyn_cast<memref::ExpandShapeOp>(result.getOwner())) {
      value = expand.getSrc();
      continue;
    }
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(result.getOwner())) {
      value = collapse.getSrc();
      continue;
    }
    auto loop = dyn_cast<scf::ForOp>(result.getOwner());
    if (!loop)
      break;
    unsigned i = result.getResultNumber();
    Value yielded = loop.getBody()->getTerminator()->getOperand(i);
    if (underlyingBuffer(yielded) != loop.getRegionIterArg(i))
      break;
    value = loop.getInitArgs()[i];
  }
  return value;
}

struct AmpcConfirmDonatedResultsPass
    : ampc::impl::AmpcConfirmDonatedResultsBase<AmpcConfirmDonatedResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto listed =
        module->getAttrOfType<DenseI64ArrayAttr>(abi::kDonatedResultsAttrName);
    auto step = module.lookupSymbol<func::FuncOp>(abi::kTrainStepName);
    if (!listed || !step || step.isExternal())
      return;
    SmallVector<int64_t> confirmed;
    step.walk([&](func::ReturnOp ret) {
      for (int64_t i : listed.asArrayRef())
        if (ret.getOperand(i).getType() == step.getArgument(i).getType() &&
            underlyingBuffer(ret.getOperand(i)) == step.getArgument(i))
          confirmed.push_back(i);
    });
    module->setAttr(abi::kDonatedResultsAttrName,
                    DenseI64ArrayAttr::get(&getContext(), confirmed));
  }
};

struct AmpcSkipSelfCopiesPass
    : ampc::impl::AmpcSkipSelfCopiesBase<AmpcSkipSelfCopiesPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    Block *entry = &fn.getBody().front();
    auto isArgument = [&](Value v) {
      auto arg = dyn_cast<BlockArgument>(v);
      return arg && arg.getOwner() == entry;
    };
    SmallVector<memref::CopyOp> copies;
    fn.walk([&](memref::CopyOp copy) {
      if (isArgument(copy.getSource()) && isArgument(copy.getTarget()))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      Location loc = copy.getLoc();
      Value from = memref::ExtractAlignedPointerAsIndexOp::create(
          b, loc, copy.getSource());
      Value to = memref::ExtractAlignedPointerAsIndexOp::create(
          b, loc, copy.getTarget());
      Value differ =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, from, to);
      auto guard = scf::IfOp::create(b, loc, differ, /*withElseRegion=*/false);
      copy->moveBefore(guard.thenBlock()->getTerminator());
    }
  }
};

} // namespace
