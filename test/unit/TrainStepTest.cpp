//===- TrainStepTest.cpp - the compiled training step, against closed forms
//===//
//
// amp-build-train-step through the Trainer: optimizer updates against their
// closed forms (torch semantics) computed here in double, GradScaler
// behaviour with inf/NaN injected at chosen steps (skipped steps leave every
// parameter and state bit-identical; the scale follows the transcribed
// GradScaler), gradient clipping, an fp16 case where gradients underflow to
// zero without loss scaling and survive with it, and checkpoint/resume.
//
//===----------------------------------------------------------------------===//

#include "GradScalerReference.h"

#include "JitTestSupport.h"

#include "ampc/JIT/Trainer.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <sstream>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

/// loss = sum(w * x): the gradient of w is x, so a test chooses the
/// gradient of every step exactly.
const char *kLinear = R"mlir(
func.func @forward(%w: tensor<4xf32> {amp.param}, %x: tensor<4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%w, %x : tensor<4xf32>, tensor<4xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s : tensor<f32>
}
)mlir";

Tensor vec(std::vector<float> values) {
  Tensor t(DType::F32, {int64_t(values.size())});
  std::memcpy(t.data.data(), values.data(), values.size() * 4);
  return t;
}

std::unique_ptr<ampc::Trainer> makeTrainer(const ampc::TrainOptions &options,
                                           const char *source = kLinear,
                                           const char *policy = "none") {
  ampc::JitOptions jit;
  jit.precision.policy = ampc::testing::policyNamed(policy);
  auto trainer = ampc::Trainer::create(source, "<test>", jit, options);
  if (!trainer) {
    ADD_FAILURE() << llvm::toString(trainer.takeError());
    return nullptr;
  }
  return std::move(*trainer);
}

/// The gradients of the test steps: varied signs and magnitudes.
std::vector<float> gradientAt(int step) {
  return {0.5f + 0.1f * float(step), -1.25f, 0.03125f * float(step + 1),
          step % 2 ? 2.0f : -0.75f};
}

const std::vector<float> kStart = {0.3f, -0.7f, 1.1f, 0.05f};

/// Runs `steps` steps from kStart and checks w against `update`, a double
/// transcription of the optimizer: update(w, g, t) changes w in place
/// (t counts from 1) and keeps its own state.
template <typename Update>
void checkOptimizer(const ampc::TrainOptions &options, int steps,
                    Update update) {
  auto trainer = makeTrainer(options);
  ASSERT_TRUE(trainer);
  ASSERT_FALSE(static_cast<bool>(trainer->setParameter(0, vec(kStart))));
  std::vector<double> w(kStart.begin(), kStart.end());
  for (int t = 1; t <= steps; ++t) {
    std::vector<float> g = gradientAt(t);
    auto result = trainer->step({vec(g)});
    ASSERT_TRUE(static_cast<bool>(result))
        << llvm::toString(result.takeError());
    EXPECT_FALSE(result->skipped);
    // The loss is computed before the update.
    double loss = 0;
    for (int i = 0; i < 4; ++i)
      loss += w[i] * g[i];
    EXPECT_NEAR(result->loss, loss, 1e-5 * (1 + std::fabs(loss)));
    update(w, std::vector<double>(g.begin(), g.end()), t);
    Tensor param = trainer->parameters()[0];
    const float *got = param.as<float>();
    for (int i = 0; i < 4; ++i)
      EXPECT_NEAR(got[i], w[i], 2e-6 * (1 + std::fabs(w[i])))
          << options.optimizer << " step " << t << " element " << i;
  }
}

TEST(TrainStepTest, SgdWithWeightDecay) {
  ampc::TrainOptions o;
  o.learningRate = 0.1;
  o.momentum = 0;
  o.weightDecay = 0.01;
  checkOptimizer(o, 5, [&](std::vector<double> &w, std::vector<double> g, int) {
    for (int i = 0; i < 4; ++i)
      w[i] -= 0.1 * (g[i] + 0.01 * w[i]);
  });
}

TEST(TrainStepTest, SgdMomentum) {
  ampc::TrainOptions o;
  o.learningRate = 0.05;
  o.momentum = 0.9;
  std::vector<double> v(4, 0.0);
  checkOptimizer(o, 6, [&](std::vector<double> &w, std::vector<double> g, int) {
    for (int i = 0; i < 4; ++i) {
      v[i] = 0.9 * v[i] + g[i];
      w[i] -= 0.05 * v[i];
    }
  });
}

TEST(TrainStepTest, SgdNesterovWithWeightDecay) {
  ampc::TrainOptions o;
  o.learningRate = 0.05;
  o.momentum = 0.8;
  o.nesterov = true;
  o.weightDecay = 0.1;
  std::vector<double> v(4, 0.0);
  checkOptimizer(o, 6, [&](std::vector<double> &w, std::vector<double> g, int) {
    for (int i = 0; i < 4; ++i) {
      double d = g[i] + 0.1 * w[i];
      v[i] = 0.8 * v[i] + d;
      w[i] -= 0.05 * (d + 0.8 * v[i]);
    }
  });
}

/// torch.optim.Adam / AdamW (foreach=False, amsgrad=False).
void checkAdam(bool decoupled, double weightDecay) {
  ampc::TrainOptions o;
  o.optimizer = decoupled ? "adamw" : "adam";
  o.learningRate = 0.01;
  o.momentum = 0;
  o.beta1 = 0.8;
  o.beta2 = 0.95;
  o.epsilon = 1e-6;
  o.weightDecay = weightDecay;
  std::vector<double> m(4, 0.0), v(4, 0.0);
  checkOptimizer(
      o, 8, [&](std::vector<double> &w, std::vector<double> g, int t) {
        for (int i = 0; i < 4; ++i) {
          if (decoupled)
            w[i] *= 1 - 0.01 * weightDecay;
          else
            g[i] += weightDecay * w[i];
          m[i] = 0.8 * m[i] + 0.2 * g[i];
          v[i] = 0.95 * v[i] + 0.05 * g[i] * g[i];
          double stepSize = 0.01 / (1 - std::pow(0.8, t));
          double denom =
              std::sqrt(v[i]) / std::sqrt(1 - std::pow(0.95, t)) + 1e-6;
          w[i] -= stepSize * m[i] / denom;
        }
      });
}

TEST(TrainStepTest, Adam) { checkAdam(false, 0.0); }
TEST(TrainStepTest, AdamWithL2WeightDecay) { checkAdam(false, 0.05); }
TEST(TrainStepTest, AdamWDecoupledWeightDecay) { checkAdam(true, 0.05); }

