//===- TrainingTest.cpp - the zoo MLP learns Fashion-MNIST ----------------===//
//
// A short training run through the whole stack: amp-build-train-step on the
// zoo MLP (SGD momentum 0.9, lr 0.05, torch semantics; dynamic loss scaling
// under fp16), the precision pipeline under a policy, the CPU back end, and
// the Trainer and the training library (ampc/Train) on real Fashion-MNIST
// images. One epoch (468 steps of batch 128) must reach well above chance
// (10 %) on 1024 test images under every policy.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/Trainer.h"
#include "ampc/Train/TrainLoop.h"

#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

const char *kData = "/usr/share/datasets/fashion-mnist";

void trainAndEvaluate(const char *policy) {
  auto train = ampc::train::loadSplit(kData, "train");
  auto test = ampc::train::loadSplit(kData, "test");
  if (!train || !test)
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install "
                    "dataset-fashion-mnist): "
                 << llvm::toString(!train ? train.takeError()
                                          : test.takeError());
  ASSERT_EQ(train->samples.shape, (std::vector<int64_t>{60000, 28, 28}));

  auto buffer = llvm::MemoryBuffer::getFile(std::string(AMPC_SOURCE_DIR) +
                                            "/examples/models/mlp.mlir");
  ASSERT_TRUE(static_cast<bool>(buffer));
  ampc::JitOptions jit;
  jit.precision.policy = ampc::testing::policyNamed(policy);
  auto trainer = ampc::Trainer::create((*buffer)->getBuffer(), "mlp.mlir",
                                       jit, ampc::TrainOptions());
  ASSERT_TRUE(static_cast<bool>(trainer)) << llvm::toString(trainer.takeError());

  // One epoch (468 steps of batch 128), evaluated on 1024 test images.
  ampc::train::LoopOptions loop;
  loop.testLimit = 1024;
  auto run = ampc::train::runTraining(**trainer, *train, *test, loop);
  ASSERT_TRUE(static_cast<bool>(run)) << llvm::toString(run.takeError());
  ASSERT_EQ(run->steps, 468);
  ASSERT_EQ(run->losses.size(), 468u);
  double firstLoss = run->losses.front(), lastLoss = run->losses.back();
  // GradScaler starts at 2^16: the first steps may overflow in fp16 and be
  // skipped, a handful at most; the other policies never skip.
  if (std::string(policy) == "fp16")
    EXPECT_LE(run->skipped, 10);
  else
    EXPECT_EQ(run->skipped, 0);
  EXPECT_LT(lastLoss, firstLoss * 0.5) << policy;

  double accuracy = run->accuracy / 100;
  ::testing::Test::RecordProperty(std::string("accuracy_") + policy,
                                  std::to_string(accuracy));
  std::printf("[ training ] %s: loss %.3f -> %.3f, test accuracy %.1f %%\n",
              policy, firstLoss, lastLoss, 100 * accuracy);
  EXPECT_GT(accuracy, 0.80) << policy;
}

TEST(TrainingTest, MlpLearnsFashionMnistInFp32) { trainAndEvaluate("fp32"); }
TEST(TrainingTest, MlpLearnsFashionMnistInBf16) { trainAndEvaluate("bf16"); }
TEST(TrainingTest, MlpLearnsFashionMnistInFp16) { trainAndEvaluate("fp16"); }
TEST(TrainingTest, MlpLearnsFashionMnistInFp8) { trainAndEvaluate("fp8"); }

} // namespace

namespace {

/// The zoo transformer block (layer norm, attention with softmax, GELU,
/// residuals, MSE) fits a fixed batch with Adam under every policy: the
/// whole backward pass (decomposed softmax, normalisation, tanh-GELU)
/// compiles and points downhill in every precision.
void transformerFitsABatch(const char *policy) {
  auto buffer = llvm::MemoryBuffer::getFile(
      std::string(AMPC_SOURCE_DIR) + "/examples/models/transformer_block.mlir");
  ASSERT_TRUE(static_cast<bool>(buffer));
  ampc::JitOptions jit;
  jit.precision.policy = ampc::testing::policyNamed(policy);
  ampc::TrainOptions options;
  options.optimizer = "adam";
  options.momentum = 0;
  options.learningRate = 0.01;
  auto trainer = ampc::Trainer::create((*buffer)->getBuffer(),
                                       "transformer_block.mlir", jit, options);
  ASSERT_TRUE(static_cast<bool>(trainer)) << llvm::toString(trainer.takeError());
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  Tensor input(DType::F32, {2, 8, 16}), target(DType::F32, {2, 8, 16});
  for (int64_t i = 0; i < input.numElements(); ++i) {
    input.as<float>()[i] = normal(rng);
    target.as<float>()[i] = 0.5f * std::tanh(input.as<float>()[i]);
  }
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    auto result = (*trainer)->step({input, target});
    ASSERT_TRUE(static_cast<bool>(result))
        << policy << " step " << step << ": "
        << llvm::toString(result.takeError());
    (step == 0 ? first : last) = result->loss;
  }
  std::printf("[ transformer ] %s: loss %.6f -> %.6f\n", policy, first, last);
  EXPECT_LT(last, 0.5f * first) << policy;
}

TEST(TrainingTest, TransformerFitsABatchInFp32) { transformerFitsABatch("fp32"); }
TEST(TrainingTest, TransformerFitsABatchInBf16) { transformerFitsABatch("bf16"); }
TEST(TrainingTest, TransformerFitsABatchInFp16) { transformerFitsABatch("fp16"); }
TEST(TrainingTest, TransformerFitsABatchInFp8) { transformerFitsABatch("fp8"); }

} // namespace
