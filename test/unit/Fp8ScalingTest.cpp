//===- Fp8ScalingTest.cpp - per-tensor fp8 scaling, end to end
//-------------===//
//
// Under the fp8 policy every fp8 cast gets a per-tensor scale: current
// scaling in functions without state (the forward pass), Transformer
// Engine's delayed scaling in the training step, whose amax histories and
// scales are state the Trainer carries. Checked here: values far below
// E4M3's range survive a scaled fp8 matmul; the histories and scales after a
// known sequence of amaxes equal TE's DelayedScaling, for algo max and
// most_recent and a margin.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/JIT/Trainer.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

/// y = x @ w; loss = sum(y). The first batch input is x (8x16).
const char *kMatmul = R"mlir(
func.func @forward(%w: tensor<16x16xf32> {amp.param}, %x: tensor<8x16xf32>) -> (tensor<f32>, tensor<8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x16xf32>) outs(%f : tensor<8x16xf32>) -> tensor<8x16xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%y : tensor<8x16xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %s, %y : tensor<f32>, tensor<8x16xf32>
}
)mlir";

Tensor filled(std::vector<int64_t> shape, float magnitude, int salt) {
  Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.as<float>()[i] = magnitude *
                       (0.25f + float((i * 7 + salt) % 13) / 13.0f) *
                       ((i + salt) % 3 ? 1.0f : -1.0f);
  return t;
}

TEST(Fp8ScalingTest, CurrentScalingKeepsTensorsFarBelowTheE4M3Range) {
  // E4M3's smallest subnormal is 2^-9: unscaled, every element of x and w
  // (about 1e-5) would become 0.
  ampc::JitOptions jit;
  jit.precision.policy = ampc::testing::policyNamed("fp8");
  auto module = ampc::JitModule::fromString(kMatmul, jit);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  auto reference = ampc::JitModule::fromString(kMatmul);
  ASSERT_TRUE(static_cast<bool>(reference));
  Tensor w = filled({16, 16}, 1e-5f, 1), x = filled({8, 16}, 2e-5f, 2);
  auto got = (*module)->call("forward", {w, x});
  auto want = (*reference)->call("forward", {w, x});
  ASSERT_TRUE(static_cast<bool>(got)) << llvm::toString(got.takeError());
  ASSERT_TRUE(static_cast<bool>(want));
  const float *g = (*got)[1].as<float>(), *r = (*want)[1].as<float>();
  double err = 0, norm = 0;
  for (int64_t i = 0; i < 8 * 16; ++i) {
    err += (g[i] - r[i]) * (g[i] - r[i]);
    norm += r[i] * r[i];
  }
  // E4M3 keeps 3 mantissa bits: a few percent of relative error.
  EXPECT_GT(norm, 0);
  EXPECT_LT(std::sqrt(err / norm), 0.08);
}

/// TE DelayedScaling: history newest first; scale = (448 / reduced) / 2^m.
struct DelayedReference {
  std::vector<float> history;
  float scale = 1;
  void update(float amax, bool mostRecent, int margin) {
    history.insert(history.begin(), amax);
    history.pop_back();
    float reduced =
        mostRecent ? amax : *std::max_element(history.begin(), history.end());
    if (reduced > 0 && std::isfinite(reduced))
      scale = float(448.0f / reduced) / float(std::ldexp(1.0, margin));
  }
};

