//===- ElementwiseOps.cpp - unary, binary and normalization operators -----===//

#include "OnnxOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace ampc;
using namespace ampc::onnx_import;

namespace {

Value constantLike(OpBuilder &b, Location l, double value) {
  return arith::ConstantOp::create(b, l, b.getF32FloatAttr(value));
}

LogicalResult unary(Importer &im, const Node &node,
                    const Importer::BodyFn &body) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  im.define(node.outputs[0], im.elementwise({*x}, shapeOf(*x), body));
  return success();
}

template <typename OpTy>
LogicalResult simpleUnary(Importer &im, const Node &node) {
  return unary(im, node, [](OpBuilder &b, Location l, ValueRange v) -> Value {
    return OpTy::create(b, l, v[0]);
  });
}

LogicalResult relu(Importer &im, const Node &node) {
  return unary(im, node, [](OpBuilder &b, Location l, ValueRange v) -> Value {
    return arith::MaximumFOp::create(b, l, v[0], constantLike(b, l, 0.0));
  });
}

LogicalResult leakyRelu(Importer &im, const Node &node) {
  double alpha = im.floatAttr(node, "alpha", 0.01f);
  return unary(
      im, node, [alpha](OpBuilder &b, Location l, ValueRange v) -> Value {
        Value positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                               v[0], constantLike(b, l, 0.0));
        Value scaled =
            arith::MulFOp::create(b, l, v[0], constantLike(b, l, alpha));
        return arith::SelectOp::create(b, l, positive, v[0], scaled);
      });
}

LogicalResult sigmoid(Importer &im, const Node &node) {
  return unary(im, node, [](OpBuilder &b, Location l, ValueRange v) -> Value {
    Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, v[0]));
    Value d = arith::AddFOp::create(b, l, constantLike(b, l, 1.0), e);
    return arith::DivFOp::create(b, l, constantLike(b, l, 1.0), d);
  });
}

LogicalResult reciprocal(Importer &im, const Node &node) {
  return unary(im, node, [](OpBuilder &b, Location l, ValueRange v) -> Value {
    return arith::DivFOp::create(b, l, constantLike(b, l, 1.0), v[0]);
  });
}

LogicalResult clip(Importer &im, const Node &node) {
  std::optional<double> low, high;
  for (size_t i : {1, 2}) {
    if (!Importer::hasInput(node, i))
      continue;
    const onnx_graph::Tensor *bound = im.constant(node, i);
    if (!bound || !bound->isFloat() || bound->floats.size() != 1)
      return im.fail(node, "the bounds must be constant float scalars");
    (i == 1 ? low : high) = bound->floats[0];
  }
  return unary(im, node, [=](OpBuilder &b, Location l, ValueRange v) {
    Value r = v[0];
    if (low)
      r = arith::MaximumFOp::create(b, l, r, constantLike(b, l, *low));
    if (high)
      r = arith::MinimumFOp::create(b, l, r, constantLike(b, l, *high));
    return r;
  });
}

LogicalResult binary(Importer &im, const Node &node,
                     const Importer::BodyFn &body) {
  FailureOr<Value> a = im.input(node, 0), b = im.input(node, 1);
  if (failed(a) || failed(b))
    return failure();
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShape(shapeOf(*a), shapeOf(*b));
  if (failed(shape))
    return im.fail(node, "the input shapes do not broadcast");
  im.define(node.outputs[0], im.elementwise({*a, *b}, *shape, body));
  return success();
}

template <typename OpTy>
LogicalResult simpleBinary(Importer &im, const Node &node) {
  return binary(im, node, [](OpBuilder &b, Location l, ValueRange v) -> Value {
    return OpTy::create(b, l, v[0], v[1]);
  });
}

/// x^c for a constant c: squares and square roots as such.
LogicalResult power(Importer &im, const Node &node) {
  const onnx_graph::Tensor *exponent = im.constant(node, 1);
  if (!exponent || exponent->numElements() != 1)
    return simpleBinary<math::PowFOp>(im, node);
  double c =
      exponent->isFloat() ? exponent->floats[0] : double(exponent->ints[0]);
  return unary(im, node, [c](OpBuilder &b, Location l, ValueRange v) -> Value {
    if (c == 1.0)
      return v[0];
    if (c == 2.0)
      return arith::MulFOp::create(b, l, v[0], v[0]);
    if (c == 0.5)
      return math::SqrtOp::create(b, l, v[0]);
    return math::PowFOp::create(b, l, v[0], constantLike(b, l, c));
  });
}

