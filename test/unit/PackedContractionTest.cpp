//===- PackedContractionTest.cpp - the packed contraction path vs f64
//------===//
//
// Every layout a training step's contractions come in (A as m x k or k x m,
// B as k x n or n x k, C as m x n or n x m), ragged and prime sizes (partial
// register tiles, a last partial k block, several blocks of row tiles), a
// batch, bf16 inputs (AMX tiles, AVX-512 BF16 dot products or widened),
// every ISA level the host runs (its own; AVX-512 BF16 dot products on an
// AMX host; AVX2 on an AVX-512 host; 128-bit SSE), small
// contractions (sequential tile loops) and ones above the parallel threshold,
// compiled through the JIT with 1 and 2 threads and compared with an f64
// reference computed here. The f32 sum of K products is within K * 2^-24 of the
// sum of magnitudes (plus FMA's single rounding); results must not depend on
// the thread count, bit for bit.
//
//===----------------------------------------------------------------------===//

#include "FloatReference.h"
#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>

using ampc_rt::DType;
using ampc_rt::Tensor;
using namespace ampc::testing;

namespace {

struct Case {
  int64_t batch, m, n, k;
  bool aTransposed, bTransposed, cTransposed, bf16;
  /// A in f8E4M3FN and B in f8E5M2 (a backward pass's mix), over bf16.
  bool fp8 = false;
  /// With fp8: A and B given in f32 and quantized in the function, as the
  /// fp8 policy quantizes a contraction's operands (A scaled by kScaleA
  /// into E4M3, saturating; B by kScaleB into E5M2).
  bool quantized = false;
};

constexpr float kScaleA = 3.0f, kScaleB = 0.25f;

/// The element types of A and B.
std::pair<const char *, const char *> inputTypes(const Case &c) {
  if (c.fp8)
    return {"f8E4M3FN", "f8E5M2"};
  return c.bf16 ? std::make_pair("bf16", "bf16") : std::make_pair("f32", "f32");
}

std::string shape(int64_t batch, int64_t rows, int64_t cols, const char *t) {
  std::string s = "tensor<";
  if (batch)
    s += std::to_string(batch) + "x";
  return s + std::to_string(rows) + "x" + std::to_string(cols) + "x" + t + ">";
}

/// A linalg.generic multiply-add with the case's layouts, on a zero fill.
std::string source(const Case &c) {
  auto [inA, inB] = inputTypes(c);
  std::string b = c.batch ? "b, " : "";
  std::string dims = c.batch ? "(b, m, n, k)" : "(m, n, k)";
  auto map = [&](bool transposed, const char *x, const char *y) {
    return "affine_map<" + dims + " -> (" + b + (transposed ? y : x) + ", " +
           (transposed ? x : y) + ")>";
  };
  std::string ta =
      shape(c.batch, c.aTransposed ? c.k : c.m, c.aTransposed ? c.m : c.k, inA);
  std::string tb =
      shape(c.batch, c.bTransposed ? c.n : c.k, c.bTransposed ? c.k : c.n, inB);
  std::string tc = shape(c.batch, c.cTransposed ? c.n : c.m,
                         c.cTransposed ? c.m : c.n, "f32");
  std::string iterators = std::string(c.batch ? "\"parallel\", " : "") +
                          "\"parallel\", \"parallel\", \"reduction\"";
  bool narrow = c.bf16 || c.fp8;
  std::string widen = narrow ? "  %xe = arith.extf %x : " + std::string(inA) +
                                   " to f32\n  %ye = arith.extf %y : " + inB +
                                   " to f32\n"
                             : "";
  std::string x = narrow ? "%xe" : "%x", y = narrow ? "%ye" : "%y";
  std::string in = inA, inb = inB;
  std::string args = "%a: " + ta + ", %b: " + tb, quantize;
  if (c.quantized) {
    std::string fa = shape(c.batch, c.aTransposed ? c.k : c.m,
                           c.aTransposed ? c.m : c.k, "f32");
    std::string fb = shape(c.batch, c.bTransposed ? c.n : c.k,
                           c.bTransposed ? c.k : c.n, "f32");
    args = "%fa: " + fa + ", %fb: " + fb;
    quantize = "  %sa = arith.constant " + std::to_string(kScaleA) +
               " : f32\n  %sb = arith.constant " + std::to_string(kScaleB) +
               " : f32\n  %a = amp.cast %fa scale %sa : " + fa + " to " + ta +
               "\n  %b = amp.cast %fb scale %sb : " + fb + " to " + tb + "\n";
  }
  return "func.func @f(" + args + ") -> " + tc + " {\n" + quantize +
         "  %z = arith.constant 0.0 : f32\n  %e = tensor.empty() : " + tc +
         "\n  %c = linalg.fill ins(%z : f32) outs(%e : " + tc + ") -> " + tc +
         "\n  %r = linalg.generic {indexing_maps = [" +
         map(c.aTransposed, "m", "k") + ", " + map(c.bTransposed, "k", "n") +
         ", " + map(c.cTransposed, "m", "n") + "], iterator_types = [" +
         iterators + "]}\n    ins(%a, %b : " + ta + ", " + tb +
         ") outs(%c : " + tc + ") {\n  ^bb0(%x: " + in + ", %y: " + inb +
         ", %o: f32):\n" + widen + "  %p = arith.mulf " + x + ", " + y +
         " : f32\n  %s = arith.addf %o, %p : f32\n  linalg.yield %s : f32\n"
         "  } -> " +
         tc + "\n  return %r : " + tc + "\n}\n";
}

/// Mantissa bits and exponent bias of an fp8 type.
std::pair<int, int> fp8Format(DType dtype) {
  return dtype == DType::F8E4M3FN ? std::make_pair(3, 7)
                                  : std::make_pair(2, 15);
}

/// The fp8 pattern of `v`, a normal value with at most three significant
/// bits (exact in E4M3 and E5M2).
uint8_t encodeFp8(float v, DType dtype) {
  if (v == 0)
    return 0;
  auto [mantissaBits, bias] = fp8Format(dtype);
  int exponent;
  float fraction = std::frexp(std::fabs(v), &exponent); // [0.5, 1)
  int mantissa = int((fraction * 2 - 1) * float(1 << mantissaBits));
  return uint8_t((v < 0 ? 0x80 : 0) | ((exponent - 1 + bias) << mantissaBits) |
                 mantissa);
}

/// The value of a normal fp8 pattern.
float decodeFp8(uint8_t bits, DType dtype) {
  if ((bits & 0x7f) == 0)
    return 0;
  auto [mantissaBits, bias] = fp8Format(dtype);
  int exponent = (bits & 0x7f) >> mantissaBits;
  float mantissa = float(bits & ((1 << mantissaBits) - 1));
  float value =
      std::ldexp(1 + mantissa / float(1 << mantissaBits), exponent - bias);
  return bits & 0x80 ? -value : value;
}

/// Random values with 8 significant bits (exact in bf16); for fp8, with 3
/// (exact in E4M3 and E5M2).
Tensor randomTensor(DType dtype, std::vector<int64_t> dims, unsigned seed) {
  Tensor t(dtype, std::move(dims));
  std::mt19937 rng(seed);
  bool fp8 = dtype == DType::F8E4M3FN || dtype == DType::F8E5M2;
  std::uniform_int_distribution<int> dist(fp8 ? -8 : -128, fp8 ? 7 : 127);
  for (int64_t i = 0; i < t.numElements(); ++i) {
    float v = float(dist(rng)) / (fp8 ? 4.0f : 64.0f);
    if (fp8)
      t.as<uint8_t>()[i] = encodeFp8(v, dtype);
    else
      ampc::testing::setF32OrBf16(t, i, v);
  }
  return t;
}

float valueAt(const Tensor &t, int64_t i) {
  if (t.dtype == DType::F8E4M3FN || t.dtype == DType::F8E5M2)
    return decodeFp8(t.as<uint8_t>()[i], t.dtype);
  return ampc::testing::f32OrBf16At(t, i);
}

/// Index of (r, c) in batch `b` of a (rows x cols, or transposed) matrix.
int64_t at(int64_t b, int64_t r, int64_t c, int64_t rows, int64_t cols,
           bool transposed) {
  return b * rows * cols + (transposed ? c * rows + r : r * cols + c);
}

void checkAgainstReference(const Case &c, const Tensor &a, const Tensor &b,
                           const Tensor &result) {
  int64_t batches = std::max<int64_t>(c.batch, 1);
  for (int64_t p = 0; p < batches; ++p)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double sum = 0, magnitude = 0;
        for (int64_t l = 0; l < c.k; ++l) {
          double product =
              double(valueAt(a, at(p, i, l, c.m, c.k, c.aTransposed))) *
              double(valueAt(b, at(p, l, j, c.k, c.n, c.bTransposed)));
          sum += product;
          magnitude += std::fabs(product);
        }
        float got = result.as<float>()[at(p, i, j, c.m, c.n, c.cTransposed)];
        double bound = double(c.k + 1) * std::ldexp(magnitude, -24);
        ASSERT_LE(std::fabs(got - sum), bound)
            << "batch " << p << " row " << i << " column " << j;
      }
}

