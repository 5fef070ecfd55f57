//===- ampc-train.cpp - train a model on Fashion-MNIST under each policy --===//
//
//   ampc-train model.mlir [--policy=fp32,bf16,fp16,fp8] [--epochs=1]
//              [--lr=0.05] [--momentum=0.9] [--seed=0] [--max-steps=N]
//              [--dataset=/usr/share/datasets/fashion-mnist]
//
// The model's @forward takes its parameters, a batch of images [B, 784] and
// one-hot labels [B, 10], and returns the loss and the logits [B, 10].
// Prints one row per epoch (mean training loss, test accuracy on the 10,000
// test images, time per step) and a side-by-side summary of the policies.
//
//===----------------------------------------------------------------------===//

#include "ampc/JIT/Trainer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

namespace cl = llvm::cl;
using ampc_rt::DType;
using ampc_rt::Tensor;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.mlir>"),
                                      cl::Required);
static cl::opt<std::string> policies("policy", cl::init("fp32,bf16,fp16,fp8"),
                                     cl::desc("comma-separated policies"));
static cl::opt<unsigned> epochs("epochs", cl::init(1), cl::desc("epochs"));
static cl::opt<float> learningRate("lr", cl::init(0.05f),
                                   cl::desc("learning rate"));
static cl::opt<float> momentum("momentum", cl::init(0.9f),
                               cl::desc("SGD momentum"));
static cl::opt<unsigned> seed("seed", cl::init(0), cl::desc("random seed"));
static cl::opt<unsigned> maxSteps("max-steps", cl::init(0),
                                  cl::desc("stop an epoch after N steps"));
static cl::opt<std::string>
    dataset("dataset", cl::init("/usr/share/datasets/fashion-mnist"),
            cl::desc("directory of the Fashion-MNIST IDX files"));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "ampc-train: " << message << "\n";
  return 1;
}

