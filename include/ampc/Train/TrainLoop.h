//===- TrainLoop.h - train a classifier epoch by epoch ----------*- C++ -*-===//
//
// The loop a user of the Trainer would otherwise write: check that the model
// is a classifier the dataset fits, run epochs of shuffled batches,
// evaluate on the test set, checkpoint after every epoch and resume from a
// checkpoint bit-identically (the checkpoint stores the data order: seed and
// steps per epoch, with the step count), and collect what a report shows.
//
// Classifier contract: @forward(params..., samples [B, ...], one-hot labels
// [B, C]) -> (loss, logits [B, C], ...).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_TRAIN_TRAINLOOP_H
#define AMPC_TRAIN_TRAINLOOP_H

#include "ampc/JIT/Trainer.h"
#include "ampc/Train/Data.h"

#include <functional>

namespace ampc::train {

/// The shapes of a classifier's batch.
struct ClassifierShape {
  /// [B, ...] of @forward's sample input.
  std::vector<int64_t> sampleShape;
  int64_t batch = 0, numClasses = 0;
  /// Elements per sample.
  int64_t features = 0;
};

/// Reads the classifier contract off `trainer`'s @forward.
llvm::Expected<ClassifierShape> getClassifierShape(const Trainer &trainer);

/// Checks that `data` fits `shape`: samples of the same size, labels among
/// its classes, at least one sample. `name` ("training", "test") is used in
/// errors.
llvm::Error checkDataset(const ClassifierShape &shape, const Dataset &data,
                         llvm::StringRef name);

/// Percentage of `data`'s first `limit` samples (0: all) whose largest logit
/// is their label; the last batch is padded, every sample counts once.
llvm::Expected<double> evaluateAccuracy(Trainer &trainer,
                                        const ClassifierShape &shape,
                                        const Dataset &data, int64_t limit = 0,
                                        Normalization normalization = {});

/// One row of the per-epoch table.
struct EpochRow {
  unsigned epoch = 0;
  /// Mean loss of the steps that were not skipped (NaN if none).
  double loss = 0;
  /// Test accuracy in percent.
  double accuracy = 0;
  double msPerStep = 0, lossScale = 1;
  int64_t skipped = 0;
  /// The largest underflow share (percent) of any cast in any step.
  double worstUnderflow = 0;
};

/// What one training run did.
struct RunSummary {
  std::vector<EpochRow> epochs;
  /// Per step taken in this run: the loss, and the loss scale and learning
  /// rate the step used.
  std::vector<float> losses, scales, learningRates;
  int64_t steps = 0, skipped = 0;
  double seconds = 0;
  /// Final test accuracy (percent), loss scale, worst underflow (percent).
  double accuracy = 0, finalScale = 1, worstUnderflow = 0;
  /// The last step's statistics per cast.
  std::vector<CastStatistic> casts;
  /// True when a resumed checkpoint had already finished every epoch.
  bool alreadyDone = false;
  /// The step the run resumed from (0: it started afresh).
  int64_t resumedAt = 0;
};

struct LoopOptions {
  unsigned epochs = 1;
  /// Seed of the data order (the Trainer's seed sets the initialisation).
  uint64_t seed = 0;
  /// Stop each epoch after this many steps (0: the whole training set).
  int64_t maxSteps = 0;
  /// Evaluate on the first N test samples (0: all).
  int64_t testLimit = 0;
  /// Write a checkpoint here after every epoch ("": none) ...
  std::string checkpoint;
  /// ... and continue from it when it exists.
  bool resume = false;
  /// Also write the parameters and state by name as a .npz (numpy.load)
  /// here after every epoch ("": none).
  std::string npz;
  Normalization normalization;
  /// Called after a checkpoint was resumed, with the step it resumed at.
  std::function<void(int64_t)> onResume;
  /// With --check-numerics: called after a step in which an op produced an
  /// inf or NaN (the step count, whether the step was skipped, the op).
  std::function<void(int64_t, bool, const std::string &)> onNonFinite;
  /// Called after each step: epoch, steps done in it, its steps, the loss.
  std::function<void(unsigned, int64_t, int64_t, float)> onStep;
  /// Called after each epoch's evaluation.
  std::function<void(const EpochRow &)> onEpoch;
};

/// Trains `trainer` on `trainData` for `options.epochs`, evaluating on
/// `testData` after each epoch. A cosine or linear learning-rate schedule
/// without total steps decays over the whole run (epochs x steps per epoch).
/// Errors name the epoch and step.
llvm::Expected<RunSummary> runTraining(Trainer &trainer,
                                       const Dataset &trainData,
                                       const Dataset &testData,
                                       const LoopOptions &options);

} // namespace ampc::train

#endif // AMPC_TRAIN_TRAINLOOP_H
