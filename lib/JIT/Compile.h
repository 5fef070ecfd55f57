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

namespace ampc::detail {

llvm::Error makeError(const llvm::Twine &message);

/// A context with every dialect AMPC registers and the LLVM IR translations;
/// initializes LLVM's native target and the pass registry once per process.
std::unique_ptr<mlir::MLIRContext> makeCompilerContext();

/// Parses `source`, runs ampc-train-pipeline with `precision` (unless its
/// policy is "none"), describes its public functions into `signatures`, and
/// runs `backend` (ampc-cpu-pipeline or ampc-gpu-pipeline).
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
parseAndLower(mlir::MLIRContext &context, llvm::StringRef source,
              llvm::StringRef bufferName, const TrainPipelineOptions &precision,
              llvm::function_ref<void(mlir::OpPassManager &)> backend,
              std::vector<FunctionSignature> &signatures);

} // namespace ampc::detail

#endif // AMPC_LIB_JIT_COMPILE_H
