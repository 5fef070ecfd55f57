//===- StructuredOps.cpp - contractions, convolutions, pooling, reductions ===//

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

Value addf(OpBuilder &b, Location l, ValueRange v) {
  return arith::AddFOp::create(b, l, v[0], v[1]);
}
Value maxf(OpBuilder &b, Location l, ValueRange v) {
  return arith::MaximumFOp::create(b, l, v[0], v[1]);
}

/// `a` [M, K] x `b` [K, N] (or [B, M, K] x [B, K, N]).
Value contract(Importer &im, Value a, Value b, bool batched) {
  ArrayRef<int64_t> as = shapeOf(a), bs = shapeOf(b);
  SmallVector<int64_t> shape(as.drop_back());
  shape.push_back(bs.back());
  Value init = im.filled(shape, 0.0);
  if (batched)
    return linalg::BatchMatmulOp::create(im.builder, im.loc(),
                                         TypeRange{init.getType()},
                                         ValueRange{a, b}, ValueRange{init})
        .getResult(0);
  return linalg::MatmulOp::create(im.builder, im.loc(),
                                  TypeRange{init.getType()}, ValueRange{a, b},
                                  ValueRange{init})
      .getResult(0);
}

/// `x` broadcast to `shape` (a copy when it differs).
Value broadcastTo(Importer &im, Value x, ArrayRef<int64_t> shape) {
  if (shapeOf(x) == shape)
    return x;
  return im.elementwise(
      {x}, shape, [](OpBuilder &, Location, ValueRange v) { return v[0]; });
}

LogicalResult matMul(Importer &im, const Node &node) {
  FailureOr<Value> a = im.input(node, 0), b = im.input(node, 1);
  if (failed(a) || failed(b))
    return failure();
  ArrayRef<int64_t> as = shapeOf(*a), bs = shapeOf(*b);
  if (as.size() < 2 || bs.size() < 2)
    return im.fail(node, "1-D operands are not supported");
  if (as.back() != bs[bs.size() - 2])
    return im.fail(node, "the inner dimensions differ");
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs.size() == 2) { // Rows of any batch against one matrix.
    SmallVector<int64_t> out(as.drop_back());
    out.push_back(n);
    Value rows = im.reshape(*a, {tensorType(*a).getNumElements() / k, k});
    im.define(node.outputs[0], im.reshape(contract(im, rows, *b, false), out));
    return success();
  }
  FailureOr<SmallVector<int64_t>> batch =
      broadcastShape(as.drop_back(2), bs.drop_back(2));
  if (failed(batch))
    return im.fail(node, "the batch dimensions do not broadcast");
  int64_t count = 1;
  for (int64_t d : *batch)
    count *= d;
  auto full = [&](Value x, int64_t r, int64_t c) {
    SmallVector<int64_t> shape(*batch);
    shape.append({r, c});
    return im.reshape(broadcastTo(im, x, shape), {count, r, c});
  };
  Value product = contract(im, full(*a, m, k), full(*b, k, n), true);
  SmallVector<int64_t> out(*batch);
  out.append({m, n});
  im.define(node.outputs[0], im.reshape(product, out));
  return success();
}

