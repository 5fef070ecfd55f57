//===- JitTest.cpp - the JIT host API against f64 references --------------===//
//
// Compiles contractions and the zoo MLP under every policy through the host
// API, runs them on random inputs and compares with f64 references computed
// here. Tolerances are derived from the formats' unit roundoff u (2^-8 bf16,
// 2^-11 f16, 2^-4 f8E4M3FN) and the reduction length K: each low-precision
// input is rounded once (relative error u, or half the smallest subnormal),
// products are exact in f32 and the f32 sum of K terms adds K * 2^-24
// relative to the sum of magnitudes. The tests also check that a low policy
// really computed in low precision (its error is well above f32's).
//
//===----------------------------------------------------------------------===//

#include "FloatReference.h"
#include "JitTestSupport.h"

#include "ampc/JIT/JIT.h"

#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

struct Precision {
  const char *policy;
  double u;        // unit roundoff of the compute type
  double absFloor; // half the smallest subnormal
};

const Precision kPolicies[] = {
    {"none", 0, 0},
    {"fp32", 0, 0},
    {"bf16", std::ldexp(1.0, -8), std::ldexp(1.0, -134)},
    {"fp16", std::ldexp(1.0, -11), std::ldexp(1.0, -25)},
    {"fp8", std::ldexp(1.0, -4), std::ldexp(1.0, -10)},
};
const double kU32 = std::ldexp(1.0, -24);

Tensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng, float lo,
                    float hi) {
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.as<float>()[i] = dist(rng);
  return t;
}

std::unique_ptr<ampc::JitModule> compile(const std::string &source,
                                         const char *policy) {
  ampc::JitOptions options;
  options.precision.policy = ampc::testing::policyNamed(policy);
  auto module = ampc::JitModule::fromString(source, options);
  EXPECT_TRUE(static_cast<bool>(module))
      << policy << ": " << llvm::toString(module.takeError());
  return module ? std::move(*module) : nullptr;
}

/// Checks |got - ref| <= bound elementwise; returns the largest error.
double checkWithin(const Tensor &got, const std::vector<double> &ref,
                   const std::vector<double> &bound, const std::string &what) {
  double maxErr = 0;
  int failures = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double err = std::fabs(double(got.as<float>()[i]) - ref[i]);
    maxErr = std::max(maxErr, err);
    if (!(err <= bound[i]) && ++failures <= 3)
      ADD_FAILURE() << what << " element " << i << ": got "
                    << got.as<float>()[i] << ", reference " << ref[i]
                    << ", bound " << bound[i];
  }
  return maxErr;
}

/// C[m][n] = sum_k A[m][k] B[k][n] for `batch` independent products, with the
/// error bound of a low-precision contraction accumulating in f32.
void referenceMatmul(const Tensor &a, const Tensor &b, int64_t batch, int64_t m,
                     int64_t k, int64_t n, const Precision &p,
                     std::vector<double> &ref, std::vector<double> &bound) {
  ref.assign(size_t(batch * m * n), 0);
  bound.assign(ref.size(), 0);
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0, mag = 0;
        for (int64_t q = 0; q < k; ++q) {
          double x = a.as<float>()[(bi * m + i) * k + q];
          double y = b.as<float>()[(bi * k + q) * n + j];
          sum += x * y;
          mag += std::fabs(x * y) + (std::fabs(x) + std::fabs(y)) * p.absFloor;
        }
        size_t o = size_t((bi * m + i) * n + j);
        ref[o] = sum;
        bound[o] = mag * (2 * p.u + p.u * p.u + double(k + 2) * kU32) + 1e-30;
      }
}

