//===- OnnxGraph.h - an ONNX model as plain C++ values ---------*- C++ -*-===//
//
// What the importer needs of an ONNX model, read from its protobuf by
// OnnxReader.cpp (the only file that sees protobuf and onnx's headers; it is
// built with exceptions and RTTI, as those libraries need) and turned into
// MLIR by OnnxToMlir.cpp. Plain C++17, no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_IMPORT_ONNXGRAPH_H
#define AMPC_LIB_IMPORT_ONNXGRAPH_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ampc::onnx_graph {

/// ONNX's TensorProto.DataType values the importer reads.
enum ElementType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kBFloat16 = 16,
};

/// The name of an element type ("float", "int64", ...).
std::string elementTypeName(int32_t type);

/// A constant tensor (an initializer, a Constant node's value, a tensor
/// attribute). Floating-point data is held as f32 (doubles rounded), integer
/// and boolean data as int64.
struct Tensor {
  std::string name;
  int32_t elementType = kUndefined;
  std::vector<int64_t> dims;
  std::vector<float> floats;
  std::vector<int64_t> ints;

  int64_t numElements() const;
  bool isFloat() const {
    return elementType == kFloat || elementType == kDouble ||
           elementType == kFloat16 || elementType == kBFloat16;
  }
};

struct Attribute {
  enum Kind { Float, Int, String, TensorValue, Floats, Ints, Strings, Other };
  Kind kind = Other;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string name, opType, domain;
  /// Inputs and outputs by value name ("" for an omitted optional one).
  std::vector<std::string> inputs, outputs;
  std::map<std::string, Attribute> attributes;
  /// "Conv node 'conv1'" or "Conv node #3" (unnamed), for messages.
  std::string describe() const;
};

/// A dimension: its size, or -1 with the name of a symbolic one.
struct Dim {
  int64_t size = -1;
  std::string symbol;
};

struct ValueInfo {
  std::string name;
  int32_t elementType = kUndefined;
  /// Empty when the rank is unknown (`hasShape` false).
  std::vector<Dim> dims;
  bool hasShape = false;
};

struct Graph {
  std::string name, producer;
  /// The version of the default ("ai.onnx") operator set.
  int64_t opset = 0;
  /// Graph inputs that are not initializers (the model's data), in order.
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  /// Shapes and types of every value ONNX shape inference could infer,
  /// the inputs' and outputs' included.
  std::map<std::string, ValueInfo> values;
  std::vector<Tensor> initializers;
  std::vector<Node> nodes;
};

struct ReadOptions {
  /// The leading dimension of every graph input, set before shape
  /// inference (0: as exported; a symbolic one is then an error).
  int64_t batch = 0;
};

/// Parses the bytes of an .onnx file, checks the model, fixes the batch and
/// runs ONNX shape inference. On failure returns false with the reason in
/// `error` (`name` names the file in it).
bool readModel(const std::string &bytes, const std::string &name,
               const ReadOptions &options, Graph &graph, std::string &error);

/// The bytes of `original` (an .onnx file) with the values of the
/// initializers named in `replacements` replaced (f32 data of the same
/// shape). Returns false with the reason in `error`.
bool replaceInitializers(const std::string &original,
                         const std::vector<Tensor> &replacements,
                         std::string &bytes, std::string &error);

} // namespace ampc::onnx_graph

#endif // AMPC_LIB_IMPORT_ONNXGRAPH_H
