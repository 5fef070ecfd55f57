//===- CastNumericsTest.cpp - amp.cast lowering against a reference -------===//
//
// JIT-compiles amp.cast between f32, f16, bf16, f8E4M3FN and f8E5M2 through
// each CPU lowering (amp-lower-to-arith's integer path, and
// ampc-cpu-lower-amp with the host's f16 conversion instructions, F16C,
// where it has them) and the LLVM lowering, then checks the results bit for
// bit against a reference written here from the format definitions (decode by
// ldexp of the fields, encode by nearest search over all finite values, ties
// to the even pattern; NaN is the format's quiet NaN with the input's sign).
// Exhaustive over every 8- and 16-bit pattern; f32 inputs on every boundary
// and midpoint plus a dense sweep.
//
//===----------------------------------------------------------------------===//

#include "FloatReference.h"
#include "JitTestSupport.h"

#include "ampc/Codegen/CPU/CpuTarget.h"
#include "ampc/JIT/JIT.h"

#include "llvm/ADT/StringExtras.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
using namespace ampc::testing;

namespace {

//===----------------------------------------------------------------------===//
// JIT of the code under test.
//===----------------------------------------------------------------------===//

/// A lowering of the amp ops under test.
struct Lowering {
  const char *name;     // for test names
  const char *pipeline; // function passes
  bool needsF16c;
};

const Lowering kLowerings[] = {
    {"IntegerPath", "amp-lower-to-arith", false},
    {"F16C", "ampc-cpu-lower-amp{f16-conversions=true}", true},
    // bf16 casts as arith.truncf, lowered by the pass that also picks
    // vcvtneps2bf16 for vectors (scalars here: the integer path).
    {"BF16Truncation",
     "ampc-cpu-lower-amp{bf16-conversions=true},ampc-cpu-bf16-conversions",
     false},
};

void PrintTo(const Lowering &lowering, std::ostream *os) {
  *os << lowering.pipeline;
}

class CastNumericsTest : public ::testing::TestWithParam<Lowering> {
protected:
  void SetUp() override {
    if (GetParam().needsF16c && !ampc::CpuTarget::host().f16Conversions)
      GTEST_SKIP() << "this CPU has no F16C: the f16 conversion "
                      "instructions are not tested here";
    auto &slot = engines()[GetParam().name];
    if (!slot) {
      auto engine = compile(GetParam().pipeline);
      ASSERT_TRUE(static_cast<bool>(engine))
          << llvm::toString(engine.takeError());
      slot = std::move(*engine);
    }
    engine = slot.get();
  }

  /// One engine per lowering, compiled by its first test and released with
  /// the suite (before LLVM's and MLIR's own statics go).
  static std::map<std::string, std::unique_ptr<ExecutionEngine>> &engines() {
    static std::map<std::string, std::unique_ptr<ExecutionEngine>> map;
    return map;
  }
  static std::unique_ptr<MLIRContext> &context() {
    static std::unique_ptr<MLIRContext> context;
    return context;
  }
  static void TearDownTestSuite() {
    engines().clear();
    context().reset();
  }

