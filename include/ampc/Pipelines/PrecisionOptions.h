//===- PrecisionOptions.h - the options of the precision flow ---*- C++ -*-===//
//
// One plain struct for every choice the precision passes make (policy,
// per-op overrides, fp8 scaling, cast statistics). It is embedded wherever a
// flow compiles a model (JitOptions, AotOptions), read by
// buildTrainPipeline, bound to command-line options by one function that
// every tool calls, and to ampc-opt's textual pipeline options by one
// conversion.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_PIPELINES_PRECISIONOPTIONS_H
#define AMPC_PIPELINES_PRECISIONOPTIONS_H

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace ampc {

struct PrecisionOptions {
  /// The policy; none: no precision pass runs (the module as written).
  std::optional<amp::Policy> policy;
  /// Per-op overrides of the autocast classes, by op name (amp-autocast's
  /// lower-ops, fp32-ops, promote-ops and follow-ops).
  std::vector<std::string> lowerOps, fp32Ops, promoteOps, followOps;
  /// fp8 scaling (amp-fp8-scaling). No recipe: delayed in the training
  /// step, current elsewhere.
  std::optional<amp::ScalingRecipe> fp8Recipe;
  int64_t fp8HistoryLength = 1024;
  amp::AmaxAlgo fp8Algo = amp::AmaxAlgo::max;
  /// fp8 scales are divided by 2^margin.
  int64_t fp8Margin = 0;
  /// Make the training step report per-cast underflow/overflow shares
  /// (amp-cast-statistics).
  bool castStatistics = false;
  /// Make the training step report which op produced the first inf or NaN
  /// (amp-check-numerics; with or without a policy).
  bool checkNumerics = false;

  /// "none", "fp32", "bf16", "fp16" or "fp8".
  std::string policyName() const;
  /// Sets `policy` from its name ("none" clears it).
  llvm::Error setPolicy(llvm::StringRef name);
  /// Sets `fp8Recipe` from "" / "delayed" / "current".
  llvm::Error setFp8Recipe(llvm::StringRef name);
  /// Sets `fp8Algo` from "max" / "most_recent".
  llvm::Error setFp8Algo(llvm::StringRef name);
  /// Checks the numbers (a positive history length, a margin >= 0).
  llvm::Error verify() const;
};

/// A policy by name, for callers that hold one as text; errors name the
/// choices.
llvm::Expected<std::optional<amp::Policy>> parsePolicy(llvm::StringRef name);

/// Registers the command-line options of PrecisionOptions (--policy,
/// --lower-ops, --fp32-ops, --promote-ops, --follow-ops, --fp8-recipe,
/// --fp8-history-len, --fp8-algo, --fp8-margin, --cast-stats) in their
/// own category, with --threads and --features (the thread count and CPU
/// features of compiled code, which every compiling tool takes). Call before
/// llvm::cl::ParseCommandLineOptions; once per process.
void registerPrecisionCLOptions();
/// The category those options are in (for cl::HideUnrelatedOptions).
llvm::cl::OptionCategory &getPrecisionCLCategory();
/// --features as given on the command line: LLVM CPU features, "+name" or
/// "-name", comma-separated (checked where code is compiled).
std::string getCpuFeaturesFromCL();
/// --threads as parsed from the command line (0: all cores).
llvm::Expected<unsigned> getThreadsFromCL();
/// The options as parsed from the command line, checked; exactly one
/// policy (none when --policy is not given).
llvm::Expected<PrecisionOptions> getPrecisionOptionsFromCL();
/// One PrecisionOptions per policy of --policy (comma-separated), or of
/// `defaultPolicies` when it is not given; the other options are shared
/// (--cast-stats defaults to `defaultCastStatistics`).
llvm::Expected<std::vector<PrecisionOptions>>
getPrecisionOptionsPerPolicyFromCL(llvm::ArrayRef<std::string> defaultPolicies,
                                   bool defaultCastStatistics);

} // namespace ampc

#endif // AMPC_PIPELINES_PRECISIONOPTIONS_H
