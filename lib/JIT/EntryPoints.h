//===- EntryPoints.h - one body per entry point ----------------*- C++ -*-===//
//
// Shared by the JIT and ampc-compile: how a lowered module's public
// functions meet their callers (see EntryPoints.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_JIT_ENTRYPOINTS_H
#define AMPC_LIB_JIT_ENTRYPOINTS_H

#include "llvm/ADT/StringRef.h"

namespace llvm {
class Module;
} // namespace llvm

namespace ampc::detail {

/// The prefix of a public function's C interface, the entry point the JIT
/// calls (through the execution engine's packed wrapper) and ampc-compile's
/// header declares.
inline constexpr llvm::StringLiteral kInterfacePrefix = "_mlir_ciface_";

/// Folds each public function NAME into its C interface `_mlir_ciface_NAME`
/// and, with `packed` (the JIT), that interface into the execution engine's
/// packed wrapper `_mlir__mlir_ciface_NAME`, whose own packed wrapper of
/// NAME is then erased: a callee whose only caller is its wrapper becomes
/// internal and always inlined, so a call loads the descriptor fields the
/// body uses instead of passing every field of every memref twice. Runs
/// before the LLVM optimizer.
void foldEntryPoints(llvm::Module &module, bool packed);

} // namespace ampc::detail

#endif // AMPC_LIB_JIT_ENTRYPOINTS_H
