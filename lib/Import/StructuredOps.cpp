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

/// The spatial attributes of a convolution or pooling window, one entry
/// per spatial dimension.
struct Window {
  SmallVector<int64_t> kernel, stride, dilation, padLow, padHigh;
  size_t rank() const { return kernel.size(); }
  /// A leading spatial dimension of size 1 (a 1-D window as a 2-D one).
  void lift() {
    kernel.insert(kernel.begin(), 1);
    for (SmallVector<int64_t> *v : {&stride, &dilation})
      v->insert(v->begin(), 1);
    for (SmallVector<int64_t> *v : {&padLow, &padHigh})
      v->insert(v->begin(), 0);
  }
};

LogicalResult readWindow(Importer &im, const Node &node,
                         ArrayRef<int64_t> input, ArrayRef<int64_t> kernel,
                         Window &w) {
  size_t rank = kernel.size();
  auto ints =
      [&](StringRef name,
          size_t size) -> FailureOr<std::optional<std::vector<int64_t>>> {
    auto v = im.intsAttr(node, name);
    if (v && v->size() != size)
      return im.fail(node, "'" + name + "' must have " + std::to_string(size) +
                               " values");
    return v;
  };
  auto strides = ints("strides", rank), dilations = ints("dilations", rank),
       pads = ints("pads", 2 * rank);
  if (failed(strides) || failed(dilations) || failed(pads))
    return failure();
  w.kernel.assign(kernel.begin(), kernel.end());
  w.stride.assign(rank, 1);
  w.dilation.assign(rank, 1);
  w.padLow.assign(rank, 0);
  w.padHigh.assign(rank, 0);
  for (size_t i = 0; i < rank; ++i) {
    if (*strides)
      w.stride[i] = (**strides)[i];
    if (*dilations)
      w.dilation[i] = (**dilations)[i];
    if (*pads) {
      w.padLow[i] = (**pads)[i];
      w.padHigh[i] = (**pads)[i + rank];
    }
  }
  std::string autoPad = im.stringAttr(node, "auto_pad", "NOTSET");
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (size_t i = 0; i < rank; ++i) {
      int64_t out = (input[i] + w.stride[i] - 1) / w.stride[i];
      int64_t extent = (w.kernel[i] - 1) * w.dilation[i] + 1;
      int64_t total =
          std::max<int64_t>(0, (out - 1) * w.stride[i] + extent - input[i]);
      w.padLow[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.padHigh[i] = total - w.padLow[i];
    }
  } else if (autoPad == "VALID") {
    w.padLow.assign(rank, 0);
    w.padHigh.assign(rank, 0);
  } else if (autoPad != "NOTSET") {
    return im.fail(node, "unknown auto_pad '" + autoPad + "'");
  }
  for (size_t i = 0; i < rank; ++i)
    if (w.kernel[i] < 1 || w.stride[i] < 1 || w.dilation[i] < 1 ||
        w.padLow[i] < 0 || w.padHigh[i] < 0)
      return im.fail(node, "kernel sizes, strides and dilations must be "
                           "positive and pads non-negative");
  return success();
}

/// `x` [N, C, spatial...] padded by `w`'s pads with `value`.
Value padSpatial(Importer &im, Value x, const Window &w, double value) {
  SmallVector<int64_t> low = {0, 0}, high = {0, 0};
  llvm::append_range(low, w.padLow);
  llvm::append_range(high, w.padHigh);
  return im.pad(x, low, high, value);
}

/// The output's spatial sizes for the padded input `x` [N, C, spatial...],
/// or failure (with a message) when the window does not fit.
FailureOr<SmallVector<int64_t>> outputSizes(Importer &im, const Node &node,
                                            Value padded, const Window &w) {
  ArrayRef<int64_t> ps = shapeOf(padded).drop_front(2);
  SmallVector<int64_t> sizes;
  for (size_t i = 0; i < w.rank(); ++i) {
    int64_t size =
        (ps[i] - (w.kernel[i] - 1) * w.dilation[i] - 1) / w.stride[i] + 1;
    if (ps[i] < (w.kernel[i] - 1) * w.dilation[i] + 1)
      return im.fail(node, "the window is larger than the padded input");
    sizes.push_back(size);
  }
  return sizes;
}

