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
      if (std::fabs(numeric - analytic) >
              1e-6 * std::max(1.0, std::fabs(numeric)) &&
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
    %l1 = math.log1p %d : f64
    %e1 = math.expm1 %m : f64
    %pw = math.powf %d, %a : f64
    %p1 = arith.addf %n, %l1 : f64
    %p2 = arith.addf %p1, %e1 : f64
    %p3 = arith.addf %p2, %pw : f64
    linalg.yield %p3 : f64
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

/// `body` computes %y of type `yType` from the arguments; the loss is
/// sum(%y * %r) with %r a fixed random tensor (the last argument), so every
/// element of %y gets a different adjoint.
std::string withWeightedSum(const std::string &args, const std::string &body,
                            const std::string &yType, int rank) {
  std::string dims, id;
  for (int i = 0; i < rank; ++i) {
    dims += (i ? ", d" : "d") + std::to_string(i);
  }
  std::string map = "affine_map<(" + dims + ") -> (" + dims + ")>";
  std::string all = "affine_map<(" + dims + ") -> ()>";
  std::string iterators;
  for (int i = 0; i < rank; ++i)
    iterators += std::string(i ? ", " : "") + "\"reduction\"";
  return "func.func @forward(" + args + ", %r: " + yType +
         ") -> tensor<f64> {\n  %zero = arith.constant 0.0 : f64\n" + body +
         "  %e0 = tensor.empty() : tensor<f64>\n"
         "  %f0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<f64>) -> "
         "tensor<f64>\n"
         "  %l = linalg.generic {indexing_maps = [" +
         map + ", " + map + ", " + all + "], iterator_types = [" + iterators +
         "]} ins(%y, %r : " + yType + ", " + yType +
         ") outs(%f0 : tensor<f64>) {\n"
         "  ^bb0(%ws_y: f64, %ws_r: f64, %ws_acc: f64):\n"
         "    %ws_p = arith.mulf %ws_y, %ws_r : f64\n"
         "    %ws_s = arith.addf %ws_p, %ws_acc : f64\n"
         "    linalg.yield %ws_s : f64\n"
         "  } -> tensor<f64>\n  return %l : tensor<f64>\n}\n";
}

TEST(AutodiffTest, ConvolutionWithStrideInputAndFilter) {
  // Input gradient: a transposed convolution (stride 2 leaves gaps and an
  // uncovered last row/column); filter gradient: a correlation.
  std::string source = withWeightedSum(
      "%x: tensor<2x8x7x2xf64> {amp.param}, %w: tensor<3x3x2x3xf64> "
      "{amp.param}",
      "  %e = tensor.empty() : tensor<2x3x3x3xf64>\n"
      "  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<2x3x3x3xf64>) -> "
      "tensor<2x3x3x3xf64>\n"
      "  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : "
      "tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %w : "
      "tensor<2x8x7x2xf64>, tensor<3x3x2x3xf64>) outs(%z : "
      "tensor<2x3x3x3xf64>) -> tensor<2x3x3x3xf64>\n",
      "tensor<2x3x3x3xf64>", 4);
  std::mt19937 rng(11);
  checkGradients(source,
                 {random({2, 8, 7, 2}, rng), random({3, 3, 2, 3}, rng),
                  random({2, 3, 3, 3}, rng)},
                 2);
}

TEST(AutodiffTest, ConvolutionWithDilation) {
  std::string source = withWeightedSum(
      "%x: tensor<1x7x6x2xf64> {amp.param}, %w: tensor<2x2x2x2xf64> "
      "{amp.param}",
      "  %e = tensor.empty() : tensor<1x5x4x2xf64>\n"
      "  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<1x5x4x2xf64>) -> "
      "tensor<1x5x4x2xf64>\n"
      "  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<2> : "
      "tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : "
      "tensor<1x7x6x2xf64>, tensor<2x2x2x2xf64>) outs(%z : "
      "tensor<1x5x4x2xf64>) -> tensor<1x5x4x2xf64>\n",
      "tensor<1x5x4x2xf64>", 4);
  std::mt19937 rng(12);
  checkGradients(source,
                 {random({1, 7, 6, 2}, rng), random({2, 2, 2, 2}, rng),
                  random({1, 5, 4, 2}, rng)},
                 2);
}

TEST(AutodiffTest, MaxPoolingOverlappingAndAveragePooling) {
  // Max pooling 2x2, stride 1 (overlapping windows: an element can be the
  // maximum of several), then 2x2 average pooling with stride 2.
  std::string source = withWeightedSum(
      "%x: tensor<2x5x5x3xf64> {amp.param}",
      "  %ninf = arith.constant 0xFFF0000000000000 : f64\n"
      "  %quarter = arith.constant 0.25 : f64\n"
      "  %win = tensor.empty() : tensor<2x2xf64>\n"
      "  %e1 = tensor.empty() : tensor<2x4x4x3xf64>\n"
      "  %m1 = linalg.fill ins(%ninf : f64) outs(%e1 : tensor<2x4x4x3xf64>) -> "
      "tensor<2x4x4x3xf64>\n"
      "  %p1 = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, "
      "strides = dense<1> : tensor<2xi64>} ins(%x, %win : "
      "tensor<2x5x5x3xf64>, tensor<2x2xf64>) outs(%m1 : tensor<2x4x4x3xf64>) "
      "-> tensor<2x4x4x3xf64>\n"
      "  %e2 = tensor.empty() : tensor<2x2x2x3xf64>\n"
      "  %z2 = linalg.fill ins(%zero : f64) outs(%e2 : tensor<2x2x2x3xf64>) -> "
      "tensor<2x2x2x3xf64>\n"
      "  %p2 = linalg.pooling_nhwc_sum {dilations = dense<1> : tensor<2xi64>, "
      "strides = dense<2> : tensor<2xi64>} ins(%p1, %win : "
      "tensor<2x4x4x3xf64>, tensor<2x2xf64>) outs(%z2 : tensor<2x2x2x3xf64>) "
      "-> tensor<2x2x2x3xf64>\n"
      "  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, "
      "b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = "
      "[\"parallel\", \"parallel\", \"parallel\", \"parallel\"]} ins(%p2 : "
      "tensor<2x2x2x3xf64>) outs(%e2 : tensor<2x2x2x3xf64>) {\n"
      "  ^bb0(%a: f64, %o: f64):\n"
      "    %q = arith.mulf %a, %quarter : f64\n"
      "    linalg.yield %q : f64\n"
      "  } -> tensor<2x2x2x3xf64>\n",
      "tensor<2x2x2x3xf64>", 4);
  std::mt19937 rng(13);
  checkGradients(source, {random({2, 5, 5, 3}, rng), random({2, 2, 2, 3}, rng)},
                 1);
}

/// `y = op(x)` for a pooling op `op` over %x with a window of `window`,
/// strides `strides` and the result type `yType`; `init` fills the result.
std::string pooling(const std::string &op, const std::string &xType,
                    const std::string &window, const std::string &strides,
                    const std::string &yType, const std::string &init) {
  return withWeightedSum(
      "%x: " + xType + " {amp.param}",
      "  %ninf = arith.constant 0xFFF0000000000000 : f64\n"
      "  %win = tensor.empty() : " +
          window +
          "\n"
          "  %e = tensor.empty() : " +
          yType +
          "\n"
          "  %i = linalg.fill ins(" +
          init + " : f64) outs(%e : " + yType + ") -> " + yType +
          "\n"
          "  %y = linalg." +
          op +
          " {dilations = dense<1> : tensor<2xi64>, "
          "strides = dense<" +
          strides + "> : tensor<2xi64>} ins(%x, %win : " + xType + ", " +
          window + ") outs(%i : " + yType + ") -> " + yType + "\n",
      yType, 4);
}

TEST(AutodiffTest, PoolingOverDisjointWindows) {
  // Windows that do not overlap (stride = window size): each element's
  // gradient where it stands. 2x2 max pooling with stride 2 over a 5x7
  // image (its last row and column are in no window: gradient 0), 3x1 sum
  // pooling with strides [3, 1] over 7 rows (the last one uncovered).
  std::mt19937 rng(21);
  checkGradients(pooling("pooling_nhwc_max", "tensor<2x5x7x3xf64>",
                         "tensor<2x2xf64>", "2", "tensor<2x2x3x3xf64>",
                         "%ninf"),
                 {random({2, 5, 7, 3}, rng), random({2, 2, 3, 3}, rng)}, 1);
  checkGradients(pooling("pooling_nhwc_sum", "tensor<2x7x4x3xf64>",
                         "tensor<3x1xf64>", "[3, 1]", "tensor<2x2x4x3xf64>",
                         "%zero"),
                 {random({2, 7, 4, 3}, rng), random({2, 2, 4, 3}, rng)}, 1);
  // Disjoint along one dimension only (strides [2, 1] of a 2x2 window):
  // the transposed form.
  checkGradients(pooling("pooling_nhwc_max", "tensor<1x4x5x2xf64>",
                         "tensor<2x2xf64>", "[2, 1]", "tensor<1x2x4x2xf64>",
                         "%ninf"),
                 {random({1, 4, 5, 2}, rng), random({1, 2, 4, 2}, rng)}, 1);
}

TEST(AutodiffTest, SoftmaxLayerNormAndGelu) {
  // linalg.softmax (decomposed), a layer norm written as generics, and the
  // exact GELU x * (1 + erf(x / sqrt 2)) / 2.
  std::string source =
      withWeightedSum("%x: tensor<3x5xf64> {amp.param}",
                      R"(  %e = tensor.empty() : tensor<3x5xf64>
  %sm = linalg.softmax dimension(1) ins(%x : tensor<3x5xf64>) outs(%e : tensor<3x5xf64>) -> tensor<3x5xf64>
  %er = tensor.empty() : tensor<3xf64>
  %zr = linalg.fill ins(%zero : f64) outs(%er : tensor<3xf64>) -> tensor<3xf64>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x5xf64>) outs(%zr : tensor<3xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %s = arith.addf %a, %acc : f64
    linalg.yield %s : f64
  } -> tensor<3xf64>
  %centered = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<3x5xf64>, tensor<3xf64>) outs(%e : tensor<3x5xf64>) {
  ^bb0(%a: f64, %s: f64, %o: f64):
    %n = arith.constant 0.2 : f64
    %mean = arith.mulf %s, %n : f64
    %d = arith.subf %a, %mean : f64
    linalg.yield %d : f64
  } -> tensor<3x5xf64>
  %var = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%centered : tensor<3x5xf64>) outs(%zr : tensor<3xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %sq = arith.mulf %a, %a : f64
    %s = arith.addf %sq, %acc : f64
    linalg.yield %s : f64
  } -> tensor<3xf64>
  %ln = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%centered, %var : tensor<3x5xf64>, tensor<3xf64>) outs(%e : tensor<3x5xf64>) {
  ^bb0(%a: f64, %v: f64, %o: f64):
    %n = arith.constant 0.2 : f64
    %eps = arith.constant 1.0e-5 : f64
    %m = arith.mulf %v, %n : f64
    %ve = arith.addf %m, %eps : f64
    %rs = math.rsqrt %ve : f64
    %d = arith.mulf %a, %rs : f64
    linalg.yield %d : f64
  } -> tensor<3x5xf64>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%ln, %sm : tensor<3x5xf64>, tensor<3x5xf64>) outs(%e : tensor<3x5xf64>) {
  ^bb0(%a: f64, %p: f64, %o: f64):
    %half = arith.constant 0.5 : f64
    %one = arith.constant 1.0 : f64
    %isqrt2 = arith.constant 0.70710678118654752 : f64
    %u = arith.mulf %a, %isqrt2 : f64
    %erf = math.erf %u : f64
    %g1 = arith.addf %erf, %one : f64
    %g2 = arith.mulf %a, %g1 : f64
    %gelu = arith.mulf %g2, %half : f64
    %w = arith.addf %gelu, %p : f64
    linalg.yield %w : f64
  } -> tensor<3x5xf64>
)",
                      "tensor<3x5xf64>", 2);
  std::mt19937 rng(14);
  checkGradients(source, {random({3, 5}, rng, -2, 2), random({3, 5}, rng)}, 1);
}