const char *kMatmul = R"mlir(
func.func @mm(%a: tensor<32x64xf32>, %b: tensor<64x16xf32>) -> tensor<32x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<32x16xf32>) -> tensor<32x16xf32>
  %m = linalg.matmul ins(%a, %b : tensor<32x64xf32>, tensor<64x16xf32>) outs(%f : tensor<32x16xf32>) -> tensor<32x16xf32>
  return %m : tensor<32x16xf32>
}
func.func @bmm(%a: tensor<3x8x16xf32>, %b: tensor<3x16x8xf32>) -> tensor<3x8x8xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x8x8xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x8x8xf32>) -> tensor<3x8x8xf32>
  %m = linalg.batch_matmul ins(%a, %b : tensor<3x8x16xf32>, tensor<3x16x8xf32>) outs(%f : tensor<3x8x8xf32>) -> tensor<3x8x8xf32>
  return %m : tensor<3x8x8xf32>
}
func.func @conv(%x: tensor<2x10x10x3xf32>, %w: tensor<3x3x3x4xf32>) -> tensor<2x8x8x4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x8x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x8x8x4xf32>) -> tensor<2x8x8x4xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x10x10x3xf32>, tensor<3x3x3x4xf32>) outs(%f : tensor<2x8x8x4xf32>) -> tensor<2x8x8x4xf32>
  return %c : tensor<2x8x8x4xf32>
}
)mlir";

TEST(JitTest, ContractionsUnderEveryPolicy) {
  std::mt19937 rng(7);
  Tensor a = randomTensor({32, 64}, rng, -1, 1),
         b = randomTensor({64, 16}, rng, -1, 1);
  Tensor ba = randomTensor({3, 8, 16}, rng, -1, 1),
         bb = randomTensor({3, 16, 8}, rng, -1, 1);
  Tensor cx = randomTensor({2, 10, 10, 3}, rng, -1, 1),
         cw = randomTensor({3, 3, 3, 4}, rng, -1, 1);
  double fp32Err = 0;
  for (const Precision &p : kPolicies) {
    auto module = compile(kMatmul, p.policy);
    ASSERT_TRUE(module);
    std::vector<double> ref, bound;

    auto mm = module->call("mm", {a, b});
    ASSERT_TRUE(static_cast<bool>(mm)) << llvm::toString(mm.takeError());
    referenceMatmul(a, b, 1, 32, 64, 16, p, ref, bound);
    double err =
        checkWithin((*mm)[0], ref, bound, std::string("mm/") + p.policy);
    if (p.u == 0)
      fp32Err = std::max(fp32Err, err);
    else // the low type was really used
      EXPECT_GT(err, 10 * fp32Err + 1e-6) << p.policy;

    auto bmm = module->call("bmm", {ba, bb});
    ASSERT_TRUE(static_cast<bool>(bmm)) << llvm::toString(bmm.takeError());
    referenceMatmul(ba, bb, 3, 8, 16, 8, p, ref, bound);
    checkWithin((*bmm)[0], ref, bound, std::string("bmm/") + p.policy);

    auto conv = module->call("conv", {cx, cw});
    ASSERT_TRUE(static_cast<bool>(conv)) << llvm::toString(conv.takeError());
    // Reference convolution, stride 1, no padding: K = 3*3*3.
    ref.assign(2 * 8 * 8 * 4, 0);
    bound.assign(ref.size(), 0);
    for (int n = 0; n < 2; ++n)
      for (int h = 0; h < 8; ++h)
        for (int w = 0; w < 8; ++w)
          for (int f = 0; f < 4; ++f) {
            double sum = 0, mag = 0;
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 3; ++kw)
                for (int c = 0; c < 3; ++c) {
                  double x =
                      cx.as<float>()[((n * 10 + h + kh) * 10 + w + kw) * 3 + c];
                  double y = cw.as<float>()[((kh * 3 + kw) * 3 + c) * 4 + f];
                  sum += x * y;
                  mag += std::fabs(x * y) +
                         (std::fabs(x) + std::fabs(y)) * p.absFloor;
                }
            size_t o = size_t(((n * 8 + h) * 8 + w) * 4 + f);
            ref[o] = sum;
            bound[o] = mag * (2 * p.u + p.u * p.u + 29 * kU32) + 1e-30;
          }
    checkWithin((*conv)[0], ref, bound, std::string("conv/") + p.policy);
  }
}

