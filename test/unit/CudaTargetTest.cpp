//===- CudaTargetTest.cpp - the JIT's CUDA target against its CPU target --===//
//
// Without a GPU: asking for the CUDA target is a clear error. With one (run
// by scripts/gpu-check.sh on an H200): casts are bit-identical to the CPU
// back end over every 16-bit and 8-bit pattern and a dense sweep of f32
// patterns, a matmul and a convolution match the CPU's, and a short training
// run reaches the CPU run's accuracy.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/Train/TrainLoop.h"

#include "ampc/JIT/Trainer.h"
#include "ampc_rt/Cuda.h"

#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {

bool haveGpu(std::string *why = nullptr) {
  char reason[512] = "";
  bool available = ampc_rt_gpu_available(reason, sizeof reason);
  if (why)
    *why = reason;
  return available;
}

#define REQUIRE_GPU()                                                          \
  do {                                                                         \
    std::string why;                                                           \
    if (!haveGpu(&why))                                                        \
      GTEST_SKIP() << "no usable NVIDIA GPU (" << why                          \
                   << "): the CUDA target runs in scripts/gpu-check.sh";       \
  } while (0)

std::unique_ptr<ampc::JitModule> compile(const std::string &source,
                                         const char *target,
                                         const char *policy = "none",
                                         const char *features = "+ptx80",
                                         bool blockTiles = true) {
  ampc::JitOptions options;
  options.target = target;
  options.precision.policy = ampc::testing::policyNamed(policy);
  options.gpuFeatures = features;
  options.gpuBlockTiles = blockTiles;
  auto module = ampc::JitModule::fromString(source, options);
  if (!module) {
    ADD_FAILURE() << target << ": " << llvm::toString(module.takeError());
    return nullptr;
  }
  return std::move(*module);
}

TEST(CudaTargetTest, WithoutAGpuTheCudaTargetIsAClearError) {
  std::string why;
  if (haveGpu(&why))
    GTEST_SKIP() << "a GPU is present: the no-GPU error is not reachable";
  ampc::JitOptions options;
  options.target = "cuda";
  auto module = ampc::JitModule::fromString(
      "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
      "  return %x : tensor<4xf32>\n}\n",
      options);
  ASSERT_FALSE(static_cast<bool>(module));
  std::string message = llvm::toString(module.takeError());
  EXPECT_EQ(
      message.rfind("target cuda needs an NVIDIA GPU and its driver: ", 0), 0u)
      << message;
  EXPECT_NE(message.find(why), std::string::npos) << message;
}

