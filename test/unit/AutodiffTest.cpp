//===- AutodiffTest.cpp - gradients against central finite differences ----===//
//
// Differentiates f64 models with ampc-autodiff, runs the gradient functions
// through the JIT and compares every parameter's gradient with central finite
// differences of the forward function, in f64.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"


#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <string>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

using ampc::testing::differentiate;

Tensor random(std::vector<int64_t> shape, std::mt19937 &rng, double lo = -1,
              double hi = 1) {
  Tensor t(DType::F64, std::move(shape));
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.as<double>()[i] = dist(rng);
  return t;
}

/// Checks the gradient of every parameter (the first `numParams` inputs)
/// against central differences of @forward.
void checkGradients(const std::string &source, std::vector<Tensor> inputs,
                    size_t numParams) {
  std::string error;
  std::string differentiated = differentiate(source, error);
  ASSERT_FALSE(differentiated.empty()) << error;
  auto module = ampc::JitModule::fromString(differentiated);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  auto grads = (*module)->call("forward_grad", inputs);
  ASSERT_TRUE(static_cast<bool>(grads)) << llvm::toString(grads.takeError());
  ASSERT_EQ(grads->size(), numParams + 1);

  auto loss = [&](const std::vector<Tensor> &in) {
    auto out = (*module)->call("forward", in);
    EXPECT_TRUE(static_cast<bool>(out));
    return out ? (*out)[0].as<double>()[0] : NAN;
  };
  EXPECT_NEAR((*grads)[0].as<double>()[0], loss(inputs), 1e-12);
  const double h = 1e-5;
  for (size_t p = 0; p < numParams; ++p) {
    int failures = 0;
    for (int64_t i = 0; i < inputs[p].numElements(); ++i) {
      std::vector<Tensor> plus = inputs, minus = inputs;
      plus[p].as<double>()[i] += h;
      minus[p].as<double>()[i] -= h;
      double numeric = (loss(plus) - loss(minus)) / (2 * h);
      double analytic = (*grads)[p + 1].as<double>()[i];
      if (std::fabs(numeric - analytic) > 1e-6 * std::max(1.0, std::fabs(numeric)) &&
          ++failures <= 3)
        ADD_FAILURE() << "parameter " << p << " element " << i << ": autodiff "
                      << analytic << ", finite differences " << numeric;
    }
    EXPECT_EQ(failures, 0) << "parameter " << p;
  }
}

TEST(AutodiffTest, ScalarRulesInAnElementwiseBody) {
  // Every rule of the scalar table on the way to a sum.
  const char *source = R"mlir(
#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
func.func @forward(%w: tensor<6xf64> {amp.param}, %x: tensor<6xf64>) -> tensor<f64> {
  %zero = arith.constant 0.0 : f64
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<6xf64>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %x : tensor<6xf64>, tensor<6xf64>) outs(%e : tensor<6xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %m = arith.mulf %a, %b : f64
    %t = math.tanh %m : f64
    %ex = math.exp %a : f64
    %sq = arith.mulf %a, %a : f64
    %d = arith.addf %sq, %one : f64
    %q = arith.divf %ex, %d : f64
    %l = math.log %d : f64
    %r = math.rsqrt %d : f64
    %s = math.sqrt %d : f64
    %relu = arith.maximumf %m, %zero : f64
    %ab = math.absf %m : f64
    %s1 = arith.subf %t, %q : f64
    %s2 = arith.mulf %s1, %l : f64
    %s3 = arith.addf %s2, %r : f64
    %s4 = arith.addf %s3, %relu : f64
    %s5 = arith.addf %s4, %s : f64
    %s6 = arith.subf %s5, %ab : f64
    %n = arith.negf %s6 : f64
    linalg.yield %n : f64
  } -> tensor<6xf64>
  %e0 = tensor.empty() : tensor<f64>
  %f0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<f64>) -> tensor<f64>
  %sum = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction"]}
      ins(%y : tensor<6xf64>) outs(%f0 : tensor<f64>) {
  ^bb0(%a: f64, %acc: f64):
    %r = arith.addf %a, %acc : f64
    linalg.yield %r : f64
  } -> tensor<f64>
  return %sum : tensor<f64>
}
)mlir";
  std::mt19937 rng(3);
  checkGradients(source, {random({6}, rng), random({6}, rng, 0.5, 1.5)}, 1);
}

