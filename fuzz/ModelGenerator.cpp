//===- ModelGenerator.cpp - random valid models for the IR fuzzer --------===//

#include "ModelGenerator.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <sstream>

using namespace ampc::fuzz;

namespace {

/// Elements a value may have: keeps one input fast to compile and run.
constexpr int64_t kMaxElements = 1 << 14;

int64_t product(const std::vector<int64_t> &shape, size_t from = 0,
                size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < std::min(to, shape.size()); ++i)
    p *= shape[i];
  return p;
}

/// Deterministic values from a seed (splitmix64), uniform in [-bound, bound].
std::vector<double> randomValues(int64_t count, uint64_t seed, double bound) {
  std::vector<double> values(static_cast<size_t>(count));
  for (double &v : values) {
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    // Values representable in f32, so the compiled code sees the same.
    v = double(float((double(z >> 11) / double(1ull << 53) * 2 - 1) * bound));
  }
  return values;
}

std::string tensorType(const std::vector<int64_t> &shape) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + "f32>";
}

std::string floatLiteral(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.9e", v);
  return buffer;
}

/// "affine_map<(d0, d1, d2) -> (d2, d0)>".
std::string affineMap(int rank, const std::vector<int> &results) {
  std::string s = "affine_map<(";
  for (int i = 0; i < rank; ++i)
    s += (i ? ", d" : "d") + std::to_string(i);
  s += ") -> (";
  for (size_t i = 0; i < results.size(); ++i)
    s += (i ? ", d" : "d") + std::to_string(results[i]);
  return s + ")>";
}

std::vector<int> identity(int rank) {
  std::vector<int> dims(static_cast<size_t>(rank));
  std::iota(dims.begin(), dims.end(), 0);
  return dims;
}

std::string iterators(int rank, const std::vector<bool> &reduction) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i)
    s += std::string(i ? ", " : "") +
         (reduction[size_t(i)] ? "\"reduction\"" : "\"parallel\"");
  return s + "]";
}

} // namespace

int64_t Array::size() const { return product(shape); }

int Graph::add(Node node, Array value) {
  graph.push_back(std::move(node));
  inputs.push_back(std::move(value));
  return int(graph.size()) - 1;
}

int Graph::addParam(std::vector<int64_t> shape, FuzzedDataProvider &data) {
  // Weights scaled by the fan-in keep activations near 1 through the graph.
  double fanIn =
      shape.size() >= 2 ? double(product(shape, 0, shape.size() - 1)) : 1.0;
  Array value{shape,
              randomValues(product(shape), data.ConsumeIntegral<uint32_t>(),
                           1.0 / std::sqrt(std::max(fanIn, 1.0)))};
  Node node{OpKind::Param};
  node.shape = std::move(shape);
  return add(std::move(node), std::move(value));
}

std::vector<int> Graph::paramNodes() const {
  std::vector<int> params;
  for (size_t i = 0; i < graph.size(); ++i)
    if (graph[i].kind == OpKind::Param)
      params.push_back(int(i));
  return params;
}

Graph Graph::generate(FuzzedDataProvider &data, int maxOps) {
  Graph g;
  int rank = data.ConsumeIntegralInRange(2, 4);
  Node x{OpKind::Input};
  for (int i = 0; i < rank; ++i)
    x.shape.push_back(
        data.ConsumeIntegralInRange<int64_t>(1, rank == 4 ? 9 : 24));
  int64_t count = product(x.shape);
  g.add(x, Array{x.shape,
                 randomValues(count, data.ConsumeIntegral<uint32_t>(), 1.0)});
  for (int i = 0; i < maxOps && data.remaining_bytes() > 0; ++i)
    g.addRandomOp(data);
  if (g.paramNodes().empty()) {
    // Every model has a parameter to train: a bias on its result.
    int last = int(g.graph.size()) - 1;
    Node bias{OpKind::BiasAdd,
              0,
              {last, g.addParam({g.graph[size_t(last)].shape.back()}, data)}};
    bias.shape = g.graph[size_t(last)].shape;
    g.add(bias);
  }
  return g;
}

