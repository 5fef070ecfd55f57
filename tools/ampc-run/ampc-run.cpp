//===- ampc-run.cpp - run a function of an MLIR module on .npy inputs -----===//
//
//   ampc-run model.mlir --function=NAME --input=@a.npy --input="2x2xf32=1 2 3
//   4"
//   ampc-run model.onnx --batch=N --input=@x.npy
//            [--output=@out.npy ...] [--policy=none|fp32|bf16|fp16|fp8]
//            [--target=cpu|cuda]
//
// In the style of iree-run-module. bf16, f16 and fp8 values travel as their
// raw bit patterns (uint16/uint8 arrays) in .npy files. Without --output, a
// short summary of each result is printed. An ONNX model is imported
// first (ampc-import-onnx) and its parameters take the model's values:
// --input gives only its data inputs.
//
//===----------------------------------------------------------------------===//

#include "ampc/Import/Onnx.h"
#include "ampc/JIT/JIT.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace cl = llvm::cl;

static cl::OptionCategory runCategory("ampc-run options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<module.mlir>"),
                                      cl::Required, cl::cat(runCategory));
static cl::opt<std::string>
    functionName("function", cl::desc("function to run"), cl::cat(runCategory));
static cl::list<std::string>
    inputs("input",
           cl::desc("an argument: @file.npy or TYPE=VALUES "
                    "(e.g. 2x3xf32=1 2 3 4 5 6, f32=0.5)"),
           cl::cat(runCategory));
static cl::list<std::string>
    outputs("output",
            cl::desc("where to write a result: @file.npy (one per "
                     "result, in order; '-' skips one)"),
            cl::cat(runCategory));
static cl::opt<std::string>
    target("target", cl::init("cpu"),
           cl::desc("cpu, or cuda (an NVIDIA GPU through its driver)"),
           cl::cat(runCategory));
static cl::opt<int64_t> batchSize(
    "batch", cl::init(0),
    cl::desc("the batch size to compile a model for: a '?' leading "
             "dimension on its batch inputs becomes it, a model written for "
             "another batch is re-batched (ampc-specialize-batch)"),
    cl::cat(runCategory));
static cl::opt<bool> listFunctions("list",
                                   cl::desc("list the public functions"),
                                   cl::cat(runCategory));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "ampc-run: " << message << "\n";
  return 1;
}

static void printSummary(size_t index, const ampc::ValueType &type,
                         const ampc_rt::Tensor &tensor) {
  llvm::outs() << "result[" << index << "]: " << type.str();
  int64_t n = tensor.numElements();
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  int64_t nonFinite = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = ampc_rt::elementAsDouble(tensor, i);
    if (!std::isfinite(v)) {
      ++nonFinite;
      continue;
    }
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (n > 1 && nonFinite < n)
    llvm::outs() << llvm::format(" min=%g max=%g mean=%g", lo, hi,
                                 sum / double(n - nonFinite));
  if (nonFinite)
    llvm::outs() << " non-finite=" << nonFinite;
  llvm::outs() << "\n  [";
  const int64_t shown = 8;
  for (int64_t i = 0; i < std::min(n, shown); ++i)
    llvm::outs() << (i ? " " : "")
                 << llvm::format("%g", ampc_rt::elementAsDouble(tensor, i));
  if (n > shown)
    llvm::outs() << " ... (" << n << " elements)";
  llvm::outs() << "]\n";
}

static void listSignatures(const ampc::JitModule &module) {
  for (const ampc::FunctionSignature &f : module.functions()) {
    llvm::outs() << "@" << f.name << "(";
    for (auto [i, t] : llvm::enumerate(f.inputs))
      llvm::outs() << (i ? ", " : "") << t.str();
    llvm::outs() << ") -> (";
    for (auto [i, t] : llvm::enumerate(f.results))
      llvm::outs() << (i ? ", " : "") << t.str();
    llvm::outs() << ")";
    if (!f.unsupported.empty())
      llvm::outs() << "  [not callable: " << f.unsupported << "]";
    llvm::outs() << "\n";
  }
}

