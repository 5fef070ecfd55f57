//===- AmpDialectTest.cpp - amp attributes and ops through the C++ API ----===//
//
// Builds amp attributes and ops the way passes do, and checks what they print,
// how they verify and how they fold.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/InitAll.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "gtest/gtest.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace ampc;

namespace {

class AmpDialectTest : public ::testing::Test {
protected:
  AmpDialectTest() : context(makeRegistry()), builder(&context) {
    context.loadAllAvailableDialects();
    module = ModuleOp::create(builder.getUnknownLoc());
    builder.setInsertionPointToStart(module->getBody());
  }

  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    registerAllDialects(registry);
    return registry;
  }

  template <typename T> static std::string print(T value) {
    std::string text;
    llvm::raw_string_ostream os(text);
    value.print(os);
    return text;
  }

  /// Verifies `op` and returns the first diagnostic it emitted ("" if none).
  std::string verifyMessage(Operation *op) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      if (message.empty())
        message = diag.str();
      return success();
    });
    (void)verify(op);
    return message;
  }

  Value constantF32(float value) {
    return arith::ConstantOp::create(builder, builder.getUnknownLoc(),
                                     builder.getF32FloatAttr(value));
  }

  /// Folds an amp.cast of the scalar constant `value` to `to`.
  FloatAttr foldCast(float value, Type to,
                     std::optional<amp::OverflowMode> overflow = {}) {
    Value input = constantF32(value);
    auto cast =
        amp::CastOp::create(builder, builder.getUnknownLoc(), to, input);
    if (overflow)
      cast.setOverflow(*overflow);
    SmallVector<OpFoldResult> results;
    EXPECT_TRUE(succeeded(cast->fold(results)));
    EXPECT_EQ(results.size(), 1u);
    return dyn_cast_or_null<FloatAttr>(
        dyn_cast_if_present<Attribute>(results.front()));
  }

  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
};

TEST_F(AmpDialectTest, PrecisionAttrPrintsInWords) {
  auto attr =
      amp::PrecisionAttr::get(builder.getBF16Type(), builder.getF32Type());
  EXPECT_EQ(print(Attribute(attr)),
            "#amp.precision<compute = bf16, accumulate = f32>");
  auto fp8 = amp::PrecisionAttr::get(
      &context, builder.getType<Float8E4M3FNType>(), builder.getF32Type(),
      amp::ScalingRecipe::delayed);
  EXPECT_EQ(print(Attribute(fp8)),
            "#amp.precision<compute = f8E4M3FN, accumulate = f32, "
            "recipe = delayed>");
  EXPECT_EQ(amp::PrecisionAttr::getAttrName(), "amp.precision");
}

TEST_F(AmpDialectTest, PrecisionAttrRejectsBadCombinations) {
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  auto emitErrorFn = [&]() { return mlir::emitError(builder.getUnknownLoc()); };
  llvm::function_ref<InFlightDiagnostic()> emitError = emitErrorFn;
  using Recipe = std::optional<amp::ScalingRecipe>;
  EXPECT_FALSE(amp::PrecisionAttr::getChecked(emitError, &context,
                                              builder.getF32Type(),
                                              builder.getBF16Type(), Recipe()));
  EXPECT_EQ(message,
            "accumulate type 'bf16' is narrower than compute type 'f32'");
  EXPECT_FALSE(amp::PrecisionAttr::getChecked(
      emitError, &context, builder.getBF16Type(), builder.getF32Type(),
      Recipe(amp::ScalingRecipe::current)));
  EXPECT_EQ(message,
            "an fp8 scaling recipe needs an fp8 compute type, got 'bf16'");
}