LogicalResult identity(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  im.define(node.outputs[0], *x);
  return success();
}

/// murmur3's 32-bit finalizer: every input bit flips each output bit with
/// probability about 1/2.
Value mix32(OpBuilder &b, Location l, Value h) {
  Type i32 = b.getI32Type();
  auto c = [&](uint32_t v) {
    return arith::ConstantOp::create(b, l, b.getIntegerAttr(i32, int32_t(v)));
  };
  auto xorShift = [&](Value x, uint32_t s) {
    return arith::XOrIOp::create(b, l, x,
                                 arith::ShRUIOp::create(b, l, x, c(s)));
  };
  h = arith::MulIOp::create(b, l, xorShift(h, 16), c(0x85EBCA6Bu));
  h = arith::MulIOp::create(b, l, xorShift(h, 13), c(0xC2B2AE35u));
  return xorShift(h, 16);
}

/// The keep mask of a training-mode Dropout: for the element at row-major
/// position i of `shape`, in the step numbered `step` (a float counter),
///   h = mix32(i xor mix32(step xor seed)),  u = (h >> 8) / 2^24,
///   mask = u >= ratio ? 1 / (1 - ratio) : 0.
/// A function of (seed, step, position) only: the same on every target and
/// thread count, and reproducible from a checkpoint (the step is a buffer).
Value dropoutMask(Importer &im, Value step, ArrayRef<int64_t> shape,
                  uint32_t seed, double ratio) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return im.elementwise(
      {step}, shape, [&](OpBuilder &b, Location l, ValueRange v) -> Value {
        Type i32 = b.getI32Type();
        Value position = arith::ConstantIndexOp::create(b, l, 0);
        for (auto [d, stride] : llvm::enumerate(strides)) {
          Value index = linalg::IndexOp::create(b, l, d);
          Value scaled = arith::MulIOp::create(
              b, l, index, arith::ConstantIndexOp::create(b, l, stride));
          position = arith::AddIOp::create(b, l, position, scaled);
        }
        position = arith::IndexCastUIOp::create(b, l, i32, position);
        Value count = arith::FPToUIOp::create(b, l, i32, v[0]);
        Value seeded = arith::XOrIOp::create(
            b, l, count,
            arith::ConstantOp::create(b, l,
                                      b.getIntegerAttr(i32, int32_t(seed))));
        Value h = mix32(
            b, l, arith::XOrIOp::create(b, l, position, mix32(b, l, seeded)));
        Value bits = arith::ShRUIOp::create(
            b, l, h, arith::ConstantOp::create(b, l, b.getIntegerAttr(i32, 8)));
        Value u = arith::MulFOp::create(
            b, l, arith::UIToFPOp::create(b, l, b.getF32Type(), bits),
            constantLike(b, l, 1.0 / 16777216.0));
        Value keep = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGE, u,
                                           constantLike(b, l, ratio));
        return arith::SelectOp::create(b, l, keep,
                                       constantLike(b, l, 1.0 / (1.0 - ratio)),
                                       constantLike(b, l, 0.0));
      });
}

/// The next value of the step counter: step + 1, wrapping at 2^24 (where
/// f32 stops counting exactly).
Value nextDropoutStep(Importer &im, Value step) {
  return im.elementwise(
      {step}, shapeOf(step), [](OpBuilder &b, Location l, ValueRange v) {
        Value next = arith::AddFOp::create(b, l, v[0], constantLike(b, l, 1));
        Value wraps =
            arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGE, next,
                                  constantLike(b, l, 16777216.0));
        return arith::SelectOp::create(b, l, wraps, constantLike(b, l, 0), next)
            .getResult();
      });
}

/// FNV-1a of a node's first output: its Dropout's seed.
uint32_t nodeSeed(const Node &node) {
  uint32_t h = 2166136261u;
  for (unsigned char c : node.outputs[0])
    h = (h ^ c) * 16777619u;
  return h;
}

