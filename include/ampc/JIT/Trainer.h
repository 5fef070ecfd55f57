//===- Trainer.h - train a model with SGD through the JIT -------*- C++ -*-===//
//
// A first trainer: differentiates a model (ampc-autodiff), compiles it under
// a policy, keeps f32 master parameters and momentum on the host, and runs
// SGD with momentum (torch semantics: v = m v + g, p -= lr v).
//
// Model contract: @forward(params..., batch inputs...) -> (loss, ...), the
// parameters (marked amp.param) leading. Weights are initialised as
// torch.nn.Linear does: uniform in +-1/sqrt(fan_in), fan_in the first
// dimension of a 2-D weight; a 1-D bias takes the fan_in of the weight
// before it.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_JIT_TRAINER_H
#define AMPC_JIT_TRAINER_H

#include "ampc/JIT/JIT.h"

namespace ampc {

struct SgdOptions {
  float learningRate = 0.05f;
  float momentum = 0.9f;
  uint64_t seed = 0;
};

class SgdTrainer {
public:
  static llvm::Expected<std::unique_ptr<SgdTrainer>>
  create(llvm::StringRef source, llvm::StringRef bufferName,
         const JitOptions &jit, const SgdOptions &sgd);

  /// One step on `batch` (the inputs after the parameters); returns the loss.
  llvm::Expected<float> step(llvm::ArrayRef<ampc_rt::Tensor> batch);
  /// @forward's results on `batch` with the current parameters.
  llvm::Expected<std::vector<ampc_rt::Tensor>>
  evaluate(llvm::ArrayRef<ampc_rt::Tensor> batch);

  std::vector<ampc_rt::Tensor> &parameters() { return params; }
  const FunctionSignature &forwardSignature() const { return *forward; }

private:
  SgdTrainer() = default;
  std::unique_ptr<JitModule> module;
  const FunctionSignature *forward = nullptr;
  SgdOptions options;
  std::vector<ampc_rt::Tensor> params, velocity;
};

} // namespace ampc

#endif // AMPC_JIT_TRAINER_H
