//===- WindowOpsTest.cpp - window ops on the CPU vs an index reference ----===//
//
// Ops that read through window maps but are not contractions — max pooling
// (overlapping windows too), its gradient as autodiff writes it (a padded
// output gradient read at h - kh + 1), an im2col gather, a scatter into
// overlapping windows — are vectorized
// along their channel loop by ampc-vectorize-generics. Each case is
// compiled through the JIT at every ISA level the host runs (and at 1 and 2
// threads where the loop nest is split across threads) and compared bit
// for bit with the op computed by index here, window positions summed in
// the op's order; channel counts that fill whole vectors, a prime, and one
// (which stays a scalar loop).
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <functional>
#include <limits>
#include <string>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

/// At least ampc-vectorize-generics' parallel-min-iterations.
constexpr int64_t kParallelIterations = 262144;

using Shape = std::vector<int64_t>;

std::string tensorType(const Shape &shape, const std::string &type = "f32") {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + type + ">";
}

int64_t elements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Small integers with repeats (ties in the maxima), exact in every sum.
Tensor valuesTensor(const Shape &shape, int64_t seed) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numElements(); ++i)
    ampc::testing::setF32OrBf16(t, i, float((i * 7 + seed) % 13) - 6);
  return t;
}

float at(const Tensor &t, const Shape &shape, std::vector<int64_t> index) {
  int64_t linear = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    linear = linear * shape[d] + index[d];
  return ampc::testing::f32OrBf16At(t, linear);
}

/// A window op: @f's source, its inputs, the result's shape, the number of
/// loop iterations, and the reference value of each result element (by its
/// index).
struct WindowCase {
  std::string name, source;
  std::vector<Tensor> inputs;
  Shape outShape;
  int64_t iterations = 0;
  std::function<float(const std::vector<int64_t> &)> reference;
};

constexpr const char *kPoolMaps =
    "#x = affine_map<(n, oh, ow, c, kh, kw) -> (n, oh * S + kh, ow * S + kw, "
    "c)>\n#w = affine_map<(n, oh, ow, c, kh, kw) -> (kh, kw)>\n#y = "
    "affine_map<(n, oh, ow, c, kh, kw) -> (n, oh, ow, c)>\n";

/// Max pooling of an N x H x W x C image, K x K windows, stride S.
WindowCase maxPool(Shape x, int64_t k, int64_t s) {
  Shape y = {x[0], (x[1] - k) / s + 1, (x[2] - k) / s + 1, x[3]};
  std::string maps = kPoolMaps;
  for (size_t at; (at = maps.find('S')) != std::string::npos;)
    maps.replace(at, 1, std::to_string(s));
  std::string window =
      "tensor<" + std::to_string(k) + "x" + std::to_string(k) + "xf32>";
  WindowCase c;
  c.name = "max pool " + tensorType(x) + " k" + std::to_string(k) + " s" +
           std::to_string(s);
  c.source =
      maps + "func.func @f(%x: " + tensorType(x) + ") -> " + tensorType(y) +
      " {\n  %ninf = arith.constant 0xFF800000 : f32\n" +
      "  %win = tensor.empty() : " + window +
      "\n  %e = tensor.empty() : " + tensorType(y) +
      "\n  %i = linalg.fill ins(%ninf : f32) outs(%e : " + tensorType(y) +
      ") -> " + tensorType(y) +
      "\n  %p = linalg.generic {indexing_maps = [#x, #w, #y], "
      "iterator_types = [\"parallel\", \"parallel\", \"parallel\", "
      "\"parallel\", \"reduction\", \"reduction\"]} ins(%x, %win : " +
      tensorType(x) + ", " + window + ") outs(%i : " + tensorType(y) +
      ") {\n  ^bb0(%a: f32, %b: f32, %o: f32):\n    %m = "
      "arith.maximumf %o, %a : f32\n    linalg.yield %m : f32\n  } -> " +
      tensorType(y) + "\n  return %p : " + tensorType(y) + "\n}\n";
  c.inputs.push_back(valuesTensor(x, 0));
  c.outShape = y;
  c.iterations = elements(y) * k * k;
  const Tensor &in = c.inputs[0];
  c.reference = [=](const std::vector<int64_t> &i) {
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t kh = 0; kh < k; ++kh)
      for (int64_t kw = 0; kw < k; ++kw)
        best = std::max(best,
                        at(in, x, {i[0], i[1] * s + kh, i[2] * s + kw, i[3]}));
    return best;
  };
  return c;
}