std::string readZooModel(const char *name) {
  std::string path = std::string(AMPC_SOURCE_DIR) + "/examples/models/" + name;
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(static_cast<bool>(buffer)) << path;
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

TEST(JitTest, ZooMlpForwardUnderEveryPolicy) {
  std::mt19937 rng(11);
  const int B = 128, I = 784, H = 256, O = 10;
  Tensor w1 = randomTensor({I, H}, rng, -1.0f / 28, 1.0f / 28);
  Tensor b1 = randomTensor({H}, rng, -0.1f, 0.1f);
  Tensor w2 = randomTensor({H, O}, rng, -1.0f / 16, 1.0f / 16);
  Tensor b2 = randomTensor({O}, rng, -0.1f, 0.1f);
  Tensor x = randomTensor({B, I}, rng, 0, 1);
  Tensor onehot(DType::F32, {B, O});
  for (int i = 0; i < B; ++i)
    onehot.as<float>()[i * O + i % O] = 1;

  std::string source = readZooModel("mlp.mlir");
  for (const Precision &p : kPolicies) {
    auto module = compile(source, p.policy);
    ASSERT_TRUE(module);
    auto out = module->call("forward", {w1, b1, w2, b2, x, onehot});
    ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());

    // f64 reference with a first-order error bound per logit: layer 1's
    // contraction error, the hidden activation rounded to the low type
    // (relative u) and layer 2's contraction error.
    std::vector<double> logits(B * O), bound(B * O);
    double loss = 0, maxBound = 0;
    for (int r = 0; r < B; ++r) {
      std::vector<double> h(H), herr(H);
      for (int j = 0; j < H; ++j) {
        double sum = 0, mag = 0;
        for (int k = 0; k < I; ++k) {
          double a = x.as<float>()[r * I + k], w = w1.as<float>()[k * H + j];
          sum += a * w;
          mag += std::fabs(a * w) + (std::fabs(a) + std::fabs(w)) * p.absFloor;
        }
        double pre = sum + b1.as<float>()[j];
        h[j] = std::max(pre, 0.0);
        herr[j] = mag * (2 * p.u + p.u * p.u + (I + 2) * kU32) +
                  std::fabs(pre) * kU32;
      }
      double maxLogit = -INFINITY;
      for (int o = 0; o < O; ++o) {
        double sum = 0, mag = 0, propagated = 0;
        for (int j = 0; j < H; ++j) {
          double w = w2.as<float>()[j * O + o];
          sum += h[j] * w;
          mag += std::fabs(h[j] * w) +
                 (std::fabs(h[j]) + std::fabs(w)) * p.absFloor;
          propagated += std::fabs(w) * herr[j] * (1 + p.u);
        }
        logits[r * O + o] = sum + b2.as<float>()[o];
        bound[r * O + o] =
            propagated + mag * (2 * p.u + p.u * p.u + (H + 2) * kU32) + 1e-6;
        maxLogit = std::max(maxLogit, logits[r * O + o]);
        maxBound = std::max(maxBound, bound[r * O + o]);
      }
      double sumExp = 0;
      for (int o = 0; o < O; ++o)
        sumExp += std::exp(logits[r * O + o] - maxLogit);
      loss -= (logits[r * O + r % O] - maxLogit - std::log(sumExp)) / B;
    }
    checkWithin((*out)[1], logits, bound, std::string("logits/") + p.policy);
    // Cross-entropy is 2-Lipschitz in the largest logit error; f32 adds
    // rounding of order 1e-6.
    double gotLoss = (*out)[0].as<float>()[0];
    EXPECT_NEAR(gotLoss, loss, 2 * maxBound + 1e-5) << p.policy;
  }
}

