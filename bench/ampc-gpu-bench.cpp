//===- ampc-gpu-bench.cpp - GPU GEMMs and training steps, next to cuBLAS --===//
//
//   ampc-gpu-bench [--sizes=4096,8192] [--repeats=5] [--model=mlp.mlir]
//
// Prints one table row per measurement, in the same run:
// - AMPC's bf16 and fp8 (E4M3) GEMMs through the JIT's CUDA target
//   (the operands stay in GPU memory across calls; each call includes the
//   launch and its synchronization), in both tilings;
// - cuBLAS (cublasGemmEx, bf16 in, f32 out) and cuBLASLt (cublasLtMatmul,
//   E4M3 in, bf16 out), loaded with dlopen; "not found" when the libraries
//   are missing;
// - the zoo MLP's training step per policy on the GPU and on the CPU.
// Without a GPU it says so and exits with 1.
//
//===----------------------------------------------------------------------===//

#include "ampc/JIT/Trainer.h"
#include "ampc_rt/Cuda.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

#include <chrono>
#include <functional>
#include <random>

namespace cl = llvm::cl;
using ampc_rt::DType;
using ampc_rt::Tensor;

static cl::opt<std::string> sizes("sizes", cl::init("4096,8192"),
                                  cl::desc("square GEMM sizes"));
static cl::opt<unsigned> repeats("repeats", cl::init(5),
                                 cl::desc("timed repetitions"));
static cl::opt<std::string> model("model", cl::init("examples/models/mlp.mlir"),
                                  cl::desc("model for the training steps"));
static cl::opt<unsigned> steps("steps", cl::init(50),
                               cl::desc("timed training steps per policy"));

namespace {

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

void row(const std::string &what, const std::string &impl, double value,
         const char *unit, const std::string &note = "") {
  llvm::outs() << llvm::format("| %-28s | %-26s | %10.3f %-8s | %s\n",
                               what.c_str(), impl.c_str(), value, unit,
                               note.c_str());
  llvm::outs().flush();
}

void note(const std::string &what, const std::string &impl,
          const std::string &text) {
  llvm::outs() << llvm::format("| %-28s | %-26s | %19s | %s\n", what.c_str(),
                               impl.c_str(), "-", text.c_str());
  llvm::outs().flush();
}

/// AMPC's GEMM on `type` inputs (bf16 or f8E4M3FN), f32 accumulation, with
/// the tensor-core kernels of either tiling. The operands stay in GPU
/// memory across calls (TargetTensors), as a training step's would.
void ampcGemm(int64_t n, const std::string &type, bool blockTiles) {
  std::string t = "tensor<" + std::to_string(n) + "x" + std::to_string(n);
  std::string source = "func.func @mm(%a: " + t + "x" + type + ">, %b: " + t +
                       "x" + type + ">) -> " + t + "xf32> {\n"
                       "  %z = arith.constant 0.0 : f32\n"
                       "  %e = tensor.empty() : " + t + "xf32>\n"
                       "  %f = linalg.fill ins(%z : f32) outs(%e : " + t +
                       "xf32>) -> " + t + "xf32>\n"
                       "  %m = linalg.matmul ins(%a, %b : " + t + "x" + type +
                       ">, " + t + "x" + type + ">) outs(%f : " + t +
                       "xf32>) -> " + t + "xf32>\n  return %m : " + t +
                       "xf32>\n}\n";
  ampc::JitOptions options;
  options.target = "cuda";
  options.gpuFeatures = "+ptx84"; // fp8 tensor cores need PTX 8.4
  options.gpuBlockTiles = blockTiles;
  std::string what = type + " GEMM " + std::to_string(n) + "^3";
  std::string impl = blockTiles ? "AMPC (64x64 block tiles)"
                                : "AMPC (16x8 warp tiles)";
  auto module = ampc::JitModule::fromString(source, options);
  if (!module)
    return note(what, impl, llvm::toString(module.takeError()));
  const ampc::FunctionSignature &mm = *(*module)->lookup("mm");
  auto a = (*module)->allocate(mm.inputs[0]);
  auto b = (*module)->allocate(mm.inputs[1]);
  auto c = (*module)->allocate(mm.results[0]);
  if (!a || !b || !c) {
    std::string message;
    auto collect = [&](llvm::Error error) {
      if (error)
        message += llvm::toString(std::move(error)) + " ";
    };
    collect(a.takeError());
    collect(b.takeError());
    collect(c.takeError());
    return note(what, impl, message);
  }
  bool fp8 = type != "bf16";
  // 1.0 in each format: exact products, checkable sums.
  for (int64_t i = 0; i < n * n; ++i) {
    if (fp8)
      a->as<uint8_t>()[i] = b->as<uint8_t>()[i] = 0x38;
    else
      a->as<uint16_t>()[i] = b->as<uint16_t>()[i] = 0x3f80;
  }
  auto call = [&]() {
    return (*module)->callInPlace("mm", {&*a, &*b}, {&*c});
  };
  if (llvm::Error error = call()) // warm-up: pages move to the GPU
    return note(what, impl, llvm::toString(std::move(error)));
  bool right = c->as<float>()[0] == float(n) &&
               c->as<float>()[n * n - 1] == float(n) &&
               c->as<float>()[n * n / 2 + 17] == float(n);
  auto start = std::chrono::steady_clock::now();
  for (unsigned r = 0; r < repeats; ++r)
    if (llvm::Error error = call())
      return note(what, impl, llvm::toString(std::move(error)));
  double s = seconds(start) / repeats;
  row(what, impl, 2.0 * n * n * n / s / 1e12, "TFLOP/s",
      right ? "result checked" : "WRONG RESULT");
}

/// cuBLAS / cuBLASLt through dlopen: only the handful of entry points used.
struct Cublas {
  void *lib = nullptr, *lt = nullptr;
  int (*create)(void **) = nullptr;
  int (*gemmEx)(void *, int, int, int, int, int, const void *, const void *,
                int, int, const void *, int, int, const void *, void *, int,
                int, int, int) = nullptr;
  int (*ltCreate)(void **) = nullptr;
  int (*ltDescCreate)(void **, int, int) = nullptr;
  int (*ltDescSet)(void *, int, const void *, size_t) = nullptr;
  int (*ltLayoutCreate)(void **, int, uint64_t, uint64_t, int64_t) = nullptr;
  int (*ltMatmul)(void *, void *, const void *, const void *, void *,
                  const void *, void *, const void *, const void *, void *,
                  void *, void *, const void *, void *, size_t,
                  void *) = nullptr;

