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
// fp8 (m16n8k32): the same with four elements per register and k offsets
// 4t and 4t + 16 (A: reg0 = A[g][4t..4t+3], reg1 = A[g+8][4t..], reg2 =
// A[g][4t+16..], reg3 = A[g+8][4t+16..]; B: reg0 = B[4t..4t+3][g], reg1 =
// B[4t+16..4t+19][g]).
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
  FloatType lhs, rhs;
  bool eightBit = false;
  /// Elements per 32-bit register: 2 (bf16/f16) or 4 (fp8).
  int64_t packing() const { return eightBit ? 4 : 2; }
  /// k per mma: 16 or 32.
  int64_t tileK() const { return 8 * packing(); }
};

bool isFp8(Type t) { return isa<Float8E4M3FNType, Float8E5M2Type>(t); }

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

std::optional<Contraction> matchContraction(linalg::GenericOp op,
                                            bool fp8) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3 ||
      op.getNumReductionLoops() != 1)
    return std::nullopt;
  auto type = [](Value v) { return cast<MemRefType>(v.getType()); };
  auto lhs = type(op.getDpsInputs()[0]), rhs = type(op.getDpsInputs()[1]),
       out = type(op.getDpsInits()[0]);
  auto input = dyn_cast<FloatType>(lhs.getElementType());
  auto other = dyn_cast<FloatType>(rhs.getElementType());
  bool sixteen = input && (input.isBF16() || input.isF16()) && other == input;
  bool eight = fp8 && input && other && isFp8(input) && isFp8(other);
  if (!(sixteen || eight) || !out.getElementType().isF32() ||
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
      c.sizeK % (eight ? 32 : 16))
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
  c.lhs = input;
  c.rhs = other;
  c.eightBit = eight;
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
  auto i32 = b.getI32Type();
  int64_t per = c.packing();
  // `per` consecutive elements into one register, the first in the lowest
  // bits.
  auto pack = [&](ArrayRef<Value> elements) -> Value {
    Value reg;
    for (auto [i, v] : llvm::enumerate(elements)) {
      unsigned width = cast<FloatType>(v.getType()).getWidth();
      Value bits = arith::ExtUIOp::create(
          b, loc, i32,
          arith::BitcastOp::create(b, loc, b.getIntegerType(width), v));
      if (i)
        bits = arith::ShLIOp::create(
            b, loc, bits,
            arith::ConstantOp::create(b, loc,
                                      b.getI32IntegerAttr(int32_t(i * width))));
      reg = reg ? Value(arith::OrIOp::create(b, loc, reg, bits)) : bits;
    }
    return reg;
  };
  Value mRow0 = addv(tileM, g), mRow1 = add(addv(tileM, g), 8);
  Value nCol0 = addv(tileN, t2), nCol1 = add(addv(tileN, t2), 1);
  Value nB = addv(tileN, g);
  SmallVector<Value> init = {load(2, mRow0, nCol0, Value()),
                             load(2, mRow0, nCol1, Value()),
                             load(2, mRow1, nCol0, Value()),
                             load(2, mRow1, nCol1, Value())};
  auto loop = scf::ForOp::create(b, loc, index(0), index(c.sizeK),
                                 index(c.tileK()), init);
  b.setInsertionPointToStart(loop.getBody());
  Value k0 = loop.getInductionVar();
  // A register r covers row g (+8 for r odd) and k from `per` * t (+ half
  // the tile for r >= 2); B register r covers k from `per` * t (+ half the
  // tile for r = 1) at column g.
  Value tPer = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, lane, index(4)), index(per));
  Value kBase = addv(k0, tPer);
  int64_t half = c.tileK() / 2;
  auto aReg = [&](Value row, int64_t offset) {
    SmallVector<Value> elements;
    for (int64_t e = 0; e < per; ++e)
      elements.push_back(load(0, row, Value(), add(kBase, offset + e)));
    return pack(elements);
  };
  auto bReg = [&](int64_t offset) {
    SmallVector<Value> elements;
    for (int64_t e = 0; e < per; ++e)
      elements.push_back(load(1, Value(), nB, add(kBase, offset + e)));
    return pack(elements);
  };
  Value aRegs[4] = {aReg(mRow0, 0), aReg(mRow1, 0), aReg(mRow0, half),
                    aReg(mRow1, half)};
  Value bRegs[2] = {bReg(0), bReg(half)};
  SmallVector<Value> operands(std::begin(aRegs), std::end(aRegs));
  operands.append(std::begin(bRegs), std::end(bRegs));
  for (Value acc : loop.getRegionIterArgs())
    operands.push_back(acc);
  auto f32 = b.getF32Type();
  auto result = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                 {f32, f32, f32, f32});
  auto name = [](FloatType t) -> std::string {
    if (t.isBF16())
      return "bf16";
    if (t.isF16())
      return "f16";
    return isa<Float8E4M3FNType>(t) ? "e4m3" : "e5m2";
  };
  std::string asmText =
      "mma.sync.aligned.m16n8k" + std::to_string(c.tileK()) + ".row.col.f32." +
      name(c.lhs) + "." + name(c.rhs) +
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
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, Contraction>> matches;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Contraction> c = matchContraction(op, fp8))
        matches.push_back({op, *c});
    });
    for (auto &[op, c] : matches)
      rewrite(op, c);
  }
};

} // namespace
