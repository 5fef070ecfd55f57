//===- Compile.h - the front half shared by the JIT and AOT -----*- C++ -*-===//
//
// Parsing a module and lowering it to the LLVM dialect for the CPU, with
// every diagnostic collected into the returned error.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_JIT_COMPILE_H
#define AMPC_LIB_JIT_COMPILE_H

#include "ampc/JIT/JIT.h"
#include "ampc/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/TargetParser/Triple.h"

namespace ampc::detail {

llvm::Error makeError(const llvm::Twine &message);

/// A context with every dialect AMPC registers and the LLVM IR translations;
/// initializes LLVM's native target and the pass registry once per process.
std::unique_ptr<mlir::MLIRContext> makeCompilerContext();

/// Checks the names a user gives for `triple`: `cpu` (skipped when empty)
/// must be one of the target's CPUs, and every item of the comma-separated
/// `features` (JitOptions::cpuFeatures, AotOptions::features) `+name` or
/// `-name` of one of its features. LLVM itself warns about an unknown CPU
/// or feature and compiles without it, which would time or ship code for
/// another CPU than the one asked for. Where the code `runsOnThisHost` (the
/// JIT), every feature a `+name` turns on, with those it implies, must
/// also be one the host has where the host reports it (LLVM's tuning flags,
/// such as `+prefer-256-bit`, are no instructions and pass): an instruction
/// the CPU lacks stops the process (SIGILL) at the first step. The target
/// must be initialized (makeCompilerContext does the host's).
llvm::Error checkTargetNames(const llvm::Triple &triple, llvm::StringRef cpu,
                             llvm::StringRef features,
                             bool runsOnThisHost = false);

/// Adds passes to a pass manager (a front end or a back end).
using PassBuilder = llvm::function_ref<void(mlir::OpPassManager &)>;

/// Parses `source`, gives a model written for any batch size batches of
/// `batch` (ampc-specialize-batch; 0: as written; negative: an error), runs
/// `frontEnd` (if any: amp-build-train-step for a trainer) and the
/// precision pipeline for `precision` (nothing without a policy), describes
/// its public functions into `signatures`, and runs
/// `backend` (ampc-cpu-pipeline or ampc-gpu-pipeline). Everything happens on
/// one module in `context`: nothing is printed and parsed again. With
/// `precisionReport`, writes amp-precision-report's text of the module
/// after the precision pipeline there.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
parseAndLower(mlir::MLIRContext &context, llvm::StringRef source,
              llvm::StringRef bufferName, int64_t batch, PassBuilder frontEnd,
              const PrecisionOptions &precision, PassBuilder backend,
              std::vector<FunctionSignature> &signatures,
              std::string *precisionReport = nullptr);

} // namespace ampc::detail

#endif // AMPC_LIB_JIT_COMPILE_H
