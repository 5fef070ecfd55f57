//===- LowerToArith.cpp - amp ops to standard dialects --------------------===//
//
// Lowers the amp ops to arith, math, linalg and tensor. Float conversions are
// done on bit patterns with integer arithmetic, so that they are exact and
// identical on every back end.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/bit.h"

#include <limits>
#include <numeric>

namespace ampc::amp {
#define GEN_PASS_DEF_AMPLOWERTOARITH
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

/// The layout of a binary float format.
struct FloatFormat {
  unsigned width;        // total bits
  unsigned mantissa;     // explicit mantissa bits
  unsigned exponent;     // exponent bits
  int minExponent;       // exponent of the smallest normal
  bool hasInf;           // IEEE-like: all-ones exponent is inf/NaN
  uint64_t maxFinite;    // bit pattern of the largest finite value (no sign)
  uint64_t quietNaN;     // bit pattern of the NaN produced (no sign)
  uint32_t maxFiniteF32; // the largest finite value's f32 pattern (exact)

  explicit FloatFormat(FloatType type) {
    const llvm::fltSemantics &sem = type.getFloatSemantics();
    width = llvm::APFloat::semanticsSizeInBits(sem);
    mantissa = llvm::APFloat::semanticsPrecision(sem) - 1;
    exponent = width - 1 - mantissa;
    minExponent = llvm::APFloat::semanticsMinExponent(sem);
    hasInf = llvm::APFloat::semanticsHasInf(sem);
    maxFinite = llvm::APFloat::getLargest(sem).bitcastToAPInt().getZExtValue();
    quietNaN = llvm::APFloat::getQNaN(sem).bitcastToAPInt().getZExtValue() &
               ~(uint64_t(1) << (width - 1));
    llvm::APFloat largest = llvm::APFloat::getLargest(sem);
    bool inexact = false;
    largest.convert(llvm::APFloat::IEEEsingle(),
                    llvm::APFloat::rmNearestTiesToEven, &inexact);
    maxFiniteF32 = uint32_t(largest.bitcastToAPInt().getZExtValue());
  }
};

/// Builds elementwise integer and float arithmetic on scalars, or on vectors
/// of one shape.
class Emitter {
public:
  Emitter(OpBuilder &builder, Location loc, Type like)
      : b(builder), loc(loc), shape(dyn_cast<VectorType>(like)) {}

  Type type(Type element) {
    return shape ? Type(shape.clone(element)) : element;
  }
  Type intType(unsigned width) { return type(b.getIntegerType(width)); }