TEST(TrainStepTest, ClippingByGlobalNormSeesTheUnscaledGradients) {
  ampc::TrainOptions o;
  o.learningRate = 0.1;
  o.momentum = 0;
  o.clipNorm = 1.0;
  o.lossScaling = "static";
  o.initScale = 1024;
  auto trainer = makeTrainer(o);
  ASSERT_TRUE(trainer);
  ASSERT_FALSE(static_cast<bool>(trainer->setParameter(0, vec(kStart))));
  // Norm 5: clipped to 1 (coefficient 1 / (5 + 1e-6)).
  auto big = trainer->step({vec({3, 4, 0, 0})});
  ASSERT_TRUE(static_cast<bool>(big));
  EXPECT_FLOAT_EQ(big->gradNorm, 5.0f);
  Tensor param = trainer->parameters()[0];
  const float *w = param.as<float>();
  double coef = 1.0 / (5.0 + 1e-6);
  EXPECT_NEAR(w[0], 0.3 - 0.1 * 3 * coef, 1e-6);
  EXPECT_NEAR(w[1], -0.7 - 0.1 * 4 * coef, 1e-6);
  EXPECT_FLOAT_EQ(w[2], 1.1f);
  // Norm 0.5: below the threshold, unchanged.
  auto small = trainer->step({vec({0.3f, 0.4f, 0, 0})});
  ASSERT_TRUE(static_cast<bool>(small));
  EXPECT_FLOAT_EQ(small->gradNorm, 0.5f);
  param = trainer->parameters()[0];
  w = param.as<float>();
  EXPECT_NEAR(w[0], 0.3 - 0.1 * 3 * coef - 0.03, 1e-6);
}

/// Bytes of every parameter and state tensor.
std::vector<uint8_t> snapshot(ampc::Trainer &trainer) {
  std::vector<uint8_t> bytes;
  const ampc::FunctionSignature &step = trainer.stepSignature();
  for (const std::string &role : step.inputRoles) {
    if (role == "batch" || role == "learning_rate" || role == "loss_scale" ||
        role == "growth_tracker" || role == "hysteresis_tracker")
      continue;
    std::optional<Tensor> t = trainer.state(role);
    EXPECT_TRUE(t) << role;
    if (t)
      bytes.insert(bytes.end(), t->data.begin(), t->data.end());
  }
  return bytes;
}

/// Dynamic scaling with overflow injected at `overflows`: exactly those
/// steps are skipped, change nothing, and the scale follows GradScaler.
void checkDynamicSchedule(const ampc::TrainOptions &o, int steps,
                          const std::set<int> &overflows) {
  auto trainer = makeTrainer(o);
  ASSERT_TRUE(trainer);
  ampc::testing::Options ref;
  ref.growthFactor = o.growthFactor;
  ref.backoffFactor = o.backoffFactor;
  ref.growthInterval = int32_t(o.growthInterval);
  ref.hysteresis = int32_t(o.hysteresis);
  ref.minScale = o.minScale;
  ref.maxScale = o.maxScale;
  ampc::testing::State want{float(o.initScale), 0, int32_t(o.hysteresis)};
  for (int t = 0; t < steps; ++t) {
    bool overflow = overflows.count(t) > 0;
    std::vector<float> g = gradientAt(t);
    if (overflow)
      g[t % 4] = t % 3 == 0 ? NAN : (t % 2 ? INFINITY : -INFINITY);
    std::vector<uint8_t> before = snapshot(*trainer);
    auto result = trainer->step({vec(g)});
    ASSERT_TRUE(static_cast<bool>(result))
        << llvm::toString(result.takeError());
    EXPECT_EQ(result->skipped, overflow) << "step " << t;
    EXPECT_EQ(result->lossScale, want.scale) << "step " << t;
    if (overflow)
      EXPECT_EQ(snapshot(*trainer), before) << "step " << t << " changed state";
    else
      EXPECT_NE(snapshot(*trainer), before) << "step " << t;
    want = ampc::testing::reference(want, overflow, ref);
    ampc::testing::State got{
        trainer->lossScale(),
        trainer->state("growth_tracker")->as<int32_t>()[0],
        trainer->state("hysteresis_tracker")->as<int32_t>()[0]};
    ASSERT_TRUE(got == want)
        << "step " << t << ": scale " << got.scale << " growth " << got.growth
        << " hysteresis " << got.hysteresis << ", GradScaler: " << want.scale
        << " " << want.growth << " " << want.hysteresis;
  }
}

TEST(TrainStepTest, DynamicLossScalingSkipsExactlyTheOverflowingSteps) {
  ampc::TrainOptions o;
  o.learningRate = 0.01;
  o.lossScaling = "dynamic";
  o.initScale = 1024;
  o.growthInterval = 3;
  checkDynamicSchedule(o, 30, {2, 5, 6, 7, 20});
}

TEST(TrainStepTest, AdamStateIsKeptOnSkippedSteps) {
  ampc::TrainOptions o;
  o.optimizer = "adam";
  o.momentum = 0;
  o.learningRate = 0.01;
  o.lossScaling = "dynamic";
  o.initScale = 256;
  o.growthInterval = 4;
  checkDynamicSchedule(o, 20, {0, 1, 9, 15});
}

TEST(TrainStepTest, HysteresisAndScaleBounds) {
  ampc::TrainOptions o;
  o.learningRate = 0.01;
  o.lossScaling = "dynamic";
  o.initScale = 8;
  o.growthInterval = 2;
  o.hysteresis = 2;
  o.minScale = 2;
  o.maxScale = 32;
  checkDynamicSchedule(o, 40, {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 30});
}

TEST(TrainStepTest, StaticScalingSkipsButKeepsTheScale) {
  ampc::TrainOptions o;
  o.learningRate = 0.01;
  o.lossScaling = "static";
  o.initScale = 128;
  auto trainer = makeTrainer(o);
  ASSERT_TRUE(trainer);
  EXPECT_FALSE(trainer->state("loss_scale"));
  std::vector<uint8_t> before = snapshot(*trainer);
  auto bad = trainer->step({vec({1, INFINITY, 1, 1})});
  ASSERT_TRUE(static_cast<bool>(bad));
  EXPECT_TRUE(bad->skipped);
  EXPECT_EQ(bad->lossScale, 128.0f);
  EXPECT_EQ(snapshot(*trainer), before);
  auto good = trainer->step({vec({1, 1, 1, 1})});
  ASSERT_TRUE(static_cast<bool>(good));
  EXPECT_FALSE(good->skipped);
  EXPECT_EQ(trainer->lossScale(), 128.0f);
}

