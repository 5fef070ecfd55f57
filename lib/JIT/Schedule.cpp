//===- Schedule.cpp - learning-rate schedules -----------------------------===//

#include "ampc/JIT/Schedule.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

using namespace ampc;

llvm::Error LrSchedule::validate(double lr) const {
  auto bad = [](const llvm::Twine &message) {
    return llvm::createStringError("learning-rate schedule: " + message);
  };
  if (!std::isfinite(lr) || lr <= 0)
    return llvm::createStringError(
        llvm::formatv("lr must be positive, got {0}", lr).str());
  if (kind != "constant" && kind != "step" && kind != "cosine" &&
      kind != "linear")
    return bad("unknown kind '" + kind +
               "'; expected constant, step, cosine or linear");
  if (warmupSteps < 0)
    return bad("warmup steps must be >= 0");
  if (kind == "step" && stepSize <= 0)
    return bad("the step schedule needs a step size > 0");
  if (kind == "step" && (!std::isfinite(gamma) || gamma <= 0 || gamma > 1))
    return bad("gamma must be in (0, 1]");
  if (needsTotalSteps() && totalSteps < 0)
    return bad("total steps must be >= 0 (0: the whole run)");
  if (needsTotalSteps() && totalSteps > 0 && totalSteps <= warmupSteps)
    return bad(llvm::formatv("total steps ({0}) must exceed the warmup ({1})",
                             totalSteps, warmupSteps)
                   .str());
  if (needsTotalSteps() && (!std::isfinite(minLr) || minLr < 0 || minLr > lr))
    return bad("the final learning rate must be in [0, lr]");
  return llvm::Error::success();
}

double LrSchedule::at(double lr, int64_t step) const {
  if (step < warmupSteps)
    return lr * double(step + 1) / double(warmupSteps);
  int64_t u = step - warmupSteps;
  if (kind == "step")
    return lr * std::pow(gamma, double(u / stepSize));
  if (!needsTotalSteps())
    return lr;
  double span = double(totalSteps - warmupSteps);
  double progress = std::min(double(u), span) / span;
  if (kind == "cosine")
    return minLr + (lr - minLr) * (1 + std::cos(M_PI * progress)) / 2;
  return lr + (minLr - lr) * progress;
}

std::string LrSchedule::describe() const {
  std::string text = kind;
  if (warmupSteps)
    text += llvm::formatv(", warmup {0}", warmupSteps).str();
  if (kind == "step")
    text += llvm::formatv(", x{0} every {1}", gamma, stepSize).str();
  if (needsTotalSteps())
    text += totalSteps
                ? llvm::formatv(", to {0} at step {1}", minLr, totalSteps).str()
                : llvm::formatv(", to {0} at the end", minLr).str();
  return text;
}
