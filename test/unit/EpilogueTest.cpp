//===- EpilogueTest.cpp - elementwise ops after a contraction vs C++ ------===//
//
// A contraction followed by a bias along its columns, a scale per row, a
// ReLU and a residual sum, optionally reshaped and cast to bf16, through
// the JIT at every ISA level the host runs, with 1 and 2 threads. The
// elementwise ops run on the accumulators (ampc-cpu-fuse-epilogues): after
// the k loop where the whole output fits the target's register tile, in the
// last k block of each tile of a tiled contraction (in C itself, or beside
// it where C is also returned); a residual of a C padded to whole tiles
// keeps them in their own loop. The contraction is exact (inputs with 7
// significant bits; sums of up to 512 products of them fit f32's 24 bits),
// so the result must equal, bit for bit, the same f32 operations done here
// in sequence and rounded to bf16 by the reference of FloatReference.h.
//
//===----------------------------------------------------------------------===//

#include "FloatReference.h"
#include "JitTestSupport.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <cstring>
#include <random>
#include <string>

using ampc_rt::DType;
using ampc_rt::Tensor;
using namespace ampc::testing;

namespace {

struct Case {
  int64_t m, n;
  /// The result reshaped to [m / rows, rows, n] (0: left m x n).
  int64_t rows = 0;
  bool bf16 = false;
  /// k: 16 is one k block, 300 two (the default 256 deep).
  int64_t depth = 16;
  /// The product is returned too (a second reader of C).
  bool keepProduct = false;
  /// The residual is added last (an input read whole).
  bool residual = true;
};

std::string tensorOf(std::initializer_list<int64_t> shape,
                     const char *type = "f32") {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + type + ">";
}

/// The result's type.
std::string resultType(const Case &c) {
  const char *element = c.bf16 ? "bf16" : "f32";
  return c.rows ? tensorOf({c.m / c.rows, c.rows, c.n}, element)
                : tensorOf({c.m, c.n}, element);
}

std::string source(const Case &c) {
  std::string mn = tensorOf({c.m, c.n}), out = resultType(c);
  std::string result = "%y";
  std::string tail;
  if (c.rows) {
    std::string reshaped = tensorOf({c.m / c.rows, c.rows, c.n});
    tail += "  %x = tensor.expand_shape %y [[0, 1], [2]] output_shape [" +
            std::to_string(c.m / c.rows) + ", " + std::to_string(c.rows) +
            ", " + std::to_string(c.n) + "] : " + mn + " into " + reshaped +
            "\n";
    result = "%x";
    mn = reshaped;
  }
  if (c.bf16) {
    tail += "  %r = amp.cast " + result + " : " + mn + " to " + out + "\n";
    result = "%r";
  }
  std::string results = out, returned = result + " : " + out;
  if (c.keepProduct) {
    results = "(" + out + ", " + tensorOf({c.m, c.n}) + ")";
    returned = result + ", %p : " + out + ", " + tensorOf({c.m, c.n});
  }
  return "func.func @f(%a: " + tensorOf({c.m, c.depth}) +
         ", %b: " + tensorOf({c.depth, c.n}) + ", %bias: " + tensorOf({c.n}) +
         ", %scale: " + tensorOf({c.m}) + ", %res: " + tensorOf({c.m, c.n}) +
         ") -> " + results +
         " {\n  %z = arith.constant 0.0 : f32\n"
         "  %e = tensor.empty() : " +
         tensorOf({c.m, c.n}) +
         "\n  %c = linalg.fill ins(%z : f32) outs(%e : " +
         tensorOf({c.m, c.n}) + ") -> " + tensorOf({c.m, c.n}) +
         "\n  %p = linalg.matmul ins(%a, %b : " + tensorOf({c.m, c.depth}) +
         ", " + tensorOf({c.depth, c.n}) +
         ") outs(%c : " + tensorOf({c.m, c.n}) + ") -> " +
         tensorOf({c.m, c.n}) +
         "\n  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, "
         "j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i)>, "
         "affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], "
         "iterator_types = [\"parallel\", \"parallel\"]}\n    ins(%p, %bias, "
         "%scale, %res : " +
         tensorOf({c.m, c.n}) + ", " + tensorOf({c.n}) + ", " +
         tensorOf({c.m}) + ", " + tensorOf({c.m, c.n}) +
         ") outs(%e : " + tensorOf({c.m, c.n}) +
         ") {\n  ^bb0(%x0: f32, %x1: f32, %x2: f32, %x3: f32, %o: f32):\n"
         "    %t = arith.addf %x0, %x1 : f32\n"
         "    %u = arith.mulf %t, %x2 : f32\n"
         "    %v = arith.maximumf %u, %z : f32\n"
         "    %w = arith.addf %v, %x3 : f32\n"
         "    linalg.yield " +
         std::string(c.residual ? "%w" : "%v") + " : f32\n  } -> " +
         tensorOf({c.m, c.n}) + "\n" + tail + "  return " + returned + "\n}\n";
}

/// Multiples of 1/64 in [-2, 2) (exact products and sums of 16 of them).
Tensor exactTensor(std::vector<int64_t> dims, unsigned seed) {
  Tensor t(DType::F32, std::move(dims));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-128, 127);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.as<float>()[i] = float(dist(rng)) / 64.0f;
  return t;
}

/// Any f32 values of both signs.
Tensor anyTensor(std::vector<int64_t> dims, unsigned seed) {
  Tensor t(DType::F32, std::move(dims));
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.as<float>()[i] = dist(rng);
  return t;
}