std::string zooMlp() {
  auto buffer = llvm::MemoryBuffer::getFile(std::string(AMPC_SOURCE_DIR) +
                                            "/examples/models/mlp.mlir");
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

llvm::Expected<std::unique_ptr<ampc::Trainer>>
dataParallelTrainer(const char *target, const char *policy, bool parallel) {
  ampc::JitOptions jit;
  jit.target = target;
  jit.precision.policy = ampc::testing::policyNamed(policy);
  ampc::TrainOptions options;
  options.dataParallel = parallel;
  options.momentum = 0.9;
  return ampc::Trainer::create(zooMlp(), "mlp.mlir", jit, options);
}

TEST(CudaTargetTest, DataParallelWithoutAGpuIsAClearError) {
  std::string why;
  if (haveGpu(&why))
    GTEST_SKIP() << "a GPU is present: the no-GPU error is not reachable";
  char reason[512] = "";
  EXPECT_EQ(ampc_rt_cuda_collectives_available(reason, sizeof reason), 0);
  EXPECT_EQ(std::string(reason), "no GPU: " + why);
  auto trainer = dataParallelTrainer("cuda", "fp32", true);
  ASSERT_FALSE(static_cast<bool>(trainer));
  EXPECT_EQ(llvm::toString(trainer.takeError()),
            "data-parallel training on the cuda target (NCCL): no GPU: " + why);
}

/// The batches of step `step`: 128 random images and one-hot labels.
std::vector<Tensor> randomBatch(int step) {
  std::mt19937 rng(step);
  std::normal_distribution<float> normal;
  Tensor x(DType::F32, {128, 784}), y(DType::F32, {128, 10});
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.as<float>()[i] = normal(rng);
  for (int64_t r = 0; r < 128; ++r)
    y.as<float>()[r * 10 + rng() % 10] = 1.0f;
  return {x, y};
}

/// With one GPU: one rank over NCCL (the step's all-reduces are NCCL's, on
/// the device buffers) trains to the losses and parameters of the step
/// without them, bit for bit (the mean of one rank is its value), and to
/// the losses of the CPU's data-parallel step (MPI's path) within f32
/// rounding; fp8 max-reduces its amaxes through NCCL too.
TEST(CudaTargetTest, DataParallelOverNcclMatchesOneProcess) {
  REQUIRE_GPU();
  char reason[1024] = "";
  if (!ampc_rt_cuda_collectives_available(reason, sizeof reason))
    GTEST_SKIP() << "NCCL is not usable here: " << reason;
  for (const char *policy : {"fp32", "fp8"}) {
    std::vector<std::vector<float>> losses;
    std::vector<std::vector<Tensor>> params;
    for (auto [target, parallel] :
         {std::pair("cuda", true), std::pair("cuda", false),
          std::pair("cpu", true)}) {
      auto trainer = dataParallelTrainer(target, policy, parallel);
      ASSERT_TRUE(static_cast<bool>(trainer))
          << llvm::toString(trainer.takeError());
      losses.emplace_back();
      for (int step = 0; step < 20; ++step) {
        auto result = (*trainer)->step(randomBatch(step));
        ASSERT_TRUE(static_cast<bool>(result))
            << llvm::toString(result.takeError());
        losses.back().push_back(result->loss);
      }
      params.push_back((*trainer)->parameters());
    }
    EXPECT_EQ(losses[0], losses[1]) << policy;
    for (size_t p = 0; p < params[0].size(); ++p)
      EXPECT_EQ(params[0][p].data, params[1][p].data) << policy << " " << p;
    float worst = 0;
    for (size_t i = 0; i < losses[0].size(); ++i)
      worst = std::max(worst, std::fabs(losses[0][i] - losses[2][i]) /
                                  std::fabs(losses[2][i]));
    std::printf("[ cuda ] %s: NCCL step = step without it, bit for bit; vs "
                "the CPU's MPI step: max relative loss difference %.2e\n",
                policy, worst);
    EXPECT_LT(worst, std::string(policy) == "fp32" ? 1e-4f : 2e-2f) << policy;
  }
}

TEST(CudaTargetTest, UnknownTargetIsAClearError) {
  ampc::JitOptions options;
  options.target = "tpu";
  auto module =
      ampc::JitModule::fromString("func.func @f() {\n  return\n}\n", options);
  ASSERT_FALSE(static_cast<bool>(module));
  EXPECT_EQ(llvm::toString(module.takeError()),
            "unknown target 'tpu'; expected cpu or cuda");
}

/// f32 patterns: every value of the top 16 bits, with low bits that hit the
/// rounding boundaries, plus random ones.
Tensor f32Patterns() {
  std::vector<uint32_t> bits;
  for (uint32_t hi = 0; hi < 65536; ++hi)
    for (uint32_t lo : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu})
      bits.push_back(hi << 16 | lo);
  std::mt19937 rng(1);
  for (int i = 0; i < 1 << 16; ++i)
    bits.push_back(rng());
  Tensor t(DType::F32, {int64_t(bits.size())});
  std::memcpy(t.data.data(), bits.data(), bits.size() * 4);
  return t;
}

