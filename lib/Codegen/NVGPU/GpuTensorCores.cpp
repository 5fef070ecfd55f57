//===- GpuTensorCores.cpp - contractions on mma.sync ----------------------===//
//
// Contractions (matmuls, batch matmuls, convolutions as implicit GEMMs) with
// 16-bit or fp8 inputs and f32 accumulation become kernels of
// mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32 (m16n8k32
// for fp8): 64x64 output tiles per block of 4 warps with the operands staged
// in shared memory, or one warp per 16x8 tile; the output's fill and the
// elementwise op after the contraction run in the same kernel. bf16/f16 use
// nvvm.mma.sync; fp8 inline PTX (LLVM 22 has no dense fp8 nvvm.mma.sync).
// Fragment layout (PTX ISA, "Matrix Fragments for mma.m16n8k16"), with g = lane
// / 4 and t = lane % 4:
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

#include "ampc/Codegen/NVGPU/LoopUtils.h"
#include "ampc/Codegen/NVGPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <limits>

namespace ampc {
#define GEN_PASS_DEF_AMPCGPUTENSORCORES
#include "ampc/Codegen/NVGPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// A group of the op's loops that the kernel treats as one linear index:
/// the loops in order, the last fastest.
struct DimGroup {
  SmallVector<unsigned> dims;
  SmallVector<int64_t> sizes;
  int64_t size() const {
    int64_t product = 1;
    for (int64_t s : sizes)
      product *= s;
    return product;
  }
};

/// The loops of a contraction in four groups: m (parallel, read by A only),
/// n (parallel, read by B only), batch (parallel, read by both) and k (the
/// reductions). A matmul has one loop per group; a convolution has m = (n,
/// oh, ow) and k = (kh, kw, c), and its input is read through oh + kh, ...
struct Contraction {
  DimGroup m, n, k, batch;
  /// The mma's A operand (rows m) and B operand (columns n): the op's inputs
  /// 0 and 1, or swapped so that the output's last dim is along n (each
  /// lane stores two neighbours, a warp's stores coalesce).
  unsigned lhsIndex = 0, rhsIndex = 1;
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

std::optional<Contraction> matchContraction(linalg::GenericOp op, bool fp8) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  // Scalar operands (an i1 flag, a loss scale) make it something else.
  auto type = [](Value v) { return dyn_cast<MemRefType>(v.getType()); };
  auto lhs = type(op.getDpsInputs()[0]), rhs = type(op.getDpsInputs()[1]),
       out = type(op.getDpsInits()[0]);
  if (!lhs || !rhs || !out)
    return std::nullopt;
  auto input = dyn_cast<FloatType>(lhs.getElementType());
  auto other = dyn_cast<FloatType>(rhs.getElementType());
  bool sixteen = input && (input.isBF16() || input.isF16()) && other == input;
  bool eight = fp8 && input && other && isFp8(input) && isFp8(other);
  if (!(sixteen || eight) || !out.getElementType().isF32())
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // The output holds every parallel loop once.
  unsigned loops = op.getNumLoops();
  if (!maps[2].isProjectedPermutation() || maps[2].getNumResults() == 0 ||
      maps[2].getNumResults() != op.getNumParallelLoops() ||
      maps[0].getNumSymbols() || maps[1].getNumSymbols())
    return std::nullopt;
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  if (llvm::any_of(sizes, ShapedType::isDynamic))
    return std::nullopt;
  Contraction c;
  // The output's last loop is read by one operand only: that one is B.
  if (maps[0].isFunctionOfDim(
          maps[2].getDimPosition(maps[2].getNumResults() - 1)) &&
      !maps[1].isFunctionOfDim(
          maps[2].getDimPosition(maps[2].getNumResults() - 1)))
    std::swap(c.lhsIndex, c.rhsIndex);
  AffineMap mapA = maps[c.lhsIndex], mapB = maps[c.rhsIndex];
  auto assign = [&](DimGroup &group, unsigned dim) {
    group.dims.push_back(dim);
    group.sizes.push_back(sizes[dim]);
  };
  // Parallel loops in the output's order (coalesced stores along n).
  for (unsigned r = 0; r < maps[2].getNumResults(); ++r) {
    unsigned dim = maps[2].getDimPosition(r);
    bool inA = mapA.isFunctionOfDim(dim), inB = mapB.isFunctionOfDim(dim);
    if (inA && inB)
      assign(c.batch, dim);
    else if (inA)
      assign(c.m, dim);
    else if (inB)
      assign(c.n, dim);
    else
      return std::nullopt; // the output broadcast along a loop
  }
  for (unsigned dim = 0; dim < loops; ++dim)
    if (op.getIteratorTypesArray()[dim] == utils::IteratorType::reduction) {
      if (!maps[0].isFunctionOfDim(dim) && !maps[1].isFunctionOfDim(dim))
        return std::nullopt;
      assign(c.k, dim);
    }
  if (c.m.dims.empty() || c.n.dims.empty() || c.k.dims.empty())
    return std::nullopt;
  int64_t sizeM = c.m.size(), sizeN = c.n.size(), sizeK = c.k.size();
  // Grid limits: 2^31 - 1 blocks in x, 65535 in y and z.
  if (llvm::divideCeil(sizeN, 8) > 65535 || c.batch.size() > 65535 ||
      sizeM == 0 || sizeN == 0 || sizeK == 0 ||
      llvm::divideCeil(sizeM, 16) > std::numeric_limits<int32_t>::max())
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
  c.lhs = c.lhsIndex == 0 ? input : other;
  c.rhs = c.lhsIndex == 0 ? other : input;
  c.eightBit = eight;
  return c;
}

/// What the contraction's kernel does besides the product: where the
/// output starts from and what elementwise op it applies before storing.
struct Epilogue {
  /// The value a fill right before the contraction writes into the output
  /// (the kernel starts from it instead of loading the output; the fill is
  /// erased). Null: the output's contents are loaded.
  Value initValue;
  Operation *fill = nullptr;
  /// The elementwise op right after the contraction that reads its output
  /// (bias, activation, cast to the next layer's type): applied to the
  /// accumulators in registers and erased.
  linalg::GenericOp consumer;
  /// False when nothing but the consumer reads the contraction's output:
  /// it is then never written (and its buffer goes away).
  bool storeOutput = true;
};

/// The buffer `v` is a view of (through view-like ops), or `v`.
Value rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// The value every element of `out` gets from `op`, if `op` fills all of
/// `out` with one value defined outside it.
Value fillValue(Operation *op, Value out) {
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(op))
    return fill.hasPureBufferSemantics() && fill.getOutputs()[0] == out
               ? fill.getInputs()[0]
               : Value();
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || !generic.hasPureBufferSemantics() ||
      generic.getNumDpsInputs() != 0 || generic.getNumDpsInits() != 1 ||
      generic.getDpsInits()[0] != out ||
      generic.getNumLoops() != generic.getNumParallelLoops() ||
      !generic.getIndexingMapsArray()[0].isIdentity())
    return Value();
  Block &body = generic.getRegion().front();
  if (!llvm::hasSingleElement(body))
    return Value();
  Value yielded = body.getTerminator()->getOperand(0);
  if (yielded.getParentRegion() == &generic.getRegion())
    return Value();
  return yielded;
}

