//===- ShapeOps.cpp - reshapes, transposes, slices, concatenation, padding ===//

#include "OnnxOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace ampc;
using namespace ampc::onnx_import;

namespace {

LogicalResult defineReshaped(Importer &im, const Node &node, Value x,
                             ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  if (count != tensorType(x).getNumElements())
    return im.fail(node, "the new shape has " + std::to_string(count) +
                             " elements, the input " +
                             std::to_string(tensorType(x).getNumElements()));
  im.define(node.outputs[0], im.reshape(x, shape));
  return success();
}

LogicalResult flatten(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> s = shapeOf(*x);
  int64_t axis = im.intAttr(node, "axis", 1);
  if (axis < 0)
    axis += s.size();
  if (axis < 0 || axis > int64_t(s.size()))
    return im.fail(node, "axis is out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < int64_t(s.size()); ++d)
    (d < axis ? outer : inner) *= s[d];
  return defineReshaped(im, node, *x, {outer, inner});
}

/// ONNX's target shape: 0 copies the input's dimension (unless allowzero),
/// -1 takes what is left.
LogicalResult reshape(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  FailureOr<std::vector<int64_t>> target = im.constantInts(node, 1);
  if (failed(x) || failed(target))
    return failure();
  ArrayRef<int64_t> s = shapeOf(*x);
  bool allowZero = im.intAttr(node, "allowzero", 0);
  SmallVector<int64_t> shape;
  int64_t known = 1, inferred = -1;
  for (auto [i, d] : llvm::enumerate(*target)) {
    int64_t size = d;
    if (d == 0 && !allowZero) {
      if (i >= s.size())
        return im.fail(node, "a 0 in the shape has no input dimension");
      size = s[i];
    }
    if (size == -1) {
      if (inferred >= 0)
        return im.fail(node, "the shape has two -1s");
      inferred = i;
    } else if (size < 0) {
      return im.fail(node, "the shape has a negative size");
    } else {
      known *= size;
    }
    shape.push_back(size);
  }
  if (inferred >= 0)
    shape[inferred] = known ? tensorType(*x).getNumElements() / known : 0;
  return defineReshaped(im, node, *x, shape);
}

/// Squeeze (remove = true) or Unsqueeze with axes as input #1.
LogicalResult squeeze(Importer &im, const Node &node, bool remove) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  std::vector<int64_t> axes;
  if (Importer::hasInput(node, 1)) {
    FailureOr<std::vector<int64_t>> given = im.constantInts(node, 1);
    if (failed(given))
      return failure();
    axes = *given;
  }
  SmallVector<int64_t> s(shapeOf(*x));
  int64_t rank = remove ? s.size() : s.size() + axes.size();
  SmallVector<bool> marked(rank, false);
  for (int64_t axis : axes) {
    FailureOr<int64_t> a = normalizeAxis(im, node, axis, rank);
    if (failed(a))
      return failure();
    marked[*a] = true;
  }
  SmallVector<int64_t> shape;
  if (remove) {
    for (int64_t d = 0; d < rank; ++d) {
      if ((marked[d] || axes.empty()) && s[d] == 1)
        continue;
      if (marked[d])
        return im.fail(node, "dimension " + std::to_string(d) + " is not 1");
      shape.push_back(s[d]);
    }
  } else {
    size_t next = 0;
    for (int64_t d = 0; d < rank; ++d)
      shape.push_back(marked[d] ? 1 : s[next++]);
  }
  return defineReshaped(im, node, *x, shape);
}

LogicalResult transpose(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> s = shapeOf(*x);
  SmallVector<int64_t> perm;
  if (auto attr = im.intsAttr(node, "perm"))
    perm.assign(attr->begin(), attr->end());
  else
    for (int64_t d = s.size() - 1; d >= 0; --d)
      perm.push_back(d);
  SmallVector<int64_t> sorted(perm);
  llvm::sort(sorted);
  if (sorted != llvm::to_vector(llvm::seq<int64_t>(0, s.size())))
    return im.fail(node, "perm is not a permutation of the dimensions");
  im.define(node.outputs[0], im.transpose(*x, perm));
  return success();
}

LogicalResult concat(Importer &im, const Node &node) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    FailureOr<Value> x = im.input(node, i);
    if (failed(x))
      return failure();
    inputs.push_back(*x);
  }
  if (inputs.empty())
    return im.fail(node, "no inputs");
  int64_t rank = tensorType(inputs[0]).getRank();
  FailureOr<int64_t> axis =
      normalizeAxis(im, node, im.intAttr(node, "axis", 0), rank);
  if (failed(axis))
    return failure();
  for (Value x : inputs)
    for (int64_t d = 0; d < rank; ++d)
      if (d != *axis && shapeOf(x)[d] != shapeOf(inputs[0])[d])
        return im.fail(node,
                       "the inputs differ in dimension " + std::to_string(d));
  Value y = inputs.size() == 1
                ? inputs[0]
                : tensor::ConcatOp::create(im.builder, im.loc(), *axis, inputs)
                      .getResult();
  im.define(node.outputs[0], y);
  return success();
}

