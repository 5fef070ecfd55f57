//===- Compile.cpp - the front half shared by the JIT and AOT -------------===//

#include "Compile.h"

#include "ampc/Autodiff/Passes.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"
#include "ampc/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>

using namespace mlir;

llvm::Error ampc::detail::makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The features that `+name` turns on (itself and every feature it implies)
/// which `host` reports absent, comma-separated; empty where there are none.
/// LLVM's tuning flags are not host features and never count.
static std::string featuresTheHostLacks(const llvm::Target &target,
                                        const llvm::Triple &triple,
                                        llvm::StringRef name,
                                        const llvm::StringMap<bool> &host) {
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target.createMCSubtargetInfo(triple, "", ("+" + name).str()));
  std::string missing;
  if (!info)
    return missing;
  const llvm::FeatureBitset &bits = info->getFeatureBits();
  for (const llvm::SubtargetFeatureKV &feature :
       info->getAllProcessorFeatures()) {
    auto known = host.find(feature.Key);
    if (bits.test(feature.Value) && known != host.end() && !known->second)
      missing += (missing.empty() ? "" : ", ") + std::string(feature.Key);
  }
  return missing;
}

llvm::Error ampc::detail::checkTargetNames(const llvm::Triple &triple,
                                           llvm::StringRef cpu,
                                           llvm::StringRef features,
                                           bool runsOnThisHost) {
  llvm::SmallVector<llvm::StringRef> items;
  features.split(items, ',', -1, /*KeepEmpty=*/false);
  if (cpu.empty() && items.empty())
    return llvm::Error::success();
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for '" + triple.str() + "': " + error);
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!info)
    return makeError("LLVM has no CPU list for '" + triple.str() + "'");
  if (!cpu.empty() && !info->isCPUStringValid(cpu))
    return makeError("'" + cpu + "' is not a CPU of " + triple.str() +
                     " that LLVM knows (`llc -mtriple=" + triple.str() +
                     " -mcpu=help` lists them)");
  llvm::StringMap<bool> host;
  if (runsOnThisHost)
    host = llvm::sys::getHostCPUFeatures();
  for (llvm::StringRef item : items) {
    item = item.trim();
    llvm::StringRef name = item;
    bool on = name.consume_front("+");
    if (!on && !name.consume_front("-"))
      return makeError("target feature '" + item + "' needs a sign: '+" + item +
                       "' turns it on, '-" + item + "' off");
    auto known = [&](const llvm::SubtargetFeatureKV &feature) {
      return name == feature.Key;
    };
    if (llvm::none_of(info->getAllProcessorFeatures(), known))
      return makeError("'" + name + "' is not a CPU feature of " +
                       triple.str() + " that LLVM knows (`llc -mtriple=" +
                       triple.str() + " -mattr=help` lists them)");
    if (!runsOnThisHost || !on)
      continue;
    std::string missing = featuresTheHostLacks(*target, triple, name, host);
    if (!missing.empty())
      return makeError(
          "'+" + name + "' needs " + missing + ", which this CPU (" +
          llvm::sys::getHostCPUName() +
          ") does not have: the JIT runs the code it compiles here, where "
          "those instructions would stop the process (ampc-compile "
          "--features compiles for another CPU)");
  }
  return llvm::Error::success();
}

std::unique_ptr<MLIRContext> ampc::detail::makeCompilerContext() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    ampc::registerAllPasses();
  });
  DialectRegistry registry;
  registerAllDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  auto context = std::make_unique<MLIRContext>(registry);
  // Dialects load as the input and the passes need them. Errors name the op
  // and its location; the IR around it is not dumped into them.
  context->printOpOnDiagnostic(false);
  return context;
}

llvm::Expected<OwningOpRef<ModuleOp>> ampc::detail::parseAndLower(
    MLIRContext &context, llvm::StringRef source, llvm::StringRef bufferName,
    int64_t batch, PassBuilder frontEnd, const PrecisionOptions &precision,
    PassBuilder backend, std::vector<FunctionSignature> &signatures,
    std::string *precisionReport) {
  if (llvm::Error error = precision.verify())
    return std::move(error);
  if (batch < 0)
    return makeError("the batch size must be positive, got " +
                     llvm::Twine(batch));
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(source, bufferName), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagStream);
  OwningOpRef<ModuleOp> ir = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!ir)
    return makeError("cannot parse '" + bufferName + "':\n" + diagnostics);
  // The precision pipeline may add state (fp8 scaling of a training step):
  // the signatures are those after it.
  PassManager frontPm(&context);
  // A batch size for a model written for any: before anything else sees
  // the shapes.
  if (batch > 0)
    frontPm.addPass(createAmpcSpecializeBatch({batch}));
  if (frontEnd)
    frontEnd(frontPm);
  buildTrainPipeline(frontPm, precision);
  if (failed(frontPm.run(*ir)))
    return makeError("cannot compile '" + bufferName + "':\n" + diagnostics);
  signatures = describeFunctions(*ir);
  if (precisionReport) {
    llvm::raw_string_ostream os(*precisionReport);
    ampc::amp::writePrecisionReport(*ir, os);
  }
  PassManager pm(&context);
  backend(pm);
  if (failed(pm.run(*ir)))
    return makeError("cannot compile '" + bufferName + "':\n" + diagnostics);
  return ir;
}

llvm::Expected<std::string> ampc::transformSource(llvm::StringRef source,
                                                  llvm::StringRef bufferName,
                                                  llvm::StringRef pipeline) {
  std::unique_ptr<MLIRContext> context = detail::makeCompilerContext();
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(source, bufferName), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, context.get(), diagStream);
  OwningOpRef<ModuleOp> ir =
      parseSourceFile<ModuleOp>(sourceMgr, context.get());
  if (!ir)
    return detail::makeError("cannot parse '" + bufferName + "':\n" +
                             diagnostics);
  PassManager pm(context.get());
  if (failed(parsePassPipeline(pipeline, pm, diagStream)))
    return detail::makeError("invalid pipeline '" + pipeline +
                             "': " + diagnostics);
  if (failed(pm.run(*ir)))
    return detail::makeError("cannot transform '" + bufferName + "':\n" +
                             diagnostics);
  std::string text;
  llvm::raw_string_ostream os(text);
  ir->print(os);
  return text;
}

llvm::Expected<std::string> ampc::differentiate(llvm::StringRef source,
                                                llvm::StringRef bufferName,
                                                llvm::StringRef function) {
  return transformSource(source, bufferName,
                         ("ampc-autodiff{function=" + function + "}").str());
}