Epilogue matchEpilogue(linalg::GenericOp op) {
  Epilogue e;
  Value out = op.getDpsInits()[0];
  if (Value v = fillValue(op->getPrevNode(), out); v && v.getType().isF32()) {
    e.initValue = v;
    e.fill = op->getPrevNode();
  }
  // The next op that touches memory the contraction may use: skipped are
  // allocations, pure ops, and stores into buffers allocated after the
  // contraction (the fp8 descale factor); the kernel then goes where the
  // consumer was.
  auto freshStore = [&](Operation *candidate) {
    auto store = dyn_cast<memref::StoreOp>(candidate);
    if (!store)
      return false;
    auto alloc = store.getMemref().getDefiningOp<memref::AllocOp>();
    return alloc && alloc->getBlock() == op->getBlock() &&
           op->isBeforeInBlock(alloc);
  };
  Operation *next = op->getNextNode();
  while (next && !next->hasTrait<OpTrait::IsTerminator>() &&
         (isa<memref::AllocOp>(next) || isMemoryEffectFree(next) ||
          freshStore(next)))
    next = next->getNextNode();
  auto consumer = dyn_cast_or_null<linalg::GenericOp>(next);
  auto outType = cast<MemRefType>(out.getType());
  auto fits = [&]() {
    if (!consumer || !consumer.hasPureBufferSemantics() ||
        consumer.getNumLoops() != consumer.getNumParallelLoops() ||
        consumer.getStaticLoopRanges() != outType.getShape())
      return false;
    Value lhsRoot = rootBuffer(op.getDpsInputs()[0]),
          rhsRoot = rootBuffer(op.getDpsInputs()[1]), outRoot = rootBuffer(out);
    bool readsOutput = false;
    for (OpOperand &operand : consumer->getOpOperands()) {
      AffineMap map = consumer.getMatchingIndexingMap(&operand);
      if (!map.isProjectedPermutation())
        return false;
      Value v = operand.get();
      if (!isa<MemRefType>(v.getType()))
        continue;
      bool isInit = consumer.isDpsInit(&operand);
      if (v == out) {
        // Read in place (identity), or written elementwise.
        if (!map.isIdentity())
          return false;
        readsOutput |= !isInit;
        continue;
      }
      Value root = rootBuffer(v);
      // A view of the output read elsewhere, or a result written into an
      // operand that other warps may still be reading: not fused.
      if (root == outRoot || (isInit && (root == lhsRoot || root == rhsRoot)))
        return false;
    }
    return readsOutput;
  };
  if (!fits())
    return e;
  e.consumer = consumer;
  // The output need not be written only if it is a local buffer that
  // nothing else reads (an argument or a returned buffer is seen by the
  // caller).
  e.storeOutput = !out.getDefiningOp<memref::AllocOp>() ||
                  llvm::any_of(out.getUsers(), [&](Operation *user) {
                    return user != op && user != e.fill &&
                           user != consumer.getOperation() &&
                           !isa<memref::DeallocOp>(user);
                  });
  return e;
}

