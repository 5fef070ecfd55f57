//===- GpuTensorCores.cpp - bf16/f16 contractions on mma.sync ------------===//
//
// One warp computes one 16x8 tile of the output with
// mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32. Fragment
// layout (PTX ISA, "Matrix Fragments for mma.m16n8k16"), with g = lane / 4
// and t = lane % 4:
//   A (16x16): reg0 = A[g][2t, 2t+1], reg1 = A[g+8][2t, 2t+1],
//              reg2 = A[g][2t+8, 2t+9], reg3 = A[g+8][2t+8, 2t+9];
//   B (16x8):  reg0 = B[2t, 2t+1][g], reg1 = B[2t+8, 2t+9][g];
//   C (16x8):  c0, c1 = C[g][2t, 2t+1], c2, c3 = C[g+8][2t, 2t+1];
// the element with the smaller index in the low half of each register.
//
//===----------------------------------------------------------------------===//

#include "ampc/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCGPUTENSORCORES
#include "ampc/Conversion/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// The loops of a contraction: which of the op's dims are m, n and k.
struct Contraction {
  unsigned m, n, k;
  int64_t sizeM, sizeN, sizeK;
  FloatType input;
};

/// True when `v` is computed from block argument `arg` alone (through
/// conversions: the decoded input).
bool derivesFrom(Value v, BlockArgument arg) {
  if (v == arg)
    return true;
  Operation *def = v.getDefiningOp();
  if (!def || def->getNumRegions() != 0)
    return false;
  bool any = false;
  for (Value operand : def->getOperands()) {
    if (operand.getDefiningOp<arith::ConstantOp>())
      continue;
    if (!derivesFrom(operand, arg))
      return false;
    any = true;
  }
  return any;
}

std::optional<Contraction> matchContraction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3 ||
      op.getNumReductionLoops() != 1)
    return std::nullopt;
  auto type = [](Value v) { return cast<MemRefType>(v.getType()); };
  auto lhs = type(op.getDpsInputs()[0]), rhs = type(op.getDpsInputs()[1]),
       out = type(op.getDpsInits()[0]);
  auto input = dyn_cast<FloatType>(lhs.getElementType());
  if (!input || !(input.isBF16() || input.isF16()) ||
      rhs.getElementType() != input || !out.getElementType().isF32() ||
      lhs.getRank() != 2 || rhs.getRank() != 2 || out.getRank() != 2 ||
      !out.getLayout().isIdentity())
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!llvm::all_of(maps, [](AffineMap m) {
        return m.isProjectedPermutation() && m.getNumResults() == 2;
      }))
    return std::nullopt;
  Contraction c;
  unsigned reduction = 0;
  for (auto [i, iterator] : llvm::enumerate(op.getIteratorTypesArray()))
    if (iterator == utils::IteratorType::reduction)
      reduction = unsigned(i);
  c.k = reduction;
  c.m = maps[2].getDimPosition(0);
  c.n = maps[2].getDimPosition(1);
  // A reads (m, k), B reads (k, n), in either order.
  auto reads = [&](AffineMap map, unsigned a, unsigned b) {
    SmallVector<unsigned> dims = {map.getDimPosition(0),
                                  map.getDimPosition(1)};
    return llvm::is_contained(dims, a) && llvm::is_contained(dims, b);
  };
  if (!reads(maps[0], c.m, c.k) || !reads(maps[1], c.k, c.n))
    return std::nullopt;
  SmallVector<int64_t> loops = op.getStaticLoopRanges();
  c.sizeM = loops[c.m];
  c.sizeN = loops[c.n];
  c.sizeK = loops[c.k];
  if (ShapedType::isDynamic(c.sizeM) || ShapedType::isDynamic(c.sizeN) ||
      ShapedType::isDynamic(c.sizeK) || c.sizeM % 16 || c.sizeN % 8 ||
      c.sizeK % 16)
    return std::nullopt;
  // Body: out + f(a) * g(b).
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  BlockArgument acc = body.getArgument(2);
  Value product = add.getLhs() == acc   ? add.getRhs()
                  : add.getRhs() == acc ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return std::nullopt;
  BlockArgument a = body.getArgument(0), b = body.getArgument(1);
  if (!((derivesFrom(mul.getLhs(), a) && derivesFrom(mul.getRhs(), b)) ||
        (derivesFrom(mul.getLhs(), b) && derivesFrom(mul.getRhs(), a))))
    return std::nullopt;
  c.input = input;
  return c;
}