// The tensor casts go through the whole CPU pipeline (elementwise generics,
// vectorized): every 16-bit and 8-bit pattern decodes like the reference, and
// f32 encodes on a dense sweep.
TEST(JitTest, VectorizedTensorCastsMatchTheReference) {
  using namespace ampc::testing;
  const char *source = R"mlir(
func.func @dec_bf16(%x: tensor<65536xbf16>) -> tensor<65536xf32> {
  %0 = amp.cast %x : tensor<65536xbf16> to tensor<65536xf32>
  return %0 : tensor<65536xf32>
}
func.func @dec_f16(%x: tensor<65536xf16>) -> tensor<65536xf32> {
  %0 = amp.cast %x : tensor<65536xf16> to tensor<65536xf32>
  return %0 : tensor<65536xf32>
}
func.func @dec_e4m3(%x: tensor<256xf8E4M3FN>) -> tensor<256xf32> {
  %0 = amp.cast %x : tensor<256xf8E4M3FN> to tensor<256xf32>
  return %0 : tensor<256xf32>
}
func.func @dec_e5m2(%x: tensor<256xf8E5M2>) -> tensor<256xf32> {
  %0 = amp.cast %x : tensor<256xf8E5M2> to tensor<256xf32>
  return %0 : tensor<256xf32>
}
func.func @enc(%x: tensor<65536xf32>) -> (tensor<65536xbf16>, tensor<65536xf16>, tensor<65536xf8E4M3FN>, tensor<65536xf8E5M2>) {
  %0 = amp.cast %x : tensor<65536xf32> to tensor<65536xbf16>
  %1 = amp.cast %x : tensor<65536xf32> to tensor<65536xf16>
  %2 = amp.cast %x : tensor<65536xf32> to tensor<65536xf8E4M3FN>
  %3 = amp.cast %x overflow nonfinite : tensor<65536xf32> to tensor<65536xf8E5M2>
  return %0, %1, %2, %3 : tensor<65536xbf16>, tensor<65536xf16>, tensor<65536xf8E4M3FN>, tensor<65536xf8E5M2>
}
)mlir";
  auto module = compile(source, "none");
  ASSERT_TRUE(module);
  struct Decode {
    const char *fn;
    const Format *format;
    DType dtype;
  };
  for (Decode d : {Decode{"dec_bf16", &kBF16, DType::BF16},
                   Decode{"dec_f16", &kF16, DType::F16},
                   Decode{"dec_e4m3", &kE4M3, DType::F8E4M3FN},
                   Decode{"dec_e5m2", &kE5M2, DType::F8E5M2}}) {
    int64_t n = int64_t(1) << d.format->width;
    Tensor in(d.dtype, {n});
    for (int64_t i = 0; i < n; ++i) {
      if (d.format->width == 16)
        in.as<uint16_t>()[i] = uint16_t(i);
      else
        in.as<uint8_t>()[i] = uint8_t(i);
    }
    auto out = module->call(d.fn, {in});
    ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
    int failures = 0;
    for (int64_t i = 0; i < n; ++i) {
      double want = refDecode(*d.format, uint32_t(i));
      float got = (*out)[0].as<float>()[i];
      bool ok = std::isnan(want) ? std::isnan(got)
                                 : (double(got) == want &&
                                    std::signbit(got) == std::signbit(want));
      if (!ok && ++failures <= 3)
        ADD_FAILURE() << d.fn << "(0x" << std::hex << i << ") = " << got;
    }
    EXPECT_EQ(failures, 0) << d.fn;
  }

  // A sweep over the f32 patterns (every 65537th), through all four formats.
  Tensor in(DType::F32, {65536});
  for (int64_t i = 0; i < 65536; ++i) {
    uint32_t bits = uint32_t(uint64_t(i) * 65537u);
    std::memcpy(&in.as<float>()[i], &bits, 4);
  }
  auto out = module->call("enc", {in});
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  struct Encode {
    const Format *format;
    bool saturate;
  };
  Encode encodes[] = {
      {&kBF16, false}, {&kF16, false}, {&kE4M3, true}, {&kE5M2, false}};
  for (int r = 0; r < 4; ++r) {
    const Format &f = *encodes[r].format;
    auto table = finiteValues(f);
    int failures = 0;
    for (int64_t i = 0; i < 65536; ++i) {
      uint32_t got = f.width == 16 ? (*out)[r].as<uint16_t>()[i]
                                   : (*out)[r].as<uint8_t>()[i];
      Expected want =
          refEncode(f, table, in.as<float>()[i], encodes[r].saturate);
      bool gotNaN = std::isnan(refDecode(f, got));
      bool ok = want.nan ? gotNaN : (!gotNaN && got == want.bits);
      if (!ok && ++failures <= 3)
        ADD_FAILURE() << f.name << " of " << in.as<float>()[i] << ": 0x"
                      << std::hex << got;
    }
    EXPECT_EQ(failures, 0) << f.name;
  }
}

