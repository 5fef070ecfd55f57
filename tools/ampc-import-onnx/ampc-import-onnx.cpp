//===- ampc-import-onnx.cpp - an ONNX model as an AMPC model --------------===//
//
//   ampc-import-onnx model.onnx -o model.mlir [--batch=N]
//                    [--loss=none|cross-entropy|mse] [--params-dir=DIR]
//
// Writes `@forward` in AMPC's model contract and each parameter's exported
// value as DIR/<name>.npy (by default `model.params/` next to the output),
// which `ampc-train model.mlir --load-params=DIR` starts from.
//
//===----------------------------------------------------------------------===//

#include "ampc/Import/Onnx.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

static cl::OptionCategory importCategory("ampc-import-onnx options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::Required, cl::cat(importCategory));
static cl::opt<std::string> outputFile("o", cl::desc("the MLIR file to write"),
                                       cl::value_desc("model.mlir"),
                                       cl::init("-"), cl::cat(importCategory));
static cl::opt<int64_t>
    batchSize("batch", cl::init(0),
              cl::desc("the batch size: the leading dimension of every "
                       "graph input (symbolic, or the exporter's example "
                       "size)"),
              cl::cat(importCategory));
static cl::opt<std::string>
    lossName("loss", cl::init("none"),
             cl::desc("append a loss over the first output: none (the first "
                      "output is the loss), cross-entropy (one-hot labels), "
                      "mse"),
             cl::cat(importCategory));
static cl::opt<std::string>
    paramsDir("params-dir",
              cl::desc("where to write the parameters' values as "
                       "<name>.npy (default: the output's name with "
                       ".params; none when writing to stdout)"),
              cl::cat(importCategory));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "ampc-import-onnx: " << message << "\n";
  return 1;
}

static std::string defaultParamsDir() {
  if (!paramsDir.empty() || outputFile == "-")
    return paramsDir;
  llvm::SmallString<256> dir(outputFile.getValue());
  llvm::sys::path::replace_extension(dir, "params");
  return std::string(dir);
}

static llvm::Error writeParameters(const ampc::ImportedModel &model,
                                   const std::string &dir) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError(ec, "cannot create '" + dir +
                                           "': " + ec.message());
  for (const ampc::OnnxParameter &param : model.parameters) {
    std::string error =
        ampc_rt::writeNpy(dir + "/" + param.name + ".npy", param.value);
    if (!error.empty())
      return llvm::createStringError(llvm::inconvertibleErrorCode(), error);
  }
  return llvm::Error::success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(importCategory);
  cl::ParseCommandLineOptions(argc, argv, "ONNX model importer\n");
  llvm::Expected<ampc::OnnxLoss> loss = ampc::parseOnnxLoss(lossName);
  if (!loss)
    return fail(llvm::toString(loss.takeError()));
  ampc::OnnxImportOptions options;
  options.batch = batchSize;
  options.loss = *loss;
  llvm::Expected<ampc::ImportedModel> model =
      ampc::importOnnxFile(inputFile, options);
  if (!model)
    return fail(llvm::toString(model.takeError()));
  std::error_code ec;
  llvm::raw_fd_ostream out(outputFile, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail("cannot write '" + outputFile + "': " + ec.message());
  out << model->source;
  std::string dir = defaultParamsDir();
  if (!dir.empty()) {
    if (llvm::Error error = writeParameters(*model, dir))
      return fail(llvm::toString(std::move(error)));
    llvm::errs() << "ampc-import-onnx: " << model->parameters.size()
                 << " parameters in " << dir << "/\n";
  }
  return 0;
}