/// Max pooling whose channel also shifts with the window's column:
/// y[n, oh, ow, c] = max over 2 x 2 of x[n, 2oh + kh, 2ow + kw, c + kw]
/// (C channels out of C + 1): the channels are read from c + kw, a
/// different run of C for each kw.
WindowCase shiftedChannels(Shape x) {
  Shape y = {x[0], x[1] / 2, x[2] / 2, x[3] - 1};
  WindowCase c = maxPool(x, 2, 2);
  c.name = "max pool with channels at c + kw " + tensorType(x);
  c.outShape = y;
  c.iterations = elements(y) * 4;
  auto replace = [&](const std::string &from, const std::string &to) {
    for (size_t at; (at = c.source.find(from)) != std::string::npos;)
      c.source.replace(at, from.size(), to);
  };
  Shape pooled = {x[0], x[1] / 2, x[2] / 2, x[3]};
  replace(tensorType(pooled), tensorType(y));
  replace("ow * 2 + kw, c)>", "ow * 2 + kw, c + kw)>");
  const Tensor &in = c.inputs[0];
  c.reference = [=](const std::vector<int64_t> &i) {
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t kh = 0; kh < 2; ++kh)
      for (int64_t kw = 0; kw < 2; ++kw)
        best = std::max(
            best, at(in, x, {i[0], i[1] * 2 + kh, i[2] * 2 + kw, i[3] + kw}));
    return best;
  };
  return c;
}

/// The gradient of a 2 x 2 max pooling as autodiff writes it: dX[n, h, w, c]
/// sums, over the window, dY' at [n, h - kh + 1, w - kw + 1, c] where x
/// equals Y' there (Y' and dY' padded: (H + 1) x (W + 1)).
WindowCase maxPoolGradient(Shape x) {
  Shape padded = {x[0], x[1] + 1, x[2] + 1, x[3]};
  std::string xt = tensorType(x), pt = tensorType(padded);
  WindowCase c;
  c.name = "max pool gradient " + xt;
  c.source =
      "#x = affine_map<(n, h, w, c, kh, kw) -> (n, h, w, c)>\n#w = "
      "affine_map<(n, h, w, c, kh, kw) -> (kh, kw)>\n#p = affine_map<(n, h, "
      "w, c, kh, kw) -> (n, h - kh + 1, w - kw + 1, c)>\nfunc.func @f(%x: " +
      xt + ", %dy: " + pt + ", %y: " + pt + ") -> " + xt +
      " {\n  %zero = arith.constant 0.0 : f32\n  %win = tensor.empty() : "
      "tensor<2x2xf32>\n  %e = tensor.empty() : " +
      xt + "\n  %i = linalg.fill ins(%zero : f32) outs(%e : " + xt + ") -> " +
      xt +
      "\n  %g = linalg.generic {indexing_maps = [#x, #w, #p, #p, #x], "
      "iterator_types = [\"parallel\", \"parallel\", \"parallel\", "
      "\"parallel\", \"reduction\", \"reduction\"]} ins(%x, %win, %dy, %y : " +
      xt + ", tensor<2x2xf32>, " + pt + ", " + pt + ") outs(%i : " + xt +
      ") {\n  ^bb0(%a: f32, %b: f32, %d: f32, %m: f32, %o: f32):\n    %eq = "
      "arith.cmpf oeq, %a, %m : f32\n    %s = arith.select %eq, %d, %zero : "
      "f32\n    %r = arith.addf %o, %s : f32\n    linalg.yield %r : f32\n  } "
      "-> " +
      xt + "\n  return %g : " + xt + "\n}\n";
  c.inputs = {valuesTensor(x, 0), valuesTensor(padded, 3),
              valuesTensor(padded, 5)};
  c.outShape = x;
  c.iterations = elements(x) * 4;
  const std::vector<Tensor> ins = c.inputs;
  c.reference = [=](const std::vector<int64_t> &i) {
    float sum = 0;
    for (int64_t kh = 0; kh < 2; ++kh)
      for (int64_t kw = 0; kw < 2; ++kw) {
        std::vector<int64_t> p = {i[0], i[1] - kh + 1, i[2] - kw + 1, i[3]};
        float term = at(ins[0], x, i) == at(ins[2], padded, p)
                         ? at(ins[1], padded, p)
                         : 0.0f;
        sum = sum + term;
      }
    return sum;
  };
  return c;
}

/// The im2col gather of 3 x 3 patches: [n, h, w, kh, kw, c] = x[n, h + kh,
/// w + kw, c].
/// The output shape of a 3 x 3 im2col gather of image `x` (NHWC).
Shape im2colShape(const Shape &x) {
  return {x[0], x[1] - 2, x[2] - 2, 3, 3, x[3]};
}