  static llvm::Expected<std::unique_ptr<ExecutionEngine>>
  compile(const char *pipeline) {
    if (!context())
      context() = ampc::testing::makeJitContext();
    std::string source;
    const Format *formats[] = {&kF16, &kBF16, &kE4M3, &kE5M2};
    for (const Format *f : formats) {
      std::string t = f->name;
      source += "func.func @dec_" + t + "(%x: " + t +
                ") -> f32 {\n"
                "  %0 = amp.cast %x : " +
                t + " to f32\n  return %0 : f32\n}\n";
      for (const char *mode : {"saturate", "nonfinite"})
        source += "func.func @enc_" + t + "_" + mode + "(%x: f32) -> " + t +
                  " {\n  %0 = amp.cast %x overflow " + mode + " : f32 to " + t +
                  "\n  return %0 : " + t + "\n}\n";
    }
    // Quantizations read back widened (amp-lower-to-arith rounds them in
    // the wide type, without the 8-bit pattern).
    for (const Format *f : {&kE4M3, &kE5M2})
      for (const char *mode : {"saturate", "nonfinite"})
        for (const char *wide : {"f32", "bf16"}) {
          std::string t = f->name;
          source += "func.func @round_" + t + "_" + mode + "_" + wide +
                    "(%x: f32, %s: f32) -> " + wide +
                    " {\n  %0 = amp.cast %x scale %s overflow " + mode +
                    " : f32 to " + t + "\n  %1 = arith.extf %0 : " + t +
                    " to " + wide + "\n  return %1 : " + wide + "\n}\n";
        }
    for (const char *mode : {"saturate", "nonfinite"})
      source += std::string("func.func @round_bf16_") + mode +
                "(%x: f32) -> f32 {\n  %0 = amp.cast %x overflow " + mode +
                " : f32 to bf16\n  %1 = arith.extf %0 : bf16 to f32\n"
                "  return %1 : f32\n}\n";
    source += "func.func @bf16_to_f16(%x: bf16) -> f16 {\n"
              "  %0 = amp.cast %x : bf16 to f16\n  return %0 : f16\n}\n"
              "func.func @quant_e4m3(%x: f32, %s: f32) -> f8E4M3FN {\n"
              "  %0 = amp.cast %x scale %s : f32 to f8E4M3FN\n"
              "  return %0 : f8E4M3FN\n}\n"
              "func.func @dequant_e5m2(%x: f8E5M2, %s: f32) -> bf16 {\n"
              "  %0 = amp.cast %x scale %s : f8E5M2 to bf16\n"
              "  return %0 : bf16\n}\n";
    return ampc::testing::jitCompile(*context(), source, pipeline);
  }

  using Packed = ampc::testing::PackedFn;
  Packed lookup(const std::string &name) {
    auto fn = ampc::testing::lookupPacked(*engine, name);
    EXPECT_TRUE(static_cast<bool>(fn)) << name;
    if (!fn) {
      llvm::consumeError(fn.takeError());
      return nullptr;
    }
    return *fn;
  }

  /// Calls a one-argument function on raw bits.
  template <typename In, typename Out> static Out call(Packed fn, In in) {
    Out out{};
    void *args[] = {&in, &out};
    fn(args);
    return out;
  }

  static uint32_t bitsOf(float x) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    return b;
  }
  static float floatOf(uint32_t b) {
    float x;
    std::memcpy(&x, &b, 4);
    return x;
  }

  /// Checks encoding of every input in `inputs` to format `f`.
  void checkEncode(const Format &f, const std::vector<float> &inputs) {
    auto table = finiteValues(f);
    for (bool saturate : {true, false}) {
      std::string name = std::string("enc_") + f.name +
                         (saturate ? "_saturate" : "_nonfinite");
      Packed fn = lookup(name);
      ASSERT_TRUE(fn);
      int failures = 0;
      for (float x : inputs) {
        uint32_t got = f.width == 8 ? call<float, uint8_t>(fn, x)
                                    : call<float, uint16_t>(fn, x);
        Expected want = refEncode(f, table, x, saturate);
        if (want.nan)
          want.bits =
              quietNaN(f) | (uint32_t(std::signbit(x)) << (f.width - 1));
        bool ok = got == want.bits;
        if (!ok && ++failures <= 5)
          ADD_FAILURE() << name << "(" << x << " = 0x" << std::hex << bitsOf(x)
                        << ") gave 0x" << got << ", expected "
                        << (want.nan ? std::string("NaN")
                                     : "0x" + llvm::utohexstr(want.bits));
      }
      EXPECT_EQ(failures, 0) << name << ": " << failures << " of "
                             << inputs.size() << " inputs wrong";
    }
  }