bool Graph::addContraction(FuzzedDataProvider &data, int a) {
  // A copy: adding the parameter may move the nodes.
  const std::vector<int64_t> s = graph[size_t(a)].shape;
  int64_t n = data.ConsumeIntegralInRange<int64_t>(1, 40);
  if (s.size() == 3) {
    if (s[0] * s[1] * n > kMaxElements)
      return false;
    Node mm{OpKind::BatchMatMul, 0, {a, addParam({s[0], s[2], n}, data)}};
    mm.shape = {s[0], s[1], n};
    add(mm);
    return true;
  }
  if (s.size() != 2)
    return false;
  Node mm{OpKind::MatMul};
  mm.transposeA = data.ConsumeBool();
  mm.transposeB = data.ConsumeBool();
  int64_t m = mm.transposeA ? s[1] : s[0], k = mm.transposeA ? s[0] : s[1];
  if (m * n > kMaxElements)
    return false;
  mm.args = {a, addParam(mm.transposeB ? std::vector<int64_t>{n, k}
                                       : std::vector<int64_t>{k, n},
                         data)};
  mm.shape = {m, n};
  add(mm);
  return true;
}

bool Graph::addConvolution(FuzzedDataProvider &data, int a) {
  const std::vector<int64_t> s = graph[size_t(a)].shape;
  if (s.size() != 4)
    return false;
  int stride = data.ConsumeIntegralInRange(1, 2);
  int64_t kh =
      data.ConsumeIntegralInRange<int64_t>(1, std::min<int64_t>(3, s[1]));
  int64_t kw =
      data.ConsumeIntegralInRange<int64_t>(1, std::min<int64_t>(3, s[2]));
  int64_t f = data.ConsumeIntegralInRange<int64_t>(1, 8);
  Node conv{OpKind::Conv2D, stride};
  conv.shape = {s[0], (s[1] - kh) / stride + 1, (s[2] - kw) / stride + 1, f};
  if (product(conv.shape) > kMaxElements)
    return false;
  conv.args = {a, addParam({kh, kw, s[3], f}, data)};
  add(conv);
  return true;
}

void Graph::addBinary(FuzzedDataProvider &data, int a,
                      const std::vector<int> &values) {
  std::vector<int64_t> s = graph[size_t(a)].shape;
  // Another value of the same shape, or a parameter of it.
  int b = -1;
  for (int v : values)
    if (graph[size_t(v)].shape == s && data.ConsumeBool())
      b = v;
  if (b < 0)
    b = addParam(s, data);
  Node bin{OpKind::Binary, data.ConsumeIntegralInRange(0, 3), {a, b}};
  bin.shape = s;
  add(bin);
}

void Graph::addTranspose(FuzzedDataProvider &data, int a) {
  std::vector<int64_t> s = graph[size_t(a)].shape;
  size_t rank = s.size();
  Node t{OpKind::Transpose, 0, {a}};
  t.permutation.resize(rank);
  std::iota(t.permutation.begin(), t.permutation.end(), 0);
  for (size_t i = rank - 1; i > 0; --i)
    std::swap(t.permutation[i],
              t.permutation[data.ConsumeIntegralInRange<size_t>(0, i)]);
  for (int64_t p : t.permutation)
    t.shape.push_back(s[size_t(p)]);
  add(t);
}