/// A 3 x 3 im2col gather of image `x` of element `type`:
/// patches[n, h, w, kh, kw, c] = x[n, h + kh, w + kw, c].
std::string im2colSource(const Shape &x, const std::string &type) {
  std::string xt = tensorType(x, type), yt = tensorType(im2colShape(x), type);
  return "#x = affine_map<(n, h, w, kh, kw, c) -> (n, h + kh, w + kw, "
         "c)>\n#y = affine_map<(n, h, w, kh, kw, c) -> (n, h, w, kh, kw, "
         "c)>\nfunc.func @f(%x: " +
         xt + ") -> " + yt + " {\n  %e = tensor.empty() : " + yt +
         "\n  %g = linalg.generic {indexing_maps = [#x, #y], "
         "iterator_types = [\"parallel\", \"parallel\", \"parallel\", "
         "\"parallel\", \"parallel\", \"parallel\"]} ins(%x : " +
         xt + ") outs(%e : " + yt + ") {\n  ^bb0(%a: " + type +
         ", %o: " + type + "):\n    linalg.yield %a : " + type + "\n  } -> " +
         yt + "\n  return %g : " + yt + "\n}\n";
}

WindowCase im2col(Shape x) {
  Shape y = im2colShape(x);
  WindowCase c;
  c.name = "im2col " + tensorType(x);
  c.source = im2colSource(x, "f32");
  c.inputs.push_back(valuesTensor(x, 1));
  c.outShape = y;
  c.iterations = elements(y);
  const Tensor &in = c.inputs[0];
  c.reference = [=](const std::vector<int64_t> &i) {
    return at(in, x, {i[0], i[1] + i[3], i[2] + i[4], i[5]});
  };
  return c;
}

/// A scatter into overlapping windows: out[n, h + k, c] += x[n, h, c] over
/// k < 3, into zeros (the output is indexed by the reduction loop k, so no
/// window may keep its output slice across k).
WindowCase scatter(Shape x) {
  Shape y = {x[0], x[1] + 2, x[2]};
  std::string xt = tensorType(x), yt = tensorType(y);
  WindowCase c;
  c.name = "scatter " + xt;
  c.source =
      "#x = affine_map<(n, h, c, k) -> (n, h, c)>\n#k = affine_map<(n, h, "
      "c, k) -> (k)>\n#y = affine_map<(n, h, c, k) -> (n, h + k, "
      "c)>\nfunc.func @f(%x: " +
      xt + ") -> " + yt +
      " {\n  %zero = arith.constant 0.0 : f32\n  %win = tensor.empty() : "
      "tensor<3xf32>\n  %e = tensor.empty() : " +
      yt + "\n  %i = linalg.fill ins(%zero : f32) outs(%e : " + yt + ") -> " +
      yt +
      "\n  %g = linalg.generic {indexing_maps = [#x, #k, #y], "
      "iterator_types = [\"parallel\", \"parallel\", \"parallel\", "
      "\"reduction\"]} ins(%x, %win : " +
      xt + ", tensor<3xf32>) outs(%i : " + yt +
      ") {\n  ^bb0(%a: f32, %b: f32, %o: f32):\n    %r = arith.addf %o, %a : "
      "f32\n    linalg.yield %r : f32\n  } -> " +
      yt + "\n  return %g : " + yt + "\n}\n";
  c.inputs.push_back(valuesTensor(x, 2));
  c.outShape = y;
  c.iterations = elements(x) * 3;
  const Tensor &in = c.inputs[0];
  c.reference = [=](const std::vector<int64_t> &i) {
    // The op's order: h outer, k inner.
    float sum = 0;
    for (int64_t h = 0; h < x[1]; ++h)
      for (int64_t k = 0; k < 3; ++k)
        if (h + k == i[1])
          sum = sum + at(in, x, {i[0], h, i[2]});
    return sum;
  };
  return c;
}

void runCase(const WindowCase &c) {
  SCOPED_TRACE(c.name);
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    SCOPED_TRACE("features: '" + features + "'");
    std::vector<unsigned> threadCounts = {1};
    if (c.iterations >= kParallelIterations)
      threadCounts.push_back(2);
    for (unsigned threads : threadCounts) {
      auto out =
          ampc::testing::compileAndCallF(c.source, c.inputs, features, threads);
      ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
      const Tensor &result = out->front();
      ASSERT_EQ(result.numElements(), elements(c.outShape));
      int mismatches = 0;
      std::vector<int64_t> index(c.outShape.size(), 0);
      for (int64_t i = 0; i < result.numElements(); ++i) {
        for (int64_t d = int64_t(index.size()) - 1, rest = i; d >= 0; --d) {
          index[d] = rest % c.outShape[d];
          rest /= c.outShape[d];
        }
        float got = ampc::testing::f32OrBf16At(result, i);
        float want = c.reference(index);
        if (got != want && mismatches++ < 5)
          ADD_FAILURE() << "element " << i << " (threads " << threads
                        << "): " << got << ", expected " << want;
      }
      EXPECT_EQ(mismatches, 0);
    }
  }
}