  /// Every boundary of `f`: each finite value, each midpoint between
  /// neighbours, and the f32 values right next to them; plus specials.
  static std::vector<float> boundaries(const Format &f) {
    std::vector<float> inputs;
    auto table = finiteValues(f);
    auto addAround = [&](double v) {
      float x = float(v);
      for (float y : {x, std::nextafter(x, 0.0f), std::nextafter(x, INFINITY)})
        for (float s : {y, -y})
          inputs.push_back(s);
    };
    for (size_t i = 0; i < table.size(); ++i) {
      addAround(table[i].first);
      if (i + 1 < table.size())
        addAround((table[i].first + table[i + 1].first) / 2);
    }
    double max = table.back().first;
    double ulp = max - table[table.size() - 2].first;
    addAround(max + ulp / 2);
    addAround(max + ulp);
    for (float s : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX,
                    -FLT_MAX, FLT_MIN, FLT_TRUE_MIN, -FLT_TRUE_MIN, 1e30f})
      inputs.push_back(s);
    return inputs;
  }

  /// A dense sweep: every 977th f32 bit pattern, 4.4 million values spread
  /// over every exponent, sign and mantissa region, and a million random ones.
  static std::vector<float> sweep() {
    std::vector<float> inputs;
    for (uint64_t b = 0; b <= 0xffffffffull; b += 977)
      inputs.push_back(floatOf(uint32_t(b)));
    // Plus a million random patterns.
    std::mt19937 rng(2026);
    for (int i = 0; i < 1000000; ++i)
      inputs.push_back(floatOf(uint32_t(rng())));
    return inputs;
  }

  /// Checks `amp.cast` to `f` (scale `scale`) then `arith.extf` to f32 and
  /// to bf16 on every input: the value of the reference's pattern, NaN as
  /// the wide type's quiet NaN with the input's sign.
  void checkRoundThrough(const Format &f, const std::vector<float> &inputs,
                         float scale) {
    auto table = finiteValues(f);
    for (bool saturate : {true, false}) {
      std::string name = std::string("round_") + f.name +
                         (saturate ? "_saturate" : "_nonfinite");
      Packed toF32 = lookup(name + "_f32"), toBF16 = lookup(name + "_bf16");
      ASSERT_TRUE(toF32 && toBF16);
      int failures = 0;
      for (float x : inputs) {
        float product = x * scale;
        Expected want = refEncode(f, table, product, saturate);
        uint32_t wantBits =
            want.nan ? 0x7fc00000u : bitsOf(float(refDecode(f, want.bits)));
        wantBits |= uint32_t(std::signbit(product)) << 31;
        float gotF32;
        uint16_t gotBF16;
        void *argsF32[] = {&x, &scale, &gotF32};
        void *argsBF16[] = {&x, &scale, &gotBF16};
        toF32(argsF32);
        toBF16(argsBF16);
        bool ok = bitsOf(gotF32) == wantBits && gotBF16 == wantBits >> 16;
        if (!ok && ++failures <= 5)
          ADD_FAILURE() << name << "(" << x << " * " << scale << ") gave 0x"
                        << std::hex << bitsOf(gotF32) << " / bf16 0x" << gotBF16
                        << ", expected 0x" << wantBits;
      }
      EXPECT_EQ(failures, 0) << name << ": " << failures << " of "
                             << inputs.size() << " inputs wrong";
    }
  }

  ExecutionEngine *engine = nullptr;
};

TEST_P(CastNumericsTest, DecodeEveryPattern) {
  for (const Format *f : {&kF16, &kBF16, &kE4M3, &kE5M2}) {
    Packed fn = lookup(std::string("dec_") + f->name);
    ASSERT_TRUE(fn);
    int failures = 0;
    for (uint32_t bits = 0; bits < (1u << f->width); ++bits) {
      float got = f->width == 8 ? call<uint8_t, float>(fn, uint8_t(bits))
                                : call<uint16_t, float>(fn, uint16_t(bits));
      double want = refDecode(*f, bits);
      bool ok = std::isnan(want) ? std::isnan(got)
                                 : (double(got) == want &&
                                    std::signbit(got) == std::signbit(want));
      if (!ok && ++failures <= 5)
        ADD_FAILURE() << f->name << " 0x" << std::hex << bits << " decoded to "
                      << got << ", expected " << want;
    }
    EXPECT_EQ(failures, 0) << f->name;
  }
}

TEST_P(CastNumericsTest, SixteenBitRoundTrips) {
  // f32 -> f16/bf16 -> f32 is the identity on every value of the format.
  for (const Format *f : {&kF16, &kBF16}) {
    std::vector<float> inputs;
    for (uint32_t bits = 0; bits < 65536; ++bits)
      inputs.push_back(float(refDecode(*f, bits)));
    checkEncode(*f, inputs);
  }
}

TEST_P(CastNumericsTest, EncodeBoundariesAndMidpoints) {
  for (const Format *f : {&kF16, &kBF16, &kE4M3, &kE5M2})
    checkEncode(*f, boundaries(*f));
}

TEST_P(CastNumericsTest, EncodeDenseSweep) {
  std::vector<float> inputs = sweep();
  for (const Format *f : {&kF16, &kBF16, &kE4M3, &kE5M2})
    checkEncode(*f, inputs);
}