/// `x` sliced along `axis` from `start` by `step`, `size` elements.
Value sliceAlong(Importer &im, Value x, int64_t axis, int64_t start,
                 int64_t size, int64_t step) {
  ArrayRef<int64_t> s = shapeOf(x);
  OpBuilder &b = im.builder;
  SmallVector<OpFoldResult> offsets(s.size(), b.getIndexAttr(0)), sizes,
      strides(s.size(), b.getIndexAttr(1));
  for (int64_t d : s)
    sizes.push_back(b.getIndexAttr(d));
  offsets[axis] = b.getIndexAttr(start);
  sizes[axis] = b.getIndexAttr(size);
  strides[axis] = b.getIndexAttr(step);
  return tensor::ExtractSliceOp::create(b, im.loc(), x, offsets, sizes,
                                        strides);
}

LogicalResult slice(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  FailureOr<std::vector<int64_t>> starts = im.constantInts(node, 1),
                                  ends = im.constantInts(node, 2);
  if (failed(x) || failed(starts) || failed(ends))
    return failure();
  ArrayRef<int64_t> s = shapeOf(*x);
  std::vector<int64_t> axes, steps(starts->size(), 1);
  for (size_t i = 0; i < starts->size(); ++i)
    axes.push_back(i);
  for (auto [index, into] : {std::pair{3, &axes}, std::pair{4, &steps}})
    if (Importer::hasInput(node, index)) {
      FailureOr<std::vector<int64_t>> given = im.constantInts(node, index);
      if (failed(given))
        return failure();
      *into = *given;
    }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return im.fail(node, "starts, ends, axes and steps differ in length");
  Value y = *x;
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> axis = normalizeAxis(im, node, axes[i], s.size());
    if (failed(axis))
      return failure();
    if (steps[i] < 1)
      return im.fail(node, "only positive steps are supported");
    int64_t dim = s[*axis];
    auto clampIndex = [dim](int64_t v) {
      if (v < 0)
        v += dim;
      return std::clamp<int64_t>(v, 0, dim);
    };
    int64_t start = clampIndex((*starts)[i]), end = clampIndex((*ends)[i]);
    int64_t size = end > start ? (end - start + steps[i] - 1) / steps[i] : 0;
    if (size == 0)
      return im.fail(node, "the slice of dimension " + std::to_string(*axis) +
                               " is empty");
    y = sliceAlong(im, y, *axis, start, size, steps[i]);
  }
  im.define(node.outputs[0], y);
  return success();
}

