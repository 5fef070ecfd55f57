//===- MathApproximationTest.cpp - f32 tanh and exp on the CPU vs double --===//
//
// ampc-cpu-expand-math computes f32 tanh and exp in vectorized arithmetic
// instead of libm's tanhf and expf. Compiled through the JIT at every ISA
// level the host runs, each is compared with the function computed in
// double (an independent reference):
// - tanh over every 61st f32 bit pattern on the host's own level (70
//   million inputs, both signs, every exponent) and every 9973rd on the
//   others: within 5 ulp of the f32 result (4.6 measured; glibc's tanhf:
//   2.2), odd symmetry exact, +-0 keep their sign, +-inf and every |x| >= 9
//   give +-1, NaN gives NaN;
// - exp over every 31st f32 bit pattern on the host's own level (139
//   million inputs: the finite results, the subnormal ones, overflow and
//   underflow) and every 997th on the others: within 1 ulp with FMAs (0.87
//   over all 2^32 patterns of the same arithmetic in C; glibc's expf:
//   0.502) and 1.5 without them (the SSE level: 1.12); exp(+-0) = 1,
//   exp(-inf) = 0, exp(+inf) = +inf, NaN gives NaN, and the same bits in a
//   vector loop and in its scalar remainder.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

constexpr int64_t kChunk = int64_t(1) << 20;

/// A function applying `op` (math.tanh, math.exp) to a 1-D f32 tensor.
std::string unaryFunction(const std::string &op, int64_t n) {
  std::string type = "tensor<" + std::to_string(n) + "xf32>";
  return "func.func @f(%x: " + type + ") -> " + type + " {\n  %y = " + op +
         " %x : " + type + "\n  return %y : " + type + "\n}\n";
}

/// |got - want| in units of the last place of an f32 of want's magnitude;
/// where want rounds to an f32 infinity (from 2^128 - 2^103 on), 0 for that
/// infinity and infinitely many for anything else.
double ulpError(float got, double want) {
  double magnitude = std::fabs(want);
  if (magnitude >= std::ldexp(1.0, 128) - std::ldexp(1.0, 103))
    return double(got) == std::copysign(HUGE_VAL, want) ? 0.0 : HUGE_VAL;
  double ulp = std::ldexp(1.0, -149); // subnormal spacing
  if (magnitude >= double(std::numeric_limits<float>::min())) {
    int exponent;
    std::frexp(magnitude, &exponent);
    ulp = std::ldexp(1.0, exponent - 24);
  }
  return std::fabs(double(got) - want) / ulp;
}

/// `op` (math.tanh, math.exp) compiled once for tensors of `n` values at
/// an ISA level, called on chunks of inputs.
class Compiled {
public:
  Compiled(const std::string &op, const std::string &features,
           int64_t n = kChunk)
      : n(n) {
    ampc::JitOptions options;
    options.threads = 1;
    options.cpuFeatures = features;
    auto compiled = ampc::JitModule::fromString(unaryFunction(op, n), options);
    EXPECT_TRUE(static_cast<bool>(compiled))
        << llvm::toString(compiled.takeError());
    if (compiled)
      module = std::move(*compiled);
  }

  /// The results for `inputs` (at most n of them; the rest of the tensor
  /// is zeros).
  std::vector<float> operator()(const std::vector<float> &inputs) {
    if (!module)
      return {};
    Tensor x(DType::F32, {n});
    std::memset(x.as<float>(), 0, n * 4);
    std::memcpy(x.as<float>(), inputs.data(), inputs.size() * 4);
    auto result = module->call("f", {x});
    EXPECT_TRUE(static_cast<bool>(result))
        << llvm::toString(result.takeError());
    if (!result)
      return {};
    const float *y = result->front().as<float>();
    return std::vector<float>(y, y + inputs.size());
  }

private:
  int64_t n;
  std::unique_ptr<ampc::JitModule> module;
};

/// Checks `op` on every `stride`th bit pattern against `reference` in
/// double, within `bound` ulp (NaN must give NaN); returns the largest
/// error in ulp.
double checkSweep(const std::string &op, double (*reference)(double),
                  double bound, uint64_t stride, const std::string &features) {
  Compiled f(op, features);
  double worst = 0;
  std::vector<float> inputs;
  auto flush = [&] {
    std::vector<float> got = f(inputs);
    EXPECT_EQ(got.size(), inputs.size());
    for (size_t i = 0; i < got.size(); ++i) {
      float x = inputs[i];
      if (std::isnan(x)) {
        EXPECT_TRUE(std::isnan(got[i])) << op << "(NaN) = " << got[i];
        continue;
      }
      double want = reference(double(x));
      double error = ulpError(got[i], want);
      if (!(error <= bound))
        ADD_FAILURE() << op << "(" << x << ") = " << got[i] << ", " << error
                      << " ulp from " << want;
      worst = std::max(worst, error);
    }
    inputs.clear();
  };
  for (uint64_t bits = 0; bits < (uint64_t(1) << 32); bits += stride) {
    inputs.push_back(ampc::testing::floatFromBits(uint32_t(bits)));
    if (int64_t(inputs.size()) == kChunk)
      flush();
  }
  flush();
  return worst;
}

double tanhInDouble(double x) { return std::tanh(x); }
double expInDouble(double x) { return std::exp(x); }

uint32_t bitsOf(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

TEST(MathApproximationTest, TanhWithinFiveUlpOfDouble) {
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    SCOPED_TRACE("features: " + features);
    double worst = checkSweep("math.tanh", tanhInDouble, 5.0,
                              features.empty() ? 61 : 9973, features);
    EXPECT_GT(worst, 0.0); // the sweep ran
    RecordProperty("worst_ulp" + std::to_string(features.size()),
                   std::to_string(worst));
  }
}

