//===- Importer.h - ONNX graph to linalg on tensors ------------*- C++ -*-===//
//
// The state of one import: the ONNX graph, the function being built, the
// value of every ONNX name seen so far (an SSA value, or a constant the
// importer keeps as data: shapes, axes, small tensors), and the op
// handlers (OnnxOps.cpp) and constant folding (OnnxFold.cpp) that use it.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_IMPORT_IMPORTER_H
#define AMPC_LIB_IMPORT_IMPORTER_H

#include "OnnxGraph.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <optional>

namespace ampc::onnx_import {

using onnx_graph::Graph;
using onnx_graph::Node;

class Importer {
public:
  Importer(mlir::MLIRContext &context, const Graph &graph)
      : graph(graph), builder(&context) {}

  /// An error naming `node`: "Conv node 'conv1': <message>".
  mlir::LogicalResult fail(const Node &node, const llvm::Twine &message);
  /// Every message so far, one per line.
  std::string errors;

  const Graph &graph;
  mlir::OpBuilder builder;
  mlir::Location loc() const { return currentLoc; }
  mlir::Location currentLoc = builder.getUnknownLoc();

  // --- values -----------------------------------------------------------
  /// The tensor input `index` of `node`; materializes a constant. Fails
  /// (with a message) when the input is missing or not a float tensor.
  mlir::FailureOr<mlir::Value> input(const Node &node, size_t index);
  /// True when `node` has input `index` (not omitted).
  static bool hasInput(const Node &node, size_t index) {
    return index < node.inputs.size() && !node.inputs[index].empty();
  }
  /// A constant input (an initializer that is not a parameter, a Constant
  /// node, a folded shape computation), or nullptr.
  const onnx_graph::Tensor *constant(const Node &node, size_t index) const;
  /// The integers of constant input `index`; fails naming it otherwise.
  mlir::FailureOr<std::vector<int64_t>> constantInts(const Node &node,
                                                     size_t index);
  void define(const std::string &name, mlir::Value value) {
    values[name] = value;
  }
  void defineConstant(const std::string &name, onnx_graph::Tensor tensor) {
    tensor.name = name;
    constants[name] = std::move(tensor);
  }
  mlir::FailureOr<mlir::Value> lookup(const std::string &name);
  /// True when a node reads `name` or it is a graph output.
  bool isUsed(const std::string &name) const;

  // --- attributes -------------------------------------------------------
  int64_t intAttr(const Node &node, llvm::StringRef name,
                  int64_t fallback) const;
  float floatAttr(const Node &node, llvm::StringRef name, float fallback) const;
  std::string stringAttr(const Node &node, llvm::StringRef name,
                         llvm::StringRef fallback) const;
  std::optional<std::vector<int64_t>> intsAttr(const Node &node,
                                               llvm::StringRef name) const;

  // --- building blocks (OnnxOps.cpp) ------------------------------------
  using BodyFn = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                           mlir::ValueRange)>;
  /// A linalg.generic over `shape` applying `body` to the elements of
  /// `inputs`, broadcast to `shape` by numpy's rules.
  mlir::Value elementwise(mlir::ValueRange inputs,
                          llvm::ArrayRef<int64_t> shape, const BodyFn &body);
  /// Reduces `input` over `axes` (sorted, distinct) with `combine` from
  /// `init`; the result drops the reduced dimensions.
  mlir::Value reduce(mlir::Value input, llvm::ArrayRef<int64_t> axes,
                     double init, const BodyFn &combine);
  /// `input` reshaped to `shape` (same element count) by collapsing and
  /// expanding.
  mlir::Value reshape(mlir::Value input, llvm::ArrayRef<int64_t> shape);
  /// `input` padded by `low`/`high` elements per dimension with `value`:
  /// inserted into a filled tensor (which autocast and autodiff know as
  /// such, unlike tensor.pad's region).
  mlir::Value pad(mlir::Value input, llvm::ArrayRef<int64_t> low,
                  llvm::ArrayRef<int64_t> high, double value);
  /// `input` times the constant `factor`, elementwise (a mean's 1/N).
  mlir::Value scaled(mlir::Value input, double factor);
  /// `input` with its dimensions permuted (linalg.transpose).
  mlir::Value transpose(mlir::Value input, llvm::ArrayRef<int64_t> perm);
  /// A zero-filled (or `value`-filled) f32 tensor.
  mlir::Value filled(llvm::ArrayRef<int64_t> shape, double value);

  // --- the import -------------------------------------------------------
  /// Building @forward_train: operators run as in training (batch
  /// statistics) and report their buffers' new values.
  bool training = false;
  /// The new value of each buffer (by initializer name) this function
  /// computes, in the order computed.
  std::vector<std::pair<std::string, mlir::Value>> bufferUpdates;
  /// The dropout step counter (a buffer argument; "" in bufferUpdates) in
  /// a model with training-mode Dropout, and whether @forward_train has
  /// counted this step yet.
  mlir::Value dropoutStep;
  bool dropoutStepUpdated = false;

  llvm::StringMap<mlir::Value> values;
  std::map<std::string, onnx_graph::Tensor> constants;
};

/// The handler of an op type, or nullptr.
using Handler = mlir::LogicalResult (*)(Importer &, const Node &);
Handler findHandler(llvm::StringRef opType);
/// The supported op types, comma-separated, for messages.
std::string supportedOps();

/// True for a node that computes differently in training: a
/// BatchNormalization with training_mode = 1 (opset 14+) or with its
/// running-statistics outputs (opset 13), a Dropout with a constant true
/// training_mode.
bool isTrainingNode(const Graph &graph, const Node &node);

/// Folds `node` when every input is a known constant (or a static shape):
/// true when its outputs were defined as constants.
bool foldConstant(Importer &importer, const Node &node);

mlir::RankedTensorType tensorType(mlir::Value value);
llvm::ArrayRef<int64_t> shapeOf(mlir::Value value);

/// Normalizes a possibly negative axis of a rank-`rank` tensor; fails with
/// a message naming the node.
mlir::FailureOr<int64_t> normalizeAxis(Importer &importer, const Node &node,
                                       int64_t axis, int64_t rank);

} // namespace ampc::onnx_import

#endif // AMPC_LIB_IMPORT_IMPORTER_H