SmallVector<NamedAttribute> windowAttrs(Importer &im, const Window &w) {
  auto vec = [&](ArrayRef<int64_t> v) {
    return DenseIntElementsAttr::get(
        RankedTensorType::get({int64_t(v.size())}, im.builder.getI64Type()), v);
  };
  return {im.builder.getNamedAttr("strides", vec(w.stride)),
          im.builder.getNamedAttr("dilations", vec(w.dilation))};
}

/// [N, C, spatial...] to channels-last and back.
SmallVector<int64_t> toChannelsLast(int64_t rank) {
  SmallVector<int64_t> perm = {0};
  for (int64_t d = 2; d < rank; ++d)
    perm.push_back(d);
  perm.push_back(1);
  return perm;
}
SmallVector<int64_t> fromChannelsLast(int64_t rank) {
  SmallVector<int64_t> perm = {0, rank - 1};
  for (int64_t d = 1; d < rank - 1; ++d)
    perm.push_back(d);
  return perm;
}

/// Channels [start, start + count) of `x` [N, C, ...] (or of a weight
/// [F, ...] when `dim` is 0).
Value sliceDim(Importer &im, Value x, int64_t dim, int64_t start,
               int64_t count) {
  ArrayRef<int64_t> shape = shapeOf(x);
  SmallVector<int64_t> offsets(shape.size(), 0), sizes(shape);
  offsets[dim] = start;
  sizes[dim] = count;
  SmallVector<int64_t> strides(shape.size(), 1);
  MLIRContext *context = im.builder.getContext();
  return tensor::ExtractSliceOp::create(
      im.builder, im.loc(), x, getAsIndexOpFoldResult(context, offsets),
      getAsIndexOpFoldResult(context, sizes),
      getAsIndexOpFoldResult(context, strides));
}

/// A convolution of the padded `x` [N, C, spatial...] (2 or 3 spatial
/// dimensions) with `weight` [F, C / groups, kernel...], without bias.
Value convolve(Importer &im, Value padded, Value weight, int64_t groups,
               const Window &w, ArrayRef<int64_t> out) {
  ArrayRef<int64_t> ps = shapeOf(padded), ws = shapeOf(weight);
  int64_t rank = ps.size();
  if (groups > 1 && rank == 4) {
    int64_t g = groups, cg = ps[1] / g, fg = ws[0] / g;
    Value gx = im.reshape(padded, {ps[0], g, cg, ps[2], ps[3]});
    Value gw = im.reshape(weight, {g, fg, cg, ws[2], ws[3]});
    gw = im.transpose(gw, {1, 0, 2, 3, 4});
    Value init = im.filled({ps[0], g, fg, out[0], out[1]}, 0.0);
    Value y = linalg::Conv2DNgchwFgchwOp::create(
                  im.builder, im.loc(), TypeRange{init.getType()},
                  ValueRange{gx, gw}, ValueRange{init}, windowAttrs(im, w))
                  .getResult(0);
    return im.reshape(y, {ps[0], ws[0], out[0], out[1]});
  }
  if (groups > 1) { // 3-D: one convolution per group, concatenated.
    int64_t cg = ps[1] / groups, fg = ws[0] / groups;
    SmallVector<Value> pieces;
    for (int64_t i = 0; i < groups; ++i)
      pieces.push_back(convolve(im, sliceDim(im, padded, 1, i * cg, cg),
                                sliceDim(im, weight, 0, i * fg, fg), 1, w,
                                out));
    return tensor::ConcatOp::create(im.builder, im.loc(), 1, pieces);
  }
  // Computed channels-last, as the CPU back end's packed contractions take
  // convolutions (forward and, through autodiff, backward); the transposes
  // around it are copies. A 2-D weight keeps its filters outermost
  // ([F, kh, kw, C]): its layout change, and its gradient's, is a transpose
  // within each filter (C x taps), not one across the whole weight.
  Value xt = im.transpose(padded, toChannelsLast(rank));
  SmallVector<int64_t> wperm;
  if (rank == 4)
    wperm.push_back(0);
  for (int64_t d = 2; d < rank; ++d)
    wperm.push_back(d);
  if (rank == 4)
    wperm.push_back(1);
  else
    wperm.append({1, 0});
  Value wt = im.transpose(weight, wperm);
  SmallVector<int64_t> shape = {ps[0]};
  llvm::append_range(shape, out);
  shape.push_back(ws[0]);
  Value init = im.filled(shape, 0.0);
  Value y;
  if (rank == 4)
    y = linalg::Conv2DNhwcFhwcOp::create(
            im.builder, im.loc(), TypeRange{init.getType()}, ValueRange{xt, wt},
            ValueRange{init}, windowAttrs(im, w))
            .getResult(0);
  else
    y = linalg::Conv3DNdhwcDhwcfOp::create(
            im.builder, im.loc(), TypeRange{init.getType()}, ValueRange{xt, wt},
            ValueRange{init}, windowAttrs(im, w))
            .getResult(0);
  return im.transpose(y, fromChannelsLast(rank));
}

