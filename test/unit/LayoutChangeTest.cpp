//===- LayoutChangeTest.cpp - transposes on the CPU vs an index reference -===//
//
// Layout changes (a training step's NCHW <-> NHWC copies, a filter's
// [F, C, kh, kw] <-> [F, kh, kw, C], a weight's [kh, kw, C, F] <-> [F, C,
// kh, kw], plain matrix transposes) are vectorized as whole-vector reads
// transposed in registers. Each case is compiled through the JIT at every
// ISA level the host runs (and at 1 and 2 threads where the copy is split
// across threads), and compared bit for bit
// with the permutation applied by index here: ragged and prime sizes, unit
// dimensions, 16-bit elements, and a transposed input fused with one in the
// output's layout.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <string>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

/// At least ampc-vectorize-generics' parallel-min-iterations.
constexpr int64_t kParallelElements = 262144;

struct Case {
  std::vector<int64_t> inShape;
  /// Result dimension i is input dimension perm[i] (linalg.transpose).
  std::vector<int64_t> perm;
  bool bf16 = false;
  /// Adds an input in the result's layout: out = 2 * transpose(x) + y.
  bool fused = false;
};

std::string tensorType(const std::vector<int64_t> &shape, const char *t) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + t + ">";
}

std::vector<int64_t> outShape(const Case &c) {
  std::vector<int64_t> out;
  for (int64_t p : c.perm)
    out.push_back(c.inShape[p]);
  return out;
}

/// The case as a function @f: a linalg.transpose, or a generic reading x
/// through the permutation and y directly.
std::string source(const Case &c) {
  const char *t = c.bf16 ? "bf16" : "f32";
  std::string in = tensorType(c.inShape, t), out = tensorType(outShape(c), t);
  if (!c.fused) {
    std::string perm;
    for (int64_t p : c.perm)
      perm += (perm.empty() ? "" : ", ") + std::to_string(p);
    return "func.func @f(%x: " + in + ") -> " + out +
           " {\n  %e = tensor.empty() : " + out +
           "\n  %t = linalg.transpose ins(%x : " + in + ") outs(%e : " + out +
           ") permutation = [" + perm + "]\n  return %t : " + out + "\n}\n";
  }
  // Loop d is result dimension d; x's dimension perm[i] is loop i.
  size_t rank = c.perm.size();
  std::string dims, xMap(rank, ' '), iters;
  std::vector<std::string> xDims(rank);
  for (size_t d = 0; d < rank; ++d) {
    dims += (d ? ", d" : "d") + std::to_string(d);
    xDims[c.perm[d]] = "d" + std::to_string(d);
    iters += std::string(d ? ", " : "") + "\"parallel\"";
  }
  std::string xs;
  for (size_t i = 0; i < rank; ++i)
    xs += (i ? ", " : "") + xDims[i];
  std::string id = "affine_map<(" + dims + ") -> (" + dims + ")>";
  std::string xm = "affine_map<(" + dims + ") -> (" + xs + ")>";
  return "func.func @f(%x: " + in + ", %y: " + out + ") -> " + out +
         " {\n  %two = arith.constant 2.0 : f32\n  %e = tensor.empty() : " +
         out + "\n  %r = linalg.generic {indexing_maps = [" + xm + ", " + id +
         ", " + id + "], iterator_types = [" + iters + "]} ins(%x, %y : " + in +
         ", " + out + ") outs(%e : " + out +
         ") {\n  ^bb0(%a: f32, %b: f32, %o: f32):\n    %m = arith.mulf %a, "
         "%two : f32\n    %s = arith.addf %m, %b : f32\n    linalg.yield %s : "
         "f32\n  } -> " +
         out + "\n  return %r : " + out + "\n}\n";
}

/// Distinct small integers (exact in bf16 up to 256, and in any sum here).
Tensor indexTensor(DType dtype, const std::vector<int64_t> &shape,
                   int64_t offset) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.numElements(); ++i)
    ampc::testing::setF32OrBf16(t, i, float((i + offset) % 251));
  return t;
}