/// f32 values over a wide range of magnitudes (2^-24 to 2^10, both
/// signs: subnormal, normal and saturating once scaled into fp8).
Tensor wideRangeTensor(std::vector<int64_t> dims, unsigned seed) {
  Tensor t(DType::F32, std::move(dims));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> exponent(-24.0f, 10.0f);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.as<float>()[i] = (rng() & 1 ? -1.0f : 1.0f) * std::exp2(exponent(rng));
  return t;
}

/// `t` scaled by `scale` and rounded to `format` (saturating), by the
/// reference of FloatReference.h, as f32 values.
Tensor quantizedReference(const Tensor &t, float scale, const Format &format) {
  auto table = finiteValues(format);
  Tensor q(DType::F32, t.shape);
  for (int64_t i = 0; i < t.numElements(); ++i) {
    Expected e = refEncode(format, table, double(t.as<float>()[i] * scale),
                           /*saturate=*/true);
    q.as<float>()[i] = float(refDecode(format, e.bits));
  }
  return q;
}

void runCaseAt(const Case &c, const std::string &features) {
  SCOPED_TRACE(source(c));
  DType in = c.bf16 ? DType::BF16 : DType::F32;
  DType inB = in;
  if (c.fp8) {
    in = DType::F8E4M3FN;
    inB = DType::F8E5M2;
  }
  auto dims = [&](int64_t rows, int64_t cols, bool transposed) {
    std::vector<int64_t> d;
    if (c.batch)
      d.push_back(c.batch);
    d.push_back(transposed ? cols : rows);
    d.push_back(transposed ? rows : cols);
    return d;
  };
  std::vector<Tensor> inputs;
  if (c.quantized) {
    inputs.push_back(wideRangeTensor(dims(c.m, c.k, c.aTransposed), 1));
    inputs.push_back(wideRangeTensor(dims(c.k, c.n, c.bTransposed), 2));
  } else {
    inputs.push_back(randomTensor(in, dims(c.m, c.k, c.aTransposed), 1));
    inputs.push_back(randomTensor(inB, dims(c.k, c.n, c.bTransposed), 2));
  }
  std::vector<Tensor> results;
  for (unsigned threads : {1u, 2u}) {
    auto out =
        ampc::testing::compileAndCallF(source(c), inputs, features, threads);
    ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
    results.push_back(std::move(out->front()));
  }
  if (c.quantized)
    checkAgainstReference(c, quantizedReference(inputs[0], kScaleA, kE4M3),
                          quantizedReference(inputs[1], kScaleB, kE5M2),
                          results[0]);
  else
    checkAgainstReference(c, inputs[0], inputs[1], results[0]);
  ASSERT_EQ(results[0].numElements(), results[1].numElements());
  EXPECT_EQ(0, std::memcmp(results[0].data.data(), results[1].data.data(),
                           results[0].data.size()))
      << "1 and 2 threads give different bits";
}

