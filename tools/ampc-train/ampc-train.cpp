//===- ampc-train.cpp - train a model on a dataset under each policy ------===//
//
//   ampc-train model.mlir [--policy=fp32,bf16,fp16,fp8] [--epochs=1]
//              [--optimizer=sgd|adam|adamw] [--lr=0.05] [--momentum=0.9] ...
//              [--loss-scaling=auto|none|static|dynamic] [--init-scale=...]
//              [--dataset=DIR] [--checkpoint-dir=DIR [--resume]]
//              [--summary-json=PATH] [--plot=PATH.svg]
//
// The model's @forward takes its parameters, a batch of samples [B, F] and
// one-hot labels [B, C], and returns the loss and the logits [B, C]. The
// dataset is Fashion-MNIST's IDX files or four .npy arrays. Prints one row
// per epoch (mean training loss, test accuracy, skipped steps, loss scale,
// time per step) and a side-by-side summary of the policies.
//
//===----------------------------------------------------------------------===//

#include "ampc/JIT/Trainer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

namespace cl = llvm::cl;
using ampc_rt::DType;
using ampc_rt::Tensor;

static cl::OptionCategory trainCategory("Training");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.mlir>"),
                                      cl::Required, cl::cat(trainCategory));
static cl::opt<std::string> policies("policy", cl::init("fp32,bf16,fp16,fp8"),
                                     cl::desc("comma-separated policies"), cl::cat(trainCategory));
static cl::opt<std::string>
    target("target", cl::init("cpu"),
           cl::desc("cpu, or cuda (an NVIDIA GPU through its driver)"),
           cl::cat(trainCategory));
static cl::opt<unsigned> epochs("epochs", cl::init(1), cl::desc("epochs"), cl::cat(trainCategory));
static cl::opt<unsigned> seed("seed", cl::init(0),
                              cl::desc("seed of the initialisation and of the "
                                       "data order"), cl::cat(trainCategory));
static cl::opt<unsigned> maxSteps("max-steps", cl::init(0),
                                  cl::desc("stop an epoch after N steps"), cl::cat(trainCategory));
static cl::opt<unsigned> batchSize(
    "batch", cl::init(0),
    cl::desc("batch size; the model's shapes fix it, so this only checks it"), cl::cat(trainCategory));
static cl::opt<std::string>
    dataset("dataset", cl::init("/usr/share/datasets/fashion-mnist"),
            cl::desc("a directory with Fashion-MNIST's IDX files "
                     "(train-images-idx3-ubyte.gz, ...) or with "
                     "train-images.npy, train-labels.npy, test-images.npy and "
                     "test-labels.npy"), cl::cat(trainCategory));
static cl::opt<unsigned> testLimit(
    "test-limit", cl::init(0),
    cl::desc("evaluate on the first N test samples only (0: all)"), cl::cat(trainCategory));

static cl::OptionCategory optimizerCategory("Optimizer");
static cl::opt<std::string> optimizer("optimizer", cl::init("sgd"),
                                      cl::desc("sgd, adam or adamw"),
                                      cl::cat(optimizerCategory));
static cl::opt<double> learningRate("lr", cl::init(0.05),
                                    cl::desc("learning rate"),
                                    cl::cat(optimizerCategory));
static cl::opt<double> momentum("momentum", cl::init(0.9),
                                cl::desc("SGD momentum"),
                                cl::cat(optimizerCategory));
static cl::opt<bool> nesterov("nesterov", cl::desc("Nesterov momentum"),
                              cl::cat(optimizerCategory));
static cl::opt<double> beta1("beta1", cl::init(0.9), cl::desc("Adam beta1"),
                             cl::cat(optimizerCategory));
static cl::opt<double> beta2("beta2", cl::init(0.999), cl::desc("Adam beta2"),
                             cl::cat(optimizerCategory));
static cl::opt<double> epsilon("eps", cl::init(1e-8), cl::desc("Adam epsilon"),
                               cl::cat(optimizerCategory));
static cl::opt<double> weightDecay("weight-decay", cl::init(0.0),
                                   cl::desc("weight decay"),
                                   cl::cat(optimizerCategory));
