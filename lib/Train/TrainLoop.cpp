//===- TrainLoop.cpp - train a classifier epoch by epoch ------------------===//

#include "ampc/Train/TrainLoop.h"

#include "Error.h"
#include "ampc_rt/Collectives.h"

#include "llvm/Support/FileSystem.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

using ampc_rt::DType;
using ampc_rt::Tensor;
using namespace ampc::train;
using ampc::train::detail::makeError;

namespace {

/// The data order a checkpoint records next to the Trainer's step count:
/// with the same seed and steps per epoch, step n of the run is the same
/// batch whether or not the run was resumed.
struct DataPosition {
  Tensor seed{DType::I64, {}}, stepsPerEpoch{DType::I64, {}};

  DataPosition(uint64_t seedValue, int64_t steps) {
    seed.as<int64_t>()[0] = int64_t(seedValue);
    stepsPerEpoch.as<int64_t>()[0] = steps;
  }
  std::vector<ampc_rt::NamedTensor> entries() {
    return {{"data.seed", &seed}, {"data.steps_per_epoch", &stepsPerEpoch}};
  }
};

/// Loads `options.checkpoint` into `trainer` if asked and present; refuses
/// one written with another data order.
llvm::Error resume(ampc::Trainer &trainer, const LoopOptions &options,
                   int64_t stepsPerEpoch) {
  if (!options.resume || options.checkpoint.empty() ||
      !llvm::sys::fs::exists(options.checkpoint))
    return llvm::Error::success();
  DataPosition saved(0, 0);
  std::vector<ampc_rt::NamedTensor> entries = saved.entries();
  auto check = [&]() -> llvm::Error {
    int64_t seed = saved.seed.as<int64_t>()[0];
    int64_t steps = saved.stepsPerEpoch.as<int64_t>()[0];
    if (seed != int64_t(options.seed) || steps != stepsPerEpoch)
      return makeError(
          "'" + options.checkpoint + "' was written with data seed " +
          llvm::Twine(seed) + " and " + llvm::Twine(steps) +
          " steps per epoch; this run has seed " + llvm::Twine(options.seed) +
          " and " + llvm::Twine(stepsPerEpoch) +
          " (steps per epoch depend on the batch size and the number of "
          "data-parallel ranks, " +
          llvm::Twine(trainer.worldSize()) +
          " here: resume with the same --batch and mpirun -np)");
    return llvm::Error::success();
  };
  if (llvm::Error error =
          trainer.loadCheckpoint(options.checkpoint, entries, check))
    return makeError("cannot resume: " + llvm::toString(std::move(error)));
  if (options.onResume)
    options.onResume(trainer.stepsTaken());
  return llvm::Error::success();
}

/// The steps of one epoch from `begin`; fills the row's loss and skips.
llvm::Error runSteps(ampc::Trainer &trainer, const Dataset &data,
                     Batcher &batcher, const LoopOptions &options,
                     unsigned epoch, int64_t begin, int64_t stepsPerEpoch,
                     EpochRow &row, RunSummary &run) {
  std::vector<int64_t> order = epochOrder(data.size(), options.seed, epoch);
  int64_t batch = batcher.batchSize();
  // Data-parallel: a step's global batch is one batch per rank, each rank
  // taking its own (every rank shuffles alike).
  int64_t ranks = trainer.worldSize(), rank = trainer.rank();
  double lossSum = 0, worstUnderflow = 0;
  for (int64_t s = begin; s < stepsPerEpoch; ++s) {
    batcher.fill(data, order, (s * ranks + rank) * batch);
    auto result = trainer.step({batcher.samples, batcher.onehot});
    if (!result)
      return makeError("epoch " + llvm::Twine(epoch) + ", step " +
                       llvm::Twine(s) + ": " +
                       llvm::toString(result.takeError()));
    run.losses.push_back(result->loss);
    run.scales.push_back(result->lossScale);
    run.learningRates.push_back(result->learningRate);
    if (!result->skipped)
      lossSum += result->loss;
    row.skipped += result->skipped;
    worstUnderflow = std::max<double>(worstUnderflow, result->worstUnderflow);
    if (options.onNonFinite && !result->firstNonFinite.empty())
      options.onNonFinite(trainer.stepsTaken(), result->skipped,
                          result->firstNonFinite);
    if (options.onStep)
      options.onStep(epoch, s + 1, stepsPerEpoch, result->loss);
  }
  int64_t ran = stepsPerEpoch - begin;
  row.loss = ran > row.skipped ? lossSum / double(ran - row.skipped) : NAN;
  row.worstUnderflow = 100.0 * worstUnderflow;
  return llvm::Error::success();
}

/// "batch of 4", or "global batch (2 ranks x 4) of 8".
std::string batchName(const ampc::Trainer &trainer,
                      const ClassifierShape &shape) {
  int64_t ranks = trainer.worldSize();
  std::string global = std::to_string(shape.batch * ranks);
  if (ranks == 1)
    return "batch of " + global;
  return "global batch (" + std::to_string(ranks) + " ranks x " +
         std::to_string(shape.batch) + ") of " + global;
}

} // namespace

