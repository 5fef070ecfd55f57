//===- Trainer.h - train a model through the JIT ----------------*- C++ -*-===//
//
// The training host API: builds the training step of a model
// (amp-build-train-step: forward, backward, loss scaling, clipping and the
// optimizer, all in the compiled graph), compiles it under a policy, holds
// the f32 master parameters and the optimizer and loss-scale state, sets
// each step's learning rate from its schedule (an input of the step), and
// saves and resumes checkpoints.
//
// Model contract: @forward(params..., batch inputs...) -> (loss, ...), the
// parameters (marked amp.param, static f32 tensors) first. A parameter is
// named by `amp.param = "fc1.weight"` (or its location name; param<i>
// otherwise) in files, checkpoints and reports, and starts as its
// `amp.init` says ("ones", "zeros", "normal(0.02)", "uniform(0.1)",
// "uniform_fan_in"). The default is torch.nn.Linear's: uniform in
// +-1/sqrt(fan_in), fan_in the first dimension of a 2-D weight (the product
// of all but the last for a higher-rank one); a 1-D bias takes the fan_in of
// the weight before it.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_JIT_TRAINER_H
#define AMPC_JIT_TRAINER_H

#include "ampc/Dialect/Amp/IR/TrainStepABI.h"
#include "ampc/Import/Onnx.h"
#include "ampc/JIT/JIT.h"
#include "ampc/JIT/Schedule.h"

#include <map>
#include <optional>

namespace ampc {

struct TrainOptions {
  /// sgd, adam or adamw (torch semantics).
  std::string optimizer = "sgd";
  /// The base learning rate; `schedule` gives each step's.
  double learningRate = 0.05;
  LrSchedule schedule;
  /// SGD momentum (not used by adam/adamw, which take beta1).
  double momentum = 0.9;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  /// L2 for sgd and adam, decoupled for adamw.
  double weightDecay = 0;
  /// Clip the unscaled gradients to this global L2 norm; 0: no clipping.
  double clipNorm = 0;
  /// none, static, dynamic, or auto: dynamic under the fp16 policy, none
  /// otherwise (bf16 and fp8 keep f32's exponent range where it matters).
  std::string lossScaling = "auto";
  double initScale = 65536, growthFactor = 2, backoffFactor = 0.5;
  int64_t growthInterval = 2000, hysteresis = 1;
  /// Bounds of the dynamic scale; 0: unbounded.
  double minScale = 0, maxScale = 0;
  /// Seed of the parameter initialisation.
  uint64_t seed = 0;
  /// The batch size compiled first: a model written for any batch size (a
  /// `?` leading dimension on its batch inputs) is specialized to it, one
  /// written for a fixed batch re-batched (see ampc-specialize-batch).
  /// Batches of other sizes compile (once each) when they come. 0: the
  /// model's own (a model written for any batch size needs one).
  int64_t batch = 0;
  /// For an .onnx model (fromFile): the loss appended over its first
  /// output.
  OnnxLoss onnxLoss = OnnxLoss::CrossEntropy;
  /// Data-parallel training: this process is one rank of those `mpirun`
  /// started (ampc_rt/Collectives.h; one rank without mpirun). Each rank
  /// steps on its own shard of the global batch; the step averages the
  /// gradients, loss and buffers over the ranks (amp-build-train-step's
  /// data-parallel), so every rank takes the same decisions and keeps the
  /// same parameters. Creating the Trainer checks that every rank has the
  /// same model and options and broadcasts rank 0's parameters.
  bool dataParallel = false;
  /// Data-parallel: each gradient bucket's all-reduce starts as soon as
  /// the backward has computed its gradients and runs while the rest of the
  /// backward computes (amp-build-train-step's overlap); false: all of them
  /// after the backward. The same numbers either way.
  bool overlapCommunication = true;
  /// Data-parallel: the largest gradient bucket (one all-reduce), in MiB
  /// of f32 (amp-build-train-step's bucket-mb; PyTorch DDP's
  /// bucket_cap_mb).
  int64_t bucketMB = 25;