TEST_P(CastNumericsTest, QuantizeThenWidenBoundariesAndSweep) {
  // Every boundary and midpoint of each fp8 format (scale 1), a dense sweep,
  // and scaled inputs whose products land on the boundaries.
  std::vector<float> inputs = sweep();
  for (const Format *f : {&kE4M3, &kE5M2}) {
    checkRoundThrough(*f, boundaries(*f), 1.0f);
    checkRoundThrough(*f, inputs, 1.0f);
    std::vector<float> halves;
    for (float x : boundaries(*f))
      halves.push_back(x * 2.0f);
    checkRoundThrough(*f, halves, 0.5f);
    checkRoundThrough(*f, boundaries(*f), 1.0f / 3.0f);
  }
}

TEST_P(CastNumericsTest, BF16ThenWidenBoundariesAndSweep) {
  // f32 -> bf16 -> f32, rounded in f32: the value of the reference's
  // pattern (NaN: the quiet NaN with the input's sign) on every boundary,
  // every bf16 value, and the dense sweep.
  auto table = finiteValues(kBF16);
  std::vector<float> inputs = sweep(), edges = boundaries(kBF16);
  inputs.insert(inputs.end(), edges.begin(), edges.end());
  for (bool saturate : {true, false}) {
    std::string name =
        std::string("round_bf16_") + (saturate ? "saturate" : "nonfinite");
    Packed fn = lookup(name);
    ASSERT_TRUE(fn);
    int failures = 0;
    for (float x : inputs) {
      Expected want = refEncode(kBF16, table, x, saturate);
      uint32_t wantBits = want.nan
                              ? 0x7fc00000u | (uint32_t(std::signbit(x)) << 31)
                              : bitsOf(float(refDecode(kBF16, want.bits)));
      uint32_t got = bitsOf(call<float, float>(fn, x));
      if (got != wantBits && ++failures <= 5)
        ADD_FAILURE() << name << "(0x" << std::hex << bitsOf(x) << ") gave 0x"
                      << got << ", expected 0x" << wantBits;
    }
    EXPECT_EQ(failures, 0) << name;
  }
}

TEST_P(CastNumericsTest, KnownValues) {
  Packed e4m3 = lookup("enc_f8E4M3FN_nonfinite");
  Packed e4m3Sat = lookup("enc_f8E4M3FN_saturate");
  Packed e5m2 = lookup("enc_f8E5M2_nonfinite");
  ASSERT_TRUE(e4m3 && e4m3Sat && e5m2);
  // REFERENCE.md: 464 rounds to 448, larger overflows to NaN; E5M2: 61440
  // and above go to inf; saturation sends them to max.
  EXPECT_EQ((call<float, uint8_t>(e4m3, 464.0f)), 0x7e);
  EXPECT_EQ((call<float, uint8_t>(e4m3, 465.0f)), 0x7f);
  EXPECT_EQ((call<float, uint8_t>(e4m3Sat, 1e9f)), 0x7e);
  EXPECT_EQ((call<float, uint8_t>(e4m3Sat, -INFINITY)), 0xfe);
  EXPECT_EQ((call<float, uint8_t>(e5m2, 61440.0f)), 0x7c);
  EXPECT_EQ((call<float, uint8_t>(e5m2, 61439.0f)), 0x7b);
}

