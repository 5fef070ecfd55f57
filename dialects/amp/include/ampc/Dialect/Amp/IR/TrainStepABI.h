//===- TrainStepABI.h - the training step's contract ------------*- C++ -*-===//
//
// The one place where the layers that build, transform and call a training
// step agree on its shape. amp-build-train-step writes it, the precision
// passes extend it (fp8 scaling state, cast statistics), the amp dialect
// verifies it, and the host API (Trainer) reads it back by role.
//
// The contract:
//   @train_step(params..., state..., [learning_rate,] batch...)
//       -> (params..., state..., loss, found_inf, grad_norm [, cast_stats])
//   @train_state_init() -> (state...)
// Every argument and result carries `amp.role`; the parameters and the state
// come back in the same order as they went in, so a caller swaps them
// after each step. Parameters are `param<i>` (i counts from 0); per-parameter
// optimizer state is `param<i>.momentum`, `param<i>.exp_avg`,
// `param<i>.exp_avg_sq`; scalars of the optimizer and of loss scaling are
// `beta1_power`, `beta2_power`, `loss_scale`, `growth_tracker`,
// `hysteresis_tracker`; fp8 delayed scaling adds `fp8.amax_position` (where
// the histories' next amaxes go), `fp8.amax_history` (a ring buffer of rows,
// one column per cast site), `fp8.amax_block_max` (its block maxima) and
// `fp8.scale` (one per site), whose columns `amp.fp8_sites` names; batch
// inputs are `batch`. An optional
// `learning_rate` argument (tensor<f32>, between the state and the batch)
// is the learning rate of this step, set by the caller (a schedule); without
// it the learning rate is a constant of the step.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_IR_TRAINSTEPABI_H
#define AMPC_DIALECT_AMP_IR_TRAINSTEPABI_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class DictionaryAttr;
class FunctionOpInterface;
class MLIRContext;
class NamedAttribute;
} // namespace mlir

namespace ampc::amp::abi {

/// Function names.
inline constexpr llvm::StringLiteral kTrainStepName = "train_step";
inline constexpr llvm::StringLiteral kStateInitName = "train_state_init";

/// Attribute names (all verified by the amp dialect).
/// On a model argument: a trained f32 parameter. A unit attribute, or its
/// name as a string (`amp.param = "fc1.weight"`): the name of its .npy file,
/// of its checkpoint entries and of its casts in reports. Without one, the
/// argument's location name (`loc("fc1.weight")`) names it, else `param<i>`.
inline constexpr llvm::StringLiteral kParamAttrName = "amp.param";
/// String attribute on a parameter: its initialiser (ParamInit).
inline constexpr llvm::StringLiteral kInitAttrName = "amp.init";
/// Unit attribute on a parameter: a buffer (BatchNorm's running
/// statistics), carried and checkpointed as a parameter but not trained.
/// On a result of the training forward (kTrainingForwardName), the name
/// of the buffer whose new value it is: the training step replaces the
/// buffer with it (unless the step is skipped).
inline constexpr llvm::StringLiteral kBufferAttrName = "amp.buffer";
/// The model in training mode (batch statistics), when it differs from
/// @forward (evaluation, inference): amp-build-train-step differentiates
/// it instead. It takes @forward's arguments; its first result is the loss.
inline constexpr llvm::StringLiteral kTrainingForwardName = "forward_train";
/// Unit attribute on a training step built for data-parallel ranks
/// (amp-build-train-step{data-parallel=true}): its gradients, loss and
/// buffers are averaged over the ranks (amp.all_reduce) before anything
/// decides on them, and amp-fp8-scaling max-reduces the amaxes it records.
inline constexpr llvm::StringLiteral kDataParallelAttrName =
    "amp.data_parallel";
/// String attribute on a training step's arguments and results: its role.
inline constexpr llvm::StringLiteral kRoleAttrName = "amp.role";
/// On the module, after ampc-donate-carried-state: the results of
/// @train_step computed into the buffers of the arguments of the same index
/// (dense i64 array), which callers may therefore pass as both.
inline constexpr llvm::StringLiteral kDonatedResultsAttrName =
    "ampc.donated_train_step_results";
/// Unit attribute on ops that produce gradient values (E5M2 under fp8).
inline constexpr llvm::StringLiteral kGradientAttrName = "amp.gradient";
/// String attribute on the ops autodiff creates: the name of the forward op
/// they compute (a named op generalized, softmax decomposed) or
/// differentiate. Op-name precision overrides follow it.
inline constexpr llvm::StringLiteral kOriginAttrName = "amp.origin";
/// #amp.precision on the ops autodiff creates for a forward op with a
/// hand-written amp.precision: amp-autocast applies it as their own (an fp8
/// one to contractions only).
inline constexpr llvm::StringLiteral kOriginPrecisionAttrName =
    "amp.origin_precision";
/// array<i64> on a contraction: which inputs are gradients.
inline constexpr llvm::StringLiteral kGradientOperandsAttrName =
    "amp.gradient_operands";
/// Array of strings on a function: the casts a `cast_stats` result
/// describes, in row order.
inline constexpr llvm::StringLiteral kCastSitesAttrName = "amp.cast_sites";
/// Array of strings on a function: the ops a `nonfinite` result describes,
/// in its order (amp-check-numerics).
inline constexpr llvm::StringLiteral kNonFiniteSitesAttrName =
    "amp.nonfinite_sites";
/// Array of strings on a training step: the cast sites that the columns of
/// its fp8 state (`fp8.amax_history`, `fp8.amax_block_max`, `fp8.scale`)
/// belong to, in column order (amp-fp8-scaling).
inline constexpr llvm::StringLiteral kFp8SitesAttrName = "amp.fp8_sites";
/// A #amp.policy on a function.
inline constexpr llvm::StringLiteral kPolicyAttrName = "amp.policy";

enum class RoleKind {
  // Carried across steps (arguments and results, same order).
  Param,
  Momentum,
  ExpAvg,
  ExpAvgSq,
  Beta1Power,
  Beta2Power,
  LossScale,
  GrowthTracker,
  HysteresisTracker,
  Fp8AmaxHistory,
  Fp8AmaxBlockMax,
  Fp8AmaxPosition,
  Fp8Scale,
  // Arguments only.
  LearningRate,
  Batch,
  // Results only, after the state.
  Loss,
  FoundInf,
  GradNorm,
  CastStats,
  /// Per instrumented op: whether it produced an inf or NaN.
  NonFinite,
};

/// The role of one argument or result.
struct Role {
  RoleKind kind = RoleKind::Batch;
  /// The parameter a Param/Momentum/ExpAvg/ExpAvgSq role belongs to.
  int64_t param = -1;