bool Graph::addRandomOp(FuzzedDataProvider &data) {
  // Mostly the newest value (deep graphs), sometimes an older one (fan-out).
  std::vector<int> values;
  for (size_t i = 0; i < graph.size(); ++i)
    if (graph[i].kind != OpKind::Param)
      values.push_back(int(i));
  int a =
      data.ConsumeBool()
          ? values.back()
          : values[data.ConsumeIntegralInRange<size_t>(0, values.size() - 1)];
  std::vector<int64_t> s = graph[size_t(a)].shape;
  int rank = int(s.size());
  switch (data.ConsumeIntegralInRange(0, 8)) {
  case 0:
  case 1:
    if (addContraction(data, a))
      return true;
    break;
  case 2:
    if (addConvolution(data, a))
      return true;
    break;
  case 3:
    addBinary(data, a, values);
    return true;
  case 4: {
    Node bias{OpKind::BiasAdd, 0, {a, addParam({s.back()}, data)}};
    bias.shape = s;
    add(bias);
    return true;
  }
  case 5:
    if (rank >= 2) {
      Node red{OpKind::Reduce, data.ConsumeIntegralInRange(0, 1), {a}};
      red.dim = data.ConsumeIntegralInRange(0, rank - 1);
      red.shape = s;
      red.shape.erase(red.shape.begin() + red.dim);
      add(red);
      return true;
    }
    break;
  case 6:
    if (rank >= 2) {
      addTranspose(data, a);
      return true;
    }
    break;
  case 7:
    if (rank >= 3) {
      Node c{OpKind::Collapse, 0, {a}};
      c.shape = {s[0], product(s, 1)};
      add(c);
      return true;
    }
    break;
  default:
    break;
  }
  // Always possible: an elementwise function.
  static const double kScales[] = {0.5, -1.5, 2.0, 0.25};
  Node u{OpKind::Unary, data.ConsumeIntegralInRange(0, 4), {a}};
  u.scale = kScales[data.ConsumeIntegralInRange(0, 3)];
  u.shape = s;
  add(u);
  return true;
}

//===----------------------------------------------------------------------===//
// Reference evaluation, in double precision
//===----------------------------------------------------------------------===//

namespace {

Array contract(const Node &node, const Array &a, const Array &b, bool abs) {
  Array out{node.shape, std::vector<double>(size_t(product(node.shape)), 0.0)};
  auto val = [&](double v) { return abs ? std::fabs(v) : v; };
  if (node.kind == OpKind::BatchMatMul) {
    int64_t nb = a.shape[0], m = a.shape[1], k = a.shape[2], n = b.shape[2];
    for (int64_t bi = 0; bi < nb; ++bi)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double sum = 0;
          for (int64_t l = 0; l < k; ++l)
            sum += val(a.values[size_t((bi * m + i) * k + l)]) *
                   val(b.values[size_t((bi * k + l) * n + j)]);
          out.values[size_t((bi * m + i) * n + j)] = sum;
        }
    return out;
  }
  int64_t m = node.shape[0], n = node.shape[1];
  int64_t k = node.transposeA ? a.shape[0] : a.shape[1];
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t l = 0; l < k; ++l) {
        double x = a.values[size_t(node.transposeA ? l * m + i : i * k + l)];
        double y = b.values[size_t(node.transposeB ? j * k + l : l * n + j)];
        sum += val(x) * val(y);
      }
      out.values[size_t(i * n + j)] = sum;
    }
  return out;
}

Array convolve(const Node &node, const Array &x, const Array &w, bool abs) {
  Array out{node.shape, std::vector<double>(size_t(product(node.shape)), 0.0)};
  auto val = [&](double v) { return abs ? std::fabs(v) : v; };
  int64_t h = x.shape[1], wd = x.shape[2], c = x.shape[3];
  int64_t kh = w.shape[0], kw = w.shape[1], f = w.shape[3];
  int64_t oh = node.shape[1], ow = node.shape[2], s = node.op;
  for (int64_t n = 0; n < node.shape[0]; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t o = 0; o < f; ++o) {
          double sum = 0;
          for (int64_t p = 0; p < kh; ++p)
            for (int64_t q = 0; q < kw; ++q)
              for (int64_t ci = 0; ci < c; ++ci)
                sum += val(x.values[size_t(
                           ((n * h + i * s + p) * wd + j * s + q) * c + ci)]) *
                       val(w.values[size_t(((p * kw + q) * c + ci) * f + o)]);
          out.values[size_t(((n * oh + i) * ow + j) * f + o)] = sum;
        }
  return out;
}