llvm::Expected<ClassifierShape>
ampc::train::getClassifierShape(const Trainer &trainer) {
  const FunctionSignature &forward = trainer.forwardSignature();
  size_t p = trainer.numParameters();
  if (forward.inputs.size() != p + 2 || forward.inputs[p].shape.size() < 2 ||
      forward.inputs[p + 1].shape.size() != 2 ||
      forward.inputs[p + 1].shape[0] != forward.inputs[p].shape[0] ||
      forward.results.size() < 2 ||
      forward.results[1].shape != forward.inputs[p + 1].shape)
    return makeError("@forward must take its parameters, samples [B, ...] "
                     "and one-hot labels [B, C], and return the loss and the "
                     "logits [B, C]");
  ClassifierShape shape;
  shape.sampleShape = forward.inputs[p].shape;
  shape.batch = shape.sampleShape[0];
  shape.numClasses = forward.inputs[p + 1].shape[1];
  shape.features = 1;
  for (size_t d = 1; d < shape.sampleShape.size(); ++d)
    shape.features *= shape.sampleShape[d];
  return shape;
}

llvm::Error ampc::train::checkDataset(const ClassifierShape &shape,
                                      const Dataset &data,
                                      llvm::StringRef name) {
  if (data.size() == 0)
    return makeError("the " + name + " set is empty");
  if (data.features() != shape.features)
    return makeError("@forward takes samples of " +
                     llvm::Twine(shape.features) + " features, the " + name +
                     " set has " + llvm::Twine(data.features()));
  for (int32_t label : data.labels)
    if (label < 0 || label >= shape.numClasses)
      return makeError("label " + llvm::Twine(label) + " is outside the " +
                       llvm::Twine(shape.numClasses) + " classes of @forward");
  return llvm::Error::success();
}

llvm::Expected<double>
ampc::train::evaluateAccuracy(Trainer &trainer, const ClassifierShape &shape,
                              const Dataset &data, int64_t limit,
                              Normalization normalization) {
  int64_t size = limit ? std::min(limit, data.size()) : data.size();
  if (size == 0)
    return makeError("there is nothing to evaluate: the test set is empty");
  std::vector<int64_t> order(size);
  std::iota(order.begin(), order.end(), 0);
  Batcher batcher(shape.sampleShape, shape.numClasses, normalization);
  // Data-parallel: rank r evaluates batches r, r + ranks, ...; the counts
  // are summed over the ranks.
  int64_t ranks = trainer.worldSize(), rank = trainer.rank();
  double correct = 0;
  for (int64_t b = rank * shape.batch; b < size; b += ranks * shape.batch) {
    batcher.fill(data, order, b);
    auto out = trainer.evaluate({batcher.samples, batcher.onehot});
    if (!out)
      return out.takeError();
    const float *logits = (*out)[1].as<float>();
    for (int64_t r = 0; r < batcher.rows(); ++r) {
      const float *row = logits + r * shape.numClasses;
      correct += std::max_element(row, row + shape.numClasses) - row ==
                 batcher.classes()[r];
    }
  }
  if (std::string error =
          ampc_rt::allReduce(&correct, 1, ampc_rt::ReduceKind::Sum);
      !error.empty())
    return makeError("cannot combine the ranks' accuracies: " + error);
  return 100.0 * correct / double(size);
}