TEST(TrainStepTest, FiniteGradientsWhoseNormOverflowsAreNotSkipped) {
  // found_inf is checked element by element only where the gradient norm's
  // sum of squares is not finite: gradients of 1e20 and more are finite but
  // square beyond f32's range. The step applies them (GradScaler checks the
  // gradients, not their norm); an inf or a NaN among them is still found.
  for (const char *scaling : {"static", "dynamic"}) {
    SCOPED_TRACE(scaling);
    ampc::TrainOptions o;
    o.learningRate = 0.01;
    o.momentum = 0;
    o.lossScaling = scaling;
    o.initScale = 1;
    auto trainer = makeTrainer(o);
    ASSERT_TRUE(trainer);
    ASSERT_FALSE(static_cast<bool>(trainer->setParameter(0, vec(kStart))));
    std::vector<float> g = {1e20f, -3e30f, 1e25f, 2.0f};
    auto big = trainer->step({vec(g)});
    ASSERT_TRUE(static_cast<bool>(big)) << llvm::toString(big.takeError());
    EXPECT_FALSE(big->skipped);
    EXPECT_TRUE(std::isinf(big->gradNorm)) << big->gradNorm;
    Tensor param = trainer->parameters()[0];
    for (int i = 0; i < 4; ++i)
      EXPECT_FLOAT_EQ(param.as<float>()[i], kStart[i] - 0.01f * g[i])
          << "element " << i;
    for (float bad : {INFINITY, -INFINITY, NAN}) {
      std::vector<uint8_t> before = snapshot(*trainer);
      auto skipped = trainer->step({vec({1e20f, bad, 1e25f, 2.0f})});
      ASSERT_TRUE(static_cast<bool>(skipped));
      EXPECT_TRUE(skipped->skipped) << bad;
      EXPECT_EQ(snapshot(*trainer), before) << bad;
    }
    auto small = trainer->step({vec({0.5f, 0.5f, 0.5f, 0.5f})});
    ASSERT_TRUE(static_cast<bool>(small));
    EXPECT_FALSE(small->skipped);
    EXPECT_FLOAT_EQ(small->gradNorm, 1.0f);
  }
}

TEST(TrainStepTest, WithoutLossScalingANonFiniteLossIsAnError) {
  ampc::TrainOptions o;
  o.lossScaling = "none";
  auto trainer = makeTrainer(o);
  ASSERT_TRUE(trainer);
  auto result = trainer->step({vec({1, NAN, 1, 1})});
  ASSERT_FALSE(static_cast<bool>(result));
  EXPECT_NE(llvm::toString(result.takeError()).find("the loss is not finite"),
            std::string::npos);
}

/// y = x @ w; loss = sum(y) * 2^-30. The output adjoint is 2^-30 everywhere:
/// below fp16's smallest subnormal (2^-24), so the fp16 weight-gradient
/// contraction sees zeros unless the loss is scaled.
const char *kTinyGradients = R"mlir(
func.func @forward(%w: tensor<16x16xf32> {amp.param}, %x: tensor<8x16xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 9.31322574615478515625e-10 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x16xf32>) outs(%f : tensor<8x16xf32>) -> tensor<8x16xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%y : tensor<8x16xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%s : tensor<f32>) outs(%e0 : tensor<f32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.mulf %a, %c : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}
)mlir";

/// The share of weights a step left unchanged: their gradient was zero.
/// `dyUnderflow` receives what the cast statistics say about the output
/// adjoint's cast to f16.
double zeroGradientShare(const char *lossScaling, double &dyUnderflow) {
  ampc::TrainOptions o;
  o.learningRate = 1e6;
  o.momentum = 0;
  o.lossScaling = lossScaling;
  ampc::JitOptions jit;
  jit.precision.policy = ampc::testing::policyNamed("fp16");
  jit.precision.castStatistics = true;
  auto created = ampc::Trainer::create(kTinyGradients, "<test>", jit, o);
  if (!created) {
    ADD_FAILURE() << llvm::toString(created.takeError());
    return -1;
  }
  auto trainer = std::move(*created);
  Tensor x(DType::F32, {8, 16});
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.as<float>()[i] = 0.5f + float(i % 7) / 8.0f;
  Tensor before = trainer->parameters()[0];
  auto result = trainer->step({x});
  if (!result) {
    ADD_FAILURE() << llvm::toString(result.takeError());
    return -1;
  }
  EXPECT_FALSE(result->skipped);
  int64_t unchanged = 0, n = before.numElements();
  Tensor after = trainer->parameters()[0];
  for (int64_t i = 0; i < n; ++i)
    unchanged += before.as<float>()[i] == after.as<float>()[i];
  // Casts: w and x (forward), x again is reused, and the adjoint of y.
  std::vector<ampc::CastStatistic> stats = trainer->castStatistics();
  dyUnderflow = -1;
  for (const ampc::CastStatistic &stat : stats) {
    EXPECT_EQ(stat.overflow, 0.0f) << stat.site;
    if (stat.site.rfind("t", 0) == 0)
      dyUnderflow = stat.underflow;
    else
      EXPECT_EQ(stat.underflow, 0.0f) << stat.site;
  }
  EXPECT_EQ(result->worstUnderflow, float(std::max(dyUnderflow, 0.0)));
  std::printf("[ underflow ] fp16, loss scaling %s: %.1f %% of the weight "
              "gradients are zero, gradient norm %g, the output adjoint's "
              "cast lost %.1f %%\n",
              lossScaling, 100.0 * double(unchanged) / double(n),
              double(result->gradNorm), 100 * dyUnderflow);
  return double(unchanged) / double(n);
}

TEST(TrainStepTest, Fp16GradientsUnderflowWithoutLossScalingAndSurviveWithIt) {
  double dyUnderflow = 0;
  EXPECT_EQ(zeroGradientShare("none", dyUnderflow), 1.0);
  EXPECT_EQ(dyUnderflow, 1.0);
  EXPECT_EQ(zeroGradientShare("dynamic", dyUnderflow), 0.0);
  EXPECT_EQ(dyUnderflow, 0.0);
}

