//===- Bf16Conversions.cpp - exact f32 -> bf16 truncation on the CPU ------===//
//
// ampc-cpu-bf16-conversions: arith.truncf from f32 to bf16 becomes the amp
// dialect's integer rounding, or on AVX-512 BF16 one vcvtneps2bf16 per 16
// elements for vectors that hold no subnormal and no NaN (the two inputs on
// which the instruction's bits differ from the integer path's).
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUBF16CONVERSIONS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

namespace {

/// vfpclassps's categories: quiet NaN, denormal, signaling NaN.
constexpr int32_t kNaNOrSubnormal = 0x01 | 0x20 | 0x80;

/// Per lane of `chunk` (8 or 16 f32), whether it is a NaN or a subnormal:
/// AVX-512 DQ's vfpclassps.
Value classify(OpBuilder &b, Location loc, Value chunk) {
  auto type = cast<VectorType>(chunk.getType());
  int64_t lanes = type.getNumElements();
  std::string name = "llvm.x86.avx512.fpclass.ps." + std::to_string(lanes * 32);
  Value categories = LLVM::ConstantOp::create(
      b, loc, b.getI32Type(), b.getI32IntegerAttr(kNaNOrSubnormal));
  return LLVM::CallIntrinsicOp::create(b, loc, type.clone(b.getI1Type()),
                                       b.getStringAttr(name),
                                       ValueRange{chunk, categories})
      .getResult(0);
}

/// Whether vcvtneps2bf16 can convert a vector of `elements` f32: one 256-bit
/// instruction, or whole 512-bit ones.
bool convertsInHardware(int64_t elements) {
  return elements == 8 || (elements > 0 && elements % 16 == 0);
}

/// The exact conversion of `flat` (a 1-D vector that convertsInHardware):
/// vcvtneps2bf16 on each chunk, unless a lane is a NaN or a subnormal; then
/// the integer path, in a branch marked unlikely.
Value convertGuarded(OpBuilder &b, Location loc, Value flat) {
  auto type = cast<VectorType>(flat.getType());
  int64_t elements = type.getNumElements();
  int64_t lanes = elements == 8 ? 8 : 16;
  SmallVector<Value> chunks;
  for (int64_t offset = 0; offset < elements; offset += lanes)
    chunks.push_back(elements == lanes
                         ? flat
                         : vector::ExtractStridedSliceOp::create(
                               b, loc, flat, ArrayRef<int64_t>{offset},
                               ArrayRef<int64_t>{lanes}, ArrayRef<int64_t>{1}));
  Value special;
  for (Value chunk : chunks) {
    Value lanesSpecial = classify(b, loc, chunk);
    special =
        special
            ? arith::OrIOp::create(b, loc, special, lanesSpecial).getResult()
            : lanesSpecial;
  }
  Value any =
      vector::ReductionOp::create(b, loc, vector::CombiningKind::OR, special);
  Value no = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
  Value rare = LLVM::ExpectOp::create(b, loc, any, no);
  auto bf16Type = type.clone(b.getBF16Type());
  auto branch = scf::IfOp::create(b, loc, TypeRange{bf16Type}, rare,
                                  /*withElseRegion=*/true);
  // Through `b` (the rewriter), which sees every op created.
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(branch.thenBlock());
  scf::YieldOp::create(
      b, loc,
      ampc::amp::encodeWithIntegers(b, loc, flat, b.getBF16Type(),
                                    ampc::amp::OverflowMode::nonfinite));
  b.setInsertionPointToEnd(branch.elseBlock());
  auto chunkType = VectorType::get({lanes}, b.getBF16Type());
  Value result;
  for (auto [index, chunk] : llvm::enumerate(chunks)) {
    Value converted =
        x86vector::CvtPackedF32ToBF16Op::create(b, loc, chunkType, chunk);
    if (elements == lanes) {
      result = converted;
      break;
    }
    if (!result)
      result =
          arith::ConstantOp::create(b, loc, bf16Type, b.getZeroAttr(bf16Type));
    result = vector::InsertStridedSliceOp::create(
        b, loc, converted, result, ArrayRef<int64_t>{int64_t(index) * lanes},
        ArrayRef<int64_t>{1});
  }
  scf::YieldOp::create(b, loc, result);
  return branch.getResult(0);
}

struct LowerTruncToBFloat : OpRewritePattern<arith::TruncFOp> {
  LowerTruncToBFloat(MLIRContext *context, bool avx512)
      : OpRewritePattern(context), avx512(avx512) {}

  LogicalResult matchAndRewrite(arith::TruncFOp op,
                                PatternRewriter &rewriter) const override {
    Value input = op.getIn();
    if (!getElementTypeOrSelf(input).isF32() ||
        !getElementTypeOrSelf(op.getType()).isBF16())
      return rewriter.notifyMatchFailure(op, "not f32 -> bf16");
    Location loc = op.getLoc();
    auto vector = dyn_cast<VectorType>(input.getType());
    if (!avx512 || !vector || vector.isScalable() ||
        !convertsInHardware(vector.getNumElements())) {
      rewriter.replaceOp(op, ampc::amp::encodeWithIntegers(
                                 rewriter, loc, input, rewriter.getBF16Type(),
                                 ampc::amp::OverflowMode::nonfinite));
      return success();
    }
    auto flatType =
        VectorType::get({vector.getNumElements()}, rewriter.getF32Type());
    Value flat = input;
    if (vector.getRank() != 1)
      flat = vector::ShapeCastOp::create(rewriter, loc, flatType, input);
    Value converted = convertGuarded(rewriter, loc, flat);
    if (vector.getRank() != 1)
      converted = vector::ShapeCastOp::create(
          rewriter, loc, cast<VectorType>(op.getType()), converted);
    rewriter.replaceOp(op, converted);
    return success();
  }

  bool avx512;
};

struct AmpcCpuBf16ConversionsPass
    : ampc::impl::AmpcCpuBf16ConversionsBase<AmpcCpuBf16ConversionsPass> {
  using Base::Base;
  void runOnOperation() override {
    // LLVM would call a soft-float routine the JIT does not have.
    WalkResult walk = getOperation().walk([](arith::TruncFOp op) {
      Type from = getElementTypeOrSelf(op.getIn());
      if (!getElementTypeOrSelf(op.getType()).isBF16() || from.isF32())
        return WalkResult::advance();
      op.emitOpError("rounds ")
          << from
          << " to bf16, which the CPU back end cannot do exactly; go "
             "through f32 where that is what is meant";
      return WalkResult::interrupt();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerTruncToBFloat>(&getContext(), avx512);
    // One rewrite per truncation; the integer path's ops are not revisited.
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