/// alpha * op(A) op(B) + beta * C, op transposing as transA/transB say.
LogicalResult gemm(Importer &im, const Node &node) {
  FailureOr<Value> a = im.input(node, 0), b = im.input(node, 1);
  if (failed(a) || failed(b))
    return failure();
  bool ta = im.intAttr(node, "transA", 0), tb = im.intAttr(node, "transB", 0);
  ArrayRef<int64_t> as = shapeOf(*a), bs = shapeOf(*b);
  if (as.size() != 2 || bs.size() != 2)
    return im.fail(node, "A and B must be matrices");
  int64_t m = ta ? as[1] : as[0], k = ta ? as[0] : as[1];
  int64_t n = tb ? bs[0] : bs[1];
  if ((tb ? bs[1] : bs[0]) != k)
    return im.fail(node, "the inner dimensions differ");
  MLIRContext *context = im.builder.getContext();
  AffineExpr dm = getAffineDimExpr(0, context),
             dn = getAffineDimExpr(1, context),
             dk = getAffineDimExpr(2, context);
  SmallVector<AffineMap> maps = {
      AffineMap::get(3, 0,
                     ta ? ArrayRef<AffineExpr>{dk, dm}
                        : ArrayRef<AffineExpr>{dm, dk},
                     context),
      AffineMap::get(3, 0,
                     tb ? ArrayRef<AffineExpr>{dn, dk}
                        : ArrayRef<AffineExpr>{dk, dn},
                     context),
      AffineMap::get(3, 0, {dm, dn}, context)};
  Value init = im.filled({m, n}, 0.0);
  Value product =
      linalg::GenericOp::create(
          im.builder, im.loc(), TypeRange{init.getType()}, ValueRange{*a, *b},
          ValueRange{init}, maps,
          {utils::IteratorType::parallel, utils::IteratorType::parallel,
           utils::IteratorType::reduction},
          [](OpBuilder &bb, Location l, ValueRange v) {
            Value p = arith::MulFOp::create(bb, l, v[0], v[1]);
            linalg::YieldOp::create(bb, l, ValueRange{addf(bb, l, {v[2], p})});
          })
          .getResult(0);
  double alpha = im.floatAttr(node, "alpha", 1.0f),
         beta = im.floatAttr(node, "beta", 1.0f);
  SmallVector<Value> operands = {product};
  if (Importer::hasInput(node, 2) && beta != 0.0) {
    FailureOr<Value> c = im.input(node, 2);
    if (failed(c))
      return failure();
    if (failed(broadcastShape(shapeOf(*c), {m, n})))
      return im.fail(node, "C does not broadcast to the product's shape");
    operands.push_back(*c);
  }
  if (alpha != 1.0 || beta != 1.0 || operands.size() > 1)
    product = im.elementwise(
        operands, {m, n},
        [alpha, beta](OpBuilder &bb, Location l, ValueRange v) {
          Value r = v[0];
          if (alpha != 1.0)
            r = arith::MulFOp::create(
                bb, l, r,
                arith::ConstantOp::create(bb, l, bb.getF32FloatAttr(alpha)));
          if (v.size() < 2)
            return r;
          Value c = v[1];
          if (beta != 1.0)
            c = arith::MulFOp::create(
                bb, l, c,
                arith::ConstantOp::create(bb, l, bb.getF32FloatAttr(beta)));
          return addf(bb, l, {r, c});
        });
  im.define(node.outputs[0], product);
  return success();
}

/// The spatial attributes of a 2-D convolution or pooling window.
struct Window {
  int64_t kernel[2], stride[2] = {1, 1}, dilation[2] = {1, 1};
  int64_t padLow[2] = {0, 0}, padHigh[2] = {0, 0};
};

LogicalResult readWindow(Importer &im, const Node &node,
                         ArrayRef<int64_t> input, ArrayRef<int64_t> kernel,
                         Window &w) {
  auto ints =
      [&](StringRef name,
          size_t size) -> FailureOr<std::optional<std::vector<int64_t>>> {
    auto v = im.intsAttr(node, name);
    if (v && v->size() != size)
      return im.fail(node, "'" + name + "' must have " + std::to_string(size) +
                               " values");
    return v;
  };
  auto strides = ints("strides", 2), dilations = ints("dilations", 2),
       pads = ints("pads", 4);
  if (failed(strides) || failed(dilations) || failed(pads))
    return failure();
  for (int i = 0; i < 2; ++i) {
    w.kernel[i] = kernel[i];
    if (*strides)
      w.stride[i] = (**strides)[i];
    if (*dilations)
      w.dilation[i] = (**dilations)[i];
    if (*pads) {
      w.padLow[i] = (**pads)[i];
      w.padHigh[i] = (**pads)[i + 2];
    }
  }
  std::string autoPad = im.stringAttr(node, "auto_pad", "NOTSET");
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int i = 0; i < 2; ++i) {
      int64_t out = (input[i] + w.stride[i] - 1) / w.stride[i];
      int64_t extent = (w.kernel[i] - 1) * w.dilation[i] + 1;
      int64_t total =
          std::max<int64_t>(0, (out - 1) * w.stride[i] + extent - input[i]);
      w.padLow[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.padHigh[i] = total - w.padLow[i];
    }
  } else if (autoPad == "VALID") {
    w.padLow[0] = w.padLow[1] = w.padHigh[0] = w.padHigh[1] = 0;
  } else if (autoPad != "NOTSET") {
    return im.fail(node, "unknown auto_pad '" + autoPad + "'");
  }
  for (int i = 0; i < 2; ++i)
    if (w.stride[i] < 1 || w.dilation[i] < 1 || w.padLow[i] < 0 ||
        w.padHigh[i] < 0)
      return im.fail(node, "strides and dilations must be positive and "
                           "pads non-negative");
  return success();
}

