//===- InitAll.h - register everything AMPC's tools use ---------*- C++ -*-===//
//
// Every AMPC tool and unit test registers the same dialects, interfaces and
// passes through these two functions, so that IR that one accepts, all accept.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_INITALL_H
#define AMPC_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace ampc {

/// Adds the amp dialect and the upstream dialects AMPC consumes and lowers
/// through (func, arith, math, linalg, tensor, tosa, bufferization, scf,
/// memref, vector, gpu, nvvm, llvm), with their external interface models
/// (and, through upstream's registration helpers, the other upstream
/// dialects).
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers AMPC's passes and pipelines and the upstream passes, so that
/// `ampc-opt` can run any of them by flag.
void registerAllPasses();

} // namespace ampc

#endif // AMPC_INITALL_H
