//===- OnnxFold.cpp - constant folding of shape computations --------------===//
//
// Exporters compute reshape targets at run time from Shape (Shape, Gather,
// Unsqueeze, Concat, Reshape). With static shapes all of it is constant:
// evaluated here on the host, never emitted.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cmath>

using namespace mlir;
using namespace ampc;
using namespace ampc::onnx_import;
using onnx_graph::Tensor;

namespace {

/// A constant as doubles, whatever its type.
struct Data {
  std::vector<int64_t> dims;
  std::vector<double> v;
  bool isFloat = false;

  static Data of(const Tensor &t) {
    Data d;
    d.dims = t.dims;
    d.isFloat = t.isFloat();
    if (d.isFloat)
      d.v.assign(t.floats.begin(), t.floats.end());
    else
      d.v.assign(t.ints.begin(), t.ints.end());
    return d;
  }
  Tensor tensor() const {
    Tensor t;
    t.dims = dims;
    t.elementType = isFloat ? onnx_graph::kFloat : onnx_graph::kInt64;
    for (double x : v) {
      if (isFloat)
        t.floats.push_back(float(x));
      else
        t.ints.push_back(int64_t(x));
    }
    return t;
  }
  int64_t size(size_t from, size_t to) const {
    int64_t n = 1;
    for (size_t i = from; i < to && i < dims.size(); ++i)
      n *= dims[i];
    return n;
  }
};

int64_t normalized(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

std::optional<Data> gather(const Data &data, const Data &indices,
                           int64_t axis) {
  axis = normalized(axis, data.dims.size());
  if (axis < 0 || axis >= int64_t(data.dims.size()))
    return std::nullopt;
  Data out;
  out.isFloat = data.isFloat;
  out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
  out.dims.insert(out.dims.end(), indices.dims.begin(), indices.dims.end());
  out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1,
                  data.dims.end());
  int64_t outer = data.size(0, axis), inner = data.size(axis + 1, 64),
          extent = data.dims[axis];
  for (int64_t o = 0; o < outer; ++o)
    for (double index : indices.v) {
      int64_t at = normalized(int64_t(index), extent);
      if (at < 0 || at >= extent)
        return std::nullopt;
      for (int64_t i = 0; i < inner; ++i)
        out.v.push_back(data.v[(o * extent + at) * inner + i]);
    }
  return out;
}

std::optional<Data> concat(const std::vector<Data> &inputs, int64_t axis) {
  Data out = inputs[0];
  axis = normalized(axis, out.dims.size());
  if (axis < 0 || axis >= int64_t(out.dims.size()))
    return std::nullopt;
  int64_t outer = out.size(0, axis);
  out.v.clear();
  out.dims[axis] = 0;
  for (const Data &d : inputs)
    out.dims[axis] += d.dims[axis];
  for (int64_t o = 0; o < outer; ++o)
    for (const Data &d : inputs) {
      int64_t block = d.size(axis, 64);
      out.v.insert(out.v.end(), d.v.begin() + o * block,
                   d.v.begin() + (o + 1) * block);
    }
  return out;
}

std::optional<Data> arithmetic(const std::string &op, const Data &a,
                               const Data &b) {
  if (a.v.size() != b.v.size() && a.v.size() != 1 && b.v.size() != 1)
    return std::nullopt;
  Data out = a.v.size() >= b.v.size() ? a : b;
  out.isFloat = a.isFloat || b.isFloat;
  for (size_t i = 0; i < out.v.size(); ++i) {
    double x = a.v[a.v.size() == 1 ? 0 : i], y = b.v[b.v.size() == 1 ? 0 : i];
    if (op == "Add")
      out.v[i] = x + y;
    else if (op == "Sub")
      out.v[i] = x - y;
    else if (op == "Mul")
      out.v[i] = x * y;
    else if (y == 0)
      return std::nullopt;
    else
      out.v[i] = out.isFloat ? x / y : std::trunc(x / y);
  }
  return out;
}

/// Squeeze/Unsqueeze/Reshape/Flatten-free dimension edits of a constant.
std::optional<Data> reshaped(Data d, const std::string &op,
                             const std::vector<int64_t> &arg) {
  int64_t count = d.v.size();
  std::vector<int64_t> dims;
  if (op == "Unsqueeze") {
    int64_t rank = d.dims.size() + arg.size();
    std::vector<bool> marked(rank, false);
    for (int64_t a : arg)
      if (normalized(a, rank) >= 0 && normalized(a, rank) < rank)
        marked[normalized(a, rank)] = true;
    size_t next = 0;
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(marked[i] ? 1 : d.dims[next++]);
  } else if (op == "Squeeze") {
    for (int64_t i = 0; i < int64_t(d.dims.size()); ++i) {
      bool listed = arg.empty() || llvm::is_contained(arg, i) ||
                    llvm::is_contained(arg, i - int64_t(d.dims.size()));
      if (!(listed && d.dims[i] == 1))
        dims.push_back(d.dims[i]);
    }
  } else { // Reshape
    int64_t known = 1, inferred = -1;
    for (size_t i = 0; i < arg.size(); ++i) {
      int64_t size = arg[i] == 0 && i < d.dims.size() ? d.dims[i] : arg[i];
      if (size == -1)
        inferred = i;
      else
        known *= size;
      dims.push_back(size);
    }
    if (inferred >= 0 && known > 0)
      dims[inferred] = count / known;
  }
  int64_t n = 1;
  for (int64_t x : dims)
    n *= x;
  if (n != count)
    return std::nullopt;
  d.dims = dims;
  return d;
}

std::optional<Data> slice1d(const Data &d, const std::vector<int64_t> &starts,
                            const std::vector<int64_t> &ends,
                            const std::vector<int64_t> &steps) {
  if (d.dims.size() != 1 || starts.size() != 1 || ends.size() != 1)
    return std::nullopt;
  int64_t n = d.dims[0], step = steps.empty() ? 1 : steps[0];
  if (step < 1)
    return std::nullopt;
  auto clampIndex = [n](int64_t v) {
    return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n);
  };
  Data out = d;
  out.v.clear();
  for (int64_t i = clampIndex(starts[0]); i < clampIndex(ends[0]); i += step)
    out.v.push_back(d.v[i]);
  out.dims = {int64_t(out.v.size())};
  return out;
}