/// Dropout: identity in evaluation (@forward, or training_mode false);
/// in @forward_train with training_mode true, x times dropoutMask.
LogicalResult dropout(Importer &im, const Node &node) {
  if (Importer::hasInput(node, 2) && !im.constant(node, 2))
    return im.fail(node, "training_mode must be a constant");
  if (node.outputs.size() > 1 && !node.outputs[1].empty() &&
      im.isUsed(node.outputs[1]))
    return im.fail(node, "the mask output is used; it is not supported");
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  if (!im.training || !isTrainingNode(im.graph, node))
    return im.define(node.outputs[0], *x), success();
  double ratio = 0.5;
  if (Importer::hasInput(node, 1)) {
    const onnx_graph::Tensor *given = im.constant(node, 1);
    if (!given || given->floats.size() != 1)
      return im.fail(node, "the ratio must be a constant scalar");
    ratio = given->floats[0];
  }
  if (!(ratio >= 0.0 && ratio < 1.0))
    return im.fail(node,
                   "the ratio must be in [0, 1), got " + std::to_string(ratio));
  if (ratio == 0.0)
    return im.define(node.outputs[0], *x), success();
  Value mask =
      dropoutMask(im, im.dropoutStep, shapeOf(*x), nodeSeed(node), ratio);
  im.define(
      node.outputs[0],
      im.elementwise(
          {*x, mask}, shapeOf(*x), [](OpBuilder &b, Location l, ValueRange v) {
            return arith::MulFOp::create(b, l, v[0], v[1]).getResult();
          }));
  if (!im.dropoutStepUpdated) {
    im.bufferUpdates.push_back({"", nextDropoutStep(im, im.dropoutStep)});
    im.dropoutStepUpdated = true;
  }
  return success();
}

LogicalResult cast(Importer &im, const Node &node) {
  int64_t to = im.intAttr(node, "to", 0);
  if (to != onnx_graph::kFloat)
    return im.fail(node, "a cast of computed data to " +
                             onnx_graph::elementTypeName(to) +
                             " is not supported (only to float)");
  return identity(im, node);
}

/// A generic over `x` [N, C, ...] with per-channel operands [C].
Value channelwise(Importer &im, Value x, ValueRange perChannel,
                  const Importer::BodyFn &body) {
  MLIRContext *context = im.builder.getContext();
  int64_t rank = tensorType(x).getRank();
  AffineMap identityMap = AffineMap::getMultiDimIdentityMap(rank, context);
  AffineMap channel = AffineMap::get(rank, 0, getAffineDimExpr(1, context));
  SmallVector<AffineMap> maps = {identityMap};
  maps.append(perChannel.size(), channel);
  maps.push_back(identityMap);
  SmallVector<Value> inputs = {x};
  llvm::append_range(inputs, perChannel);
  Value init = tensor::EmptyOp::create(im.builder, im.loc(), shapeOf(x),
                                       im.builder.getF32Type());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             im.builder, im.loc(), TypeRange{init.getType()}, inputs,
             ValueRange{init}, maps, iterators,
             [&](OpBuilder &b, Location l, ValueRange args) {
               linalg::YieldOp::create(b, l, body(b, l, args.drop_back()));
             })
      .getResult(0);
}

Value addf(OpBuilder &b, Location l, ValueRange v) {
  return arith::AddFOp::create(b, l, v[0], v[1]);
}

/// y = (x - mean) * scale / sqrt(var + eps) + bias per channel; `v` holds
/// x, scale, bias, mean, var.
Value normalizeChannels(OpBuilder &b, Location l, ValueRange v, double eps) {
  Value var = arith::AddFOp::create(b, l, v[4], constantLike(b, l, eps));
  Value inv = math::RsqrtOp::create(b, l, var);
  Value centered = arith::SubFOp::create(b, l, v[0], v[3]);
  Value scaled = arith::MulFOp::create(b, l, centered,
                                       arith::MulFOp::create(b, l, v[1], inv));
  return arith::AddFOp::create(b, l, scaled, v[2]);
}

/// The per-channel mean of `x` [N, C, ...] over every other dimension.
Value channelMean(Importer &im, Value x, double count) {
  SmallVector<int64_t> axes = {0};
  for (int64_t d = 2; d < tensorType(x).getRank(); ++d)
    axes.push_back(d);
  return im.scaled(im.reduce(x, axes, 0.0, addf), 1.0 / count);
}