/// `x` [N, C, H, W] padded by `w`'s pads with `value`.
Value padSpatial(Importer &im, Value x, const Window &w, double value) {
  return im.pad(x, {0, 0, w.padLow[0], w.padLow[1]},
                {0, 0, w.padHigh[0], w.padHigh[1]}, value);
}

int64_t outputSize(int64_t padded, int64_t kernel, int64_t stride,
                   int64_t dilation) {
  return (padded - (kernel - 1) * dilation - 1) / stride + 1;
}

SmallVector<NamedAttribute> windowAttrs(Importer &im, const Window &w) {
  auto vec = [&](const int64_t *v) {
    return DenseIntElementsAttr::get(
        RankedTensorType::get({2}, im.builder.getI64Type()),
        ArrayRef<int64_t>{v[0], v[1]});
  };
  return {im.builder.getNamedAttr("strides", vec(w.stride)),
          im.builder.getNamedAttr("dilations", vec(w.dilation))};
}

LogicalResult conv(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0), weight = im.input(node, 1);
  if (failed(x) || failed(weight))
    return failure();
  ArrayRef<int64_t> xs = shapeOf(*x), ws = shapeOf(*weight);
  if (xs.size() != 4 || ws.size() != 4)
    return im.fail(node, "only 2-D convolutions (4-D input and weight) are "
                         "supported");
  int64_t groups = im.intAttr(node, "group", 1);
  if (groups < 1 || xs[1] % groups || ws[0] % groups || ws[1] * groups != xs[1])
    return im.fail(node, "the channels (" + std::to_string(xs[1]) +
                             " in, weight " + std::to_string(ws[0]) + "x" +
                             std::to_string(ws[1]) + ") do not match group " +
                             std::to_string(groups));
  Window w;
  if (failed(readWindow(im, node, xs.drop_front(2), ws.drop_front(2), w)))
    return failure();
  Value padded = padSpatial(im, *x, w, 0.0);
  ArrayRef<int64_t> ps = shapeOf(padded);
  int64_t oh = outputSize(ps[2], w.kernel[0], w.stride[0], w.dilation[0]),
          ow = outputSize(ps[3], w.kernel[1], w.stride[1], w.dilation[1]);
  if (oh < 1 || ow < 1)
    return im.fail(node, "the window is larger than the padded input");
  Value y;
  if (groups == 1) {
    // Computed channels-last, as the CPU back end's packed contractions
    // take convolutions (forward and, through autodiff, backward); the
    // transposes around it are copies.
    Value xt = im.transpose(padded, {0, 2, 3, 1});
    Value wt = im.transpose(*weight, {2, 3, 1, 0});
    Value init = im.filled({xs[0], oh, ow, ws[0]}, 0.0);
    y = linalg::Conv2DNhwcHwcfOp::create(
            im.builder, im.loc(), TypeRange{init.getType()}, ValueRange{xt, wt},
            ValueRange{init}, windowAttrs(im, w))
            .getResult(0);
    y = im.transpose(y, {0, 3, 1, 2});
  } else {
    int64_t g = groups, cg = xs[1] / g, fg = ws[0] / g;
    Value gx = im.reshape(padded, {xs[0], g, cg, ps[2], ps[3]});
    Value gw = im.reshape(*weight, {g, fg, cg, ws[2], ws[3]});
    gw = im.transpose(gw, {1, 0, 2, 3, 4});
    Value init = im.filled({xs[0], g, fg, oh, ow}, 0.0);
    y = linalg::Conv2DNgchwFgchwOp::create(
            im.builder, im.loc(), TypeRange{init.getType()}, ValueRange{gx, gw},
            ValueRange{init}, windowAttrs(im, w))
            .getResult(0);
    y = im.reshape(y, {xs[0], ws[0], oh, ow});
  }
  if (Importer::hasInput(node, 2)) {
    FailureOr<Value> bias = im.input(node, 2);
    if (failed(bias))
      return failure();
    y = addChannelBias(im, y, *bias);
  }
  im.define(node.outputs[0], y);
  return success();
}