TEST(TrainStepTest, ResumingACheckpointContinuesBitForBit) {
  ampc::TrainOptions o;
  o.optimizer = "adam";
  o.momentum = 0;
  o.learningRate = 0.01;
  o.lossScaling = "dynamic";
  o.initScale = 64;
  o.growthInterval = 2;
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ampc-ckpt", dir));
  std::string path = (dir + "/state.ckpt").str();

  auto run = makeTrainer(o);
  ASSERT_TRUE(run);
  for (int t = 0; t < 5; ++t)
    ASSERT_TRUE(static_cast<bool>(run->step({vec(gradientAt(t))})));
  ASSERT_FALSE(static_cast<bool>(run->saveCheckpoint(path)));
  for (int t = 5; t < 10; ++t)
    ASSERT_TRUE(static_cast<bool>(run->step({vec(gradientAt(t))})));

  o.seed = 7; // another initialisation: the checkpoint replaces it
  auto resumed = makeTrainer(o);
  ASSERT_TRUE(resumed);
  llvm::Error loaded = resumed->loadCheckpoint(path);
  ASSERT_FALSE(static_cast<bool>(loaded)) << llvm::toString(std::move(loaded));
  EXPECT_EQ(resumed->stepsTaken(), 5);
  for (int t = 5; t < 10; ++t)
    ASSERT_TRUE(static_cast<bool>(resumed->step({vec(gradientAt(t))})));
  EXPECT_EQ(snapshot(*resumed), snapshot(*run));
  EXPECT_EQ(resumed->lossScale(), run->lossScale());

  // A checkpoint of another optimizer is refused and changes nothing.
  o.optimizer = "sgd";
  o.momentum = 0.9;
  auto other = makeTrainer(o);
  ASSERT_TRUE(other);
  std::vector<uint8_t> before = snapshot(*other);
  llvm::Error refused = other->loadCheckpoint(path);
  ASSERT_TRUE(static_cast<bool>(refused));
  EXPECT_NE(llvm::toString(std::move(refused))
                .find("holds 9 tensors, the state has 6"),
            std::string::npos);
  EXPECT_EQ(snapshot(*other), before);
  llvm::sys::fs::remove_directories(dir);
}

TEST(TrainStepTest, AScalarF32LossTrainsToo) {
  // The loss contract allows a plain f32: sum(w * x) taken out of its tensor.
  std::string source = kLinear;
  source.replace(source.find("-> tensor<f32> {"), 16, "-> f32 {");
  source.replace(source.find("  return %s : tensor<f32>"), 25,
                 "  %l = tensor.extract %s[] : tensor<f32>\n  return %l : f32");
  ampc::TrainOptions o;
  o.learningRate = 0.5;
  o.momentum = 0;
  o.lossScaling = "dynamic";
  o.initScale = 1024;
  auto trainer = makeTrainer(o, source.c_str());
  ASSERT_TRUE(trainer);
  ASSERT_FALSE(static_cast<bool>(trainer->setParameter(0, vec(kStart))));
  auto result = trainer->step({vec({1, 2, 3, 4})});
  ASSERT_TRUE(static_cast<bool>(result)) << llvm::toString(result.takeError());
  EXPECT_NEAR(result->loss, 0.3 - 1.4 + 3.3 + 0.2, 1e-6);
  Tensor param = trainer->parameters()[0];
  const float *w = param.as<float>();
  EXPECT_FLOAT_EQ(w[0], 0.3f - 0.5f * 1);
  EXPECT_FLOAT_EQ(w[3], 0.05f - 0.5f * 4);
}

TEST(TrainStepTest, BadOptionsAreClearErrors) {
  auto message = [](ampc::TrainOptions o) {
    ampc::JitOptions jit;
    auto trainer = ampc::Trainer::create(kLinear, "<test>", jit, o);
    return trainer ? std::string() : llvm::toString(trainer.takeError());
  };
  ampc::TrainOptions o;
  o.optimizer = "lamb";
  EXPECT_NE(message(o).find("unknown optimizer 'lamb'; expected sgd, adam or "
                            "adamw"),
            std::string::npos);
  o = {};
  o.lossScaling = "sometimes";
  EXPECT_NE(message(o).find("unknown loss scaling 'sometimes'"),
            std::string::npos);
  o = {};
  o.learningRate = -1;
  EXPECT_NE(message(o).find("lr must be positive"), std::string::npos);
  o = {};
  o.lossScaling = "dynamic";
  o.backoffFactor = 2;
  EXPECT_NE(message(o).find("backoff-factor must be in (0, 1)"),
            std::string::npos);
}

/// Learning rates of schedules with base 0.1, written out from torch's
/// formulas (lr_scheduler.StepLR, CosineAnnealingLR, LinearLR) with a linear
/// warmup of (t + 1) / W before them.
TEST(TrainStepTest, ScheduleShapes) {
  auto expectRates = [](const ampc::LrSchedule &schedule,
                        std::vector<double> rates) {
    for (size_t t = 0; t < rates.size(); ++t)
      EXPECT_NEAR(schedule.at(0.1, int64_t(t)), rates[t], 1e-10)
          << schedule.describe() << " step " << t;
  };
  ampc::LrSchedule warmup;
  warmup.warmupSteps = 4;
  expectRates(warmup, {0.025, 0.05, 0.075, 0.1, 0.1, 0.1});
  ampc::LrSchedule step;
  step.kind = "step";
  step.stepSize = 3;
  step.gamma = 0.5;
  expectRates(step, {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025});
  ampc::LrSchedule cosine;
  cosine.kind = "cosine";
  cosine.warmupSteps = 2;
  cosine.totalSteps = 10;
  cosine.minLr = 0.01;
  expectRates(cosine,
              {0.05, 0.1, 0.1, 0.096574579, 0.0868198052, 0.0722207545, 0.055,
               0.0377792455, 0.0231801948, 0.013425421, 0.01, 0.01});
  ampc::LrSchedule linear;
  linear.kind = "linear";
  linear.totalSteps = 4;
  expectRates(linear, {0.1, 0.075, 0.05, 0.025, 0, 0});
}

/// The step uses the schedule's learning rate: SGD under a linear decay to
/// 0 (the last steps change nothing) and AdamW under a step decay, whose
/// decoupled decay 1 - lr * wd follows the schedule too.
TEST(TrainStepTest, TheStepFollowsTheSchedule) {
  ampc::TrainOptions o;
  o.learningRate = 0.1;
  o.momentum = 0;
  o.schedule.kind = "linear";
  o.schedule.totalSteps = 4;
  const double sgdRates[] = {0.1, 0.075, 0.05, 0.025, 0, 0};
  checkOptimizer(o, 6,
                 [&](std::vector<double> &w, std::vector<double> g, int t) {
                   for (int i = 0; i < 4; ++i)
                     w[i] -= sgdRates[t - 1] * g[i];
                 });

  o = {};
  o.optimizer = "adamw";
  o.learningRate = 0.01;
  o.weightDecay = 0.5;
  o.schedule.kind = "step";
  o.schedule.stepSize = 2;
  o.schedule.gamma = 0.5;
  const double adamRates[] = {0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025};
  std::vector<double> m(4, 0.0), v(4, 0.0);
  checkOptimizer(
      o, 6, [&](std::vector<double> &w, std::vector<double> g, int t) {
        double lr = adamRates[t - 1];
        for (int i = 0; i < 4; ++i) {
          w[i] *= 1 - lr * 0.5;
          m[i] = 0.9 * m[i] + 0.1 * g[i];
          v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
          double denom =
              std::sqrt(v[i]) / std::sqrt(1 - std::pow(0.999, t)) + 1e-8;
          w[i] -= lr / (1 - std::pow(0.9, t)) * m[i] / denom;
        }
      });
}