void runCase(const Case &c) {
  for (const std::string &features : ampc::testing::hostIsaLevels()) {
    SCOPED_TRACE("features: '" + features + "'");
    runCaseAt(c, features);
  }
}

TEST(PackedContractionTest, EveryLayoutOfRaggedSizes) {
  for (int layout = 0; layout < 8; ++layout)
    runCase({0, 37, 19, 23, bool(layout & 1), bool(layout & 2),
             bool(layout & 4), false});
}

TEST(PackedContractionTest, SizesAcrossTilesAndBlocks) {
  // 1x1x1; primes; k beyond one k block (300); rows beyond one block of
  // row tiles (300); a wide n.
  for (Case c : {Case{0, 1, 1, 1, false, false, false, false},
                 Case{0, 7, 13, 5, false, true, false, false},
                 Case{0, 97, 31, 300, true, false, false, false},
                 Case{0, 300, 17, 11, false, false, true, false},
                 Case{0, 12, 257, 64, false, true, false, false},
                 // n narrower than a tile: computed as C^T = B^T A^T.
                 Case{0, 40, 10, 33, false, true, true, false},
                 Case{2, 30, 5, 9, true, false, false, false},
                 Case{0, 4096, 10, 256, true, false, false, false},
                 // Above the 4 MFLOP threshold: tiles on OpenMP threads.
                 Case{0, 150, 130, 121, true, true, false, false},
                 Case{2, 67, 80, 300, false, true, true, false}})
    runCase(c);
}