/// The linear index in x of result element `linear`.
int64_t sourceIndex(const Case &c, int64_t linear) {
  std::vector<int64_t> out = outShape(c), inStrides(c.inShape.size(), 1);
  for (int64_t d = int64_t(c.inShape.size()) - 2; d >= 0; --d)
    inStrides[d] = inStrides[d + 1] * c.inShape[d + 1];
  int64_t at = 0;
  for (int64_t d = int64_t(out.size()) - 1; d >= 0; --d) {
    at += (linear % out[d]) * inStrides[c.perm[d]];
    linear /= out[d];
  }
  return at;
}

float valueAt(const Tensor &t, int64_t i) {
  return ampc::testing::f32OrBf16At(t, i);
}

void checkCase(const Case &c, const std::vector<Tensor> &inputs,
               const Tensor &result) {
  int mismatches = 0;
  for (int64_t i = 0; i < result.numElements(); ++i) {
    float want = valueAt(inputs[0], sourceIndex(c, i));
    if (c.fused)
      want = 2 * want + valueAt(inputs[1], i);
    if (valueAt(result, i) != want && mismatches++ < 5)
      ADD_FAILURE() << "element " << i << ": " << valueAt(result, i)
                    << ", expected " << want;
  }
  EXPECT_EQ(mismatches, 0);
}

void runCase(const Case &c) {
  DType dtype = c.bf16 ? DType::BF16 : DType::F32;
  std::vector<Tensor> inputs;
  inputs.push_back(indexTensor(dtype, c.inShape, 0));
  if (c.fused)
    inputs.push_back(indexTensor(dtype, outShape(c), 7));
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    SCOPED_TRACE("features: '" + features + "'");
    // Two threads only where the copy is split across threads at all.
    std::vector<unsigned> threadCounts = {1};
    if (inputs[0].numElements() >= kParallelElements)
      threadCounts.push_back(2);
    for (unsigned threads : threadCounts) {
      auto out =
          ampc::testing::compileAndCallF(source(c), inputs, features, threads);
      ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
      checkCase(c, inputs, out->front());
    }
  }
}

TEST(LayoutChangeTest, ConvolutionLayouts) {
  // NCHW -> NHWC and back, ragged spatial sizes; a filter to [F, kh, kw, C]
  // and back; a weight [kh, kw, C, F] to [F, C, kh, kw]; 1x1 spatial sizes.
  for (Case c :
       {Case{{4, 12, 5, 6}, {0, 2, 3, 1}}, Case{{4, 5, 6, 12}, {0, 3, 1, 2}},
        Case{{6, 10, 3, 3}, {0, 2, 3, 1}}, Case{{6, 3, 3, 10}, {0, 3, 1, 2}},
        Case{{3, 3, 5, 7}, {3, 2, 0, 1}}, Case{{3, 3, 64, 48}, {3, 2, 0, 1}},
        Case{{32, 64, 1, 1}, {0, 2, 3, 1}}})
    runCase(c);
}

TEST(LayoutChangeTest, MatricesAndOtherPermutations) {
  // Whole tiles, primes, a parallel-sized one, a 3-D rotation, 16-bit
  // elements, and fused with an input in the result's layout.
  for (Case c : {Case{{64, 48}, {1, 0}}, Case{{37, 29}, {1, 0}},
                 Case{{768, 512}, {1, 0}}, Case{{2, 17, 3, 8}, {2, 0, 3, 1}},
                 Case{{5, 7, 11}, {1, 2, 0}}, Case{{40, 24}, {1, 0}, true},
                 Case{{6, 10, 3, 3}, {0, 2, 3, 1}, true},
                 Case{{37, 29}, {1, 0}, false, true},
                 Case{{4, 12, 5, 6}, {0, 2, 3, 1}, false, true}})
    runCase(c);
}

