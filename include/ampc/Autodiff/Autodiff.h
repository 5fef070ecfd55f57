//===- Autodiff.h - reverse-mode differentiation as a library ---*- C++ -*-===//
//
// The pieces ampc-autodiff and amp-build-train-step share: generalize the
// named ops of a function, append the reverse sweep of a loss to its body,
// and simplify the result so that adjoints of contractions are contractions.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_AUTODIFF_AUTODIFF_H
#define AMPC_AUTODIFF_AUTODIFF_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace ampc {

/// Checks that `fn`'s first result is a scalar loss (f32/f64 or a 0-d
/// tensor of them); emits an error on `fn` otherwise.
mlir::LogicalResult verifyLossFunction(mlir::func::FuncOp fn);

/// Rewrites every named linalg op of `fn` except fill and transpose as a
/// linalg.generic, the form the reverse sweep differentiates.
mlir::LogicalResult generalizeForAutodiff(mlir::func::FuncOp fn);

/// Appends, at `b`'s insertion point in `body`, the reverse sweep of the ops
/// before that point: the adjoint of `loss` is `seed` (same type as `loss`).
/// Returns the adjoint of each value in `wrt` (a zero tensor for one the loss
/// does not depend on). Errors name the op that has no derivative rule.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildAdjoints(mlir::OpBuilder &b, mlir::Block &body, mlir::Value loss,
              mlir::Value seed, llvm::ArrayRef<mlir::BlockArgument> wrt);

/// Canonicalizes `fn` and drops unused operands and results of linalg ops,
/// which turns the adjoint of a contraction back into a contraction.
void simplifyAdjoints(mlir::func::FuncOp fn);

} // namespace ampc

#endif // AMPC_AUTODIFF_AUTODIFF_H