double unary(const Node &node, double x, bool abs) {
  if (abs)
    return node.op == 4 ? std::fabs(node.scale) * std::fabs(x) : std::fabs(x);
  switch (node.op) {
  case 0:
    return std::tanh(x);
  case 1:
    return std::max(x, 0.0);
  case 2:
    return -x;
  case 3:
    return std::fabs(x);
  default:
    return double(float(node.scale)) * x;
  }
}

double binary(const Node &node, double x, double y, bool abs) {
  if (abs)
    x = std::fabs(x), y = std::fabs(y);
  switch (node.op) {
  case 0:
    return x + y;
  case 1:
    return abs ? x + y : x - y;
  case 2:
    return x * y;
  default:
    return std::max(x, y);
  }
}

Array reduce(const Node &node, const Array &a, bool abs) {
  int64_t outer = product(a.shape, 0, size_t(node.dim));
  int64_t len = a.shape[size_t(node.dim)];
  int64_t inner = product(a.shape, size_t(node.dim) + 1);
  Array out{node.shape, std::vector<double>(size_t(outer * inner))};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double acc = node.op == 0 ? 0.0 : -INFINITY;
      for (int64_t l = 0; l < len; ++l) {
        double v = a.values[size_t((o * len + l) * inner + i)];
        v = abs ? std::fabs(v) : v;
        acc = node.op == 0 ? acc + v : std::max(acc, v);
      }
      out.values[size_t(o * inner + i)] = acc;
    }
  return out;
}

Array transpose(const Node &node, const Array &a) {
  Array out{node.shape, std::vector<double>(a.values.size())};
  size_t rank = a.shape.size();
  std::vector<int64_t> inStrides(rank, 1), index(rank, 0);
  for (size_t i = rank - 1; i > 0; --i)
    inStrides[i - 1] = inStrides[i] * a.shape[i];
  for (double &v : out.values) {
    int64_t from = 0;
    for (size_t i = 0; i < rank; ++i)
      from += index[i] * inStrides[size_t(node.permutation[i])];
    v = a.values[size_t(from)];
    for (size_t i = rank; i-- > 0;)
      if (++index[i] < node.shape[i])
        break;
      else
        index[i] = 0;
  }
  return out;
}

} // namespace

Array Graph::eval(const Node &node, const std::vector<Array> &values,
                  bool abs) const {
  auto arg = [&](size_t i) -> const Array & {
    return values[size_t(node.args[i])];
  };
  Array out{node.shape, {}};
  switch (node.kind) {
  case OpKind::Input:
  case OpKind::Param:
    return out; // given
  case OpKind::MatMul:
  case OpKind::BatchMatMul:
    return contract(node, arg(0), arg(1), abs);
  case OpKind::Conv2D:
    return convolve(node, arg(0), arg(1), abs);
  case OpKind::Unary:
    for (double v : arg(0).values)
      out.values.push_back(unary(node, v, abs));
    return out;
  case OpKind::Binary:
    for (size_t i = 0; i < arg(0).values.size(); ++i)
      out.values.push_back(
          binary(node, arg(0).values[i], arg(1).values[i], abs));
    return out;
  case OpKind::BiasAdd: {
    size_t n = arg(1).values.size();
    for (size_t i = 0; i < arg(0).values.size(); ++i) {
      double x = arg(0).values[i], b = arg(1).values[i % n];
      out.values.push_back(abs ? std::fabs(x) + std::fabs(b) : x + b);
    }
    return out;
  }
  case OpKind::Reduce:
    return reduce(node, arg(0), abs);
  case OpKind::Transpose:
    return transpose(node, arg(0));
  case OpKind::Collapse:
    out.values = arg(0).values;
    return out;
  }
  return out;
}