/// A checkpoint keeps the schedule's position (the step count): a resumed
/// trainer continues the cosine where the saved one was.
TEST(TrainStepTest, CheckpointsKeepTheSchedulePosition) {
  ampc::TrainOptions o;
  o.learningRate = 0.1;
  o.momentum = 0;
  o.schedule.kind = "cosine";
  o.schedule.warmupSteps = 2;
  o.schedule.totalSteps = 10;
  o.schedule.minLr = 0.01;
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ampc-lr", dir));
  std::string path = (dir + "/state.ckpt").str();
  auto run = makeTrainer(o);
  ASSERT_TRUE(run);
  for (int t = 0; t < 4; ++t)
    ASSERT_TRUE(static_cast<bool>(run->step({vec(gradientAt(t))})));
  ASSERT_FALSE(static_cast<bool>(run->saveCheckpoint(path)));
  auto resumed = makeTrainer(o);
  ASSERT_TRUE(resumed);
  ASSERT_FALSE(static_cast<bool>(resumed->loadCheckpoint(path)));
  auto lr = resumed->learningRate();
  ASSERT_TRUE(static_cast<bool>(lr));
  EXPECT_NEAR(*lr, 0.0868198052, 1e-10);
  auto next = resumed->step({vec(gradientAt(4))});
  auto expected = run->step({vec(gradientAt(4))});
  ASSERT_TRUE(next && expected);
  EXPECT_FLOAT_EQ(next->learningRate, 0.0868198052f);
  EXPECT_EQ(snapshot(*resumed), snapshot(*run));
  llvm::sys::fs::remove_directories(dir);
}

TEST(TrainStepTest, BadSchedulesAreClearErrors) {
  auto message = [](ampc::LrSchedule schedule) {
    ampc::TrainOptions o;
    o.schedule = schedule;
    ampc::JitOptions jit;
    auto trainer = ampc::Trainer::create(kLinear, "<test>", jit, o);
    return trainer ? std::string() : llvm::toString(trainer.takeError());
  };
  ampc::LrSchedule s;
  s.kind = "exponential";
  EXPECT_EQ(message(s), "learning-rate schedule: unknown kind 'exponential'; "
                        "expected constant, step, cosine or linear");
  s = {};
  s.kind = "step";
  EXPECT_EQ(message(s),
            "learning-rate schedule: the step schedule needs a step size > 0");
  s = {};
  s.kind = "cosine";
  s.warmupSteps = 10;
  s.totalSteps = 10;
  EXPECT_EQ(message(s), "learning-rate schedule: total steps (10) must exceed "
                        "the warmup (10)");
  s = {};
  s.kind = "linear";
  s.totalSteps = 5;
  s.minLr = 1;
  EXPECT_EQ(message(s),
            "learning-rate schedule: the final learning rate must be in "
            "[0, lr]");
  // Without total steps a decay cannot start (runTraining sets them).
  s = {};
  s.kind = "cosine";
  EXPECT_EQ(message(s), "");
  ampc::TrainOptions o;
  o.schedule = s;
  auto trainer = makeTrainer(o);
  ASSERT_TRUE(trainer);
  auto result = trainer->step({vec(gradientAt(0))});
  ASSERT_FALSE(static_cast<bool>(result));
  EXPECT_EQ(llvm::toString(result.takeError()),
            "the cosine learning-rate schedule needs its total steps "
            "(LrSchedule::totalSteps)");
  s.totalSteps = 3;
  EXPECT_FALSE(static_cast<bool>(trainer->setSchedule(s)));
  EXPECT_TRUE(static_cast<bool>(trainer->step({vec(gradientAt(0))})));
}

/// loss = sum((g + b + u) * x) + sum(w): four parameters, each named or
/// not and with its own initialiser.
const char *kNamed = R"mlir(
func.func @forward(%g: tensor<4xf32> {amp.param = "ln.weight", amp.init = "ones"},
                   %b: tensor<4xf32> {amp.param = "ln.bias", amp.init = "zeros"},
                   %w: tensor<64x64xf32> {amp.param = "proj.weight", amp.init = "normal(0.02)"},
                   %u: tensor<4xf32> {amp.param, amp.init = "uniform(0.5)"},
                   %x: tensor<4xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%g, %b, %u, %x : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %c: f32, %d: f32, %y: f32, %acc: f32):
    %t0 = arith.addf %a, %c : f32
    %t1 = arith.addf %t0, %d : f32
    %p = arith.mulf %t1, %y : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  %l = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%w : tensor<64x64xf32>) outs(%s : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %l : tensor<f32>
}
)mlir";

TEST(TrainStepTest, NamedParametersAndInitialisers) {
  ampc::TrainOptions o;
  o.momentum = 0;
  auto trainer = makeTrainer(o, kNamed);
  ASSERT_TRUE(trainer);
  EXPECT_EQ(trainer->parameterName(0), "ln.weight");
  EXPECT_EQ(trainer->parameterName(1), "ln.bias");
  EXPECT_EQ(trainer->parameterName(2), "proj.weight");
  EXPECT_EQ(trainer->parameterName(3), "param3");
  std::vector<Tensor> params = trainer->parameters();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(params[0].as<float>()[i], 1.0f);
    EXPECT_EQ(params[1].as<float>()[i], 0.0f);
  }
  // normal(0.02): 4096 samples, mean ~0 and standard deviation ~0.02.
  double sum = 0, squares = 0;
  for (int i = 0; i < 4096; ++i) {
    double v = params[2].as<float>()[i];
    sum += v;
    squares += v * v;
  }
  double mean = sum / 4096, std = std::sqrt(squares / 4096 - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.002);
  EXPECT_NEAR(std, 0.02, 0.002);
  // uniform(0.5): within the bound, not all near zero.
  float largest = 0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_LE(std::fabs(params[3].as<float>()[i]), 0.5f);
    largest = std::max(largest, std::fabs(params[3].as<float>()[i]));
  }
  EXPECT_GT(largest, 0.05f);

  // Files by name; loading them back restores the parameters.
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ampc-named", dir));
  ASSERT_FALSE(static_cast<bool>(trainer->saveParameters(dir)));
  for (const char *file : {"ln.weight", "ln.bias", "proj.weight", "param3"})
    EXPECT_TRUE(llvm::sys::fs::exists(dir + "/" + file + ".npy")) << file;
  ASSERT_TRUE(static_cast<bool>(trainer->step({vec({1, 2, 3, 4})})));
  EXPECT_NE(trainer->parameters()[0].as<float>()[0], 1.0f); // trained
  ASSERT_FALSE(static_cast<bool>(trainer->loadParameters(dir)));
  EXPECT_EQ(trainer->parameters()[0].as<float>()[0], 1.0f);
  EXPECT_EQ(trainer->parameters()[1].as<float>()[3], 0.0f);
  // A wrong file is reported by the parameter's name.
  ASSERT_FALSE(
      ampc_rt::writeNpy((dir + "/ln.bias.npy").str(), vec({1, 2})).size());
  llvm::Error wrong = trainer->loadParameters(dir);
  ASSERT_TRUE(static_cast<bool>(wrong));
  EXPECT_NE(llvm::toString(std::move(wrong))
                .find("ln.bias.npy' is 2xf32, parameter 'ln.bias' is "
                      "tensor<4xf32>"),
            std::string::npos);
  llvm::sys::fs::remove_directories(dir);
}