static cl::opt<double>
    clipNorm("clip-norm", cl::init(0.0),
             cl::desc("clip gradients to this global L2 norm (0: off)"),
             cl::cat(optimizerCategory));

static cl::OptionCategory scalingCategory("Loss scaling");
static cl::opt<std::string> lossScaling(
    "loss-scaling", cl::init("auto"),
    cl::desc("auto (dynamic under fp16, none otherwise), none, static or "
             "dynamic"),
    cl::cat(scalingCategory));
static cl::opt<double> initScale("init-scale", cl::init(65536.0),
                                 cl::desc("static scale / initial scale"),
                                 cl::cat(scalingCategory));
static cl::opt<double> growthFactor("growth-factor", cl::init(2.0),
                                    cl::desc("dynamic: scale growth factor"),
                                    cl::cat(scalingCategory));
static cl::opt<double> backoffFactor("backoff-factor", cl::init(0.5),
                                     cl::desc("dynamic: scale backoff factor"),
                                     cl::cat(scalingCategory));
static cl::opt<int64_t>
    growthInterval("growth-interval", cl::init(2000),
                   cl::desc("dynamic: clean steps before the scale grows"),
                   cl::cat(scalingCategory));
static cl::opt<int64_t>
    hysteresis("hysteresis", cl::init(1),
               cl::desc("dynamic: overflows before the scale backs off"),
               cl::cat(scalingCategory));
static cl::opt<double> minScale("min-scale", cl::init(0.0),
                                cl::desc("0: unbounded"),
                                cl::cat(scalingCategory));
static cl::opt<double> maxScale("max-scale", cl::init(0.0),
                                cl::desc("0: unbounded"),
                                cl::cat(scalingCategory));

static cl::OptionCategory outputCategory("Output");
static cl::opt<std::string> checkpointDir(
    "checkpoint-dir", cl::init(""),
    cl::desc("write DIR/<policy>.ckpt after every epoch"),
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
               cl::desc("start from DIR/param<i>.npy instead of a seeded "
                        "initialisation"),
               cl::cat(outputCategory));
static cl::opt<std::string>
    saveParams("save-params", cl::init(""),
               cl::desc("write the trained parameters to "
                        "DIR/<policy>/param<i>.npy"),
               cl::cat(outputCategory));
static cl::opt<bool> castStats(
    "cast-stats", cl::init(true),
    cl::desc("measure what each cast of the training step loses (the "
             "underflow column; --cast-stats=false skips the measurement)"),
    cl::cat(outputCategory));
static cl::opt<std::string> progress("progress", cl::init("auto"),
                                     cl::desc("progress bar: auto (on a "
                                              "terminal), always or never"),
                                     cl::cat(outputCategory));

/// "12.345%", or "-" where the statistics were not measured.
static std::string percentOrDash(double share) {
  if (!castStats)
    return "-";
  return llvm::formatv("{0:F3}%", share).str();
}

static int fail(const llvm::Twine &message) {
  llvm::errs() << "ampc-train: " << message << "\n";
  return 1;
}