  /// `attr` as a scalar constant, or splat over the vector shape.
  Value constant(TypedAttr attr) {
    if (shape)
      return arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(cast<ShapedType>(type(attr.getType())), attr));
    return arith::ConstantOp::create(b, loc, attr);
  }
  Value constInt(unsigned width, int64_t value) {
    return constant(b.getIntegerAttr(b.getIntegerType(width), value));
  }
  Value constFloat(FloatType element, double value) {
    return constant(b.getFloatAttr(element, value));
  }
  Value bitcast(Value value, Type element) {
    return arith::BitcastOp::create(b, loc, type(element), value);
  }
  Value select(Value cond, Value a, Value c) {
    return arith::SelectOp::create(b, loc, cond, a, c);
  }
  Value cmp(arith::CmpIPredicate pred, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, pred, x, y);
  }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value subi(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value shl(Value x, Value y) { return arith::ShLIOp::create(b, loc, x, y); }
  Value shr(Value x, Value y) { return arith::ShRUIOp::create(b, loc, x, y); }
  Value maxsi(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value minsi(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value trunci(Value x, unsigned width) {
    return arith::TruncIOp::create(b, loc, intType(width), x);
  }
  Value extui(Value x, unsigned width) {
    return arith::ExtUIOp::create(b, loc, intType(width), x);
  }

  /// Decodes a value of any supported float type to f32, exactly.
  Value decodeToF32(Value value) {
    auto from = cast<FloatType>(getElementTypeOrSelf(value.getType()));
    if (from.isF32())
      return value;
    Type f32 = b.getF32Type();
    if (from.isBF16()) // the upper half of an f32, NaN and inf included
      return bitcast(
          shl(extui(bitcast(value, b.getI16Type()), 32), constInt(32, 16)),
          f32);
    FloatFormat fmt(from);
    Value bits = extui(bitcast(value, b.getIntegerType(fmt.width)), 32);
    Value sign = shl(shr(bits, constInt(32, fmt.width - 1)), constInt(32, 31));
    Value expField = andi(shr(bits, constInt(32, fmt.mantissa)),
                          constInt(32, (1 << fmt.exponent) - 1));
    Value mant = andi(bits, constInt(32, (1 << fmt.mantissa) - 1));
    // Normal numbers: rebias the exponent, widen the mantissa.
    int bias = 1 - fmt.minExponent;
    Value normal =
        ori(sign,
            ori(shl(addi(expField, constInt(32, 127 - bias)), constInt(32, 23)),
                shl(mant, constInt(32, 23 - fmt.mantissa))));
    // Subnormals: mant * 2^(minExponent - mantissa), exact in f32.
    Value mantF = arith::UIToFPOp::create(b, loc, type(f32), mant);
    Value sub = arith::MulFOp::create(
        b, loc, mantF,
        constFloat(b.getF32Type(),
                   std::ldexp(1.0, fmt.minExponent - int(fmt.mantissa))));
    Value subBits = ori(bitcast(sub, b.getI32Type()), sign);
    Value isSub = cmp(arith::CmpIPredicate::eq, expField, constInt(32, 0));
    Value result = select(isSub, subBits, normal);
    // Infinities and NaNs.
    Value allOnes = constInt(32, (1 << fmt.exponent) - 1);
    Value expMax = cmp(arith::CmpIPredicate::eq, expField, allOnes);
    Value mantZero = cmp(arith::CmpIPredicate::eq, mant, constInt(32, 0));
    Value nan = ori(sign, constInt(32, 0x7fc00000));
    if (fmt.hasInf) {
      Value inf = ori(sign, constInt(32, 0x7f800000));
      result = select(expMax, select(mantZero, inf, nan), result);
    } else {
      Value isNaN = cmp(arith::CmpIPredicate::eq,
                        andi(bits, constInt(32, (1 << (fmt.width - 1)) - 1)),
                        constInt(32, fmt.quietNaN));
      result = select(isNaN, nan, result);
    }
    return bitcast(result, f32);
  }

  /// Rounds an f32 value to `to` (nearest, ties to even) with the given
  /// overflow behaviour.
  Value encodeFromF32(Value value, FloatType to, OverflowMode overflow) {
    if (to.isF32())
      return value;
    if (to.isBF16())
      return encodeBF16(value, overflow);
    if (isa<Float8E4M3FNType, Float8E5M2Type>(to))
      return encodeFp8(value, to, overflow);
    FloatFormat fmt(to);
    Value bits = bitcast(value, b.getI32Type());
    Value sign = shr(bits, constInt(32, 31));
    Value abs = andi(bits, constInt(32, 0x7fffffff));
    Value expField = shr(abs, constInt(32, 23));
    Value mant = andi(abs, constInt(32, 0x7fffff));
    // value = full * 2^(e - 23), full including the implicit bit.
    Value isSubF32 = cmp(arith::CmpIPredicate::eq, expField, constInt(32, 0));
    Value full = select(isSubF32, mant, ori(mant, constInt(32, 1 << 23)));
    Value e =
        subi(select(isSubF32, constInt(32, 1), expField), constInt(32, 127));
    Value emin = constInt(32, fmt.minExponent);
    // Drop (23 - mantissa) bits, plus the distance below the smallest normal.
    Value below = maxsi(subi(emin, e), constInt(32, 0));
    Value shift =
        minsi(addi(constInt(32, 23 - fmt.mantissa), below), constInt(32, 31));
    Value expPart =
        shl(maxsi(subi(e, emin), constInt(32, 0)), constInt(32, fmt.mantissa));
    Value truncated = addi(expPart, shr(full, shift));
    Value one = constInt(32, 1);
    Value rest = andi(full, subi(shl(one, shift), one));
    Value half = shl(one, subi(shift, one));
    Value odd = andi(truncated, one);
    Value roundUp = ori(cmp(arith::CmpIPredicate::ugt, rest, half),
                        andi(cmp(arith::CmpIPredicate::eq, rest, half),
                             cmp(arith::CmpIPredicate::eq, odd, one)));
    Value rounded = addi(truncated, extui(roundUp, 32));

    Value maxFinite = constInt(32, fmt.maxFinite);
    Value overflowValue = overflowPattern(fmt, overflow);
    Value overflows = cmp(arith::CmpIPredicate::ugt, rounded, maxFinite);
    Value result = select(overflows, overflowValue, rounded);
    // f32 inf follows the overflow rule; NaN stays NaN.
    Value isInf = cmp(arith::CmpIPredicate::eq, abs, constInt(32, 0x7f800000));
    result = select(isInf, overflowValue, result);
    Value isNaN = cmp(arith::CmpIPredicate::ugt, abs, constInt(32, 0x7f800000));
    result = select(isNaN, constInt(32, fmt.quietNaN), result);
    result = ori(result, shl(sign, constInt(32, fmt.width - 1)));
    return bitcast(trunci(result, fmt.width), to);
  }

  /// f32 -> bf16 on the bit pattern: bf16 is the upper half of an f32 with
  /// the same exponent range, so nearest-even rounding is one addition
  /// (0x7fff plus the lowest kept bit) that carries into the kept half;
  /// subnormals, overflow to inf and inf itself need nothing more. The
  /// general encoder's results, in a fifth of its operations.
  Value encodeBF16(Value value, OverflowMode overflow) {
    Value rounded = shr(bf16RoundedBits(value, overflow), constInt(32, 16));
    return bitcast(trunci(rounded, 16), b.getBF16Type());
  }

  /// The f32 value of `value` (f32) rounded to bf16 as encodeBF16 rounds it:
  /// its pattern in the upper half, the lower half cleared, with no 16-bit
  /// value in between.
  Value roundThroughBF16(Value value, OverflowMode overflow) {
    Value rounded = bf16RoundedBits(value, overflow);
    return bitcast(andi(rounded, constInt(32, int64_t(0xffff0000))),
                   b.getF32Type());
  }

  /// encodeBF16's pattern in the upper half of an i32 (the lower half is
  /// what the rounding carry left). A NaN becomes the quiet NaN with its
  /// sign before the addition (which then leaves it unchanged), one
  /// unordered comparison and one masked bit operation on AVX-512.
  Value bf16RoundedBits(Value value, OverflowMode overflow) {
    Value bits = bitcast(quietNaNs(b, loc, value), b.getI32Type());
    Value lsb = andi(shr(bits, constInt(32, 16)), constInt(32, 1));
    Value rounded = addi(bits, addi(lsb, constInt(32, 0x7fff)));
    if (overflow != OverflowMode::saturate)
      return rounded;
    // Finite values rounding to inf, and inf, become the largest finite.
    Value magnitude = andi(rounded, constInt(32, int64_t(0x7fff0000)));
    Value isInf = cmp(arith::CmpIPredicate::eq, magnitude,
                      constInt(32, int64_t(0x7f800000)));
    Value largest = ori(andi(bits, constInt(32, int64_t(0x80000000))),
                        constInt(32, int64_t(0x7f7f0000)));
    return select(isInf, largest, rounded);
  }

  /// f32 -> f8E4M3FN / f8E5M2 in a few operations: normal results round
  /// with one carry addition on the f32 pattern (the kept mantissa bits'
  /// lowest, plus half an ulp less one) and rebias the exponent; below the
  /// smallest normal, adding 2^(emin - mantissa + 23) in f32 leaves the
  /// subnormal's mantissa, rounded to nearest even by the addition itself,
  /// in the sum's low bits. Overflow, inf and NaN as encodeFromF32.
  Value encodeFp8(Value value, FloatType to, OverflowMode overflow) {
    FloatFormat fmt(to);
    int bias = 1 - fmt.minExponent;
    int dropped = 23 - int(fmt.mantissa);
    Value bits = bitcast(value, b.getI32Type());
    Value abs = andi(bits, constInt(32, 0x7fffffff));
    Value normal =
        subi(shr(addRoundingCarry(abs, dropped), constInt(32, dropped)),
             constInt(32, int64_t(127 - bias) << fmt.mantissa));
    Value subnormal =
        subi(bitcast(addSubnormalMagic(abs, fmt), b.getI32Type()),
             constInt(32, llvm::bit_cast<uint32_t>(subnormalMagic(fmt))));
    Value result = belowMinNormal(abs, fmt, subnormal, normal);
    result = select(roundsBeyondLargest(abs, fmt),
                    overflowPattern(fmt, overflow), result);
    if (!overflowIsNaN(fmt, overflow))
      result = select(isNaNPattern(abs), constInt(32, fmt.quietNaN), result);
    result = ori(result, shl(shr(bits, constInt(32, 31)), constInt(32, 7)));
    return bitcast(trunci(result, 8), to);
  }

  /// The f32 value of `value` (f32) rounded to `to` (f8E4M3FN or f8E5M2)
  /// as encodeFp8 rounds it, read back, with no 8-bit pattern in between.
  /// In range, one addition and one subtraction of a magic number round it:
  /// C = 1.5 * 2^(e + dropped), e the exponent of `value` or, below the
  /// format's smallest normal, that normal's. value + C stays in C's
  /// binade, whose ulp is the format's quantum at e (its smallest subnormal
  /// below the normals), so the addition rounds to nearest even and the
  /// subtraction is exact. The addition must not fuse with a multiply
  /// before it (no contract flag here): that would round once, not twice.
  /// Overflow, inf and NaN give what decoding encodeFp8's pattern gives.
  Value roundThroughFp8(Value value, FloatType to, OverflowMode overflow) {
    FloatFormat fmt(to);
    FloatType f32 = b.getF32Type();
    Value bits = bitcast(value, b.getI32Type());
    Value magic = bitcast(quantumMagic(bits, fmt), f32);
    Value rounded =
        bitcast(arith::SubFOp::create(
                    b, loc, arith::AddFOp::create(b, loc, value, magic), magic),
                b.getI32Type());
    Value abs = andi(bits, constInt(32, 0x7fffffff));
    uint32_t overflowBits = overflow == OverflowMode::saturate
                                ? fmt.maxFiniteF32
                            : fmt.hasInf ? 0x7f800000u
                                         : 0x7fc00000u;
    Value result = select(roundsBeyondLargest(abs, fmt),
                          constInt(32, int32_t(overflowBits)), rounded);
    if (!overflowIsNaN(fmt, overflow))
      result = select(isNaNPattern(abs), constInt(32, 0x7fc00000), result);
    // The rounded value has the input's sign already (a zero may not).
    result = ori(result, andi(bits, constInt(32, int32_t(0x80000000u))));
    return bitcast(result, f32);
  }

  /// An f32 value that bf16 holds exactly, as bf16: its upper half.
  Value exactBF16(Value f32) {
    Value bits = shr(bitcast(f32, b.getI32Type()), constInt(32, 16));
    return bitcast(trunci(bits, 16), b.getBF16Type());
  }

private:
  /// `abs` (an f32 pattern without sign) plus the carry that rounds away its
  /// `dropped` low bits to nearest even: the lowest kept bit, plus half an
  /// ulp less one.
  Value addRoundingCarry(Value abs, int dropped) {
    Value kept = shr(abs, constInt(32, dropped));
    return addi(abs, addi(andi(kept, constInt(32, 1)),
                          constInt(32, (int64_t(1) << (dropped - 1)) - 1)));
  }

  /// 2^(emin - mantissa + 23) of `fmt`: an f32 whose ulp is the format's
  /// smallest subnormal.
  static float subnormalMagic(const FloatFormat &fmt) {
    return std::ldexp(1.0f, fmt.minExponent - int(fmt.mantissa) + 23);
  }

  /// roundThroughFp8's magic number for the f32 pattern `bits`, as an i32
  /// pattern: 1.5 * 2^(e + dropped), with e the exponent of `bits` but at
  /// least the smallest normal's. Beyond the format's range (where e +
  /// dropped passes 127, and for inf and NaN) it is meaningless: those
  /// values are overflow, selected away.
  Value quantumMagic(Value bits, const FloatFormat &fmt) {
    int dropped = 23 - int(fmt.mantissa);
    auto magicAt = [&](int exponent) {
      return int32_t(uint32_t(exponent) << 23 | 0x400000u);
    };
    Value exponentField = andi(bits, constInt(32, 0x7f800000));
    Value atExponent = addi(exponentField, constInt(32, magicAt(dropped)));
    return maxsi(atExponent,
                 constInt(32, magicAt(127 + fmt.minExponent + dropped)));
  }

  /// `abs` (an f32 pattern without sign, below the smallest normal of `fmt`)
  /// plus subnormalMagic in f32: the addition rounds to a multiple of the
  /// smallest subnormal, nearest even, and leaves it in the sum's low bits.
  Value addSubnormalMagic(Value abs, const FloatFormat &fmt) {
    FloatType f32 = b.getF32Type();
    return arith::AddFOp::create(b, loc, bitcast(abs, f32),
                                 constFloat(f32, subnormalMagic(fmt)));
  }

  // `abs` is an f32 pattern without its sign: its comparisons are those of
  // its float value (the order of non-negative floats is their patterns'),
  // one instruction on AVX2, where an unsigned integer comparison takes two
  // (a minimum or maximum and an equality; LLVM makes a signed comparison
  // of a value known to be non-negative an unsigned one). A NaN compares as
  // a pattern above inf's: unordered. Flushing subnormals to zero would not
  // change them (the bounds are normal).

  /// `abs` as the float it is the pattern of.
  Value magnitude(Value abs) { return bitcast(abs, b.getF32Type()); }

  /// `subnormal` where `abs` is below the smallest normal of `fmt`, else
  /// `normal`.
  Value belowMinNormal(Value abs, const FloatFormat &fmt, Value subnormal,
                       Value normal) {
    uint32_t minNormal = uint32_t(127 + fmt.minExponent) << 23;
    Value isSub = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OLT, magnitude(abs),
        constFloat(b.getF32Type(), llvm::bit_cast<float>(minNormal)));
    return select(isSub, subnormal, normal);
  }

  /// Whether `abs` rounds (nearest even, to `fmt`'s mantissa) beyond the
  /// largest finite value of `fmt`, or is inf or NaN: it is beyond the
  /// midpoint above the largest value, or at it where the largest value's
  /// last kept bit is 1 (a tie then rounds up, away from it). Read on the
  /// input, not on the rounded pattern (whose carry can pass 2^31).
  Value roundsBeyondLargest(Value abs, const FloatFormat &fmt) {
    int dropped = 23 - int(fmt.mantissa);
    uint32_t half = uint32_t(1) << (dropped - 1);
    uint32_t lastKept = (fmt.maxFiniteF32 >> dropped) & 1;
    uint32_t lastInRange = fmt.maxFiniteF32 + half - lastKept;
    return arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::UGT, magnitude(abs),
        constFloat(b.getF32Type(), llvm::bit_cast<float>(lastInRange)));
  }

  /// Whether what overflows becomes is the quiet NaN (f8E4M3FN without
  /// saturation): roundsBeyondLargest also holds for NaNs, so they need no
  /// comparison of their own.
  static bool overflowIsNaN(const FloatFormat &fmt, OverflowMode overflow) {
    return overflow != OverflowMode::saturate && !fmt.hasInf;
  }

  /// Whether `abs` is a NaN's pattern.
  Value isNaNPattern(Value abs) {
    Value value = magnitude(abs);
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, value,
                                 value);
  }

  /// What a finite value beyond the format's range (and inf) becomes: the
  /// largest finite value when saturating, else inf, or NaN for formats
  /// without inf (f8E4M3FN).
  Value overflowPattern(const FloatFormat &fmt, OverflowMode overflow) {
    if (overflow == OverflowMode::saturate)
      return constInt(32, fmt.maxFinite);
    if (fmt.hasInf)
      return constInt(32, ((1 << fmt.exponent) - 1) << fmt.mantissa);
    return constInt(32, fmt.quietNaN);
  }

  OpBuilder &b;
  Location loc;
  VectorType shape;
};