/// A parameter's location names it when amp.param does not; a name that a
/// state tensor already has is refused.
TEST(TrainStepTest, ParameterNamesFromLocationsAndCollisions) {
  std::string source = kLinear;
  source.replace(source.find("{amp.param}"), 11,
                 "{amp.param} loc(\"head.weight\")");
  ampc::TrainOptions o;
  o.momentum = 0;
  auto trainer = makeTrainer(o, source.c_str());
  ASSERT_TRUE(trainer);
  EXPECT_EQ(trainer->parameterName(0), "head.weight");

  source = kLinear;
  source.replace(source.find("{amp.param}"), 11,
                 "{amp.param = \"loss_scale\"}");
  o.lossScaling = "dynamic";
  ampc::JitOptions jit;
  auto refused = ampc::Trainer::create(source, "<test>", jit, o);
  ASSERT_FALSE(static_cast<bool>(refused));
  EXPECT_EQ(llvm::toString(refused.takeError()),
            "the name 'loss_scale' of a state tensor is taken by another "
            "parameter or state tensor");
}

/// loss = mean over the rows r of sum_i w_i x_ri, for any number of rows:
/// the gradient is the mean row.
const char *kAnyBatch = R"mlir(
func.func @forward(%w: tensor<4xf32> {amp.param}, %x: tensor<?x4xf32>) -> (tensor<f32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %ni = arith.index_cast %n : index to i64
  %nf = arith.sitofp %ni : i64 to f32
  %inv = arith.divf %one, %nf : f32
  %er = tensor.empty(%n) : tensor<?xf32>
  %fr = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %rows = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%w, %x : tensor<4xf32>, tensor<?x4xf32>) outs(%fr : tensor<?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<?xf32>
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%rows : tensor<?xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %p = arith.mulf %a, %inv : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s, %rows : tensor<f32>, tensor<?xf32>
}
)mlir";

/// Rows 0..rows-1 of 4 features: row r is (r+1, -r, 0.5, r % 2).
Tensor rowsOf(int64_t rows) {
  Tensor t(DType::F32, {rows, 4});
  for (int64_t r = 0; r < rows; ++r) {
    float *row = t.as<float>() + 4 * r;
    row[0] = float(r + 1), row[1] = -float(r), row[2] = 0.5f;
    row[3] = float(r % 2);
  }
  return t;
}

/// kAnyBatch written for batches of 2: its mean is a constant 0.5.
const char *kFixedBatch = R"mlir(
func.func @forward(%w: tensor<4xf32> {amp.param}, %x: tensor<2x4xf32>) -> (tensor<f32>, tensor<2xf32>) {
  %zero = arith.constant 0.0 : f32
  %inv = arith.constant 0.5 : f32
  %er = tensor.empty() : tensor<2xf32>
  %fr = linalg.fill ins(%zero : f32) outs(%er : tensor<2xf32>) -> tensor<2xf32>
  %rows = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%w, %x : tensor<4xf32>, tensor<2x4xf32>) outs(%fr : tensor<2xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<2xf32>
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%rows : tensor<2xf32>) outs(%f : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %p = arith.mulf %a, %inv : f32
    %t = arith.addf %p, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s, %rows : tensor<f32>, tensor<2xf32>
}
)mlir";

/// A model trains on batches of any size, whether written for any (batch
/// 2 asked for) or for a fixed batch of 2 (re-batched): each size compiles
/// once and shares the parameters; every step's update is the closed form
/// for its own batch (the mean row); evaluation takes any size too.
class AnyBatchSize : public ::testing::TestWithParam<bool> {};

TEST_P(AnyBatchSize, TrainsAndEvaluatesOnBatchesOfAnySize) {
  bool fixedModel = GetParam();
  ampc::TrainOptions o;
  o.learningRate = 0.1;
  o.momentum = 0;
  o.batch = fixedModel ? 0 : 2;
  auto trainer = makeTrainer(o, fixedModel ? kFixedBatch : kAnyBatch);
  ASSERT_TRUE(trainer);
  EXPECT_EQ(trainer->forwardSignature().inputs[1].shape,
            (std::vector<int64_t>{2, 4}));
  ASSERT_FALSE(static_cast<bool>(trainer->setParameter(0, vec(kStart))));
  std::vector<double> w(kStart.begin(), kStart.end());
  for (int64_t rows : {2, 3, 2, 5}) {
    Tensor x = rowsOf(rows);
    double loss = 0;
    std::vector<double> mean(4, 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int i = 0; i < 4; ++i) {
        double v = x.as<float>()[4 * r + i];
        loss += w[i] * v / double(rows);
        mean[i] += v / double(rows);
      }
    auto result = trainer->step({x});
    ASSERT_TRUE(static_cast<bool>(result))
        << llvm::toString(result.takeError());
    EXPECT_NEAR(result->loss, loss, 1e-5 * (1 + std::fabs(loss))) << rows;
    for (int i = 0; i < 4; ++i)
      w[i] -= 0.1 * mean[i];
    Tensor param = trainer->parameters()[0];
    for (int i = 0; i < 4; ++i)
      EXPECT_NEAR(param.as<float>()[i], w[i], 1e-6) << rows << " " << i;
  }
  auto out = trainer->evaluate({rowsOf(7)});
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  ASSERT_EQ((*out)[1].shape, (std::vector<int64_t>{7}));
  EXPECT_NEAR((*out)[1].as<float>()[6], 7 * w[0] - 6 * w[1] + 0.5 * w[2], 1e-5);
  EXPECT_EQ(trainer->compiledBatchSizes(), (std::vector<int64_t>{2, 3, 5, 7}));
  auto empty = trainer->step({rowsOf(0)});
  ASSERT_FALSE(static_cast<bool>(empty));
  EXPECT_EQ(llvm::toString(empty.takeError()),
            "a batch needs at least one row, got a tensor<0x4xf32>");
}

