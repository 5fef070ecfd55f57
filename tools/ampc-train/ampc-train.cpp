//===- ampc-train.cpp - train a model on a dataset under each policy ------===//
//
//   ampc-train model.mlir [--policy=fp32,bf16,fp16,fp8] [--epochs=1]
//              [--optimizer=sgd|adam|adamw] [--lr=0.05] [--momentum=0.9]
//              [--lr-schedule=constant|step|cosine|linear] [--warmup-steps=N]
//              [--loss-scaling=auto|none|static|dynamic] [--init-scale=...]
//              [--dataset=DIR] [--checkpoint-dir=DIR [--resume]]
//              [--summary-json=PATH] [--plot=PATH.svg]
//   ampc-train model.onnx --batch=N [--loss=cross-entropy|mse|none]
//              [--export-onnx=trained.onnx] ...
//   mpirun -np R ampc-train ... --batch=N     (data parallel: R x N a step)
//
// A command line over the training library (ampc/Train): the model's
// @forward takes its parameters, a batch of samples [B, ...] and one-hot
// labels [B, C], and returns the loss and the logits [B, C]. The dataset is
// Fashion-MNIST's IDX files or four .npy arrays. Prints one row per epoch
// (mean training loss, test accuracy, skipped steps, loss scale, time per
// step) and a side-by-side summary of the policies. An ONNX model is
// imported (ampc-import-onnx, with a loss over its first output) and starts
// from its exported parameters. Under mpirun every rank trains on its share
// of each global batch with a data-parallel step (gradients averaged over
// the ranks); rank 0 prints and writes.
//
//===----------------------------------------------------------------------===//

#include "ampc/Import/Onnx.h"
#include "ampc/Train/CommandLine.h"
#include "ampc/Train/Report.h"
#include "ampc/Train/TrainLoop.h"
#include "ampc_rt/Collectives.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <fcntl.h>
#include <unistd.h>

namespace cl = llvm::cl;
using namespace ampc::train;

static cl::OptionCategory trainCategory("Training");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.mlir>"),
                                      cl::Required, cl::cat(trainCategory));
static cl::opt<std::string>
    target("target", cl::init("cpu"),
           cl::desc("cpu, or cuda (an NVIDIA GPU through its driver)"),
           cl::cat(trainCategory));
static cl::opt<unsigned> epochs("epochs", cl::init(1), cl::desc("epochs"),
                                cl::cat(trainCategory));
static cl::opt<unsigned> seed("seed", cl::init(0),
                              cl::desc("seed of the initialisation and of the "
                                       "data order"),
                              cl::cat(trainCategory));
static cl::opt<unsigned> maxSteps("max-steps", cl::init(0),
                                  cl::desc("stop an epoch after N steps"),
                                  cl::cat(trainCategory));
static cl::opt<unsigned> batchSize(
    "batch", cl::init(0),
    cl::desc("the training batch size (0: the model's own; a model with a "
             "'?' batch needs one, a model written for another batch is "
             "re-batched)"),
    cl::cat(trainCategory));
static cl::opt<std::string>
    dataset("dataset", cl::init("/usr/share/datasets/fashion-mnist"),
            cl::desc("a directory with Fashion-MNIST's IDX files "
                     "(train-images-idx3-ubyte.gz, ...) or with "
                     "train-images.npy, train-labels.npy, test-images.npy and "
                     "test-labels.npy"),
            cl::cat(trainCategory));
static cl::opt<unsigned> padSize(
    "pad-images", cl::init(0),
    cl::desc("pad grayscale images to SIZE x SIZE, replicated into "
             "--image-channels channels (Fashion-MNIST as the 3x32x32 input "
             "of a CIFAR-10 model: --pad-images=32)"),
    cl::value_desc("SIZE"), cl::cat(trainCategory));
static cl::opt<unsigned> imageChannels("image-channels", cl::init(3),
                                       cl::desc("channels of --pad-images"),
                                       cl::cat(trainCategory));