/// amp.cast's input in f32, scaled: times the scale into fp8, divided by it
/// out of fp8.
Value scaledF32(OpBuilder &b, Location loc, Value value, Value scale) {
  Emitter em(b, loc, value.getType());
  auto from = cast<FloatType>(getElementTypeOrSelf(value.getType()));
  Value f32 = em.decodeToF32(value);
  if (!scale)
    return f32;
  if (auto vec = dyn_cast<VectorType>(value.getType()))
    scale =
        vector::BroadcastOp::create(b, loc, vec.clone(b.getF32Type()), scale);
  return isFp8Type(from) ? Value(arith::DivFOp::create(b, loc, f32, scale))
                         : Value(arith::MulFOp::create(b, loc, f32, scale));
}

/// The scalar (or vector) body of amp.cast.
Value convertValue(OpBuilder &b, Location loc, Value value, FloatType to,
                   OverflowMode overflow, Value scale,
                   const HardwareCastEncoder &hardware) {
  Emitter em(b, loc, value.getType());
  Value f32 = scaledF32(b, loc, value, scale);
  if (hardware && getElementTypeOrSelf(f32.getType()).isF32())
    if (Value encoded = hardware(b, loc, f32, to, overflow))
      return encoded;
  return em.encodeFromF32(f32, to, overflow);
}

