//===- PrecisionReport.cpp - explain the precision of every op ------------===//
//
// Prints what autocast decided and what it costs in casts.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/Transforms/OpClassification.h"
#include "ampc/Dialect/Amp/Transforms/Passes.h"

#include "mlir/IR/TypeUtilities.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"

#include <map>

namespace ampc::amp {
#define GEN_PASS_DEF_AMPPRECISIONREPORT
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"
} // namespace ampc::amp

using namespace mlir;
using namespace ampc::amp;

namespace {

std::string typeName(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

int64_t bytesOf(Type type) {
  auto element = getElementTypeOrSelf(type);
  int64_t count = 1;
  if (auto shaped = dyn_cast<ShapedType>(type)) {
    if (!shaped.hasStaticShape())
      return -1;
    count = shaped.getNumElements();
  }
  return count * ((element.getIntOrFloatBitWidth() + 7) / 8);
}

/// One function's report: each classified op, each cast, and the totals.
void report(func::FuncOp func, raw_ostream &os) {
  os << "precision report for @" << func.getName() << "\n";
  std::map<std::string, int64_t> opsPerPrecision;
  int64_t casts = 0, bytesConverted = 0, unknownBytes = 0;
  func.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto castOp = dyn_cast<CastOp>(op)) {
      ++casts;
      int64_t in = bytesOf(castOp.getInput().getType());
      int64_t out = bytesOf(castOp.getType());
      if (in < 0 || out < 0)
        ++unknownBytes;
      else
        bytesConverted += in + out;
      os << llvm::formatv("  {0,-24} {1} -> {2}\n", "amp.cast",
                          typeName(castOp.getInput().getType()),
                          typeName(castOp.getType()));
      return WalkResult::advance();
    }
    Classification classification = classifyOp(op);
    if (classification.kind != OpKind::Classified)
      return isa<linalg::LinalgOp>(op) ? WalkResult::skip()
                                       : WalkResult::advance();
    auto precision =
        op->getAttrOfType<PrecisionAttr>(PrecisionAttr::getAttrName());
    std::string compute = precision ? typeName(precision.getCompute())
                                    : std::string("unannotated");
    std::string accumulate = precision ? typeName(precision.getAccumulate())
                                       : std::string("unannotated");
    unsigned castOperands = llvm::count_if(op->getOperands(), [](Value v) {
      return static_cast<bool>(v.getDefiningOp<CastOp>());
    });
    ++opsPerPrecision[compute];
    os << llvm::formatv("  {0,-24} class={1,-8} compute={2,-9} "
                        "accumulate={3,-5} cast-operands={4}\n",
                        op->getName().getStringRef(),
                        stringifyOpClass(classification.opClass), compute,
                        accumulate, castOperands);
    return isa<linalg::LinalgOp>(op) ? WalkResult::skip()
                                     : WalkResult::advance();
  });
  os << "  totals:";
  for (auto &[precision, count] : opsPerPrecision)
    os << " " << precision << "=" << count;
  os << " casts=" << casts << " bytes-converted-per-call=" << bytesConverted;
  if (unknownBytes)
    os << " (+" << unknownBytes << " casts of dynamic shape)";
  os << "\n";
}

struct AmpPrecisionReportPass
    : ampc::amp::impl::AmpPrecisionReportBase<AmpPrecisionReportPass> {
  using Base::Base;

  void runOnOperation() override {
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(output, &error);
    if (!file) {
      getOperation().emitError() << "amp-precision-report: " << error;
      return signalPassFailure();
    }
    writePrecisionReport(getOperation(), file->os());
    file->keep();
  }
};

} // namespace

void ampc::amp::writePrecisionReport(ModuleOp module, raw_ostream &os) {
  module.walk([&](func::FuncOp func) { report(func, os); });
}