// Pipeline options reach the compiler: an override keeps the matmul in f32
// under bf16 (f32-accurate again), and unvectorized loops agree with the
// vectorized code.
TEST(JitTest, PipelineOptions) {
  std::mt19937 rng(5);
  Tensor a = randomTensor({32, 64}, rng, -1, 1),
         b = randomTensor({64, 16}, rng, -1, 1);
  std::vector<double> ref, bound;
  referenceMatmul(a, b, 1, 32, 64, 16, kPolicies[0], ref, bound);

  ampc::JitOptions override;
  override.precision.policy = ampc::testing::policyNamed("bf16");
  override.precision.fp32Ops = {"linalg.matmul"};
  auto module = ampc::JitModule::fromString(kMatmul, override);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  auto out = (*module)->call("mm", {a, b});
  ASSERT_TRUE(static_cast<bool>(out));
  checkWithin((*out)[0], ref, bound, "mm with fp32-ops");

  ampc::JitOptions loops;
  loops.vectorize = false;
  auto plain = ampc::JitModule::fromString(kMatmul, loops);
  ASSERT_TRUE(static_cast<bool>(plain)) << llvm::toString(plain.takeError());
  auto plainOut = (*plain)->call("mm", {a, b});
  ASSERT_TRUE(static_cast<bool>(plainOut));
  checkWithin((*plainOut)[0], ref, bound, "mm without vectorization");
}

TEST(JitTest, ErrorsComeBackAsValues) {
  auto expectError = [](auto &&result, const std::string &needle) {
    ASSERT_FALSE(static_cast<bool>(result));
    std::string message = llvm::toString(result.takeError());
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  };
  expectError(ampc::JitModule::fromString("func.func @f( {"),
              "cannot parse '<string>':");
  expectError(ampc::JitModule::fromFile("/nonexistent/model.mlir"),
              "cannot open '/nonexistent/model.mlir'");
  ampc::JitOptions bf16;
  bf16.precision.policy = ampc::testing::policyNamed("bf16");
  expectError(ampc::JitModule::fromString(
                  "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
                  "  %0 = math.sin %x : tensor<4xf32>\n"
                  "  return %0 : tensor<4xf32>\n}\n",
                  bf16),
              "'math.sin' op is not supported by amp-autocast");
  ampc::PrecisionOptions badPolicy;
  llvm::Error policyError = badPolicy.setPolicy("int4");
  EXPECT_EQ(llvm::toString(std::move(policyError)),
            "unknown policy 'int4'; expected none, fp32, bf16, fp16 or fp8");
  ampc::JitOptions badHistory;
  badHistory.precision.policy = ampc::amp::Policy::fp8;
  badHistory.precision.fp8HistoryLength = 0;
  expectError(ampc::JitModule::fromString(kMatmul, badHistory),
              "the fp8 amax history length must be positive, got 0");
  // CPU features LLVM would warn about and leave out are errors.
  ampc::JitOptions badFeature;
  badFeature.cpuFeatures = "-avx512f,+avx513f";
  expectError(ampc::JitModule::fromString(kMatmul, badFeature),
              "'avx513f' is not a CPU feature of x86_64");
  ampc::JitOptions unsignedFeature;
  unsignedFeature.cpuFeatures = "avx2";
  expectError(ampc::JitModule::fromString(kMatmul, unsignedFeature),
              "target feature 'avx2' needs a sign: '+avx2' turns it on, "
              "'-avx2' off");

  auto module = compile(kMatmul, "none");
  ASSERT_TRUE(module);
  std::mt19937 rng(1);
  Tensor a = randomTensor({32, 64}, rng, -1, 1),
         b = randomTensor({64, 16}, rng, -1, 1);
  expectError(
      module->call("nope", {a, b}),
      "no public function 'nope' in the module (it has: mm, bmm, conv)");
  expectError(module->call("mm", {a}),
              "function 'mm' takes 2 arguments, got 1");
  expectError(
      module->call("mm", {a, a}),
      "argument #1 of 'mm' must be tensor<64x16xf32>, got tensor<32x64xf32>");
  Tensor ints(DType::I32, {64, 16});
  expectError(
      module->call("mm", {a, ints}),
      "argument #1 of 'mm' must be tensor<64x16xf32>, got tensor<64x16xi32>");
  // The module stays usable after errors.
  auto ok = module->call("mm", {a, b});
  EXPECT_TRUE(static_cast<bool>(ok));
  if (!ok)
    llvm::consumeError(ok.takeError());
}

