//===- AmpAttrVerification.cpp - verify amp.* attributes ------------------===//
//
// The dialect's hooks for discardable attributes: `amp.precision`,
// `amp.gradient`, `amp.gradient_operands`, `amp.origin`,
// `amp.origin_precision`, `amp.cast_sites`, `amp.nonfinite_sites`,
// `amp.fp8_sites`, `amp.policy` and
// `amp.data_parallel` on ops,
// `amp.param`, `amp.init` and `amp.role` on arguments, `amp.role` on results. A
// misspelt name or a malformed value is an error here, not a silently ignored
// annotation in a later pass.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/Amp.h"
#include "ampc/Dialect/Amp/IR/TrainStepABI.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace ampc::amp;
using namespace ampc::amp::abi;

namespace {

constexpr llvm::StringLiteral kKnownAttributes =
    "the amp dialect defines amp.precision, amp.gradient, "
    "amp.gradient_operands, amp.origin, amp.origin_precision, amp.cast_sites, "
    "amp.nonfinite_sites, amp.fp8_sites, amp.policy and amp.data_parallel "
    "on ops, "
    "amp.param, amp.init "
    "and amp.role on arguments and amp.role on results";

InFlightDiagnostic unknown(Operation *op, StringRef name, StringRef where) {
  return op->emitOpError() << "has unknown attribute '" << name << "' on "
                           << where << "; " << kKnownAttributes;
}

/// Parses an `amp.role` value; `where` is "argument #i" or "result #i".
FailureOr<Role> parseRole(Operation *op, Attribute value, StringRef where) {
  auto text = dyn_cast<StringAttr>(value);
  std::optional<Role> role = text ? Role::parse(text.getValue()) : std::nullopt;
  if (!role)
    return op->emitOpError()
           << "'" << kRoleAttrName << "' of " << where
           << " must name a training-step role (param<i>, param<i>.momentum, "
              "param<i>.exp_avg, param<i>.exp_avg_sq, beta1_power, "
              "beta2_power, loss_scale, growth_tracker, hysteresis_tracker, "
              "fp8.amax_position, fp8.amax_history, fp8.amax_block_max, "
              "fp8.scale, learning_rate, "
              "batch, loss, "
              "found_inf, grad_norm, cast_stats, nonfinite), got "
           << value;
  return *role;
}

/// `amp.param` is a unit attribute or a valid name no other argument of the
/// function has.
LogicalResult verifyParamName(Operation *op, unsigned argIndex, Attribute value,
                              StringRef where) {
  if (isa<UnitAttr>(value))
    return success();
  auto name = dyn_cast<StringAttr>(value);
  if (!name || !isValidParamName(name.getValue()))
    return op->emitOpError()
           << "'" << kParamAttrName << "' of " << where
           << " must be a unit attribute or a parameter name (not empty, no "
              "'/', no leading '.', printable ASCII), got "
           << value;
  auto fn = dyn_cast<FunctionOpInterface>(op);
  for (unsigned i = 0; fn && i < argIndex; ++i)
    if (fn.getArgAttr(i, kParamAttrName) == value)
      return op->emitOpError() << "parameter name " << value << " of " << where
                               << " is already the name of argument #" << i;
  return success();
}

/// `amp.buffer` on a result names a buffer argument of the function.
LogicalResult verifyBufferResult(Operation *op, Attribute value,
                                 StringRef where) {
  auto name = dyn_cast<StringAttr>(value);
  auto fn = dyn_cast<FunctionOpInterface>(op);
  if (!name || !fn)
    return op->emitOpError() << "'" << kBufferAttrName << "' of " << where
                             << " must name a buffer argument, got " << value;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (fn.getArgAttr(i, kBufferAttrName) &&
        fn.getArgAttr(i, kParamAttrName) == name)
      return success();
  return op->emitOpError() << "'" << kBufferAttrName << "' of " << where
                           << " names " << name
                           << ", which is not a buffer argument (amp.param = "
                           << name << " with amp.buffer)";
}

} // namespace

