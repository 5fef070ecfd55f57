//===- GradientBuckets.cpp - gradients averaged over the ranks ------------===//

#include "GradientBuckets.h"

#include "ampc/Dialect/Amp/IR/Amp.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace ampc::amp;

namespace {

/// One bucket: the indices of its gradients (into the caller's list), and
/// once started, its request and in-flight tensor.
struct Bucket {
  SmallVector<size_t> members;
  AllReduceStartOp start;
};

/// Gradients grouped in reverse order into buckets of at most `limit`
/// elements; a gradient of a dynamic shape is a bucket of its own.
SmallVector<Bucket> groupBuckets(ArrayRef<Value> grads, int64_t limit) {
  SmallVector<Bucket> buckets;
  int64_t elements = 0;
  for (size_t i = grads.size(); i-- > 0;) {
    auto type = cast<RankedTensorType>(grads[i].getType());
    bool fixed = type.hasStaticShape();
    bool fits = !buckets.empty() && fixed && elements > 0 &&
                elements + type.getNumElements() <= limit;
    if (!fits) {
      buckets.emplace_back();
      elements = 0;
    }
    buckets.back().members.push_back(i);
    // A dynamic gradient closes its bucket (elements 0: nothing joins it).
    elements = fixed ? elements + type.getNumElements() : 0;
  }
  return buckets;
}

/// The op of `body` after which every gradient of `bucket` is defined (null:
/// the start of the block).
Operation *lastDefinition(Block &body, ArrayRef<Value> grads,
                          const Bucket &bucket) {
  Operation *last = nullptr;
  for (size_t i : bucket.members) {
    Operation *def = grads[i].getDefiningOp();
    Operation *op = def ? body.findAncestorOpInBlock(*def) : nullptr;
    if (op && (!last || last->isBeforeInBlock(op)))
      last = op;
  }
  return last;
}

RankedTensorType flatType(RankedTensorType type) {
  return RankedTensorType::get({type.getNumElements()}, type.getElementType());
}

SmallVector<ReassociationIndices> allDims(RankedTensorType type) {
  if (type.getRank() == 0)
    return {};
  return {llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()))};
}

/// The bucket's tensor: a lone gradient as it is, several flattened and
/// concatenated.
Value bucketTensor(OpBuilder &b, Location loc, ArrayRef<Value> grads,
                   const Bucket &bucket) {
  if (bucket.members.size() == 1)
    return grads[bucket.members[0]];
  SmallVector<Value> flat;
  for (size_t i : bucket.members) {
    auto type = cast<RankedTensorType>(grads[i].getType());
    if (type.getRank() == 1)
      flat.push_back(grads[i]);
    else if (type.getRank() == 0)
      flat.push_back(tensor::ExpandShapeOp::create(b, loc, flatType(type),
                                                   grads[i], allDims(type)));
    else
      flat.push_back(tensor::CollapseShapeOp::create(b, loc, flatType(type),
                                                     grads[i], allDims(type)));
  }
  return tensor::ConcatOp::create(b, loc, 0, flat);
}

/// The averaged gradients, sliced out of the bucket's combined tensor.
void unpackBucket(OpBuilder &b, Location loc, Value reduced,
                  MutableArrayRef<Value> grads, const Bucket &bucket) {
  if (bucket.members.size() == 1) {
    grads[bucket.members[0]] = reduced;
    return;
  }
  int64_t offset = 0;
  for (size_t i : bucket.members) {
    auto type = cast<RankedTensorType>(grads[i].getType());
    int64_t n = type.getNumElements();
    Value piece = tensor::ExtractSliceOp::create(
        b, loc, reduced, ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    offset += n;
    if (type.getRank() == 0)
      grads[i] =
          tensor::CollapseShapeOp::create(b, loc, type, piece, allDims(type));
    else if (type.getRank() == 1)
      grads[i] = piece;
    else
      grads[i] =
          tensor::ExpandShapeOp::create(b, loc, type, piece, allDims(type));
  }
}

} // namespace

void ampc::averageGradientsOverRanks(OpBuilder &b, Location loc, Block &body,
                                     MutableArrayRef<Value> grads,
                                     const GradientBucketOptions &options) {
  SmallVector<Bucket> buckets =
      groupBuckets(grads, std::max<int64_t>(1, options.maxElements));
  OpBuilder::InsertPoint waits = b.saveInsertionPoint();
  for (Bucket &bucket : buckets) {
    if (options.overlap) {
      Operation *after = lastDefinition(body, grads, bucket);
      if (after)
        b.setInsertionPointAfter(after);
      else
        b.setInsertionPointToStart(&body);
    }
    Value tensor = bucketTensor(b, loc, grads, bucket);
    bucket.start = AllReduceStartOp::create(b, loc, tensor.getType(),
                                            b.getType<RequestType>(),
                                            ReduceKind::mean, tensor);
  }
  b.restoreInsertionPoint(waits);
  for (Bucket &bucket : buckets) {
    Value reduced = AllReduceWaitOp::create(
                        b, loc, bucket.start.getInFlight().getType(),
                        bucket.start.getRequest(), bucket.start.getInFlight())
                        .getResult();
    unpackBucket(b, loc, reduced, grads, bucket);
  }
}