/// `x` [N, C, L] as [N, C, 1, L].
Value liftSpatial(Importer &im, Value x) {
  SmallVector<int64_t> shape(shapeOf(x));
  shape.insert(shape.begin() + 2, 1);
  return im.reshape(x, shape);
}

/// Conv over 1, 2 or 3 spatial dimensions (1-D computed as 2-D).
LogicalResult conv(Importer &im, const Node &node) {
  FailureOr<Value> x = im.input(node, 0), weight = im.input(node, 1);
  if (failed(x) || failed(weight))
    return failure();
  ArrayRef<int64_t> xs = shapeOf(*x), ws = shapeOf(*weight);
  if (xs.size() < 3 || xs.size() > 5 || ws.size() != xs.size())
    return im.fail(node, "only 1-D, 2-D and 3-D convolutions (3-D to 5-D "
                         "input and weight of the same rank) are supported");
  int64_t groups = im.intAttr(node, "group", 1);
  if (groups < 1 || xs[1] % groups || ws[0] % groups || ws[1] * groups != xs[1])
    return im.fail(node, "the channels (" + std::to_string(xs[1]) +
                             " in, weight " + std::to_string(ws[0]) + "x" +
                             std::to_string(ws[1]) + ") do not match group " +
                             std::to_string(groups));
  Window w;
  if (failed(readWindow(im, node, xs.drop_front(2), ws.drop_front(2), w)))
    return failure();
  Value input = *x, kernel = *weight;
  bool lifted = w.rank() == 1;
  if (lifted) {
    input = liftSpatial(im, input);
    kernel = liftSpatial(im, kernel);
    w.lift();
  }
  Value padded = padSpatial(im, input, w, 0.0);
  FailureOr<SmallVector<int64_t>> out = outputSizes(im, node, padded, w);
  if (failed(out))
    return failure();
  Value y = convolve(im, padded, kernel, groups, w, *out);
  if (lifted)
    y = im.reshape(y, {xs[0], ws[0], out->back()});
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
  for (size_t i = 0; i < w.rank(); ++i) {
    int64_t padded = input[i] + w.padLow[i] + w.padHigh[i];
    int64_t extent = (w.kernel[i] - 1) * w.dilation[i] + 1;
    int64_t rest = (padded - extent) % w.stride[i];
    if (rest)
      w.padHigh[i] += w.stride[i] - rest;
  }
}

/// AveragePool's divisor at each output position [out...]: the window's
/// size, or (without count_include_pad) the input elements it covers; a
/// product over the dimensions.
Value averageDivisors(Importer &im, const Window &unpadded, const Window &w,
                      ArrayRef<int64_t> input, ArrayRef<int64_t> out,
                      bool includePad) {
  std::vector<float> divisors = {1.0f};
  for (size_t d = 0; d < w.rank(); ++d) {
    std::vector<float> next;
    for (float before : divisors)
      for (int64_t i = 0; i < out[d]; ++i) {
        int64_t count = 0;
        for (int64_t k = 0; k < w.kernel[d]; ++k) {
          int64_t at = i * w.stride[d] + k * w.dilation[d] - unpadded.padLow[d];
          int64_t limit = input[d] + (includePad ? unpadded.padHigh[d] : 0);
          int64_t start = includePad ? -unpadded.padLow[d] : 0;
          count += at >= start && at < limit;
        }
        next.push_back(before * float(count));
      }
    divisors = std::move(next);
  }
  auto type = RankedTensorType::get(out, im.builder.getF32Type());
  return arith::ConstantOp::create(
      im.builder, im.loc(), type,
      DenseElementsAttr::get(type, ArrayRef(divisors)));
}

