//===- GradientBuckets.h - gradients averaged over the ranks ----*- C++ -*-===//
//
// What a data-parallel training step does with its gradients: they are
// grouped, in reverse order (the order the reverse sweep finishes them), into
// flat f32 buckets of a bounded size, and each bucket is averaged over the
// ranks by one all-reduce. With overlap, a bucket's all-reduce starts
// (amp.all_reduce_start) right after the last of its gradients is computed,
// so that it runs while the rest of the reverse sweep computes; every bucket
// is waited for (amp.all_reduce_wait) where the averages are first needed.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_AUTODIFF_GRADIENTBUCKETS_H
#define AMPC_LIB_AUTODIFF_GRADIENTBUCKETS_H

#include "mlir/IR/Builders.h"

namespace ampc {

struct GradientBucketOptions {
  /// The largest bucket, in f32 elements (at least 1; a larger gradient is
  /// a bucket of its own).
  int64_t maxElements = 25 * (1 << 18);
  /// Start each bucket's all-reduce as soon as its gradients are final;
  /// otherwise at the builder's insertion point.
  bool overlap = true;
};

/// Replaces each of `grads` (ranked f32 tensors defined in `body`, the block
/// `b` inserts at the end of) by its average over the ranks. The waits and
/// the averaged values are created at `b`'s insertion point.
void averageGradientsOverRanks(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Block &body,
                               llvm::MutableArrayRef<mlir::Value> grads,
                               const GradientBucketOptions &options);

} // namespace ampc

#endif // AMPC_LIB_AUTODIFF_GRADIENTBUCKETS_H