/// Emits the kernel of one contraction: the helpers both tilings share
/// (indices, guarded loads, register packing, the mma, the output and its
/// epilogue) and the two tilings.
class KernelEmitter {
public:
  KernelEmitter(linalg::GenericOp op, const Contraction &c, Epilogue e)
      // With a consumer, the kernel takes its place: what lies between only
      // allocates or computes values the consumer may use.
      : b(e.consumer ? e.consumer.getOperation() : op.getOperation()),
        loc(op.getLoc()), op(op), c(c), e(e), maps(op.getIndexingMapsArray()),
        numLoops(op.getNumLoops()), sizeM(c.m.size()), sizeN(c.n.size()),
        sizeK(c.k.size()), per(c.packing()), tileK(c.tileK()) {}

  /// One warp per 16x8 output tile, fragments loaded from global memory.
  void emitWarpTiles();
  /// One block of 4 warps per 64x64 output tile: the block stages 64 x BK
  /// slices of A and B in shared memory (BK = two mma k steps), each warp
  /// computes 32x32 (2 x 4 mma tiles) from fragments read there.
  void emitBlockTiles();

  /// What the steps of one block tile share: its shared-memory slices and
  /// this thread's place in the block.
  struct BlockFrame {
    int64_t kWords = 0, blockK = 0;
    Value sliceA, sliceB, tid, g, t, blockRow, blockCol, warpRow, warpCol;
  };
  /// One output element of this lane: its row, column and whether it is
  /// inside the output.
  struct Element {
    Value row, col, ok;
  };
  /// This lane's 32 output elements (2 x 4 mma tiles x 4 registers).
  SmallVector<Element> blockElements(const BlockFrame &f);
  /// Stages operand `which` (rows along m for A, n for B) of the k step at
  /// `k0` into its slice: kBlockM rows x kWords words.
  void stageSlice(const BlockFrame &f, unsigned which, bool isA, Value k0);
  /// The two mma k tiles of one staged k step, on accumulators `acc`.
  void blockMmaStep(const BlockFrame &f, SmallVector<Value> &acc);

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, int64_t y) {
    return y ? Value(arith::AddIOp::create(b, loc, x, index(y))) : x;
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, index(y));
  }
  Value div(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, index(y));
  }
  Value rem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, index(y));
  }
  /// Whether a linear index is below `size`; null (always) when every
  /// index the tiling produces is (`size` a multiple of the tile).
  Value inRange(Value v, int64_t size, int64_t tile) {
    if (size % tile == 0)
      return Value();
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, v,
                                 index(size));
  }
  Value both(Value x, Value y) {
    if (!x || !y)
      return x ? x : y;
    return arith::AndIOp::create(b, loc, x, y);
  }
  /// Sets the loop indices of `group` in `dims` from its linear index (the
  /// last loop fastest).
  void decode(const DimGroup &group, Value linear, SmallVector<Value> &dims) {
    for (auto [dim, value] :
         llvm::zip(group.dims, ampc::delinearize(b, loc, linear, group.sizes)))
      dims[dim] = value;
  }
  /// The loop indices at linear (m, n, k) (null: not needed).
  SmallVector<Value> loopIndices(Value m, Value n, Value k) {
    SmallVector<Value> dims(batchDims);
    if (m)
      decode(c.m, m, dims);
    if (n)
      decode(c.n, n, dims);
    if (k)
      decode(c.k, k, dims);
    return dims;
  }
  /// An operand's indices at loop indices `dims` (affine expressions, such
  /// as a convolution's oh + kh, are applied).
  SmallVector<Value> operandIndices(AffineMap map, ArrayRef<Value> dims) {
    SmallVector<Value> indices;
    Value unused;
    for (AffineExpr expr : map.getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
        indices.push_back(dims[dim.getPosition()]);
        continue;
      }
      SmallVector<Value> operands;
      for (unsigned d = 0; d < numLoops; ++d) {
        if (!unused && !dims[d])
          unused = index(0);
        operands.push_back(dims[d] ? dims[d] : unused);
      }
      indices.push_back(affine::AffineApplyOp::create(
          b, loc, AffineMap::get(numLoops, 0, expr), operands));
    }
    return indices;
  }
  /// Operand `which` at linear indices (m, n, k), or zero where `valid` is
  /// false (the address clamped to the first element).
  Value load(unsigned which, Value m, Value n, Value k, Value valid) {
    SmallVector<Value> indices =
        operandIndices(maps[which], loopIndices(m, n, k));
    if (valid) {
      Value zeroIndex = index(0);
      for (Value &v : indices)
        v = arith::SelectOp::create(b, loc, valid, v, zeroIndex);
    }
    Value value =
        memref::LoadOp::create(b, loc, op->getOperand(which), indices);
    if (!valid)
      return value;
    Value zero =
        arith::ConstantOp::create(b, loc, b.getFloatAttr(value.getType(), 0.0));
    return arith::SelectOp::create(b, loc, valid, value, zero);
  }
  /// `per` elements of operand `which` from linear k index `k` on into one
  /// register (the first in the lowest bits), zeros past K or where
  /// `rowOk` is false. `m` or `n` (the other null) selects the row.
  Value loadRegister(unsigned which, Value m, Value n, Value k, Value rowOk,
                     int64_t kTile) {
    Value reg;
    auto i32 = b.getI32Type();
    for (int64_t i = 0; i < per; ++i) {
      Value ki = add(k, i);
      Value v = load(which, m, n, ki, both(rowOk, inRange(ki, sizeK, kTile)));
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
  }
  /// acc + A * B on one 16x8 tile (4 A, 2 B and 4 accumulator registers).
  /// bf16 and f16 go through nvvm.mma.sync; fp8 (m16n8k32 with e4m3/e5m2)
  /// through inline PTX, since LLVM 22's nvvm.mma.sync has no dense fp8
  /// shape.
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bRegs,
                         ValueRange acc) {
    auto f32 = b.getF32Type();
    auto result =
        LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    bool fp8 = isa<Float8E4M3FNType, Float8E5M2Type>(c.lhs);
    Value product = fp8 ? mmaInlinePtx(result, a, bRegs, acc)
                        : mmaNvvm(result, a, bRegs, acc);
    SmallVector<Value> next;
    for (int64_t i = 0; i < 4; ++i)
      next.push_back(LLVM::ExtractValueOp::create(b, loc, product, i));
    return next;
  }
  /// nvvm.mma.sync m16n8k16 on bf16 (registers as i32) or f16 (registers
  /// as vector<2xf16>) with f32 accumulators.
  Value mmaNvvm(Type result, ArrayRef<Value> a, ArrayRef<Value> bRegs,
                ValueRange acc) {
    bool f16 = c.lhs.isF16();
    auto pairs = [&](ArrayRef<Value> regs) {
      SmallVector<Value> typed;
      for (Value reg : regs)
        typed.push_back(f16 ? Value(LLVM::BitcastOp::create(
                                  b, loc, VectorType::get({2}, c.lhs), reg))
                            : reg);
      return typed;
    };
    NVVM::MMATypes type = f16 ? NVVM::MMATypes::f16 : NVVM::MMATypes::bf16;
    return NVVM::MmaOp::create(b, loc, result, pairs(a), pairs(bRegs), acc,
                               ArrayRef<int64_t>{16, 8, tileK}, std::nullopt,
                               std::nullopt,
                               std::array<NVVM::MMATypes, 2>{type, type},
                               std::array<NVVM::MMALayout, 2>{
                                   NVVM::MMALayout::row, NVVM::MMALayout::col});
  }
  /// mma.sync.aligned.m16n8k32 on E4M3/E5M2 operands, as inline PTX.
  Value mmaInlinePtx(Type result, ArrayRef<Value> a, ArrayRef<Value> bRegs,
                     ValueRange acc) {
    SmallVector<Value> operands(a);
    operands.append(bRegs.begin(), bRegs.end());
    operands.append(acc.begin(), acc.end());
    auto name = [](FloatType t) -> std::string {
      return isa<Float8E4M3FNType>(t) ? "e4m3" : "e5m2";
    };
    std::string asmText = "mma.sync.aligned.m16n8k" + std::to_string(tileK) +
                          ".row.col.f32." + name(c.lhs) + "." + name(c.rhs) +
                          ".f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, "
                          "{$10, $11, $12, $13};";
    return LLVM::InlineAsmOp::create(b, loc, result, operands, asmText,
                                     "=f,=f,=f,=f,r,r,r,r,r,r,f,f,f,f",
                                     /*has_side_effects=*/false,
                                     /*is_align_stack=*/false,
                                     LLVM::tailcallkind::TailCallKind::None,
                                     LLVM::AsmDialectAttr(), ArrayAttr())
        .getRes();
  }
  /// The accumulator's start at output element (row, col).
  Value initial(Value row, Value col, Value ok) {
    return e.initValue ? e.initValue : load(2, row, col, Value(), ok);
  }
  /// Stores accumulator `acc` of output element (row, col) (if anything
  /// reads the output) and applies the fused consumer to it, inside `ok`.
  void emitOutput(Value acc, Value row, Value col, Value ok);
  /// The launch with `threads` threads per block over `blocksM` x
  /// `blocksN` x batch blocks; the builder is left inside.
  gpu::LaunchOp launch(int64_t blocksM, int64_t blocksN, int64_t threads) {
    Value one = index(1);
    auto launch =
        gpu::LaunchOp::create(b, loc, index(blocksM), index(blocksN),
                              index(c.batch.size()), index(threads), one, one);
    b.setInsertionPointToStart(&launch.getBody().front());
    batchDims.assign(numLoops, Value());
    decode(c.batch, launch.getBlockIds().z, batchDims);
    return launch;
  }
  void finish();

  OpBuilder b;
  Location loc;
  linalg::GenericOp op;
  const Contraction &c;
  Epilogue e;
  SmallVector<AffineMap> maps;
  unsigned numLoops;
  int64_t sizeM, sizeN, sizeK, per, tileK;
  /// The batch loops' indices (blockIdx.z decoded), the rest null.
  SmallVector<Value> batchDims;
};