namespace {

/// Samples as rows of features and their class indices.
struct Split {
  Tensor samples; // U8 (images, normalised on the fly) or F32
  std::vector<int> labels;
  int64_t size() const { return int64_t(labels.size()); }
  int64_t features() const {
    return samples.shape.empty() ? 0 : samples.numElements() / size();
  }
};

/// Reads a label tensor of integer class indices.
llvm::Expected<std::vector<int>> toLabels(const Tensor &t,
                                          const std::string &path) {
  if (t.shape.size() != 1)
    return llvm::createStringError("'" + path +
                                   "': labels must be a 1-D array");
  std::vector<int> labels(t.numElements());
  for (int64_t i = 0; i < t.numElements(); ++i) {
    switch (t.dtype) {
    case DType::U8:
      labels[i] = t.as<uint8_t>()[i];
      break;
    case DType::I32:
      labels[i] = t.as<int32_t>()[i];
      break;
    case DType::I64:
      labels[i] = int(t.as<int64_t>()[i]);
      break;
    default:
      return llvm::createStringError(
          "'" + path + "': labels must be uint8, int32 or int64, not " +
          ampc_rt::dtypeName(t.dtype));
    }
  }
  return labels;
}

llvm::Error loadSplit(const std::string &dir, bool idx, const char *which,
                      Split &split) {
  std::string images, labels;
  if (idx) {
    images = dir + "/" + which + "-images-idx3-ubyte.gz";
    labels = dir + "/" + which + "-labels-idx1-ubyte.gz";
  } else {
    images = dir + "/" + which + "-images.npy";
    labels = dir + "/" + which + "-labels.npy";
  }
  auto x = idx ? ampc_rt::readIdx(images) : ampc_rt::readNpy(images);
  if (!x)
    return llvm::createStringError(x.message());
  auto y = idx ? ampc_rt::readIdx(labels) : ampc_rt::readNpy(labels);
  if (!y)
    return llvm::createStringError(y.message());
  if (x->dtype != DType::U8 && x->dtype != DType::F32)
    return llvm::createStringError("'" + images +
                                   "': samples must be uint8 or float32");
  auto classes = toLabels(*y, labels);
  if (!classes)
    return classes.takeError();
  if (x->shape.empty() || x->shape[0] != int64_t(classes->size()))
    return llvm::createStringError("'" + images + "' and '" + labels +
                                   "' hold different numbers of samples");
  split.samples = std::move(*x);
  split.labels = std::move(*classes);
  return llvm::Error::success();
}

/// Samples [begin, begin + n) of `order` as rows of features, one-hot rows.
void makeBatch(const Split &split, const std::vector<int64_t> &order,
               int64_t begin, int64_t n, int64_t numClasses, Tensor &x,
               Tensor &onehot, std::vector<int> &classes) {
  int64_t features = split.features();
  std::fill(onehot.data.begin(), onehot.data.end(), 0);
  classes.resize(n);
  for (int64_t r = 0; r < n; ++r) {
    int64_t sample = order[begin + r];
    float *dst = x.as<float>() + r * features;
    if (split.samples.dtype == DType::U8) {
      // Fashion-MNIST's mean and standard deviation.
      const uint8_t *src = split.samples.as<uint8_t>() + sample * features;
      for (int64_t p = 0; p < features; ++p)
        dst[p] = (src[p] / 255.0f - 0.2860f) / 0.3530f;
    } else {
      const float *src = split.samples.as<float>() + sample * features;
      std::copy(src, src + features, dst);
    }
    classes[r] = split.labels[sample];
    onehot.as<float>()[r * numClasses + classes[r]] = 1;
  }
}

struct EpochRow {
  unsigned epoch;
  double loss, accuracy, msPerStep, lossScale;
  int64_t skipped;
  /// The largest underflow share of any cast in any step of the epoch.
  double worstUnderflow;
};

struct PolicyRun {
  std::string policy, lossScaling;
  std::vector<EpochRow> epochs;
  /// Per step: loss and the loss scale the step used.
  std::vector<float> losses, scales;
  int64_t steps = 0, skipped = 0;
  double seconds = 0, accuracy = 0, finalScale = 1, worstUnderflow = 0;
  /// Per cast, the last step's statistics.
  std::vector<ampc::CastStatistic> casts;
};

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

/// One polyline per policy over [0, xMax] x [yMin, yMax] inside a panel.
void svgPanel(llvm::raw_ostream &os, double top, const std::string &title,
              const std::vector<std::pair<std::string, std::vector<double>>> &
                  series,
              bool logScale) {
  const double left = 70, width = 620, height = 220;
  const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                          "#ff7f0e", "#8c564b"};
  double yMin = INFINITY, yMax = -INFINITY;
  size_t xMax = 1;
  for (const auto &[name, ys] : series) {
    xMax = std::max(xMax, ys.size());
    for (double y : ys)
      if (std::isfinite(y)) {
        double v = logScale ? std::log2(std::max(y, 1e-30)) : y;
        yMin = std::min(yMin, v);
        yMax = std::max(yMax, v);
      }
  }
  if (!std::isfinite(yMin))
    yMin = 0, yMax = 1;
  if (yMax - yMin < 1e-9)
    yMin -= 0.5, yMax += 0.5;
  os << llvm::format("<text x=\"%g\" y=\"%g\" font-size=\"14\">", left,
                     top - 8)
     << title << "</text>\n";
  os << llvm::format("<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" "
                     "fill=\"none\" stroke=\"#888\"/>\n",
                     left, top, width, height);
  for (int t = 0; t <= 4; ++t) {
    double v = yMin + (yMax - yMin) * t / 4, y = top + height * (1 - t / 4.0);
    os << llvm::format("<text x=\"%g\" y=\"%g\" font-size=\"10\" "
                       "text-anchor=\"end\">%s</text>\n",
                       left - 4, y + 3,
                       (logScale ? llvm::formatv("2^{0:F1}", v).str()
                                 : llvm::formatv("{0:F3}", v).str())
                           .c_str());
  }
  for (auto [i, entry] : llvm::enumerate(series)) {
    const auto &[name, ys] = entry;
    os << "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\""
       << colors[i % 6] << "\" points=\"";
    for (size_t s = 0; s < ys.size(); ++s) {
      if (!std::isfinite(ys[s]))
        continue;
      double v = logScale ? std::log2(std::max(ys[s], 1e-30)) : ys[s];
      os << llvm::format("%.1f,%.1f ",
                         left + width * double(s) / double(xMax - 1 ? xMax - 1
                                                                    : 1),
                         top + height * (1 - (v - yMin) / (yMax - yMin)));
    }
    os << "\"/>\n";
    os << llvm::format("<text x=\"%g\" y=\"%g\" font-size=\"11\" "
                       "fill=\"%s\">",
                       left + width + 8, top + 14 + 14 * double(i),
                       colors[i % 6])
       << name << "</text>\n";
  }
}