TEST(PackedContractionTest, RegisterTilesOfEitherWidth) {
  // AVX-512's tile is 6 x 64; a contraction takes 8 x 32 where that costs
  // fewer instructions with its padding: 8 filters by 640 positions (8 x
  // 32), 64 x 128 over three k blocks (6 x 64, ragged rows), 100 x 80 (8 x
  // 32: 80 columns fill a quarter of the second 64-lane tile), 130 x 200
  // (6 x 64, a last column tile of 8). Other ISA levels keep their tile.
  for (Case c : {Case{0, 8, 640, 9, true, false, false, false},
                 Case{0, 64, 128, 600, false, false, false, false},
                 Case{0, 100, 80, 77, false, true, true, false},
                 Case{0, 130, 200, 50, true, true, false, false}})
    runCase(c);
}

TEST(PackedContractionTest, OutputsThatFitOneRegisterTile) {
  // A whole output in one register tile of its own size: a 3x3
  // convolution's weight gradient over 8 filters (9 x 8, k the batch's
  // 21632 positions, the layout autodiff gives it: both inputs k-major),
  // every layout of a shorter one, a 10-lane row (not a whole vector) and
  // the largest the AVX2 tile takes.
  runCase({0, 9, 8, 21632, true, false, false, false});
  for (int layout = 0; layout < 8; ++layout)
    runCase({0, 9, 8, 301, bool(layout & 1), bool(layout & 2), bool(layout & 4),
             false});
  for (Case c : {Case{0, 5, 10, 97, true, false, false, false},
                 Case{0, 12, 8, 64, false, true, false, false},
                 Case{2, 9, 8, 50, true, false, false, false}})
    runCase(c);
}

TEST(PackedContractionTest, OperandPanelsSplitAcrossThreads) {
  // A 3x3 convolution's weight gradient over 2 input channels and 16
  // filters (18 x 16, k a batch of 32 26 x 26 images: 21632 positions; both
  // inputs k-major, as autodiff gives it): its 16 output rows pack into 2
  // panels of 8, and their packing copy (346112 elements) is split across
  // threads one panel each. It was not vectorized (a partial tile) and the
  // step did not compile. The same with 3 channels and with 32 filters.
  for (Case c : {Case{0, 18, 16, 21632, true, false, false, false},
                 Case{0, 27, 16, 21632, true, false, false, false},
                 Case{0, 18, 32, 21632, true, false, false, false}})
    runCase(c);
}

