//===- LossScalingTest.cpp - GradScaler semantics of the lowered ops ------===//
//
// Runs the lowered amp.update_loss_scale, amp.unscale_grads and
// amp.select_update and compares them step by step with a transcription of
// torch's GradScaler (_amp_update_scale_cpu_, _amp_foreach_non_finite_check_
// and_unscale_) extended with the hysteresis and min/max options of
// DeepSpeed/Megatron and Apex, as documented on the op.
//
//===----------------------------------------------------------------------===//

#include "GradScalerReference.h"
#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"

#include "gtest/gtest.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <set>
#include <string>

namespace {

using ampc::testing::Options;
using ampc::testing::reference;
using ampc::testing::State;

std::string updateFunction(const std::string &name, const Options &o) {
  std::string attrs =
      "{growth_factor = " + std::to_string(o.growthFactor) +
      " : f64, backoff_factor = " + std::to_string(o.backoffFactor) +
      " : f64, growth_interval = " + std::to_string(o.growthInterval) +
      " : i64, hysteresis = " + std::to_string(o.hysteresis) + " : i64";
  if (o.minScale > 0)
    attrs += ", min_scale = " + std::to_string(o.minScale) + " : f64";
  if (o.maxScale > 0)
    attrs += ", max_scale = " + std::to_string(o.maxScale) + " : f64";
  attrs += "}";
  return "func.func @" + name +
         "(%s: f32, %g: i32, %h: i32, %inf: i1) -> (f32, i32, i32) {\n"
         "  %0:3 = amp.update_loss_scale %s, %g, %h, %inf " +
         attrs +
         "\n"
         "  return %0#0, %0#1, %0#2 : f32, i32, i32\n}\n";
}

class LossScalingTest : public ::testing::Test {
protected:
  void SetUp() override { context = ampc::testing::makeJitContext(); }

  ampc::testing::PackedFn compile(const std::string &source,
                                  const std::string &name) {
    auto engineOrError = ampc::testing::jitCompile(*context, source);
    EXPECT_TRUE(static_cast<bool>(engineOrError))
        << llvm::toString(engineOrError.takeError());
    if (!engineOrError)
      return nullptr;
    engine = std::move(*engineOrError);
    auto fn = ampc::testing::lookupPacked(*engine, name);
    if (!fn) {
      ADD_FAILURE() << llvm::toString(fn.takeError());
      return nullptr;
    }
    return *fn;
  }

  static State step(ampc::testing::PackedFn fn, State s, bool foundInf) {
    State out{};
    void *args[] = {&s.scale, &s.growth, &s.hysteresis, &foundInf, &out};
    fn(args);
    return out;
  }