/// Element (i, j) of the result, computed here: f32 operations one at a
/// time (no contraction into fused multiply-adds), then bf16 if asked.
/// Element (i, j) of the product (exact in any order).
float productAt(const Case &c, const std::vector<Tensor> &in, int64_t i,
                int64_t j) {
  float sum = 0;
  for (int64_t l = 0; l < c.depth; ++l)
    sum += in[0].as<float>()[i * c.depth + l] * in[1].as<float>()[l * c.n + j];
  return sum;
}

uint32_t expectedBits(const Case &c, const std::vector<Tensor> &in, int64_t i,
                      int64_t j) {
  volatile float t = productAt(c, in, i, j) + in[2].as<float>()[j];
  volatile float u = t * in[3].as<float>()[i];
  volatile float v = u > 0.0f ? float(u) : 0.0f;
  float w = c.residual ? v + in[4].as<float>()[i * c.n + j] : float(v);
  if (!c.bf16) {
    uint32_t bits;
    std::memcpy(&bits, &w, sizeof bits);
    return bits;
  }
  static const auto table = finiteValues(kBF16);
  return refEncode(kBF16, table, double(w), /*saturate=*/false).bits;
}

uint32_t gotBits(const Case &c, const Tensor &t, int64_t index) {
  if (c.bf16)
    return t.as<uint16_t>()[index];
  uint32_t bits;
  std::memcpy(&bits, &t.as<float>()[index], sizeof bits);
  return bits;
}

void runCase(const Case &c) {
  SCOPED_TRACE(source(c));
  std::vector<Tensor> inputs;
  inputs.push_back(exactTensor({c.m, c.depth}, 1));
  inputs.push_back(exactTensor({c.depth, c.n}, 2));
  inputs.push_back(anyTensor({c.n}, 3));
  inputs.push_back(anyTensor({c.m}, 4));
  inputs.push_back(anyTensor({c.m, c.n}, 5));
  for (const std::string &features : hostIsaLevels())
    for (unsigned threads : {1u, 2u}) {
      SCOPED_TRACE("features: '" + features +
                   "', threads: " + std::to_string(threads));
      auto out = compileAndCallF(source(c), inputs, features, threads);
      ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
      const Tensor &result = out->front();
      ASSERT_EQ(result.numElements(), c.m * c.n);
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t j = 0; j < c.n; ++j)
          ASSERT_EQ(gotBits(c, result, i * c.n + j),
                    expectedBits(c, inputs, i, j))
              << "row " << i << " column " << j;
      ASSERT_EQ(out->size(), c.keepProduct ? 2u : 1u);
      if (c.keepProduct)
        for (int64_t i = 0; i < c.m; ++i)
          for (int64_t j = 0; j < c.n; ++j)
            ASSERT_EQ((*out)[1].as<float>()[i * c.n + j],
                      productAt(c, inputs, i, j))
                << "product row " << i << " column " << j;
    }
}

TEST(EpilogueTest, WholeRegisterTiles) {
  // 16 x 16 and 16 x 32 fill AVX-512's 8 x 32 tile (16 and 32 vectors),
  // 12 x 8 AVX2's 6 x 16 (12 vectors of 8), 5 x 10 rows of 10 lanes.
  for (Case c : {Case{16, 16}, Case{16, 32}, Case{12, 8}, Case{5, 10}})
    runCase(c);
}

TEST(EpilogueTest, ReshapedAndCastToBf16) {
  // As the transformer block's projections: [16, 16] read as [2, 8, 16],
  // then the cast to the next contraction's bf16.
  for (Case c :
       {Case{16, 16, 8, true}, Case{12, 8, 6, true}, Case{16, 32, 0, true}})
    runCase(c);
}

TEST(EpilogueTest, OutputsLargerThanATile) {
  // C padded to whole tiles (37 x 19, 40 x 48 on AVX-512's 64 columns): the
  // residual keeps the ops in their own loop.
  for (Case c : {Case{40, 48}, Case{37, 19, 0, true}})
    runCase(c);
}

TEST(EpilogueTest, TiledContractionsInOneKBlock) {
  // 48 x 128 is whole tiles at every ISA level (6, 8 or 4 rows; 64, 32 or
  // 16 columns): the ops run on each tile's accumulators, into C itself, or
  // beside C where the product is returned too; reshaped and cast to bf16.
  for (Case c : {Case{48, 128}, Case{48, 128, 0, false, 16, true},
                 Case{48, 128, 8, true}})
    runCase(c);
}

TEST(EpilogueTest, TransposedContractions) {
  // 10 or 8 columns fill a register tile's columns poorly: C^T is computed
  // (on AVX2 and AVX-512; the 10 or 8 columns are the tiles' rows, padded to
  // whole tiles), in place, each micro-kernel transposing its sums into rows
  // of C. The ops run on those rows in the last k block (k = 300 is two
  // blocks), into C itself or beside it where the product is returned too;
  // a residual of a C whose columns were padded keeps them after the loops.
  for (Case c : {Case{96, 10, 0, false, 16, false, false},
                 Case{96, 8, 0, false, 300, false, false},
                 Case{64, 10, 0, true, 16, false, false},
                 Case{96, 10, 0, false, 300, false, true},
                 Case{96, 10, 0, false, 16, true, false}})
    runCase(c);
}

TEST(EpilogueTest, TiledContractionsInSeveralKBlocks) {
  // k = 300 is two k blocks: the ops run in the last one only (a partial
  // sum in an earlier one would give other values).
  for (Case c :
       {Case{48, 128, 0, false, 300}, Case{48, 128, 0, true, 300, true}})
    runCase(c);
}

} // namespace