TEST_P(CastNumericsTest, BF16ToF16EveryPattern) {
  Packed fn = lookup("bf16_to_f16");
  ASSERT_TRUE(fn);
  auto table = finiteValues(kF16);
  int failures = 0;
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    uint16_t got = call<uint16_t, uint16_t>(fn, uint16_t(bits));
    Expected want = refEncode(kF16, table, refDecode(kBF16, bits), false);
    if (want.nan)
      want.bits = quietNaN(kF16) | (bits & 0x8000);
    bool ok = got == want.bits;
    if (!ok && ++failures <= 5)
      ADD_FAILURE() << "bf16 0x" << std::hex << bits << " -> f16 0x" << got;
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(CastNumericsTest, ScaledCasts) {
  Packed quant = lookup("quant_e4m3");
  Packed dequant = lookup("dequant_e5m2");
  ASSERT_TRUE(quant && dequant);
  auto e4m3 = finiteValues(kE4M3);
  auto bf16 = finiteValues(kBF16);
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-600.0f, 600.0f);
  int failures = 0;
  for (float scale : {1.0f, 0.5f, 3.0f, 1.0f / 7.0f, 1e-3f, 448.0f}) {
    for (int i = 0; i < 20000; ++i) {
      float x = dist(rng);
      uint8_t got;
      void *args[] = {&x, &scale, &got};
      quant(args);
      Expected want = refEncode(kE4M3, e4m3, double(x * scale), true);
      if (got != want.bits && ++failures <= 5)
        ADD_FAILURE() << "quant(" << x << ", " << scale << ")";
    }
    for (uint32_t bits = 0; bits < 256; ++bits) {
      uint8_t in = uint8_t(bits);
      uint16_t got;
      void *args[] = {&in, &scale, &got};
      dequant(args);
      double decoded = refDecode(kE5M2, bits);
      float quotient = float(decoded) / scale;
      Expected want = refEncode(kBF16, bf16, quotient, false);
      bool gotNaN = std::isnan(refDecode(kBF16, got));
      bool ok = want.nan ? gotNaN : (!gotNaN && got == want.bits);
      if (!ok && ++failures <= 5)
        ADD_FAILURE() << "dequant(0x" << std::hex << bits << ")";
    }
  }
  EXPECT_EQ(failures, 0);
}

//===----------------------------------------------------------------------===//
// The same casts on tensors: vectorized by the CPU pipeline, at every ISA
// level the host runs.
//===----------------------------------------------------------------------===//

/// f32 values whose casts take every special path, in both signs: NaNs
/// (quiet, signaling, any payload), infinities, signed zeros, f32
/// subnormals, the largest finite value (which bf16 rounds to inf) and the
/// ties and near-ties of bf16 and f16 rounding.
std::vector<uint32_t> specialF32Patterns() {
  std::vector<uint32_t> patterns;
  for (uint32_t magnitude :
       {0x7f800001u, 0x7fbfffffu, 0x7fc00000u, 0x7fc00001u, 0x7fffffffu,
        0x7fa5a5a5u, 0x7f800000u, 0x00000000u, 0x00000001u, 0x007fffffu,
        0x00800000u, 0x7f7fffffu, 0x7f7f7fffu, 0x7f7f8000u, 0x3f808000u,
        0x3f818000u, 0x3f807fffu, 0x3f800fffu, 0x3f801000u, 0x3f803000u,
        0x477fefffu, 0x477ff000u, 0x33800000u, 0x33000001u,
        // f8E4M3FN's 448 and the midpoint above it (464, a tie that rounds
        // down), f8E5M2's 57344 and the midpoint above it (61440, a tie
        // that rounds up), each with a neighbour.
        0x43e00000u, 0x43e80000u, 0x43e80001u, 0x47600000u, 0x476fffffu,
        0x47700000u})
    for (uint32_t sign : {0u, 0x80000000u})
      patterns.push_back(sign | magnitude);
  return patterns;
}

/// The pattern the reference encodes `bits` to in `f` (IEEE overflow; NaN:
/// the quiet NaN with the input's sign, exactly).
uint32_t refEncodeBits(const Format &f, uint32_t bits) {
  static std::map<const Format *, std::vector<std::pair<double, uint32_t>>>
      tables;
  auto &table = tables[&f];
  if (table.empty())
    table = finiteValues(f);
  float x = floatFromBits(bits);
  Expected want = refEncode(f, table, x, /*saturate=*/false);
  if (want.nan)
    return quietNaN(f) | ((bits >> 31) << (f.width - 1));
  return want.bits;
}

/// The f32 pattern of the 16-bit `pattern` of `f` widened (NaN: f32's
/// quiet NaN with the pattern's sign).
uint32_t widenedBits(const Format &f, uint32_t pattern) {
  uint32_t sign = (pattern >> (f.width - 1)) << 31;
  double v = refDecode(f, pattern);
  if (std::isnan(v))
    return sign | 0x7fc00000u;
  float w = float(v);
  uint32_t bits;
  std::memcpy(&bits, &w, 4);
  return bits;
}

/// `source` compiled for one thread at the ISA level `features`.
llvm::Expected<std::unique_ptr<ampc::JitModule>>
compileAtIsaLevel(const std::string &source, const std::string &features) {
  ampc::JitOptions options;
  options.threads = 1;
  options.cpuFeatures = features;
  return ampc::JitModule::fromString(source, options);
}