/// Gather of computed data at constant indices (a scalar or a list).
LogicalResult gather(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  const onnx_graph::Tensor *indices = im.constant(node, 1);
  if (failed(x))
    return failure();
  if (!indices || indices->isFloat() || indices->dims.size() > 1)
    return im.fail(node, "the indices must be a constant integer scalar or "
                         "list");
  ArrayRef<int64_t> s = shapeOf(*x);
  FailureOr<int64_t> axis =
      normalizeAxis(im, node, im.intAttr(node, "axis", 0), s.size());
  if (failed(axis))
    return failure();
  SmallVector<Value> pieces;
  for (int64_t index : indices->ints) {
    if (index < -s[*axis] || index >= s[*axis])
      return im.fail(node,
                     "index " + std::to_string(index) + " is out of range");
    int64_t at = index < 0 ? index + s[*axis] : index;
    pieces.push_back(sliceAlong(im, *x, *axis, at, 1, 1));
  }
  Value y = pieces.size() == 1
                ? pieces[0]
                : tensor::ConcatOp::create(im.builder, im.loc(), *axis, pieces)
                      .getResult();
  if (indices->dims.empty()) { // A scalar index drops the dimension.
    SmallVector<int64_t> shape(s);
    shape.erase(shape.begin() + *axis);
    y = im.reshape(y, shape);
  }
  im.define(node.outputs[0], y);
  return success();
}

LogicalResult pad(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  FailureOr<std::vector<int64_t>> pads = im.constantInts(node, 1);
  if (failed(x) || failed(pads))
    return failure();
  if (im.stringAttr(node, "mode", "constant") != "constant")
    return im.fail(node, "only mode 'constant' is supported");
  ArrayRef<int64_t> s = shapeOf(*x);
  if (pads->size() != 2 * s.size() || Importer::hasInput(node, 3))
    return im.fail(node, "pads must cover every dimension (no axes input)");
  double value = 0.0;
  if (Importer::hasInput(node, 2)) {
    const onnx_graph::Tensor *c = im.constant(node, 2);
    if (!c || !c->isFloat() || c->floats.size() != 1)
      return im.fail(node, "the pad value must be a constant float scalar");
    value = c->floats[0];
  }
  SmallVector<int64_t> low, high;
  for (size_t d = 0; d < s.size(); ++d) {
    low.push_back((*pads)[d]);
    high.push_back((*pads)[d + s.size()]);
    if (low.back() < 0 || high.back() < 0)
      return im.fail(node, "negative pads are not supported");
  }
  im.define(node.outputs[0], im.pad(*x, low, high, value));
  return success();
}

LogicalResult expand(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  FailureOr<std::vector<int64_t>> target = im.constantInts(node, 1);
  if (failed(x) || failed(target))
    return failure();
  FailureOr<SmallVector<int64_t>> shape = broadcastShape(shapeOf(*x), *target);
  if (failed(shape))
    return im.fail(node, "the shape does not broadcast with the input's");
  im.define(node.outputs[0], im.elementwise({*x}, *shape,
                                            [](OpBuilder &, Location,
                                               ValueRange v) { return v[0]; }));
  return success();
}

} // namespace

void ampc::onnx_import::registerShapeOps(HandlerTable &table) {
  table["Flatten"] = flatten;
  table["Reshape"] = reshape;
  table["Squeeze"] = bound<squeeze, true>;
  table["Unsqueeze"] = bound<squeeze, false>;
  table["Transpose"] = transpose;
  table["Concat"] = concat;
  table["Slice"] = slice;
  table["Gather"] = gather;
  table["Pad"] = pad;
  table["Expand"] = expand;
}

static const HandlerTable &handlers() {
  static const HandlerTable table = [] {
    HandlerTable t;
    registerElementwiseOps(t);
    registerStructuredOps(t);
    registerShapeOps(t);
    return t;
  }();
  return table;
}

Handler ampc::onnx_import::findHandler(llvm::StringRef opType) {
  auto it = handlers().find(opType.str());
  return it == handlers().end() ? nullptr : it->second;
}

std::string ampc::onnx_import::supportedOps() {
  std::vector<std::string> names = {"Constant", "Shape", "ConstantOfShape"};
  for (const auto &entry : handlers())
    names.push_back(entry.first);
  llvm::sort(names);
  std::string text;
  for (const std::string &name : names)
    text += (text.empty() ? "" : ", ") + name;
  return text;
}