/// Constant, ConstantOfShape and Shape: values from attributes and types.
std::optional<Tensor> source(Importer &im, const Node &node) {
  if (node.opType == "Constant") {
    for (const auto &[name, attr] : node.attributes) {
      Tensor t;
      if (name == "value") {
        t = attr.t;
      } else if (name == "value_float" || name == "value_floats") {
        t.elementType = onnx_graph::kFloat;
        t.floats =
            name == "value_float" ? std::vector<float>{attr.f} : attr.floats;
        if (name == "value_floats")
          t.dims = {int64_t(t.floats.size())};
      } else if (name == "value_int" || name == "value_ints") {
        t.elementType = onnx_graph::kInt64;
        t.ints = name == "value_int" ? std::vector<int64_t>{attr.i} : attr.ints;
        if (name == "value_ints")
          t.dims = {int64_t(t.ints.size())};
      } else {
        continue;
      }
      return t;
    }
    return std::nullopt;
  }
  if (node.opType == "Shape") {
    std::vector<int64_t> dims;
    if (auto it = im.values.find(node.inputs[0]); it != im.values.end())
      dims = shapeOf(it->second).vec();
    else if (const Tensor *c = im.constant(node, 0))
      dims = c->dims;
    else
      return std::nullopt;
    int64_t rank = dims.size();
    int64_t start = std::clamp<int64_t>(
        normalized(im.intAttr(node, "start", 0), rank), 0, rank);
    int64_t end = std::clamp<int64_t>(
        normalized(im.intAttr(node, "end", rank), rank), 0, rank);
    Tensor t;
    t.elementType = onnx_graph::kInt64;
    t.ints.assign(dims.begin() + start, dims.begin() + std::max(start, end));
    t.dims = {int64_t(t.ints.size())};
    return t;
  }
  if (node.opType == "ConstantOfShape") {
    const Tensor *shape = im.constant(node, 0);
    if (!shape)
      return std::nullopt;
    auto it = node.attributes.find("value");
    Tensor t = it != node.attributes.end() ? it->second.t : Tensor();
    if (it == node.attributes.end()) {
      t.elementType = onnx_graph::kFloat;
      t.floats = {0.0f};
    }
    Data d = Data::of(t);
    double value = d.v.empty() ? 0.0 : d.v[0];
    d.dims = shape->ints;
    d.v.assign(std::max<int64_t>(d.size(0, 64), 0), value);
    return d.tensor();
  }
  return std::nullopt;
}

std::optional<Data> evaluate(Importer &im, const Node &node,
                             const std::vector<Data> &in) {
  const std::string &op = node.opType;
  auto ints = [&](size_t i) {
    std::vector<int64_t> r;
    if (i < in.size())
      for (double v : in[i].v)
        r.push_back(int64_t(v));
    return r;
  };
  if (op == "Identity")
    return in[0];
  if (op == "Gather" && in.size() == 2)
    return gather(in[0], in[1], im.intAttr(node, "axis", 0));
  if (op == "Concat")
    return concat(in, im.intAttr(node, "axis", 0));
  if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") &&
      in.size() == 2)
    return arithmetic(op, in[0], in[1]);
  if (op == "Unsqueeze" || op == "Squeeze" || op == "Reshape")
    return reshaped(in[0], op, ints(1));
  if (op == "Slice" && in.size() >= 3)
    return slice1d(in[0], ints(1), ints(2), ints(4));
  if (op == "Cast") {
    Data d = in[0];
    int64_t to = im.intAttr(node, "to", 0);
    d.isFloat = to == onnx_graph::kFloat || to == onnx_graph::kDouble;
    if (!d.isFloat)
      for (double &v : d.v)
        v = std::trunc(v);
    return d;
  }
  return std::nullopt;
}

} // namespace

bool ampc::onnx_import::foldConstant(Importer &im, const Node &node) {
  if (node.outputs.empty())
    return false;
  if (std::optional<Tensor> t = source(im, node)) {
    im.defineConstant(node.outputs[0], *t);
    return true;
  }
  std::vector<Data> inputs;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i].empty()) {
      inputs.emplace_back();
      continue;
    }
    const Tensor *c = im.constant(node, i);
    if (!c)
      return false;
    inputs.push_back(Data::of(*c));
  }
  if (inputs.empty() || node.outputs.size() != 1)
    return false;
  std::optional<Data> result = evaluate(im, node, inputs);
  if (!result)
    return false;
  im.defineConstant(node.outputs[0], result->tensor());
  return true;
}