static cl::opt<unsigned>
    testLimit("test-limit", cl::init(0),
              cl::desc("evaluate on the first N test samples only (0: all)"),
              cl::cat(trainCategory));

static cl::opt<std::string> onnxLoss(
    "loss", cl::init("cross-entropy"),
    cl::desc("for an .onnx model: the loss appended over its first output "
             "(cross-entropy, against one-hot labels; mse; none: the first "
             "output is the loss)"),
    cl::cat(trainCategory));

static cl::OptionCategory outputCategory("Output");
static cl::opt<std::string> exportOnnx(
    "export-onnx", cl::init(""),
    cl::desc("for an .onnx model: write it with the trained parameters as "
             "its initializers (PATH.onnx; with several policies "
             "PATH.<policy>.onnx)"),
    cl::cat(outputCategory));
static cl::opt<std::string>
    checkpointDir("checkpoint-dir", cl::init(""),
                  cl::desc("write DIR/<policy>.ckpt (and DIR/<policy>.npz, "
                           "for numpy) after every epoch"),
                  cl::cat(outputCategory));
static cl::opt<bool>
    resume("resume",
           cl::desc("continue from DIR/<policy>.ckpt where it exists"),
           cl::cat(outputCategory));
static cl::opt<std::string> summaryJson("summary-json", cl::init(""),
                                        cl::desc("write a JSON summary"),
                                        cl::cat(outputCategory));
static cl::opt<std::string>
    plotPath("plot", cl::init(""),
             cl::desc("write an SVG plot of the loss curves and the loss "
                      "scale"),
             cl::cat(outputCategory));
static cl::opt<std::string>
    loadParams("load-params", cl::init(""),
               cl::desc("start from DIR/<policy>/<name>.npy (as "
                        "--save-params writes them) or DIR/<name>.npy "
                        "instead of a seeded initialisation"),
               cl::cat(outputCategory));
static cl::opt<std::string>
    saveParams("save-params", cl::init(""),
               cl::desc("write the trained parameters to "
                        "DIR/<policy>/<name>.npy"),
               cl::cat(outputCategory));
static cl::opt<std::string> progress("progress", cl::init("auto"),
                                     cl::desc("progress bar: auto (on a "
                                              "terminal), always or never"),
                                     cl::cat(outputCategory));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "ampc-train: " << message << "\n";
  return 1;
}