INSTANTIATE_TEST_SUITE_P(WrittenForAnyOrFixed, AnyBatchSize, ::testing::Bool());

/// kLinear's input x (tensor<4xf32>) is read along with its parameter: a
/// batch of 2 cannot be made of it, and the error says why.
TEST(TrainStepTest, ABatchThatMeetsAParameterCannotBeRebatched) {
  ampc::TrainOptions o;
  auto fixed = makeTrainer(o);
  ASSERT_TRUE(fixed);
  auto refused = fixed->step({vec({1, 2})});
  ASSERT_FALSE(static_cast<bool>(refused));
  std::string message = llvm::toString(refused.takeError());
  EXPECT_NE(message.find("batches of 2: cannot compile"), std::string::npos)
      << message;
  EXPECT_NE(message.find("error: cannot re-batch: operand #0 has 4 rows in "
                         "dimension 0, where the batch is, but is parameter "
                         "#0: a parameter cannot change with the batch"),
            std::string::npos)
      << message;
  // Nothing changed: the model's own batch still trains.
  EXPECT_TRUE(static_cast<bool>(fixed->step({vec({1, 2, 3, 4})})));
}

/// With checkNumerics the step names the first op that made an inf or NaN:
/// a NaN input poisons the forward product (the error of a diverged step
/// says so), and under fp16 with a scale that overflows, the skipped step
/// names the cast that overflowed first. Without it, the error says how to
/// find out.
TEST(TrainStepTest, CheckNumericsNamesTheFirstNonFiniteOp) {
  ampc::TrainOptions o;
  o.momentum = 0;
  o.lossScaling = "none";
  ampc::JitOptions jit;
  jit.precision.checkNumerics = true;
  auto trainer = ampc::Trainer::create(kLinear, "linear.mlir", jit, o);
  ASSERT_TRUE(static_cast<bool>(trainer))
      << llvm::toString(trainer.takeError());
  auto fine = (*trainer)->step({vec({1, 2, 3, 4})});
  ASSERT_TRUE(static_cast<bool>(fine));
  EXPECT_EQ(fine->firstNonFinite, "");
  auto poisoned = (*trainer)->step({vec({1, NAN, 3, 4})});
  ASSERT_FALSE(static_cast<bool>(poisoned));
  EXPECT_EQ(llvm::toString(poisoned.takeError()),
            "the loss is not finite (nan): training diverged at step 2; the "
            "first inf or NaN came from linalg.generic at linear.mlir:6:8");

  jit.precision.checkNumerics = false;
  auto unchecked = ampc::Trainer::create(kLinear, "linear.mlir", jit, o);
  ASSERT_TRUE(static_cast<bool>(unchecked));
  EXPECT_FALSE((*unchecked)->stepSignature().resultRoles.back() ==
               "nonfinite"); // nothing added: no cost
  auto diverged = (*unchecked)->step({vec({1, NAN, 3, 4})});
  ASSERT_FALSE(static_cast<bool>(diverged));
  EXPECT_NE(llvm::toString(diverged.takeError())
                .find("(--check-numerics finds the first op that made an inf "
                      "or NaN)"),
            std::string::npos);

  // The zoo MLP under fp16: its backward casts the scaled gradients to f16.
  jit.precision.checkNumerics = true;
  jit.precision.policy = ampc::amp::Policy::fp16;
  o.lossScaling = "dynamic";
  o.initScale = 1e30;
  auto scaled = ampc::Trainer::fromFile(
      std::string(AMPC_SOURCE_DIR) + "/examples/models/mlp.mlir", jit, o);
  ASSERT_TRUE(static_cast<bool>(scaled)) << llvm::toString(scaled.takeError());
  Tensor images(DType::F32, {128, 784}), labels(DType::F32, {128, 10});
  for (int64_t i = 0; i < 128 * 784; ++i)
    images.as<float>()[i] = float(i % 7) / 7;
  for (int64_t r = 0; r < 128; ++r)
    labels.as<float>()[r * 10 + r % 10] = 1;
  auto skipped = (*scaled)->step({images, labels});
  ASSERT_TRUE(static_cast<bool>(skipped));
  EXPECT_TRUE(skipped->skipped);
  EXPECT_EQ(skipped->firstNonFinite.rfind("amp.cast to f16", 0), 0u)
      << skipped->firstNonFinite;
}

/// The `totals:` line of `function` in a precision report: ops per compute
/// type and casts, e.g. {"bf16": 8, "f32": 20, "casts": 9}.
std::map<std::string, int> reportTotals(const std::string &report,
                                        const std::string &function) {
  std::map<std::string, int> totals;
  size_t at = report.find("precision report for @" + function + "\n");
  if (at == std::string::npos)
    return totals;
  size_t line = report.find("  totals:", at);
  std::istringstream words(
      report.substr(line + 9, report.find('\n', line) - line - 9));
  for (std::string word; words >> word;) {
    size_t eq = word.find('=');
    if (eq != std::string::npos && word.find('(') == std::string::npos)
      totals[word.substr(0, eq)] = std::atoi(word.c_str() + eq + 1);
  }
  return totals;
}

/// Precision overrides reach the training step the Trainer compiles (its
/// contractions are linalg.generic after autodiff): fp32-ops naming the
/// model's linalg.matmul, or an amp.precision written on each matmul, leave
/// no bf16 op and no cast in @train_step of the zoo MLP under bf16, as in
/// @forward.
TEST(TrainStepTest, PrecisionOverridesReachTheTrainingStep) {
  auto buffer = llvm::MemoryBuffer::getFile(std::string(AMPC_SOURCE_DIR) +
                                            "/examples/models/mlp.mlir");
  ASSERT_TRUE(static_cast<bool>(buffer));
  std::string model = (*buffer)->getBuffer().str();
  auto totalsFor = [&](const std::string &source,
                       std::vector<std::string> fp32Ops) {
    ampc::JitOptions jit;
    jit.precision.policy = ampc::amp::Policy::bf16;
    jit.precision.fp32Ops = std::move(fp32Ops);
    auto trainer =
        ampc::Trainer::create(source, "mlp.mlir", jit, ampc::TrainOptions());
    EXPECT_TRUE(static_cast<bool>(trainer))
        << llvm::toString(trainer.takeError());
    if (!trainer)
      return std::make_pair(std::map<std::string, int>(),
                            std::map<std::string, int>());
    const std::string &report = (*trainer)->precisionReport();
    return std::make_pair(reportTotals(report, "forward"),
                          reportTotals(report, "train_step"));
  };

  // The policy alone: the 2 forward matmuls and the step's 5 contractions
  // (2 forward, dW1, dW2, dH) in bf16, with their casts.
  auto [forward, step] = totalsFor(model, {});
  EXPECT_EQ(forward["bf16"], 2);
  EXPECT_GE(step["bf16"], 5);
  EXPECT_GT(step["casts"], 0);

  auto [forward32, step32] = totalsFor(model, {"linalg.matmul"});
  EXPECT_EQ(forward32.count("bf16"), 0u);
  EXPECT_EQ(step32.count("bf16"), 0u) << "bf16=" << step32["bf16"];
  EXPECT_EQ(step32["casts"], 0);

  // The same with the decision written on each matmul.
  std::string annotated = model;
  const std::string matmul = "linalg.matmul ins(";
  const std::string f32 = "linalg.matmul {amp.precision = "
                          "#amp.precision<compute = f32, accumulate = f32>} "
                          "ins(";
  int annotatedCount = 0;
  for (size_t at = annotated.find(matmul); at != std::string::npos;
       at = annotated.find(matmul, at + f32.size()), ++annotatedCount)
    annotated.replace(at, matmul.size(), f32);
  ASSERT_EQ(annotatedCount, 2);
  auto [forwardAttr, stepAttr] = totalsFor(annotated, {});
  EXPECT_EQ(forwardAttr.count("bf16"), 0u);
  EXPECT_EQ(stepAttr.count("bf16"), 0u) << "bf16=" << stepAttr["bf16"];
  EXPECT_EQ(stepAttr["casts"], 0);
}

} // namespace