  /// Runs `steps` updates with overflow at the steps in `overflows`, checking
  /// every intermediate state against the reference.
  void checkSchedule(const Options &o, State start, int steps,
                     const std::set<int> &overflows) {
    auto fn = compile(updateFunction("update", o), "update");
    ASSERT_TRUE(fn);
    State got = start, want = start;
    for (int i = 0; i < steps; ++i) {
      bool inf = overflows.count(i) > 0;
      got = step(fn, got, inf);
      want = reference(want, inf, o);
      ASSERT_TRUE(got == want)
          << "step " << i << ": got scale " << got.scale << " growth "
          << got.growth << " hysteresis " << got.hysteresis << ", expected "
          << want.scale << " " << want.growth << " " << want.hysteresis;
    }
  }

  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

TEST_F(LossScalingTest, GradScalerDefaults) {
  Options o; // init 2^16, x2 every 2000 clean steps, x0.5 on overflow
  auto fn = compile(updateFunction("update", o), "update");
  ASSERT_TRUE(fn);
  State s{65536.0f, 0, 1};
  s = step(fn, s, true);
  EXPECT_EQ(s.scale, 32768.0f);
  EXPECT_EQ(s.growth, 0);
  for (int i = 0; i < 1999; ++i)
    s = step(fn, s, false);
  EXPECT_EQ(s.scale, 32768.0f);
  EXPECT_EQ(s.growth, 1999);
  s = step(fn, s, false);
  EXPECT_EQ(s.scale, 65536.0f);
  EXPECT_EQ(s.growth, 0);
}

TEST_F(LossScalingTest, BackoffAndRegrowthSchedule) {
  Options o;
  o.growthInterval = 3;
  checkSchedule(o, {1024.0f, 0, 1}, 40, {2, 5, 6, 7, 20, 33});
}

TEST_F(LossScalingTest, GrowthThatWouldOverflowKeepsTheScale) {
  Options o;
  o.growthInterval = 2;
  State start{FLT_MAX / 1.5f, 0, 1};
  checkSchedule(o, start, 6, {});
  auto fn = compile(updateFunction("update", o), "update");
  State s = step(fn, step(fn, start, false), false);
  EXPECT_EQ(s.scale, start.scale);
  EXPECT_EQ(s.growth, 0);
}

TEST_F(LossScalingTest, HysteresisNeedsConsecutiveOverflows) {
  Options o;
  o.growthInterval = 4;
  o.hysteresis = 2;
  auto fn = compile(updateFunction("update", o), "update");
  ASSERT_TRUE(fn);
  State s{256.0f, 0, 2};
  s = step(fn, s, true); // first overflow: tolerated
  EXPECT_EQ(s.scale, 256.0f);
  EXPECT_EQ(s.hysteresis, 1);
  s = step(fn, s, true); // second: back off
  EXPECT_EQ(s.scale, 128.0f);
  EXPECT_EQ(s.hysteresis, 2);
  checkSchedule(o, {256.0f, 0, 2}, 50, {0, 3, 4, 10, 11, 12, 30});
}

TEST_F(LossScalingTest, MinAndMaxScale) {
  Options o;
  o.growthInterval = 1;
  o.minScale = 1.0;
  o.maxScale = 8.0;
  auto fn = compile(updateFunction("update", o), "update");
  ASSERT_TRUE(fn);
  State s{4.0f, 0, 1};
  for (int i = 0; i < 5; ++i)
    s = step(fn, s, false);
  EXPECT_EQ(s.scale, 8.0f); // clamped at max_scale
  for (int i = 0; i < 10; ++i)
    s = step(fn, s, true);
  EXPECT_EQ(s.scale, 1.0f); // never below min_scale
  checkSchedule(o, {2.0f, 0, 1}, 30, {1, 2, 3, 4, 5, 6, 15});
}

TEST_F(LossScalingTest, UnscaleUsesTheF64InverseAndFlagsNonFinite) {
  std::string source =
      "func.func @unscale(%g0: f32, %g1: f32, %s: f32) -> (f32, f32, i1) {\n"
      "  %u:2, %inf = amp.unscale_grads (%g0, %g1) by %s : (f32, f32) -> (f32, "
      "f32)\n"
      "  return %u#0, %u#1, %inf : f32, f32, i1\n}\n";
  auto fn = compile(source, "unscale");
  ASSERT_TRUE(fn);
  struct Result {
    float u0, u1;
    bool inf;
  };
  auto run = [&](float g0, float g1, float s) {
    Result r{};
    void *args[] = {&g0, &g1, &s, &r};
    fn(args);
    return r;
  };
  for (float s : {65536.0f, 3.0f, 7.0f, 1.0f / 3.0f, 0.1f, 12345.678f}) {
    float inv = static_cast<float>(1.0 / static_cast<double>(s));
    for (float g : {1.0f, -2.5f, 1e-30f, 3e38f, 0.0f, 123456.0f}) {
      Result r = run(g, -g, s);
      EXPECT_EQ(r.u0, g * inv) << g << " / " << s;
      EXPECT_EQ(r.u1, -g * inv);
      EXPECT_FALSE(r.inf);
    }
  }
  EXPECT_TRUE(run(INFINITY, 1.0f, 2.0f).inf);
  EXPECT_TRUE(run(1.0f, -INFINITY, 2.0f).inf);
  EXPECT_TRUE(run(NAN, 1.0f, 2.0f).inf);
  EXPECT_FALSE(run(FLT_MAX, 1.0f, 2.0f).inf);
}

TEST_F(LossScalingTest, SkippedStepKeepsOldValuesBitForBit) {
  std::string source =
      "func.func @select(%inf: i1, %old: f32, %new: f32) -> f32 {\n"
      "  %0 = amp.select_update %inf, old(%old : f32), new(%new : f32)\n"
      "  return %0 : f32\n}\n";
  auto fn = compile(source, "select");
  ASSERT_TRUE(fn);
  auto run = [&](bool inf, float oldValue, float newValue) {
    float out;
    void *args[] = {&inf, &oldValue, &newValue, &out};
    fn(args);
    return out;
  };
  float nan = std::nanf("0x123");
  float kept = run(true, nan, 1.0f);
  EXPECT_EQ(std::memcmp(&kept, &nan, 4), 0);
  EXPECT_EQ(run(false, 1.0f, 2.0f), 2.0f);
  EXPECT_EQ(std::signbit(run(true, -0.0f, 0.0f)), true);
}

/// amp.unscale_grads over two f32 tensors of `n` values, through the CPU
/// pipeline; found_inf comes back as an i32.
std::string unscaleTensorsSource(int64_t n) {
  std::string t = "tensor<" + std::to_string(n) + "xf32>";
  return "func.func @unscale(%g0: " + t + ", %g1: " + t +
         ", %s: tensor<f32>) -> (" + t + ", " + t +
         ", tensor<i32>) {\n"
         "  %s0 = tensor.extract %s[] : tensor<f32>\n"
         "  %u:2, %inf = amp.unscale_grads (%g0, %g1) by %s0 : (" +
         t + ", " + t + ") -> (" + t + ", " + t +
         ")\n"
         "  %i = arith.extui %inf : i1 to i32\n"
         "  %it = tensor.from_elements %i : tensor<i32>\n"
         "  return %u#0, %u#1, %it : " +
         t + ", " + t + ", tensor<i32>\n}\n";
}

/// found_inf over whole tensors (vectorized, with vector tails) at every
/// host ISA level, against torch's _amp_foreach_non_finite_check_and_unscale_:
/// set by an inf or NaN of either sign and any payload anywhere in either
/// gradient, and by nothing finite (the largest finite value, subnormals,
/// signed zeros); the unscaled values are g * (1/s in f64, rounded once).
TEST(LossScalingTensorTest, FoundInfOverTensorsAtEveryIsaLevel) {
  const uint32_t nonFinite[] = {0x7f800000u, 0xff800000u, 0x7fc00000u,
                                0xffc00000u, 0x7f800001u, 0xff800001u,
                                0x7fffffffu};
  const uint32_t finite[] = {0x7f7fffffu, 0xff7fffffu, 0x00000001u,
                             0x80000001u, 0x80000000u, 0x00000000u};
  for (int64_t n : {7, 16, 256, 1000}) {
    for (const std::string &features : ampc::testing::hostIsaLevels()) {
      SCOPED_TRACE("n = " + std::to_string(n) + ", features: '" + features +
                   "'");
      ampc::JitOptions options;
      options.threads = 1;
      options.cpuFeatures = features;
      auto module =
          ampc::JitModule::fromString(unscaleTensorsSource(n), options);
      ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
      ampc_rt::Tensor base(ampc_rt::DType::F32, {n}),
          scale(ampc_rt::DType::F32, {});
      for (int64_t i = 0; i < n; ++i)
        base.as<float>()[i] = (i % 2 ? -1.0f : 1.0f) * (0.5f + float(i % 37));
      scale.as<float>()[0] = 3.0f;
      float inv = float(1.0 / 3.0);
      auto check = [&](int which, int64_t at, uint32_t bits, bool expected) {
        ampc_rt::Tensor g0 = base, g1 = base;
        (which ? g1 : g0).as<uint32_t>()[at] = bits;
        auto out = (*module)->call("unscale", {g0, g1, scale});
        ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
        ASSERT_EQ((*out)[2].as<int32_t>()[0], expected ? 1 : 0)
            << "pattern 0x" << std::hex << bits << " at " << std::dec << at
            << " of gradient " << which;
        float want = ampc::testing::floatFromBits(bits) * inv;
        if (!expected)
          ASSERT_EQ(std::memcmp(&(*out)[which].as<float>()[at], &want, 4), 0);
      };
      for (int which : {0, 1})
        for (int64_t at : {int64_t(0), n / 2, n - 1}) {
          for (uint32_t bits : nonFinite)
            check(which, at, bits, true);
          for (uint32_t bits : finite)
            check(which, at, bits, false);
        }
    }
  }
}

} // namespace
