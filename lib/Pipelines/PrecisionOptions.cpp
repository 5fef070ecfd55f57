//===- PrecisionOptions.cpp - parse and bind the precision options --------===//
//
// Names of the policy and fp8 choices, and the one set of command-line
// options every tool shares.
//
//===----------------------------------------------------------------------===//

#include "ampc/Pipelines/PrecisionOptions.h"

#include "llvm/Support/ManagedStatic.h"

namespace cl = llvm::cl;
using ampc::PrecisionOptions;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace

llvm::Expected<std::optional<ampc::amp::Policy>>
ampc::parsePolicy(llvm::StringRef name) {
  if (name == "none")
    return std::nullopt;
  if (std::optional<amp::Policy> policy = amp::symbolizePolicy(name))
    return policy;
  return makeError("unknown policy '" + name +
                   "'; expected none, fp32, bf16, fp16 or fp8");
}

std::string PrecisionOptions::policyName() const {
  return policy ? amp::stringifyPolicy(*policy).str() : "none";
}

llvm::Error PrecisionOptions::setPolicy(llvm::StringRef name) {
  auto parsed = parsePolicy(name);
  if (!parsed)
    return parsed.takeError();
  policy = *parsed;
  return llvm::Error::success();
}

llvm::Error PrecisionOptions::setFp8Recipe(llvm::StringRef name) {
  if (name.empty()) {
    fp8Recipe.reset();
    return llvm::Error::success();
  }
  fp8Recipe = amp::symbolizeScalingRecipe(name);
  if (!fp8Recipe)
    return makeError("unknown fp8 recipe '" + name +
                     "'; expected delayed or current");
  return llvm::Error::success();
}

llvm::Error PrecisionOptions::setFp8Algo(llvm::StringRef name) {
  std::optional<amp::AmaxAlgo> algo = amp::symbolizeAmaxAlgo(name);
  if (!algo)
    return makeError("unknown fp8 amax algorithm '" + name +
                     "'; expected max or most_recent");
  fp8Algo = *algo;
  return llvm::Error::success();
}

llvm::Error PrecisionOptions::verify() const {
  if (fp8HistoryLength < 1)
    return makeError("the fp8 amax history length must be positive, got " +
                     llvm::Twine(fp8HistoryLength));
  if (fp8Margin < 0)
    return makeError("the fp8 margin must be >= 0, got " +
                     llvm::Twine(fp8Margin));
  return llvm::Error::success();
}

namespace {

/// The command-line options, created by registerPrecisionCLOptions.
struct PrecisionCLOptions {
  cl::list<std::string> policies{
      "policy", cl::CommaSeparated,
      cl::desc("the precision policy (none, fp32, bf16, fp16, fp8; ampc-train "
               "takes several, comma-separated)"),
      cl::cat(ampc::getPrecisionCLCategory())};
  cl::list<std::string> lowerOps{"lower-ops", cl::CommaSeparated,
                                 cl::desc("op names computed in the low type"),
                                 cl::cat(ampc::getPrecisionCLCategory())};
  cl::list<std::string> fp32Ops{"fp32-ops", cl::CommaSeparated,
                                cl::desc("op names kept in f32"),
                                cl::cat(ampc::getPrecisionCLCategory())};
  cl::list<std::string> promoteOps{
      "promote-ops", cl::CommaSeparated,
      cl::desc("op names taking their widest input's precision"),
      cl::cat(ampc::getPrecisionCLCategory())};
  cl::list<std::string> followOps{
      "follow-ops", cl::CommaSeparated,
      cl::desc("op names taking their input's precision"),
      cl::cat(ampc::getPrecisionCLCategory())};
  cl::opt<std::string> fp8Recipe{
      "fp8-recipe", cl::init(""),
      cl::desc("delayed or current fp8 scaling (default: delayed in the "
               "training step, current elsewhere)"),
      cl::cat(ampc::getPrecisionCLCategory())};
  cl::opt<int64_t> fp8HistoryLength{
      "fp8-history-len", cl::init(1024),
      cl::desc("amax history length of delayed fp8 scaling"),
      cl::cat(ampc::getPrecisionCLCategory())};
  cl::opt<std::string> fp8Algo{
      "fp8-algo", cl::init("max"),
      cl::desc("max or most_recent: how the amax history sets the scale"),
      cl::cat(ampc::getPrecisionCLCategory())};
  cl::opt<int64_t> fp8Margin{"fp8-margin", cl::init(0),
                             cl::desc("fp8 scales are divided by 2^margin"),
                             cl::cat(ampc::getPrecisionCLCategory())};
  cl::opt<bool> castStatistics{
      "cast-stats", cl::init(false),
      cl::desc("measure what each cast of the training step loses "
               "(per-cast underflow/overflow shares; ampc-train measures "
               "unless --cast-stats=false)"),
      cl::cat(ampc::getPrecisionCLCategory())};
  cl::opt<bool> checkNumerics{
      "check-numerics", cl::init(false),
      cl::desc("report the first op of a training step that produces an inf "
               "or NaN (forward or backward, with its location)"),
      cl::cat(ampc::getPrecisionCLCategory())};
};

llvm::ManagedStatic<PrecisionCLOptions> clOptions;

/// --features, which every compiling tool takes with --threads.
cl::opt<std::string> &featuresOption() {
  static cl::opt<std::string> option(
      "features", cl::init(""),
      cl::desc("LLVM CPU features to add (+name) or take away (-name) from "
               "the CPU compiled for (this machine's, or ampc-compile's "
               "--cpu), comma-separated: -avx512f compiles AVX2 code on an "
               "AVX-512 machine"),
      cl::cat(ampc::getPrecisionCLCategory()));
  return option;
}

constexpr llvm::StringLiteral kThreadsDescription =
    "threads of compiled code's parallel loops (0: all cores, or "
    "OMP_NUM_THREADS; 1: sequential, no OpenMP runtime)";

/// --threads. LLVM 22's library already registers a hidden, undescribed
/// `cl::opt<int> threads` in every process that links it (a second one is a
/// fatal error): that one is taken, described and shown; otherwise one is
/// made.
cl::opt<int> &threadsOption() {
  static cl::opt<int> *option = [] {
    auto &registered = cl::getRegisteredOptions();
    auto found = registered.find("threads");
    if (found == registered.end())
      return new cl::opt<int>("threads", cl::init(0));
    return static_cast<cl::opt<int> *>(found->second);
  }();
  return *option;
}

} // namespace