/// Trains `steps` steps (amax(x): rising, falling, a zero step, repeated at
/// a quarter after the first seven, so that the first 100 leaves a history
/// shorter than `steps`) and checks the history and the scale after each.
void checkDelayed(const std::string &algo, int64_t length, int margin,
                  int steps = 7) {
  ampc::JitOptions jit;
  jit.precision.policy = ampc::testing::policyNamed("fp8");
  jit.precision.fp8HistoryLength = length;
  ASSERT_FALSE(static_cast<bool>(jit.precision.setFp8Algo(algo)));
  jit.precision.fp8Margin = margin;
  ampc::TrainOptions options;
  options.learningRate = 1e-3;
  options.momentum = 0;
  auto trainer = ampc::Trainer::create(kMatmul, "<test>", jit, options);
  ASSERT_TRUE(static_cast<bool>(trainer))
      << llvm::toString(trainer.takeError());
  std::optional<Tensor> history = (*trainer)->state("fp8.input0.amax_history");
  std::optional<Tensor> scale = (*trainer)->state("fp8.input0.scale");
  ASSERT_TRUE(history && scale);
  ASSERT_EQ(history->shape, std::vector<int64_t>{length});
  EXPECT_EQ(scale->as<float>()[0], 1.0f);
  DelayedReference ref;
  ref.history.assign(size_t(length), 0.0f);
  // amax(x) per step: rising, falling, and a zero step (scale kept).
  const float amaxes[] = {3.0f, 100.0f, 0.5f, 0.0f, 7.0f, 0.01f, 2.0f};
  for (int step = 0; step < steps; ++step) {
    float amax = amaxes[step % 7] / (step < 7 ? 1.0f : 4.0f);
    Tensor x(DType::F32, {8, 16});
    if (amax > 0) {
      x = filled({8, 16}, amax / 2, 5);
      x.as<float>()[17] = -amax; // the largest magnitude
    }
    auto result = (*trainer)->step({x});
    ASSERT_TRUE(static_cast<bool>(result))
        << llvm::toString(result.takeError());
    ref.update(amax, algo == "most_recent", margin);
    history = (*trainer)->state("fp8.input0.amax_history");
    scale = (*trainer)->state("fp8.input0.scale");
    std::optional<Tensor> position = (*trainer)->state("fp8.amax_position");
    std::optional<Tensor> blocks =
        (*trainer)->state("fp8.input0.amax_block_max");
    ASSERT_TRUE(history && scale && position && blocks);
    // The ring buffer holds TE's history: the newest amax just before the
    // position, the oldest at it.
    int32_t next = position->as<int32_t>()[0];
    ASSERT_EQ(next, (step + 1) % length);
    const float *ring = history->as<float>();
    for (int64_t i = 0; i < length; ++i)
      ASSERT_EQ(ring[(next - 1 - i + 2 * length) % length], ref.history[i])
          << "amax " << amax << ", history[" << i << "] newest first";
    // Each block maximum is that of its entries (all finite, >= 0 here).
    int64_t blockLength = length / blocks->numElements();
    ASSERT_EQ(blockLength * blocks->numElements(), length);
    for (int64_t j = 0; j < blocks->numElements(); ++j)
      ASSERT_EQ(blocks->as<float>()[j],
                *std::max_element(ring + j * blockLength,
                                  ring + (j + 1) * blockLength))
          << "block " << j;
    ASSERT_EQ(scale->as<float>()[0], ref.scale) << "after amax " << amax;
  }
  // The weight's scale follows its own amax; the output gradient is E5M2.
  EXPECT_TRUE((*trainer)->state("fp8.param0.scale"));
  EXPECT_TRUE((*trainer)->state("fp8.t0.amax_history"));
  // The state is one column per site (the input, the weight and the output
  // gradient, each cast once): the views above are its columns.
  std::optional<Tensor> packed = (*trainer)->state("fp8.amax_history");
  std::optional<Tensor> scales = (*trainer)->state("fp8.scale");
  ASSERT_TRUE(packed && scales);
  ASSERT_EQ(packed->shape, (std::vector<int64_t>{length, 3}));
  ASSERT_EQ(scales->shape, std::vector<int64_t>{3});
  bool found = false;
  for (int64_t c = 0; c < 3; ++c)
    found |= scales->as<float>()[c] == scale->as<float>()[0] &&
             packed->as<float>()[c] == history->as<float>()[0];
  EXPECT_TRUE(found) << "input0's view is no column of the state";
  EXPECT_FALSE((*trainer)->state("fp8.nosuch.scale"));
  EXPECT_FALSE((*trainer)->state("fp8.input0.amax_position"));
  EXPECT_FALSE((*trainer)->state("fp8.input0.momentum"));
}

TEST(Fp8ScalingTest, DelayedScalingWithAmaxMax) { checkDelayed("max", 4, 0); }
TEST(Fp8ScalingTest, DelayedScalingWithMostRecentAndMargin) {
  checkDelayed("most_recent", 3, 2);
}
// A history of 128 in 16 blocks of 8, wrapping once: the largest amax
// moves through every block and leaves.
TEST(Fp8ScalingTest, DelayedScalingOverALongHistory) {
  checkDelayed("max", 128, 0, 140);
}

/// The formats of the columns in updateSource.
constexpr float kColumnFormatMax[] = {448.0f, 57344.0f, 57344.0f};
constexpr int64_t kColumns = 3;