/// Training: normalized by the batch's statistics; the running statistics
/// move towards them by `momentum` (running * momentum + batch * (1 -
/// momentum), the variance unbiased, as torch.nn.BatchNorm2d does).
LogicalResult batchNormTraining(Importer &im, const Node &node,
                                ArrayRef<Value> operands) {
  Value x = operands[0];
  ArrayRef<int64_t> shape = shapeOf(x);
  double count = 1, eps = im.floatAttr(node, "epsilon", 1e-5f),
         momentum = im.floatAttr(node, "momentum", 0.9f);
  for (size_t d = 0; d < shape.size(); ++d)
    if (d != 1)
      count *= shape[d];
  if (count < 2)
    return im.fail(node, "batch statistics need more than one value per "
                         "channel");
  Value mean = channelMean(im, x, count);
  Value squares =
      channelwise(im, x, {mean}, [](OpBuilder &b, Location l, ValueRange v) {
        Value d = arith::SubFOp::create(b, l, v[0], v[1]);
        return arith::MulFOp::create(b, l, d, d).getResult();
      });
  Value var = channelMean(im, squares, count);
  im.define(node.outputs[0],
            channelwise(im, x, {operands[1], operands[2], mean, var},
                        [eps](OpBuilder &b, Location l, ValueRange v) {
                          return normalizeChannels(b, l, v, eps);
                        }));
  double unbiased = count / (count - 1);
  for (auto [slot, batchValue, factor] :
       {std::tuple{3, mean, 1.0}, std::tuple{4, var, unbiased}}) {
    Value running = im.elementwise(
        {operands[slot], batchValue}, shapeOf(batchValue),
        [momentum, factor = factor](OpBuilder &b, Location l, ValueRange v) {
          Value kept =
              arith::MulFOp::create(b, l, v[0], constantLike(b, l, momentum));
          Value batch = arith::MulFOp::create(
              b, l, v[1], constantLike(b, l, (1.0 - momentum) * factor));
          return arith::AddFOp::create(b, l, kept, batch).getResult();
        });
    im.bufferUpdates.push_back({node.inputs[slot], running});
  }
  return success();
}

/// Evaluation: the running statistics; training (in @forward_train):
/// batchNormTraining.
LogicalResult batchNormalization(Importer &im, const Node &node) {
  SmallVector<Value> operands;
  for (size_t i = 0; i < 5; ++i) {
    FailureOr<Value> v = im.input(node, i);
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (tensorType(operands[0]).getRank() < 2)
    return im.fail(node, "the input must have a channel dimension");
  // Outputs past Y are the running statistics (read through the buffers)
  // or, in opset 13, the batch's (saved_mean, saved_var): not supported.
  for (size_t i = 3; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty() && im.isUsed(node.outputs[i]))
      return im.fail(node, "output #" + std::to_string(i) +
                               " (the batch statistics) is used; it is not "
                               "supported");
  if (im.training && isTrainingNode(im.graph, node))
    return batchNormTraining(im, node, operands);
  double eps = im.floatAttr(node, "epsilon", 1e-5f);
  im.define(node.outputs[0],
            channelwise(im, operands[0], ArrayRef(operands).drop_front(),
                        [eps](OpBuilder &b, Location l, ValueRange v) {
                          return normalizeChannels(b, l, v, eps);
                        }));
  return success();
}

/// Normalizes over the dimensions from `axis` on (opset 17).
LogicalResult layerNormalization(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0), scale = im.input(node, 1);
  if (failed(x) || failed(scale))
    return failure();
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty())
      return im.fail(node, "the Mean and InvStdDev outputs are not supported");
  ArrayRef<int64_t> shape = shapeOf(*x);
  FailureOr<int64_t> axis =
      normalizeAxis(im, node, im.intAttr(node, "axis", -1), shape.size());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> axes =
      llvm::to_vector(llvm::seq<int64_t>(*axis, shape.size()));
  SmallVector<int64_t> kept(shape.begin(), shape.end());
  double count = 1;
  for (int64_t a : axes) {
    count *= shape[a];
    kept[a] = 1;
  }
  double eps = im.floatAttr(node, "epsilon", 1e-5f);
  Value mean = im.reshape(im.reduce(*x, axes, 0.0, addf), kept);
  Value centered = im.elementwise(
      {*x, mean}, shape, [count](OpBuilder &b, Location l, ValueRange v) {
        Value m =
            arith::MulFOp::create(b, l, v[1], constantLike(b, l, 1.0 / count));
        return arith::SubFOp::create(b, l, v[0], m).getResult();
      });
  Value squares = im.elementwise(
      {centered}, shape, [](OpBuilder &b, Location l, ValueRange v) {
        return arith::MulFOp::create(b, l, v[0], v[0]).getResult();
      });
  Value var = im.reshape(im.reduce(squares, axes, 0.0, addf), kept);
  SmallVector<Value> operands = {centered, var, *scale};
  if (Importer::hasInput(node, 2)) {
    FailureOr<Value> bias = im.input(node, 2);
    if (failed(bias))
      return failure();
    operands.push_back(*bias);
  }
  bool hasBias = operands.size() == 4;
  Value y = im.elementwise(
      operands, shape, [=](OpBuilder &b, Location l, ValueRange v) -> Value {
        Value variance = arith::AddFOp::create(
            b, l,
            arith::MulFOp::create(b, l, v[1], constantLike(b, l, 1.0 / count)),
            constantLike(b, l, eps));
        Value normed = arith::MulFOp::create(
            b, l, v[0], math::RsqrtOp::create(b, l, variance));
        Value r = arith::MulFOp::create(b, l, normed, v[2]);
        return hasBias ? arith::AddFOp::create(b, l, r, v[3]).getResult() : r;
      });
  im.define(node.outputs[0], y);
  return success();
}

} // namespace