/// Extra high padding so that ceil_mode's last, partial window exists.
void ceilPadding(ArrayRef<int64_t> input, Window &w) {
  for (int i = 0; i < 2; ++i) {
    int64_t padded = input[i] + w.padLow[i] + w.padHigh[i];
    int64_t extent = (w.kernel[i] - 1) * w.dilation[i] + 1;
    int64_t rest = (padded - extent) % w.stride[i];
    if (rest)
      w.padHigh[i] += w.stride[i] - rest;
  }
}

/// MaxPool (max = true) or AveragePool over 2-D windows.
LogicalResult pool(Importer &im, const Node &node, bool max) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> xs = shapeOf(*x);
  auto kernel = im.intsAttr(node, "kernel_shape");
  if (xs.size() != 4 || !kernel || kernel->size() != 2)
    return im.fail(node, "only 2-D pooling (4-D input, 2 kernel sizes) is "
                         "supported");
  if (node.outputs.size() > 1 && !node.outputs[1].empty())
    return im.fail(node, "the Indices output is not supported");
  Window w;
  if (failed(readWindow(im, node, xs.drop_front(2), *kernel, w)))
    return failure();
  Window unpadded = w;
  if (im.intAttr(node, "ceil_mode", 0))
    ceilPadding(xs.drop_front(2), w);
  double fill = max ? -INFINITY : 0.0;
  Value padded = padSpatial(im, *x, w, fill);
  ArrayRef<int64_t> ps = shapeOf(padded);
  int64_t oh = outputSize(ps[2], w.kernel[0], w.stride[0], w.dilation[0]),
          ow = outputSize(ps[3], w.kernel[1], w.stride[1], w.dilation[1]);
  Value window = tensor::EmptyOp::create(
      im.builder, im.loc(), ArrayRef<int64_t>{w.kernel[0], w.kernel[1]},
      im.builder.getF32Type());
  Value init = im.filled({xs[0], xs[1], oh, ow}, fill);
  Value y;
  if (max) {
    y = linalg::PoolingNchwMaxOp::create(
            im.builder, im.loc(), TypeRange{init.getType()},
            ValueRange{padded, window}, ValueRange{init}, windowAttrs(im, w))
            .getResult(0);
  } else {
    y = linalg::PoolingNchwSumOp::create(
            im.builder, im.loc(), TypeRange{init.getType()},
            ValueRange{padded, window}, ValueRange{init}, windowAttrs(im, w))
            .getResult(0);
    // Divisors per output position: the window's size, or (without
    // count_include_pad) the input elements it covers.
    bool includePad = im.intAttr(node, "count_include_pad", 0);
    std::vector<float> divisors;
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        int64_t count[2], pos[2] = {i, j};
        for (int d = 0; d < 2; ++d) {
          count[d] = 0;
          for (int64_t k = 0; k < w.kernel[d]; ++k) {
            int64_t at =
                pos[d] * w.stride[d] + k * w.dilation[d] - unpadded.padLow[d];
            int64_t limit = xs[2 + d] + (includePad ? unpadded.padHigh[d] : 0);
            int64_t start = includePad ? -unpadded.padLow[d] : 0;
            count[d] += at >= start && at < limit;
          }
        }
        divisors.push_back(float(count[0] * count[1]));
      }
    auto type = RankedTensorType::get({oh, ow}, im.builder.getF32Type());
    Value d = arith::ConstantOp::create(
        im.builder, im.loc(), type,
        DenseElementsAttr::get(type, ArrayRef(divisors)));
    y = im.elementwise({y, d}, shapeOf(y),
                       [](OpBuilder &b, Location l, ValueRange v) -> Value {
                         return arith::DivFOp::create(b, l, v[0], v[1]);
                       });
  }
  im.define(node.outputs[0], y);
  return success();
}

/// The mean over every dimension after the first two, kept as 1s.
LogicalResult globalAveragePool(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> xs = shapeOf(*x);
  if (xs.size() < 3)
    return im.fail(node, "the input needs spatial dimensions");
  SmallVector<int64_t> axes, kept = {xs[0], xs[1]};
  double count = 1;
  for (size_t d = 2; d < xs.size(); ++d) {
    axes.push_back(d);
    kept.push_back(1);
    count *= xs[d];
  }
  Value mean = im.scaled(im.reduce(*x, axes, 0.0, addf), 1.0 / count);
  im.define(node.outputs[0], im.reshape(mean, kept));
  return success();
}