TEST(CudaTargetTest, CastsMatchTheCpuBitForBit) {
  REQUIRE_GPU();
  Tensor x = f32Patterns();
  std::string n = std::to_string(x.numElements());
  std::string source;
  for (const char *type : {"bf16", "f16", "f8E4M3FN", "f8E5M2"})
    source += std::string("func.func @to_") + type + "(%x: tensor<" + n +
              "xf32>) -> tensor<" + n + "x" + type +
              "> {\n  %y = amp.cast %x : tensor<" + n + "xf32> to tensor<" + n +
              "x" + type + ">\n  return %y : tensor<" + n + "x" + type +
              ">\n}\n";
  Tensor all16(DType::U16, {65536}), all8(DType::U8, {256});
  for (int i = 0; i < 65536; ++i)
    all16.as<uint16_t>()[i] = uint16_t(i);
  for (int i = 0; i < 256; ++i)
    all8.as<uint8_t>()[i] = uint8_t(i);
  for (const char *type : {"bf16", "f16"})
    source +=
        std::string("func.func @from_") + type + "(%x: tensor<65536x" + type +
        ">) -> tensor<65536xf32> {\n  %y = amp.cast %x : tensor<65536x" + type +
        "> to tensor<65536xf32>\n  return %y : tensor<65536xf32>\n}\n";
  for (const char *type : {"f8E4M3FN", "f8E5M2"})
    source += std::string("func.func @from_") + type + "(%x: tensor<256x" +
              type +
              ">) -> tensor<256xf32> {\n  %y = amp.cast %x : tensor<256x" +
              type + "> to tensor<256xf32>\n  return %y : tensor<256xf32>\n}\n";
  auto cpu = compile(source, "cpu"), cuda = compile(source, "cuda");
  ASSERT_TRUE(cpu && cuda);
  auto same = [&](const char *fn, const Tensor &input) {
    auto a = cpu->call(fn, {input});
    auto b = cuda->call(fn, {input});
    ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
    ASSERT_TRUE(static_cast<bool>(b)) << llvm::toString(b.takeError());
    EXPECT_EQ((*a)[0].data, (*b)[0].data) << fn;
  };
  for (const char *type : {"bf16", "f16", "f8E4M3FN", "f8E5M2"})
    same((std::string("to_") + type).c_str(), x);
  same("from_bf16", all16);
  same("from_f16", all16);
  same("from_f8E4M3FN", all8);
  same("from_f8E5M2", all8);
}