/// Maps every element of `inputs` (tensors of one shape) through `body` into a
/// tensor of `resultType`.
Value mapTensor(OpBuilder &b, Location loc, ValueRange inputs,
                RankedTensorType resultType,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<OpFoldResult> sizes =
      tensor::getMixedSizes(b, loc, inputs.front());
  Value init =
      tensor::EmptyOp::create(b, loc, sizes, resultType.getElementType());
  unsigned rank = resultType.getRank();
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = body(nested, nestedLoc, args.drop_back());
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return generic.getResult(0);
}

/// Reduces every element of a tensor with `combine` (after `map`) into a
/// scalar of type `accType`, starting from `initValue`.
Value reduceTensor(
    OpBuilder &b, Location loc, Value input, Value initValue,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto type = cast<RankedTensorType>(input.getType());
  Type accType = initValue.getType();
  Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, accType);
  Value init = linalg::FillOp::create(b, loc, initValue, empty).getResult(0);
  unsigned rank = type.getRank();
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 AffineMap::get(rank, 0, b.getContext())};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::reduction);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), input, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                combine(nested, nestedLoc, args[0], args[1]));
      });
  return tensor::ExtractOp::create(b, loc, generic.getResult(0), ValueRange{});
}

Value lowerCast(OpBuilder &b, CastOp op, const HardwareCastEncoder &hardware) {
  FloatType to = op.getResultElementType();
  OverflowMode overflow = op.getOverflowMode();
  Value scale = op.getScale();
  if (auto tensorType = dyn_cast<RankedTensorType>(op.getType()))
    return mapTensor(b, op.getLoc(), op.getInput(), tensorType,
                     [&](OpBuilder &nested, Location loc, ValueRange args) {
                       return convertValue(nested, loc, args[0], to, overflow,
                                           scale, hardware);
                     });
  return convertValue(b, op.getLoc(), op.getInput(), to, overflow, scale,
                      hardware);
}

/// The cast `op` (nearest even, from f32 or wider into fp8, or from f32
/// into bf16) read back as `resultType` (f32, or bf16 from fp8; of the
/// cast's shape), if it is such a cast: rounded in f32 (roundThroughFp8,
/// roundThroughBF16), never a narrow pattern. A quantization the CPU's
/// kernels read widened costs half the operations.
Value lowerCastThenWiden(OpBuilder &b, CastOp op, Type resultType) {
  FloatType narrow = op.getResultElementType();
  Type from = op.getSourceElementType(),
       wide = getElementTypeOrSelf(resultType);
  bool fp8 =
      isFp8Type(narrow) && !isFp8Type(from) && (wide.isF32() || wide.isBF16());
  bool bf16 = narrow.isBF16() && from.isF32() && wide.isF32();
  if (!(fp8 || bf16) || op.getRoundingMode() != RoundingMode::nearest_even)
    return Value();
  OverflowMode overflow = op.getOverflowMode();
  auto body = [&](OpBuilder &nested, Location loc, Value x) -> Value {
    Emitter em(nested, loc, x.getType());
    Value f32 = scaledF32(nested, loc, x, op.getScale());
    if (bf16)
      return em.roundThroughBF16(f32, overflow);
    f32 = em.roundThroughFp8(f32, narrow, overflow);
    return wide.isF32() ? f32 : em.exactBF16(f32);
  };
  if (auto tensorType = dyn_cast<RankedTensorType>(resultType))
    return mapTensor(b, op.getLoc(), op.getInput(), tensorType,
                     [&](OpBuilder &nested, Location loc, ValueRange args) {
                       return body(nested, loc, args[0]);
                     });
  return body(b, op.getLoc(), op.getInput());
}

/// The amp.cast that `op` only widens, if it does: `arith.extf` of its
/// result, or a linalg.generic that applies `arith.extf` to it elementwise
/// (what a widened tensor becomes before amp ops are lowered).
CastOp widenedCast(Operation *op) {
  Value input;
  if (auto extf = dyn_cast<arith::ExtFOp>(op)) {
    input = extf.getIn();
  } else if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    Block &body = generic.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    auto extf = yield.getNumOperands() == 1
                    ? yield.getOperand(0).getDefiningOp<arith::ExtFOp>()
                    : nullptr;
    if (!extf || &body.front() != extf.getOperation() ||
        generic.getNumDpsInputs() != 1 || generic.getNumResults() != 1 ||
        extf.getIn() != body.getArgument(0) ||
        !llvm::all_of(generic.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }))
      return CastOp();
    input = generic.getDpsInputs()[0];
  }
  return input ? input.getDefiningOp<CastOp>() : CastOp();
}

/// Every widening of a cast in `root` that lowerCastThenWiden rounds in f32.
void foldWidenedCasts(Operation *root) {
  SmallVector<std::pair<Operation *, CastOp>> widenings;
  root->walk([&](Operation *op) {
    if (CastOp cast = widenedCast(op))
      widenings.emplace_back(op, cast);
  });
  IRRewriter rewriter(root->getContext());
  for (auto [op, cast] : widenings) {
    rewriter.setInsertionPoint(op);
    if (Value rounded =
            lowerCastThenWiden(rewriter, cast, op->getResult(0).getType()))
      rewriter.replaceOp(op, rounded);
  }
  // Casts that were read only widened are gone.
  llvm::SmallPtrSet<Operation *, 8> casts;
  for (auto [op, cast] : widenings)
    casts.insert(cast);
  for (Operation *cast : casts)
    if (cast->use_empty())
      rewriter.eraseOp(cast);
}