TEST_F(AmpDialectTest, PolicyAttrParsesAndPrints) {
  for (StringRef name : {"fp32", "bf16", "fp16", "fp8"}) {
    std::string text = ("#amp.policy<" + name + ">").str();
    Attribute attr = parseAttribute(text, &context);
    ASSERT_TRUE(attr) << text;
    auto policy = dyn_cast<amp::PolicyAttr>(attr);
    ASSERT_TRUE(policy);
    EXPECT_EQ(amp::stringifyPolicy(policy.getValue()), name);
    EXPECT_EQ(print(attr), text);
  }
}

TEST_F(AmpDialectTest, ExactRepresentability) {
  Type f32 = builder.getF32Type(), f16 = builder.getF16Type(),
       bf16 = builder.getBF16Type(), e4m3 = builder.getType<Float8E4M3FNType>(),
       e5m2 = builder.getType<Float8E5M2Type>();
  auto exact = [](Type a, Type b) {
    return amp::isExactlyRepresentable(cast<FloatType>(a), cast<FloatType>(b));
  };
  EXPECT_TRUE(exact(bf16, f32));
  EXPECT_TRUE(exact(f16, f32));
  EXPECT_TRUE(exact(e4m3, bf16));
  EXPECT_TRUE(exact(e4m3, f16));
  EXPECT_TRUE(exact(e5m2, f16));
  EXPECT_TRUE(exact(e5m2, bf16));
  EXPECT_FALSE(exact(f32, bf16));
  EXPECT_FALSE(exact(bf16, f16)); // bf16's range exceeds f16's
  EXPECT_FALSE(exact(f16, bf16)); // f16 has more mantissa bits
  EXPECT_FALSE(exact(e5m2, e4m3));
  EXPECT_FALSE(exact(e4m3, e5m2));
  EXPECT_EQ(amp::getLargestFinite(cast<FloatType>(e4m3)), 448.0);
  EXPECT_EQ(amp::getLargestFinite(cast<FloatType>(e5m2)), 57344.0);
  EXPECT_EQ(amp::getLargestFinite(cast<FloatType>(f16)), 65504.0);
}

TEST_F(AmpDialectTest, CastDefaultsDependOnTheResultType) {
  Value x = constantF32(1.0f);
  auto toBf16 = amp::CastOp::create(builder, builder.getUnknownLoc(),
                                    builder.getBF16Type(), x);
  auto toE4m3 = amp::CastOp::create(builder, builder.getUnknownLoc(),
                                    builder.getType<Float8E4M3FNType>(), x);
  EXPECT_EQ(toBf16.getRoundingMode(), amp::RoundingMode::nearest_even);
  EXPECT_EQ(toBf16.getOverflowMode(), amp::OverflowMode::nonfinite);
  EXPECT_EQ(toE4m3.getOverflowMode(), amp::OverflowMode::saturate);
  EXPECT_FALSE(toBf16.isExactWidening());
  EXPECT_EQ(verifyMessage(toE4m3), "");
}

TEST_F(AmpDialectTest, CastFoldsConstantsWithTheRightOverflow) {
  Type e4m3 = builder.getType<Float8E4M3FNType>();
  Type e5m2 = builder.getType<Float8E5M2Type>();
  Type f16 = builder.getF16Type();
  // Saturating fp8 (the default): finite overflow and inf go to max.
  EXPECT_EQ(foldCast(1.0e6f, e4m3).getValueAsDouble(), 448.0);
  EXPECT_EQ(foldCast(-INFINITY, e4m3).getValueAsDouble(), -448.0);
  EXPECT_EQ(foldCast(1.0e6f, e5m2).getValueAsDouble(), 57344.0);
  // Ties round to even: 464 lies halfway between 448 and (missing) 480.
  EXPECT_EQ(
      foldCast(464.0f, e4m3, amp::OverflowMode::nonfinite).getValueAsDouble(),
      448.0);
  // OCP non-saturating: E4M3FN overflows to NaN, E5M2 to inf.
  EXPECT_TRUE(std::isnan(
      foldCast(1.0e6f, e4m3, amp::OverflowMode::nonfinite).getValueAsDouble()));
  EXPECT_TRUE(std::isinf(foldCast(61440.0f, e5m2, amp::OverflowMode::nonfinite)
                             .getValueAsDouble()));
  // NaN stays NaN even when saturating.
  EXPECT_TRUE(std::isnan(foldCast(NAN, e4m3).getValueAsDouble()));
  // f16 follows IEEE unless asked to saturate.
  EXPECT_TRUE(std::isinf(foldCast(65520.0f, f16).getValueAsDouble()));
  EXPECT_EQ(
      foldCast(65520.0f, f16, amp::OverflowMode::saturate).getValueAsDouble(),
      65504.0);
  // Round to nearest even on bf16: 1 + 2^-8 is a tie and goes to 1.
  EXPECT_EQ(foldCast(1.0f + 0x1p-8f, builder.getBF16Type()).getValueAsDouble(),
            1.0);
}

