//===- ampc-opt.cpp - the AMPC optimizer driver ---------------------------===//
//
// mlir-opt with the amp dialect and AMPC's passes and pipelines.
//
//===----------------------------------------------------------------------===//

#include "ampc/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  ampc::registerAllDialects(registry);
  ampc::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "AMPC: mixed-precision training compiler driver\n",
      registry));
}
