//===- AmxTiles.cpp - packed contraction tiles on AMX ---------------------===//
//
// ampc-cpu-amx-tiles: the contraction tiles ampc-vectorize-contractions
// packed for AMX and marked (see PackedContractions.h) become AMX tile
// loads, tile multiplications and stores on their buffers.
// ampc-cpu-lower-amx: AMX ops, and the loops that carry their tiles, to
// LLVM.
//
//===----------------------------------------------------------------------===//

#include "PackedContractions.h"
#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/AMX/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Transforms/DialectConversion.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUAMXTILES
#define GEN_PASS_DEF_AMPCCPULOWERAMX
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// Rows and columns of an f32 AMX tile; an A or B tile holds 16 rows of
/// 32 bf16.
constexpr int64_t kTile = ampc::cpu::kAmxBlock / 2;

/// `memref` without the unit dimensions `drop`, its last two dimensions
/// collapsed into one if `foldPairs`.
Value tileView(OpBuilder &b, Location loc, Value memref, ArrayRef<int64_t> drop,
               bool foldPairs) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<int64_t> shape;
  for (auto [i, size] : llvm::enumerate(type.getShape()))
    if (!llvm::is_contained(drop, int64_t(i)))
      shape.push_back(size);
  Value view =
      memref::createCanonicalRankReducingSubViewOp(b, loc, memref, shape);
  if (!foldPairs)
    return view;
  int64_t rank = shape.size();
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < rank - 2; ++i)
    groups.push_back({i});
  groups.push_back({rank - 2, rank - 1});
  return memref::CollapseShapeOp::create(b, loc, view, groups);
}

/// Replaces the marked tile `op` (A: 1 x D x 32 x 16 x 2, B: 1 x D x 16 x
/// 32 x 2, C: a 32 x 32 tile) by AMX tiles: C's four 16 x 16 tiles carried
/// through the D k steps, two A and two B tiles loaded per step.
void emitAmxTile(linalg::GenericOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  // A and B: [1, D, ...] (D may be 1 too); C: its unit dimensions, in
  // place ([1, 32, 1, 32]) or packed ([1, 1, 32, 32]).
  Value a = tileView(b, loc, op.getDpsInputOperand(0)->get(), {0}, true);
  Value bt = tileView(b, loc, op.getDpsInputOperand(1)->get(), {0}, true);
  Value acc = op.getDpsInitOperand(0)->get();
  SmallVector<int64_t> unitDims;
  for (auto [i, size] :
       llvm::enumerate(cast<MemRefType>(acc.getType()).getShape()))
    if (size == 1)
      unitDims.push_back(i);
  Value c = tileView(b, loc, acc, unitDims, false);
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto accType = amx::TileType::get({kTile, kTile}, b.getF32Type());
  auto inType = amx::TileType::get({kTile, 2 * kTile}, b.getBF16Type());
  // C's tiles, or zeros where C starts at +0.0 (then C is only written).
  bool zeroInit = op->hasAttr(ampc::cpu::kAmxZeroInitAttr);
  SmallVector<Value> init;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      Value tile = zeroInit
                       ? Value(amx::TileZeroOp::create(b, loc, accType))
                       : Value(amx::TileLoadOp::create(
                             b, loc, accType, c,
                             ValueRange{index(i * kTile), index(j * kTile)}));
      init.push_back(tile);
    }
  Value depth = memref::DimOp::create(b, loc, a, 0);
  auto steps = scf::ForOp::create(
      b, loc, index(0), depth, index(1), init,
      [&](OpBuilder &nb, Location loc, Value k, ValueRange tiles) {
        Value c0 = arith::ConstantIndexOp::create(nb, loc, 0);
        SmallVector<Value> lhs, rhs, next;
        for (int64_t i = 0; i < 2; ++i) {
          Value offset = arith::ConstantIndexOp::create(nb, loc, i * kTile);
          lhs.push_back(amx::TileLoadOp::create(nb, loc, inType, a,
                                                ValueRange{k, offset, c0}));
          Value column = arith::ConstantIndexOp::create(nb, loc, i * 2 * kTile);
          rhs.push_back(amx::TileLoadOp::create(nb, loc, inType, bt,
                                                ValueRange{k, c0, column}));
        }
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 2; ++j)
            next.push_back(amx::TileMulFOp::create(nb, loc, accType, lhs[i],
                                                   rhs[j], tiles[2 * i + j]));
        scf::YieldOp::create(nb, loc, next);
      });
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      amx::TileStoreOp::create(b, loc, c,
                               ValueRange{index(i * kTile), index(j * kTile)},
                               steps.getResult(2 * i + j));
  op.erase();
}

/// The LLVM function `name` of `type` in `module`, declared if it is not.
LLVM::LLVMFuncOp declareFunction(OpBuilder &b, ModuleOp module, StringRef name,
                                 LLVM::LLVMFunctionType type) {
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  return LLVM::LLVMFuncOp::create(b, module.getLoc(), name, type);
}