/// Multiplies every element of `value` (f32-like or lower) by the f32 scalar
/// `factor`, rounding back to the element type.
Value scaleBy(OpBuilder &b, Location loc, Value value, Value factor) {
  auto elementType = cast<FloatType>(getElementTypeOrSelf(value.getType()));
  auto scalar = [&](OpBuilder &nested, Location nestedLoc, Value x) -> Value {
    Emitter em(nested, nestedLoc, x.getType());
    Value product =
        arith::MulFOp::create(nested, nestedLoc, em.decodeToF32(x), factor);
    return em.encodeFromF32(product, elementType, OverflowMode::nonfinite);
  };
  if (auto tensorType = dyn_cast<RankedTensorType>(value.getType()))
    return mapTensor(
        b, loc, value, tensorType,
        [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
          return scalar(nested, nestedLoc, args[0]);
        });
  if (isa<VectorType>(value.getType()))
    factor = vector::BroadcastOp::create(
        b, loc, cast<VectorType>(value.getType()).clone(b.getF32Type()),
        factor);
  return scalar(b, loc, value);
}

/// |x| compared with inf: `UGE` is true for inf and NaN (non-finite), `OLT`
/// for finite values.
Value compareWithInf(OpBuilder &b, Location loc, Value x,
                     arith::CmpFPredicate predicate) {
  Value abs = math::AbsFOp::create(b, loc, x);
  Value inf = arith::ConstantOp::create(
      b, loc,
      b.getFloatAttr(
          x.getType(),
          APFloat::getInf(cast<FloatType>(x.getType()).getFloatSemantics())));
  return arith::CmpFOp::create(b, loc, predicate, abs, inf);
}

/// True (i1) when |x| is inf or NaN.
Value isNonFinite(OpBuilder &b, Location loc, Value x) {
  return compareWithInf(b, loc, x, arith::CmpFPredicate::UGE);
}

/// True (i1) when x is neither inf nor NaN.
Value isFinite(OpBuilder &b, Location loc, Value x) {
  return compareWithInf(b, loc, x, arith::CmpFPredicate::OLT);
}

/// The largest bit pattern of the magnitudes of a tensor's elements (i32):
/// |x| is a non-negative float, whose patterns order as signed integers the
/// way the floats do, with every NaN above +inf. One instruction per vector
/// on a one-cycle chain, with integer partial maxima, where arith.maximumf
/// needs its NaN and signed-zero selects (three dependent instructions on
/// x86) and an i1 "any" reduction keeps its partials as bytes; 0 for no
/// element.
Value largestMagnitudeBits(OpBuilder &b, Location loc, Value input) {
  Emitter em(b, loc, b.getF32Type());
  Value magnitude = em.constInt(32, 0x7fffffff);
  return reduceTensor(
      b, loc, input, em.constInt(32, 0),
      [&](OpBuilder &nested, Location nestedLoc, Value x, Value acc) -> Value {
        Emitter inner(nested, nestedLoc, x.getType());
        Value bits = inner.bitcast(inner.decodeToF32(x), nested.getI32Type());
        return inner.maxsi(inner.andi(bits, magnitude), acc);
      });
}

void lowerUnscaleGrads(OpBuilder &b, UnscaleGradsOp op,
                       SmallVectorImpl<Value> &results) {
  Location loc = op.getLoc();
  // GradScaler: the inverse scale is computed in f64, then rounded to f32.
  Value scale64 = arith::ExtFOp::create(b, loc, b.getF64Type(), op.getScale());
  Value one64 = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1.0));
  Value inv64 = arith::DivFOp::create(b, loc, one64, scale64);
  Value inv = arith::TruncFOp::create(b, loc, b.getF32Type(), inv64);
  Value found = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
  // found_inf is a reduction over every gradient: none where nothing reads
  // it (amp-build-train-step checks element by element only where the
  // gradient norm is not finite).
  bool check = !op.getFoundInf().use_empty();
  for (Value grad : op.getGrads()) {
    results.push_back(scaleBy(b, loc, grad, inv));
    if (!check)
      continue;
    Value anyBad;
    if (isa<RankedTensorType>(grad.getType())) {
      // Some |x| is inf or NaN: the largest pattern is at least inf's.
      Emitter em(b, loc, b.getI32Type());
      anyBad = em.cmp(arith::CmpIPredicate::sge,
                      largestMagnitudeBits(b, loc, grad),
                      em.constInt(32, 0x7f800000));
    } else {
      Emitter em(b, loc, grad.getType());
      anyBad = isNonFinite(b, loc, em.decodeToF32(grad));
    }
    found = arith::OrIOp::create(b, loc, found, anyBad);
  }
  results.push_back(found);
}

void lowerUpdateLossScale(OpBuilder &b, UpdateLossScaleOp op,
                          SmallVectorImpl<Value> &results) {
  Location loc = op.getLoc();
  auto f64 = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v)).getResult();
  };
  auto i32 = [&](int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v))
        .getResult();
  };
  Value found = op.getFoundInf();
  Value scale64 = arith::ExtFOp::create(b, loc, b.getF64Type(), op.getScale());
  auto toF32 = [&](Value v) {
    return arith::TruncFOp::create(b, loc, b.getF32Type(), v).getResult();
  };

  // Overflow: decrement the hysteresis tracker; back off when it runs out.
  Value hystLeft =
      arith::SubIOp::create(b, loc, op.getHysteresisTracker(), i32(1));
  Value backOffNow = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle,
                                           hystLeft, i32(0));
  Value backedOff = toF32(arith::MulFOp::create(
      b, loc, scale64, f64(op.getBackoffFactor().convertToDouble())));
  if (auto minScale = op.getMinScaleAttr()) {
    Value lo = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(minScale.getValueAsDouble()));
    backedOff = arith::MaximumFOp::create(b, loc, backedOff, lo);
  }
  Value scaleOnInf =
      arith::SelectOp::create(b, loc, backOffNow, backedOff, op.getScale());
  Value hystReset = i32(op.getHysteresisAttr().getInt());
  Value hystOnInf =
      arith::SelectOp::create(b, loc, backOffNow, hystReset, hystLeft);

  // No overflow: count; grow at the interval if the result is finite.
  Value counted = arith::AddIOp::create(b, loc, op.getGrowthTracker(), i32(1));
  Value growNow =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, counted,
                            i32(op.getGrowthIntervalAttr().getInt()));
  Value grown = toF32(arith::MulFOp::create(
      b, loc, scale64, f64(op.getGrowthFactor().convertToDouble())));
  Value grownOk = isFinite(b, loc, grown);
  Value grownScale =
      arith::SelectOp::create(b, loc, grownOk, grown, op.getScale());
  if (auto maxScale = op.getMaxScaleAttr()) {
    Value hi = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(maxScale.getValueAsDouble()));
    grownScale = arith::MinimumFOp::create(b, loc, grownScale, hi);
  }
  Value scaleOnOk =
      arith::SelectOp::create(b, loc, growNow, grownScale, op.getScale());
  Value growthOnOk = arith::SelectOp::create(b, loc, growNow, i32(0), counted);
  Value hystOnOk = arith::SelectOp::create(b, loc, growNow, hystReset,
                                           op.getHysteresisTracker());

  results.push_back(
      arith::SelectOp::create(b, loc, found, scaleOnInf, scaleOnOk));
  results.push_back(arith::SelectOp::create(b, loc, found, i32(0), growthOnOk));
  results.push_back(
      arith::SelectOp::create(b, loc, found, hystOnInf, hystOnOk));
}