TEST(CudaTargetTest, MatmulAndConvolutionMatchTheCpu) {
  REQUIRE_GPU();
  const char *source = R"mlir(
func.func @mm(%a: tensor<64x96xf32>, %b: tensor<96x48xf32>) -> tensor<64x48xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x48xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x48xf32>) -> tensor<64x48xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x96xf32>, tensor<96x48xf32>) outs(%f : tensor<64x48xf32>) -> tensor<64x48xf32>
  return %m : tensor<64x48xf32>
}
func.func @ragged(%a: tensor<37x21xf32>, %b: tensor<21x13xf32>) -> tensor<37x13xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<37x13xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<37x13xf32>) -> tensor<37x13xf32>
  %m = linalg.matmul ins(%a, %b : tensor<37x21xf32>, tensor<21x13xf32>) outs(%f : tensor<37x13xf32>) -> tensor<37x13xf32>
  return %m : tensor<37x13xf32>
}
func.func @blocks(%a: tensor<150x200xf32>, %b: tensor<200x100xf32>) -> tensor<150x100xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<150x100xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<150x100xf32>) -> tensor<150x100xf32>
  %m = linalg.matmul ins(%a, %b : tensor<150x200xf32>, tensor<200x100xf32>) outs(%f : tensor<150x100xf32>) -> tensor<150x100xf32>
  return %m : tensor<150x100xf32>
}
func.func @bmm(%a: tensor<3x20x40xf32>, %b: tensor<3x40x24xf32>) -> tensor<3x20x24xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x20x24xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x20x24xf32>) -> tensor<3x20x24xf32>
  %m = linalg.batch_matmul ins(%a, %b : tensor<3x20x40xf32>, tensor<3x40x24xf32>) outs(%f : tensor<3x20x24xf32>) -> tensor<3x20x24xf32>
  return %m : tensor<3x20x24xf32>
}
func.func @conv(%x: tensor<2x12x12x3xf32>, %w: tensor<3x3x3x8xf32>) -> tensor<2x10x10x8xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x10x10x8xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x10x10x8xf32>) -> tensor<2x10x10x8xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x12x12x3xf32>, tensor<3x3x3x8xf32>) outs(%f : tensor<2x10x10x8xf32>) -> tensor<2x10x10x8xf32>
  return %c : tensor<2x10x10x8xf32>
}
)mlir";
  // bf16 and fp8 (with PTX 8.4) run the matmuls and the convolution on
  // tensor cores, in both tilings: whole tiles (64x96x48), ragged edges in
  // m, n and k (37x21x13), several blocks with ragged edges (150x200x100),
  // a batch, an implicit GEMM.
  struct Case {
    const char *policy, *features;
    bool blockTiles;
  };
  for (Case run : {Case{"fp32", "+ptx80", true}, Case{"bf16", "+ptx80", true},
                   Case{"bf16", "+ptx80", false}, Case{"fp8", "+ptx80", true},
                   Case{"fp8", "+ptx84", true}, Case{"fp8", "+ptx84", false}}) {
    auto [policy, features, blockTiles] = run;
    auto cpu = compile(source, "cpu", policy),
         cuda = compile(source, "cuda", policy, features, blockTiles);
    ASSERT_TRUE(cpu && cuda);
    std::mt19937 rng(2);
    std::uniform_real_distribution<float> dist(-1, 1);
    auto random = [&](std::vector<int64_t> shape) {
      Tensor t(DType::F32, std::move(shape));
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.as<float>()[i] = dist(rng);
      return t;
    };
    for (auto [fn, inputs] :
         {std::make_pair(
              "mm", std::vector<Tensor>{random({64, 96}), random({96, 48})}),
          std::make_pair("ragged", std::vector<Tensor>{random({37, 21}),
                                                       random({21, 13})}),
          std::make_pair("blocks", std::vector<Tensor>{random({150, 200}),
                                                       random({200, 100})}),
          std::make_pair("bmm", std::vector<Tensor>{random({3, 20, 40}),
                                                    random({3, 40, 24})}),
          std::make_pair("conv", std::vector<Tensor>{random({2, 12, 12, 3}),
                                                     random({3, 3, 3, 8})})}) {
      auto a = cpu->call(fn, inputs);
      auto b = cuda->call(fn, inputs);
      ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
      ASSERT_TRUE(static_cast<bool>(b)) << llvm::toString(b.takeError());
      // Same casts, f32 accumulation in another order.
      for (int64_t i = 0; i < (*a)[0].numElements(); ++i)
        ASSERT_NEAR((*a)[0].as<float>()[i], (*b)[0].as<float>()[i],
                    1e-4 * (1 + std::fabs((*a)[0].as<float>()[i])))
            << fn << " " << policy << " " << features
            << (blockTiles ? " block tiles" : " warp tiles") << " element "
            << i;
    }
  }
}

