//===- CommandLine.h - the Trainer's options on the command line -*- C++
//-*-===//
//
// The optimizer and loss-scaling options of TrainOptions as command-line
// options (--optimizer, --lr, --momentum, --nesterov, --beta1, --beta2,
// --eps, --weight-decay, --clip-norm, --loss-scaling, --init-scale,
// --growth-factor, --backoff-factor, --growth-interval, --hysteresis,
// --min-scale, --max-scale), registered once for any tool that trains.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_TRAIN_COMMANDLINE_H
#define AMPC_TRAIN_COMMANDLINE_H

#include "ampc/JIT/Trainer.h"

#include "llvm/Support/CommandLine.h"

namespace ampc::train {

/// Registers the options; call before llvm::cl::ParseCommandLineOptions.
void registerTrainCLOptions();
llvm::cl::OptionCategory &getOptimizerCLCategory();
llvm::cl::OptionCategory &getLossScalingCLCategory();
/// The TrainOptions the command line sets (the seed stays 0).
llvm::Expected<TrainOptions> getTrainOptionsFromCL();

} // namespace ampc::train

#endif // AMPC_TRAIN_COMMANDLINE_H
