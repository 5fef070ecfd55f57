//===- ImporterCore.cpp - values, attributes and building blocks ----------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace ampc;
using namespace ampc::onnx_import;

RankedTensorType ampc::onnx_import::tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

ArrayRef<int64_t> ampc::onnx_import::shapeOf(Value value) {
  return tensorType(value).getShape();
}

FailureOr<int64_t> ampc::onnx_import::normalizeAxis(Importer &importer,
                                                    const Node &node,
                                                    int64_t axis,
                                                    int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return importer.fail(node, "axis " + std::to_string(axis) +
                                   " is out of range for a " +
                                   std::to_string(rank) + "-D input");
  return axis < 0 ? axis + rank : axis;
}

LogicalResult Importer::fail(const Node &node, const llvm::Twine &message) {
  errors += node.describe() + ": " + message.str() + "\n";
  return failure();
}

FailureOr<Value> Importer::lookup(const std::string &name) {
  auto it = values.find(name);
  if (it != values.end())
    return it->second;
  auto constantIt = constants.find(name);
  if (constantIt == constants.end() || !constantIt->second.isFloat())
    return failure();
  const onnx_graph::Tensor &tensor = constantIt->second;
  auto type = RankedTensorType::get(tensor.dims, builder.getF32Type());
  auto attr = DenseElementsAttr::get(type, llvm::ArrayRef(tensor.floats));
  Value value = arith::ConstantOp::create(builder, loc(), type, attr);
  values[name] = value;
  return value;
}

bool Importer::isUsed(const std::string &name) const {
  return llvm::any_of(graph.nodes,
                      [&](const Node &user) {
                        return llvm::is_contained(user.inputs, name);
                      }) ||
         llvm::any_of(graph.outputs, [&](const onnx_graph::ValueInfo &output) {
           return output.name == name;
         });
}

FailureOr<Value> Importer::input(const Node &node, size_t index) {
  if (!hasInput(node, index))
    return fail(node, "input #" + std::to_string(index) + " is missing");
  FailureOr<Value> value = lookup(node.inputs[index]);
  if (failed(value)) {
    auto constantIt = constants.find(node.inputs[index]);
    std::string why =
        constantIt != constants.end()
            ? "is an integer tensor (" +
                  onnx_graph::elementTypeName(constantIt->second.elementType) +
                  "); the importer computes on float tensors"
            : "is not a float tensor the importer computed";
    return fail(node, "input #" + std::to_string(index) + " ('" +
                          node.inputs[index] + "') " + why);
  }
  return value;
}

const onnx_graph::Tensor *Importer::constant(const Node &node,
                                             size_t index) const {
  if (!hasInput(node, index))
    return nullptr;
  auto it = constants.find(node.inputs[index]);
  return it == constants.end() ? nullptr : &it->second;
}

FailureOr<std::vector<int64_t>> Importer::constantInts(const Node &node,
                                                       size_t index) {
  const onnx_graph::Tensor *tensor = constant(node, index);
  if (!tensor || tensor->isFloat())
    return fail(node,
                "input #" + std::to_string(index) +
                    (hasInput(node, index) ? " ('" + node.inputs[index] + "')"
                                           : std::string()) +
                    " must be a constant integer tensor (an "
                    "initializer, a Constant, or computed from static "
                    "shapes)");
  return tensor->ints;
}

int64_t Importer::intAttr(const Node &node, llvm::StringRef name,
                          int64_t fallback) const {
  auto it = node.attributes.find(name.str());
  return it == node.attributes.end() ? fallback : it->second.i;
}

float Importer::floatAttr(const Node &node, llvm::StringRef name,
                          float fallback) const {
  auto it = node.attributes.find(name.str());
  return it == node.attributes.end() ? fallback : it->second.f;
}

std::string Importer::stringAttr(const Node &node, llvm::StringRef name,
                                 llvm::StringRef fallback) const {
  auto it = node.attributes.find(name.str());
  return it == node.attributes.end() ? fallback.str() : it->second.s;
}

std::optional<std::vector<int64_t>>
Importer::intsAttr(const Node &node, llvm::StringRef name) const {
  auto it = node.attributes.find(name.str());
  if (it == node.attributes.end())
    return std::nullopt;
  return it->second.ints;
}

Value Importer::filled(ArrayRef<int64_t> shape, double value) {
  Type f32 = builder.getF32Type();
  Value empty = tensor::EmptyOp::create(builder, loc(), shape, f32);
  Value fill =
      arith::ConstantOp::create(builder, loc(), builder.getF32FloatAttr(value));
  return linalg::FillOp::create(builder, loc(), fill, empty).getResult(0);
}

Value Importer::pad(Value input, ArrayRef<int64_t> low, ArrayRef<int64_t> high,
                    double value) {
  ArrayRef<int64_t> s = shapeOf(input);
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> offsets, sizes, strides;
  for (size_t d = 0; d < s.size(); ++d) {
    shape.push_back(s[d] + low[d] + high[d]);
    offsets.push_back(builder.getIndexAttr(low[d]));
    sizes.push_back(builder.getIndexAttr(s[d]));
    strides.push_back(builder.getIndexAttr(1));
  }
  if (ArrayRef<int64_t>(shape) == s)
    return input;
  return tensor::InsertSliceOp::create(
      builder, loc(), input, filled(shape, value), offsets, sizes, strides);
}

