//===- FullReductionTest.cpp - reductions to a scalar vs a reference ------===//
//
// Reductions of a whole tensor to a scalar (an fp8 amax, a gradient norm's
// sum of squares) are folded into rows of 64 partial results where the
// tensor is one contiguous run (ampc-vectorize-generics), or split along
// their innermost loops otherwise. Each shape is compiled once through the
// JIT at every ISA level the host runs and called with the largest
// magnitude planted at many positions (first and last element, every row
// boundary of the fold, a stride through the rest), and with a NaN, against
// the maximum taken here; the sum of squares against a double-precision sum;
// the overflow check with an inf, -inf or NaN at each of those positions.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <string>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

using ampc::testing::f32TensorType;

/// @f(x) -> (max |x|, sum x^2, any |x| >= inf): three full reductions over
/// every loop of x (the last is a loss-scaled step's overflow check: an `or`
/// of i1, true for an inf or a NaN). x's dimension j is read by loop
/// read[j]: in loop order where `read` is empty.
std::string source(const std::vector<int64_t> &shape,
                   const std::vector<unsigned> &read = {}) {
  std::string dims, reads, iters;
  for (size_t d = 0; d < shape.size(); ++d) {
    dims += (d ? ", d" : "d") + std::to_string(d);
    reads += (d ? ", d" : "d") + std::to_string(read.empty() ? d : read[d]);
    iters += std::string(d ? ", " : "") + "\"reduction\"";
  }
  std::string in = f32TensorType(shape);
  std::string maps = "indexing_maps = [affine_map<(" + dims + ") -> (" + reads +
                     ")>, affine_map<(" + dims +
                     ") -> ()>], iterator_types = [" + iters + "]";
  auto reduction = [&](const std::string &name, const std::string &init,
                       const std::string &body) {
    return "  %" + name + "0 = linalg.fill ins(%" + init +
           " : f32) outs(%e : tensor<f32>) -> tensor<f32>\n  %" + name +
           " = linalg.generic {" + maps + "} ins(%x : " + in + ") outs(%" +
           name + "0 : tensor<f32>) {\n  ^bb0(%a: f32, %o: f32):\n" + body +
           "  } -> tensor<f32>\n";
  };
  std::string overflow =
      "  %no = arith.constant false\n"
      "  %eb = tensor.empty() : tensor<i1>\n"
      "  %any0 = linalg.fill ins(%no : i1) outs(%eb : tensor<i1>) -> "
      "tensor<i1>\n"
      "  %any = linalg.generic {" +
      maps + "} ins(%x : " + in +
      ") outs(%any0 : tensor<i1>) {\n  ^bb0(%a: f32, %o: i1):\n"
      "    %m = math.absf %a : f32\n"
      "    %c = arith.cmpf uge, %m, %inf : f32\n"
      "    %r = arith.ori %c, %o : i1\n"
      "    linalg.yield %r : i1\n  } -> tensor<i1>\n";
  return "func.func @f(%x: " + in +
         ") -> (tensor<f32>, tensor<f32>, tensor<i1>) {\n"
         "  %ninf = arith.constant 0xFF800000 : f32\n"
         "  %inf = arith.constant 0x7F800000 : f32\n"
         "  %zero = arith.constant 0.0 : f32\n"
         "  %e = tensor.empty() : tensor<f32>\n" +
         reduction("amax", "ninf",
                   "    %m = math.absf %a : f32\n    %r = arith.maximumf %m, "
                   "%o : f32\n    linalg.yield %r : f32\n") +
         reduction("ss", "zero",
                   "    %q = arith.mulf %a, %a : f32\n    %r = arith.addf %q, "
                   "%o : f32\n    linalg.yield %r : f32\n") +
         overflow +
         "  return %amax, %ss, %any : tensor<f32>, tensor<f32>, tensor<i1>\n"
         "}\n";
}

