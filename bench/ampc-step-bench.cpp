//===- ampc-step-bench.cpp - time training steps of a model ---------------===//
//
//   ampc-step-bench MODEL.mlir --policies=fp32,bf16 --steps=5 --threads=N
//   ampc-step-bench MODEL.onnx ... (imported with a cross-entropy loss, at
//                                   the batch it was exported with)
//
// Compiles the model's training step (SGD with momentum) under each policy
// through the Trainer, takes one warm-up step, then times --steps steps on
// a fixed random batch (inputs uniform in [-1, 1), one-hot labels) and
// prints one JSON object: {"cpu": ..., "threads": N, "steps": {policy:
// milliseconds per step (median)}, "max_rss_mb": the process's peak memory}.
// bench/steps.py runs it next to PyTorch.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/CpuTarget.h"
#include "ampc/JIT/Trainer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <random>

#include <sys/resource.h>

namespace cl = llvm::cl;

static cl::opt<std::string> modelFile(cl::Positional, cl::Required,
                                      cl::desc("<model.mlir>"));
static cl::opt<std::string> policies("policies", cl::init("fp32,bf16,fp16,fp8"),
                                     cl::desc("comma-separated policies"));
static cl::opt<unsigned> steps("steps", cl::init(5),
                               cl::desc("timed steps per policy"));
static cl::opt<unsigned> threads("step-threads", cl::init(0),
                                 cl::desc("threads (0: all cores)"));

namespace {

/// Random inputs for the step's batch slots; the last slot (labels) gets
/// one-hot rows.
std::vector<ampc_rt::Tensor> randomBatch(const ampc::FunctionSignature &f,
                                         size_t numParams) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<ampc_rt::Tensor> batch;
  for (size_t i = numParams; i < f.inputs.size(); ++i) {
    ampc_rt::Tensor t(ampc_rt::DType::F32, f.inputs[i].shape);
    bool labels = i + 1 == f.inputs.size() && f.inputs[i].shape.size() == 2;
    int64_t classes = labels ? f.inputs[i].shape[1] : 1;
    for (int64_t j = 0; j < t.numElements(); ++j)
      t.as<float>()[j] =
          labels ? float(j % classes == (j / classes) % classes) : uniform(rng);
    batch.push_back(std::move(t));
  }
  return batch;
}

/// Median milliseconds per step of `policy`.
llvm::Expected<double> timeSteps(llvm::StringRef policy) {
  ampc::JitOptions jit;
  auto parsed = ampc::parsePolicy(policy);
  if (!parsed)
    return parsed.takeError();
  jit.precision.policy = *parsed;
  jit.threads = threads;
  ampc::TrainOptions options;
  options.learningRate = 0.01;
  // An .onnx model is imported with a cross-entropy loss.
  auto trainer = ampc::Trainer::fromFile(modelFile, jit, options);
  if (!trainer)
    return trainer.takeError();
  auto batch =
      randomBatch((*trainer)->forwardSignature(), (*trainer)->numParameters());
  if (auto warm = (*trainer)->step(batch); !warm)
    return warm.takeError();
  std::vector<double> times;
  for (unsigned s = 0; s < steps; ++s) {
    auto start = std::chrono::steady_clock::now();
    auto result = (*trainer)->step(batch);
    if (!result)
      return result.takeError();
    times.push_back(std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "time AMPC training steps\n");
  llvm::SmallVector<llvm::StringRef> names;
  llvm::StringRef(policies).split(names, ',', -1, false);
  llvm::outs() << "{\"cpu\": \"" << ampc::CpuTarget::host().describe()
               << "\", \"threads\": " << threads << ", \"steps\": {";
  for (auto [i, name] : llvm::enumerate(names)) {
    auto ms = timeSteps(name);
    if (!ms) {
      llvm::errs() << "ampc-step-bench: " << name << ": "
                   << llvm::toString(ms.takeError()) << "\n";
      return 1;
    }
    llvm::outs() << (i ? ", " : "") << "\"" << name << "\": " << *ms;
  }
  // The process's peak memory: compiling and running every policy's step
  // (run one policy for one step's peak).
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  llvm::outs() << "}, \"max_rss_mb\": " << usage.ru_maxrss / 1024 << "}\n";
  return 0;
}