TEST(MathApproximationTest, TanhSpecialValuesAndSymmetry) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> inputs = {0.0f,   -0.0f, inf,    -inf,  9.0f,   -9.0f,
                               20.0f,  1e30f, -1e30f, 8.5f,  1e-30f, -1e-30f,
                               1e-45f, 0.3f,  -0.3f,  4.83f, -4.83f};
  inputs.push_back(std::numeric_limits<float>::quiet_NaN());
  std::vector<float> got = Compiled("math.tanh", "")(inputs);
  ASSERT_EQ(got.size(), inputs.size());
  EXPECT_EQ(bitsOf(got[0]), bitsOf(0.0f));
  EXPECT_EQ(bitsOf(got[1]), bitsOf(-0.0f));
  for (int i : {2, 4, 6, 7})
    EXPECT_EQ(got[i], 1.0f) << "tanh(" << inputs[i] << ")";
  for (int i : {3, 5, 8})
    EXPECT_EQ(got[i], -1.0f) << "tanh(" << inputs[i] << ")";
  // Just below 9, tanh in f32 is 1 - 2^-24 or 1; the approximation's clamp
  // gives a value within 5 ulp of it.
  EXPECT_LE(ulpError(got[9], std::tanh(8.5)), 5.0);
  EXPECT_EQ(got[10], 1e-30f);
  EXPECT_EQ(got[11], -1e-30f);
  EXPECT_EQ(got[12], 1e-45f);
  EXPECT_EQ(got[13], -got[14]);
  EXPECT_EQ(got[15], -got[16]);
  EXPECT_TRUE(std::isnan(got[17]));
}

/// Whether the level has fused multiply-adds (the SSE level turns them off).
bool hasFma(const std::string &features) {
  return features.find("-fma") == std::string::npos;
}

TEST(MathApproximationTest, ExpWithinOneUlpOfDouble) {
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    SCOPED_TRACE("features: " + features);
    double bound = hasFma(features) ? 1.0 : 1.5;
    double worst = checkSweep("math.exp", expInDouble, bound,
                              features.empty() ? 31 : 997, features);
    EXPECT_GT(worst, 0.0); // the sweep ran
    RecordProperty("exp_worst_ulp" + std::to_string(features.size()),
                   std::to_string(worst));
  }
}

TEST(MathApproximationTest, ExpSpecialValuesAndEdges) {
  const float inf = std::numeric_limits<float>::infinity();
  const float largestFinite = std::numeric_limits<float>::max();
  // exp overflows above ln(FLT_MAX + half an ulp) = 88.7228391 and rounds to
  // zero below ln(2^-150) = -103.972077.
  std::vector<float> inputs = {
      0.0f,     -0.0f,  inf,       -inf,    88.7228f, 88.723f, 1e30f,  -103.97f,
      -103.98f, -1e30f, -87.3365f, -100.0f, 1.0f,     -1.0f,   1e-30f, -1e-30f};
  inputs.push_back(std::numeric_limits<float>::quiet_NaN());
  inputs.push_back(-std::numeric_limits<float>::quiet_NaN());
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    SCOPED_TRACE("features: " + features);
    std::vector<float> got = Compiled("math.exp", features)(inputs);
    ASSERT_EQ(got.size(), inputs.size());
    EXPECT_EQ(got[0], 1.0f);
    EXPECT_EQ(got[1], 1.0f);
    EXPECT_EQ(got[2], inf);
    EXPECT_EQ(bitsOf(got[3]), bitsOf(0.0f));
    EXPECT_LT(got[4], inf);
    EXPECT_GT(got[4], largestFinite / 1.0001f);
    EXPECT_EQ(got[5], inf);
    EXPECT_EQ(got[6], inf);
    EXPECT_EQ(got[7], std::numeric_limits<float>::denorm_min()); // 2^-149
    EXPECT_EQ(bitsOf(got[8]), bitsOf(0.0f));
    EXPECT_EQ(bitsOf(got[9]), bitsOf(0.0f));
    // Subnormal results (gradual underflow), within an ulp of 2^-149.
    EXPECT_LE(ulpError(got[10], std::exp(double(inputs[10]))), 1.5);
    EXPECT_LE(ulpError(got[11], std::exp(-100.0)), 1.5);
    EXPECT_GT(got[11], 0.0f);
    EXPECT_LT(got[11], std::numeric_limits<float>::min());
    EXPECT_LE(ulpError(got[12], std::exp(1.0)), 1.0);
    EXPECT_LE(ulpError(got[13], std::exp(-1.0)), 1.0);
    EXPECT_EQ(got[14], 1.0f);
    EXPECT_EQ(got[15], 1.0f);
    EXPECT_TRUE(std::isnan(got[16]));
    EXPECT_TRUE(std::isnan(got[17]));
  }
}

/// A vector loop and its scalar remainder compute the same bits: 1000
/// values compiled for 1000 (16-lane vectors and 8 left over) and for 1024
/// (vectors only), at every ISA level.
TEST(MathApproximationTest, ExpSameBitsInVectorsAndRemainders) {
  std::vector<float> inputs;
  for (int i = 0; i < 1000; ++i)
    inputs.push_back(-110.0f + 0.2003f * float(i));
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    SCOPED_TRACE("features: " + features);
    std::vector<float> ragged = Compiled("math.exp", features, 1000)(inputs);
    std::vector<float> whole = Compiled("math.exp", features, 1024)(inputs);
    ASSERT_EQ(ragged.size(), inputs.size());
    ASSERT_EQ(whole.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i)
      EXPECT_EQ(bitsOf(ragged[i]), bitsOf(whole[i]))
          << "exp(" << inputs[i] << "): " << ragged[i] << " vs " << whole[i];
  }
}

} // namespace