void KernelEmitter::emitOutput(Value acc, Value row, Value col, Value ok) {
  // The output's indices, which are the consumer's loop indices.
  SmallVector<Value> indices =
      operandIndices(maps[2], loopIndices(row, col, Value()));
  OpBuilder::InsertionGuard guard(b);
  if (ok) {
    auto inside = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
    b.setInsertionPointToStart(inside.thenBlock());
  }
  Value out = op.getDpsInits()[0];
  if (e.storeOutput)
    memref::StoreOp::create(b, loc, acc, out, indices);
  if (!e.consumer)
    return;
  // The consumer's body on this element.
  linalg::GenericOp consumer = e.consumer;
  auto at = [&](OpOperand *operand) {
    AffineMap map = consumer.getMatchingIndexingMap(operand);
    SmallVector<Value> where;
    for (unsigned r = 0; r < map.getNumResults(); ++r)
      where.push_back(indices[map.getDimPosition(r)]);
    return where;
  };
  IRMapping mapping;
  for (OpOperand &operand : consumer->getOpOperands()) {
    BlockArgument arg = consumer.getMatchingBlockArgument(&operand);
    Value v = operand.get();
    if (v == out && !consumer.isDpsInit(&operand))
      mapping.map(arg, acc);
    else if (!isa<MemRefType>(v.getType()))
      mapping.map(arg, v);
    else if (!arg.use_empty())
      mapping.map(arg, memref::LoadOp::create(b, loc, v, at(&operand)));
  }
  SmallVector<Value> yielded =
      ampc::cloneLinalgBody(b, consumer.getRegion().front(), mapping, indices);
  for (auto [value, init] : llvm::zip(yielded, consumer.getDpsInitsMutable()))
    memref::StoreOp::create(b, loc, value, init.get(), at(&init));
}

