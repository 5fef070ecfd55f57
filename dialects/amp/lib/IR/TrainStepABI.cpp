//===- TrainStepABI.cpp - the training step's contract --------------------===//
//
// Spelling, parsing and layout checks of training-step roles.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/TrainStepABI.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace ampc::amp::abi;

namespace {

/// Roles spelled by a fixed word.
constexpr std::pair<RoleKind, llvm::StringLiteral> kFixedRoles[] = {
    {RoleKind::Beta1Power, "beta1_power"},
    {RoleKind::Beta2Power, "beta2_power"},
    {RoleKind::LossScale, "loss_scale"},
    {RoleKind::GrowthTracker, "growth_tracker"},
    {RoleKind::HysteresisTracker, "hysteresis_tracker"},
    {RoleKind::Fp8AmaxPosition, "fp8.amax_position"},
    {RoleKind::Fp8AmaxHistory, "fp8.amax_history"},
    {RoleKind::Fp8AmaxBlockMax, "fp8.amax_block_max"},
    {RoleKind::Fp8Scale, "fp8.scale"},
    {RoleKind::LearningRate, "learning_rate"},
    {RoleKind::Batch, "batch"},
    {RoleKind::Loss, "loss"},
    {RoleKind::FoundInf, "found_inf"},
    {RoleKind::GradNorm, "grad_norm"},
    {RoleKind::CastStats, "cast_stats"},
    {RoleKind::NonFinite, "nonfinite"},
};

/// Suffixes of per-parameter state: param<i>.<suffix>.
constexpr std::pair<RoleKind, llvm::StringLiteral> kParamSlots[] = {
    {RoleKind::Momentum, "momentum"},
    {RoleKind::ExpAvg, "exp_avg"},
    {RoleKind::ExpAvgSq, "exp_avg_sq"},
};

template <size_t N>
std::optional<llvm::StringLiteral>
spell(const std::pair<RoleKind, llvm::StringLiteral> (&table)[N],
      RoleKind kind) {
  for (const auto &[k, word] : table)
    if (k == kind)
      return word;
  return std::nullopt;
}

template <size_t N>
std::optional<RoleKind>
lookup(const std::pair<RoleKind, llvm::StringLiteral> (&table)[N],
       llvm::StringRef word) {
  for (const auto &[k, w] : table)
    if (w == word)
      return k;
  return std::nullopt;
}

} // namespace

std::string Role::str() const {
  if (kind == RoleKind::Param)
    return "param" + std::to_string(param);
  if (std::optional<llvm::StringLiteral> slot = spell(kParamSlots, kind))
    return "param" + std::to_string(param) + "." + slot->str();
  return spell(kFixedRoles, kind)->str();
}

std::optional<Role> Role::parse(llvm::StringRef text) {
  if (std::optional<RoleKind> kind = lookup(kFixedRoles, text))
    return Role::of(*kind);
  if (!text.consume_front("param"))
    return std::nullopt;
  auto [number, slot] = text.split('.');
  int64_t index;
  // Canonical decimal only: "param01" would not round-trip.
  if (number.getAsInteger(10, index) || index < 0 ||
      std::to_string(index) != number)
    return std::nullopt;
  if (slot.empty())
    return text.contains('.') ? std::nullopt
                              : std::optional(Role::ofParam(index));
  if (std::optional<RoleKind> kind = lookup(kParamSlots, slot))
    return Role::ofParam(index, *kind);
  return std::nullopt;
}

bool Role::isState() const {
  switch (kind) {
  case RoleKind::LearningRate:
  case RoleKind::Batch:
  case RoleKind::Loss:
  case RoleKind::FoundInf:
  case RoleKind::GradNorm:
  case RoleKind::CastStats:
  case RoleKind::NonFinite:
    return false;
  default:
    return true;
  }
}

namespace {

/// Checks the carried prefix: params 0..n-1, then state; returns its length.
std::optional<size_t> checkCarried(llvm::ArrayRef<std::string> roles,
                                   StepLayout &layout, std::string &error) {
  size_t i = 0;
  for (; i < roles.size(); ++i) {
    std::optional<Role> role = Role::parse(roles[i]);
    if (!role || role->kind != RoleKind::Param)
      break;
    if (role->param != int64_t(i)) {
      error = "argument #" + std::to_string(i) + " is '" + roles[i] +
              "', expected 'param" + std::to_string(i) + "'";
      return std::nullopt;
    }
  }
  layout.numParams = i;
  for (; i < roles.size(); ++i) {
    std::optional<Role> role = Role::parse(roles[i]);
    if (!role || !role->isState())
      break;
    if (role->kind == RoleKind::Param) {
      error = "parameter '" + roles[i] + "' after the optimizer state";
      return std::nullopt;
    }
  }
  layout.numState = i - layout.numParams;
  return i;
}

} // namespace