TEST(CudaTargetTest, ReductionsMatchTheCpu) {
  REQUIRE_GPU();
  // A sum of squares and an amax over a whole tensor (one block, a tree in
  // shared memory) and a column sum (reduction loop first, interchanged).
  const char *source = R"mlir(
func.func @reduce(%x: tensor<784x256xf32>) -> (tensor<f32>, tensor<f32>, tensor<256xf32>) {
  %z = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<f32>
  %s0 = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %e1 = tensor.empty() : tensor<256xf32>
  %c0 = linalg.fill ins(%z : f32) outs(%e1 : tensor<256xf32>) -> tensor<256xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>],
                        iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<784x256xf32>) outs(%s0 : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %p = arith.mulf %v, %v : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %amax = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>],
                          iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<784x256xf32>) outs(%m0 : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %a = math.absf %v : f32
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  } -> tensor<f32>
  %cols = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>],
                          iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<784x256xf32>) outs(%c0 : tensor<256xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<256xf32>
  return %sq, %amax, %cols : tensor<f32>, tensor<f32>, tensor<256xf32>
}
)mlir";
  auto cpu = compile(source, "cpu"), cuda = compile(source, "cuda");
  ASSERT_TRUE(cpu && cuda);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1, 1);
  Tensor x(DType::F32, {784, 256});
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.as<float>()[i] = dist(rng);
  x.as<float>()[1234] = -7.5f; // the amax
  auto a = cpu->call("reduce", {x});
  auto b = cuda->call("reduce", {x});
  ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
  ASSERT_TRUE(static_cast<bool>(b)) << llvm::toString(b.takeError());
  EXPECT_NEAR((*b)[0].as<float>()[0], (*a)[0].as<float>()[0],
              1e-5 * (*a)[0].as<float>()[0]);
  EXPECT_EQ((*b)[1].as<float>()[0], 7.5f);
  for (int j = 0; j < 256; ++j)
    ASSERT_NEAR((*b)[2].as<float>()[j], (*a)[2].as<float>()[j], 1e-3)
        << "column " << j;
  // The same bits on every run (a fixed order).
  auto again = cuda->call("reduce", {x});
  ASSERT_TRUE(static_cast<bool>(again));
  EXPECT_EQ((*again)[0].data, (*b)[0].data);
}

TEST(CudaTargetTest, ShortTrainingRunMatchesTheCpu) {
  REQUIRE_GPU();
  auto train =
      ampc::train::loadSplit("/usr/share/datasets/fashion-mnist", "train");
  auto test =
      ampc::train::loadSplit("/usr/share/datasets/fashion-mnist", "test");
  if (!train || !test)
    GTEST_SKIP() << "Fashion-MNIST not installed: "
                 << llvm::toString(!train ? train.takeError()
                                          : test.takeError());
  auto buffer = llvm::MemoryBuffer::getFile(std::string(AMPC_SOURCE_DIR) +
                                            "/examples/models/mlp.mlir");
  ASSERT_TRUE(static_cast<bool>(buffer));
  std::vector<float> finalLoss, accuracy;
  for (const char *target : {"cpu", "cuda"}) {
    ampc::JitOptions jit;
    jit.precision.policy = ampc::testing::policyNamed("bf16");
    jit.target = target;
    auto trainer = ampc::Trainer::create((*buffer)->getBuffer(), "mlp.mlir",
                                         jit, ampc::TrainOptions());
    ASSERT_TRUE(static_cast<bool>(trainer))
        << llvm::toString(trainer.takeError());
    // The same 100 batches on both targets, then 2048 test images.
    ampc::train::LoopOptions loop;
    loop.maxSteps = 100;
    loop.testLimit = 2048;
    auto run = ampc::train::runTraining(**trainer, *train, *test, loop);
    ASSERT_TRUE(static_cast<bool>(run)) << llvm::toString(run.takeError());
    finalLoss.push_back(run->losses.back());
    accuracy.push_back(float(run->accuracy));
  }
  std::printf("[ cuda ] after 100 bf16 steps: loss cpu %.4f, cuda %.4f; "
              "test accuracy cpu %.2f %%, cuda %.2f %%\n",
              finalLoss[0], finalLoss[1], accuracy[0], accuracy[1]);
  EXPECT_NEAR(finalLoss[0], finalLoss[1], 0.05);
  EXPECT_NEAR(accuracy[0], accuracy[1], 1.0);
  EXPECT_GT(accuracy[1], 70.0f);
}

} // namespace
