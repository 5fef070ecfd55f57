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

  /// The f32 master parameters, in @forward's order.
  llvm::MutableArrayRef<ampc_rt::Tensor> parameters() {
    return llvm::MutableArrayRef<ampc_rt::Tensor>(arguments).take_front(
        numParams);
  }
  const FunctionSignature &forwardSignature() const { return *forward; }

private:
  SgdTrainer() = default;
  std::unique_ptr<JitModule> module;
  const FunctionSignature *forward = nullptr;
  SgdOptions options;
  /// @forward's arguments: the parameters, then the last batch (so a step
  /// copies only the batch), and the reused outputs of @forward_grad.
  std::vector<ampc_rt::Tensor> arguments, gradients, velocity;
  size_t numParams = 0;

  /// Copies `batch` behind the parameters.
  void setBatch(llvm::ArrayRef<ampc_rt::Tensor> batch);
};

} // namespace ampc

#endif // AMPC_JIT_TRAINER_H