  Cublas() {
    for (const char *name : {"libcublas.so", "libcublas.so.13", "libcublas.so.12"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL)))
        break;
    for (const char *name :
         {"libcublasLt.so", "libcublasLt.so.13", "libcublasLt.so.12"})
      if ((lt = dlopen(name, RTLD_NOW | RTLD_GLOBAL)))
        break;
    if (lib) {
      create = reinterpret_cast<decltype(create)>(dlsym(lib, "cublasCreate_v2"));
      gemmEx = reinterpret_cast<decltype(gemmEx)>(dlsym(lib, "cublasGemmEx"));
    }
    if (lt) {
      ltCreate = reinterpret_cast<decltype(ltCreate)>(dlsym(lt, "cublasLtCreate"));
      ltDescCreate = reinterpret_cast<decltype(ltDescCreate)>(
          dlsym(lt, "cublasLtMatmulDescCreate"));
      ltDescSet = reinterpret_cast<decltype(ltDescSet)>(
          dlsym(lt, "cublasLtMatmulDescSetAttribute"));
      ltLayoutCreate = reinterpret_cast<decltype(ltLayoutCreate)>(
          dlsym(lt, "cublasLtMatrixLayoutCreate"));
      ltMatmul = reinterpret_cast<decltype(ltMatmul)>(dlsym(lt, "cublasLtMatmul"));
    }
  }
};

// cudaDataType and cuBLAS enums (library_types.h, cublas_api.h, cublasLt.h).
constexpr int kR32F = 0, kR16BF = 14, kR8E4M3 = 28, kCompute32F = 68,
              kOpN = 0, kOpT = 1, kGemmDefault = -1, kLtTransA = 3;

