//===- VectorizeContractions.cpp - tile and vectorize matmuls -------------===//
//
// Builds a transform-dialect script for the contractions of a module (tile
// sizes chosen per op so that every tile is full), applies it, and marks the
// vector multiply-adds contractible.
//
//===----------------------------------------------------------------------===//

#include "ampc/Conversion/Passes.h"
#include "ampc/Dialect/Amp/Transforms/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/Parser/Parser.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCVECTORIZECONTRACTIONS
#include "ampc/Conversion/Passes.h.inc"
} // namespace ampc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kTagName = "ampc.vectorize_id";

/// The largest divisor of `dim` that is at most `preferred`.
int64_t pickTile(int64_t dim, int64_t preferred) {
  for (int64_t t = std::min(dim, preferred); t > 1; --t)
    if (dim % t == 0)
      return t;
  return 1;
}

std::string list(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (auto [i, v] : llvm::enumerate(values))
    s += (i ? ", " : "") + std::to_string(v);
  return s + "]";
}

/// Widens low-precision inputs of a contraction to its accumulator type once,
/// before tiling: the conversion is exact (bf16, f16 and fp8 values are f32
/// values, and so are their products), costs O(n^2) against the O(n^3)
/// contraction, and keeps conversions out of the register-tile loop.
void widenInputs(linalg::LinalgOp op) {
  auto accType = dyn_cast<FloatType>(getElementTypeOrSelf(
      op.getDpsInitOperand(0)->get().getType()));
  if (!accType)
    return;
  OpBuilder builder(op);
  bool changed = false;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    auto element = type ? dyn_cast<FloatType>(type.getElementType()) : nullptr;
    if (!element || element.getWidth() >= accType.getWidth())
      continue;
    input->set(arith::ExtFOp::create(builder, op.getLoc(),
                                     type.clone(accType), input->get()));
    changed = true;
  }
  if (changed)
    (void)ampc::amp::updatePayload(op);
}

struct AmpcVectorizeContractionsPass
    : ampc::impl::AmpcVectorizeContractionsBase<AmpcVectorizeContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string body;
    int64_t id = 0;
    module.walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op) ||
          !op.hasPureTensorSemantics())
        return;
      SmallVector<int64_t> bounds = op.getStaticLoopRanges();
      if (llvm::any_of(bounds, ShapedType::isDynamic))
        return;
      // Only the default layouts; transposed forms stay scalar loops.
      if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation()))
        if (matmul.hasUserDefinedMaps())
          return;
      if (auto batched = dyn_cast<linalg::BatchMatmulOp>(op.getOperation()))
        if (batched.hasUserDefinedMaps())
          return;
      widenInputs(op);
      bool batched = isa<linalg::BatchMatmulOp>(op);
      size_t first = batched ? 1 : 0;
      int64_t m = bounds[first], n = bounds[first + 1], k = bounds[first + 2];
      int64_t cm = pickTile(m, cacheRows), cn = pickTile(n, cacheCols),
              ck = pickTile(k, cacheDepth);
      int64_t rm = pickTile(cm, registerRows), rn = pickTile(cn, registerCols);
      SmallVector<int64_t> cache = {cm, cn, ck}, reg = {rm, rn, 1};
      if (batched) {
        cache.insert(cache.begin(), 1);
        reg.insert(reg.begin(), 1);
      }
      op->setAttr(kTagName, IntegerAttr::get(IntegerType::get(&getContext(), 64), id));
      std::string n0 = "%op" + std::to_string(id);
      std::string loops = std::to_string(cache.size());
      std::string handles = "!transform.any_op";
      for (size_t i = 0; i < cache.size(); ++i)
        handles += ", !transform.any_op";
      body += "    " + n0 + " = transform.structured.match attributes {" +
              kTagName.str() + " = " + std::to_string(id) +
              " : i64} in %root : (!transform.any_op) -> !transform.any_op\n";
      body += "    %c" + std::to_string(id) + ", %cl" + std::to_string(id) +
              ":" + loops + " = transform.structured.tile_using_for " + n0 +
              " tile_sizes " + list(cache) + " : (!transform.any_op) -> (" +
              handles + ")\n";
      body += "    %r" + std::to_string(id) + ", %rl" + std::to_string(id) +
              ":" + loops + " = transform.structured.tile_using_for %c" +
              std::to_string(id) + " tile_sizes " + list(reg) +
              " : (!transform.any_op) -> (" + handles + ")\n";
      body += "    transform.structured.vectorize %r" + std::to_string(id) +
              " : !transform.any_op\n";
      body += "    transform.apply_patterns to %func {\n"
              "      transform.apply_patterns.canonicalization\n"
              "    } : !transform.any_op\n";
      body += "    transform.loop.hoist_loop_invariant_subsets %rl" +
              std::to_string(id) + "#" + std::to_string(cache.size() - 1) +
              " : !transform.any_op\n";
      ++id;
    });
    if (id == 0)
      return;

    std::string script =
        "module attributes {transform.with_named_sequence} {\n"
        "  transform.named_sequence @__transform_main(%root: !transform.any_op "
        "{transform.readonly}) {\n"
        "    %func = transform.structured.match ops{[\"func.func\"]} in %root "
        ": (!transform.any_op) -> !transform.any_op\n" +
        body +
        "    transform.apply_patterns to %func {\n"
        "      transform.apply_patterns.canonicalization\n"
        "    } : !transform.any_op\n"
        "    transform.yield\n  }\n}\n";
    OwningOpRef<ModuleOp> transformModule =
        parseSourceString<ModuleOp>(script, &getContext());
    if (!transformModule) {
      module.emitError("ampc-vectorize-contractions: internal transform "
                       "script does not parse");
      return signalPassFailure();
    }
    Operation *entry = nullptr;
    transformModule->walk([&](transform::NamedSequenceOp seq) {
      if (seq.getSymName() == "__transform_main")
        entry = seq;
    });
    if (failed(transform::applyTransformNamedSequence(
            module, entry, *transformModule, transform::TransformOptions())))
      return signalPassFailure();

    // Let each vector multiply feeding an add contract into an FMA.
    module.walk([](arith::AddFOp add) {
      if (!isa<VectorType>(add.getType()))
        return;
      for (Value operand : add->getOperands())
        if (auto mul = operand.getDefiningOp<arith::MulFOp>()) {
          mul.setFastmath(arith::FastMathFlags::contract);
          add.setFastmath(arith::FastMathFlags::contract);
        }
    });
    module.walk([](Operation *op) { op->removeAttr(kTagName); });
  }
};

} // namespace