/// amp.update_amax_history on `n` rows in `blocks` blocks, in three
/// columns: E4M3, E5M2, E5M2 (margin 0).
std::string updateSource(int64_t n, int64_t blocks) {
  std::string c = std::to_string(kColumns);
  std::string t = "tensor<" + std::to_string(n) + "x" + c + "xf32>";
  std::string m = "tensor<" + std::to_string(blocks) + "x" + c + "xf32>";
  std::string v = "tensor<" + c + "xf32>";
  return "func.func @update(%h: " + t + ", %m: " + m +
         ", %p: tensor<i32>, %amax: " + v + ", %scale: " + v + ") -> (" + t +
         ", " + m + ", tensor<i32>, " + v +
         ") {\n"
         "  %p0 = tensor.extract %p[] : tensor<i32>\n"
         "  %r:4 = amp.update_amax_history %h, %m, %p0, %amax, %scale formats "
         "[f8E4M3FN, f8E5M2, f8E5M2] : " +
         t + ", " + m + ", " + v +
         "\n  %np = tensor.from_elements %r#2 : tensor<i32>\n"
         "  return %r#0, %r#1, %np, %r#3 : " +
         t + ", " + m + ", tensor<i32>, " + v + "\n}\n";
}

/// torch.max over values[begin, end): NaN if any value is NaN.
float referenceMax(const std::vector<float> &values, size_t begin, size_t end) {
  float reduced = -std::numeric_limits<float>::infinity();
  for (size_t i = begin; i < end; ++i) {
    if (std::isnan(values[i]))
      return std::numeric_limits<float>::quiet_NaN();
    reduced = std::max(reduced, values[i]);
  }
  return reduced;
}

/// Transformer Engine's scale after an update: torch.max over the new
/// history, kept unless positive and finite.
float referenceScale(const std::vector<float> &history, float scale,
                     float formatMax) {
  float reduced = referenceMax(history, 0, history.size());
  if (reduced > 0 && std::isfinite(reduced))
    return formatMax / reduced;
  return scale;
}

/// One column of an update: its history (n values) and new amax.
struct Column {
  std::vector<float> values;
  float amax;
};

/// Checks one column of an update's results against the references: the
/// history with the amax at `at`, the changed block's maximum and the
/// scale.
void checkColumn(const std::vector<Tensor> &out, const Column &column,
                 int64_t c, int64_t blocks, int32_t at) {
  int64_t n = int64_t(column.values.size()), blockLength = n / blocks;
  std::vector<float> want = column.values;
  want[size_t(at)] = column.amax;
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(
        std::memcmp(&out[0].as<float>()[i * kColumns + c], &want[size_t(i)], 4),
        0)
        << "column " << c << ", row " << i;
  int64_t block = at / blockLength;
  float wantBlock = referenceMax(want, size_t(block * blockLength),
                                 size_t((block + 1) * blockLength));
  float gotBlock = out[1].as<float>()[block * kColumns + c];
  // NaN for NaN, the maximum where it is positive; not positive otherwise
  // (the scale reads nothing else).
  if (std::isnan(wantBlock))
    ASSERT_TRUE(std::isnan(gotBlock)) << "column " << c << ", block " << block;
  else if (wantBlock > 0)
    ASSERT_EQ(gotBlock, wantBlock) << "column " << c << ", block " << block;
  else
    ASSERT_FALSE(gotBlock > 0)
        << "column " << c << ", block " << block << ": " << gotBlock;
  ASSERT_EQ(out[3].as<float>()[c],
            referenceScale(want, 0.75f, kColumnFormatMax[c]))
      << "column " << c << ", amax " << column.amax << " at " << at
      << ", history[0] " << column.values[0];
}

/// One update of ring buffers (one column each) whose block maxima are
/// those of their entries, writing at `position`: every column's new
/// history, changed block maximum and scale, and the position, against the
/// references.
void checkUpdate(ampc::JitModule &module, const Column (&columns)[kColumns],
                 int64_t blocks, int32_t position) {
  int64_t n = int64_t(columns[0].values.size()), blockLength = n / blocks;
  Tensor h(DType::F32, {n, kColumns}), m(DType::F32, {blocks, kColumns});
  Tensor p(DType::I32, {}), a(DType::F32, {kColumns}),
      old(DType::F32, {kColumns});
  for (int64_t c = 0; c < kColumns; ++c) {
    const std::vector<float> &values = columns[c].values;
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(&h.as<float>()[i * kColumns + c], &values[size_t(i)], 4);
    for (int64_t j = 0; j < blocks; ++j)
      m.as<float>()[j * kColumns + c] = referenceMax(
          values, size_t(j * blockLength), size_t((j + 1) * blockLength));
    a.as<float>()[c] = columns[c].amax;
    old.as<float>()[c] = 0.75f;
  }
  p.as<int32_t>()[0] = position;
  auto out = module.call("update", {h, m, p, a, old});
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  int32_t at = position >= 0 && position < n ? position : 0;
  ASSERT_EQ((*out)[2].as<int32_t>()[0], (at + 1) % n);
  for (int64_t c = 0; c < kColumns; ++c)
    checkColumn(*out, columns[c], c, blocks, at);
}