/// The --input tensors; raw bit patterns become the type `signature` wants.
static llvm::Expected<std::vector<ampc_rt::Tensor>>
readArguments(const ampc::FunctionSignature &signature,
              std::vector<ampc_rt::Tensor> arguments) {
  for (const std::string &input : inputs) {
    auto tensor = input.rfind('@', 0) == 0 ? ampc_rt::readNpy(input.substr(1))
                                           : ampc_rt::parseTensorLiteral(input);
    if (!tensor)
      return llvm::createStringError("--input=" + input + ": " +
                                     tensor.message());
    size_t index = arguments.size();
    if (index < signature.inputs.size()) {
      ampc_rt::DType wanted = signature.inputs[index].dtype;
      if ((tensor->dtype == ampc_rt::DType::U16 &&
           (wanted == ampc_rt::DType::BF16 || wanted == ampc_rt::DType::F16)) ||
          (tensor->dtype == ampc_rt::DType::U8 &&
           (wanted == ampc_rt::DType::F8E4M3FN ||
            wanted == ampc_rt::DType::F8E5M2)))
        tensor->dtype = wanted;
    }
    arguments.push_back(std::move(*tensor));
  }
  return arguments;
}

/// Writes the results --output names; summarizes the others.
static int writeResults(const ampc::FunctionSignature &signature,
                        llvm::ArrayRef<ampc_rt::Tensor> results) {
  for (auto [index, tensor] : llvm::enumerate(results)) {
    if (index < outputs.size() && outputs[index] != "-") {
      const std::string &target = outputs[index];
      if (target.rfind('@', 0) != 0)
        return fail("--output=" + target + ": expected @file.npy or -");
      std::string error = ampc_rt::writeNpy(target.substr(1), tensor);
      if (!error.empty())
        return fail(error);
      continue;
    }
    if (index >= outputs.size())
      printSummary(index, signature.results[index], tensor);
  }
  return 0;
}

/// The module of an .mlir file, or of an imported .onnx file with its
/// parameters' values in `parameters`.
static llvm::Expected<std::unique_ptr<ampc::JitModule>>
loadModule(const ampc::JitOptions &options,
           std::vector<ampc_rt::Tensor> &parameters) {
  auto module = ampc::JitModule::fromFile(inputFile, options);
  if (module)
    parameters = (*module)->importedParameters();
  return module;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  ampc::registerPrecisionCLOptions();
  cl::HideUnrelatedOptions({&runCategory, &ampc::getPrecisionCLCategory()});
  cl::ParseCommandLineOptions(argc, argv,
                              "AMPC: run a function of an MLIR module\n");

  ampc::JitOptions options;
  auto precision = ampc::getPrecisionOptionsFromCL();
  if (!precision)
    return fail(llvm::toString(precision.takeError()));
  options.precision = std::move(*precision);
  options.target = target;
  options.batch = batchSize;
  auto threads = ampc::getThreadsFromCL();
  if (!threads)
    return fail(llvm::toString(threads.takeError()));
  options.threads = *threads;
  options.cpuFeatures = ampc::getCpuFeaturesFromCL();
  std::vector<ampc_rt::Tensor> parameters;
  auto module = loadModule(options, parameters);
  if (!module)
    return fail(llvm::toString(module.takeError()));
  if (listFunctions) {
    listSignatures(**module);
    return 0;
  }

  std::string name = functionName;
  // An imported model runs its @forward (evaluation) unless told otherwise.
  if (name.empty() && ampc::isOnnxPath(inputFile))
    name = "forward";
  if (name.empty()) {
    if ((*module)->functions().size() != 1)
      return fail("the module has " +
                  llvm::Twine((*module)->functions().size()) +
                  " public functions: name one with --function (see --list)");
    name = (*module)->functions().front().name;
  }
  const ampc::FunctionSignature *signature = (*module)->lookup(name);
  if (!signature)
    return fail("no public function '" + name + "' in '" + inputFile +
                "' (see --list)");
  auto arguments = readArguments(*signature, std::move(parameters));
  if (!arguments)
    return fail(llvm::toString(arguments.takeError()));
  if (outputs.size() > signature->results.size())
    return fail(llvm::Twine(outputs.size()) + " --output given but '" + name +
                "' has " + llvm::Twine(signature->results.size()) + " results");
  auto results = (*module)->call(name, *arguments);
  if (!results)
    return fail(llvm::toString(results.takeError()));
  return writeResults(*signature, *results);
}