namespace {
struct Split {
  Tensor images, labels;
};

/// Images [begin, begin + n) of `order` as normalised rows and one-hot rows.
void makeBatch(const Split &split, const std::vector<int64_t> &order,
               int64_t begin, int64_t n, Tensor &x, Tensor &onehot,
               std::vector<int> &classes) {
  const int64_t pixels = 784;
  std::fill(onehot.data.begin(), onehot.data.end(), 0);
  classes.resize(n);
  for (int64_t r = 0; r < n; ++r) {
    int64_t image = order[begin + r];
    const uint8_t *src = split.images.as<uint8_t>() + image * pixels;
    float *dst = x.as<float>() + r * pixels;
    for (int64_t p = 0; p < pixels; ++p)
      dst[p] = (src[p] / 255.0f - 0.2860f) / 0.3530f;
    classes[r] = split.labels.as<uint8_t>()[image];
    onehot.as<float>()[r * 10 + classes[r]] = 1;
  }
}

struct Result {
  std::string policy;
  double loss = 0, accuracy = 0, msPerStep = 0;
  int64_t steps = 0;
};
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "AMPC: train a model on Fashion-MNIST\n");
  auto source = llvm::MemoryBuffer::getFile(inputFile);
  if (!source)
    return fail("cannot open '" + inputFile +
                "': " + source.getError().message());

  Split train, test;
  struct File {
    const char *name;
    Tensor *into;
  } files[] = {{"train-images-idx3-ubyte.gz", &train.images},
               {"train-labels-idx1-ubyte.gz", &train.labels},
               {"t10k-images-idx3-ubyte.gz", &test.images},
               {"t10k-labels-idx1-ubyte.gz", &test.labels}};
  for (File &f : files) {
    auto tensor = ampc_rt::readIdx(dataset + "/" + f.name);
    if (!tensor)
      return fail(tensor.message() +
                  " (Debian's dataset-fashion-mnist installs the dataset)");
    *f.into = std::move(*tensor);
  }

  std::vector<Result> results;
  for (llvm::StringRef policy : llvm::split(policies, ',')) {
    ampc::JitOptions jit;
    jit.policy = policy.trim().str();
    ampc::SgdOptions sgd;
    sgd.learningRate = learningRate;
    sgd.momentum = momentum;
    sgd.seed = seed;
    auto trainer = ampc::SgdTrainer::create((*source)->getBuffer(), inputFile,
                                            jit, sgd);
    if (!trainer)
      return fail(llvm::toString(trainer.takeError()));
    const ampc::FunctionSignature &forward = (*trainer)->forwardSignature();
    size_t numParams = (*trainer)->parameters().size();
    if (forward.inputs.size() != numParams + 2 ||
        forward.inputs[numParams].shape.size() != 2 ||
        forward.inputs[numParams].shape[1] != 784 ||
        forward.inputs[numParams + 1].shape !=
            std::vector<int64_t>{forward.inputs[numParams].shape[0], 10} ||
        forward.results.size() < 2 ||
        forward.results[1].shape != forward.inputs[numParams + 1].shape)
      return fail("@forward must take its parameters, images [B, 784] and "
                  "one-hot labels [B, 10], and return the loss and the "
                  "logits [B, 10]");
    int64_t batch = forward.inputs[numParams].shape[0];
    Tensor x(DType::F32, {batch, 784}), onehot(DType::F32, {batch, 10});
    std::vector<int> classes;
    std::vector<int64_t> order(train.labels.numElements());
    std::iota(order.begin(), order.end(), 0);
    std::vector<int64_t> testOrder(test.labels.numElements());
    std::iota(testOrder.begin(), testOrder.end(), 0);
    std::mt19937_64 rng(seed);

    llvm::outs() << "== " << policy << " ==\n"
                 << llvm::format("%-6s %10s %14s %12s\n", "epoch", "loss",
                                 "test accuracy", "ms/step");
    Result result{policy.str()};
    for (unsigned epoch = 1; epoch <= epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      int64_t steps = int64_t(order.size()) / batch;
      if (maxSteps)
        steps = std::min<int64_t>(steps, maxSteps);
      double lossSum = 0;
      auto start = std::chrono::steady_clock::now();
      for (int64_t s = 0; s < steps; ++s) {
        makeBatch(train, order, s * batch, batch, x, onehot, classes);
        auto loss = (*trainer)->step({x, onehot});
        if (!loss)
          return fail(policy + ", epoch " + llvm::Twine(epoch) + ", step " +
                      llvm::Twine(s) + ": " + llvm::toString(loss.takeError()));
        lossSum += *loss;
      }
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      int64_t correct = 0, seen = 0;
      for (int64_t b = 0; b + batch <= int64_t(testOrder.size()); b += batch) {
        makeBatch(test, testOrder, b, batch, x, onehot, classes);
        auto out = (*trainer)->evaluate({x, onehot});
        if (!out)
          return fail(llvm::toString(out.takeError()));
        const float *logits = (*out)[1].as<float>();
        for (int64_t r = 0; r < batch; ++r) {
          const float *row = logits + r * 10;
          correct += std::max_element(row, row + 10) - row == classes[r];
        }
        seen += batch;
      }
      result.loss = lossSum / double(steps);
      result.accuracy = 100.0 * double(correct) / double(seen);
      result.msPerStep = 1000 * seconds / double(steps);
      result.steps += steps;
      llvm::outs() << llvm::format("%-6u %10.4f %13.2f%% %12.2f\n", epoch,
                                   result.loss, result.accuracy,
                                   result.msPerStep);
      llvm::outs().flush();
    }
    results.push_back(result);
  }

  llvm::outs() << "\n== summary: " << inputFile << ", " << epochs
               << " epoch(s), SGD lr " << llvm::format("%g", float(learningRate))
               << " momentum " << llvm::format("%g", float(momentum))
               << " ==\n"
               << llvm::format("%-6s %8s %10s %14s %12s\n", "policy", "steps",
                               "loss", "test accuracy", "ms/step");
  for (const Result &r : results)
    llvm::outs() << llvm::format("%-6s %8lld %10.4f %13.2f%% %12.2f\n",
                                 r.policy.c_str(), (long long)r.steps, r.loss,
                                 r.accuracy, r.msPerStep);
  return 0;
}
