//===- NarrowFloatsTest.cpp - bf16/f16 arithmetic written in user IR -----===//
//
// A model's own arith ops on bf16 and f16 (not the policy's casts), run
// through the JIT on this CPU with and without its f16 conversion
// instructions (-f16c: AMPC's integer path), against the reference
// conversions of FloatReference.h: every f16 pattern widened, a dense sweep
// of f32 truncated to bf16 and f16, and +, -, *, / on 65536 pairs each,
// whose exact results the reference rounds from double (one rounding from
// f32 or double is exact for these formats: their precision is less than
// half of either's, minus two bits).
//
//===----------------------------------------------------------------------===//

#include "FloatReference.h"

#include "ampc/JIT/JIT.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>

using ampc_rt::DType;
using ampc_rt::Tensor;
using namespace ampc::testing;

namespace {

class NarrowFloatsTest : public ::testing::TestWithParam<const char *> {
protected:
  std::unique_ptr<ampc::JitModule> compile(const std::string &source) {
    ampc::JitOptions options;
    options.cpuFeatures = GetParam();
    auto module = ampc::JitModule::fromString(source, options);
    if (!module) {
      ADD_FAILURE() << llvm::toString(module.takeError());
      return nullptr;
    }
    return std::move(*module);
  }
};

Tensor bits16(const std::vector<uint16_t> &values) {
  Tensor t(DType::U16, {int64_t(values.size())});
  std::memcpy(t.data.data(), values.data(), values.size() * 2);
  return t;
}

uint16_t bitsAt(const Tensor &t, size_t i) {
  uint16_t v;
  std::memcpy(&v, t.data.data() + 2 * i, 2);
  return v;
}

/// Checks `got` (16-bit patterns of `format`) against the reference
/// rounding of `exact` (NaN: any NaN).
void expectRounded(const Format &format,
                   const std::vector<std::pair<double, uint32_t>> &table,
                   double exact, uint16_t got, const std::string &what) {
  Expected want = refEncode(format, table, exact, /*saturate=*/false);
  if (want.nan) {
    EXPECT_TRUE(std::isnan(refDecode(format, got))) << what;
    return;
  }
  EXPECT_EQ(got, want.bits) << what << " = " << exact;
}

TEST_P(NarrowFloatsTest, EveryF16PatternWidens) {
  auto module = compile(R"mlir(
func.func @widen(%a: tensor<65536xf16>) -> tensor<65536xf32> {
  %0 = arith.extf %a : tensor<65536xf16> to tensor<65536xf32>
  return %0 : tensor<65536xf32>
})mlir");
  ASSERT_TRUE(module);
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i)
    all[i] = uint16_t(i);
  auto out = module->call("widen", {bits16(all)});
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  const float *got = (*out)[0].as<float>();
  for (uint32_t i = 0; i < 65536; ++i) {
    double want = refDecode(kF16, i);
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(got[i])) << std::hex << i;
    else
      ASSERT_EQ(double(got[i]), want) << std::hex << i;
  }
}

TEST_P(NarrowFloatsTest, F32TruncatesToBF16AndF16) {
  auto module = compile(R"mlir(
func.func @narrow(%a: tensor<1048576xf32>) -> (tensor<1048576xbf16>, tensor<1048576xf16>) {
  %0 = arith.truncf %a : tensor<1048576xf32> to tensor<1048576xbf16>
  %1 = arith.truncf %a : tensor<1048576xf32> to tensor<1048576xf16>
  return %0, %1 : tensor<1048576xbf16>, tensor<1048576xf16>
})mlir");
  ASSERT_TRUE(module);
  // Every 4096th f32 pattern, each with a different low part, so that
  // midpoints, subnormals, overflow, inf and NaN payloads all occur.
  Tensor x(DType::F32, {1 << 20});
  for (uint32_t i = 0; i < (1u << 20); ++i) {
    uint32_t bits = (i << 12) | ((i * 2654435761u) & 0xfff);
    std::memcpy(x.data.data() + 4 * i, &bits, 4);
  }
  auto out = module->call("narrow", {x});
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  auto bf16 = finiteValues(kBF16), f16 = finiteValues(kF16);
  for (uint32_t i = 0; i < (1u << 20); ++i) {
    double v = x.as<float>()[i];
    expectRounded(kBF16, bf16, v, bitsAt((*out)[0], i), "bf16");
    expectRounded(kF16, f16, v, bitsAt((*out)[1], i), "f16");
    if (HasFailure())
      FAIL() << "input pattern " << std::hex << (i << 12);
  }
}

/// +, -, *, / on 65536 pairs of `format` values (random patterns, among
/// them infinities, NaNs, zeros and subnormals) against the reference.
void checkArithmetic(NarrowFloatsTest &test,
                     std::unique_ptr<ampc::JitModule> module,
                     const Format &format) {
  ASSERT_TRUE(module);
  std::mt19937 rng(17);
  std::vector<uint16_t> a(65536), b(65536);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = uint16_t(rng()), b[i] = uint16_t(rng());
  auto out = module->call("ops", {bits16(a), bits16(b)});
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  auto table = finiteValues(format);
  const char *names[] = {"+", "-", "*", "/"};
  for (size_t i = 0; i < a.size(); ++i) {
    double x = refDecode(format, a[i]), y = refDecode(format, b[i]);
    double exact[] = {x + y, x - y, x * y, x / y};
    for (int k = 0; k < 4; ++k)
      expectRounded(format, table, exact[k], bitsAt((*out)[k], i),
                    std::to_string(x) + " " + names[k] + " " +
                        std::to_string(y));
    if (test.HasFailure())
      FAIL() << format.name << " pair " << i;
  }
}

std::string arithmeticSource(const std::string &type) {
  std::string t = "tensor<65536x" + type + ">";
  return "func.func @ops(%a: " + t + ", %b: " + t + ") -> (" + t + ", " + t +
         ", " + t + ", " + t + ") {\n" + "  %0 = arith.addf %a, %b : " + t +
         "\n  %1 = arith.subf %a, %b : " + t +
         "\n  %2 = arith.mulf %a, %b : " + t +
         "\n  %3 = arith.divf %a, %b : " + t +
         "\n  return %0, %1, %2, %3 : " + t + ", " + t + ", " + t + ", " + t +
         "\n}\n";
}

TEST_P(NarrowFloatsTest, BF16Arithmetic) {
  checkArithmetic(*this, compile(arithmeticSource("bf16")), kBF16);
}

TEST_P(NarrowFloatsTest, F16Arithmetic) {
  checkArithmetic(*this, compile(arithmeticSource("f16")), kF16);
}

} // namespace

INSTANTIATE_TEST_SUITE_P(IsaLevels, NarrowFloatsTest,
                         ::testing::Values("", "-f16c"),
                         [](const ::testing::TestParamInfo<const char *> &p) {
                           return std::string(p.param[0] ? "WithoutF16C"
                                                         : "Host");
                         });