/// f32 -> bf16, f16, f8E4M3FN and f8E5M2 (IEEE overflow) on tensors, stored
/// and read back widened to f32 (the bf16 and fp8 roundings without a
/// narrow value, the f16 one through vcvtps2ph and back), bit for bit
/// against the reference on a sweep of f32 patterns with every special value
/// at the vectors' first and last lanes and in the tail that is not a whole
/// vector, at every host ISA level: AVX-512, AVX2 + F16C + FMA (NaN quieting
/// in a branch), and SSE without F16C (the integer path).
TEST(VectorCastNumericsTest, EncodeAndRoundThroughBitExactAtEveryIsaLevel) {
  constexpr int64_t n = 4096 + 13;
  const Format *formats[] = {&kBF16, &kF16, &kE4M3, &kE5M2};
  const char *names[] = {"b", "h", "e", "g"};
  std::string t = "tensor<" + std::to_string(n) + "x";
  std::string narrow, wide, types, results;
  for (int r = 0; r < 4; ++r) {
    std::string name = names[r];
    std::string type = t + formats[r]->name + ">";
    narrow += "  %" + name + " = amp.cast %x overflow nonfinite : " + t +
              "f32> to " + type + "\n";
    wide += "  %" + name + "w = arith.extf %" + name + " : " + type + " to " +
            t + "f32>\n";
    types += (types.empty() ? "" : ", ") + type;
    results += (results.empty() ? "%" : ", %") + name;
  }
  for (const char *name : names) {
    types += ", " + t + "f32>";
    results += std::string(", %") + name + "w";
  }
  std::string source = "func.func @casts(%x: " + t + "f32>) -> (" + types +
                       ") {\n" + narrow + wide + "  return " + results + " : " +
                       types + "\n}\n";
  ampc_rt::Tensor in(ampc_rt::DType::F32, {n});
  std::mt19937 rng(2026);
  for (int64_t i = 0; i < n; ++i)
    in.as<uint32_t>()[i] = uint32_t(rng());
  std::vector<uint32_t> specials = specialF32Patterns();
  for (size_t j = 0; j < specials.size(); ++j) {
    in.as<uint32_t>()[16 * j] = specials[j];         // first lanes
    in.as<uint32_t>()[16 * j + 2063] = specials[j];  // last lanes
    in.as<uint32_t>()[n - 1 - j % 13] = specials[j]; // the tail
  }
  for (const std::string &features : hostIsaLevels()) {
    SCOPED_TRACE("features: '" + features + "'");
    auto module = compileAtIsaLevel(source, features);
    ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
    auto out = (*module)->call("casts", {in});
    ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
    int failures = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t x = in.as<uint32_t>()[i];
      for (int r = 0; r < 4; ++r) {
        const Format &f = *formats[r];
        uint32_t want = refEncodeBits(f, x);
        const ampc_rt::Tensor &narrowOut = (*out)[r];
        uint32_t got = f.width == 8 ? narrowOut.as<uint8_t>()[i]
                                    : narrowOut.as<uint16_t>()[i];
        uint32_t gotWide = (*out)[4 + r].as<uint32_t>()[i];
        uint32_t wantWide = widenedBits(f, want);
        if ((got != want || gotWide != wantWide) && ++failures <= 5)
          ADD_FAILURE() << f.name << " of 0x" << std::hex << x << " at "
                        << std::dec << i << ": 0x" << std::hex << got
                        << " / widened 0x" << gotWide << ", want 0x" << want
                        << " / 0x" << wantWide;
      }
    }
    EXPECT_EQ(failures, 0);
  }
}