  static Role of(RoleKind kind) { return {kind, -1}; }
  static Role ofParam(int64_t index, RoleKind kind = RoleKind::Param) {
    return {kind, index};
  }

  /// The spelling in `amp.role` ("param0.momentum", "loss_scale", ...).
  std::string str() const;
  /// Parses a spelling; nothing if it names no role.
  static std::optional<Role> parse(llvm::StringRef text);

  /// State carried from one step to the next.
  bool isState() const;
  /// State other than a parameter.
  bool isOptimizerOrScalingState() const {
    return isState() && kind != RoleKind::Param;
  }
  bool isArgument() const {
    return isState() || kind == RoleKind::Batch ||
           kind == RoleKind::LearningRate;
  }
  bool isResult() const { return !isArgument() || isState(); }

  bool operator==(const Role &other) const {
    return kind == other.kind && param == other.param;
  }
  bool operator!=(const Role &other) const { return !(*this == other); }
};

/// Where each part of a training step is, from its roles. Built and checked
/// once; callers then index by meaning.
struct StepLayout {
  size_t numParams = 0, numState = 0, numBatch = 0;
  size_t loss = 0, foundInf = 0, gradNorm = 0;
  /// The `learning_rate` argument, if the step takes one.
  std::optional<size_t> learningRate;
  std::optional<size_t> castStats;
  /// The `nonfinite` result (amp-check-numerics), if any.
  std::optional<size_t> nonFinite;

  /// Parameters and state (the prefix of both arguments and results).
  size_t numCarried() const { return numParams + numState; }
  /// Checks the contract above; `error` says what breaks it.
  static std::optional<StepLayout>
  get(llvm::ArrayRef<std::string> argumentRoles,
      llvm::ArrayRef<std::string> resultRoles, std::string &error);
};

/// How a parameter starts (`amp.init`): "uniform_fan_in" (the default,
/// torch.nn.Linear's: uniform in +-1/sqrt(fan_in)), "ones", "zeros",
/// "normal(STD)" (mean 0) or "uniform(BOUND)" (in +-BOUND).
struct ParamInit {
  enum class Kind { UniformFanIn, Ones, Zeros, Normal, Uniform };
  Kind kind = Kind::UniformFanIn;
  /// The standard deviation of Normal, the bound of Uniform.
  double value = 0;
  /// Parses a spelling; nothing if it is not one of the above (a STD or
  /// BOUND must be finite and positive).
  static std::optional<ParamInit> parse(llvm::StringRef text);
};

/// A parameter name can be a file name and a checkpoint key: not empty, no
/// '/', no leading '.', printable ASCII.
bool isValidParamName(llvm::StringRef name);

/// Where ABI helpers meet the IR.
/// The name of argument `index` of `fn` if it is a parameter: its
/// `amp.param` string, else its location's name; "" when it has neither
/// (or is not a parameter).
std::string getParamName(mlir::FunctionOpInterface fn, unsigned index);
/// The role of argument / result `index` of `fn` (nothing when it has none
/// or an unknown one; the dialect's verifier rejects the latter).
std::optional<Role> getArgumentRole(mlir::FunctionOpInterface fn,
                                    unsigned index);
std::optional<Role> getResultRole(mlir::FunctionOpInterface fn, unsigned index);
/// The spellings of every argument's / result's role ("" where none).
std::vector<std::string> getArgumentRoles(mlir::FunctionOpInterface fn);
std::vector<std::string> getResultRoles(mlir::FunctionOpInterface fn);
/// `amp.role = role` as a named attribute, and as a dictionary.
mlir::NamedAttribute getRoleAttr(mlir::MLIRContext *context, const Role &role);
mlir::DictionaryAttr getRoleDict(mlir::MLIRContext *context, const Role &role);
/// True when `fn` is a training step (a result has role `loss`).
bool isTrainStep(mlir::FunctionOpInterface fn);
/// The argument / result index where new state goes: after the existing
/// state, before the first batch argument / before the `loss` result.
unsigned getStateArgumentEnd(mlir::FunctionOpInterface fn);
unsigned getStateResultEnd(mlir::FunctionOpInterface fn);

} // namespace ampc::amp::abi

#endif // AMPC_DIALECT_AMP_IR_TRAINSTEPABI_H