/// The max (or sum) pooling of the padded `x` [N, C, spatial...] (2 or 3
/// spatial dimensions).
Value poolWindows(Importer &im, Value padded, const Window &w,
                  ArrayRef<int64_t> out, bool max) {
  double fill = max ? -INFINITY : 0.0;
  ArrayRef<int64_t> ps = shapeOf(padded);
  Value window = tensor::EmptyOp::create(im.builder, im.loc(), w.kernel,
                                         im.builder.getF32Type());
  if (ps.size() == 4) {
    Value init = im.filled({ps[0], ps[1], out[0], out[1]}, fill);
    if (max)
      return linalg::PoolingNchwMaxOp::create(
                 im.builder, im.loc(), TypeRange{init.getType()},
                 ValueRange{padded, window}, ValueRange{init},
                 windowAttrs(im, w))
          .getResult(0);
    return linalg::PoolingNchwSumOp::create(
               im.builder, im.loc(), TypeRange{init.getType()},
               ValueRange{padded, window}, ValueRange{init}, windowAttrs(im, w))
        .getResult(0);
  }
  // 3-D: linalg's pooling is channels-last there.
  Value xt = im.transpose(padded, toChannelsLast(5));
  Value init = im.filled({ps[0], out[0], out[1], out[2], ps[1]}, fill);
  Value y =
      max ? linalg::PoolingNdhwcMaxOp::create(
                im.builder, im.loc(), TypeRange{init.getType()},
                ValueRange{xt, window}, ValueRange{init}, windowAttrs(im, w))
                .getResult(0)
          : linalg::PoolingNdhwcSumOp::create(
                im.builder, im.loc(), TypeRange{init.getType()},
                ValueRange{xt, window}, ValueRange{init}, windowAttrs(im, w))
                .getResult(0);
  return im.transpose(y, fromChannelsLast(5));
}

/// MaxPool (max = true) or AveragePool over 1-, 2- or 3-D windows.
LogicalResult pool(Importer &im, const Node &node, bool max) {
  FailureOr<Value> x = im.input(node, 0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> xs = shapeOf(*x);
  auto kernel = im.intsAttr(node, "kernel_shape");
  if (xs.size() < 3 || xs.size() > 5 || !kernel ||
      kernel->size() != xs.size() - 2)
    return im.fail(node, "only 1-D, 2-D and 3-D pooling (3-D to 5-D input, a "
                         "kernel size per spatial dimension) is supported");
  if (node.outputs.size() > 1 && !node.outputs[1].empty())
    return im.fail(node, "the Indices output is not supported");
  Window w;
  if (failed(readWindow(im, node, xs.drop_front(2), *kernel, w)))
    return failure();
  Value input = *x;
  SmallVector<int64_t> spatial(xs.drop_front(2));
  bool lifted = w.rank() == 1;
  if (lifted) {
    input = liftSpatial(im, input);
    spatial.insert(spatial.begin(), 1);
    w.lift();
  }
  Window unpadded = w;
  if (im.intAttr(node, "ceil_mode", 0))
    ceilPadding(spatial, w);
  Value padded = padSpatial(im, input, w, max ? -INFINITY : 0.0);
  FailureOr<SmallVector<int64_t>> out = outputSizes(im, node, padded, w);
  if (failed(out))
    return failure();
  Value y = poolWindows(im, padded, w, *out, max);
  if (!max) {
    Value d = averageDivisors(im, unpadded, w, spatial, *out,
                              im.intAttr(node, "count_include_pad", 0));
    y = im.elementwise({y, d}, shapeOf(y),
                       [](OpBuilder &b, Location l, ValueRange v) -> Value {
                         return arith::DivFOp::create(b, l, v[0], v[1]);
                       });
  }
  if (lifted)
    y = im.reshape(y, {xs[0], xs[1], out->back()});
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