void ampc::onnx_import::registerElementwiseOps(HandlerTable &table) {
  table["Relu"] = relu;
  table["LeakyRelu"] = leakyRelu;
  table["Sigmoid"] = sigmoid;
  table["Tanh"] = simpleUnary<math::TanhOp>;
  table["Exp"] = simpleUnary<math::ExpOp>;
  table["Log"] = simpleUnary<math::LogOp>;
  table["Sqrt"] = simpleUnary<math::SqrtOp>;
  table["Abs"] = simpleUnary<math::AbsFOp>;
  table["Neg"] = simpleUnary<arith::NegFOp>;
  table["Erf"] = simpleUnary<math::ErfOp>;
  table["Reciprocal"] = reciprocal;
  table["Clip"] = clip;
  table["Add"] = simpleBinary<arith::AddFOp>;
  table["Sub"] = simpleBinary<arith::SubFOp>;
  table["Mul"] = simpleBinary<arith::MulFOp>;
  table["Div"] = simpleBinary<arith::DivFOp>;
  table["Max"] = simpleBinary<arith::MaximumFOp>;
  table["Min"] = simpleBinary<arith::MinimumFOp>;
  table["Pow"] = power;
  table["Identity"] = identity;
  table["Dropout"] = dropout;
  table["Cast"] = cast;
  table["BatchNormalization"] = batchNormalization;
  table["LayerNormalization"] = layerNormalization;
}

Value ampc::onnx_import::addChannelBias(Importer &im, Value x, Value bias) {
  return channelwise(im, x, {bias}, addf);
}

FailureOr<SmallVector<int64_t>>
ampc::onnx_import::broadcastShape(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1)
      return failure();
    shape[i] = x == 1 ? y : x;
  }
  return shape;
}

/// A Dropout whose training_mode (input #2) is a constant true: an
/// initializer or a Constant node's value (what torch.onnx.export writes).
static bool isTrainingDropout(const Graph &graph, const Node &node) {
  if (!Importer::hasInput(node, 2))
    return false;
  const std::string &name = node.inputs[2];
  auto isTrue = [](const onnx_graph::Tensor &t) {
    return t.ints.size() == 1 && t.ints[0] != 0;
  };
  for (const onnx_graph::Tensor &init : graph.initializers)
    if (init.name == name)
      return isTrue(init);
  for (const Node &producer : graph.nodes) {
    if (producer.opType != "Constant" || producer.outputs.empty() ||
        producer.outputs[0] != name)
      continue;
    auto value = producer.attributes.find("value");
    return value != producer.attributes.end() && isTrue(value->second.t);
  }
  return false;
}

bool ampc::onnx_import::isTrainingNode(const Graph &graph, const Node &node) {
  if (node.opType == "Dropout")
    return isTrainingDropout(graph, node);
  if (node.opType != "BatchNormalization")
    return false;
  auto mode = node.attributes.find("training_mode");
  if (mode != node.attributes.end())
    return mode->second.i != 0;
  return node.outputs.size() > 1 &&
         llvm::any_of(ArrayRef(node.outputs).drop_front(),
                      [](const std::string &o) { return !o.empty(); });
}