TEST(PackedContractionTest, Bf16EveryLayoutAndSize) {
  // bf16 inputs take AMX tiles, dot products or the widened f32 path,
  // whichever the ISA level has: every layout of ragged sizes (AMX pads 61
  // x 50 x 59 to 64 x 64 x 64, 1.5 times the work: k = 59 is odd and not a
  // whole AMX k step; 37 x 19 x 23 would be 4.05 times, and takes the other
  // paths, in two layouts), k across blocks, rows across row blocks, a narrow
  // n, and the parallel loop. A k under 16 or an output that fits one
  // register tile (1 x 1 x 1) widens to f32 where the target has dot
  // products too.
  for (int layout = 0; layout < 8; ++layout)
    runCase({0, 61, 50, 59, bool(layout & 1), bool(layout & 2),
             bool(layout & 4), true});
  runCase({0, 37, 19, 23, false, false, false, true});
  runCase({0, 37, 19, 23, true, true, true, true});
  for (Case c : {Case{0, 1, 1, 1, false, false, false, true},
                 Case{0, 97, 31, 300, true, false, false, true},
                 Case{0, 300, 17, 11, false, false, true, true},
                 Case{0, 40, 10, 33, false, true, true, true},
                 Case{0, 150, 130, 121, true, true, false, true}})
    runCase(c);
  // A classifier's 10 columns (the rows are then the vector lanes, and A's
  // k-pairs are transposed into panels 4 pairs of 8 rows at a time): k a
  // multiple of that tile, k odd, rows not a multiple of a panel.
  for (Case c : {Case{0, 96, 10, 128, false, false, false, true},
                 Case{0, 70, 10, 257, false, false, false, true},
                 Case{0, 64, 10, 130, true, false, false, true}})
    runCase(c);
  // Rows of 17 and 33 bf16 (16 lanes and one) copied into their packed
  // layout: a 33-row batch through a 17-wide layer (k = 17) and its weight
  // gradient (17 x 10, k = 33, both inputs k-major). LLVM's x86 back end
  // aborted on those 17-lane bf16 copies on AVX-512 BF16 hosts.
  for (Case c : {Case{0, 33, 10, 17, false, false, false, true},
                 Case{0, 17, 10, 33, true, false, false, true}})
    runCase(c);
}

TEST(PackedContractionTest, Bf16WholeOutputTilesTakeDotProducts) {
  // Outputs that fit one register tile whose columns are whole 16-lane
  // vectors take dot products where the target has them (a transformer
  // block's 16 x 16 projections over k = 16 and 32): every layout of 16 x
  // 16 x 32, an odd k (17, zero-padded to 18) over 8 x 32, 12 rows (not a
  // multiple of 8) and an exact k pair (16). A short even k (8 and 10:
  // whole pairs, as an attention's products over 8 positions) takes them
  // too, in every layout and with a batch.
  for (int layout = 0; layout < 8; ++layout) {
    runCase({0, 16, 16, 32, bool(layout & 1), bool(layout & 2),
             bool(layout & 4), true});
    runCase({0, 8, 16, 8, bool(layout & 1), bool(layout & 2),
             bool(layout & 4), true});
  }
  for (Case c : {Case{2, 8, 16, 8, true, false, false, true},
                 Case{2, 8, 32, 10, false, true, true, true},
                 Case{0, 13, 16, 6, false, false, false, true}})
    runCase(c);
  for (Case c : {Case{0, 8, 32, 17, false, false, false, true},
                 Case{0, 12, 16, 64, true, false, false, true},
                 Case{0, 16, 16, 16, false, true, false, true}})
    runCase(c);
}

TEST(PackedContractionTest, Fp8InputsTakeTheBf16Kernels) {
  // E4M3 x E5M2 (widened to bf16 for AMX tiles or dot products, to f32
  // otherwise): ragged, transposed, a batch, and the parallel loop.
  for (Case c : {Case{0, 61, 50, 59, false, false, false, false, true},
                 Case{0, 37, 19, 23, false, false, false, false, true},
                 Case{0, 40, 10, 33, true, true, true, false, true},
                 Case{2, 9, 20, 33, true, true, false, false, true},
                 Case{0, 150, 130, 121, false, true, false, false, true}})
    runCase(c);
}

TEST(PackedContractionTest, QuantizedOperandsAreRoundedAsTheCastsRound) {
  // f32 operands quantized in the function (scaled, saturating, subnormals
  // and saturation included) and widened for the kernels: each operand is
  // the reference's rounding of it, whichever kernel (bf16 dot products,
  // AMX, f32) and ISA level takes the contraction.
  for (Case c : {Case{0, 61, 50, 59, false, false, false, false, true, true},
                 Case{0, 40, 10, 33, true, true, true, false, true, true},
                 Case{0, 150, 130, 121, false, true, false, false, true, true}})
    runCase(c);
}

TEST(PackedContractionTest, BatchedAndBf16) {
  runCase({3, 13, 18, 7, false, false, false, false});
  runCase({2, 9, 20, 33, true, true, false, true});
  runCase({0, 50, 40, 70, false, true, false, true});
}

} // namespace