/// The flags of /proc/cpuinfo's first processor, space-separated with a
/// space at both ends; empty where there is no such file.
std::string cpuinfoFlags() {
  // A stream: /proc files report a size of 0.
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    llvm::StringRef text(line);
    if (text.consume_front("flags") && text.trim().starts_with(":"))
      return " " + text.split(':').second.trim().str() + " ";
  }
  return "";
}

// The JIT runs what it compiles on this machine: a feature the CPU lacks
// (as the kernel lists its flags) is an error before anything compiles,
// not a SIGILL at the first call. Tuning flags and features the host has
// pass.
TEST(JitTest, FeaturesTheHostLacksAreErrors) {
  std::string flags = cpuinfoFlags();
  if (flags.empty())
    GTEST_SKIP() << "no /proc/cpuinfo flags to compare with";
  const std::pair<const char *, const char *> candidates[] = {
      {"amx-tile", " amx_tile "}, {"avx512fp16", " avx512_fp16 "}};
  int checked = 0;
  for (auto [feature, flag] : candidates) {
    if (flags.find(flag) != std::string::npos)
      continue;
    ampc::JitOptions options;
    options.cpuFeatures = std::string("+") + feature;
    auto module = ampc::JitModule::fromString(kMatmul, options);
    ASSERT_FALSE(static_cast<bool>(module)) << feature;
    std::string message = llvm::toString(module.takeError());
    EXPECT_NE(message.find(std::string("'+") + feature + "' needs " + feature),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("which this CPU ("), std::string::npos) << message;
    ++checked;
  }
  ampc::JitOptions tuning;
  tuning.cpuFeatures = "+prefer-256-bit";
  if (flags.find(" avx2 ") != std::string::npos)
    tuning.cpuFeatures += ",+avx2";
  auto module = ampc::JitModule::fromString(kMatmul, tuning);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  std::mt19937 rng(3);
  Tensor a = randomTensor({32, 64}, rng, -1, 1),
         b = randomTensor({64, 16}, rng, -1, 1);
  auto out = (*module)->call("mm", {a, b});
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{32, 16}));
  if (!checked)
    GTEST_SKIP() << "this CPU has every candidate feature (amx-tile, "
                    "avx512fp16): nothing it lacks to ask for";
}