TEST_F(AmpDialectTest, ScaleOnlyOnFp8Casts) {
  Value x = constantF32(1.0f);
  Value scale = constantF32(2.0f);
  auto cast = amp::CastOp::create(builder, builder.getUnknownLoc(),
                                  builder.getBF16Type(), x, scale,
                                  /*rounding=*/nullptr, /*overflow=*/nullptr);
  EXPECT_EQ(verifyMessage(cast),
            "'amp.cast' op a scale is only allowed on a cast between fp8 "
            "(f8E4M3FN, f8E5M2) and a wider type; got 'f32' to 'bf16'");
}

TEST_F(AmpDialectTest, UpdateLossScaleHasGradScalerDefaults) {
  Location loc = builder.getUnknownLoc();
  Value scale = constantF32(65536.0f);
  Value zero =
      arith::ConstantOp::create(builder, loc, builder.getI32IntegerAttr(0));
  Value found =
      arith::ConstantOp::create(builder, loc, builder.getBoolAttr(false));
  auto op =
      amp::UpdateLossScaleOp::create(builder, loc, scale, zero, zero, found);
  EXPECT_EQ(op.getGrowthFactor().convertToDouble(), 2.0);
  EXPECT_EQ(op.getBackoffFactor().convertToDouble(), 0.5);
  EXPECT_EQ(op.getGrowthInterval(), 2000u);
  EXPECT_EQ(op.getHysteresis(), 1u);
  EXPECT_FALSE(op.getMinScale());
  EXPECT_EQ(verifyMessage(op), "");
  op.setGrowthFactor(APFloat(1.0));
  EXPECT_EQ(verifyMessage(op),
            "'amp.update_loss_scale' op growth_factor must be finite and "
            "greater than 1, got 1.000000e+00");
}

TEST_F(AmpDialectTest, UnscaleGradsChecksTheGradientList) {
  Location loc = builder.getUnknownLoc();
  auto t4 = RankedTensorType::get({4}, builder.getF32Type());
  auto t8 = RankedTensorType::get({8}, builder.getF32Type());
  Value g4 = arith::ConstantOp::create(
      builder, loc, DenseElementsAttr::get(t4, builder.getF32FloatAttr(1.0f)));
  Value scale = constantF32(1024.0f);
  auto good = amp::UnscaleGradsOp::create(
      builder, loc, TypeRange{t4}, builder.getI1Type(), ValueRange{g4}, scale);
  EXPECT_EQ(verifyMessage(good), "");
  EXPECT_EQ(good.getFoundInf().getType(), builder.getI1Type());
  auto bad = amp::UnscaleGradsOp::create(
      builder, loc, TypeRange{t8}, builder.getI1Type(), ValueRange{g4}, scale);
  EXPECT_EQ(verifyMessage(bad),
            "'amp.unscale_grads' op result #0 has type 'tensor<8xf32>' but "
            "gradient #0 has type 'tensor<4xf32>'");
}