Array Graph::evaluate(const std::vector<Array> &params, double *loss) const {
  std::vector<Array> values(graph.size());
  size_t param = 0;
  for (size_t i = 0; i < graph.size(); ++i) {
    if (graph[i].kind == OpKind::Param && !params.empty())
      values[i] = params[param++];
    else if (graph[i].kind == OpKind::Param || graph[i].kind == OpKind::Input)
      values[i] = inputs[i];
    else
      values[i] = eval(graph[i], values, false);
  }
  if (loss) {
    // The mean of half the squares, with the f32 factor the MLIR holds.
    double factor = double(float(0.5 / double(values.back().size())));
    *loss = 0;
    for (double v : values.back().values)
      *loss += v * v * factor;
  }
  return values.back();
}

Array Graph::magnitudes() const {
  std::vector<Array> values(graph.size());
  for (size_t i = 0; i < graph.size(); ++i) {
    if (graph[i].kind == OpKind::Param || graph[i].kind == OpKind::Input) {
      values[i] = inputs[i];
      for (double &v : values[i].values)
        v = std::fabs(v);
    } else {
      values[i] = eval(graph[i], values, true);
    }
  }
  return values.back();
}

//===----------------------------------------------------------------------===//
// MLIR
//===----------------------------------------------------------------------===//

namespace {

std::string name(int node) { return "%v" + std::to_string(node); }

/// `%fN = linalg.fill` of `value` into a fresh tensor of `shape`.
std::string filled(int node, const std::vector<int64_t> &shape,
                   const std::string &value) {
  std::string t = tensorType(shape), n = std::to_string(node);
  return "    %e" + n + " = tensor.empty() : " + t + "\n    %c" + n +
         " = arith.constant " + value + " : f32\n    %f" + n +
         " = linalg.fill ins(%c" + n + " : f32) outs(%e" + n + " : " + t +
         ") -> " + t + "\n";
}

/// A linalg.generic over `rank` loops; `body` computes %r from the block
/// arguments %a0, %a1, ... (inputs, then the output).
std::string generic(int node, int rank, const std::vector<std::string> &maps,
                    const std::vector<bool> &reduction,
                    const std::vector<int> &ins,
                    const std::vector<std::vector<int64_t>> &inShapes,
                    const std::string &out,
                    const std::vector<int64_t> &outShape,
                    const std::string &body) {
  std::string s = "    " + name(node) + " = linalg.generic {indexing_maps = [";
  for (size_t i = 0; i < maps.size(); ++i)
    s += (i ? ", " : "") + maps[i];
  s += "], iterator_types = " + iterators(rank, reduction) + "} ins(";
  for (size_t i = 0; i < ins.size(); ++i)
    s += (i ? ", " : "") + name(ins[i]);
  s += " : ";
  for (size_t i = 0; i < ins.size(); ++i)
    s += (i ? ", " : "") + tensorType(inShapes[i]);
  std::string t = tensorType(outShape);
  s += ") outs(" + out + " : " + t + ") {\n    ^bb0(";
  for (size_t i = 0; i <= ins.size(); ++i)
    s += (i ? ", %a" : "%a") + std::to_string(i) + ": f32";
  return s + "):\n" + body + "      linalg.yield %r : f32\n    } -> " + t +
         "\n";
}

} // namespace

