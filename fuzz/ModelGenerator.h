//===- ModelGenerator.h - random valid models for the IR fuzzer -*- C++ -*-===//
//
// Turns fuzzer bytes into a valid model: a small graph of contractions
// (matmul, transposed matmuls as linalg.generic, batch matmul, convolution),
// elementwise ops, broadcasts, reductions, transposes and reshapes on f32
// tensors of random shapes. The graph prints as MLIR in AMPC's input
// contract and evaluates itself in double precision: the reference the
// compiled code is compared with.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_FUZZ_MODELGENERATOR_H
#define AMPC_FUZZ_MODELGENERATOR_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

class FuzzedDataProvider;

namespace ampc::fuzz {

/// A value of the reference evaluation: row-major doubles and a shape.
struct Array {
  std::vector<int64_t> shape;
  std::vector<double> values;
  int64_t size() const;
};

enum class OpKind {
  Input,       // the sample tensor (a batch input)
  Param,       // a parameter (weight, bias, filter)
  MatMul,      // A[m,k] x B[k,n], either operand possibly transposed
  BatchMatMul, // [b,m,k] x [b,k,n]
  Conv2D,      // NHWC input, HWCF filter, stride 1 or 2
  Unary,       // tanh, relu, neg, abs, scale
  Binary,      // add, sub, mul, max of two values of one shape
  BiasAdd,     // x[..., n] + b[n]
  Reduce,      // sum or max over one dimension
  Transpose,   // a permutation of the dimensions
  Collapse     // [d0, d1, ...] -> [d0, d1 * ...]
};

struct Node {
  explicit Node(OpKind kind, int op = 0, std::vector<int> args = {})
      : kind(kind), op(op), args(std::move(args)) {}

  OpKind kind;
  /// Unary: 0 tanh, 1 relu, 2 neg, 3 abs, 4 scale; Binary: 0 add, 1 sub,
  /// 2 mul, 3 max; Reduce: 0 sum, 1 max; Conv2D: the stride.
  int op = 0;
  std::vector<int> args;
  std::vector<int64_t> shape;
  bool transposeA = false, transposeB = false; // MatMul
  int dim = 0;                                 // Reduce
  std::vector<int64_t> permutation;            // Transpose
  double scale = 1.0;                          // Unary scale
};

/// A model: nodes in order (arguments before users), the last one its
/// result, with the input data of its Input and Param nodes.
class Graph {
public:
  /// Reads choices from `data` until the graph has `maxOps` operations or
  /// the bytes run out.
  static Graph generate(FuzzedDataProvider &data, int maxOps);

  /// The model as MLIR: `@model(params..., %x) -> result` for inference
  /// or, with `trainable`, `@forward` with `amp.param` parameters returning
  /// (loss, result), the loss being the mean of half the squared result.
  std::string toMlir(bool trainable) const;

  /// Evaluates every node; `params` replaces the parameter values (in
  /// parameter order) when not empty. Returns the result, and the loss
  /// into `loss` if not null.
  Array evaluate(const std::vector<Array> &params = {},
                 double *loss = nullptr) const;
  /// The same with every value and operation replaced by its absolute
  /// value: a bound on the magnitudes a rounding error scales with.
  Array magnitudes() const;

  /// Nodes of kind Param, in order, and the values they start with.
  std::vector<int> paramNodes() const;
  const std::vector<Node> &nodes() const { return graph; }
  /// The values of Input and Param nodes (empty for the others).
  const std::vector<Array> &inputValues() const { return inputs; }
  const Node &result() const { return graph.back(); }
  std::string describe() const;

private:
  int add(Node node, Array value = {});
  int addParam(std::vector<int64_t> shape, FuzzedDataProvider &data);
  /// One random operation on existing nodes; false if none applies.
  bool addRandomOp(FuzzedDataProvider &data);
  bool addContraction(FuzzedDataProvider &data, int a);
  bool addConvolution(FuzzedDataProvider &data, int a);
  /// An elementwise op of `a` and a value (or a new parameter) of its shape.
  void addBinary(FuzzedDataProvider &data, int a,
                 const std::vector<int> &values);
  void addTranspose(FuzzedDataProvider &data, int a);
  /// The MLIR of node `index` (nothing for arguments).
  std::string printNode(int index) const;
  /// The MLIR of a MatMul, BatchMatMul or Conv2D node.
  std::string printContraction(int index) const;
  Array eval(const Node &node, const std::vector<Array> &values,
             bool absolute) const;

  std::vector<Node> graph;
  std::vector<Array> inputs;
};

} // namespace ampc::fuzz

#endif // AMPC_FUZZ_MODELGENERATOR_H