TEST(WindowOpsTest, MaxPooling) {
  // 2x2 stride 2 over 8 channels (the zoo CNN's); overlapping 3x3 windows
  // at stride 1 over a prime channel count; 24 channels (tiles of 12); one
  // channel (a scalar loop); twice the CNN's batch, split across threads;
  // channels read from c + kw (vectors of 16 and 8 from a shifted start).
  for (const WindowCase &c :
       {maxPool({2, 6, 6, 8}, 2, 2), maxPool({3, 7, 7, 7}, 3, 1),
        maxPool({1, 9, 9, 24}, 3, 2), maxPool({2, 6, 6, 1}, 2, 2),
        maxPool({64, 26, 26, 8}, 2, 2), shiftedChannels({2, 6, 6, 17}),
        shiftedChannels({1, 4, 4, 9})})
    runCase(c);
}

TEST(WindowOpsTest, MaxPoolingGradient) {
  for (const WindowCase &c :
       {maxPoolGradient({2, 6, 6, 8}), maxPoolGradient({1, 5, 7, 13}),
        maxPoolGradient({32, 26, 26, 8})})
    runCase(c);
}

TEST(WindowOpsTest, ScatterIntoOverlappingWindows) {
  for (const WindowCase &c : {scatter({2, 6, 16}), scatter({4, 256, 96})})
    runCase(c);
}

TEST(WindowOpsTest, Im2col) {
  for (const WindowCase &c : {im2col({2, 7, 6, 3}), im2col({1, 6, 6, 16}),
                              im2col({2, 5, 5, 1}), im2col({16, 12, 12, 32})})
    runCase(c);
}

TEST(WindowOpsTest, Im2colAsShuffles) {
  // Blocks of patches gathered by one shuffle each from a run of image
  // rows: the zoo CNN's 1-channel 28 x 28 images (a row of 26 patches per
  // shuffle), twice its batch (split across threads), 2 channels (a row of
  // 7 patches, channels interleaved); and a row too wide for one shuffle
  // (38 patches: 3-tap vectors instead).
  for (const WindowCase &c : {im2col({32, 28, 28, 1}), im2col({64, 28, 28, 1}),
                              im2col({2, 9, 9, 2}), im2col({2, 40, 40, 1})})
    runCase(c);
}

/// The im2col gather of 16-bit floats, moved as shuffles of their bit
/// patterns: bf16 and f16 images of 3 channels (a 3 x 3 x 3 patch per
/// shuffle, 27 elements of a 177-element run of three image rows: a shuffle
/// of odd-length bf16 vectors, which LLVM's x86 back end cannot legalize
/// and aborted on), 2 channels and 1 channel. Every output element must be
/// the input's pattern at its window position, NaN payloads included.
TEST(WindowOpsTest, Im2colOfSixteenBitFloats) {
  for (auto [type, dtype] :
       {std::pair{"bf16", DType::BF16}, std::pair{"f16", DType::F16}}) {
    for (Shape x :
         {Shape{2, 28, 28, 3}, Shape{2, 9, 9, 2}, Shape{4, 28, 28, 1}}) {
      Shape y = im2colShape(x);
      std::string source = im2colSource(x, type);
      Tensor in(dtype, x);
      for (int64_t i = 0; i < in.numElements(); ++i)
        in.as<uint16_t>()[i] = uint16_t((uint64_t(i) * 2654435761u) >> 13);
      for (const std::string &features : ampc::testing::hostIsaLevels()) {
        SCOPED_TRACE(tensorType(x, type) + ", features: '" + features + "'");
        auto out = ampc::testing::compileAndCallF(source, {in}, features, 1);
        ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
        const Tensor &result = out->front();
        ASSERT_EQ(result.numElements(), elements(y));
        int mismatches = 0;
        for (int64_t i = 0; i < result.numElements(); ++i) {
          std::vector<int64_t> o(y.size());
          for (int64_t d = int64_t(y.size()) - 1, rest = i; d >= 0; --d) {
            o[d] = rest % y[d];
            rest /= y[d];
          }
          int64_t from =
              ((o[0] * x[1] + o[1] + o[3]) * x[2] + o[2] + o[4]) * x[3] + o[5];
          uint16_t got = result.as<uint16_t>()[i],
                   want = in.as<uint16_t>()[from];
          if (got != want && mismatches++ < 5)
            ADD_FAILURE() << "element " << i << ": 0x" << std::hex << got
                          << ", expected 0x" << want;
        }
        EXPECT_EQ(mismatches, 0);
      }
    }
  }
}

} // namespace