/// The f32 whose bit pattern is the i32 `bits`, or the quiet NaN where
/// `isNaN` holds (an integer maximum found a NaN's pattern).
Value floatOrQuietNaN(Emitter &em, Value isNaN, Value bits) {
  auto f32 = Float32Type::get(bits.getContext());
  Value quietNaN = em.constFloat(f32, std::numeric_limits<float>::quiet_NaN());
  Value largest = em.bitcast(bits, f32);
  return em.select(isNaN, quietNaN, largest);
}

/// The amax of a tensor as one integer maximum of the magnitudes' bit
/// patterns (largestMagnitudeBits); the result is the same float (a NaN as
/// the quiet NaN), +0 for no element.
Value amaxOfTensor(OpBuilder &b, Location loc, Value input) {
  Emitter em(b, loc, b.getF32Type());
  Value maxBits = largestMagnitudeBits(b, loc, input);
  Value nan =
      em.cmp(arith::CmpIPredicate::sgt, maxBits, em.constInt(32, 0x7f800000));
  return floatOrQuietNaN(em, nan, maxBits);
}

Value lowerAmax(OpBuilder &b, AmaxOp op) {
  Location loc = op.getLoc();
  Value input = op.getInput();
  if (isa<RankedTensorType>(input.getType()))
    return amaxOfTensor(b, loc, input);
  auto absF32 = [](OpBuilder &nested, Location nestedLoc, Value x) -> Value {
    Emitter em(nested, nestedLoc, x.getType());
    return math::AbsFOp::create(nested, nestedLoc, em.decodeToF32(x));
  };
  if (auto vec = dyn_cast<VectorType>(input.getType())) {
    Value abs = absF32(b, loc, input);
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXIMUMF,
                                       abs);
  }
  return absF32(b, loc, input);
}

/// Reduces the rows of `input` (r x c) into the columns of `init` (c) with
/// `combine`.
Value reduceRows(
    OpBuilder &b, Location loc, Value input, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  MLIRContext *context = b.getContext();
  AffineExpr row = getAffineDimExpr(0, context);
  AffineExpr column = getAffineDimExpr(1, context);
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {row, column}, context),
                                 AffineMap::get(2, 0, {column}, context)};
  SmallVector<utils::IteratorType> iterators = {utils::IteratorType::reduction,
                                                utils::IteratorType::parallel};
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), input, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                combine(nested, nestedLoc, args[0], args[1]));
      });
  return generic.getResult(0);
}

/// The fewest rows of an r x c tensor whose elements fill whole vectors of
/// 16 lanes (16 / gcd(c, 16)), or 1 where r is not a multiple of that.
int64_t rowsPerVectorRow(int64_t rows, int64_t columns) {
  int64_t group = 16 / std::gcd(columns, int64_t(16));
  return rows % group == 0 ? group : 1;
}

/// The r x c tensor `rows` as r / group rows of group * c elements (the
/// same elements in the same order).
Value groupRows(OpBuilder &b, Location loc, Value rows, int64_t group) {
  auto type = cast<RankedTensorType>(rows.getType());
  int64_t r = type.getDimSize(0), c = type.getDimSize(1);
  Value expanded = tensor::ExpandShapeOp::create(
      b, loc, type.clone({r / group, group, c}), rows,
      ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  return tensor::CollapseShapeOp::create(
      b, loc, expanded, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
}

/// Per column of the r x c f32 tensor `rows`, the integer maximum (signed
/// or not) of `init` (c, i32) and the bit patterns of its rows. Where c is
/// not a multiple of 16 (the fp8 sites of a model), the rows are reduced in
/// groups that fill whole vectors (rowsPerVectorRow: 8 rows of 22 are 11
/// vectors of 16, or 22 of 8) and the group's rows are reduced last: as
/// rows of c, each row was vectors of c lanes whose last lanes were
/// inserted one at a time (3 % of the zoo transformer block's fp8 step).
/// Integer maxima do not depend on the order.
Value maxOfRowBits(OpBuilder &b, Location loc, Value rows, Value init,
                   bool isSigned) {
  Type i32 = b.getI32Type();
  // Of an f32 element or of a bit pattern the first reduction left.
  auto maxOf = [&](OpBuilder &nested, Location nestedLoc, Value x,
                   Value acc) -> Value {
    Value bits = x.getType() == i32
                     ? x
                     : arith::BitcastOp::create(nested, nestedLoc, i32, x);
    if (isSigned)
      return arith::MaxSIOp::create(nested, nestedLoc, bits, acc);
    return arith::MaxUIOp::create(nested, nestedLoc, bits, acc);
  };
  auto type = cast<RankedTensorType>(rows.getType());
  int64_t columns = type.getDimSize(1);
  int64_t group = rowsPerVectorRow(type.getDimSize(0), columns);
  if (group == 1)
    return reduceRows(b, loc, rows, init, maxOf);
  Value identity = arith::ConstantOp::create(
      b, loc,
      b.getI32IntegerAttr(isSigned ? std::numeric_limits<int32_t>::min() : 0));
  Value empty =
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{group * columns}, i32);
  Value partial =
      linalg::FillOp::create(b, loc, ValueRange{identity}, ValueRange{empty})
          .getResult(0);
  partial = reduceRows(b, loc, groupRows(b, loc, rows, group), partial, maxOf);
  Value byRow = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({group, columns}, i32), partial,
      ArrayRef<ReassociationIndices>{{0, 1}});
  return reduceRows(b, loc, byRow, init, maxOf);
}

