//===- ampc-step-bench.cpp - time training steps of a model ---------------===//
//
//   ampc-step-bench MODEL.mlir --policy=fp32,bf16 --steps=5 --threads=N
//   ampc-step-bench MODEL.onnx ... (imported with a cross-entropy loss, at
//                                   the batch it was exported with)
//
// Compiles the model's training step (SGD with momentum) under each policy
// through the Trainer and takes one warm-up step of each. The precision
// options are ampc-train's (--policy, default all four; --fp8-history-len,
// --fp8-algo, --lower-ops, ...; cast statistics off unless --cast-stats).
// Then it times --steps steps of each policy (or, with --min-seconds, as
// many more as take about that long) on a fixed random batch (inputs
// uniform in [-1, 1), one-hot labels) in --rounds rounds that alternate
// between the policies, so that a machine whose speed drifts (a shared
// host) slows every policy alike and their ratios hold. Prints one JSON
// object: {"cpu": ..., "threads": N, "rounds": R, "steps": {policy:
// milliseconds per step (the median of all its steps)}, "timed_steps":
// {policy: how many}, "max_rss_mb": the process's peak memory}.
// bench/steps.py runs it next to PyTorch.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/CpuTarget.h"
#include "ampc/JIT/Trainer.h"
#include "ampc/Pipelines/PrecisionOptions.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace cl = llvm::cl;

static cl::OptionCategory benchCategory("ampc-step-bench options");
static cl::opt<std::string> modelFile(cl::Positional, cl::Required,
                                      cl::desc("<model.mlir>"),
                                      cl::cat(benchCategory));
static cl::opt<unsigned> steps("steps", cl::init(5),
                               cl::desc("timed steps per policy"),
                               cl::cat(benchCategory));
static cl::opt<double> minSeconds(
    "min-seconds", cl::init(0),
    cl::desc("time more steps of a policy than --steps where its steps "
             "would take less than this many seconds in all (estimated from "
             "three untimed steps): a step of microseconds gets a median of "
             "many"),
    cl::cat(benchCategory));
static cl::opt<unsigned>
    rounds("rounds", cl::init(5),
           cl::desc("rounds the timed steps are split into, alternating "
                    "between the policies"),
           cl::cat(benchCategory));

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

/// One policy's compiled step, its batch, how many steps to time and the
/// milliseconds of its timed steps.
struct PolicySteps {
  std::string name;
  std::unique_ptr<ampc::Trainer> trainer;
  std::vector<ampc_rt::Tensor> batch;
  unsigned count = 0;
  std::vector<double> times;
};

/// The step of `precision` compiled for `threads` threads, with one
/// warm-up step taken.
llvm::Expected<PolicySteps> prepare(const ampc::PrecisionOptions &precision,
                                    unsigned threads) {
  ampc::JitOptions jit;
  jit.precision = precision;
  jit.threads = threads;
  jit.cpuFeatures = ampc::getCpuFeaturesFromCL();
  ampc::TrainOptions options;
  options.learningRate = 0.01;
  // An .onnx model is imported with a cross-entropy loss.
  auto trainer = ampc::Trainer::fromFile(modelFile, jit, options);
  if (!trainer)
    return trainer.takeError();
  PolicySteps policy{precision.policyName(), std::move(*trainer), {}, 0, {}};
  policy.batch = randomBatch(policy.trainer->forwardSignature(),
                             policy.trainer->numParameters());
  if (auto warm = policy.trainer->step(policy.batch); !warm)
    return warm.takeError();
  return policy;
}

/// Times `count` more steps of `policy`.
llvm::Error timeSteps(PolicySteps &policy, unsigned count) {
  for (unsigned s = 0; s < count; ++s) {
    auto start = std::chrono::steady_clock::now();
    auto result = policy.trainer->step(policy.batch);
    if (!result)
      return result.takeError();
    policy.times.push_back(std::chrono::duration<double, std::milli>(
                               std::chrono::steady_clock::now() - start)
                               .count());
  }
  return llvm::Error::success();
}