TEST(JitTest, CallInPlaceOnTargetTensors) {
  auto module = compile(kMatmul, "bf16");
  ASSERT_TRUE(module);
  std::mt19937 rng(3);
  Tensor a = randomTensor({32, 64}, rng, -1, 1),
         b = randomTensor({64, 16}, rng, -1, 1);
  auto expected = module->call("mm", {a, b});
  ASSERT_TRUE(static_cast<bool>(expected))
      << llvm::toString(expected.takeError());
  const ampc::FunctionSignature &mm = *module->lookup("mm");
  auto ta = module->allocate(mm.inputs[0]), tb = module->allocate(mm.inputs[1]),
       out = module->allocate(mm.results[0]);
  ASSERT_TRUE(ta && tb && out);
  EXPECT_EQ(out->bytes(), size_t(32 * 16 * 4));
  EXPECT_EQ(out->as<float>()[5], 0.0f); // zero-filled
  ASSERT_FALSE(static_cast<bool>(ta->assign(a)));
  ASSERT_FALSE(static_cast<bool>(tb->assign(b)));
  ASSERT_FALSE(
      static_cast<bool>(module->callInPlace("mm", {&*ta, &*tb}, {&*out})));
  // Bit for bit what call() computes, and the inputs untouched.
  Tensor got = out->toTensor();
  EXPECT_EQ(got.data, (*expected)[0].data);
  EXPECT_EQ(ta->toTensor().data, a.data);

  auto expectError = [](llvm::Error error, const std::string &needle) {
    ASSERT_TRUE(static_cast<bool>(error));
    std::string message = llvm::toString(std::move(error));
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  };
  expectError(ta->assign(b),
              "expected tensor<32x64xf32>, got tensor<64x16xf32>");
  expectError(module->callInPlace("mm", {&*ta, &*ta}, {&*out}),
              "argument #1 of 'mm' must be tensor<64x16xf32>, got "
              "tensor<32x64xf32>");
  auto square = module->allocate(ampc::ValueType{DType::F32, {32, 64}});
  ASSERT_TRUE(static_cast<bool>(square));
  expectError(module->callInPlace("mm", {&*ta, &*tb}, {&*square}),
              "output #0 of 'mm' must be tensor<32x16xf32>, got "
              "tensor<32x64xf32>");
  expectError(module->callInPlace("mm", {&*ta, &*tb}, {&*tb}),
              "output #0 of 'mm' is also an argument");
  auto alias = module->allocate(mm.results[0]);
  ASSERT_TRUE(static_cast<bool>(alias));
  ampc::TargetTensor moved = std::move(*alias);
  expectError(module->callInPlace("mm", {&*ta, &*tb}, {&*alias}),
              "output #0 of 'mm' is an empty TargetTensor");
  expectError(alias->assign(got), "the TargetTensor is empty");
  EXPECT_EQ(moved.bytes(), out->bytes());
  expectError(module->callInPlace("mm", {&*ta, &*tb}, {nullptr}),
              "output #0 of 'mm' is an empty TargetTensor");
}

/// A prepared call reads where its tensors' buffers are at each run: after
/// buffers change places, from outside the call too; an emptied or resized
/// tensor is refused by name.
TEST(JitTest, PreparedCallFollowsTheBuffersOfEachRun) {
  auto module = compile(kMatmul, "fp32");
  ASSERT_TRUE(module);
  std::mt19937 rng(5);
  Tensor a = randomTensor({32, 64}, rng, -1, 1),
         a2 = randomTensor({32, 64}, rng, -1, 1),
         b = randomTensor({64, 16}, rng, -1, 1);
  auto expected = module->call("mm", {a, b}),
       expected2 = module->call("mm", {a2, b});
  ASSERT_TRUE(expected && expected2);
  const ampc::FunctionSignature &mm = *module->lookup("mm");
  auto ta = module->allocate(mm.inputs[0]),
       ta2 = module->allocate(mm.inputs[0]),
       tb = module->allocate(mm.inputs[1]),
       out = module->allocate(mm.results[0]),
       out2 = module->allocate(mm.results[0]);
  ASSERT_TRUE(ta && ta2 && tb && out && out2);
  ASSERT_FALSE(static_cast<bool>(ta->assign(a)));
  ASSERT_FALSE(static_cast<bool>(ta2->assign(a2)));
  ASSERT_FALSE(static_cast<bool>(tb->assign(b)));
  auto call = module->prepare("mm", {&*ta, &*tb}, {&*out});
  ASSERT_TRUE(static_cast<bool>(call)) << llvm::toString(call.takeError());
  ASSERT_FALSE(static_cast<bool>((*call)->run()));
  EXPECT_EQ(out->toTensor().data, (*expected)[0].data);
  // A's buffer from outside the call, and a fresh output buffer: the run
  // reads and writes those; the old output buffer keeps the first result.
  ta->swapBuffers(*ta2);
  out->swapBuffers(*out2);
  ASSERT_FALSE(static_cast<bool>((*call)->run()));
  EXPECT_EQ(out->toTensor().data, (*expected2)[0].data);
  EXPECT_EQ(out2->toTensor().data, (*expected)[0].data);

  auto expectError = [](llvm::Error error, const std::string &needle) {
    ASSERT_TRUE(static_cast<bool>(error));
    std::string message = llvm::toString(std::move(error));
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  };
  expectError(module->prepare("mm", {&*ta, &*tb}, {&*tb}).takeError(),
              "output #0 of 'mm' is also an argument");
  expectError(module->prepare("mm", {&*ta, &*ta}, {&*out}).takeError(),
              "argument #1 of 'mm' must be tensor<64x16xf32>");
  auto small = module->allocate(ampc::ValueType{DType::F32, {16, 16}});
  ASSERT_TRUE(static_cast<bool>(small));
  ampc::TargetTensor keptB = std::move(*tb);
  expectError((*call)->run(), "argument #1 of 'mm' is an empty TargetTensor");
  *tb = std::move(*small);
  expectError((*call)->run(),
              "argument #1 of 'mm' changed size since the call was prepared");
  *tb = std::move(keptB);
  ASSERT_FALSE(static_cast<bool>((*call)->run()));
  EXPECT_EQ(out->toTensor().data, (*expected2)[0].data);
}