void KernelEmitter::emitWarpTiles() {
  auto kernel =
      launch(llvm::divideCeil(sizeM, 16), llvm::divideCeil(sizeN, 8), 32);
  Value lane = kernel.getThreadIds().x;
  Value tileM = mul(kernel.getBlockIds().x, 16);
  Value tileN = mul(kernel.getBlockIds().y, 8);
  Value g = div(lane, 4), t = rem(lane, 4);
  Value mRow0 = add(tileM, g), mRow1 = add(mRow0, 8);
  Value nCol0 = add(tileN, mul(t, 2)), nCol1 = add(nCol0, 1);
  Value nB = add(tileN, g);
  Value row0Ok = inRange(mRow0, sizeM, 16), row1Ok = inRange(mRow1, sizeM, 16);
  Value col0Ok = inRange(nCol0, sizeN, 8), col1Ok = inRange(nCol1, sizeN, 8),
        colBOk = inRange(nB, sizeN, 8);
  Value rows[4] = {mRow0, mRow0, mRow1, mRow1};
  Value cols[4] = {nCol0, nCol1, nCol0, nCol1};
  Value outOk[4] = {both(row0Ok, col0Ok), both(row0Ok, col1Ok),
                    both(row1Ok, col0Ok), both(row1Ok, col1Ok)};
  SmallVector<Value> init;
  for (int64_t i = 0; i < 4; ++i)
    init.push_back(initial(rows[i], cols[i], outOk[i]));
  // k in whole tiles; past K the fragments hold zeros.
  auto loop = scf::ForOp::create(
      b, loc, index(0), index(llvm::alignTo(sizeK, tileK)), index(tileK), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    // A register r covers row g (+8 for r odd) and k from `per` * t (+ half
    // the tile for r >= 2); B register r covers k from `per` * t (+ half
    // the tile for r = 1) at column g.
    Value kBase = add(loop.getInductionVar(), mul(t, per));
    int64_t half = tileK / 2;
    auto aReg = [&](Value row, Value rowOk, int64_t offset) {
      return loadRegister(c.lhsIndex, row, Value(), add(kBase, offset), rowOk,
                          tileK);
    };
    auto bReg = [&](int64_t offset) {
      return loadRegister(c.rhsIndex, Value(), nB, add(kBase, offset), colBOk,
                          tileK);
    };
    Value aRegs[4] = {aReg(mRow0, row0Ok, 0), aReg(mRow1, row1Ok, 0),
                      aReg(mRow0, row0Ok, half), aReg(mRow1, row1Ok, half)};
    Value bRegs[2] = {bReg(0), bReg(half)};
    scf::YieldOp::create(b, loc, mma(aRegs, bRegs, loop.getRegionIterArgs()));
  }
  for (int64_t i = 0; i < 4; ++i)
    emitOutput(loop.getResult(i), rows[i], cols[i], outOk[i]);
  finish();
}