namespace {

class ProgressBar {
public:
  explicit ProgressBar(bool enabled) : enabled(enabled) {}
  void update(llvm::StringRef label, int64_t done, int64_t total, float loss) {
    if (!enabled || (done % 10 != 0 && done != total))
      return;
    int width = 30, filled = int(width * done / std::max<int64_t>(total, 1));
    llvm::errs() << "\r" << label << " [" << std::string(filled, '#')
                 << std::string(width - filled, '.') << "] " << done << "/"
                 << total << llvm::format(" loss %.4f", loss);
    llvm::errs().flush();
  }
  void clear() {
    if (enabled)
      llvm::errs() << "\r\033[K";
  }

private:
  bool enabled;
};

/// How many policies this run trains.
size_t numPolicies = 1;

/// Where --export-onnx writes the model trained under `policy`.
std::string exportPath(const std::string &policy) {
  if (numPolicies <= 1)
    return exportOnnx;
  llvm::StringRef path = exportOnnx;
  path.consume_back(".onnx");
  return (path + "." + policy + ".onnx").str();
}

/// Trains under one policy; prints its table.
llvm::Expected<PolicyRun> trainPolicy(const ampc::PrecisionOptions &precision,
                                      const Dataset &train, const Dataset &test,
                                      bool showProgress) {
  std::string policy = precision.policyName();
  ampc::JitOptions jit;
  jit.precision = precision;
  jit.target = target;
  auto threads = ampc::getThreadsFromCL();
  if (!threads)
    return threads.takeError();
  jit.threads = *threads;
  jit.cpuFeatures = ampc::getCpuFeaturesFromCL();
  auto options = getTrainOptionsFromCL();
  if (!options)
    return options.takeError();
  options->seed = seed;
  options->batch = batchSize;
  auto loss = ampc::parseOnnxLoss(onnxLoss);
  if (!loss)
    return loss.takeError();
  options->onnxLoss = *loss;
  // Under mpirun every rank trains its share of each global batch.
  options->dataParallel = ampc_rt::launchedWithRanks();
  // An .onnx model is imported and starts from its own parameters.
  auto trainer = ampc::Trainer::fromFile(inputFile, jit, *options);
  if (!trainer)
    return trainer.takeError();
  auto shape = getClassifierShape(**trainer);
  if (!shape)
    return shape.takeError();
  if (!loadParams.empty()) {
    // The layout --save-params writes, or a flat directory.
    std::string perPolicy = loadParams + "/" + policy;
    if (llvm::Error error = (*trainer)->loadParameters(
            llvm::sys::fs::is_directory(perPolicy) ? perPolicy : loadParams))
      return llvm::createStringError("cannot load parameters: " +
                                     llvm::toString(std::move(error)));
  }

  PolicyRun run{policy, (*trainer)->lossScaling(), {}};
  LoopOptions loop;
  loop.epochs = epochs;
  loop.seed = seed;
  loop.maxSteps = maxSteps;
  loop.testLimit = testLimit;
  if (!checkpointDir.empty()) {
    loop.checkpoint = checkpointDir + "/" + policy + ".ckpt";
    loop.npz = checkpointDir + "/" + policy + ".npz";
  }
  loop.resume = resume;
  ProgressBar bar(showProgress);
  loop.onStep = [&](unsigned epoch, int64_t done, int64_t total, float loss) {
    bar.update(policy + " epoch " + std::to_string(epoch), done, total, loss);
  };
  loop.onNonFinite = [&](int64_t step, bool skipped, const std::string &site) {
    bar.clear();
    llvm::outs() << policy << " step " << step << ": an inf or NaN first came "
                 << "from " << site << (skipped ? "; the step was skipped" : "")
                 << "\n";
  };
  loop.onResume = [&](int64_t step) {
    llvm::outs() << "resumed " << policy << " from " << loop.checkpoint
                 << " at step " << step << "\n";
  };
  loop.onEpoch = [&](const EpochRow &row) {
    bar.clear();
    printEpochRow(llvm::outs(), row, precision.castStatistics);
  };
  // The table's header follows the resume line, if any.
  bool headerShown = false;
  auto onStep = loop.onStep;
  auto header = [&]() {
    if (!headerShown)
      printEpochHeader(llvm::outs(), policy, run.lossScaling);
    headerShown = true;
  };
  loop.onStep = [&](unsigned epoch, int64_t done, int64_t total, float loss) {
    header();
    onStep(epoch, done, total, loss);
  };
  auto summary = runTraining(**trainer, train, test, loop);
  if (!summary)
    return llvm::createStringError(policy + ": " +
                                   llvm::toString(summary.takeError()));
  header();
  run.summary = std::move(*summary);
  if ((*trainer)->rank() != 0) // The ranks hold the same parameters.
    return run;
  if (!saveParams.empty())
    if (llvm::Error error =
            (*trainer)->saveParameters(saveParams + "/" + policy))
      return std::move(error);
  if (!exportOnnx.empty())
    if (llvm::Error error = (*trainer)->exportOnnx(exportPath(policy)))
      return std::move(error);
  return run;
}

} // namespace