/// The median of `times` (not empty).
double median(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Sets how many steps of `policy` to time: --steps, or more where those
/// would take less than --min-seconds (three steps timed, then forgotten,
/// tell how long one takes).
llvm::Error countSteps(PolicySteps &policy) {
  policy.count = steps;
  if (minSeconds <= 0)
    return llvm::Error::success();
  if (llvm::Error error = timeSteps(policy, 3))
    return error;
  double each = std::max(median(policy.times), 1e-6);
  policy.times.clear();
  double wanted = std::ceil(minSeconds * 1e3 / each);
  policy.count = unsigned(std::clamp<double>(wanted, steps, 1e8));
  return llvm::Error::success();
}

/// Reports `error` (of `policy`, where one is named); the exit status.
int fail(llvm::StringRef policy, llvm::Error error) {
  llvm::errs() << "ampc-step-bench: " << policy << (policy.empty() ? "" : ": ")
               << llvm::toString(std::move(error)) << "\n";
  return 1;
}

/// `"name": {"policy": value, ...}` of the JSON output, in the policies'
/// order.
template <typename Value>
void printPerPolicy(llvm::StringRef name, llvm::ArrayRef<PolicySteps> compiled,
                    Value value) {
  llvm::outs() << "\"" << name << "\": {";
  for (auto [i, policy] : llvm::enumerate(compiled))
    llvm::outs() << (i ? ", " : "") << "\"" << policy.name
                 << "\": " << value(policy);
  llvm::outs() << "}";
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  ampc::registerPrecisionCLOptions();
  cl::HideUnrelatedOptions({&benchCategory, &ampc::getPrecisionCLCategory()});
  cl::ParseCommandLineOptions(argc, argv, "time AMPC training steps\n");
  if (steps == 0 || rounds == 0) {
    llvm::errs() << "ampc-step-bench: --steps and --rounds must be at least "
                    "1\n";
    return 1;
  }
  if (!(minSeconds >= 0)) {
    llvm::errs() << "ampc-step-bench: --min-seconds must be 0 (off) or "
                    "positive, not "
                 << minSeconds << "\n";
    return 1;
  }
  auto threads = ampc::getThreadsFromCL();
  if (!threads)
    return fail("", threads.takeError());
  auto precisions = ampc::getPrecisionOptionsPerPolicyFromCL(
      {"fp32", "bf16", "fp16", "fp8"}, /*defaultCastStatistics=*/false);
  if (!precisions)
    return fail("", precisions.takeError());
  std::vector<PolicySteps> compiled;
  for (const ampc::PrecisionOptions &precision : *precisions) {
    auto policy = prepare(precision, *threads);
    if (!policy)
      return fail(precision.policyName(), policy.takeError());
    compiled.push_back(std::move(*policy));
  }
  for (PolicySteps &policy : compiled)
    if (llvm::Error error = countSteps(policy))
      return fail(policy.name, std::move(error));
  // Round r takes steps r * count / rounds up to (r + 1) * count / rounds
  // of each policy in turn: its count in all, however it divides.
  unsigned used = std::min<unsigned>(rounds, steps);
  for (unsigned r = 0; r < used; ++r)
    for (PolicySteps &policy : compiled) {
      uint64_t from = uint64_t(r) * policy.count / used,
               to = uint64_t(r + 1) * policy.count / used;
      if (llvm::Error error = timeSteps(policy, unsigned(to - from)))
        return fail(policy.name, std::move(error));
    }
  llvm::outs() << "{\"cpu\": \""
               << ampc::CpuTarget::fromName("native",
                                            ampc::getCpuFeaturesFromCL())
                      .describe()
               << "\", \"threads\": " << *threads << ", \"rounds\": " << used
               << ", ";
  printPerPolicy("steps", compiled,
                 [](const PolicySteps &p) { return median(p.times); });
  llvm::outs() << ", ";
  printPerPolicy("timed_steps", compiled,
                 [](const PolicySteps &p) { return p.times.size(); });
  // The process's peak memory: compiling and running every policy's step
  // (run one policy for one step's peak).
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  llvm::outs() << ", \"max_rss_mb\": " << usage.ru_maxrss / 1024 << "}\n";
  return 0;
}
