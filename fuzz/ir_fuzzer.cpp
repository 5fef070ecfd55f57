//===- ir_fuzzer.cpp - libFuzzer target: random models through AMPC -------===//
//
// Each input chooses a valid model (ModelGenerator: contractions,
// convolutions, elementwise ops, broadcasts, reductions, transposes and
// reshapes of random shapes), a policy, an ISA level and a thread count, and
// then:
//  - inference: JIT-compiles @model for the CPU and runs it. Under fp32 (or
//    no policy) every element must match the double-precision reference
//    within 1e-4 of the magnitudes it sums; under bf16/fp16 within 10 %;
//    under fp8 the result must have the right shape.
//  - training: builds the SGD training step (autodiff, loss scaling,
//    optimizer) through the Trainer and takes one step. Under fp32 the loss
//    must match the reference, and the gradient the update applied must
//    match central finite differences of the reference along a random
//    direction; under bf16/fp16 the loss within 25 %.
//  - every model (the training step for a trainable one) also goes through
//    the GPU pipeline, and the kernels it launches must come out as PTX.
// Any error from a valid model, any mismatch and any crash is a finding: the
// input is reported with the model's MLIR and the process aborts.
//
//===----------------------------------------------------------------------===//

#include "ModelGenerator.h"

#include "ampc/JIT/JIT.h"
#include "ampc/JIT/Trainer.h"

#include "llvm/Support/raw_ostream.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace ampc::fuzz;

namespace {

const char *const kPolicies[] = {"none", "fp32", "bf16", "fp16", "fp8"};
/// ISA levels relative to the host: all it has, AVX2 (on an AVX-512 host),
/// 128-bit SSE.
const char *const kFeatures[] = {"", "-avx512f", "-avx,-avx2,-fma"};

struct Setup {
  std::string policy;
  ampc::JitOptions jit;
  bool trainable = false;
};

[[noreturn]] void fail(const Graph &g, bool trainable, const Setup &setup,
                       const std::string &what) {
  llvm::errs() << "ir_fuzzer: " << what << "\npolicy " << setup.policy
               << ", features '" << setup.jit.cpuFeatures << "', threads "
               << setup.jit.threads << "\n"
               << g.describe() << g.toMlir(trainable) << "\n";
  std::abort();
}

std::string errorText(llvm::Error error) {
  return llvm::toString(std::move(error));
}

ampc_rt::Tensor toTensor(const Array &a) {
  ampc_rt::Tensor t(ampc_rt::DType::F32, a.shape);
  for (size_t i = 0; i < a.values.size(); ++i)
    t.as<float>()[i] = float(a.values[i]);
  return t;
}

/// (relative to magnitudes, absolute) tolerance of a policy; negative: no
/// value check.
std::pair<double, double> tolerance(const std::string &policy, bool loss) {
  if (policy == "none" || policy == "fp32")
    return {1e-4, 1e-5};
  if (policy == "bf16" || policy == "fp16")
    return {loss ? 0.25 : 0.1, 1e-3};
  return {-1, 0};
}

void checkInference(const Graph &g, const Setup &setup) {
  auto module = ampc::JitModule::fromString(g.toMlir(false), setup.jit, "fuzz");
  if (!module)
    fail(g, false, setup, "compiling failed: " + errorText(module.takeError()));
  std::vector<ampc_rt::Tensor> inputs;
  for (size_t i = 0; i < g.nodes().size(); ++i)
    if (g.nodes()[i].kind == OpKind::Input ||
        g.nodes()[i].kind == OpKind::Param)
      inputs.push_back(toTensor(g.inputValues()[i]));
  auto results = (*module)->call("model", inputs);
  if (!results)
    fail(g, false, setup, "calling failed: " + errorText(results.takeError()));
  const ampc_rt::Tensor &got = (*results)[0];
  if (got.shape != g.result().shape || got.dtype != ampc_rt::DType::F32)
    fail(g, false, setup, "result of type " + got.typeString());
  auto [rel, abs] = tolerance(setup.policy, false);
  if (rel < 0)
    return;
  Array want = g.evaluate(), magnitude = g.magnitudes();
  for (size_t i = 0; i < want.values.size(); ++i) {
    double v = got.as<float>()[i];
    if (magnitude.values[i] > 1e30)
      continue; // beyond what f32 sums hold
    if (!(std::fabs(v - want.values[i]) <= rel * magnitude.values[i] + abs))
      fail(g, false, setup,
           "element " + std::to_string(i) + " is " + std::to_string(v) +
               ", the reference " + std::to_string(want.values[i]) +
               " (magnitude " + std::to_string(magnitude.values[i]) + ")");
  }
}

std::string scientific(double x) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6e", x);
  return text;
}

/// The reference loss with every parameter moved by `h` along `direction`.
double lossAlong(const Graph &g, const std::vector<Array> &params,
                 const std::vector<Array> &direction, double h) {
  std::vector<Array> moved = params;
  for (size_t p = 0; p < moved.size(); ++p)
    for (size_t i = 0; i < moved[p].values.size(); ++i)
      moved[p].values[i] += h * direction[p].values[i];
  double loss = 0;
  g.evaluate(moved, &loss);
  return loss;
}