/// Under mpirun (several ranks): joins them; rank 0 alone prints (the
/// others' standard output goes to /dev/null) and writes files; errors go
/// to every rank's standard error.
static llvm::Error joinRanks() {
  if (!ampc_rt::launchedWithRanks())
    return llvm::Error::success();
  if (std::string error = ampc_rt::initDistributed(); !error.empty())
    return llvm::createStringError("data-parallel training: " + error);
  if (ampc_rt::distributedRank() == 0) {
    llvm::outs() << "data-parallel: " << ampc_rt::distributedSize()
                 << " ranks, each taking batches of " << batchSize
                 << " (a global batch of " << ampc_rt::distributedSize()
                 << " x that)\n";
    return llvm::Error::success();
  }
  llvm::outs().flush();
  int null = ::open("/dev/null", O_WRONLY);
  if (null >= 0) {
    ::dup2(null, STDOUT_FILENO);
    ::close(null);
  }
  return llvm::Error::success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  ampc::registerPrecisionCLOptions();
  registerTrainCLOptions();
  cl::HideUnrelatedOptions({&trainCategory, &getOptimizerCLCategory(),
                            &getLossScalingCLCategory(), &outputCategory,
                            &ampc::getPrecisionCLCategory()});
  cl::ParseCommandLineOptions(
      argc, argv,
      "AMPC: train a model on a dataset\n\n"
      "  Under `mpirun -np R`, data parallel: each rank trains on --batch\n"
      "  samples of every global batch of R x --batch; rank 0 prints and\n"
      "  writes.\n");
  auto precisions = ampc::getPrecisionOptionsPerPolicyFromCL(
      {"fp32", "bf16", "fp16", "fp8"}, /*defaultCastStatistics=*/true);
  if (!precisions)
    return fail(llvm::toString(precisions.takeError()));
  numPolicies = precisions->size();
  if (!exportOnnx.empty() && !ampc::isOnnxPath(inputFile))
    return fail("--export-onnx needs an .onnx model");
  if (auto loss = ampc::parseOnnxLoss(onnxLoss); !loss)
    return fail(llvm::toString(loss.takeError()));
  if (llvm::Error error = joinRanks())
    return fail(llvm::toString(std::move(error)));
  if (progress != "auto" && progress != "always" && progress != "never")
    return fail("--progress must be auto, always or never");
  if (resume && checkpointDir.empty())
    return fail("--resume needs --checkpoint-dir");
  auto train = loadSplit(dataset, "train");
  if (!train)
    return fail(llvm::toString(train.takeError()));
  auto test = loadSplit(dataset, "test");
  if (!test)
    return fail(llvm::toString(test.takeError()));
  if (padSize > 0) {
    train = padImages(*train, padSize, imageChannels);
    if (train)
      test = padImages(*test, padSize, imageChannels);
    if (!train || !test)
      return fail(llvm::toString(train ? test.takeError() : train.takeError()));
  }
  if (!checkpointDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(checkpointDir))
      return fail("cannot create '" + checkpointDir + "': " + ec.message());

  // Data-parallel: rank 0's bar stands for every rank's.
  bool showProgress =
      ampc_rt::distributedRank() == 0 &&
      (progress == "always" ||
       (progress == "auto" && llvm::sys::Process::StandardErrIsDisplayed()));
  std::vector<PolicyRun> runs;
  for (const ampc::PrecisionOptions &precision : *precisions) {
    auto run = trainPolicy(precision, *train, *test, showProgress);
    if (!run)
      return fail(llvm::toString(run.takeError()));
    const RunSummary &summary = run->summary;
    if (summary.alreadyDone)
      llvm::outs() << "(all " << epochs << " epoch(s) were done; test accuracy "
                   << llvm::format("%.2f%%", summary.accuracy) << ")\n";
    runs.push_back(std::move(*run));
  }

  auto options = getTrainOptionsFromCL();
  if (!options)
    return fail(llvm::toString(options.takeError()));
  ReportHeader header;
  header.model = inputFile;
  header.optimizer = options->optimizer;
  header.learningRate = options->learningRate;
  header.momentum = options->momentum;
  header.schedule = options->schedule.describe();
  header.epochs = epochs;
  header.seed = seed;
  header.castStatistics = precisions->front().castStatistics;
  printSummaryTable(llvm::outs(), header, runs);
  if (ampc_rt::distributedRank() != 0)
    return 0;
  if (!summaryJson.empty())
    if (llvm::Error error = writeSummaryJson(summaryJson, header, runs))
      return fail(llvm::toString(std::move(error)));
  if (!plotPath.empty())
    if (llvm::Error error = writeLossPlot(plotPath, runs))
      return fail(llvm::toString(std::move(error)));
  return 0;
}