TEST(JitTest, CallInPlaceRejectsAnOutputThatIsAnInput) {
  const char *kScale =
      "func.func @twice(%x: tensor<8xf32>) -> tensor<8xf32> {\n"
      "  %0 = arith.addf %x, %x : tensor<8xf32>\n"
      "  return %0 : tensor<8xf32>\n}\n";
  auto module = compile(kScale, "none");
  ASSERT_TRUE(module);
  auto x = module->allocate(ampc::ValueType{DType::F32, {8}});
  ASSERT_TRUE(static_cast<bool>(x));
  llvm::Error error = module->callInPlace("twice", {&*x}, {&*x});
  ASSERT_TRUE(static_cast<bool>(error));
  EXPECT_EQ(llvm::toString(std::move(error)),
            "output #0 of 'twice' is also an argument");
}

// A function on tensors has value semantics: calling it leaves the caller's
// tensors as they were. (A training step under dynamic loss scaling used to
// write its selected parameters into its parameter inputs.)
TEST(JitTest, CallsLeaveTheInputsAlone) {
  auto mlp = llvm::MemoryBuffer::getFile(std::string(AMPC_SOURCE_DIR) +
                                         "/examples/models/mlp.mlir");
  ASSERT_TRUE(static_cast<bool>(mlp));
  auto step =
      ampc::transformSource((*mlp)->getBuffer(), "mlp.mlir",
                            "amp-build-train-step{loss-scaling=dynamic}");
  ASSERT_TRUE(static_cast<bool>(step)) << llvm::toString(step.takeError());
  auto module = compile(*step, "fp16");
  ASSERT_TRUE(module);
  const ampc::FunctionSignature &sig = *module->lookup("train_step");
  std::mt19937 rng(4);
  std::vector<Tensor> inputs;
  for (const ampc::ValueType &type : sig.inputs) {
    Tensor t(type.dtype, type.shape);
    if (type.dtype == DType::F32)
      t = randomTensor(type.shape, rng, -0.1f, 0.1f);
    inputs.push_back(std::move(t));
  }
  // The loss scale: 1024.
  for (size_t i = 0; i < sig.inputRoles.size(); ++i)
    if (sig.inputRoles[i] == "loss_scale")
      inputs[i].as<float>()[0] = 1024.0f;
  std::vector<Tensor> before = inputs;
  auto results = module->call("train_step", inputs);
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_EQ(inputs[i].data, before[i].data)
        << "argument #" << i << " (" << sig.inputRoles[i] << ") changed";
  // And the step did update: the new parameters differ from the old.
  EXPECT_NE((*results)[0].data, inputs[0].data);
}

} // namespace