/// An update whose first and last columns (E4M3, E5M2) hold `values` and
/// `amax`, and whose middle column holds plain values and a plain amax: no
/// column's NaN or maximum leaks into another.
void checkUpdate(ampc::JitModule &module, const std::vector<float> &values,
                 int64_t blocks, int32_t position, float amax) {
  std::vector<float> plain(values.size());
  for (size_t i = 0; i < plain.size(); ++i)
    plain[i] = 0.25f + 0.002f * float(i % 89);
  const Column columns[kColumns] = {
      {values, amax}, {plain, 1.5f}, {values, amax}};
  checkUpdate(module, columns, blocks, position);
}

/// The history's maximum as the scale reads it, at every ISA level, for
/// histories with NaNs of either sign, infinities, signed zeros, negative
/// and subnormal values planted at the ends, at block boundaries and inside
/// (then overwritten, or not), and for histories of only negative values or
/// zeros; in one block, in blocks of one value and in 20, 24 and 32 blocks
/// (blocks of 16 and 32 rows of 3 are reduced as rows of 48, which 16 rows
/// fill: one such row, and two).
TEST(Fp8ScalingTest, HistoryMaximumPropagatesNaNAndOrdersAsFloats) {
  const float specials[] = {ampc::testing::floatFromBits(0x7fc00000u),
                            ampc::testing::floatFromBits(0xffc00000u),
                            ampc::testing::floatFromBits(0x7f800001u),
                            ampc::testing::floatFromBits(0xff800001u),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            -0.0f,
                            0.0f,
                            3.0e38f,
                            ampc::testing::floatFromBits(1u),
                            -5.0f,
                            9.5f};
  const std::pair<int64_t, int64_t> shapes[] = {
      {5, 1}, {5, 5}, {200, 20}, {384, 24}, {1024, 32}};
  for (auto [n, blocks] : shapes) {
    for (const std::string &features : ampc::testing::hostIsaLevels()) {
      SCOPED_TRACE("n = " + std::to_string(n) + " in " +
                   std::to_string(blocks) + " blocks, features: '" + features +
                   "'");
      ampc::JitOptions options;
      options.threads = 1;
      options.cpuFeatures = features;
      auto module =
          ampc::JitModule::fromString(updateSource(n, blocks), options);
      ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
      std::vector<float> base(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        base[size_t(i)] = 0.5f + 0.001f * float(i % 97);
      int64_t blockLength = n / blocks;
      std::vector<int64_t> at = {0,     n / 2,           n - 2,
                                 n - 1, blockLength - 1, blockLength % n};
      for (float special : specials)
        for (int64_t i : at) {
          std::vector<float> values = base;
          values[size_t(i)] = special;
          for (int32_t position : {int32_t(i), int32_t((i + 1) % n), 0}) {
            checkUpdate(**module, values, blocks, position, 2.0f);
            checkUpdate(**module, values, blocks, position, 0.0f);
          }
        }
      for (float amax : specials) {
        checkUpdate(**module, base, blocks, int32_t(n / 3), amax);
        checkUpdate(**module, std::vector<float>(size_t(n), -1.0f), blocks, 0,
                    amax);
        checkUpdate(**module, std::vector<float>(size_t(n), -0.0f), blocks,
                    int32_t(n - 1), amax);
        checkUpdate(**module, std::vector<float>(size_t(n), 0.0f), blocks, 1,
                    amax);
      }
      // A position outside the history (state written by hand) counts as 0.
      checkUpdate(**module, base, blocks, int32_t(n), 3.0f);
      checkUpdate(**module, base, blocks, -1, 3.0f);
    }
  }
}

/// amp.amax over `n` values of `element` (f32 or bf16).
std::string amaxSource(int64_t n, const std::string &element) {
  std::string t = "tensor<" + std::to_string(n) + "x" + element + ">";
  return "func.func @amax(%x: " + t +
         ") -> tensor<f32> {\n"
         "  %a = amp.amax %x : " +
         t +
         "\n  %t = tensor.from_elements %a : tensor<f32>\n"
         "  return %t : tensor<f32>\n}\n";
}

/// torch.amax(torch.abs(x)) with its NaN rule: any NaN makes the result a
/// NaN; otherwise the largest magnitude, +0 over zeros of either sign.
uint32_t referenceAmaxBits(const std::vector<float> &values) {
  float largest = 0.0f;
  for (float v : values) {
    if (std::isnan(v))
      return 0x7fc00000u;
    largest = std::max(largest, std::fabs(v));
  }
  uint32_t bits;
  std::memcpy(&bits, &largest, 4);
  return bits;
}

/// amp.amax at every ISA level on f32 and bf16 tensors of 7, 256 (rows of
/// 64 partial maxima) and 1000 values, with NaNs of either sign and
/// payload, infinities, signed zeros, the largest finite and the smallest
/// subnormal magnitude planted at the ends, at row boundaries and inside,
/// and over all-zero and all-negative tensors: the result's bits against
/// the reference (a NaN as the quiet NaN).
TEST(Fp8ScalingTest, AmaxIsTheLargestMagnitudeAndPropagatesNaN) {
  const uint32_t specials[] = {0x7fc00000u, 0xffc00000u, 0x7f810000u,
                               0xff810000u, 0x7f800000u, 0xff800000u,
                               0x80000000u, 0x00000000u, 0x7f7f0000u,
                               0xff7f0000u, 0x00010000u, 0x80010000u};
  for (const char *element : {"f32", "bf16"}) {
    bool bf16 = std::string(element) == "bf16";
    for (int64_t n : {7, 256, 1000}) {
      for (const std::string &features : ampc::testing::hostIsaLevels()) {
        SCOPED_TRACE(std::string(element) + ", n = " + std::to_string(n) +
                     ", features: '" + features + "'");
        ampc::JitOptions options;
        options.threads = 1;
        options.cpuFeatures = features;
        auto module =
            ampc::JitModule::fromString(amaxSource(n, element), options);
        ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
        auto check = [&](const std::vector<float> &values) {
          Tensor x(bf16 ? DType::BF16 : DType::F32, {n});
          for (int64_t i = 0; i < n; ++i) {
            uint32_t bits;
            std::memcpy(&bits, &values[size_t(i)], 4);
            if (bf16)
              x.as<uint16_t>()[i] = uint16_t(bits >> 16);
            else
              x.as<uint32_t>()[i] = bits;
          }
          auto out = (*module)->call("amax", {x});
          ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
          uint32_t got;
          std::memcpy(&got, (*out)[0].data.data(), 4);
          ASSERT_EQ(got, referenceAmaxBits(values));
        };
        std::vector<float> base(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
          base[size_t(i)] = (i % 2 ? -1.0f : 1.0f) * (0.5f + float(i % 37));
        std::vector<int64_t> at = {0, n / 2, n - 1};
        if (n >= 128)
          at.insert(at.end(), {63, 64, 127});
        for (uint32_t special : specials)
          for (int64_t i : at) {
            std::vector<float> values = base;
            values[size_t(i)] = ampc::testing::floatFromBits(special);
            check(values);
            std::vector<float> zeros(size_t(n), -0.0f);
            zeros[size_t(i)] = ampc::testing::floatFromBits(special);
            check(zeros);
          }
        check(std::vector<float>(size_t(n), -3.0f));
        check(std::vector<float>(size_t(n), -0.0f));
      }
    }
  }
}

TEST(Fp8ScalingTest, BadOptionsAreClearErrors) {
  ampc::PrecisionOptions precision;
  EXPECT_EQ(llvm::toString(precision.setFp8Algo("median")),
            "unknown fp8 amax algorithm 'median'; expected max or most_recent");
  EXPECT_EQ(llvm::toString(precision.setFp8Recipe("jit")),
            "unknown fp8 recipe 'jit'; expected delayed or current");
  precision.fp8Margin = -1;
  EXPECT_EQ(llvm::toString(precision.verify()),
            "the fp8 margin must be >= 0, got -1");
}

} // namespace