/// Per column, the maximum of `amax` (c) and the rows of the f32 tensor
/// `rows` (r x c) as a scale needs it: the largest value where that is
/// positive and finite, NaN where any value is NaN, and otherwise a value
/// that is not positive (arith.maximumf's result up to the sign of a zero
/// maximum, which no scale reads). Two integer maxima of the bit patterns,
/// one instruction per vector each, instead of maximumf's NaN and
/// signed-zero selects: the signed maximum orders non-negative floats as
/// floats, below +NaN and above every negative one; the unsigned maximum
/// puts a -NaN above every other pattern.
Value maxForScale(OpBuilder &b, Location loc, Value amax, Value rows) {
  Type i32 = b.getI32Type();
  auto columns = cast<RankedTensorType>(amax.getType());
  Value amaxBits = mapTensor(
      b, loc, amax, columns.clone(i32),
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) -> Value {
        return arith::BitcastOp::create(nested, nestedLoc, i32, args[0]);
      });
  Value signedMax = maxOfRowBits(b, loc, rows, amaxBits, true);
  Value unsignedMax = maxOfRowBits(b, loc, rows, amaxBits, false);
  return mapTensor(
      b, loc, {signedMax, unsignedMax}, columns,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) -> Value {
        Emitter em(nested, nestedLoc, nested.getF32Type());
        Value positiveNaN = em.cmp(arith::CmpIPredicate::sgt, args[0],
                                   em.constInt(32, 0x7f800000));
        Value negativeNaN = em.cmp(arith::CmpIPredicate::ugt, args[1],
                                   em.constInt(32, int32_t(0xff800000u)));
        return floatOrQuietNaN(em, em.ori(positiveNaN, negativeNaN), args[0]);
      });
}

/// Rows [offset, offset + count) of the r x c tensor `rows`.
Value rowSlice(OpBuilder &b, Location loc, Value rows, OpFoldResult offset,
               int64_t count) {
  int64_t columns = cast<RankedTensorType>(rows.getType()).getDimSize(1);
  return tensor::ExtractSliceOp::create(
      b, loc, rows, ArrayRef<OpFoldResult>{offset, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(count), b.getIndexAttr(columns)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// `row` (c) written over row `index` of the r x c tensor `rows`.
Value insertRow(OpBuilder &b, Location loc, Value row, Value rows,
                Value index) {
  int64_t columns = cast<RankedTensorType>(rows.getType()).getDimSize(1);
  return tensor::InsertSliceOp::create(
      b, loc, row, rows, ArrayRef<OpFoldResult>{index, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(columns)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// The maxima of the block that row `index` of `history` (the amaxes
/// written there) is in, and that block's index. One block is read,
/// whatever the history's length, after the amaxes are written: no row is
/// skipped, which took a comparison and a select per element.
std::pair<Value, Value> newBlockMax(OpBuilder &b, UpdateAmaxHistoryOp op,
                                    Value history, Value index) {
  Location loc = op.getLoc();
  int64_t blockLength = op.getBlockLength();
  if (blockLength == 1)
    return {op.getAmax(), index};
  Value blockLengthValue = arith::ConstantIndexOp::create(b, loc, blockLength);
  Value block = arith::DivUIOp::create(b, loc, index, blockLengthValue);
  Value start = arith::MulIOp::create(b, loc, block, blockLengthValue);
  Value entries = rowSlice(b, loc, history, start, blockLength);
  return {maxForScale(b, loc, op.getAmax(), entries), block};
}

/// sf = (fp8_max / reduced) / 2^margin per column, kept at the old scale
/// unless the reduced amax is positive and finite (Transformer Engine's
/// _default_sf_compute).
Value newScales(OpBuilder &b, UpdateAmaxHistoryOp op, Value reduced) {
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getScale().getType());
  SmallVector<float> maxima;
  for (double max : op.getFormatMaxima())
    maxima.push_back(float(max));
  Value formatMax = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, ArrayRef<float>(maxima)));
  float marginFactor = std::ldexp(1.0f, int(op.getMarginAttr().getInt()));
  return mapTensor(
      b, loc, {reduced, formatMax, op.getScale()}, type,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) -> Value {
        auto f32 = [&](float v) -> Value {
          return arith::ConstantOp::create(nested, nestedLoc,
                                           nested.getF32FloatAttr(v));
        };
        Value sf = arith::DivFOp::create(nested, nestedLoc, args[1], args[0]);
        sf = arith::DivFOp::create(nested, nestedLoc, sf, f32(marginFactor));
        Value positive = arith::CmpFOp::create(
            nested, nestedLoc, arith::CmpFPredicate::OGT, args[0], f32(0.0f));
        Value finite = isFinite(nested, nestedLoc, args[0]);
        Value keep = arith::AndIOp::create(nested, nestedLoc, positive, finite);
        return arith::SelectOp::create(nested, nestedLoc, keep, sf, args[2]);
      });
}

void lowerUpdateAmaxHistory(OpBuilder &b, UpdateAmaxHistoryOp op,
                            SmallVectorImpl<Value> &results) {
  Location loc = op.getLoc();
  Emitter em(b, loc, b.getI32Type());
  int64_t length =
      cast<RankedTensorType>(op.getHistory().getType()).getDimSize(0);
  // A position outside [0, length) (state written by hand) counts as 0.
  Value lengthValue = em.constInt(32, length);
  Value zero = em.constInt(32, 0);
  Value position = em.select(
      em.cmp(arith::CmpIPredicate::ult, op.getPosition(), lengthValue),
      op.getPosition(), zero);
  Value index =
      arith::IndexCastUIOp::create(b, loc, b.getIndexType(), position);
  Value history = insertRow(b, loc, op.getAmax(), op.getHistory(), index);
  auto [blockMax, block] = newBlockMax(b, op, history, index);
  Value next = em.addi(position, em.constInt(32, 1));
  next = em.select(em.cmp(arith::CmpIPredicate::eq, next, lengthValue), zero,
                   next);
  int64_t blockCount =
      cast<RankedTensorType>(op.getBlockMax().getType()).getDimSize(0);
  Value blocks = insertRow(b, loc, blockMax, op.getBlockMax(), block);
  Value reduced = op.getAmax();
  // The maxima of the new block maxima (as newBlockMax reads the history).
  if (op.getAmaxAlgo() == AmaxAlgo::max)
    reduced =
        blockCount == 1 ? blockMax : maxForScale(b, loc, blockMax, blocks);
  Value scales = newScales(b, op, reduced);
  results.append({history, blocks, next, scales});
}

/// arith.extf / arith.truncf on scalars or vectors with an fp8 side, and
/// bf16 -> f32 widening (a shift, which vectorizes better than LLVM's
/// bfloat extension).
bool isFp8Conversion(Operation *op) {
  if (!isa<arith::ExtFOp, arith::TruncFOp>(op) ||
      isa<TensorType>(op->getOperand(0).getType()))
    return false;
  Type from = getElementTypeOrSelf(op->getOperand(0));
  Type to = getElementTypeOrSelf(op->getResult(0));
  return isFp8Type(from) || isFp8Type(to) || (from.isBF16() && to.isF32());
}

/// Rewrites one op with a lowering function that returns its results.
template <typename OpTy> struct LowerWith : OpRewritePattern<OpTy> {
  using Lowering =
      std::function<void(OpBuilder &, OpTy, SmallVectorImpl<Value> &)>;
  LowerWith(MLIRContext *context, Lowering lowering)
      : OpRewritePattern<OpTy>(context), lowering(std::move(lowering)) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    SmallVector<Value> results;
    lowering(rewriter, op, results);
    rewriter.replaceOp(op, results);
    return success();
  }

  Lowering lowering;
};

/// amp.cast with nearest-even rounding.
struct LowerCast : OpRewritePattern<CastOp> {
  LowerCast(MLIRContext *context, HardwareCastEncoder hardware)
      : OpRewritePattern(context), hardware(std::move(hardware)) {}

  LogicalResult matchAndRewrite(CastOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getRoundingMode() != RoundingMode::nearest_even)
      return rewriter.notifyMatchFailure(op, "only nearest_even lowers");
    rewriter.replaceOp(op, lowerCast(rewriter, op, hardware));
    return success();
  }

  HardwareCastEncoder hardware;
};

