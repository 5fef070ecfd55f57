//===- Report.h - tables, JSON summary and plot of training runs -*- C++
//-*-===//
//
// What ampc-train prints and writes about one run per policy: the per-epoch
// table, the side-by-side summary, a JSON summary and an SVG plot of the
// loss curves and the loss scale.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_TRAIN_REPORT_H
#define AMPC_TRAIN_REPORT_H

#include "ampc/Train/TrainLoop.h"

#include "llvm/Support/raw_ostream.h"

namespace ampc::train {

/// One run under one policy.
struct PolicyRun {
  std::string policy, lossScaling;
  RunSummary summary;
};

/// What every run of a report shares.
struct ReportHeader {
  std::string model, optimizer;
  double learningRate = 0, momentum = 0;
  /// LrSchedule::describe() of the schedule.
  std::string schedule = "constant";
  unsigned epochs = 0;
  uint64_t seed = 0;
  /// Whether underflow was measured (otherwise shown as "-" / null).
  bool castStatistics = true;
};

/// The per-epoch table of one run.
void printEpochHeader(llvm::raw_ostream &os, llvm::StringRef policy,
                      llvm::StringRef lossScaling);
void printEpochRow(llvm::raw_ostream &os, const EpochRow &row,
                   bool castStatistics);
/// The side-by-side summary of the runs.
void printSummaryTable(llvm::raw_ostream &os, const ReportHeader &header,
                       llvm::ArrayRef<PolicyRun> runs);
/// The JSON summary: per-epoch rows and the last step's per-cast
/// statistics; every key of a share names its unit (`_percent` as the
/// tables show them, `_fraction` for the per-cast shares).
llvm::Error writeSummaryJson(llvm::StringRef path, const ReportHeader &header,
                             llvm::ArrayRef<PolicyRun> runs);
/// An SVG of the training loss (mean of 20 steps) and the loss scale (log2)
/// per policy.
llvm::Error writeLossPlot(llvm::StringRef path, llvm::ArrayRef<PolicyRun> runs);

} // namespace ampc::train

#endif // AMPC_TRAIN_REPORT_H