std::string Graph::toMlir(bool trainable) const {
  std::ostringstream s;
  std::vector<int> args;
  for (int p : paramNodes())
    args.push_back(p);
  for (size_t i = 0; i < graph.size(); ++i)
    if (graph[i].kind == OpKind::Input)
      args.push_back(int(i));
  if (!trainable)
    std::sort(args.begin(), args.end());
  std::string resultType = tensorType(result().shape);
  s << "func.func @" << (trainable ? "forward" : "model") << "(";
  for (size_t i = 0; i < args.size(); ++i) {
    const Node &n = graph[size_t(args[i])];
    s << (i ? ", " : "") << name(args[i]) << ": " << tensorType(n.shape);
    if (trainable && n.kind == OpKind::Param)
      s << " {amp.param}";
  }
  s << ") -> " << (trainable ? "(tensor<f32>, " + resultType + ")" : resultType)
    << " {\n";
  for (size_t i = 0; i < graph.size(); ++i)
    s << printNode(int(i));
  int last = int(graph.size()) - 1;
  if (!trainable) {
    s << "    return " << name(last) << " : " << resultType << "\n}\n";
    return s.str();
  }
  int rank = int(result().shape.size());
  double factor = 0.5 / double(product(result().shape));
  s << filled(last + 1, {}, "0.0")
    << generic(last + 1, rank,
               {affineMap(rank, identity(rank)), affineMap(rank, {})},
               std::vector<bool>(size_t(rank), true), {last}, {result().shape},
               "%f" + std::to_string(last + 1), {},
               "      %h = arith.constant " + floatLiteral(factor) +
                   " : f32\n      %sq = arith.mulf %a0, %a0 : f32\n"
                   "      %t = arith.mulf %sq, %h : f32\n"
                   "      %r = arith.addf %a1, %t : f32\n")
    << "    return " << name(last + 1) << ", " << name(last)
    << " : tensor<f32>, " << resultType << "\n}\n";
  return s.str();
}

namespace {

/// The body of an elementwise op on %a0 (and %a1).
std::string elementwiseBody(const Node &node) {
  static const char *unaryOps[] = {"math.tanh %a0", "arith.maximumf %a0, %z",
                                   "arith.negf %a0", "math.absf %a0",
                                   "arith.mulf %a0, %z"};
  static const char *binaryOps[] = {"arith.addf", "arith.subf", "arith.mulf",
                                    "arith.maximumf"};
  if (node.kind == OpKind::Binary || node.kind == OpKind::BiasAdd)
    return std::string("      %r = ") +
           (node.kind == OpKind::BiasAdd ? "arith.addf" : binaryOps[node.op]) +
           " %a0, %a1 : f32\n";
  std::string constant = node.op == 1   ? "0.0"
                         : node.op == 4 ? floatLiteral(node.scale)
                                        : "";
  return (constant.empty()
              ? ""
              : "      %z = arith.constant " + constant + " : f32\n") +
         "      %r = " + unaryOps[node.op] + " : f32\n";
}

} // namespace

std::string Graph::printContraction(int index) const {
  const Node &node = graph[size_t(index)];
  std::string n = std::to_string(index), t = tensorType(node.shape);
  std::string a = tensorType(graph[size_t(node.args[0])].shape);
  std::string b = tensorType(graph[size_t(node.args[1])].shape);
  std::string init = filled(index, node.shape, "0.0");
  // A named op of the two arguments into the zero-filled %fN.
  auto named = [&](const std::string &op) {
    return init + "    " + name(index) + " = " + op + " ins(" +
           name(node.args[0]) + ", " + name(node.args[1]) + " : " + a + ", " +
           b + ") outs(%f" + n + " : " + t + ") -> " + t + "\n";
  };
  if (node.kind == OpKind::BatchMatMul)
    return named("linalg.batch_matmul");
  if (node.kind == OpKind::Conv2D)
    return named("linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : "
                 "tensor<2xi64>, strides = dense<" +
                 std::to_string(node.op) + "> : tensor<2xi64>}");
  if (!node.transposeA && !node.transposeB)
    return named("linalg.matmul");
  // m, n, k = d0, d1, d2.
  return init + generic(index, 3,
                        {affineMap(3, node.transposeA ? std::vector<int>{2, 0}
                                                      : std::vector<int>{0, 2}),
                         affineMap(3, node.transposeB ? std::vector<int>{1, 2}
                                                      : std::vector<int>{2, 1}),
                         affineMap(3, {0, 1})},
                        {false, false, true}, node.args,
                        {graph[size_t(node.args[0])].shape,
                         graph[size_t(node.args[1])].shape},
                        "%f" + n, node.shape,
                        "      %p = arith.mulf %a0, %a1 : f32\n"
                        "      %r = arith.addf %a2, %p : f32\n");
}