Value Importer::scaled(Value input, double factor) {
  return elementwise({input}, shapeOf(input),
                     [factor](OpBuilder &b, Location l, ValueRange v) -> Value {
                       Value c = arith::ConstantOp::create(
                           b, l, b.getF32FloatAttr(factor));
                       return arith::MulFOp::create(b, l, v[0], c);
                     });
}

Value Importer::transpose(Value input, ArrayRef<int64_t> perm) {
  ArrayRef<int64_t> s = shapeOf(input);
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(s[p]);
  Value init =
      tensor::EmptyOp::create(builder, loc(), shape, builder.getF32Type());
  return linalg::TransposeOp::create(builder, loc(), input, init, perm)
      .getResult()[0];
}

Value Importer::elementwise(ValueRange inputs, ArrayRef<int64_t> shape,
                            const BodyFn &body) {
  MLIRContext *context = builder.getContext();
  int64_t rank = shape.size();
  SmallVector<AffineMap> maps;
  SmallVector<Value> operands;
  for (Value input : inputs) {
    // A broadcast dimension (1 where the result has more) is dropped from
    // the operand, so that every map is a projected permutation (what
    // autodiff and vectorization read).
    ArrayRef<int64_t> inputShape = shapeOf(input);
    int64_t offset = rank - int64_t(inputShape.size());
    SmallVector<AffineExpr> exprs;
    SmallVector<int64_t> kept;
    for (auto [j, size] : llvm::enumerate(inputShape)) {
      if (size == 1 && shape[j + offset] != 1)
        continue;
      exprs.push_back(getAffineDimExpr(j + offset, context));
      kept.push_back(size);
    }
    operands.push_back(reshape(input, kept));
    maps.push_back(AffineMap::get(rank, 0, exprs, context));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, context));
  Value init =
      tensor::EmptyOp::create(builder, loc(), shape, builder.getF32Type());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, loc(), TypeRange{init.getType()}, operands, ValueRange{init},
      maps, iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(b, l, body(b, l, args.drop_back()));
      });
  return generic.getResult(0);
}

Value Importer::reduce(Value input, ArrayRef<int64_t> axes, double init,
                       const BodyFn &combine) {
  MLIRContext *context = builder.getContext();
  ArrayRef<int64_t> shape = shapeOf(input);
  int64_t rank = shape.size();
  SmallVector<int64_t> resultShape;
  SmallVector<AffineExpr> resultExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
    if (!reduced) {
      resultShape.push_back(shape[d]);
      resultExprs.push_back(getAffineDimExpr(d, context));
    }
  }
  Value acc = filled(resultShape, init);
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(rank, context),
      AffineMap::get(rank, 0, resultExprs, context)};
  auto generic = linalg::GenericOp::create(
      builder, loc(), TypeRange{acc.getType()}, ValueRange{input},
      ValueRange{acc}, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(b, l, combine(b, l, args));
      });
  return generic.getResult(0);
}

Value Importer::reshape(Value input, ArrayRef<int64_t> shape) {
  RankedTensorType source = tensorType(input);
  if (source.getShape() == shape)
    return input;
  auto target = RankedTensorType::get(shape, source.getElementType());
  if (source.getRank() > target.getRank() && target.getRank() > 0) {
    if (auto groups =
            getReassociationIndicesForCollapse(source.getShape(), shape))
      return tensor::CollapseShapeOp::create(builder, loc(), target, input,
                                             *groups);
  } else if (source.getRank() < target.getRank() && source.getRank() > 0) {
    if (auto groups =
            getReassociationIndicesForCollapse(shape, source.getShape()))
      return tensor::ExpandShapeOp::create(builder, loc(), target, input,
                                           *groups);
  }
  // Through one dimension (or none, for one element).
  int64_t count = source.getNumElements();
  SmallVector<int64_t> flatShape =
      (count == 1) ? SmallVector<int64_t>{} : SmallVector<int64_t>{count};
  auto flatType = RankedTensorType::get(flatShape, source.getElementType());
  auto allIn = [](int64_t rank) {
    SmallVector<ReassociationIndices> groups;
    if (rank > 0)
      groups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, rank)));
    return groups;
  };
  Value flat = input;
  if (source.getShape() != ArrayRef<int64_t>(flatShape))
    flat = tensor::CollapseShapeOp::create(
        builder, loc(), flatType, input,
        count == 1 ? SmallVector<ReassociationIndices>{}
                   : allIn(source.getRank()));
  if (ArrayRef<int64_t>(flatShape) == shape)
    return flat;
  return tensor::ExpandShapeOp::create(builder, loc(), target, flat,
                                       count == 1
                                           ? SmallVector<ReassociationIndices>{}
                                           : allIn(target.getRank()));
}
