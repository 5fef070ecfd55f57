//===- main.cpp - train a model from a host program --------------------===//
//
// Usage: ampc-host-example [MODEL [POLICY [OUT_DIR]]]
//
// Trains MODEL (default: the zoo's 784-256-10 MLP) under POLICY (default
// bf16) for 60 steps on a synthetic 10-class problem (the class of an
// image is the argmax of a fixed random projection), evaluates it on held-out
// batches, and saves the parameters (<name>.npy), a checkpoint and the same
// as a .npz for numpy into OUT_DIR.
// Exits 1 with the error's message if anything fails, and if the model did
// not learn (final loss not below half the first).
//
//===----------------------------------------------------------------------===//

#include "ampc/JIT/Trainer.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <random>
#include <string>

namespace {

/// A batch of the synthetic problem, from @forward's batch input types
/// (images first, one-hot labels second): each image is its class's fixed
/// random pattern of +-0.06 plus uniform noise in [-1, 1).
struct Batch {
  ampc_rt::Tensor images, onehot;
};

Batch makeBatch(const ampc::FunctionSignature &forward, size_t firstBatch,
                std::mt19937 &rng) {
  const ampc::ValueType &imageType = forward.inputs[firstBatch];
  const ampc::ValueType &labelType = forward.inputs[firstBatch + 1];
  Batch batch{ampc_rt::Tensor(ampc_rt::DType::F32, imageType.shape),
              ampc_rt::Tensor(ampc_rt::DType::F32, labelType.shape)};
  int64_t rows = imageType.shape[0];
  int64_t features = batch.images.numElements() / rows;
  int64_t classes = labelType.shape[1];
  std::uniform_real_distribution<float> noise(-1, 1);
  std::uniform_int_distribution<int64_t> pickClass(0, classes - 1);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t label = pickClass(rng);
    std::mt19937 pattern(1000 + label); // the same pattern in every batch
    float *image = batch.images.as<float>() + r * features;
    for (int64_t f = 0; f < features; ++f)
      image[f] = noise(rng) + (pattern() % 2 ? 0.06f : -0.06f);
    batch.onehot.as<float>()[r * classes + label] = 1;
  }
  return batch;
}

int fail(llvm::Error error) {
  llvm::errs() << "error: " << llvm::toString(std::move(error)) << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  // An empty argument takes the default.
  auto arg = [&](int i, const char *otherwise) -> std::string {
    return argc > i && argv[i][0] ? argv[i] : otherwise;
  };
  std::string model = arg(1, AMPC_MODELS_DIR "/mlp.mlir");
  std::string policy = arg(2, "bf16");
  std::string outDir = arg(3, ".");

  ampc::JitOptions jit;
  jit.precision.policy = ampc::amp::symbolizePolicy(policy);
  if (!jit.precision.policy)
    return fail(llvm::createStringError("unknown policy '" + policy + "'"));
  ampc::TrainOptions options;
  options.optimizer = "adam";
  options.learningRate = 1e-3;
  auto trainer = ampc::Trainer::fromFile(model, jit, options);
  if (!trainer)
    return fail(trainer.takeError());

  const ampc::FunctionSignature &forward = (*trainer)->forwardSignature();
  size_t firstBatch = (*trainer)->numParameters();
  std::mt19937 rng(42);
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    Batch batch = makeBatch(forward, firstBatch, rng);
    auto result = (*trainer)->step({batch.images, batch.onehot});
    if (!result)
      return fail(result.takeError());
    (step == 0 ? first : last) = result->loss;
    if (step % 20 == 0 || step == 59)
      llvm::outs() << "step " << step << ": loss "
                   << llvm::format("%.4f", result->loss) << "\n";
  }

  // Accuracy on held-out batches: @forward's second result is the logits.
  int64_t correct = 0, total = 0;
  for (int b = 0; b < 4; ++b) {
    Batch batch = makeBatch(forward, firstBatch, rng);
    auto results = (*trainer)->evaluate({batch.images, batch.onehot});
    if (!results)
      return fail(results.takeError());
    const ampc_rt::Tensor &logits = (*results)[1];
    int64_t rows = logits.shape[0], classes = logits.shape[1];
    for (int64_t r = 0; r < rows; ++r, ++total) {
      const float *row = logits.as<float>() + r * classes;
      const float *label = batch.onehot.as<float>() + r * classes;
      correct += label[std::max_element(row, row + classes) - row] == 1;
    }
  }
  llvm::outs() << "held-out accuracy: "
               << llvm::format("%.1f", 100.0 * correct / total) << " % of "
               << total << "\n";

  if (llvm::Error e = (*trainer)->saveParameters(outDir))
    return fail(std::move(e));
  if (llvm::Error e = (*trainer)->saveCheckpoint(outDir + "/model.ckpt"))
    return fail(std::move(e));
  if (llvm::Error e = (*trainer)->exportNpz(outDir + "/model.npz"))
    return fail(std::move(e));
  llvm::outs() << "saved in " << outDir << ":";
  for (size_t i = 0; i < (*trainer)->numParameters(); ++i)
    llvm::outs() << " " << (*trainer)->parameterName(i) << ".npy";
  llvm::outs() << " model.ckpt model.npz\n";
  if (!(last < first / 2))
    return fail(llvm::createStringError(
        "the loss did not halve: " + std::to_string(first) + " -> " +
        std::to_string(last)));
  return 0;
}
