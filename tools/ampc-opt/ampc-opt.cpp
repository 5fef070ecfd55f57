//===- ampc-opt.cpp - the AMPC optimizer driver ---------------------------===//
//
// mlir-opt with the amp dialect and AMPC's passes and pipelines. Two
// differences from mlir-opt:
// - an input file ending in .onnx is imported first (ampc/Import/Onnx.h;
//   `--onnx-batch=N` fixes the graph inputs' leading dimension,
//   `--onnx-loss` appends a loss), and the passes run on the imported
//   module. The model's parameter values are not part of the IR:
//   ampc-import-onnx writes them.
// - a diagnostic does not append the generic form of the op it is attached
//   to (`see current operation: ...`, often the whole function); its
//   location and message say where and what. `--mlir-print-op-on-diagnostic`
//   brings the dump back.
//
//===----------------------------------------------------------------------===//

#include "ampc/Import/Onnx.h"
#include "ampc/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <vector>

namespace cl = llvm::cl;

static cl::OptionCategory onnxCategory("ONNX input (an input file ending in "
                                       ".onnx)");
static cl::opt<int64_t>
    onnxBatch("onnx-batch", cl::init(0), cl::cat(onnxCategory),
              cl::desc("the leading dimension of every graph input (0: as "
                       "exported)"));
static cl::opt<std::string>
    onnxLoss("onnx-loss", cl::init("none"), cl::cat(onnxCategory),
             cl::desc("the loss appended over the first output: none, "
                      "cross-entropy or mse"));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "ampc-opt") << message << "\n";
  return 1;
}

/// Imports `input` and runs the passes on it, as MlirOptMain does for a
/// file.
static int optimizeOnnx(llvm::StringRef input, llvm::StringRef output,
                        mlir::DialectRegistry &registry) {
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  auto loss = ampc::parseOnnxLoss(onnxLoss);
  if (!loss)
    return fail(llvm::toString(loss.takeError()));
  ampc::OnnxImportOptions options;
  options.batch = onnxBatch;
  options.batchOption = "--onnx-batch";
  options.loss = *loss;
  auto model = ampc::importOnnxFile(input, options);
  if (!model)
    return fail(llvm::toString(model.takeError()));
  std::string error;
  auto file = mlir::openOutputFile(output, &error);
  if (!file)
    return fail(error);
  if (mlir::failed(mlir::MlirOptMain(
          file->os(),
          llvm::MemoryBuffer::getMemBufferCopy(model->source, input), registry,
          config)))
    return 1;
  file->keep();
  return 0;
}

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
  auto [input, output] = mlir::registerAndParseCLIOptions(
      int(args.size()), args.data(),
      "AMPC: mixed-precision training compiler driver\n", registry);
  if (ampc::isOnnxPath(input)) {
    llvm::InitLLVM init(argc, argv); // MlirOptMain's own, for a file.
    return optimizeOnnx(input, output, registry);
  }
  return mlir::asMainReturnCode(mlir::MlirOptMain(int(args.size()), args.data(),
                                                  input, output, registry));
}