/// Values in [-1, 1) from a fixed sequence.
Tensor smallValues(const std::vector<int64_t> &shape) {
  Tensor t(DType::F32, shape);
  uint32_t state = 12345;
  for (int64_t i = 0; i < t.numElements(); ++i) {
    state = state * 1664525u + 1013904223u;
    t.as<float>()[i] = float(int32_t(state >> 8) % 4096) / 4096.0f;
  }
  return t;
}

/// Positions to plant the largest magnitude at: the ends, both sides of
/// every 64-element row boundary in the first rows, and a stride through
/// the rest.
std::vector<int64_t> positions(int64_t n) {
  std::vector<int64_t> at = {0, n - 1};
  for (int64_t row = 64; row < std::min<int64_t>(n, 64 * 6); row += 64)
    at.insert(at.end(), {row - 1, row});
  for (int64_t i = 1; i < n; i += std::max<int64_t>(1, n / 37))
    at.push_back(i);
  return at;
}

void checkShape(const std::vector<int64_t> &shape,
                const std::vector<unsigned> &read = {}) {
  Tensor x = smallValues(shape);
  int64_t n = x.numElements();
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    SCOPED_TRACE("features: '" + features + "'");
    ampc::JitOptions options;
    options.threads = 1;
    options.cpuFeatures = features;
    auto module = ampc::JitModule::fromString(source(shape, read), options);
    ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
    double squares = 0;
    for (int64_t i = 0; i < n; ++i)
      squares += double(x.as<float>()[i]) * x.as<float>()[i];
    auto out = (*module)->call("f", {x});
    ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
    EXPECT_NEAR((*out)[1].as<float>()[0], squares, 1e-6 * double(n))
        << "sum of squares over " << n;
    EXPECT_EQ((*out)[2].as<uint8_t>()[0], 0) << "no overflow in " << n;
    for (int64_t at : positions(n)) {
      for (float planted : {-7.5f, 3.25f}) {
        Tensor y = x;
        y.as<float>()[at] = planted;
        auto result = (*module)->call("f", {y});
        ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
        EXPECT_EQ((*result)[0].as<float>()[0], std::fabs(planted))
            << "largest magnitude " << planted << " at " << at << " of " << n;
        EXPECT_EQ((*result)[2].as<uint8_t>()[0], 0);
      }
      float inf = std::numeric_limits<float>::infinity();
      for (float overflow :
           {-inf, inf, std::numeric_limits<float>::quiet_NaN()}) {
        Tensor y = x;
        y.as<float>()[at] = overflow;
        auto result = (*module)->call("f", {y});
        ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
        EXPECT_EQ((*result)[2].as<uint8_t>()[0], 1)
            << overflow << " at " << at << " of " << n;
      }
    }
    Tensor nan = x;
    nan.as<float>()[n / 2 + 1] = std::numeric_limits<float>::quiet_NaN();
    auto result = (*module)->call("f", {nan});
    ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
    EXPECT_TRUE(std::isnan((*result)[0].as<float>()[0]))
        << "a NaN reaches the amax (arith.maximumf)";
  }
}

TEST(FullReductionTest, ContiguousTensorsFoldIntoRows) {
  // An 8-channel activation (the zoo CNN's, and a small one), a matrix whose
  // rows are narrower than a vector, a 1024-step history.
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{32, 26, 26, 8}, {4, 6, 6, 8}, {64, 4}, {1024}})
    checkShape(shape);
}

TEST(FullReductionTest, OtherSizesSplitAlongTheirLoops) {
  // Not a multiple of 64: split along the innermost loops, or not at all.
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{5, 7, 3}, {48, 20}, {96}, {3, 1, 37}})
    checkShape(shape);
}

TEST(FullReductionTest, PermutedReadsFoldInMemoryOrder) {
  // A convolution weight's gradient computed as [O, kh, kw, I] and read as
  // the parameter's [O, I, kh, kw] (its loops are interchanged to memory
  // order, then folded into rows), a transposed matrix, and a permuted
  // tensor too small to fold.
  checkShape({8, 3, 3, 16}, {0, 2, 3, 1});
  checkShape({16, 64}, {1, 0});
  checkShape({5, 7, 3}, {2, 0, 1});
}

} // namespace