TEST(AutodiffTest, SlicesConcatPadBroadcastAndReduce) {
  std::string source = withWeightedSum(
      "%a: tensor<4x6xf64> {amp.param}, %b: tensor<2x6xf64> {amp.param}, "
      "%c: tensor<6xf64> {amp.param}",
      R"(  %pi = arith.constant 1.5 : f64
  %s = tensor.extract_slice %a[1, 0] [2, 6] [2, 1] : tensor<4x6xf64> to tensor<2x6xf64>
  %cat = tensor.concat dim(0) %s, %b : (tensor<2x6xf64>, tensor<2x6xf64>) -> tensor<4x6xf64>
  %bs = tensor.extract_slice %b[0, 1] [2, 3] [1, 2] : tensor<2x6xf64> to tensor<2x3xf64>
  %ins = tensor.insert_slice %bs into %cat[1, 2] [2, 3] [1, 1] : tensor<2x3xf64> into tensor<4x6xf64>
  %p = tensor.pad %ins low[1, 0] high[0, 2] {
  ^bb0(%i: index, %j: index):
    tensor.yield %pi : f64
  } : tensor<4x6xf64> to tensor<5x8xf64>
  %eb = tensor.empty() : tensor<5x6xf64>
  %bc = linalg.broadcast ins(%c : tensor<6xf64>) outs(%eb : tensor<5x6xf64>) dimensions = [0]
  %er = tensor.empty() : tensor<5xf64>
  %zr = linalg.fill ins(%zero : f64) outs(%er : tensor<5xf64>) -> tensor<5xf64>
  %red = linalg.reduce ins(%bc : tensor<5x6xf64>) outs(%zr : tensor<5xf64>) dimensions = [1]
    (%x: f64, %acc: f64) {
      %sq = arith.mulf %x, %x : f64
      %t = arith.addf %sq, %acc : f64
      linalg.yield %t : f64
    }
  %e = tensor.empty() : tensor<5x8xf64>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%p, %red : tensor<5x8xf64>, tensor<5xf64>) outs(%e : tensor<5x8xf64>) {
  ^bb0(%x: f64, %r2: f64, %o: f64):
    %m = arith.mulf %x, %x : f64
    %t = arith.addf %m, %r2 : f64
    linalg.yield %t : f64
  } -> tensor<5x8xf64>
)",
      "tensor<5x8xf64>", 2);
  std::mt19937 rng(15);
  checkGradients(source,
                 {random({4, 6}, rng), random({2, 6}, rng), random({6}, rng),
                  random({5, 8}, rng)},
                 3);
}

