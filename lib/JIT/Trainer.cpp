//===- Trainer.cpp - train a model with SGD through the JIT ---------------===//

#include "ampc/JIT/Trainer.h"

#include <cmath>
#include <random>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {
llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
} // namespace

llvm::Expected<std::unique_ptr<ampc::SgdTrainer>>
ampc::SgdTrainer::create(llvm::StringRef source, llvm::StringRef bufferName,
                         const JitOptions &jit, const SgdOptions &sgd) {
  auto differentiated = differentiate(source, bufferName);
  if (!differentiated)
    return differentiated.takeError();
  auto module = JitModule::fromString(*differentiated, jit, bufferName);
  if (!module)
    return module.takeError();
  auto trainer = std::unique_ptr<SgdTrainer>(new SgdTrainer());
  trainer->module = std::move(*module);
  trainer->options = sgd;
  trainer->forward = trainer->module->lookup("forward");
  const FunctionSignature *grad = trainer->module->lookup("forward_grad");
  if (!trainer->forward || !grad)
    return makeError("'" + bufferName + "' has no public @forward");
  if (!grad->unsupported.empty())
    return makeError("@forward cannot be trained: " + grad->unsupported);
  size_t numParams = grad->results.size() - 1;
  for (size_t i = 0; i < numParams; ++i) {
    const ValueType &input = grad->inputs[i], &gradient = grad->results[i + 1];
    if (input.scalar || input.shape != gradient.shape ||
        input.dtype != DType::F32)
      return makeError("the parameters (amp.param) must be the leading f32 "
                       "tensor arguments of @forward; argument #" +
                       llvm::Twine(i) + " is " + input.str());
  }

  std::mt19937 rng(sgd.seed);
  int64_t fanIn = 1;
  for (size_t i = 0; i < numParams; ++i) {
    const ValueType &type = grad->inputs[i];
    if (type.shape.size() >= 2)
      fanIn = type.shape[0];
    float bound = 1.0f / std::sqrt(float(fanIn));
    std::uniform_real_distribution<float> dist(-bound, bound);
    Tensor p(DType::F32, type.shape);
    for (int64_t j = 0; j < p.numElements(); ++j)
      p.as<float>()[j] = dist(rng);
    trainer->arguments.push_back(std::move(p));
    trainer->velocity.emplace_back(DType::F32, type.shape);
  }
  trainer->numParams = numParams;
  for (const ValueType &type : grad->results)
    trainer->gradients.emplace_back(type.dtype, type.shape);
  return trainer;
}

void ampc::SgdTrainer::setBatch(llvm::ArrayRef<ampc_rt::Tensor> batch) {
  arguments.resize(numParams);
  arguments.insert(arguments.end(), batch.begin(), batch.end());
}

llvm::Expected<float>
ampc::SgdTrainer::step(llvm::ArrayRef<ampc_rt::Tensor> batch) {
  setBatch(batch);
  if (llvm::Error error =
          module->callInto("forward_grad", arguments, gradients))
    return std::move(error);
  float loss = gradients[0].as<float>()[0];
  if (!std::isfinite(loss))
    return makeError("the loss is not finite (" + std::to_string(loss) + ")");
  for (size_t p = 0; p < numParams; ++p) {
    float *w = arguments[p].as<float>(), *v = velocity[p].as<float>();
    const float *g = gradients[p + 1].as<float>();
    for (int64_t i = 0; i < arguments[p].numElements(); ++i) {
      v[i] = options.momentum * v[i] + g[i];
      w[i] -= options.learningRate * v[i];
    }
  }
  return loss;
}

llvm::Expected<std::vector<Tensor>>
ampc::SgdTrainer::evaluate(llvm::ArrayRef<ampc_rt::Tensor> batch) {
  setBatch(batch);
  return module->call("forward", arguments);
}