llvm::Expected<RunSummary>
ampc::train::runTraining(Trainer &trainer, const Dataset &trainData,
                         const Dataset &testData, const LoopOptions &options) {
  auto shape = getClassifierShape(trainer);
  if (!shape)
    return shape.takeError();
  for (auto [data, name] :
       {std::pair(&trainData, "training"), std::pair(&testData, "test")})
    if (llvm::Error error = checkDataset(*shape, *data, name))
      return std::move(error);
  int64_t globalBatch = shape->batch * trainer.worldSize();
  int64_t stepsPerEpoch = trainData.size() / globalBatch;
  if (stepsPerEpoch == 0)
    return makeError("the training set has " + llvm::Twine(trainData.size()) +
                     " samples, fewer than one " + batchName(trainer, *shape));
  if (options.maxSteps)
    stepsPerEpoch = std::min(stepsPerEpoch, options.maxSteps);
  if (trainer.schedule().needsTotalSteps() &&
      trainer.schedule().totalSteps == 0) {
    LrSchedule wholeRun = trainer.schedule();
    wholeRun.totalSteps = int64_t(options.epochs) * stepsPerEpoch;
    if (llvm::Error error = trainer.setSchedule(wholeRun))
      return std::move(error);
  }
  if (llvm::Error error = resume(trainer, options, stepsPerEpoch))
    return std::move(error);

  RunSummary run;
  run.resumedAt = trainer.stepsTaken();
  Batcher batcher(shape->sampleShape, shape->numClasses, options.normalization);
  DataPosition position(options.seed, stepsPerEpoch);
  for (unsigned epoch = 1; epoch <= options.epochs; ++epoch) {
    // Steps of this epoch a resumed checkpoint has already taken.
    int64_t begin = std::clamp<int64_t>(trainer.stepsTaken() -
                                            int64_t(epoch - 1) * stepsPerEpoch,
                                        0, stepsPerEpoch);
    if (begin == stepsPerEpoch)
      continue;
    EpochRow row;
    row.epoch = epoch;
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error error = runSteps(trainer, trainData, batcher, options,
                                     epoch, begin, stepsPerEpoch, row, run))
      return std::move(error);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    auto accuracy = evaluateAccuracy(trainer, *shape, testData,
                                     options.testLimit, options.normalization);
    if (!accuracy)
      return accuracy.takeError();
    int64_t ran = stepsPerEpoch - begin;
    row.accuracy = *accuracy;
    row.msPerStep = 1000 * seconds / double(ran);
    row.lossScale = trainer.lossScale();
    run.epochs.push_back(row);
    run.steps += ran;
    run.skipped += row.skipped;
    run.seconds += seconds;
    run.worstUnderflow = std::max(run.worstUnderflow, row.worstUnderflow);
    run.casts = trainer.castStatistics();
    if (options.onEpoch)
      options.onEpoch(row);
    // The ranks hold the same state: rank 0 writes it.
    if (trainer.rank() != 0)
      continue;
    if (!options.checkpoint.empty())
      if (llvm::Error error =
              trainer.saveCheckpoint(options.checkpoint, position.entries()))
        return std::move(error);
    if (!options.npz.empty())
      if (llvm::Error error = trainer.exportNpz(options.npz))
        return std::move(error);
  }
  run.alreadyDone = run.epochs.empty();
  if (run.alreadyDone) {
    auto accuracy = evaluateAccuracy(trainer, *shape, testData,
                                     options.testLimit, options.normalization);
    if (!accuracy)
      return accuracy.takeError();
    run.accuracy = *accuracy;
  } else {
    run.accuracy = run.epochs.back().accuracy;
  }
  run.finalScale = trainer.lossScale();
  return run;
}
