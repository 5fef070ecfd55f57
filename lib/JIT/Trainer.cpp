//===- Trainer.cpp - train a model through the JIT
//-------------------------===//

#include "ampc/JIT/Trainer.h"
#include "ampc_rt/Collectives.h"
#include "ampc_rt/Cuda.h"

#include "ampc/Autodiff/Passes.h"

#include "mlir/Pass/PassManager.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

using ampc_rt::DType;
using ampc_rt::Tensor;

namespace {
llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
} // namespace

std::string
ampc::TrainOptions::lossScalingFor(std::optional<amp::Policy> policy) const {
  if (lossScaling != "auto")
    return lossScaling;
  return policy == amp::Policy::fp16 ? "dynamic" : "none";
}

namespace {

/// Cast site `i`'s row of the "cast_stats" result (amp-cast-statistics):
/// its underflow and overflow shares.
std::pair<float, float> castShares(const float *table, size_t i) {
  return {table[2 * i], table[2 * i + 1]};
}

/// amp-build-train-step's options for `options` under loss scaling `mode`.
ampc::AmpBuildTrainStepOptions stepOptions(const ampc::TrainOptions &options,
                                           const std::string &mode) {
  ampc::AmpBuildTrainStepOptions step;
  step.optimizer = options.optimizer;
  step.learningRate = options.learningRate;
  // The host sets the learning rate every step (TrainOptions::schedule).
  step.learningRateInput = true;
  // Momentum is SGD's (TrainOptions says so); adam and adamw take beta1.
  step.momentum = options.optimizer == "sgd" ? options.momentum : 0.0;
  step.nesterov = options.nesterov;
  step.beta1 = options.beta1;
  step.beta2 = options.beta2;
  step.epsilon = options.epsilon;
  step.weightDecay = options.weightDecay;
  step.clipNorm = options.clipNorm;
  step.lossScaling = mode;
  step.initScale = options.initScale;
  step.growthFactor = options.growthFactor;
  step.backoffFactor = options.backoffFactor;
  step.growthInterval = options.growthInterval;
  step.hysteresis = options.hysteresis;
  step.minScale = options.minScale;
  step.maxScale = options.maxScale;
  step.dataParallel = options.dataParallel;
  step.overlap = options.overlapCommunication;
  step.bucketMB = options.bucketMB;
  return step;
}

/// Joins the data-parallel group: MPI under mpirun, and on the cuda target
/// NCCL's communicator.
llvm::Error joinGroup(const std::string &target) {
  if (std::string error = ampc_rt::initDistributed(); !error.empty())
    return makeError("data-parallel training: " + error);
  if (target != "cuda")
    return llvm::Error::success();
  char reason[1024];
  if (!ampc_rt_cuda_collectives_available(reason, sizeof(reason)))
    return makeError("data-parallel training on the cuda target (NCCL): " +
                     llvm::Twine(reason));
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::unique_ptr<ampc::JitModule>>
ampc::Trainer::compileStep(llvm::StringRef source, llvm::StringRef bufferName,
                           JitOptions jit, const TrainOptions &options,
                           const std::string &mode, int64_t batchSize) {
  // The step is built on the parsed module, then compiled with it.
  AmpBuildTrainStepOptions stepPass = stepOptions(options, mode);
  jit.batch = batchSize;
  // The step updates the parameters and state in their own buffers where
  // it can (step() passes them as both argument and result).
  jit.donateCarriedState = true;
  return JitModule::compile(source, jit, bufferName,
                            [&](mlir::OpPassManager &pm) {
                              pm.addPass(createAmpBuildTrainStep(stepPass));
                            });
}

llvm::Expected<std::unique_ptr<ampc::Trainer>>
ampc::Trainer::create(llvm::StringRef source, llvm::StringRef bufferName,
                      const JitOptions &jit, const TrainOptions &options) {
  auto trainer = build(source, bufferName, jit, options);
  if (trainer && options.dataParallel)
    if (llvm::Error error = (*trainer)->synchronizeReplicas())
      return std::move(error);
  return trainer;
}

llvm::Expected<std::unique_ptr<ampc::Trainer>>
ampc::Trainer::build(llvm::StringRef source, llvm::StringRef bufferName,
                     const JitOptions &jit, const TrainOptions &options) {
  std::string mode = options.lossScalingFor(jit.precision.policy);
  if (mode != "none" && mode != "static" && mode != "dynamic")
    return makeError("unknown loss scaling '" + mode +
                     "'; expected auto, none, static or dynamic");
  if (llvm::Error error = options.schedule.validate(options.learningRate))
    return std::move(error);
  if (options.batch < 0)
    return makeError("the batch size must be positive, got " +
                     llvm::Twine(options.batch));
  if (options.dataParallel)
    if (llvm::Error error = joinGroup(jit.target))
      return std::move(error);
  auto module =
      compileStep(source, bufferName, jit, options, mode, options.batch);
  if (!module)
    return module.takeError();
  auto trainer = std::unique_ptr<Trainer>(new Trainer());
  trainer->source = source.str();
  trainer->bufferName = bufferName.str();
  trainer->jit = jit;
  trainer->options = options;
  trainer->scaling = mode;
  if (llvm::Error error = trainer->adoptFirst(std::move(*module)))
    return std::move(error);
  // With a batch size, the model was specialized or re-batched to it
  // (ampc-specialize-batch), or compiling it failed.
  int64_t rows = trainer->batchRows(*trainer->first->trainStep);
  if (options.batch > 0 && rows != options.batch)
    return makeError("batches of " + llvm::Twine(options.batch) +
                     " were asked for, but the compiled step takes " +
                     llvm::Twine(rows));
  if (llvm::Error error = trainer->nameParameters())
    return std::move(error);
  if (llvm::Error error = trainer->placeTensors())
    return std::move(error);
  trainer->lossScaleIndex = trainer->stateIndex(
      amp::abi::Role::of(amp::abi::RoleKind::LossScale).str());
  return trainer;
}

int ampc::Trainer::rank() const {
  return options.dataParallel ? ampc_rt::distributedRank() : 0;
}

int ampc::Trainer::worldSize() const {
  return options.dataParallel ? ampc_rt::distributedSize() : 1;
}

/// FNV-1a, continued from `h`.
static uint64_t fnv1a(llvm::StringRef text, uint64_t h) {
  for (unsigned char c : text)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

llvm::Error ampc::Trainer::synchronizeReplicas() {
  if (worldSize() == 1)
    return llvm::Error::success();
  // The model, the policy and every option that shapes the step, hashed;
  // 16-bit pieces are exact in f32, whose max and -max the ranks compare.
  std::string what;
  llvm::raw_string_ostream os(what);
  os << jit.precision.policyName() << ' ' << scaling << ' ' << options.optimizer
     << ' ' << options.learningRate << ' ' << options.momentum << ' '
     << options.weightDecay << ' ' << options.clipNorm << ' '
     << options.overlapCommunication << ' ' << options.bucketMB << ' '
     << batchRows(*first->trainStep);
  uint64_t h = fnv1a(what, fnv1a(source, 14695981039346656037ull));
  float pieces[8];
  for (int i = 0; i < 4; ++i)
    pieces[i] = pieces[i + 4] = float((h >> (16 * i)) & 0xffff);
  for (int i = 4; i < 8; ++i)
    pieces[i] = -pieces[i];
  if (std::string e = ampc_rt::allReduce(pieces, 8, ampc_rt::ReduceKind::Max);
      !e.empty())
    return makeError("data-parallel training: " + e);
  for (int i = 0; i < 4; ++i)
    if (pieces[i] != -pieces[i + 4])
      return makeError("data-parallel training: rank " + llvm::Twine(rank()) +
                       "'s model, policy or options differ from another "
                       "rank's (every rank must run the same command)");
  for (size_t i = 0; i < layout.numParams + layout.numState; ++i)
    if (std::string e =
            ampc_rt::broadcast(inputs[i].data(), int64_t(inputs[i].bytes()), 0);
        !e.empty())
      return makeError("data-parallel training: " + e);
  return llvm::Error::success();
}

llvm::Error ampc::Trainer::adoptFirst(std::unique_ptr<JitModule> module) {
  const FunctionSignature *forward = module->lookup("forward");
  const FunctionSignature *step = module->lookup(amp::abi::kTrainStepName);
  if (!forward || !step)
    return makeError("'" + bufferName + "' has no public @forward");
  if (!step->unsupported.empty())
    return makeError("@forward cannot be trained: " + step->unsupported);
  std::string why;
  std::optional<amp::abi::StepLayout> stepLayout =
      amp::abi::StepLayout::get(step->inputRoles, step->resultRoles, why);
  if (!stepLayout)
    return makeError("@train_step breaks the training-step contract: " + why);
  if (!stepLayout->learningRate)
    return makeError("@train_step takes no 'learning_rate' input");
  layout = *stepLayout;
  Compiled &c = compiled[batchRows(*step)];
  c.module = std::move(module);
  c.forward = forward;
  c.trainStep = step;
  first = last = &c;
  return llvm::Error::success();
}

int64_t ampc::Trainer::batchRows(const FunctionSignature &step) const {
  size_t firstBatch = *layout.learningRate + 1;
  if (firstBatch >= step.inputs.size() || step.inputs[firstBatch].shape.empty())
    return 0;
  return step.inputs[firstBatch].shape[0];
}

llvm::Error ampc::Trainer::place(std::vector<TargetTensor> &into,
                                 const ValueType &type) {
  auto tensor = first->module->allocate(type);
  if (!tensor)
    return tensor.takeError();
  into.push_back(std::move(*tensor));
  return llvm::Error::success();
}

llvm::Error ampc::Trainer::placeTensors() {
  const FunctionSignature &step = *first->trainStep;
  // The parameters, the initial state and the learning rate; then the
  // first batch size's batch inputs and results.
  if (llvm::Error error = initParameters())
    return error;
  auto state = first->module->call(amp::abi::kStateInitName, {});
  if (!state)
    return state.takeError();
  if (state->size() != layout.numState)
    return makeError("@train_state_init returns " + llvm::Twine(state->size()) +
                     " tensors; @train_step carries " +
                     llvm::Twine(layout.numState));
  for (Tensor &t : *state) {
    if (llvm::Error error = place(inputs, step.inputs[inputs.size()]))
      return error;
    if (llvm::Error error = inputs.back().assign(t))
      return error;
  }
  if (llvm::Error error = place(inputs, step.inputs[*layout.learningRate]))
    return error;
  return placeBatchTensors(*first);
}

llvm::Error ampc::Trainer::placeBatchTensors(Compiled &c) {
  const FunctionSignature &step = *c.trainStep;
  for (size_t i = *layout.learningRate + 1; i < step.inputs.size(); ++i)
    if (llvm::Error error = place(c.batch, step.inputs[i]))
      return error;
  for (auto [i, type] : llvm::enumerate(step.results)) {
    // A donated result is computed into its argument: no buffer of its own.
    if (llvm::is_contained(step.donated, int64_t(i))) {
      c.outputs.emplace_back();
      continue;
    }
    if (llvm::Error error = place(c.outputs, type))
      return error;
  }
  for (size_t i = layout.numParams; i < c.forward->inputs.size(); ++i)
    if (llvm::Error error = place(c.evalBatch, c.forward->inputs[i]))
      return error;
  for (const ValueType &type : c.forward->results)
    if (llvm::Error error = place(c.evalResults, type))
      return error;
  return llvm::Error::success();
}

llvm::Expected<ampc::Trainer::Compiled *>
ampc::Trainer::compiledFor(llvm::ArrayRef<Tensor> batch) {
  if (batch.empty() || batch[0].shape.empty())
    return first;
  int64_t rows = batch[0].shape[0];
  if (auto it = compiled.find(rows); it != compiled.end())
    return &it->second;
  if (rows <= 0)
    return makeError("a batch needs at least one row, got a tensor<" +
                     batch[0].typeString() + ">");
  // A model written for any batch is specialized to `rows`, one written for
  // a fixed batch re-batched (ampc-specialize-batch).
  auto module = compileStep(source, bufferName, jit, options, scaling, rows);
  if (!module)
    return makeError("batches of " + llvm::Twine(rows) + ": " +
                     llvm::toString(module.takeError()));
  const FunctionSignature *forward = (*module)->lookup("forward");
  const FunctionSignature *step = (*module)->lookup(amp::abi::kTrainStepName);
  if (!forward || !step || batchRows(*step) != rows)
    return makeError("batches of " + llvm::Twine(rows) +
                     ": the compiled step takes batches of " +
                     llvm::Twine(step ? batchRows(*step) : 0));
  Compiled &c = compiled[rows];
  c.module = std::move(*module);
  c.forward = forward;
  c.trainStep = step;
  if (llvm::Error error = placeBatchTensors(c))
    return std::move(error);
  return &c;
}

std::vector<int64_t> ampc::Trainer::compiledBatchSizes() const {
  std::vector<int64_t> sizes;
  for (const auto &entry : compiled)
    sizes.push_back(entry.first);
  return sizes;
}

llvm::Error ampc::Trainer::nameParameters() {
  for (size_t i = 0; i < layout.numParams; ++i) {
    const std::string &name = first->trainStep->paramNames[i];
    names.push_back(name.empty() ? "param" + std::to_string(i) : name);
  }
  // Checkpoint entries (and .npz members) are found by name.
  std::set<std::string> seen = {"steps"};
  for (size_t i = 0; i < layout.numCarried(); ++i)
    if (!seen.insert(entryName(i)).second)
      return makeError("the name '" + entryName(i) + "' of " +
                       (i < layout.numParams ? "parameter #" + llvm::Twine(i)
                                             : "a state tensor") +
                       " is taken by another parameter or state tensor");
  return llvm::Error::success();
}

std::string ampc::Trainer::entryName(size_t index) const {
  const std::string &role = first->trainStep->inputRoles[index];
  std::optional<amp::abi::Role> parsed = amp::abi::Role::parse(role);
  if (!parsed || parsed->param < 0)
    return role;
  // param<i>[.slot] -> <name>[.slot]
  std::string prefix = "param" + std::to_string(parsed->param);
  return names[parsed->param] + role.substr(prefix.size());
}

namespace {

/// The bound of torch.nn.Linear's initialisation, 1/sqrt(fan_in): fan_in is
/// the product of all but the last dimension of a weight of rank >= 2; a
/// lower-rank parameter keeps `fanIn` (the weight before it).
float fanInBound(const ampc::ValueType &type, int64_t &fanIn) {
  if (type.shape.size() >= 2) {
    fanIn = 1;
    for (size_t d = 0; d + 1 < type.shape.size(); ++d)
      fanIn *= type.shape[d];
  }
  return 1.0f / std::sqrt(float(fanIn));
}

} // namespace

llvm::Error ampc::Trainer::initParameters() {
  using Kind = amp::abi::ParamInit::Kind;
  std::mt19937 rng(options.seed);
  int64_t fanIn = 1;
  for (size_t i = 0; i < layout.numParams; ++i) {
    const ValueType &type = first->trainStep->inputs[i];
    float bound = fanInBound(type, fanIn);
    const std::string &spelling = first->trainStep->paramInits[i];
    auto init = spelling.empty() ? std::optional(amp::abi::ParamInit())
                                 : amp::abi::ParamInit::parse(spelling);
    if (!init)
      return makeError("parameter '" + names[i] +
                       "' has an unknown amp.init '" + spelling + "'");
    if (llvm::Error error = place(inputs, type))
      return error;
    float *p = inputs.back().as<float>();
    int64_t count = int64_t(inputs.back().bytes() / 4);
    std::uniform_real_distribution<float> uniform(
        init->kind == Kind::Uniform ? -float(init->value) : -bound,
        init->kind == Kind::Uniform ? float(init->value) : bound);
    std::normal_distribution<float> normal(0.0f, float(init->value));
    for (int64_t j = 0; j < count; ++j)
      p[j] = init->kind == Kind::Ones     ? 1.0f
             : init->kind == Kind::Zeros  ? 0.0f
             : init->kind == Kind::Normal ? normal(rng)
                                          : uniform(rng);
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<ampc::Trainer>>
ampc::Trainer::fromFile(llvm::StringRef path, const JitOptions &jit,
                        const TrainOptions &options) {
  if (isOnnxPath(path))
    return fromOnnxFile(path, jit, options);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError("cannot open '" + path +
                     "': " + buffer.getError().message());
  return create((*buffer)->getBuffer(), path, jit, options);
}

llvm::Expected<std::unique_ptr<ampc::Trainer>>
ampc::Trainer::fromOnnxFile(llvm::StringRef path, const JitOptions &jit,
                            const TrainOptions &options) {
  OnnxImportOptions import;
  import.batch = options.batch;
  import.loss = options.onnxLoss;
  auto model = importOnnxFile(path, import);
  if (!model)
    return model.takeError();
  // Synchronized once its parameters are the model's.
  auto trainer = build(model->source, path, jit, options);
  if (!trainer)
    return trainer.takeError();
  for (auto [i, param] : llvm::enumerate(model->parameters))
    if (llvm::Error error = (*trainer)->setParameter(i, param.value))
      return std::move(error);
  if (options.dataParallel)
    if (llvm::Error error = (*trainer)->synchronizeReplicas())
      return std::move(error);
  (*trainer)->onnxPath = path.str();
  (*trainer)->imported =
      std::make_shared<const ImportedModel>(std::move(*model));
  return trainer;
}

llvm::Error ampc::Trainer::exportOnnx(llvm::StringRef path) const {
  if (!imported)
    return makeError("exporting to ONNX needs a model imported from an "
                     ".onnx file; '" +
                     bufferName + "' was not");
  return exportTrainedOnnx(onnxPath, *imported, parameters(), path);
}

llvm::Error ampc::Trainer::setSchedule(const LrSchedule &schedule) {
  if (llvm::Error error = schedule.validate(options.learningRate))
    return error;
  options.schedule = schedule;
  return llvm::Error::success();
}

llvm::Expected<double> ampc::Trainer::learningRate() const {
  const LrSchedule &schedule = options.schedule;
  if (schedule.needsTotalSteps() && schedule.totalSteps == 0)
    return makeError("the " + schedule.kind +
                     " learning-rate schedule needs its total steps "
                     "(LrSchedule::totalSteps)");
  return schedule.at(options.learningRate, steps);
}

llvm::Error ampc::Trainer::prepareStep(Compiled &c) {
  if (c.step)
    return llvm::Error::success();
  auto prepared = prepareCall(*c.module, amp::abi::kTrainStepName, inputs,
                              c.batch, c.outputs, c.trainStep->donated);
  if (!prepared)
    return prepared.takeError();
  c.step = std::move(*prepared);
  for (size_t i = 0; i < layout.numCarried(); ++i)
    if (!llvm::is_contained(c.trainStep->donated, int64_t(i)))
      c.swapped.push_back(i);
  return llvm::Error::success();
}

llvm::Expected<ampc::StepResult>
ampc::Trainer::step(llvm::ArrayRef<Tensor> batch) {
  if (batch.size() != first->batch.size())
    return makeError("a step takes " + llvm::Twine(first->batch.size()) +
                     " batch inputs, got " + llvm::Twine(batch.size()));
  auto c = compiledFor(batch);
  if (!c)
    return c.takeError();
  if (llvm::Error error = assignBatch((*c)->batch, batch))
    return std::move(error);
  last = *c;
  std::vector<TargetTensor> &outputs = last->outputs;
  auto lr = learningRate();
  if (!lr)
    return lr.takeError();
  StepResult result;
  result.learningRate = float(*lr);
  inputs[*layout.learningRate].as<float>()[0] = result.learningRate;
  result.lossScale = lossScale();
  if (llvm::Error error = prepareStep(*last))
    return std::move(error);
  if (llvm::Error error = last->step->run())
    return std::move(error);
  for (size_t i : last->swapped)
    inputs[i].swapBuffers(outputs[i]);
  ++steps;
  result.loss = outputs[layout.loss].as<float>()[0];
  result.skipped = outputs[layout.foundInf].as<uint8_t>()[0] != 0;
  result.gradNorm = outputs[layout.gradNorm].as<float>()[0];
  // The worst shares straight from the table (castStatistics() would copy
  // every site's name, every step).
  if (layout.castStats) {
    const float *table = outputs[*layout.castStats].as<float>();
    for (size_t i = 0; i < last->trainStep->castSites.size(); ++i) {
      auto [underflow, overflow] = castShares(table, i);
      result.worstUnderflow = std::max(result.worstUnderflow, underflow);
      result.worstOverflow = std::max(result.worstOverflow, overflow);
    }
  }
  if (layout.nonFinite) {
    const uint8_t *flags = outputs[*layout.nonFinite].as<uint8_t>();
    const std::vector<std::string> &sites = last->trainStep->nonFiniteSites;
    for (size_t i = 0; i < sites.size(); ++i)
      if (flags[i]) {
        result.firstNonFinite = sites[i];
        break;
      }
  }
  if (!result.skipped && !std::isfinite(result.loss))
    return makeError(
        "the loss is not finite (" + std::to_string(result.loss) +
        "): training diverged at step " + std::to_string(steps) +
        (result.firstNonFinite.empty()
             ? std::string(layout.nonFinite
                               ? ""
                               : " (--check-numerics finds the first op "
                                 "that made an inf or NaN)")
             : "; the first inf or NaN came from " + result.firstNonFinite));
  return result;
}

llvm::Expected<std::vector<Tensor>>
ampc::Trainer::evaluate(llvm::ArrayRef<Tensor> batch) {
  if (batch.size() != first->evalBatch.size())
    return makeError("@forward takes " + llvm::Twine(first->evalBatch.size()) +
                     " batch inputs, got " + llvm::Twine(batch.size()));
  auto c = compiledFor(batch);
  if (!c)
    return c.takeError();
  std::vector<TargetTensor> &evalBatch = (*c)->evalBatch;
  std::vector<TargetTensor> &evalResults = (*c)->evalResults;
  if (llvm::Error error = assignBatch(evalBatch, batch))
    return std::move(error);
  // The parameters are passed where they are: nothing is copied.
  if (!(*c)->forwardCall) {
    auto forward =
        prepareCall(*(*c)->module, "forward",
                    llvm::MutableArrayRef<TargetTensor>(inputs).take_front(
                        layout.numParams),
                    evalBatch, evalResults);
    if (!forward)
      return forward.takeError();
    (*c)->forwardCall = std::move(*forward);
  }
  if (llvm::Error error = (*c)->forwardCall->run())
    return std::move(error);
  std::vector<Tensor> results;
  for (const TargetTensor &t : evalResults)
    results.push_back(t.toTensor());
  return results;
}

llvm::Error
ampc::Trainer::assignBatch(llvm::MutableArrayRef<TargetTensor> slots,
                           llvm::ArrayRef<Tensor> batch) {
  for (size_t i = 0; i < batch.size(); ++i)
    if (llvm::Error error = slots[i].assign(batch[i]))
      return makeError("batch input #" + llvm::Twine(i) + ": " +
                       llvm::toString(std::move(error)));
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<ampc::PreparedCall>>
ampc::Trainer::prepareCall(JitModule &module, llvm::StringRef name,
                           llvm::MutableArrayRef<TargetTensor> head,
                           llvm::ArrayRef<TargetTensor> tail,
                           llvm::MutableArrayRef<TargetTensor> results,
                           llvm::ArrayRef<int64_t> donated) {
  llvm::SmallVector<const TargetTensor *, 64> in;
  for (llvm::ArrayRef<TargetTensor> group :
       {llvm::ArrayRef<TargetTensor>(head), tail})
    for (const TargetTensor &t : group)
      in.push_back(&t);
  // A donated result goes into its argument's buffer.
  llvm::SmallVector<TargetTensor *, 64> out;
  for (size_t i = 0; i < results.size(); ++i)
    out.push_back(llvm::is_contained(donated, int64_t(i)) ? &head[i]
                                                          : &results[i]);
  return module.prepare(name, in, out);
}

std::vector<Tensor> ampc::Trainer::parameters() const {
  std::vector<Tensor> params;
  for (size_t i = 0; i < layout.numParams; ++i)
    params.push_back(inputs[i].toTensor());
  return params;
}

llvm::Error ampc::Trainer::setParameter(size_t index, const Tensor &value) {
  if (index >= layout.numParams)
    return makeError("there is no parameter #" + llvm::Twine(index) + " (" +
                     llvm::Twine(layout.numParams) + " parameters)");
  if (value.dtype != DType::F32 || value.shape != inputs[index].type().shape)
    return makeError("parameter '" + names[index] + "' (#" +
                     llvm::Twine(index) + ") is " + inputs[index].type().str() +
                     ", got tensor<" + value.typeString() + ">");
  return inputs[index].assign(value);
}

llvm::Error ampc::Trainer::loadParameters(llvm::StringRef directory) {
  // Read everything first: a bad file changes nothing.
  std::vector<Tensor> loaded;
  for (size_t i = 0; i < layout.numParams; ++i) {
    std::string path = (directory + "/" + names[i] + ".npy").str();
    auto tensor = ampc_rt::readNpy(path);
    if (!tensor)
      return makeError(tensor.message());
    if (tensor->dtype != DType::F32 || tensor->shape != inputs[i].type().shape)
      return makeError("'" + path + "' is " + tensor->typeString() +
                       ", parameter '" + names[i] + "' is " +
                       inputs[i].type().str());
    loaded.push_back(std::move(*tensor));
  }
  for (size_t i = 0; i < layout.numParams; ++i)
    if (llvm::Error error = inputs[i].assign(loaded[i]))
      return error;
  return llvm::Error::success();
}

llvm::Error ampc::Trainer::saveParameters(llvm::StringRef directory) const {
  if (std::error_code ec = llvm::sys::fs::create_directories(directory))
    return makeError("cannot create '" + directory + "': " + ec.message());
  for (size_t i = 0; i < layout.numParams; ++i) {
    std::string path = (directory + "/" + names[i] + ".npy").str();
    std::string message = ampc_rt::writeNpy(path, inputs[i].toTensor());
    if (!message.empty())
      return makeError(message);
  }
  return llvm::Error::success();
}

std::optional<size_t> ampc::Trainer::stateIndex(llvm::StringRef role) const {
  for (size_t i = 0; i < layout.numCarried(); ++i)
    if (first->trainStep->inputRoles[i] == role)
      return i;
  return std::nullopt;
}

namespace {

/// Column `j` of a (rows x columns) or (columns) f32 tensor: rows values,
/// or a scalar.
Tensor column(const Tensor &packed, size_t j) {
  size_t columns = size_t(packed.shape.back());
  std::vector<int64_t> shape(packed.shape.begin(), packed.shape.end() - 1);
  Tensor out(DType::F32, shape);
  for (int64_t i = 0; i < out.numElements(); ++i)
    out.as<float>()[i] = packed.as<float>()[size_t(i) * columns + j];
  return out;
}

} // namespace

std::optional<Tensor> ampc::Trainer::state(llvm::StringRef role) const {
  if (std::optional<size_t> index = stateIndex(role))
    return inputs[*index].toTensor();
  // One cast site's column of the fp8 state: fp8.<site>.<kind>.
  llvm::StringRef rest = role;
  if (!rest.consume_front("fp8."))
    return std::nullopt;
  auto [site, kind] = rest.rsplit('.');
  std::string packedRole = ("fp8." + kind).str();
  std::optional<amp::abi::Role> parsed = amp::abi::Role::parse(packedRole);
  using amp::abi::RoleKind;
  bool perColumn = parsed && (parsed->kind == RoleKind::Fp8AmaxHistory ||
                              parsed->kind == RoleKind::Fp8AmaxBlockMax ||
                              parsed->kind == RoleKind::Fp8Scale);
  const std::vector<std::string> &sites = first->trainStep->fp8Sites;
  auto found = llvm::find(sites, site);
  std::optional<size_t> packed = stateIndex(packedRole);
  if (!perColumn || found == sites.end() || !packed)
    return std::nullopt;
  return column(inputs[*packed].toTensor(), size_t(found - sites.begin()));
}

std::vector<ampc::CastStatistic> ampc::Trainer::castStatistics() const {
  std::vector<CastStatistic> stats;
  if (!layout.castStats || steps == 0)
    return stats;
  const float *table = last->outputs[*layout.castStats].as<float>();
  for (size_t i = 0; i < last->trainStep->castSites.size(); ++i) {
    auto [underflow, overflow] = castShares(table, i);
    stats.push_back({last->trainStep->castSites[i], underflow, overflow});
  }
  return stats;
}

float ampc::Trainer::lossScale() const {
  if (lossScaleIndex)
    return inputs[*lossScaleIndex].as<float>()[0];
  return scaling == "static" ? float(options.initScale) : 1.0f;
}

std::vector<Tensor> ampc::Trainer::checkpointTensors() const {
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < layout.numCarried(); ++i)
    tensors.push_back(inputs[i].toTensor());
  tensors.emplace_back(DType::I64, std::vector<int64_t>{});
  tensors.back().as<int64_t>()[0] = steps;
  return tensors;
}

std::vector<ampc_rt::NamedTensor>
ampc::Trainer::checkpointEntries(std::vector<Tensor> &tensors) const {
  std::vector<ampc_rt::NamedTensor> entries;
  for (size_t i = 0; i < layout.numCarried(); ++i)
    entries.push_back({entryName(i), &tensors[i]});
  entries.push_back({"steps", &tensors.back()});
  return entries;
}

llvm::Error ampc::Trainer::exportNpz(llvm::StringRef path) const {
  std::vector<Tensor> tensors = checkpointTensors();
  std::string message =
      ampc_rt::writeNpz(path.str(), checkpointEntries(tensors));
  return message.empty() ? llvm::Error::success() : makeError(message);
}

llvm::Error ampc::Trainer::saveCheckpoint(
    llvm::StringRef path, llvm::ArrayRef<ampc_rt::NamedTensor> extra) const {
  std::vector<Tensor> tensors = checkpointTensors();
  std::vector<ampc_rt::NamedTensor> entries = checkpointEntries(tensors);
  entries.insert(entries.end(), extra.begin(), extra.end());
  std::string message = ampc_rt::saveCheckpoint(path.str(), entries);
  return message.empty() ? llvm::Error::success() : makeError(message);
}

llvm::Error
ampc::Trainer::loadCheckpoint(llvm::StringRef path,
                              llvm::ArrayRef<ampc_rt::NamedTensor> extra,
                              llvm::function_ref<llvm::Error()> check) {
  // Into host copies first: a bad checkpoint changes nothing.
  std::vector<Tensor> tensors = checkpointTensors();
  std::vector<ampc_rt::NamedTensor> entries = checkpointEntries(tensors);
  entries.insert(entries.end(), extra.begin(), extra.end());
  std::string message = ampc_rt::loadCheckpoint(path.str(), entries);
  if (!message.empty())
    return makeError(message);
  if (check)
    if (llvm::Error error = check())
      return error;
  for (size_t i = 0; i < layout.numCarried(); ++i)
    if (llvm::Error error = inputs[i].assign(tensors[i]))
      return error;
  steps = tensors.back().as<int64_t>()[0];
  return llvm::Error::success();
}
