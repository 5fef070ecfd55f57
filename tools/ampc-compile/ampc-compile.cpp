//===- ampc-compile.cpp - ahead-of-time compilation to an object file -----===//
//
//   ampc-compile model.mlir -o model.o [--header=model.h] [--policy=bf16]
//                [--cpu=native|NAME] [--features=+avx512bf16,...]
//
// The object exports _mlir_ciface_NAME for every public function; the header
// declares them with the memref descriptor structs they take.
//
//===----------------------------------------------------------------------===//

#include "ampc/JIT/JIT.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

static cl::OptionCategory compileCategory("ampc-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<module.mlir>"),
                                      cl::Required, cl::cat(compileCategory));
static cl::opt<std::string> outputFile("o", cl::desc("object file to write"),
                                       cl::Required, cl::cat(compileCategory));
static cl::opt<std::string> headerFile("header", cl::desc("C header to write"),
                                       cl::cat(compileCategory));
static cl::opt<std::string>
    triple("triple", cl::desc("target triple (default: this machine's)"),
           cl::cat(compileCategory));
static cl::opt<std::string> cpu("cpu", cl::init("native"),
                                cl::desc("LLVM CPU name, or native"),
                                cl::cat(compileCategory));
static cl::opt<int64_t> batchSize(
    "batch", cl::init(0),
    cl::desc("the batch size to compile a model for: a '?' leading "
             "dimension on its batch inputs becomes it, a model written for "
             "another batch is re-batched (ampc-specialize-batch)"),
    cl::cat(compileCategory));
static cl::opt<bool> runtimeAllocator(
    "runtime-allocator",
    cl::desc("allocate through libampc_rt's caching allocator"),
    cl::cat(compileCategory));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  ampc::registerPrecisionCLOptions();
  cl::HideUnrelatedOptions({&compileCategory, &ampc::getPrecisionCLCategory()});
  cl::ParseCommandLineOptions(argc, argv,
                              "AMPC: compile a module to an object file\n");
  auto precision = ampc::getPrecisionOptionsFromCL();
  if (!precision) {
    llvm::errs() << "ampc-compile: " << llvm::toString(precision.takeError())
                 << "\n";
    return 1;
  }
  auto buffer = llvm::MemoryBuffer::getFile(inputFile);
  if (!buffer) {
    llvm::errs() << "ampc-compile: cannot open '" << inputFile
                 << "': " << buffer.getError().message() << "\n";
    return 1;
  }
  ampc::AotOptions options;
  options.precision = std::move(*precision);
  options.triple = triple;
  options.cpu = cpu;
  options.features = ampc::getCpuFeaturesFromCL();
  options.runtimeAllocator = runtimeAllocator;
  options.batch = batchSize;
  auto threads = ampc::getThreadsFromCL();
  if (!threads) {
    llvm::errs() << "ampc-compile: " << llvm::toString(threads.takeError())
                 << "\n";
    return 1;
  }
  options.threads = *threads;
  if (llvm::Error error = ampc::compileAheadOfTime(
          (*buffer)->getBuffer(), inputFile, options, outputFile, headerFile)) {
    llvm::errs() << "ampc-compile: " << llvm::toString(std::move(error))
                 << "\n";
    return 1;
  }
  return 0;
}
