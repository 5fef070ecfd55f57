//===- Pipelines.cpp - AMPC pass pipelines --------------------------------===//
//
// Builds and registers the named pipelines.
//
//===----------------------------------------------------------------------===//

#include "ampc/Pipelines/Pipelines.h"

#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void ampc::buildTrainPipeline(OpPassManager &pm,
                              const TrainPipelineOptions &options) {
  amp::AmpAutocastOptions autocast;
  autocast.policy = options.policy;
  autocast.lowerOps.assign(options.lowerOps.begin(), options.lowerOps.end());
  autocast.fp32Ops.assign(options.fp32Ops.begin(), options.fp32Ops.end());
  autocast.promoteOps.assign(options.promoteOps.begin(), options.promoteOps.end());
  autocast.followOps.assign(options.followOps.begin(), options.followOps.end());

  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(amp::createAmpAutocast(autocast));
  funcPm.addPass(amp::createAmpInsertCasts());
  funcPm.addPass(amp::createAmpFp32Accumulate());
  funcPm.addPass(amp::createAmpCastCleanup());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void ampc::registerPipelines() {
  PassPipelineRegistration<TrainPipelineOptions>(
      "ampc-train-pipeline",
      "Decide and apply the precision of every op under a policy",
      buildTrainPipeline);
}