  /// The loss scaling `policy` gets ("auto" resolved).
  std::string lossScalingFor(std::optional<amp::Policy> policy) const;
};

struct StepResult {
  /// The (unscaled) loss of the batch.
  float loss = 0;
  /// True when the gradients had an inf/NaN and the update was skipped.
  bool skipped = false;
  /// The loss scale the step used (1 without loss scaling).
  float lossScale = 1;
  /// The learning rate the step used (from the schedule).
  float learningRate = 0;
  /// The global L2 norm of the unscaled gradients (before clipping).
  float gradNorm = 0;
  /// With JitOptions::castStatistics: the largest underflow and overflow
  /// shares over the step's casts (see Trainer::castStatistics).
  float worstUnderflow = 0, worstOverflow = 0;
  /// With PrecisionOptions::checkNumerics: the first op of the step (in
  /// program order: forward, then backward) whose result held an inf or
  /// NaN, e.g. "linalg.generic (from linalg.matmul) at model.mlir:19:8";
  /// empty when none did.
  std::string firstNonFinite;
};

/// What one cast of the last step lost.
struct CastStatistic {
  /// What was cast and to which type ("t3:f16", "param0:bf16", ...).
  std::string site;
  /// Share of the non-zero elements that became zero.
  float underflow = 0;
  /// Share of the elements beyond the target type's largest finite value.
  float overflow = 0;
};

class Trainer {
public:
  static llvm::Expected<std::unique_ptr<Trainer>>
  create(llvm::StringRef source, llvm::StringRef bufferName,
         const JitOptions &jit, const TrainOptions &options);
  /// The same for a model file. An .onnx file is imported first
  /// (ampc/Import/Onnx.h) with `options.batch` as the graph inputs' leading
  /// dimension and `options.onnxLoss`, and training starts from the
  /// model's own parameters.
  static llvm::Expected<std::unique_ptr<Trainer>>
  fromFile(llvm::StringRef path, const JitOptions &jit,
           const TrainOptions &options);

  /// With TrainOptions::dataParallel: this process's rank and the number
  /// of ranks (0 and 1 otherwise).
  int rank() const;
  int worldSize() const;

  /// True for a model imported from an .onnx file.
  bool isImported() const { return imported != nullptr; }
  /// Writes the imported .onnx model to `path` with the current parameters
  /// (and buffers: BatchNorm's running statistics) as its initializers,
  /// the graph unchanged. An error for a model that was not imported.
  llvm::Error exportOnnx(llvm::StringRef path) const;

  /// One training step on `batch` (@forward's inputs after the parameters).
  /// Any batch size: the step is compiled for each new size (once; a
  /// model with a fixed batch is re-batched) and shares the parameters and
  /// state.
  /// Errors: wrong batch shapes, or a non-finite loss on a step that was
  /// not skipped (training diverged).
  llvm::Expected<StepResult> step(llvm::ArrayRef<ampc_rt::Tensor> batch);
  /// @forward's results on `batch` with the current parameters.
  llvm::Expected<std::vector<ampc_rt::Tensor>>
  evaluate(llvm::ArrayRef<ampc_rt::Tensor> batch);

  /// The number of parameters (@forward's leading amp.param arguments).
  size_t numParameters() const { return layout.numParams; }
  /// The name of parameter `index` (see the top).
  const std::string &parameterName(size_t index) const { return names[index]; }
  /// A copy of the f32 master parameters, in @forward's order (under the
  /// cuda target they live on the GPU; this copies them out).
  std::vector<ampc_rt::Tensor> parameters() const;
  /// Replaces parameter `index` (same shape, f32).
  llvm::Error setParameter(size_t index, const ampc_rt::Tensor &value);
  /// Loads every parameter from `directory`/<name>.npy (all or nothing).
  llvm::Error loadParameters(llvm::StringRef directory);
  /// Writes every parameter to `directory`/<name>.npy.
  llvm::Error saveParameters(llvm::StringRef directory) const;
  /// Writes the parameters and the optimizer and loss-scale state, under
  /// their checkpoint names ("fc1.weight", "fc1.weight.exp_avg",
  /// "loss_scale", ...), and the step count as a .npz archive that
  /// numpy.load reads.
  llvm::Error exportNpz(llvm::StringRef path) const;

