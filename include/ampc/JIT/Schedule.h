//===- Schedule.h - learning-rate schedules ---------------------*- C++ -*-===//
//
// The learning rate of each training step, computed by the host and passed
// to @train_step (its `learning_rate` input), so that a schedule needs no
// recompilation. The shapes are PyTorch's (torch.optim.lr_scheduler),
// stepped once per optimizer step, skipped steps included (as a training
// loop calling scheduler.step() every iteration does):
//
//   warmup   steps t < W:  lr * (t + 1) / W
//   then, with u = t - W and T = totalSteps - W:
//   constant lr
//   step     lr * gamma^floor(u / stepSize)                  (StepLR)
//   cosine   minLr + (lr - minLr) * (1 + cos(pi * min(u, T) / T)) / 2
//                                                  (CosineAnnealingLR)
//   linear   lr + (minLr - lr) * min(u, T) / T    (LinearLR to minLr)
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_JIT_SCHEDULE_H
#define AMPC_JIT_SCHEDULE_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace ampc {

struct LrSchedule {
  /// constant, step, cosine or linear.
  std::string kind = "constant";
  /// Steps of linear warmup before the schedule (0: none).
  int64_t warmupSteps = 0;
  /// step: decay by `gamma` every `stepSize` steps.
  int64_t stepSize = 0;
  double gamma = 0.1;
  /// cosine, linear: the step at which the decay ends (warmup included),
  /// and the learning rate there. 0: the training loop's whole run
  /// (runTraining sets it); the Trainer refuses to step without it.
  int64_t totalSteps = 0;
  double minLr = 0;

  /// Checks the fields (for learning rate `lr`); the message names the
  /// first bad one.
  llvm::Error validate(double lr) const;
  /// True when the decay needs `totalSteps`.
  bool needsTotalSteps() const { return kind == "cosine" || kind == "linear"; }
  /// The learning rate of step `step` (0-based) for base learning rate `lr`.
  double at(double lr, int64_t step) const;
  /// "cosine, warmup 100, to 0 at step 5000" and the like.
  std::string describe() const;
};

} // namespace ampc

#endif // AMPC_JIT_SCHEDULE_H