TEST(AutodiffTest, TransposedMatmulAndBatchMatmul) {
  // linalg.matmul with a transposed right operand (B[n, k]) and
  // linalg.batch_matmul, both generalized into contractions.
  std::string source = withWeightedSum(
      "%a: tensor<2x3x4xf64> {amp.param}, %b: tensor<2x4x5xf64> {amp.param}, "
      "%w: tensor<6x5xf64> {amp.param}",
      R"(  %e = tensor.empty() : tensor<2x3x5xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<2x3x5xf64>) -> tensor<2x3x5xf64>
  %bm = linalg.batch_matmul ins(%a, %b : tensor<2x3x4xf64>, tensor<2x4x5xf64>) outs(%z : tensor<2x3x5xf64>) -> tensor<2x3x5xf64>
  %flat = tensor.collapse_shape %bm [[0, 1], [2]] : tensor<2x3x5xf64> into tensor<6x5xf64>
  %e2 = tensor.empty() : tensor<6x6xf64>
  %z2 = linalg.fill ins(%zero : f64) outs(%e2 : tensor<6x6xf64>) -> tensor<6x6xf64>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%flat, %w : tensor<6x5xf64>, tensor<6x5xf64>) outs(%z2 : tensor<6x6xf64>) -> tensor<6x6xf64>
)",
      "tensor<6x6xf64>", 2);
  std::mt19937 rng(16);
  checkGradients(source,
                 {random({2, 3, 4}, rng), random({2, 4, 5}, rng),
                  random({6, 5}, rng), random({6, 6}, rng)},
                 3);
}