namespace {
constexpr int64_t kBlockM = 64, kBlockN = 64, kBlockThreads = 128;
} // namespace

void KernelEmitter::emitBlockTiles() {
  // Per k step of the block: two mma k tiles, kWords 32-bit words per row
  // (2 or 4 elements each); rows padded to kStride words so that the 32
  // lanes of a fragment read hit 32 different banks.
  BlockFrame f;
  f.kWords = 2 * tileK / per;
  f.blockK = 2 * tileK;
  const int64_t kStride = f.kWords + 4;
  auto kernel = launch(llvm::divideCeil(sizeM, kBlockM),
                       llvm::divideCeil(sizeN, kBlockN), kBlockThreads);
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto sliceType = MemRefType::get({kBlockM, kStride}, b.getI32Type(),
                                   MemRefLayoutAttrInterface(), workgroup);
  // A's slice by row m, B's by column n; k runs along each row.
  f.sliceA = kernel.addWorkgroupAttribution(sliceType, loc);
  f.sliceB = kernel.addWorkgroupAttribution(sliceType, loc);
  f.tid = kernel.getThreadIds().x;
  Value warp = div(f.tid, 32), lane = rem(f.tid, 32);
  f.g = div(lane, 4);
  f.t = rem(lane, 4);
  f.blockRow = mul(kernel.getBlockIds().x, kBlockM);
  f.blockCol = mul(kernel.getBlockIds().y, kBlockN);
  // Warps 0-3 own the 32x32 quarters (warp / 2, warp % 2).
  f.warpRow = mul(div(warp, 2), 32);
  f.warpCol = mul(rem(warp, 2), 32);

  // Output positions are computed where they are used (before the k loop
  // only to load the output's initial value), so that they do not hold
  // registers across the loop.
  SmallVector<Value> init;
  if (e.initValue)
    init.assign(32, e.initValue);
  else
    for (Element &el : blockElements(f))
      init.push_back(initial(el.row, el.col, el.ok));
  auto loop = scf::ForOp::create(b, loc, index(0),
                                 index(llvm::alignTo(sizeK, f.blockK)),
                                 index(f.blockK), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    stageSlice(f, c.lhsIndex, /*isA=*/true, k0);
    stageSlice(f, c.rhsIndex, /*isA=*/false, k0);
    gpu::BarrierOp::create(b, loc);
    SmallVector<Value> acc(loop.getRegionIterArgs());
    blockMmaStep(f, acc);
    // The slices are overwritten in the next step.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, acc);
  }
  for (auto [i, el] : llvm::enumerate(blockElements(f)))
    emitOutput(loop.getResult(i), el.row, el.col, el.ok);
  finish();
}