std::string Graph::printNode(int index) const {
  const Node &node = graph[size_t(index)];
  std::string n = std::to_string(index), t = tensorType(node.shape);
  int rank = int(node.shape.size());
  std::vector<bool> parallel(size_t(rank), false);
  auto shapeOf = [&](size_t i) { return graph[size_t(node.args[i])].shape; };
  switch (node.kind) {
  case OpKind::Input:
  case OpKind::Param:
    return "";
  case OpKind::MatMul:
  case OpKind::BatchMatMul:
  case OpKind::Conv2D:
    return printContraction(index);
  case OpKind::Unary:
  case OpKind::Binary:
  case OpKind::BiasAdd: {
    std::vector<std::string> maps(node.args.size() + 1,
                                  affineMap(rank, identity(rank)));
    if (node.kind == OpKind::BiasAdd)
      maps[1] = affineMap(rank, {rank - 1});
    std::vector<std::vector<int64_t>> shapes;
    for (size_t i = 0; i < node.args.size(); ++i)
      shapes.push_back(shapeOf(i));
    return "    %e" + n + " = tensor.empty() : " + t + "\n" +
           generic(index, rank, maps, parallel, node.args, shapes, "%e" + n,
                   node.shape, elementwiseBody(node));
  }
  case OpKind::Reduce: {
    int inRank = rank + 1;
    std::vector<int> kept = identity(inRank);
    kept.erase(kept.begin() + node.dim);
    std::vector<bool> reduction(size_t(inRank), false);
    reduction[size_t(node.dim)] = true;
    return filled(index, node.shape, node.op == 0 ? "0.0" : "0xFF800000") +
           generic(
               index, inRank,
               {affineMap(inRank, identity(inRank)), affineMap(inRank, kept)},
               reduction, node.args, {shapeOf(0)}, "%f" + n, node.shape,
               std::string("      %r = ") +
                   (node.op == 0 ? "arith.addf" : "arith.maximumf") +
                   " %a1, %a0 : f32\n");
  }
  case OpKind::Transpose: {
    std::string perm;
    for (size_t i = 0; i < node.permutation.size(); ++i)
      perm += (i ? ", " : "") + std::to_string(node.permutation[i]);
    return "    %e" + n + " = tensor.empty() : " + t + "\n    " + name(index) +
           " = linalg.transpose ins(" + name(node.args[0]) + " : " +
           tensorType(shapeOf(0)) + ") outs(%e" + n + " : " + t +
           ") permutation = [" + perm + "]\n";
  }
  case OpKind::Collapse: {
    std::string groups = "[[0], [";
    for (size_t i = 1; i < shapeOf(0).size(); ++i)
      groups += (i > 1 ? ", " : "") + std::to_string(i);
    return "    " + name(index) + " = tensor.collapse_shape " +
           name(node.args[0]) + " " + groups +
           "]] : " + tensorType(shapeOf(0)) + " into " + t + "\n";
  }
  }
  return "";
}

std::string Graph::describe() const {
  static const char *kinds[] = {
      "input",  "param",    "matmul", "batch_matmul", "conv2d",  "unary",
      "binary", "bias_add", "reduce", "transpose",    "collapse"};
  std::string s;
  for (size_t i = 0; i < graph.size(); ++i) {
    s += std::to_string(i) + ": " + kinds[int(graph[i].kind)] + " " +
         tensorType(graph[i].shape) + " (";
    for (int a : graph[i].args)
      s += " " + std::to_string(a);
    s += " )\n";
  }
  return s;
}