/// The address of the internal global `name` of `type` (initially
/// `value`), defined in `module` if it is not.
Value globalAddress(OpBuilder &b, Location loc, ModuleOp module, StringRef name,
                    Type type, Attribute value, bool constant) {
  if (!module.lookupSymbol<LLVM::GlobalOp>(name)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    LLVM::GlobalOp::create(b, module.getLoc(), type, constant,
                           LLVM::Linkage::Internal, name, value);
  }
  return LLVM::AddressOfOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), name);
}

/// Emits, at the entry of `func`, the request for the AMX tile state: once
/// per process (a flag in a global), syscall(SYS_arch_prctl,
/// ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); where the OS refuses, a
/// message on stderr and abort(). Inline, so that objects need no library
/// for it.
void requestAmxOnEntry(ModuleOp module, func::FuncOp func) {
  OpBuilder b(module.getContext());
  b.setInsertionPointToStart(&func.getBody().front());
  Location loc = func.getLoc();
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), i64 = b.getI64Type();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  Value granted = globalAddress(b, loc, module, "ampc_amx_granted", i8,
                                b.getI8IntegerAttr(0), false);
  Value state =
      LLVM::LoadOp::create(b, loc, i8, granted, /*alignment=*/1, false, false,
                           false, false, LLVM::AtomicOrdering::monotonic);
  auto constant = [&](Type type, int64_t v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, v));
  };
  Value ask = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, state,
                                    constant(i8, 0));
  auto ifAsk = scf::IfOp::create(b, loc, ask, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifAsk.thenBlock());
  auto syscall = declareFunction(b, module, "syscall",
                                 LLVM::LLVMFunctionType::get(i64, {i64}, true));
  constexpr int64_t kArchPrctl = 158, kReqXcompPerm = 0x1023,
                    kXfeatureXtiledata = 18;
  Value status =
      LLVM::CallOp::create(b, loc, syscall,
                           ValueRange{constant(i64, kArchPrctl),
                                      constant(i64, kReqXcompPerm),
                                      constant(i64, kXfeatureXtiledata)})
          .getResult();
  Value refused = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                        status, constant(i64, 0));
  auto ifRefused = scf::IfOp::create(b, loc, refused, false);
  LLVM::StoreOp::create(b, loc, constant(i8, 1), granted, /*alignment=*/1,
                        false, false, false, LLVM::AtomicOrdering::monotonic);
  b.setInsertionPointToStart(ifRefused.thenBlock());
  StringRef message =
      "ampc: this code multiplies bf16 with AMX tiles, but the OS refused "
      "their state (arch_prctl(ARCH_REQ_XCOMP_PERM), Linux 5.16 or newer); "
      "compile it for a CPU without AMX (--features=-amx-bf16)\n";
  auto text = LLVM::LLVMArrayType::get(i8, message.size());
  Value address = globalAddress(b, loc, module, "ampc_amx_refused", text,
                                b.getStringAttr(message), true);
  auto write = declareFunction(
      b, module, "write", LLVM::LLVMFunctionType::get(i64, {i32, ptr, i64}));
  LLVM::CallOp::create(
      b, loc, write,
      ValueRange{constant(i32, 2), address, constant(i64, message.size())});
  auto abort = declareFunction(
      b, module, "abort",
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(b.getContext()), {}));
  LLVM::CallOp::create(b, loc, abort, ValueRange{});
}

struct AmpcCpuAmxTilesPass
    : ampc::impl::AmpcCpuAmxTilesBase<AmpcCpuAmxTilesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> funcs;
    module.walk([&](func::FuncOp func) { funcs.push_back(func); });
    for (func::FuncOp func : funcs) {
      SmallVector<linalg::GenericOp> tiles;
      func.walk([&](linalg::GenericOp op) {
        if (op->hasAttr(ampc::cpu::kAmxTileAttr))
          tiles.push_back(op);
      });
      for (linalg::GenericOp op : tiles) {
        if (!op.hasPureBufferSemantics()) {
          op.emitError("an AMX tile must be on buffers (run ")
              << getArgument() << " after bufferization)";
          return signalPassFailure();
        }
        emitAmxTile(op);
      }
      if (!tiles.empty())
        requestAmxOnEntry(module, func);
    }
  }
};

struct AmpcCpuLowerAmxPass
    : ampc::impl::AmpcCpuLowerAmxBase<AmpcCpuLowerAmxPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool any = false;
    module.walk([&](Operation *op) {
      if (isa<amx::AMXDialect>(op->getDialect()))
        any = true;
    });
    if (!any)
      return;
    MLIRContext *ctx = &getContext();
    LLVMTypeConverter converter(ctx);
    RewritePatternSet patterns(ctx);
    populateAMXLegalizeForLLVMExportPatterns(converter, patterns);
    ConversionTarget target(*ctx);
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addIllegalDialect<amx::AMXDialect>();
    scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns,
                                                         target);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