TEST(AutodiffTest, MlpWithSoftmaxCrossEntropy) {
  // The zoo MLP's structure in f64: matmul, broadcast bias, ReLU, a max
  // reduction, exp/log, sum reductions, a full reduction and a scale.
  const char *source = R"mlir(
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#all = affine_map<(d0, d1) -> ()>
func.func @forward(%w1: tensor<6x5xf64> {amp.param}, %b1: tensor<5xf64> {amp.param},
                   %w2: tensor<5x3xf64> {amp.param}, %b2: tensor<3xf64> {amp.param},
                   %x: tensor<4x6xf64>, %onehot: tensor<4x3xf64>) -> tensor<f64> {
  %zero = arith.constant 0.0 : f64
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %scale = arith.constant -0.25 : f64
  %e1 = tensor.empty() : tensor<4x5xf64>
  %z1 = linalg.fill ins(%zero : f64) outs(%e1 : tensor<4x5xf64>) -> tensor<4x5xf64>
  %mm1 = linalg.matmul ins(%x, %w1 : tensor<4x6xf64>, tensor<6x5xf64>) outs(%z1 : tensor<4x5xf64>) -> tensor<4x5xf64>
  %h = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm1, %b1 : tensor<4x5xf64>, tensor<5xf64>) outs(%e1 : tensor<4x5xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %s = arith.addf %a, %b : f64
    %r = arith.maximumf %s, %zero : f64
    linalg.yield %r : f64
  } -> tensor<4x5xf64>
  %e2 = tensor.empty() : tensor<4x3xf64>
  %z2 = linalg.fill ins(%zero : f64) outs(%e2 : tensor<4x3xf64>) -> tensor<4x3xf64>
  %mm2 = linalg.matmul ins(%h, %w2 : tensor<4x5xf64>, tensor<5x3xf64>) outs(%z2 : tensor<4x3xf64>) -> tensor<4x3xf64>
  %logits = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm2, %b2 : tensor<4x3xf64>, tensor<3xf64>) outs(%e2 : tensor<4x3xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %s = arith.addf %a, %b : f64
    linalg.yield %s : f64
  } -> tensor<4x3xf64>
  %er = tensor.empty() : tensor<4xf64>
  %mf = linalg.fill ins(%ninf : f64) outs(%er : tensor<4xf64>) -> tensor<4xf64>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<4x3xf64>) outs(%mf : tensor<4xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %m = arith.maximumf %a, %acc : f64
    linalg.yield %m : f64
  } -> tensor<4xf64>
  %shifted = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%logits, %max : tensor<4x3xf64>, tensor<4xf64>) outs(%e2 : tensor<4x3xf64>) {
  ^bb0(%a: f64, %m: f64, %o: f64):
    %d = arith.subf %a, %m : f64
    linalg.yield %d : f64
  } -> tensor<4x3xf64>
  %zf = linalg.fill ins(%zero : f64) outs(%er : tensor<4xf64>) -> tensor<4xf64>
  %sumexp = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%shifted : tensor<4x3xf64>) outs(%zf : tensor<4xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %ex = math.exp %a : f64
    %s = arith.addf %ex, %acc : f64
    linalg.yield %s : f64
  } -> tensor<4xf64>
  %logp = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%shifted, %sumexp : tensor<4x3xf64>, tensor<4xf64>) outs(%e2 : tensor<4x3xf64>) {
  ^bb0(%a: f64, %s: f64, %o: f64):
    %l = math.log %s : f64
    %d = arith.subf %a, %l : f64
    linalg.yield %d : f64
  } -> tensor<4x3xf64>
  %e0 = tensor.empty() : tensor<f64>
  %t0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<f64>) -> tensor<f64>
  %total = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%onehot, %logp : tensor<4x3xf64>, tensor<4x3xf64>) outs(%t0 : tensor<f64>) {
  ^bb0(%t: f64, %lp: f64, %acc: f64):
    %p = arith.mulf %t, %lp : f64
    %s = arith.addf %p, %acc : f64
    linalg.yield %s : f64
  } -> tensor<f64>
  %loss = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%total : tensor<f64>) outs(%e0 : tensor<f64>) {
  ^bb0(%a: f64, %o: f64):
    %l = arith.mulf %a, %scale : f64
    linalg.yield %l : f64
  } -> tensor<f64>
  return %loss : tensor<f64>
}
)mlir";
  std::mt19937 rng(9);
  Tensor onehot(DType::F64, {4, 3});
  for (int i = 0; i < 4; ++i)
    onehot.as<double>()[i * 3 + i % 3] = 1;
  checkGradients(source,
                 {random({6, 5}, rng), random({5}, rng), random({5, 3}, rng),
                  random({3}, rng), random({4, 6}, rng), onehot},
                 4);
}

TEST(AutodiffTest, ReshapesAndTransposes) {
  const char *source = R"mlir(
#id = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>
func.func @forward(%w: tensor<6xf64> {amp.param}, %unused: tensor<2xf64> {amp.param}) -> tensor<f64> {
  %zero = arith.constant 0.0 : f64
  %m = tensor.expand_shape %w [[0, 1]] output_shape [2, 3] : tensor<6xf64> into tensor<2x3xf64>
  %et = tensor.empty() : tensor<3x2xf64>
  %t = linalg.transpose ins(%m : tensor<2x3xf64>) outs(%et : tensor<3x2xf64>) permutation = [1, 0]
  %e0 = tensor.empty() : tensor<f64>
  %f0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<f64>) -> tensor<f64>
  %c = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf64>
  %s = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%t, %c : tensor<3x2xf64>, tensor<3x2xf64>) outs(%f0 : tensor<f64>) {
  ^bb0(%a: f64, %b: f64, %acc: f64):
    %p = arith.mulf %a, %a : f64
    %q = arith.mulf %p, %b : f64
    %r = arith.addf %q, %acc : f64
    linalg.yield %r : f64
  } -> tensor<f64>
  return %s : tensor<f64>
}
)mlir";
  std::mt19937 rng(4);
  checkGradients(source, {random({6}, rng), random({2}, rng)}, 2);
}

TEST(AutodiffTest, UnsupportedOpsAreNamed) {
  std::string error;
  const char *source = R"mlir(
func.func @forward(%w: tensor<4xf64> {amp.param}) -> tensor<f64> {
  %e = tensor.empty() : tensor<f64>
  %r = linalg.reduce ins(%w : tensor<4xf64>) outs(%e : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) {
      %s = math.sin %a : f64
      %t = arith.addf %s, %b : f64
      linalg.yield %t : f64
    }
  return %r : tensor<f64>
}
)mlir";
  EXPECT_TRUE(differentiate(source, error).empty());
  EXPECT_NE(error.find("'math.sin' op has no derivative rule"),
            std::string::npos)
      << error;
  EXPECT_TRUE(differentiate("func.func @other() { return }", error).empty());
  EXPECT_NE(error.find("no function @forward"), std::string::npos) << error;
}

} // namespace
