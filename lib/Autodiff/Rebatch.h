//===- Rebatch.h - give a fixed-batch model another batch size --*- C++ -*-===//
//
// A model written for a fixed batch B (static leading dimension on its batch
// inputs) re-batched to N: the dimensions that carry the batch are found by
// following the batch inputs through the ops and become N (or f*N where a
// reshape folded the batch with f other rows), and the constants of a mean
// over the batch (1/B, or 1/(B*k) for a mean over the batch and other
// reduced dimensions of total extent k, or B*k as a divisor) become those of
// N. Anything that cannot be followed (an op that is not known to keep the
// batch apart, a parameter or a non-splat constant sized by the batch, two
// constants that could both be the mean's) is an error naming it, never a
// guess.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_AUTODIFF_REBATCH_H
#define AMPC_LIB_AUTODIFF_REBATCH_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace ampc {

/// The leading dimension of the batch inputs of `fn` (the non-parameter
/// arguments of rank >= 1) when `fn` has parameters and every batch input is
/// static with the same leading size; 0 for a function that is not a model
/// with a fixed batch (no parameters, no batch input, a dynamic one). An
/// error (emitted) when the batch inputs disagree.
mlir::FailureOr<int64_t> fixedBatchOf(mlir::func::FuncOp fn);

/// Re-batches `fn`, written for batches of `from`, to batches of `to` (see
/// above). Emits a remark for every constant it rewrites and an error
/// naming whatever stops it.
mlir::LogicalResult rebatchFunction(mlir::func::FuncOp fn, int64_t from,
                                    int64_t to);

} // namespace ampc

#endif // AMPC_LIB_AUTODIFF_REBATCH_H