/// Softmax (log = false) or LogSoftmax along `axis` (opset 13: one axis).
LogicalResult softmax(Importer &im, const Node &node, bool log) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = shapeOf(*x);
  FailureOr<int64_t> axis =
      normalizeAxis(im, node, im.intAttr(node, "axis", -1), shape.size());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> kept(shape);
  kept[*axis] = 1;
  Value m = im.reshape(im.reduce(*x, {*axis}, -INFINITY, maxf), kept);
  Value shifted = im.elementwise(
      {*x, m}, shape, [](OpBuilder &b, Location l, ValueRange v) -> Value {
        return arith::SubFOp::create(b, l, v[0], v[1]);
      });
  Value e = im.elementwise({shifted}, shape,
                           [](OpBuilder &b, Location l, ValueRange v) -> Value {
                             return math::ExpOp::create(b, l, v[0]);
                           });
  Value s = im.reshape(im.reduce(e, {*axis}, 0.0, addf), kept);
  Value y =
      log ? im.elementwise(
                {shifted, s}, shape,
                [](OpBuilder &b, Location l, ValueRange v) {
                  Value ls = math::LogOp::create(b, l, v[1]);
                  return arith::SubFOp::create(b, l, v[0], ls).getResult();
                })
          : im.elementwise(
                {e, s}, shape, [](OpBuilder &b, Location l, ValueRange v) {
                  return arith::DivFOp::create(b, l, v[0], v[1]).getResult();
                });
  im.define(node.outputs[0], y);
  return success();
}

enum class ReduceKind { Sum, Mean, Max };

/// ReduceSum takes its axes as input #1 (opset 13); ReduceMean and
/// ReduceMax as an attribute (through opset 17).
LogicalResult reduction(Importer &im, const Node &node, ReduceKind kind) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = shapeOf(*x);
  std::vector<int64_t> axes;
  if (Importer::hasInput(node, 1)) {
    FailureOr<std::vector<int64_t>> given = im.constantInts(node, 1);
    if (failed(given))
      return failure();
    axes = *given;
  } else if (auto attr = im.intsAttr(node, "axes")) {
    axes = *attr;
  }
  if (axes.empty()) {
    if (im.intAttr(node, "noop_with_empty_axes", 0))
      return im.define(node.outputs[0], *x), success();
    for (size_t d = 0; d < shape.size(); ++d)
      axes.push_back(d);
  }
  SmallVector<int64_t> sorted, kept(shape);
  double count = 1;
  for (int64_t axis : axes) {
    FailureOr<int64_t> a = normalizeAxis(im, node, axis, shape.size());
    if (failed(a))
      return failure();
    if (llvm::is_contained(sorted, *a))
      return im.fail(node, "axis " + std::to_string(*a) + " is repeated");
    sorted.push_back(*a);
    kept[*a] = 1;
    count *= shape[*a];
  }
  llvm::sort(sorted);
  Value y = kind == ReduceKind::Max ? im.reduce(*x, sorted, -INFINITY, maxf)
                                    : im.reduce(*x, sorted, 0.0, addf);
  if (kind == ReduceKind::Mean)
    y = im.scaled(y, 1.0 / count);
  if (im.intAttr(node, "keepdims", 1))
    y = im.reshape(y, kept);
  im.define(node.outputs[0], y);
  return success();
}

} // namespace

void ampc::onnx_import::registerStructuredOps(HandlerTable &table) {
  table["MatMul"] = matMul;
  table["Gemm"] = gemm;
  table["Conv"] = conv;
  table["MaxPool"] = bound<pool, true>;
  table["AveragePool"] = bound<pool, false>;
  table["GlobalAveragePool"] = globalAveragePool;
  table["Softmax"] = bound<softmax, false>;
  table["LogSoftmax"] = bound<softmax, true>;
  table["ReduceSum"] = bound<reduction, ReduceKind::Sum>;
  table["ReduceMean"] = bound<reduction, ReduceKind::Mean>;
  table["ReduceMax"] = bound<reduction, ReduceKind::Max>;
}
