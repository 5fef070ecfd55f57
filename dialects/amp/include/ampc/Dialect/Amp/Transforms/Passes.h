//===- Passes.h - amp precision passes --------------------------*- C++ -*-===//
//
// Declarations of the precision passes and their reusable pieces.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_TRANSFORMS_PASSES_H
#define AMPC_DIALECT_AMP_TRANSFORMS_PASSES_H

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

#include <functional>

namespace ampc::amp {

#define GEN_PASS_DECL
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ampc/Dialect/Amp/Transforms/Passes.h.inc"

/// A target's own conversion of an f32 scalar to `to` under `overflow` that
/// gives the bits amp-lower-to-arith's integer path gives (NaN included);
/// null where the target has none, and the integer path is used.
using HardwareCastEncoder =
    std::function<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::Value,
                              mlir::FloatType, OverflowMode)>;

/// `f32` (scalar or vector) with every NaN replaced by the quiet NaN of
/// its sign and no payload (0x7fc00000 with the sign bit). Converted to a
/// smaller float type by an instruction that keeps the quiet bit and the
/// payload's upper bits (x86's F16C, AArch64's fcvt), that NaN becomes the
/// integer path's: the target format's quiet NaN with the input's sign.
mlir::Value quietNaNs(mlir::OpBuilder &b, mlir::Location loc, mlir::Value f32);

/// `converted` (a conversion of `f32`, scalar or vector, to a smaller float
/// type by a target's instruction) with NaN mapped to the integer path's:
/// the target format's quiet NaN with the input's sign. Hardware encoders
/// use it where their instruction keeps a NaN's payload.
mlir::Value withQuietNaN(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value f32, mlir::Value converted);

/// `f32` (scalar or vector) rounded to `to` (nearest even) under `overflow`
/// by amp-lower-to-arith's integer path: the bits every target's casts give.
/// Back ends that convert with an instruction use it where the instruction
/// would give other bits.
mlir::Value encodeWithIntegers(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value f32, mlir::FloatType to,
                               OverflowMode overflow);

/// Adds the lowering of every amp op, and of arith.extf / arith.truncf with
/// an fp8 side, to arith, math, linalg, tensor and vector ops; casts from
/// f32 use `hardware` where it applies.
void populateAmpToArithPatterns(mlir::RewritePatternSet &patterns,
                                HardwareCastEncoder hardware = nullptr);

/// Applies those patterns to `root` as a conversion (amp illegal); errors
/// name what cannot be lowered (stochastic rounding, vector gradients).
/// With `roundWidenedCasts`, a cast into fp8 (or from f32 into bf16) that is
/// read widened to f32 or bf16 (`arith.extf` of it) is rounded in f32 with
/// no narrow pattern in between (a target whose `hardware` converts in one
/// instruction may prefer it off).
mlir::LogicalResult lowerAmpToArith(mlir::Operation *root,
                                    HardwareCastEncoder hardware = nullptr,
                                    bool roundWidenedCasts = true);

/// Writes amp-precision-report's text for every function of `module`: each
/// classified op with its class and precision, each cast, and per function
/// a line `  totals: <type>=<ops>... casts=<n> bytes-converted-per-call=<b>`.
void writePrecisionReport(mlir::ModuleOp module, llvm::raw_ostream &os);

/// Adds the cast folding and deduplication patterns of amp-cast-cleanup.
void populateCastCleanupPatterns(mlir::RewritePatternSet &patterns);

} // namespace ampc::amp

#endif // AMPC_DIALECT_AMP_TRANSFORMS_PASSES_H
