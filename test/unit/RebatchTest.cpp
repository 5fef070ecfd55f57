//===- RebatchTest.cpp - zoo models re-batched from their fixed batch -----===//
//
// A model re-batched to half its batch (ampc-specialize-batch on a model
// written for a fixed batch) must compute what the model as written computes
// on a batch made of two copies of the half batch: the same mean loss, and
// each copy's rows of the per-sample output. The reference is the model as
// written, compiled without re-batching.
//
//===----------------------------------------------------------------------===//

#include "ampc/JIT/JIT.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace {

using ampc_rt::DType;
using ampc_rt::Tensor;

Tensor randomTensor(const std::vector<int64_t> &shape, std::mt19937 &rng,
                    float lo, float hi) {
  Tensor t(DType::F32, shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0, e = t.numElements(); i < e; ++i)
    t.as<float>()[i] = dist(rng);
  return t;
}

/// `half` stacked on itself along the batch dimension.
Tensor twice(const Tensor &half) {
  std::vector<int64_t> shape = half.shape;
  shape[0] *= 2;
  Tensor t(DType::F32, shape);
  size_t bytes = half.data.size();
  std::memcpy(t.data.data(), half.data.data(), bytes);
  std::memcpy(t.data.data() + bytes, half.data.data(), bytes);
  return t;
}

class RebatchZoo : public ::testing::TestWithParam<const char *> {};

TEST_P(RebatchZoo, HalfBatchComputesWhatTheModelDoesOnTwoCopies) {
  std::string path =
      std::string(AMPC_SOURCE_DIR) + "/examples/models/" + GetParam();
  auto written = ampc::JitModule::fromFile(path);
  ASSERT_TRUE(static_cast<bool>(written))
      << llvm::toString(written.takeError());
  const ampc::FunctionSignature *signature = (*written)->lookup("forward");
  ASSERT_NE(signature, nullptr);
  // The zoo's models take their parameters first, then two batch inputs.
  size_t numParams = signature->inputs.size() - 2;
  int64_t batch = signature->inputs.back().shape[0];
  ASSERT_EQ(batch % 2, 0);
  ampc::JitOptions options;
  options.batch = batch / 2;
  auto rebatched = ampc::JitModule::fromFile(path, options);
  ASSERT_TRUE(static_cast<bool>(rebatched))
      << llvm::toString(rebatched.takeError());
  const ampc::FunctionSignature *half = (*rebatched)->lookup("forward");
  ASSERT_EQ(half->inputs.back().shape[0], batch / 2);
  ASSERT_EQ(half->results[1].shape[0] * 2, signature->results[1].shape[0]);

  std::mt19937 rng(7);
  std::vector<Tensor> smallInputs, fullInputs;
  for (size_t i = 0; i < signature->inputs.size(); ++i) {
    if (i < numParams) {
      smallInputs.push_back(
          randomTensor(signature->inputs[i].shape, rng, -0.3f, 0.3f));
      fullInputs.push_back(smallInputs.back());
    } else {
      smallInputs.push_back(
          randomTensor(half->inputs[i].shape, rng, 0.0f, 1.0f));
      fullInputs.push_back(twice(smallInputs.back()));
    }
  }
  auto small = (*rebatched)->call("forward", smallInputs);
  auto full = (*written)->call("forward", fullInputs);
  ASSERT_TRUE(static_cast<bool>(small)) << llvm::toString(small.takeError());
  ASSERT_TRUE(static_cast<bool>(full)) << llvm::toString(full.takeError());
  float loss = (*full)[0].as<float>()[0];
  EXPECT_NEAR((*small)[0].as<float>()[0], loss, 1e-5 * (1 + std::fabs(loss)));
  const Tensor &rows = (*small)[1];
  int64_t n = rows.numElements();
  for (int64_t copy = 0; copy < 2; ++copy)
    for (int64_t i = 0; i < n; ++i) {
      float expected = (*full)[1].as<float>()[copy * n + i];
      ASSERT_NEAR(rows.as<float>()[i], expected,
                  1e-5 * (1 + std::fabs(expected)))
          << GetParam() << " copy " << copy << " element " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Zoo, RebatchZoo,
                         ::testing::Values("mlp.mlir", "cnn.mlir",
                                           "transformer_block.mlir",
                                           "mlp_big.mlir"));

} // namespace