  /// A copy of a state tensor by its role (param0.momentum, loss_scale,
  /// fp8.scale, ...), or of one cast site's column of the fp8 state
  /// (fp8.<site>.amax_history, fp8.<site>.amax_block_max, fp8.<site>.scale),
  /// or nothing if the step has no such state.
  std::optional<ampc_rt::Tensor> state(llvm::StringRef role) const;
  /// Per-cast statistics of the last step (empty unless the JIT options
  /// asked for castStatistics and the policy casts).
  std::vector<CastStatistic> castStatistics() const;
  /// What the precision pipeline decided for @train_step, @forward and the
  /// rest (JitModule::precisionReport).
  const std::string &precisionReport() const {
    return first->module->precisionReport();
  }
  /// The loss scale the next step uses.
  float lossScale() const;
  /// The learning rate the next step uses: the schedule at stepsTaken()
  /// (checkpoints keep the step count, so a resumed run continues it).
  llvm::Expected<double> learningRate() const;
  const LrSchedule &schedule() const { return options.schedule; }
  /// Replaces the schedule (checked first; nothing changes on an error).
  llvm::Error setSchedule(const LrSchedule &schedule);
  /// Steps taken (skipped ones included) since initialisation.
  int64_t stepsTaken() const { return steps; }
  /// The resolved loss scaling (none, static or dynamic).
  const std::string &lossScaling() const { return scaling; }

  /// Writes parameters, optimizer and loss-scale state, the step count and
  /// the caller's `extra` tensors (a training loop's data order, say) to
  /// `path` atomically.
  llvm::Error
  saveCheckpoint(llvm::StringRef path,
                 llvm::ArrayRef<ampc_rt::NamedTensor> extra = {}) const;
  /// Restores what saveCheckpoint wrote, `extra` included (the same names,
  /// types and shapes); then `check` (if any) may refuse what `extra` holds.
  /// A checkpoint of another model, optimizer or loss scaling, or one that
  /// `check` refuses, is an error that changes nothing.
  llvm::Error loadCheckpoint(llvm::StringRef path,
                             llvm::ArrayRef<ampc_rt::NamedTensor> extra = {},
                             llvm::function_ref<llvm::Error()> check = {});

  /// The signatures of the first compiled batch size.
  const FunctionSignature &forwardSignature() const { return *first->forward; }
  const FunctionSignature &stepSignature() const { return *first->trainStep; }
  /// The batch sizes compiled so far.
  std::vector<int64_t> compiledBatchSizes() const;

private:
  /// The step and @forward compiled for one batch size, with their batch
  /// inputs and results in the target's memory.
  struct Compiled {
    std::unique_ptr<JitModule> module;
    const FunctionSignature *forward = nullptr, *trainStep = nullptr;
    /// @train_step's batch inputs and results, @forward's batch inputs and
    /// results.
    std::vector<TargetTensor> batch, outputs, evalBatch, evalResults;
    /// @train_step on the trainer's inputs and these tensors, prepared at
    /// the first step, and the carried state it computes into `outputs`
    /// (not donated), whose buffers then change places with the inputs'.
    std::unique_ptr<PreparedCall> step;
    std::vector<size_t> swapped;
    /// @forward on the parameters and `evalBatch`, prepared at the first
    /// evaluation.
    std::unique_ptr<PreparedCall> forwardCall;
  };