LogicalResult AmpDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  auto expect = [&](bool ok, StringRef what) -> LogicalResult {
    if (ok)
      return success();
    return op->emitOpError()
           << "'" << name << "' must be " << what << ", got " << value;
  };
  if (name == PrecisionAttr::getAttrName() || name == kOriginPrecisionAttrName)
    return expect(isa<PrecisionAttr>(value), "a #amp.precision");
  if (name == kPolicyAttrName)
    return expect(isa<PolicyAttr>(value), "a #amp.policy");
  if (name == kGradientAttrName)
    return expect(isa<UnitAttr>(value), "a unit attribute");
  if (name == kOriginAttrName) {
    auto origin = dyn_cast<StringAttr>(value);
    return expect(origin && origin.getValue().contains('.'),
                  "the name of an op (\"dialect.op\")");
  }
  if (name == kGradientOperandsAttrName) {
    auto indices = dyn_cast<DenseI64ArrayAttr>(value);
    return expect(indices && llvm::all_of(indices.asArrayRef(),
                                          [](int64_t i) { return i >= 0; }),
                  "an array<i64> of input operand indices");
  }
  if (name == kDataParallelAttrName)
    return expect(isa<FunctionOpInterface>(op) && isa<UnitAttr>(value),
                  "a unit attribute on a function");
  if (name == kCastSitesAttrName || name == kNonFiniteSitesAttrName ||
      name == kFp8SitesAttrName) {
    auto sites = dyn_cast<ArrayAttr>(value);
    return expect(isa<FunctionOpInterface>(op) && sites &&
                      llvm::all_of(sites, llvm::IsaPred<StringAttr>),
                  "an array of strings on a function");
  }
  return unknown(op, name, "an op");
}

LogicalResult AmpDialect::verifyRegionArgAttribute(Operation *op,
                                                   unsigned /*regionIndex*/,
                                                   unsigned argIndex,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  std::string where = "argument #" + std::to_string(argIndex);
  if (name == kParamAttrName)
    return verifyParamName(op, argIndex, attr.getValue(), where);
  if (name == kInitAttrName) {
    auto text = dyn_cast<StringAttr>(attr.getValue());
    if (!text || !ParamInit::parse(text.getValue()))
      return op->emitOpError()
             << "'" << name << "' of " << where
             << " must be \"uniform_fan_in\", \"ones\", \"zeros\", "
                "\"normal(STD)\" or \"uniform(BOUND)\" with a positive STD "
                "or BOUND, got "
             << attr.getValue();
    auto fn = dyn_cast<FunctionOpInterface>(op);
    if (fn && !fn.getArgAttr(argIndex, kParamAttrName))
      return op->emitOpError() << "'" << name << "' of " << where
                               << " needs 'amp.param': only parameters are "
                                  "initialised";
    return success();
  }
  if (name == kBufferAttrName) {
    auto fn = dyn_cast<FunctionOpInterface>(op);
    // After bufferization a result is an out-parameter that keeps its
    // attributes (see the role below).
    if (fn && isa<StringAttr>(attr.getValue()) &&
        argIndex < fn.getNumArguments() &&
        !isa<TensorType>(fn.getArgumentTypes()[argIndex]))
      return verifyBufferResult(op, attr.getValue(), where);
    if (!isa<UnitAttr>(attr.getValue()) ||
        (fn && !fn.getArgAttr(argIndex, kParamAttrName)))
      return op->emitOpError() << "'" << name << "' of " << where
                               << " must be a unit attribute on a parameter "
                                  "(amp.param)";
    return success();
  }
  if (name != kRoleAttrName)
    return unknown(op, name, where);
  FailureOr<Role> role = parseRole(op, attr.getValue(), where);
  if (failed(role))
    return failure();
  // After bufferization a result is an out-parameter: an argument (memref,
  // then LLVM pointers) that keeps the result's role. On tensors, results
  // are results.
  auto fn = dyn_cast<FunctionOpInterface>(op);
  bool outParameter = fn && argIndex < fn.getNumArguments() &&
                      !isa<TensorType>(fn.getArgumentTypes()[argIndex]);
  if (!role->isArgument() && !outParameter)
    return op->emitOpError() << "role '" << role->str() << "' of " << where
                             << " belongs to a result, not an argument";
  return success();
}

LogicalResult AmpDialect::verifyRegionResultAttribute(Operation *op,
                                                      unsigned /*regionIndex*/,
                                                      unsigned resultIndex,
                                                      NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  std::string where = "result #" + std::to_string(resultIndex);
  if (name == kBufferAttrName)
    return verifyBufferResult(op, attr.getValue(), where);
  if (name != kRoleAttrName)
    return unknown(op, name, where);
  FailureOr<Role> role = parseRole(op, attr.getValue(), where);
  if (failed(role))
    return failure();
  if (!role->isResult())
    return op->emitOpError() << "role '" << role->str() << "' of " << where
                             << " belongs to an argument, not a result";
  // State comes back where it went in, so that callers can swap it; a
  // function returning state it does not take (train_state_init) is exempt.
  auto fn = dyn_cast<FunctionOpInterface>(op);
  if (!fn || !role->isState() || !isTrainStep(fn))
    return success();
  std::optional<Role> argRole = resultIndex < fn.getNumArguments()
                                    ? getArgumentRole(fn, resultIndex)
                                    : std::nullopt;
  if (!argRole || *argRole != *role)
    return op->emitOpError()
           << "state result #" << resultIndex << " ('" << role->str()
           << "') must be returned at the position of the argument with the "
              "same role";
  return success();
}
