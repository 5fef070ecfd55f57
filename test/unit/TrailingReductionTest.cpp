//===- TrailingReductionTest.cpp - bias gradients vs a reference ----------===//
//
// Reductions over the leading loops into the trailing ones (a bias
// gradient: every position summed per channel) are read as rows of 64
// partial sums (ampc-vectorize-generics); an elementwise op over the same
// loops is computed in the same loop nest, either a sibling reading the same
// tensors (the f16 cast of a ReLU's gradient next to the bias gradient that
// computes that gradient again) or the producer of the summed tensor (the
// ReLU's gradient itself, which other ops read too). Each shape is compiled
// through the JIT at every ISA level the host runs, at one and two threads,
// and both results of both pairs are checked against values computed here:
// bit for bit (the inputs are chosen so that every sum is exact).
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

using ampc::testing::f32TensorType;

/// The maps and iterators of an op over `rank` loops: `all` reads every
/// loop in order, `lane` the last one; the trailing loop is the only parallel
/// one where `reduce` is set.
struct Loops {
  std::string all, lane, none, reduced, parallel, allReduced;
};

Loops loops(size_t rank) {
  std::string dims, reduced, parallel, allReduced;
  for (size_t d = 0; d < rank; ++d) {
    std::string sep = d ? ", " : "";
    dims += sep + "d" + std::to_string(d);
    reduced += sep + (d + 1 < rank ? "\"reduction\"" : "\"parallel\"");
    parallel += sep + "\"parallel\"";
    allReduced += sep + "\"reduction\"";
  }
  std::string map = "affine_map<(" + dims + ") -> ";
  return {map + "(" + dims + ")>",
          map + "(d" + std::to_string(rank - 1) + ")>",
          map + "()>",
          reduced,
          parallel,
          allReduced};
}

/// @f(dy, pre, b, x, half) -> (sum of relu'(pre + b) dy, (relu'(pre + b) dy
/// - pre) * half, x * x, sum of x * x, max of x * x): the first two are
/// siblings (the same inputs, and a scalar), the next two a producer and the
/// sum of its result, which the maximum reads between them (as an fp8
/// step's amax does) before the sum's init is defined.
std::string source(const std::vector<int64_t> &shape) {
  Loops l = loops(shape.size());
  const std::string &scalar = l.none, &none = l.none;
  std::string t = f32TensorType(shape);
  std::string c = "tensor<" + std::to_string(shape.back()) + "xf32>";
  std::string reluGrad = "    %z = arith.addf %p, %bias : f32\n"
                         "    %on = arith.cmpf ogt, %z, %zero : f32\n"
                         "    %d = arith.select %on, %g, %zero : f32\n";
  return "func.func @f(%dy: " + t + ", %pre: " + t + ", %b: " + c +
         ", %x: " + t + ", %half: tensor<f32>) -> (" + c + ", " + t + ", " + t +
         ", " + c +
         ", tensor<f32>) {\n"
         "  %zero = arith.constant 0.0 : f32\n"
         "  %ec = tensor.empty() : " +
         c +
         "\n"
         "  %init = linalg.fill ins(%zero : f32) outs(%ec : " +
         c + ") -> " + c +
         "\n"
         "  %r1 = linalg.generic {indexing_maps = [" +
         l.all + ", " + l.all + ", " + l.lane + ", " + l.lane +
         "], iterator_types = [" + l.reduced + "]} ins(%dy, %pre, %b : " + t +
         ", " + t + ", " + c + ") outs(%init : " + c +
         ") {\n"
         "  ^bb0(%g: f32, %p: f32, %bias: f32, %o: f32):\n" +
         reluGrad +
         "    %s = arith.addf %o, %d : f32\n"
         "    linalg.yield %s : f32\n  } -> " +
         c + "\n  %e = tensor.empty() : " + t +
         "\n"
         "  %p1 = linalg.generic {indexing_maps = [" +
         l.all + ", " + l.all + ", " + l.lane + ", " + scalar + ", " + l.all +
         "], iterator_types = [" + l.parallel +
         "]} ins(%dy, %pre, %b, %half : " + t + ", " + t + ", " + c +
         ", tensor<f32>) outs(%e : " + t +
         ") {\n"
         "  ^bb0(%g: f32, %p: f32, %bias: f32, %sc: f32, %o: f32):\n" +
         reluGrad +
         "    %m = arith.subf %d, %p : f32\n"
         "    %h = arith.mulf %m, %sc : f32\n"
         "    linalg.yield %h : f32\n  } -> " +
         t +
         "\n"
         "  %p2 = linalg.generic {indexing_maps = [" +
         l.all + ", " + l.all + ", " + l.all + "], iterator_types = [" +
         l.parallel + "]} ins(%x, %x : " + t + ", " + t + ") outs(%e : " + t +
         ") {\n"
         "  ^bb0(%g: f32, %p: f32, %o: f32):\n"
         "    %m = arith.mulf %g, %p : f32\n"
         "    linalg.yield %m : f32\n  } -> " +
         t +
         "\n  %ninf = arith.constant 0xFF800000 : f32\n"
         "  %e0 = tensor.empty() : tensor<f32>\n"
         "  %m0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<f32>) -> "
         "tensor<f32>\n"
         "  %mx = linalg.generic {indexing_maps = [" +
         l.all + ", " + none + "], iterator_types = [" + l.allReduced +
         "]} ins(%p2 : " + t +
         ") outs(%m0 : tensor<f32>) {\n"
         "  ^bb0(%g: f32, %o: f32):\n"
         "    %s = arith.maximumf %o, %g : f32\n"
         "    linalg.yield %s : f32\n  } -> tensor<f32>\n"
         "  %init2 = linalg.fill ins(%zero : f32) outs(%ec : " +
         c + ") -> " + c + "\n  %r2 = linalg.generic {indexing_maps = [" +
         l.all + ", " + l.lane + "], iterator_types = [" + l.reduced +
         "]} ins(%p2 : " + t + ") outs(%init2 : " + c +
         ") {\n"
         "  ^bb0(%g: f32, %o: f32):\n"
         "    %s = arith.addf %o, %g : f32\n"
         "    linalg.yield %s : f32\n  } -> " +
         c + "\n  return %r1, %p1, %p2, %r2, %mx : " + c + ", " + t + ", " + t +
         ", " + c + ", tensor<f32>\n}\n";
}