/// f32 -> bf16 casts on tensors the CPU pipeline converts in whole 8- and
/// 16-lane vectors (on AVX-512 BF16: vcvtneps2bf16, which reads subnormals
/// as zero and keeps a NaN's payload), bit for bit against the reference at
/// every host ISA level: normal values everywhere, and in every third
/// vector one special value (NaN, subnormal, zero, inf, tie), at a lane
/// that moves from vector to vector.
TEST(VectorCastNumericsTest, BF16CastsOfWholeVectorsAreExact) {
  std::vector<uint32_t> specials = specialF32Patterns();
  std::mt19937 rng(2028);
  for (std::string shape : {"4096", "96x48", "40x8"}) {
    SCOPED_TRACE("tensor<" + shape + "xf32>");
    std::string t = "tensor<" + shape + "x";
    std::string source = "func.func @cast(%x: " + t + "f32>) -> " + t +
                         "bf16> {\n  %b = amp.cast %x : " + t + "f32> to " + t +
                         "bf16>\n  return %b : " + t + "bf16>\n}\n";
    std::vector<int64_t> dims;
    for (llvm::StringRef dim : llvm::split(shape, 'x'))
      dims.push_back(std::stoll(dim.str()));
    ampc_rt::Tensor in(ampc_rt::DType::F32, dims);
    int64_t n = in.numElements();
    uint32_t *bits = in.as<uint32_t>();
    for (int64_t i = 0; i < n; ++i) {
      // A normal value: exponent field 1..254.
      uint32_t exponent = 1 + uint32_t(rng()) % 254;
      bits[i] = (uint32_t(rng()) & 0x807fffffu) | (exponent << 23);
    }
    for (int64_t v = 0; 16 * v < n; v += 3)
      bits[16 * v + v % 16] = specials[size_t(v / 3) % specials.size()];
    for (const std::string &features : hostIsaLevels()) {
      SCOPED_TRACE("features: '" + features + "'");
      auto module = compileAtIsaLevel(source, features);
      ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
      auto out = (*module)->call("cast", {in});
      ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
      int failures = 0;
      for (int64_t i = 0; i < n; ++i) {
        uint32_t got = (*out)[0].as<uint16_t>()[i];
        uint32_t want = refEncodeBits(kBF16, bits[i]);
        if (got != want && ++failures <= 5)
          ADD_FAILURE() << "0x" << std::hex << bits[i] << " at " << std::dec
                        << i << ": 0x" << std::hex << got << ", want 0x"
                        << want;
      }
      EXPECT_EQ(failures, 0);
    }
  }
}

/// An f16 cast read only by arithmetic (here widened and multiplied by
/// one) is converted without the NaN quieting: every finite value and
/// infinity keeps the reference's bits, every NaN stays a NaN of the
/// input's sign (its payload is what the multiplication leaves, which IEEE
/// does not fix), at every host ISA level.
TEST(VectorCastNumericsTest, F16CastsReadByArithmeticRoundExactly) {
  constexpr int64_t n = 4096 + 13;
  std::string t = "tensor<" + std::to_string(n) + "x";
  std::string source = "func.func @product(%x: " + t + "f32>, %y: " + t +
                       "f32>) -> " + t + "f32> {\n  %h = amp.cast %x : " + t +
                       "f32> to " + t + "f16>\n  %hw = arith.extf %h : " + t +
                       "f16> to " + t +
                       "f32>\n  %p = arith.mulf %hw, %y : " + t +
                       "f32>\n  return %p : " + t + "f32>\n}\n";
  ampc_rt::Tensor in(ampc_rt::DType::F32, {n}), ones(ampc_rt::DType::F32, {n});
  std::mt19937 rng(2027);
  for (int64_t i = 0; i < n; ++i) {
    in.as<uint32_t>()[i] = uint32_t(rng());
    ones.as<float>()[i] = 1.0f;
  }
  std::vector<uint32_t> specials = specialF32Patterns();
  for (size_t j = 0; j < specials.size(); ++j) {
    in.as<uint32_t>()[16 * j] = specials[j];
    in.as<uint32_t>()[n - 1 - j % 13] = specials[j];
  }
  for (const std::string &features : hostIsaLevels()) {
    SCOPED_TRACE("features: '" + features + "'");
    auto module = compileAtIsaLevel(source, features);
    ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
    auto out = (*module)->call("product", {in, ones});
    ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
    int failures = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t x = in.as<uint32_t>()[i], got = (*out)[0].as<uint32_t>()[i];
      uint32_t want = widenedBits(kF16, refEncodeBits(kF16, x));
      bool nan = std::isnan(floatFromBits(want));
      bool ok = nan ? std::isnan(floatFromBits(got)) && (got >> 31) == (x >> 31)
                    : got == want;
      if (!ok && ++failures <= 5)
        ADD_FAILURE() << "0x" << std::hex << x << " at " << std::dec << i
                      << ": 0x" << std::hex << got << ", want 0x" << want;
    }
    EXPECT_EQ(failures, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Lowerings, CastNumericsTest,
                         ::testing::ValuesIn(kLowerings),
                         [](const ::testing::TestParamInfo<Lowering> &info) {
                           return std::string(info.param.name);
                         });

} // namespace