llvm::Error writePlot(const std::string &path,
                      const std::vector<PolicyRun> &runs) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError("cannot write '" + path +
                                   "': " + ec.message());
  // Training loss averaged over windows of 20 steps, to be readable.
  std::vector<std::pair<std::string, std::vector<double>>> losses, scales;
  for (const PolicyRun &run : runs) {
    std::vector<double> smoothed;
    for (size_t s = 0; s < run.losses.size(); s += 20) {
      size_t end = std::min(run.losses.size(), s + 20);
      double sum = 0;
      for (size_t k = s; k < end; ++k)
        sum += run.losses[k];
      smoothed.push_back(sum / double(end - s));
    }
    losses.push_back({run.policy, smoothed});
    scales.push_back(
        {run.policy, std::vector<double>(run.scales.begin(), run.scales.end())});
  }
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"780\" "
        "height=\"600\" font-family=\"sans-serif\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svgPanel(os, 40, "training loss (mean of 20 steps) per policy", losses,
           false);
  svgPanel(os, 340, "loss scale per step (log2)", scales, true);
  os << "<text x=\"380\" y=\"590\" font-size=\"11\">step</text>\n</svg>\n";
  return llvm::Error::success();
}

llvm::Error writeSummary(const std::string &path,
                         const std::vector<PolicyRun> &runs) {
  llvm::json::Array policiesJson;
  for (const PolicyRun &run : runs) {
    llvm::json::Array epochRows;
    for (const EpochRow &e : run.epochs)
      epochRows.push_back(llvm::json::Object{{"epoch", e.epoch},
                                             {"train_loss", e.loss},
                                             {"test_accuracy", e.accuracy},
                                             {"skipped_steps", e.skipped},
                                             {"loss_scale", e.lossScale},
                                             {"worst_underflow",
                                              castStats ? llvm::json::Value(
                                                              e.worstUnderflow)
                                                        : nullptr},
                                             {"ms_per_step", e.msPerStep}});
    llvm::json::Array casts;
    for (const ampc::CastStatistic &c : run.casts)
      casts.push_back(llvm::json::Object{{"site", c.site},
                                         {"underflow", c.underflow},
                                         {"overflow", c.overflow}});
    policiesJson.push_back(llvm::json::Object{
        {"policy", run.policy},
        {"loss_scaling", run.lossScaling},
        {"final_test_accuracy", run.accuracy},
        {"steps", run.steps},
        {"skipped_steps", run.skipped},
        {"final_loss_scale", run.finalScale},
        {"worst_underflow",
         castStats ? llvm::json::Value(run.worstUnderflow) : nullptr},
        {"last_step_casts", std::move(casts)},
        {"mean_ms_per_step",
         run.steps ? 1000 * run.seconds / double(run.steps) : 0.0},
        {"epochs", std::move(epochRows)}});
  }
  llvm::json::Object root{{"model", inputFile.getValue()},
                          {"optimizer", optimizer.getValue()},
                          {"lr", learningRate.getValue()},
                          {"epochs", epochs.getValue()},
                          {"seed", seed.getValue()},
                          {"policies", std::move(policiesJson)}};
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError("cannot write '" + path +
                                   "': " + ec.message());
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions({&trainCategory, &optimizerCategory,
                           &scalingCategory, &outputCategory});
  cl::ParseCommandLineOptions(argc, argv,
                              "AMPC: train a model on a dataset\n");
  auto source = llvm::MemoryBuffer::getFile(inputFile);
  if (!source)
    return fail("cannot open '" + inputFile +
                "': " + source.getError().message());
  if (progress != "auto" && progress != "always" && progress != "never")
    return fail("--progress must be auto, always or never");
  if (resume && checkpointDir.empty())
    return fail("--resume needs --checkpoint-dir");

  Split train, test;
  bool idx = llvm::sys::fs::exists(dataset + "/train-images-idx3-ubyte.gz");
  bool npy = llvm::sys::fs::exists(dataset + "/train-images.npy");
  if (!idx && !npy)
    return fail("'" + dataset +
                "' has neither Fashion-MNIST's IDX files "
                "(train-images-idx3-ubyte.gz, ...; Debian's "
                "dataset-fashion-mnist installs them) nor train-images.npy");
  if (llvm::Error error = loadSplit(dataset, idx, "train", train))
    return fail(llvm::toString(std::move(error)));
  if (llvm::Error error = loadSplit(dataset, idx, idx ? "t10k" : "test", test))
    return fail(llvm::toString(std::move(error)));
  if (train.features() != test.features())
    return fail("training and test samples have different sizes");
  if (!checkpointDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(checkpointDir))
      return fail("cannot create '" + checkpointDir + "': " + ec.message());

  bool showProgress = progress == "always" ||
                      (progress == "auto" &&
                       llvm::sys::Process::StandardErrIsDisplayed());
  std::vector<PolicyRun> runs;
  for (llvm::StringRef policyName : llvm::split(policies, ',')) {
    std::string policy = policyName.trim().str();
    ampc::JitOptions jit;
    if (llvm::Error error = jit.precision.setPolicy(policy))
      return fail(llvm::toString(std::move(error)));
    jit.precision.castStatistics = castStats;
    jit.target = target;
    ampc::TrainOptions options;
    options.optimizer = optimizer;
    options.learningRate = learningRate;
    options.momentum = optimizer == "sgd" ? momentum.getValue() : 0.0;
    options.nesterov = nesterov;
    options.beta1 = beta1;
    options.beta2 = beta2;
    options.epsilon = epsilon;
    options.weightDecay = weightDecay;
    options.clipNorm = clipNorm;
    options.lossScaling = lossScaling;
    options.initScale = initScale;
    options.growthFactor = growthFactor;
    options.backoffFactor = backoffFactor;
    options.growthInterval = growthInterval;
    options.hysteresis = hysteresis;
    options.minScale = minScale;
    options.maxScale = maxScale;
    options.seed = seed;
    auto created = ampc::Trainer::create((*source)->getBuffer(), inputFile,
                                         jit, options);
    if (!created)
      return fail(llvm::toString(created.takeError()));
    ampc::Trainer &trainer = **created;

    const ampc::FunctionSignature &forward = trainer.forwardSignature();
    size_t numParams = trainer.numParameters();
    int64_t features = train.features();
    if (forward.inputs.size() != numParams + 2 ||
        forward.inputs[numParams].shape.size() < 2 ||
        forward.inputs[numParams + 1].shape.size() != 2 ||
        forward.inputs[numParams + 1].shape[0] !=
            forward.inputs[numParams].shape[0] ||
        forward.results.size() < 2 ||
        forward.results[1].shape != forward.inputs[numParams + 1].shape)
      return fail("@forward must take its parameters, samples [B, ...] and "
                  "one-hot labels [B, C], and return the loss and the "
                  "logits [B, C]");
    const std::vector<int64_t> &sampleShape = forward.inputs[numParams].shape;
    int64_t batch = sampleShape[0];
    int64_t numClasses = forward.inputs[numParams + 1].shape[1];
    int64_t modelFeatures = 1;
    for (size_t d = 1; d < sampleShape.size(); ++d)
      modelFeatures *= sampleShape[d];
    if (modelFeatures != features)
      return fail("@forward takes samples of " + llvm::Twine(modelFeatures) +
                  " features, the dataset has " + llvm::Twine(features));
    for (const Split *split : {&train, &test})
      for (int label : split->labels)
        if (label < 0 || label >= numClasses)
          return fail("label " + llvm::Twine(label) + " is outside the " +
                      llvm::Twine(numClasses) + " classes of @forward");
    if (batchSize && int64_t(batchSize) != batch)
      return fail("--batch=" + llvm::Twine(batchSize) + " but @forward takes "
                  "batches of " + llvm::Twine(batch) +
                  " (the model's shapes fix the batch size)");

    PolicyRun run;
    run.policy = policy;
    run.lossScaling = trainer.lossScaling();
    int64_t stepsPerEpoch = train.size() / batch;
    if (maxSteps)
      stepsPerEpoch = std::min<int64_t>(stepsPerEpoch, maxSteps);
    std::string checkpoint =
        checkpointDir.empty() ? "" : checkpointDir + "/" + policy + ".ckpt";
    if (!loadParams.empty())
      if (llvm::Error error = trainer.loadParameters(loadParams))
        return fail("cannot load parameters: " +
                    llvm::toString(std::move(error)));
    if (resume && llvm::sys::fs::exists(checkpoint)) {
      if (llvm::Error error = trainer.loadCheckpoint(checkpoint))
        return fail("cannot resume: " + llvm::toString(std::move(error)));
      llvm::outs() << "resumed " << policy << " from " << checkpoint
                   << " at step " << trainer.stepsTaken() << "\n";
    }

    Tensor x(DType::F32, sampleShape), onehot(DType::F32, {batch, numClasses});
    std::vector<int> classes;
    std::vector<int64_t> order(train.size());
    int64_t testSize = test.size();
    if (testLimit)
      testSize = std::min<int64_t>(testSize, testLimit);
    std::vector<int64_t> testOrder(testSize);
    std::iota(testOrder.begin(), testOrder.end(), 0);

    llvm::outs() << "== " << policy << " (loss scaling " << run.lossScaling
                 << ") ==\n"
                 << llvm::format("%-6s %10s %14s %8s %12s %10s %10s\n",
                                 "epoch", "loss", "test accuracy", "skipped",
                                 "loss scale", "underflow", "ms/step");
    // Test accuracy over whole batches of the test set.
    auto evaluate = [&]() -> llvm::Expected<double> {
      int64_t correct = 0, seen = 0;
      for (int64_t b = 0; b + batch <= testSize; b += batch) {
        makeBatch(test, testOrder, b, batch, numClasses, x, onehot, classes);
        auto out = trainer.evaluate({x, onehot});
        if (!out)
          return out.takeError();
        const float *logits = (*out)[1].as<float>();
        for (int64_t r = 0; r < batch; ++r) {
          const float *row = logits + r * numClasses;
          correct += std::max_element(row, row + numClasses) - row ==
                     classes[r];
        }
        seen += batch;
      }
      return seen ? 100.0 * double(correct) / double(seen) : 0.0;
    };
    ProgressBar bar(showProgress);
    for (unsigned epoch = 1; epoch <= epochs; ++epoch) {
      // Steps of this epoch a resumed checkpoint has already taken.
      int64_t begin = std::clamp<int64_t>(
          trainer.stepsTaken() - int64_t(epoch - 1) * stepsPerEpoch, 0,
          stepsPerEpoch);
      if (begin == stepsPerEpoch)
        continue;
      // Each epoch's order depends on the seed and the epoch alone, so a
      // resumed run sees the same batches.
      std::iota(order.begin(), order.end(), 0);
      std::mt19937_64 rng(uint64_t(seed) * 1000003 + epoch);
      std::shuffle(order.begin(), order.end(), rng);
      double lossSum = 0, worstUnderflow = 0;
      int64_t skipped = 0;
      auto start = std::chrono::steady_clock::now();
      for (int64_t s = begin; s < stepsPerEpoch; ++s) {
        makeBatch(train, order, s * batch, batch, numClasses, x, onehot,
                  classes);
        auto result = trainer.step({x, onehot});
        if (!result)
          return fail(policy + ", epoch " + llvm::Twine(epoch) + ", step " +
                      llvm::Twine(s) + ": " +
                      llvm::toString(result.takeError()));
        run.losses.push_back(result->loss);
        run.scales.push_back(result->lossScale);
        if (!result->skipped)
          lossSum += result->loss;
        skipped += result->skipped;
        worstUnderflow = std::max<double>(worstUnderflow, result->worstUnderflow);
        bar.update(policy + " epoch " + std::to_string(epoch), s + 1,
                   stepsPerEpoch, result->loss);
      }
      bar.clear();
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      auto accuracy = evaluate();
      if (!accuracy)
        return fail(llvm::toString(accuracy.takeError()));
      int64_t ran = stepsPerEpoch - begin;
      EpochRow row{epoch,
                   ran > skipped ? lossSum / double(ran - skipped) : NAN,
                   *accuracy,
                   ran ? 1000 * seconds / double(ran) : 0.0,
                   trainer.lossScale(), skipped, 100.0 * worstUnderflow};
      run.epochs.push_back(row);
      run.steps += ran;
      run.skipped += skipped;
      run.seconds += seconds;
      run.accuracy = row.accuracy;
      run.finalScale = row.lossScale;
      run.worstUnderflow = std::max(run.worstUnderflow, row.worstUnderflow);
      run.casts = trainer.castStatistics();
      llvm::outs() << llvm::format("%-6u %10.4f %13.2f%% %8lld %12g %10s %10.2f\n",
                                   epoch, row.loss, row.accuracy,
                                   (long long)skipped, row.lossScale,
                                   percentOrDash(row.worstUnderflow).c_str(),
                                   row.msPerStep);
      llvm::outs().flush();
      if (!checkpoint.empty())
        if (llvm::Error error = trainer.saveCheckpoint(checkpoint))
          return fail(llvm::toString(std::move(error)));
    }
    if (!saveParams.empty())
      if (llvm::Error error = trainer.saveParameters(saveParams + "/" + policy))
        return fail(llvm::toString(std::move(error)));
    if (run.epochs.empty()) {
      // A resumed run that had already finished: report where it stands.
      auto accuracy = evaluate();
      if (!accuracy)
        return fail(llvm::toString(accuracy.takeError()));
      run.accuracy = *accuracy;
      run.finalScale = trainer.lossScale();
      llvm::outs() << "(all " << epochs << " epoch(s) were done; test accuracy "
                   << llvm::format("%.2f%%", run.accuracy) << ")\n";
    }
    runs.push_back(std::move(run));
  }

  llvm::outs() << "\n== summary: " << inputFile << ", " << epochs
               << " epoch(s), " << optimizer << " lr "
               << llvm::format("%g", double(learningRate));
  if (optimizer == "sgd")
    llvm::outs() << " momentum " << llvm::format("%g", double(momentum));
  llvm::outs() << " ==\n"
               << llvm::format("%-6s %-8s %8s %8s %14s %12s %10s %10s\n",
                               "policy", "scaling", "steps", "skipped",
                               "test accuracy", "loss scale", "underflow",
                               "ms/step");
  for (const PolicyRun &r : runs)
    llvm::outs() << llvm::format(
        "%-6s %-8s %8lld %8lld %13.2f%% %12g %10s %10.2f\n", r.policy.c_str(),
        r.lossScaling.c_str(), (long long)r.steps, (long long)r.skipped,
        r.accuracy, r.finalScale, percentOrDash(r.worstUnderflow).c_str(),
        r.steps ? 1000 * r.seconds / double(r.steps) : 0.0);
  if (!summaryJson.empty())
    if (llvm::Error error = writeSummary(summaryJson, runs))
      return fail(llvm::toString(std::move(error)));
  if (!plotPath.empty())
    if (llvm::Error error = writePlot(plotPath, runs))
      return fail(llvm::toString(std::move(error)));
  return 0;
}
