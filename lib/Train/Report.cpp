//===- Report.cpp - tables, JSON summary and plot of training runs --------===//

#include "ampc/Train/Report.h"

#include "Error.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace ampc::train;
using ampc::train::detail::makeError;

namespace {

/// "12.345%", or "-" where the statistics were not measured.
std::string percentOrDash(double share, bool measured) {
  return measured ? llvm::formatv("{0:F3}%", share).str() : "-";
}

/// Writes `path` with `write`; a failed open or write is an error.
llvm::Error writeFile(llvm::StringRef path,
                      llvm::function_ref<void(llvm::raw_ostream &)> write) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return makeError("cannot write '" + path + "': " + ec.message());
  write(os);
  os.close();
  if (os.has_error()) {
    std::string message = os.error().message();
    os.clear_error();
    return makeError("cannot write '" + path + "': " + message);
  }
  return llvm::Error::success();
}

/// One polyline per policy over [0, xMax] x [yMin, yMax] inside a panel.
void svgPanel(
    llvm::raw_ostream &os, double top, const std::string &title,
    const std::vector<std::pair<std::string, std::vector<double>>> &series,
    bool logScale) {
  const double left = 70, width = 620, height = 220;
  const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c",
                          "#9467bd", "#ff7f0e", "#8c564b"};
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
  os << llvm::format("<text x=\"%g\" y=\"%g\" font-size=\"14\">", left, top - 8)
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
                         left + width * double(s) /
                                    double(xMax - 1 ? xMax - 1 : 1),
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

llvm::json::Value measuredOrNull(double value, bool measured) {
  return measured ? llvm::json::Value(value) : llvm::json::Value(nullptr);
}

llvm::json::Object runJson(const PolicyRun &policyRun, bool castStatistics) {
  const RunSummary &run = policyRun.summary;
  llvm::json::Array epochRows;
  for (const EpochRow &e : run.epochs)
    epochRows.push_back(
        llvm::json::Object{{"epoch", e.epoch},
                           {"train_loss", e.loss},
                           {"test_accuracy_percent", e.accuracy},
                           {"skipped_steps", e.skipped},
                           {"loss_scale", e.lossScale},
                           {"worst_underflow_percent",
                            measuredOrNull(e.worstUnderflow, castStatistics)},
                           {"ms_per_step", e.msPerStep}});
  llvm::json::Array casts;
  for (const ampc::CastStatistic &c : run.casts)
    casts.push_back(llvm::json::Object{{"site", c.site},
                                       {"underflow_fraction", c.underflow},
                                       {"overflow_fraction", c.overflow}});
  return llvm::json::Object{
      {"policy", policyRun.policy},
      {"loss_scaling", policyRun.lossScaling},
      {"final_test_accuracy_percent", run.accuracy},
      {"steps", run.steps},
      {"skipped_steps", run.skipped},
      {"final_loss_scale", run.finalScale},
      {"worst_underflow_percent",
       measuredOrNull(run.worstUnderflow, castStatistics)},
      {"last_step_casts", std::move(casts)},
      {"mean_ms_per_step",
       run.steps ? 1000 * run.seconds / double(run.steps) : 0.0},
      {"final_learning_rate",
       run.learningRates.empty() ? llvm::json::Value(nullptr)
                                 : llvm::json::Value(run.learningRates.back())},
      {"epochs", std::move(epochRows)}};
}

} // namespace

void ampc::train::printEpochHeader(llvm::raw_ostream &os,
                                   llvm::StringRef policy,
                                   llvm::StringRef lossScaling) {
  os << "== " << policy << " (loss scaling " << lossScaling << ") ==\n"
     << llvm::format("%-6s %10s %14s %8s %12s %10s %10s\n", "epoch", "loss",
                     "test accuracy", "skipped", "loss scale", "underflow",
                     "ms/step");
}