void rewrite(linalg::GenericOp op, const Contraction &c) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(b, loc, index(c.sizeM / 16),
                                      index(c.sizeN / 8), one, index(32), one,
                                      one);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value lane = launch.getThreadIds().x;
  Value tileM = arith::MulIOp::create(b, loc, launch.getBlockIds().x,
                                      index(16));
  Value tileN = arith::MulIOp::create(b, loc, launch.getBlockIds().y,
                                      index(8));
  Value g = arith::DivUIOp::create(b, loc, lane, index(4));
  Value t2 = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, lane, index(4)), index(2));
  auto add = [&](Value x, int64_t y) -> Value {
    return y ? Value(arith::AddIOp::create(b, loc, x, index(y))) : x;
  };
  auto addv = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // Loads operand `which` at loop indices (m, n, k) through its map.
  auto load = [&](unsigned which, Value m, Value n, Value k) -> Value {
    SmallVector<Value> dims(3);
    dims[c.m] = m;
    dims[c.n] = n;
    dims[c.k] = k;
    SmallVector<Value> indices;
    for (unsigned r = 0; r < 2; ++r)
      indices.push_back(dims[maps[which].getDimPosition(r)]);
    return memref::LoadOp::create(b, loc, op->getOperand(which), indices);
  };
  auto i32 = b.getI32Type(), i16 = b.getI16Type();
  // Two 16-bit elements into one register, the first in the low half.
  auto pack = [&](Value lo, Value hi) -> Value {
    auto bits = [&](Value v) -> Value {
      return arith::ExtUIOp::create(
          b, loc, i32, arith::BitcastOp::create(b, loc, i16, v));
    };
    Value high = arith::ShLIOp::create(
        b, loc, bits(hi),
        arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16)));
    return arith::OrIOp::create(b, loc, bits(lo), high);
  };
  Value mRow0 = addv(tileM, g), mRow1 = add(addv(tileM, g), 8);
  Value nCol0 = addv(tileN, t2), nCol1 = add(addv(tileN, t2), 1);
  Value nB = addv(tileN, g);
  SmallVector<Value> init = {load(2, mRow0, nCol0, Value()),
                             load(2, mRow0, nCol1, Value()),
                             load(2, mRow1, nCol0, Value()),
                             load(2, mRow1, nCol1, Value())};
  auto loop = scf::ForOp::create(b, loc, index(0), index(c.sizeK), index(16),
                                 init);
  b.setInsertionPointToStart(loop.getBody());
  Value k0 = loop.getInductionVar();
  Value kA = addv(k0, t2);
  Value aRegs[4] = {
      pack(load(0, mRow0, Value(), kA), load(0, mRow0, Value(), add(kA, 1))),
      pack(load(0, mRow1, Value(), kA), load(0, mRow1, Value(), add(kA, 1))),
      pack(load(0, mRow0, Value(), add(kA, 8)),
           load(0, mRow0, Value(), add(kA, 9))),
      pack(load(0, mRow1, Value(), add(kA, 8)),
           load(0, mRow1, Value(), add(kA, 9)))};
  Value bRegs[2] = {
      pack(load(1, Value(), nB, kA), load(1, Value(), nB, add(kA, 1))),
      pack(load(1, Value(), nB, add(kA, 8)), load(1, Value(), nB, add(kA, 9)))};
  SmallVector<Value> operands(std::begin(aRegs), std::end(aRegs));
  operands.append(std::begin(bRegs), std::end(bRegs));
  for (Value acc : loop.getRegionIterArgs())
    operands.push_back(acc);
  auto f32 = b.getF32Type();
  auto result = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                 {f32, f32, f32, f32});
  std::string asmText =
      std::string("mma.sync.aligned.m16n8k16.row.col.f32.") +
      (c.input.isBF16() ? "bf16.bf16" : "f16.f16") +
      ".f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, "
      "{$10, $11, $12, $13};";
  auto mma = LLVM::InlineAsmOp::create(
      b, loc, result, operands, asmText,
      "=f,=f,=f,=f,r,r,r,r,r,r,f,f,f,f", /*has_side_effects=*/false,
      /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr(), ArrayAttr());
  SmallVector<Value> next;
  for (int64_t i = 0; i < 4; ++i)
    next.push_back(LLVM::ExtractValueOp::create(b, loc, mma.getRes(), i));
  scf::YieldOp::create(b, loc, next);
  b.setInsertionPointAfter(loop);
  Value out = op.getDpsInits()[0];
  Value rows[4] = {mRow0, mRow0, mRow1, mRow1};
  Value cols[4] = {nCol0, nCol1, nCol0, nCol1};
  for (int64_t i = 0; i < 4; ++i)
    memref::StoreOp::create(b, loc, loop.getResult(i), out,
                            ValueRange{rows[i], cols[i]});
  gpu::TerminatorOp::create(b, loc);
  op.erase();
}

struct AmpcGpuTensorCoresPass
    : ampc::impl::AmpcGpuTensorCoresBase<AmpcGpuTensorCoresPass> {
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, Contraction>> matches;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Contraction> c = matchContraction(op))
        matches.push_back({op, *c});
    });
    for (auto &[op, c] : matches)
      rewrite(op, c);
  }
};

} // namespace
