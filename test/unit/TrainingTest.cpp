//===- TrainingTest.cpp - the zoo MLP learns Fashion-MNIST ----------------===//
//
// A short training run through the whole stack: amp-build-train-step on the
// zoo MLP (SGD momentum 0.9, lr 0.05, torch semantics; dynamic loss scaling
// under fp16), the precision pipeline under a policy, the CPU back end, and
// the Trainer on real Fashion-MNIST images. One epoch (468 steps of batch 128) must reach
// well above chance (10 %) on 1024 test images under every policy.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/Trainer.h"

#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

const char *kData = "/usr/share/datasets/fashion-mnist/";
constexpr int64_t kSteps = 468; // one epoch of 60000 images in batches of 128

/// Batch `index` of 128 normalised images and their one-hot labels.
void makeBatch(const Tensor &images, const Tensor &labels, int64_t index,
               Tensor &x, Tensor &onehot, std::vector<int> &classes) {
  const int64_t pixels = 784;
  x = Tensor(DType::F32, {128, pixels});
  onehot = Tensor(DType::F32, {128, 10});
  classes.assign(128, 0);
  for (int64_t r = 0; r < 128; ++r) {
    int64_t image = index * 128 + r;
    for (int64_t p = 0; p < pixels; ++p)
      x.as<float>()[r * pixels + p] =
          (images.as<uint8_t>()[image * pixels + p] / 255.0f - 0.2860f) /
          0.3530f;
    classes[r] = labels.as<uint8_t>()[image];
    onehot.as<float>()[r * 10 + classes[r]] = 1;
  }
}

void trainAndEvaluate(const char *policy) {
  auto trainImages = ampc_rt::readIdx(std::string(kData) + "train-images-idx3-ubyte.gz");
  auto trainLabels = ampc_rt::readIdx(std::string(kData) + "train-labels-idx1-ubyte.gz");
  auto testImages = ampc_rt::readIdx(std::string(kData) + "t10k-images-idx3-ubyte.gz");
  auto testLabels = ampc_rt::readIdx(std::string(kData) + "t10k-labels-idx1-ubyte.gz");
  if (!trainImages || !trainLabels || !testImages || !testLabels)
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install "
                    "dataset-fashion-mnist): "
                 << (!trainImages ? trainImages.message() : "");
  ASSERT_EQ(trainImages->shape, (std::vector<int64_t>{60000, 28, 28}));

  auto buffer = llvm::MemoryBuffer::getFile(std::string(AMPC_SOURCE_DIR) +
                                            "/examples/models/mlp.mlir");
  ASSERT_TRUE(static_cast<bool>(buffer));
  ampc::JitOptions jit;
  jit.precision.policy = ampc::testing::policyNamed(policy);
  auto trainer = ampc::Trainer::create((*buffer)->getBuffer(), "mlp.mlir",
                                       jit, ampc::TrainOptions());
  ASSERT_TRUE(static_cast<bool>(trainer)) << llvm::toString(trainer.takeError());

  Tensor x, onehot;
  std::vector<int> classes;
  double firstLoss = 0, lastLoss = 0;
  int skipped = 0;
  for (int64_t step = 0; step < kSteps; ++step) {
    makeBatch(*trainImages, *trainLabels, step, x, onehot, classes);
    auto result = (*trainer)->step({x, onehot});
    ASSERT_TRUE(static_cast<bool>(result))
        << "step " << step << ": " << llvm::toString(result.takeError());
    skipped += result->skipped;
    (step == 0 ? firstLoss : lastLoss) = result->loss;
  }
  // GradScaler starts at 2^16: the first steps may overflow in fp16 and be
  // skipped, a handful at most; the other policies never skip.
  if (std::string(policy) == "fp16")
    EXPECT_LE(skipped, 10);
  else
    EXPECT_EQ(skipped, 0);
  EXPECT_LT(lastLoss, firstLoss * 0.5) << policy;

  int correct = 0;
  for (int64_t batch = 0; batch < 8; ++batch) {
    makeBatch(*testImages, *testLabels, batch, x, onehot, classes);
    auto out = (*trainer)->evaluate({x, onehot});
    ASSERT_TRUE(static_cast<bool>(out));
    const float *logits = (*out)[1].as<float>();
    for (int r = 0; r < 128; ++r) {
      int best = 0;
      for (int c = 1; c < 10; ++c)
        if (logits[r * 10 + c] > logits[r * 10 + best])
          best = c;
      correct += best == classes[r];
    }
  }
  double accuracy = correct / 1024.0;
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