void ampc::train::printEpochRow(llvm::raw_ostream &os, const EpochRow &row,
                                bool castStatistics) {
  os << llvm::format(
      "%-6u %10.4f %13.2f%% %8lld %12g %10s %10.2f\n", row.epoch, row.loss,
      row.accuracy, (long long)row.skipped, row.lossScale,
      percentOrDash(row.worstUnderflow, castStatistics).c_str(), row.msPerStep);
  os.flush();
}

void ampc::train::printSummaryTable(llvm::raw_ostream &os,
                                    const ReportHeader &header,
                                    llvm::ArrayRef<PolicyRun> runs) {
  os << "\n== summary: " << header.model << ", " << header.epochs
     << " epoch(s), " << header.optimizer << " lr "
     << llvm::format("%g", header.learningRate);
  if (header.schedule != "constant")
    os << " (" << header.schedule << ")";
  if (header.optimizer == "sgd")
    os << " momentum " << llvm::format("%g", header.momentum);
  os << " ==\n"
     << llvm::format("%-6s %-8s %8s %8s %14s %12s %10s %10s\n", "policy",
                     "scaling", "steps", "skipped", "test accuracy",
                     "loss scale", "underflow", "ms/step");
  for (const PolicyRun &r : runs) {
    const RunSummary &s = r.summary;
    os << llvm::format(
        "%-6s %-8s %8lld %8lld %13.2f%% %12g %10s %10.2f\n", r.policy.c_str(),
        r.lossScaling.c_str(), (long long)s.steps, (long long)s.skipped,
        s.accuracy, s.finalScale,
        percentOrDash(s.worstUnderflow, header.castStatistics).c_str(),
        s.steps ? 1000 * s.seconds / double(s.steps) : 0.0);
  }
  // Measuring what every cast loses is work the low-precision steps do and
  // fp32's does not (the zoo MLP's bf16 step: 0.74 ms with it, 0.50
  // without, fp32 0.68).
  if (header.castStatistics)
    os << "(ms/step includes the cast statistics, which low-precision steps "
          "compute and fp32 steps do not; --cast-stats=false times the "
          "steps alone)\n";
}

llvm::Error ampc::train::writeSummaryJson(llvm::StringRef path,
                                          const ReportHeader &header,
                                          llvm::ArrayRef<PolicyRun> runs) {
  llvm::json::Array policies;
  for (const PolicyRun &run : runs)
    policies.push_back(runJson(run, header.castStatistics));
  llvm::json::Object root{
      {"model", header.model},          {"optimizer", header.optimizer},
      {"lr", header.learningRate},      {"lr_schedule", header.schedule},
      {"epochs", header.epochs},        {"seed", int64_t(header.seed)},
      {"policies", std::move(policies)}};
  return writeFile(path, [&](llvm::raw_ostream &os) {
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  });
}

llvm::Error ampc::train::writeLossPlot(llvm::StringRef path,
                                       llvm::ArrayRef<PolicyRun> runs) {
  // Training loss averaged over windows of 20 steps, to be readable.
  std::vector<std::pair<std::string, std::vector<double>>> losses, scales;
  for (const PolicyRun &run : runs) {
    const std::vector<float> &steps = run.summary.losses;
    std::vector<double> smoothed;
    for (size_t s = 0; s < steps.size(); s += 20) {
      size_t end = std::min(steps.size(), s + 20);
      double sum = 0;
      for (size_t k = s; k < end; ++k)
        sum += steps[k];
      smoothed.push_back(sum / double(end - s));
    }
    losses.push_back({run.policy, smoothed});
    scales.push_back(
        {run.policy, std::vector<double>(run.summary.scales.begin(),
                                         run.summary.scales.end())});
  }
  return writeFile(path, [&](llvm::raw_ostream &os) {
    os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"780\" "
          "height=\"600\" font-family=\"sans-serif\">\n"
          "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svgPanel(os, 40, "training loss (mean of 20 steps) per policy", losses,
             false);
    svgPanel(os, 340, "loss scale per step (log2)", scales, true);
    os << "<text x=\"380\" y=\"590\" font-size=\"11\">step</text>\n</svg>\n";
  });
}