TEST(AutodiffTest, ColumnMaxOfATransposedMatmul) {
  // loss = sum(max over rows of |x^T w^T|)^2 / 38. The adjoint of the
  // squares accumulates into a zero-filled [19] init and is read by the max's
  // 2-D adjoint through a broadcast: ampc-fuse-elementwise fused the two and
  // the gradient came out 14 times too large (found by fuzz/ir_fuzzer).
  std::string source = R"(
func.func @forward(%w: tensor<19x8xf64> {amp.param}, %x: tensor<8x14xf64>) -> tensor<f64> {
  %zero = arith.constant 0.0 : f64
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %e = tensor.empty() : tensor<14x19xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<14x19xf64>) -> tensor<14x19xf64>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<8x14xf64>, tensor<19x8xf64>) outs(%z : tensor<14x19xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %p = arith.mulf %a, %b : f64
    %s = arith.addf %o, %p : f64
    linalg.yield %s : f64
  } -> tensor<14x19xf64>
  %abs = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<14x19xf64>) outs(%e : tensor<14x19xf64>) {
  ^bb0(%a: f64, %o: f64):
    %r = math.absf %a : f64
    linalg.yield %r : f64
  } -> tensor<14x19xf64>
  %em = tensor.empty() : tensor<19xf64>
  %lo = linalg.fill ins(%ninf : f64) outs(%em : tensor<19xf64>) -> tensor<19xf64>
  %max = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>], iterator_types = ["reduction", "parallel"]}
      ins(%abs : tensor<14x19xf64>) outs(%lo : tensor<19xf64>) {
  ^bb0(%a: f64, %o: f64):
    %r = arith.maximumf %o, %a : f64
    linalg.yield %r : f64
  } -> tensor<19xf64>
  %el = tensor.empty() : tensor<f64>
  %l0 = linalg.fill ins(%zero : f64) outs(%el : tensor<f64>) -> tensor<f64>
  %loss = linalg.generic {indexing_maps = [affine_map<(j) -> (j)>, affine_map<(j) -> ()>], iterator_types = ["reduction"]}
      ins(%max : tensor<19xf64>) outs(%l0 : tensor<f64>) {
  ^bb0(%a: f64, %o: f64):
    %c = arith.constant 0.02631578947368421 : f64
    %sq = arith.mulf %a, %a : f64
    %t = arith.mulf %sq, %c : f64
    %r = arith.addf %o, %t : f64
    linalg.yield %r : f64
  } -> tensor<f64>
  return %loss : tensor<f64>
}
)";
  std::mt19937 rng(21);
  checkGradients(source, {random({19, 8}, rng), random({8, 14}, rng)}, 1);
}

