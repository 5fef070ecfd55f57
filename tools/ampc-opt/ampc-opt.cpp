//===- ampc-opt.cpp - the AMPC optimizer driver ---------------------------===//
//
// mlir-opt with the amp dialect and AMPC's passes and pipelines. One default
// differs from mlir-opt's: a diagnostic does not append the generic form of
// the op it is attached to (`see current operation: ...`, often the whole
// function); its location and message say where and what.
// `--mlir-print-op-on-diagnostic` brings the dump back.
//
//===----------------------------------------------------------------------===//

#include "ampc/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/ADT/StringRef.h"

#include <vector>

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  ampc::registerAllDialects(registry);
  ampc::registerAllPasses();
  std::vector<char *> args(argv, argv + argc);
  bool chosen = false;
  for (llvm::StringRef arg : llvm::ArrayRef(argv, argc).drop_front())
    chosen |= arg.ltrim('-').starts_with("mlir-print-op-on-diagnostic");
  static char quiet[] = "--mlir-print-op-on-diagnostic=false";
  if (!chosen)
    args.insert(args.begin() + 1, quiet);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      int(args.size()), args.data(),
      "AMPC: mixed-precision training compiler driver\n", registry));
}