/// arith.extf / arith.truncf with an fp8 side: LLVM has no fp8 types, so
/// they widen and narrow on bit patterns too (bf16 -> f32 widening also goes
/// this way: it is a shift). arith.truncf keeps IEEE/OCP overflow, as its
/// semantics say.
template <typename OpTy> struct LowerFloatConversion : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!isFp8Conversion(op))
      return failure();
    Value input = op->getOperand(0);
    auto to = cast<FloatType>(getElementTypeOrSelf(op->getResult(0)));
    Emitter em(rewriter, op->getLoc(), input.getType());
    Value wide = em.decodeToF32(input);
    rewriter.replaceOp(op, em.encodeFromF32(wide, to, OverflowMode::nonfinite));
    return success();
  }
};

/// What the patterns cannot lower, reported before any rewriting.
LogicalResult checkLowerable(Operation *root) {
  WalkResult result = root->walk([](Operation *op) {
    if (auto cast = dyn_cast<CastOp>(op);
        cast && cast.getRoundingMode() != RoundingMode::nearest_even) {
      op->emitOpError("amp-lower-to-arith: rounding '")
          << stringifyRoundingMode(cast.getRoundingMode())
          << "' is not implemented; only nearest_even lowers";
      return WalkResult::interrupt();
    }
    if (auto unscale = dyn_cast<UnscaleGradsOp>(op);
        unscale && llvm::any_of(unscale.getGrads().getTypes(),
                                llvm::IsaPred<VectorType>)) {
      op->emitOpError("amp-lower-to-arith: vector gradients are not "
                      "supported; use tensors or scalars");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

struct AmpLowerToArithPass
    : ampc::amp::impl::AmpLowerToArithBase<AmpLowerToArithPass> {
  void runOnOperation() override {
    if (failed(lowerAmpToArith(getOperation(), nullptr)))
      signalPassFailure();
  }
};

} // namespace

void ampc::amp::populateAmpToArithPatterns(RewritePatternSet &patterns,
                                           HardwareCastEncoder hardware) {
  MLIRContext *context = patterns.getContext();
  patterns.add<LowerCast>(context, std::move(hardware));
  patterns.add<LowerFloatConversion<arith::ExtFOp>,
               LowerFloatConversion<arith::TruncFOp>>(context);
  patterns.add<LowerWith<ScaleLossOp>>(
      context, [](OpBuilder &b, ScaleLossOp op, SmallVectorImpl<Value> &out) {
        out.push_back(scaleBy(b, op.getLoc(), op.getLoss(), op.getScale()));
      });
  patterns.add<LowerWith<UnscaleGradsOp>>(context, lowerUnscaleGrads);
  patterns.add<LowerWith<UpdateLossScaleOp>>(context, lowerUpdateLossScale);
  patterns.add<LowerWith<SelectUpdateOp>>(
      context,
      [](OpBuilder &b, SelectUpdateOp op, SmallVectorImpl<Value> &out) {
        for (auto [oldValue, newValue] :
             llvm::zip(op.getOld(), op.getNewValues()))
          out.push_back(arith::SelectOp::create(
              b, op.getLoc(), op.getFoundInf(), oldValue, newValue));
      });
  patterns.add<LowerWith<AmaxOp>>(
      context, [](OpBuilder &b, AmaxOp op, SmallVectorImpl<Value> &out) {
        out.push_back(lowerAmax(b, op));
      });
  patterns.add<LowerWith<UpdateAmaxHistoryOp>>(context, lowerUpdateAmaxHistory);
}

LogicalResult ampc::amp::lowerAmpToArith(Operation *root,
                                         HardwareCastEncoder hardware,
                                         bool roundWidenedCasts) {
  if (failed(checkLowerable(root)))
    return failure();
  if (roundWidenedCasts)
    foldWidenedCasts(root);
  MLIRContext *context = root->getContext();
  ConversionTarget target(*context);
  target.addIllegalDialect<AmpDialect>();
  // Communication: the back ends lower it after bufferization.
  target.addLegalOp<AllReduceOp, AllReduceStartOp, AllReduceWaitOp>();
  target.addDynamicallyLegalOp<arith::ExtFOp, arith::TruncFOp>(
      [](Operation *op) { return !isFp8Conversion(op); });
  target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
  RewritePatternSet patterns(context);
  populateAmpToArithPatterns(patterns, std::move(hardware));
  return applyPartialConversion(root, target, std::move(patterns));
}

Value ampc::amp::quietNaNs(OpBuilder &b, Location loc, Value f32) {
  Emitter em(b, loc, f32.getType());
  Value bits = em.bitcast(f32, b.getI32Type());
  Value quiet = em.ori(em.andi(bits, em.constInt(32, int64_t(0x80000000))),
                       em.constInt(32, int64_t(0x7fc00000)));
  Value isNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, f32, f32);
  return em.select(isNaN, em.bitcast(quiet, b.getF32Type()), f32);
}

Value ampc::amp::withQuietNaN(OpBuilder &b, Location loc, Value f32,
                              Value converted) {
  Emitter em(b, loc, f32.getType());
  auto to = cast<FloatType>(getElementTypeOrSelf(converted.getType()));
  FloatFormat fmt(to);
  Value sign =
      em.shl(em.shr(em.bitcast(f32, b.getI32Type()), em.constInt(32, 31)),
             em.constInt(32, fmt.width - 1));
  Value nan = em.bitcast(
      em.trunci(em.ori(sign, em.constInt(32, fmt.quietNaN)), fmt.width), to);
  Value isNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, f32, f32);
  return em.select(isNaN, nan, converted);
}

Value ampc::amp::encodeWithIntegers(OpBuilder &b, Location loc, Value f32,
                                    FloatType to, OverflowMode overflow) {
  return Emitter(b, loc, f32.getType()).encodeFromF32(f32, to, overflow);
}