namespace {

/// The zoo MLP with its training step (SGD, momentum 0.9, the learning rate
/// an input), as MLIR text.
std::string mlpWithTrainStep() {
  auto context = ampc::testing::makeJitContext();
  auto buffer = llvm::MemoryBuffer::getFile(std::string(AMPC_SOURCE_DIR) +
                                            "/examples/models/mlp.mlir");
  if (!buffer)
    return "";
  auto module = mlir::parseSourceString<mlir::ModuleOp>((*buffer)->getBuffer(),
                                                        context.get());
  mlir::PassManager pm(context.get());
  if (!module ||
      failed(mlir::parsePassPipeline(
          "amp-build-train-step{momentum=0.9 lr-input=true}", pm)) ||
      failed(pm.run(*module)))
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  return text;
}

} // namespace

/// With JitOptions::donateCarriedState the step computes every parameter
/// and momentum of the zoo MLP into its own buffer (the fused updates are
/// elementwise: a parallel loop nest for the large weights, a serial loop
/// for the small ones, both in place): called with one buffer as argument
/// and result for those, it gives bit for bit what the step with separate
/// buffers gives, step after step. A result still cannot share the buffer
/// of another argument, nor can one that is not donated (the loss).
TEST(TrainStepTest, DonatedStepMatchesSeparateBuffers) {
  std::string source = mlpWithTrainStep();
  ASSERT_FALSE(source.empty());
  ampc::JitOptions donating;
  donating.donateCarriedState = true;
  auto plain = ampc::JitModule::fromString(source);
  auto donated = ampc::JitModule::fromString(source, donating);
  ASSERT_TRUE(static_cast<bool>(plain)) << llvm::toString(plain.takeError());
  ASSERT_TRUE(static_cast<bool>(donated))
      << llvm::toString(donated.takeError());
  const ampc::FunctionSignature *step = (*donated)->lookup("train_step");
  EXPECT_TRUE((*plain)->lookup("train_step")->donated.empty());
  // The four parameters and their four momenta; not the loss, the
  // overflow flag or the gradient norm.
  EXPECT_EQ(step->donated, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));

  // Parameters, the initial state, the learning rate and a batch.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-0.1f, 0.1f);
  std::vector<Tensor> inputs;
  for (const ampc::ValueType &type : step->inputs) {
    Tensor t(type.dtype, type.shape);
    if (type.dtype == DType::F32)
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.as<float>()[i] = dist(rng);
    inputs.push_back(std::move(t));
  }
  std::string why;
  auto layout =
      ampc::amp::abi::StepLayout::get(step->inputRoles, step->resultRoles, why);
  ASSERT_TRUE(layout) << why;
  auto state = (*plain)->call("train_state_init", {});
  ASSERT_TRUE(static_cast<bool>(state));
  for (size_t i = 0; i < state->size(); ++i)
    inputs[layout->numParams + i] = (*state)[i];
  inputs[*layout->learningRate].as<float>()[0] = 0.05f;

  std::vector<ampc::TargetTensor> in, separate;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto target = (*donated)->allocate(step->inputs[i]);
    ASSERT_TRUE(static_cast<bool>(target));
    ASSERT_FALSE(static_cast<bool>(target->assign(inputs[i])));
    in.push_back(std::move(*target));
  }
  for (const ampc::ValueType &type : step->results)
    separate.push_back(std::move(*(*donated)->allocate(type)));
  for (int s = 0; s < 4; ++s) {
    auto reference = (*plain)->call("train_step", inputs);
    ASSERT_TRUE(static_cast<bool>(reference))
        << llvm::toString(reference.takeError());
    std::vector<const ampc::TargetTensor *> args;
    for (const ampc::TargetTensor &t : in)
      args.push_back(&t);
    std::vector<ampc::TargetTensor *> results;
    for (size_t r = 0; r < separate.size(); ++r)
      results.push_back(llvm::is_contained(step->donated, int64_t(r))
                            ? &in[r]
                            : &separate[r]);
    ASSERT_FALSE(static_cast<bool>(
        (*donated)->callInPlace("train_step", args, results)));
    for (size_t r = 0; r < layout->numCarried(); ++r) {
      if (!llvm::is_contained(step->donated, int64_t(r)))
        std::swap(in[r], separate[r]);
      Tensor got = in[r].toTensor();
      ASSERT_EQ(got.data, (*reference)[r].data) << "step " << s << " #" << r;
      inputs[r] = (*reference)[r];
    }
  }
  std::vector<const ampc::TargetTensor *> args;
  for (const ampc::TargetTensor &t : in)
    args.push_back(&t);
  auto refusal = [&](size_t result, size_t argument) {
    std::vector<ampc::TargetTensor *> results;
    for (ampc::TargetTensor &t : separate)
      results.push_back(&t);
    results[result] = &in[argument];
    return llvm::toString((*donated)->callInPlace("train_step", args, results));
  };
  // fc1.weight's result in the buffer of its momentum (same shape).
  EXPECT_EQ(refusal(0, 4), "output #0 of 'train_step' is also an argument");
  // The loss (result #8) in the learning rate's buffer (argument #8).
  EXPECT_EQ(refusal(8, 8), "output #8 of 'train_step' is also an argument");
}