/// The update of one SGD step (lr 1) is minus the gradient: its product with
/// a random direction must equal the reference's central difference.
void checkGradient(const Graph &g, const Setup &setup,
                   const std::vector<ampc_rt::Tensor> &after) {
  std::vector<Array> params, direction;
  double gd = 0, scale = 0;
  uint64_t seed = 0x2545f4914f6cdd1dull;
  std::vector<int> nodes = g.paramNodes();
  for (size_t p = 0; p < nodes.size(); ++p) {
    const Array &before = g.inputValues()[size_t(nodes[p])];
    params.push_back(before);
    direction.push_back(before);
    for (size_t i = 0; i < before.values.size(); ++i) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      double d = (seed & 1) ? 1.0 : -1.0;
      direction[p].values[i] = d;
      double grad = before.values[i] - double(after[p].as<float>()[i]);
      gd += grad * d;
      scale += std::fabs(grad) + 2e-7 * std::fabs(before.values[i]);
    }
  }
  double fd1 = (lossAlong(g, params, direction, 1e-4) -
                lossAlong(g, params, direction, -1e-4)) /
               2e-4;
  double fd2 = (lossAlong(g, params, direction, 1e-5) -
                lossAlong(g, params, direction, -1e-5)) /
               2e-5;
  // Differences that disagree: a kink (relu, abs, max) within reach.
  if (std::fabs(fd1 - fd2) > 1e-4 * (std::fabs(fd1) + scale) + 1e-9)
    return;
  // Below f32's resolution of the loss, a gradient is rounding: a saturated
  // tanh's derivative 1 - t^2, with t within ulps of 1, is a multiple of
  // 2^-23 (seen: 4.4e-7 against the reference's 2.3e-7 on a loss of 0.5).
  double resolution =
      1e-6 * (1 + std::fabs(lossAlong(g, params, direction, 0)));
  if (!(std::fabs(gd - fd1) <= 1e-3 * (scale + std::fabs(fd1)) + resolution))
    fail(g, true, setup,
         "gradient along a direction is " + scientific(gd) +
             ", finite differences of the reference give " + scientific(fd1) +
             " (scale " + scientific(scale) + ")");
}

void checkTraining(const Graph &g, const Setup &setup) {
  ampc::TrainOptions train;
  train.optimizer = "sgd";
  train.learningRate = 1.0;
  train.momentum = 0.0;
  auto trainer =
      ampc::Trainer::create(g.toMlir(true), "fuzz", setup.jit, train);
  if (!trainer)
    fail(g, true, setup,
         "compiling the step failed: " + errorText(trainer.takeError()));
  std::vector<int> params = g.paramNodes();
  for (size_t p = 0; p < params.size(); ++p)
    if (llvm::Error e = (*trainer)->setParameter(
            p, toTensor(g.inputValues()[size_t(params[p])])))
      fail(g, true, setup,
           "setting a parameter failed: " + errorText(std::move(e)));
  auto step = (*trainer)->step({toTensor(g.inputValues()[0])});
  if (!step)
    fail(g, true, setup, "the step failed: " + errorText(step.takeError()));
  auto [rel, abs] = tolerance(setup.policy, true);
  if (rel < 0 || step->skipped)
    return;
  double want = 0, magnitude = 0;
  g.evaluate({}, &want);
  Array magnitudes = g.magnitudes(); // evaluates the whole graph
  double factor = 0.5 / double(magnitudes.size());
  for (double m : magnitudes.values)
    magnitude += m * m * factor;
  if (magnitude > 1e30)
    return;
  if (!(std::fabs(step->loss - want) <= rel * magnitude + abs))
    fail(g, true, setup,
         "loss " + std::to_string(step->loss) + ", the reference " +
             std::to_string(want));
  if (setup.policy == "none" || setup.policy == "fp32")
    checkGradient(g, setup, (*trainer)->parameters());
}

void checkGpu(const Graph &g, const Setup &setup) {
  std::string pipeline =
      std::string(setup.trainable ? "amp-build-train-step," : "") +
      (setup.policy == "none"
           ? ""
           : "ampc-train-pipeline{policy=" + setup.policy + "},") +
      "ampc-gpu-pipeline";
  auto ptx = ampc::transformSource(g.toMlir(setup.trainable), "fuzz", pipeline);
  if (!ptx)
    fail(g, setup.trainable, setup,
         "the GPU pipeline failed: " + errorText(ptx.takeError()));
  // A model whose result needs no kernel (a transpose of an input that
  // only moves a unit dimension, everything else dead) launches none.
  if (ptx->find("gpu.launch_func") != std::string::npos &&
      ptx->find("gpu.binary") == std::string::npos)
    fail(g, setup.trainable, setup,
         "the GPU pipeline launches kernels but made no gpu.binary");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  Setup setup;
  setup.policy = kPolicies[in.ConsumeIntegralInRange(0, 4)];
  if (setup.policy != "none")
    if (llvm::Error e = setup.jit.precision.setPolicy(setup.policy))
      std::abort();
  setup.jit.cpuFeatures = kFeatures[in.ConsumeIntegralInRange(0, 2)];
  setup.jit.threads = in.ConsumeBool() ? 2 : 1;
  setup.trainable = in.ConsumeBool();
  Graph g = Graph::generate(in, 6);
  // An abort inside LLVM reports no model: AMPC_FUZZ_PRINT=1 prints each
  // one before it is compiled (to run a crashing input alone).
  if (std::getenv("AMPC_FUZZ_PRINT"))
    llvm::errs() << "policy " << setup.policy << ", features '"
                 << setup.jit.cpuFeatures << "', threads " << setup.jit.threads
                 << "\n"
                 << g.describe() << g.toMlir(setup.trainable) << "\n";
  if (setup.trainable)
    checkTraining(g, setup);
  else
    checkInference(g, setup);
  checkGpu(g, setup);
  return 0;
}