std::optional<StepLayout>
StepLayout::get(llvm::ArrayRef<std::string> argumentRoles,
                llvm::ArrayRef<std::string> resultRoles, std::string &error) {
  StepLayout layout;
  std::optional<size_t> carried = checkCarried(argumentRoles, layout, error);
  if (!carried)
    return std::nullopt;
  if (layout.numParams == 0) {
    error = "the training step has no 'param0' argument";
    return std::nullopt;
  }
  size_t firstBatch = *carried;
  if (firstBatch < argumentRoles.size() &&
      argumentRoles[firstBatch] == "learning_rate")
    layout.learningRate = firstBatch++;
  for (size_t i = firstBatch; i < argumentRoles.size(); ++i) {
    if (argumentRoles[i] != "batch") {
      error = "argument #" + std::to_string(i) + " is '" + argumentRoles[i] +
              "', expected 'batch' after the parameters, the state and an "
              "optional 'learning_rate'";
      return std::nullopt;
    }
    ++layout.numBatch;
  }
  if (resultRoles.size() < layout.numCarried() ||
      !llvm::equal(resultRoles.take_front(layout.numCarried()),
                   argumentRoles.take_front(layout.numCarried()))) {
    error = "the results do not start with the parameters and state in the "
            "order of the arguments";
    return std::nullopt;
  }
  std::optional<size_t> loss, foundInf, gradNorm;
  for (size_t i = layout.numCarried(); i < resultRoles.size(); ++i) {
    std::optional<Role> role = Role::parse(resultRoles[i]);
    std::optional<size_t> *slot =
        !role                               ? nullptr
        : role->kind == RoleKind::Loss      ? &loss
        : role->kind == RoleKind::FoundInf  ? &foundInf
        : role->kind == RoleKind::GradNorm  ? &gradNorm
        : role->kind == RoleKind::CastStats ? &layout.castStats
        : role->kind == RoleKind::NonFinite ? &layout.nonFinite
                                            : nullptr;
    if (!slot || *slot) {
      error = "result #" + std::to_string(i) + " '" + resultRoles[i] +
              "' is unexpected after the state (or repeated)";
      return std::nullopt;
    }
    *slot = i;
  }
  if (!loss || !foundInf || !gradNorm) {
    error = "the training step lacks a 'loss', 'found_inf' or 'grad_norm' "
            "result";
    return std::nullopt;
  }
  layout.loss = *loss;
  layout.foundInf = *foundInf;
  layout.gradNorm = *gradNorm;
  return layout;
}

std::optional<ParamInit> ParamInit::parse(llvm::StringRef text) {
  using Kind = ParamInit::Kind;
  if (text == "uniform_fan_in")
    return ParamInit{Kind::UniformFanIn, 0};
  if (text == "ones")
    return ParamInit{Kind::Ones, 0};
  if (text == "zeros")
    return ParamInit{Kind::Zeros, 0};
  for (auto [prefix, kind] :
       {std::pair(llvm::StringRef("normal("), Kind::Normal),
        std::pair(llvm::StringRef("uniform("), Kind::Uniform)}) {
    llvm::StringRef rest = text;
    if (!rest.consume_front(prefix) || !rest.consume_back(")"))
      continue;
    double value;
    if (rest.trim().getAsDouble(value) || !std::isfinite(value) || value <= 0)
      return std::nullopt;
    return ParamInit{kind, value};
  }
  return std::nullopt;
}

bool ampc::amp::abi::isValidParamName(llvm::StringRef name) {
  return !name.empty() && !name.starts_with(".") && !name.contains('/') &&
         llvm::all_of(name, [](char c) { return c > ' ' && c < 127; });
}

std::string ampc::amp::abi::getParamName(FunctionOpInterface fn,
                                         unsigned index) {
  Attribute param = fn.getArgAttr(index, kParamAttrName);
  if (!param)
    return "";
  if (auto name = dyn_cast<StringAttr>(param))
    return name.str();
  if (auto body = fn.getCallableRegion(); body && !body->empty())
    if (auto loc = dyn_cast<NameLoc>(body->getArgument(index).getLoc()))
      return loc.getName().str();
  return "";
}

std::optional<Role> ampc::amp::abi::getArgumentRole(FunctionOpInterface fn,
                                                    unsigned index) {
  auto role = fn.getArgAttrOfType<StringAttr>(index, kRoleAttrName);
  return role ? Role::parse(role.getValue()) : std::nullopt;
}

std::optional<Role> ampc::amp::abi::getResultRole(FunctionOpInterface fn,
                                                  unsigned index) {
  auto role = fn.getResultAttrOfType<StringAttr>(index, kRoleAttrName);
  return role ? Role::parse(role.getValue()) : std::nullopt;
}

std::vector<std::string>
ampc::amp::abi::getArgumentRoles(FunctionOpInterface fn) {
  std::vector<std::string> roles;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto role = fn.getArgAttrOfType<StringAttr>(i, kRoleAttrName);
    roles.push_back(role ? role.str() : "");
  }
  return roles;
}

std::vector<std::string>
ampc::amp::abi::getResultRoles(FunctionOpInterface fn) {
  std::vector<std::string> roles;
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    auto role = fn.getResultAttrOfType<StringAttr>(i, kRoleAttrName);
    roles.push_back(role ? role.str() : "");
  }
  return roles;
}

NamedAttribute ampc::amp::abi::getRoleAttr(MLIRContext *context,
                                           const Role &role) {
  return NamedAttribute(StringAttr::get(context, kRoleAttrName),
                        StringAttr::get(context, role.str()));
}

DictionaryAttr ampc::amp::abi::getRoleDict(MLIRContext *context,
                                           const Role &role) {
  return DictionaryAttr::get(context, {getRoleAttr(context, role)});
}

bool ampc::amp::abi::isTrainStep(FunctionOpInterface fn) {
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (std::optional<Role> role = getResultRole(fn, i);
        role && role->kind == RoleKind::Loss)
      return true;
  return false;
}

unsigned ampc::amp::abi::getStateArgumentEnd(FunctionOpInterface fn) {
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (std::optional<Role> role = getArgumentRole(fn, i);
        role && !role->isState())
      return i;
  return fn.getNumArguments();
}

unsigned ampc::amp::abi::getStateResultEnd(FunctionOpInterface fn) {
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (std::optional<Role> role = getResultRole(fn, i);
        role && !role->isState())
      return i;
  return fn.getNumResults();
}
