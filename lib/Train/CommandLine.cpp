//===- CommandLine.cpp - the Trainer's options on the command line --------===//

#include "ampc/Train/CommandLine.h"

#include "llvm/Support/ManagedStatic.h"

namespace cl = llvm::cl;
using namespace ampc::train;

namespace {

/// The options, created by registerTrainCLOptions.
struct TrainCLOptions {
  cl::opt<std::string> optimizer{"optimizer", cl::init("sgd"),
                                 cl::desc("sgd, adam or adamw"),
                                 cl::cat(getOptimizerCLCategory())};
  cl::opt<double> learningRate{"lr", cl::init(0.05), cl::desc("learning rate"),
                               cl::cat(getOptimizerCLCategory())};
  cl::opt<std::string> schedule{
      "lr-schedule", cl::init("constant"),
      cl::desc("constant, step (x lr-gamma every lr-step-size steps), cosine "
               "or linear (to lr-min at lr-total-steps)"),
      cl::cat(getOptimizerCLCategory())};
  cl::opt<int64_t> warmupSteps{
      "warmup-steps", cl::init(0),
      cl::desc("steps of linear warmup before the schedule"),
      cl::cat(getOptimizerCLCategory())};
  cl::opt<int64_t> stepSize{"lr-step-size", cl::init(0),
                            cl::desc("step schedule: steps between decays"),
                            cl::cat(getOptimizerCLCategory())};
  cl::opt<double> gamma{"lr-gamma", cl::init(0.1),
                        cl::desc("step schedule: decay factor"),
                        cl::cat(getOptimizerCLCategory())};
  cl::opt<double> minLr{"lr-min", cl::init(0.0),
                        cl::desc("cosine/linear: the final learning rate"),
                        cl::cat(getOptimizerCLCategory())};
  cl::opt<int64_t> totalSteps{
      "lr-total-steps", cl::init(0),
      cl::desc("cosine/linear: the step where the decay ends (0: the end of "
               "the run)"),
      cl::cat(getOptimizerCLCategory())};
  cl::opt<double> momentum{"momentum", cl::init(0.9), cl::desc("SGD momentum"),
                           cl::cat(getOptimizerCLCategory())};
  cl::opt<bool> nesterov{"nesterov", cl::desc("Nesterov momentum"),
                         cl::cat(getOptimizerCLCategory())};
  cl::opt<double> beta1{"beta1", cl::init(0.9), cl::desc("Adam beta1"),
                        cl::cat(getOptimizerCLCategory())};
  cl::opt<double> beta2{"beta2", cl::init(0.999), cl::desc("Adam beta2"),
                        cl::cat(getOptimizerCLCategory())};
  cl::opt<double> epsilon{"eps", cl::init(1e-8), cl::desc("Adam epsilon"),
                          cl::cat(getOptimizerCLCategory())};
  cl::opt<double> weightDecay{"weight-decay", cl::init(0.0),
                              cl::desc("weight decay"),
                              cl::cat(getOptimizerCLCategory())};
  cl::opt<double> clipNorm{
      "clip-norm", cl::init(0.0),
      cl::desc("clip gradients to this global L2 norm (0: off)"),
      cl::cat(getOptimizerCLCategory())};
  cl::opt<std::string> lossScaling{
      "loss-scaling", cl::init("auto"),
      cl::desc("auto (dynamic under fp16, none otherwise), none, static or "
               "dynamic"),
      cl::cat(getLossScalingCLCategory())};
  cl::opt<double> initScale{"init-scale", cl::init(65536.0),
                            cl::desc("static scale / initial scale"),
                            cl::cat(getLossScalingCLCategory())};
  cl::opt<double> growthFactor{"growth-factor", cl::init(2.0),
                               cl::desc("dynamic: scale growth factor"),
                               cl::cat(getLossScalingCLCategory())};
  cl::opt<double> backoffFactor{"backoff-factor", cl::init(0.5),
                                cl::desc("dynamic: scale backoff factor"),
                                cl::cat(getLossScalingCLCategory())};
  cl::opt<int64_t> growthInterval{
      "growth-interval", cl::init(2000),
      cl::desc("dynamic: clean steps before the scale grows"),
      cl::cat(getLossScalingCLCategory())};
  cl::opt<int64_t> hysteresis{
      "hysteresis", cl::init(1),
      cl::desc("dynamic: overflows before the scale backs off"),
      cl::cat(getLossScalingCLCategory())};
  cl::opt<double> minScale{"min-scale", cl::init(0.0), cl::desc("0: unbounded"),
                           cl::cat(getLossScalingCLCategory())};
  cl::opt<double> maxScale{"max-scale", cl::init(0.0), cl::desc("0: unbounded"),
                           cl::cat(getLossScalingCLCategory())};
  // Data-parallel runs (under mpirun).
  cl::opt<int64_t> bucketMB{
      "bucket-mb", cl::init(25),
      cl::desc("under mpirun: the largest gradient bucket (one all-reduce), "
               "in MiB"),
      cl::cat(getOptimizerCLCategory())};
  cl::opt<bool> overlapCommunication{
      "overlap-communication", cl::init(true),
      cl::desc("under mpirun: start each bucket's all-reduce as soon as the "
               "backward has computed it (=false: after the backward)"),
      cl::cat(getOptimizerCLCategory())};
};

llvm::ManagedStatic<TrainCLOptions> clOptions;

} // namespace

cl::OptionCategory &ampc::train::getOptimizerCLCategory() {
  static cl::OptionCategory category("Optimizer");
  return category;
}

cl::OptionCategory &ampc::train::getLossScalingCLCategory() {
  static cl::OptionCategory category("Loss scaling");
  return category;
}

void ampc::train::registerTrainCLOptions() { *clOptions; }

llvm::Expected<ampc::TrainOptions> ampc::train::getTrainOptionsFromCL() {
  registerTrainCLOptions();
  const TrainCLOptions &cli = *clOptions;
  TrainOptions options;
  options.optimizer = cli.optimizer;
  options.learningRate = cli.learningRate;
  options.schedule.kind = cli.schedule;
  options.schedule.warmupSteps = cli.warmupSteps;
  options.schedule.stepSize = cli.stepSize;
  options.schedule.gamma = cli.gamma;
  options.schedule.minLr = cli.minLr;
  options.schedule.totalSteps = cli.totalSteps;
  if (llvm::Error error = options.schedule.validate(options.learningRate))
    return std::move(error);
  // Momentum is SGD's; adam and adamw take beta1.
  options.momentum = cli.optimizer == "sgd" ? cli.momentum.getValue() : 0.0;
  options.nesterov = cli.nesterov;
  options.beta1 = cli.beta1;
  options.beta2 = cli.beta2;
  options.epsilon = cli.epsilon;
  options.weightDecay = cli.weightDecay;
  options.clipNorm = cli.clipNorm;
  options.lossScaling = cli.lossScaling;
  options.initScale = cli.initScale;
  options.growthFactor = cli.growthFactor;
  options.backoffFactor = cli.backoffFactor;
  options.growthInterval = cli.growthInterval;
  options.hysteresis = cli.hysteresis;
  options.minScale = cli.minScale;
  options.maxScale = cli.maxScale;
  options.bucketMB = cli.bucketMB;
  options.overlapCommunication = cli.overlapCommunication;
  return options;
}