TEST(AutodiffTest, ScalarCodeBetweenOpsAndAScalarLoss) {
  // Scalars taken out of tensors, combined by arith/math outside payloads,
  // put back into tensors.
  const char *source = R"mlir(
func.func @forward(%w: tensor<3xf64> {amp.param}, %x: tensor<3xf64>) -> tensor<f64> {
  %zero = arith.constant 0.0 : f64
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %e = tensor.empty() : tensor<3xf64>
  %p = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%w, %x : tensor<3xf64>, tensor<3xf64>) outs(%e : tensor<3xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %m = arith.mulf %a, %b : f64
    linalg.yield %m : f64
  } -> tensor<3xf64>
  %first = tensor.extract %p[%c0] : tensor<3xf64>
  %last = tensor.extract %w[%c2] : tensor<3xf64>
  %sq = arith.mulf %first, %first : f64
  %ex = math.exp %last : f64
  %q = arith.divf %sq, %ex : f64
  %t = tensor.from_elements %q, %last : tensor<2xf64>
  %e0 = tensor.empty() : tensor<f64>
  %f0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<f64>) -> tensor<f64>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%t : tensor<2xf64>) outs(%f0 : tensor<f64>) {
  ^bb0(%a: f64, %acc: f64):
    %r = arith.mulf %a, %a : f64
    %u = arith.addf %r, %acc : f64
    linalg.yield %u : f64
  } -> tensor<f64>
  %loss = tensor.extract %s[] : tensor<f64>
  %tanh = math.tanh %loss : f64
  %result = tensor.from_elements %tanh : tensor<f64>
  return %result : tensor<f64>
}
)mlir";
  std::mt19937 rng(17);
  checkGradients(source, {random({3}, rng, -0.8, 0.8), random({3}, rng)}, 1);
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