TEST(LayoutChangeTest, SquareTilesThroughShuffleNetworks) {
  // Transposes whose register tiles are square matrices of 32-bit
  // elements (16 x 16 on AVX-512, 8 x 8 on AVX2, 4 x 4 on SSE), which go
  // through log2(n) stages of two-row shuffles: one tile, tiles behind a
  // unit and a batch dimension, many tiles, and f32 fused with an input in
  // the result's layout.
  for (Case c :
       {Case{{16, 16}, {1, 0}}, Case{{8, 8}, {1, 0}}, Case{{4, 4}, {1, 0}},
        Case{{1, 16, 16}, {0, 2, 1}}, Case{{3, 16, 16}, {0, 2, 1}},
        Case{{64, 64}, {1, 0}}, Case{{32, 32}, {1, 0}, false, true}})
    runCase(c);
}

/// A strided slice of x (offsets, sizes, strides per dimension) returned
/// as the result: bufferization copies it from x's buffer into the
/// result's (ampc-cpu-vectorize-copies moves the rows as vectors).
struct Slice {
  std::vector<int64_t> inShape, offsets, sizes, strides;
  bool bf16 = false;
};

std::string sliceSource(const Slice &c) {
  const char *t = c.bf16 ? "bf16" : "f32";
  auto list = [](const std::vector<int64_t> &v) {
    std::string s;
    for (int64_t x : v)
      s += (s.empty() ? "" : ", ") + std::to_string(x);
    return "[" + s + "]";
  };
  std::string in = tensorType(c.inShape, t), out = tensorType(c.sizes, t);
  return "func.func @f(%x: " + in + ") -> " + out +
         " {\n  %s = tensor.extract_slice %x" + list(c.offsets) + " " +
         list(c.sizes) + " " + list(c.strides) + " : " + in + " to " + out +
         "\n  return %s : " + out + "\n}\n";
}

TEST(LayoutChangeTest, StridedSlicesCopyExactly) {
  // A pooled activation in its padded buffer (every other pixel), rows of
  // 20 at an offset (vectors of 10, or 5 on AVX2), bf16 rows of 64, rows of
  // one element (a scalar loop) and of a prime (17).
  for (Slice c :
       {Slice{{2, 26, 26, 8}, {0, 0, 0, 0}, {2, 13, 13, 8}, {1, 2, 2, 1}},
        Slice{{3, 32}, {0, 4}, {3, 20}, {1, 1}},
        Slice{{2, 128}, {0, 0}, {2, 64}, {1, 1}, true},
        Slice{{8, 4}, {0, 1}, {8, 1}, {1, 1}},
        Slice{{2, 40}, {1, 3}, {1, 17}, {1, 1}}}) {
    SCOPED_TRACE(sliceSource(c));
    Tensor x = indexTensor(c.bf16 ? DType::BF16 : DType::F32, c.inShape, 3);
    for (const std::string &features : ampc::testing::hostIsaLevels()) {
      SCOPED_TRACE("features: '" + features + "'");
      auto out = ampc::testing::compileAndCallF(sliceSource(c), {x}, features,
                                                /*threads=*/1);
      ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
      const Tensor &got = out->front();
      int mismatches = 0;
      for (int64_t i = 0; i < got.numElements(); ++i) {
        // The source element of result element i.
        int64_t at = 0, rest = i, stride = 1;
        for (int64_t d = int64_t(c.sizes.size()) - 1; d >= 0; --d) {
          at += (c.offsets[d] + (rest % c.sizes[d]) * c.strides[d]) * stride;
          rest /= c.sizes[d];
          stride *= c.inShape[d];
        }
        if (valueAt(got, i) != valueAt(x, at) && mismatches++ < 5)
          ADD_FAILURE() << "element " << i << ": " << valueAt(got, i)
                        << ", expected " << valueAt(x, at);
      }
      EXPECT_EQ(mismatches, 0);
    }
  }
}

} // namespace