TEST_F(AmpDialectTest, SelectUpdateFoldsAConstantCondition) {
  Location loc = builder.getUnknownLoc();
  Value oldValue = constantF32(1.0f), newValue = constantF32(2.0f);
  Value found =
      arith::ConstantOp::create(builder, loc, builder.getBoolAttr(true));
  auto select = amp::SelectUpdateOp::create(
      builder, loc, found, ValueRange{oldValue}, ValueRange{newValue});
  EXPECT_EQ(select.getResults().front().getType(), builder.getF32Type());
  SmallVector<OpFoldResult> results;
  ASSERT_TRUE(succeeded(select->fold(results)));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(dyn_cast<Value>(results.front()), oldValue);
}

TEST_F(AmpDialectTest, AmaxHistoryScaleFormats) {
  Location loc = builder.getUnknownLoc();
  auto zeros = [&](ArrayRef<int64_t> shape) -> Value {
    auto type = RankedTensorType::get(shape, builder.getF32Type());
    return arith::ConstantOp::create(
        builder, loc, DenseElementsAttr::get(type, builder.getF32FloatAttr(0)));
  };
  Value history = zeros({16, 2}), blocks = zeros({4, 2});
  Value position =
      arith::ConstantOp::create(builder, loc, builder.getI32IntegerAttr(0));
  Value amax = zeros({2}), scale = zeros({2});
  auto formats = [&](ArrayRef<Type> types) {
    return builder.getTypeArrayAttr(types);
  };
  Type e5m2 = builder.getType<Float8E5M2Type>();
  Type e4m3 = builder.getType<Float8E4M3FNType>();
  auto update = [&](Value h, Value m, Value a, ArrayAttr f) {
    return amp::UpdateAmaxHistoryOp::create(builder, loc, h, m, position, a, a,
                                            f, nullptr,
                                            builder.getI64IntegerAttr(0));
  };
  auto op = update(history, blocks, scale, formats({e5m2, e4m3}));
  EXPECT_EQ(op.getFormatMaxima(), (SmallVector<double>{57344.0, 448.0}));
  EXPECT_EQ(op.getAmaxAlgo(), amp::AmaxAlgo::max);
  EXPECT_EQ(op.getNewHistory().getType(), history.getType());
  EXPECT_EQ(op.getNewBlockMax().getType(), blocks.getType());
  EXPECT_EQ(op.getNewScale().getType(), scale.getType());
  EXPECT_EQ(op.getBlockLength(), 4);
  EXPECT_EQ(verifyMessage(op), "");

  // Block maxima must tile the history's rows, one column per amax.
  EXPECT_EQ(verifyMessage(
                update(history, zeros({5, 2}), amax, formats({e5m2, e4m3}))),
            "'amp.update_amax_history' op block maxima must be a static "
            "tensor of one column per amax (2) and rows dividing the history's "
            "16; got "
            "'tensor<5x2xf32>'");
  EXPECT_EQ(verifyMessage(
                update(zeros({16, 3}), blocks, amax, formats({e5m2, e4m3}))),
            "'amp.update_amax_history' op amax history must be a static "
            "tensor of n >= 1 rows and one column per amax (2); got "
            "'tensor<16x3xf32>'");
  EXPECT_EQ(verifyMessage(update(history, blocks, amax, formats({e5m2}))),
            "'amp.update_amax_history' op needs one format per column (2), "
            "got 1");
  EXPECT_EQ(verifyMessage(update(history, blocks, amax,
                                 formats({e5m2, builder.getBF16Type()}))),
            "'amp.update_amax_history' op formats must be f8E4M3FN or "
            "f8E5M2, got 'bf16'");
  EXPECT_EQ(
      verifyMessage(update(history, blocks, zeros({}), formats({e5m2, e4m3}))),
      "'amp.update_amax_history' op amaxes and scales must be 1-D "
      "tensors of static, non-zero length; got 'tensor<f32>'");
}

} // namespace
