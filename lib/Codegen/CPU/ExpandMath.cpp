//===- ExpandMath.cpp - math functions as vectorizable arithmetic ---------===//
//
// ampc-cpu-expand-math: f32 math.tanh (GELU's) and math.exp (softmax's, the
// cross-entropy's) become arithmetic that is vectorized with the loop around
// them, instead of one scalar libm call per vector lane. tanh is upstream's
// rational approximation; exp is built here, accurate to about one ulp with
// gradual underflow (see buildExp).
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCCPUEXPANDMATH
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

/// A scalar or vector of f32.
bool isF32ScalarOrVector(Type type) {
  return isa<FloatType, VectorType>(type) && getElementTypeOrSelf(type).isF32();
}

/// Arithmetic on f32 scalars or on f32 vectors of one shape, with their i32
/// counterparts. Products and sums may fuse into FMAs (`contract`), which
/// the target has or has not; the error bound holds either way.
struct F32Arith {
  OpBuilder &b;
  Location loc;
  Type f32;
  Type i32;

  F32Arith(OpBuilder &b, Location loc, Type type)
      : b(b), loc(loc), f32(type), i32(intTypeLike(type)) {}

  static Type intTypeLike(Type type) {
    Type i32 = IntegerType::get(type.getContext(), 32);
    if (auto vector = dyn_cast<VectorType>(type))
      return vector.clone(i32);
    return i32;
  }
  Value f(float v) {
    return createScalarOrSplatConstant(b, loc, f32, llvm::APFloat(v));
  }
  Value i(int32_t v) { return createScalarOrSplatConstant(b, loc, i32, v); }
  arith::FastMathFlagsAttr contract() {
    return arith::FastMathFlagsAttr::get(b.getContext(),
                                         arith::FastMathFlags::contract);
  }
  Value mul(Value x, Value y) {
    return arith::MulFOp::create(b, loc, x, y, contract());
  }
  Value add(Value x, Value y) {
    return arith::AddFOp::create(b, loc, x, y, contract());
  }
  /// x * y + z, fused where the target fuses.
  Value mulAdd(Value x, Value y, Value z) { return add(mul(x, y), z); }
  Value select(arith::CmpFPredicate predicate, Value x, Value y, Value then,
               Value otherwise) {
    Value c = arith::CmpFOp::create(b, loc, predicate, x, y);
    return arith::SelectOp::create(b, loc, c, then, otherwise);
  }
  /// 2^k for an i32 k in [-126, 127], from its exponent field.
  Value powerOfTwo(Value k) {
    Value biased = arith::AddIOp::create(b, loc, k, i(127));
    Value bits = arith::ShLIOp::create(b, loc, biased, i(23));
    return arith::BitcastOp::create(b, loc, f32, bits);
  }
};

/// exp(x) on f32: x is clamped to [-104, 89] (exp is 0 below -103.98 and
/// +inf above 88.73 after rounding, and the clamp keeps NaN and +-inf out
/// of the integer arithmetic); k = roundeven(x / ln 2); r = x - k ln 2 in
/// two steps (k ln2_hi is exact: ln2_hi ends in 9 zero bits and
/// |k| <= 150), |r| <= ln 2 / 2; exp(r) is its Taylor polynomial of degree
/// 8 in Horner form (truncation error below 3e-10 relative); the result is
/// exp(r) 2^(k/2) 2^(k - k/2), two exact scalings until the last, which
/// rounds once into the subnormals (gradual underflow) or overflows to +inf.
/// A NaN comes back as itself.
Value buildExp(OpBuilder &b, Location loc, Value x) {
  F32Arith a(b, loc, x.getType());
  Value lowest = a.f(-104.0f), highest = a.f(89.0f);
  Value low = a.select(arith::CmpFPredicate::OGT, x, lowest, x, lowest);
  Value clamped =
      a.select(arith::CmpFPredicate::OLT, low, highest, low, highest);
  Value k = math::RoundEvenOp::create(
      b, loc, a.mul(clamped, a.f(1.44269504088896341f)));
  Value minusK = arith::NegFOp::create(b, loc, k);
  Value r = a.mulAdd(minusK, a.f(0.693145751953125f), clamped);
  r = a.mulAdd(minusK, a.f(1.428606765330187045e-06f), r);
  // 1 + r (1 + r (1/2 + r (1/6 + ... + r / 8!)))
  Value p = a.f(1.0f / 40320);
  for (float c : {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6,
                  0.5f, 1.0f, 1.0f})
    p = a.mulAdd(p, r, a.f(c));
  Value kInt = arith::FPToSIOp::create(b, loc, a.i32, k);
  Value half = arith::ShRSIOp::create(b, loc, kInt, a.i(1));
  Value rest = arith::SubIOp::create(b, loc, kInt, half);
  Value y = a.mul(a.mul(p, a.powerOfTwo(half)), a.powerOfTwo(rest));
  return a.select(arith::CmpFPredicate::UNO, x, x, x, y);
}

struct ExpandExp : OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::ExpOp op,
                                PatternRewriter &rewriter) const override {
    if (!isF32ScalarOrVector(op.getType()))
      return failure();
    rewriter.replaceOp(op, buildExp(rewriter, op.getLoc(), op.getOperand()));
    return success();
  }
};

struct AmpcCpuExpandMathPass
    : ampc::impl::AmpcCpuExpandMathBase<AmpcCpuExpandMathPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<math::TanhOp, math::ExpOp>(op) &&
          isF32ScalarOrVector(op->getResult(0).getType()))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    RewritePatternSet patterns(&getContext());
    populatePolynomialApproximateTanhPattern(patterns);
    patterns.add<ExpandExp>(&getContext());
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyOpPatternsGreedily(ops, std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