/// Multiples of 1/16 in (-1, 1) from a fixed sequence: every sum and
/// product below is exact in f32 (squares are multiples of 2^-8, and no sum
/// reaches 2^15), so any grouping of the sums gives the same bits.
Tensor values(const std::vector<int64_t> &shape, uint32_t seed) {
  Tensor t(DType::F32, shape);
  uint32_t state = seed;
  for (int64_t i = 0; i < t.numElements(); ++i) {
    state = state * 1664525u + 1013904223u;
    t.as<float>()[i] = float(int32_t(state >> 8) % 16) / 16.0f;
  }
  return t;
}

/// The four results computed here (the sums in double, exact).
struct Expected {
  std::vector<double> reluSum, productSum;
  std::vector<float> shifted, product;
  float productMax = -INFINITY;
};

Expected reference(const Tensor &dy, const Tensor &pre, const Tensor &b,
                   const Tensor &x) {
  int64_t lanes = b.numElements(), n = dy.numElements();
  Expected e;
  e.reluSum.assign(lanes, 0.0);
  e.productSum = e.reluSum;
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = i % lanes;
    float g = dy.as<float>()[i], p = pre.as<float>()[i];
    float d = p + b.as<float>()[c] > 0.0f ? g : 0.0f;
    float product = x.as<float>()[i] * x.as<float>()[i];
    e.reluSum[c] += d;
    e.productSum[c] += product;
    e.shifted.push_back((d - p) * 0.5f);
    e.product.push_back(product);
    e.productMax = std::max(e.productMax, product);
  }
  return e;
}

void checkShape(const std::vector<int64_t> &shape) {
  Tensor dy = values(shape, 12345), pre = values(shape, 777);
  Tensor b = values({shape.back()}, 99), x = values(shape, 4242);
  Tensor half(DType::F32, {});
  half.as<float>()[0] = 0.5f;
  Expected e = reference(dy, pre, b, x);
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    for (unsigned threads : {1u, 2u}) {
      SCOPED_TRACE("features: '" + features + "', " + std::to_string(threads) +
                   " threads, " + f32TensorType(shape));
      ampc::JitOptions options;
      options.threads = threads;
      options.cpuFeatures = features;
      auto module = ampc::JitModule::fromString(source(shape), options);
      ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
      auto out = (*module)->call("f", {dy, pre, b, x, half});
      ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
      ASSERT_EQ(out->size(), 5u);
      EXPECT_EQ((*out)[4].as<float>()[0], e.productMax) << "maximum";
      for (int64_t c = 0; c < b.numElements(); ++c) {
        EXPECT_EQ((*out)[0].as<float>()[c], e.reluSum[c])
            << "bias gradient, channel " << c;
        EXPECT_EQ((*out)[3].as<float>()[c], e.productSum[c])
            << "sum of the product, channel " << c;
      }
      for (int64_t i = 0; i < dy.numElements(); ++i) {
        ASSERT_EQ((*out)[1].as<float>()[i], e.shifted[i]) << "element " << i;
        ASSERT_EQ((*out)[2].as<float>()[i], e.product[i]) << "element " << i;
      }
    }
  }
}

TEST(TrailingReductionTest, SumsAndTheirElementwiseOpsInRows) {
  // The zoo CNN's 8-channel activation, a small one, 32 lanes (two
  // positions a row).
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{32, 26, 26, 8}, {4, 6, 6, 8}, {16, 4, 32}})
    checkShape(shape);
}

TEST(TrailingReductionTest, ShapesNotInRows) {
  // 25 positions of 8 lanes (not a multiple of the 8 a row holds), 42 of 16,
  // 10 lanes (not a divisor of 64), 64 lanes (a whole row).
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{5, 5, 8}, {2, 3, 7, 16}, {6, 6, 10}, {3, 64}})
    checkShape(shape);
}

} // namespace