SmallVector<KernelEmitter::Element>
KernelEmitter::blockElements(const BlockFrame &f) {
  SmallVector<Element> elements;
  for (int64_t mt = 0; mt < 2; ++mt)
    for (int64_t nt = 0; nt < 4; ++nt)
      for (int64_t i = 0; i < 4; ++i) {
        Value row = add(add(f.blockRow, f.warpRow), mt * 16 + (i >= 2 ? 8 : 0));
        row = add(row, f.g);
        Value col = add(add(f.blockCol, f.warpCol), nt * 8 + (i % 2));
        col = add(col, mul(f.t, 2));
        elements.push_back(
            {row, col,
             both(inRange(row, sizeM, kBlockM), inRange(col, sizeN, kBlockN))});
      }
  return elements;
}

void KernelEmitter::stageSlice(const BlockFrame &f, unsigned which, bool isA,
                               Value k0) {
  // Whether the operand is contiguous along k (its last index moves with a
  // k loop): then consecutive threads stage consecutive words of a row,
  // otherwise consecutive rows, so that global loads coalesce either way.
  AffineMap map = maps[which];
  bool alongK =
      map.getNumResults() == 0 || llvm::any_of(c.k.dims, [&](unsigned d) {
        return map.getResult(map.getNumResults() - 1).isFunctionOfDim(d);
      });
  Value base = isA ? f.blockRow : f.blockCol;
  Value slice = isA ? f.sliceA : f.sliceB;
  int64_t size = isA ? sizeM : sizeN;
  for (int64_t j = 0; j < kBlockM * f.kWords / kBlockThreads; ++j) {
    Value w = add(f.tid, j * kBlockThreads);
    Value row = alongK ? div(w, f.kWords) : rem(w, kBlockM);
    Value word = alongK ? rem(w, f.kWords) : div(w, kBlockM);
    Value linear = add(base, row);
    Value k = add(k0, mul(word, per));
    Value reg =
        loadRegister(which, isA ? linear : Value(), isA ? Value() : linear, k,
                     inRange(linear, size, kBlockM), f.blockK);
    memref::StoreOp::create(b, loc, reg, slice, ValueRange{row, word});
  }
}