  Trainer() = default;
  /// create() without synchronizeReplicas.
  static llvm::Expected<std::unique_ptr<Trainer>>
  build(llvm::StringRef source, llvm::StringRef bufferName,
        const JitOptions &jit, const TrainOptions &options);
  static llvm::Expected<std::unique_ptr<Trainer>>
  fromOnnxFile(llvm::StringRef path, const JitOptions &jit,
               const TrainOptions &options);
  /// Data-parallel: checks that every rank compiled the same model with the
  /// same options, then gives every rank rank 0's parameters and state.
  llvm::Error synchronizeReplicas();
  /// Compiles the step for batch size `batchSize` (0: as written).
  static llvm::Expected<std::unique_ptr<JitModule>>
  compileStep(llvm::StringRef source, llvm::StringRef bufferName,
              JitOptions jit, const TrainOptions &options,
              const std::string &mode, int64_t batchSize);
  /// The compiled step for a batch whose leading dimension is `rows`
  /// (compiled now if it is new).
  llvm::Expected<Compiled *> compiledFor(llvm::ArrayRef<ampc_rt::Tensor> batch);
  /// Allocates `compiled`'s batch inputs and results.
  llvm::Error placeBatchTensors(Compiled &compiled);
  /// Takes the first compiled module: checks the step's contract, fills
  /// `layout` and `first`.
  llvm::Error adoptFirst(std::unique_ptr<JitModule> module);
  /// The leading dimension of the step's batch inputs (0 without one).
  int64_t batchRows(const FunctionSignature &step) const;
  /// Allocates every tensor of the step in the target's memory: the
  /// parameters (initialised), the state (from @train_state_init), the
  /// batch slots and the outputs; @forward's batch and results.
  llvm::Error placeTensors();
  /// Names the parameters; checks that the names and the state's are
  /// unique.
  llvm::Error nameParameters();
  /// The parameters, initialised as their amp.init says (see the top).
  llvm::Error initParameters();
  /// The checkpoint name of carried tensor `index` (a parameter or state):
  /// its role with param<i> replaced by the parameter's name.
  std::string entryName(size_t index) const;
  /// Appends a zero tensor of `type` in the target's memory to `into`.
  llvm::Error place(std::vector<TargetTensor> &into, const ValueType &type);
  /// Copies `batch` into `slots` (shapes and types checked).
  static llvm::Error assignBatch(llvm::MutableArrayRef<TargetTensor> slots,
                                 llvm::ArrayRef<ampc_rt::Tensor> batch);
  /// Prepares `c.step` (once).
  llvm::Error prepareStep(Compiled &c);
  /// Prepares a call of `name` of `module` in place on `head` then `tail`,
  /// writing `results`; a `donated` result (FunctionSignature::donated) is
  /// written into its argument in `head` instead.
  static llvm::Expected<std::unique_ptr<PreparedCall>>
  prepareCall(JitModule &module, llvm::StringRef name,
              llvm::MutableArrayRef<TargetTensor> head,
              llvm::ArrayRef<TargetTensor> tail,
              llvm::MutableArrayRef<TargetTensor> results,
              llvm::ArrayRef<int64_t> donated = {});
  /// The index among @train_step's inputs of the state called `role`.
  std::optional<size_t> stateIndex(llvm::StringRef role) const;
  /// Host copies of what a checkpoint holds, named by role.
  std::vector<ampc_rt::Tensor> checkpointTensors() const;
  std::vector<ampc_rt::NamedTensor>
  checkpointEntries(std::vector<ampc_rt::Tensor> &tensors) const;

  /// By batch size.
  std::map<int64_t, Compiled> compiled;
  /// The first compiled, whose signatures the accessors give, and the one
  /// the last step ran.
  Compiled *first = nullptr, *last = nullptr;
  /// What compiles more batch sizes: the model, its name, the JIT options.
  std::string source, bufferName;
  JitOptions jit;
  TrainOptions options;
  std::string scaling;
  /// @train_step's parameters, state and learning rate, in the target's
  /// memory, shared by every batch size. After a step the parameters and
  /// state are swapped with the step's outputs, so they stay where the
  /// kernels run and nothing is copied but the batch in and the scalars
  /// out.
  std::vector<TargetTensor> inputs;
  /// Where parameters, state, batch and the step's outputs are.
  amp::abi::StepLayout layout;
  /// The loss-scale state among @train_step's inputs, if any (read every
  /// step).
  std::optional<size_t> lossScaleIndex;
  /// The parameters' names.
  std::vector<std::string> names;
  int64_t steps = 0;
  /// An imported .onnx model: its file and what the import made of it.
  std::string onnxPath;
  std::shared_ptr<const ImportedModel> imported;
};

} // namespace ampc

#endif // AMPC_JIT_TRAINER_H