void cublasGemm(Cublas &cb, int64_t n, bool fp8) {
  std::string what =
      std::string(fp8 ? "f8E4M3FN" : "bf16") + " GEMM " + std::to_string(n) + "^3";
  std::string impl = fp8 ? "cuBLASLt" : "cuBLAS";
  if (fp8 ? !(cb.ltCreate && cb.ltDescCreate && cb.ltDescSet &&
              cb.ltLayoutCreate && cb.ltMatmul)
          : !(cb.create && cb.gemmEx))
    return note(what, impl, "library not found (dlopen)");
  size_t inBytes = size_t(n) * n * (fp8 ? 1 : 2);
  size_t outBytes = size_t(n) * n * (fp8 ? 2 : 4);
  void *a = mgpuMemAlloc(inBytes, nullptr, false);
  void *b = mgpuMemAlloc(inBytes, nullptr, false);
  void *c = mgpuMemAlloc(outBytes, nullptr, false);
  void *workspace = mgpuMemAlloc(32 << 20, nullptr, false);
  if (!a || !b || !c || !workspace)
    return note(what, impl, ampc_rt_gpu_last_error());
  mgpuMemset16(a, fp8 ? 0x3838 : 0x3f80, inBytes / 2, nullptr);
  mgpuMemset16(b, fp8 ? 0x3838 : 0x3f80, inBytes / 2, nullptr);
  float alpha = 1, beta = 0;
  int status = 0;
  std::function<int()> run;
  void *handle = nullptr, *desc = nullptr, *la = nullptr, *lb = nullptr,
       *lc = nullptr;
  if (!fp8) {
    status = cb.create(&handle);
    run = [&] {
      return cb.gemmEx(handle, kOpN, kOpN, int(n), int(n), int(n), &alpha, a,
                       kR16BF, int(n), b, kR16BF, int(n), &beta, c, kR32F,
                       int(n), kCompute32F, kGemmDefault);
    };
  } else {
    // fp8 GEMMs take A transposed ("TN"); D in bf16.
    int opT = kOpT;
    status = cb.ltCreate(&handle);
    if (!status)
      status = cb.ltDescCreate(&desc, kCompute32F, kR32F);
    if (!status)
      status = cb.ltDescSet(desc, kLtTransA, &opT, sizeof opT);
    if (!status)
      status = cb.ltLayoutCreate(&la, kR8E4M3, uint64_t(n), uint64_t(n), n);
    if (!status)
      status = cb.ltLayoutCreate(&lb, kR8E4M3, uint64_t(n), uint64_t(n), n);
    if (!status)
      status = cb.ltLayoutCreate(&lc, kR16BF, uint64_t(n), uint64_t(n), n);
    run = [&] {
      return cb.ltMatmul(handle, desc, &alpha, a, la, b, lb, &beta, c, lc, c,
                         lc, nullptr, workspace, 32 << 20, nullptr);
    };
  }
  if (!status)
    status = run(); // warm-up
  mgpuStreamSynchronize(nullptr);
  if (status) {
    note(what, impl, "status " + std::to_string(status));
  } else {
    auto start = std::chrono::steady_clock::now();
    for (unsigned r = 0; r < repeats; ++r)
      run();
    mgpuStreamSynchronize(nullptr);
    double s = seconds(start) / repeats;
    row(what, impl, 2.0 * n * n * n / s / 1e12, "TFLOP/s");
  }
  for (void *p : {a, b, c, workspace})
    mgpuMemFree(p, nullptr);
}

void trainingSteps(const std::string &source) {
  Tensor x(DType::F32, {128, 784}), onehot(DType::F32, {128, 10});
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.as<float>()[i] = dist(rng);
  for (int r = 0; r < 128; ++r)
    onehot.as<float>()[r * 10 + r % 10] = 1;
  for (const char *policy : {"fp32", "bf16", "fp16", "fp8"}) {
    for (const char *target : {"cuda", "cpu"}) {
      std::string what = std::string("MLP train step ") + policy;
      ampc::JitOptions jit;
      jit.precision.policy = *ampc::parsePolicy(policy);
      jit.target = target;
      auto trainer =
          ampc::Trainer::create(source, model, jit, ampc::TrainOptions());
      if (!trainer) {
        note(what, target, llvm::toString(trainer.takeError()));
        continue;
      }
      auto warm = (*trainer)->step({x, onehot});
      if (!warm) {
        note(what, target, llvm::toString(warm.takeError()));
        continue;
      }
      auto start = std::chrono::steady_clock::now();
      float loss = 0;
      for (unsigned s = 0; s < steps; ++s) {
        auto result = (*trainer)->step({x, onehot});
        if (!result) {
          note(what, target, llvm::toString(result.takeError()));
          break;
        }
        loss = result->loss;
      }
      row(what, target, 1000 * seconds(start) / steps, "ms/step",
          llvm::formatv("loss after {0} steps {1:F4}", steps + 1, loss).str());
    }
  }
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "AMPC GPU benchmarks\n");
  char reason[512];
  if (!ampc_rt_gpu_available(reason, sizeof reason)) {
    llvm::errs() << "ampc-gpu-bench: no usable NVIDIA GPU: " << reason << "\n";
    return 1;
  }
  llvm::outs() << "| measurement                  | implementation             "
                  "| value               | note\n"
                  "|---|---|---|---|\n";
  Cublas cb;
  for (llvm::StringRef size : llvm::split(sizes, ',')) {
    int64_t n = 0;
    if (size.trim().getAsInteger(10, n) || n <= 0) {
      llvm::errs() << "ampc-gpu-bench: bad size '" << size << "'\n";
      return 1;
    }
    for (bool fp8 : {false, true}) {
      for (bool blockTiles : {true, false})
        ampcGemm(n, fp8 ? "f8E4M3FN" : "bf16", blockTiles);
      cublasGemm(cb, n, fp8);
    }
  }
  auto source = llvm::MemoryBuffer::getFile(model);
  if (!source) {
    llvm::errs() << "ampc-gpu-bench: cannot open '" << model << "'\n";
    return 1;
  }
  trainingSteps(std::string((*source)->getBuffer()));
  return 0;
}