void KernelEmitter::blockMmaStep(const BlockFrame &f, SmallVector<Value> &acc) {
  for (int64_t kk = 0; kk < 2; ++kk) {
    // Word offsets of this mma k tile: t and t + 4 (half a tile on).
    Value w0 = add(f.t, kk * f.kWords / 2), w1 = add(w0, 4);
    SmallVector<SmallVector<Value>> aFrag, bFrag;
    for (int64_t mt = 0; mt < 2; ++mt) {
      Value r0 = add(add(f.warpRow, f.g), mt * 16), r1 = add(r0, 8);
      auto word = [&](Value r, Value w) -> Value {
        return memref::LoadOp::create(b, loc, f.sliceA, ValueRange{r, w});
      };
      aFrag.push_back({word(r0, w0), word(r1, w0), word(r0, w1), word(r1, w1)});
    }
    for (int64_t nt = 0; nt < 4; ++nt) {
      Value col = add(add(f.warpCol, f.g), nt * 8);
      bFrag.push_back(
          {memref::LoadOp::create(b, loc, f.sliceB, ValueRange{col, w0}),
           memref::LoadOp::create(b, loc, f.sliceB, ValueRange{col, w1})});
    }
    for (int64_t mt = 0; mt < 2; ++mt)
      for (int64_t nt = 0; nt < 4; ++nt) {
        size_t at = size_t((mt * 4 + nt) * 4);
        SmallVector<Value> next =
            mma(aFrag[mt], bFrag[nt], ValueRange(acc).slice(at, 4));
        std::copy(next.begin(), next.end(), acc.begin() + at);
      }
  }
}

void KernelEmitter::finish() {
  gpu::TerminatorOp::create(b, loc);
  Value out = op.getDpsInits()[0];
  op.erase();
  if (e.fill)
    e.fill->erase();
  if (e.consumer)
    e.consumer.erase();
  // An output nothing reads any more.
  if (auto alloc = out.getDefiningOp<memref::AllocOp>();
      alloc && llvm::all_of(out.getUsers(), [](Operation *user) {
        return isa<memref::DeallocOp>(user);
      })) {
    for (Operation *user : llvm::make_early_inc_range(out.getUsers()))
      user->erase();
    alloc.erase();
  }
}

struct AmpcGpuTensorCoresPass
    : ampc::impl::AmpcGpuTensorCoresBase<AmpcGpuTensorCoresPass> {
  using Base::Base;
  void runOnOperation() override {
    std::vector<std::pair<linalg::GenericOp, Contraction>> matches;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Contraction> c = matchContraction(op, fp8))
        matches.push_back({op, *c});
    });
    // One at a time: a consumer may be the next contraction's fill.
    for (auto &[op, c] : matches) {
      Epilogue epilogue = matchEpilogue(op);
      KernelEmitter emitter(op, c, epilogue);
      if (blockTiles)
        emitter.emitBlockTiles();
      else
        emitter.emitWarpTiles();
    }
  }
};

} // namespace
