//===- ampc-bench.cpp - GEMM throughput of AMPC's CPU back end ------------===//
//
// Google Benchmark over GEMMs compiled through the JIT host API: square
// 1024^3 and 2048^3 in f32 and in bf16 with f32 accumulation, and the
// training-shaped matmuls of an MLP 1024-4096-4096-10 at batch 256 (forward:
// X W; weight gradient: X^T dY, K = 256). Reports GFLOP/s as a counter.
// bench/compare.py runs the same shapes in PyTorch and prints the ratio.
// $AMPC_BENCH_THREADS sets the compiled code's threads (default: all cores),
// $AMPC_BENCH_MIN_TIME the seconds each runs at least (default 0.5).
//
//===----------------------------------------------------------------------===//

#include "ampc/JIT/JIT.h"

#include "benchmark/benchmark.h"
#include "llvm/Support/Error.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>

namespace {

struct Shape {
  const char *name;
  int64_t m, k, n;
};

const Shape kShapes[] = {
    {"gemm1024", 1024, 1024, 1024},  {"gemm2048", 2048, 2048, 2048},
    {"mlp_fwd1", 256, 1024, 4096},   {"mlp_fwd2", 256, 4096, 4096},
    {"mlp_fwd3", 256, 4096, 10},     {"mlp_wgrad1", 1024, 256, 4096},
    {"mlp_wgrad2", 4096, 256, 4096}, {"mlp_wgrad3", 4096, 256, 10},
};

std::string gemmSource(const Shape &s, const char *in) {
  auto t = [](int64_t a, int64_t b, const char *e) {
    return "tensor<" + std::to_string(a) + "x" + std::to_string(b) + "x" + e +
           ">";
  };
  std::string a = t(s.m, s.k, in), b = t(s.k, s.n, in), c = t(s.m, s.n, "f32");
  return "func.func @gemm(%a: " + a + ", %b: " + b + ") -> " + c +
         " {\n"
         "  %z = arith.constant 0.0 : f32\n"
         "  %e = tensor.empty() : " +
         c +
         "\n"
         "  %f = linalg.fill ins(%z : f32) outs(%e : " +
         c + ") -> " + c +
         "\n"
         "  %r = linalg.matmul ins(%a, %b : " +
         a + ", " + b + ") outs(%f : " + c + ") -> " + c +
         "\n  return %r : " + c + "\n}\n";
}

ampc_rt::Tensor randomInput(ampc_rt::DType dtype, int64_t rows, int64_t cols) {
  ampc_rt::Tensor t(dtype, {rows, cols});
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (int64_t i = 0; i < t.numElements(); ++i) {
    float v = dist(rng);
    if (dtype == ampc_rt::DType::F32) {
      t.as<float>()[i] = v;
    } else { // bf16: the upper half of the f32 pattern (values are exact)
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      t.as<uint16_t>()[i] = uint16_t(bits >> 16);
    }
  }
  return t;
}

/// Threads of the compiled GEMMs: $AMPC_BENCH_THREADS (bench/compare.py
/// sets it to its --threads), or all cores.
unsigned benchThreads() {
  const char *value = std::getenv("AMPC_BENCH_THREADS");
  return value ? unsigned(std::strtoul(value, nullptr, 10)) : 0;
}

/// CPU features of the compiled GEMMs: $AMPC_BENCH_FEATURES (bench/compare.py
/// sets it to its --features: "-avx512f" times AVX2 code on an AVX-512
/// machine), or none: all the host has.
std::string benchFeatures() {
  const char *value = std::getenv("AMPC_BENCH_FEATURES");
  return value ? value : "";
}

void runGemm(benchmark::State &state, Shape shape, bool bf16) {
  ampc::JitOptions options;
  options.threads = benchThreads();
  options.cpuFeatures = benchFeatures();
  auto module = ampc::JitModule::fromString(
      gemmSource(shape, bf16 ? "bf16" : "f32"), options);
  if (!module) {
    state.SkipWithError(llvm::toString(module.takeError()).c_str());
    return;
  }
  ampc_rt::DType dtype = bf16 ? ampc_rt::DType::BF16 : ampc_rt::DType::F32;
  std::vector<ampc_rt::Tensor> inputs = {randomInput(dtype, shape.m, shape.k),
                                         randomInput(dtype, shape.k, shape.n)};
  // The output is reused across iterations, as a training loop would.
  std::vector<ampc_rt::Tensor> outputs;
  outputs.emplace_back(ampc_rt::DType::F32,
                       std::vector<int64_t>{shape.m, shape.n});
  for (auto _ : state) {
    if (llvm::Error error = (*module)->callInto("gemm", inputs, outputs)) {
      state.SkipWithError(llvm::toString(std::move(error)).c_str());
      return;
    }
    benchmark::DoNotOptimize(outputs.front().data.data());
  }
  double flops = 2.0 * double(shape.m) * double(shape.k) * double(shape.n);
  state.counters["GFLOPS"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

/// Seconds each GEMM runs at least: $AMPC_BENCH_MIN_TIME, or 0.5.
double minTime() {
  const char *value = std::getenv("AMPC_BENCH_MIN_TIME");
  return value ? std::strtod(value, nullptr) : 0.5;
}

int registerAll = [] {
  for (const Shape &s : kShapes)
    for (bool bf16 : {false, true})
      benchmark::RegisterBenchmark(
          (std::string(s.name) + (bf16 ? "/bf16" : "/f32")).c_str(),
          [s, bf16](benchmark::State &state) { runGemm(state, s, bf16); })
          ->Unit(benchmark::kMillisecond)
          ->MinTime(minTime());
  return 0;
}();

} // namespace

BENCHMARK_MAIN();