llvm::cl::OptionCategory &ampc::getPrecisionCLCategory() {
  static cl::OptionCategory category("Precision options");
  return category;
}

void ampc::registerPrecisionCLOptions() {
  *clOptions;
  cl::opt<int> &threads = threadsOption();
  threads.setDescription(kThreadsDescription);
  threads.setHiddenFlag(cl::NotHidden);
  threads.addCategory(getPrecisionCLCategory());
  featuresOption();
}

std::string ampc::getCpuFeaturesFromCL() {
  registerPrecisionCLOptions();
  return featuresOption();
}

llvm::Expected<unsigned> ampc::getThreadsFromCL() {
  registerPrecisionCLOptions();
  int threads = threadsOption();
  if (threads < 0)
    return llvm::createStringError(
        "--threads must be 0 (all cores) or a positive count, not " +
        std::to_string(threads));
  return static_cast<unsigned>(threads);
}

llvm::Expected<std::vector<PrecisionOptions>>
ampc::getPrecisionOptionsPerPolicyFromCL(
    llvm::ArrayRef<std::string> defaultPolicies, bool defaultCastStatistics) {
  registerPrecisionCLOptions();
  const PrecisionCLOptions &cli = *clOptions;
  std::vector<std::string> names(cli.policies.begin(), cli.policies.end());
  if (names.empty())
    names.assign(defaultPolicies.begin(), defaultPolicies.end());
  PrecisionOptions options;
  options.lowerOps.assign(cli.lowerOps.begin(), cli.lowerOps.end());
  options.fp32Ops.assign(cli.fp32Ops.begin(), cli.fp32Ops.end());
  options.promoteOps.assign(cli.promoteOps.begin(), cli.promoteOps.end());
  options.followOps.assign(cli.followOps.begin(), cli.followOps.end());
  if (llvm::Error error = options.setFp8Recipe(cli.fp8Recipe))
    return std::move(error);
  options.fp8HistoryLength = cli.fp8HistoryLength;
  if (llvm::Error error = options.setFp8Algo(cli.fp8Algo))
    return std::move(error);
  options.fp8Margin = cli.fp8Margin;
  options.checkNumerics = cli.checkNumerics;
  options.castStatistics = cli.castStatistics.getNumOccurrences()
                               ? bool(cli.castStatistics)
                               : defaultCastStatistics;
  if (llvm::Error error = options.verify())
    return std::move(error);
  std::vector<PrecisionOptions> perPolicy;
  for (const std::string &name : names) {
    perPolicy.push_back(options);
    if (llvm::Error error = perPolicy.back().setPolicy(name))
      return std::move(error);
  }
  return perPolicy;
}

llvm::Expected<PrecisionOptions> ampc::getPrecisionOptionsFromCL() {
  auto perPolicy = getPrecisionOptionsPerPolicyFromCL({"none"}, false);
  if (!perPolicy)
    return perPolicy.takeError();
  if (perPolicy->size() != 1)
    return makeError("--policy takes one policy here, got " +
                     llvm::Twine(perPolicy->size()));
  return std::move(perPolicy->front());
}
